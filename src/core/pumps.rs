//! The pumps that move a child's output into its log files, and the sinks they write to.
//!
//! A pump reads its pipe a bounded number of times per loop turn and hands the bytes to
//! its sink. A regular file always takes them. A pipe, tty or socket may take only part:
//! the rest stays in the pump, the pump stops reading (its pipe leaves the reactor, so
//! that child blocks on its full pipe and nobody else waits), and the sink is watched for
//! writability. When it can take bytes again, the waiting pumps write what they hold, in
//! the order they stopped, and read again. No timer is involved.
//!
//! Pumps that name the same path (stdout and stderr in one file, several programs in one
//! file) share one sink: one size count, one rotation, and bytes in the order they were
//! read. The rotation settings are those of the pump that opened it.
//!
//! In supervisord's dialect a pump may also strip ANSI escape sequences (`strip_ansi`)
//! before the file sees the bytes, and send each line to syslog (`*_syslog`); a pump
//! with syslog and no log file has no sink at all.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::Interest;
use nix::errno::Errno;

use super::{Core, Id, Notification, Stream};
use crate::config::LogFile;
use crate::output::ansi::Stripper;
use crate::output::syslog::{Lines, Sent, Syslog, USER_INFO};
use crate::output::{RotateError, RotatingFile, Written};
use crate::reactor::Source;
use crate::slab;

/// Bytes moved per read from a child's pipe (a pipe holds 64 KiB unless resized).
pub const READ_CHUNK: usize = 256 * 1024;
/// Reads per pump before the loop turns to other work (fairness between children).
const READS_PER_TURN: usize = 16;
/// Reads per pump at exit: more than a pipe holds, but bounded, so a descendant that
/// outlives us and keeps writing cannot hold the exit up.
const EXIT_READS: usize = 16;

/// The pumps, the sinks they write to and the read buffer they share.
pub(super) struct Output {
    pumps: Vec<Option<Pump>>,
    sinks: Vec<Option<Sink>>,
    /// The open sink of each log path, shared by every pump that names it.
    by_path: HashMap<PathBuf, usize>,
    buffer: Vec<u8>,
    /// The stripped copy of a read, for pumps with `strip_ansi`.
    stripped: Vec<u8>,
    /// Opened when the first pump with syslog comes.
    syslog: Option<Syslog>,
}

impl Output {
    pub(super) fn new() -> Output {
        Output {
            pumps: Vec::new(),
            sinks: Vec::new(),
            by_path: HashMap::new(),
            buffer: vec![0; READ_CHUNK],
            stripped: Vec::new(),
            syslog: None,
        }
    }
}

/// Whose stream a pump carries: the instance (checked by serial, as a pump may outlive
/// its instance and the id be reused) and which stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Owner {
    pub id: Id,
    pub serial: u64,
    pub stream: Stream,
}

/// Moves one pipe's bytes into one sink, until EOF. It outlives the child when a
/// descendant still holds the pipe.
pub struct Pump {
    pipe: OwnedFd,
    /// Index into the sinks; none when the bytes go only to syslog.
    sink: Option<usize>,
    /// `strip_ansi`: escape sequences are taken out first.
    strip: Option<Stripper>,
    /// `*_syslog`: each line also goes to syslog, after `<program> `.
    syslog: Option<(Lines, Vec<u8>)>,
    /// Bytes read but not yet taken by a sink that pushed back.
    pending: Vec<u8>,
    /// Waiting for the sink; the pipe is out of the reactor meanwhile.
    paused: bool,
    /// Who it belongs to, for messages.
    label: String,
    owner: Owner,
    /// A write error is being reported; cleared by the next successful write.
    failing: bool,
    lost: u64,
}

/// A log file and the pumps that write to it.
pub struct Sink {
    file: RotatingFile,
    /// Pumps writing here; the sink closes with the last.
    users: usize,
    /// Pumps stopped because the sink pushed back, in the order they stopped. The sink is
    /// watched for writability exactly while this is not empty.
    waiting: Vec<usize>,
}

/// What a pump does to the bytes besides writing them to its log file.
#[derive(Debug, Default, Clone)]
pub(super) struct Filters {
    pub strip_ansi: bool,
    /// Lines go to syslog after this program name.
    pub syslog: Option<String>,
}

/// A log file for a spawn: already open for another pump, or opened for this one.
pub(super) enum Log {
    Shared(usize),
    New(RotatingFile),
}

