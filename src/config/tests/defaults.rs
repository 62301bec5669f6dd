//! Defaults (SPEC 1.2, 1.3, 1.4).

use super::*;

// ---------------------------------------------------------------------------------------
// Defaults (SPEC 1.2, 1.3, 1.4)
// ---------------------------------------------------------------------------------------

#[test]
fn without_supervice_section_every_global_default_applies() {
    let config = ok(&web(""));
    let g = &config.global;
    assert_eq!(g, &Global::default());
    assert_eq!(g.logfile, None);
    assert_eq!(g.loglevel, LogLevel::Info);
    assert_eq!(g.pidfile, Some(PathBuf::from("supervice.pid")));
    assert_eq!(g.socket, default_socket_path());
    assert_eq!(g.state_file, None);
    assert_eq!(g.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(g.log_maxbytes, 52_428_800);
    assert_eq!(g.log_backups, 10);
    assert_eq!(config.path, PathBuf::from(CONF));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn without_supervice_section_pidfile_and_socket_dirs_are_not_checked() {
    // Nothing in the text points anywhere; the defaults are taken as they are.
    let config = ok("[program:a]\ncommand = x\n");
    assert_eq!(config.global.pidfile, Some(PathBuf::from("supervice.pid")));
    assert_eq!(config.programs.len(), 1);
}

#[test]
fn supervice_section_with_only_a_socket_keeps_the_other_defaults() {
    let tmp = TempDir::new("global-defaults");
    let config = ok(&format!("[supervice]\nsocket = {}\n", tmp.p("s.sock")));
    let g = &config.global;
    assert_eq!(g.logfile, None);
    assert_eq!(g.loglevel, LogLevel::Info);
    // The default pidfile is relative to the cwd (the crate root here), which exists.
    assert_eq!(g.pidfile, Some(PathBuf::from("supervice.pid")));
    assert_eq!(g.socket, PathBuf::from(tmp.p("s.sock")));
    assert_eq!(g.state_file, None);
    assert_eq!(g.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(g.log_maxbytes, 52_428_800);
    assert_eq!(g.log_backups, 10);
    assert!(config.programs.is_empty());
    assert!(config.groups.is_empty());
}

#[test]
fn empty_socket_value_means_the_computed_default() {
    let tmp = TempDir::new("socket-empty");
    let text = format!("[supervice]\npidfile = {}\nsocket =\n", tmp.p("s.pid"));
    let default = default_socket_path();
    let default_dir = parent_dir(&default);
    if default_dir.is_dir() {
        assert_eq!(ok(&text).global.socket, default);
    } else {
        err_has(&text, &["socket directory", "does not exist"]);
    }
}

#[test]
fn every_global_key_is_read() {
    let tmp = TempDir::new("global-keys");
    let text = format!(
        "[supervice]\nlogfile = {log}\nloglevel = debug\npidfile = {pid}\nsocket = {sock}\n\
         state_file = {state}\nshutdown_timeout = 5\nlog_maxbytes = 0\nlog_backups = 0\n",
        log = tmp.p("d.log"),
        pid = tmp.p("d.pid"),
        sock = tmp.p("d.sock"),
        state = tmp.p("d.state"),
    );
    let config = ok(&text);
    let g = &config.global;
    assert_eq!(g.logfile, Some(PathBuf::from(tmp.p("d.log"))));
    assert_eq!(g.loglevel, LogLevel::Debug);
    assert_eq!(g.pidfile, Some(PathBuf::from(tmp.p("d.pid"))));
    assert_eq!(g.socket, PathBuf::from(tmp.p("d.sock")));
    assert_eq!(g.state_file, Some(PathBuf::from(tmp.p("d.state"))));
    assert_eq!(g.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(g.log_maxbytes, 0);
    assert_eq!(g.log_backups, 0);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn empty_logfile_and_state_file_mean_none() {
    let tmp = TempDir::new("global-empty");
    let config = ok(&format!(
        "[supervice]\nlogfile =\nstate_file =\nsocket = {}\npidfile = none\n",
        tmp.p("s.sock")
    ));
    assert_eq!(config.global.logfile, None);
    assert_eq!(config.global.state_file, None);
}

#[test]
fn every_program_default() {
    let config = ok("[program:web]\ncommand = /bin/true\n");
    let p = only_program(&config);
    assert_eq!(p.name, "web");
    assert_eq!(p.group, "web");
    assert_eq!(p.command, "/bin/true");
    assert_eq!(p.numprocs, 1);
    assert!(p.autostart);
    assert!(p.autorestart);
    assert_eq!(p.startsecs, Duration::from_secs(1));
    assert_eq!(p.startretries, 3);
    assert_eq!(p.stopsignal, Signal::SIGTERM);
    assert_eq!(p.stopwaitsecs, Duration::from_secs(10));
    assert_eq!(p.stdout, None);
    assert_eq!(p.stderr, None);
    assert!(p.environment.is_empty());
    assert_eq!(p.directory, None);
    assert_eq!(p.user, None);
    assert!(p.pdeathsig);
    assert_eq!(p.reconcile, Reconcile::Auto);
    assert_eq!(p.reconcile.name(), "auto");
    assert_eq!(
        p.health,
        Health {
            check: HealthCheck::None,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            retries: 3,
            start_period: Duration::from_secs(10),
        }
    );

    let all = instances(&config);
    assert_eq!(all.len(), 1);
    let i = &all[0];
    assert_eq!(i.name, "web");
    assert_eq!(i.program, "web");
    assert_eq!(i.group, "web");
    assert_eq!(i.numprocs, 1);
    assert_eq!(i.argv, strings(&["/bin/true"]));
    assert!(i.autostart && i.autorestart && i.pdeathsig);
    assert_eq!(i.startsecs, Duration::from_secs(1));
    assert_eq!(i.startretries, 3);
    assert_eq!(i.stopsignal, Signal::SIGTERM);
    assert_eq!(i.stopwaitsecs, Duration::from_secs(10));
    assert_eq!(i.stdout, None);
    assert_eq!(i.stderr, None);
    assert!(i.environment.is_empty());
    assert_eq!(i.directory, None);
    assert_eq!(i.user, None);
    assert_eq!(i.reconcile, Reconcile::Auto);
    assert_eq!(i.health, p.health);

    assert_eq!(
        config.groups,
        vec![Group {
            name: "web".into(),
            programs: strings(&["web"]),
            priority: None,
        }]
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn log_rotation_defaults_and_overrides() {
    let tmp = TempDir::new("log-defaults");
    let config = ok(&web(&format!(
        "stdout_logfile = {}\nstderr_logfile = {}\n",
        tmp.p("out.log"),
        tmp.p("err.log")
    )));
    let p = only_program(&config);
    assert_eq!(
        p.stdout,
        Some(LogFile {
            path: PathBuf::from(tmp.p("out.log")),
            maxbytes: 52_428_800,
            backups: 10,
        })
    );
    assert_eq!(
        p.stderr,
        Some(LogFile {
            path: PathBuf::from(tmp.p("err.log")),
            maxbytes: 52_428_800,
            backups: 10,
        })
    );

    let config = ok(&web(&format!(
        "stdout_logfile = {}\nstderr_logfile = {}\nstdout_logfile_maxbytes = 100\n\
         stdout_logfile_backups = 0\nstderr_logfile_maxbytes = 0\nstderr_logfile_backups = 2\n",
        tmp.p("out.log"),
        tmp.p("err.log")
    )));
    let p = only_program(&config);
    let out = p.stdout.as_ref().expect("stdout log");
    let errlog = p.stderr.as_ref().expect("stderr log");
    assert_eq!((out.maxbytes, out.backups), (100, 0));
    assert_eq!((errlog.maxbytes, errlog.backups), (0, 2));
}

#[test]
fn empty_log_paths_mean_no_capture() {
    let config = ok(&web("stdout_logfile =\nstderr_logfile =\n"));
    let p = only_program(&config);
    assert_eq!(p.stdout, None);
    assert_eq!(p.stderr, None);
}

#[test]
fn every_program_key_is_read() {
    let tmp = TempDir::new("program-keys");
    let dir = tmp.mkdir("work");
    let env_file = tmp.write("env", "FROM_FILE=1\n");
    let text = format!(
        "[program:web]\n\
         command = /usr/bin/env python3 -m http.server\n\
         numprocs = 1\n\
         autostart = false\n\
         autorestart = no\n\
         startsecs = 0\n\
         startretries = 7\n\
         stopsignal = INT\n\
         stopwaitsecs = 0\n\
         stdout_logfile = {out}\n\
         stderr_logfile = {errlog}\n\
         stdout_logfile_maxbytes = 1024\n\
         stdout_logfile_backups = 1\n\
         stderr_logfile_maxbytes = 2048\n\
         stderr_logfile_backups = 3\n\
         environment = A=1,B=2\n\
         env_file = {env_file}\n\
         directory = {dir}\n\
         user = root\n\
         pdeathsig = off\n\
         reconcile = kill\n\
         healthcheck_type = tcp\n\
         healthcheck_interval = 5\n\
         healthcheck_timeout = 0\n\
         healthcheck_retries = 0\n\
         healthcheck_start_period = 0\n\
         healthcheck_port = 8000\n\
         healthcheck_host = 10.0.0.1\n\
         healthcheck_command = ignored for tcp\n",
        out = tmp.p("o.log"),
        errlog = tmp.p("e.log"),
    );
    let config = ok(&text);
    let p = only_program(&config);
    assert_eq!(p.command, "/usr/bin/env python3 -m http.server");
    assert_eq!(p.numprocs, 1);
    assert!(!p.autostart);
    assert!(!p.autorestart);
    assert_eq!(p.startsecs, Duration::ZERO);
    assert_eq!(p.startretries, 7);
    assert_eq!(p.stopsignal, Signal::SIGINT);
    assert_eq!(p.stopwaitsecs, Duration::ZERO);
    assert_eq!(
        p.stdout,
        Some(LogFile {
            path: PathBuf::from(tmp.p("o.log")),
            maxbytes: 1024,
            backups: 1
        })
    );
    assert_eq!(
        p.stderr,
        Some(LogFile {
            path: PathBuf::from(tmp.p("e.log")),
            maxbytes: 2048,
            backups: 3
        })
    );
    assert_eq!(
        p.environment,
        pairs(&[("FROM_FILE", "1"), ("A", "1"), ("B", "2")])
    );
    assert_eq!(p.directory, Some(PathBuf::from(&dir)));
    assert_eq!(p.user.as_deref(), Some("root"));
    assert!(!p.pdeathsig);
    assert_eq!(p.reconcile, Reconcile::Kill);
    assert_eq!(
        p.health,
        Health {
            check: HealthCheck::Tcp {
                host: "10.0.0.1".into(),
                port: 8000,
                addr: Some(SocketAddr::from(([10, 0, 0, 1], 8000))),
            },
            interval: Duration::from_secs(5),
            timeout: Duration::ZERO,
            retries: 0,
            start_period: Duration::ZERO,
        }
    );
    let i = &instances(&config)[0];
    assert_eq!(
        i.argv,
        strings(&["/usr/bin/env", "python3", "-m", "http.server"])
    );
    assert_eq!(i.directory, Some(PathBuf::from(&dir)));
    assert_eq!(i.user.as_deref(), Some("root"));
    // Every key is known: no warning at all.
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn the_extension_keys_are_supervices_keys_that_supervisord_lacks() {
    use crate::config::EXTENSION_KEYS;
    assert_eq!(EXTENSION_KEYS.first(), Some(&"env_file"));
    assert_eq!(EXTENSION_KEYS.len(), 11);
    assert!(EXTENSION_KEYS.iter().all(|k| *k == "env_file"
        || *k == "pdeathsig"
        || *k == "reconcile"
        || k.starts_with("healthcheck_")));
}
