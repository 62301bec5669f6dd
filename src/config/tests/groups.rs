//! Groups and warnings (SPEC 1.5, 1.8).

use super::*;

// ---------------------------------------------------------------------------------------
// Groups (SPEC 1.5)
// ---------------------------------------------------------------------------------------

#[test]
fn group_members_must_exist() {
    let text = "[program:web]\ncommand = x\n[group:g]\nprograms = a, web, b\n";
    let msg = err(text);
    assert_eq!(
        msg,
        "Group 'g': unknown program(s): a, b ([group:g] programs, line 4)"
    );
}

#[test]
fn group_declared_before_its_programs_works() {
    let text = "[group:g]\nprograms = a,b\n[program:a]\ncommand = x\n[program:b]\ncommand = y\n";
    let config = ok(text);
    assert_eq!(
        config.groups,
        vec![Group {
            name: "g".into(),
            programs: strings(&["a", "b"]),
            priority: None,
        }]
    );
    assert_eq!(program(&config, "a").group, "g");
    assert_eq!(program(&config, "b").group, "g");
    for instance in instances(&config) {
        assert_eq!(instance.group, "g", "{}", instance.name);
    }
}

#[test]
fn group_members_follow_the_programs_list_order_trimmed() {
    let text = "[program:a]\ncommand = x\n[program:b]\ncommand = x\n[program:c]\ncommand = x\n\
                [group:g]\nprograms =  c , ,a,b ,\n";
    let config = ok(text);
    assert_eq!(members(&config, "g"), strings(&["c", "a", "b"]));
    // Instances stay in program order regardless.
    assert_eq!(names(&config), ["a", "b", "c"]);
}

#[test]
fn grouped_program_has_no_implicit_group_and_ungrouped_one_has() {
    let text = "[program:web]\ncommand = x\n[program:worker]\ncommand = y\nnumprocs = 2\n\
                [program:solo]\ncommand = z\n[group:g]\nprograms = web\n";
    let config = ok(text);
    assert_eq!(group_names(&config), ["g", "worker", "solo"]);
    assert!(group(&config, "web").is_none(), "web belongs to g only");
    assert_eq!(members(&config, "g"), strings(&["web"]));
    assert_eq!(members(&config, "worker"), strings(&["worker"]));
    let groups: Vec<(String, String)> = instances(&config)
        .into_iter()
        .map(|i| (i.name, i.group))
        .collect();
    assert_eq!(
        groups,
        pairs(&[
            ("web", "g"),
            ("worker:00", "worker"),
            ("worker:01", "worker"),
            ("solo", "solo"),
        ])
    );
}

#[test]
fn program_in_two_groups_ends_in_the_last_with_a_warning() {
    let text = "[program:a]\ncommand = x\n[program:b]\ncommand = y\n\
                [group:first]\nprograms = a, b\n[group:second]\nprograms = a\n";
    let config = ok(text);
    assert_eq!(program(&config, "a").group, "second");
    assert_eq!(program(&config, "b").group, "first");
    assert_eq!(members(&config, "first"), strings(&["b"]));
    assert_eq!(members(&config, "second"), strings(&["a"]));
    assert!(group(&config, "a").is_none());
    let warnings = warnings_with(&config, "Program 'a'");
    assert_eq!(warnings.len(), 1, "{:?}", config.warnings);
    assert!(warnings[0].contains("first, second"), "{}", warnings[0]);
    assert!(warnings[0].contains("'second'"), "{}", warnings[0]);
}

#[test]
fn group_whose_members_all_moved_to_a_later_group_disappears() {
    let text =
        "[program:a]\ncommand = x\n[group:first]\nprograms = a\n[group:second]\nprograms = a\n";
    let config = ok(text);
    assert_eq!(group_names(&config), ["second"]);
}

#[test]
fn group_with_no_programs_is_ignored_with_a_warning() {
    for programs_line in ["programs =\n", "programs = , ,\n", ""] {
        let text = format!("[program:a]\ncommand = x\n[group:empty]\n{programs_line}");
        let config = ok(&text);
        assert!(group(&config, "empty").is_none(), "{programs_line:?}");
        assert_eq!(group_names(&config), ["a"]);
        let warnings = warnings_with(&config, "Group 'empty'");
        assert_eq!(warnings.len(), 1, "{:?}", config.warnings);
        assert!(warnings[0].contains("line 3"), "{}", warnings[0]);
    }
}

#[test]
fn group_and_ungrouped_program_of_the_same_name_merge() {
    let text =
        "[program:api]\ncommand = x\n[program:web]\ncommand = y\n[group:web]\nprograms = api\n";
    let config = ok(text);
    assert_eq!(group_names(&config), ["web"]);
    assert_eq!(members(&config, "web"), strings(&["api", "web"]));
    assert_eq!(program(&config, "api").group, "web");
    assert_eq!(program(&config, "web").group, "web");
}

