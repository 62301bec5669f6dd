//! The core's command API and its notifications, driven directly (no daemon, no socket):
//! what a front-end sees when it starts, signals, stops, removes and re-adds instances.
//! One test function, because reaping is `waitpid(-1)` and two tests in one process would
//! reap each other's children. Every child is killed by its recorded pid before the end.

mod common;

use std::time::{Duration, Instant};

use common::TestDir;
use mio::Events;
use nix::sys::signal::Signal;
use supervice::config;
use supervice::core::{Core, Exit, Id, Notification, State, Stream};
use supervice::reactor::Source;

/// One loop turn as the daemon runs it (without its signal fd: reap every turn), bounded
/// by a 10 ms timer so that a SIGCHLD, which nothing here listens for, is seen promptly.
fn turn(core: &mut Core, events: &mut Events, notes: &mut Vec<Notification>) {
    let wake = core.reactor().arm_in(
        Duration::from_millis(10),
        supervice::reactor::TimerKey::Instance(usize::MAX),
    );
    let busy = core.busy();
    core.reactor().wait(events, busy).expect("poll");
    for event in events.iter() {
        if let Some(source) = Source::from_token(event.token()) {
            core.ready(source);
        }
    }
    core.run_again();
    core.reap();
    while let Some(key) = core.reactor().expired() {
        core.timer(key);
    }
    core.reactor().disarm(wake);
    let mut more = Vec::new();
    core.take_notifications(&mut more);
    notes.extend(more);
}

/// Turns the loop until `done` holds for what was published, for at most 10 s.
fn until(
    core: &mut Core,
    notes: &mut Vec<Notification>,
    what: &str,
    done: impl Fn(&[Notification]) -> bool,
) {
    let mut events = Events::with_capacity(64);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(notes) {
        assert!(
            Instant::now() < deadline,
            "{what}: not seen in 10 s; got {notes:?}"
        );
        turn(core, &mut events, notes);
    }
}

