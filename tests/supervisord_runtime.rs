//! A supervisord file run by the real daemon: supervisord's names, autorestart and
//! exitcodes, its backoff, stopasgroup, the priority order of start and shutdown,
//! redirect_stderr, AUTO logs, umask, the SUPERVISOR_* variables and spawn-time errors
//! (SUPERVISORD.md §2).

mod common;

use common::{entry_of, expect_state, expect_within, secs, status_now, Daemon, TestDir};

/// A supervisord file whose daemon files are in the test's directory, then `body`.
fn supervisord_conf(dir: &TestDir, body: &str) -> std::path::PathBuf {
    let text = format!(
        "[supervisord]\nlogfile = {{dir}}/supervice.log\npidfile = {{dir}}/supervice.pid\n\
         childlogdir = {{dir}}\nloglevel = debug\n\n\
         [unix_http_server]\nfile = {{dir}}/supervice.sock\n\n{body}"
    );
    dir.write("supervisord.conf", &text)
}

#[test]
fn processes_are_named_group_colon_process_and_restart_per_exitcodes() {
    let dir = TestDir::new("sd-names");
    let config = supervisord_conf(
        &dir,
        "[program:pool]\ncommand = sleep 300\nprocess_name = %(program_name)s_%(process_num)02d\n\
         numprocs = 2\n\n\
         [program:clean]\ncommand = sh -c 'sleep 1.2; exit 3'\nexitcodes = 0,3\n\n\
         [program:crash]\ncommand = sh -c 'sleep 1.2; exit 1'\nexitcodes = 0,3\n\n\
         [program:never]\ncommand = sh -c 'sleep 1.2; exit 1'\nautorestart = false\n\n\
         [group:both]\nprograms = clean\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "pool:pool_00", "RUNNING", secs(10));
    expect_state(&socket, "pool:pool_01", "RUNNING", secs(10));
    let names: Vec<String> = status_now(&socket).into_iter().map(|e| e.name).collect();
    for name in [
        "both:clean",
        "crash",
        "never",
        "pool:pool_00",
        "pool:pool_01",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    // Exit code 3 is expected: EXITED for good. 1 is not: restarted (autorestart
    // defaults to unexpected). With autorestart = false it stays EXITED either way.
    expect_state(&socket, "both:clean", "EXITED", secs(10));
    expect_state(&socket, "never", "EXITED", secs(10));
    daemon.expect_log(secs(10), "exited: crash (exit status 1; not expected)");
    daemon.expect_log_count(secs(10), "Spawning crash:", 2);
    daemon.expect_log(secs(5), "exited: both:clean (exit status 3; expected)");
    assert_eq!(
        daemon.count_log("Spawning both:clean:"),
        1,
        "an expected exit stays down"
    );
    assert_eq!(daemon.count_log("Spawning never:"), 1);
}

#[test]
fn a_failing_start_backs_off_then_goes_fatal_even_without_autorestart() {
    let dir = TestDir::new("sd-backoff");
    let config = supervisord_conf(
        &dir,
        "[program:quick]\ncommand = sh -c 'exit 0'\nautorestart = false\nstartretries = 2\n\n\
         [program:nodir]\ncommand = sleep 300\ndirectory = {dir}/missing\nstartretries = 1\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    // A missing directory is a spawn error (supervisord checks it only then), not a
    // refusal of the file.
    expect_state(&socket, "nodir", "FATAL", secs(10));
    expect_state(&socket, "quick", "FATAL", secs(15));
    assert_eq!(
        daemon.transitions("quick").first().map(String::as_str),
        Some("STOPPED -> STARTING")
    );
    assert!(
        daemon
            .transitions("quick")
            .iter()
            .any(|t| t == "STARTING -> BACKOFF"),
        "{:?}",
        daemon.transitions("quick")
    );
    assert_eq!(
        daemon.count_log("Spawning quick:"),
        3,
        "startretries = 2: three attempts"
    );
    daemon.expect_log(
        secs(1),
        "gave up: quick entered FATAL state, too many start retries too quickly",
    );
}

/// Pid the program wrote to `file` in `dir`, once it is there.
fn pid_in(dir: &TestDir, file: &str) -> i32 {
    let mut pid = None;
    expect_within(secs(10), "the program to write its child's pid", || {
        pid = dir.read(file).trim().parse().ok();
        pid.is_some()
    });
    pid.unwrap_or(0)
}

#[test]
fn stop_signals_reach_the_group_only_with_stopasgroup() {
    let dir = TestDir::new("sd-group");
    let body = |name: &str, asgroup: bool| {
        format!(
            "[program:{name}]\ncommand = sh -c 'sleep 300 & echo $! > {{dir}}/{name}.pid; wait'\n\
             stopasgroup = {asgroup}\nstartsecs = 0\n\n"
        )
    };
    let config = supervisord_conf(&dir, &(body("alone", false) + &body("grouped", true)));
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "alone", "RUNNING", secs(10));
    expect_state(&socket, "grouped", "RUNNING", secs(10));
    let alone_child = pid_in(&dir, "alone.pid");
    let grouped_child = pid_in(&dir, "grouped.pid");
    for name in ["alone", "grouped"] {
        let (code, out, err) = common::ctl(&dir, &["stop", name]);
        assert_eq!(code, 0, "stop {name}: {out}{err}");
    }
    expect_within(secs(5), "the grouped child to die with its group", || {
        !common::alive(grouped_child)
    });
    // supervisord signals only the main process: its child is left running, and the
    // daemon's shutdown does not wait for it.
    assert!(
        common::alive(alone_child),
        "stopasgroup = false leaves the child alone"
    );
    let mut daemon = daemon;
    let started = std::time::Instant::now();
    assert_eq!(daemon.stop(), Some(0));
    assert!(
        started.elapsed() < secs(10),
        "shutdown waited {:?} for a child it does not own",
        started.elapsed()
    );
    assert!(common::alive(alone_child), "still left alone at exit");
    common::kill(alone_child, libc::SIGKILL);
    drop(daemon);
}

#[test]
fn start_goes_by_ascending_priority_and_shutdown_one_group_at_a_time_descending() {
    let dir = TestDir::new("sd-priority");
    let program = |name: &str, priority: u32| {
        format!(
            "[program:{name}]\npriority = {priority}\nstartsecs = 0\nstopwaitsecs = 10\n\
             command = sh -c 'trap \"echo {name}-term >> {{dir}}/order; sleep 0.5; \
             echo {name}-exit >> {{dir}}/order; exit 0\" TERM; echo {name} >> {{dir}}/ready; \
             while :; do sleep 0.1; done'\n\n"
        )
    };
    let config = supervisord_conf(
        &dir,
        &(program("late", 20) + &program("early", 10) + &program("middle", 15)),
    );
    let mut daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    for name in ["early", "middle", "late"] {
        expect_state(&socket, name, "RUNNING", secs(10));
    }
    expect_within(secs(10), "every program to have its TERM trap set", || {
        dir.read("ready").lines().count() == 3
    });
    let spawn_order: Vec<String> = daemon
        .log_text()
        .lines()
        .filter_map(|l| {
            l.split("Spawning ")
                .nth(1)?
                .split(':')
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(spawn_order, ["early", "middle", "late"]);
    assert_eq!(daemon.stop(), Some(0));
    let order: Vec<String> = dir.read("order").lines().map(String::from).collect();
    assert_eq!(
        order,
        [
            "late-term",
            "late-exit",
            "middle-term",
            "middle-exit",
            "early-term",
            "early-exit"
        ],
        "each group is stopped once the one before it is down"
    );
}

#[test]
fn redirect_stderr_auto_logs_umask_and_supervisor_variables() {
    let dir = TestDir::new("sd-spawn");
    let config = supervisord_conf(
        &dir,
        "[program:both]\ncommand = sh -c 'echo to-out; echo to-err >&2; exec sleep 300'\n\
         redirect_stderr = true\n\n\
         [program:env]\numask = 027\nstartsecs = 0\nautorestart = false\n\
         command = sh -c 'umask > {dir}/umask; env | grep ^SUPERVISOR_ | sort > {dir}/env'\n\
         environment = SUPERVISOR_GROUP_NAME=\"mine\"\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "both", "RUNNING", secs(10));
    expect_state(&socket, "env", "EXITED", secs(10));
    // AUTO: one file per captured stream in childlogdir; none for a redirected stderr.
    let logs: Vec<String> = std::fs::read_dir(&dir.path)
        .expect("read dir")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.contains("---supervisor-"))
        .collect();
    let both_out = logs
        .iter()
        .find(|n| n.starts_with("both-stdout---supervisor-"));
    let both_out = both_out.unwrap_or_else(|| panic!("an AUTO stdout log in {logs:?}"));
    assert!(
        !logs.iter().any(|n| n.starts_with("both-stderr")),
        "{logs:?}"
    );
    expect_within(secs(5), "both streams in the stdout log", || {
        let text = dir.read(both_out);
        text.contains("to-out") && text.contains("to-err")
    });
    assert_eq!(dir.read("umask").trim(), "0027");
    let env = dir.read("env");
    let socket_url = format!("SUPERVISOR_SERVER_URL=unix://{}", socket.display());
    for line in [
        "SUPERVISOR_ENABLED=1",
        "SUPERVISOR_PROCESS_NAME=env",
        "SUPERVISOR_GROUP_NAME=mine",
        socket_url.as_str(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in {env:?}");
    }
    assert_eq!(entry_of(&socket, "env").state, "EXITED");
    drop(daemon);
}

#[test]
fn nodaemon_in_the_file_keeps_the_daemon_in_the_foreground() {
    let dir = TestDir::new("sd-nodaemon");
    let config = supervisord_conf(&dir, "[program:a]\ncommand = sleep 300\n");
    let text = dir
        .read("supervisord.conf")
        .replace("[supervisord]\n", "[supervisord]\nnodaemon = true\n");
    std::fs::write(&config, text).expect("write config");
    // Started without -n: it must not detach (the process we started is the daemon).
    let mut daemon = Daemon::spawn(&dir, &["-c", &config.display().to_string()]);
    expect_within(secs(10), "the daemon to listen", || {
        daemon.log_text().contains("RPC Server listening on")
    });
    expect_state(&dir.socket(), "a", "RUNNING", secs(10));
    let pidfile: i32 = dir.read("supervice.pid").trim().parse().expect("pidfile");
    assert_eq!(pidfile, daemon.pid, "the started process is the daemon");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn as_supervisord_it_searches_supervisords_default_paths_and_exits_2_on_a_bad_file() {
    let dir = TestDir::new("sd-argv0");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    let link = bin.join("supervisord");
    std::os::unix::fs::symlink(common::SUPERVICE, &link).expect("symlink supervisord");
    let run = |cwd: &std::path::Path| {
        std::process::Command::new(&link)
            .arg("--check")
            .current_dir(cwd)
            .output()
            .expect("run supervisord link")
    };
    // Nothing to find in an empty directory (the machine has no /etc/supervisord.conf).
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    if !std::path::Path::new("/etc/supervisord.conf").exists()
        && !std::path::Path::new("/etc/supervisor/supervisord.conf").exists()
    {
        let out = run(&empty);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("Error: No config file found at default paths ("),
            "{stderr}"
        );
    }
    // <prefix>/etc/supervisord.conf beside the link's directory comes first.
    std::fs::create_dir_all(dir.join("etc")).expect("mkdir etc");
    dir.write(
        "etc/supervisord.conf",
        "[supervisord]\npidfile = {dir}/p.pid\n",
    );
    let out = run(&empty);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("etc/supervisord.conf: OK (supervisord dialect"),
        "{stdout}"
    );
    // Started (not --check) on a file it refuses: exit 2, as supervisord.
    dir.write("etc/supervisord.conf", "[supervisord]\nminfds = many\n");
    let out = std::process::Command::new(&link)
        .arg("-n")
        .current_dir(&empty)
        .output()
        .expect("run supervisord link");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn supervisord_options_override_the_file_in_check_json() {
    let dir = TestDir::new("sd-options");
    let config = supervisord_conf(&dir, "[program:a]\ncommand = sleep 300\n");
    std::fs::create_dir_all(dir.join("logs")).expect("mkdir");
    let other_pid = dir.join("other.pid").display().to_string();
    let logs = dir.join("logs").display().to_string();
    let json = common::check_json(
        &config,
        &[
            "-j", &other_pid, "-q", &logs, "-i", "box", "-y", "1MB", "-k", "-m", "077",
        ],
    );
    let s = &json["supervisord"];
    assert_eq!(s["pidfile"], other_pid.as_str());
    assert_eq!(s["childlogdir"], logs.as_str());
    assert_eq!(s["identifier"], "box");
    assert_eq!(s["logfile_maxbytes"], 1 << 20);
    assert_eq!(s["nocleanup"], true);
    assert_eq!(s["umask"], 0o77);
    // A bad value names the option.
    let out = std::process::Command::new(common::SUPERVICE)
        .args(["-c", &config.display().to_string(), "--check", "-a", "lots"])
        .output()
        .expect("run --check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("command line option -a: invalid literal for int()"),
        "{stderr}"
    );
}

#[test]
fn supervisord_user_is_become_once_the_socket_and_pidfile_are_made() {
    if !common::require_root("supervisord_user_is_become_once_the_socket_and_pidfile_are_made") {
        return;
    }
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        common::skip_or_fail("supervisord_user", "no user nobody");
        return;
    };
    let dir = TestDir::new("sd-user");
    // The daemon keeps writing its log and state file here as nobody.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let config = supervisord_conf(&dir, "[program:a]\ncommand = sleep 300\n");
    let text = dir
        .read("supervisord.conf")
        .replace("[supervisord]\n", "[supervisord]\nuser = nobody\n");
    std::fs::write(&config, text).expect("write config");
    let daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(5), "Running as user nobody");
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid)).expect("status");
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    let uids: Vec<u32> = uid_line
        .split_whitespace()
        .skip(1)
        .filter_map(|u| u.parse().ok())
        .collect();
    assert!(uids.iter().all(|&u| u == nobody.uid.as_raw()), "{uid_line}");
    expect_state(&dir.socket(), "a", "RUNNING", secs(10));
    drop(daemon);
}

#[test]
fn an_fcgi_program_gets_its_groups_listening_socket_on_fd_0() {
    let dir = TestDir::new("sd-fcgi");
    let config = supervisord_conf(
        &dir,
        "[fcgi-program:app]\nsocket = unix://{dir}/app.sock\nsocket_mode = 0660\n\
         process_name = %(program_name)s_%(process_num)s\nnumprocs = 2\n\
         command = sh -c 'stat -L -c %%F /proc/self/fd/0 > {dir}/fd0-$SUPERVISOR_PROCESS_NAME; \
         exec sleep 300'\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "app:app_0", "RUNNING", secs(10));
    expect_state(&socket, "app:app_1", "RUNNING", secs(10));
    for name in ["app_0", "app_1"] {
        expect_within(secs(5), "the program to look at its fd 0", || {
            dir.read(&format!("fd0-{name}")).trim() == "socket"
        });
    }
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(dir.join("app.sock")).expect("the socket file");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert!(
        std::os::unix::net::UnixStream::connect(dir.join("app.sock")).is_ok(),
        "listening"
    );
    // The last process gone closes it (the path stays, as in supervisord).
    for name in ["app:app_0", "app:app_1"] {
        let (code, out, err) = common::ctl(&dir, &["stop", name]);
        assert_eq!(code, 0, "{out}{err}");
    }
    expect_within(secs(5), "the socket to be closed", || {
        std::os::unix::net::UnixStream::connect(dir.join("app.sock")).is_err()
    });
    assert!(dir.join("app.sock").exists());
    daemon.expect_log(secs(1), "Closing socket unix://");
    drop(daemon);
}

#[test]
fn supervices_own_keys_work_in_a_supervisord_file() {
    let dir = TestDir::new("sd-extensions");
    dir.write("app.env", "FROM_FILE=yes\n");
    let config = supervisord_conf(
        &dir,
        "[program:app]\ncommand = sh -c 'echo $FROM_FILE > {dir}/env; exec sleep 300'\n\
         env_file = {dir}/app.env\nhealthcheck_type = script\nhealthcheck_command = true\n\
         healthcheck_interval = 1\nhealthcheck_start_period = 0\npdeathsig = false\n\
         reconcile = warn\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "app", "RUNNING", secs(10));
    expect_within(secs(5), "the env_file's variable in the child", || {
        dir.read("env").trim() == "yes"
    });
    expect_within(secs(10), "the script health check to pass", || {
        let (_, out, _) = common::ctl(&dir, &["status", "--json"]);
        out.contains("\"healthy\": true") || out.contains("\"healthy\":true")
    });
    drop(daemon);

    // A bad value of one of them is refused like any other, with its key and line.
    let bad = supervisord_conf(
        &dir,
        "[program:app]\ncommand = sleep 300\nhealthcheck_type = tcpp\n",
    );
    let out = std::process::Command::new(common::SUPERVICE)
        .args(["-c", &bad.display().to_string(), "--check"])
        .output()
        .expect("run --check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("invalid healthcheck_type 'tcpp'")
            && stderr.contains("[program:app] healthcheck_type, line"),
        "{stderr}"
    );
}

#[test]
fn earlier_auto_logs_are_removed_at_start_unless_nocleanup() {
    for nocleanup in [false, true] {
        let dir = TestDir::new("sd-cleanup");
        dir.write("old-stdout---supervisor-dead.log", "earlier run\n");
        dir.write("old-stdout---supervisor-dead.log.1", "rotated\n");
        dir.write("notes.txt", "not a log\n");
        let config = supervisord_conf(&dir, "[program:a]\ncommand = sleep 300\n");
        let text = dir.read("supervisord.conf").replace(
            "[supervisord]\n",
            &format!("[supervisord]\nnocleanup = {nocleanup}\n"),
        );
        std::fs::write(&config, text).expect("write config");
        let daemon = Daemon::start(&dir, &config);
        expect_state(&dir.socket(), "a", "RUNNING", secs(10));
        for old in [
            "old-stdout---supervisor-dead.log",
            "old-stdout---supervisor-dead.log.1",
        ] {
            assert_eq!(
                dir.join(old).exists(),
                nocleanup,
                "{old} with nocleanup = {nocleanup}"
            );
        }
        assert!(dir.join("notes.txt").exists());
        drop(daemon);
    }
}

/// The soft limit `Max <what>` of `pid`, from /proc/PID/limits.
fn soft_limit(pid: i32, what: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = text
        .lines()
        .find(|l| l.starts_with(what))
        .unwrap_or_else(|| panic!("no {what:?} in\n{text}"));
    let soft = line[what.len()..].split_whitespace().next().expect("soft");
    if soft == "unlimited" {
        u64::MAX
    } else {
        soft.parse().expect("a number")
    }
}

#[test]
fn minfds_and_minprocs_raise_the_daemons_limits_or_refuse_to_start() {
    if !common::require_root("minfds_and_minprocs_raise_the_daemons_limits") {
        return;
    }
    let dir = TestDir::new("sd-minprocs");
    let config = supervisord_conf(&dir, "[program:a]\ncommand = sleep 300\n");
    let text = dir.read("supervisord.conf").replace(
        "[supervisord]\n",
        "[supervisord]\nminfds = 2048\nminprocs = 300\n",
    );
    std::fs::write(&config, text).expect("write config");
    let config = config.display().to_string();
    // prlimit lowers the soft limits and execs the daemon in the same process.
    let prlimit = std::path::Path::new("/usr/bin/prlimit");
    let mut daemon = Daemon::spawn_program(
        &dir,
        prlimit,
        &[
            "--nofile=64:",
            "--nproc=100:",
            common::SUPERVICE,
            "-c",
            &config,
            "-n",
        ],
    );
    expect_within(secs(10), "the daemon to listen", || {
        daemon.log_text().contains("RPC Server listening on")
    });
    expect_state(&dir.socket(), "a", "RUNNING", secs(10));
    assert!(soft_limit(daemon.pid, "Max open files") >= 2048);
    assert!(soft_limit(daemon.pid, "Max processes") >= 300);
    assert_eq!(daemon.stop(), Some(0));

    // Below the hard limit, and without the privilege to raise it, it refuses to start
    // and says why.
    for file in ["supervice.log", "supervice.pid"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let _ = std::process::Command::new("chmod")
        .args(["0777", &dir.path.display().to_string()])
        .status();
    let out = std::process::Command::new(prlimit)
        .args([
            "--nproc=100:100",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
        ])
        .args(["--clear-groups", common::SUPERVICE, "-c", &config, "-n"])
        .output()
        .expect("run prlimit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot raise the process limit to minprocs = 300 (soft 100, hard 100)"),
        "{stderr}"
    );
}
