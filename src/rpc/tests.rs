//! Framing and request decoding, with Supervice's error codes.

use super::conn::{Conn, Progress};
use super::*;
use std::io::{self, Read, Write};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn code(body: &[u8]) -> (&'static str, String) {
    let e = decode(body).unwrap_err();
    (e.code, e.message)
}

#[test]
fn frame_is_big_endian_length_then_body() {
    assert_eq!(frame(b"{}"), vec![0, 0, 0, 2, b'{', b'}']);
    assert_eq!(frame(b""), vec![0, 0, 0, 0]);
}

#[test]
fn reader_survives_byte_by_byte_delivery() -> TestResult {
    let data = frame(br#"{"command": "status"}"#);
    let mut reader = FrameReader::default();
    let mut bodies = Vec::new();
    for b in &data {
        let (used, done) = reader
            .push(std::slice::from_ref(b))
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(used, 1);
        bodies.extend(done);
    }
    assert_eq!(bodies, vec![br#"{"command": "status"}"#.to_vec()]);
    Ok(())
}

#[test]
fn reader_stops_at_the_end_of_the_first_frame() {
    let mut data = frame(b"ab");
    data.extend(frame(b"cd"));
    let mut reader = FrameReader::default();
    assert_eq!(reader.push(&data), Ok((6, Some(b"ab".to_vec()))));
}

#[test]
fn reader_rejects_oversized_length_before_reading_it() {
    let mut reader = FrameReader::default();
    let header = ((MAX_FRAME + 1) as u32).to_be_bytes();
    assert_eq!(
        reader.push(&header),
        Err(FrameError::TooLarge(MAX_FRAME + 1))
    );
    let mut reader = FrameReader::default();
    let header = (MAX_FRAME as u32).to_be_bytes();
    assert_eq!(reader.push(&header), Ok((4, None)));
}

#[test]
fn too_large_reply_text() {
    let e = ProtocolError::too_large(2_000_000);
    assert_eq!(e.code, "INTERNAL_ERROR");
    assert_eq!(e.message, "Message too large: 2000000 bytes (max 1048576)");
}

#[test]
fn every_command_decodes() {
    assert_eq!(decode(br#"{"command": "status"}"#), Ok(Request::Status));
    assert_eq!(decode(br#"{"command": "reload"}"#), Ok(Request::Reload));
    assert_eq!(
        decode(br#"{"command": "start", "name": "web"}"#),
        Ok(Request::Start("web".into()))
    );
    assert_eq!(
        decode(br#"{"command": "stop", "name": "web:01"}"#),
        Ok(Request::Stop("web:01".into()))
    );
    assert_eq!(
        decode(br#"{"command": "startgroup", "name": "g"}"#),
        Ok(Request::StartGroup("g".into()))
    );
    assert_eq!(
        decode(br#"{"command": "stopgroup", "name": "g", "extra": [1]}"#),
        Ok(Request::StopGroup("g".into()))
    );
}

#[test]
fn restart_force_is_python_truthiness() {
    let force = |json: &str| match decode(json.as_bytes()) {
        Ok(Request::Restart { force, .. }) => force,
        other => panic!("{other:?}"),
    };
    assert!(!force(r#"{"command": "restart", "name": "a"}"#));
    assert!(!force(
        r#"{"command": "restart", "name": "a", "force": false}"#
    ));
    assert!(!force(r#"{"command": "restart", "name": "a", "force": 0}"#));
    assert!(!force(
        r#"{"command": "restart", "name": "a", "force": ""}"#
    ));
    assert!(!force(
        r#"{"command": "restart", "name": "a", "force": null}"#
    ));
    assert!(force(
        r#"{"command": "restart", "name": "a", "force": true}"#
    ));
    assert!(force(r#"{"command": "restart", "name": "a", "force": 1}"#));
    assert!(force(
        r#"{"command": "restart", "name": "a", "force": "yes"}"#
    ));
}

#[test]
fn missing_or_odd_names_are_not_found_not_errors() {
    assert_eq!(
        decode(br#"{"command": "start"}"#),
        Ok(Request::Start(String::new()))
    );
    assert_eq!(
        decode(br#"{"command": "stop", "name": 5}"#),
        Ok(Request::Stop(String::new()))
    );
}

#[test]
fn protocol_errors_have_supervice_codes() {
    assert_eq!(code(b""), ("EMPTY_REQUEST", "Empty request".into()));
    let (c, m) = code(b"not json");
    assert_eq!(c, "INVALID_JSON");
    assert!(m.starts_with("Invalid JSON: "), "{m}");
    let (c, m) = code(b"\xff\xfe");
    assert_eq!(c, "INVALID_JSON");
    assert!(m.contains("not UTF-8") && m.contains("0xff"), "{m}");
    assert_eq!(
        code(b"[1, 2]"),
        ("INVALID_REQUEST", "Request must be a JSON object".into())
    );
    assert_eq!(
        code(br#""status""#),
        ("INVALID_REQUEST", "Request must be a JSON object".into())
    );
    assert_eq!(
        code(br#"{"command": "shutdown"}"#),
        ("UNKNOWN_COMMAND", "Unknown command: shutdown".into())
    );
    assert_eq!(
        code(br#"{"name": "x"}"#),
        ("UNKNOWN_COMMAND", "Unknown command: None".into())
    );
    assert_eq!(
        code(br#"{"command": 5}"#),
        ("UNKNOWN_COMMAND", "Unknown command: 5".into())
    );
    assert_eq!(
        code(br#"{"command": true}"#),
        ("UNKNOWN_COMMAND", "Unknown command: True".into())
    );
    assert_eq!(
        code(br#"{"command": ["status"]}"#),
        ("INTERNAL_ERROR", "unhashable type: 'list'".into())
    );
    assert_eq!(
        code(br#"{"command": "start", "name": {"a": 1}}"#),
        ("INTERNAL_ERROR", "unhashable type: 'dict'".into())
    );
}

#[test]
fn replies_keep_key_order_and_escape_like_python() -> TestResult {
    let body = Reply::ok("Started wéb \"x\"\n");
    assert_eq!(
        String::from_utf8(body)?,
        r#"{"status": "ok", "message": "Started w\u00e9b \"x\"\n"}"#
    );
    let body = ProtocolError::too_large(5_000_000).reply();
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(v["status"], "error");
    assert_eq!(v["code"], "INTERNAL_ERROR");
    let mut out = String::new();
    push_json_string(&mut out, "\u{1F600}\u{7f}");
    assert_eq!(out, r#""\ud83d\ude00\u007f""#);
    Ok(())
}

#[test]
fn request_encoding_is_what_supervicectl_sends() -> TestResult {
    let v: serde_json::Value = serde_json::from_slice(
        &Request::Restart {
            name: "a".into(),
            force: true,
        }
        .encode(),
    )?;
    assert_eq!(
        v,
        serde_json::json!({"command": "restart", "name": "a", "force": true})
    );
    for request in [
        Request::Status,
        Request::Start("x".into()),
        Request::Stop("x".into()),
        Request::StartGroup("g".into()),
        Request::StopGroup("g".into()),
        Request::Reload,
    ] {
        assert_eq!(decode(&request.encode()), Ok(request));
    }
    Ok(())
}

/// A stream that delivers its input in fixed pieces and accepts a limited output each
/// time, with WouldBlock in between, like a slow non-blocking socket.
struct Trickle {
    input: Vec<u8>,
    piece: usize,
    read_turn: bool,
    output: Vec<u8>,
    write_room: usize,
    write_turn: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_turn = !self.read_turn;
        if !self.read_turn {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.piece.min(self.input.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_turn = !self.write_turn;
        if !self.write_turn {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.write_room.min(buf.len());
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn connection_survives_partial_reads_and_writes() {
    let stream = Trickle {
        input: frame(br#"{"command": "status"}"#),
        piece: 3,
        read_turn: false,
        output: Vec::new(),
        write_room: 5,
        write_turn: false,
    };
    let mut conn = Conn::new(stream);
    let mut scratch = [0u8; 64];
    let mut request = None;
    for _ in 0..100 {
        match conn.on_readable(&mut scratch) {
            Progress::Pending => {}
            Progress::Request(r) => {
                request = Some(r);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(request, Some(Ok(Request::Status)));
    let reply = Reply::ok("fine");
    let mut progress = conn.reply(&reply);
    for _ in 0..100 {
        if progress == Progress::Sent {
            break;
        }
        progress = conn.on_writable();
    }
    assert_eq!(progress, Progress::Sent);
    assert_eq!(conn.stream().output, frame(&reply));
}

#[test]
fn connection_reports_peer_gone() {
    struct Gone;
    impl Read for Gone {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut conn = Conn::new(Gone);
    assert_eq!(conn.on_readable(&mut [0u8; 8]), Progress::Closed);
    assert_eq!(conn.reply(b"{}"), Progress::Closed);
}

#[test]
fn json_string_len_matches_what_is_written() {
    for s in [
        "",
        "web",
        "a:00",
        "quote\"back\\slash",
        "tab\tnl\ncr\r\u{8}\u{c}",
        "\u{1}\u{7f}",
        "é",
        "日本",
        "🦀x",
    ] {
        let mut out = String::new();
        push_json_string(&mut out, s);
        assert_eq!(json_string_len(s), out.len(), "{s:?} -> {out}");
    }
}

#[test]
fn status_entry_is_within_its_bound() -> TestResult {
    let name = "widest-🦀-name:99999";
    let mut out = String::from("x");
    status_entry(
        &mut out,
        name,
        "UNHEALTHY",
        Some(i32::MAX),
        Some(u64::MAX),
        Some(false),
    );
    assert_eq!(out.len() - 1, status_entry_bound(name), "{out}");
    let value: serde_json::Value = serde_json::from_str(&format!("[{}]", &out[3..]))?;
    assert_eq!(value[0]["name"], name);
    assert_eq!(value[0]["uptime"], u64::MAX);
    let mut first = String::new();
    status_entry(&mut first, "a", "STOPPED", None, None, None);
    assert_eq!(first, r#"{"name": "a", "state": "STOPPED", "pid": null}"#);
    Ok(())
}

/// The configuration limit (100,000 instances) and the client's reply limit agree: the
/// widest status reply of that many instances with 100-byte names fits with room for a
/// reload reply.
#[test]
fn a_status_of_the_most_instances_fits_the_reply_limit() {
    let name = "n".repeat(100);
    let widest = STATUS_ENVELOPE + 100_000 * status_entry_bound(&name);
    assert!(widest <= MAX_REPLY / 2, "{widest} > {}", MAX_REPLY / 2);
}

/// A client that sends its request, then bytes for ever (as far as `left` goes).
struct Flood {
    request: Vec<u8>,
    left: usize,
    reads: usize,
}

impl Read for Flood {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if !self.request.is_empty() {
            let n = self.request.len().min(buf.len());
            buf[..n].copy_from_slice(&self.request[..n]);
            self.request.drain(..n);
            return Ok(n);
        }
        if self.left == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.left -= 1;
        buf.fill(b'x');
        Ok(buf.len())
    }
}

impl Write for Flood {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_client_flooding_after_its_request_is_read_a_bounded_amount_per_turn() {
    use super::conn::READS_PER_TURN;
    let mut conn = Conn::new(Flood {
        request: frame(br#"{"command": "status"}"#),
        left: 10 * READS_PER_TURN,
        reads: 0,
    });
    let mut scratch = [0u8; 4096];
    assert_eq!(
        conn.on_readable(&mut scratch),
        Progress::Request(Ok(Request::Status))
    );
    conn.stream_mut().reads = 0;
    assert_eq!(conn.on_readable(&mut scratch), Progress::MoreToRead);
    assert_eq!(conn.stream().reads, READS_PER_TURN, "one turn's budget");
    // Later turns take the rest, and then there is nothing more to do.
    let mut turns = 1;
    while conn.on_readable(&mut scratch) == Progress::MoreToRead {
        turns += 1;
        assert!(turns <= 11, "the flood ends");
    }
    assert_eq!(conn.stream().left, 0);
}

#[test]
fn a_request_arriving_in_many_pieces_is_read_a_bounded_amount_per_turn() {
    use super::conn::READS_PER_TURN;
    // A large frame that is all there at once, read 16 bytes at a time.
    let body = format!(
        r#"{{"command": "status", "pad": "{}"}}"#,
        "x".repeat(20_000)
    );
    let mut conn = Conn::new(Flood {
        request: frame(body.as_bytes()),
        left: 0,
        reads: 0,
    });
    let mut scratch = [0u8; 16];
    assert_eq!(conn.on_readable(&mut scratch), Progress::MoreToRead);
    assert_eq!(conn.stream().reads, READS_PER_TURN, "one turn's budget");
    let mut turns = 1;
    let progress = loop {
        turns += 1;
        match conn.on_readable(&mut scratch) {
            Progress::MoreToRead => {}
            other => break other,
        }
        assert!(turns < 10_000, "the request arrives");
    };
    assert!(matches!(progress, Progress::Request(_)), "{progress:?}");
}
