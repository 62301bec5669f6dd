//! The mechanics of one health check, without scheduling: a non-blocking TCP connect,
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

/// A running check script: its pid (= its process group) and the pipes it holds.
pub struct Script {
    pub child: Child,
    pub stderr: OwnedFd,
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
    };
    match spawn::spawn(spec, stdio) {
        Ok(child) => Ok(Script {
            child,
            stderr: stderr_read,
        }),
        Err(SpawnError::Transient(m)) => Err(NotStarted::Machinery(m)),
        Err(SpawnError::Permanent(m)) => Err(NotStarted::Failed(Outcome::fail(format!(
            "Health check script error: {m}"
        )))),
    }
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
