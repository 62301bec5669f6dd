//! Operations that wait: a start waits for RUNNING (or a failure), a stop for a down
//! state, a restart for both in turn, a group operation for all its members. The
//! connection is parked with one task per instance; after the state machines move, the
//! tasks on the instances that changed are judged again, and the reply goes out when
//! every task has its outcome or its deadline passed. Nothing here blocks the loop.

use std::collections::HashSet;

use super::Control;
use crate::core::{Core, Id, Notification, State, View};
use crate::rpc::Reply;

/// How long a `restart --force` waits for the killed group before starting again.
const FORCE_KILL_WAIT_MS: u64 = 2_000;
/// A stop's reply comes at most this long after the SIGKILL that follows stopwaitsecs.
const STOP_SETTLE_MS: u64 = 3_000;

/// What a parked connection waits for.
pub(super) struct Op {
    kind: OpKind,
    tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OpKind {
    Start,
    Stop,
    Restart,
    StartGroup(String),
    StopGroup(String),
}

/// One instance's part of an operation.
struct Task {
    slot: Id,
    /// Which instance `slot` held when the task began (the id may be reused later).
    serial: u64,
    name: String,
    step: Step,
    deadline: u64,
    outcome: Option<Result<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Stop,
    /// `restart --force`: SIGKILL sent; start once down or after a short wait.
    Killed,
    /// `restart`: stopping, then starting.
    StopThenStart,
}

/// What a command does to each of its instances.
#[derive(Clone, Copy)]
enum Command {
    Start,
    Stop,
    Kill,
}

fn command(core: &mut Core, slots: &[Id], what: Command) {
    for &slot in slots {
        match what {
            Command::Start => core.start(slot),
            Command::Stop => core.stop(slot),
            Command::Kill => core.kill(slot),
        }
    }
}

/// The instances an operation acts on, or the not-found reply.
fn targets(core: &Core, kind: &OpKind, name: &str) -> Result<Vec<Id>, &'static str> {
    match kind {
        OpKind::StartGroup(_) | OpKind::StopGroup(_) => match core.group(name) {
            Some(members) if !members.is_empty() => Ok(members),
            _ => Err("Group not found"),
        },
        _ => core
            .lookup(name)
            .map(|i| vec![i])
            .ok_or("Process not found"),
    }
}

/// The instance a task is about, unless it was removed (its id may be reused).
fn task_view<'a>(core: &'a Core, task: &Task) -> Option<View<'a>> {
    core.view(task.slot).filter(|v| v.serial == task.serial)
}

impl Control {
    fn op(&self, index: usize) -> Option<&Op> {
        self.client(index)?.op.as_ref()
    }

    fn op_mut(&mut self, index: usize) -> Option<&mut Op> {
        self.client_mut(index)?.op.as_mut()
    }

    pub(super) fn begin_op(&mut self, core: &mut Core, index: usize, kind: OpKind, name: &str) {
        let slots = match targets(core, &kind, name) {
            Ok(slots) => slots,
            Err(message) => return self.answer(core, index, &Reply::error(message)),
        };
        let starting = matches!(kind, OpKind::Start | OpKind::StartGroup(_));
        if kind == OpKind::Start {
            let state = core.view(slots[0]).map(|v| v.state);
            if matches!(state, Some(State::Running | State::Unhealthy)) {
                let reply = Reply::ok(&format!("{name} is already running"));
                return self.answer(core, index, &reply);
            }
        }
        let now = core.now();
        let tasks = slots
            .iter()
            .filter_map(|&slot| {
                let v = core.view(slot)?;
                let (step, deadline) = if starting {
                    (Step::Start, now.saturating_add(start_wait_ms(&v)))
                } else if kind == OpKind::Restart {
                    (Step::StopThenStart, now.saturating_add(stop_wait_ms(&v)))
                } else {
                    (Step::Stop, now.saturating_add(stop_wait_ms(&v)))
                };
                Some(Task {
                    slot,
                    serial: v.serial,
                    name: v.name.to_string(),
                    step,
                    deadline,
                    outcome: None,
                })
            })
            .collect();
        self.park(core, index, Op { kind, tasks });
        let what = if starting {
            Command::Start
        } else {
            Command::Stop
        };
        command(core, &slots, what);
        self.check_op(core, index, None);
    }