enum Outcome {
    Drained,
    MoreToRead,
    /// The sink took only part; the pump holds the rest.
    Blocked,
    Closed,
}

impl Core {
    /// Opens a log file for a spawn, unless a sink already writes to that path.
    pub(super) fn open_log(&self, log: &Option<LogFile>) -> io::Result<Option<Log>> {
        let Some(log) = log else {
            return Ok(None);
        };
        if let Some(&index) = self.output.by_path.get(&log.path) {
            // Unless the file was removed or renamed away (logrotate): then a new one.
            if self.output.sinks[index]
                .as_ref()
                .is_some_and(|s| s.file.is_at_path())
            {
                return Ok(Some(Log::Shared(index)));
            }
        }
        RotatingFile::open(&log.path, log.maxbytes, log.backups).map(|f| Some(Log::New(f)))
    }

    /// The sink a pump writes to: the one already open on that file, or a new one.
    fn attach_sink(&mut self, log: Log) -> usize {
        let index = match log {
            Log::Shared(index) => index,
            Log::New(file) => {
                let open = self.output.by_path.get(file.path()).copied();
                match open.filter(|&i| {
                    self.output.sinks[i]
                        .as_ref()
                        .is_some_and(|s| s.file.same_file(&file))
                }) {
                    // Its other stream of the same spawn got there first.
                    Some(index) => index,
                    None => self.add_sink(file),
                }
            }
        };
        if let Some(sink) = slab::get_mut(&mut self.output.sinks, index) {
            sink.users += 1;
        }
        index
    }

    fn add_sink(&mut self, file: RotatingFile) -> usize {
        let path = file.path().to_path_buf();
        let sink = Sink {
            file,
            users: 0,
            waiting: Vec::new(),
        };
        let index = slab::vacant(&mut self.output.sinks);
        self.output.sinks[index] = Some(sink);
        self.output.by_path.insert(path, index);
        index
    }

    /// One of its pumps is gone; the last one closes it.
    fn release_sink(&mut self, index: usize) {
        let Some(sink) = slab::get_mut(&mut self.output.sinks, index) else {
            return;
        };
        sink.users = sink.users.saturating_sub(1);
        if sink.users > 0 {
            return;
        }
        if let Some(sink) = self.output.sinks.get_mut(index).and_then(Option::take) {
            // The path may name a newer sink by now.
            if self.output.by_path.get(sink.file.path()) == Some(&index) {
                self.output.by_path.remove(sink.file.path());
            }
            if !sink.waiting.is_empty() {
                let _ = self
                    .reactor
                    .registry()
                    .deregister(&mut SourceFd(&sink.file.as_raw_fd()));
            }
        }
    }

    pub(super) fn add_pump(
        &mut self,
        pipe: OwnedFd,
        log: Option<Log>,
        filters: Filters,
        label: String,
        owner: Owner,
    ) {
        let sink = log.map(|log| self.attach_sink(log));
        if filters.syslog.is_some() && self.output.syslog.is_none() {
            self.output.syslog = Some(Syslog::new());
        }
        let index = slab::vacant(&mut self.output.pumps);
        let token = Source::Output(index).token();
        if let Err(e) = self.reactor.registry().register(
            &mut SourceFd(&pipe.as_raw_fd()),
            token,
            Interest::READABLE,
        ) {
            error!("{label}: cannot watch output pipe, output is lost: {e}");
            if let Some(sink) = sink {
                self.release_sink(sink);
            }
            return;
        }
        self.output.pumps[index] = Some(Pump {
            pipe,
            sink,
            strip: filters.strip_ansi.then(Stripper::default),
            syslog: filters
                .syslog
                .map(|name| (Lines::default(), format!("{name} ").into())),
            pending: Vec::new(),
            paused: false,
            label,
            owner,
            failing: false,
            lost: 0,
        });
    }

    /// Readiness on a pump: read a bounded amount, queue it if more is waiting.
    pub(super) fn pump(&mut self, index: usize) {
        match self.pump_turn(index, READS_PER_TURN) {
            Outcome::MoreToRead => {
                self.again(Source::Output(index));
            }
            Outcome::Drained => {}
            Outcome::Blocked => self.pause_pump(index),
            Outcome::Closed => self.close_pump(index),
        }
    }

