//! Program and [supervice] validation errors and their order (SPEC 1.2, 1.3, 1.7).

use super::*;

// ---------------------------------------------------------------------------------------
// Program validation errors (SPEC 1.3)
// ---------------------------------------------------------------------------------------

#[test]
fn missing_command_is_an_error() {
    let msg = err("[program:web]\nnumprocs = 1\n");
    assert_eq!(
        msg,
        "Program 'web': missing command ([program:web] command)"
    );
    err_has(
        "[program:web]\ncommand =\n",
        &[
            "Program 'web': missing command",
            "[program:web] command, line 2",
        ],
    );
}

#[test]
fn unparseable_command_is_an_error() {
    err_has(
        "[program:web]\ncommand = sh -c 'echo hi\n",
        &[
            "Program 'web': command does not parse: No closing quotation",
            "([program:web] command, line 2)",
        ],
    );
    err_has(
        "[program:web]\ncommand = echo \"hi\n",
        &["command does not parse: No closing quotation"],
    );
    err_has(
        "[program:web]\ncommand = echo \\\n",
        &["command does not parse: No escaped character"],
    );
}

#[test]
fn negative_bounds_name_the_key_and_the_value() {
    for key in [
        "startsecs",
        "startretries",
        "stopwaitsecs",
        "stdout_logfile_maxbytes",
        "stdout_logfile_backups",
        "stderr_logfile_maxbytes",
        "stderr_logfile_backups",
    ] {
        err_has(
            &web(&format!("{key} = -3")),
            &[
                &format!("Program 'web': {key} must be non-negative, got -3"),
                &format!("([program:web] {key}, line 3)"),
            ],
        );
    }
}

#[test]
fn stopsignal_accepts_every_spelling() {
    let cases = [
        ("TERM", Signal::SIGTERM),
        ("SIGTERM", Signal::SIGTERM),
        ("term", Signal::SIGTERM),
        ("sigterm", Signal::SIGTERM),
        ("sigusr1", Signal::SIGUSR1),
        ("Usr2", Signal::SIGUSR2),
        ("SigInt", Signal::SIGINT),
        ("int", Signal::SIGINT),
        ("HUP", Signal::SIGHUP),
        ("QUIT", Signal::SIGQUIT),
        ("kill", Signal::SIGKILL),
        ("SIGWINCH", Signal::SIGWINCH),
    ];
    for (spelling, signal) in cases {
        let config = ok(&web(&format!("stopsignal = {spelling}")));
        assert_eq!(only_program(&config).stopsignal, signal, "{spelling}");
        assert_eq!(instances(&config)[0].stopsignal, signal, "{spelling}");
    }
}

#[test]
fn every_listed_signal_name_maps_to_that_signal() {
    for name in ALL_SIGNALS.split(", ") {
        for spelling in [
            name.to_string(),
            format!("SIG{name}"),
            name.to_lowercase(),
            format!("sig{}", name.to_lowercase()),
        ] {
            let config = ok(&web(&format!("stopsignal = {spelling}")));
            let signal = only_program(&config).stopsignal;
            assert_eq!(signal.as_str(), format!("SIG{name}"), "{spelling}");
        }
    }
}

#[test]
fn invalid_stopsignal_lists_every_valid_signal() {
    for bad in ["SIGFOO", "15", "SIG", "SIGSIGTERM", "RTMIN", "TERM1"] {
        let msg = err(&web(&format!("stopsignal = {bad}")));
        assert_eq!(
            msg,
            format!(
                "Program 'web': invalid stopsignal '{bad}'. Valid signals: {ALL_SIGNALS} \
                 ([program:web] stopsignal, line 3)"
            )
        );
    }
}

