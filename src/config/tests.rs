//! The whole loading pipeline, `parse(path, text)` / `load(path)`, against SPEC section 1:
//! defaults, the INI dialect, `%(process_num)s`, env_file, every validation error with its
//! location, the validation order, groups, warnings and the reload comparison of instances.

use super::*;

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::Signal;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "supervice-config-tests-{}-{n}-{tag}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside the directory, as config text.
    fn p(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn mkdir(&self, name: &str) -> String {
        let dir = self.0.join(name);
        fs::create_dir_all(&dir).expect("create dir");
        dir.display().to_string()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let file = self.0.join(name);
        fs::write(&file, contents).expect("write file");
        file.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const CONF: &str = "/etc/supervice-test/supervice.conf";

fn ok(text: &str) -> Config {
    parse(Path::new(CONF), text)
        .unwrap_or_else(|e| panic!("config should load, got: {e}\n--- config ---\n{text}"))
}

fn err(text: &str) -> String {
    match parse(Path::new(CONF), text) {
        Ok(c) => panic!("config should fail to load, got {c:#?}\n--- config ---\n{text}"),
        Err(e) => {
            assert_eq!(e.to_string(), e.0, "Display shows the message");
            e.0
        }
    }
}

/// The load fails and its message contains every one of `parts`.
fn err_has(text: &str, parts: &[&str]) -> String {
    let msg = err(text);
    for part in parts {
        assert!(
            msg.contains(part),
            "error message lacks {part:?}\n  message: {msg}\n--- config ---\n{text}"
        );
    }
    msg
}

/// `[program:web]` with a command, plus `extra` lines.
fn web(extra: &str) -> String {
    format!("[program:web]\ncommand = /bin/true\n{extra}\n")
}

fn program<'a>(config: &'a Config, name: &str) -> &'a Program {
    config
        .programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no program {name:?} in {:?}", config.programs))
}

fn only_program(config: &Config) -> &Program {
    assert_eq!(config.programs.len(), 1, "{:?}", config.programs);
    &config.programs[0]
}

fn instances(config: &Config) -> Vec<Instance> {
    config.instances().collect()
}

fn names(config: &Config) -> Vec<String> {
    config.instances().map(|i| i.name).collect()
}

fn group<'a>(config: &'a Config, name: &str) -> Option<&'a Group> {
    config.groups.iter().find(|g| g.name == name)
}

fn group_names(config: &Config) -> Vec<&str> {
    config.groups.iter().map(|g| g.name.as_str()).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The environment a child would get on top of the daemon's: later pairs win.
fn effective_env(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

fn warnings_with<'a>(config: &'a Config, needle: &str) -> Vec<&'a String> {
    config
        .warnings
        .iter()
        .filter(|w| w.contains(needle))
        .collect()
}

const ALL_SIGNALS: &str = "ABRT, ALRM, BUS, CHLD, CONT, FPE, HUP, ILL, INT, IO, KILL, PIPE, \
    PROF, PWR, QUIT, SEGV, STKFLT, STOP, SYS, TERM, TRAP, TSTP, TTIN, TTOU, URG, USR1, USR2, \
    VTALRM, WINCH, XCPU, XFSZ";

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
                addr: "10.0.0.1:8000".parse().unwrap(),
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
    assert_eq!(group(&config, "w").unwrap().programs, strings(&["w"]));
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

// ---------------------------------------------------------------------------------------
// env_file (SPEC 1.3)
// ---------------------------------------------------------------------------------------

#[test]
fn env_file_comments_blanks_quotes_and_odd_lines() {
    let tmp = TempDir::new("envfile-rules");
    let env_file = tmp.write(
        "app.env",
        "# a comment\n\n   \n  # indented comment\nA=1\n  B = ' two '  \nC=\"\"x\"\"\nD='\n\
         E=it's\nexport F=5\nG=a=b\nH=\nI=\"mixed'\n",
    );
    let config = ok(&web(&format!("env_file = {env_file}")));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[
            ("A", "1"),
            ("B", " two "),
            ("C", "\"x\""),
            ("D", "'"),
            ("E", "it's"),
            ("export F", "5"),
            ("G", "a=b"),
            ("H", ""),
            ("I", "\"mixed'"),
        ])
    );
}

