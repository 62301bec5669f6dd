//! Health-triggered transitions: RUNNING <-> UNHEALTHY, restarts through BACKOFF,
//! FATAL past startretries, and the checks of a run across a reload.

use super::*;

fn pass() -> Event {
    Event::Health {
        passed: true,
        message: "TCP connection to 127.0.0.1:80 succeeded".into(),
    }
}

fn fail() -> Event {
    Event::Health {
        passed: false,
        message: "TCP connection to 127.0.0.1:80 refused".into(),
    }
}

#[test]
fn running_starts_health_checks_only_when_configured() {
    let mut f = Fixture::new();
    f.start_spawned();
    f.advance(1_000);
    assert!(!f.send(Event::Timer).contains(&Action::StartHealth));
    let mut f = Fixture::with(health_policy(3, 3));
    f.start_spawned();
    f.advance(1_000);
    assert!(f.send(Event::Timer).contains(&Action::StartHealth));
    assert_eq!(f.life.healthy(), None, "no verdict before the first check");
}

#[test]
fn failures_below_retries_only_warn() {
    let mut f = Fixture::with(health_policy(3, 3));
    f.running();
    let out = f.send(fail());
    assert_eq!(
        logs(&out),
        vec!["web: health check failed (1/3): TCP connection to 127.0.0.1:80 refused"]
    );
    assert!(entered(&out).is_empty());
    assert_eq!(
        f.life.healthy(),
        None,
        "verdict changes only at the threshold"
    );
    f.send(fail());
    assert_eq!(f.state(), State::Running);
}

#[test]
fn pass_sets_healthy_and_logs_recovery_after_failures() {
    let mut f = Fixture::with(health_policy(3, 3));
    f.running();
    f.send(fail());
    let out = f.send(pass());
    assert_eq!(
        logs(&out),
        vec!["web: health check passed after 1 failures"]
    );
    assert_eq!(f.life.healthy(), Some(true));
    assert!(
        logs(&f.send(pass())).is_empty(),
        "quiet when nothing failed"
    );
}

#[test]
fn running_to_unhealthy_at_retries_then_restart_through_backoff() {
    let mut f = Fixture::with(health_policy(2, 3));
    f.running();
    f.send(fail());
    let out = f.send(fail());
    assert_eq!(entered(&out), vec![State::Unhealthy, State::Stopping]);
    assert_eq!(
        logs(&out),
        vec![
            "web: health check failed (2/2): TCP connection to 127.0.0.1:80 refused",
            "web: health check failed 2 times, marking as unhealthy",
            "web: restarting due to health check failures (restart 1/3)",
            "Stopping web",
        ]
    );
    assert!(out.contains(&Action::StopHealth));
    assert_eq!(signals(&out), vec![Signal::SIGTERM]);
    assert_eq!(f.life.healthy(), Some(false));
    // STOPPING -> STOPPED -> BACKOFF 1 s -> STARTING
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(entered(&out), vec![State::Stopped, State::Backoff]);
    assert_eq!(armed(&out), Some(f.now + 1_000));
    f.advance(1_000);
    assert!(f.send(Event::Timer).contains(&Action::Spawn));
}

#[test]
fn health_restarts_back_off_longer_then_go_fatal() {
    // startretries=1, retries=1: spawn, fail, restart 1/1, spawn, fail, FATAL.
    let mut f = Fixture::with(health_policy(1, 1));
    f.running();
    let out = f.send(fail());
    assert!(logs(&out)
        .contains(&"web: restarting due to health check failures (restart 1/1)".to_string()));
    f.send(Event::Exited(Exit::Signal(15)));
    f.advance(1_000);
    f.send(Event::Timer);
    f.send(Event::Spawned { pid: 42 });
    f.advance(1_000);
    f.send(Event::Timer);
    assert_eq!(f.state(), State::Running);
    let out = f.send(fail());
    assert!(logs(&out).contains(
        &"web: still unhealthy after 1 health-triggered restarts; giving up (FATAL)".to_string()
    ));
    assert_eq!(f.state(), State::Stopping);
    assert!(!f.life.wants_run());
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(entered(&out), vec![State::Stopped, State::Fatal]);
}

