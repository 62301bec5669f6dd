//! The control socket inside the one loop: accepting connections, reading one request
//! each, answering at once or parking the connection until the state it waits for is
//! reached (start waits for RUNNING, stop for a down state), and writing the reply.
//!
//! Every connection has exactly one timer: the 5 s read deadline, then the operation's
//! own deadline, then the 5 s write deadline. A client can never stall the loop or
//! anyone else: reads and writes are non-blocking and bounded, and past the connection
//! limit new clients get an error reply at once.

use std::collections::HashSet;
use std::time::Duration;

use log::{debug, warn};
use mio::net::UnixStream;
use mio::Interest;

use super::{Supervisor, TimerKey};
use crate::lifecycle::{Event, State};
use crate::reactor::Source;
use crate::rpc::conn::{Conn, Progress};
use crate::rpc::{Reply, Request};
use crate::timer::TimerId;

/// Simultaneous connections; more are refused with an error reply.
pub const MAX_CLIENTS: usize = 1024;
/// A request must arrive whole within this, and a reply be taken within it.
pub const IO_DEADLINE: Duration = Duration::from_secs(5);
/// Bytes of requests and replies held for all clients together.
const MAX_BUFFERED: usize = 64 * 1024 * 1024;
/// After accept() fails (out of fds), it is tried again this much later.
const ACCEPT_RETRY: Duration = Duration::from_millis(250);
/// A request above this size makes the daemon check `MAX_BUFFERED`.
const LARGE_REQUEST: usize = 64 * 1024;
/// How long a `restart --force` waits for the killed group before starting again.
const FORCE_KILL_WAIT_MS: u64 = 2_000;
/// A stop's reply comes at most this long after the SIGKILL that follows stopwaitsecs.
const STOP_SETTLE_MS: u64 = 3_000;

pub(super) struct Client {
    conn: Conn<UnixStream>,
    timer: Option<TimerId>,
    op: Option<Op>,
    /// Not allowed to control the daemon: every request gets this error.
    refusal: Option<String>,
}

/// What a parked connection waits for.
struct Op {
    kind: OpKind,
    tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OpKind {
    Start,
    Stop,
    Restart,
    StartGroup(String),
    StopGroup(String),
}

/// One instance's part of an operation.
struct Task {
    slot: usize,
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

impl Supervisor {
    pub(super) fn accept_clients(&mut self) {
        loop {
            let Some(socket) = self.socket.as_ref() else {
                return;
            };
            let (stream, _) = match socket.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: the connection stays queued. Readiness will not
                    // be reported again for it, so look again shortly (or as soon as a
                    // connection closes) instead of spinning now.
                    if !self.accept_paused {
                        warn!("accept: {e}; retrying in {ACCEPT_RETRY:?}");
                        self.accept_paused = true;
                        self.reactor.arm_in(ACCEPT_RETRY, TimerKey::AcceptRetry);
                    }
                    return;
                }
            };
            if self.live_clients >= MAX_CLIENTS {
                refuse(stream, "Too many connections");
                continue;
            }
            // A refused peer still gets its request read, so the refusal is what it
            // reads back (closing on a client that is still writing resets the stream).
            let refusal = self.check_peer(&stream).err();
            if let Some(message) = &refusal {
                warn!("{message}");
            }
            self.add_client(stream, refusal);
        }
    }

    /// Only root and the daemon's own user may control it.
    fn check_peer(&self, stream: &UnixStream) -> Result<(), String> {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match getsockopt(stream, PeerCredentials) {
            Ok(cred) => {
                let uid = cred.uid();
                if uid == 0 || uid == self.own_uid {
                    Ok(())
                } else {
                    Err(format!(
                        "Permission denied: uid {uid} (pid {}) may not control this daemon",
                        cred.pid()
                    ))
                }
            }
            Err(e) => Err(format!("Permission denied: cannot identify the peer: {e}")),
        }
    }

