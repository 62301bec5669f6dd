//! `supervice --check --json` for a Supervice file: the effective configuration in the
//! shape of the supervisord dialect's (`supervisord::json`), with Supervice's keys.

use serde_json::{json, Map, Value};

use super::program::{HealthCheck, Instance, LogFile, Reconcile};
use super::Config;

pub fn effective(config: &Config) -> Value {
    let g = &config.global;
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    json!({
        "dialect": "supervice",
        "supervice": {
            "logfile": path(&g.logfile),
            "loglevel": g.loglevel.name(),
            "pidfile": path(&g.pidfile),
            "socket": g.socket.display().to_string(),
            "state_file": path(&g.state_file),
            "shutdown_timeout": g.shutdown_timeout.as_secs(),
            "log_maxbytes": g.log_maxbytes,
            "log_backups": g.log_backups,
        },
        "groups": config.groups.iter().map(|group| {
            let processes: Vec<String> = config
                .instances()
                .filter(|i| group.programs.contains(&i.program))
                .map(|i| i.name)
                .collect();
            json!({"name": group.name, "programs": group.programs, "processes": processes})
        }).collect::<Vec<_>>(),
        "processes": config.instances().map(|i| process(&i)).collect::<Vec<_>>(),
    })
}

fn process(i: &Instance) -> Value {
    let log = |log: &Option<LogFile>| match log {
        None => Value::Null,
        Some(l) => json!({
            "path": l.path.display().to_string(),
            "maxbytes": l.maxbytes,
            "backups": l.backups,
        }),
    };
    let environment: Map<String, Value> = i
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let health = match &i.health.check {
        HealthCheck::None => Value::Null,
        check => {
            let mut h = json!({
                "interval": i.health.interval.as_secs(),
                "timeout": i.health.timeout.as_secs(),
                "retries": i.health.retries,
                "start_period": i.health.start_period.as_secs(),
            });
            match check {
                HealthCheck::Tcp { host, port, .. } => {
                    h["type"] = json!("tcp");
                    h["host"] = json!(host);
                    h["port"] = json!(port);
                }
                HealthCheck::Script { command } => {
                    h["type"] = json!("script");
                    h["command"] = json!(command);
                }
                HealthCheck::None => {}
            }
            h
        }
    };
    json!({
        "group": i.group,
        "name": i.name,
        "program": i.program,
        "argv": i.argv,
        "directory": i.directory.as_ref().map(|d| d.display().to_string()),
        "autostart": i.autostart,
        "autorestart": i.autorestart,
        "startsecs": i.startsecs.as_secs_f64(),
        "startretries": i.startretries,
        "stopsignal": i.stopsignal.as_str().trim_start_matches("SIG"),
        "stopwaitsecs": i.stopwaitsecs.as_secs_f64(),
        "user": i.user,
        "environment": environment,
        "stdout_logfile": log(&i.stdout),
        "stderr_logfile": log(&i.stderr),
        "pdeathsig": i.pdeathsig,
        "reconcile": match i.reconcile {
            Reconcile::Auto => "auto",
            Reconcile::Kill => "kill",
            Reconcile::Warn => "warn",
            Reconcile::Off => "off",
        },
        "health": health,
    })
}