    /// At exit: what is already in the pipes goes to the files, as far as the sinks take
    /// it without waiting; what they refuse is counted as lost.
    pub fn drain_all_pumps(&mut self) {
        for index in 0..self.output.pumps.len() {
            let Some(paused) = slab::get(&self.output.pumps, index).map(|p| p.paused) else {
                continue;
            };
            if paused && self.flush_pending(index) {
                self.unpause(index);
            }
            if let Outcome::Blocked = self.pump_turn(index, EXIT_READS) {
                self.lose_pending(index);
            }
            self.close_pump(index);
        }
    }

    fn pump_turn(&mut self, index: usize, reads: usize) -> Outcome {
        let Output {
            pumps,
            sinks,
            buffer,
            stripped,
            syslog,
            ..
        } = &mut self.output;
        let Some(pump) = slab::get_mut(pumps, index) else {
            return Outcome::Drained;
        };
        let mut sink = match pump.sink {
            Some(sink) => match slab::get_mut(sinks, sink) {
                Some(sink) => Some(sink),
                None => return Outcome::Closed,
            },
            None => None,
        };
        if pump.paused {
            return Outcome::Drained;
        }
        if sink.as_ref().is_some_and(|s| !s.waiting.is_empty()) {
            // Others wait for this sink with older bytes: queue up behind them.
            return Outcome::Blocked;
        }
        let mut delivered = 0;
        let mut outcome = Outcome::MoreToRead;
        for _ in 0..reads {
            let n = match nix::unistd::read(&pump.pipe, buffer) {
                Ok(0) => {
                    outcome = Outcome::Closed;
                    break;
                }
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => {
                    outcome = Outcome::Drained;
                    break;
                }
                Err(e) => {
                    error!("{}: reading output: {e}", pump.label);
                    outcome = Outcome::Closed;
                    break;
                }
            };
            delivered += n;
            let data = match pump.strip.as_mut() {
                Some(stripper) => {
                    stripped.clear();
                    stripper.strip(&buffer[..n], stripped);
                    &stripped[..]
                }
                None => &buffer[..n],
            };
            pump.forward(data, syslog.as_mut());
            let Some(sink) = sink.as_mut() else {
                continue;
            };
            let taken = pump.write(&mut sink.file, data);
            if taken < data.len() {
                pump.pending.extend_from_slice(&data[taken..]);
                outcome = Outcome::Blocked;
                break;
            }
        }
        let owner = pump.owner;
        if delivered > 0
            && self
                .slot(owner.id)
                .is_some_and(|s| s.serial == owner.serial)
        {
            self.notes.push(Notification::Output {
                id: owner.id,
                stream: owner.stream,
                bytes: delivered,
            });
        }
        outcome
    }

