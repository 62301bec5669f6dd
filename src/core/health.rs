//! Health checks in the loop: each RUNNING instance with a check has one timer (the start
//! period, then the interval measured from the end of the previous check, or the running
//! check's timeout) and at most one check in flight, registered in the reactor. Nothing
//! here blocks: the TCP connect is non-blocking, the script is a child reaped like any,
//! and a host name is resolved at each check by a short-lived child (`getaddrinfo`
//! blocks), whose addresses are then tried in turn within the check's timeout.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use log::{debug, warn};
use mio::unix::SourceFd;
use mio::Interest;
use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::Core;
use crate::config::{Health, HealthCheck};
use crate::health::{self, NotStarted, Outcome, Script};
use crate::lifecycle::{Event, Exit};
use crate::reactor::{Source, TimerKey};
use crate::spawn;
use crate::timer::TimerId;

/// The checks of one run, with the settings the run started with.
pub(super) struct HealthRun {
    config: Health,
    timer: Option<TimerId>,
    probe: Option<Probe>,
}

enum Probe {
    /// A child resolving the check's host name; its stdout is collected.
    Resolve {
        child: Script,
        answer: Vec<u8>,
    },
    /// A connect in flight; `rest` are the host's other addresses, tried next.
    Tcp {
        stream: mio::net::TcpStream,
        rest: Vec<SocketAddr>,
    },
    Script {
        script: Script,
        stderr: Vec<u8>,
    },
}

impl Probe {
    /// The child this probe waits for, if it is one.
    fn child(&self) -> Option<&Script> {
        match self {
            Probe::Resolve { child, .. } => Some(child),
            Probe::Script { script, .. } => Some(script),
            Probe::Tcp { .. } => None,
        }
    }
}

