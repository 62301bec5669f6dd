//! Stopping children at daemon shutdown: the configured stopsignal in every spelling,
//! SIGKILL of the whole group after stopwaitsecs, and the shutdown_timeout backstop
//! (SPEC 4.5, 7, preface 3 and 4).

mod common;
use common::*;

use std::time::{Duration, Instant};

/// A shell that reports which of INT and USR1 it got, then exits 0.
const TRAPPER: &str = "sh -c 'trap \"echo got-int; exit 0\" INT; \
                       trap \"echo got-usr1; exit 0\" USR1; \
                       echo ready; while :; do sleep 0.1; done'";

/// A shell that ignores SIGTERM (and so do its `sleep` children).
const TERM_IGNORER: &str = "sh -c 'trap \"\" TERM; echo ready; while :; do sleep 1; done'";

#[test]
fn stopsignal_is_honoured_in_every_spelling() {
    let dir = TestDir::new("stopsignal");
    let spellings = [
        ("int", "INT", "got-int"),
        ("sigint", "SIGINT", "got-int"),
        ("lowint", "int", "got-int"),
        ("sigusr1", "sigusr1", "got-usr1"),
        ("usr1", "USR1", "got-usr1"),
    ];
    let mut body = String::new();
    for (name, signal, _) in spellings {
        body.push_str(&format!(
            "[program:{name}]\ncommand = {TRAPPER}\nstopsignal = {signal}\nstopwaitsecs = 5\n\
             stdout_logfile = {{dir}}/{name}.log\n\n"
        ));
    }
    let config = dir.config(&body);
    let mut daemon = Daemon::start(&dir, &config);
    for (name, _, _) in spellings {
        let file = format!("{name}.log");
        expect_within(secs(5), &format!("{name} to be ready"), || {
            dir.read(&file) == "ready\n"
        });
    }

    assert_eq!(daemon.stop(), Some(0));
    let mut wrong = Vec::new();
    for (name, signal, want) in spellings {
        let got = dir.read(&format!("{name}.log"));
        if got != format!("ready\n{want}\n") {
            wrong.push(format!(
                "stopsignal = {signal}: child output {got:?}, want {want}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\nlog:\n{}",
        wrong.join("\n"),
        daemon.log_text()
    );
    assert_eq!(daemon.count_log("did not stop"), 0);
}

#[test]
fn stopwaitsecs_expiry_kills_the_process_group() {
    let dir = TestDir::new("stopwait");
    let config = dir.config(&format!(
        "[program:stubborn]\ncommand = {TERM_IGNORER}\nstopwaitsecs = 1\n\
         stdout_logfile = {{dir}}/stubborn.log\n"
    ));
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the child to be ready", || {
        dir.read("stubborn.log") == "ready\n"
    });
    let child = daemon.child_running("trap").expect("the child");

    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let code = daemon.wait_exit(secs(10));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "log:\n{}", daemon.log_text());
    assert!(
        took >= Duration::from_millis(900) && took < secs(5),
        "shutdown took {took:?}, want stopwaitsecs (1 s) and a little"
    );
    let log = daemon.log_text();
    assert!(
        log.contains("stubborn did not stop, killing process group"),
        "log:\n{log}"
    );
    assert!(log.contains("stubborn: STOPPING -> STOPPED"), "log:\n{log}");
    assert!(log.contains("Shutdown complete"), "log:\n{log}");
    assert!(!alive(child));
    expect_within(secs(2), "every process of the group to be gone", || {
        daemon.descendants().is_empty()
    });
}

#[test]
fn shutdown_stops_grandchildren_too() {
    let dir = TestDir::new("grandchild");
    let config = dir.config("[program:g]\ncommand = sh -c 'sleep 1000 & exec sleep 1001'\n");
    let mut daemon = Daemon::start(&dir, &config);

    let mut pair = None;
    expect_within(secs(5), "the child and its grandchild", || {
        let child = children_of(daemon.pid)
            .into_iter()
            .find(|&pid| cmdline(pid) == "sleep 1001");
        let grandchild = child.and_then(|c| {
            children_of(c)
                .into_iter()
                .find(|&pid| cmdline(pid) == "sleep 1000")
        });
        pair = child.zip(grandchild);
        pair.is_some()
    });
    let (child, grandchild) = pair.unwrap();
    assert_eq!(stat_field(grandchild, 2), Some(child), "same process group");

    assert_eq!(daemon.stop(), Some(0));
    expect_within(secs(2), "both to be gone", || {
        !alive(child) && !alive(grandchild)
    });
}