    /// The sink pushed back: stop reading this pump's pipe and wait for the sink.
    fn pause_pump(&mut self, index: usize) {
        let Some(pump) = slab::get_mut(&mut self.output.pumps, index) else {
            return;
        };
        let Some(sink_index) = pump.sink else {
            return;
        };
        let Some(sink) = slab::get_mut(&mut self.output.sinks, sink_index) else {
            return;
        };
        let registry = self.reactor.registry();
        let _ = registry.deregister(&mut SourceFd(&pump.pipe.as_raw_fd()));
        pump.paused = true;
        sink.waiting.push(index);
        self.again.retain(|&s| s != Source::Output(index));
        if sink.waiting.len() > 1 {
            return;
        }
        let token = Source::Sink(sink_index).token();
        let fd = sink.file.as_raw_fd();
        if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::WRITABLE) {
            // A sink that pushes back but cannot be watched: its bytes cannot wait.
            error!(
                "{}: cannot watch {} for writability, output is lost: {e}",
                pump.label,
                sink.file.path().display()
            );
            let waiting = std::mem::take(&mut sink.waiting);
            for index in waiting {
                self.lose_pending(index);
                self.resume_pump(index);
            }
        }
    }

    /// SIGUSR2: every open log file is opened again at its path (after logrotate renamed
    /// it away). A sink being watched for writability is watched again on its new fd.
    pub fn reopen_child_logs(&mut self) {
        for (index, sink) in self.output.sinks.iter_mut().enumerate() {
            let Some(sink) = sink.as_mut() else {
                continue;
            };
            let watched = !sink.waiting.is_empty();
            let registry = self.reactor.registry();
            if watched {
                let _ = registry.deregister(&mut SourceFd(&sink.file.as_raw_fd()));
            }
            if let Err(e) = sink.file.reopen() {
                // Named after the first stream writing there (a shared file has several).
                let label = self
                    .output
                    .pumps
                    .iter()
                    .flatten()
                    .find(|p| p.sink == Some(index))
                    .map_or("log", |p| p.label.as_str());
                error!("{label}: cannot reopen {}: {e}", sink.file.path().display());
            }
            if watched {
                let token = Source::Sink(index).token();
                let fd = sink.file.as_raw_fd();
                if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::WRITABLE) {
                    error!(
                        "cannot watch {} for writability: {e}",
                        sink.file.path().display()
                    );
                }
            }
        }
    }

    /// A sink that pushed back can take bytes again: the waiting pumps write what they
    /// hold, in order, and those done read again.
    pub(super) fn sink_ready(&mut self, sink_index: usize) {
        while let Some(&index) =
            slab::get(&self.output.sinks, sink_index).and_then(|s| s.waiting.first())
        {
            if !self.flush_pending(index) {
                return;
            }
            if let Some(sink) = slab::get_mut(&mut self.output.sinks, sink_index) {
                sink.waiting.remove(0);
            }
            self.resume_pump(index);
        }
        if let Some(sink) = slab::get(&self.output.sinks, sink_index) {
            let _ = self
                .reactor
                .registry()
                .deregister(&mut SourceFd(&sink.file.as_raw_fd()));
        }
    }

    /// Writes what the pump holds; whether the sink took all of it (or it was lost).
    fn flush_pending(&mut self, index: usize) -> bool {
        let Some(pump) = slab::get_mut(&mut self.output.pumps, index) else {
            return true;
        };
        let Some(sink) = pump
            .sink
            .and_then(|i| slab::get_mut(&mut self.output.sinks, i))
        else {
            return true;
        };
        let pending = std::mem::take(&mut pump.pending);
        let taken = pump.write(&mut sink.file, &pending);
        pump.pending = pending;
        pump.pending.drain(..taken);
        pump.pending.is_empty()
    }

    /// Back in the reactor; queued for a turn, as the pipe may have filled meanwhile and
    /// edge-triggered readiness will not say so again.
    fn resume_pump(&mut self, index: usize) {
        let Some(pump) = slab::get_mut(&mut self.output.pumps, index) else {
            return;
        };
        pump.paused = false;
        let token = Source::Output(index).token();
        let fd = pump.pipe.as_raw_fd();
        if let Err(e) =
            self.reactor
                .registry()
                .register(&mut SourceFd(&fd), token, Interest::READABLE)
        {
            error!(
                "{}: cannot watch output pipe, output is lost: {e}",
                pump.label
            );
            return self.close_pump(index);
        }
        self.again(Source::Output(index));
    }

    /// Out of the sink's queue, without registering again (at exit).
    fn unpause(&mut self, index: usize) {
        let Some(pump) = slab::get_mut(&mut self.output.pumps, index) else {
            return;
        };
        pump.paused = false;
        if let Some(sink) = pump
            .sink
            .and_then(|i| slab::get_mut(&mut self.output.sinks, i))
        {
            sink.waiting.retain(|&i| i != index);
        }
    }

    fn lose_pending(&mut self, index: usize) {
        if let Some(pump) = slab::get_mut(&mut self.output.pumps, index) {
            pump.lost += pump.pending.len() as u64;
            pump.pending.clear();
        }
    }

    fn close_pump(&mut self, index: usize) {
        self.lose_pending(index);
        let Some(mut pump) = self.output.pumps.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.finish_filters(&mut pump);
        let registry = self.reactor.registry();
        if !pump.paused {
            let _ = registry.deregister(&mut SourceFd(&pump.pipe.as_raw_fd()));
        }
        if pump.lost > 0 {
            warn!(
                "{}: {} bytes of output could not be written",
                pump.label, pump.lost
            );
        }
        self.again.retain(|&s| s != Source::Output(index));
        let Some(sink_index) = pump.sink else {
            return;
        };
        if let Some(sink) = slab::get_mut(&mut self.output.sinks, sink_index) {
            let watched = !sink.waiting.is_empty();
            sink.waiting.retain(|&i| i != index);
            if watched && sink.waiting.is_empty() {
                let _ = registry.deregister(&mut SourceFd(&sink.file.as_raw_fd()));
            }
        }
        self.release_sink(sink_index);
    }

    /// At the end of a stream: an `ESC` the stripper held is text after all, and an
    /// unfinished line goes to syslog.
    fn finish_filters(&mut self, pump: &mut Pump) {
        let mut tail = Vec::new();
        if let Some(stripper) = pump.strip.as_mut() {
            stripper.finish(&mut tail);
        }
        pump.forward(&tail, self.output.syslog.as_mut());
        if let (Some((lines, prefix)), Some(syslog)) =
            (pump.syslog.as_mut(), self.output.syslog.as_mut())
        {
            lines.finish(|line| report(&pump.label, syslog.send(USER_INFO, &[prefix, line])));
        }
        if tail.is_empty() {
            return;
        }
        if let Some(sink) = pump
            .sink
            .and_then(|i| slab::get_mut(&mut self.output.sinks, i))
        {
            let taken = pump.write(&mut sink.file, &tail);
            pump.lost += (tail.len() - taken) as u64;
        }
    }
}

