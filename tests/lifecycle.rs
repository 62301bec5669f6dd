//! Start attempts, backoff, FATAL and autorestart as the daemon log shows them
//! (SPEC 4.2, 4.3, 4.6).

mod common;
use common::*;

use std::time::{Duration, Instant};

#[test]
fn failing_program_goes_fatal_after_startretries() {
    let dir = TestDir::new("fatal");
    let config = dir.config("[program:false]\ncommand = /bin/false\n");
    let started = Instant::now();
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(15), "false: EXITED -> FATAL");
    let elapsed = started.elapsed();

    // Attempt, 1 s, attempt, 2 s, attempt, 3 s, attempt, FATAL.
    assert!(
        elapsed >= secs(5) && elapsed <= secs(9),
        "FATAL after {elapsed:?}, want about 6 s; log:\n{}",
        daemon.log_text()
    );
    assert_eq!(daemon.count_log("Spawning false: /bin/false"), 4);
    assert_eq!(daemon.count_log("false exited before startsecs (1s)"), 4);
    assert_eq!(daemon.count_log("Backoff false: waiting 1s"), 1);
    assert_eq!(daemon.count_log("Backoff false: waiting 2s"), 1);
    assert_eq!(daemon.count_log("Backoff false: waiting 3s"), 1);
    assert_eq!(
        daemon.count_log("false: giving up after 4 failed start attempts"),
        1
    );
    assert_eq!(
        daemon.transitions("false").last().unwrap(),
        "EXITED -> FATAL"
    );

    let respawned = wait_for(Duration::from_millis(1500), || {
        daemon.count_log("Spawning false:") > 4
    });
    assert!(
        !respawned,
        "spawned again after FATAL:\n{}",
        daemon.log_text()
    );
}

#[test]
fn autorestart_respawns_a_program_that_exits_after_startsecs() {
    let dir = TestDir::new("autorestart");
    let config = dir.config("[program:x]\ncommand = sh -c 'sleep 1.5; exit 3'\nstartsecs = 1\n");
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log_count(secs(10), "Spawning x:", 2);
    assert!(daemon.count_log("x exited with code 3") >= 1);
    let trail = daemon.transitions("x");
    assert_eq!(
        trail[..3],
        [
            "STOPPED -> STARTING",
            "STARTING -> RUNNING",
            "RUNNING -> EXITED"
        ],
        "log:\n{}",
        daemon.log_text()
    );
    assert_eq!(daemon.count_log("-> FATAL"), 0);
}

#[test]
fn respawn_after_a_successful_run_is_immediate() {
    let dir = TestDir::new("respawn-now");
    // Each run stamps its start and its end (ns) itself, so the gap measured is the
    // daemon's, not this test's polling.
    let config = dir.config(
        "[program:x]\ncommand = sh -c 'date +%s%N >> {dir}/starts; sleep 1.2; \
         date +%s%N >> {dir}/ends; exit 3'\nstartsecs = 1\n",
    );
    let daemon = Daemon::start(&dir, &config);

    let stamps = |name: &str| -> Vec<u128> {
        dir.read(name)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    expect_within(secs(15), "a second run", || stamps("starts").len() >= 2);
    let gap_ms = (stamps("starts")[1].saturating_sub(stamps("ends")[0])) / 1_000_000;
    // Paced, the respawn would come 1000 ms after the exit; at once is a fork and two
    // execs (sh, date) later. Generous for a loaded machine, still far from 1 s.
    assert!(
        gap_ms < 900,
        "respawned {gap_ms} ms after the exit, want at once; log:\n{}",
        daemon.log_text()
    );
}

#[test]
fn autorestart_false_leaves_the_program_exited() {
    let dir = TestDir::new("no-autorestart");
    let config = dir.config(
        "[program:x]\ncommand = sh -c 'sleep 1.5; exit 3'\nstartsecs = 1\nautorestart = false\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(10), "x: RUNNING -> EXITED");
    assert_eq!(daemon.count_log("x exited with code 3"), 1);
    let respawned = wait_for(Duration::from_millis(1500), || {
        daemon.count_log("Spawning x:") > 1
    });
    assert!(!respawned, "respawned:\n{}", daemon.log_text());
    assert_eq!(
        daemon.transitions("x"),
        [
            "STOPPED -> STARTING",
            "STARTING -> RUNNING",
            "RUNNING -> EXITED"
        ]
    );
}

#[test]
fn exit_codes_126_and_127_are_ordinary_exits() {
    let dir = TestDir::new("exit127");
    let config = dir.config(
        "[program:e127]\ncommand = sh -c 'sleep 1.2; exit 127'\n\n\
         [program:e126]\ncommand = sh -c 'sleep 1.2; exit 126'\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log_count(secs(10), "Spawning e127:", 2);
    daemon.expect_log_count(secs(10), "Spawning e126:", 2);
    let log = daemon.log_text();
    assert!(log.contains("e127 exited with code 127"), "log:\n{log}");
    assert!(log.contains("e126 exited with code 126"), "log:\n{log}");
    assert!(!log.contains("FATAL"), "log:\n{log}");
    assert!(!log.contains("failed permanently"), "log:\n{log}");
    assert_eq!(
        daemon.transitions("e127")[..3],
        [
            "STOPPED -> STARTING",
            "STARTING -> RUNNING",
            "RUNNING -> EXITED"
        ]
    );
}

#[test]
fn command_not_found_is_retried_then_fatal() {
    let dir = TestDir::new("notfound");
    let config = dir.config("[program:x]\ncommand = nosuchcmd_xyz --flag\nstartretries = 1\n");
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(10), "x: EXITED -> FATAL");
    assert_eq!(
        daemon.count_log("Failed to spawn x (will retry): Command not found: nosuchcmd_xyz"),
        2,
        "log:\n{}",
        daemon.log_text()
    );
    assert_eq!(
        daemon.count_log("x: giving up after 2 failed start attempts"),
        1
    );
    assert_eq!(daemon.count_log("Backoff x: waiting 1s"), 1);
    assert!(children_of(daemon.pid).is_empty());
}

#[test]
fn non_executable_command_fails_permanently() {
    let dir = TestDir::new("noexec");
    dir.write("script.sh", "#!/bin/sh\nsleep 1000\n"); // mode 0644: not executable
    let config = dir.config("[program:x]\ncommand = {dir}/script.sh\n");
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(5), "x: STARTING -> FATAL");
    assert_eq!(daemon.count_log("x failed permanently: "), 1);
    let retried = wait_for(Duration::from_millis(1500), || {
        daemon.log_text().contains("Backoff x") || daemon.count_log("Spawning x:") > 1
    });
    assert!(
        !retried,
        "retried after a permanent error:\n{}",
        daemon.log_text()
    );
    assert!(children_of(daemon.pid).is_empty());
}

#[test]
fn startsecs_gates_running() {
    let dir = TestDir::new("startsecs");
    let config = dir.config("[program:x]\ncommand = sleep 1000\nstartsecs = 2\n");
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(5), "x: STOPPED -> STARTING");
    let spawned = Instant::now();
    daemon.expect_log(secs(5), "x: STARTING -> RUNNING");
    let took = spawned.elapsed();
    assert!(
        took >= Duration::from_millis(1800) && took < secs(4),
        "RUNNING {took:?} after STARTING, want startsecs (2 s)"
    );
    let pid = daemon.child_running("sleep 1000").expect("the child");
    assert_eq!(daemon.count_log(&format!("Started x (pid {pid})")), 1);
}

