//! The wire protocol of Supervice 0.4, shared by the daemon and `supervicectl`.
//!
//! A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. A request is
//! at most 1 MiB (as in Supervice); a reply at most `MAX_REPLY`, which the configuration
//! limits make sure a status reply always fits. One request and one response per
//! connection. Requests are JSON objects with a
//! `command`, plus `name` for the per-process and per-group commands and `force` for
//! `restart`. This module holds the framing, the request decoder with Supervice's error
//! codes, and a small writer for replies whose keys keep Supervice's order.

pub mod conn;

use serde_json::Value;

/// The largest request the daemon accepts (Supervice's limit, and its error text).
pub const MAX_FRAME: usize = 1_048_576;

/// The largest reply `supervicectl` accepts. Supervice's own 1 MiB cut a status reply at
/// about 19,000 instances; `config` refuses a configuration whose status reply could pass
/// half of this (the other half is room for a reload reply naming old and new instances),
/// so 100,000 instances with names of up to a few hundred bytes always fit.
pub const MAX_REPLY: usize = 64 * 1024 * 1024;

/// Bytes of a status entry beyond its escaped name, at most: the longest state, a pid,
/// an uptime and a health verdict at their widest, and the `", "` before the entry.
/// `status_entry_is_within_its_bound` checks it against `status_entry`.
pub const STATUS_ENTRY_OVERHEAD: usize = 103;

/// The envelope of a status reply around its entries, at most.
pub const STATUS_ENVELOPE: usize = 64;

/// Appends one instance's entry of a status reply to `out` (a JSON array's contents),
/// with the `", "` separator unless it is the first.
pub fn status_entry(
    out: &mut String,
    name: &str,
    state: &str,
    pid: Option<i32>,
    uptime: Option<u64>,
    healthy: Option<bool>,
) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    out.push_str("{\"name\": ");
    push_json_string(out, name);
    out.push_str(", \"state\": ");
    push_json_string(out, state);
    match pid {
        Some(pid) => out.push_str(&format!(", \"pid\": {pid}")),
        None => out.push_str(", \"pid\": null"),
    }
    if let Some(uptime) = uptime {
        out.push_str(&format!(", \"uptime\": {uptime}"));
    }
    if let Some(healthy) = healthy {
        out.push_str(if healthy {
            ", \"healthy\": true"
        } else {
            ", \"healthy\": false"
        });
    }
    out.push('}');
}

/// The most bytes `status_entry` can write for an instance called `name`.
pub fn status_entry_bound(name: &str) -> usize {
    json_string_len(name) + STATUS_ENTRY_OVERHEAD
}

pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Incremental reader of one frame from a byte stream.
#[derive(Debug, Default)]
pub struct FrameReader {
    header: [u8; 4],
    have_header: usize,
    body: Vec<u8>,
    length: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Declared length above `MAX_FRAME`.
    TooLarge(usize),
}

impl FrameReader {
    /// Consumes bytes; returns how many were used and the body once complete.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(usize, Option<Vec<u8>>), FrameError> {
        let mut used = 0;
        if self.length.is_none() {
            let take = (4 - self.have_header).min(data.len());
            self.header[self.have_header..self.have_header + take].copy_from_slice(&data[..take]);
            self.have_header += take;
            used += take;
            data = &data[take..];
            if self.have_header < 4 {
                return Ok((used, None));
            }
            let length = u32::from_be_bytes(self.header) as usize;
            if length > MAX_FRAME {
                return Err(FrameError::TooLarge(length));
            }
            self.length = Some(length);
            self.body.reserve_exact(length.min(64 * 1024));
        }
        let length = self.length.unwrap_or(0);
        let take = (length - self.body.len()).min(data.len());
        // Grow by doubling as Vec does, but never past the declared length, so what the
        // reader holds (`held`) stays within MAX_FRAME whatever the chunking.
        let needed = self.body.len() + take;
        if needed > self.body.capacity() {
            let target = (self.body.capacity() * 2).clamp(needed, length);
            self.body.reserve_exact(target - self.body.len());
        }
        self.body.extend_from_slice(&data[..take]);
        used += take;
        if self.body.len() == length {
            return Ok((used, Some(std::mem::take(&mut self.body))));
        }
        Ok((used, None))
    }

    /// Body bytes held so far.
    pub fn held(&self) -> usize {
        self.body.capacity()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Start(String),
    Stop(String),
    Restart { name: String, force: bool },
    StartGroup(String),
    StopGroup(String),
    Reload,
}

/// A request the daemon cannot serve, answered with a `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: &'static str,
    pub message: String,
}

impl ProtocolError {
    fn new(code: &'static str, message: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code,
            message: message.into(),
        }
    }

    pub fn too_large(length: usize) -> ProtocolError {
        ProtocolError::new(
            "INTERNAL_ERROR",
            format!("Message too large: {length} bytes (max {MAX_FRAME})"),
        )
    }

    pub fn reply(&self) -> Vec<u8> {
        let mut body = Reply::new();
        body.string("status", "error");
        body.string("code", self.code);
        body.string("message", &self.message);
        body.finish()
    }
}