#[test]
fn health_restart_count_grows_the_backoff_and_a_pass_resets_it() {
    let mut f = Fixture::with(health_policy(1, 5));
    f.running();
    f.send(fail());
    f.send(Event::Exited(Exit::Signal(15)));
    f.advance(1_000);
    f.send(Event::Timer);
    f.send(Event::Spawned { pid: 50 });
    f.advance(1_000);
    f.send(Event::Timer);
    f.send(fail());
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(
        armed(&out),
        Some(f.now + 2_000),
        "second health restart waits 2 s"
    );
    f.advance(2_000);
    f.send(Event::Timer);
    f.send(Event::Spawned { pid: 51 });
    f.advance(1_000);
    f.send(Event::Timer);
    f.send(pass());
    f.send(fail());
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(armed(&out), Some(f.now + 1_000), "a pass reset the count");
}

#[test]
fn unhealthy_without_autorestart_keeps_checking_and_recovers() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..health_policy(2, 3)
    });
    f.running();
    f.send(fail());
    let out = f.send(fail());
    assert_eq!(entered(&out), vec![State::Unhealthy]);
    assert!(!out.contains(&Action::StopHealth), "checks go on");
    let out = f.send(fail());
    assert_eq!(
        logs(&out),
        vec![
            "web: health check failed (3/2): TCP connection to 127.0.0.1:80 refused",
            "web: health check failed 3 times, marking as unhealthy",
        ]
    );
    let out = f.send(pass());
    assert_eq!(entered(&out), vec![State::Running]);
    assert_eq!(f.life.healthy(), Some(true));
}

#[test]
fn retries_zero_acts_as_one() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..health_policy(0, 3)
    });
    f.running();
    let out = f.send(fail());
    assert_eq!(entered(&out), vec![State::Unhealthy]);
}

#[test]
fn verdict_belongs_to_the_current_run() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..health_policy(1, 3)
    });
    f.running();
    f.send(fail());
    assert_eq!(f.life.healthy(), Some(false));
    f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(f.life.healthy(), None, "no FAIL shown once the run is over");
}

#[test]
fn stop_and_exit_end_health_checks() {
    let mut f = Fixture::with(health_policy(3, 3));
    f.running();
    assert!(f.send(Event::Stop).contains(&Action::StopHealth));
    let mut f = Fixture::with(health_policy(3, 3));
    f.running();
    f.advance(5_000);
    assert!(f
        .send(Event::Exited(Exit::Code(0)))
        .contains(&Action::StopHealth));
}

#[test]
fn explicit_stop_during_health_restart_settles_stopped() {
    let mut f = Fixture::with(health_policy(1, 3));
    f.running();
    f.send(fail());
    assert_eq!(f.state(), State::Stopping);
    f.send(Event::Stop);
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert_eq!(entered(&out), vec![State::Stopped]);
}

#[test]
fn late_health_result_is_ignored() {
    let mut f = Fixture::with(health_policy(1, 3));
    f.running();
    f.send(Event::Stop);
    assert!(f.send(fail()).is_empty());
}

#[test]
fn start_on_unhealthy_is_already_running() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..health_policy(1, 3)
    });
    f.running();
    f.send(fail());
    assert_eq!(f.state(), State::Unhealthy);
    assert!(f.send(Event::Start).is_empty());
}

#[test]
fn a_reload_does_not_change_the_checks_of_the_run_going() {
    let mut f = Fixture::with(Policy {
        autorestart: false,
        ..health_policy(5, 3)
    });
    f.running();
    f.life.set_policy(Policy {
        autorestart: false,
        ..health_policy(1, 3)
    });
    let out = f.send(fail());
    assert_eq!(
        logs(&out),
        vec!["web: health check failed (1/5): TCP connection to 127.0.0.1:80 refused"]
    );
    assert_eq!(f.state(), State::Running);
}

#[test]
fn checks_removed_by_reload_still_end_with_the_run() {
    let mut f = Fixture::with(health_policy(3, 3));
    f.running();
    f.life.set_policy(policy());
    assert!(f.send(Event::Stop).contains(&Action::StopHealth));
    let out = f.send(Event::Exited(Exit::Signal(15)));
    assert!(!out.contains(&Action::StopHealth), "only once");
}
