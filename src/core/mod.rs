//! The core: the process table. It owns the instances and their state machines, their
//! timers, spawning, reaping and the output pumps, and it owns the reactor they all
//! live in. It is driven only through the command API below (`start`, `stop`, `kill`,
//! `signal`, `reload`/`apply`, `add`/`remove`, and the queries) and it never calls a
//! front-end: everything that happens is published as a [`Notification`] into a queue
//! that the loop takes after the current event is handled (see `crate::supervisor`).
//! One thread; nothing here blocks.

mod children;
mod fcgi;
mod health;
mod lingering;
mod pumps;
mod reload;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;
use std::time::Duration;

use log::{debug, error, info, warn};
use nix::sys::signal::Signal;

use crate::config::{Config, Instance, LogLevel};
use crate::lifecycle::{Action, Event, Lifecycle, Policy, Supervisord};
pub use crate::lifecycle::{Exit, State};
use crate::reactor::{Reactor, Source, TimerKey};
use crate::reconcile::Record;
use crate::slab;
use crate::spawn::{self, BaseEnv};
use crate::timer::TimerId;
use pumps::Output;

pub use reload::ReloadSummary;

/// An instance's place in the table. A removed instance's id may be given to a later
/// one: holders that outlive an instance compare `View::serial`.
pub type Id = usize;

/// Which of a child's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Something that happened in the process table, published for whoever waits on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// An instance's state changed.
    State { id: Id, from: State, to: State },
    /// A child was spawned (its process group has the same number).
    Spawned { id: Id, pid: i32 },
    /// A child was reaped.
    Exited { id: Id, pid: i32, exit: Exit },
    /// A child's stream delivered `bytes` bytes to its log.
    Output {
        id: Id,
        stream: Stream,
        bytes: usize,
    },
    /// An instance joined the table (at load or by a reload).
    Added { id: Id },
    /// An instance left the table; it is stopped in the background and its id freed once
    /// its child is gone.
    Removed { id: Id },
    /// The process groups an instance's earlier runs left behind changed.
    Lingering { id: Id },
}

/// What a front-end may know about one instance.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub name: &'a str,
    pub program: &'a str,
    /// Unique for the daemon's life: tells an instance from a later one with its id.
    pub serial: u64,
    pub state: State,
    pub pid: Option<i32>,
    pub uptime_secs: Option<u64>,
    pub healthy: Option<bool>,
    /// Restarting on its own (BACKOFF, autorestart) rather than settled.
    pub wants_run: bool,
    pub startsecs: Duration,
    pub stopwaitsecs: Duration,
}

/// One instance: its config, its state machine and what it holds in the reactor.
struct Slot {
    config: Instance,
    life: Lifecycle,
    serial: u64,
    timer: Option<TimerId>,
    /// The health checks of the current run.
    health: Option<health::HealthRun>,
    /// Removed by a reload: out of the table, kept only until its child is reaped.
    retiring: bool,
    /// The identity token of the current child, recorded in the state file.
    token: Option<String>,
    /// Process groups earlier runs left behind.
    lingering: Vec<lingering::Lingering>,
    /// The FastCGI socket (its URL) the current child holds.
    fcgi: Option<String>,
    /// The write end of the current child's stdin pipe (supervisord's dialect).
    stdin: Option<std::fs::File>,
}

/// The instances and their indexes.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Slot>>,
    /// Indexes of `slots` freed by a reload, reused before the table grows (a scan for a
    /// hole made loading 100,000 instances quadratic).
    free: Vec<usize>,
    /// Instances in status order: config order, reload additions appended.
    order: Vec<usize>,
    by_name: HashMap<String, usize>,
    by_pid: HashMap<i32, usize>,
    /// Health check scripts, by pid: the instance, or usize::MAX once abandoned.
    health_pids: HashMap<i32, usize>,
    next_serial: u64,
}

pub struct Core {
    config: Config,
    reactor: Reactor<TimerKey>,
    table: Table,
    output: Output,
    /// Core sources whose per-turn budget ran out with work left (a pump with more to
    /// read): each gets another turn after the next poll, which then only collects what
    /// is ready instead of sleeping.
    again: VecDeque<Source>,
    base_env: BaseEnv,
    /// Users /etc/passwd listed at the last load, to notice one deleted since.
    passwd: crate::passwd::Passwd,
    /// New work may start; false once shutdown began (a reload adds without starting).
    accepting: bool,
    /// `[fcgi-program:x]` sockets shared by their groups' live processes.
    sockets: fcgi::Sockets,
    actions: Vec<Action>,
    notes: Vec<Notification>,
}