#[test]
fn later_env_file_wins_and_environment_wins_over_env_file() {
    let tmp = TempDir::new("envfile-order");
    let first = tmp.write("1.env", "A=first\nB=first\nC=first\n");
    let second = tmp.write("2.env", "A=second\nC=second\n");
    let config = ok(&web(&format!(
        "env_file = {first}, {second}\nenvironment = C=environment,D=environment"
    )));
    let env = effective_env(&instances(&config)[0].environment);
    let expected: BTreeMap<String, String> = pairs(&[
        ("A", "second"),
        ("B", "first"),
        ("C", "environment"),
        ("D", "environment"),
    ])
    .into_iter()
    .collect();
    assert_eq!(env, expected);
}

#[test]
fn env_file_list_is_trimmed_and_empty_items_dropped() {
    let tmp = TempDir::new("envfile-list");
    let a = tmp.write("a.env", "A=1\n");
    let b = tmp.write("b.env", "B=2\n");
    let config = ok(&web(&format!("env_file = ,  {a} ,, {b},  ")));
    assert_eq!(
        only_program(&config).environment,
        pairs(&[("A", "1"), ("B", "2")])
    );
    let config = ok(&web("env_file = , ,"));
    assert!(only_program(&config).environment.is_empty());
}

#[test]
fn missing_env_file_is_an_error() {
    let tmp = TempDir::new("envfile-missing");
    let missing = tmp.p("nope.env");
    let msg = err_has(
        &web(&format!("env_file = {missing}")),
        &[
            &format!("Program 'web': env_file '{missing}' does not exist"),
            "([program:web] env_file, line 3)",
        ],
    );
    assert!(!msg.contains("malformed"), "{msg}");
}

#[test]
fn second_env_file_missing_is_reported_by_its_own_path() {
    let tmp = TempDir::new("envfile-missing2");
    let good = tmp.write("good.env", "A=1\n");
    let missing = tmp.p("missing.env");
    err_has(
        &web(&format!("env_file = {good},{missing}")),
        &[&format!("env_file '{missing}' does not exist")],
    );
}

#[test]
fn env_file_that_is_a_directory_is_not_readable() {
    let tmp = TempDir::new("envfile-dir");
    let dir = tmp.mkdir("envdir");
    err_has(
        &web(&format!("env_file = {dir}")),
        &[
            &format!("env_file '{dir}' is not readable"),
            "[program:web] env_file",
        ],
    );
}

#[test]
fn malformed_env_line_is_an_error_with_file_and_line_number() {
    let tmp = TempDir::new("envfile-malformed");
    let bad = tmp.write("bad.env", "# comment\n\nA=1\nnot a pair\nB=2\n");
    err_has(
        &web(&format!("env_file = {bad}")),
        &[
            &format!("{bad}:4: malformed env line (expected KEY=VALUE)"),
            "[program:web] env_file",
        ],
    );
    let empty_key = tmp.write("empty-key.env", "A=1\n = 2\n");
    err_has(
        &web(&format!("env_file = {empty_key}")),
        &[&format!(
            "{empty_key}:2: malformed env line (expected KEY=VALUE)"
        )],
    );
}

#[test]
fn env_file_is_read_at_every_parse() {
    let tmp = TempDir::new("envfile-reread");
    let file = tmp.write("app.env", "A=1\n");
    let text = web(&format!("env_file = {file}"));
    let before = instances(&ok(&text));
    tmp.write("app.env", "A=2\n");
    let after = instances(&ok(&text));
    assert_eq!(before[0].environment, pairs(&[("A", "1")]));
    assert_eq!(after[0].environment, pairs(&[("A", "2")]));
    assert_ne!(
        before, after,
        "an edited env_file makes the instance changed"
    );
}

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
}

// ---------------------------------------------------------------------------------------
// Health checks (SPEC 1.4)
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_healthcheck_type_is_an_error() {
    for bad in ["http", "tcpp", "true"] {
        err_has(
            &web(&format!("healthcheck_type = {bad}")),
            &[
                "Program 'web': ",
                &format!("healthcheck_type '{bad}'"),
                "([program:web] healthcheck_type, line 3)",
            ],
        );
    }
}