fn states(notes: &[Notification], of: Id) -> Vec<(State, State)> {
    notes
        .iter()
        .filter_map(|n| match *n {
            Notification::State { id, from, to } if id == of => Some((from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn commands_publish_what_happened() {
    let dir = TestDir::new("core-api");
    let path = dir.config(
        "[program:sleeper]\ncommand = sleep 30\nstartsecs = 0\nautorestart = false\n\n\
         [program:talker]\ncommand = sh -c 'printf hello; printf oops >&2; exec sleep 30'\n\
         startsecs = 0\nautorestart = false\nstdout_logfile = {dir}/talker.out\n\
         stderr_logfile = {dir}/talker.err\n",
    );
    let mut core = Core::new(config::load(&path).expect("config loads")).expect("core");
    let mut notes = Vec::new();
    core.take_notifications(&mut notes);
    let sleeper = core.lookup("sleeper").expect("sleeper is in the table");
    let talker = core.lookup("talker").expect("talker is in the table");
    assert!(notes.contains(&Notification::Added { id: sleeper }));
    assert!(notes.contains(&Notification::Added { id: talker }));
    assert_eq!(core.lookup("nobody"), None);
    assert_eq!(core.group("sleeper"), Some(vec![sleeper]));
    assert_eq!(core.group("nobody"), None);

    // start: STOPPED -> STARTING, the spawn, STARTING -> RUNNING (startsecs = 0), in order.
    notes.clear();
    core.start(sleeper);
    core.take_notifications(&mut notes);
    let pid = core.view(sleeper).and_then(|v| v.pid).expect("spawned");
    let mut guard = Children(vec![pid]);
    assert_eq!(
        notes,
        vec![
            Notification::State {
                id: sleeper,
                from: State::Stopped,
                to: State::Starting
            },
            Notification::Spawned { id: sleeper, pid },
            Notification::State {
                id: sleeper,
                from: State::Starting,
                to: State::Running
            },
        ]
    );
    let view = core.view(sleeper).expect("view");
    assert_eq!((view.name, view.state), ("sleeper", State::Running));

    // signal: delivered to the group; the exit is published before the state it causes.
    notes.clear();
    assert!(core.signal(sleeper, Signal::SIGTERM));
    until(&mut core, &mut notes, "sleeper's exit", |n| {
        n.iter().any(|n| {
            matches!(
                n,
                Notification::State {
                    to: State::Exited,
                    ..
                }
            )
        })
    });
    let exited = Notification::Exited {
        id: sleeper,
        pid,
        exit: Exit::Signal(15),
    };
    let at = notes
        .iter()
        .position(|n| *n == exited)
        .expect("Exited published");
    let state_at = notes
        .iter()
        .position(|n| matches!(n, Notification::State { id, .. } if *id == sleeper))
        .expect("state published");
    assert!(
        at < state_at,
        "Exited comes before the state change: {notes:?}"
    );
    assert_eq!(
        states(&notes, sleeper),
        vec![(State::Running, State::Exited)]
    );
    assert!(!core.signal(sleeper, Signal::SIGTERM), "no child to signal");

    // Output: what the child wrote reaches its logs and is published per stream.
    notes.clear();
    core.start(talker);
    let talker_pid = core.view(talker).and_then(|v| v.pid);
    guard.0.extend(talker_pid);
    assert!(talker_pid.is_some(), "talker spawned");
    let bytes = |notes: &[Notification], which: Stream| -> usize {
        notes
            .iter()
            .filter_map(|n| match *n {
                Notification::Output { id, stream, bytes } if id == talker && stream == which => {
                    Some(bytes)
                }
                _ => None,
            })
            .sum()
    };
    until(&mut core, &mut notes, "talker's output", |n| {
        bytes(n, Stream::Stdout) == 5 && bytes(n, Stream::Stderr) == 4
    });
    assert_eq!(dir.read("talker.out"), "hello");
    assert_eq!(core.log_offset(talker, Stream::Stdout), Some(5));
    assert_eq!(core.log_offset(talker, Stream::Stderr), Some(4));
    assert_eq!(
        core.log_offset(sleeper, Stream::Stdout),
        None,
        "not captured"
    );

    // remove: out of the table at once, stopped in the background; its id is freed once
    // the child is reaped and may be reused, but never with the same serial.
    notes.clear();
    let serial = core.view(talker).expect("view").serial;
    let instance = core.instance(talker).expect("config").clone();
    assert_eq!(core.remove(talker).as_deref(), Some("talker"));
    assert_eq!(core.lookup("talker"), None);
    assert!(
        core.views().all(|(id, _)| id != talker),
        "not in status any more"
    );
    until(&mut core, &mut notes, "the removed child's exit", |n| {
        n.iter()
            .any(|n| matches!(n, Notification::Exited { id, .. } if *id == talker))
    });
    assert_eq!(notes.first(), Some(&Notification::Removed { id: talker }));
    assert!(core.view(talker).is_none(), "freed once reaped");
    let again = core.add(instance);
    assert_eq!(again, talker, "the freed id is reused");
    assert_ne!(core.view(again).expect("view").serial, serial);

    // Shutdown: nothing is left, and nothing new starts.
    core.start(sleeper);
    let pid = core.view(sleeper).and_then(|v| v.pid).expect("respawned");
    guard.0.push(pid);
    core.stop_accepting();
    let stages = core.shutdown_stages();
    assert_eq!(
        stages.len(),
        1,
        "Supervice's dialect stops everything at once"
    );
    for id in stages.into_iter().flatten() {
        core.stop(id);
    }
    notes.clear();
    until(&mut core, &mut notes, "every child gone", |_| {
        !core_has_child(pid)
    });
    assert!(!core.any_child());
}

/// Kills the process groups of the recorded children that are still ours and unreaped
/// (a failed assertion leaves them running otherwise; a reaped pid may be someone else's).
struct Children(Vec<i32>);

impl Drop for Children {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if common::ppid_of(pid) == Some(std::process::id() as i32) {
                let group = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
            }
        }
    }
}

/// Whether a pid is still ours and unreaped (`/proc` shows it until it is reaped).
fn core_has_child(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
