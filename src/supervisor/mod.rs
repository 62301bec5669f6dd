//! The loop: it owns the core (the process table, `crate::core`), the front-ends
//! (`crate::frontend`), the daemon's signals, its pidfile, the state file and the
//! shutdown sequence. One turn: wait for fds or the next timer; route each fd event and
//! each due timer to its owner; give sources with work left their extra turn; then hand
//! the notifications the turn produced to every subscriber (the state file, the
//! front-ends), again until none are new; then check whether shutdown is done. Nothing
//! runs inside anything else: a command only queues notifications, so no front-end is
//! ever called back while it is handling something.

mod crash;
mod shutdown;
mod signals;

use std::io;

use log::{error, info, warn};
use mio::event::Event as MioEvent;
use mio::{Events, Interest};
use signal_hook_mio::v1_0::Signals;

use crate::config::Config;
use crate::core::{Core, Notification};
use crate::daemon::{Pidfile, Readiness};
use crate::frontend::http::Http;
use crate::frontend::supervice::Control;
use crate::frontend::{Frontend, LoopRequest};
use crate::reactor::{FrontId, LoopTimer, Source, TimerKey, MAX_FRONTENDS};
use crate::reconcile;
use crash::StateSaver;

/// Rounds of notification delivery in one turn before the rest waits for the next turn
/// (a subscriber that answers every notification with a command must not hold the loop).
const NOTIFY_ROUNDS: usize = 64;

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
    core: Core,
    frontends: Vec<Box<dyn Frontend>>,
    signals: Signals,
    pidfile: Option<Pidfile>,
    /// Set once this daemon owns its files (lock and socket); a failed second instance
    /// never writes the state file.
    state: Option<StateSaver>,
    shutdown: Shutdown,
    /// A ShutdownRecheck timer is armed (lingering groups are looked for at most once per
    /// LINGERING_RECHECK).
    shutdown_recheck: bool,
    /// The notifications being delivered (kept to reuse its allocation).
    notes: Vec<Notification>,
    /// Shutdown batches still to stop, next first (see `Core::shutdown_stages`); the
    /// one being stopped is `stopping`.
    stages: Vec<Vec<crate::core::Id>>,
    stopping: Vec<crate::core::Id>,
    /// A restart is stopping everything (supervisord's `restart`, SIGHUP in its dialect):
    /// its stop-timeout timer. Once all is down the config is read again and started.
    restart: Option<crate::timer::TimerId>,
}

impl Supervisor {
    /// Builds the process table and installs the signal handlers. Nothing is locked,
    /// bound or spawned yet.
    pub fn new(config: Config) -> io::Result<Supervisor> {
        let mut core = Core::new(config)?;
        // Descendants that escape their program's process group (a double fork and a
        // setsid) are re-parented to us rather than to init: we reap them, and at exit
        // we can say who is left.
        // SAFETY: prctl with integer arguments only.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let mut signals = signals::install()?;
        core.reactor().registry().register(
            &mut signals,
            Source::Signals.token(),
            Interest::READABLE,
        )?;
        Ok(Supervisor {
            core,
            frontends: Vec::new(),
            signals,
            pidfile: None,
            state: None,
            shutdown: Shutdown::Running,
            shutdown_recheck: false,
            notes: Vec::new(),
            stages: Vec::new(),
            stopping: Vec::new(),
            restart: None,
        })
    }

    /// Registers a front-end, built with the id that tags its fds and timers.
    pub fn add_frontend<F, E>(&mut self, make: F) -> Result<(), E>
    where
        F: FnOnce(FrontId, &mut Core) -> Result<Box<dyn Frontend>, E>,
    {
        assert!(self.frontends.len() < MAX_FRONTENDS, "too many front-ends");
        // MAX_FRONTENDS keeps it below 16.
        let id = FrontId(self.frontends.len() as u8);
        let frontend = make(id, &mut self.core)?;
        self.frontends.push(frontend);
        Ok(())
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
        let global = self.core.config().global.clone();
        if let Some(path) = &global.pidfile {
            self.pidfile = Some(Pidfile::acquire(path).map_err(|e| e.to_string())?);
        }
        let http = &global.http;
        self.add_frontend(|id, core| {
            Control::bind(id, core, &global.socket, http.unix_mode, http.unix_owner)
                .map(|c| Box::new(c) as Box<dyn Frontend>)
        })?;
        self.add_frontend(|id, core| {
            Http::new(id, core, http).map(|h| Box::new(h) as Box<dyn Frontend>)
        })?;
        if let Some((name, credentials)) = global.daemon.as_ref().and_then(|d| d.user.as_ref()) {
            crate::daemon::drop_privileges(name, credentials)?;
            info!("Running as user {name}");
        }
        for warning in self.core.take_warnings() {
            warn!("{warning}");
        }
        crash::check_pdeathsig(self.core.config());
        let mut state = StateSaver::new(reconcile::state_path(&global));
        let config = self.core.config();
        reconcile::reconcile(&state.load(), |name| {
            config
                .instances()
                .find(|i| i.name == name)
                .map(|i| (i.reconcile, i.pdeathsig))
        });
        state.dirty();
        self.state = Some(state);
        self.core.autostart();
        self.deliver();
        // The first children are recorded before the loop starts waiting.
        self.save_state();
        Ok(())
    }