    fn add_client(&mut self, mut stream: UnixStream, refusal: Option<String>) {
        let index = match self.clients.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.clients.push(None);
                self.clients.len() - 1
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) =
            self.reactor
                .registry()
                .register(&mut stream, Source::Client(index).token(), interest)
        {
            warn!("cannot watch a client connection: {e}");
            return;
        }
        let timer = self.reactor.arm_in(IO_DEADLINE, TimerKey::Client(index));
        self.clients[index] = Some(Client {
            conn: Conn::new(stream),
            timer: Some(timer),
            op: None,
            refusal,
        });
        self.live_clients += 1;
        // Data may already be waiting; edge-triggered readiness would not say so again.
        self.client_ready(index, true, false);
    }

    pub(super) fn client_ready(&mut self, index: usize, readable: bool, writable: bool) {
        let holds = self.client(index).map_or(0, |c| c.conn.buffered());
        // Requests are small; only a big one makes it worth adding up everyone's.
        let buffered = if holds > LARGE_REQUEST {
            self.clients
                .iter()
                .flatten()
                .map(|c| c.conn.buffered())
                .sum()
        } else {
            holds
        };
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if readable {
            if buffered > MAX_BUFFERED {
                let message = "Server busy: too much pending request data";
                let progress = client.conn.reply(&Reply::error(message));
                return self.client_progress(index, progress);
            }
            let progress = client.conn.on_readable(&mut self.scratch);
            self.client_progress(index, progress);
        }
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if writable {
            let progress = client.conn.on_writable();
            self.client_progress(index, progress);
        }
    }

    fn client_progress(&mut self, index: usize, progress: Progress) {
        match progress {
            Progress::Pending => {}
            Progress::Sent => self.close_client(index),
            Progress::Closed => {
                debug!("client {index} went away before its reply");
                self.close_client(index);
            }
            Progress::Request(request) => {
                match self.client(index).and_then(|c| c.refusal.clone()) {
                    Some(refusal) => self.answer(index, &Reply::error(&refusal)),
                    None => match request {
                        Ok(request) => self.serve(index, request),
                        Err(error) => self.answer(index, &error.reply()),
                    },
                }
            }
        }
    }

    pub(super) fn client_timed_out(&mut self, index: usize) {
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        client.timer = None;
        if client.conn.waiting_for_request() {
            debug!("client {index}: no complete request within {IO_DEADLINE:?}, dropped");
            self.close_client(index);
        } else if client.op.is_some() {
            self.op_deadline(index);
        } else {
            debug!("client {index}: reply not taken within {IO_DEADLINE:?}, dropped");
            self.close_client(index);
        }
    }

    fn close_client(&mut self, index: usize) {
        let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
            return;
        };
        if let Some(timer) = client.timer.take() {
            self.reactor.disarm(timer);
        }
        let _ = self.reactor.registry().deregister(client.conn.stream_mut());
        self.live_clients -= 1;
        if self.accept_paused {
            self.retry_accept();
        }
    }

    /// Accepts what queued while accept() was failing.
    pub(super) fn retry_accept(&mut self) {
        self.accept_paused = false;
        self.accept_clients();
    }

    /// Queues a reply; the write deadline replaces whatever timer the client had.
    fn answer(&mut self, index: usize, body: &[u8]) {
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        client.op = None;
        if let Some(timer) = client.timer.take() {
            self.reactor.disarm(timer);
        }
        let progress = client.conn.reply(body);
        if progress == Progress::Pending {
            let timer = self.reactor.arm_in(IO_DEADLINE, TimerKey::Client(index));
            if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
                client.timer = Some(timer);
            }
        }
        self.client_progress(index, progress);
    }

    /// Closes every connection at shutdown; parked ones are told why, if they listen.
    pub(super) fn drop_clients(&mut self) {
        for index in 0..self.clients.len() {
            let parked = self
                .clients
                .get(index)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.op.is_some());
            if parked {
                if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
                    let _ = client
                        .conn
                        .reply(&Reply::error("Supervice is shutting down"));
                }
            }
            self.close_client(index);
        }
    }

    fn serve(&mut self, index: usize, request: Request) {
        debug!("client {index}: {request:?}");
        if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
            if let Some(timer) = client.timer.take() {
                self.reactor.disarm(timer);
            }
        }
        match request {
            Request::Status => {
                let body = self.status_reply();
                self.answer(index, &body);
            }
            Request::Reload => {
                let body = self.reload_reply();
                self.answer(index, &body);
            }
            Request::Start(name) => self.begin_op(index, OpKind::Start, &name),
            Request::Stop(name) => self.begin_op(index, OpKind::Stop, &name),
            Request::Restart { name, force } => {
                let kind = OpKind::Restart;
                if force {
                    self.begin_force_restart(index, &name);
                } else {
                    self.begin_op(index, kind, &name);
                }
            }
            Request::StartGroup(name) => {
                self.begin_op(index, OpKind::StartGroup(name.clone()), &name)
            }
            Request::StopGroup(name) => {
                self.begin_op(index, OpKind::StopGroup(name.clone()), &name)
            }
        }
    }

    pub(super) fn status_reply(&self) -> Vec<u8> {
        let now = self.reactor.now();
        let mut processes = String::from("[");
        for (n, slot) in self.order.iter().filter_map(|&i| self.slot(i)).enumerate() {
            if n > 0 {
                processes.push_str(", ");
            }
            let mut entry = Reply::new();
            entry.string("name", &slot.config.name);
            entry.string("state", slot.life.state().name());
            match slot.life.pid() {
                Some(pid) => entry.raw("pid", &pid.to_string()),
                None => entry.raw("pid", "null"),
            }
            if let Some(uptime) = slot.life.uptime_secs(now) {
                entry.raw("uptime", &uptime.to_string());
            }
            if let Some(healthy) = slot.life.healthy() {
                entry.raw("healthy", if healthy { "true" } else { "false" });
            }
            processes.push_str(&String::from_utf8_lossy(&entry.finish()));
        }
        processes.push(']');
        let mut reply = Reply::new();
        reply.string("status", "ok");
        reply.raw("processes", &processes);
        reply.finish()
    }

    /// The instances an operation acts on, or the not-found reply.
    fn targets(&self, kind: &OpKind, name: &str) -> Result<Vec<usize>, &'static str> {
        match kind {
            OpKind::StartGroup(_) | OpKind::StopGroup(_) => {
                let members = self.group_members(name);
                if members.is_empty() {
                    Err("Group not found")
                } else {
                    Ok(members)
                }
            }
            _ => self
                .by_name
                .get(name)
                .copied()
                .filter(|&i| self.slot(i).is_some())
                .map(|i| vec![i])
                .ok_or("Process not found"),
        }
    }

    fn begin_op(&mut self, index: usize, kind: OpKind, name: &str) {
        let slots = match self.targets(&kind, name) {
            Ok(slots) => slots,
            Err(message) => return self.answer(index, &Reply::error(message)),
        };
        let starting = matches!(kind, OpKind::Start | OpKind::StartGroup(_));
        if kind == OpKind::Start {
            let state = self.slot(slots[0]).map(|s| s.life.state());
            if matches!(state, Some(State::Running | State::Unhealthy)) {
                return self.answer(index, &Reply::ok(&format!("{name} is already running")));
            }
        }
        let now = self.reactor.now();
        let tasks = slots
            .iter()
            .filter_map(|&slot| {
                let s = self.slot(slot)?;
                let (step, deadline) = if starting {
                    (Step::Start, now + start_wait_ms(s))
                } else if kind == OpKind::Restart {
                    (Step::StopThenStart, now + stop_wait_ms(s))
                } else {
                    (Step::Stop, now + stop_wait_ms(s))
                };
                Some(Task {
                    slot,
                    name: s.config.name.clone(),
                    step,
                    deadline,
                    outcome: None,
                })
            })
            .collect();
        self.park(index, Op { kind, tasks });
        let event = if starting { Event::Start } else { Event::Stop };
        self.drive_all(&slots, event);
        self.check_op(index, None);
    }

    fn begin_force_restart(&mut self, index: usize, name: &str) {
        let slots = match self.targets(&OpKind::Restart, name) {
            Ok(slots) => slots,
            Err(message) => return self.answer(index, &Reply::error(message)),
        };
        let slot = slots[0];
        let now = self.reactor.now();
        let task = Task {
            slot,
            name: name.to_string(),
            step: Step::Killed,
            deadline: now + FORCE_KILL_WAIT_MS,
            outcome: None,
        };
        self.park(
            index,
            Op {
                kind: OpKind::Restart,
                tasks: vec![task],
            },
        );
        self.drive_all(&[slot], Event::Kill);
        self.check_op(index, None);
    }

    fn park(&mut self, index: usize, op: Op) {
        let deadline = op.tasks.iter().map(|t| t.deadline).min().unwrap_or(0);
        let timer = self.reactor.arm_at(deadline, TimerKey::Client(index));
        if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
            client.op = Some(op);
            client.timer = Some(timer);
        }
        self.parked.push(index);
    }

    /// After the state machines moved: advance the parked operations that wait on the
    /// instances that changed.
    pub(super) fn settle_parked(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let touched: HashSet<usize> = self.touched.drain(..).collect();
        for index in self.parked.clone() {
            self.check_op(index, Some(&touched));
        }
    }

    /// Evaluates the unfinished tasks (all, or those on `only`) against their instances'
    /// states; replies when all are done, else re-arms the timer at the earliest deadline.
    fn check_op(&mut self, index: usize, only: Option<&HashSet<usize>>) {
        let mut starts = Vec::new();
        let now = self.reactor.now();
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
                self.task_slot(t)
                    .map(|s| (s.life.state(), s.life.wants_run()))
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
            self.start_after_stop(index, &starts, now);
            return self.check_op(index, None);
        }
        if moved || only.is_none() {
            self.finish_or_rearm(index);
        }
    }

    fn start_after_stop(&mut self, index: usize, slots: &[usize], now: u64) {
        for &slot in slots {
            let wait = self.slot(slot).map_or(5_000, start_wait_ms);
            if let Some(op) = self.op_mut(index) {
                for task in op.tasks.iter_mut().filter(|t| t.slot == slot) {
                    task.deadline = now + wait;
                }
            }
        }
        self.drive_all(slots, Event::Start);
    }

    /// Drives several instances, then settles parked operations once, so none is judged
    /// before all of its instances were told.
    fn drive_all(&mut self, slots: &[usize], event: Event) {
        self.driving += 1;
        for &slot in slots {
            self.drive(slot, event.clone());
        }
        self.driving -= 1;
        self.settle_parked();
    }

    fn client(&self, index: usize) -> Option<&Client> {
        self.clients.get(index)?.as_ref()
    }

    fn op(&self, index: usize) -> Option<&Op> {
        self.clients.get(index)?.as_ref()?.op.as_ref()
    }

    /// The instance a task is about, unless it was removed (its slot may be reused).
    fn task_slot(&self, task: &Task) -> Option<&super::Slot> {
        self.slot(task.slot).filter(|s| s.config.name == task.name)
    }

    fn op_mut(&mut self, index: usize) -> Option<&mut Op> {
        self.clients.get_mut(index)?.as_mut()?.op.as_mut()
    }

    /// A parked operation's timer fired: every task past its deadline fails (or, for a
    /// forced restart, moves on to its start).
    fn op_deadline(&mut self, index: usize) {
        let now = self.reactor.now();
        let Some(op) = self.op(index) else {
            return;
        };
        let states: Vec<Option<State>> = op
            .tasks
            .iter()
            .map(|t| self.task_slot(t).map(|s| s.life.state()))
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
            self.start_after_stop(index, &starts, now);
        }
        self.check_op(index, None);
    }

    fn finish_or_rearm(&mut self, index: usize) {
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
            let timer = self.reactor.arm_at(deadline, TimerKey::Client(index));
            if let Some(old) = self
                .clients
                .get_mut(index)
                .and_then(Option::as_mut)
                .and_then(|c| c.timer.replace(timer))
            {
                self.reactor.disarm(old);
            }
            return;
        }
        let Some(op) = self
            .clients
            .get_mut(index)
            .and_then(Option::as_mut)
            .and_then(|c| c.op.take())
        else {
            return;
        };
        self.parked.retain(|&i| i != index);
        let body = op_reply(&op);
        self.answer(index, &body);
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
fn start_wait_ms(slot: &super::Slot) -> u64 {
    let startsecs = u64::try_from(slot.config.startsecs.as_millis()).unwrap_or(u64::MAX);
    startsecs.saturating_add(5_000).max(5_000)
}

/// A stop waits stopwaitsecs for the stop signal, then the SIGKILL and its grace.
fn stop_wait_ms(slot: &super::Slot) -> u64 {
    let stopwait = u64::try_from(slot.config.stopwaitsecs.as_millis()).unwrap_or(u64::MAX);
    stopwait.saturating_add(STOP_SETTLE_MS)
}

/// Answers a connection we will not serve, without waiting for it.
fn refuse(stream: UnixStream, message: &str) {
    let mut conn = Conn::new(stream);
    let _ = conn.reply(&Reply::error(message));
}
