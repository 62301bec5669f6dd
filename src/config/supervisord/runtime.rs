//! A supervisord `Model` as the daemon runs it: one `Program` per supervisord process,
//! named as supervisord names it (`group:process`, or the bare name when a group has the
//! name of its one process), with supervisord's rules attached (`SupervisordKeys`), the
//! `SUPERVISOR_*` variables in its environment, AUTO logs in childlogdir, and the daemon's
//! own settings taken from `[supervisord]` and `[unix_http_server]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::model::{GroupKind, LogTarget, Model, Process, StreamLog};
use crate::config::program::{Health, HealthCheck, LogFile, Program, Reconcile, SupervisordKeys};
use crate::config::{
    Config, ConfigError, DaemonKeys, Dialect, Global, Group, HttpAuth, HttpServers, InetServer,
    LogLevel,
};

/// Extra seconds per group at shutdown beyond its longest stopwaitsecs (the SIGKILL and
/// the reaping that follow).
const SHUTDOWN_MARGIN_SECS: u64 = 5;

/// supervisord's name for a process: `group:process`, or `process` when they are equal.
pub fn namespec(group: &str, process: &str) -> String {
    if group == process {
        process.to_string()
    } else {
        format!("{group}:{process}")
    }
}

/// The daemon's view of a supervisord file. `auto_tag` makes the AUTO log names unique
/// to this daemon (it is the same for every reload of one daemon, so a reload does not
/// see a changed log path).
pub fn into_config(model: Model, auto_tag: &str) -> Result<Config, ConfigError> {
    let s = &model.supervisord;
    let mut warnings = model.warnings.clone();
    let server_url = server_url(&model);
    let mut programs = Vec::new();
    let mut groups = Vec::new();
    let mut shutdown = 0u64;
    for group in &model.groups {
        match &group.kind {
            GroupKind::Program => {}
            GroupKind::EventListener { .. } => {
                warnings.push(format!(
                    "[eventlistener:{}] is not run: supervice does not speak supervisord's \
                     event listener protocol yet",
                    group.name
                ));
                continue;
            }
            GroupKind::Fcgi { .. } => {}
        }
        let fcgi = match &group.kind {
            GroupKind::Fcgi { socket } => Some(socket.clone()),
            _ => None,
        };
        let mut members = Vec::new();
        let mut longest = 0u64;
        for process in &group.processes {
            let mut program = program(
                &model,
                &group.name,
                process,
                &server_url,
                auto_tag,
                &mut warnings,
            )?;
            if let Some(keys) = program.supervisord.as_mut() {
                keys.fcgi = fcgi.clone();
            }
            longest = longest.max(process.stopwaitsecs.max(0) as u64);
            members.push(program.name.clone());
            programs.push(program);
        }
        shutdown = shutdown.saturating_add(longest + SHUTDOWN_MARGIN_SECS);
        groups.push(Group {
            name: group.name.clone(),
            programs: members,
            priority: Some(group.priority),
        });
    }
    let socket = match &model.unix_http_server {
        Some(server) => server.file.clone(),
        None => crate::config::default_socket_path(),
    };
    // `syslog` is supervisord's name for the syslog daemon, not a file.
    let log_syslog = s.logfile == "syslog";
    let logfile = (!log_syslog).then(|| PathBuf::from(&s.logfile));
    let global = Global {
        logfile,
        log_syslog,
        loglevel: match s.loglevel {
            "critical" => LogLevel::Critical,
            "error" => LogLevel::Error,
            "warn" => LogLevel::Warning,
            "info" => LogLevel::Info,
            _ => LogLevel::Debug,
        },
        pidfile: Some(PathBuf::from(&s.pidfile)),
        socket,
        state_file: None,
        // supervisord waits for each group in turn; so does shutdown here, with SIGKILL
        // for whatever outlives the sum of the groups' longest stopwaitsecs.
        shutdown_timeout: Duration::from_secs(shutdown.max(30)),
        log_maxbytes: s.logfile_maxbytes,
        log_backups: u32::try_from(s.logfile_backups.max(0)).unwrap_or(u32::MAX),
        nodaemon: s.nodaemon,
        daemon: Some(DaemonKeys {
            umask: s.umask,
            directory: s.directory.as_ref().map(PathBuf::from),
            minfds: u64::try_from(s.minfds.max(0)).unwrap_or(0),
            minprocs: u64::try_from(s.minprocs.max(0)).unwrap_or(0),
            auto_log_cleanup: (!s.nocleanup)
                .then(|| (PathBuf::from(&s.childlogdir), s.identifier.clone())),
            user: match &s.user {
                None => None,
                Some(user) => {
                    let name = match user.parse::<u32>() {
                        Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                            .ok()
                            .flatten()
                            .map_or_else(|| user.clone(), |u| u.name),
                        Err(_) => user.clone(),
                    };
                    let credentials = crate::spawn::resolve_user(&name)
                        .map_err(|e| ConfigError(format!("[supervisord] user: {e}")))?
                        .ok_or_else(|| ConfigError(format!("Invalid user name {user}")))?;
                    Some((name, credentials))
                }
            },
        }),
        http: HttpServers::default(),
    };
    let http = http_servers(&model, &mut warnings);
    let global = Global { http, ..global };
    Ok(Config {
        path: model.path.clone(),
        dialect: Dialect::Supervisord,
        global,
        programs,
        groups,
        warnings,
    })
}

