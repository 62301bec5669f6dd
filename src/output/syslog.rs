//! Lines sent to the local syslog daemon: supervisord's `stdout_syslog`/`stderr_syslog`
//! (each line of a child's output, as `<program> <line>`) and `[supervisord] logfile =
//! syslog` (the daemon's own log).
//!
//! A datagram per line to `/dev/log`, in the form glibc's `syslog(3)` sends: `<PRI>Mmm dd
//! hh:mm:ss ident: message`, ident being the basename of the daemon's `argv[0]` (what
//! Python's `syslog.syslog` uses, so a supervisord filter on `supervisord:` still matches
//! when the binary is run through its `supervisord` link). The socket is non-blocking:
//! a syslog daemon that is gone or cannot keep up costs lines, never the loop. Lines that
//! could not be sent are counted and reported when sending works again; while there is
//! no socket, connecting is tried again at most once a second, when a line comes.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where syslog daemons listen.
pub const DEV_LOG: &str = "/dev/log";
/// A message's longest line; a longer line goes out in pieces of this size (rsyslog's
/// default limit is 8 KiB for the whole message).
pub const MAX_LINE: usize = 4096;
const RETRY: Duration = Duration::from_secs(1);

/// syslog priorities (facility LOG_USER).
pub const USER_CRIT: u8 = 8 + 2;
pub const USER_ERR: u8 = 8 + 3;
pub const USER_WARNING: u8 = 8 + 4;
pub const USER_INFO: u8 = 8 + 6;
pub const USER_DEBUG: u8 = 8 + 7;

/// A connection to the syslog daemon.
pub struct Syslog {
    path: PathBuf,
    ident: String,
    socket: Option<UnixDatagram>,
    /// No connection attempt before this.
    next_try: Option<Instant>,
    /// Lines not sent since the last one that was.
    lost: u64,
    /// Why the last line was not sent, reported once per outage.
    outage: Option<String>,
    message: Vec<u8>,
    stamp: (u64, String),
}

/// What `send` did, for the caller to log (the daemon log may itself be syslog).
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Ok,
    /// Sent again after `lost` lines could not be.
    Recovered {
        lost: u64,
    },
    /// Not sent; the first failure of an outage carries its reason.
    Lost {
        first: Option<String>,
    },
}

