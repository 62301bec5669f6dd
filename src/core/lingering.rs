//! Process groups that outlive their main process. A program like
//! `sh -c 'worker & exec main'` leaves `worker` in the group when `main` exits; the group
//! is remembered with its instance so a stop of the program, a shutdown and a later
//! reconciliation reach it too. The group's number cannot be given to a new process while
//! any member still holds it, and a group is only signalled after checking that members
//! remain in it and in the session our child created.

use log::{debug, warn};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::{Core, Notification};
use crate::reconcile;

/// A group left behind by an earlier run of an instance.
#[derive(Debug, Clone)]
pub(super) struct Lingering {
    pub pgid: i32,
    /// The token of the run's main process, for the state file.
    pub token: Option<String>,
}

/// Whether processes remain in `pgid` and in the session of the same number.
pub(super) fn members_remain(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), None).is_ok() && reconcile::session_has_members(pgid)
}

impl Core {
    /// Called when an instance's main process was reaped.
    pub(super) fn note_lingering(&mut self, index: usize, pid: i32) {
        let Some(slot) = self.slot(index) else {
            return;
        };
        // A supervisord program without stopasgroup leaves its children alone, as
        // supervisord does: they are not stopped with it, and shutdown does not wait for
        // them (the exit report names them).
        if !super::to_group(&slot.config, nix::sys::signal::Signal::SIGTERM) {
            return;
        }
        if !members_remain(pid) {
            return;
        }
        let Some(slot) = self.slot_mut(index) else {
            return;
        };
        warn!(
            "{}: processes of its process group {pid} outlived the main process; they are \
             stopped with the program",
            slot.config.name
        );
        let token = slot.token.clone();
        slot.lingering.push(Lingering { pgid: pid, token });
        self.notes.push(Notification::Lingering { id: index });
    }

    /// Sends `signal` to the groups an instance's earlier runs left behind, forgetting
    /// those that are gone.
    pub(super) fn signal_lingering(&mut self, index: usize, signal: Signal) {
        let Some(slot) = self.slot_mut(index) else {
            return;
        };
        let before = slot.lingering.len();
        slot.lingering.retain(|l| members_remain(l.pgid));
        for group in &slot.lingering {
            debug!(
                "{}: {signal} to lingering group {}",
                slot.config.name, group.pgid
            );
            super::signal_and_continue(group.pgid, signal);
        }
        if slot.lingering.len() != before {
            self.notes.push(Notification::Lingering { id: index });
        }
    }

    /// Whether any instance still has a lingering group, forgetting those that are gone.
    pub fn any_lingering(&mut self) -> bool {
        let mut any = false;
        for slot in self.table.slots.iter_mut().flatten() {
            slot.lingering.retain(|l| members_remain(l.pgid));
            any |= !slot.lingering.is_empty();
        }
        any
    }
}
