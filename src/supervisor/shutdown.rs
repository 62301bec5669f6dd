//! Shutdown: the front-ends close, every instance stops concurrently with its own stop signal; at
//! shutdown_timeout whatever is left (lingering groups included) is SIGKILLed; then the
//! last steps, with the pidfile released last.

use std::time::Duration;

use super::{Shutdown, Supervisor};
use crate::reactor::{LoopTimer, TimerKey};
use log::{info, warn};

/// How long to wait for the last process groups after the shutdown SIGKILL.
const SHUTDOWN_KILL_GRACE: Duration = Duration::from_secs(2);
/// At shutdown, how often to look whether lingering groups are gone.
const LINGERING_RECHECK: Duration = Duration::from_millis(100);

impl Supervisor {
    pub(super) fn begin_shutdown(&mut self) {
        if self.shutdown != Shutdown::Running {
            return;
        }
        info!("Shutting down...");
        self.shutdown = Shutdown::Stopping;
        if let Some(timer) = self.restart.take() {
            self.core.reactor().disarm(timer);
        }
        for frontend in &mut self.frontends {
            frontend.close(&mut self.core);
        }
        self.core.stop_accepting();
        self.stages = self.core.shutdown_stages();
        self.stages.reverse();
        self.next_stage();
        let timeout = self.core.config().global.shutdown_timeout;
        let key = TimerKey::Loop(LoopTimer::ShutdownTimeout);
        self.core.reactor().arm_in(timeout, key);
        self.check_shutdown_done();
    }

    /// supervisord's restart: every program stops (in shutdown order), then the config
    /// is read again (a file that no longer loads keeps the old one) and the autostart
    /// programs start. The control socket stays; calls meanwhile get SHUTDOWN_STATE.
    pub(super) fn begin_restart(&mut self) {
        if self.shutdown != Shutdown::Running || self.restart.is_some() {
            return;
        }
        info!("Restarting: stopping every program, then reading the config again");
        self.core.stop_accepting();
        self.stages = self.core.shutdown_stages();
        self.stages.reverse();
        self.next_stage();
        let timeout = self.core.config().global.shutdown_timeout;
        let key = TimerKey::Loop(LoopTimer::ShutdownTimeout);
        self.restart = Some(self.core.reactor().arm_in(timeout, key));
        self.check_restart_done();
    }

    /// A restart's stop took shutdown_timeout: what is left is SIGKILLed, and the restart
    /// goes on once it is gone.
    pub(super) fn restart_timed_out(&mut self) {
        warn!(
            "Restart: stop timed out, killing the remaining process groups: {}",
            self.core.live_names().join(", ")
        );
        self.stages.clear();
        self.core.kill_all();
    }

    pub(super) fn check_restart_done(&mut self) {
        if self.restart.is_none() {
            return;
        }
        while !self.stages.is_empty() && !self.core.any_child_of(&self.stopping) {
            self.next_stage();
        }
        if self.core.any_child() {
            return;
        }
        if let Some(timer) = self.restart.take() {
            self.core.reactor().disarm(timer);
        }
        self.stopping.clear();
        self.core.resume_accepting();
        if let Err(e) = self.core.reload() {
            warn!("Restart: the config does not load ({e}); starting the old one again");
        }
        self.core.autostart();
        info!("Restart complete");
    }

    /// shutdown_timeout passed: SIGKILL every group still alive, then give them a moment.
    pub(super) fn shutdown_timed_out(&mut self) {
        if self.shutdown != Shutdown::Stopping {
            return;
        }
        let left = self.core.live_names();
        warn!(
            "Shutdown timed out after {}s, killing the remaining process groups: {}",
            self.core.config().global.shutdown_timeout.as_secs(),
            left.join(", ")
        );
        self.shutdown = Shutdown::Killing;
        self.stages.clear();
        self.core.kill_all();
        let key = TimerKey::Loop(LoopTimer::ShutdownGrace);
        self.core.reactor().arm_in(SHUTDOWN_KILL_GRACE, key);
    }

    /// Stops the next batch of instances (all of them at once in Supervice's dialect).
    fn next_stage(&mut self) {
        let Some(stage) = self.stages.pop() else {
            self.stopping.clear();
            return;
        };
        for &id in &stage {
            self.core.stop(id);
        }
        self.stopping = stage;
    }

    pub(super) fn check_shutdown_done(&mut self) {
        self.check_restart_done();
        if !matches!(self.shutdown, Shutdown::Stopping | Shutdown::Killing) {
            return;
        }
        // supervisord's order: the next group only once this one is down.
        while self.shutdown == Shutdown::Stopping
            && !self.stages.is_empty()
            && !self.core.any_child_of(&self.stopping)
        {
            self.next_stage();
        }
        if self.core.any_child() {
            return;
        }
        // Every loop turn lands here: with a recheck armed, its timer looks next, so the
        // /proc scan runs at most every LINGERING_RECHECK and one timer is armed at most.
        if self.shutdown_recheck {
            return;
        }
        if self.core.any_lingering() {
            self.shutdown_recheck = true;
            let key = TimerKey::Loop(LoopTimer::ShutdownRecheck);
            self.core.reactor().arm_in(LINGERING_RECHECK, key);
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
        self.core.drain_all_pumps();
        self.core.report_escaped();
        for frontend in &mut self.frontends {
            frontend.close(&mut self.core);
        }
        // Whatever outlived shutdown_timeout stays recorded for the next start.
        if let Some(state) = self.state.as_mut() {
            state.dirty_now();
        }
        self.save_state();
        if let Some(pidfile) = self.pidfile.take() {
            pidfile.release();
        }
        info!("Shutdown complete");
    }
}
