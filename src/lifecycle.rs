//! The process state machine of one instance, pure: no syscalls, no clock, no logging.
//!
//! `Lifecycle::handle(event, now)` looks up `(state, event)` in one `match` and runs a small
//! named transition; what must happen in the world comes back as `Action`s (spawn, signal
//! the process group, arm or disarm the instance's one timer, log, publish a state change).
//! The supervisor executes them and feeds the results back as events. Time is milliseconds
//! from any origin, so tests drive it with a fake clock.

use std::fmt;

use nix::sys::signal::Signal;

use crate::config::LogLevel as Level;

/// Seconds to wait for the process group to die after SIGKILL.
pub const KILL_GRACE_MS: u64 = 2_000;
/// Backoff delays are `min(max(n, 1), 30)` seconds.
pub const BACKOFF_CAP_SECS: u64 = 30;
/// A run that reached RUNNING but lasted less than this since its spawn is paced 1 s before
/// the respawn, so `startsecs = 0` with a program that exits at once cannot spin.
pub const MIN_RUN_FOR_IMMEDIATE_RESPAWN_MS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
    Unhealthy,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Backoff => "BACKOFF",
            State::Stopping => "STOPPING",
            State::Exited => "EXITED",
            State::Fatal => "FATAL",
            State::Unhealthy => "UNHEALTHY",
        }
    }

    /// Down and staying down: what a stop waits for.
    pub fn is_down(self) -> bool {
        matches!(self, State::Stopped | State::Exited | State::Fatal)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a child ended, as `waitpid` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// Supervice's return code: the exit code, or minus the signal number.
    pub fn rc(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => -s,
        }
    }
}

/// supervisord's `autorestart`, for a run that reached RUNNING and then exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Never,
    /// When the exit code is not in `exitcodes` (supervisord's default).
    Unexpected,
    Always,
}

impl AutoRestart {
    /// supervisord's spelling.
    pub fn name(self) -> &'static str {
        match self {
            AutoRestart::Never => "false",
            AutoRestart::Unexpected => "unexpected",
            AutoRestart::Always => "true",
        }
    }
}

/// The rules of supervisord's state machine, for a program of a supervisord file:
/// a start that fails (spawn error, or an exit within startsecs) goes STARTING → BACKOFF
/// and is retried `startretries` times whatever `autorestart` says, waiting 1 s, 2 s...
/// then FATAL; a run that ended is EXITED, expected when its exit code is in
/// `exitcodes`, and restarted per `autorestart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisord {
    pub autorestart: AutoRestart,
    pub exitcodes: Vec<u8>,
}

/// The settings the state machine acts on; replaced when a reload changes the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub startsecs_ms: u64,
    pub startretries: u32,
    pub autorestart: bool,
    pub stopsignal: Signal,
    pub stopwaitsecs_ms: u64,
    /// Consecutive health failures before UNHEALTHY (0 acts as 1); `None` without checks.
    pub health_retries: Option<u32>,
    /// supervisord's rules instead of Supervice's (`autorestart` above is then unused).
    pub supervisord: Option<Supervisord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Explicit start, autostart, a group start or an addition by reload.
    Start,
    /// Explicit stop, shutdown or removal by reload: stopsignal, then SIGKILL.
    Stop,
    /// SIGKILL at once (`restart --force`, shutdown_timeout).
    Kill,
    /// The program was exec'd (a failure before exec is `SpawnFailed`).
    Spawned {
        pid: i32,
    },
    SpawnFailed {
        permanent: bool,
        reason: String,
    },
    Exited(Exit),
    /// The instance's timer fired.
    Timer,
    /// A health check finished: passed or not, and what it said.
    Health {
        passed: bool,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fork and exec the program, then report `Spawned` or `SpawnFailed`.
    Spawn,
    /// Send a signal to the child's process group.
    Signal(Signal),
    /// Arm the instance's timer for this deadline, replacing any armed one.
    Arm(u64),
    Disarm,
    Log(Level, String),
    Changed {
        from: State,
        to: State,
    },
    /// Begin health checks for the run that just entered RUNNING.
    StartHealth,
    /// End the health checks of the current run.
    StopHealth,
}

/// What follows once a stop completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterStop {
    Nothing,
    /// A health-triggered restart: BACKOFF for this many seconds.
    Backoff(u64),
    /// Health restarts exhausted.
    Fatal,
}