#[test]
fn group_programs_can_come_from_default() {
    let text = "[DEFAULT]\nprograms = a\n[program:a]\ncommand = x\n[group:g]\n";
    let config = ok(text);
    assert_eq!(members(&config, "g"), strings(&["a"]));
}

// ---------------------------------------------------------------------------------------
// Warnings (SPEC 1.8 and preface item 8)
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_sections_and_keys_are_warnings_not_errors() {
    let tmp = TempDir::new("unknown");
    let text = format!(
        "[DEFAULT]\nmystery = 1\n\
         [unix_http_server]\nfile = /tmp/x.sock\n\
         [include]\nfiles = *.conf\n\
         [Program:x]\ncommand = y\n\
         [supervice]\nsocket = {sock}\npidfile = none\nnodaemon = true\n\
         [program:web]\ncommand = /bin/true\nautostrat = false\nredirect_stderr = true\n\
         [group:g]\nprograms = web\npriority = 1\n",
        sock = tmp.p("s.sock")
    );
    let config = ok(&text);
    assert_eq!(config.programs.len(), 1);
    assert!(only_program(&config).autostart, "a misspelt key is ignored");
    let expect = [
        "[unix_http_server]",
        "[include]",
        "[Program:x]",
        "'mystery' in [DEFAULT]",
        "'nodaemon' in [supervice]",
        "'autostrat' in [program:web]",
        "'redirect_stderr' in [program:web]",
        "'priority' in [group:g]",
    ];
    for needle in expect {
        assert_eq!(
            warnings_with(&config, needle).len(),
            1,
            "warning for {needle}: {:?}",
            config.warnings
        );
    }
    assert_eq!(config.warnings.len(), expect.len(), "{:?}", config.warnings);
    assert_eq!(
        warnings_with(&config, "autostrat")[0],
        "Unknown key 'autostrat' in [program:web] ignored (line 15)"
    );
    assert_eq!(
        warnings_with(&config, "unix_http_server")[0],
        "Unknown section [unix_http_server] ignored (line 3)"
    );
}