/// Says in the daemon log when syslog stops or starts taking a program's lines.
fn report(label: &str, sent: Sent) {
    match sent {
        Sent::Ok | Sent::Lost { first: None } => {}
        Sent::Lost { first: Some(why) } => {
            warn!("{label}: {why}; lines for syslog are dropped until it takes them again")
        }
        Sent::Recovered { lost } => {
            info!("{label}: syslog takes lines again ({lost} lines could not be sent)")
        }
    }
}

impl Pump {
    /// Hands the bytes to syslog, line by line, if this pump sends there.
    fn forward(&mut self, data: &[u8], syslog: Option<&mut Syslog>) {
        let (Some((lines, prefix)), Some(syslog)) = (self.syslog.as_mut(), syslog) else {
            return;
        };
        let label = &self.label;
        lines.feed(data, |line| {
            report(label, syslog.send(USER_INFO, &[prefix, line]))
        });
    }

    /// Writes to the sink; returns how many bytes it is done with. Bytes refused for a
    /// reason other than pushback are counted as lost (and reported once).
    fn write(&mut self, file: &mut RotatingFile, data: &[u8]) -> usize {
        if data.is_empty() {
            return 0;
        }
        let written = file.write_stream(data);
        let (done, lost) = settle(data.len(), &written);
        self.report_rotation(written.rotate_error);
        match written.error {
            Some(e) if e.kind() != io::ErrorKind::WouldBlock => self.failed(file, &e.to_string()),
            _ if written.bytes > 0 => self.recovered(file),
            _ => {}
        }
        self.lost += lost;
        done
    }

    fn report_rotation(&self, rotate_error: Option<RotateError>) {
        if let Some(e) = rotate_error {
            error!(
                "{}: cannot rotate {}: {}",
                self.label,
                e.path.display(),
                e.error
            );
        }
    }

    fn recovered(&mut self, file: &RotatingFile) {
        if self.failing {
            info!(
                "{}: writing to {} again ({} bytes were lost)",
                self.label,
                file.path().display(),
                self.lost
            );
            self.failing = false;
            self.lost = 0;
        }
    }

    fn failed(&mut self, file: &RotatingFile, error: &str) {
        if !self.failing {
            error!(
                "{}: cannot write {}: {error}",
                self.label,
                file.path().display()
            );
            self.failing = true;
        }
    }
}

/// Of `len` bytes handed to a sink: how many it is done with, and how many of those were
/// lost. What it wrote is done; after an error the rest is done too, and lost; after
/// pushback the rest waits.
fn settle(len: usize, written: &Written) -> (usize, u64) {
    match &written.error {
        None => (len, 0),
        Some(e) if e.kind() == io::ErrorKind::WouldBlock => (written.bytes, 0),
        Some(_) => (len, (len - written.bytes.min(len)) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(bytes: usize, error: Option<io::ErrorKind>) -> Written {
        Written {
            bytes,
            error: error.map(io::Error::from),
            rotate_error: None,
        }
    }

    #[test]
    fn only_what_was_not_written_is_lost() {
        assert_eq!(settle(10, &written(10, None)), (10, 0));
        // A partial write, then an error (disk full): the 4 written bytes are not lost.
        let full = Some(io::ErrorKind::StorageFull);
        assert_eq!(settle(10, &written(4, full)), (10, 6));
        assert_eq!(settle(10, &written(0, full)), (10, 10));
        // Pushback: nothing is lost, the rest waits for the sink.
        let would_block = Some(io::ErrorKind::WouldBlock);
        assert_eq!(settle(10, &written(4, would_block)), (4, 0));
    }
}
