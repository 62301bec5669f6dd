//! What a child gets at spawn: its instance name, argv, environment, working directory
//! and file descriptors (SPEC 1.3, 1.6, 4.6).

mod common;
use common::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// The pid of the daemon's child whose argv is `argv` (after exec), allowing for argv[0]
/// resolved to a full path.
fn child_exact(daemon: &Daemon, argv: &str) -> Option<i32> {
    children_of(daemon.pid).into_iter().find(|&pid| {
        let line = cmdline(pid);
        line == argv || line.ends_with(&format!("/{argv}"))
    })
}

#[test]
fn numprocs_instances_are_named_and_log_separately() {
    let dir = TestDir::new("numprocs");
    let config = dir.config(
        "[program:w]\ncommand = sh -c 'echo instance %(process_num)s; exec sleep 1000'\n\
         numprocs = 3\nstdout_logfile = {dir}/w_%(process_num)s.log\n",
    );
    let daemon = Daemon::start(&dir, &config);

    for n in ["00", "01", "02"] {
        let file = format!("w_{n}.log");
        let want = format!("instance {n}\n");
        expect_within(secs(5), &format!("{file} to hold {want:?}"), || {
            dir.read(&file) == want
        });
        let spawning = format!("Spawning w:{n}: ");
        let argv = format!("sh -c echo instance {n}; exec sleep 1000 (cwd=");
        let log = daemon.log_text();
        assert!(
            log.lines()
                .any(|l| l.contains(&spawning) && l.contains(&argv)),
            "no {spawning:?} line with {argv:?}:\n{log}"
        );
        daemon.expect_log(secs(5), &format!("w:{n}: STARTING -> RUNNING"));
    }
    assert!(!dir.join("w_03.log").exists());
    assert_eq!(daemon.count_log("Spawning w"), 3, "{}", daemon.log_text());
    let sleepers = children_of(daemon.pid)
        .into_iter()
        .filter(|&pid| cmdline(pid) == "sleep 1000")
        .count();
    assert_eq!(sleepers, 3);
}

#[test]
fn environment_and_env_file_reach_the_child() {
    let dir = TestDir::new("env");
    dir.write(
        "first.env",
        "# a comment\n\nFROM_FILE=file\nSHARED = from-file\nQUOTED=\"a b\"\nNUM_FILE=f%(process_num)s\n",
    );
    dir.write(
        "second.env",
        "LATER=second\nFROM_FILE=overridden-by-second\n",
    );
    let config = dir.config(
        "[program:e]\ncommand = sh -c 'env; exec sleep 1000'\nnumprocs = 2\n\
         env_file = {dir}/first.env, {dir}/second.env\n\
         environment = SHARED=from-env,NUM=n%(process_num)s,SPACED=\"x, y\"\n\
         stdout_logfile = {dir}/env_%(process_num)s.log\n",
    );
    let _daemon = Daemon::start(&dir, &config);

    for n in ["00", "01"] {
        let file = format!("env_{n}.log");
        expect_within(secs(5), &format!("{file} to be written"), || {
            dir.read(&file).contains("NUM=")
        });
        let text = dir.read(&file);
        let vars: Vec<&str> = text.lines().collect();
        let want = [
            "FROM_FILE=overridden-by-second".to_string(),
            "LATER=second".to_string(),
            "SHARED=from-env".to_string(),
            "QUOTED=a b".to_string(),
            format!("NUM=n{n}"),
            format!("NUM_FILE=f{n}"),
            "SPACED=x, y".to_string(),
        ];
        for var in &want {
            assert!(vars.contains(&var.as_str()), "{file} lacks {var}:\n{text}");
        }
        // The daemon's own environment is inherited underneath.
        assert!(
            vars.iter().any(|v| v.starts_with("SUPERVICE_TEST_TOKEN=")),
            "{file} lacks the inherited environment:\n{text}"
        );
    }
}

#[test]
fn directory_is_the_child_working_directory() {
    let dir = TestDir::new("directory");
    fs::create_dir(dir.join("work")).unwrap();
    let config = dir.config(
        "[program:d]\ncommand = sh -c 'pwd; exec sleep 1000'\ndirectory = {dir}/work\n\
         stdout_logfile = {dir}/d.log\n",
    );
    let daemon = Daemon::start(&dir, &config);

    let work = dir.join("work").display().to_string();
    expect_within(secs(5), "pwd output", || !dir.read("d.log").is_empty());
    assert_eq!(dir.read("d.log"), format!("{work}\n"));
    daemon.expect_log(secs(5), &format!("(cwd={work}, uid="));
    daemon.expect_log(secs(5), "d: STARTING -> RUNNING");
    let pid = child_exact(&daemon, "sleep 1000").expect("the child");
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        dir.join("work")
    );
}

