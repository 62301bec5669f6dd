//! supervisord's rules (SUPERVISORD.md §2.2–2.4), for programs of a supervisord file.

use super::*;

fn rules(autorestart: AutoRestart, startretries: u32) -> Fixture {
    Fixture::with(Policy {
        startretries,
        supervisord: Some(Supervisord {
            autorestart,
            exitcodes: vec![0, 2],
        }),
        ..policy()
    })
}

#[test]
fn a_quick_exit_backs_off_one_second_more_each_time_then_fatal() {
    // Whatever autorestart says: a failed start is retried startretries times.
    let mut f = rules(AutoRestart::Never, 2);
    f.start_spawned();
    let out = f.send(Event::Exited(Exit::Code(0)));
    assert_eq!(entered(&out), vec![State::Backoff], "no EXITED in between");
    assert_eq!(armed(&out), Some(f.now + 1_000));
    assert!(logs(&out)
        .iter()
        .any(|l| l == "exited: web (exit status 0; not expected)"));
    f.advance(1_000);
    let out = f.send(Event::Timer);
    assert_eq!(entered(&out), vec![State::Starting]);
    f.pid += 1;
    f.send(Event::Spawned { pid: f.pid });
    let out = f.send(Event::Exited(Exit::Signal(9)));
    assert_eq!(armed(&out), Some(f.now + 2_000), "the second wait is 2 s");
    f.advance(2_000);
    f.send(Event::Timer);
    f.pid += 1;
    f.send(Event::Spawned { pid: f.pid });
    let out = f.send(Event::Exited(Exit::Code(1)));
    assert_eq!(entered(&out), vec![State::Backoff, State::Fatal]);
    assert!(logs(&out)
        .iter()
        .any(|l| l == "gave up: web entered FATAL state, too many start retries too quickly"));
    assert!(!f.life.wants_run());
}

#[test]
fn a_spawn_error_is_retried_like_a_quick_exit() {
    let mut f = rules(AutoRestart::Unexpected, 1);
    f.send(Event::Start);
    let out = f.send(Event::SpawnFailed {
        permanent: true,
        reason: "can't find command 'nope'".into(),
    });
    assert_eq!(entered(&out), vec![State::Backoff]);
    f.advance(1_000);
    f.send(Event::Timer);
    let out = f.send(Event::SpawnFailed {
        permanent: true,
        reason: "can't find command 'nope'".into(),
    });
    assert_eq!(entered(&out), vec![State::Backoff, State::Fatal]);
}

#[test]
fn unexpected_restarts_only_on_a_code_outside_exitcodes() {
    for (exit, expected) in [
        (Exit::Code(0), true),
        (Exit::Code(2), true),
        (Exit::Code(1), false),
        (Exit::Signal(15), false),
    ] {
        let mut f = rules(AutoRestart::Unexpected, 3);
        f.running();
        f.advance(5_000);
        let out = f.send(Event::Exited(exit));
        assert_eq!(f.life.exit_expected(), Some(expected), "{exit:?}");
        let states = entered(&out);
        if expected {
            assert_eq!(states, vec![State::Exited], "{exit:?} stays EXITED");
        } else {
            assert_eq!(
                states,
                vec![State::Exited, State::Starting],
                "{exit:?} restarts"
            );
        }
    }
}

#[test]
fn true_restarts_always_and_false_never() {
    let mut always = rules(AutoRestart::Always, 3);
    always.running();
    always.advance(5_000);
    let out = always.send(Event::Exited(Exit::Code(0)));
    assert_eq!(entered(&out), vec![State::Exited, State::Starting]);

    let mut never = rules(AutoRestart::Never, 3);
    never.running();
    never.advance(5_000);
    let out = never.send(Event::Exited(Exit::Code(1)));
    assert_eq!(entered(&out), vec![State::Exited]);
    assert!(!never.life.wants_run());
}

#[test]
fn a_run_shorter_than_a_second_is_respawned_a_second_later_and_a_start_cancels_the_wait() {
    let mut f = Fixture::with(Policy {
        startsecs_ms: 0,
        supervisord: Some(Supervisord {
            autorestart: AutoRestart::Always,
            exitcodes: vec![0],
        }),
        ..policy()
    });
    f.start_spawned();
    assert_eq!(f.state(), State::Running);
    f.advance(10);
    let out = f.send(Event::Exited(Exit::Code(0)));
    assert_eq!(entered(&out), vec![State::Exited]);
    assert_eq!(armed(&out), Some(f.now + 1_000));
    f.advance(1_000);
    let out = f.send(Event::Timer);
    assert_eq!(entered(&out), vec![State::Starting]);

    // Again, but a start comes during the wait: the wait's timer goes.
    f.pid += 1;
    f.send(Event::Spawned { pid: f.pid });
    f.advance(10);
    f.send(Event::Exited(Exit::Code(0)));
    let out = f.send(Event::Start);
    assert!(out.contains(&Action::Disarm), "{out:?}");
}
