//! Hot reload (SPEC 6, the reply of 2.6, the output of 3.3): added, removed and changed
//! instances, numprocs renames, groups rebuilt from the new file, a bad file that changes
//! nothing, a large removal that never blocks the daemon, and the same output as the
//! Python reference for the same edit.

mod common;
use common::*;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

// Helpers private to this file.

/// Starts the daemon and waits until its socket answers (it logs "Supervisor starting"
/// before it listens).
fn start(dir: &TestDir, config: &Path) -> Daemon {
    let daemon = Daemon::start(dir, config);
    expect_answering(dir, secs(10));
    daemon
}

/// One raw request on the socket: the reply body as text.
fn request(socket: &Path, body: &str) -> String {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon");
    stream.set_read_timeout(Some(secs(30))).unwrap();
    stream
        .write_all(&(body.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).expect("reply header");
    let mut reply = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut reply).expect("reply body");
    String::from_utf8(reply).expect("UTF-8 reply")
}

/// The parsed status reply, asked with a raw request (works for any daemon).
fn status_on(socket: &Path) -> Value {
    serde_json::from_str(&request(socket, r#"{"command": "status"}"#)).expect("status JSON")
}

fn processes(dir: &TestDir) -> Vec<Value> {
    status_on(&dir.socket())["processes"]
        .as_array()
        .expect("processes")
        .clone()
}

/// Instance names in status order.
fn names(dir: &TestDir) -> Vec<String> {
    processes(dir)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn entry(dir: &TestDir, name: &str) -> Option<Value> {
    processes(dir).into_iter().find(|p| p["name"] == name)
}

fn state(dir: &TestDir, name: &str) -> String {
    entry(dir, name).map_or(String::new(), |e| e["state"].as_str().unwrap().to_string())
}

fn pid(dir: &TestDir, name: &str) -> Option<i32> {
    entry(dir, name)?["pid"].as_i64().map(|p| p as i32)
}

fn expect_state(dir: &TestDir, daemon: &Daemon, name: &str, want: &str) {
    let mut last = String::new();
    let reached = wait_for(secs(10), || {
        last = state(dir, name);
        last == want
    });
    assert!(
        reached,
        "{name} never reached {want} (last {last:?}); log:\n{}",
        daemon.log_text()
    );
}

fn expect_gone(pid: i32, what: &str) {
    expect_within(secs(10), what, || !alive(pid));
}

/// `supervicectl reload`: (exit code, stdout).
fn reload(dir: &TestDir) -> (i32, String) {
    let (code, out, err) = ctl(dir, &["reload"]);
    assert!(err.is_empty(), "reload wrote to stderr: {err}");
    (code, out)
}

/// A program RUNNING at once whose argv (`sleep <tag>`) tells it apart.
fn program(name: &str, tag: u32, extra: &str) -> String {
    format!("[program:{name}]\ncommand = sleep {tag}\nstartsecs = 0\n{extra}\n")
}

#[test]
fn unchanged_file_reports_no_changes() {
    let dir = TestDir::new("reload-same");
    let config = dir.config(&format!(
        "{}{}[group:g]\nprograms = a\n",
        program("a", 1001, ""),
        program(
            "w",
            1002,
            "numprocs = 2\nstdout_logfile = {dir}/w-%(process_num)s.out\n\
             stderr_logfile = {dir}/w-%(process_num)s.err\nenvironment = N=%(process_num)s\n"
        ),
    ));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "w:01", "RUNNING");
    let before: Vec<Option<i32>> = ["a", "w:00", "w:01"].map(|n| pid(&dir, n)).to_vec();

    for _ in 0..2 {
        assert_eq!(reload(&dir), (0, "No changes detected\n".to_string()));
    }
    let after: Vec<Option<i32>> = ["a", "w:00", "w:01"].map(|n| pid(&dir, n)).to_vec();
    assert_eq!(before, after);
    assert_eq!(daemon.count_log("config updated"), 0);
}

#[test]
fn reload_adds_removes_and_changes_programs() {
    let dir = TestDir::new("reload-arc");
    let config = dir.config(&format!(
        "{}{}",
        program("a", 1001, ""),
        program("c", 1003, "")
    ));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "a", "RUNNING");
    expect_state(&dir, &daemon, "c", "RUNNING");
    let a_pid = pid(&dir, "a").unwrap();
    let c_pid = pid(&dir, "c").unwrap();

    dir.config(&format!(
        "{}{}{}",
        program("b", 1002, ""),
        program("c", 1004, ""),
        program("b2", 1005, "autostart = false"),
    ));
    assert_eq!(
        reload(&dir),
        (
            0,
            "Added: b, b2\nRemoved: a\nChanged (restart to apply): c\n".to_string()
        )
    );

    // Removed: its process ends and it leaves the table.
    expect_gone(a_pid, "the removed program's process to end");
    assert!(entry(&dir, "a").is_none());
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0);
    assert!(!out.lines().any(|l| l.starts_with("a ")), "{out}");
    let (code, out, _) = ctl(&dir, &["start", "a"]);
    assert_eq!((code, out.as_str()), (1, "Process not found\n"));

    // Added: appended in file order; autostart decides whether it runs.
    assert_eq!(names(&dir), ["c", "b", "b2"]);
    expect_state(&dir, &daemon, "b", "RUNNING");
    let b_pid = pid(&dir, "b").unwrap();
    assert!(wait_for(secs(2), || cmdline(b_pid).ends_with("sleep 1002")));
    assert_eq!(state(&dir, "b2"), "STOPPED");
    assert!(daemon.child_running("sleep 1005").is_none());

    // Changed: the running child is left alone until a restart.
    assert_eq!(pid(&dir, "c"), Some(c_pid));
    assert!(cmdline(c_pid).ends_with("sleep 1003"), "{}", cmdline(c_pid));
    daemon.expect_log(
        secs(1),
        "Program 'c': config updated; takes effect on next restart",
    );
    let (code, out, _) = ctl(&dir, &["restart", "c"]);
    assert_eq!((code, out.as_str()), (0, "Restarted c\n"));
    let new_pid = pid(&dir, "c").expect("c runs again");
    assert_ne!(new_pid, c_pid);
    // With startsecs=0 the pid is RUNNING as soon as it is forked; exec follows.
    let execed = wait_for(secs(2), || cmdline(new_pid).ends_with("sleep 1004"));
    assert!(execed, "{}", cmdline(new_pid));
    assert!(!alive(c_pid));
}

