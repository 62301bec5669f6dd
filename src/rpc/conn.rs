//! One server-side connection as a small state machine over a non-blocking stream: read
//! one frame (surviving partial reads, garbage and oversized lengths), hand the decoded
//! request up, then write one reply (surviving partial writes) and close. It knows
//! nothing of processes; the supervisor decides what to answer and when.

use std::io::{self, Read, Write};

use super::{decode, frame, FrameError, FrameReader, ProtocolError, Request};

/// Reads per readiness turn, so one client that keeps sending cannot hold the loop; the
/// rest waits for the next turn (`Progress::MoreToRead`).
pub const READS_PER_TURN: usize = 64;

#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing more can happen until the fd is ready again.
    Pending,
    /// The turn's read budget ran out with bytes perhaps still waiting: call
    /// `on_readable` again on a later loop turn (readiness will not be reported again).
    MoreToRead,
    /// A whole request arrived (or a protocol error to answer). Later bytes are ignored.
    Request(Result<Request, ProtocolError>),
    /// The reply is fully written; close.
    Sent,
    /// The peer went away or the stream failed; close without a reply.
    Closed,
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Reading,
    /// The request is being served (a start may wait for RUNNING).
    Serving,
    Writing,
}

pub struct Conn<S> {
    stream: S,
    reader: FrameReader,
    out: Vec<u8>,
    written: usize,
    phase: Phase,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            reader: FrameReader::default(),
            out: Vec::new(),
            written: 0,
            phase: Phase::Reading,
        }
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The stream back, for a connection that turned out to speak another protocol
    /// (nothing was read from it yet).
    pub fn into_stream(self) -> S {
        self.stream
    }

    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Bytes this connection holds in memory.
    pub fn buffered(&self) -> usize {
        self.reader.held() + self.out.len()
    }

    /// Reads what is available. Returns the request once its frame is complete.
    pub fn on_readable(&mut self, scratch: &mut [u8]) -> Progress {
        if self.phase != Phase::Reading {
            // A client that keeps sending after its request: drain and ignore, so the
            // fd does not stay readable for nothing.
            return self.discard(scratch);
        }
        for _ in 0..READS_PER_TURN {
            let n = match self.stream.read(scratch) {
                Ok(0) => return Progress::Closed,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Progress::Closed,
            };
            match self.reader.push(&scratch[..n]) {
                Err(FrameError::TooLarge(length)) => {
                    self.phase = Phase::Serving;
                    return Progress::Request(Err(ProtocolError::too_large(length)));
                }
                Ok((_, Some(body))) => {
                    self.phase = Phase::Serving;
                    return Progress::Request(decode(&body));
                }
                Ok((_, None)) => {}
            }
        }
        Progress::MoreToRead
    }

    /// Reads and drops what a client sends after its request. EOF is fine: a client may
    /// shut down its write side and still read the reply.
    fn discard(&mut self, scratch: &mut [u8]) -> Progress {
        for _ in 0..READS_PER_TURN {
            match self.stream.read(scratch) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return Progress::Pending,
            }
        }
        Progress::MoreToRead
    }

    /// Queues the reply body and writes as much as the socket takes.
    pub fn reply(&mut self, body: &[u8]) -> Progress {
        self.out = frame(body);
        self.written = 0;
        self.phase = Phase::Writing;
        self.on_writable()
    }

    pub fn on_writable(&mut self) -> Progress {
        if self.phase != Phase::Writing {
            return Progress::Pending;
        }
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Progress::Closed,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Progress::Closed,
            }
        }
        Progress::Sent
    }

    /// Whether the request has not fully arrived yet (for the read deadline).
    pub fn waiting_for_request(&self) -> bool {
        self.phase == Phase::Reading
    }
}
