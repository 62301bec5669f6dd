//! Health checks in the loop: each RUNNING instance with a check has one timer (the start
//! period, then the interval measured from the end of the previous check, or the running
//! check's timeout) and at most one check in flight, registered in the reactor. Nothing
//! here blocks: the TCP connect is non-blocking, the script is a child reaped like any.

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use log::{debug, warn};
use mio::unix::SourceFd;
use mio::Interest;
use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::{Supervisor, TimerKey};
use crate::config::{Health, HealthCheck};
use crate::health::{self, NotStarted, Outcome, Script};
use crate::lifecycle::{Event, Exit};
use crate::reactor::Source;
use crate::spawn;
use crate::timer::TimerId;

/// The checks of one run, with the settings the run started with.
pub(super) struct HealthRun {
    config: Health,
    timer: Option<TimerId>,
    probe: Option<Probe>,
}

enum Probe {
    Tcp(mio::net::TcpStream),
    Script { script: Script, stderr: Vec<u8> },
}

impl Supervisor {
    /// The run entered RUNNING: the first check comes after the start period.
    pub(super) fn start_health(&mut self, index: usize) {
        self.stop_health(index);
        let Some(slot) = self.slot(index) else {
            return;
        };
        let config = slot.config.health.clone();
        if config.check == HealthCheck::None {
            return;
        }
        let timer = self
            .reactor
            .arm_in(config.start_period, TimerKey::Health(index));
        if let Some(slot) = self.slot_mut(index) {
            slot.health = Some(HealthRun {
                config,
                timer: Some(timer),
                probe: None,
            });
        }
    }

    /// The run is over (stopped, exited, restarting): cancel everything it had going.
    pub(super) fn stop_health(&mut self, index: usize) {
        let Some(mut run) = self.slot_mut(index).and_then(|s| s.health.take()) else {
            return;
        };
        if let Some(timer) = run.timer.take() {
            self.reactor.disarm(timer);
        }
        if let Some(probe) = run.probe.take() {
            self.drop_probe(probe);
        }
    }

    /// The health timer: time for a check, or the running check took too long.
    pub(super) fn health_timer(&mut self, index: usize) {
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        run.timer = None;
        let timeout = run.config.timeout.as_secs();
        match run.probe.take() {
            None => self.begin_check(index),
            Some(probe) => {
                let outcome = match (&probe, &run.config.check) {
                    (Probe::Tcp(_), HealthCheck::Tcp { host, port, .. }) => {
                        health::tcp_timeout(host, *port, timeout)
                    }
                    _ => health::script_timeout(timeout),
                };
                self.drop_probe(probe);
                self.check_done(index, outcome);
            }
        }
    }