    pub(super) fn begin_force_restart(&mut self, core: &mut Core, index: usize, name: &str) {
        let slots = match targets(core, &OpKind::Restart, name) {
            Ok(slots) => slots,
            Err(message) => return self.answer(core, index, &Reply::error(message)),
        };
        let slot = slots[0];
        let now = core.now();
        let task = Task {
            slot,
            serial: core.view(slot).map_or(0, |v| v.serial),
            name: name.to_string(),
            step: Step::Killed,
            deadline: now.saturating_add(FORCE_KILL_WAIT_MS),
            outcome: None,
        };
        let op = Op {
            kind: OpKind::Restart,
            tasks: vec![task],
        };
        self.park(core, index, op);
        command(core, &[slot], Command::Kill);
        self.check_op(core, index, None);
    }

    fn park(&mut self, core: &mut Core, index: usize, op: Op) {
        let deadline = op.tasks.iter().map(|t| t.deadline).min().unwrap_or(0);
        let timer = core.reactor().arm_at(deadline, self.timer_key(index));
        self.set_timer(core, index, Some(timer));
        if let Some(client) = self.client_mut(index) {
            client.op = Some(op);
        }
        self.parked.push(index);
    }

    /// The state machines moved: advance the parked operations that wait on the
    /// instances that changed (or left the table).
    pub(super) fn settle_parked(&mut self, core: &mut Core, notes: &[Notification]) {
        if self.parked.is_empty() {
            return;
        }
        let touched: HashSet<Id> = notes
            .iter()
            .filter_map(|n| match *n {
                Notification::State { id, .. } | Notification::Removed { id } => Some(id),
                _ => None,
            })
            .collect();
        if touched.is_empty() {
            return;
        }
        for index in self.parked.clone() {
            self.check_op(core, index, Some(&touched));
        }
    }

    /// Evaluates the unfinished tasks (all, or those on `only`) against their instances'
    /// states; replies when all are done, else re-arms the timer at the earliest deadline.
    fn check_op(&mut self, core: &mut Core, index: usize, only: Option<&HashSet<Id>>) {
        let mut starts = Vec::new();
        let now = core.now();
        let Some(op) = self.op(index) else {
            self.parked.retain(|&i| i != index);
            return;
        };
        let wanted = |t: &Task| t.outcome.is_none() && only.is_none_or(|o| o.contains(&t.slot));
        let states: Vec<Option<(State, bool)>> = op
            .tasks
            .iter()
            .map(|t| {
                if !wanted(t) {
                    return None;
                }
                task_view(core, t).map(|v| (v.state, v.wants_run))
            })
            .collect();
        let Some(op) = self.op_mut(index) else {
            return;
        };
        let mut moved = false;
        for (task, state) in op.tasks.iter_mut().zip(states) {
            if !wanted(task) {
                continue;
            }
            let Some((state, wants_run)) = state else {
                task.outcome = Some(Err(format!("{} was removed", task.name)));
                moved = true;
                continue;
            };
            let before = (task.step, task.outcome.is_some());
            evaluate(task, state, wants_run, &mut starts);
            moved |= before != (task.step, task.outcome.is_some());
        }
        if !starts.is_empty() {
            // The stop half of a restart is done: start, and keep waiting.
            self.start_after_stop(core, index, &starts, now);
            return self.check_op(core, index, None);
        }
        if moved || only.is_none() {
            self.finish_or_rearm(core, index);
        }
    }

    fn start_after_stop(&mut self, core: &mut Core, index: usize, slots: &[Id], now: u64) {
        for &slot in slots {
            let wait = core.view(slot).map_or(5_000, |v| start_wait_ms(&v));
            if let Some(op) = self.op_mut(index) {
                for task in op.tasks.iter_mut().filter(|t| t.slot == slot) {
                    task.deadline = now.saturating_add(wait);
                }
            }
        }
        command(core, slots, Command::Start);
    }

    /// A parked operation's timer fired: every task past its deadline fails (or, for a
    /// forced restart, moves on to its start).
    pub(super) fn op_deadline(&mut self, core: &mut Core, index: usize) {
        let now = core.now();
        let Some(op) = self.op(index) else {
            return;
        };
        let states: Vec<Option<State>> = op
            .tasks
            .iter()
            .map(|t| task_view(core, t).map(|v| v.state))
            .collect();
        let mut starts = Vec::new();
        if let Some(op) = self.op_mut(index) {
            for (task, state) in op.tasks.iter_mut().zip(states) {
                if task.outcome.is_some() || task.deadline > now {
                    continue;
                }
                let state = state.map_or("REMOVED", State::name);
                task.outcome = match task.step {
                    Step::Start => Some(Err(format!(
                        "{} did not reach RUNNING (state: {state})",
                        task.name
                    ))),
                    Step::Stop | Step::StopThenStart => {
                        Some(Err(format!("{} did not stop (state: {state})", task.name)))
                    }
                    Step::Killed => {
                        task.step = Step::Start;
                        starts.push(task.slot);
                        None
                    }
                };
            }
        }
        if !starts.is_empty() {
            self.start_after_stop(core, index, &starts, now);
        }
        self.check_op(core, index, None);
    }

