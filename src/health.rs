//! The mechanics of one health check, without scheduling: a non-blocking TCP connect
//! (to a host name resolved first by a short-lived child, since `getaddrinfo` blocks),
//! or a `/bin/sh -c` script in its own process group. The supervisor registers what these
//! return in the reactor, bounds them with a timer, and turns the outcome into an event
//! for the instance's lifecycle. Messages are Supervice's.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;

use crate::lifecycle::Exit;
use crate::spawn::{self, Child, Credentials, SpawnError, Stdio};

/// At most this much of a script's stderr is kept for the failure message.
pub const STDERR_KEEP: usize = 64 * 1024;

/// What a finished check says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    pub message: String,
}

impl Outcome {
    pub fn pass(message: String) -> Outcome {
        Outcome {
            passed: true,
            message,
        }
    }

    pub fn fail(message: String) -> Outcome {
        Outcome {
            passed: false,
            message,
        }
    }
}

/// Why a check did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStarted {
    /// It failed already (a connect refused at once...): a verdict.
    Failed(Outcome),
    /// The daemon lacked a resource (fds, memory, processes): no verdict, try again later.
    Machinery(String),
}

/// Errors that are about the daemon's resources, not about the program checked.
fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::EAGAIN)
    )
}

/// Starts a non-blocking connect.
pub fn connect(addr: SocketAddr, host: &str, port: u16) -> Result<mio::net::TcpStream, NotStarted> {
    mio::net::TcpStream::connect(addr).map_err(|e| {
        if is_resource_error(&e) {
            NotStarted::Machinery(crate::os_error_text(&e))
        } else {
            NotStarted::Failed(tcp_error(&e, host, port))
        }
    })
}