#[test]
fn reconcile_values() {
    for (value, expected) in [
        ("auto", Reconcile::Auto),
        ("kill", Reconcile::Kill),
        ("warn", Reconcile::Warn),
        ("off", Reconcile::Off),
        ("KILL", Reconcile::Kill),
        ("Warn", Reconcile::Warn),
        ("OFF", Reconcile::Off),
    ] {
        let config = ok(&web(&format!("reconcile = {value}")));
        assert_eq!(only_program(&config).reconcile, expected, "{value}");
        assert_eq!(instances(&config)[0].reconcile, expected, "{value}");
        assert_eq!(expected.name(), value.to_lowercase());
    }
}

#[test]
fn invalid_reconcile_is_an_error() {
    for bad in ["nope", "", "true", "kill9"] {
        err_has(
            &web(&format!("reconcile = {bad}")),
            &[
                &format!(
                    "Program 'web': invalid reconcile '{bad}' (expected one of: auto, kill, warn, off)"
                ),
                "([program:web] reconcile, line 3)",
            ],
        );
    }
}

#[test]
fn directory_must_exist_and_be_a_directory() {
    let tmp = TempDir::new("directory");
    let dir = tmp.mkdir("work");
    let file = tmp.write("file", "");
    let missing = tmp.p("missing");

    let config = ok(&web(&format!("directory = {dir}")));
    assert_eq!(only_program(&config).directory, Some(PathBuf::from(&dir)));

    err_has(
        &web(&format!("directory = {missing}")),
        &[
            &format!("Program 'web': directory '{missing}' does not exist"),
            "([program:web] directory, line 3)",
        ],
    );
    err_has(
        &web(&format!("directory = {file}")),
        &[
            &format!("Program 'web': '{file}' is not a directory"),
            "[program:web] directory",
        ],
    );
    let config = ok(&web("directory ="));
    assert_eq!(only_program(&config).directory, None);
}

#[test]
fn log_directory_must_exist() {
    let tmp = TempDir::new("logdir");
    let missing_dir = tmp.p("missing");
    for key in ["stdout_logfile", "stderr_logfile"] {
        err_has(
            &web(&format!("{key} = {missing_dir}/x.log")),
            &[
                &format!("Program 'web': log directory '{missing_dir}' does not exist"),
                &format!("([program:web] {key}, line 3)"),
            ],
        );
    }
}

#[test]
fn log_directory_with_process_num_fails_even_if_expanded_dirs_exist() {
    let tmp = TempDir::new("logdir-template");
    tmp.mkdir("logs_00");
    tmp.mkdir("logs_01");
    let template_dir = tmp.p("logs_%(process_num)s");
    err_has(
        &web(&format!(
            "numprocs = 2\nstdout_logfile = {template_dir}/out.log"
        )),
        &[
            &format!("log directory '{template_dir}' does not exist"),
            "[program:web] stdout_logfile",
        ],
    );
}

#[test]
fn user_must_exist() {
    err_has(
        &web("user = nosuchuser_xyz"),
        &[
            "Program 'web': user 'nosuchuser_xyz' does not exist",
            "([program:web] user, line 3)",
        ],
    );
    // A numeric uid is not a user name.
    err_has(&web("user = 0"), &["user '0' does not exist"]);
    let config = ok(&web("user = root"));
    assert_eq!(only_program(&config).user.as_deref(), Some("root"));
    let config = ok(&web("user ="));
    assert_eq!(only_program(&config).user, None);
    assert_eq!(only_program(&config).credentials, None);
}

/// The user is looked up at load; spawns use what the config holds.
#[test]
fn user_credentials_are_resolved_at_load() {
    let config = ok(&web("user = root"));
    let credentials = only_program(&config).credentials.clone();
    let credentials = credentials.expect("root's credentials");
    assert_eq!(credentials.uid.as_raw(), 0);
    assert_eq!(credentials.gid.as_raw(), 0);
    // Supplementary groups only matter (and are only looked up) when the daemon is root.
    assert_eq!(
        credentials.groups.is_some(),
        nix::unistd::geteuid().is_root()
    );
    let instance = config.instances().next().expect("an instance");
    assert_eq!(instance.credentials, Some(credentials));
}

