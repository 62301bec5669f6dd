//! The loop's side of crash safety: the state file, kept current by subscribing to the
//! core's notifications, and the pdeathsig probe run once at startup (see
//! `crate::reconcile`).

use std::path::PathBuf;
use std::time::Duration;

use log::warn;

use crate::config::Config;
use crate::core::{Core, Notification};
use crate::reactor::{LoopTimer, TimerKey};
use crate::reconcile::{Record, StateFile};
use crate::spawn;

/// The shortest time between two writes of the state file.
const STATE_WRITE_GAP: Duration = Duration::from_millis(250);

/// The state file and when it needs writing.
pub(super) struct StateSaver {
    file: StateFile,
    /// Children were spawned or reaped (or lingering groups changed) since the last write.
    dirty: bool,
    /// When the state file was last written (ms on the loop's clock; 0: never).
    written: u64,
    /// A deferred write is armed.
    timer: bool,
}

impl StateSaver {
    pub(super) fn new(path: PathBuf) -> StateSaver {
        StateSaver {
            file: StateFile::new(path),
            dirty: false,
            written: 0,
            timer: false,
        }
    }

    /// What the previous daemon recorded; problems with the file are logged.
    pub(super) fn load(&self) -> Vec<Record> {
        let (records, problems) = self.file.load();
        for problem in problems {
            warn!("{problem}");
        }
        records
    }

    pub(super) fn dirty(&mut self) {
        self.dirty = true;
    }

    /// The next save writes at once, whenever the last one was (at exit).
    pub(super) fn dirty_now(&mut self) {
        self.dirty = true;
        self.written = 0;
    }

    pub(super) fn timer_fired(&mut self) {
        self.timer = false;
    }

    /// The notifications that change what the file records.
    pub(super) fn observe(&mut self, notes: &[Notification]) {
        self.dirty |= notes.iter().any(|n| {
            matches!(
                n,
                Notification::Spawned { .. }
                    | Notification::Exited { .. }
                    | Notification::Lingering { .. }
            )
        });
    }

    /// Records every live child once children were spawned or reaped: at the end of the
    /// loop turn, and at most every `STATE_WRITE_GAP` (each write covers every child; with
    /// thousands of them, a write per spawn would be quadratic).
    pub(super) fn save(&mut self, core: &mut Core) {
        if !self.dirty {
            return;
        }
        let now = core.now();
        let gap = STATE_WRITE_GAP.as_millis() as u64;
        if self.written > 0 && now < self.written + gap {
            if !self.timer {
                self.timer = true;
                let key = TimerKey::Loop(LoopTimer::StateSave);
                core.reactor().arm_at(self.written + gap, key);
            }
            return;
        }
        self.dirty = false;
        self.written = now.max(1);
        if let Some(message) = self.file.save(&core.records()) {
            warn!("{message}");
        }
    }
}

/// One probe per daemon: does the kernel honour pdeathsig here? Warn once if not.
pub(super) fn check_pdeathsig(config: &Config) {
    let wanted: Vec<&str> = config
        .programs
        .iter()
        .filter(|p| p.pdeathsig)
        .map(|p| p.name.as_str())
        .collect();
    if wanted.is_empty() || spawn::pdeathsig_works() {
        return;
    }
    let mut names = wanted
        .iter()
        .take(5)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if wanted.len() > 5 {
        names.push_str(&format!(", ... ({} total)", wanted.len()));
    }
    warn!(
        "pdeathsig is supported on linux but NOT functional here (the syscall failed); \
         children will survive an abrupt supervisor kill. Requested by: {names}"
    );
}