impl Core {
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
                    (
                        Probe::Tcp { .. } | Probe::Resolve { .. },
                        HealthCheck::Tcp { host, port, .. },
                    ) => health::tcp_timeout(host, *port, timeout),
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
            HealthCheck::Tcp {
                host,
                port,
                addr: Some(addr),
            } => health::connect(addr, &host, port).map(|stream| Probe::Tcp {
                stream,
                rest: Vec::new(),
            }),
            HealthCheck::Tcp {
                host,
                port,
                addr: None,
            } => health::run_resolver(&host, port, &self.base_env).map(|child| Probe::Resolve {
                child,
                answer: Vec::new(),
            }),
            HealthCheck::Script { command } => {
                let env = spawn::child_env(&self.base_env, &slot.config.environment);
                let credentials = slot.config.credentials.clone();
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
            Probe::Tcp { stream, .. } => {
                self.reactor
                    .registry()
                    .register(stream, token, Interest::WRITABLE)
            }
            Probe::Script { script: child, .. } | Probe::Resolve { child, .. } => {
                self.table.health_pids.insert(child.child.pid, index);
                self.reactor.registry().register(
                    &mut SourceFd(&child.output.as_raw_fd()),
                    token,
                    Interest::READABLE,
                )
            }
        }
    }

    /// Closes a probe: the socket, or the child's whole process group (it is reaped
    /// later and ignored).
    fn drop_probe(&mut self, probe: Probe) {
        match probe {
            Probe::Tcp { mut stream, .. } => {
                let _ = self.reactor.registry().deregister(&mut stream);
            }
            Probe::Script { script, .. } | Probe::Resolve { child: script, .. } => {
                let pid = script.child.pid;
                if self.table.health_pids.contains_key(&pid) {
                    let group = nix::unistd::Pid::from_raw(pid);
                    let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
                    self.table.health_pids.insert(pid, usize::MAX);
                }
                let _ = self
                    .reactor
                    .registry()
                    .deregister(&mut SourceFd(&script.output.as_raw_fd()));
            }
        }
    }

    /// Readiness of a check's socket or of its child's pipe.
    pub(super) fn health_ready(&mut self, index: usize) {
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        match run.probe.as_mut() {
            Some(Probe::Tcp { stream, rest }) => {
                let HealthCheck::Tcp { host, port, .. } = &run.config.check else {
                    return;
                };
                let Some(outcome) = health::connected(stream, host, *port) else {
                    return;
                };
                let rest = std::mem::take(rest);
                if let Some(probe) = run.probe.take() {
                    self.drop_probe(probe);
                }
                if outcome.passed || rest.is_empty() {
                    self.finish_check(index, outcome);
                } else {
                    self.connect_next(index, rest);
                }
            }
            Some(Probe::Script {
                script: child,
                stderr: output,
            })
            | Some(Probe::Resolve {
                child,
                answer: output,
            }) => {
                let more = drain_stderr(&child.output, output);
                if more {
                    self.again(Source::Health(index));
                }
            }
            None => {}
        }
    }

    /// The check is over before its timeout: cancel the timeout, feed the outcome.
    fn finish_check(&mut self, index: usize, outcome: Outcome) {
        if let Some(timer) = self
            .slot_mut(index)
            .and_then(|s| s.health.as_mut())
            .and_then(|run| run.timer.take())
        {
            self.reactor.disarm(timer);
        }
        self.check_done(index, outcome);
    }

    /// Connects to the first of `addrs` that does not fail at once, keeping the others
    /// for when it fails later; all within the check's timeout, which stays armed.
    fn connect_next(&mut self, index: usize, mut addrs: Vec<SocketAddr>) {
        let Some(HealthCheck::Tcp { host, port, .. }) = self
            .slot(index)
            .and_then(|s| s.health.as_ref())
            .map(|run| run.config.check.clone())
        else {
            return;
        };
        while !addrs.is_empty() {
            let addr = addrs.remove(0);
            let stream = match health::connect(addr, &host, port) {
                Ok(stream) => stream,
                Err(NotStarted::Failed(outcome)) if addrs.is_empty() => {
                    return self.finish_check(index, outcome)
                }
                Err(NotStarted::Failed(_)) => continue,
                Err(NotStarted::Machinery(e)) => return self.machinery_error(index, &e),
            };
            let mut probe = Probe::Tcp {
                stream,
                rest: addrs,
            };
            if let Err(e) = self.watch_probe(index, &mut probe) {
                self.drop_probe(probe);
                return self.machinery_error(index, &e.to_string());
            }
            if let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) {
                run.probe = Some(probe);
            }
            return;
        }
    }

    /// A check script was reaped: its exit decides the outcome (unless it was killed
    /// at its timeout, or its run ended meanwhile).
    pub(super) fn health_script_exited(&mut self, pid: i32, exit: Exit) {
        let Some(index) = self.table.health_pids.remove(&pid) else {
            return;
        };
        let Some(run) = self.slot_mut(index).and_then(|s| s.health.as_mut()) else {
            return;
        };
        let ours = run
            .probe
            .as_ref()
            .and_then(Probe::child)
            .is_some_and(|child| child.child.pid == pid);
        if !ours {
            return;
        }
        let Some(probe) = run.probe.take() else {
            return;
        };
        let target = match &run.config.check {
            HealthCheck::Tcp { host, port, .. } => Some((host.clone(), *port)),
            _ => None,
        };
        let (child, mut output, resolving) = match probe {
            Probe::Script { script, stderr } => (script, stderr, false),
            Probe::Resolve { child, answer } => (child, answer, true),
            Probe::Tcp { .. } => return,
        };
        // One last bounded turn: whatever is left is beyond what is kept, or written by
        // a descendant of the script.
        drain_stderr(&child.output, &mut output);
        let _ = self
            .reactor
            .registry()
            .deregister(&mut SourceFd(&child.output.as_raw_fd()));
        match (resolving, target) {
            (true, Some((host, port))) => match health::parse_resolved(&output, &host, port) {
                Ok(addrs) => self.connect_next(index, addrs),
                Err(outcome) => self.finish_check(index, outcome),
            },
            _ => self.finish_check(index, health::script_outcome(exit, &output)),
        }
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