/// Once the socket is writable: connected, or the connect failed. `None` if neither is
/// known yet (a spurious wake-up).
pub fn connected(stream: &mio::net::TcpStream, host: &str, port: u16) -> Option<Outcome> {
    match stream.take_error() {
        Ok(Some(e)) | Err(e) => return Some(tcp_error(&e, host, port)),
        Ok(None) => {}
    }
    match stream.peer_addr() {
        Ok(_) => Some(Outcome::pass(format!(
            "TCP connection to {host}:{port} succeeded"
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
        Err(e) => Some(tcp_error(&e, host, port)),
    }
}

fn tcp_error(e: &io::Error, host: &str, port: u16) -> Outcome {
    if e.kind() == io::ErrorKind::ConnectionRefused {
        Outcome::fail(format!("TCP connection to {host}:{port} refused"))
    } else {
        Outcome::fail(format!(
            "TCP connection to {host}:{port} failed: {}",
            crate::os_error_text(e)
        ))
    }
}

pub fn tcp_timeout(host: &str, port: u16, secs: u64) -> Outcome {
    Outcome::fail(format!(
        "TCP connection to {host}:{port} timed out after {secs}s"
    ))
}

/// A running check child (a script, or a host name resolver): its pid (= its process
/// group) and the pipe the daemon reads (the script's stderr, the resolver's stdout).
pub struct Script {
    pub child: Child,
    pub output: OwnedFd,
}

/// Runs `/bin/sh -c command` as the program's user, with the program's environment and
/// directory, stdout discarded and stderr captured. A permission problem (the user
/// switch refused) is a failed check; a lack of fds or processes is not.
pub fn run_script(
    command: &str,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
    directory: Option<&Path>,
    credentials: Option<Credentials>,
) -> Result<Script, NotStarted> {
    let machinery = |e: io::Error| NotStarted::Machinery(crate::os_error_text(&e));
    let (stderr_read, stderr_write) = spawn::output_pipe().map_err(machinery)?;
    let stdio = Stdio {
        stdin: spawn::dev_null(false).map_err(machinery)?,
        stdout: spawn::dev_null(true).map_err(machinery)?,
        stderr: stderr_write,
    };
    let argv = ["/bin/sh".to_string(), "-c".to_string(), command.to_string()];
    let spec = spawn::Spec {
        path: Path::new("/bin/sh"),
        argv: &argv,
        env,
        directory,
        credentials,
        pdeathsig: true,
        umask: None,
    };
    match spawn::spawn(spec, stdio) {
        Ok(child) => Ok(Script {
            child,
            output: stderr_read,
        }),
        Err(SpawnError::Transient(m)) => Err(NotStarted::Machinery(m)),
        Err(SpawnError::Permanent(m)) => Err(NotStarted::Failed(Outcome::fail(format!(
            "Health check script error: {m}"
        )))),
    }
}

/// The first argument that makes the daemon binary a resolver (`resolve_main`), which
/// the daemon runs as a short-lived child for each check of a named host.
pub const RESOLVE_FLAG: &str = "--resolve-health-host";

/// A host literal (IPv4, IPv6 with or without brackets), which needs no resolution.
pub fn literal_addr(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: std::net::IpAddr = bare.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Starts `/proc/self/exe --resolve-health-host HOST PORT` (the daemon's own binary, even
/// if it was replaced on disk), its stdout captured: `getaddrinfo` blocks for as long as
/// DNS takes, so it never runs in the loop. The check's timeout bounds it.
pub fn run_resolver(
    host: &str,
    port: u16,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> Result<Script, NotStarted> {
    let machinery = |e: io::Error| NotStarted::Machinery(crate::os_error_text(&e));
    let (read, write) = spawn::output_pipe().map_err(machinery)?;
    let stdio = Stdio {
        stdin: spawn::dev_null(false).map_err(machinery)?,
        stdout: write,
        stderr: spawn::dev_null(true).map_err(machinery)?,
    };
    let path = Path::new("/proc/self/exe");
    let argv = [
        "supervice".to_string(),
        RESOLVE_FLAG.to_string(),
        host.to_string(),
        port.to_string(),
    ];
    let spec = spawn::Spec {
        path,
        argv: &argv,
        env,
        directory: None,
        credentials: None,
        pdeathsig: true,
        umask: None,
    };
    match spawn::spawn(spec, stdio) {
        Ok(child) => Ok(Script {
            child,
            output: read,
        }),
        Err(e) => Err(NotStarted::Machinery(format!("cannot resolve {host}: {e}"))),
    }
}

/// The resolver child's whole job: `host:port` looked up, the answer on stdout.
pub fn resolve_main(host: &str, port: &str) -> i32 {
    use std::io::Write;
    let Ok(port) = port.parse::<u16>() else {
        return 2;
    };
    let text = resolved_text(host, port);
    let ok = !text.starts_with(RESOLVE_ERROR);
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if ok {
        0
    } else {
        1
    }
}

/// What a failed resolution writes, before its reason.
const RESOLVE_ERROR: &str = "error: ";

/// The resolver's answer: one address a line, or `error: <reason>`.
pub fn resolved_text(host: &str, port: u16) -> String {
    use std::net::ToSocketAddrs;
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let lines: Vec<String> = addrs.map(|a| format!("{a}\n")).collect();
            if lines.is_empty() {
                format!("{RESOLVE_ERROR}no address found\n")
            } else {
                lines.concat()
            }
        }
        Err(e) => format!("{RESOLVE_ERROR}{e}\n"),
    }
}

/// Reads the resolver's answer: the addresses to try in order, or the failed check.
pub fn parse_resolved(text: &[u8], host: &str, port: u16) -> Result<Vec<SocketAddr>, Outcome> {
    let text = String::from_utf8_lossy(text);
    let fail = |reason: &str| {
        Outcome::fail(format!(
            "TCP connection to {host}:{port} failed: {host} does not resolve: {reason}"
        ))
    };
    if let Some(reason) = text.trim().strip_prefix(RESOLVE_ERROR) {
        return Err(fail(reason));
    }
    let addrs: Vec<SocketAddr> = text.lines().filter_map(|l| l.parse().ok()).collect();
    if addrs.is_empty() {
        return Err(fail("the resolver gave no address"));
    }
    Ok(addrs)
}

/// The outcome of a script that ran and exited.
pub fn script_outcome(exit: Exit, stderr: &[u8]) -> Outcome {
    let rc = exit.rc();
    let mut message = format!("Health check script exited with code {rc}");
    if rc == 0 {
        return Outcome::pass(message);
    }
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if !text.is_empty() {
        message.push_str(": ");
        message.push_str(text);
    }
    Outcome::fail(message)
}

pub fn script_timeout(secs: u64) -> Outcome {
    Outcome::fail(format!("Health check script timed out after {secs}s"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn literal_hosts_need_no_resolution() {
        let v4 = literal_addr("127.0.0.1", 80).map(|a| a.to_string());
        assert_eq!(v4.as_deref(), Some("127.0.0.1:80"));
        let v6 = literal_addr("[::1]", 81).map(|a| a.to_string());
        assert_eq!(v6.as_deref(), Some("[::1]:81"));
        let bare_v6 = literal_addr("::1", 81).map(|a| a.to_string());
        assert_eq!(bare_v6.as_deref(), Some("[::1]:81"));
        assert_eq!(literal_addr("localhost", 80), None);
        assert_eq!(literal_addr("db.example", 80), None);
    }

    /// What the resolver child writes, and how the daemon reads it back.
    #[test]
    fn resolver_answer_round_trips() {
        let text = resolved_text("localhost", 8080);
        let addrs = parse_resolved(text.as_bytes(), "localhost", 8080)
            .unwrap_or_else(|e| panic!("localhost: {e:?} ({text:?})"));
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8080));

        let text = resolved_text("nonexistent.invalid", 80);
        assert!(text.starts_with("error: "), "{text}");
        let Err(outcome) = parse_resolved(text.as_bytes(), "nonexistent.invalid", 80) else {
            panic!("nonexistent.invalid resolved: {text}");
        };
        assert!(!outcome.passed);
        assert!(
            outcome.message.starts_with(
                "TCP connection to nonexistent.invalid:80 failed: nonexistent.invalid does not resolve: "
            ),
            "{}",
            outcome.message
        );

        let two = b"127.0.0.1:5\n[::1]:5\n";
        let addrs = parse_resolved(two, "h", 5).map(|a| a.len());
        assert_eq!(addrs, Ok(2));
        // A resolver that died without a word (killed, say) is a failed check too.
        let Err(outcome) = parse_resolved(b"", "h", 5) else {
            panic!("empty output accepted");
        };
        assert!(outcome.message.ends_with("the resolver gave no address"));
    }

    #[test]
    fn script_messages() {
        let ok = script_outcome(Exit::Code(0), b"ignored");
        assert_eq!(
            ok,
            Outcome::pass("Health check script exited with code 0".into())
        );
        let bad = script_outcome(Exit::Code(2), b"  db down\n");
        assert_eq!(
            bad,
            Outcome::fail("Health check script exited with code 2: db down".into())
        );
        let quiet = script_outcome(Exit::Code(1), b"");
        assert_eq!(quiet.message, "Health check script exited with code 1");
        let killed = script_outcome(Exit::Signal(9), b"");
        assert_eq!(killed.message, "Health check script exited with code -9");
        assert_eq!(
            script_timeout(3).message,
            "Health check script timed out after 3s"
        );
    }

    /// Connects to `addr` and waits for writability in a mio poll, as the reactor does.
    fn probe(addr: SocketAddr) -> io::Result<Outcome> {
        let mut stream = match connect(addr, "127.0.0.1", addr.port()) {
            Ok(s) => s,
            Err(NotStarted::Failed(outcome)) => return Ok(outcome),
            Err(NotStarted::Machinery(e)) => return Err(io::Error::other(e)),
        };
        let mut poll = mio::Poll::new()?;
        let mut events = mio::Events::with_capacity(4);
        poll.registry()
            .register(&mut stream, mio::Token(0), mio::Interest::WRITABLE)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(outcome) = connected(&stream, "127.0.0.1", addr.port()) {
                return Ok(outcome);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::other("connect never finished"));
            }
            poll.poll(&mut events, Some(left))?;
        }
    }

    #[test]
    fn tcp_success_and_refusal() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let outcome = probe(addr)?;
        assert!(outcome.passed, "{outcome:?}");
        assert_eq!(
            outcome.message,
            format!("TCP connection to 127.0.0.1:{} succeeded", addr.port())
        );
        drop(listener);
        let outcome = probe(addr)?;
        assert!(!outcome.passed);
        assert_eq!(
            outcome.message,
            format!("TCP connection to 127.0.0.1:{} refused", addr.port())
        );
        assert_eq!(
            tcp_timeout("db", 5432, 10).message,
            "TCP connection to db:5432 timed out after 10s"
        );
        Ok(())
    }
}
