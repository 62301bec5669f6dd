//! The file format (SPEC 1.1).

use super::*;

// ---------------------------------------------------------------------------------------
// File format (SPEC 1.1)
// ---------------------------------------------------------------------------------------

#[test]
fn default_section_is_inherited_by_every_program_and_the_own_key_wins() {
    let text = "[DEFAULT]\nautostart = false\nstartsecs = 5\n\n\
                [program:a]\ncommand = /bin/a\n\n\
                [program:b]\ncommand = /bin/b\nautostart = true\n";
    let config = ok(text);
    assert_eq!(config.programs.len(), 2, "[DEFAULT] is not a program");
    let a = program(&config, "a");
    let b = program(&config, "b");
    assert!(!a.autostart, "inherited from [DEFAULT]");
    assert!(b.autostart, "the section's own key wins");
    assert_eq!(a.startsecs, Duration::from_secs(5));
    assert_eq!(b.startsecs, Duration::from_secs(5));
    assert_eq!(group_names(&config), ["a", "b"]);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn default_section_can_supply_the_command_and_feeds_supervice_too() {
    let tmp = TempDir::new("default-global");
    let text = format!(
        "[DEFAULT]\ncommand = /bin/sleep %(process_num)s\nshutdown_timeout = 7\n\
         [supervice]\nsocket = {}\npidfile = none\n[program:a]\nnumprocs = 2\n",
        tmp.p("s.sock")
    );
    let config = ok(&text);
    assert_eq!(config.global.shutdown_timeout, Duration::from_secs(7));
    let all = instances(&config);
    assert_eq!(all[1].argv, strings(&["/bin/sleep", "01"]));
}

#[test]
fn error_on_a_key_inherited_from_default_names_the_program() {
    let msg = err_has(
        "[DEFAULT]\nstartsecs = soon\n[program:a]\ncommand = x\n",
        &[
            "Program 'a': ",
            "startsecs must be an integer, got 'soon'",
            "[program:a] startsecs",
        ],
    );
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn colon_works_as_delimiter() {
    let config = ok("[program:web]\ncommand: /bin/echo a=b\nnumprocs: 2\nautostart: no\n");
    let p = only_program(&config);
    assert_eq!(p.command, "/bin/echo a=b");
    assert_eq!(p.numprocs, 2);
    assert!(!p.autostart);
}

#[test]
fn first_delimiter_splits_so_values_keep_later_colons_and_equals() {
    let config = ok(&web("environment = URL=http://h:1/x?a=b"));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[("URL", "http://h:1/x?a=b")])
    );
}

#[test]
fn keys_are_case_insensitive() {
    let config = ok("[program:web]\nCommand = /bin/true\nNUMPROCS = 2\nAutoStart = FALSE\n");
    let p = only_program(&config);
    assert_eq!(p.command, "/bin/true");
    assert_eq!(p.numprocs, 2);
    assert!(!p.autostart);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn section_names_are_case_sensitive() {
    let config = ok("[Program:x]\ncommand = /bin/true\n[SUPERVICE]\nloglevel = nonsense\n");
    assert!(config.programs.is_empty(), "[Program:x] is not a program");
    assert!(config.groups.is_empty());
    assert_eq!(
        config.global,
        Global::default(),
        "[SUPERVICE] is not the global section"
    );
    assert_eq!(warnings_with(&config, "[Program:x]").len(), 1);
    assert_eq!(warnings_with(&config, "[SUPERVICE]").len(), 1);
}

#[test]
fn environment_continuation_lines_join_into_one_value() {
    let text = "[program:web]\ncommand = /bin/true\nenvironment = A=1,\n    B=\"x, y\",\n    C=3\n\
                autostart = false\n";
    let config = ok(text);
    let p = only_program(&config);
    assert_eq!(
        p.environment,
        pairs(&[("A", "1"), ("B", "x, y"), ("C", "3")])
    );
    assert!(
        !p.autostart,
        "the key after the continuation is read normally"
    );
}

#[test]
fn environment_grammar_example_from_the_spec() {
    let text =
        "[program:web]\ncommand = /bin/true\nenvironment = A=1,B=\"x,y\", C = 'q' ,D\n  E=multi\n";
    let config = ok(text);
    assert_eq!(
        only_program(&config).environment,
        pairs(&[("A", "1"), ("B", "x,y"), ("C", "q"), ("D\nE", "multi")])
    );
}

#[test]
fn environment_never_errors_and_drops_trailing_text_without_equals() {
    let config = ok(&web("environment = A=1,junk"));
    assert_eq!(only_program(&config).environment, pairs(&[("A", "1")]));
    let config = ok(&web("environment = A='unclosed, B=2"));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[("A", "unclosed, B=2")])
    );
    let config = ok(&web("environment ="));
    assert!(only_program(&config).environment.is_empty());
}