#[test]
fn healthcheck_type_none_and_empty_mean_no_check() {
    for value in ["none", "NONE", ""] {
        let config = ok(&web(&format!("healthcheck_type = {value}")));
        assert_eq!(only_program(&config).health.check, HealthCheck::None);
    }
}

#[test]
fn healthcheck_type_is_case_insensitive() {
    let config = ok(&web("healthcheck_type = TCP\nhealthcheck_port = 80"));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 80,
            addr: "127.0.0.1:80".parse().unwrap(),
        }
    );
    let config = ok(&web(
        "healthcheck_type = Script\nhealthcheck_command = true",
    ));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Script {
            command: "true".into()
        }
    );
}

#[test]
fn healthcheck_integers_are_converted_even_without_a_check() {
    for key in [
        "healthcheck_interval",
        "healthcheck_timeout",
        "healthcheck_retries",
        "healthcheck_start_period",
        "healthcheck_port",
    ] {
        for kind in ["", "healthcheck_type = none\n"] {
            err_has(
                &web(&format!("{kind}{key} = abc")),
                &[
                    &format!("{key} must be an integer, got 'abc'"),
                    &format!("[program:web] {key}"),
                ],
            );
        }
    }
}

#[test]
fn healthcheck_bounds_are_not_checked_without_a_check() {
    let config = ok(&web(
        "healthcheck_interval = 0\nhealthcheck_timeout = -1\nhealthcheck_retries = -2\n\
         healthcheck_start_period = -3\nhealthcheck_port = 70000",
    ));
    assert_eq!(only_program(&config).health.check, HealthCheck::None);
}

#[test]
fn healthcheck_non_negative_checks_with_a_check() {
    for kind in [
        "healthcheck_type = tcp\nhealthcheck_port = 80",
        "healthcheck_type = script\nhealthcheck_command = true",
    ] {
        for key in [
            "healthcheck_interval",
            "healthcheck_timeout",
            "healthcheck_retries",
            "healthcheck_start_period",
        ] {
            err_has(
                &web(&format!("{kind}\n{key} = -1")),
                &[
                    &format!("Program 'web': {key} must be non-negative, got -1"),
                    &format!("[program:web] {key}, line 5"),
                ],
            );
        }
    }
}

#[test]
fn healthcheck_interval_must_be_at_least_one_with_a_check() {
    for kind in [
        "healthcheck_type = tcp\nhealthcheck_port = 80",
        "healthcheck_type = script\nhealthcheck_command = true",
    ] {
        err_has(
            &web(&format!("{kind}\nhealthcheck_interval = 0")),
            &[
                "Program 'web': healthcheck_interval must be at least 1",
                "([program:web] healthcheck_interval, line 5)",
            ],
        );
        let config = ok(&web(&format!(
            "{kind}\nhealthcheck_interval = 1\nhealthcheck_timeout = 0"
        )));
        let health = &only_program(&config).health;
        assert_eq!(health.interval, Duration::from_secs(1));
        assert_eq!(health.timeout, Duration::ZERO);
    }
}

#[test]
fn tcp_check_needs_a_port_in_range() {
    for port_line in ["", "healthcheck_port =\n"] {
        err_has(
            &web(&format!("healthcheck_type = tcp\n{port_line}")),
            &[
                "Program 'web': healthcheck_port is required for TCP health checks",
                "[program:web] healthcheck_port",
            ],
        );
    }
    for bad in ["0", "65536", "-1", "100000"] {
        err_has(
            &web(&format!("healthcheck_type = tcp\nhealthcheck_port = {bad}")),
            &[
                "Program 'web': healthcheck_port must be between 1 and 65535",
                "([program:web] healthcheck_port, line 4)",
            ],
        );
    }
    for good in [1u16, 8080, 65535] {
        let config = ok(&web(&format!(
            "healthcheck_type = tcp\nhealthcheck_port = {good}"
        )));
        assert_eq!(
            only_program(&config).health.check,
            HealthCheck::Tcp {
                host: "127.0.0.1".into(),
                port: good,
                addr: format!("127.0.0.1:{good}").parse().unwrap(),
            }
        );
    }
}