    fn begin_check(&mut self, index: usize) {
        let Some(slot) = self.slot(index) else {
            return;
        };
        let Some(run) = slot.health.as_ref() else {
            return;
        };
        let timeout = run.config.timeout;
        let started = match run.config.check.clone() {
            HealthCheck::None => return,
            HealthCheck::Tcp { host, port, addr } => {
                health::connect(addr, &host, port).map(Probe::Tcp)
            }
            HealthCheck::Script { command } => {
                let env = spawn::child_env(&self.base_env, &slot.config.environment);
                let credentials = match slot.config.user.as_deref().map(spawn::resolve_user) {
                    Some(Err(e)) => {
                        let message = format!("Health check script error: {e}");
                        return self.check_done(index, Outcome::fail(message));
                    }
                    Some(Ok(c)) => Some(c),
                    None => None,
                };
                let directory = slot.config.directory.clone();
                health::run_script(&command, &env, directory.as_deref(), credentials).map(
                    |script| Probe::Script {
                        script,
                        stderr: Vec::new(),
                    },
                )
            }
        };
        let mut probe = match started {
            Ok(probe) => probe,
            Err(NotStarted::Failed(outcome)) => return self.check_done(index, outcome),
            Err(NotStarted::Machinery(e)) => return self.machinery_error(index, &e),
        };
        if let Err(e) = self.watch_probe(index, &mut probe) {
            self.drop_probe(probe);
            return self.machinery_error(index, &e.to_string());
        }
        let timer = self.reactor.arm_in(timeout, TimerKey::Health(index));
        if let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) {
            run.probe = Some(probe);
            run.timer = Some(timer);
        }
    }

    /// The daemon, not the program, failed to run the check: log it, and try again an
    /// interval later without counting a failure.
    fn machinery_error(&mut self, index: usize, error: &str) {
        let name = self.slot(index).map_or("?", |s| s.config.name.as_str());
        warn!("{name}: health check error: {error}");
        self.schedule_next(index);
    }

    fn watch_probe(&mut self, index: usize, probe: &mut Probe) -> std::io::Result<()> {
        let token = Source::Health(index).token();
        match probe {
            Probe::Tcp(stream) => {
                self.reactor
                    .registry()
                    .register(stream, token, Interest::WRITABLE)
            }
            Probe::Script { script, .. } => {
                self.health_pids.insert(script.child.pid, index);
                self.reactor.registry().register(
                    &mut SourceFd(&script.stderr.as_raw_fd()),
                    token,
                    Interest::READABLE,
                )
            }
        }
    }

    /// Closes a probe: the socket, or the script's whole process group (it is reaped
    /// later and ignored).
    fn drop_probe(&mut self, probe: Probe) {
        match probe {
            Probe::Tcp(mut stream) => {
                let _ = self.reactor.registry().deregister(&mut stream);
            }
            Probe::Script { script, .. } => {
                let pid = script.child.pid;
                if self.health_pids.contains_key(&pid) {
                    let group = nix::unistd::Pid::from_raw(pid);
                    let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
                    self.health_pids.insert(pid, usize::MAX);
                }
                let _ = self
                    .reactor
                    .registry()
                    .deregister(&mut SourceFd(&script.stderr.as_raw_fd()));
            }
        }
    }

    /// Readiness of a check's socket or stderr pipe.
    pub(super) fn health_ready(&mut self, index: usize) {
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        match run.probe.as_mut() {
            Some(Probe::Tcp(stream)) => {
                let HealthCheck::Tcp { host, port, .. } = &run.config.check else {
                    return;
                };
                if let Some(outcome) = health::connected(stream, host, *port) {
                    if let Some(probe) = run.probe.take() {
                        if let Some(timer) = run.timer.take() {
                            self.reactor.disarm(timer);
                        }
                        self.drop_probe(probe);
                    }
                    self.check_done(index, outcome);
                }
            }
            Some(Probe::Script { script, stderr }) => {
                let more = drain_stderr(&script.stderr, stderr);
                if more {
                    self.again(Source::Health(index));
                }
            }
            None => {}
        }
    }

    /// A check script was reaped: its exit decides the outcome (unless it was killed
    /// at its timeout, or its run ended meanwhile).
    pub(super) fn health_script_exited(&mut self, pid: i32, exit: Exit) {
        let Some(index) = self.health_pids.remove(&pid) else {
            return;
        };
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        let ours =
            matches!(&run.probe, Some(Probe::Script { script, .. }) if script.child.pid == pid);
        if !ours {
            return;
        }
        let Some(Probe::Script { script, mut stderr }) = run.probe.take() else {
            return;
        };
        if let Some(timer) = run.timer.take() {
            self.reactor.disarm(timer);
        }
        // One last bounded turn: whatever is left is beyond what is kept, or written by
        // a descendant of the script.
        drain_stderr(&script.stderr, &mut stderr);
        let _ = self
            .reactor
            .registry()
            .deregister(&mut SourceFd(&script.stderr.as_raw_fd()));
        let outcome = health::script_outcome(exit, &stderr);
        self.check_done(index, outcome);
    }

    /// Feeds the outcome to the lifecycle; the next check comes an interval from now.
    fn check_done(&mut self, index: usize, outcome: Outcome) {
        if let Some(slot) = self.slot(index) {
            debug!("{}: {}", slot.config.name, outcome.message);
        }
        self.schedule_next(index);
        self.drive(
            index,
            Event::Health {
                passed: outcome.passed,
                message: outcome.message,
            },
        );
    }

    fn schedule_next(&mut self, index: usize) {
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        let interval: Duration = run.config.interval;
        if let Some(old) = run.timer.take() {
            self.reactor.disarm(old);
        }
        let timer = self.reactor.arm_in(interval, TimerKey::Health(index));
        if let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) {
            run.timer = Some(timer);
        }
    }
}

/// Reads per readiness turn from a check script's stderr.
const STDERR_READS_PER_TURN: usize = 8;

/// Reads what the script wrote to stderr so far, keeping at most `STDERR_KEEP` bytes.
/// Returns whether the turn's budget ran out with more perhaps waiting.
fn drain_stderr(pipe: &impl AsFd, kept: &mut Vec<u8>) -> bool {
    let mut buffer = [0u8; 4096];
    for _ in 0..STDERR_READS_PER_TURN {
        match nix::unistd::read(pipe, &mut buffer) {
            Ok(0) | Err(Errno::EAGAIN) => return false,
            Ok(n) => {
                let room = health::STDERR_KEEP.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_drained_a_bounded_amount_per_turn() -> nix::Result<()> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK)?;
        // More than one turn reads: the pipe holds 64 KiB.
        let chunk = [b'e'; 4096];
        let mut written = 0;
        while let Ok(n) = nix::unistd::write(&write, &chunk) {
            written += n;
        }
        assert!(written > STDERR_READS_PER_TURN * 4096, "wrote {written}");
        let mut kept = Vec::new();
        assert!(drain_stderr(&read, &mut kept), "budget ran out");
        assert!(kept.len() <= health::STDERR_KEEP);
        let mut turns = 1;
        while drain_stderr(&read, &mut kept) {
            turns += 1;
        }
        let full_turns = written.div_ceil(STDERR_READS_PER_TURN * 4096);
        assert!(
            (full_turns..=full_turns + 1).contains(&turns),
            "{turns} turns for {written} bytes"
        );
        Ok(())
    }
}
