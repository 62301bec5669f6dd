//! The supervisor's side of crash safety: the state file it keeps current, and the
//! pdeathsig probe it runs once at startup (see `crate::reconcile`).

use std::time::Duration;

use log::warn;

use super::{Supervisor, TimerKey};
use crate::reconcile::Record;
use crate::spawn;

/// The shortest time between two writes of the state file.
const STATE_WRITE_GAP: Duration = Duration::from_millis(250);

impl Supervisor {
    /// Records every live child in the state file once children were spawned or reaped:
    /// at the end of the loop iteration, and at most every `STATE_WRITE_GAP` (each write
    /// covers every child; with thousands of them, a write per spawn would be quadratic).
    pub(super) fn save_state(&mut self) {
        if !self.state_dirty || self.state.is_none() {
            return;
        }
        let now = self.reactor.now();
        let gap = STATE_WRITE_GAP.as_millis() as u64;
        if self.state_written > 0 && now < self.state_written + gap {
            if !self.state_timer {
                self.state_timer = true;
                self.reactor
                    .arm_at(self.state_written + gap, TimerKey::StateSave);
            }
            return;
        }
        self.state_dirty = false;
        self.state_written = now.max(1);
        let records: Vec<Record> = self
            .slots
            .iter()
            .flatten()
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
            .collect();
        if let Some(message) = self.state.as_mut().and_then(|f| f.save(&records)) {
            warn!("{message}");
        }
    }

    /// One probe per daemon: does the kernel honour pdeathsig here? Warn once if not.
    pub(super) fn check_pdeathsig(&self) {
        let wanted: Vec<&str> = self
            .config
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
}