// ---------------------------------------------------------------------------------------
// [supervice] validation (SPEC 1.2)
// ---------------------------------------------------------------------------------------

/// `[supervice]` with a socket and pidfile in `tmp`, plus `extra` lines.
fn supervice(tmp: &TempDir, extra: &str) -> String {
    format!(
        "[supervice]\nsocket = {}\npidfile = {}\n{extra}\n",
        tmp.p("s.sock"),
        tmp.p("s.pid")
    )
}

#[test]
fn pidfile_none_or_empty_disables_it() {
    let tmp = TempDir::new("pidfile-none");
    for value in ["none", "NONE", "None", "nOnE", ""] {
        let text = format!(
            "[supervice]\nsocket = {}\npidfile = {value}\n",
            tmp.p("s.sock")
        );
        assert_eq!(ok(&text).global.pidfile, None, "pidfile = {value:?}");
    }
}

#[test]
fn pidfile_directory_must_exist() {
    let tmp = TempDir::new("pidfile-missing");
    let missing = tmp.p("missing");
    err_has(
        &format!(
            "[supervice]\nsocket = {}\npidfile = {missing}/s.pid\n",
            tmp.p("s.sock")
        ),
        &[
            &format!("pidfile directory '{missing}' does not exist"),
            "([supervice] pidfile, line 3)",
        ],
    );
    let config = ok(&supervice(&tmp, ""));
    assert_eq!(config.global.pidfile, Some(PathBuf::from(tmp.p("s.pid"))));
}

#[test]
fn relative_pidfile_is_checked_against_the_cwd() {
    let tmp = TempDir::new("pidfile-relative");
    let text = format!(
        "[supervice]\nsocket = {}\npidfile = no-such-dir-xyz/s.pid\n",
        tmp.p("s.sock")
    );
    let cwd = std::env::current_dir().expect("cwd");
    err_has(
        &text,
        &[&format!(
            "pidfile directory '{}' does not exist",
            cwd.join("no-such-dir-xyz").display()
        )],
    );
}

#[test]
fn socket_directory_must_exist() {
    let tmp = TempDir::new("socket-missing");
    let missing = tmp.p("missing");
    err_has(
        &format!("[supervice]\npidfile = none\nsocket = {missing}/s.sock\n"),
        &[
            &format!("socket directory '{missing}' does not exist"),
            "([supervice] socket, line 3)",
        ],
    );
}

#[test]
fn shutdown_timeout_must_be_positive() {
    let tmp = TempDir::new("shutdown-timeout");
    for bad in ["0", "-5"] {
        let msg = err(&supervice(&tmp, &format!("shutdown_timeout = {bad}")));
        assert_eq!(
            msg,
            "shutdown_timeout must be positive ([supervice] shutdown_timeout, line 4)"
        );
    }
    let config = ok(&supervice(&tmp, "shutdown_timeout = 1"));
    assert_eq!(config.global.shutdown_timeout, Duration::from_secs(1));
}

#[test]
fn daemon_log_sizes_must_be_non_negative() {
    let tmp = TempDir::new("log-sizes");
    err_has(
        &supervice(&tmp, "log_maxbytes = -1"),
        &[
            "log_maxbytes must be non-negative",
            "([supervice] log_maxbytes, line 4)",
        ],
    );
    err_has(
        &supervice(&tmp, "log_backups = -1"),
        &[
            "log_backups must be non-negative",
            "([supervice] log_backups, line 4)",
        ],
    );
    let config = ok(&supervice(&tmp, "log_maxbytes = 1_000\nlog_backups = 3"));
    assert_eq!(config.global.log_maxbytes, 1000);
    assert_eq!(config.global.log_backups, 3);
}