#[test]
fn startsecs_zero_is_running_at_once() {
    let dir = TestDir::new("startsecs0");
    let config =
        dir.config("[program:x]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n");
    let daemon = Daemon::start(&dir, &config);

    // Even a program that exits at once has started: its exit is not a failed attempt.
    daemon.expect_log(secs(5), "x: RUNNING -> EXITED");
    assert_eq!(
        daemon.transitions("x"),
        [
            "STOPPED -> STARTING",
            "STARTING -> RUNNING",
            "RUNNING -> EXITED"
        ]
    );
    assert_eq!(daemon.count_log("x exited with code 0"), 1);
    assert_eq!(daemon.count_log("start attempt failed"), 0);
}

#[test]
fn death_by_signal_is_a_negative_code_and_respawns() {
    let dir = TestDir::new("killed");
    let config = dir.config("[program:x]\ncommand = sleep 1000\nstartsecs = 0\n");
    let daemon = Daemon::start(&dir, &config);
    let mut first = None;
    expect_within(secs(5), "the child", || {
        first = daemon.child_running("sleep 1000");
        first.is_some()
    });
    let first = first.unwrap();

    kill(first, libc::SIGKILL);
    daemon.expect_log(secs(5), "x exited with code -9");
    daemon.expect_log_count(secs(5), "Spawning x:", 2);
    expect_within(secs(5), "a new child", || {
        daemon
            .child_running("sleep 1000")
            .is_some_and(|pid| pid != first)
    });
}

#[test]
fn simultaneous_exits_are_all_reaped() {
    let dir = TestDir::new("many-exits");
    let config = dir.config(
        "[program:t]\ncommand = sh -c 'sleep 0.5'\nnumprocs = 20\nstartsecs = 0\n\
         autorestart = false\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log_count(secs(10), "RUNNING -> EXITED", 20);
    assert_eq!(daemon.count_log("exited with code 0"), 20);
    expect_within(secs(2), "no zombie or leftover child", || {
        children_of(daemon.pid).is_empty()
    });
    let zombies = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&pid| ppid_of(pid) == Some(daemon.pid))
        .count();
    assert_eq!(zombies, 0, "unreaped children of the daemon");
}

#[test]
fn log_file_open_failure_is_retried_then_fatal() {
    let dir = TestDir::new("logopen");
    // A directory where the log file should be: the open fails at every spawn.
    std::fs::create_dir(dir.join("x.log")).unwrap();
    let config = dir.config(
        "[program:x]\ncommand = sleep 1000\nstartretries = 1\nstdout_logfile = {dir}/x.log\n",
    );
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log(secs(10), "x: EXITED -> FATAL");
    assert_eq!(
        daemon.count_log("Failed to spawn x (will retry): "),
        2,
        "log:\n{}",
        daemon.log_text()
    );
    assert_eq!(
        daemon.count_log("x: giving up after 2 failed start attempts"),
        1
    );
    assert!(children_of(daemon.pid).is_empty());
}
