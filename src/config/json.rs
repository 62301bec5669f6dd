//! `supervice --check --json` for a Supervice file: the effective configuration in the
//! shape of the supervisord dialect's (`supervisord::json`), with Supervice's keys.

use super::jsonout::Json;
use super::program::{HealthCheck, Instance, LogFile, Reconcile};
use super::Config;

pub fn effective(config: &Config) -> String {
    let g = &config.global;
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let mut j = Json::new();
    j.begin_object();
    j.key("dialect").str("supervice");
    j.key("supervice").begin_object();
    j.key("logfile").opt_str(path(&g.logfile).as_deref());
    j.key("loglevel").str(g.loglevel.name());
    j.key("pidfile").opt_str(path(&g.pidfile).as_deref());
    j.key("socket").str(&g.socket.display().to_string());
    j.key("state_file").opt_str(path(&g.state_file).as_deref());
    j.key("shutdown_timeout").uint(g.shutdown_timeout.as_secs());
    j.key("log_maxbytes").uint(g.log_maxbytes);
    j.key("log_backups").uint(u64::from(g.log_backups));
    j.end_object();
    let instances: Vec<Instance> = config.instances().collect();
    j.key("groups").begin_array();
    for group in &config.groups {
        j.begin_object();
        j.key("name").str(&group.name);
        j.key("programs")
            .strs(group.programs.iter().map(String::as_str));
        let members = instances
            .iter()
            .filter(|i| group.programs.contains(&i.program));
        j.key("processes").strs(members.map(|i| i.name.as_str()));
        j.end_object();
    }
    j.end_array();
    j.key("processes").begin_array();
    for instance in &instances {
        process(&mut j, instance);
    }
    j.end_array();
    j.end_object();
    j.finish()
}

fn log(j: &mut Json, key: &str, log: &Option<LogFile>) {
    j.key(key);
    match log {
        None => {
            j.null();
        }
        Some(l) => {
            j.begin_object();
            j.key("path").str(&l.path.display().to_string());
            j.key("maxbytes").uint(l.maxbytes);
            j.key("backups").uint(u64::from(l.backups));
            j.end_object();
        }
    }
}

/// Durations are written in milliseconds (the writer has no floats; `startsecs` may be
/// fractional in Supervice's dialect).
fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn process(j: &mut Json, i: &Instance) {
    j.begin_object();
    j.key("group").str(&i.group);
    j.key("name").str(&i.name);
    j.key("program").str(&i.program);
    j.key("argv").strs(i.argv.iter().map(String::as_str));
    let directory = i.directory.as_ref().map(|d| d.display().to_string());
    j.key("directory").opt_str(directory.as_deref());
    j.key("autostart").bool(i.autostart);
    j.key("autorestart").bool(i.autorestart);
    j.key("startsecs_ms").uint(ms(i.startsecs));
    j.key("startretries").uint(u64::from(i.startretries));
    j.key("stopsignal")
        .str(i.stopsignal.as_str().trim_start_matches("SIG"));
    j.key("stopwaitsecs_ms").uint(ms(i.stopwaitsecs));
    j.key("user").opt_str(i.user.as_deref());
    j.key("environment").pairs(&i.environment);
    log(j, "stdout_logfile", &i.stdout);
    log(j, "stderr_logfile", &i.stderr);
    j.key("pdeathsig").bool(i.pdeathsig);
    j.key("reconcile").str(match i.reconcile {
        Reconcile::Auto => "auto",
        Reconcile::Kill => "kill",
        Reconcile::Warn => "warn",
        Reconcile::Off => "off",
    });
    j.key("health");
    match &i.health.check {
        HealthCheck::None => {
            j.null();
        }
        check => {
            j.begin_object();
            match check {
                HealthCheck::Tcp { host, port, .. } => {
                    j.key("type").str("tcp");
                    j.key("host").str(host);
                    j.key("port").uint(u64::from(*port));
                }
                HealthCheck::Script { command } => {
                    j.key("type").str("script");
                    j.key("command").str(command);
                }
                HealthCheck::None => {}
            }
            j.key("interval_ms").uint(ms(i.health.interval));
            j.key("timeout_ms").uint(ms(i.health.timeout));
            j.key("retries").uint(u64::from(i.health.retries));
            j.key("start_period_ms").uint(ms(i.health.start_period));
            j.end_object();
        }
    }
    j.end_object();
}