#[test]
fn loglevel_values() {
    let tmp = TempDir::new("loglevel");
    for (value, level) in [
        ("DEBUG", LogLevel::Debug),
        ("debug", LogLevel::Debug),
        ("Info", LogLevel::Info),
        ("WARNING", LogLevel::Warning),
        ("WARN", LogLevel::Warning),
        ("warn", LogLevel::Warning),
        ("error", LogLevel::Error),
        ("CRITICAL", LogLevel::Critical),
    ] {
        let config = ok(&supervice(&tmp, &format!("loglevel = {value}")));
        assert_eq!(config.global.loglevel, level, "{value}");
    }
    assert_eq!(LogLevel::Warning.name(), "WARNING");
}

#[test]
fn invalid_loglevel_lists_the_valid_levels() {
    let tmp = TempDir::new("loglevel-bad");
    for bad in ["verbose", "", "TRACE"] {
        let msg = err(&supervice(&tmp, &format!("loglevel = {bad}")));
        assert_eq!(
            msg,
            format!(
                "Invalid loglevel '{bad}'. Valid levels: CRITICAL, DEBUG, ERROR, INFO, WARN, \
                 WARNING ([supervice] loglevel, line 4)"
            )
        );
    }
}

#[test]
fn supervice_validation_order() {
    let tmp = TempDir::new("global-order");
    let missing = tmp.p("missing");
    // (lines, the error that must win)
    let cases = [
        (
            "loglevel = bad\nshutdown_timeout = abc".to_string(),
            "shutdown_timeout must be an integer",
        ),
        (
            "log_backups = abc\nloglevel = bad".to_string(),
            "log_backups must be an integer",
        ),
        (
            "shutdown_timeout = 0\nloglevel = bad".to_string(),
            "Invalid loglevel 'bad'",
        ),
        (
            "log_maxbytes = -1\nshutdown_timeout = 0".to_string(),
            "shutdown_timeout must be positive",
        ),
        (
            "log_backups = -1\nlog_maxbytes = -1".to_string(),
            "log_maxbytes must be non-negative",
        ),
        (
            format!("pidfile = {missing}/p.pid\nsocket = {missing}/s.sock\nlog_backups = -1"),
            "log_backups must be non-negative",
        ),
        (
            format!("socket = {missing}/s.sock\npidfile = {missing}/p.pid"),
            "pidfile directory",
        ),
    ];
    for (lines, expected) in cases {
        let text = format!("[supervice]\n{lines}\n");
        err_has(&text, &[expected]);
    }
}

#[test]
fn supervice_section_is_validated_before_any_program() {
    let text = "[program:web]\ncommand = /bin/true\nstartsecs = abc\n\
                [supervice]\nloglevel = bad\n";
    let msg = err(text);
    assert!(msg.starts_with("Invalid loglevel 'bad'"), "{msg}");
}

// ---------------------------------------------------------------------------------------
// Validation order inside a program (SPEC 1.7)
// ---------------------------------------------------------------------------------------