#[test]
fn numprocs_changes_rename_and_add_instances() {
    let dir = TestDir::new("reload-numprocs");
    let config = dir.config(&program("w", 1001, ""));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "w", "RUNNING");
    let w_pid = pid(&dir, "w").unwrap();

    dir.config(&program("w", 1001, "numprocs = 2"));
    assert_eq!(
        reload(&dir),
        (0, "Added: w:00, w:01\nRemoved: w\n".to_string())
    );
    expect_gone(w_pid, "the old w to end");
    assert_eq!(names(&dir), ["w:00", "w:01"]);
    expect_state(&dir, &daemon, "w:00", "RUNNING");
    expect_state(&dir, &daemon, "w:01", "RUNNING");
    let kept = [pid(&dir, "w:00"), pid(&dir, "w:01")];

    dir.config(&program("w", 1001, "numprocs = 3"));
    assert_eq!(
        reload(&dir),
        (
            0,
            "Added: w:02\nChanged (restart to apply): w:00, w:01\n".to_string()
        )
    );
    expect_state(&dir, &daemon, "w:02", "RUNNING");
    assert_eq!(names(&dir), ["w:00", "w:01", "w:02"]);
    assert_eq!([pid(&dir, "w:00"), pid(&dir, "w:01")], kept);
}