fn auth(username: &Option<String>, password: &Option<String>) -> Option<HttpAuth> {
    Some(HttpAuth {
        username: username.clone()?,
        password: password.clone()?,
    })
}

/// A host that only this machine can reach.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The HTTP servers. An `[inet_http_server]` that other hosts can reach must have a
/// password, or say `allow_unauthenticated = true`: supervisord only warns, but anyone on
/// the network could run commands as the daemon's user, so the daemon refuses to start
/// (the file still loads, for `--check`, with a warning that says so).
fn http_servers(model: &Model, warnings: &mut Vec<String>) -> HttpServers {
    let mut http = HttpServers::default();
    if let Some(unix) = &model.unix_http_server {
        http.unix_auth = auth(&unix.username, &unix.password);
        http.unix_mode = Some(unix.chmod);
        http.unix_owner = unix.chown;
    }
    if let Some(inet) = &model.inet_http_server {
        let auth = auth(&inet.username, &inet.password);
        let open = auth.is_none() && !inet.allow_unauthenticated && !is_loopback(&inet.host);
        let refusal = open.then(|| {
            let host = if inet.host.is_empty() {
                "*"
            } else {
                &inet.host
            };
            format!(
                "[inet_http_server] port = {host}:{}: reachable from other hosts without a \
                 username and password, so anyone who can connect could run commands as \
                 this daemon's user; the daemon will not start. Set username and password, \
                 listen on 127.0.0.1, or set allow_unauthenticated = true (file {})",
                inet.port,
                model.path.display()
            )
        });
        warnings.extend(refusal.clone());
        http.inet = Some(InetServer {
            host: inet.host.clone(),
            port: inet.port,
            auth,
            refusal,
        });
    }
    http
}

/// The `SUPERVISOR_SERVER_URL` children get when they set no `serverurl`: the first unix
/// server, else the inet one (supervisord's fallback).
fn server_url(model: &Model) -> Option<String> {
    if let Some(unix) = &model.unix_http_server {
        return Some(format!("unix://{}", unix.file.display()));
    }
    model.inet_http_server.as_ref().map(|inet| {
        let host = if inet.host.is_empty() {
            "localhost"
        } else {
            &inet.host
        };
        format!("http://{host}:{}", inet.port)
    })
}

