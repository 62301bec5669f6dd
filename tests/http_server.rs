//! The HTTP/XML-RPC front-end's own rules, beyond what the differential test against
//! supervisord shows: both protocols on one socket, basic auth (plain and {SHA}), the
//! refusal of an open TCP server without a password, chmod of the socket, UNHEALTHY
//! as RUNNING, sendProcessStdin, a waiting call that holds no one else.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use common::{ctl, expect_state, expect_within, secs, Daemon, TestDir};

fn call_body(method: &str, params: &[&str]) -> String {
    let params: String = params
        .iter()
        .map(|p| format!("<param><value>{p}</value></param>"))
        .collect();
    format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    )
}

fn request(method: &str, params: &[&str], auth: Option<&str>) -> Vec<u8> {
    let body = call_body(method, params);
    let auth = auth.map_or(String::new(), |a| format!("Authorization: Basic {a}\r\n"));
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request, reads to the close; (status, whole response).
fn exchange(mut stream: impl Read + Write, bytes: &[u8]) -> (u16, String) {
    stream.write_all(bytes).expect("send");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn unix(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(secs(30))).unwrap();
    s
}

fn sd_conf(dir: &TestDir, body: &str) -> std::path::PathBuf {
    let text = format!(
        "[supervisord]\nlogfile = {{dir}}/supervice.log\npidfile = {{dir}}/supervice.pid\n\
         childlogdir = {{dir}}\nloglevel = debug\n\n{body}"
    );
    dir.write("supervisord.conf", &text)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn the_supervice_socket_speaks_both_protocols() {
    let dir = TestDir::new("http-both");
    let config = dir.config("[program:a]\ncommand = sleep 300\nstartsecs = 0\n");
    let _daemon = Daemon::start(&dir, &config);
    expect_state(&dir.socket(), "a", "RUNNING", secs(10));
    let (status, text) = exchange(
        unix(&dir.socket()),
        &request("supervisor.getProcessInfo", &["a"], None),
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<name>statename</name>\n<value><string>RUNNING</string>"));
    assert!(text.contains("Content-Type: text/xml"), "{text}");
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("RUNNING"), "{out}");
    // A process of a numprocs program is `program:NN` to XML-RPC, its group `program:*`.
    let (status, text) = exchange(
        unix(&dir.socket()),
        &request("supervisor.getAllProcessInfo", &[], None),
    );
    assert_eq!(status, 200);
    assert!(
        text.contains("<name>group</name>\n<value><string>a</string>"),
        "{text}"
    );
}

#[test]
fn basic_auth_guards_the_socket_and_accepts_sha_passwords() {
    let dir = TestDir::new("http-auth");
    // {SHA} of "123"
    let config = sd_conf(
        &dir,
        "[unix_http_server]\nfile = {dir}/supervice.sock\nchmod = 0770\nusername = user\n\
         password = {SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let mode = std::fs::metadata(dir.socket())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o770, "chmod of [unix_http_server]");
    let get_state = |auth: Option<&str>| {
        exchange(
            unix(&dir.socket()),
            &request("supervisor.getState", &[], auth),
        )
    };
    let (status, text) = get_state(None);
    assert_eq!(status, 401, "{text}");
    assert!(
        text.contains("WWW-Authenticate: Basic realm=\"default\""),
        "{text}"
    );
    // user:wrong
    assert_eq!(get_state(Some("dXNlcjp3cm9uZw==")).0, 401);
    // user:123
    let (status, text) = get_state(Some("dXNlcjoxMjM="));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("RUNNING"));
    // Supervice's own protocol on the same socket needs no password (SO_PEERCRED).
    let (code, _, err) = ctl(&dir, &["status"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_open_tcp_server_without_a_password_is_refused_unless_allowed() {
    let dir = TestDir::new("http-inet-open");
    let port = free_port();
    let config = sd_conf(
        &dir,
        &format!(
            "[unix_http_server]\nfile = {{dir}}/supervice.sock\n\n\
             [inet_http_server]\nport = *:{port}\n"
        ),
    );
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_supervice"))
        .args(["-c", &config.display().to_string(), "--check"])
        .output()
        .expect("run --check");
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains("allow_unauthenticated"),
        "--check warns: {said}"
    );
    let mut daemon = Daemon::spawn(&dir, &["-c", &config.display().to_string(), "-n"]);
    let code = daemon.wait_exit(secs(10));
    assert!(matches!(code, Some(c) if c != 0), "exit {code:?}");
    let text = daemon.log_text() + &daemon.stderr_text();
    assert!(
        text.contains("reachable from other hosts without a username and password"),
        "{text}"
    );

    let dir = TestDir::new("http-inet-allowed");
    let config = sd_conf(
        &dir,
        &format!(
            "[unix_http_server]\nfile = {{dir}}/supervice.sock\n\n\
             [inet_http_server]\nport = 127.0.0.1:{port}\n"
        ),
    );
    let _daemon = Daemon::start(&dir, &config);
    let tcp = || {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect tcp");
        s.set_read_timeout(Some(secs(30))).unwrap();
        s
    };
    expect_within(secs(10), "the TCP port", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let (status, text) = exchange(tcp(), &request("supervisor.getAPIVersion", &[], None));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<string>3.0</string>"), "{text}");
}

#[test]
fn allow_unauthenticated_serves_every_interface() {
    let dir = TestDir::new("http-inet-any");
    let port = free_port();
    let config = sd_conf(
        &dir,
        &format!(
            "[unix_http_server]\nfile = {{dir}}/supervice.sock\n\n\
             [inet_http_server]\nport = :{port}\nallow_unauthenticated = true\n"
        ),
    );
    let _daemon = Daemon::start(&dir, &config);
    expect_within(secs(10), "the TCP port", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(secs(30))).unwrap();
    let (status, _) = exchange(stream, &request("supervisor.getPID", &[], None));
    assert_eq!(status, 200);
}

#[test]
fn send_process_stdin_reaches_the_child_and_a_waiting_start_holds_no_one() {
    let dir = TestDir::new("http-stdin");
    let config = sd_conf(
        &dir,
        "[unix_http_server]\nfile = {dir}/supervice.sock\n\n\
         [program:cat]\ncommand = cat\nstartsecs = 0\nstdout_logfile = {dir}/cat.log\n\n\
         [program:slow]\ncommand = sleep 300\nstartsecs = 3\nautostart = false\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    expect_state(&dir.socket(), "cat", "RUNNING", secs(10));
    let (status, text) = exchange(
        unix(&dir.socket()),
        &request(
            "supervisor.sendProcessStdin",
            &["cat", "hello stdin\n"],
            None,
        ),
    );
    assert_eq!(status, 200, "{text}");
    expect_within(secs(5), "the child echoed its stdin", || {
        dir.read("cat.log").contains("hello stdin")
    });

    // startProcess(slow) waits 3 s for RUNNING; meanwhile others are answered at once.
    let mut waiting = unix(&dir.socket());
    waiting
        .write_all(&request("supervisor.startProcess", &["slow"], None))
        .unwrap();
    expect_state(&dir.socket(), "slow", "STARTING", secs(5));
    let started = std::time::Instant::now();
    let (status, _) = exchange(
        unix(&dir.socket()),
        &request("supervisor.getState", &[], None),
    );
    assert_eq!(status, 200);
    assert!(started.elapsed() < secs(2), "answered while a start waits");
    let (status, text) = exchange(waiting, b"");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<boolean>1</boolean>"), "{text}");
}

#[test]
fn unhealthy_is_running_with_a_word_in_the_description() {
    let dir = TestDir::new("http-unhealthy");
    let port = free_port();
    let config = dir.config(&format!(
        "[program:web]\ncommand = sleep 300\nstartsecs = 0\nhealthcheck_type = tcp\n\
         healthcheck_port = {port}\nhealthcheck_interval = 1\nhealthcheck_timeout = 1\n\
         healthcheck_retries = 1\nautorestart = false\n"
    ));
    let _daemon = Daemon::start(&dir, &config);
    expect_state(&dir.socket(), "web", "UNHEALTHY", secs(15));
    let (status, text) = exchange(
        unix(&dir.socket()),
        &request("supervisor.getProcessInfo", &["web"], None),
    );
    assert_eq!(status, 200);
    assert!(
        text.contains("<name>state</name>\n<value><int>20</int>"),
        "{text}"
    );
    assert!(text.contains(", unhealthy</string>"), "{text}");
}
