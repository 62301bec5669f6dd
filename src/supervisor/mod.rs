//! The supervisor: owns the instances and their state machines, turns signals, exits,
//! timers and RPC requests into lifecycle events, and carries out the actions the
//! state machines return through the reactor. One thread; nothing here blocks.

mod children;
mod control;
mod crash;
mod health;
mod lingering;
mod ops;
mod pumps;
mod reload;
mod shutdown;
mod signals;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::Duration;

use log::{debug, error, info, warn};
use mio::event::Event as MioEvent;
use mio::{Events, Interest};
use nix::sys::signal::Signal;
use signal_hook_mio::v1_0::Signals;

use crate::config::{Config, Instance, LogLevel};
use crate::daemon::{Pidfile, Readiness, Socket};
use crate::lifecycle::{Action, Event, Lifecycle, Policy, State};
use crate::reactor::{Reactor, Source};
use crate::reconcile::{self, StateFile};
use crate::spawn::{self, BaseEnv};
use crate::timer::TimerId;
use control::Client;
use pumps::{Pump, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerKey {
    Instance(usize),
    Client(usize),
    Health(usize),
    ShutdownTimeout,
    ShutdownGrace,
    /// Shutdown waits for lingering groups, which send no SIGCHLD: look again.
    ShutdownRecheck,
    AcceptRetry,
    /// A state file write deferred to keep writes at most every `STATE_WRITE_GAP`.
    StateSave,
}

/// One instance: its config, its state machine and what it holds in the reactor.
struct Slot {
    config: Instance,
    life: Lifecycle,
    timer: Option<TimerId>,
    /// The health checks of the current run.
    health: Option<health::HealthRun>,
    /// Removed by a reload: out of the table, kept only until its child is reaped.
    retiring: bool,
    /// The identity token of the current child, recorded in the state file.
    token: Option<String>,
    /// Process groups earlier runs left behind.
    lingering: Vec<lingering::Lingering>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    Running,
    /// Stop sent to every instance; waiting for them or for shutdown_timeout.
    Stopping,
    /// shutdown_timeout passed: remaining groups SIGKILLed, waiting a short grace.
    Killing,
    Done,
}

pub struct Supervisor {
    config: Config,
    reactor: Reactor<TimerKey>,
    signals: Signals,
    slots: Vec<Option<Slot>>,
    /// Indexes of `slots` freed by a reload, reused before the table grows (a scan for a
    /// hole made loading 100,000 instances quadratic).
    free_slots: Vec<usize>,
    /// Instances in status order: config order, reload additions appended.
    order: Vec<usize>,
    by_name: HashMap<String, usize>,
    by_pid: HashMap<i32, usize>,
    /// Health check scripts, by pid: the instance, or usize::MAX once abandoned.
    health_pids: HashMap<i32, usize>,
    pumps: Vec<Option<Pump>>,
    /// The log files pumps write to.
    sinks: Vec<Option<Sink>>,
    /// The open sink of each log path, shared by every pump that names it.
    sink_by_path: HashMap<std::path::PathBuf, usize>,
    /// Sources whose per-turn budget ran out with work left (a pump with more to read, a
    /// client still sending): each gets another turn after the next poll, which then
    /// only collects what is ready instead of sleeping.
    again: VecDeque<Source>,
    buffer: Vec<u8>,
    base_env: BaseEnv,
    shutdown: Shutdown,
    /// A ShutdownRecheck timer is armed (lingering groups are looked for at most once per
    /// LINGERING_RECHECK).
    shutdown_recheck: bool,
    pidfile: Option<Pidfile>,
    socket: Option<Socket>,
    /// Set once this daemon owns its files (lock and socket); a failed second instance
    /// never writes the state file.
    state: Option<StateFile>,
    /// Children were spawned or reaped since the state file was last written.
    state_dirty: bool,
    /// When the state file was last written (ms), and whether a deferred write is armed.
    state_written: u64,
    state_timer: bool,
    clients: Vec<Option<Client>>,
    live_clients: usize,
    /// Clients whose operation waits for a state (start waits for RUNNING...).
    parked: Vec<usize>,
    /// Instances whose state changed since parked operations were last settled.
    touched: Vec<usize>,
    /// accept() failed for lack of fds: the one retry timer, also cut short when a
    /// connection closes.
    accept_retry: Option<TimerId>,
    /// accept() is failing (reported once per episode).
    accept_failing: bool,
    own_uid: u32,
    /// Users /etc/passwd listed at the last load, to notice one deleted since.
    passwd: crate::passwd::Passwd,
    scratch: Vec<u8>,
    actions: Vec<Action>,
    /// How deep `drive` is nested; parked replies are settled at the outermost level.
    driving: usize,
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
    }
}

