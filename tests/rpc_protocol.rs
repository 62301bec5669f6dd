//! The RPC wire protocol spoken by hand over the daemon's socket (SPEC 2, 4.4): framing,
//! every command's replies with their exact fields, every protocol error code, the
//! connection lifecycle and deadlines, and the socket's own safety (mode, stale file,
//! second instance, peer uid).

mod common;
use common::*;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

// ---------------------------------------------------------------- a raw client

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn connect(socket: &Path) -> UnixStream {
    let stream =
        UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    stream.set_read_timeout(Some(secs(30))).unwrap();
    stream
}

/// Reads one framed reply, checks the header matches the body, then expects the daemon
/// to close: one reply per connection.
fn read_reply(stream: &mut UnixStream) -> String {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).expect("reply header");
    let length = u32::from_be_bytes(header) as usize;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("reply body");
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        // Unread bytes of ours at close make Linux report a reset instead of EOF.
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("reading after the reply: {e}"),
    }
    assert!(
        rest.is_empty(),
        "bytes after the first reply frame: {:?}",
        String::from_utf8_lossy(&rest)
    );
    String::from_utf8(body).expect("reply is UTF-8")
}

/// Sends `bytes` as they are and returns the one reply body.
fn send_raw(socket: &Path, bytes: &[u8]) -> String {
    let mut stream = connect(socket);
    stream.write_all(bytes).expect("send request");
    read_reply(&mut stream)
}

/// Sends one framed request; returns the reply text.
fn request_text(socket: &Path, json: &str) -> String {
    send_raw(socket, &frame(json.as_bytes()))
}

fn request(socket: &Path, json: &str) -> Value {
    let text = request_text(socket, json);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply {text:?} is not JSON: {e}"))
}

fn ok(message: &str) -> Value {
    json!({"status": "ok", "message": message})
}

fn error(message: &str) -> Value {
    json!({"status": "error", "message": message})
}

fn protocol_error(code: &str, message: &str) -> Value {
    json!({"status": "error", "code": code, "message": message})
}

/// A status reply as Python's `json.dumps` writes it, in the documented key order, built
/// from the parsed reply: equal to the raw text only if order, presence and format match.
fn dumps_status(reply: &Value) -> String {
    let entries: Vec<String> = reply["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| {
            let mut entry = format!(
                "{{\"name\": {}, \"state\": {}, \"pid\": {}",
                p["name"], p["state"], p["pid"]
            );
            if let Some(uptime) = p.get("uptime") {
                entry.push_str(&format!(", \"uptime\": {uptime}"));
            }
            if let Some(healthy) = p.get("healthy") {
                entry.push_str(&format!(", \"healthy\": {healthy}"));
            }
            entry.push('}');
            entry
        })
        .collect();
    format!(
        "{{\"status\": \"ok\", \"processes\": [{}]}}",
        entries.join(", ")
    )
}

/// The status reply, checked for its exact layout.
fn status(socket: &Path) -> Value {
    let text = request_text(socket, r#"{"command": "status"}"#);
    let reply: Value = serde_json::from_str(&text).expect("status reply is JSON");
    assert_eq!(text, dumps_status(&reply), "status reply layout");
    reply
}

fn entry(socket: &Path, name: &str) -> Value {
    let reply = status(socket);
    reply["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in status: {reply}"))
        .clone()
}

fn state(socket: &Path, name: &str) -> String {
    entry(socket, name)["state"].as_str().unwrap().to_string()
}

fn pid(socket: &Path, name: &str) -> Option<i32> {
    entry(socket, name)["pid"].as_i64().map(|p| p as i32)
}

fn expect_state(socket: &Path, name: &str, want: &str, timeout: Duration) {
    let mut last = String::new();
    let reached = wait_for(timeout, || {
        last = state(socket, name);
        last == want
    });
    assert!(reached, "{name} stayed {last}, want {want}");
}

/// A daemon on `body`, answering on its socket.
fn daemon(dir: &TestDir, body: &str) -> Daemon {
    let config = dir.config(body);
    let daemon = Daemon::start(dir, &config);
    expect_within(secs(10), "the socket to answer", || {
        UnixStream::connect(dir.socket()).is_ok()
    });
    daemon
}

const SLEEPER: &str = "command = sleep 1000\n";

/// A command that ignores SIGTERM until `{dir}/yield` exists, so that teardown is quick.
const STUBBORN: &str =
    "sh -c 'trap \"[ -e {dir}/yield ] && exit 0\" TERM; while :; do sleep 0.2; done'";

/// Waits until the shell at `pid` runs its loop, so its trap is in place.
fn expect_trap_set(pid: i32) {
    expect_within(secs(5), "the shell to set its trap", || {
        !children_of(pid).is_empty()
    });
}

// ---------------------------------------------------------------- status