#[test]
fn groups_follow_the_new_config() {
    let dir = TestDir::new("reload-groups");
    let programs = format!(
        "{}{}{}",
        program("p", 1001, ""),
        program("r", 1002, ""),
        program("t", 1003, "")
    );
    let config = dir.config(&format!(
        "[group:g1]\nprograms = p\n\n[group:g3]\nprograms = r\n\n{programs}"
    ));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "t", "RUNNING");
    let group = |verb: &str, name: &str| {
        let (code, out, _) = ctl(&dir, &[verb, name]);
        (code, out.trim_end().to_string())
    };
    let not_found = (1, "Group not found".to_string());
    assert_eq!(group("stopgroup", "g2"), not_found);

    // p moves g1 -> g2; g1 and g3 go; g4 (holding t) is new; r is ungrouped now.
    dir.config(&format!(
        "[group:g2]\nprograms = p\n\n[group:g4]\nprograms = t\n\n{programs}"
    ));
    assert_eq!(
        reload(&dir),
        (0, "Changed (restart to apply): p, r, t\n".to_string())
    );

    assert_eq!(group("stopgroup", "g1"), not_found);
    assert_eq!(group("stopgroup", "g3"), not_found);
    assert_eq!(group("startgroup", "g3"), not_found);
    assert_eq!(group("stopgroup", "t"), not_found);

    let p_pid = pid(&dir, "p").unwrap();
    assert_eq!(group("stopgroup", "g2"), (0, "Stopped group g2".into()));
    assert_eq!(state(&dir, "p"), "STOPPED");
    assert!(!alive(p_pid));
    assert_eq!(group("startgroup", "g2"), (0, "Started group g2".into()));
    assert_eq!(state(&dir, "p"), "RUNNING");

    assert_eq!(group("stopgroup", "g4"), (0, "Stopped group g4".into()));
    assert_eq!(state(&dir, "t"), "STOPPED");
    assert_eq!(state(&dir, "p"), "RUNNING");
    assert_eq!(group("startgroup", "g4"), (0, "Started group g4".into()));
    assert_eq!(state(&dir, "t"), "RUNNING");

    // r, no longer in an explicit group, has its implicit group back.
    assert_eq!(group("stopgroup", "r"), (0, "Stopped group r".into()));
    assert_eq!(state(&dir, "r"), "STOPPED");
}

#[test]
fn invalid_file_changes_nothing() {
    let dir = TestDir::new("reload-invalid");
    let good = format!("{}{}", program("a", 1001, ""), program("b", 1002, ""));
    let config = dir.config(&good);
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "a", "RUNNING");
    expect_state(&dir, &daemon, "b", "RUNNING");
    let before = processes(&dir);

    let broken = [
        (
            // b removed, x added, but x is invalid.
            format!(
                "{}{}",
                program("a", 1001, ""),
                program("x", 1003, "startsecs = -1").replace("startsecs = 0\n", "")
            ),
            "Program 'x': startsecs must be non-negative, got -1",
        ),
        (
            format!(
                "{}[program:x]\ncommand sleep 1003\n",
                program("a", 1001, "")
            ),
            "'command sleep 1003",
        ),
    ];
    for (text, error) in broken {
        dir.config(&text);
        let (code, out) = reload(&dir);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.starts_with("Error: Reload failed: ") && out.contains(error),
            "{out:?} does not report {error:?}"
        );
        assert_eq!(out.lines().count(), 1, "{out:?}");
        let now = processes(&dir);
        assert_eq!(
            now.iter().map(without_uptime).collect::<Vec<_>>(),
            before.iter().map(without_uptime).collect::<Vec<_>>()
        );
    }

    // Fixed, the same edit goes through.
    dir.config(&format!(
        "{}{}",
        program("a", 1001, ""),
        program("x", 1003, "")
    ));
    assert_eq!(reload(&dir), (0, "Added: x\nRemoved: b\n".to_string()));
    expect_state(&dir, &daemon, "x", "RUNNING");
    assert_eq!(pid(&dir, "a"), before[0]["pid"].as_i64().map(|p| p as i32));
}

/// A status entry without its `uptime`, which moves on by itself.
fn without_uptime(entry: &Value) -> Value {
    let mut entry = entry.clone();
    if let Some(map) = entry.as_object_mut() {
        map.remove("uptime");
    }
    entry
}

