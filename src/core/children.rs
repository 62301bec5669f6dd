//! The child side of supervision: spawning an instance and reaping exits. The pumps that
//! move a child's output into its log files are in `pumps`.

use std::io;
use std::os::fd::OwnedFd;

use log::{error, info, warn};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::pumps::{Filters, Owner};
use super::{Core, Notification, Stream};
use crate::config::LogFile;
use crate::lifecycle::{Event, Exit};
use crate::reconcile;
use crate::spawn::{self, SpawnError, Stdio};

impl Core {
    /// Spawns the instance's child; returns `Spawned` or `SpawnFailed` for its lifecycle.
    pub(super) fn spawn(&mut self, index: usize) -> Event {
        match self.try_spawn(index) {
            Ok(pid) => Event::Spawned { pid },
            Err(e) => spawn_failed(e),
        }
    }

    fn try_spawn(&mut self, index: usize) -> Result<i32, SpawnError> {
        let Some(slot) = self.slot(index) else {
            return Err(SpawnError::Permanent("instance removed".into()));
        };
        let config = slot.config.clone();
        let Some(argv0) = config.argv.first() else {
            return Err(SpawnError::Permanent("command is empty".into()));
        };
        let path = spawn::resolve_command(argv0, config.directory.as_deref())?;
        // Looked up at load: a spawn never blocks on the user database. A user deleted
        // from /etc/passwd since then is not run under its old uid.
        let credentials = config.credentials.clone();
        if let Some(user) = config.user.as_deref() {
            if !self.passwd.still_listed(user) {
                return Err(SpawnError::Permanent(format!(
                    "user '{user}' no longer exists (removed from /etc/passwd since the \
                     config was loaded; reload to apply user changes)"
                )));
            }
        }
        let stdout = self
            .open_log(&config.stdout)
            .map_err(log_error(&config.stdout))?;
        let stderr = self
            .open_log(&config.stderr)
            .map_err(log_error(&config.stderr))?;
        let io_err = |e: io::Error, what: &str| {
            SpawnError::from_errno(Errno::from_raw(e.raw_os_error().unwrap_or(0)), what)
        };
        let keys = config.supervisord.as_ref();
        // `*_syslog`: a pipe even without a log file.
        let (stdout_syslog, stderr_syslog) =
            keys.map_or((false, false), |k| (k.stdout_syslog, k.stderr_syslog));
        let (stdout_read, stdout_write) =
            child_end(stdout.is_some() || stdout_syslog).map_err(|e| io_err(e, "pipe"))?;
        let redirect = keys.is_some_and(|k| k.redirect_stderr);
        let (stderr_read, stderr_write) = if redirect {
            // redirect_stderr: fd 2 is the same pipe (or /dev/null) as fd 1.
            let dup = stdout_write.try_clone().map_err(|e| io_err(e, "dup"))?;
            (None, dup)
        } else {
            child_end(stderr.is_some() || stderr_syslog).map_err(|e| io_err(e, "pipe"))?
        };
        // An fcgi-program's fd 0 is its group's listening socket.
        let fcgi = config.supervisord.as_ref().and_then(|k| k.fcgi.as_ref());
        // supervisord's children read a pipe that sendProcessStdin writes to.
        let mut stdin_writer = None;
        let stdin = match fcgi {
            Some(socket) => self
                .sockets
                .acquire(socket)
                .map_err(SpawnError::Transient)?,
            None if config.supervisord.is_some() => {
                let (read, write) = spawn::input_pipe().map_err(|e| io_err(e, "pipe"))?;
                stdin_writer = Some(std::fs::File::from(write));
                read
            }
            None => spawn::dev_null(false).map_err(|e| io_err(e, "/dev/null"))?,
        };
        let fcgi = fcgi.map(|s| s.url());

        let cwd = match &config.directory {
            Some(d) => d.display().to_string(),
            None => std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        };
        let uid = credentials
            .as_ref()
            .map_or_else(nix::unistd::geteuid, |c| c.uid);
        info!(
            "Spawning {}: {} (cwd={cwd}, uid={uid})",
            config.name,
            spawn::display_argv(&path, &config.argv)
        );
        let env = spawn::child_env(&self.base_env, &config.environment);
        let stdio = Stdio {
            stdin,
            stdout: stdout_write,
            stderr: stderr_write,
        };
        let spec = spawn::Spec {
            path: &path,
            argv: &config.argv,
            env: &env,
            directory: config.directory.as_deref(),
            credentials,
            pdeathsig: config.pdeathsig,
            umask: config.supervisord.as_ref().and_then(|k| k.umask),
        };
        let child = match spawn::spawn(spec, stdio) {
            Ok(child) => child,
            Err(e) => {
                if let Some(url) = &fcgi {
                    self.sockets.release(url);
                }
                return Err(e);
            }
        };
        if let Some(slot) = self.slot_mut(index) {
            slot.fcgi = fcgi;
            slot.stdin = stdin_writer;
            // Recorded from the moment of the spawn, not only once RUNNING.
            slot.token = reconcile::spawn_token(child.pid);
        }
        self.table.by_pid.insert(child.pid, index);
        self.notes.push(Notification::Spawned {
            id: index,
            pid: child.pid,
        });
        let serial = self.slot(index).map_or(0, |s| s.serial);
        let strip_ansi = config.supervisord.as_ref().is_some_and(|k| k.strip_ansi);
        for (read, file, syslog, stream) in [
            (stdout_read, stdout, stdout_syslog, Stream::Stdout),
            (stderr_read, stderr, stderr_syslog, Stream::Stderr),
        ] {
            if let Some(read) = read {
                let label = format!("{} {}", config.name, stream.name());
                let owner = Owner {
                    id: index,
                    serial,
                    stream,
                };
                let filters = Filters {
                    strip_ansi,
                    // supervisord prefixes the process name (`web_01`, not `web:web_01`).
                    syslog: syslog.then(|| {
                        let process = config.name.rsplit(':').next().unwrap_or(&config.name);
                        process.to_string()
                    }),
                };
                self.add_pump(read, file, filters, label, owner);
            }
        }
        Ok(child.pid)
    }

