//! A bad config is refused before anything happens: `supervice -c bad.conf -n` exits 1,
//! stderr says `Failed to load config '<path>': <what>` with the section and key (or the
//! line) at fault, no pidfile is created and no child is spawned (SPEC 1.7, preface 8).

mod common;
use common::*;

/// The `[supervice]` section `TestDir::config` writes: 5 lines and a blank, so the first
/// body line of a config built from it is line 7.
macro_rules! header {
    () => {
        "[supervice]\nlogfile = {dir}/supervice.log\npidfile = {dir}/supervice.pid\n\
         socket = {dir}/supervice.sock\nloglevel = DEBUG\n\n"
    };
}

/// The same header without the pidfile line, for cases that set their own.
macro_rules! header_no_pidfile {
    () => {
        "[supervice]\nlogfile = {dir}/supervice.log\nsocket = {dir}/supervice.sock\n\
         loglevel = DEBUG\n"
    };
}

struct Case {
    name: &'static str,
    /// The whole config file; `{dir}` becomes the test directory.
    text: &'static str,
    /// Must appear in stderr (`{dir}` substituted).
    phrase: &'static str,
    /// Where the error is: `[section] key`, or a line number for syntax errors.
    location: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "missing command",
        text: concat!(header!(), "[program:x]\nnumprocs = 1\n"),
        phrase: "Program 'x': missing command",
        location: "[program:x] command",
    },
    Case {
        name: "empty command",
        text: concat!(header!(), "[program:x]\ncommand =\n"),
        phrase: "Program 'x': missing command",
        location: "[program:x] command",
    },
    Case {
        name: "unparseable command",
        text: concat!(header!(), "[program:x]\ncommand = sh -c 'echo\n"),
        phrase: "Program 'x': command does not parse: No closing quotation",
        location: "[program:x] command",
    },
    Case {
        name: "numprocs 0",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nnumprocs = 0\n"),
        phrase: "Program 'x': numprocs must be at least 1",
        location: "[program:x] numprocs",
    },
    Case {
        name: "negative numprocs",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nnumprocs = -1\n"),
        phrase: "Program 'x': numprocs must be non-negative, got -1",
        location: "[program:x] numprocs",
    },
    Case {
        name: "negative startsecs",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstartsecs = -1\n"),
        phrase: "Program 'x': startsecs must be non-negative, got -1",
        location: "[program:x] startsecs",
    },
    Case {
        name: "negative startretries",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstartretries = -2\n"),
        phrase: "Program 'x': startretries must be non-negative, got -2",
        location: "[program:x] startretries",
    },
    Case {
        name: "negative stopwaitsecs",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstopwaitsecs = -3\n"),
        phrase: "Program 'x': stopwaitsecs must be non-negative, got -3",
        location: "[program:x] stopwaitsecs",
    },
    Case {
        name: "negative stdout_logfile_maxbytes",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nstdout_logfile_maxbytes = -1\n"
        ),
        phrase: "Program 'x': stdout_logfile_maxbytes must be non-negative, got -1",
        location: "[program:x] stdout_logfile_maxbytes",
    },
    Case {
        name: "negative stderr_logfile_backups",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nstderr_logfile_backups = -1\n"
        ),
        phrase: "Program 'x': stderr_logfile_backups must be non-negative, got -1",
        location: "[program:x] stderr_logfile_backups",
    },
    Case {
        name: "invalid stopsignal",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstopsignal = BOGUS\n"),
        phrase: "Program 'x': invalid stopsignal 'BOGUS'. Valid signals: ABRT, ALRM,",
        location: "[program:x] stopsignal",
    },
    Case {
        name: "numeric stopsignal",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstopsignal = 15\n"),
        phrase: "Program 'x': invalid stopsignal '15'",
        location: "[program:x] stopsignal",
    },
    Case {
        name: "unknown user",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nuser = nosuchuser_supervice_test\n"
        ),
        phrase: "Program 'x': user 'nosuchuser_supervice_test' does not exist",
        location: "[program:x] user",
    },
    Case {
        name: "missing directory",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\ndirectory = {dir}/nowhere\n"),
        phrase: "Program 'x': directory '{dir}/nowhere' does not exist",
        location: "[program:x] directory",
    },
    Case {
        name: "file as directory",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\ndirectory = {dir}/afile\n"),
        phrase: "Program 'x': '{dir}/afile' is not a directory",
        location: "[program:x] directory",
    },
    Case {
        name: "missing stdout log directory",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nstdout_logfile = {dir}/nowhere/x.log\n"
        ),
        phrase: "Program 'x': log directory '{dir}/nowhere' does not exist",
        location: "[program:x] stdout_logfile",
    },
    Case {
        name: "missing stderr log directory",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nstderr_logfile = {dir}/nowhere/x.err\n"
        ),
        phrase: "Program 'x': log directory '{dir}/nowhere' does not exist",
        location: "[program:x] stderr_logfile",
    },
    Case {
        name: "process_num in the log directory",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nnumprocs = 2\n\
             stdout_logfile = {dir}/d%(process_num)s/x.log\n"
        ),
        phrase: "Program 'x': log directory '{dir}/d%(process_num)s' does not exist",
        location: "[program:x] stdout_logfile",
    },
    Case {
        name: "missing env_file",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nenv_file = {dir}/none.env\n"),
        phrase: "Program 'x': env_file '{dir}/none.env' does not exist",
        location: "[program:x] env_file",
    },
    Case {
        name: "malformed env_file line",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nenv_file = {dir}/bad.env\n"),
        phrase: "{dir}/bad.env:3: malformed env line (expected KEY=VALUE)",
        location: "[program:x] env_file",
    },
    Case {
        name: "tcp health check without port",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nhealthcheck_type = tcp\n"),
        phrase: "Program 'x': healthcheck_port is required for TCP health checks",
        location: "[program:x] healthcheck_port",
    },
    Case {
        name: "tcp health check port out of range",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nhealthcheck_type = tcp\nhealthcheck_port = 70000\n"
        ),
        phrase: "Program 'x': healthcheck_port must be between 1 and 65535",
        location: "[program:x] healthcheck_port",
    },
    Case {
        name: "tcp health check port 0",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nhealthcheck_type = tcp\nhealthcheck_port = 0\n"
        ),
        phrase: "Program 'x': healthcheck_port must be between 1 and 65535",
        location: "[program:x] healthcheck_port",
    },
    Case {
        name: "script health check without command",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nhealthcheck_type = script\n"),
        phrase: "Program 'x': healthcheck_command required for script checks",
        location: "[program:x] healthcheck_command",
    },
    Case {
        name: "health check interval 0",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nhealthcheck_type = tcp\nhealthcheck_port = 8080\n\
             healthcheck_interval = 0\n"
        ),
        phrase: "Program 'x': healthcheck_interval must be at least 1",
        location: "[program:x] healthcheck_interval",
    },
    Case {
        name: "non-integer health check interval without a health check",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\nhealthcheck_interval = often\n"
        ),
        phrase: "'often'",
        location: "[program:x] healthcheck_interval",
    },
    Case {
        name: "unknown healthcheck_type",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nhealthcheck_type = tcpp\n"),
        phrase: "'tcpp'",
        location: "[program:x] healthcheck_type",
    },
    Case {
        name: "invalid reconcile",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nreconcile = sometimes\n"),
        phrase: "Program 'x': invalid reconcile 'sometimes' (expected one of: auto, kill, warn, off)",
        location: "[program:x] reconcile",
    },
    Case {
        name: "group with an unknown program",
        text: concat!(
            header!(),
            "[group:g]\nprograms = x, ghost\n\n[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "Group 'g': unknown program(s): ghost",
        location: "[group:g] programs",
    },
    Case {
        name: "non-integer startsecs",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstartsecs = abc\n"),
        phrase: "'abc'",
        location: "[program:x] startsecs",
    },
    Case {
        name: "empty integer",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nstartretries =\n"),
        phrase: "startretries",
        location: "[program:x] startretries",
    },
    Case {
        name: "boolean typo",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nautostart = ture\n"),
        phrase: "'ture'",
        location: "[program:x] autostart",
    },
    Case {
        name: "bad loglevel",
        text: concat!(
            "[supervice]\nlogfile = {dir}/supervice.log\npidfile = {dir}/supervice.pid\n\
             socket = {dir}/supervice.sock\nloglevel = LOUD\n\n",
            "[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "Invalid loglevel 'LOUD'. Valid levels: CRITICAL, DEBUG, ERROR, INFO, WARN, WARNING",
        location: "[supervice] loglevel",
    },
    Case {
        name: "shutdown_timeout 0",
        text: concat!(
            header_no_pidfile!(),
            "pidfile = {dir}/supervice.pid\nshutdown_timeout = 0\n\n[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "shutdown_timeout must be positive",
        location: "[supervice] shutdown_timeout",
    },
    Case {
        name: "negative log_maxbytes",
        text: concat!(
            header_no_pidfile!(),
            "pidfile = {dir}/supervice.pid\nlog_maxbytes = -1\n\n[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "log_maxbytes must be non-negative",
        location: "[supervice] log_maxbytes",
    },
    Case {
        name: "missing pidfile directory",
        text: concat!(
            header_no_pidfile!(),
            "pidfile = {dir}/nowhere/s.pid\n\n[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "pidfile directory '{dir}/nowhere' does not exist",
        location: "[supervice] pidfile",
    },
    Case {
        name: "missing socket directory",
        text: concat!(
            "[supervice]\nlogfile = {dir}/supervice.log\npidfile = {dir}/supervice.pid\n\
             socket = {dir}/nowhere/s.sock\n\n",
            "[program:x]\ncommand = sleep 1\n"
        ),
        phrase: "socket directory '{dir}/nowhere' does not exist",
        location: "[supervice] socket",
    },
    Case {
        name: "duplicate section",
        text: concat!(
            header!(),
            "[program:x]\ncommand = sleep 1\n\n[program:x]\ncommand = sleep 2\n"
        ),
        phrase: "section 'program:x' already exists",
        location: "line 10",
    },
    Case {
        name: "duplicate key",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\ncommand = sleep 2\n"),
        phrase: "'command'",
        location: "line 9",
    },
    Case {
        name: "key without a delimiter",
        text: concat!(header!(), "[program:x]\ncommand = sleep 1\nautostart\n"),
        phrase: "autostart",
        location: "line 9",
    },
    Case {
        name: "text before the first section",
        text: "command = sleep 1\n[program:x]\ncommand = sleep 1\n",
        phrase: "no section headers",
        location: "line 1",
    },
];

/// Runs `supervice -c <config> -n` and returns (exit code, stderr, everything logged).
fn load(dir: &TestDir, config: &std::path::Path) -> (Option<i32>, String, String) {
    let mut daemon = Daemon::spawn(dir, &["-c", &config.display().to_string(), "-n"]);
    let code = daemon.wait_exit(secs(10));
    (code, daemon.stderr_text(), daemon.log_text())
}

/// Checks one refused config; returns what was wrong, if anything.
fn check(dir: &TestDir, config: &std::path::Path, phrase: &str, location: &str) -> Vec<String> {
    let (code, stderr, log) = load(dir, config);
    let mut wrong = Vec::new();
    if code != Some(1) {
        wrong.push(format!("exit code {code:?}, want Some(1)"));
    }
    let prefix = format!("Failed to load config '{}': ", config.display());
    if !stderr.starts_with(&prefix) {
        wrong.push(format!("stderr does not start with {prefix:?}"));
    }
    if stderr.trim_end().lines().count() != 1 {
        wrong.push("stderr is not one line".to_string());
    }
    let dir_text = dir.path.display().to_string();
    let phrase = phrase.replace("{dir}", &dir_text);
    if !stderr.contains(&phrase) {
        wrong.push(format!("stderr lacks {phrase:?}"));
    }
    if !stderr.contains(location) {
        wrong.push(format!("stderr lacks the location {location:?}"));
    }
    if dir.join("supervice.pid").exists() {
        wrong.push("a pidfile was created".to_string());
    }
    if dir.socket().exists() {
        wrong.push("a socket was created".to_string());
    }
    if log.contains("Spawning") {
        wrong.push("a child was spawned".to_string());
    }
    if !wrong.is_empty() {
        wrong.push(format!("stderr was: {stderr:?}"));
    }
    wrong
}

#[test]
fn every_invalid_config_is_refused_with_its_location() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = TestDir::new("badconf");
        dir.write("afile", "not a directory\n");
        dir.write(
            "bad.env",
            "# comment\nGOOD=1\nthis line has no equals sign\n",
        );
        let config = dir.write("bad.conf", case.text);
        for problem in check(&dir, &config, case.phrase, case.location) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_config_file_is_refused() {
    let dir = TestDir::new("noconf");
    let config = dir.join("absent.conf");
    let (code, stderr, log) = load(&dir, &config);
    assert_eq!(code, Some(1), "stderr: {stderr}");
    let path = config.display().to_string();
    assert_eq!(
        stderr.trim_end(),
        format!("Failed to load config '{path}': Config file not found: {path}")
    );
    assert!(!log.contains("Spawning"), "log: {log}");
}

#[test]
fn invalid_loglevel_flag_is_a_one_line_error() {
    let dir = TestDir::new("badflag-e");
    let config = dir.config("[program:x]\ncommand = sleep 1000\n");
    let mut daemon = Daemon::spawn(
        &dir,
        &["-c", &config.display().to_string(), "-n", "-e", "BOGUS"],
    );
    assert_eq!(daemon.wait_exit(secs(10)), Some(1));
    let stderr = daemon.stderr_text();
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr:?}");
    assert!(stderr.contains("BOGUS"), "stderr: {stderr:?}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr:?}");
    assert!(!dir.join("supervice.pid").exists());
    assert!(!daemon.log_text().contains("Spawning"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = TestDir::new("badflag");
    let config = dir.config("[program:x]\ncommand = sleep 1000\n");
    let mut daemon = Daemon::spawn(
        &dir,
        &["-c", &config.display().to_string(), "-n", "--bogus"],
    );
    assert_eq!(daemon.wait_exit(secs(10)), Some(2));
    let stderr = daemon.stderr_text();
    assert!(stderr.contains("usage: supervice"), "stderr: {stderr:?}");
    assert!(stderr.contains("--bogus"), "stderr: {stderr:?}");
    assert!(!dir.join("supervice.pid").exists());
    assert!(!daemon.log_text().contains("Spawning"));
}

#[test]
fn missing_daemon_log_directory_is_a_one_line_error() {
    let dir = TestDir::new("nologdir");
    let config = dir.write(
        "supervice.conf",
        "[supervice]\nlogfile = {dir}/nowhere/supervice.log\npidfile = {dir}/supervice.pid\n\
         socket = {dir}/supervice.sock\n\n[program:x]\ncommand = sleep 1000\n",
    );
    let mut daemon = Daemon::spawn(&dir, &["-c", &config.display().to_string(), "-n"]);
    assert_eq!(daemon.wait_exit(secs(10)), Some(1));
    let stderr = daemon.stderr_text();
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr:?}");
    assert!(
        stderr.contains("nowhere/supervice.log"),
        "stderr: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr:?}");
    assert!(!dir.join("supervice.pid").exists());
    assert!(!daemon.log_text().contains("Spawning"));
}

/// `supervice -c FILE --check` in `dir`: (exit code, stdout, stderr).
fn check_only(dir: &TestDir, config: &std::path::Path) -> (Option<i32>, String, String) {
    let out = run(std::process::Command::new(SUPERVICE)
        .args(["-c", &config.display().to_string(), "--check"])
        .current_dir(&dir.path));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_refuses_every_invalid_config_like_a_start_and_touches_nothing() {
    for case in CASES {
        let dir = TestDir::new("check-bad");
        dir.write("afile", "not a directory\n");
        dir.write(
            "bad.env",
            "# comment\nGOOD=1\nthis line has no equals sign\n",
        );
        let text = case.text.replace("{dir}", &dir.path.display().to_string());
        let config = dir.write("bad.conf", &text);
        let (code, stdout, stderr) = check_only(&dir, &config);
        assert_eq!(code, Some(1), "{}: stderr {stderr}", case.name);
        assert!(stdout.is_empty(), "{}: {stdout}", case.name);
        let phrase = case
            .phrase
            .replace("{dir}", &dir.path.display().to_string());
        assert!(stderr.contains(&phrase), "{}: {stderr}", case.name);
        assert!(stderr.contains(case.location), "{}: {stderr}", case.name);
        for file in ["supervice.pid", "supervice.sock", "supervice.log"] {
            assert!(
                !dir.join(file).exists(),
                "{}: --check made {file}",
                case.name
            );
        }
    }
}

#[test]
fn check_accepts_a_valid_config_lists_its_warnings_and_leaves_a_running_daemon_alone() {
    let dir = TestDir::new("check-ok");
    let config = dir.config(
        "[program:a]\ncommand = sleep 1000\nnumprocs = 3\nprocess_name = x\n\
         autostart = false\n[program:b]\ncommand = sleep 1000\nautostart = false\n",
    );
    // Nothing starts, so the daemon's log is quiet once it listens.
    let daemon = Daemon::start(&dir, &config);
    let before = std::fs::read_to_string(dir.join("supervice.pid")).unwrap();
    let log_before = daemon.log_text();

    let (code, stdout, stderr) = check_only(&dir, &config);
    assert_eq!(code, Some(0), "stderr {stderr}");
    let shown = config.display();
    assert_eq!(
        stdout,
        format!("{shown}: OK (2 program(s), 4 process(es), 1 warning(s))\n")
    );
    assert_eq!(
        stderr,
        format!("{shown}: warning: Unknown key 'process_name' in [program:a] ignored (line 10)\n")
    );
    // The running daemon's pidfile, socket and log are untouched.
    assert_eq!(
        std::fs::read_to_string(dir.join("supervice.pid")).unwrap(),
        before
    );
    assert_eq!(daemon.log_text(), log_before);
    assert_eq!(
        status_now(&dir.socket()).len(),
        4,
        "the daemon still answers"
    );
}

#[test]
fn check_of_a_supervisord_file_names_the_included_file_section_key_and_line() {
    let dir = TestDir::new("check-sd-include");
    std::fs::create_dir_all(dir.join("conf.d")).expect("mkdir");
    dir.write(
        "conf.d/web.conf",
        "[program:web]\ncommand = sleep 30\n\nstartsecs = soon ; a comment\n",
    );
    dir.write("conf.d/ok.conf", "[program:ok]\ncommand = sleep 30\n");
    let config = dir.write(
        "supervisord.conf",
        "[supervisord]\nlogfile = {dir}/sd.log\npidfile = {dir}/sd.pid\n\n\
         [include]\nfiles = conf.d/*.conf\n",
    );
    let (code, stdout, stderr) = check_only(&dir, &config);
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    let included = dir.join("conf.d/web.conf").display().to_string();
    let want = format!(
        "error: invalid literal for int() with base 10: 'soon' ([program:web] startsecs, \
         line 4 of {included})"
    );
    assert!(stderr.contains(&want), "want {want:?} in {stderr:?}");
    assert!(!dir.join("sd.pid").exists() && !dir.join("sd.log").exists());
}

#[test]
fn check_json_shows_supervisords_expansions_typed() {
    let dir = TestDir::new("check-sd-json");
    let config = dir.write(
        "supervisord.conf",
        "[supervisord]\nlogfile = %(here)s/sd.log\npidfile = {dir}/sd.pid\n\
         environment = PROCS=\"2\"\n\n\
         [program:w]\ncommand = worker --n %(process_num)02d ; inline comment\n\
         process_name = %(program_name)s_%(process_num)02d\nnumprocs = %(ENV_PROCS)s\n\
         stdout_logfile_maxbytes = 5 MB\nautorestart = TRUE\nstopsignal = int\n\
         autorestart = true\n",
    );
    let json = common::check_json(&config, &[]);
    assert_eq!(json["dialect"], "supervisord");
    assert_eq!(
        json["supervisord"]["logfile"],
        dir.join("sd.log").display().to_string()
    );
    let processes = json["processes"].as_array().expect("processes");
    let names: Vec<&str> = processes
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["w_00", "w_01"]);
    let first = &processes[0];
    assert_eq!(first["group"], "w");
    assert_eq!(first["command"], "worker --n 00");
    assert_eq!(first["stdout_logfile_maxbytes"], 5 * 1024 * 1024);
    assert_eq!(first["autorestart"], "true");
    assert_eq!(first["stopsignal"], "INT");
    assert_eq!(first["stdout_logfile"], "AUTO");
    assert_eq!(first["environment"]["PROCS"], "2");
}

#[test]
fn a_file_with_both_dialects_is_refused() {
    let dir = TestDir::new("check-both");
    let config = dir.config("[supervisord]\n\n[program:x]\ncommand = sleep 1\n");
    let (code, _, stderr) = check_only(&dir, &config);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("has both a [supervisord] and a [supervice] section"),
        "{stderr}"
    );
}

#[test]
fn check_json_of_a_supervice_file_shows_its_instances() {
    let dir = TestDir::new("check-sv-json");
    let config = dir.config(
        "[program:web]\ncommand = server --port 80%(process_num)s\nnumprocs = 2\n\
         environment = A=1\nstopsignal = int\n",
    );
    let json = common::check_json(&config, &[]);
    assert_eq!(json["dialect"], "supervice");
    assert_eq!(
        json["supervice"]["socket"],
        dir.socket().display().to_string()
    );
    let processes = json["processes"].as_array().expect("processes");
    let argv: Vec<&serde_json::Value> = processes.iter().map(|p| &p["argv"]).collect();
    assert_eq!(
        argv,
        [
            &serde_json::json!(["server", "--port", "8000"]),
            &serde_json::json!(["server", "--port", "8001"])
        ]
    );
    assert_eq!(processes[1]["name"], "web:01");
    assert_eq!(processes[0]["stopsignal"], "INT");
    assert_eq!(processes[0]["environment"]["A"], "1");
    assert_eq!(
        json["groups"][0]["processes"],
        serde_json::json!(["web:00", "web:01"])
    );
}
