//! `supervicectl` as users and scripts see it (SPEC 3.2-3.4): the status table to the
//! byte, every command's message and exit code, reload summaries, connection failures,
//! timeouts and usage errors.

mod common;
use common::*;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

fn daemon(dir: &TestDir, body: &str) -> Daemon {
    let config = dir.config(body);
    let daemon = Daemon::start(dir, &config);
    expect_answering(dir, secs(10));
    daemon
}

/// Runs a command and checks what it printed and its exit code; nothing on stderr.
fn expect_ctl(dir: &TestDir, args: &[&str], stdout: &str, code: i32) {
    let (got_code, got_out, got_err) = ctl(dir, args);
    assert_eq!(
        (got_out.as_str(), got_code),
        (stdout, code),
        "supervicectl {args:?}; stderr: {got_err}"
    );
    assert_eq!(got_err, "", "supervicectl {args:?} wrote to stderr");
}

fn status_json(dir: &TestDir) -> Value {
    let (code, out, _) = ctl(dir, &["status", "--json"]);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json {out:?}: {e}"))
}

fn state(dir: &TestDir, name: &str) -> String {
    let reply = status_json(dir);
    reply["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} not in {reply}"))
}

fn expect_state(dir: &TestDir, name: &str, want: &str) {
    expect_within(secs(8), &format!("{name} to be {want}"), || {
        state(dir, name) == want
    });
}

// ---------------------------------------------------------------- a scripted daemon

/// A listener on `path` that answers each connection with the next canned body and
/// returns the requests it received. Gives up after 10 s without a client.
fn scripted_daemon(path: &Path, replies: Vec<String>) -> std::thread::JoinHandle<Vec<String>> {
    let listener = UnixListener::bind(path).expect("bind scripted daemon");
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut requests = Vec::new();
        for reply in replies {
            let deadline = Instant::now() + secs(10);
            let mut stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("scripted daemon: no client: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(secs(10))).unwrap();
            let mut header = [0u8; 4];
            stream.read_exact(&mut header).unwrap();
            let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
            stream.read_exact(&mut body).unwrap();
            requests.push(String::from_utf8(body).unwrap());
            let mut out = (reply.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(reply.as_bytes());
            stream.write_all(&out).unwrap();
        }
        requests
    })
}

// ---------------------------------------------------------------- status

#[test]
fn status_table_without_uptime_is_exact() {
    let dir = TestDir::new("ctl-table");
    let _d = daemon(
        &dir,
        "[program:idle]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:a-very-long-program-name]\ncommand = sleep 1000\nautostart = false\n",
    );
    // Trailing blanks are part of the format; a long name pushes the row right.
    expect_ctl(
        &dir,
        &["status"],
        "NAME                 STATE      PID       \n\
         ----------------------------------------\n\
         idle                 STOPPED    -         \n\
         a-very-long-program-name STOPPED    -         \n",
        0,
    );
}

#[test]
fn status_table_with_no_programs_is_header_and_dashes() {
    let dir = TestDir::new("ctl-table-empty");
    let _d = daemon(&dir, "");
    expect_ctl(
        &dir,
        &["status"],
        "NAME                 STATE      PID       \n\
         ----------------------------------------\n",
        0,
    );
    let reply = status_json(&dir);
    assert_eq!(reply, serde_json::json!({"status": "ok", "processes": []}));
}

#[test]
fn status_table_with_uptime_column() {
    let dir = TestDir::new("ctl-table-uptime");
    let _d = daemon(
        &dir,
        "[program:web]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:idle]\ncommand = sleep 1000\nautostart = false\n",
    );
    expect_state(&dir, "web", "RUNNING");
    let pid = status_json(&dir)["processes"][0]["pid"].as_i64().unwrap();

    let (code, out, err) = ctl(&dir, &["status"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        "NAME                 STATE      PID        UPTIME      "
    );
    assert_eq!(lines[1], "-".repeat(52));
    // The web row: fixed columns, then an `M:SS` uptime padded to 12.
    let row = lines[2];
    assert_eq!(row.len(), 55, "{row:?}");
    assert_eq!(
        &row[..43],
        format!("web                  RUNNING    {pid:<10} ")
    );
    let uptime = row[43..].trim_end();
    assert_eq!(format!("{uptime:<12}"), &row[43..]);
    let (m, s) = uptime.split_once(':').expect("M:SS");
    assert!(
        m == "0" && s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()),
        "uptime cell {uptime:?}"
    );
    assert_eq!(
        lines[3],
        "idle                 STOPPED    -          -           "
    );
    assert!(out.ends_with('\n'));
}

