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
    assert_eq!(
        signal_mask(daemon.pid, "SigIgn"),
        bit(libc::SIGPIPE),
        "daemon's ignored signals"
    );

    // SIGTERM reaches the daemon: a clean shutdown.
    assert_eq!(daemon.stop(), Some(0), "log:\n{}", daemon.log_text());
    assert!(daemon.log_text().contains("Shutdown complete"));
    assert!(!dir.socket().exists(), "socket left behind");
    assert!(!dir.join("supervice.pid").exists(), "pidfile left behind");
    assert!(!alive(pid), "child left running");
}
