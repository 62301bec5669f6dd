//! `supervicectl`: the blocking client. Over Supervice's protocol, one request per
//! connection, Supervice 0.4's output formats and exit codes, so scripts that parse them
//! keep working; over supervisord's XML-RPC (`http`, `supervisorctl`), supervisorctl's.

pub mod http;
pub mod supervisorctl;

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use serde_json::Value;

use crate::rpc::{frame, Request, MAX_REPLY};

/// `status` and `reload` give up after this by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// While a long operation runs, the daemon's liveness is checked this often.
const PROBE_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Status { json: bool },
    Send(Request),
}

#[derive(Debug)]
pub enum ClientError {
    /// connect() failed.
    Connect(io::Error),
    /// No reply in time.
    Timeout(Duration),
    /// The stream failed or the reply was not a frame of JSON.
    Io(io::Error),
    Protocol(String),
}

impl ClientError {
    /// The text Supervice's client prints for it.
    pub fn describe(&self, socket: &Path) -> String {
        match self {
            ClientError::Connect(e) | ClientError::Io(e) => crate::os_error_text(e),
            ClientError::Timeout(t) => format!(
                "No response from supervice within {}s (socket: {})",
                t.as_secs_f64().round() as u64,
                socket.display()
            ),
            ClientError::Protocol(m) => m.clone(),
        }
    }
}

/// How long the client waits.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// A hard end-to-end deadline (`--timeout`, or the default for status/reload).
    Deadline(Duration),
    /// As long as the operation takes, while the daemon keeps answering status probes.
    WhileAlive(Duration),
}

fn connect(socket: &Path, deadline: Instant) -> Result<UnixStream, ClientError> {
    use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};
    let addr = UnixAddr::new(socket).map_err(|e| ClientError::Connect(e.into()))?;
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| ClientError::Connect(e.into()))?;
    // A full listen backlog makes connect() block; bound it by the deadline.
    let left = remaining(deadline)?;
    let tv = nix::sys::time::TimeVal::new(left.as_secs() as _, left.subsec_micros() as _);
    let _ = socket::setsockopt(&fd, sockopt::SendTimeout, &tv);
    match socket::connect(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(Errno::EAGAIN | Errno::EINPROGRESS) => {
            return Err(ClientError::Timeout(Duration::ZERO))
        }
        Err(e) => return Err(ClientError::Connect(e.into())),
    }
    Ok(UnixStream::from(fd))
}

fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ClientError::Timeout(Duration::ZERO))
    } else {
        Ok(left)
    }
}