fn policy(instance: &Instance) -> Policy {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Policy {
        startsecs_ms: ms(instance.startsecs),
        startretries: instance.startretries,
        autorestart: instance.autorestart,
        stopsignal: instance.stopsignal,
        stopwaitsecs_ms: ms(instance.stopwaitsecs),
        health_retries: match instance.health.check {
            crate::config::HealthCheck::None => None,
            _ => Some(instance.health.retries),
        },
        supervisord: instance.supervisord.as_ref().map(|k| Supervisord {
            autorestart: k.autorestart,
            exitcodes: k.exitcodes.clone(),
        }),
    }
}

/// Whether `signal` goes to the child's process group (Supervice always; supervisord
/// per stopasgroup/killasgroup) or to its main process only.
fn to_group(instance: &Instance, signal: Signal) -> bool {
    match &instance.supervisord {
        None => true,
        Some(keys) if signal == Signal::SIGKILL => keys.killasgroup,
        Some(keys) => keys.stopasgroup,
    }
}

impl Core {
    /// Builds the process table, every instance stopped. Nothing is spawned yet.
    pub fn new(config: Config) -> io::Result<Core> {
        let mut core = Core {
            config,
            reactor: Reactor::new()?,
            table: Table::default(),
            output: Output::new(),
            again: VecDeque::new(),
            base_env: spawn::base_env(),
            passwd: crate::passwd::Passwd::new(),
            accepting: true,
            sockets: fcgi::Sockets::default(),
            actions: Vec::new(),
            notes: Vec::new(),
        };
        let instances: Vec<Instance> = core.config.instances().collect();
        for instance in instances {
            core.add(instance);
        }
        Ok(core)
    }

    // ----- the command API -----

    /// Appends an instance to the table, stopped.
    pub fn add(&mut self, instance: Instance) -> Id {
        let life = Lifecycle::new(instance.name.clone(), policy(&instance));
        let name = instance.name.clone();
        let table = &mut self.table;
        table.next_serial += 1;
        let slot = Slot {
            config: instance,
            life,
            serial: table.next_serial,
            timer: None,
            health: None,
            retiring: false,
            token: None,
            lingering: Vec::new(),
            fcgi: None,
            stdin: None,
        };
        let index = match table.free.pop() {
            Some(i) => {
                table.slots[i] = Some(slot);
                i
            }
            None => {
                table.slots.push(Some(slot));
                table.slots.len() - 1
            }
        };
        table.order.push(index);
        table.by_name.insert(name, index);
        self.notes.push(Notification::Added { id: index });
        index
    }

    /// Takes an instance out of the table and stops it; its id is freed once its child
    /// is gone. Returns its name.
    pub fn remove(&mut self, id: Id) -> Option<String> {
        let slot = self.slot_mut(id)?;
        slot.retiring = true;
        let name = slot.config.name.clone();
        self.table.order.retain(|&i| i != id);
        if self.table.by_name.get(&name) == Some(&id) {
            self.table.by_name.remove(&name);
        }
        self.notes.push(Notification::Removed { id });
        self.drive(id, Event::Stop);
        self.release_retired(id);
        Some(name)
    }

    /// Asks an instance to run (a stopped, exited or FATAL one is started afresh).
    pub fn start(&mut self, id: Id) {
        self.drive(id, Event::Start);
    }

    /// Asks an instance to stop: its stop signal, then SIGKILL after stopwaitsecs.
    pub fn stop(&mut self, id: Id) {
        self.drive(id, Event::Stop);
    }

    /// SIGKILLs an instance's process group (and lingering groups) now.
    pub fn kill(&mut self, id: Id) {
        self.drive(id, Event::Kill);
    }