fn program(
    model: &Model,
    group: &str,
    p: &Process,
    server_url: &Option<String>,
    auto_tag: &str,
    warnings: &mut Vec<String>,
) -> Result<Program, ConfigError> {
    let name = namespec(group, &p.name);
    let stopsignal = Signal::try_from(p.stopsignal).unwrap_or_else(|_| {
        warnings.push(format!(
            "[program:{}] stopsignal {} sends nothing; SIGTERM is sent instead",
            p.program, p.stopsignal
        ));
        Signal::SIGTERM
    });
    let log = |stream: &str, log: &StreamLog| -> Option<LogFile> {
        let path = match &log.logfile {
            LogTarget::None => return None,
            LogTarget::Path(path) => PathBuf::from(path),
            LogTarget::Auto => auto_log(model, &p.name, stream, auto_tag),
        };
        Some(LogFile {
            path,
            maxbytes: log.maxbytes,
            backups: u32::try_from(log.backups.max(0)).unwrap_or(u32::MAX),
        })
    };
    let mut environment = vec![
        ("SUPERVISOR_ENABLED".to_string(), "1".to_string()),
        ("SUPERVISOR_PROCESS_NAME".to_string(), p.name.clone()),
        ("SUPERVISOR_GROUP_NAME".to_string(), group.to_string()),
    ];
    // An empty `serverurl =` is not AUTO: supervisord then sets no variable at all.
    let url = match &p.serverurl {
        None => server_url.clone(),
        Some(url) => Some(url.clone()).filter(|u| !u.is_empty()),
    };
    if let Some(url) = url {
        environment.push(("SUPERVISOR_SERVER_URL".to_string(), url));
    }
    let ext = match &p.extensions {
        None => None,
        Some(keys) => {
            let ctx = crate::config::value::Ctx::new(&keys.section, &[], "");
            let ext = crate::config::extensions(&ctx)
                .map_err(|e| ConfigError(format!("{e} in {}", keys.file.display())))?;
            Some(ext)
        }
    };
    // env_file pairs under the environments, as in Supervice's dialect.
    for (key, value) in ext.iter().flat_map(|e| e.env_file_pairs.iter()) {
        match environment.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => environment.push((key.clone(), value.clone())),
        }
    }
    // Both environments may override the SUPERVISOR_* variables, as in supervisord.
    for (key, value) in &p.environment {
        match environment.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => environment.push((key.clone(), value.clone())),
        }
    }
    let (user, credentials) = match &p.user {
        None => (None, None),
        Some((user, _)) => {
            let credentials = crate::spawn::resolve_user(user)
                .map_err(|e| ConfigError(format!("[program:{}] user: {e}", p.program)))?;
            (Some(user.clone()), credentials)
        }
    };
    let secs = |n: i64| Duration::from_secs(n.max(0) as u64);
    Ok(Program {
        name: name.clone(),
        group: group.to_string(),
        command: p.command.clone(),
        numprocs: 1,
        autostart: p.autostart,
        autorestart: p.autorestart != crate::lifecycle::AutoRestart::Never,
        startsecs: secs(p.startsecs),
        startretries: u32::try_from(p.startretries.max(0)).unwrap_or(u32::MAX),
        stopsignal,
        stopwaitsecs: secs(p.stopwaitsecs),
        stdout: log("stdout", &p.stdout),
        stderr: log("stderr", &p.stderr),
        environment,
        directory: p.directory.as_ref().map(PathBuf::from),
        user,
        credentials,
        pdeathsig: ext.as_ref().is_none_or(|e| e.pdeathsig),
        reconcile: ext.as_ref().map_or(Reconcile::Auto, |e| e.reconcile),
        health: match &ext {
            Some(e) => e.health.clone(),
            None => Health {
                check: HealthCheck::None,
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(10),
                retries: 3,
                start_period: Duration::from_secs(10),
            },
        },
        supervisord: Some(SupervisordKeys {
            autorestart: p.autorestart,
            exitcodes: p.exitcodes.clone(),
            stopasgroup: p.stopasgroup,
            killasgroup: p.killasgroup,
            redirect_stderr: p.redirect_stderr,
            umask: p.umask,
            priority: p.priority,
            strip_ansi: model.supervisord.strip_ansi,
            stdout_syslog: p.stdout.syslog,
            stderr_syslog: p.stderr.syslog,
            fcgi: None,
        }),
    })
}

/// An AUTO log: `<childlogdir>/<process>-<stream>---<identifier>-<tag>.log`, the form
/// supervisord's names have (so its startup cleanup and ours find them).
fn auto_log(model: &Model, process: &str, stream: &str, tag: &str) -> PathBuf {
    let s = &model.supervisord;
    Path::new(&s.childlogdir).join(format!("{process}-{stream}---{}-{tag}.log", s.identifier))
}

/// supervisord's startup cleanup (unless `nocleanup`): AUTO logs of earlier runs, and
/// their rotated copies, are deleted from childlogdir. Returns what could not be.
pub fn purge_auto_logs(childlogdir: &Path, identifier: &str) -> Vec<String> {
    let marker = format!("---{identifier}-");
    let Ok(entries) = std::fs::read_dir(childlogdir) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !is_auto_log(name, &marker) {
            continue;
        }
        if let Err(e) = std::fs::remove_file(entry.path()) {
            problems.push(format!(
                "cannot remove old AUTO log {}: {e}",
                entry.path().display()
            ));
        }
    }
    problems
}

/// supervisord's pattern `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}`, matched whole.
fn is_auto_log(name: &str, marker: &str) -> bool {
    let Some(at) = name.find(marker).filter(|&at| at > 0) else {
        return false;
    };
    let rest = &name[at + marker.len()..];
    if rest.chars().any(char::is_whitespace) {
        return false;
    }
    // `...log`, `...log.`, or `...log.N` with up to four digits.
    let Some(log_at) = rest.rfind(".log") else {
        return false;
    };
    if log_at == 0 {
        return false;
    }
    let tail = &rest[log_at + 4..];
    let digits = tail.strip_prefix('.').unwrap_or(tail);
    digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_group_colon_process_unless_equal() {
        assert_eq!(namespec("web", "web"), "web");
        assert_eq!(namespec("workers", "w_00"), "workers:w_00");
    }

    #[test]
    fn auto_logs_are_recognised_as_supervisord_recognises_them() {
        let marker = "---supervisor-";
        assert!(is_auto_log("web-stdout---supervisor-a1b2c3.log", marker));
        assert!(is_auto_log("web-stdout---supervisor-a1b2c3.log.1", marker));
        assert!(is_auto_log(
            "web-stdout---supervisor-a1b2c3.log.1234",
            marker
        ));
        assert!(!is_auto_log(
            "web-stdout---supervisor-a1b2c3.log.12345",
            marker
        ));
        assert!(
            !is_auto_log("---supervisor-x.log", marker),
            "needs a name before"
        );
        assert!(!is_auto_log("web-stdout---other-x.log", marker));
        assert!(!is_auto_log("notes.txt", marker));
    }
}
