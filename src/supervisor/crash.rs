//! The supervisor's side of crash safety: the state file it keeps current, and the
//! pdeathsig probe it runs once at startup (see `crate::reconcile`).

use log::warn;

use super::Supervisor;
use crate::reconcile::Record;
use crate::spawn;

impl Supervisor {
    /// Records every live child in the state file, at most once per loop iteration.
    pub(super) fn save_state(&mut self) {
        if !self.state_dirty {
            return;
        }
        self.state_dirty = false;
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
