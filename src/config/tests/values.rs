//! Integers, booleans, `%(process_num)s` and numprocs (SPEC preface item 8, 1.6).

use super::*;

// ---------------------------------------------------------------------------------------
// Integers and booleans (SPEC preface item 8)
// ---------------------------------------------------------------------------------------

const PROGRAM_INT_KEYS: &[&str] = &[
    "numprocs",
    "startsecs",
    "startretries",
    "stopwaitsecs",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "healthcheck_interval",
    "healthcheck_timeout",
    "healthcheck_retries",
    "healthcheck_start_period",
    "healthcheck_port",
];

#[test]
fn every_program_integer_error_names_the_key_and_its_location() {
    for key in PROGRAM_INT_KEYS {
        let text = format!("[program:web]\ncommand = /bin/true\n{key} = abc\n");
        err_has(
            &text,
            &[
                "Program 'web': ",
                &format!("{key} must be an integer, got 'abc'"),
                &format!("([program:web] {key}, line 3)"),
            ],
        );
    }
}

#[test]
fn empty_integer_is_an_error_naming_the_key() {
    for key in PROGRAM_INT_KEYS {
        if *key == "healthcheck_port" {
            continue; // empty means "no port"
        }
        let text = format!("[program:web]\ncommand = /bin/true\n{key} =\n");
        err_has(
            &text,
            &[
                &format!("{key} must be an integer, got ''"),
                &format!("[program:web] {key}"),
            ],
        );
    }
}

#[test]
fn integer_error_has_the_exact_supervice_text_and_location() {
    let msg = err("[program:web]\ncommand = /bin/true\nstartsecs = abc\n");
    assert_eq!(
        msg,
        "Program 'web': startsecs must be an integer, got 'abc' ([program:web] startsecs, line 3)"
    );
}

#[test]
fn integers_parse_like_python_int() {
    let config = ok(&web(
        "startsecs = 1_0\nstartretries = +4\nstopwaitsecs =  07 \nnumprocs = 0_2\n",
    ));
    let p = only_program(&config);
    assert_eq!(p.startsecs, Duration::from_secs(10));
    assert_eq!(p.startretries, 4);
    assert_eq!(p.stopwaitsecs, Duration::from_secs(7));
    assert_eq!(p.numprocs, 2);
    for bad in ["1.5", "1__0", "_1", "1_", "0x10", "10s", "- 1"] {
        err_has(
            &web(&format!("startsecs = {bad}")),
            &[&format!("startsecs must be an integer, got '{bad}'")],
        );
    }
}

#[test]
fn integers_beyond_64_bits_are_too_large_not_malformed() {
    for key in PROGRAM_INT_KEYS {
        let text = format!("[program:web]\ncommand = /bin/true\n{key} = 99999999999999999999\n");
        err_has(
            &text,
            &[
                &format!("{key} is too large, got '99999999999999999999'"),
                &format!("([program:web] {key}, line 3)"),
            ],
        );
    }
}

#[test]
fn durations_longer_than_a_century_are_refused_with_the_limit() {
    for key in [
        "startsecs",
        "stopwaitsecs",
        "healthcheck_interval",
        "healthcheck_timeout",
        "healthcheck_start_period",
    ] {
        let text = format!(
            "[program:web]\ncommand = /bin/true\nhealthcheck_type = script\n\
             healthcheck_command = /bin/true\n{key} = 100000000000000000\n"
        );
        err_has(
            &text,
            &[
                &format!("{key} must be at most 3153600000 (100 years), got 100000000000000000"),
                &format!("([program:web] {key}, line 5)"),
            ],
        );
    }
    err_has(
        "[supervice]\nshutdown_timeout = 3153600001\n",
        &["shutdown_timeout must be at most 3153600000 (100 years), got 3153600001"],
    );
    let config = ok(&web("stopwaitsecs = 3153600000\n"));
    assert_eq!(
        only_program(&config).stopwaitsecs,
        Duration::from_secs(3_153_600_000)
    );
}

#[test]
fn every_global_integer_error_names_the_key() {
    for key in ["shutdown_timeout", "log_maxbytes", "log_backups"] {
        for bad in ["abc", ""] {
            let text = format!("[supervice]\n{key} = {bad}\n");
            err_has(
                &text,
                &[
                    &format!("{key} must be an integer, got '{bad}'"),
                    &format!("([supervice] {key}, line 2)"),
                ],
            );
        }
    }
}

#[test]
fn booleans_accept_every_spelling_in_any_case() {
    let truthy = ["true", "yes", "on", "1", "TRUE", "Yes", "oN", "True"];
    let falsy = ["false", "no", "off", "0", "FALSE", "No", "OFF", "fAlSe"];
    for key in ["autostart", "autorestart", "pdeathsig"] {
        for (values, expected) in [(&truthy, true), (&falsy, false)] {
            for value in values.iter() {
                let config = ok(&web(&format!("{key} = {value}")));
                let p = only_program(&config);
                let got = match key {
                    "autostart" => p.autostart,
                    "autorestart" => p.autorestart,
                    _ => p.pdeathsig,
                };
                assert_eq!(got, expected, "{key} = {value}");
            }
        }
    }
}