/// Where a stop is in its kill sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// stopsignal sent, waiting stopwaitsecs.
    Signalled,
    /// SIGKILL sent, waiting the grace period.
    Killed,
    /// Still alive after SIGKILL and its grace: stays STOPPING until the exit is seen.
    Stuck,
}

#[derive(Debug, Clone)]
pub struct Lifecycle {
    name: String,
    policy: Policy,
    state: State,
    wants_run: bool,
    /// Consecutive failed start attempts.
    failures: u32,
    pid: Option<i32>,
    spawned_at: u64,
    running_since: Option<u64>,
    kill: Kill,
    after_stop: AfterStop,
    /// Consecutive failed health checks of this run.
    health_failures: u32,
    /// Health-triggered restarts since the last passing check or explicit start.
    health_restarts: u32,
    /// The health verdict of this run, once a check decided it.
    healthy: Option<bool>,
    /// healthcheck_retries of the checks running for this run: a reload does not
    /// change the checks of a run already going. `None` when no checks run.
    run_health: Option<u32>,
    /// Whether the last exit after RUNNING was expected (supervisord's rules).
    expected: Option<bool>,
}

pub type Actions = Vec<Action>;

impl Lifecycle {
    pub fn new(name: impl Into<String>, policy: Policy) -> Self {
        Lifecycle {
            name: name.into(),
            policy,
            state: State::Stopped,
            wants_run: false,
            failures: 0,
            pid: None,
            spawned_at: 0,
            running_since: None,
            kill: Kill::Signalled,
            after_stop: AfterStop::Nothing,
            health_failures: 0,
            health_restarts: 0,
            healthy: None,
            run_health: None,
            expected: None,
        }
    }

    /// Under supervisord's rules, whether the last run's exit code was in `exitcodes`.
    pub fn exit_expected(&self) -> Option<bool> {
        self.expected
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The child while it exists and has not been reaped.
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }

    pub fn wants_run(&self) -> bool {
        self.wants_run
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Takes effect for the next stop and the next spawn; a running child is left alone.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The health verdict of the current run, while its child is alive.
    pub fn healthy(&self) -> Option<bool> {
        self.pid?;
        self.healthy
    }

    /// Whole seconds since this run entered RUNNING, while its child is alive.
    pub fn uptime_secs(&self, now: u64) -> Option<u64> {
        let since = self.running_since?;
        self.pid?;
        Some(now.saturating_sub(since) / 1000)
    }

    pub fn handle(&mut self, event: Event, now: u64, out: &mut Actions) {
        use State::*;
        match (self.state, event) {
            (Running | Unhealthy, Event::Start) => {}
            (Starting, Event::Start) => self.want(),
            (Stopping, Event::Start) => self.want(),
            (Stopped | Exited | Fatal | Backoff, Event::Start) => self.start(now, out),

            (Starting | Running | Unhealthy, Event::Stop) => {
                self.wants_run = false;
                self.signal_stop(now, out);
            }
            (Backoff, Event::Stop | Event::Kill) => {
                self.wants_run = false;
                out.push(Action::Disarm);
                self.enter(Stopped, out);
            }
            (Starting | Running | Unhealthy | Stopping, Event::Kill) => {
                self.wants_run = false;
                self.kill_now(now, out);
            }
            (_, Event::Stop | Event::Kill) => self.wants_run = false,

            (Starting, Event::Spawned { pid }) => self.spawned(pid, now, out),
            (Starting, Event::SpawnFailed { permanent, reason }) => {
                self.spawn_failed(permanent, &reason, now, out)
            }
            (Starting, Event::Timer) => self.running(now, out),
            (Starting, Event::Exited(exit)) => self.early_exit(exit, now, out),
            (Running | Unhealthy, Event::Exited(exit)) => self.run_ended(exit, now, out),
            (Exited, Event::Timer) => self.respawn_due(now, out),
            (Stopping, Event::Exited(_)) => self.stopped(now, out),
            (Stopping, Event::Timer) => self.escalate(now, out),
            (Backoff, Event::Timer) => self.backoff_over(now, out),
            (Running | Unhealthy, Event::Health { passed: true, .. }) => self.health_passed(out),
            (
                Running | Unhealthy,
                Event::Health {
                    passed: false,
                    message,
                },
            ) => self.health_failed(&message, now, out),

            // Late or duplicate reports (a timer that raced a transition, a spawn result
            // or health result for a state that moved on) change nothing.
            (
                _,
                Event::Spawned { .. }
                | Event::SpawnFailed { .. }
                | Event::Timer
                | Event::Health { .. },
            ) => {}
            (_, Event::Exited(_)) => self.pid = None,
        }
    }

    fn want(&mut self) {
        self.wants_run = true;
        self.failures = 0;
        self.health_restarts = 0;
        self.after_stop = AfterStop::Nothing;
    }

    /// STOPPED/EXITED/FATAL/BACKOFF → STARTING, counters cleared.
    fn start(&mut self, now: u64, out: &mut Actions) {
        self.want();
        // BACKOFF, and EXITED under supervisord's rules, may wait on a timer.
        if matches!(self.state, State::Backoff | State::Exited) {
            out.push(Action::Disarm);
        }
        if self.state != State::Stopped {
            self.enter(State::Stopped, out);
        }
        self.spawn(now, out);
    }

    fn spawn(&mut self, now: u64, out: &mut Actions) {
        self.spawned_at = now;
        self.running_since = None;
        self.healthy = None;
        self.enter(State::Starting, out);
        out.push(Action::Spawn);
    }

    /// `Spawned` means the program was exec'd, so with startsecs=0 it is RUNNING at once.
    fn spawned(&mut self, pid: i32, now: u64, out: &mut Actions) {
        self.pid = Some(pid);
        self.spawned_at = now;
        if self.policy.startsecs_ms == 0 {
            self.running(now, out);
        } else {
            out.push(Action::Arm(now.saturating_add(self.policy.startsecs_ms)));
        }
    }

    /// STARTING → RUNNING: survived startsecs.
    fn running(&mut self, now: u64, out: &mut Actions) {
        self.failures = 0;
        self.running_since = Some(now);
        let pid = self.pid.unwrap_or(0);
        self.log(
            out,
            Level::Info,
            format!("Started {} (pid {pid})", self.name),
        );
        self.enter(State::Running, out);
        self.healthy = None;
        self.health_failures = 0;
        self.run_health = self.policy.health_retries;
        if self.run_health.is_some() {
            out.push(Action::StartHealth);
        }
    }

    fn health_passed(&mut self, out: &mut Actions) {
        if self.health_failures > 0 {
            let msg = format!(
                "{}: health check passed after {} failures",
                self.name, self.health_failures
            );
            self.log(out, Level::Info, msg);
        }
        self.health_failures = 0;
        self.health_restarts = 0;
        self.healthy = Some(true);
        if self.state == State::Unhealthy {
            self.enter(State::Running, out);
        }
    }

    /// Counts a failure; at `healthcheck_retries` the run is UNHEALTHY and, with
    /// autorestart, restarted through BACKOFF (or FATAL past startretries).
    fn health_failed(&mut self, message: &str, now: u64, out: &mut Actions) {
        let Some(retries) = self.run_health else {
            return;
        };
        self.health_failures += 1;
        let msg = format!(
            "{}: health check failed ({}/{retries}): {message}",
            self.name, self.health_failures
        );
        self.log(out, Level::Warning, msg);
        if self.health_failures < retries.max(1) {
            return;
        }
        self.healthy = Some(false);
        let msg = format!(
            "{}: health check failed {} times, marking as unhealthy",
            self.name, self.health_failures
        );
        self.log(out, Level::Error, msg);
        self.enter(State::Unhealthy, out);
        if !self.policy.autorestart {
            return;
        }
        self.health_restarts += 1;
        self.health_failures = 0;
        if self.health_restarts > self.policy.startretries {
            let msg = format!(
                "{}: still unhealthy after {} health-triggered restarts; giving up (FATAL)",
                self.name,
                self.health_restarts - 1
            );
            self.log(out, Level::Error, msg);
            self.wants_run = false;
            self.after_stop = AfterStop::Fatal;
        } else {
            let msg = format!(
                "{}: restarting due to health check failures (restart {}/{})",
                self.name, self.health_restarts, self.policy.startretries
            );
            self.log(out, Level::Info, msg);
            self.after_stop = AfterStop::Backoff(u64::from(self.health_restarts));
        }
        self.signal_stop(now, out);
    }

    fn spawn_failed(&mut self, permanent: bool, reason: &str, now: u64, out: &mut Actions) {
        self.pid = None;
        out.push(Action::Disarm);
        if self.policy.supervisord.is_some() {
            // supervisord retries every spawn error (its "spawnerr") through BACKOFF.
            let msg = format!("spawnerr: {reason} ({})", self.name);
            self.log(out, Level::Info, msg);
            return self.supervisord_failed_start(now, out);
        }
        if permanent {
            self.wants_run = false;
            let msg = format!("{} failed permanently: {reason}", self.name);
            self.log(out, Level::Error, msg);
            self.enter(State::Fatal, out);
        } else {
            let msg = format!("Failed to spawn {} (will retry): {reason}", self.name);
            self.log(out, Level::Error, msg);
            self.failed_attempt(now, out);
        }
    }

    /// STARTING → EXITED: gone within startsecs, whatever the exit code.
    fn early_exit(&mut self, exit: Exit, now: u64, out: &mut Actions) {
        self.pid = None;
        out.push(Action::Disarm);
        if self.policy.supervisord.is_some() {
            let msg = format!("exited: {} ({}; not expected)", self.name, exit_text(exit));
            self.log(out, Level::Warning, msg);
            return self.supervisord_failed_start(now, out);
        }
        let secs = self.policy.startsecs_ms / 1000;
        let msg = format!(
            "{} exited before startsecs ({secs}s): start attempt failed",
            self.name
        );
        self.log(out, Level::Warning, msg);
        self.failed_attempt(now, out);
    }

    /// A failed start: EXITED, then BACKOFF, FATAL, or EXITED for good.
    fn failed_attempt(&mut self, now: u64, out: &mut Actions) {
        self.failures += 1;
        self.enter(State::Exited, out);
        if !self.policy.autorestart || !self.wants_run {
            // Nothing follows: the instance stays EXITED until someone starts it.
            self.wants_run = false;
            return;
        }
        if self.failures > self.policy.startretries {
            self.wants_run = false;
            let msg = format!(
                "{}: giving up after {} failed start attempts",
                self.name, self.failures
            );
            self.log(out, Level::Error, msg);
            self.enter(State::Fatal, out);
        } else {
            let delay = u64::from(self.failures).clamp(1, BACKOFF_CAP_SECS);
            self.backoff(delay, now, out);
        }
    }

    /// supervisord: STARTING → BACKOFF, 1 s more each time; FATAL past startretries.
    fn supervisord_failed_start(&mut self, now: u64, out: &mut Actions) {
        self.failures += 1;
        if self.failures > self.policy.startretries {
            self.wants_run = false;
            self.failures = 0;
            let msg = format!(
                "gave up: {} entered FATAL state, too many start retries too quickly",
                self.name
            );
            self.log(out, Level::Info, msg);
            self.enter(State::Backoff, out);
            self.enter(State::Fatal, out);
            return;
        }
        self.backoff(u64::from(self.failures), now, out);
    }

    fn backoff(&mut self, secs: u64, now: u64, out: &mut Actions) {
        self.log(
            out,
            Level::Info,
            format!("Backoff {}: waiting {secs}s", self.name),
        );
        self.enter(State::Backoff, out);
        out.push(Action::Arm(now.saturating_add(secs.saturating_mul(1000))));
    }

    /// RUNNING/UNHEALTHY → EXITED on its own; respawned at once if autorestart.
    fn run_ended(&mut self, exit: Exit, now: u64, out: &mut Actions) {
        self.pid = None;
        self.running_since = None;
        self.failures = 0;
        self.stop_health(out);
        if let Some(rules) = &self.policy.supervisord {
            let expected = matches!(exit, Exit::Code(c) if u8::try_from(c).is_ok_and(|c| rules.exitcodes.contains(&c)));
            let restart = match rules.autorestart {
                AutoRestart::Always => true,
                AutoRestart::Unexpected => !expected,
                AutoRestart::Never => false,
            };
            self.expected = Some(expected);
            let how = if expected { "expected" } else { "not expected" };
            let msg = format!("exited: {} ({}; {how})", self.name, exit_text(exit));
            let level = if expected {
                Level::Info
            } else {
                Level::Warning
            };
            self.log(out, level, msg);
            self.enter(State::Exited, out);
            if !restart || !self.wants_run {
                self.wants_run = false;
                return;
            }
            // A run shorter than a second is respawned a second later (supervisord's loop
            // does the same), so a program that exits at once cannot spin.
            if now.saturating_sub(self.spawned_at) < MIN_RUN_FOR_IMMEDIATE_RESPAWN_MS {
                out.push(Action::Arm(now.saturating_add(1_000)));
            } else {
                self.spawn(now, out);
            }
            return;
        }
        let msg = format!("{} exited with code {}", self.name, exit.rc());
        self.log(out, Level::Info, msg);
        self.enter(State::Exited, out);
        if !self.policy.autorestart || !self.wants_run {
            self.wants_run = false;
            return;
        }
        if now.saturating_sub(self.spawned_at) < MIN_RUN_FOR_IMMEDIATE_RESPAWN_MS {
            self.backoff(1, now, out);
        } else {
            self.spawn(now, out);
        }
    }

    /// EXITED timer (supervisord's rules): the delayed respawn of a short run.
    fn respawn_due(&mut self, now: u64, out: &mut Actions) {
        if self.wants_run {
            self.spawn(now, out);
        }
    }

    fn backoff_over(&mut self, now: u64, out: &mut Actions) {
        if self.wants_run {
            self.spawn(now, out);
        } else {
            self.enter(State::Stopped, out);
        }
    }

    /// The graceful stop: stopsignal to the group, SIGKILL after stopwaitsecs.
    fn signal_stop(&mut self, now: u64, out: &mut Actions) {
        if !self.end_run(out) {
            return;
        }
        self.log(out, Level::Info, format!("Stopping {}", self.name));
        self.enter(State::Stopping, out);
        if self.policy.stopwaitsecs_ms == 0 {
            self.kill_now(now, out);
            return;
        }
        self.kill = Kill::Signalled;
        out.push(Action::Signal(self.policy.stopsignal));
        out.push(Action::Arm(now.saturating_add(self.policy.stopwaitsecs_ms)));
    }

    fn kill_now(&mut self, now: u64, out: &mut Actions) {
        if !self.end_run(out) {
            return;
        }
        self.enter(State::Stopping, out);
        self.kill = Kill::Killed;
        out.push(Action::Signal(Signal::SIGKILL));
        out.push(Action::Arm(now + KILL_GRACE_MS));
    }

    /// The run is being stopped: no more uptime or health checks. Without a child (the
    /// spawn never reported back) it is simply STOPPED; returns whether there is one
    /// to signal.
    fn end_run(&mut self, out: &mut Actions) -> bool {
        self.running_since = None;
        self.stop_health(out);
        if self.pid.is_none() {
            out.push(Action::Disarm);
            self.enter(State::Stopped, out);
            return false;
        }
        true
    }

    /// STOPPING timer: SIGKILL after stopwaitsecs; after the grace, report and wait.
    fn escalate(&mut self, now: u64, out: &mut Actions) {
        match self.kill {
            Kill::Signalled => {
                let msg = format!("{} did not stop, killing process group", self.name);
                self.log(out, Level::Warning, msg);
                self.kill = Kill::Killed;
                out.push(Action::Signal(Signal::SIGKILL));
                out.push(Action::Arm(now + KILL_GRACE_MS));
            }
            Kill::Killed => {
                self.kill = Kill::Stuck;
                let msg = format!(
                    "{}: process group did not die after SIGKILL; leaving state STOPPING",
                    self.name
                );
                self.log(out, Level::Critical, msg);
            }
            Kill::Stuck => {}
        }
    }

    /// STOPPING → STOPPED: the exit of a stopped process is never EXITED.
    fn stopped(&mut self, now: u64, out: &mut Actions) {
        self.pid = None;
        out.push(Action::Disarm);
        self.enter(State::Stopped, out);
        match std::mem::replace(&mut self.after_stop, AfterStop::Nothing) {
            AfterStop::Backoff(secs) if self.wants_run => {
                self.backoff(secs.clamp(1, BACKOFF_CAP_SECS), now, out)
            }
            AfterStop::Fatal => self.enter(State::Fatal, out),
            _ if self.wants_run => self.spawn(now, out),
            _ => {}
        }
    }

    /// Ends the current run's health checks, if it had any going.
    fn stop_health(&mut self, out: &mut Actions) {
        if self.run_health.take().is_some() {
            out.push(Action::StopHealth);
        }
    }

    fn enter(&mut self, to: State, out: &mut Actions) {
        let from = self.state;
        if from != to {
            self.state = to;
            out.push(Action::Changed { from, to });
        }
    }

    fn log(&self, out: &mut Actions, level: Level, message: String) {
        out.push(Action::Log(level, message));
    }
}

/// supervisord's words for an exit: `exit status 1`, `terminated by SIGTERM`.
fn exit_text(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit status {code}"),
        Exit::Signal(signal) => match Signal::try_from(signal) {
            Ok(s) => format!("terminated by {}", s.as_str()),
            Err(_) => format!("terminated by signal {signal}"),
        },
    }
}

#[cfg(test)]
mod tests;
