//! `supervice --check --json` for a supervisord file: the effective configuration, every
//! value after expansion and typing, under supervisord's key names. tests/supervisord_dialect.rs
//! compares it with what supervisor 4.3.0's own parser makes of the same file.

use serde_json::{json, Map, Value};

use super::model::{Group, GroupKind, LogTarget, Model, Process, StreamLog};
use super::types;

pub fn effective(model: &Model) -> Value {
    let s = &model.supervisord;
    let unix = model.unix_http_server.as_ref().map(|u| {
        json!({
            "file": u.file.display().to_string(),
            "chmod": u.chmod,
            "chown": u.chown.map(|(uid, gid)| json!([uid, gid])),
            "username": u.username,
            "password": u.password,
        })
    });
    let inet = model.inet_http_server.as_ref().map(|i| {
        json!({
            "port": format!("{}:{}", i.host, i.port),
            "username": i.username,
            "password": i.password,
        })
    });
    json!({
        "dialect": "supervisord",
        "supervisord": {
            "logfile": s.logfile,
            "logfile_maxbytes": s.logfile_maxbytes,
            "logfile_backups": s.logfile_backups,
            "loglevel": s.loglevel,
            "pidfile": s.pidfile,
            "umask": s.umask,
            "nodaemon": s.nodaemon,
            "silent": s.silent,
            "minfds": s.minfds,
            "minprocs": s.minprocs,
            "nocleanup": s.nocleanup,
            "childlogdir": s.childlogdir,
            "user": s.user,
            "directory": s.directory,
            "strip_ansi": s.strip_ansi,
            "environment": pairs(&s.environment),
            "identifier": s.identifier,
        },
        "unix_http_server": unix,
        "inet_http_server": inet,
        "groups": model.groups.iter().map(group).collect::<Vec<_>>(),
        "processes": model
            .groups
            .iter()
            .flat_map(|g| g.processes.iter().map(move |p| process(g, p)))
            .collect::<Vec<_>>(),
    })
}

fn pairs(pairs: &[(String, String)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map)
}

fn group(group: &Group) -> Value {
    let mut out = json!({
        "name": group.name,
        "priority": group.priority,
        "processes": group.processes.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
    });
    let kind = match &group.kind {
        GroupKind::Program => "program",
        GroupKind::EventListener {
            buffer_size,
            events,
        } => {
            out["buffer_size"] = json!(buffer_size);
            out["events"] = json!(events);
            "eventlistener"
        }
        GroupKind::Fcgi { socket } => {
            out["socket"] = json!(socket.url());
            "fcgi-program"
        }
    };
    out["kind"] = json!(kind);
    out
}

fn process(group: &Group, p: &Process) -> Value {
    let mut out = json!({
        "group": group.name,
        "name": p.name,
        "command": p.command,
        "directory": p.directory,
        "umask": p.umask,
        "priority": p.priority,
        "autostart": p.autostart,
        "autorestart": p.autorestart.name(),
        "exitcodes": p.exitcodes,
        "startsecs": p.startsecs,
        "startretries": p.startretries,
        "stopsignal": types::signal_name(p.stopsignal),
        "stopwaitsecs": p.stopwaitsecs,
        "stopasgroup": p.stopasgroup,
        "killasgroup": p.killasgroup,
        "user": p.user.as_ref().map(|(name, _)| name.clone()),
        "redirect_stderr": p.redirect_stderr,
        "environment": pairs(&p.environment),
        "serverurl": p.serverurl,
    });
    stream(&mut out, "stdout", &p.stdout);
    stream(&mut out, "stderr", &p.stderr);
    out
}

fn stream(out: &mut Value, name: &str, log: &StreamLog) {
    let logfile = match &log.logfile {
        LogTarget::Auto => json!("AUTO"),
        LogTarget::None => Value::Null,
        LogTarget::Path(path) => json!(path),
    };
    out[format!("{name}_logfile")] = logfile;
    out[format!("{name}_logfile_maxbytes")] = json!(log.maxbytes);
    out[format!("{name}_logfile_backups")] = json!(log.backups);
    out[format!("{name}_capture_maxbytes")] = json!(log.capture_maxbytes);
    out[format!("{name}_events_enabled")] = json!(log.events_enabled);
    out[format!("{name}_syslog")] = json!(log.syslog);
}