#[test]
fn a_bad_boolean_is_an_error_naming_the_key() {
    for key in ["autostart", "autorestart", "pdeathsig"] {
        for bad in ["ture", "", "2", "y", "enabled"] {
            err_has(
                &web(&format!("{key} = {bad}")),
                &[
                    "Program 'web': ",
                    &format!("{key} must be a boolean"),
                    &format!("got '{bad}'"),
                    &format!("[program:web] {key}, line 3"),
                ],
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// `%(process_num)s` and numprocs (SPEC 1.6)
// ---------------------------------------------------------------------------------------

#[test]
fn numprocs_names_instances_and_expands_process_num() {
    let tmp = TempDir::new("numprocs");
    let text = format!(
        "[program:w]\ncommand = /bin/srv --port=80%(process_num)s --id %(process_num)s\n\
         numprocs = 3\nenvironment = SLOT=%(process_num)s,NAME=w-%(process_num)s-x,PLAIN=1\n\
         stdout_logfile = {out}\nstderr_logfile = {errlog}\n",
        out = tmp.p("w_%(process_num)s.out"),
        errlog = tmp.p("w_%(process_num)s.err"),
    );
    let config = ok(&text);
    assert_eq!(names(&config), ["w:00", "w:01", "w:02"]);
    let all = instances(&config);
    for (index, instance) in all.iter().enumerate() {
        let n = format!("{index:02}");
        assert_eq!(instance.program, "w");
        assert_eq!(instance.group, "w");
        assert_eq!(instance.numprocs, 3);
        assert_eq!(
            instance.argv,
            strings(&["/bin/srv", &format!("--port=80{n}"), "--id", &n])
        );
        assert_eq!(
            instance.environment,
            pairs(&[("SLOT", &n), ("NAME", &format!("w-{n}-x")), ("PLAIN", "1")])
        );
        assert_eq!(
            instance.stdout.as_ref().map(|l| l.path.clone()),
            Some(PathBuf::from(tmp.p(&format!("w_{n}.out"))))
        );
        assert_eq!(
            instance.stderr.as_ref().map(|l| l.path.clone()),
            Some(PathBuf::from(tmp.p(&format!("w_{n}.err"))))
        );
    }
    // The program keeps the templates.
    let p = only_program(&config);
    assert!(p.command.contains("%(process_num)s"));
    assert!(p
        .stdout
        .as_ref()
        .unwrap()
        .path
        .to_string_lossy()
        .contains("%(process_num)s"));
    assert_eq!(members(&config, "w"), strings(&["w"]));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn numprocs_one_keeps_the_plain_name_and_expands_to_00() {
    let config =
        ok("[program:w]\ncommand = /bin/echo %(process_num)s\nenvironment = N=%(process_num)s\n");
    let all = instances(&config);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "w");
    assert_eq!(all[0].argv, strings(&["/bin/echo", "00"]));
    assert_eq!(all[0].environment, pairs(&[("N", "00")]));
}

#[test]
fn instance_numbers_are_two_digit_then_grow() {
    let config = ok("[program:w]\ncommand = /bin/echo %(process_num)s\nnumprocs = 101\n");
    let all = instances(&config);
    assert_eq!(all.len(), 101);
    assert_eq!(all[9].name, "w:09");
    assert_eq!(all[10].name, "w:10");
    assert_eq!(all[99].name, "w:99");
    assert_eq!(all[100].name, "w:100");
    assert_eq!(all[100].argv, strings(&["/bin/echo", "100"]));
}

#[test]
fn process_num_is_not_expanded_in_name_directory_env_keys_or_health() {
    let tmp = TempDir::new("no-expand");
    // The directory exists only under its literal, unexpanded name.
    let dir = tmp.mkdir("d_%(process_num)s");
    let text = format!(
        "[program:p%(process_num)s]\ncommand = /bin/true\nnumprocs = 2\ndirectory = {dir}\n\
         environment = K_%(process_num)s=v%(process_num)s\n\
         healthcheck_type = script\nhealthcheck_command = check %(process_num)s\n"
    );
    let config = ok(&text);
    assert_eq!(
        names(&config),
        ["p%(process_num)s:00", "p%(process_num)s:01"]
    );
    for (index, instance) in instances(&config).iter().enumerate() {
        assert_eq!(instance.program, "p%(process_num)s");
        assert_eq!(instance.directory, Some(PathBuf::from(&dir)));
        assert_eq!(
            instance.environment,
            pairs(&[("K_%(process_num)s", &format!("v{index:02}"))])
        );
        assert_eq!(
            instance.health.check,
            HealthCheck::Script {
                command: "check %(process_num)s".into()
            }
        );
    }
}

#[test]
fn directory_is_checked_unexpanded() {
    let tmp = TempDir::new("dir-unexpanded");
    tmp.mkdir("d_00");
    let dir = tmp.p("d_%(process_num)s");
    err_has(
        &web(&format!("directory = {dir}")),
        &[
            &format!("directory '{dir}' does not exist"),
            "[program:web] directory",
        ],
    );
}

#[test]
fn user_is_not_expanded() {
    err_has(
        &web("user = u%(process_num)s"),
        &["user 'u%(process_num)s' does not exist"],
    );
}

#[test]
fn process_num_in_env_file_values_is_expanded_and_its_path_is_not() {
    let tmp = TempDir::new("envfile-expand");
    let env_file = tmp.write(
        "env_%(process_num)s",
        "PORT=90%(process_num)s\nKEY_%(process_num)s=x\n",
    );
    let text = format!("[program:w]\ncommand = /bin/true\nnumprocs = 2\nenv_file = {env_file}\n");
    let config = ok(&text);
    let all = instances(&config);
    assert_eq!(
        all[0].environment,
        pairs(&[("PORT", "9000"), ("KEY_%(process_num)s", "x")])
    );
    assert_eq!(
        all[1].environment,
        pairs(&[("PORT", "9001"), ("KEY_%(process_num)s", "x")])
    );
}

#[test]
fn other_substitutions_stay_literal() {
    let tmp = TempDir::new("other-subst");
    let config = ok(&web(&format!(
        "environment = A=%(ENV_HOME)s,B=%(here)s\nstdout_logfile = {}",
        tmp.p("%(program_name)s.log")
    )));
    let i = &instances(&config)[0];
    assert_eq!(
        i.environment,
        pairs(&[("A", "%(ENV_HOME)s"), ("B", "%(here)s")])
    );
    assert_eq!(
        i.stdout.as_ref().unwrap().path,
        PathBuf::from(tmp.p("%(program_name)s.log"))
    );
}

#[test]
fn numprocs_zero_and_negative_are_errors() {
    err_has(
        &web("numprocs = 0"),
        &[
            "Program 'web': numprocs must be at least 1",
            "([program:web] numprocs, line 3)",
        ],
    );
    err_has(
        &web("numprocs = -1"),
        &[
            "Program 'web': numprocs must be non-negative, got -1",
            "[program:web] numprocs",
        ],
    );
}

#[test]
fn numprocs_has_a_sane_upper_bound() {
    let message = err(&web("numprocs = 4294967295"));
    assert!(
        message.contains("numprocs must be at most 100000, got 4294967295"),
        "{message}"
    );
    assert_eq!(ok(&web("numprocs = 100000")).programs[0].numprocs, 100_000);
}

/// Each program may have 100,000 instances, and so may the whole configuration: that is
/// what a status reply is sized for.
#[test]
fn instances_in_all_are_bounded_too() {
    let two = |n: u32| {
        format!(
            "[program:a]\ncommand = /bin/true\nnumprocs = 60000\n\n\
             [program:b]\ncommand = /bin/true\nnumprocs = {n}\n"
        )
    };
    assert_eq!(ok(&two(40_000)).instances().count(), 100_000);
    err_has(
        &two(40_001),
        &[
            "Program 'b': numprocs=40001 makes 100001 instances in all, more than the limit of 100000",
            "[program:b] numprocs, line 7",
        ],
    );
}

/// Names so long that the status reply of their instances could not be read are refused
/// at load, not found out by `status`.
#[test]
fn instance_names_that_would_overflow_status_are_refused() {
    let name = "n".repeat(400);
    let text = format!("[program:{name}]\ncommand = /bin/true\nnumprocs = 100000\n");
    err_has(
        &text,
        &["status reply", "shorter program names", "numprocs"],
    );
    let text = format!("[program:{name}]\ncommand = /bin/true\nnumprocs = 50000\n");
    assert_eq!(ok(&text).programs[0].numprocs, 50_000);
}

#[test]
fn maxbytes_of_a_special_log_file_is_ignored_with_one_notice() {
    let config = ok(&web(
        "stdout_logfile = /dev/stdout\nstderr_logfile = /proc/self/fd/2\n\
         stderr_logfile_maxbytes = 0",
    ));
    assert_eq!(
        config.warnings,
        vec![
            "Program 'web': stdout_logfile=/dev/stdout is not a regular file; \
             stdout_logfile_maxbytes is ignored (only regular files are rotated)"
                .to_string()
        ]
    );
    let web = only_program(&config);
    assert_eq!(
        web.stdout.as_ref().map(|l| l.path.clone()),
        Some(PathBuf::from("/dev/stdout"))
    );
    let tmp = TempDir::new("special-log");
    let config = ok(&format!(
        "[supervice]\nlogfile = /dev/stderr\nsocket = {}\n",
        tmp.p("s.sock")
    ));
    assert_eq!(
        warnings_with(&config, "log_maxbytes is ignored").len(),
        1,
        "{:?}",
        config.warnings
    );
}