    /// Sends a signal to the running child's process group; its state is unchanged (an
    /// exit it causes is handled like any other).
    pub fn signal(&mut self, id: Id, signal: Signal) -> bool {
        let Some(slot) = self.slot(id) else {
            return false;
        };
        let Some(pid) = slot.life.pid() else {
            return false;
        };
        if to_group(&slot.config, signal) {
            signal_and_continue(pid, signal);
        } else if let Err(e) = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal) {
            debug!("signal {signal} to {pid}: {e}");
        }
        true
    }

    /// The order of a shutdown: batches of instances, each stopped once the one before
    /// is down. Supervice stops everything at once; supervisord one group at a time, the
    /// highest priority value first (groups are kept in ascending order).
    pub fn shutdown_stages(&self) -> Vec<Vec<Id>> {
        let all = || self.table.order.clone();
        if self.config.dialect == crate::config::Dialect::Supervice {
            return vec![all()];
        }
        let mut stages: Vec<Vec<Id>> = self
            .config
            .groups
            .iter()
            .rev()
            .filter_map(|g| self.group(&g.name))
            .collect();
        let grouped: std::collections::HashSet<Id> = stages.iter().flatten().copied().collect();
        let rest: Vec<Id> = all()
            .into_iter()
            .filter(|id| !grouped.contains(id))
            .collect();
        stages.push(rest);
        stages.retain(|stage| !stage.is_empty());
        stages
    }

    /// Nothing new starts from now on (shutdown, or the first half of a restart).
    pub fn stop_accepting(&mut self) {
        self.accepting = false;
    }

    /// New work may start again (a restart's second half).
    pub fn resume_accepting(&mut self) {
        self.accepting = true;
    }

    /// Whether new work may start (false while shutting down or restarting).
    pub fn accepting(&self) -> bool {
        self.accepting
    }

    /// Writes to the running child's stdin without waiting: `Err` if it has no stdin
    /// pipe (not running, or Supervice's dialect), if the pipe is closed, or if it is
    /// full (the child is not reading) and not all of `bytes` fit.
    pub fn send_stdin(&mut self, id: Id, bytes: &[u8]) -> Result<(), String> {
        use std::io::Write;
        let slot = self.slot_mut(id).ok_or("no such process")?;
        let pipe = slot.stdin.as_mut().ok_or("no stdin pipe")?;
        let mut rest = bytes;
        while !rest.is_empty() {
            match pipe.write(rest) {
                Ok(0) => return Err("stdin is closed".into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(format!(
                        "stdin is full: the child is not reading ({} of {} bytes written)",
                        bytes.len() - rest.len(),
                        bytes.len()
                    ))
                }
                Err(e) => {
                    slot.stdin = None;
                    return Err(format!("stdin is closed: {e}"));
                }
            }
        }
        Ok(())
    }

    /// Any of these instances still has a child.
    pub fn any_child_of(&self, ids: &[Id]) -> bool {
        ids.iter()
            .any(|&id| self.slot(id).is_some_and(|s| s.life.pid().is_some()))
    }

    /// SIGKILLs every group still alive, lingering ones included.
    pub fn kill_all(&mut self) {
        for id in 0..self.table.slots.len() {
            if self.slot(id).is_some_and(|s| s.life.pid().is_some()) {
                self.drive(id, Event::Kill);
            } else {
                self.signal_lingering(id, Signal::SIGKILL);
            }
        }
    }

    /// Starts every autostart instance.
    pub fn autostart(&mut self) {
        for id in 0..self.table.slots.len() {
            if self.slot(id).is_some_and(|s| s.config.autostart) {
                self.drive(id, Event::Start);
            }
        }
    }

    /// Hands over what happened since the last call, oldest first.
    pub fn take_notifications(&mut self, into: &mut Vec<Notification>) {
        into.clear();
        std::mem::swap(into, &mut self.notes);
    }

    // ----- queries -----

    pub fn lookup(&self, name: &str) -> Option<Id> {
        self.table
            .by_name
            .get(name)
            .copied()
            .filter(|&i| self.slot(i).is_some())
    }

    /// Members of a group in status order, or `None` for no such group.
    pub fn group(&self, name: &str) -> Option<Vec<Id>> {
        let group = self.config.groups.iter().find(|g| g.name == name)?;
        Some(self.ids_where(|s| group.programs.contains(&s.config.program)))
    }

    pub fn view(&self, id: Id) -> Option<View<'_>> {
        let slot = self.slot(id)?;
        Some(View {
            name: &slot.config.name,
            program: &slot.config.program,
            serial: slot.serial,
            state: slot.life.state(),
            pid: slot.life.pid(),
            uptime_secs: slot.life.uptime_secs(self.reactor.now()),
            healthy: slot.life.healthy(),
            wants_run: slot.life.wants_run(),
            startsecs: slot.config.startsecs,
            stopwaitsecs: slot.config.stopwaitsecs,
        })
    }

    /// Every instance in the table, in status order.
    pub fn views(&self) -> impl Iterator<Item = (Id, View<'_>)> + '_ {
        self.table
            .order
            .iter()
            .filter_map(|&id| Some((id, self.view(id)?)))
    }

    /// An instance's whole config.
    pub fn instance(&self, id: Id) -> Option<&Instance> {
        self.slot(id).map(|s| &s.config)
    }

    /// How far a stream's log file has been written (its size), if it is a regular file.
    pub fn log_offset(&self, id: Id, stream: Stream) -> Option<u64> {
        let config = &self.slot(id)?.config;
        let log = match stream {
            Stream::Stdout => config.stdout.as_ref(),
            Stream::Stderr => config.stderr.as_ref(),
        }?;
        let metadata = std::fs::metadata(&log.path).ok()?;
        metadata.is_file().then_some(metadata.len())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The config's warnings, once (logged at startup).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.config.warnings)
    }

    pub fn config_path(&self) -> &Path {
        &self.config.path
    }

    /// Names of the instances whose child or lingering groups are alive.
    pub fn live_names(&self) -> Vec<String> {
        self.slots()
            .filter(|s| s.life.pid().is_some() || !s.lingering.is_empty())
            .map(|s| s.config.name.clone())
            .collect()
    }

    /// Any child not reaped yet.
    pub fn any_child(&self) -> bool {
        self.slots().any(|s| s.life.pid().is_some())
    }

    /// What the state file records: every live child and lingering group.
    pub fn records(&self) -> Vec<Record> {
        self.slots()
            .flat_map(|s| {
                let record = |pid: i32, token: &Option<String>| {
                    Some(Record {
                        name: s.config.name.clone(),
                        pid,
                        pgid: pid,
                        token: token.clone()?,
                        pdeathsig: s.config.pdeathsig,
                        reconcile: s.config.reconcile,
                    })
                };
                let current = s.life.pid().and_then(|pid| record(pid, &s.token));
                let left = s.lingering.iter().filter_map(|l| record(l.pgid, &l.token));
                current.into_iter().chain(left).collect::<Vec<_>>()
            })
            .collect()
    }

    /// Whether a pid is a child the table knows (a main process, not a descendant).
    pub fn is_child(&self, pid: i32) -> bool {
        self.table.by_pid.contains_key(&pid)
    }

    // ----- the loop's hooks -----

    pub fn reactor(&mut self) -> &mut Reactor<TimerKey> {
        &mut self.reactor
    }

    pub fn now(&self) -> u64 {
        self.reactor.now()
    }

    /// An fd event on one of the core's sources.
    pub fn ready(&mut self, source: Source) {
        match source {
            Source::Output(index) => self.pump(index),
            Source::Sink(index) => self.sink_ready(index),
            Source::Health(index) => self.health_ready(index),
            Source::Signals | Source::Front(..) => {}
        }
    }

    /// One of the core's timers fired.
    pub fn timer(&mut self, key: TimerKey) {
        match key {
            TimerKey::Instance(index) => {
                if let Some(slot) = self.slot_mut(index) {
                    slot.timer = None;
                    self.drive(index, Event::Timer);
                }
            }
            TimerKey::Health(index) => self.health_timer(index),
            TimerKey::Front(..) | TimerKey::Loop(_) => {}
        }
    }

    /// Whether a source waits for another turn, or notifications wait for delivery.
    pub fn busy(&self) -> bool {
        !self.again.is_empty() || !self.notes.is_empty()
    }

    /// One more turn for each source whose budget ran out, in order. A source closed
    /// meanwhile (or its index reused) just finds nothing to read.
    pub fn run_again(&mut self) {
        for _ in 0..self.again.len() {
            match self.again.pop_front() {
                Some(Source::Output(index)) => self.pump(index),
                Some(Source::Health(index)) => self.health_ready(index),
                Some(_) | None => {}
            }
        }
    }

    // ----- internals -----

    /// Gives `source` another turn after the next poll.
    fn again(&mut self, source: Source) {
        if !self.again.contains(&source) {
            self.again.push_back(source);
        }
    }

    fn slot(&self, index: usize) -> Option<&Slot> {
        slab::get(&self.table.slots, index)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Slot> {
        slab::get_mut(&mut self.table.slots, index)
    }

    /// The instances in the table (status order) whose slot satisfies `wanted`.
    fn ids_where(&self, wanted: impl Fn(&Slot) -> bool) -> Vec<Id> {
        let order = self.table.order.iter().copied();
        order
            .filter(|&i| self.slot(i).is_some_and(&wanted))
            .collect()
    }

    fn slots(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.table.slots.iter().flatten()
    }

    /// Feeds one event to an instance's state machine and carries out what it decides,
    /// including the events those actions produce (a spawn reports back at once).
    fn drive(&mut self, index: usize, event: Event) {
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        let now = self.reactor.now();
        let Some(slot) = self.slot_mut(index) else {
            return;
        };
        let stopsignal = slot.config.stopsignal;
        let lingering = match event {
            Event::Stop => Some(stopsignal),
            Event::Kill => Some(Signal::SIGKILL),
            _ => None,
        };
        // Groups left behind are stopped with the program only when its stops go to groups.
        let lingering = lingering.filter(|&s| to_group(&slot.config, s));
        slot.life.handle(event, now, &mut actions);
        if let Some(signal) = lingering {
            self.signal_lingering(index, signal);
        }
        let mut next = 0;
        while next < actions.len() {
            let action = actions[next].clone();
            next += 1;
            if let Some(follow_up) = self.act(index, action) {
                let now = self.reactor.now();
                if let Some(slot) = self.slot_mut(index) {
                    slot.life.handle(follow_up, now, &mut actions);
                }
            }
        }
        self.actions = actions;
        self.release_retired(index);
    }

    /// Carries out one action; a spawn returns the event that reports its outcome.
    fn act(&mut self, index: usize, action: Action) -> Option<Event> {
        match action {
            Action::Spawn => return Some(self.spawn(index)),
            Action::Signal(signal) => {
                self.signal(index, signal);
            }
            Action::Arm(deadline) => {
                let id = self.reactor.arm_at(deadline, TimerKey::Instance(index));
                if let Some(old) = self.slot_mut(index).and_then(|s| s.timer.replace(id)) {
                    self.reactor.disarm(old);
                }
            }
            Action::Disarm => {
                if let Some(old) = self.slot_mut(index).and_then(|s| s.timer.take()) {
                    self.reactor.disarm(old);
                }
            }
            Action::Log(level, message) => log_at(level, &message),
            Action::Changed { from, to } => {
                if let Some(slot) = self.slot(index) {
                    debug!("{}: {from} -> {to}", slot.config.name);
                }
                self.notes.push(Notification::State {
                    id: index,
                    from,
                    to,
                });
            }
            Action::StartHealth => self.start_health(index),
            Action::StopHealth => self.stop_health(index),
        }
        None
    }
}

/// Sends `signal` to a process group, then SIGCONT: a stopped (SIGSTOP'd) process would
/// not act on a stop signal until continued. SIGKILL needs no help.
/// (A spawned child has always made its group: spawn returns only after its exec.)
fn signal_and_continue(pgid: i32, signal: Signal) {
    use nix::sys::signal::killpg;
    let group = nix::unistd::Pid::from_raw(pgid);
    let send = |signal: Signal| killpg(group, signal);
    if let Err(e) = send(signal) {
        debug!("signal {signal} to group {pgid}: {e}");
        return;
    }
    if !matches!(signal, Signal::SIGKILL | Signal::SIGCONT) {
        let _ = send(Signal::SIGCONT);
    }
}

fn log_at(level: LogLevel, message: &str) {
    match level {
        LogLevel::Debug => debug!("{message}"),
        LogLevel::Info => info!("{message}"),
        LogLevel::Warning => warn!("{message}"),
        LogLevel::Error => error!("{message}"),
        LogLevel::Critical => critical!("{message}"),
    }
}