#[test]
fn shutdown_timeout_kills_the_remaining_groups() {
    let dir = TestDir::new("shutdown-timeout");
    let config = dir.config(&format!(
        "[program:stubborn]\ncommand = {TERM_IGNORER}\nstopwaitsecs = 30\n\
         stdout_logfile = {{dir}}/stubborn.log\n"
    ));
    // shutdown_timeout lives in [supervice]; rewrite the header with it.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "loglevel = DEBUG\n",
        "loglevel = DEBUG\nshutdown_timeout = 2\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the child to be ready", || {
        dir.read("stubborn.log") == "ready\n"
    });
    let child = daemon.child_running("trap").expect("the child");

    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let code = daemon.wait_exit(secs(15));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "log:\n{}", daemon.log_text());
    assert!(
        took >= Duration::from_millis(1900) && took < secs(5),
        "shutdown took {took:?}, want shutdown_timeout (2 s) and a little"
    );
    let log = daemon.log_text();
    assert!(log.contains("Shutdown timed out after 2s"), "log:\n{log}");
    assert!(
        !log.contains("did not stop"),
        "stopwaitsecs=30 cannot have expired:\n{log}"
    );
    assert!(log.contains("Shutdown complete"), "log:\n{log}");
    assert!(!alive(child));
    expect_within(secs(2), "every process of the group to be gone", || {
        daemon.descendants().is_empty()
    });
}

#[test]
fn waiting_for_a_lingering_group_at_shutdown_is_idle() {
    // The main process dies at the shutdown SIGTERM; its worker ignores TERM and lingers
    // in the group until shutdown_timeout. The daemon once armed one more recheck timer
    // (with a /proc scan) per loop turn while it waited, climbing to a whole core.
    let dir = TestDir::new("linger-idle");
    let config = dir.config(
        "[program:l]\ncommand = sh -c '(trap \"\" TERM; while :; do sleep 0.2; done) & \
         echo ready; exec sleep 1000'\nstdout_logfile = {dir}/l.log\n",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "loglevel = DEBUG\n",
        "loglevel = DEBUG\nshutdown_timeout = 4\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the child to be ready", || {
        dir.read("l.log") == "ready\n"
    });
    daemon.signal(libc::SIGTERM);
    daemon.expect_log(secs(5), "outlived the main process");
    let share = cpu_share_during(daemon.pid, || std::thread::sleep(secs(2)));
    assert!(
        share < 0.2,
        "the daemon used {:.0}% of a core waiting for a lingering group",
        share * 100.0
    );
    assert_eq!(daemon.wait_exit(secs(15)), Some(0), "{}", daemon.log_text());
    assert!(daemon.log_text().contains("Shutdown timed out after 4s"));
    expect_within(secs(2), "the lingering group to be gone", || {
        daemon.descendants().is_empty()
    });
}

#[test]
fn sigint_shuts_down_like_sigterm() {
    let dir = TestDir::new("sigint");
    let config = dir.config("[program:s]\ncommand = sleep 1000\n");
    let mut daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(5), "s: STARTING -> RUNNING");
    let child = daemon.child_running("sleep 1000").expect("the child");

    daemon.signal(libc::SIGINT);
    assert_eq!(daemon.wait_exit(secs(10)), Some(0));
    let log = daemon.log_text();
    assert!(log.contains("Received signal 2"), "log:\n{log}");
    assert!(log.contains("Stopping s"), "log:\n{log}");
    assert!(log.contains("s: STOPPING -> STOPPED"), "log:\n{log}");
    assert!(log.contains("Shutdown complete"), "log:\n{log}");
    assert!(!alive(child));
}

#[test]
fn shutdown_during_backoff_is_prompt() {
    let dir = TestDir::new("backoff-stop");
    let config = dir.config("[program:f]\ncommand = /bin/false\nstartretries = 10\n");
    let mut daemon = Daemon::start(&dir, &config);
    // The third attempt is followed by a 3 s backoff.
    daemon.expect_log(secs(10), "Backoff f: waiting 3s");

    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(secs(10)), Some(0));
    let took = asked.elapsed();
    assert!(
        took < secs(2),
        "shutdown took {took:?} during a 3 s backoff"
    );
    assert_eq!(
        daemon.transitions("f").last().unwrap(),
        "BACKOFF -> STOPPED"
    );
    assert_eq!(daemon.count_log("Spawning f:"), 3);
}