#[test]
fn status_entries_have_name_state_pid_and_uptime_from_running() {
    let dir = TestDir::new("rpc-status");
    let d = daemon(
        &dir,
        "[program:slow]\ncommand = sleep 1000\nstartsecs = 2\n\n\
         [program:idle]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:blink]\ncommand = sh -c 'sleep 1.4'\nstartsecs = 1\n",
    );
    let sock = dir.socket();

    // An instance that never ran: pid null, no uptime, no healthy.
    assert_eq!(
        entry(&sock, "idle"),
        json!({"name": "idle", "state": "STOPPED", "pid": null})
    );
    assert!(request_text(&sock, r#"{"command": "status"}"#)
        .contains(r#"{"name": "idle", "state": "STOPPED", "pid": null}"#));

    // Inside startsecs: STARTING with its pid, no uptime yet.
    let starting = entry(&sock, "slow");
    assert_eq!(starting["state"], "STARTING", "{starting}");
    let child = starting["pid"].as_i64().expect("pid while STARTING") as i32;
    assert!(alive(child) && ppid_of(child) == Some(d.pid));
    assert_eq!(starting.get("uptime"), None, "{starting}");

    // Uptime counts from RUNNING: 2 s after the spawn it starts near 0, not at 2.
    let mut first = Value::Null;
    expect_within(secs(5), "slow to be RUNNING", || {
        first = entry(&sock, "slow");
        first["state"] == "RUNNING"
    });
    assert_eq!(first["pid"], child);
    let uptime = first["uptime"].as_u64().expect("uptime while RUNNING");
    assert!(uptime <= 1, "uptime {uptime} right after RUNNING: {first}");
    assert_eq!(
        first.get("healthy"),
        None,
        "no health check, no healthy key"
    );
    expect_within(secs(3), "uptime to count", || {
        entry(&sock, "slow")["uptime"].as_u64() >= Some(1)
    });

    // A run that ended and was respawned: the new run has no uptime while STARTING.
    let mut seen_running = false;
    let mut seen_restart = false;
    expect_within(secs(6), "blink to run, exit and start again", || {
        let e = entry(&sock, "blink");
        match e["state"].as_str().unwrap() {
            "RUNNING" => {
                seen_running = true;
                assert!(e["uptime"].as_u64().unwrap() <= 1, "{e}");
            }
            "STARTING" => {
                assert_eq!(e.get("uptime"), None, "stale uptime while STARTING: {e}");
                seen_restart |= seen_running;
            }
            _ => assert_eq!(e.get("uptime"), None, "{e}"),
        }
        seen_restart
    });
}

// ---------------------------------------------------------------- start

#[test]
fn start_replies() {
    let dir = TestDir::new("rpc-start");
    let d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:bad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n",
    );
    let sock = dir.socket();

    let started = Instant::now();
    assert_eq!(
        request(&sock, r#"{"command": "start", "name": "a"}"#),
        ok("Started a")
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "start waits for startsecs"
    );
    assert_eq!(state(&sock, "a"), "RUNNING");
    let a = pid(&sock, "a").expect("pid");
    assert_eq!(d.child_running("sleep 1000"), Some(a));

    assert_eq!(
        request_text(&sock, r#"{"command": "start", "name": "a"}"#),
        r#"{"status": "ok", "message": "a is already running"}"#
    );
    assert_eq!(pid(&sock, "a"), Some(a));

    for req in [
        r#"{"command": "start"}"#,
        r#"{"command": "start", "name": ""}"#,
        r#"{"command": "start", "name": "nope"}"#,
        r#"{"command": "start", "name": null}"#,
        r#"{"command": "start", "name": 5}"#,
    ] {
        assert_eq!(
            request_text(&sock, req),
            r#"{"status": "error", "message": "Process not found"}"#,
            "{req}"
        );
    }

    assert_eq!(
        request(&sock, r#"{"command": "start", "name": "bad"}"#),
        error("bad failed to start (state: FATAL)")
    );
    assert_eq!(
        entry(&sock, "bad"),
        json!({"name": "bad", "state": "FATAL", "pid": null})
    );
}

#[test]
fn start_on_a_fatal_program_tries_again_and_reports_this_attempt() {
    let dir = TestDir::new("rpc-start-fatal");
    let _d = daemon(
        &dir,
        "[program:flaky]\ncommand = sh -c 'test -e {dir}/flag && exec sleep 1000'\n\
         startretries = 0\n",
    );
    let sock = dir.socket();
    expect_state(&sock, "flaky", "FATAL", secs(5));

    // Still failing: this attempt's FATAL is reported.
    assert_eq!(
        request(&sock, r#"{"command": "start", "name": "flaky"}"#),
        error("flaky failed to start (state: FATAL)")
    );

    // Fixed: the old FATAL is not mistaken for this attempt's outcome.
    dir.write("flag", "");
    assert_eq!(
        request(&sock, r#"{"command": "start", "name": "flaky"}"#),
        ok("Started flaky")
    );
    let e = entry(&sock, "flaky");
    assert_eq!(e["state"], "RUNNING");
    assert!(alive(e["pid"].as_i64().unwrap() as i32));
}

#[test]
fn start_that_never_reaches_running_reports_the_state_at_its_deadline() {
    let dir = TestDir::new("rpc-start-deadline");
    let _d = daemon(
        &dir,
        "[program:retry]\ncommand = /bin/false\nautostart = false\nstartretries = 50\n",
    );
    let started = Instant::now();
    // Attempts at 0, 1 and 3 s; at the 5 s deadline it waits out a 3 s backoff.
    assert_eq!(
        request(&dir.socket(), r#"{"command": "start", "name": "retry"}"#),
        error("retry did not reach RUNNING (state: BACKOFF)")
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(4800) && took <= Duration::from_millis(6500),
        "answered after {took:?}, want the max(5, startsecs+5) s deadline"
    );
}

#[test]
fn concurrent_starts_share_one_spawn_and_a_stop_ends_a_waiting_start() {
    let dir = TestDir::new("rpc-start-race");
    let d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:slow]\ncommand = sleep 1001\nautostart = false\nstartsecs = 3\n",
    );
    let sock = dir.socket();

    let replies: Vec<Value> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..2)
            .map(|_| s.spawn(|| request(&sock, r#"{"command": "start", "name": "a"}"#)))
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for reply in replies {
        assert_eq!(reply, ok("Started a"));
    }
    assert_eq!(d.count_log("Spawning a:"), 1, "{}", d.log_text());

    // A stop while a start waits for RUNNING: the start reports where it ended.
    let (start, stop) = std::thread::scope(|s| {
        let start = s.spawn(|| request(&sock, r#"{"command": "start", "name": "slow"}"#));
        expect_within(secs(3), "slow to be STARTING", || {
            state(&sock, "slow") == "STARTING"
        });
        let stop = request(&sock, r#"{"command": "stop", "name": "slow"}"#);
        (start.join().unwrap(), stop)
    });
    assert_eq!(stop, ok("Stopped slow"));
    assert_eq!(start, error("slow did not reach RUNNING (state: STOPPED)"));
    assert_eq!(
        entry(&sock, "slow"),
        json!({"name": "slow", "state": "STOPPED", "pid": null})
    );
}

/// A stop that arrives right after the spawn, before the child has called setsid:
/// killpg(pid) fails with ESRCH (logged at DEBUG only) and the stop signal is lost, so
/// the stop takes stopwaitsecs and a SIGKILL. Python's spawn returns only after exec,
/// so its stop is prompt. Seen 9 times in 10 here.
#[test]
fn a_stop_right_after_the_spawn_is_prompt() {
    let dir = TestDir::new("rpc-stop-at-spawn");
    let d = daemon(
        &dir,
        "[program:slow]\ncommand = sleep 1000\nstartsecs = 3\nautostart = false\n\
         stopwaitsecs = 3\n",
    );
    let sock = dir.socket();
    for attempt in 0..5 {
        let mut start = connect(&sock);
        let mut stop = connect(&sock);
        // Let both connections be accepted, so the two requests land in one wakeup.
        std::thread::sleep(Duration::from_millis(20));
        let sent = Instant::now();
        start
            .write_all(&frame(br#"{"command": "start", "name": "slow"}"#))
            .unwrap();
        stop.write_all(&frame(br#"{"command": "stop", "name": "slow"}"#))
            .unwrap();
        let stopped = read_reply(&mut stop);
        let took = sent.elapsed();
        assert_eq!(stopped, r#"{"status": "ok", "message": "Stopped slow"}"#);
        assert_eq!(
            read_reply(&mut start),
            r#"{"status": "error", "message": "slow did not reach RUNNING (state: STOPPED)"}"#
        );
        assert!(
            took < secs(1),
            "attempt {attempt}: the stop took {took:?}; log:\n{}",
            d.log_text()
                .lines()
                .filter(|l| l.contains("killpg") || l.contains("did not stop"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

// ---------------------------------------------------------------- stop

#[test]
fn stop_replies_and_is_idempotent() {
    let dir = TestDir::new("rpc-stop");
    let d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:once]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n\n\
         [program:bad]\ncommand = /bin/false\nstartretries = 0\n\n\
         [program:retry]\ncommand = /bin/false\nstartretries = 100\n",
    );
    let sock = dir.socket();
    // Waiting out a backoff: a stop cancels the retry at once. After the third failure
    // the backoff is 3 s, so an answer well inside that did not wait it out.
    d.expect_log_count(secs(10), "Spawning retry:", 3);
    expect_state(&sock, "retry", "BACKOFF", secs(5));
    let stopped = Instant::now();
    assert_eq!(
        request(&sock, r#"{"command": "stop", "name": "retry"}"#),
        ok("Stopped retry")
    );
    assert!(
        stopped.elapsed() < secs(2),
        "stop took {:?}",
        stopped.elapsed()
    );
    assert_eq!(
        entry(&sock, "retry"),
        json!({"name": "retry", "state": "STOPPED", "pid": null})
    );
    let spawns = d.count_log("Spawning retry:");
    expect_state(&sock, "a", "RUNNING", secs(5));
    expect_state(&sock, "once", "EXITED", secs(5));
    expect_state(&sock, "bad", "FATAL", secs(5));
    let a = pid(&sock, "a").unwrap();

    assert_eq!(
        request_text(&sock, r#"{"command": "stop", "name": "a"}"#),
        r#"{"status": "ok", "message": "Stopped a"}"#
    );
    assert!(!alive(a), "the child is gone when stop answers");
    assert_eq!(
        entry(&sock, "a"),
        json!({"name": "a", "state": "STOPPED", "pid": null})
    );

    // Already down: success, and EXITED/FATAL stay as they are.
    for (name, after) in [("a", "STOPPED"), ("once", "EXITED"), ("bad", "FATAL")] {
        assert_eq!(
            request(
                &sock,
                &format!(r#"{{"command": "stop", "name": "{name}"}}"#)
            ),
            ok(&format!("Stopped {name}")),
            "stop {name}"
        );
        assert_eq!(state(&sock, name), after, "stop {name}");
    }

    let respawned = wait_for(Duration::from_millis(1500), || {
        d.count_log("Spawning retry:") > spawns
    });
    assert!(!respawned, "retried after the stop:\n{}", d.log_text());
    assert_eq!(state(&sock, "retry"), "STOPPED");

    for req in [
        r#"{"command": "stop"}"#,
        r#"{"command": "stop", "name": 5}"#,
        r#"{"command": "stop", "name": ""}"#,
        r#"{"command": "stop", "name": "nope"}"#,
    ] {
        assert_eq!(request(&sock, req), error("Process not found"), "{req}");
    }
}

// ---------------------------------------------------------------- restart

#[test]
fn restart_replaces_the_child() {
    let dir = TestDir::new("rpc-restart");
    let _d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:idle]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [program:bad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n",
    );
    let sock = dir.socket();
    expect_state(&sock, "a", "RUNNING", secs(5));
    let old = pid(&sock, "a").unwrap();

    assert_eq!(
        request_text(
            &sock,
            r#"{"command": "restart", "name": "a", "force": false}"#
        ),
        r#"{"status": "ok", "message": "Restarted a"}"#
    );
    let new = pid(&sock, "a").expect("running again");
    assert_ne!(new, old);
    assert!(!alive(old) && alive(new));
    assert_eq!(state(&sock, "a"), "RUNNING");

    // Without "force" (a client may omit it), and on a stopped instance.
    assert_eq!(
        request(&sock, r#"{"command": "restart", "name": "idle"}"#),
        ok("Restarted idle")
    );
    assert_eq!(state(&sock, "idle"), "RUNNING");

    assert_eq!(
        request(&sock, r#"{"command": "restart", "name": "bad"}"#),
        error("bad failed to start (state: FATAL)")
    );
    for req in [
        r#"{"command": "restart", "name": "nope", "force": true}"#,
        r#"{"command": "restart", "force": false}"#,
    ] {
        assert_eq!(request(&sock, req), error("Process not found"), "{req}");
    }
}

#[test]
fn forced_restart_kills_a_child_that_ignores_the_stop_signal() {
    let dir = TestDir::new("rpc-restart-force");
    let _d = daemon(
        &dir,
        &format!("[program:stubborn]\ncommand = {STUBBORN}\nstartsecs = 0\nstopwaitsecs = 30\n"),
    );
    let sock = dir.socket();
    expect_state(&sock, "stubborn", "RUNNING", secs(5));
    let old = pid(&sock, "stubborn").unwrap();
    expect_trap_set(old);

    let started = Instant::now();
    assert_eq!(
        request(
            &sock,
            r#"{"command": "restart", "name": "stubborn", "force": true}"#
        ),
        ok("Restarted stubborn")
    );
    let took = started.elapsed();
    assert!(took < secs(4), "a forced restart took {took:?}");
    assert!(!alive(old), "the old child was SIGKILLed");
    let new = pid(&sock, "stubborn").expect("a new child");
    assert_ne!(new, old);
    assert_eq!(state(&sock, "stubborn"), "RUNNING");

    // Any truthy "force" forces, as in Python.
    expect_trap_set(new);
    let started = Instant::now();
    assert_eq!(
        request(
            &sock,
            r#"{"command": "restart", "name": "stubborn", "force": "yes"}"#
        ),
        ok("Restarted stubborn")
    );
    assert!(started.elapsed() < secs(4));
    assert!(!alive(new));
    dir.write("yield", "");
}

// ---------------------------------------------------------------- groups

#[test]
fn group_replies() {
    let dir = TestDir::new("rpc-groups");
    let _d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:b]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [program:zbad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n\n\
         [program:c]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [program:abad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n\n\
         [program:solo]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [group:g]\nprograms = a, b\n\n\
         [group:h]\nprograms = zbad, c, abad\n",
    );
    let sock = dir.socket();
    expect_state(&sock, "a", "RUNNING", secs(5));
    assert_eq!(state(&sock, "b"), "STOPPED");

    // autostart=false members are started too.
    assert_eq!(
        request_text(&sock, r#"{"command": "startgroup", "name": "g"}"#),
        r#"{"status": "ok", "message": "Started group g"}"#
    );
    assert_eq!(state(&sock, "a"), "RUNNING");
    assert_eq!(state(&sock, "b"), "RUNNING");

    assert_eq!(
        request_text(&sock, r#"{"command": "stopgroup", "name": "g"}"#),
        r#"{"status": "ok", "message": "Stopped group g"}"#
    );
    for name in ["a", "b"] {
        assert_eq!(
            entry(&sock, name),
            json!({"name": name, "state": "STOPPED", "pid": null})
        );
    }

    // Partial failure: the failed members, in group order; the others did start.
    assert_eq!(
        request(&sock, r#"{"command": "startgroup", "name": "h"}"#),
        error("Started group h, but failed for: zbad, abad")
    );
    assert_eq!(state(&sock, "c"), "RUNNING");
    assert_eq!(state(&sock, "zbad"), "FATAL");
    assert_eq!(state(&sock, "abad"), "FATAL");
    // FATAL members are down: stopping the group succeeds.
    assert_eq!(
        request(&sock, r#"{"command": "stopgroup", "name": "h"}"#),
        ok("Stopped group h")
    );
    assert_eq!(state(&sock, "c"), "STOPPED");

    // An ungrouped program is its own group; a grouped one is not.
    assert_eq!(
        request(&sock, r#"{"command": "startgroup", "name": "solo"}"#),
        ok("Started group solo")
    );
    assert_eq!(state(&sock, "solo"), "RUNNING");
    for req in [
        r#"{"command": "startgroup", "name": "a"}"#,
        r#"{"command": "startgroup", "name": "nope"}"#,
        r#"{"command": "startgroup", "name": ""}"#,
        r#"{"command": "startgroup"}"#,
        r#"{"command": "stopgroup", "name": "nope"}"#,
        r#"{"command": "stopgroup"}"#,
    ] {
        assert_eq!(
            request_text(&sock, req),
            r#"{"status": "error", "message": "Group not found"}"#,
            "{req}"
        );
    }
}

/// Python builds each group from the program sections in file order (core.py
/// `_rebuild_groups`), so "failed for:" lists members in config order, whatever the
/// order of `programs =`.
#[test]
fn group_members_are_in_program_section_order_like_supervice() {
    let dir = TestDir::new("rpc-group-order");
    let _d = daemon(
        &dir,
        "[program:abad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n\n\
         [program:zbad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n\n\
         [group:h]\nprograms = zbad, abad\n",
    );
    assert_eq!(
        request(&dir.socket(), r#"{"command": "startgroup", "name": "h"}"#),
        error("Started group h, but failed for: abad, zbad")
    );
}

// ---------------------------------------------------------------- reload

#[test]
fn reload_of_an_unchanged_file() {
    let dir = TestDir::new("rpc-reload");
    let _d = daemon(&dir, &format!("[program:a]\n{SLEEPER}"));
    assert_eq!(
        request_text(&dir.socket(), r#"{"command": "reload"}"#),
        r#"{"status": "ok", "added": [], "removed": [], "changed": []}"#
    );
}

// ---------------------------------------------------------------- protocol errors

#[test]
fn every_protocol_error_code() {
    let dir = TestDir::new("rpc-errors");
    let d = daemon(&dir, &format!("[program:a]\n{SLEEPER}autostart = false\n"));
    let sock = dir.socket();

    assert_eq!(
        send_raw(&sock, &frame(b"")),
        r#"{"status": "error", "code": "EMPTY_REQUEST", "message": "Empty request"}"#
    );

    for garbage in [
        &b"not json"[..],
        b"{\"command\": ",
        b"\xff\xfe{}",
        b"{\"command\": \"st\xc3",
    ] {
        let reply: Value = serde_json::from_str(&send_raw(&sock, &frame(garbage))).unwrap();
        assert_eq!(reply["status"], "error");
        assert_eq!(reply["code"], "INVALID_JSON", "{garbage:?}: {reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.starts_with("Invalid JSON: "), "{message}");
        assert_eq!(reply.as_object().unwrap().len(), 3);
    }

    for body in [r#"[1, 2]"#, r#""status""#, "5", "null"] {
        assert_eq!(
            request(&sock, body),
            protocol_error("INVALID_REQUEST", "Request must be a JSON object"),
            "{body}"
        );
    }

    for (body, shown) in [
        ("{}", "None"),
        (r#"{"name": "a"}"#, "None"),
        (r#"{"command": null}"#, "None"),
        (r#"{"command": 5}"#, "5"),
        (r#"{"command": true}"#, "True"),
        (r#"{"command": "bogus"}"#, "bogus"),
        (r#"{"command": "STATUS"}"#, "STATUS"),
        (r#"{"command": "shutdown"}"#, "shutdown"),
    ] {
        assert_eq!(
            request_text(&sock, body),
            format!(
                r#"{{"status": "error", "code": "UNKNOWN_COMMAND", "message": "Unknown command: {shown}"}}"#
            ),
            "{body}"
        );
    }

    for (body, kind) in [
        (r#"{"command": ["status"]}"#, "list"),
        (r#"{"command": "start", "name": ["a"]}"#, "list"),
        (r#"{"command": {"a": 1}}"#, "dict"),
        (r#"{"command": "stopgroup", "name": {}}"#, "dict"),
    ] {
        assert_eq!(
            request(&sock, body),
            protocol_error("INTERNAL_ERROR", &format!("unhashable type: '{kind}'")),
            "{body}"
        );
    }
    // status never looks at a name.
    assert_eq!(
        request(&sock, r#"{"command": "status", "name": ["x"]}"#)["status"],
        "ok"
    );
    // Replies escape non-ASCII as json.dumps does.
    assert_eq!(
        request_text(&sock, r#"{"command": "caf\u00e9\u007f"}"#),
        r#"{"status": "error", "code": "UNKNOWN_COMMAND", "message": "Unknown command: caf\u00e9\u007f"}"#
    );
    assert_eq!(state(&sock, "a"), "STOPPED");

    // A declared length above 1 MiB is refused from the header alone.
    let mut stream = connect(&sock);
    stream.write_all(&2_000_000u32.to_be_bytes()).unwrap();
    assert_eq!(
        read_reply(&mut stream),
        r#"{"status": "error", "code": "INTERNAL_ERROR", "message": "Message too large: 2000000 bytes (max 1048576)"}"#
    );
    assert_eq!(
        send_raw(&sock, &0xffff_ffffu32.to_be_bytes()),
        r#"{"status": "error", "code": "INTERNAL_ERROR", "message": "Message too large: 4294967295 bytes (max 1048576)"}"#
    );

    // Exactly 1 MiB is allowed; unknown keys are ignored.
    let head = r#"{"command": "status", "pad": ""#;
    let mut body = head.as_bytes().to_vec();
    body.resize(1_048_576 - 2, b'x');
    body.extend_from_slice(b"\"}");
    let reply: Value = serde_json::from_str(&send_raw(&sock, &frame(&body))).unwrap();
    assert_eq!(reply["status"], "ok", "{reply}");
    assert_eq!(reply["processes"][0]["name"], "a");

    assert_eq!(status(&sock)["status"], "ok", "still serving");
    assert!(alive(d.pid));
}

#[test]
fn pipelined_requests_get_one_reply() {
    let dir = TestDir::new("rpc-pipeline");
    let _d = daemon(&dir, &format!("[program:a]\n{SLEEPER}autostart = false\n"));
    let mut bytes = frame(br#"{"command": "status"}"#);
    bytes.extend(frame(br#"{"command": "start", "name": "a"}"#));
    // read_reply insists on EOF right after the first reply frame.
    let reply: Value = serde_json::from_str(&send_raw(&dir.socket(), &bytes)).unwrap();
    assert_eq!(reply["status"], "ok");
    assert!(reply.get("processes").is_some(), "{reply}");
    // The second request was ignored, not served.
    assert!(!wait_for(Duration::from_millis(500), || state(
        &dir.socket(),
        "a"
    ) != "STOPPED"));
}

#[test]
fn a_request_trickling_in_byte_by_byte_is_served() {
    let dir = TestDir::new("rpc-trickle");
    let _d = daemon(&dir, "");
    let mut stream = connect(&dir.socket());
    for byte in frame(br#"{"command": "reload"}"#) {
        stream.write_all(&[byte]).unwrap();
        std::thread::sleep(Duration::from_millis(3));
    }
    assert_eq!(
        read_reply(&mut stream),
        r#"{"status": "ok", "added": [], "removed": [], "changed": []}"#
    );
}

// ---------------------------------------------------------------- connection lifecycle

/// Reads until EOF or reset; returns when the daemon closed the connection.
fn closed_after(stream: &mut UnixStream, since: Instant) -> Duration {
    stream.set_read_timeout(Some(secs(15))).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return since.elapsed(),
            Ok(n) => panic!("unexpected reply bytes: {:?}", &buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return since.elapsed(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("connection not closed after {:?}: {e}", since.elapsed()),
        }
    }
}

#[test]
fn a_half_sent_request_is_dropped_after_five_seconds_while_others_are_served() {
    let dir = TestDir::new("rpc-half-frame");
    let _d = daemon(&dir, &format!("[program:a]\n{SLEEPER}"));
    let sock = dir.socket();

    let mut half = connect(&sock);
    let mut silent = connect(&sock);
    let sent = Instant::now();
    half.write_all(&100u32.to_be_bytes()).unwrap();
    half.write_all(b"{\"command\"").unwrap();

    // Meanwhile everyone else is answered at once.
    for _ in 0..10 {
        let asked = Instant::now();
        assert_eq!(status(&sock)["status"], "ok");
        assert!(asked.elapsed() < secs(1));
    }

    let waited = std::thread::scope(|s| {
        let silent_closed = s.spawn(|| closed_after(&mut silent, sent));
        let half_closed = closed_after(&mut half, sent);
        (half_closed, silent_closed.join().unwrap())
    });
    for took in [waited.0, waited.1] {
        assert!(
            took >= secs(4) && took <= secs(8),
            "dropped after {took:?}, want about 5 s"
        );
    }
    assert_eq!(status(&sock)["status"], "ok");
}

#[test]
fn fifty_concurrent_clients_all_get_their_status() {
    let dir = TestDir::new("rpc-concurrent");
    let _d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:b]\ncommand = sleep 1000\nautostart = false\n",
    );
    let sock = dir.socket();
    expect_state(&sock, "a", "RUNNING", secs(5));
    let replies: Vec<Value> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..50).map(|_| s.spawn(|| status(&sock))).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for reply in replies {
        let procs = reply["processes"].as_array().unwrap();
        assert_eq!(procs.len(), 2, "{reply}");
        assert_eq!(procs[0]["name"], "a");
        assert_eq!(procs[0]["state"], "RUNNING");
        assert_eq!(
            procs[1],
            json!({"name": "b", "state": "STOPPED", "pid": null})
        );
    }
}

#[test]
fn idle_broken_and_deaf_clients_disturb_no_one_and_leak_no_fd() {
    let dir = TestDir::new("rpc-abuse");
    let d = daemon(&dir, "[program:a]\ncommand = sleep 1000\n");
    let sock = dir.socket();
    expect_state(&sock, "a", "RUNNING", secs(5));
    let old = pid(&sock, "a").unwrap();
    // Settle, then count: listener, reactor, signals, log, the child's pipes...
    assert_eq!(status(&sock)["status"], "ok");
    let baseline = d.fd_count();
    assert!(baseline > 0);

    // 100 clients that connect and send nothing.
    let idle: Vec<UnixStream> = (0..100).map(|_| connect(&sock)).collect();
    // One that sends a request and never reads the reply.
    let mut deaf = connect(&sock);
    deaf.write_all(&frame(br#"{"command": "status"}"#)).unwrap();
    // One that goes away in the middle of its frame.
    {
        let mut gone = connect(&sock);
        gone.write_all(&50u32.to_be_bytes()).unwrap();
        gone.write_all(b"{\"comm").unwrap();
    }
    // One that goes away while its restart is being carried out.
    {
        let mut gone = connect(&sock);
        gone.write_all(&frame(
            br#"{"command": "restart", "name": "a", "force": false}"#,
        ))
        .unwrap();
    }

    for _ in 0..20 {
        let asked = Instant::now();
        let reply = status(&sock);
        let took = asked.elapsed();
        assert_eq!(reply["processes"][0]["name"], "a");
        assert!(took < secs(1), "a status took {took:?} among idle clients");
    }
    assert!(
        d.fd_count() > baseline + 50,
        "the idle clients are connected"
    );

    // The abandoned restart still happened.
    expect_within(secs(8), "a to be restarted", || {
        let e = entry(&sock, "a");
        e["state"] == "RUNNING" && e["pid"].as_i64() != Some(old as i64)
    });
    assert!(!alive(old));

    drop(idle);
    drop(deaf);
    let mut now = 0;
    let back = wait_for(secs(8), || {
        now = d.fd_count();
        now <= baseline
    });
    assert!(
        back,
        "daemon holds {now} fds, {baseline} before the clients"
    );
    assert_eq!(status(&sock)["status"], "ok");
    assert!(alive(d.pid));
}

#[test]
fn a_large_reply_reaches_a_slow_reader_and_a_deaf_client_is_dropped() {
    let dir = TestDir::new("rpc-large");
    let d = daemon(
        &dir,
        "[program:w]\ncommand = sleep 1000\nautostart = false\nnumprocs = 10000\n",
    );
    let sock = dir.socket();
    let baseline = d.fd_count();

    // A reply of about 500 kB cannot be written at once.
    let mut deaf = connect(&sock);
    deaf.write_all(&frame(br#"{"command": "status"}"#)).unwrap();
    let deaf_since = Instant::now();

    let mut slow = connect(&sock);
    slow.write_all(&frame(br#"{"command": "status"}"#)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let text = read_reply(&mut slow);
    assert!(text.len() > 400_000, "{} bytes", text.len());
    let reply: Value = serde_json::from_str(&text).unwrap();
    let procs = reply["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 10000);
    assert_eq!(
        procs[0],
        json!({"name": "w:00", "state": "STOPPED", "pid": null})
    );
    assert_eq!(
        procs[9999],
        json!({"name": "w:9999", "state": "STOPPED", "pid": null})
    );

    // Others are served while the deaf client sits on its reply...
    assert_eq!(status(&sock)["processes"].as_array().unwrap().len(), 10000);
    // ...which the daemon gives up on after its 5 s write deadline.
    let mut got = Vec::new();
    std::thread::sleep(Duration::from_millis(6500).saturating_sub(deaf_since.elapsed()));
    deaf.set_read_timeout(Some(secs(5))).unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        match deaf.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "deaf client not dropped after {:?}: {e}",
                deaf_since.elapsed()
            ),
        }
    }
    assert!(
        got.len() < 4 + text.len(),
        "the deaf client got the whole reply after all"
    );
    let waited = deaf_since.elapsed();
    assert!(waited < secs(10), "dropped after {waited:?}");

    let mut now = 0;
    assert!(
        wait_for(secs(5), || {
            now = d.fd_count();
            now <= baseline
        }),
        "daemon holds {now} fds, {baseline} before"
    );
}

// ---------------------------------------------------------------- the socket file

#[test]
fn socket_is_born_0600_and_removed_at_shutdown() {
    let dir = TestDir::new("rpc-socket-file");
    let mut d = daemon(&dir, "");
    let meta = std::fs::symlink_metadata(dir.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(status(&dir.socket())["processes"], json!([]));

    assert_eq!(d.stop(), Some(0));
    assert!(!dir.socket().exists(), "socket left behind after shutdown");
}

#[test]
fn a_second_daemon_on_a_live_socket_exits_1_and_leaves_it_alone() {
    let dir = TestDir::new("rpc-second");
    let first = daemon(&dir, &format!("[program:a]\n{SLEEPER}startsecs = 0\n"));
    expect_state(&dir.socket(), "a", "RUNNING", secs(5));
    let second_config = dir.write(
        "second.conf",
        "[supervice]\nlogfile = {dir}/second.log\npidfile = {dir}/second.pid\n\
         socket = {dir}/supervice.sock\n\n[program:b]\ncommand = sleep 1000\n",
    );
    let mut second = Daemon::spawn(&dir, &["-c", second_config.to_str().unwrap(), "-n"]);
    assert_eq!(second.wait_exit(secs(15)), Some(1));
    let said = format!("{}{}", second.stderr_text(), dir.read("second.log"));
    assert!(
        said.contains("already listening"),
        "second daemon said: {said}"
    );
    assert!(
        !said.contains("Spawning b"),
        "the second daemon spawned a child"
    );

    assert!(dir.socket().exists());
    let reply = status(&dir.socket());
    assert_eq!(reply["processes"][0]["name"], "a");
    assert_eq!(reply["processes"][0]["state"], "RUNNING");
    assert!(alive(first.pid));
}

/// Starts a daemon that must refuse to start because of what is at the socket path;
/// returns what it said (stderr and log).
fn refused_start(dir: &TestDir) -> String {
    let config = dir.config("[program:a]\ncommand = sleep 1000\n");
    let mut d = Daemon::spawn(dir, &["-c", config.to_str().unwrap(), "-n"]);
    assert_eq!(d.wait_exit(secs(15)), Some(1), "log:\n{}", d.log_text());
    let said = format!("{}{}", d.stderr_text(), d.log_text());
    assert!(!said.contains("Spawning a"), "{said}");
    said
}

#[test]
fn a_regular_file_at_the_socket_path_is_kept_and_startup_fails() {
    let dir = TestDir::new("rpc-regular");
    dir.write("supervice.sock", "precious data\n");
    let said = refused_start(&dir);
    assert!(
        said.contains(&format!(
            "Socket path {} exists and is a regular file, not a socket; refusing to replace it.",
            dir.socket().display()
        )),
        "{said}"
    );
    assert_eq!(dir.read("supervice.sock"), "precious data\n");
}

#[test]
fn a_directory_or_symlink_at_the_socket_path_is_kept_and_startup_fails() {
    let dir = TestDir::new("rpc-dir");
    std::fs::create_dir(dir.socket()).unwrap();
    let said = refused_start(&dir);
    assert!(
        said.contains("exists and is a directory, not a socket"),
        "{said}"
    );
    assert!(dir.socket().is_dir());

    // A symlink is refused even when it points to a stale socket.
    let dir = TestDir::new("rpc-symlink");
    let target = dir.join("elsewhere.sock");
    drop(std::os::unix::net::UnixListener::bind(&target).unwrap());
    std::os::unix::fs::symlink(&target, dir.socket()).unwrap();
    let said = refused_start(&dir);
    assert!(
        said.contains("exists and is a symbolic link, not a socket"),
        "{said}"
    );
    assert!(std::fs::symlink_metadata(dir.socket())
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(&target)
        .unwrap()
        .file_type()
        .is_socket());
}

#[test]
fn a_stale_socket_at_the_socket_path_is_replaced() {
    let dir = TestDir::new("rpc-stale");
    // Bound, then closed: nothing listens (connect gets ECONNREFUSED). Inode numbers are
    // reused at once here, so the log line, not the inode, says it was replaced.
    drop(std::os::unix::net::UnixListener::bind(dir.socket()).unwrap());
    let d = daemon(&dir, "");
    d.expect_log(
        secs(2),
        &format!("Removed stale socket {}", dir.socket().display()),
    );
    assert!(std::fs::symlink_metadata(dir.socket())
        .unwrap()
        .file_type()
        .is_socket());
    assert_eq!(status(&dir.socket())["status"], "ok");
}

#[test]
fn a_socket_that_accepts_but_never_answers_is_not_replaced() {
    use std::os::unix::fs::MetadataExt;
    let dir = TestDir::new("rpc-unknown");
    let listener = std::os::unix::net::UnixListener::bind(dir.socket()).unwrap();
    let inode = std::fs::metadata(dir.socket()).unwrap().ino();
    let config = dir.config("[program:a]\ncommand = sleep 1000\n");
    let mut d = Daemon::spawn(&dir, &["-c", config.to_str().unwrap(), "-n"]);
    // The probe connects (queued in the backlog), asks for status, gets nothing in 2 s.
    assert_eq!(d.wait_exit(secs(15)), Some(1));
    let said = format!("{}{}", d.stderr_text(), d.log_text());
    assert!(
        said.contains(&format!(
            "Socket {} exists but could not be verified as stale; refusing to replace it.",
            dir.socket().display()
        )),
        "{said}"
    );
    assert!(!said.contains("Spawning a"), "{said}");
    assert_eq!(std::fs::metadata(dir.socket()).unwrap().ino(), inode);
    drop(listener);
}

#[test]
fn a_world_writable_socket_directory_is_warned_about() {
    let dir = TestDir::new("rpc-world-writable");
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let d = daemon(&dir, "");
    d.expect_log(
        secs(2),
        &format!(
            "Socket directory {} is world-writable; another local user could pre-create {} \
             to block startup or impersonate the daemon. Configure 'socket' to a private directory.",
            dir.path.display(),
            dir.socket().display()
        ),
    );
    assert_eq!(status(&dir.socket())["status"], "ok");
}

/// Runs a copy of our supervicectl placed in `dir` (the build tree may be out of reach
/// of other users) as uid/gid 65534.
fn ctl_as_nobody(dir: &TestDir, args: &[&str]) -> (i32, String) {
    let copy = dir.join("supervicectl");
    if !copy.exists() {
        std::fs::copy(SUPERVICECTL, &copy).expect("copy supervicectl");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy)
        .arg("-s")
        .arg(dir.socket())
        .args(args)
        .output()
        .expect("run setpriv");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "setpriv supervicectl {args:?}: {out:?}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Root, with setpriv to become someone else; otherwise the test is skipped.
fn can_switch_uid(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        skip_or_fail(test, "needs setpriv (util-linux)");
        return false;
    }
    true
}

/// A daemon whose socket another uid could reach but for its peer check.
fn daemon_with_an_open_socket(dir: &TestDir) -> Daemon {
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = daemon(dir, &format!("[program:a]\n{SLEEPER}autostart = false\n"));
    std::fs::set_permissions(dir.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    d
}

#[test]
fn a_peer_with_another_uid_is_refused() {
    if !can_switch_uid("a_peer_with_another_uid_is_refused") {
        return;
    }
    let dir = TestDir::new("rpc-peer");
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = daemon(&dir, &format!("[program:a]\n{SLEEPER}autostart = false\n"));
    let sock = dir.socket();

    // The socket is 0600: another uid cannot even connect.
    let (code, out) = ctl_as_nobody(&dir, &["status"]);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "Error connecting to supervice: [Errno 13] Permission denied\n"
        )
    );

    // Even through a socket opened up by mistake, the peer's uid is checked: nothing
    // is served. (Whether the refusal's text arrives is racy; see the ignored test
    // below.)
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, out) = ctl_as_nobody(&dir, &["status", "--json"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("processes"), "{out}");
    if let Ok(reply) = serde_json::from_str::<Value>(&out) {
        assert_eq!(reply["status"], "error");
        let message = reply["message"].as_str().unwrap();
        assert!(
            message.starts_with("Permission denied: uid 65534"),
            "{message}"
        );
    }
    let (code, out) = ctl_as_nobody(&dir, &["start", "a"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("Started"), "{out}");
    d.expect_log(secs(2), "Permission denied: uid 65534");
    assert_eq!(
        state(&sock, "a"),
        "STOPPED",
        "the refused start did nothing"
    );
}

/// The refusal is written and the connection closed before the client's request is
/// read, so a client still sending gets EPIPE ("[Errno 32] Broken pipe", about 1 in 7
/// with our supervicectl) instead of the reply.
#[test]
fn a_refused_peer_always_gets_the_permission_denied_reply() {
    if !can_switch_uid("a_refused_peer_always_gets_the_permission_denied_reply") {
        return;
    }
    let dir = TestDir::new("rpc-peer-reply");
    let _d = daemon_with_an_open_socket(&dir);
    for _ in 0..20 {
        let (code, out) = ctl_as_nobody(&dir, &["status", "--json"]);
        assert_eq!(code, 1);
        let reply: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"));
        assert_eq!(reply["status"], "error");
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .starts_with("Permission denied: uid 65534"),
            "{reply}"
        );
    }
}