#[test]
fn tcp_host_accepts_ipv6_literals_and_rejects_unresolvable_names() {
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = ::1",
    ));
    match &only_program(&config).health.check {
        HealthCheck::Tcp { addr, .. } => assert_eq!(*addr, "[::1]:80".parse().unwrap()),
        other => panic!("{other:?}"),
    }
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = [::1]",
    ));
    match &only_program(&config).health.check {
        HealthCheck::Tcp { addr, .. } => assert_eq!(*addr, "[::1]:80".parse().unwrap()),
        other => panic!("{other:?}"),
    }
    let message = err(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = no-such-host.invalid",
    ));
    assert!(
        message.contains("healthcheck_host 'no-such-host.invalid' does not resolve")
            && message.contains("[program:web] healthcheck_host"),
        "{message}"
    );
}

#[test]
fn tcp_host_defaults_and_can_be_set() {
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = localhost",
    ));
    // A name is resolved at load; localhost may come back as 127.0.0.1 or ::1.
    match &only_program(&config).health.check {
        HealthCheck::Tcp { host, port, addr } => {
            assert_eq!((host.as_str(), *port), ("localhost", 80));
            assert!(addr.ip().is_loopback() && addr.port() == 80, "{addr}");
        }
        other => panic!("{other:?}"),
    }
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host =",
    ));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 80,
            addr: "127.0.0.1:80".parse().unwrap(),
        }
    );
}

#[test]
fn script_check_needs_a_command() {
    for command_line in ["", "healthcheck_command =\n"] {
        err_has(
            &web(&format!("healthcheck_type = script\n{command_line}")),
            &[
                "Program 'web': healthcheck_command required for script checks",
                "[program:web] healthcheck_command",
            ],
        );
    }
    let config = ok(&web(
        "healthcheck_type = script\nhealthcheck_command = curl -fs http://127.0.0.1/ || exit 1\n\
         healthcheck_interval = 2\nhealthcheck_timeout = 3\nhealthcheck_retries = 4\n\
         healthcheck_start_period = 5",
    ));
    assert_eq!(
        only_program(&config).health,
        Health {
            check: HealthCheck::Script {
                command: "curl -fs http://127.0.0.1/ || exit 1".into()
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(3),
            retries: 4,
            start_period: Duration::from_secs(5),
        }
    );
}

#[test]
fn tcp_check_ignores_a_missing_script_command_and_vice_versa() {
    ok(&web("healthcheck_type = tcp\nhealthcheck_port = 1"));
    ok(&web(
        "healthcheck_type = script\nhealthcheck_command = x\nhealthcheck_port = 0",
    ));
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
    assert_eq!(
        group(&config, "g").expect("group g").programs,
        strings(&["c", "a", "b"])
    );
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
    assert_eq!(group(&config, "g").unwrap().programs, strings(&["web"]));
    assert_eq!(
        group(&config, "worker").unwrap().programs,
        strings(&["worker"])
    );
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
    assert_eq!(group(&config, "first").unwrap().programs, strings(&["b"]));
    assert_eq!(group(&config, "second").unwrap().programs, strings(&["a"]));
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
    assert_eq!(
        group(&config, "web").unwrap().programs,
        strings(&["api", "web"])
    );
    assert_eq!(program(&config, "api").group, "web");
    assert_eq!(program(&config, "web").group, "web");
}

#[test]
fn group_programs_can_come_from_default() {
    let text = "[DEFAULT]\nprograms = a\n[program:a]\ncommand = x\n[group:g]\n";
    let config = ok(text);
    assert_eq!(group(&config, "g").unwrap().programs, strings(&["a"]));
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
                addr: "127.0.0.1:8080".parse().unwrap(),
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

#[test]
fn env_file_must_be_a_regular_file() {
    let message = err(&web("env_file = /dev/zero"));
    assert!(
        message.contains("env_file '/dev/zero' is not a regular file")
            && message.contains("[program:web] env_file"),
        "{message}"
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