    /// Collects every exited child; never blocks.
    pub fn reap(&mut self) {
        loop {
            let (pid, exit) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Exit::Code(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    (pid.as_raw(), Exit::Signal(signal as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Err(Errno::EINTR) | Ok(_) => continue,
                Err(e) => {
                    error!("waitpid: {e}");
                    return;
                }
            };
            self.child_exited(pid, exit);
        }
    }

    fn child_exited(&mut self, pid: i32, exit: Exit) {
        let Some(index) = self.table.by_pid.remove(&pid) else {
            return self.health_script_exited(pid, exit);
        };
        self.note_lingering(index, pid);
        if let Some(url) = self.slot_mut(index).and_then(|s| s.fcgi.take()) {
            self.sockets.release(&url);
        }
        if let Some(slot) = self.slot_mut(index) {
            slot.stdin = None;
        }
        self.notes.push(Notification::Exited {
            id: index,
            pid,
            exit,
        });
        self.drive(index, Event::Exited(exit));
    }

    /// Processes that left their program's process group (a new session or group) escape
    /// the stop signals; as a subreaper the daemon is their parent and can name them.
    pub fn report_escaped(&mut self) {
        // Members of groups just killed may not be reaped yet: collect them first.
        self.reap();
        let me = std::process::id() as i32;
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for pid in entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        {
            let Some(stat) = reconcile::read_stat(pid) else {
                continue;
            };
            // Our programs' processes have group = session = the program's pid.
            let escaped = stat.pgid != stat.sid || stat.sid == pid;
            if stat.ppid != me || stat.zombie || !escaped || self.is_child(pid) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            warn!(
                "process {pid} ({}) left its program's process group, so stop signals did \
                 not reach it; it is left running",
                cmdline.trim()
            );
        }
    }
}

/// The lifecycle's view of a spawn that did not happen.
fn spawn_failed(error: SpawnError) -> Event {
    let (permanent, reason) = match error {
        SpawnError::Permanent(reason) => (true, reason),
        SpawnError::Transient(reason) => (false, reason),
    };
    Event::SpawnFailed { permanent, reason }
}

fn log_error(log: &Option<LogFile>) -> impl Fn(io::Error) -> SpawnError + '_ {
    move |e| {
        let shown = log.as_ref().map(|l| l.path.display().to_string());
        let shown = shown.unwrap_or_default();
        SpawnError::Transient(format!("cannot open log file {shown}: {e}"))
    }
}

/// A pipe when the stream is captured, else `/dev/null`: (daemon's end, child's end).
fn child_end(read: bool) -> io::Result<(Option<OwnedFd>, OwnedFd)> {
    if read {
        let (read, write) = spawn::output_pipe()?;
        Ok((Some(read), write))
    } else {
        Ok((None, spawn::dev_null(true)?))
    }
}