#[test]
fn program_validation_order() {
    let tmp = TempDir::new("program-order");
    let missing = tmp.p("missing");
    let bad_env = tmp.write("bad.env", "junk\n");
    // (lines after `[program:web]`, a phrase of the error that must win)
    let cases: Vec<(String, &str)> = vec![
        // 1. health integers before the others (and before the command check)
        (
            "startsecs = abc\nhealthcheck_interval = abc".into(),
            "healthcheck_interval must be an integer",
        ),
        (
            "numprocs = abc\nhealthcheck_port = abc\ncommand = x".into(),
            "healthcheck_port must be an integer",
        ),
        // 2. integers before reconcile
        (
            "reconcile = bad\nstopwaitsecs = abc\ncommand = x".into(),
            "stopwaitsecs must be an integer",
        ),
        // 3. reconcile before the command check
        ("reconcile = bad".into(), "invalid reconcile 'bad'"),
        // 4. missing command before the bounds
        ("numprocs = -1".into(), "missing command"),
        // 5. bounds: numprocs, startsecs, startretries, stopwaitsecs, then the log sizes,
        //    and numprocs >= 1 last
        (
            "command = x\nstartsecs = -1\nnumprocs = -1".into(),
            "numprocs must be non-negative",
        ),
        (
            "command = x\nstartretries = -1\nstartsecs = -1".into(),
            "startsecs must be non-negative",
        ),
        (
            "command = x\nstopwaitsecs = -1\nstartretries = -1".into(),
            "startretries must be non-negative",
        ),
        (
            "command = x\nstdout_logfile_maxbytes = -1\nstopwaitsecs = -1".into(),
            "stopwaitsecs must be non-negative",
        ),
        (
            "command = x\nnumprocs = 0\nstderr_logfile_backups = -1".into(),
            "stderr_logfile_backups must be non-negative",
        ),
        // 6. numprocs >= 1 before the command parse
        (
            "command = 'unclosed\nnumprocs = 0".into(),
            "numprocs must be at least 1",
        ),
        // 7. command parse, stopsignal, user, directory, log dirs, env_file, health
        (
            "command = 'unclosed\nstopsignal = BAD".into(),
            "command does not parse",
        ),
        (
            "command = x\nuser = nosuchuser_xyz\nstopsignal = BAD".into(),
            "invalid stopsignal 'BAD'",
        ),
        (
            format!("command = x\ndirectory = {missing}\nuser = nosuchuser_xyz"),
            "user 'nosuchuser_xyz' does not exist",
        ),
        (
            format!("command = x\nstdout_logfile = {missing}/o.log\ndirectory = {missing}"),
            "Program 'web': directory '",
        ),
        (
            format!(
                "command = x\nstderr_logfile = {missing}/e.log\nstdout_logfile = {missing}/o.log"
            ),
            "([program:web] stdout_logfile",
        ),
        (
            format!("command = x\nenv_file = {missing}/a.env\nstderr_logfile = {missing}/e.log"),
            "log directory",
        ),
        (
            format!("command = x\nhealthcheck_type = tcp\nenv_file = {missing}/a.env"),
            "env_file '",
        ),
        // 8. env_file contents last
        (
            format!("command = x\nenv_file = {bad_env}\nhealthcheck_type = tcp"),
            "healthcheck_port is required",
        ),
    ];
    for (lines, expected) in cases {
        let text = format!("[program:web]\n{lines}\n");
        err_has(&text, &[expected]);
    }
    // And each of those alone is indeed an error on its own (so the order test means
    // something): the malformed env file is reported once the health check is fixed.
    err_has(
        &format!("[program:web]\ncommand = x\nenv_file = {bad_env}\n"),
        &["malformed env line"],
    );
}

#[test]
fn programs_are_validated_in_file_order() {
    let text = "[program:a]\ncommand = x\nstartsecs = -1\n[program:b]\nnumprocs = abc\n";
    err_has(
        text,
        &["Program 'a': startsecs must be non-negative, got -1"],
    );
    let text = "[program:b]\nnumprocs = abc\n[program:a]\ncommand = x\nstartsecs = -1\n";
    err_has(text, &["Program 'b': numprocs must be an integer"]);
}

#[test]
fn groups_are_checked_after_all_programs() {
    let text = "[group:g]\nprograms = ghost\n[program:a]\ncommand = x\nstartsecs = -1\n";
    err_has(text, &["Program 'a': startsecs must be non-negative"]);
}

#[test]
fn two_sections_making_one_process_name_is_an_error_naming_both() {
    let msg = err(
        "[program:a]\ncommand = /bin/true\nnumprocs = 2\n\n[program:a:00]\ncommand = /bin/true\n",
    );
    assert_eq!(
        msg,
        "Process name 'a:00' is defined twice: by [program:a] (numprocs=2, line 1) \
         and by [program:a:00] (line 5)"
    );
    // Distinct names stay fine: a:02 is not made by numprocs = 2.
    ok("[program:a]\ncommand = /bin/true\nnumprocs = 2\n\n[program:a:02]\ncommand = /bin/true\n");
}
