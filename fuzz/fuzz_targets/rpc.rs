//! The RPC side of the daemon: `FrameReader` fed a byte stream in chunks the input
//! chooses, `decode` on every body it completes, `Conn` over an in-memory stream with
//! short reads/writes, `WouldBlock` and `EINTR`, and the request/reply writers.
//!
//! Input layout: byte 0 is a plan length `n` (mod 16), the next `n` bytes are the chunk
//! plan (cycled; see `chunk_size`), the rest is the stream the client sends. With
//! `n = 0` the stream is pushed in one piece, so a seed is just `\0` followed by framed
//! requests.
//!
//! Properties checked beyond "no panic":
//! - `FrameReader` agrees with a plain reference parse of the stream: the same bodies,
//!   `TooLarge` exactly for declared lengths above `MAX_FRAME`, never a body longer than
//!   `MAX_FRAME`, never more bytes consumed than given, and all of a chunk consumed
//!   unless a frame ended inside it; it never holds more than `MAX_FRAME` bytes;
//! - `decode` is deterministic, every error carries one of Supervice's codes, and a
//!   decoded request encodes and decodes back to itself;
//! - `Request::encode` then `decode` round-trips for requests built from the input;
//! - every error reply, and `Reply::ok`/`Reply::error` with any message, is a JSON
//!   object that reads back to the strings written into it;
//! - `Conn` answers exactly what the reference parse says (the decoded first frame, the
//!   too-large error, or a close on a truncated stream) and writes the reply frame
//!   byte for byte through partial writes.
#![no_main]

use std::io::{self, Read, Write};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use supervice::rpc::conn::{Conn, Progress};
use supervice::rpc::{
    decode, frame, FrameError, FrameReader, ProtocolError, Reply, Request, MAX_FRAME,
};

const CODES: [&str; 5] = [
    "EMPTY_REQUEST",
    "INVALID_JSON",
    "INVALID_REQUEST",
    "UNKNOWN_COMMAND",
    "INTERNAL_ERROR",
];

/// What the first frame of `stream` is, read the plain way.
#[derive(Debug, PartialEq)]
enum Expected<'a> {
    /// The stream ends inside the header or the body.
    Truncated,
    TooLarge(usize),
    /// The body, and the bytes after it.
    Frame(&'a [u8], &'a [u8]),
}

fn reference(stream: &[u8]) -> Expected<'_> {
    let Some((header, rest)) = stream.split_first_chunk::<4>() else {
        return Expected::Truncated;
    };
    let length = u32::from_be_bytes(*header) as usize;
    if length > MAX_FRAME {
        return Expected::TooLarge(length);
    }
    if rest.len() < length {
        return Expected::Truncated;
    }
    Expected::Frame(&rest[..length], &rest[length..])
}

/// A plan byte as a chunk size: up to 0xEF bytes as is, 0xF0..=0xFF as 64 KiB..1 MiB.
fn chunk_size(byte: u8) -> usize {
    match byte {
        0..=0xEF => usize::from(byte),
        _ => usize::from(byte - 0xEF) << 16,
    }
}

/// Chunk sizes from the plan, cycled; an empty plan means "everything at once".
struct Plan<'a> {
    sizes: &'a [u8],
    at: usize,
}

impl Plan<'_> {
    fn next(&mut self) -> Option<u8> {
        if self.sizes.is_empty() {
            return None;
        }
        let size = self.sizes[self.at % self.sizes.len()];
        self.at += 1;
        Some(size)
    }
}

fn check_reply(bytes: &[u8], expected: &[(&str, &str)]) {
    let value: Value = serde_json::from_slice(bytes).expect("a reply is valid JSON");
    let Value::Object(object) = value else {
        panic!("a reply is a JSON object");
    };
    assert_eq!(object.len(), expected.len());
    for (key, text) in expected {
        assert_eq!(
            object.get(*key).and_then(Value::as_str),
            Some(*text),
            "{key}"
        );
    }
}

fn check_decode(body: &[u8]) -> Result<Request, ProtocolError> {
    let result = decode(body);
    assert_eq!(result, decode(body), "decode is deterministic");
    match &result {
        Ok(request) => {
            assert_eq!(decode(&request.encode()).as_ref(), Ok(request), "re-encode");
        }
        Err(e) => {
            assert!(CODES.contains(&e.code), "unexpected code {}", e.code);
            check_reply(
                &e.reply(),
                &[
                    ("status", "error"),
                    ("code", e.code),
                    ("message", &e.message),
                ],
            );
        }
    }
    result
}

