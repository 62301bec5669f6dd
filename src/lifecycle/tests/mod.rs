//! One test per transition of SPEC 4.2 (health rows excepted), driven by a fake clock.

use super::*;
use nix::sys::signal::Signal;

fn policy() -> Policy {
    Policy {
        startsecs_ms: 1_000,
        startretries: 3,
        autorestart: true,
        stopsignal: Signal::SIGTERM,
        stopwaitsecs_ms: 10_000,
        health_retries: None,
        supervisord: None,
    }
}

fn health_policy(retries: u32, startretries: u32) -> Policy {
    Policy {
        health_retries: Some(retries),
        supervisord: None,
        startretries,
        ..policy()
    }
}

/// A lifecycle, the fake clock, and the actions of the last event.
struct Fixture {
    life: Lifecycle,
    now: u64,
    pid: i32,
}

impl Fixture {
    fn new() -> Self {
        Self::with(policy())
    }

    fn with(policy: Policy) -> Self {
        Fixture {
            life: Lifecycle::new("web", policy),
            now: 100_000,
            pid: 1000,
        }
    }

    fn send(&mut self, event: Event) -> Actions {
        let mut out = Vec::new();
        self.life.handle(event, self.now, &mut out);
        out
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// Start, and let the spawn succeed with a fresh pid.
    fn start_spawned(&mut self) -> Actions {
        let mut out = self.send(Event::Start);
        assert!(out.contains(&Action::Spawn), "{out:?}");
        self.pid += 1;
        out.extend(self.send(Event::Spawned { pid: self.pid }));
        out
    }

    /// Start, spawn, and survive startsecs.
    fn running(&mut self) {
        self.start_spawned();
        self.advance(1_000);
        self.send(Event::Timer);
        assert_eq!(self.life.state(), State::Running);
    }

    fn state(&self) -> State {
        self.life.state()
    }
}

/// The states entered, in order.
fn entered(out: &Actions) -> Vec<State> {
    out.iter()
        .filter_map(|a| match a {
            Action::Changed { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}

fn logs(out: &Actions) -> Vec<String> {
    out.iter()
        .filter_map(|a| match a {
            Action::Log(_, m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn armed(out: &Actions) -> Option<u64> {
    out.iter().rev().find_map(|a| match a {
        Action::Arm(t) => Some(*t),
        _ => None,
    })
}

fn signals(out: &Actions) -> Vec<Signal> {
    out.iter()
        .filter_map(|a| match a {
            Action::Signal(s) => Some(*s),
            _ => None,
        })
        .collect()
}

#[test]
fn new_instance_is_stopped_and_idle() {
    let f = Fixture::new();
    assert_eq!(f.state(), State::Stopped);
    assert_eq!(f.life.pid(), None);
    assert!(!f.life.wants_run());
}

#[test]
fn stopped_to_starting_on_start_arms_startsecs() {
    let mut f = Fixture::new();
    let out = f.start_spawned();
    assert_eq!(entered(&out), vec![State::Starting]);
    assert_eq!(armed(&out), Some(f.now + 1_000));
    assert_eq!(f.life.pid(), Some(f.pid));
    assert_eq!(f.life.uptime_secs(f.now), None, "no uptime while STARTING");
}

#[test]
fn starting_to_running_after_startsecs() {
    let mut f = Fixture::new();
    f.start_spawned();
    f.advance(1_000);
    let out = f.send(Event::Timer);
    assert_eq!(entered(&out), vec![State::Running]);
    assert_eq!(logs(&out), vec![format!("Started web (pid {})", f.pid)]);
    f.advance(65_400);
    assert_eq!(
        f.life.uptime_secs(f.now),
        Some(65),
        "uptime counts from RUNNING"
    );
}

#[test]
fn startsecs_zero_is_running_at_once() {
    let mut f = Fixture::with(Policy {
        startsecs_ms: 0,
        ..policy()
    });
    let out = f.start_spawned();
    assert_eq!(entered(&out), vec![State::Starting, State::Running]);
    assert_eq!(armed(&out), None);
}

#[test]
fn startsecs_zero_exec_failure_is_never_running() {
    let mut f = Fixture::with(Policy {
        startsecs_ms: 0,
        ..policy()
    });
    f.send(Event::Start);
    let out = f.send(Event::SpawnFailed {
        permanent: true,
        reason: "exec '/x': Permission denied".into(),
    });
    assert_eq!(entered(&out), vec![State::Fatal]);
    assert_eq!(f.life.pid(), None);
}

#[test]
fn starting_to_exited_to_backoff_on_early_exit_whatever_the_code() {
    for exit in [
        Exit::Code(0),
        Exit::Code(1),
        Exit::Code(127),
        Exit::Signal(9),
    ] {
        let mut f = Fixture::new();
        f.start_spawned();
        f.advance(300);
        let out = f.send(Event::Exited(exit));
        assert_eq!(
            entered(&out),
            vec![State::Exited, State::Backoff],
            "{exit:?}"
        );
        assert!(logs(&out)[0].contains("exited before startsecs (1s): start attempt failed"));
        assert_eq!(logs(&out)[1], "Backoff web: waiting 1s");
        assert_eq!(armed(&out), Some(f.now + 1_000));
        assert_eq!(f.life.pid(), None);
    }
}

#[test]
fn transient_spawn_error_counts_as_failed_attempt() {
    let mut f = Fixture::new();
    f.send(Event::Start);
    let out = f.send(Event::SpawnFailed {
        permanent: false,
        reason: "Command not found: nope".into(),
    });
    assert_eq!(entered(&out), vec![State::Exited, State::Backoff]);
    assert_eq!(
        logs(&out)[0],
        "Failed to spawn web (will retry): Command not found: nope"
    );
}

#[test]
fn permanent_spawn_error_is_fatal_at_once() {
    let mut f = Fixture::new();
    f.send(Event::Start);
    let out = f.send(Event::SpawnFailed {
        permanent: true,
        reason: "Permission denied".into(),
    });
    assert_eq!(entered(&out), vec![State::Fatal]);
    assert_eq!(
        logs(&out),
        vec!["web failed permanently: Permission denied"]
    );
    assert!(!f.life.wants_run());
}

#[test]
fn backoff_to_starting_when_delay_elapses() {
    let mut f = Fixture::new();
    f.start_spawned();
    f.send(Event::Exited(Exit::Code(1)));
    f.advance(1_000);
    let out = f.send(Event::Timer);
    assert_eq!(entered(&out), vec![State::Starting]);
    assert!(out.contains(&Action::Spawn));
}

#[test]
fn linear_backoff_then_fatal_after_startretries_plus_one_failures() {
    // startretries=3: attempt, 1 s, attempt, 2 s, attempt, 3 s, attempt, FATAL.
    let mut f = Fixture::new();
    let mut delays = Vec::new();
    f.start_spawned();
    loop {
        let out = f.send(Event::Exited(Exit::Code(1)));
        if f.state() == State::Fatal {
            assert_eq!(entered(&out), vec![State::Exited, State::Fatal]);
            assert_eq!(
                logs(&out)[1],
                "web: giving up after 4 failed start attempts"
            );
            break;
        }
        let Some(deadline) = armed(&out) else {
            panic!("no backoff armed: {out:?}");
        };
        delays.push(deadline - f.now);
        f.now = deadline;
        let out = f.send(Event::Timer);
        assert!(out.contains(&Action::Spawn));
        f.pid += 1;
        f.send(Event::Spawned { pid: f.pid });
    }
    assert_eq!(delays, vec![1_000, 2_000, 3_000]);
    assert!(!f.life.wants_run());
}

#[test]
fn startretries_zero_means_one_attempt() {
    let mut f = Fixture::with(Policy {
        startretries: 0,
        ..policy()
    });
    f.start_spawned();
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(entered(&out), vec![State::Exited, State::Fatal]);
}

#[test]
fn backoff_is_capped_at_30_seconds() {
    let mut f = Fixture::with(Policy {
        startretries: 100,
        ..policy()
    });
    f.start_spawned();
    let mut last = 0;
    for _ in 0..40 {
        let out = f.send(Event::Exited(Exit::Code(1)));
        last = armed(&out).map_or(0, |t| t - f.now);
        f.now += last;
        f.send(Event::Timer);
        f.send(Event::Spawned { pid: 7 });
    }
    assert_eq!(last, 30_000);
}

#[test]
fn autorestart_false_failed_start_stays_exited_never_fatal() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        startretries: 0,
        ..policy()
    });
    f.start_spawned();
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(entered(&out), vec![State::Exited]);
    assert_eq!(armed(&out), None);
    assert!(
        !f.life.wants_run(),
        "settled: a waiting start can be answered now"
    );
}

#[test]
fn running_to_exited_then_immediate_respawn() {
    let mut f = Fixture::new();
    f.running();
    f.advance(5_000);
    let out = f.send(Event::Exited(Exit::Signal(9)));
    assert_eq!(entered(&out), vec![State::Exited, State::Starting]);
    assert_eq!(logs(&out), vec!["web exited with code -9"]);
    assert!(out.contains(&Action::Spawn));
    assert_eq!(
        armed(&out),
        None,
        "no backoff after a run that reached RUNNING"
    );
}

#[test]
fn running_exit_resets_failures_so_startretries_plus_one_failures_follow() {
    let mut f = Fixture::with(Policy {
        startretries: 1,
        ..policy()
    });
    f.running();
    f.advance(5_000);
    f.send(Event::Exited(Exit::Code(0)));
    f.send(Event::Spawned { pid: 77 });
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(
        entered(&out),
        vec![State::Exited, State::Backoff],
        "first failure"
    );
    f.advance(1_000);
    f.send(Event::Timer);
    f.send(Event::Spawned { pid: 78 });
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(
        entered(&out),
        vec![State::Exited, State::Fatal],
        "second failure"
    );
}

#[test]
fn short_run_with_startsecs_zero_is_paced_not_spun() {
    let mut f = Fixture::with(Policy {
        startsecs_ms: 0,
        ..policy()
    });
    for _ in 0..10 {
        f.start_spawned();
        f.advance(5);
        let out = f.send(Event::Exited(Exit::Code(0)));
        assert_eq!(entered(&out), vec![State::Exited, State::Backoff]);
        assert_eq!(armed(&out), Some(f.now + 1_000));
        f.send(Event::Stop);
    }
}

#[test]
fn running_exit_with_autorestart_false_stays_exited() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..policy()
    });
    f.running();
    f.advance(3_000);
    let out = f.send(Event::Exited(Exit::Code(3)));
    assert_eq!(entered(&out), vec![State::Exited]);
    assert!(!out.contains(&Action::Spawn));
    assert_eq!(f.life.uptime_secs(f.now), None);
}

#[test]
fn running_to_stopping_to_stopped_on_stop() {
    let mut f = Fixture::new();
    f.running();
    let out = f.send(Event::Stop);
    assert_eq!(entered(&out), vec![State::Stopping]);
    assert_eq!(signals(&out), vec![Signal::SIGTERM]);
    assert_eq!(armed(&out), Some(f.now + 10_000));
    assert_eq!(logs(&out), vec!["Stopping web"]);
    assert_eq!(f.life.uptime_secs(f.now), None, "uptime cleared by a stop");
    f.advance(200);
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(
        entered(&out),
        vec![State::Stopped],
        "never EXITED while stopping"
    );
    assert!(out.contains(&Action::Disarm));
    assert_eq!(f.life.pid(), None);
}

#[test]
fn stopsignal_is_the_configured_one() {
    let mut f = Fixture::with(Policy {
        stopsignal: Signal::SIGUSR1,
        ..policy()
    });
    f.running();
    assert_eq!(signals(&f.send(Event::Stop)), vec![Signal::SIGUSR1]);
}

#[test]
fn starting_to_stopping_on_stop() {
    let mut f = Fixture::new();
    f.start_spawned();
    let out = f.send(Event::Stop);
    assert_eq!(entered(&out), vec![State::Stopping]);
    assert_eq!(signals(&out), vec![Signal::SIGTERM]);
}

#[test]
fn stopwaitsecs_escalates_to_sigkill_then_stays_stopping() {
    let mut f = Fixture::new();
    f.running();
    f.send(Event::Stop);
    f.advance(10_000);
    let out = f.send(Event::Timer);
    assert_eq!(signals(&out), vec![Signal::SIGKILL]);
    assert_eq!(logs(&out), vec!["web did not stop, killing process group"]);
    assert_eq!(armed(&out), Some(f.now + KILL_GRACE_MS));
    f.advance(KILL_GRACE_MS);
    let out = f.send(Event::Timer);
    assert_eq!(f.state(), State::Stopping, "unkillable stays STOPPING");
    assert_eq!(
        logs(&out),
        vec!["web: process group did not die after SIGKILL; leaving state STOPPING"]
    );
    assert!(matches!(out[0], Action::Log(Level::Critical, _)));
    f.advance(60_000);
    let out = f.send(Event::Exited(Exit::Signal(9)));
    assert_eq!(
        entered(&out),
        vec![State::Stopped],
        "STOPPED once the exit is seen"
    );
}

#[test]
fn stopwaitsecs_zero_kills_at_once() {
    let mut f = Fixture::with(Policy {
        stopwaitsecs_ms: 0,
        ..policy()
    });
    f.running();
    let out = f.send(Event::Stop);
    assert_eq!(signals(&out), vec![Signal::SIGKILL]);
    assert_eq!(f.state(), State::Stopping);
}

#[test]
fn kill_sends_sigkill_with_grace() {
    let mut f = Fixture::new();
    f.running();
    let out = f.send(Event::Kill);
    assert_eq!(entered(&out), vec![State::Stopping]);
    assert_eq!(signals(&out), vec![Signal::SIGKILL]);
    assert_eq!(armed(&out), Some(f.now + KILL_GRACE_MS));
    assert!(!f.life.wants_run());
}

#[test]
fn kill_while_stopping_escalates_at_once() {
    let mut f = Fixture::new();
    f.running();
    f.send(Event::Stop);
    let out = f.send(Event::Kill);
    assert_eq!(signals(&out), vec![Signal::SIGKILL]);
}

#[test]
fn backoff_to_stopped_on_stop() {
    let mut f = Fixture::new();
    f.start_spawned();
    f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(f.state(), State::Backoff);
    let out = f.send(Event::Stop);
    assert_eq!(entered(&out), vec![State::Stopped]);
    assert!(out.contains(&Action::Disarm));
    assert!(signals(&out).is_empty());
}

#[test]
fn stop_is_idempotent_on_down_states() {
    for down in [State::Stopped, State::Exited, State::Fatal] {
        let mut f = Fixture::with(Policy {
            startretries: 0,
            autorestart: down != State::Exited,
            ..policy()
        });
        if down != State::Stopped {
            f.start_spawned();
            f.send(Event::Exited(Exit::Code(1)));
        }
        assert_eq!(f.state(), down);
        let out = f.send(Event::Stop);
        assert!(out.is_empty(), "{down}: {out:?}");
        assert_eq!(f.state(), down);
    }
}

#[test]
fn start_clears_fatal_through_stopped() {
    let mut f = Fixture::with(Policy {
        startretries: 0,
        ..policy()
    });
    f.start_spawned();
    f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(f.state(), State::Fatal);
    let out = f.send(Event::Start);
    assert_eq!(entered(&out), vec![State::Stopped, State::Starting]);
    assert!(f.life.wants_run());
}

#[test]
fn start_clears_exited_through_stopped() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..policy()
    });
    f.start_spawned();
    f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(f.state(), State::Exited);
    let out = f.send(Event::Start);
    assert_eq!(entered(&out), vec![State::Stopped, State::Starting]);
}