impl Supervisor {
    /// Builds the process table and installs the signal handlers. Nothing is locked,
    /// bound or spawned yet.
    pub fn new(config: Config) -> io::Result<Supervisor> {
        let reactor = Reactor::new()?;
        // Descendants that escape their program's process group (a double fork and a
        // setsid) are re-parented to us rather than to init: we reap them, and at exit
        // we can say who is left.
        // SAFETY: prctl with integer arguments only.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let mut signals = signals::install()?;
        reactor
            .registry()
            .register(&mut signals, Source::Signals.token(), Interest::READABLE)?;
        let mut supervisor = Supervisor {
            config,
            reactor,
            signals,
            slots: Vec::new(),
            free_slots: Vec::new(),
            order: Vec::new(),
            by_name: HashMap::new(),
            by_pid: HashMap::new(),
            health_pids: HashMap::new(),
            pumps: Vec::new(),
            sinks: Vec::new(),
            sink_by_path: HashMap::new(),
            again: VecDeque::new(),
            buffer: vec![0; pumps::READ_CHUNK],
            base_env: spawn::base_env(),
            shutdown: Shutdown::Running,
            shutdown_recheck: false,
            pidfile: None,
            socket: None,
            state: None,
            state_dirty: false,
            state_written: 0,
            state_timer: false,
            clients: Vec::new(),
            live_clients: 0,
            parked: Vec::new(),
            touched: Vec::new(),
            accept_retry: None,
            accept_failing: false,
            own_uid: nix::unistd::geteuid().as_raw(),
            passwd: crate::passwd::Passwd::new(),
            scratch: vec![0; 4096],
            actions: Vec::new(),
            driving: 0,
        };
        let instances: Vec<Instance> = supervisor.config.instances().collect();
        for instance in instances {
            supervisor.add_slot(instance);
        }
        Ok(supervisor)
    }

    /// Appends an instance to the table, stopped.
    fn add_slot(&mut self, instance: Instance) -> usize {
        let life = Lifecycle::new(instance.name.clone(), policy(&instance));
        let name = instance.name.clone();
        let slot = Slot {
            config: instance,
            life,
            timer: None,
            health: None,
            retiring: false,
            token: None,
            lingering: Vec::new(),
        };
        let index = match self.free_slots.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.order.push(index);
        self.by_name.insert(name, index);
        index
    }

    /// Takes the pidfile lock, starts the autostart instances and runs until shutdown.
    /// `readiness` hears once the daemon is up, or why it could not start.
    pub fn run(mut self, mut readiness: Readiness) -> Result<(), String> {
        info!("Supervisor starting");
        if let Err(e) = self.start() {
            critical!("{e}");
            readiness.failed(&format!("Supervice crashed: {e}"));
            self.finish();
            return Err(e);
        }
        readiness.ready();
        let result = self.event_loop();
        if let Err(e) = &result {
            critical!("Supervice crashed: {e}");
        }
        self.finish();
        result
    }

    fn start(&mut self) -> Result<(), String> {
        if let Some(path) = self.config.global.pidfile.clone() {
            self.pidfile = Some(Pidfile::acquire(&path).map_err(|e| e.to_string())?);
        }
        let mut socket = Socket::bind(&self.config.global.socket)?;
        self.reactor
            .registry()
            .register(
                &mut socket.listener,
                Source::Listener.token(),
                Interest::READABLE,
            )
            .map_err(|e| format!("cannot watch the control socket: {e}"))?;
        self.socket = Some(socket);
        for warning in std::mem::take(&mut self.config.warnings) {
            warn!("{warning}");
        }
        self.check_pdeathsig();
        let state = StateFile::new(reconcile::state_path(&self.config.global));
        let (records, problems) = state.load();
        for problem in problems {
            warn!("{problem}");
        }
        let instances = &self.config;
        reconcile::reconcile(&records, |name| {
            instances
                .instances()
                .find(|i| i.name == name)
                .map(|i| (i.reconcile, i.pdeathsig))
        });
        self.state = Some(state);
        self.state_dirty = true;
        for index in 0..self.slots.len() {
            let autostart = self.slot(index).is_some_and(|s| s.config.autostart);
            if autostart {
                self.drive(index, Event::Start);
            }
        }
        // The first children are recorded before the loop starts waiting.
        self.save_state();
        Ok(())
    }

    fn event_loop(&mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        while self.shutdown != Shutdown::Done {
            let busy = !self.again.is_empty();
            self.reactor
                .wait(&mut events, busy)
                .map_err(|e| format!("poll: {e}"))?;
            for event in events.iter() {
                self.dispatch(event);
            }
            self.run_again();
            while let Some(key) = self.reactor.expired() {
                self.on_timer(key);
            }
            self.check_shutdown_done();
            self.save_state();
        }
        Ok(())
    }