/// Feeds the stream to `FrameReader`s (a fresh one per frame: a reader reads one frame)
/// and checks each frame against the reference.
fn check_frames(stream: &[u8], plan: &mut Plan<'_>) {
    let mut rest = stream;
    let mut frames = 0;
    let empty_pushes = &mut 0;
    while frames < 64 {
        let expected = reference(rest);
        let mut reader = FrameReader::default();
        let mut consumed = 0;
        let outcome: Result<Vec<u8>, Option<FrameError>> = loop {
            let pending = &rest[consumed..];
            let size = match plan.next() {
                None => pending.len(),
                // Empty pushes are fine, but only a bounded number of them.
                Some(0) if *empty_pushes < 64 => {
                    *empty_pushes += 1;
                    0
                }
                Some(s) => chunk_size(s).max(1),
            };
            let chunk = &pending[..size.min(pending.len())];
            match reader.push(chunk) {
                Err(e) => break Err(Some(e)),
                Ok((used, body)) => {
                    assert!(used <= chunk.len(), "used more than given");
                    consumed += used;
                    assert!(reader.held() <= MAX_FRAME, "holds {}", reader.held());
                    if let Some(body) = body {
                        break Ok(body);
                    }
                    assert_eq!(used, chunk.len(), "a chunk is consumed whole mid-frame");
                    if consumed == rest.len() {
                        break Err(None);
                    }
                }
            }
        };
        match (outcome, expected) {
            (Ok(body), Expected::Frame(want, after)) => {
                assert!(body.len() <= MAX_FRAME, "body of {} bytes", body.len());
                assert_eq!(body, want);
                assert_eq!(
                    consumed,
                    rest.len() - after.len(),
                    "consumed the frame exactly"
                );
                let _ = check_decode(&body);
                rest = after;
            }
            (Err(Some(FrameError::TooLarge(n))), Expected::TooLarge(m)) => {
                assert_eq!(n, m);
                return;
            }
            (Err(None), Expected::Truncated) => return,
            (got, want) => panic!("reader gave {got:?}, reference {want:?}"),
        }
        if rest.is_empty() {
            return;
        }
        frames += 1;
    }
}

/// An in-memory socket: reads follow the plan (0 is WouldBlock, 255 is EINTR, for a
/// bounded number of times), writes accept plan-sized pieces.
struct Stream<'a> {
    input: &'a [u8],
    plan: Plan<'a>,
    errors: usize,
    output: Vec<u8>,
}

impl Stream<'_> {
    fn step(&mut self) -> io::Result<Option<usize>> {
        let Some(size) = self.plan.next() else {
            return Ok(None);
        };
        if self.errors < 64 {
            if size == 0 {
                self.errors += 1;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            if size == 255 {
                self.errors += 1;
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
        Ok(Some(chunk_size(size).max(1)))
    }
}

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = self.step()?.unwrap_or(usize::MAX);
        let n = limit.min(buf.len()).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Stream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let limit = self.step()?.unwrap_or(usize::MAX);
        let n = limit.min(buf.len());
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn check_conn(stream: &[u8], sizes: &[u8]) {
    let scratch_len = 1 + usize::from(sizes.first().copied().unwrap_or(255)) * 64;
    let mut scratch = vec![0u8; scratch_len];
    let mut conn = Conn::new(Stream {
        input: stream,
        plan: Plan { sizes, at: 0 },
        errors: 0,
        output: Vec::new(),
    });
    let progress = loop {
        assert!(conn.waiting_for_request());
        match conn.on_readable(&mut scratch) {
            Progress::Pending => continue,
            other => break other,
        }
    };
    assert!(conn.buffered() <= MAX_FRAME + scratch_len);
    match (progress, reference(stream)) {
        (Progress::Closed, Expected::Truncated) => return,
        (Progress::Request(Err(e)), Expected::TooLarge(n)) => {
            assert_eq!(e, ProtocolError::too_large(n));
        }
        (Progress::Request(got), Expected::Frame(body, _)) => assert_eq!(got, decode(body)),
        (got, want) => panic!("conn gave {got:?}, reference {want:?}"),
    }
    assert!(!conn.waiting_for_request());
    // Later bytes are drained and ignored.
    assert_eq!(conn.on_readable(&mut scratch), Progress::Pending);
    assert_eq!(
        conn.on_writable(),
        Progress::Pending,
        "nothing to write yet"
    );
    let reply = Reply::ok("fine");
    let mut progress = conn.reply(&reply);
    while progress == Progress::Pending {
        progress = conn.on_writable();
    }
    assert_eq!(progress, Progress::Sent);
    assert_eq!(conn.stream().output, frame(&reply));
}

/// A request of every kind, built from the input.
fn request_from(data: &[u8]) -> Request {
    let (kind, rest) = data.split_first().unwrap_or((&0, &[]));
    let name = String::from_utf8_lossy(rest).into_owned();
    match kind % 8 {
        0 => Request::Status,
        1 => Request::Start(name),
        2 => Request::Stop(name),
        3 => Request::Restart {
            name,
            force: kind & 0x80 != 0,
        },
        4 => Request::Restart {
            name,
            force: kind & 0x80 == 0,
        },
        5 => Request::StartGroup(name),
        6 => Request::StopGroup(name),
        _ => Request::Reload,
    }
}

fuzz_target!(|data: &[u8]| {
    let (plan_len, rest) = data.split_first().unwrap_or((&0, &[]));
    let plan_len = usize::from(plan_len % 16).min(rest.len());
    let (sizes, stream) = rest.split_at(plan_len);

    check_frames(stream, &mut Plan { sizes, at: 0 });
    check_conn(stream, sizes);

    // The stream itself as a body, whatever its framing.
    let _ = check_decode(stream);

    // Requests built from the input round-trip through the wire format.
    let request = request_from(stream);
    let encoded = request.encode();
    assert_eq!(decode(&encoded), Ok(request.clone()), "round trip");
    assert_eq!(decode(&frame(&encoded)[4..]), Ok(request));

    // Any text goes into a reply and comes back out.
    let text = String::from_utf8_lossy(stream);
    check_reply(&Reply::ok(&text), &[("status", "ok"), ("message", &text)]);
    check_reply(
        &Reply::error(&text),
        &[("status", "error"), ("message", &text)],
    );
});