#[test]
fn removing_many_programs_does_not_block_the_daemon() {
    let dir = TestDir::new("reload-mass");
    let mut body = program("keep", 1000, "");
    for i in 0..200 {
        if i % 10 == 0 {
            // Ignores TERM: its stop waits out stopwaitsecs, then SIGKILL.
            body.push_str(&format!(
                "[program:p{i:03}]\ncommand = sh -c 'trap \"\" TERM; sleep 2001'\n\
                 startsecs = 0\nstopwaitsecs = 3\n\n"
            ));
        } else {
            body.push_str(&program(&format!("p{i:03}"), 2000, "stopwaitsecs = 1"));
        }
    }
    let config = dir.config(&body);
    let daemon = start(&dir, &config);
    expect_within(secs(30), "201 instances RUNNING", || {
        processes(&dir)
            .iter()
            .filter(|p| p["state"] == "RUNNING")
            .count()
            == 201
    });
    let keep = pid(&dir, "keep").unwrap();
    let ignorers: Vec<i32> = (0..200)
        .step_by(10)
        .map(|i| pid(&dir, &format!("p{i:03}")).unwrap())
        .collect();

    dir.config(&program("keep", 1000, ""));
    let asked = Instant::now();
    let (code, out) = reload(&dir);
    let took = asked.elapsed();
    let removed: Vec<String> = (0..200).map(|i| format!("p{i:03}")).collect();
    assert_eq!(
        (code, out),
        (0, format!("Removed: {}\n", removed.join(", ")))
    );
    assert!(took < secs(1), "reload removing 200 programs took {took:?}");

    // Others are served while the removed programs stop.
    for _ in 0..5 {
        let asked = Instant::now();
        let (code, out, _) = ctl(&dir, &["status"]);
        let took = asked.elapsed();
        assert_eq!(code, 0);
        assert!(took < secs(1), "status took {took:?} during the removal");
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(out.lines().nth(2).unwrap().starts_with("keep "), "{out}");
    }
    assert!(
        ignorers.iter().any(|&p| alive(p)),
        "the TERM-ignoring programs were gone before status was asked"
    );

    expect_within(secs(15), "every removed child to end", || {
        let mut left = daemon.descendants();
        left.retain(|&p| p != daemon.pid && p != keep);
        left.is_empty()
    });
    assert_eq!(daemon.count_log("did not stop, killing process group"), 20);
    assert_eq!(pid(&dir, "keep"), Some(keep));
    assert_eq!(names(&dir), ["keep"]);
}