#[test]
fn inline_semicolon_stays_in_the_command_and_becomes_words() {
    let config = ok("[program:web]\ncommand = sleep 10 ; note\n");
    let p = only_program(&config);
    assert_eq!(p.command, "sleep 10 ; note");
    assert_eq!(
        instances(&config)[0].argv,
        strings(&["sleep", "10", ";", "note"])
    );
}

#[test]
fn hash_inside_a_command_is_not_a_comment() {
    let config = ok("[program:web]\ncommand = echo # not a comment\n");
    assert_eq!(
        instances(&config)[0].argv,
        strings(&["echo", "#", "not", "a", "comment"])
    );
}

#[test]
fn whole_line_comments_are_skipped() {
    let text =
        "# top comment\n; another\n[program:web]\n  # indented comment\ncommand = /bin/true\n\
                ; numprocs = 5\n";
    let config = ok(text);
    assert_eq!(only_program(&config).numprocs, 1);
}

#[test]
fn percent_is_literal_in_command() {
    let config = ok("[program:web]\ncommand = /bin/date +%s 100% %(program_name)s %%\n");
    assert_eq!(
        instances(&config)[0].argv,
        strings(&["/bin/date", "+%s", "100%", "%(program_name)s", "%%"])
    );
}

#[test]
fn command_is_split_with_shell_word_rules_and_no_shell() {
    let config = ok(r#"[program:web]
command = sh -c 'echo $HOME; exit 3' "a \"b\"" c\ d $VAR *
"#);
    assert_eq!(
        instances(&config)[0].argv,
        strings(&[
            "sh",
            "-c",
            "echo $HOME; exit 3",
            "a \"b\"",
            "c d",
            "$VAR",
            "*"
        ])
    );
}

#[test]
fn quotes_are_not_stripped_by_the_ini_layer() {
    let tmp = TempDir::new("quotes");
    let config = ok(&web(&format!("stdout_logfile = {}", tmp.p("\"x.log\""))));
    let path = &only_program(&config).stdout.as_ref().expect("log").path;
    assert!(path.to_string_lossy().ends_with("/\"x.log\""), "{path:?}");
}

#[test]
fn program_name_is_everything_after_the_first_colon() {
    let config = ok("[program:a:b]\ncommand = x\n[program:]\ncommand = y\n");
    let got: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, ["a:b", ""]);
}

#[test]
fn programs_and_instances_keep_file_order() {
    let text = "[program:zeta]\ncommand = z\n[program:alpha]\ncommand = a\nnumprocs = 2\n\
                [program:mid]\ncommand = m\n";
    let config = ok(text);
    assert_eq!(names(&config), ["zeta", "alpha:00", "alpha:01", "mid"]);
    assert_eq!(group_names(&config), ["zeta", "alpha", "mid"]);
}

#[test]
fn duplicate_section_is_an_error_with_its_line() {
    let msg = err_has(
        "[program:a]\ncommand = x\n\n[program:a]\ncommand = y\n",
        &["section 'program:a' already exists", "line 4"],
    );
    assert!(!msg.contains("line 1"), "{msg}");
}

#[test]
fn duplicate_key_is_an_error_with_its_line_even_in_another_case() {
    err_has(
        "[program:a]\ncommand = x\nnumprocs = 1\nCOMMAND = y\n",
        &[
            "option 'command' in section 'program:a' already exists",
            "line 4",
        ],
    );
}

#[test]
fn key_without_delimiter_is_an_error_with_its_line() {
    err_has(
        "[program:a]\ncommand = x\nautostart\n",
        &["autostart", "line 3"],
    );
}

#[test]
fn text_before_the_first_section_is_an_error() {
    err_has(
        "command = x\n[program:a]\ncommand = y\n",
        &["no section headers", "line 1"],
    );
}

#[test]
fn empty_file_loads_with_nothing_in_it() {
    let config = ok("");
    assert!(config.programs.is_empty());
    assert!(config.groups.is_empty());
    assert_eq!(config.global, Global::default());
}
