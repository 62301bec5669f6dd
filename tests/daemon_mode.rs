//! The daemon process itself: detaching, the pidfile and its lock, a second instance,
//! signals, and the single thread (SPEC 3.1, 7, preface 6).

mod common;
use common::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const SLEEPER: &str = "[program:s]\ncommand = sleep 1000\n";

fn pidfile_pid(dir: &TestDir) -> Option<i32> {
    dir.read("supervice.pid").parse().ok()
}

#[test]
fn pidfile_holds_the_pid_with_mode_0600_and_is_removed_at_shutdown() {
    let dir = TestDir::new("pidfile");
    let config = dir.config(SLEEPER);
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the pidfile", || pidfile_pid(&dir).is_some());

    assert_eq!(dir.read("supervice.pid"), daemon.pid.to_string());
    let mode = fs::metadata(dir.join("supervice.pid"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");

    assert_eq!(daemon.stop(), Some(0));
    assert!(!dir.join("supervice.pid").exists());
}

#[test]
fn a_pidfile_rewritten_by_someone_else_is_left_at_shutdown() {
    let dir = TestDir::new("pidfile-foreign");
    let config = dir.config(SLEEPER);
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the pidfile", || pidfile_pid(&dir).is_some());

    fs::write(dir.join("supervice.pid"), "999999").unwrap();
    assert_eq!(daemon.stop(), Some(0));
    assert_eq!(dir.read("supervice.pid"), "999999");
}

#[test]
fn pidfile_none_creates_no_pidfile() {
    let dir = TestDir::new("pidfile-none");
    let config = dir.write(
        "supervice.conf",
        &format!(
            "[supervice]\nlogfile = {{dir}}/supervice.log\npidfile = None\n\
             socket = {{dir}}/supervice.sock\nloglevel = DEBUG\n\n{SLEEPER}"
        ),
    );
    let mut daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(5), "s: STARTING -> RUNNING");

    let pidfiles: Vec<String> = fs::read_dir(&dir.path)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("pid"))
        .collect();
    assert!(pidfiles.is_empty(), "found {pidfiles:?}");
    assert!(!dir.join("None").exists());
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn second_instance_is_refused_and_leaves_the_first_alone() {
    let dir = TestDir::new("second");
    let config = dir.config("[program:s]\ncommand = sleep 1000\nnumprocs = 2\n");
    let first = Daemon::start(&dir, &config);
    first.expect_log(secs(5), "s:00: STARTING -> RUNNING");
    first.expect_log(secs(5), "s:01: STARTING -> RUNNING");
    let children = children_of(first.pid);
    assert_eq!(children.len(), 2);
    let spawned = first.count_log("Spawning");
    let socket_existed = dir.socket().exists();

    let mut second = Daemon::spawn(&dir, &["-c", &config.display().to_string(), "-n"]);
    assert_eq!(second.wait_exit(secs(10)), Some(1));
    let pidfile = dir.join("supervice.pid");
    assert_eq!(
        second.stderr_text().trim_end(),
        format!(
            "Supervice crashed: Another supervice instance is already running (pidfile: {})",
            pidfile.display()
        )
    );

    assert_eq!(dir.read("supervice.pid"), first.pid.to_string());
    assert!(alive(first.pid));
    assert_eq!(children_of(first.pid), children);
    assert_eq!(first.count_log("Spawning"), spawned, "{}", first.log_text());
    assert_eq!(dir.socket().exists(), socket_existed);
}

/// Stops the detached daemon at the end of the test, whatever happened.
struct Detached(Option<i32>);

impl Drop for Detached {
    fn drop(&mut self) {
        let Some(pid) = self.0 else { return };
        kill(pid, libc::SIGTERM);
        if !wait_for(secs(10), || !alive(pid)) {
            kill(pid, libc::SIGKILL);
        }
    }
}

#[test]
fn daemon_mode_detaches_into_its_own_session() {
    let dir = TestDir::new("detach");
    let config = dir.config(SLEEPER);
    let started = Instant::now();
    // Declared first so it is dropped last: its token sweep catches anything left.
    let mut launcher = Daemon::spawn(&dir, &["-c", &config.display().to_string()]);
    let mut guard = Detached(None);

    let code = launcher.wait_exit(secs(10));
    assert_eq!(code, Some(0), "stderr: {}", launcher.stderr_text());
    assert!(started.elapsed() < secs(5), "took {:?}", started.elapsed());
    let pid = pidfile_pid(&dir).expect("the pidfile once the launcher returned");
    guard.0 = Some(pid);

    assert_ne!(pid, launcher.pid);
    assert!(alive(pid));
    assert!(
        cmdline(pid).contains("supervice"),
        "cmdline {:?}",
        cmdline(pid)
    );
    let session = stat_field(pid, 3);
    assert_ne!(session, stat_field(std::process::id() as i32, 3));
    // Double fork: the session leader was the intermediate process, not the daemon.
    assert_ne!(session, Some(pid), "the daemon leads its session");
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    // No chdir: relative paths keep their meaning.
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), dir.path);

    expect_within(secs(5), "the daemon to spawn its program", || {
        children_of(pid)
            .iter()
            .any(|&c| cmdline(c).ends_with("sleep 1000"))
    });
    launcher.expect_log(secs(5), "s: STARTING -> RUNNING");

    kill(pid, libc::SIGTERM);
    expect_within(secs(10), "the daemon to exit", || !alive(pid));
    guard.0 = None;
    assert!(!dir.join("supervice.pid").exists());
    launcher.expect_log(secs(1), "Shutdown complete");
}