#[test]
fn start_in_backoff_skips_the_delay_and_resets_counters() {
    let mut f = Fixture::with(Policy {
        startretries: 1,
        ..policy()
    });
    f.start_spawned();
    f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(f.state(), State::Backoff);
    let out = f.send(Event::Start);
    assert!(out.contains(&Action::Disarm));
    assert_eq!(entered(&out), vec![State::Stopped, State::Starting]);
    // Counters were reset: two more failures are allowed before FATAL.
    f.send(Event::Spawned { pid: 5 });
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(entered(&out), vec![State::Exited, State::Backoff]);
}

#[test]
fn start_on_running_changes_nothing() {
    let mut f = Fixture::new();
    f.running();
    assert!(f.send(Event::Start).is_empty());
    assert_eq!(f.state(), State::Running);
}

#[test]
fn start_while_stopping_respawns_after_the_exit() {
    let mut f = Fixture::new();
    f.running();
    f.send(Event::Stop);
    assert!(f.send(Event::Start).is_empty());
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(entered(&out), vec![State::Stopped, State::Starting]);
    assert!(out.contains(&Action::Spawn));
}

#[test]
fn stop_before_spawn_result_goes_straight_to_stopped() {
    let mut f = Fixture::new();
    f.send(Event::Start);
    let out = f.send(Event::Stop);
    assert_eq!(entered(&out), vec![State::Stopped]);
    assert!(signals(&out).is_empty());
}

