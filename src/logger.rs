//! The daemon's own log: `YYYY-MM-DD HH:MM:SS LEVEL    message`, local time, to stdout
//! or to a size-rotated file (the same `RotatingFile` the children's logs use), or
//! `LEVEL message` to syslog (supervisord's `logfile = syslog`), at the priority of the
//! level, one message per line of the record.
//!
//! It is the `log` crate's backend. `log` has no CRITICAL level, so CRITICAL records are
//! ERROR records with the target `critical` (see the `critical!` macro).

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use log::{LevelFilter, Log, Metadata, Record};

use crate::config::LogLevel;
use crate::output::syslog::{self, Sent, Syslog};
use crate::output::RotatingFile;

/// The `log` target that marks a CRITICAL record.
pub const CRITICAL: &str = "critical";

/// Logs at CRITICAL, the level above ERROR.
#[macro_export]
macro_rules! critical {
    ($($arg:tt)+) => { log::error!(target: $crate::logger::CRITICAL, $($arg)+) };
}

enum Sink {
    Stdout,
    File(RotatingFile),
    Syslog(Syslog),
}

struct State {
    sink: Sink,
    level: LogLevel,
    /// Records that could not be written since the last one that could.
    lost: u64,
}

struct DaemonLog {
    state: Mutex<Option<State>>,
}

static LOGGER: DaemonLog = DaemonLog {
    state: Mutex::new(None),
};

/// Where the log goes.
pub enum Destination<'a> {
    Stdout,
    Syslog,
    File {
        path: &'a Path,
        maxbytes: u64,
        backups: u32,
    },
}

/// Installs or re-targets the logger. A file that cannot be opened is an error and the
/// previous destination stays in place.
pub fn configure(destination: Destination<'_>, level: LogLevel) -> io::Result<()> {
    let sink = match destination {
        Destination::Stdout => Sink::Stdout,
        Destination::Syslog => Sink::Syslog(Syslog::new()),
        Destination::File {
            path,
            maxbytes,
            backups,
        } => Sink::File(RotatingFile::open(path, maxbytes, backups)?),
    };
    {
        let mut state = LOGGER.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = Some(State {
            sink,
            level,
            lost: 0,
        });
    }
    // Only the first call installs; later ones just retarget. Both are fine to repeat.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match level {
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Warning => LevelFilter::Warn,
        LogLevel::Error | LogLevel::Critical => LevelFilter::Error,
    });
    Ok(())
}

/// Opens the log file again at its path (see `RotatingFile::reopen`); stdout stays.
pub fn reopen() -> io::Result<()> {
    let mut state = LOGGER.state.lock().unwrap_or_else(|e| e.into_inner());
    match state.as_mut().map(|s| &mut s.sink) {
        Some(Sink::File(file)) => file.reopen(),
        _ => Ok(()),
    }
}

fn level_of(metadata: &Metadata<'_>) -> LogLevel {
    match metadata.level() {
        log::Level::Error if metadata.target() == CRITICAL => LogLevel::Critical,
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warning,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug | log::Level::Trace => LogLevel::Debug,
    }
}

impl Log for DaemonLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .as_ref()
            .is_some_and(|s| level_of(metadata) >= s.level)
    }

    fn log(&self, record: &Record<'_>) {
        let level = level_of(record.metadata());
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = guard.as_mut() else {
            return;
        };
        if level < state.level {
            return;
        }
        if let Sink::Syslog(to) = &mut state.sink {
            return to_syslog(to, level, record);
        }
        let mut line = format!("{} {:<8} {}\n", timestamp(), level.name(), record.args());
        if state.lost > 0 {
            line = format!(
                "{} {:<8} {} log record(s) could not be written before this one\n{line}",
                timestamp(),
                "WARNING",
                state.lost
            );
        }
        let written = match &mut state.sink {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(line.as_bytes()).and_then(|()| out.flush())
            }
            Sink::File(file) => file.write_record(line.as_bytes()).map(|_| ()),
            Sink::Syslog(_) => Ok(()),
        };
        WRITTEN.fetch_add(1, Ordering::Relaxed);
        match written {
            Ok(()) => state.lost = 0,
            Err(_) => state.lost += 1,
        }
    }

    fn flush(&self) {}
}

/// One message per line of the record, `LEVEL message`; what could not be sent is
/// counted and said in the first message that can be.
fn to_syslog(to: &mut Syslog, level: LogLevel, record: &Record<'_>) {
    let priority = match level {
        LogLevel::Critical => syslog::USER_CRIT,
        LogLevel::Error => syslog::USER_ERR,
        LogLevel::Warning => syslog::USER_WARNING,
        LogLevel::Info => syslog::USER_INFO,
        LogLevel::Debug => syslog::USER_DEBUG,
    };
    let text = record.args().to_string();
    for line in text.split('\n') {
        let head = format!("{} ", level.name());
        match to.send(priority, &[head.as_bytes(), line.as_bytes()]) {
            Sent::Ok => {}
            Sent::Recovered { lost: n } => {
                let note = format!("{n} log message(s) could not be sent before this one");
                let _ = to.send(syslog::USER_WARNING, &[b"WARNING ", note.as_bytes()]);
            }
            Sent::Lost { .. } => {}
        }
    }
    WRITTEN.fetch_add(1, Ordering::Relaxed);
}

/// Records written to the log so far: who follows the log (`/mainlogtail`) looks again
/// when it changed.
pub fn records_written() -> u64 {
    WRITTEN.load(Ordering::Relaxed)
}

static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// Seconds since the epoch broken down in local time.
pub fn local_time(secs: u64) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: localtime_r only writes into the tm we pass; a zeroed tm is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    ok.then_some(tm)
}

/// `YYYY-MM-DD HH:MM:SS` in local time.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Some(tm) = local_time(now) else {
        return "1970-01-01 00:00:00".to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_has_the_fixed_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 19, "{t}");
        let b = t.as_bytes();
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16]),
            (b'-', b'-', b' ', b':', b':')
        );
    }
}
