//! The daemon process itself: detaching from the terminal and the pidfile lock.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg, OFlag};

/// The write end of the pipe the launching process waits on. The daemon reports once:
/// ready (the launcher exits 0) or failed with a message (the launcher prints it and
/// exits 1). If the daemon dies first, the launcher sees EOF and exits 1.
pub struct Readiness(Option<OwnedFd>);

impl Readiness {
    /// For `-n`: there is nobody to tell.
    pub fn foreground() -> Readiness {
        Readiness(None)
    }

    pub fn ready(&mut self) {
        self.send(b"\0");
    }

    pub fn failed(&mut self, message: &str) {
        let mut report = vec![1u8];
        report.extend_from_slice(message.as_bytes());
        self.send(&report);
    }

    fn send(&mut self, report: &[u8]) {
        if let Some(fd) = self.0.take() {
            let mut pipe = File::from(fd);
            let _ = pipe.write_all(report);
        }
    }
}

/// Undoes the signal state inherited from whoever started us, as tini and s6 do: a
/// launcher that blocked SIGCHLD or SIGTERM (the mask survives exec) would leave children
/// unreaped and the daemon deaf to SIGTERM, and an ignored disposition (also kept across
/// exec) would hide a signal from the daemon and from its children. Handlers cannot be
/// inherited, so only ignored signals need resetting; SIGPIPE stays ignored, as the Rust
/// runtime set it: a peer that goes away must fail a write, not kill the daemon.
/// Call first thing in `main`, before any handler is installed.
pub fn reset_signal_state() {
    // SAFETY: single-threaded at this point; the sets are ours.
    unsafe {
        crate::spawn::reset_dispositions(true, libc::SIGPIPE);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// Double fork and setsid; stdio goes to `/dev/null`. The calling process waits for the
/// daemon's readiness report and exits with it; only the daemon returns. There is no
/// chdir and no umask change: relative paths in the config keep their meaning.
pub fn detach() -> io::Result<Readiness> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    // SAFETY: single-threaded at this point; the parent only reads a pipe and exits.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        _ => {
            drop(write);
            std::process::exit(wait_for_daemon(File::from(read)));
        }
    }
    drop(read);
    nix::unistd::setsid()?;
    // SAFETY: as above; the intermediate process exits at once.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        // SAFETY: _exit skips atexit handlers and stdio flushing the daemon still owns.
        _ => unsafe { libc::_exit(0) },
    }
    redirect_stdio_to_null()?;
    Ok(Readiness(Some(write)))
}

fn wait_for_daemon(mut pipe: File) -> i32 {
    let mut report = Vec::new();
    let _ = pipe.read_to_end(&mut report);
    match report.split_first() {
        Some((0, _)) => 0,
        Some((_, message)) => {
            eprintln!("{}", String::from_utf8_lossy(message));
            1
        }
        None => {
            eprintln!("supervice: the daemon exited during startup; see its log");
            1
        }
    }
}

fn redirect_stdio_to_null() -> io::Result<()> {
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard fds, which this process owns.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The pidfile, locked for the daemon's life.
pub struct Pidfile {
    path: PathBuf,
    file: Flock<File>,
    pid: u32,
}

#[derive(Debug)]
pub enum PidfileError {
    AlreadyRunning(PathBuf),
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for PidfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidfileError::AlreadyRunning(p) => write!(
                f,
                "Another supervice instance is already running (pidfile: {})",
                p.display()
            ),
            PidfileError::Io(p, e) => write!(f, "pidfile {}: {e}", p.display()),
        }
    }
}

impl Pidfile {
    /// Opens (mode 0600, not truncated), takes the lock, and only then writes our pid,
    /// without a newline. A held lock means another instance: its file is not touched.
    pub fn acquire(path: &Path) -> Result<Pidfile, PidfileError> {
        let io_err = |e| PidfileError::Io(path.to_path_buf(), e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err)?;
        let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(PidfileError::AlreadyRunning(path.to_path_buf()))
            }
            Err((_, e)) => return Err(io_err(e.into())),
        };
        let pid = std::process::id();
        file.set_len(0).map_err(io_err)?;
        (&*file)
            .write_all(pid.to_string().as_bytes())
            .map_err(io_err)?;
        Ok(Pidfile {
            path: path.to_path_buf(),
            file,
            pid,
        })
    }

    /// Removes the file if it still holds our pid, then unlocks by closing.
    pub fn release(self) {
        if std::fs::read_to_string(&self.path).is_ok_and(|s| s.trim() == self.pid.to_string()) {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.file);
    }
}

/// What is at the socket path before we bind.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// A daemon answered a status request.
    Alive,
    /// Nothing listens (ECONNREFUSED): safe to replace.
    Stale,
    /// Gone since it was looked at (ENOENT): nothing to replace.
    Gone,
    /// Could not tell (timeout, EACCES, no reply): refuse to touch it.
    Unknown,
}

/// Seconds for each half of the stale-socket probe (connect, then the reply).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

