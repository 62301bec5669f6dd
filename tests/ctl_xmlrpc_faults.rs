//! supervicectl's XML-RPC client against servers that misbehave: one that accepts and
//! never answers (`--timeout` bounds it), one that answers garbage, one that closes
//! mid-reply, a log follow whose daemon goes away, and bad URLs and files. Each gets a
//! one-line error and a documented exit status, never a panic or a hang.

mod common;
use common::*;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

const SUPERVICECTL: &str = env!("CARGO_BIN_EXE_supervicectl");

/// Runs the client with a hard deadline (the test's own, well past the client's).
fn client(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(SUPERVICECTL)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn supervicectl");
    let pid = child.id() as i32;
    let done = wait_for(secs(20), || matches!(child.try_wait(), Ok(Some(_))));
    if !done {
        kill(pid, libc::SIGKILL);
        let _ = child.wait();
        panic!("supervicectl {args:?} hung");
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A unix server that answers each connection with `reply` (after reading the request
/// head), or never answers when `reply` is None. It lives until the test ends.
fn fake_server(path: &Path, reply: Option<&'static [u8]>) {
    let listener = UnixListener::bind(path).expect("bind");
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match reply {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
}

fn no_panic(err: &str) {
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_timeout() {
    let dir = TestDir::new("ctl-xmlrpc-stall");
    let sock = dir.join("stall.sock");
    fake_server(&sock, None);
    let url = format!("unix://{}", sock.display());
    let started = Instant::now();
    let (code, out, err) = client(&["--timeout", "1", "-s", &url, "status"]);
    let took = started.elapsed();
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("error: <class 'TimeoutError'>"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(took < secs(5), "took {took:?}");
}

#[test]
fn garbage_and_truncated_replies_are_errors() {
    let dir = TestDir::new("ctl-xmlrpc-garbage");
    let framed = dir.join("framed.sock");
    // Supervice 0.4's framing: a length prefix, then JSON.
    fake_server(&framed, Some(b"\0\0\0\x10{\"status\": \"x\"}"));
    let (code, out, err) = client(&["-s", &format!("unix://{}", framed.display()), "status"]);
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("does not answer status"), "{out}");

    let short = dir.join("short.sock");
    fake_server(
        &short,
        Some(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<?xml version='1.0'?><methodResp"),
    );
    let (code, out, err) = client(&["-s", &format!("unix://{}", short.display()), "version"]);
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("error: "), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    let notxml = dir.join("notxml.sock");
    fake_server(
        &notxml,
        Some(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    );
    let (code, out, err) = client(&["-s", &format!("unix://{}", notxml.display()), "pid"]);
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("not XML-RPC"), "{out}");

    let status = dir.join("500.sock");
    fake_server(
        &status,
        Some(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"),
    );
    let (code, out, err) = client(&["-s", &format!("unix://{}", status.display()), "avail"]);
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("500 Internal Server Error"), "{out}");
}

#[test]
fn bad_urls_files_and_missing_sockets() {
    let dir = TestDir::new("ctl-xmlrpc-bad");
    let (code, out, err) = client(&["-s", "file:///x", "status"]);
    no_panic(&err);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Unknown protocol for serverurl file:///x"),
        "{out}"
    );

    let missing = dir.join("missing.sock");
    let url = format!("unix://{}", missing.display());
    let (code, out, _) = client(&["-s", &url, "status"]);
    assert_eq!((code, out), (4, format!("{url} no such file\n")));
    let (code, out, _) = client(&["-s", &url, "start", "x"]);
    assert_eq!((code, out), (7, format!("{url} no such file\n")));

    // A socket file nobody listens on: refused.
    let dead = dir.join("dead.sock");
    drop(UnixListener::bind(&dead).expect("bind"));
    let url = format!("unix://{}", dead.display());
    let (code, out, _) = client(&["-s", &url, "version"]);
    assert_eq!((code, out), (4, format!("{url} refused connection\n")));
    let (code, out, _) = client(&["-s", &url, "shutdown"]);
    assert_eq!(
        (code, out),
        (
            1,
            format!("ERROR: {url} refused connection (already shut down?)\n")
        )
    );

    let (code, _, err) = client(&[
        "-c",
        &dir.join("nofile.conf").display().to_string(),
        "status",
    ]);
    no_panic(&err);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nofile.conf"), "{err}");
}

#[test]
fn tail_f_ends_with_a_message_when_the_daemon_goes_away() {
    let dir = TestDir::new("ctl-xmlrpc-tailf");
    let sock = dir.join("sd.sock");
    let config = dir.write(
        "supervisord.conf",
        "[supervisord]\nlogfile = {dir}/daemon.log\npidfile = {dir}/sd.pid\nchildlogdir = {dir}\n\
         [unix_http_server]\nfile = {dir}/sd.sock\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [program:talker]\ncommand = sh -c 'while :; do echo line; sleep 0.2; done'\n\
         startsecs = 0\nstdout_logfile = {dir}/talker.log\n",
    );
    let mut daemon = Daemon::spawn(&dir, &["-c", config.to_str().unwrap(), "-n"]);
    let url = format!("unix://{}", sock.display());
    expect_within(secs(10), "the daemon to answer", || {
        client(&["-s", &url, "status"]).1.contains("RUNNING")
    });
    let mut follower = Command::new(SUPERVICECTL)
        .args(["-s", &url, "tail", "-f", "talker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tail -f");
    let pid = follower.id() as i32;
    let mut stdout = follower.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let started = Instant::now();
    while !String::from_utf8_lossy(&seen).contains("line\nline") && started.elapsed() < secs(10) {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.starts_with("==> Press Ctrl-C to exit <==\n"), "{text}");
    assert!(text.contains("line\nline"), "{text}");
    daemon.stop();
    let ended = wait_for(secs(15), || matches!(follower.try_wait(), Ok(Some(_))));
    if !ended {
        kill(pid, libc::SIGKILL);
    }
    let status = follower.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = follower.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(ended, "tail -f outlived its daemon");
    no_panic(&err);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("supervicectl: "), "{err}");
}