/// What a lookup of `name` gives when the name is not a usable string.
const NOT_A_NAME: &str = "";

/// Decodes a request body with Supervice's checks, in its order.
pub fn decode(body: &[u8]) -> Result<Request, ProtocolError> {
    if body.is_empty() {
        return Err(ProtocolError::new("EMPTY_REQUEST", "Empty request"));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        ProtocolError::new(
            "INVALID_JSON",
            format!(
                "Invalid JSON: request is not UTF-8 (byte 0x{:02x} at position {at})",
                body[at]
            ),
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ProtocolError::new("INVALID_JSON", format!("Invalid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ProtocolError::new(
            "INVALID_REQUEST",
            "Request must be a JSON object",
        ));
    };
    let command = object.get("command").unwrap_or(&Value::Null);
    unhashable(command)?;
    let name = || -> Result<String, ProtocolError> {
        let value = object.get("name").unwrap_or(&Value::Null);
        unhashable(value)?;
        Ok(value.as_str().unwrap_or(NOT_A_NAME).to_string())
    };
    Ok(match command.as_str() {
        Some("status") => Request::Status,
        Some("start") => Request::Start(name()?),
        Some("stop") => Request::Stop(name()?),
        Some("restart") => Request::Restart {
            name: name()?,
            force: object.get("force").is_some_and(truthy),
        },
        Some("startgroup") => Request::StartGroup(name()?),
        Some("stopgroup") => Request::StopGroup(name()?),
        Some("reload") => Request::Reload,
        _ => {
            return Err(ProtocolError::new(
                "UNKNOWN_COMMAND",
                format!("Unknown command: {}", python_str(command)),
            ))
        }
    })
}

/// Supervice looks names up in dicts, so a list or object fails as Python's TypeError.
fn unhashable(value: &Value) -> Result<(), ProtocolError> {
    let kind = match value {
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
        _ => return Ok(()),
    };
    Err(ProtocolError::new(
        "INTERNAL_ERROR",
        format!("unhashable type: '{kind}'"),
    ))
}

/// Python truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `str()` of a JSON value as Python shows it in `Unknown command: <value>`.
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Request {
    /// The request as the client sends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Reply::new();
        let (command, name) = match self {
            Request::Status => ("status", None),
            Request::Start(n) => ("start", Some(n)),
            Request::Stop(n) => ("stop", Some(n)),
            Request::Restart { name, .. } => ("restart", Some(name)),
            Request::StartGroup(n) => ("startgroup", Some(n)),
            Request::StopGroup(n) => ("stopgroup", Some(n)),
            Request::Reload => ("reload", None),
        };
        body.string("command", command);
        if let Some(name) = name {
            body.string("name", name);
        }
        if let Request::Restart { force, .. } = self {
            body.raw("force", if *force { "true" } else { "false" });
        }
        body.finish()
    }
}

/// A JSON object written key by key, in order, as Python's `json.dumps` would.
#[derive(Debug, Default)]
pub struct Reply {
    out: String,
}

impl Reply {
    pub fn new() -> Reply {
        Reply {
            out: String::from("{"),
        }
    }

    pub fn ok(message: &str) -> Vec<u8> {
        let mut reply = Reply::new();
        reply.string("status", "ok");
        reply.string("message", message);
        reply.finish()
    }

    pub fn error(message: &str) -> Vec<u8> {
        let mut reply = Reply::new();
        reply.string("status", "error");
        reply.string("message", message);
        reply.finish()
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push_str(", ");
        }
        push_json_string(&mut self.out, key);
        self.out.push_str(": ");
    }

    pub fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_string(&mut self.out, value);
    }

    /// A value already in JSON form (a number, `null`, `true`, a nested array...).
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }

    pub fn strings(&mut self, key: &str, values: &[String]) {
        self.key(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            push_json_string(&mut self.out, v);
        }
        self.out.push(']');
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.push('}');
        self.out.into_bytes()
    }
}

/// The length of `push_json_string`'s output for `s`, without writing it.
pub fn json_string_len(s: &str) -> usize {
    let escaped: usize = s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => 6 * c.len_utf16(),
            _ => 1,
        })
        .sum();
    escaped + 2
}

/// A JSON string literal, non-ASCII escaped as `\uXXXX` like Python's default.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod frame_reader_tests {
    use super::*;

    /// Found by fuzz/fuzz_targets/rpc.rs: a 1 MiB frame delivered in 192 KiB pieces made
    /// the body buffer double past the frame, to 1.5 MiB held for a 1 MiB request.
    #[test]
    fn reader_never_holds_more_than_the_frame() {
        let data = frame(&vec![b'x'; MAX_FRAME]);
        let mut reader = FrameReader::default();
        let mut at = 0;
        loop {
            let end = (at + 196_608).min(data.len());
            let Ok((used, done)) = reader.push(&data[at..end]) else {
                panic!("a frame of exactly MAX_FRAME is accepted");
            };
            assert_eq!(used, end - at);
            assert!(reader.held() <= MAX_FRAME, "holds {}", reader.held());
            at = end;
            if let Some(body) = done {
                assert_eq!(body.len(), MAX_FRAME);
                break;
            }
        }
    }
}