#[test]
fn late_timer_is_ignored() {
    let mut f = Fixture::new();
    f.running();
    assert!(f.send(Event::Timer).is_empty());
    assert_eq!(f.state(), State::Running);
}

#[test]
fn policy_change_applies_to_the_next_stop() {
    let mut f = Fixture::new();
    f.running();
    f.life.set_policy(Policy {
        stopsignal: Signal::SIGINT,
        stopwaitsecs_ms: 3_000,
        ..policy()
    });
    let out = f.send(Event::Stop);
    assert_eq!(signals(&out), vec![Signal::SIGINT]);
    assert_eq!(armed(&out), Some(f.now + 3_000));
}

#[test]
fn enormous_waits_saturate_instead_of_wrapping_to_now() {
    // A wait that wrapped around u64 armed a deadline in the past: "did not stop" at once.
    let mut f = Fixture::with(Policy {
        startsecs_ms: u64::MAX,
        stopwaitsecs_ms: u64::MAX,
        ..policy()
    });
    let out = f.start_spawned();
    assert_eq!(armed(&out), Some(u64::MAX));
    let out = f.send(Event::Stop);
    assert_eq!(signals(&out), vec![Signal::SIGTERM]);
    assert_eq!(armed(&out), Some(u64::MAX));
}

#[test]
fn exit_rc_is_code_or_minus_signal() {
    assert_eq!(Exit::Code(3).rc(), 3);
    assert_eq!(Exit::Signal(15).rc(), -15);
}

mod health;
mod supervisord;
