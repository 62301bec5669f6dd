//! The largest table the configuration allows, end to end: 100,000 instances load, and
//! `supervicectl status` prints every one of them (its reply is about 5.7 MB, far past
//! Supervice's 1 MiB frame, which cut the table at about 19,000 instances).

mod common;
use common::*;

use std::time::Instant;

/// Four programs of 25,000 instances, none started.
fn most_instances(dir: &TestDir) -> Daemon {
    let mut body = String::new();
    for name in ["alpha", "beta", "gamma", "delta"] {
        body.push_str(&format!(
            "[program:{name}]\ncommand = sleep 1000\nnumprocs = 25000\nautostart = false\n\
             startsecs = 0\n\n"
        ));
    }
    let config = dir.config(&body);
    Daemon::start(dir, &config)
}

#[test]
fn status_prints_all_100000_instances() {
    let dir = TestDir::new("scale-status");
    let _daemon = most_instances(&dir);
    let started = Instant::now();
    let (code, out, err) = ctl(&dir, &["status"]);
    let took = started.elapsed();
    assert_eq!(code, 0, "status failed: {out}{err}");
    assert_eq!(err, "");
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(rows.len(), 100_000, "rows in the status table");
    assert!(rows[0].starts_with("alpha:00 "), "{}", rows[0]);
    assert!(rows[99_999].starts_with("delta:24999 "), "{}", rows[99_999]);
    let stopped = rows.iter().filter(|r| r.contains(" STOPPED ")).count();
    assert_eq!(stopped, 100_000, "every instance is STOPPED");
    // Generous (a debug build, a shared machine): the point is that it answers at all.
    assert!(took < secs(20), "status took {took:?}");

    let (code, out, _) = ctl(&dir, &["status", "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json: {e}"));
    let processes = value["processes"].as_array().map_or(0, Vec::len);
    assert_eq!(processes, 100_000);
}

/// The daemon still serves other commands at that size: one instance among 100,000
/// starts and stops.
#[test]
fn start_and_stop_one_instance_among_100000() {
    let dir = TestDir::new("scale-one");
    let _daemon = most_instances(&dir);
    let (code, out, _) = ctl(&dir, &["start", "gamma:12345"]);
    assert_eq!((code, out.as_str()), (0, "Started gamma:12345\n"));
    let entry = entry_of(&dir.socket(), "gamma:12345");
    assert_eq!(entry.state, "RUNNING");
    assert!(entry.pid.is_some_and(alive), "{entry:?}");
    let (code, out, _) = ctl(&dir, &["stop", "gamma:12345"]);
    assert_eq!((code, out.as_str()), (0, "Stopped gamma:12345\n"));
    assert_eq!(entry_of(&dir.socket(), "delta:24999").state, "STOPPED");
}
