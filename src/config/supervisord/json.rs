//! `supervice --check --json` for a supervisord file: the effective configuration, every
//! value after expansion and typing, under supervisord's key names. tests/supervisord_dialect.rs
//! compares it with what supervisor 4.3.0's own parser makes of the same file.

use super::model::{Group, GroupKind, LogTarget, Model, Process, StreamLog};
use super::types;
use crate::config::jsonout::Json;

pub fn effective(model: &Model) -> String {
    let s = &model.supervisord;
    let mut j = Json::new();
    j.begin_object();
    j.key("dialect").str("supervisord");
    j.key("supervisord").begin_object();
    j.key("logfile").str(&s.logfile);
    j.key("logfile_maxbytes").uint(s.logfile_maxbytes);
    j.key("logfile_backups").int(s.logfile_backups);
    j.key("loglevel").str(s.loglevel);
    j.key("pidfile").str(&s.pidfile);
    j.key("umask").uint(u64::from(s.umask));
    j.key("nodaemon").bool(s.nodaemon);
    j.key("silent").bool(s.silent);
    j.key("minfds").int(s.minfds);
    j.key("minprocs").int(s.minprocs);
    j.key("nocleanup").bool(s.nocleanup);
    j.key("childlogdir").str(&s.childlogdir);
    j.key("user").opt_str(s.user.as_deref());
    j.key("directory").opt_str(s.directory.as_deref());
    j.key("strip_ansi").bool(s.strip_ansi);
    j.key("environment").pairs(&s.environment);
    j.key("identifier").str(&s.identifier);
    j.end_object();
    j.key("unix_http_server");
    match &model.unix_http_server {
        None => j.null(),
        Some(u) => {
            j.begin_object();
            j.key("file").str(&u.file.display().to_string());
            j.key("chmod").uint(u64::from(u.chmod));
            j.key("chown");
            match u.chown {
                None => j.null(),
                Some((uid, gid)) => j.begin_array().int(uid).int(gid).end_array(),
            };
            j.key("username").opt_str(u.username.as_deref());
            j.key("password").opt_str(u.password.as_deref());
            j.end_object()
        }
    };
    j.key("inet_http_server");
    match &model.inet_http_server {
        None => j.null(),
        Some(i) => {
            j.begin_object();
            j.key("port").str(&format!("{}:{}", i.host, i.port));
            j.key("username").opt_str(i.username.as_deref());
            j.key("password").opt_str(i.password.as_deref());
            j.end_object()
        }
    };
    j.key("groups").begin_array();
    for g in &model.groups {
        group(&mut j, g);
    }
    j.end_array();
    j.key("processes").begin_array();
    for g in &model.groups {
        for p in &g.processes {
            process(&mut j, g, p);
        }
    }
    j.end_array();
    j.end_object();
    j.finish()
}

fn group(j: &mut Json, group: &Group) {
    j.begin_object();
    j.key("name").str(&group.name);
    j.key("priority").int(group.priority);
    j.key("processes")
        .strs(group.processes.iter().map(|p| p.name.as_str()));
    let kind = match &group.kind {
        GroupKind::Program => "program",
        GroupKind::EventListener {
            buffer_size,
            events,
        } => {
            j.key("buffer_size").int(*buffer_size);
            j.key("events").strs(events.iter().map(String::as_str));
            "eventlistener"
        }
        GroupKind::Fcgi { socket } => {
            j.key("socket").str(&socket.url());
            "fcgi-program"
        }
    };
    j.key("kind").str(kind);
    j.end_object();
}

fn process(j: &mut Json, group: &Group, p: &Process) {
    j.begin_object();
    j.key("group").str(&group.name);
    j.key("name").str(&p.name);
    j.key("command").str(&p.command);
    j.key("directory").opt_str(p.directory.as_deref());
    j.key("umask");
    match p.umask {
        Some(umask) => j.uint(u64::from(umask)),
        None => j.null(),
    };
    j.key("priority").int(p.priority);
    j.key("autostart").bool(p.autostart);
    j.key("autorestart").str(p.autorestart.name());
    j.key("exitcodes").begin_array();
    for code in &p.exitcodes {
        j.uint(u64::from(*code));
    }
    j.end_array();
    j.key("startsecs").int(p.startsecs);
    j.key("startretries").int(p.startretries);
    j.key("stopsignal").str(types::signal_name(p.stopsignal));
    j.key("stopwaitsecs").int(p.stopwaitsecs);
    j.key("stopasgroup").bool(p.stopasgroup);
    j.key("killasgroup").bool(p.killasgroup);
    j.key("user")
        .opt_str(p.user.as_ref().map(|(name, _)| name.as_str()));
    j.key("redirect_stderr").bool(p.redirect_stderr);
    j.key("environment").pairs(&p.environment);
    j.key("serverurl").opt_str(p.serverurl.as_deref());
    stream(j, "stdout", &p.stdout);
    stream(j, "stderr", &p.stderr);
    j.end_object();
}

fn stream(j: &mut Json, name: &str, log: &StreamLog) {
    j.key(&format!("{name}_logfile"));
    match &log.logfile {
        LogTarget::Auto => j.str("AUTO"),
        LogTarget::None => j.null(),
        LogTarget::Path(path) => j.str(path),
    };
    j.key(&format!("{name}_logfile_maxbytes"))
        .uint(log.maxbytes);
    j.key(&format!("{name}_logfile_backups")).int(log.backups);
    j.key(&format!("{name}_capture_maxbytes"))
        .uint(log.capture_maxbytes);
    j.key(&format!("{name}_events_enabled"))
        .bool(log.events_enabled);
    j.key(&format!("{name}_syslog")).bool(log.syslog);
}