#[test]
fn the_daemon_runs_on_one_thread() {
    let dir = TestDir::new("threads");
    let mut body = String::new();
    for n in 0..10 {
        body.push_str(&format!(
            "[program:p{n}]\ncommand = sh -c 'echo hi; exec sleep 1000'\n\
             stdout_logfile = {{dir}}/p{n}.log\n\n"
        ));
    }
    let config = dir.config(&body);
    let daemon = Daemon::start(&dir, &config);
    daemon.expect_log_count(secs(10), "STARTING -> RUNNING", 10);

    assert_eq!(children_of(daemon.pid).len(), 10);
    assert_eq!(daemon.threads(), 1);
}

#[test]
fn sighup_is_logged_and_ignored() {
    let dir = TestDir::new("sighup");
    let config = dir.config("[program:s]\ncommand = sleep 1000\nnumprocs = 2\n");
    let mut daemon = Daemon::start(&dir, &config);
    daemon.expect_log_count(secs(5), "STARTING -> RUNNING", 2);
    let children = children_of(daemon.pid);

    daemon.signal(libc::SIGHUP);
    daemon.expect_log(
        secs(5),
        "Received SIGHUP, ignoring (use 'reload' command instead)",
    );
    let changed = wait_for(Duration::from_millis(500), || {
        children_of(daemon.pid) != children
    });
    assert!(!changed, "children changed after SIGHUP");
    assert!(alive(daemon.pid));
    assert_eq!(daemon.count_log("Spawning"), 2);
    assert_eq!(daemon.count_log("Stopping"), 0);
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn daemon_mode_reports_a_failed_start() {
    let dir = TestDir::new("detach-fail");
    let config = dir.config(SLEEPER);
    let first = Daemon::start(&dir, &config);
    first.expect_log(secs(5), "s: STARTING -> RUNNING");
    let children = children_of(first.pid);

    let started = Instant::now();
    let mut launcher = Daemon::spawn(&dir, &["-c", &config.display().to_string()]);
    assert_eq!(launcher.wait_exit(secs(10)), Some(1));
    assert!(started.elapsed() < secs(5), "took {:?}", started.elapsed());
    let stderr = launcher.stderr_text();
    assert!(
        stderr.contains("Another supervice instance is already running (pidfile: "),
        "stderr: {stderr:?}"
    );
    expect_within(secs(5), "the failed daemon to be gone", || {
        launcher.descendants().is_empty()
    });
    assert_eq!(dir.read("supervice.pid"), first.pid.to_string());
    assert_eq!(children_of(first.pid), children);
}