#[test]
fn a_relative_command_is_found_in_the_program_directory() {
    // exec runs after the chdir to `directory`, so that is where ./run.sh must be; it
    // was once checked in the daemon's cwd instead ("Command not found", or a different
    // file run than the one checked).
    let dir = TestDir::new("relative-command");
    fs::create_dir(dir.join("work")).unwrap();
    let script = dir.write(
        "work/run.sh",
        "#!/bin/sh\necho ran-in-$(pwd)\nexec sleep 1000\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    // A decoy in the daemon's cwd that must not be what runs or what is checked.
    let decoy = dir.write("decoy.sh", "#!/bin/sh\necho decoy\n");
    fs::set_permissions(&decoy, fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.config(
        "[program:r]\ncommand = ./run.sh\ndirectory = {dir}/work\n\
         stdout_logfile = {dir}/r.log\n\n\
         [program:d]\ncommand = ./decoy.sh\ndirectory = {dir}/work\nautorestart = false\n\
         startretries = 0\nstdout_logfile = {dir}/d.log\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(5), "r: STARTING -> RUNNING");
    let work = dir.join("work").display().to_string();
    expect_within(secs(5), "the script's output", || {
        dir.read("r.log") == format!("ran-in-{work}\n")
    });
    daemon.expect_log(secs(5), "Command not found: ./decoy.sh");
    assert_eq!(
        dir.read("d.log"),
        "",
        "the decoy in the daemon's cwd never ran"
    );
}

/// Starts the daemon with a regular file as its stdin, so a child that merely
/// inherited the daemon's stdin would show it.
fn start_with_file_stdin(dir: &TestDir, config: &std::path::Path) -> Daemon {
    let stdout = dir.join("daemon.stdout");
    let stderr = dir.join("daemon.stderr");
    let token = format!("{}-stdin-{}", std::process::id(), dir.path.display());
    let child = Command::new(SUPERVICE)
        .args(["-c", &config.display().to_string(), "-n"])
        .current_dir(&dir.path)
        .env("SUPERVICE_TEST_TOKEN", &token)
        .stdin(Stdio::from(fs::File::open(config).unwrap()))
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run supervice");
    let daemon = Daemon {
        pid: child.id() as i32,
        child: Some(child),
        token,
        log: dir.join("supervice.log"),
        stdout,
        stderr,
    };
    daemon.expect_log(secs(10), "Supervisor starting");
    daemon
}

/// fd number -> link target, for every open fd of `pid`.
fn open_fds(pid: i32) -> Vec<(String, String)> {
    let mut fds: Vec<(String, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = fs::read_link(e.path()).unwrap_or_default();
            (
                e.file_name().to_string_lossy().into_owned(),
                target.display().to_string(),
            )
        })
        .collect();
    fds.sort();
    fds
}

#[test]
fn children_get_dev_null_stdin_and_only_fds_0_1_2() {
    let dir = TestDir::new("fds");
    let config = dir.config(
        "[program:logged]\ncommand = sleep 1001\nstdout_logfile = {dir}/out.log\n\
         stderr_logfile = {dir}/err.log\n\n\
         [program:silent]\ncommand = sleep 1002\n",
    );
    let daemon = start_with_file_stdin(&dir, &config);
    daemon.expect_log(secs(5), "logged: STARTING -> RUNNING");
    daemon.expect_log(secs(5), "silent: STARTING -> RUNNING");

    let logged = child_exact(&daemon, "sleep 1001").expect("logged child");
    let fds = open_fds(logged);
    let names: Vec<&str> = fds.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0", "1", "2"], "fds of the logged child: {fds:?}");
    assert_eq!(fds[0].1, "/dev/null");
    assert!(fds[1].1.starts_with("pipe:"), "{fds:?}");
    assert!(fds[2].1.starts_with("pipe:"), "{fds:?}");

    let silent = child_exact(&daemon, "sleep 1002").expect("silent child");
    let fds = open_fds(silent);
    assert_eq!(
        fds,
        [
            ("0".to_string(), "/dev/null".to_string()),
            ("1".to_string(), "/dev/null".to_string()),
            ("2".to_string(), "/dev/null".to_string()),
        ]
    );
}

/// `Name:\tv1\tv2...` from /proc/<pid>/status.
fn status_line(pid: i32, name: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[test]
fn user_sets_uid_gid_and_the_users_groups() {
    if !require_root("user_sets_uid_gid_and_the_users_groups") {
        return;
    }
    let dir = TestDir::new("user");
    let config = dir.config("[program:n]\ncommand = sleep 1000\nuser = nobody\n");
    let daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(5), "n: STARTING -> RUNNING");

    let out = run(Command::new("id").args(["-u", "nobody"]));
    let uid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(Command::new("id").args(["-g", "nobody"]));
    let gid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(Command::new("id").args(["-G", "nobody"]));
    let mut groups: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    groups.sort();

    daemon.expect_log(secs(1), &format!("uid={uid})"));
    let pid = child_exact(&daemon, "sleep 1000").expect("the child");
    assert_eq!(status_line(pid, "Uid"), [uid.as_str(); 4].join(" "));
    assert_eq!(status_line(pid, "Gid"), [gid.as_str(); 4].join(" "));
    let mut got: Vec<String> = status_line(pid, "Groups")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    got.sort();
    assert_eq!(got, groups, "supplementary groups");
}

#[test]
fn command_is_found_in_the_daemon_path_not_the_child_environment() {
    let dir = TestDir::new("path");
    let config = dir.config(
        "[program:e]\ncommand = env\nenvironment = PATH=/nonexistent\nstartsecs = 0\n\
         autorestart = false\nstdout_logfile = {dir}/e.log\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(5), "e: RUNNING -> EXITED");
    expect_within(secs(5), "the child's environment", || {
        dir.read("e.log").lines().any(|l| l == "PATH=/nonexistent")
    });
    // argv[0] is the resolved path.
    let log = daemon.log_text();
    let spawning = log
        .lines()
        .find(|l| l.contains("Spawning e: "))
        .expect("the Spawning line");
    let argv0 = spawning
        .split("Spawning e: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    assert!(
        argv0.starts_with('/') && argv0.ends_with("/env"),
        "{spawning}"
    );
}

#[test]
fn children_start_with_default_signal_handling() {
    let dir = TestDir::new("signals");
    let config = dir.config("[program:s]\ncommand = sleep 1000\n");
    let daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(5), "s: STARTING -> RUNNING");

    // The daemon itself ignores SIGPIPE and handles others; none of that may leak.
    // Signals 32 and 33 are glibc's own: posix_spawn (used by this test harness) leaves
    // them ignored in the daemon, and glibc's sigaction refuses to touch them.
    let pid = child_exact(&daemon, "sleep 1000").expect("the child");
    let mask = |field: &str| {
        u64::from_str_radix(&status_line(pid, field), 16).expect(field) & !(0b11 << 31)
    };
    assert_eq!(mask("SigIgn"), 0, "ignored signals {:x}", mask("SigIgn"));
    assert_eq!(mask("SigBlk"), 0, "blocked signals {:x}", mask("SigBlk"));
    // Its own session and process group.
    assert_eq!(stat_field(pid, 2), Some(pid), "process group");
    assert_eq!(stat_field(pid, 3), Some(pid), "session");
}

/// Users are looked up when the configuration is loaded (at start and reload, as
/// supervisord does), never at a spawn: a user whose entry changes after the load still
/// spawns with the uid and gid it had then, and a user deleted from /etc/passwd fails its
/// next spawn with a clear error instead of running under the old uid. The daemon runs in
/// a private mount namespace where a copy of /etc/passwd is bind-mounted over the real
/// one, so the machine's own user database is never touched.
#[test]
fn user_is_looked_up_at_load_not_at_spawn() {
    let dir = TestDir::new("user-cached");
    let original = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let with_user = format!("{original}svc-cached:x:4242:4243::/nonexistent:/bin/false\n");
    let passwd = dir.join("passwd");
    fs::write(&passwd, &with_user).expect("write passwd copy");
    let config = dir.config(
        "[program:c]\ncommand = sleep 1000\nuser = svc-cached\nautostart = false\n\
         startsecs = 0\n",
    );
    let test = "user_is_looked_up_at_load_not_at_spawn";
    let Some(daemon) = start_with_file_over(test, &dir, &config, &passwd, "/etc/passwd") else {
        return;
    };
    // The user's entry changes under the daemon (the same inode, written in place): a
    // spawn uses what was looked up at load, so no lookup happens at spawn.
    let changed = format!("{original}svc-cached:x:5555:5556::/nonexistent:/bin/false\n");
    fs::write(&passwd, &changed).expect("change the user");

    let (code, out, err) = ctl(&dir, &["start", "c"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Started c\n"),
        "{err}\n{}",
        daemon.log_text()
    );
    daemon.expect_log(secs(1), "uid=4242)");
    let pid = child_exact(&daemon, "sleep 1000").expect("the child");
    assert_eq!(status_line(pid, "Uid"), ["4242"; 4].join(" "));
    assert_eq!(status_line(pid, "Gid"), ["4243"; 4].join(" "));

    // The user is deleted: the next spawn refuses to run under the old uid, clearly.
    fs::write(&passwd, &original).expect("remove the user");
    let (code, _, err) = ctl(&dir, &["restart", "c"]);
    assert_eq!(code, 1, "{err}\n{}", daemon.log_text());
    daemon.expect_log(
        secs(5),
        "user 'svc-cached' no longer exists (removed from /etc/passwd since the config was \
         loaded; reload to apply user changes)",
    );
    daemon.expect_log(secs(5), "c: STARTING -> FATAL");
}