impl Syslog {
    pub fn new() -> Syslog {
        let ident = std::env::args_os()
            .next()
            .map(PathBuf::from)
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "supervice".into());
        Syslog::at(PathBuf::from(DEV_LOG), ident)
    }

    pub fn at(path: PathBuf, ident: String) -> Syslog {
        Syslog {
            path,
            ident,
            socket: None,
            next_try: None,
            lost: 0,
            outage: None,
            message: Vec::new(),
            stamp: (u64::MAX, String::new()),
        }
    }

    /// Sends `parts` joined as one message with priority `priority`.
    pub fn send(&mut self, priority: u8, parts: &[&[u8]]) -> Sent {
        let result = self.connect().and_then(|()| {
            let stamp = stamp(&mut self.stamp);
            self.message.clear();
            self.message
                .extend_from_slice(format!("<{priority}>{stamp} {}: ", self.ident).as_bytes());
            for part in parts {
                self.message.extend_from_slice(part);
            }
            match &self.socket {
                Some(socket) => socket.send(&self.message).map(|_| ()),
                None => Err(io::Error::other("not connected")),
            }
        });
        match result {
            Ok(()) if self.lost > 0 => {
                let lost = std::mem::take(&mut self.lost);
                self.outage = None;
                Sent::Recovered { lost }
            }
            Ok(()) => Sent::Ok,
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    // Gone (the syslog daemon restarted, say): connect again later.
                    self.socket = None;
                    self.next_try = Some(Instant::now() + RETRY);
                }
                self.lost += 1;
                let first = self.outage.is_none().then(|| {
                    let why = format!("cannot send to {}: {e}", self.path.display());
                    self.outage = Some(why.clone());
                    why
                });
                Sent::Lost { first }
            }
        }
    }

    fn connect(&mut self) -> io::Result<()> {
        if self.socket.is_none() {
            if self.next_try.is_some_and(|t| Instant::now() < t) {
                return Err(io::Error::other("not connected"));
            }
            let attempt = UnixDatagram::unbound().and_then(|s| {
                s.set_nonblocking(true)?;
                s.connect(&self.path)?;
                Ok(s)
            });
            match attempt {
                Ok(socket) => {
                    self.socket = Some(socket);
                    self.next_try = None;
                }
                Err(e) => {
                    self.next_try = Some(Instant::now() + RETRY);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

impl Default for Syslog {
    fn default() -> Syslog {
        Syslog::new()
    }
}

/// `Mmm dd hh:mm:ss` in local time (RFC 3164), cached for the second.
fn stamp(cache: &mut (u64, String)) -> &str {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if cache.0 != now {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        cache.1 = match crate::logger::local_time(now) {
            Some(tm) => format!(
                "{} {:2} {:02}:{:02}:{:02}",
                MONTHS[tm.tm_mon.clamp(0, 11) as usize],
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            ),
            None => "Jan  1 00:00:00".into(),
        };
        cache.0 = now;
    }
    &cache.1
}

/// Cuts a stream into lines for syslog: a line ends at `\n` (not sent), or at
/// `MAX_LINE` bytes, or at the end of the stream.
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// Calls `each` with every line `data` completes.
    pub fn feed(&mut self, mut data: &[u8], mut each: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.emit(&window[..end], &mut each);
                    data = &data[end + 1..];
                }
                None if window.len() == room => {
                    self.emit(window, &mut each);
                    data = &data[room..];
                }
                None => {
                    self.partial.extend_from_slice(window);
                    return;
                }
            }
        }
    }

    /// At the end of the stream: the unfinished line, if any.
    pub fn finish(&mut self, mut each: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            each(&line);
        }
    }

    fn emit(&mut self, tail: &[u8], each: &mut impl FnMut(&[u8])) {
        if self.partial.is_empty() {
            each(tail);
        } else {
            self.partial.extend_from_slice(tail);
            each(&self.partial);
            self.partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut cutter = Lines::default();
        let mut out = Vec::new();
        for chunk in chunks {
            cutter.feed(chunk, |l| out.push(l.to_vec()));
        }
        cutter.finish(|l| out.push(l.to_vec()));
        out
    }

    #[test]
    fn lines_are_cut_at_newlines_across_reads_and_at_the_end() {
        assert_eq!(
            lines(&[b"one\ntw", b"o\n\nthr", b"ee"]),
            vec![
                b"one".to_vec(),
                b"two".to_vec(),
                b"".to_vec(),
                b"three".to_vec()
            ]
        );
        assert!(lines(&[b""]).is_empty());
    }

    #[test]
    fn an_over_long_line_goes_out_in_bounded_pieces() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let out = lines(&[&long[..100], &long[100..], b"\nend"]);
        let sizes: Vec<usize> = out.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_LINE, MAX_LINE, 10, 3]);
    }

    #[test]
    fn datagrams_have_glibcs_form_and_a_missing_daemon_costs_only_lines() {
        let dir = std::env::temp_dir().join(format!("supervice-syslog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("log");
        let mut syslog = Syslog::at(path.clone(), "supervisord".into());
        // Nobody listens yet: the line is lost and the reason given once.
        match syslog.send(USER_INFO, &[b"web ", b"hello"]) {
            Sent::Lost { first: Some(why) } => assert!(why.contains("cannot send"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            syslog.send(USER_INFO, &[b"again"]),
            Sent::Lost { first: None }
        );
        let server = UnixDatagram::bind(&path).expect("bind");
        syslog.next_try = None;
        assert_eq!(
            syslog.send(USER_INFO, &[b"web ", b"hello"]),
            Sent::Recovered { lost: 2 }
        );
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("recv");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.starts_with("<14>"), "{text}");
        assert!(text.ends_with(" supervisord: web hello"), "{text}");
        // `<14>Dec  4 17:55:09 ` : month, padded day, time.
        let stamp = &text[4..20];
        assert_eq!(stamp.as_bytes()[3], b' ', "{text}");
        assert_eq!(&stamp[9..10], ":", "{text}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