    fn dispatch(&mut self, event: &MioEvent) {
        match Source::from_token(event.token()) {
            Some(Source::Signals) => self.on_signals(),
            Some(Source::Output(index)) => self.pump(index),
            Some(Source::Sink(index)) => self.sink_ready(index),
            Some(Source::Listener) => self.accept_clients(),
            Some(Source::Client(index)) => {
                let readable = event.is_readable() || event.is_read_closed();
                let writable = event.is_writable() || event.is_write_closed();
                self.client_ready(index, readable, writable);
            }
            Some(Source::Health(index)) => self.health_ready(index),
            None => {}
        }
    }

    /// Gives `source` another turn after the next poll.
    fn again(&mut self, source: Source) {
        if !self.again.contains(&source) {
            self.again.push_back(source);
        }
    }

    /// One more turn for each source whose budget ran out, in order. A source closed
    /// meanwhile (or its index reused) just finds nothing to read.
    fn run_again(&mut self) {
        for _ in 0..self.again.len() {
            match self.again.pop_front() {
                Some(Source::Output(index)) => self.pump(index),
                Some(Source::Client(index)) => self.client_ready(index, true, false),
                Some(Source::Health(index)) => self.health_ready(index),
                Some(_) | None => {}
            }
        }
    }

    fn on_timer(&mut self, key: TimerKey) {
        match key {
            TimerKey::Instance(index) => {
                if let Some(slot) = self.slot_mut(index) {
                    slot.timer = None;
                    self.drive(index, Event::Timer);
                }
            }
            TimerKey::Client(index) => self.client_timed_out(index),
            TimerKey::Health(index) => self.health_timer(index),
            TimerKey::ShutdownTimeout => self.shutdown_timed_out(),
            TimerKey::ShutdownRecheck => self.shutdown_recheck_due(),
            TimerKey::AcceptRetry => {
                self.accept_retry = None;
                self.accept_clients();
            }
            TimerKey::StateSave => {
                self.state_timer = false;
                self.save_state();
            }
            TimerKey::ShutdownGrace => {
                let left = self.live_names();
                error!(
                    "{} process group(s) still alive after SIGKILL, exiting anyway: {}",
                    left.len(),
                    left.join(", ")
                );
                self.shutdown = Shutdown::Done;
            }
        }
    }

    fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Slot> {
        self.slots.get_mut(index).and_then(Option::as_mut)
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
        slot.life.handle(event, now, &mut actions);
        if let Some(signal) = lingering {
            self.signal_lingering(index, signal);
        }
        self.driving += 1;
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
        self.driving -= 1;
        self.release_retired(index);
        if self.driving == 0 {
            self.settle_parked();
        }
    }

    /// Carries out one action; a spawn returns the event that reports its outcome.
    fn act(&mut self, index: usize, action: Action) -> Option<Event> {
        match action {
            Action::Spawn => return Some(self.spawn(index)),
            Action::Signal(signal) => self.signal_group(index, signal),
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
            Action::Changed { from, to } => self.on_state_change(index, from, to),
            Action::StartHealth => self.start_health(index),
            Action::StopHealth => self.stop_health(index),
        }
        None
    }

    fn on_state_change(&mut self, index: usize, from: State, to: State) {
        if let Some(slot) = self.slot(index) {
            debug!("{}: {from} -> {to}", slot.config.name);
        }
        if !self.parked.is_empty() {
            self.touched.push(index);
        }
    }

    /// Instances of a group, in process-table order (as Supervice lists them).
    fn group_members(&self, name: &str) -> Vec<usize> {
        let Some(group) = self.config.groups.iter().find(|g| g.name == name) else {
            return Vec::new();
        };
        self.order
            .iter()
            .copied()
            .filter(|&i| {
                self.slot(i)
                    .is_some_and(|s| group.programs.contains(&s.config.program))
            })
            .collect()
    }

    /// Signals the child's process group, only while its pid is unreaped: a reaped pid
    /// may already belong to someone else.
    fn signal_group(&mut self, index: usize, signal: Signal) {
        let Some(pid) = self.slot(index).and_then(|s| s.life.pid()) else {
            return;
        };
        signal_and_continue(pid, signal);
    }
}

/// Sends `signal` to a process group, then SIGCONT: a stopped (SIGSTOP'd) process would
/// not act on a stop signal until continued. SIGKILL needs no help.
/// (A spawned child has always made its group: spawn returns only after its exec.)
pub(super) fn signal_and_continue(pgid: i32, signal: Signal) {
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