fn probe_socket(path: &Path) -> Probe {
    use nix::sys::socket::{connect, socket, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};
    let Ok(addr) = UnixAddr::new(path) else {
        return Probe::Unknown;
    };
    let Ok(fd) = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    ) else {
        return Probe::Unknown;
    };
    let timeout = nix::sys::time::TimeVal::new(PROBE_TIMEOUT.as_secs() as _, 0);
    let _ = nix::sys::socket::setsockopt(&fd, sockopt::SendTimeout, &timeout);
    let _ = nix::sys::socket::setsockopt(&fd, sockopt::ReceiveTimeout, &timeout);
    match connect(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(nix::errno::Errno::ECONNREFUSED) => return Probe::Stale,
        Err(nix::errno::Errno::ENOENT) => return Probe::Gone,
        Err(_) => return Probe::Unknown,
    }
    let mut stream = std::os::unix::net::UnixStream::from(fd);
    let request = crate::rpc::frame(&crate::rpc::Request::Status.encode());
    if stream.write_all(&request).is_err() {
        return Probe::Unknown;
    }
    let mut header = [0u8; 4];
    match stream.read_exact(&mut header) {
        Ok(()) => Probe::Alive,
        Err(_) => Probe::Unknown,
    }
}

/// Removes the socket at `path` if no daemon listens on it; any doubt is an error.
fn replace_stale(path: &Path) -> Result<(), String> {
    match probe_socket(path) {
        Probe::Alive => Err(format!(
            "Another supervice instance is already listening on {}",
            path.display()
        )),
        Probe::Unknown => Err(format!(
            "Socket {} exists but could not be verified as stale; refusing to replace it. \
             Remove it manually if no supervice instance is running.",
            path.display()
        )),
        Probe::Gone => Ok(()),
        Probe::Stale => match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(format!(
                "Cannot remove stale socket {}: {e}",
                path.display()
            )),
            _ => {
                log::info!("Removed stale socket {}", path.display());
                Ok(())
            }
        },
    }
}

/// What a non-socket file is, for the error that refuses it.
fn describe(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "of an unknown type"
    }
}

/// The RPC listening socket, removed at shutdown if it is still ours.
pub struct Socket {
    pub listener: mio::net::UnixListener,
    path: PathBuf,
    identity: (u64, u64),
}

impl Socket {
    /// Replaces what is at `path` only if it is a socket (not following symlinks) that
    /// is provably stale; anything else there is an error and is left alone. Then binds
    /// with umask 0177 so the socket is born 0600.
    pub fn bind(path: &Path) -> Result<Socket, String> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
        let dir = crate::config::parent_dir(path);
        if std::fs::metadata(&dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0) {
            log::warn!(
                "Socket directory {} is world-writable; another local user could pre-create {} \
                 to block startup or impersonate the daemon. Configure 'socket' to a private directory.",
                dir.display(),
                path.display()
            );
        }
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("Cannot check socket path {}: {e}", path.display())),
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(format!(
                    "Socket path {} exists and is {}, not a socket; refusing to replace it. \
                     Remove it or configure another 'socket'.",
                    path.display(),
                    describe(meta.file_type())
                ))
            }
            Ok(_) => replace_stale(path)?,
        }
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = mio::net::UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = bound.map_err(|e| format!("Cannot bind {}: {e}", path.display()))?;
        let identity = std::fs::metadata(path)
            .map(|m| (m.dev(), m.ino()))
            .unwrap_or_default();
        log::info!("RPC Server listening on {}", path.display());
        Ok(Socket {
            listener,
            path: path.to_path_buf(),
            identity,
        })
    }

    /// supervisord's `chmod` and `chown` of its socket (`[unix_http_server]`).
    pub fn set_access(&self, mode: Option<u32>, owner: Option<(i64, i64)>) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(mode) = mode {
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("Cannot chmod {}: {e}", self.path.display()))?;
        }
        if let Some((uid, gid)) = owner {
            let uid = u32::try_from(uid).ok().map(nix::unistd::Uid::from_raw);
            let gid = u32::try_from(gid).ok().map(nix::unistd::Gid::from_raw);
            nix::unistd::chown(&self.path, uid, gid).map_err(|_| {
                format!(
                    "Not permitted to chown {} to uid/gid {}/{}; adjust \"sockchown\" value \
                     in config file or on command line to values that the current user ({}) \
                     can successfully chown",
                    self.path.display(),
                    uid.map_or(-1, |u| i64::from(u.as_raw())),
                    gid.map_or(-1, |g| i64::from(g.as_raw())),
                    nix::unistd::geteuid()
                )
            })?;
        }
        Ok(())
    }

    /// Closes the listener and unlinks the path, unless someone replaced it since.
    pub fn close(self) {
        use std::os::unix::fs::MetadataExt;
        drop(self.listener);
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// supervisord's `[supervisord] user`: become that user (its groups, then its uid) once
/// the pidfile and the control socket are made. Needs root; the same user is no change.
pub fn drop_privileges(name: &str, credentials: &crate::spawn::Credentials) -> Result<(), String> {
    use nix::unistd::{getuid, setgid, setgroups, setuid};
    if getuid() == credentials.uid {
        return Ok(());
    }
    if !getuid().is_root() {
        return Err(format!(
            "Can't drop privilege as nonroot user (to become {name})"
        ));
    }
    if let Some(groups) = &credentials.groups {
        setgroups(groups).map_err(|e| format!("cannot become {name}: setgroups: {e}"))?;
    }
    setgid(credentials.gid).map_err(|e| format!("cannot become {name}: setgid: {e}"))?;
    setuid(credentials.uid).map_err(|e| format!("cannot become {name}: setuid: {e}"))?;
    Ok(())
}
