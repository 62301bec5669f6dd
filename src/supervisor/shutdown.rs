//! Shutdown: every instance stops concurrently with its own stop signal; at
//! shutdown_timeout whatever is left (lingering groups included) is SIGKILLed; then the
//! last steps, with the pidfile released last.

use std::time::Duration;

use log::{info, warn};
use nix::sys::signal::Signal;

use super::{Shutdown, Supervisor, TimerKey};
use crate::lifecycle::Event;
use crate::reconcile;

/// How long to wait for the last process groups after the shutdown SIGKILL.
const SHUTDOWN_KILL_GRACE: Duration = Duration::from_secs(2);
/// At shutdown, how often to look whether lingering groups are gone.
const LINGERING_RECHECK: Duration = Duration::from_millis(100);

impl Supervisor {
    /// Processes that left their program's process group (a new session or group) escape
    /// the stop signals; as a subreaper the daemon is their parent and can name them.
    pub(super) fn report_escaped(&mut self) {
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
            if stat.ppid != me || stat.zombie || !escaped || self.by_pid.contains_key(&pid) {
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

    pub(super) fn begin_shutdown(&mut self) {
        if self.shutdown != Shutdown::Running {
            return;
        }
        info!("Shutting down...");
        self.shutdown = Shutdown::Stopping;
        if let Some(mut socket) = self.socket.take() {
            let _ = self.reactor.registry().deregister(&mut socket.listener);
            socket.close();
        }
        self.drop_clients();
        for index in 0..self.slots.len() {
            self.drive(index, Event::Stop);
        }
        let timeout = self.config.global.shutdown_timeout;
        self.reactor.arm_in(timeout, TimerKey::ShutdownTimeout);
        self.check_shutdown_done();
    }

    /// shutdown_timeout passed: SIGKILL every group still alive, then give them a moment.
    pub(super) fn shutdown_timed_out(&mut self) {
        if self.shutdown != Shutdown::Stopping {
            return;
        }
        let left = self.live_names();
        warn!(
            "Shutdown timed out after {}s, killing the remaining process groups: {}",
            self.config.global.shutdown_timeout.as_secs(),
            left.join(", ")
        );
        self.shutdown = Shutdown::Killing;
        for index in 0..self.slots.len() {
            if self.slot(index).is_some_and(|s| s.life.pid().is_some()) {
                self.drive(index, Event::Kill);
            } else {
                self.signal_lingering(index, Signal::SIGKILL);
            }
        }
        self.reactor
            .arm_in(SHUTDOWN_KILL_GRACE, TimerKey::ShutdownGrace);
    }

    pub(super) fn live_names(&self) -> Vec<String> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.life.pid().is_some() || !s.lingering.is_empty())
            .map(|s| s.config.name.clone())
            .collect()
    }

    pub(super) fn check_shutdown_done(&mut self) {
        if !matches!(self.shutdown, Shutdown::Stopping | Shutdown::Killing)
            || self.slots.iter().flatten().any(|s| s.life.pid().is_some())
        {
            return;
        }
        // Every loop turn lands here: with a recheck armed, its timer looks next, so the
        // /proc scan runs at most every LINGERING_RECHECK and one timer is armed at most.
        if self.shutdown_recheck {
            return;
        }
        if self.any_lingering() {
            self.shutdown_recheck = true;
            self.reactor
                .arm_in(LINGERING_RECHECK, TimerKey::ShutdownRecheck);
        } else {
            self.shutdown = Shutdown::Done;
        }
    }

    pub(super) fn shutdown_recheck_due(&mut self) {
        self.shutdown_recheck = false;
        self.check_shutdown_done();
    }

    /// The last steps, on every exit path: drain what children left in their pipes,
    /// release the pidfile last.
    pub(super) fn finish(&mut self) {
        self.drain_all_pumps();
        self.report_escaped();
        // Whatever outlived shutdown_timeout stays recorded for the next start.
        self.state_dirty = true;
        self.state_written = 0;
        self.save_state();
        if let Some(socket) = self.socket.take() {
            socket.close();
        }
        if let Some(pidfile) = self.pidfile.take() {
            pidfile.release();
        }
        info!("Shutdown complete");
    }
}
