//! The child side of supervision: spawning an instance, reaping exits, and the pumps that move a child's output into its log files.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::Interest;
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::Supervisor;
use crate::config::LogFile;
use crate::lifecycle::{Event, Exit};
use crate::output::RotatingFile;
use crate::reactor::Source;
use crate::reconcile;
use crate::spawn::{self, SpawnError, Stdio};

/// Bytes moved per read from a child's pipe (a pipe holds 64 KiB unless resized).
pub const READ_CHUNK: usize = 256 * 1024;
/// Reads per pump before the loop turns to other work (fairness between children).
const READS_PER_TURN: usize = 16;

/// Moves one pipe's bytes into one rotating file, until EOF. It outlives the child when
/// a descendant still holds the pipe.
pub struct Pump {
    pipe: OwnedFd,
    file: RotatingFile,
    /// Who it belongs to, for messages.
    label: String,
    /// A write error is being reported; cleared by the next successful write.
    failing: bool,
    lost: u64,
}

enum Outcome {
    Drained,
    MoreToRead,
    Closed,
}

impl Supervisor {
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
        let stdout = open_log(&config.stdout)?;
        let stderr = open_log(&config.stderr)?;
        let io_err = |e: io::Error, what: &str| {
            SpawnError::from_errno(Errno::from_raw(e.raw_os_error().unwrap_or(0)), what)
        };
        let (stdout_read, stdout_write) = child_end(&stdout).map_err(|e| io_err(e, "pipe"))?;
        let (stderr_read, stderr_write) = child_end(&stderr).map_err(|e| io_err(e, "pipe"))?;
        let stdin = spawn::dev_null(false).map_err(|e| io_err(e, "/dev/null"))?;

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
        };
        let child = spawn::spawn(spec, stdio)?;
        if let Some(slot) = self.slot_mut(index) {
            // Recorded from the moment of the spawn, not only once RUNNING.
            slot.token = reconcile::spawn_token(child.pid);
        }
        self.state_dirty = true;
        self.by_pid.insert(child.pid, index);
        for (read, file, stream) in [
            (stdout_read, stdout, "stdout"),
            (stderr_read, stderr, "stderr"),
        ] {
            if let (Some(read), Some(file)) = (read, file) {
                self.add_pump(read, file, format!("{} {stream}", config.name));
            }
        }
        Ok(child.pid)
    }

    /// Collects every exited child; never blocks.
    pub(super) fn reap(&mut self) {
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
        let Some(index) = self.by_pid.remove(&pid) else {
            return self.health_script_exited(pid, exit);
        };
        self.note_lingering(index, pid);
        self.state_dirty = true;
        self.drive(index, Event::Exited(exit));
        self.check_shutdown_done();
    }

    fn add_pump(&mut self, pipe: OwnedFd, file: RotatingFile, label: String) {
        let index = match self.pumps.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.pumps.push(None);
                self.pumps.len() - 1
            }
        };
        let token = Source::Output(index).token();
        if let Err(e) = self.reactor.registry().register(
            &mut SourceFd(&pipe.as_raw_fd()),
            token,
            Interest::READABLE,
        ) {
            error!("{label}: cannot watch output pipe, output is lost: {e}");
            return;
        }
        self.pumps[index] = Some(Pump {
            pipe,
            file,
            label,
            failing: false,
            lost: 0,
        });
    }

    /// Readiness on a pump: read a bounded amount, queue it if more is waiting.
    pub(super) fn pump(&mut self, index: usize) {
        match self.pump_turn(index, READS_PER_TURN) {
            Outcome::MoreToRead => {
                if !self.ready_pumps.contains(&index) {
                    self.ready_pumps.push_back(index);
                }
            }
            Outcome::Drained => {}
            Outcome::Closed => self.close_pump(index),
        }
    }

    /// One turn for each pump that still had data, in order.
    pub(super) fn pump_ready(&mut self) {
        for _ in 0..self.ready_pumps.len() {
            if let Some(index) = self.ready_pumps.pop_front() {
                self.pump(index);
            }
        }
    }

    /// At exit: everything already in the pipes goes to the files.
    pub(super) fn drain_all_pumps(&mut self) {
        for index in 0..self.pumps.len() {
            if let Outcome::Closed = self.pump_turn(index, usize::MAX) {
                self.close_pump(index);
            }
        }
    }

    fn pump_turn(&mut self, index: usize, reads: usize) -> Outcome {
        let Some(pump) = self.pumps.get_mut(index).and_then(Option::as_mut) else {
            return Outcome::Drained;
        };
        for _ in 0..reads {
            if let Some(outcome) = pump.copy_turn(&mut self.buffer) {
                return outcome;
            }
        }
        Outcome::MoreToRead
    }

    /// SIGUSR2: every open log file is opened again at its path.
    pub(super) fn reopen_child_logs(&mut self) {
        for pump in self.pumps.iter_mut().flatten() {
            if let Err(e) = pump.file.reopen() {
                error!(
                    "{}: cannot reopen {}: {e}",
                    pump.label,
                    pump.file.path().display()
                );
            }
        }
    }

    fn close_pump(&mut self, index: usize) {
        if let Some(pump) = self.pumps.get_mut(index).and_then(Option::take) {
            let _ = self
                .reactor
                .registry()
                .deregister(&mut SourceFd(&pump.pipe.as_raw_fd()));
            if pump.lost > 0 {
                warn!(
                    "{}: {} bytes of output could not be written",
                    pump.label, pump.lost
                );
            }
        }
        self.ready_pumps.retain(|&i| i != index);
    }
}