#[test]
fn status_table_with_health_and_long_uptimes_as_supervice_prints_it() {
    let dir = TestDir::new("ctl-table-health");
    let reply = r#"{"status": "ok", "processes": [{"name": "web", "state": "RUNNING", "pid": 7811, "uptime": 2}, {"name": "hc", "state": "RUNNING", "pid": 7813, "uptime": 754, "healthy": true}, {"name": "sick", "state": "UNHEALTHY", "pid": 7815, "uptime": 3600, "healthy": false}, {"name": "old", "state": "RUNNING", "pid": 7817, "uptime": 360061}, {"name": "idle", "state": "STOPPED", "pid": null}]}"#;
    let server = scripted_daemon(&dir.socket(), vec![reply.to_string()]);
    expect_ctl(
        &dir,
        &["status"],
        "NAME                 STATE      PID        UPTIME       HEALTH    \n\
         --------------------------------------------------------------\n\
         web                  RUNNING    7811       0:02         -         \n\
         hc                   RUNNING    7813       12:34        OK        \n\
         sick                 UNHEALTHY  7815       1:00:00      FAIL      \n\
         old                  RUNNING    7817       100:01:01    -         \n\
         idle                 STOPPED    -          -            -         \n",
        0,
    );
    assert_eq!(server.join().unwrap(), vec![r#"{"command": "status"}"#]);

    // Health without uptime: 50 dashes.
    let dir = TestDir::new("ctl-table-health-only");
    let reply = r#"{"status": "ok", "processes": [{"name": "bad", "state": "FATAL", "pid": null, "healthy": false}]}"#;
    let server = scripted_daemon(&dir.socket(), vec![reply.to_string()]);
    expect_ctl(
        &dir,
        &["status"],
        "NAME                 STATE      PID        HEALTH    \n\
         --------------------------------------------------\n\
         bad                  FATAL      -          FAIL      \n",
        0,
    );
    server.join().unwrap();
}

#[test]
fn status_json_prints_the_reply() {
    let dir = TestDir::new("ctl-json");
    let _d = daemon(
        &dir,
        "[program:web]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:idle]\ncommand = sleep 1000\nautostart = false\n",
    );
    expect_state(&dir, "web", "RUNNING");
    let (code, out, _) = ctl(&dir, &["status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "one line of JSON: {out}");
    let reply: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reply["status"], "ok");
    let procs = reply["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2);
    assert_eq!(procs[0]["name"], "web");
    assert_eq!(procs[0]["state"], "RUNNING");
    assert!(procs[0]["pid"].as_i64().unwrap() > 1);
    assert!(procs[0]["uptime"].as_u64().is_some());
    assert_eq!(
        procs[1],
        serde_json::json!({"name": "idle", "state": "STOPPED", "pid": null})
    );
}

// ---------------------------------------------------------------- commands

#[test]
fn every_command_prints_the_message_and_exits_0_or_1() {
    let dir = TestDir::new("ctl-commands");
    let _d = daemon(
        &dir,
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:b]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [program:bad]\ncommand = /bin/false\nautostart = false\nstartretries = 0\n\n\
         [program:c]\ncommand = sleep 1000\nstartsecs = 0\nautostart = false\n\n\
         [group:g]\nprograms = a, b\n\n\
         [group:h]\nprograms = c, bad\n",
    );
    expect_state(&dir, "a", "RUNNING");
    let steps: &[(&[&str], &str, i32)] = &[
        (&["start", "b"], "Started b\n", 0),
        (&["start", "b"], "b is already running\n", 0),
        (&["start", "nope"], "Process not found\n", 1),
        (&["stop", "b"], "Stopped b\n", 0),
        (&["stop", "b"], "Stopped b\n", 0),
        (&["stop", "nope"], "Process not found\n", 1),
        (&["restart", "a"], "Restarted a\n", 0),
        (&["restart", "a", "--force"], "Restarted a\n", 0),
        (&["restart", "--force", "b"], "Restarted b\n", 0),
        (&["restart", "nope"], "Process not found\n", 1),
        (&["start", "bad"], "bad failed to start (state: FATAL)\n", 1),
        (&["stop", "bad"], "Stopped bad\n", 0),
        (&["stopgroup", "g"], "Stopped group g\n", 0),
        (&["startgroup", "g"], "Started group g\n", 0),
        (
            &["startgroup", "h"],
            "Started group h, but failed for: bad\n",
            1,
        ),
        (&["stopgroup", "h"], "Stopped group h\n", 0),
        (&["startgroup", "nope"], "Group not found\n", 1),
        (&["stopgroup", "nope"], "Group not found\n", 1),
        (&["reload"], "No changes detected\n", 0),
    ];
    for (args, stdout, code) in steps {
        expect_ctl(&dir, args, stdout, *code);
    }
    assert_eq!(state(&dir, "a"), "RUNNING");
    assert_eq!(state(&dir, "b"), "RUNNING");
    assert_eq!(state(&dir, "c"), "STOPPED");
    assert_eq!(state(&dir, "bad"), "FATAL");
}

#[test]
fn replies_are_printed_as_they_come_and_requests_are_what_supervice_sends() {
    let dir = TestDir::new("ctl-scripted");
    let server = scripted_daemon(
        &dir.socket(),
        vec![
            r#"{"status": "ok"}"#.to_string(),
            r#"{"status": "error", "message": "Supervice is shutting down"}"#.to_string(),
            r#"{"status": "error", "code": "INTERNAL_ERROR", "message": "boom"}"#.to_string(),
            r#"{"status": "ok", "added": ["a", "b"], "removed": [], "changed": ["c"]}"#.to_string(),
        ],
    );
    expect_ctl(&dir, &["restart", "x", "--force"], "None\n", 0);
    expect_ctl(&dir, &["stopgroup", "g"], "Supervice is shutting down\n", 1);
    expect_ctl(&dir, &["status"], "Error: boom\n", 1);
    expect_ctl(
        &dir,
        &["reload"],
        "Added: a, b\nChanged (restart to apply): c\n",
        0,
    );
    assert_eq!(
        server.join().unwrap(),
        vec![
            r#"{"command": "restart", "name": "x", "force": true}"#,
            r#"{"command": "stopgroup", "name": "g"}"#,
            r#"{"command": "status"}"#,
            r#"{"command": "reload"}"#,
        ]
    );
}

#[test]
fn reload_prints_what_changed() {
    let dir = TestDir::new("ctl-reload");
    let _d = daemon(
        &dir,
        "[program:keep]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:gone]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:edit]\ncommand = sleep 1000\nautostart = false\n",
    );
    expect_ctl(&dir, &["reload"], "No changes detected\n", 0);

    dir.config(
        "[program:keep]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:edit]\ncommand = sleep 2000\nautostart = false\n\n\
         [program:new2]\ncommand = sleep 1000\nautostart = false\n\n\
         [program:new1]\ncommand = sleep 1000\nautostart = false\n",
    );
    expect_ctl(
        &dir,
        &["reload"],
        "Added: new1, new2\nRemoved: gone\nChanged (restart to apply): edit\n",
        0,
    );
    let names: Vec<String> = status_json(&dir)["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["keep", "edit", "new2", "new1"]);
    expect_ctl(&dir, &["reload"], "No changes detected\n", 0);

    // A file that does not load changes nothing.
    dir.config("[program:keep]\ncommand = sleep 1000\n\n[program:broken]\nautostart = false\n");
    let (code, out, _) = ctl(&dir, &["reload"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("Error: Reload failed: Program 'broken': missing command"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    assert_eq!(status_json(&dir)["processes"].as_array().unwrap().len(), 4);
}

// ---------------------------------------------------------------- failures

#[test]
fn connection_failures() {
    let dir = TestDir::new("ctl-no-daemon");
    // No socket at all.
    for args in [&["status"][..], &["reload"]] {
        expect_ctl(
            &dir,
            args,
            "Supervice is not running (socket not found)\n",
            1,
        );
    }
    for args in [
        &["start", "a"][..],
        &["stop", "a"],
        &["restart", "a"],
        &["restart", "a", "--force"],
        &["startgroup", "g"],
        &["stopgroup", "g"],
    ] {
        expect_ctl(
            &dir,
            args,
            "Error: [Errno 2] No such file or directory\n",
            1,
        );
    }

    // A file nobody listens on.
    dir.write("supervice.sock", "");
    expect_ctl(
        &dir,
        &["status"],
        "Error connecting to supervice: [Errno 111] Connection refused\n",
        1,
    );
    for args in [&["reload"][..], &["start", "a"], &["stopgroup", "g"]] {
        expect_ctl(&dir, args, "Error: [Errno 111] Connection refused\n", 1);
    }

    // A socket nobody listens on any more.
    std::fs::remove_file(dir.socket()).unwrap();
    drop(UnixListener::bind(dir.socket()).unwrap());
    expect_ctl(
        &dir,
        &["status"],
        "Error connecting to supervice: [Errno 111] Connection refused\n",
        1,
    );
}

#[test]
fn a_daemon_that_never_answers_times_out() {
    let dir = TestDir::new("ctl-timeout");
    let listener = UnixListener::bind(dir.socket()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let done = AtomicBool::new(false);
    let sock = dir.socket().display().to_string();
    std::thread::scope(|s| {
        // Accepts and holds every connection, reading nothing.
        let holder = s.spawn(|| {
            let mut held: Vec<UnixStream> = Vec::new();
            while !done.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            held.len()
        });
        let timed = |args: &[&str], expected: String, low: f64, high: f64| {
            let started = Instant::now();
            expect_ctl(&dir, args, &expected, 1);
            let took = started.elapsed().as_secs_f64();
            assert!(
                took >= low && took <= high,
                "{args:?} gave up after {took:.2}s"
            );
        };
        timed(
            &["--timeout", "1", "status"],
            format!(
                "Error connecting to supervice: No response from supervice within 1s (socket: {sock})\n"
            ),
            0.9,
            2.5,
        );
        timed(
            &["--timeout", "1", "start", "a"],
            format!("Error: No response from supervice within 1s (socket: {sock})\n"),
            0.9,
            2.5,
        );
        timed(
            &["--timeout", "1.6", "reload"],
            format!("Error: No response from supervice within 2s (socket: {sock})\n"),
            1.5,
            3.0,
        );
        done.store(true, Ordering::SeqCst);
        assert_eq!(holder.join().unwrap(), 3, "one connection per command");
    });
}

/// A command that ignores SIGTERM until `{dir}/yield` exists, so that teardown is quick.
const STUBBORN: &str =
    "sh -c 'trap \"[ -e {dir}/yield ] && exit 0\" TERM; while :; do sleep 0.2; done'";

#[test]
fn a_slow_stop_is_waited_for_unless_a_timeout_is_given() {
    let dir = TestDir::new("ctl-slow-stop");
    let _d = daemon(
        &dir,
        &format!(
            "[program:stubborn]\ncommand = {STUBBORN}\nstartsecs = 0\nstopwaitsecs = 6\n\n\
             [program:stubborn2]\ncommand = {STUBBORN}\nstartsecs = 0\nstopwaitsecs = 2\n"
        ),
    );
    for name in ["stubborn", "stubborn2"] {
        expect_state(&dir, name, "RUNNING");
        let reply = status_json(&dir);
        let entry = reply["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone();
        let pid = entry["pid"].as_i64().unwrap() as i32;
        expect_within(secs(5), "the shell to set its trap", || {
            !children_of(pid).is_empty()
        });
    }

    // An explicit --timeout is a hard limit; the stop goes on in the daemon.
    let started = Instant::now();
    let (code, out, _) = ctl(&dir, &["--timeout", "1", "stop", "stubborn2"]);
    assert_eq!(
        (code, out),
        (
            1,
            format!(
                "Error: No response from supervice within 1s (socket: {})\n",
                dir.socket().display()
            )
        )
    );
    assert!(started.elapsed() < secs(3));
    expect_state(&dir, "stubborn2", "STOPPED");

    // Without one, the client waits out stopwaitsecs (longer than its 5 s probe slice)
    // and the SIGKILL.
    let started = Instant::now();
    expect_ctl(&dir, &["stop", "stubborn"], "Stopped stubborn\n", 0);
    let took = started.elapsed();
    assert!(took >= secs(6) && took < secs(12), "stop took {took:?}");
    assert_eq!(state(&dir, "stubborn"), "STOPPED");
}

// ---------------------------------------------------------------- usage

#[test]
fn usage_errors_exit_2_and_help_and_version() {
    let dir = TestDir::new("ctl-usage");
    for args in [
        &["bogus"][..],
        &["start"],
        &["stop"],
        &["restart"],
        &["startgroup"],
        &["stopgroup"],
        &["start", "a", "b"],
        &["status", "extra"],
        &["stop", "a", "--force"],
        &["--timeout", "abc", "status"],
        &["--bogus", "status"],
    ] {
        let (code, out, err) = ctl(&dir, args);
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.starts_with("usage: supervicectl"), "{args:?}: {err}");
        assert!(err.contains("supervicectl: error: "), "{args:?}: {err}");
    }
    let (_, _, err) = ctl(&dir, &["bogus"]);
    assert!(err.contains("invalid choice: 'bogus'"), "{err}");
    let (_, _, err) = ctl(&dir, &["start"]);
    assert!(
        err.contains("the following arguments are required: name"),
        "{err}"
    );

    // No sub-command: help on stdout, exit 1.
    let (code, out, err) = ctl(&dir, &[]);
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(out.contains("usage: supervicectl"), "{out}");

    let (code, out, _) = ctl(&dir, &["--version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("supervicectl ") && out.ends_with('\n'),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);

    for flag in ["-h", "--help"] {
        let (code, out, err) = ctl(&dir, &[flag]);
        assert_eq!((code, err.as_str()), (0, ""));
        for word in [
            "status",
            "start",
            "stop",
            "restart",
            "startgroup",
            "stopgroup",
            "reload",
            "--force",
            "--json",
            "--timeout",
            "--socket",
            "--version",
        ] {
            assert!(out.contains(word), "{flag} does not mention {word}:\n{out}");
        }
    }
}