#[test]
fn raw_reload_reply_has_sorted_lists_and_no_message() {
    let dir = TestDir::new("reload-raw");
    let config = dir.config(&format!(
        "{}{}{}{}{}",
        program("old2", 1001, "autostart = false"),
        program("keep", 1002, ""),
        program("old1", 1003, ""),
        program("chg2", 1004, ""),
        program("chg1", 1005, ""),
    ));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "chg1", "RUNNING");

    dir.config(&format!(
        "{}{}{}{}{}",
        program("zeta", 1006, "autostart = false"),
        program("keep", 1002, ""),
        program("alpha", 1007, "autostart = false"),
        program("chg2", 1008, ""),
        program("chg1", 1009, ""),
    ));
    let raw = request(&dir.socket(), r#"{"command": "reload"}"#);
    let reply: Value = serde_json::from_str(&raw).expect("JSON reply");
    assert_eq!(
        reply,
        serde_json::json!({
            "status": "ok",
            "added": ["alpha", "zeta"],
            "removed": ["old1", "old2"],
            "changed": ["chg1", "chg2"],
        }),
        "{raw}"
    );
    assert_keys_in_order(&raw);

    let raw = request(&dir.socket(), r#"{"command": "reload"}"#);
    let reply: Value = serde_json::from_str(&raw).expect("JSON reply");
    assert_eq!(
        reply,
        serde_json::json!({"status": "ok", "added": [], "removed": [], "changed": []}),
        "{raw}"
    );
    assert_keys_in_order(&raw);
}

/// Exactly the keys status, added, removed, changed, in that order.
fn assert_keys_in_order(raw: &str) {
    let reply: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(reply.as_object().unwrap().len(), 4, "{raw}");
    let at: Vec<usize> = ["\"status\"", "\"added\"", "\"removed\"", "\"changed\""]
        .iter()
        .map(|k| raw.find(k).unwrap_or_else(|| panic!("no {k} in {raw}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "key order in {raw}");
}

#[test]
fn reload_output_matches_the_python_reference() {
    let Some(py) = python_supervice("reload_output_matches_the_python_reference") else {
        return;
    };
    let before = format!(
        "{}{}{}",
        program("a", 1001, ""),
        program("c", 1003, ""),
        program("w", 1004, "numprocs = 2")
    );
    let after = format!(
        "{}{}{}{}",
        program("b", 1002, ""),
        program("c", 1005, ""),
        program("w", 1004, "numprocs = 3"),
        program("b2", 1006, "autostart = false"),
    );
    // (daemon, client): Python with Python, ours with ours, ours with Python's client.
    let py_ctl = py.join("supervicectl");
    let our_ctl = PathBuf::from(SUPERVICECTL);
    let setups = [
        ("python", Some(py.join("supervice")), py_ctl.clone()),
        ("ours", None, our_ctl),
        ("ours, python client", None, py_ctl),
    ];
    let mut results = Vec::new();
    for (label, daemon_bin, client) in setups {
        let dir = TestDir::new("reload-pyref");
        let config = dir.config(&before);
        let args = ["-c", config.to_str().unwrap(), "-n"];
        let daemon = match &daemon_bin {
            Some(bin) => Daemon::spawn_program(&dir, bin, &args),
            None => Daemon::spawn(&dir, &args),
        };
        expect_answering(&dir, secs(15));
        expect_state(&dir, &daemon, "w:01", "RUNNING");
        expect_state(&dir, &daemon, "a", "RUNNING");

        dir.config(&after);
        let (code, out, err) = ctl_with(&client, &dir.socket(), &["reload"]);
        expect_state(&dir, &daemon, "b", "RUNNING");
        let table: Vec<(String, String)> = processes(&dir)
            .iter()
            .map(|p| {
                let field = |k: &str| p[k].as_str().unwrap().to_string();
                (field("name"), field("state"))
            })
            .collect();
        results.push((label, code, out, err, table));
    }
    let expected = "Added: b, b2, w:02\nRemoved: a\n\
                    Changed (restart to apply): c, w:00, w:01\n";
    let (_, py_code, py_out, _, py_table) = &results[0];
    assert_eq!((*py_code, py_out.as_str()), (0, expected), "{results:?}");
    for (label, code, out, err, table) in &results[1..] {
        assert_eq!(
            (code, out, err.as_str()),
            (py_code, py_out, ""),
            "{label} differs from the Python reference"
        );
        assert_eq!(
            table, py_table,
            "{label}: status after the reload differs from the Python reference"
        );
    }
}

/// A program whose whole process group ignores SIGTERM.
fn stubborn(name: &str, tag: u32, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand = sh -c 'trap \"\" TERM; sleep {tag}'\nstartsecs = 0\n{extra}\n"
    )
}

#[test]
fn changed_stopsignal_applies_to_the_next_stop() {
    let dir = TestDir::new("reload-stopsignal");
    let config = dir.config(&stubborn("s", 1001, "stopwaitsecs = 5"));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "s", "RUNNING");

    dir.config(&stubborn("s", 1001, "stopwaitsecs = 5\nstopsignal = INT"));
    assert_eq!(
        reload(&dir),
        (0, "Changed (restart to apply): s\n".to_string())
    );
    let asked = Instant::now();
    let (code, out, _) = ctl(&dir, &["stop", "s"]);
    let took = asked.elapsed();
    assert_eq!((code, out.as_str()), (0, "Stopped s\n"));
    assert!(
        took < secs(2),
        "stop took {took:?}: the new stopsignal was not used"
    );
    assert_eq!(daemon.count_log("did not stop"), 0, "{}", daemon.log_text());
}

#[test]
fn edited_env_file_marks_its_program_changed() {
    let dir = TestDir::new("reload-envfile");
    dir.write("env", "A=1\n");
    let config = dir.config(&program("e", 1001, "env_file = {dir}/env"));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "e", "RUNNING");

    assert_eq!(reload(&dir), (0, "No changes detected\n".to_string()));
    dir.write("env", "A=2\n");
    assert_eq!(
        reload(&dir),
        (0, "Changed (restart to apply): e\n".to_string())
    );
}

/// The config file with a `[supervice]` section of our own.
fn write_config(dir: &TestDir, global: &str, programs: &str) {
    dir.write(
        "supervice.conf",
        &format!(
            "[supervice]\nlogfile = {{dir}}/supervice.log\npidfile = {{dir}}/supervice.pid\n\
             loglevel = DEBUG\n{global}\n{programs}"
        ),
    );
}

#[test]
fn supervice_section_changes_apply_only_to_shutdown_timeout() {
    let dir = TestDir::new("reload-global");
    let programs = stubborn("s", 1001, "stopwaitsecs = 30");
    write_config(
        &dir,
        "socket = {dir}/supervice.sock\nshutdown_timeout = 30\n",
        &programs,
    );
    let mut daemon = start(&dir, &dir.join("supervice.conf"));
    expect_state(&dir, &daemon, "s", "RUNNING");

    write_config(
        &dir,
        "socket = {dir}/other.sock\nshutdown_timeout = 1\n",
        &programs,
    );
    assert_eq!(reload(&dir), (0, "No changes detected\n".to_string()));
    assert!(!dir.join("other.sock").exists());
    assert_eq!(
        ctl(&dir, &["status"]).0,
        0,
        "the old socket stopped serving"
    );

    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let code = daemon.wait_exit(secs(15));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{}", daemon.log_text());
    assert!(
        took < secs(5),
        "shutdown took {took:?}: the reloaded shutdown_timeout (1 s) was not used"
    );
    expect_within(secs(3), "no child left after shutdown", || {
        daemon.descendants().is_empty()
    });
}

#[test]
fn shutdown_during_a_removal_ends_the_removed_programs() {
    let dir = TestDir::new("reload-remove-shutdown");
    write_config(
        &dir,
        "socket = {dir}/supervice.sock\nshutdown_timeout = 2\n",
        &format!(
            "{}{}",
            stubborn("s", 1001, "stopwaitsecs = 30"),
            program("k", 1002, "")
        ),
    );
    let mut daemon = start(&dir, &dir.join("supervice.conf"));
    expect_state(&dir, &daemon, "s", "RUNNING");
    let s_pid = pid(&dir, "s").unwrap();

    write_config(
        &dir,
        "socket = {dir}/supervice.sock\nshutdown_timeout = 2\n",
        &program("k", 1002, ""),
    );
    assert_eq!(reload(&dir), (0, "Removed: s\n".to_string()));
    assert!(alive(s_pid), "the stubborn program died at once");

    daemon.signal(libc::SIGTERM);
    let code = daemon.wait_exit(secs(15));
    assert_eq!(code, Some(0), "{}", daemon.log_text());
    expect_within(secs(3), "no child left after shutdown", || {
        daemon.descendants().is_empty()
    });
}

#[test]
fn restart_into_a_command_that_cannot_exec_fails() {
    let dir = TestDir::new("reload-noexec");
    dir.write("script.sh", "#!/bin/sh\nsleep 1000\n"); // mode 0644: exec fails (EACCES)
                                                       // A short shutdown_timeout: the stuck instance holds up the shutdown that long.
    let global = "socket = {dir}/supervice.sock\nshutdown_timeout = 2\n";
    write_config(&dir, global, &program("c", 1001, "stopwaitsecs = 1"));
    let daemon = start(&dir, &dir.join("supervice.conf"));
    expect_state(&dir, &daemon, "c", "RUNNING");

    write_config(
        &dir,
        global,
        "[program:c]\ncommand = {dir}/script.sh\nstartsecs = 0\nstopwaitsecs = 1\n",
    );
    assert_eq!(
        reload(&dir),
        (0, "Changed (restart to apply): c\n".to_string())
    );
    let (code, out, _) = ctl(&dir, &["restart", "c"]);
    // Python: the spawn raises PermissionError, the instance goes FATAL, and the start
    // part of the restart answers so.
    assert_eq!(
        (code, out.as_str()),
        (1, "c failed to start (state: FATAL)\n"),
        "log:\n{}",
        daemon.log_text()
    );
    let down = wait_for(secs(3), || {
        let e = entry(&dir, "c").unwrap();
        e["state"] == "FATAL" && e["pid"].is_null()
    });
    assert!(
        down,
        "c is {} after its exec failed; log:\n{}",
        entry(&dir, "c").unwrap(),
        daemon.log_text()
    );
    let asked = Instant::now();
    let (code, out, _) = ctl(&dir, &["stop", "c"]);
    assert_eq!((code, out.as_str()), (0, "Stopped c\n"));
    assert!(asked.elapsed() < secs(2), "stop took {:?}", asked.elapsed());
}
