//! What supervisord reports about a process beyond its state, kept from the core's
//! notifications: when it last started and stopped (wall-clock seconds), its last exit
//! status and its last spawn error; and the words supervisord uses for all of it
//! (`getProcessInfo`'s `description`, state codes).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::{Core, Exit, Id, Notification, State, View};

/// The error text of a start that ended too soon.
pub const TOO_QUICKLY: &str = "Exited too quickly (process log may have details)";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    serial: u64,
    pub start: u64,
    pub stop: u64,
    /// The last exit code; -1 after a signal (supervisord's `exitstatus`).
    pub exitstatus: i64,
    pub spawnerr: String,
}

#[derive(Default)]
pub struct Records {
    by_id: Vec<Option<Record>>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Records {
    /// The record of the instance `id` holds now (empty if it never ran).
    pub fn get(&self, id: Id, serial: u64) -> Record {
        match self.by_id.get(id).and_then(Option::as_ref) {
            Some(r) if r.serial == serial => r.clone(),
            _ => Record::default(),
        }
    }

    fn entry(&mut self, core: &Core, id: Id) -> Option<&mut Record> {
        let serial = core.view(id)?.serial;
        if self.by_id.len() <= id {
            self.by_id.resize(id + 1, None);
        }
        let slot = &mut self.by_id[id];
        if slot.as_ref().is_none_or(|r| r.serial != serial) {
            *slot = Some(Record {
                serial,
                ..Record::default()
            });
        }
        slot.as_mut()
    }

    pub fn observe(&mut self, core: &Core, notes: &[Notification]) {
        for note in notes {
            match *note {
                Notification::Spawned { id, .. } => {
                    if let Some(r) = self.entry(core, id) {
                        r.start = now();
                        r.spawnerr.clear();
                        r.exitstatus = 0;
                    }
                }
                Notification::Exited { id, exit, .. } => {
                    if let Some(r) = self.entry(core, id) {
                        r.stop = now();
                        r.exitstatus = match exit {
                            Exit::Code(c) => i64::from(c),
                            Exit::Signal(_) => -1,
                        };
                    }
                }
                Notification::State {
                    id,
                    from: State::Starting,
                    to: State::Backoff | State::Fatal,
                } => {
                    if let Some(r) = self.entry(core, id) {
                        r.spawnerr = TOO_QUICKLY.to_string();
                    }
                }
                Notification::Removed { id } => {
                    if let Some(slot) = self.by_id.get_mut(id) {
                        *slot = None;
                    }
                }
                _ => {}
            }
        }
    }
}

/// supervisord's state code and name. UNHEALTHY (Supervice's: running, failing its health
/// checks) is RUNNING to supervisord's tools; the description says "unhealthy".
pub fn state_code(state: State) -> (i64, &'static str) {
    match state {
        State::Stopped => (0, "STOPPED"),
        State::Starting => (10, "STARTING"),
        State::Running | State::Unhealthy => (20, "RUNNING"),
        State::Backoff => (30, "BACKOFF"),
        State::Stopping => (40, "STOPPING"),
        State::Exited => (100, "EXITED"),
        State::Fatal => (200, "FATAL"),
    }
}

/// Python's `str(timedelta(seconds=n))`: `0:03:12`, `1 day, 2:03:04`, `3 days, 0:00:00`.
pub fn timedelta(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

/// `strftime('%b %d %I:%M %p')` in local time: `Dec 03 10:31 AM`.
pub fn short_date(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(tm) = crate::logger::local_time(secs) else {
        return String::new();
    };
    let hour12 = match tm.tm_hour % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{} {:02} {hour12:02}:{:02} {}",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_min,
        if tm.tm_hour < 12 { "AM" } else { "PM" }
    )
}

/// `getProcessInfo`'s description.
pub fn description(view: &View<'_>, record: &Record, name: &str, now: u64) -> String {
    match view.state {
        State::Running | State::Unhealthy => {
            // A child adopted at startup (reconcile) was not seen spawning.
            let secs = match record.start {
                0 => view.uptime_secs.unwrap_or(0),
                start => now.saturating_sub(start),
            };
            let uptime = timedelta(secs);
            let pid = view.pid.unwrap_or(0);
            match view.state {
                State::Unhealthy => format!("pid {pid}, uptime {uptime}, unhealthy"),
                _ => format!("pid {pid}, uptime {uptime}"),
            }
        }
        State::Fatal | State::Backoff if record.spawnerr.is_empty() => {
            format!("unknown error (try \"tail {name}\")")
        }
        State::Fatal | State::Backoff => record.spawnerr.clone(),
        State::Stopped | State::Exited if record.start == 0 => "Not started".to_string(),
        State::Stopped | State::Exited => short_date(record.stop),
        State::Starting | State::Stopping => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_read_as_python_prints_a_timedelta() {
        assert_eq!(timedelta(0), "0:00:00");
        assert_eq!(timedelta(192), "0:03:12");
        assert_eq!(timedelta(86_400 + 7384), "1 day, 2:03:04");
        assert_eq!(timedelta(3 * 86_400), "3 days, 0:00:00");
    }

    #[test]
    fn unhealthy_is_running_to_supervisord_tools() {
        assert_eq!(state_code(State::Unhealthy), (20, "RUNNING"));
        assert_eq!(state_code(State::Fatal), (200, "FATAL"));
    }

    #[test]
    fn short_dates_have_the_fixed_shape() {
        let d = short_date(1_764_754_800);
        assert_eq!(d.len(), "Dec 03 10:31 AM".len(), "{d}");
        assert!(d.ends_with("AM") || d.ends_with("PM"), "{d}");
    }
}
