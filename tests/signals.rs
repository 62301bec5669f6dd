//! The daemon's signal state: what it inherits from its launcher is undone, and every
//! signal a user can plausibly send is either handled with a log line or harmless.

mod common;
use common::*;

use std::path::Path;

/// Blocks SIGCHLD, SIGTERM and SIGRTMAX (64), ignores the same three, then execs argv[1:].
const HOSTILE_LAUNCHER: &str = "\
import os, signal, sys
hostile = {signal.SIGCHLD, signal.SIGTERM, 64}
signal.pthread_sigmask(signal.SIG_BLOCK, hostile)
for s in hostile:
    signal.signal(s, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])
";

/// A field of /proc/PID/status (`SigBlk`, `SigIgn`...) as a bit mask: bit n-1 is signal n.
fn signal_mask(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let prefix = format!("{field}:");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    u64::from_str_radix(line.trim(), 16).expect("hex signal mask")
}

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

#[test]
fn inherited_signal_mask_and_ignored_signals_are_reset() {
    let dir = TestDir::new("inherited-mask");
    let launcher = dir.write("launcher.py", HOSTILE_LAUNCHER);
    let config = dir.config(
        "[program:once]\ncommand = sh -c 'sleep 0.3; exit 3'\nstartsecs = 0\n\
         autorestart = false\n\n\
         [program:sleeper]\ncommand = sleep 1000\n",
    );
    let args = [
        launcher.display().to_string(),
        SUPERVICE.to_string(),
        "-c".to_string(),
        config.display().to_string(),
        "-n".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut daemon = Daemon::spawn_program(&dir, Path::new("python3"), &args);
    daemon.expect_log(secs(10), "RPC Server listening on");

    // A child that exits is reaped: not a zombie, not shown RUNNING.
    expect_state(&dir.socket(), "once", "EXITED", secs(10));
    assert!(zombie_children(daemon.pid).is_empty(), "zombies left");

    // A child starts with an empty mask and every disposition at its default.
    let sleeper = expect_state(&dir.socket(), "sleeper", "RUNNING", secs(10));
    let pid = sleeper.pid.expect("sleeper has a pid");
    assert_eq!(signal_mask(pid, "SigBlk"), 0, "child's blocked mask");
    assert_eq!(signal_mask(pid, "SigIgn"), 0, "child's ignored signals");

    // The daemon itself (its children spawned, so not inside a spawn's brief block of
    // every signal) blocks nothing and ignores only what it means to.
    assert_eq!(
        signal_mask(daemon.pid, "SigBlk"),
        0,
        "daemon's blocked mask"
    );
    let meant = [libc::SIGPIPE, libc::SIGTTIN, libc::SIGTTOU, libc::SIGXFSZ];
    assert_eq!(
        signal_mask(daemon.pid, "SigIgn"),
        meant.into_iter().map(bit).sum::<u64>(),
        "daemon's ignored signals"
    );

    // SIGTERM reaches the daemon: a clean shutdown.
    assert_eq!(daemon.stop(), Some(0), "log:\n{}", daemon.log_text());
    assert!(daemon.log_text().contains("Shutdown complete"));
    assert!(!dir.socket().exists(), "socket left behind");
    assert!(!dir.join("supervice.pid").exists(), "pidfile left behind");
    assert!(!alive(pid), "child left running");
}

/// A program that writes a line every 50 ms to its stdout log.
const TICKER: &str =
    "[program:ticker]\ncommand = sh -c 'while :; do echo tick; sleep 0.05; done'\n\
                      stdout_logfile = {dir}/ticker.log\n";

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn sigusr2_reopens_the_daemon_log_and_the_children_logs() {
    let dir = TestDir::new("sigusr2");
    let config = dir.config(TICKER);
    let mut daemon = Daemon::start(&dir, &config);
    let child_log = dir.join("ticker.log");
    expect_within(secs(10), "the child to write", || lines(&child_log) > 0);
    let children = children_of(daemon.pid);

    // logrotate without copytruncate: rename, then the postrotate SIGUSR2.
    let (old_daemon_log, old_child_log) = (dir.join("supervice.log.1"), dir.join("ticker.log.1"));
    std::fs::rename(dir.join("supervice.log"), &old_daemon_log).expect("rename daemon log");
    std::fs::rename(&child_log, &old_child_log).expect("rename child log");
    daemon.signal(libc::SIGUSR2);

    daemon.expect_log(secs(5), "Log files reopened");
    let old_text = std::fs::read_to_string(&old_daemon_log).unwrap_or_default();
    assert!(
        old_text.contains("Received SIGUSR2, reopening log files"),
        "old daemon log:\n{old_text}"
    );
    expect_within(secs(5), "the child to write to a fresh file", || {
        lines(&child_log) > 0
    });
    let old_lines = lines(&old_child_log);
    let fresh = lines(&child_log);
    expect_within(secs(5), "more lines in the fresh file", || {
        lines(&child_log) >= fresh + 5
    });
    assert_eq!(
        lines(&old_child_log),
        old_lines,
        "the renamed file still grows"
    );

    assert!(alive(daemon.pid));
    assert_eq!(children_of(daemon.pid), children, "children changed");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn sigusr2_reports_a_log_file_it_cannot_reopen_and_keeps_the_old_one() {
    let dir = TestDir::new("sigusr2-fail");
    std::fs::create_dir(dir.join("logs")).expect("mkdir");
    let config = dir.config(&TICKER.replace("{dir}/ticker.log", "{dir}/logs/ticker.log"));
    let mut daemon = Daemon::start(&dir, &config);
    let child_log = dir.join("logs/ticker.log");
    expect_within(secs(10), "the child to write", || lines(&child_log) > 0);

    // The directory goes away: the path cannot be opened again.
    std::fs::rename(dir.join("logs"), dir.join("gone")).expect("rename dir");
    daemon.signal(libc::SIGUSR2);
    daemon.expect_log(secs(5), "ticker stdout: cannot reopen");
    let moved = dir.join("gone/ticker.log");
    let before = lines(&moved);
    expect_within(secs(5), "the old file to keep growing", || {
        lines(&moved) > before + 3
    });
    assert_eq!(daemon.stop(), Some(0));
}

/// A daemon with one sleeping child, started and RUNNING.
fn daemon_with_child(dir: &TestDir) -> (Daemon, i32) {
    let config = dir.config("[program:s]\ncommand = sleep 1000\n");
    let daemon = Daemon::start(dir, &config);
    let child = expect_state(&dir.socket(), "s", "RUNNING", secs(10)).pid;
    (daemon, child.expect("a pid"))
}

/// The daemon exits 0 after a full shutdown: child stopped, socket and pidfile removed.
fn assert_clean_exit(dir: &TestDir, daemon: &mut Daemon, child: i32, what: &str) {
    assert_eq!(
        daemon.wait_exit(secs(20)),
        Some(0),
        "{what}: log:\n{}",
        daemon.log_text()
    );
    let log = daemon.log_text();
    assert!(
        log.contains("s: STOPPING -> STOPPED"),
        "{what}: log:\n{log}"
    );
    assert!(log.contains("Shutdown complete"), "{what}: log:\n{log}");
    assert!(!dir.socket().exists(), "{what}: socket left behind");
    assert!(!dir.join("supervice.pid").exists(), "{what}: pidfile left");
    assert!(!alive(child), "{what}: child left running");
}

#[test]
fn sigquit_and_sigpwr_shut_down_cleanly() {
    for (signal, number) in [("SIGQUIT", libc::SIGQUIT), ("SIGPWR", libc::SIGPWR)] {
        let dir = TestDir::new("shutdown-signal");
        let (mut daemon, child) = daemon_with_child(&dir);
        daemon.signal(number);
        daemon.expect_log(secs(5), &format!("Received signal {number}"));
        assert_clean_exit(&dir, &mut daemon, child, signal);
    }
}

#[test]
fn other_signals_are_logged_and_ignored_or_harmless() {
    let dir = TestDir::new("ignored-signals");
    let (mut daemon, child) = daemon_with_child(&dir);
    let rtmin = libc::SIGRTMIN();
    let logged = [
        (libc::SIGUSR1, "SIGUSR1".to_string()),
        (libc::SIGHUP, "SIGHUP".to_string()),
        (libc::SIGALRM, "SIGALRM".to_string()),
        (libc::SIGVTALRM, "SIGVTALRM".to_string()),
        (libc::SIGPROF, "SIGPROF".to_string()),
        (libc::SIGIO, "SIGIO".to_string()),
        (libc::SIGSTKFLT, "SIGSTKFLT".to_string()),
        (libc::SIGTSTP, "SIGTSTP".to_string()),
        (rtmin, "SIGRTMIN+0".to_string()),
        (rtmin + 3, "SIGRTMIN+3".to_string()),
        (libc::SIGRTMAX(), "SIGRTMIN+30".to_string()),
    ];
    for (number, name) in &logged {
        daemon.signal(*number);
        daemon.expect_log(secs(5), &format!("Received {name}, ignoring"));
    }
    // Ignored or harmless by default, without a log line. kill() has made the signal
    // pending when it returns, so a status answered afterwards proves the daemon
    // survived it (and is not stopped).
    let silent = [
        libc::SIGPIPE,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXFSZ,
        libc::SIGWINCH,
        libc::SIGURG,
        libc::SIGCONT,
    ];
    for number in silent {
        daemon.signal(number);
        let entry = entry_of(&dir.socket(), "s");
        assert_eq!(entry.state, "RUNNING", "after signal {number}");
    }
    assert!(alive(daemon.pid));
    assert_eq!(
        entry_of(&dir.socket(), "s").pid,
        Some(child),
        "child replaced"
    );
    assert_eq!(
        daemon.count_log("Stopping"),
        0,
        "log:\n{}",
        daemon.log_text()
    );
    assert_eq!(daemon.stop(), Some(0));
}