    fn event_loop(&mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        while self.shutdown != Shutdown::Done {
            let busy = self.core.busy() || self.frontends.iter().any(|f| f.busy());
            self.core
                .reactor()
                .wait(&mut events, busy)
                .map_err(|e| format!("poll: {e}"))?;
            for event in events.iter() {
                self.dispatch(event);
            }
            self.core.run_again();
            for i in 0..self.frontends.len() {
                self.frontends[i].run_again(&mut self.core);
                self.pass_handoffs(i);
            }
            while let Some(key) = self.core.reactor().expired() {
                self.on_timer(key);
            }
            self.deliver();
            for frontend in &mut self.frontends {
                frontend.turn_done(&mut self.core);
            }
            self.serve_requests();
            self.check_shutdown_done();
            self.save_state();
        }
        Ok(())
    }

    /// Connections one front-end passed on go to the others (HTTP on the control
    /// socket goes to the HTTP front-end).
    fn pass_handoffs(&mut self, from: usize) {
        let Some(frontend) = self.frontends.get_mut(from) else {
            return;
        };
        for handoff in frontend.handoffs() {
            let mut handoff = Some(handoff);
            for (i, other) in self.frontends.iter_mut().enumerate() {
                if i != from {
                    if let Some(h) = handoff.take() {
                        other.adopt(&mut self.core, h);
                    }
                }
            }
        }
    }

    /// What the front-ends asked of the loop: shutdown or restart.
    fn serve_requests(&mut self) {
        let mut requests = Vec::new();
        for frontend in &mut self.frontends {
            requests.extend(frontend.take_request());
        }
        for request in requests {
            match request {
                LoopRequest::Shutdown => {
                    info!("Shutdown requested through the control socket");
                    self.begin_shutdown();
                }
                LoopRequest::Restart => self.begin_restart(),
            }
        }
    }

    fn dispatch(&mut self, event: &MioEvent) {
        let Some(source) = Source::from_token(event.token()) else {
            return;
        };
        match source {
            Source::Signals => self.on_signals(),
            Source::Front(FrontId(id), at) => {
                let readable = event.is_readable() || event.is_read_closed();
                let writable = event.is_writable() || event.is_write_closed();
                if let Some(frontend) = self.frontends.get_mut(usize::from(id)) {
                    frontend.ready(&mut self.core, at, readable, writable);
                }
                self.pass_handoffs(usize::from(id));
            }
            Source::Output(_) | Source::Sink(_) | Source::Health(_) => self.core.ready(source),
        }
    }

    fn on_timer(&mut self, key: TimerKey) {
        match key {
            TimerKey::Instance(_) | TimerKey::Health(_) => self.core.timer(key),
            TimerKey::Front(FrontId(id), at) => {
                if let Some(frontend) = self.frontends.get_mut(usize::from(id)) {
                    frontend.timer(&mut self.core, at);
                }
                self.pass_handoffs(usize::from(id));
            }
            TimerKey::Loop(LoopTimer::ShutdownTimeout) if self.restart.is_some() => {
                self.restart_timed_out()
            }
            TimerKey::Loop(LoopTimer::ShutdownTimeout) => self.shutdown_timed_out(),
            TimerKey::Loop(LoopTimer::ShutdownRecheck) => self.shutdown_recheck_due(),
            TimerKey::Loop(LoopTimer::StateSave) => {
                if let Some(state) = self.state.as_mut() {
                    state.timer_fired();
                }
                self.save_state();
            }
            TimerKey::Loop(LoopTimer::ShutdownGrace) => {
                let left = self.core.live_names();
                error!(
                    "{} process group(s) still alive after SIGKILL, exiting anyway: {}",
                    left.len(),
                    left.join(", ")
                );
                self.shutdown = Shutdown::Done;
            }
        }
    }

    /// Hands what the core published to every subscriber, until nothing new comes (a
    /// front-end's command in answer to a notification publishes more).
    fn deliver(&mut self) {
        let mut notes = std::mem::take(&mut self.notes);
        for _ in 0..NOTIFY_ROUNDS {
            self.core.take_notifications(&mut notes);
            if notes.is_empty() {
                break;
            }
            if let Some(state) = self.state.as_mut() {
                state.observe(&notes);
            }
            for frontend in &mut self.frontends {
                frontend.notify(&mut self.core, &notes);
            }
        }
        notes.clear();
        self.notes = notes;
    }

    fn save_state(&mut self) {
        if let Some(state) = self.state.as_mut() {
            state.save(&mut self.core);
        }
    }
}