#[test]
fn known_keys_in_default_are_not_warned_about() {
    let config = ok(
        "[DEFAULT]\nautostart = false\nloglevel = debug\nprograms = a\n\
                     [program:a]\ncommand = x\n",
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn numprocs_with_shared_log_file_warns() {
    let tmp = TempDir::new("shared-log");
    let out = tmp.p("shared.out");
    let errlog = tmp.p("shared.err");
    let config = ok(&format!(
        "[program:w]\ncommand = x\nnumprocs = 2\nstdout_logfile = {out}\nstderr_logfile = {errlog}\n"
    ));
    assert_eq!(
        config.warnings,
        vec![
            format!(
                "Program 'w': stdout_logfile={out} has no %(process_num)s but numprocs=2; \
                 all instances will write to the same file with interleaved output"
            ),
            format!(
                "Program 'w': stderr_logfile={errlog} has no %(process_num)s but numprocs=2; \
                 all instances will write to the same file with interleaved output"
            ),
        ]
    );
    let all = instances(&config);
    assert_eq!(all[0].stdout, all[1].stdout, "both write to the same file");
}

#[test]
fn no_shared_log_warning_when_templated_or_single() {
    let tmp = TempDir::new("shared-log-none");
    let config = ok(&format!(
        "[program:w]\ncommand = x\nnumprocs = 2\nstdout_logfile = {}\n",
        tmp.p("w%(process_num)s.out")
    ));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let config = ok(&format!(
        "[program:w]\ncommand = x\nstdout_logfile = {}\n",
        tmp.p("w.out")
    ));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn numprocs_with_tcp_check_warns() {
    let config = ok(
        "[program:w]\ncommand = x\nnumprocs = 3\nhealthcheck_type = tcp\nhealthcheck_port = 8080\n",
    );
    assert_eq!(
        config.warnings,
        vec![
            "Program 'w': numprocs=3 with a TCP health check: all instances will probe the same \
             port 8080; use %(process_num)s in the command to give each instance its own port"
                .to_string()
        ]
    );
    for instance in instances(&config) {
        assert_eq!(
            instance.health.check,
            HealthCheck::Tcp {
                host: "127.0.0.1".into(),
                port: 8080,
                addr: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            }
        );
    }
    let single = ok("[program:w]\ncommand = x\nhealthcheck_type = tcp\nhealthcheck_port = 8080\n");
    assert!(single.warnings.is_empty(), "{:?}", single.warnings);
    let script = ok(
        "[program:w]\ncommand = x\nnumprocs = 3\nhealthcheck_type = script\nhealthcheck_command = y\n",
    );
    assert!(script.warnings.is_empty(), "{:?}", script.warnings);
}

// ---------------------------------------------------------------------------------------
// Reload comparison (SPEC 6.3)
// ---------------------------------------------------------------------------------------

fn reload_text(tmp: &TempDir, env_file: &str, numprocs: u32) -> String {
    format!(
        "[program:w]\ncommand = /bin/srv --port 90%(process_num)s\nnumprocs = {numprocs}\n\
         stdout_logfile = {out}\nstderr_logfile = {errlog}\nenvironment = N=%(process_num)s\n\
         env_file = {env_file}\nhealthcheck_type = script\nhealthcheck_command = check\n\
         [program:solo]\ncommand = /bin/solo\n",
        out = tmp.p("w_%(process_num)s.out"),
        errlog = tmp.p("w_%(process_num)s.err"),
    )
}

#[test]
fn parsing_the_same_text_twice_gives_equal_instances() {
    let tmp = TempDir::new("reload-same");
    let env_file = tmp.write("w.env", "A=%(process_num)s\n");
    let text = reload_text(&tmp, &env_file, 2);
    let first = ok(&text);
    let second = ok(&text);
    assert_eq!(instances(&first), instances(&second));
    assert_eq!(first, second);
    assert_eq!(names(&first), ["w:00", "w:01", "solo"]);
}

#[test]
fn numprocs_change_makes_existing_instances_differ_only_in_numprocs() {
    let tmp = TempDir::new("reload-numprocs");
    let env_file = tmp.write("w.env", "A=1\n");
    let old = instances(&ok(&reload_text(&tmp, &env_file, 2)));
    let new = instances(&ok(&reload_text(&tmp, &env_file, 3)));
    assert_eq!(
        new.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["w:00", "w:01", "w:02", "solo"]
    );
    let old_w00 = &old[0];
    let new_w00 = &new[0];
    assert_eq!(new_w00.name, "w:00");
    assert_ne!(old_w00, new_w00, "w:00 is changed");
    assert_eq!(new_w00.numprocs, 3);
    let mut patched = old_w00.clone();
    patched.numprocs = 3;
    assert_eq!(&patched, new_w00, "numprocs is the only difference");
    assert_eq!(old[2], new[3], "solo is unchanged");
}

#[test]
fn numprocs_one_to_two_renames_the_instance() {
    let config_one = ok("[program:w]\ncommand = x\n");
    let config_two = ok("[program:w]\ncommand = x\nnumprocs = 2\n");
    assert_eq!(names(&config_one), ["w"]);
    assert_eq!(names(&config_two), ["w:00", "w:01"]);
}

#[test]
fn group_move_makes_the_instance_differ() {
    let base = "[program:a]\ncommand = x\n";
    let plain = instances(&ok(base));
    let grouped = instances(&ok(&format!("{base}[group:g]\nprograms = a\n")));
    assert_ne!(plain, grouped);
    assert_eq!(plain[0].group, "a");
    assert_eq!(grouped[0].group, "g");
}

// ---------------------------------------------------------------------------------------
// load()
// ---------------------------------------------------------------------------------------

#[test]
fn load_reports_a_missing_file() {
    let tmp = TempDir::new("load-missing");
    let path = tmp.path().join("nope.conf");
    let e = load(&path).expect_err("missing file");
    assert_eq!(e.0, format!("Config file not found: {}", path.display()));
}

#[test]
fn load_reads_and_parses_the_file() {
    let tmp = TempDir::new("load-ok");
    let path = PathBuf::from(tmp.write(
        "s.conf",
        "[program:web]\ncommand = /bin/echo %(process_num)s\nnumprocs = 2\n",
    ));
    let config = load(&path).expect("loads");
    assert_eq!(config.path, path);
    assert_eq!(names(&config), ["web:00", "web:01"]);
    assert_eq!(
        config,
        parse(&path, &fs::read_to_string(&path).unwrap()).unwrap()
    );
}

#[test]
fn load_passes_validation_errors_through() {
    let tmp = TempDir::new("load-error");
    let path = PathBuf::from(tmp.write("s.conf", "[program:web]\nstartsecs = 1\n"));
    let e = load(&path).expect_err("no command");
    assert!(e.0.contains("Program 'web': missing command"), "{e}");
}

#[test]
fn load_of_a_directory_is_an_error_not_a_panic() {
    let tmp = TempDir::new("load-dir");
    let e = load(tmp.path()).expect_err("a directory is not a config file");
    assert!(e.0.contains(&tmp.path().display().to_string()), "{e}");
}