impl Pump {
    /// One read into the shared buffer and a write to the file; `None` means keep going.
    fn copy_turn(&mut self, buffer: &mut [u8]) -> Option<Outcome> {
        let n = match nix::unistd::read(&self.pipe, buffer) {
            Ok(0) => return Some(Outcome::Closed),
            Ok(n) => n,
            Err(Errno::EINTR) => return None,
            Err(Errno::EAGAIN) => return Some(Outcome::Drained),
            Err(e) => {
                error!("{}: reading output: {e}", self.label);
                return Some(Outcome::Closed);
            }
        };
        self.write(&buffer[..n]);
        None
    }

    fn report_rotation(&self, rotate_error: Option<crate::output::RotateError>) {
        if let Some(e) = rotate_error {
            error!(
                "{}: cannot rotate {}: {}",
                self.label,
                e.path.display(),
                e.error
            );
        }
    }

    fn recovered(&mut self) {
        if self.failing {
            info!(
                "{}: writing to {} again ({} bytes were lost)",
                self.label,
                self.file.path().display(),
                self.lost
            );
            self.failing = false;
            self.lost = 0;
        }
    }

    fn failed(&mut self, error: &str) {
        if !self.failing {
            error!(
                "{}: cannot write {}: {error}",
                self.label,
                self.file.path().display()
            );
            self.failing = true;
        }
    }

    fn write(&mut self, data: &[u8]) {
        match self.file.write_stream(data) {
            Ok(rotate_error) => {
                self.report_rotation(rotate_error);
                self.recovered();
            }
            Err(e) => {
                self.failed(&e.to_string());
                self.lost += data.len() as u64;
            }
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

fn open_log(log: &Option<LogFile>) -> Result<Option<RotatingFile>, SpawnError> {
    let Some(log) = log else {
        return Ok(None);
    };
    RotatingFile::open(&log.path, log.maxbytes, log.backups)
        .map(Some)
        .map_err(|e| {
            SpawnError::Transient(format!("cannot open log file {}: {e}", log.path.display()))
        })
}

/// A pipe when the stream is captured, else `/dev/null`: (daemon's end, child's end).
fn child_end(file: &Option<RotatingFile>) -> io::Result<(Option<OwnedFd>, OwnedFd)> {
    if file.is_some() {
        let (read, write) = spawn::output_pipe()?;
        Ok((Some(read), write))
    } else {
        Ok((None, spawn::dev_null(true)?))
    }
}