/// Sends one request and reads one framed reply.
pub fn exchange(socket: &Path, body: &[u8], wait: Wait) -> Result<Vec<u8>, ClientError> {
    let (budget, probing) = match wait {
        Wait::Deadline(t) => (t, false),
        Wait::WhileAlive(t) => (t, true),
    };
    let deadline = Instant::now() + budget;
    let timed_out = |e: ClientError| match e {
        ClientError::Timeout(_) => ClientError::Timeout(budget),
        other => other,
    };
    let mut stream = connect(socket, deadline).map_err(timed_out)?;
    let left = remaining(deadline).map_err(timed_out)?;
    stream
        .set_write_timeout(Some(left))
        .map_err(ClientError::Io)?;
    stream
        .write_all(&frame(body))
        .map_err(|e| timed_out(timeout_or_io(e)))?;

    let mut header = [0u8; 4];
    let mut reply = Vec::new();
    let mut filled = 0;
    let mut have_header = false;
    loop {
        let slice = if probing {
            PROBE_EVERY
        } else {
            remaining(deadline).map_err(timed_out)?
        };
        stream
            .set_read_timeout(Some(slice))
            .map_err(ClientError::Io)?;
        let buffer = if have_header {
            &mut reply[filled..]
        } else {
            &mut header[filled..]
        };
        match stream.read(buffer) {
            Ok(0) => {
                return Err(ClientError::Protocol(
                    "Connection closed by supervice before a reply".to_string(),
                ))
            }
            Ok(n) => filled += n,
            Err(e) if is_timeout(&e) => {
                // A long operation (a stop waiting out stopwaitsecs...) is fine as long as
                // the daemon itself still answers.
                if !probing
                    || exchange(socket, &Request::Status.encode(), Wait::Deadline(budget)).is_err()
                {
                    return Err(ClientError::Timeout(budget));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ClientError::Io(e)),
        }
        if !have_header && filled == 4 {
            let length = u32::from_be_bytes(header) as usize;
            if length > MAX_REPLY {
                return Err(ClientError::Protocol(format!(
                    "Message too large: {length} bytes"
                )));
            }
            reply = vec![0; length];
            filled = 0;
            have_header = true;
        }
        if have_header && filled == reply.len() {
            return Ok(reply);
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn timeout_or_io(e: io::Error) -> ClientError {
    if is_timeout(&e) {
        ClientError::Timeout(Duration::ZERO)
    } else {
        ClientError::Io(e)
    }
}

/// Runs one command; prints what Supervice's client prints; returns the exit code.
pub fn run(socket: &Path, command: &Command, timeout: Option<Duration>) -> i32 {
    let (request, is_status, is_reload) = match command {
        Command::Status { .. } => (Request::Status, true, false),
        Command::Send(request) => (request.clone(), false, *request == Request::Reload),
    };
    let wait = match timeout {
        Some(t) => Wait::Deadline(t),
        None if is_status || is_reload => Wait::Deadline(DEFAULT_TIMEOUT),
        None => Wait::WhileAlive(DEFAULT_TIMEOUT),
    };
    if (is_status || is_reload) && std::fs::symlink_metadata(socket).is_err() {
        println!("Supervice is not running (socket not found)");
        return 1;
    }
    let reply = match exchange(socket, &request.encode(), wait) {
        Ok(reply) => reply,
        Err(e) => {
            let text = e.describe(socket);
            if is_status {
                println!("Error connecting to supervice: {text}");
            } else {
                println!("Error: {text}");
            }
            return 1;
        }
    };
    let value: Value = match serde_json::from_slice(&reply) {
        Ok(v) => v,
        Err(e) => {
            println!("Error: invalid reply from supervice: {e}");
            return 1;
        }
    };
    let ok = value.get("status").and_then(Value::as_str) == Some("ok");
    match command {
        Command::Status { json: true } => println!("{}", String::from_utf8_lossy(&reply)),
        Command::Status { json: false } if ok => print!("{}", status_table(&value)),
        Command::Send(Request::Reload) if ok => print!("{}", reload_summary(&value)),
        Command::Status { .. } | Command::Send(Request::Reload) => {
            println!("Error: {}", message(&value))
        }
        Command::Send(_) => println!("{}", message(&value)),
    }
    if ok {
        0
    } else {
        1
    }
}

/// `--json` for a command other than status: the daemon's reply as it came, or
/// `{"status": "error", "message": ...}` when there is none; the exit status as `run`'s.
pub fn run_json(socket: &Path, request: &Request, timeout: Option<Duration>) -> i32 {
    let wait = match timeout {
        Some(t) => Wait::Deadline(t),
        None if *request == Request::Reload => Wait::Deadline(DEFAULT_TIMEOUT),
        None => Wait::WhileAlive(DEFAULT_TIMEOUT),
    };
    match exchange(socket, &request.encode(), wait) {
        Ok(reply) => {
            println!("{}", String::from_utf8_lossy(&reply));
            let ok = serde_json::from_slice::<Value>(&reply)
                .is_ok_and(|v| v.get("status").and_then(Value::as_str) == Some("ok"));
            i32::from(!ok)
        }
        Err(e) => {
            let text = e.describe(socket);
            println!(
                "{}",
                serde_json::json!({"status": "error", "message": text})
            );
            1
        }
    }
}

fn message(value: &Value) -> String {
    match value.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "None".to_string(),
    }
}

/// The status table, exactly as Supervice prints it (trailing blanks included).
pub fn status_table(reply: &Value) -> String {
    let empty = Vec::new();
    let processes = reply
        .get("processes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let has_uptime = processes.iter().any(|p| p.get("uptime").is_some());
    let has_health = processes.iter().any(|p| p.get("healthy").is_some());
    let mut out = format!("{:<20} {:<10} {:<10}", "NAME", "STATE", "PID");
    let mut dashes = 40;
    if has_uptime {
        out.push_str(&format!(" {:<12}", "UPTIME"));
        dashes += 12;
    }
    if has_health {
        out.push_str(&format!(" {:<10}", "HEALTH"));
        dashes += 10;
    }
    out.push('\n');
    out.push_str(&"-".repeat(dashes));
    out.push('\n');
    for p in processes {
        let text = |key: &str| match p.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "-".to_string(),
            Some(other) => other.to_string(),
        };
        out.push_str(&format!(
            "{:<20} {:<10} {:<10}",
            text("name"),
            text("state"),
            text("pid")
        ));
        if has_uptime {
            let uptime = p
                .get("uptime")
                .and_then(Value::as_u64)
                .map_or_else(|| "-".to_string(), format_uptime);
            out.push_str(&format!(" {uptime:<12}"));
        }
        if has_health {
            let health = match p.get("healthy") {
                Some(Value::Bool(true)) => "OK",
                Some(Value::Bool(false)) => "FAIL",
                _ => "-",
            };
            out.push_str(&format!(" {health:<10}"));
        }
        out.push('\n');
    }
    out
}

/// `H:MM:SS` with hours, else `M:SS`.
pub fn format_uptime(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

pub fn reload_summary(reply: &Value) -> String {
    let list = |key: &str| -> Vec<String> {
        reply
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = String::new();
    for (key, label) in [
        ("added", "Added"),
        ("removed", "Removed"),
        ("changed", "Changed (restart to apply)"),
    ] {
        let names = list(key);
        if !names.is_empty() {
            out.push_str(&format!("{label}: {}\n", names.join(", ")));
        }
    }
    if out.is_empty() {
        out.push_str("No changes detected\n");
    }
    out
}

/// The socket when `-s` is not given: the same computation as the daemon's default.
pub fn default_socket() -> PathBuf {
    crate::config::default_socket_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> String {
        match serde_json::from_str(json) {
            Ok(reply) => status_table(&reply),
            Err(e) => panic!("bad test JSON {json}: {e}"),
        }
    }

    #[test]
    fn status_table_with_uptime_and_health_matches_supervice() {
        let out = table(
            r#"{"status": "ok", "processes": [
            {"name": "web", "state": "RUNNING", "pid": 7811, "uptime": 2},
            {"name": "hc", "state": "RUNNING", "pid": 7813, "uptime": 3, "healthy": true},
            {"name": "idle", "state": "STOPPED", "pid": null},
            {"name": "bad", "state": "FATAL", "pid": null, "healthy": false}]}"#,
        );
        let expected = "\
NAME                 STATE      PID        UPTIME       HEALTH    \n\
--------------------------------------------------------------\n\
web                  RUNNING    7811       0:02         -         \n\
hc                   RUNNING    7813       0:03         OK        \n\
idle                 STOPPED    -          -            -         \n\
bad                  FATAL      -          -            FAIL      \n";
        assert_eq!(out, expected);
    }

    #[test]
    fn status_table_columns_appear_only_when_needed() {
        let out = table(
            r#"{"status": "ok", "processes": [{"name": "a", "state": "STOPPED", "pid": null}]}"#,
        );
        assert_eq!(
            out,
            "NAME                 STATE      PID       \n\
             ----------------------------------------\n\
             a                    STOPPED    -         \n"
        );
        let out = table(
            r#"{"status": "ok", "processes": [{"name": "a", "state": "RUNNING", "pid": 5, "uptime": 1}]}"#,
        );
        assert_eq!(out.lines().nth(1).map(str::len), Some(52));
        let out = table(r#"{"status": "ok", "processes": []}"#);
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn long_names_push_columns_right() {
        let out = table(
            r#"{"status": "ok", "processes": [{"name": "a-very-long-program-name:00", "state": "RUNNING", "pid": 1}]}"#,
        );
        assert!(out.contains("a-very-long-program-name:00 RUNNING    1         "));
    }

    #[test]
    fn uptime_format() {
        assert_eq!(format_uptime(5), "0:05");
        assert_eq!(format_uptime(754), "12:34");
        assert_eq!(format_uptime(3600), "1:00:00");
        assert_eq!(format_uptime(100 * 3600 + 61), "100:01:01");
    }

    #[test]
    fn reload_summary_lines() -> serde_json::Result<()> {
        let v: Value = serde_json::from_str(
            r#"{"status": "ok", "added": ["a", "b"], "removed": ["c"], "changed": ["d"]}"#,
        )?;
        assert_eq!(
            reload_summary(&v),
            "Added: a, b\nRemoved: c\nChanged (restart to apply): d\n"
        );
        let v: Value =
            serde_json::from_str(r#"{"status": "ok", "added": [], "removed": [], "changed": []}"#)?;
        assert_eq!(reload_summary(&v), "No changes detected\n");
        Ok(())
    }

    #[test]
    fn os_errors_print_like_python() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(crate::os_error_text(&e), "[Errno 111] Connection refused");
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(
            crate::os_error_text(&e),
            "[Errno 2] No such file or directory"
        );
    }
}