    fn finish_or_rearm(&mut self, core: &mut Core, index: usize) {
        let Some(op) = self.op_mut(index) else {
            return;
        };
        let remaining = op
            .tasks
            .iter()
            .filter(|t| t.outcome.is_none())
            .map(|t| t.deadline)
            .min();
        if let Some(deadline) = remaining {
            let timer = core.reactor().arm_at(deadline, self.timer_key(index));
            return self.set_timer(core, index, Some(timer));
        }
        let Some(op) = self.client_mut(index).and_then(|c| c.op.take()) else {
            return;
        };
        self.parked.retain(|&i| i != index);
        let body = op_reply(&op);
        self.answer(core, index, &body);
    }
}

/// Judges one task by its instance's state: an outcome, or the restart's turn to start.
fn evaluate(task: &mut Task, state: State, wants_run: bool, starts: &mut Vec<usize>) {
    match task.step {
        Step::Start => {
            if matches!(state, State::Running | State::Unhealthy) {
                task.outcome = Some(Ok(format!("Started {}", task.name)));
            } else if state == State::Fatal {
                let msg = format!("{} failed to start (state: FATAL)", task.name);
                task.outcome = Some(Err(msg));
            } else if matches!(state, State::Exited | State::Stopped) && !wants_run {
                let msg = format!("{} did not reach RUNNING (state: {state})", task.name);
                task.outcome = Some(Err(msg));
            }
        }
        Step::Stop => {
            if state.is_down() {
                task.outcome = Some(Ok(format!("Stopped {}", task.name)));
            }
        }
        Step::StopThenStart | Step::Killed => {
            if state.is_down() {
                task.step = Step::Start;
                starts.push(task.slot);
            }
        }
    }
}

/// The reply once every task of an operation has its outcome.
fn op_reply(op: &Op) -> Vec<u8> {
    let outcome = |t: &Task| t.outcome.clone().unwrap_or_else(|| Err(String::new()));
    match &op.kind {
        OpKind::Start | OpKind::Stop => match op.tasks.first().map(outcome) {
            Some(Ok(message)) => Reply::ok(&message),
            Some(Err(message)) => Reply::error(&message),
            None => Reply::error("Process not found"),
        },
        OpKind::Restart => match op.tasks.first().map(outcome) {
            Some(Ok(_)) => Reply::ok(&format!("Restarted {}", op.tasks[0].name)),
            Some(Err(message)) => Reply::error(&message),
            None => Reply::error("Process not found"),
        },
        OpKind::StartGroup(group) | OpKind::StopGroup(group) => {
            let verb = if matches!(op.kind, OpKind::StartGroup(_)) {
                "Started"
            } else {
                "Stopped"
            };
            let failed: Vec<&str> = op
                .tasks
                .iter()
                .filter(|t| !matches!(t.outcome, Some(Ok(_))))
                .map(|t| t.name.as_str())
                .collect();
            if failed.is_empty() {
                Reply::ok(&format!("{verb} group {group}"))
            } else {
                Reply::error(&format!(
                    "{verb} group {group}, but failed for: {}",
                    failed.join(", ")
                ))
            }
        }
    }
}

/// A start waits max(5 s, startsecs + 5 s) for RUNNING.
fn start_wait_ms(process: &View<'_>) -> u64 {
    let startsecs = u64::try_from(process.startsecs.as_millis()).unwrap_or(u64::MAX);
    startsecs.saturating_add(5_000).max(5_000)
}

/// A stop waits stopwaitsecs for the stop signal, then the SIGKILL and its grace.
fn stop_wait_ms(process: &View<'_>) -> u64 {
    let stopwait = u64::try_from(process.stopwaitsecs.as_millis()).unwrap_or(u64::MAX);
    stopwait.saturating_add(STOP_SETTLE_MS)
}
