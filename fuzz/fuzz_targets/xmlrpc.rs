//! The XML-RPC side of the HTTP frontend: `xmlrpc::decode_call` on a request body, the
//! call it decodes written back with `response` (one reply per parameter, its `<param>`
//! put into a `<methodCall>`) and decoded again, the same for value trees and faults
//! built from the input, `response` and `fault_response` read by quick-xml, and
//! `base64_decode`.
//!
//! Input layout: the whole input is the request body, so a seed is a call as
//! supervisorctl sends it. The same bytes are also read as a recipe for values (see
//! `Recipe`), a fault (a code, then its detail) and base64 text.
//!
//! Properties checked beyond "no panic":
//! - `decode_call` is deterministic and a decoded method name is trimmed and not empty;
//! - round trip: a decoded call, written with `response` and put into a `<methodCall>`,
//!   decodes back to itself, except what the writer and XML change on purpose: `<nil/>`
//!   is written as the string `none`, and a CR or CRLF in a string or name comes back
//!   as LF (XML 1.0 end-of-line handling; a CR survives decoding only as `&#13;` or in
//!   CDATA). When the rewritten call nests deeper than the decoder allows (`<data/>`,
//!   `<nil/>` or `<boolean/>` are written with an open and a close tag, one level
//!   deeper) it is refused, never misread;
//! - the same round trip for value trees built from the input: any text in strings and
//!   member names, any `i64`, any double text the decoder accepts;
//! - `response` and `fault_response` are well-formed XML for quick-xml (a declaration
//!   first, one `methodResponse` root, every tag closed by its name, every reference
//!   defined, no text read as markup) of the shape xmlrpclib writes, and a fault reads
//!   back as its code and `NAME` or `NAME: detail` text;
//! - `base64_decode` of the standard encoding of any bytes, also with line breaks and
//!   whitespace anywhere, is those bytes; on any text it refuses only a character
//!   outside the alphabet, `=` and whitespace, a digit after `=` or a dangling sixth
//!   bit group, and what it accepts is what the digits say (re-encoded, the same digits
//!   but for the bits of the last one that make no whole byte).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event;
use quick_xml::Reader;
use supervice::frontend::http::xmlrpc::{
    base64_decode, decode_call, fault_response, response, Call, Code, DecodeError, Fault, Value,
};

const CODES: [Code; 18] = [
    Code::UnknownMethod,
    Code::IncorrectParameters,
    Code::BadArguments,
    Code::SignatureUnsupported,
    Code::ShutdownState,
    Code::BadName,
    Code::BadSignal,
    Code::NoFile,
    Code::NotExecutable,
    Code::Failed,
    Code::AbnormalTermination,
    Code::SpawnError,
    Code::AlreadyStarted,
    Code::NotRunning,
    Code::Success,
    Code::AlreadyAdded,
    Code::StillRunning,
    Code::CantReread,
];

/// The decoder's nesting limit: an element may sit at most this deep (`<methodCall>`
/// is at 1, a parameter's `<value>` at 4).
const MAX_DEPTH: usize = 64;

const RESPONSE_HEAD: &str = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n";
const RESPONSE_TAIL: &str = "</params>\n</methodResponse>\n";
const FAULT_HEAD: &str = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n";
const FAULT_TAIL: &str = "</fault>\n</methodResponse>\n";

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Text as XML 1.0 reads it back: CRLF and CR are LF.
fn eol(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// What a value decodes as once written.
fn written(v: &Value) -> Value {
    match v {
        Value::Nil => Value::str("none"),
        Value::Str(s) => Value::Str(eol(s)),
        Value::Array(items) => Value::Array(items.iter().map(written).collect()),
        Value::Struct(members) => {
            Value::Struct(members.iter().map(|(k, v)| (eol(k), written(v))).collect())
        }
        Value::Int(_) | Value::Bool(_) | Value::Double(_) => v.clone(),
    }
}

/// The deepest element `response` writes for `v` when its `<value>` is at `at`.
fn deepest(v: &Value, at: usize) -> usize {
    match v {
        // <array> at + 1, <data> at + 2, items at + 3.
        Value::Array(items) => items
            .iter()
            .map(|i| deepest(i, at + 3))
            .fold(at + 2, usize::max),
        // <struct> at + 1, <member> at + 2, <name> and <value> at + 3.
        Value::Struct(members) => members
            .iter()
            .map(|(_, v)| deepest(v, at + 3))
            .fold(at + 1, usize::max),
        _ => at + 1,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A `<methodCall>` whose parameters are what `response` writes for each value.
fn call_xml(method: &str, params: &[Value]) -> String {
    let mut out = format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>{}</methodName>\n<params>\n",
        escape(method)
    );
    for v in params {
        let reply = response(v);
        well_formed(&reply);
        let param = reply
            .strip_prefix(RESPONSE_HEAD)
            .and_then(|r| r.strip_suffix(RESPONSE_TAIL))
            .unwrap_or_else(|| panic!("not xmlrpclib's reply: {reply:?}"));
        assert!(param.starts_with("<param>\n<value>") && param.ends_with("</value>\n</param>\n"));
        out.push_str(param);
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

fn round_trip(method: &str, params: &[Value]) {
    let xml = call_xml(method, params);
    let deepest = params.iter().map(|v| deepest(v, 4)).max().unwrap_or(2);
    let want = if deepest > MAX_DEPTH {
        Err(DecodeError::Unmarshallable)
    } else {
        Ok(Call {
            method: eol(method),
            params: params.iter().map(written).collect(),
        })
    };
    assert_eq!(decode_call(xml.as_bytes()), want, "round trip of {xml:?}");
}

/// A reply as quick-xml reads it: well-formed, one `methodResponse`, nothing but
/// elements, text and defined references.
fn well_formed(xml: &str) {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut roots = 0;
    let mut first = true;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{e} in {xml:?}"));
        match &event {
            Event::Decl(_) => assert!(first, "a declaration after the start"),
            Event::Start(e) | Event::Empty(e) => {
                if open.is_empty() {
                    roots += 1;
                    assert_eq!(e.name().as_ref(), b"methodResponse", "the root");
                }
                if matches!(event, Event::Start(_)) {
                    open.push(e.name().as_ref().to_vec());
                }
            }
            Event::End(e) => {
                let name = open.pop();
                assert_eq!(name.as_deref(), Some(e.name().as_ref()), "closing tag");
            }
            Event::Text(t) => {
                let text = t.xml10_content().expect("text is UTF-8");
                assert!(
                    !open.is_empty() || text.trim().is_empty(),
                    "text outside the root: {text:?}"
                );
            }
            Event::GeneralRef(r) => {
                assert!(!open.is_empty(), "a reference outside the root");
                let defined = match r.resolve_char_ref() {
                    Ok(Some(_)) => true,
                    Ok(None) => r
                        .decode()
                        .is_ok_and(|n| quick_xml::escape::resolve_xml_entity(&n).is_some()),
                    Err(_) => false,
                };
                assert!(defined, "undefined reference {r:?} in {xml:?}");
            }
            Event::Eof => break,
            other => panic!("text read as markup: {other:?} in {xml:?}"),
        }
        first = false;
    }
    assert!(open.is_empty(), "unclosed {open:?}");
    assert_eq!(roots, 1, "one root element");
}

fn check_fault(fault: &Fault) {
    let xml = fault_response(fault);
    well_formed(&xml);
    let value = xml
        .strip_prefix(FAULT_HEAD)
        .and_then(|r| r.strip_suffix(FAULT_TAIL))
        .unwrap_or_else(|| panic!("not xmlrpclib's fault: {xml:?}"));
    let call = format!(
        "<methodCall><methodName>fault</methodName><params><param>{value}</param></params></methodCall>"
    );
    let want = Value::Struct(vec![
        ("faultCode".into(), Value::Int(fault.code as i64)),
        ("faultString".into(), Value::Str(eol(&fault.text))),
    ]);
    assert_eq!(
        decode_call(call.as_bytes()),
        Ok(Call {
            method: "fault".into(),
            params: vec![want]
        }),
        "{xml:?}"
    );
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Str(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Struct(members) => members.iter().for_each(|(k, v)| {
            out.push(k);
            strings(v, out);
        }),
        _ => {}
    }
}

fn check_call(body: &[u8]) {
    let decoded = decode_call(body);
    assert_eq!(decoded, decode_call(body), "decode_call is deterministic");
    let Ok(call) = decoded else {
        return;
    };
    assert!(!call.method.is_empty(), "an empty method name");
    assert_eq!(
        call.method.trim(),
        call.method,
        "the method name is trimmed"
    );
    round_trip(&call.method, &call.params);
    // Faults carry what the client sent, as `BAD_NAME: <name>` does.
    let mut texts = vec![call.method.as_str()];
    call.params.iter().for_each(|v| strings(v, &mut texts));
    for text in texts.into_iter().take(16) {
        check_fault(&Fault::new(Code::BadName, text));
    }
}

/// The input read as values: a kind byte, then what that kind needs.
struct Recipe<'a> {
    data: &'a [u8],
}

impl<'a> Recipe<'a> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        *b
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte() % 32);
        String::from_utf8_lossy(self.take(n)).into_owned()
    }

    fn value(&mut self, depth: usize) -> Value {
        let kind = self.byte();
        match kind % if depth < 8 { 8 } else { 5 } {
            0 => {
                let mut bytes = [0u8; 8];
                let taken = self.take(8);
                bytes[..taken.len()].copy_from_slice(taken);
                Value::Int(i64::from_le_bytes(bytes))
            }
            1 => Value::Bool(kind & 0x80 != 0),
            2 => Value::Str(self.text()),
            3 => {
                // Any text of digits, signs, dots and exponents with a digit in it.
                let n = 1 + usize::from(self.byte() % 12);
                let mut d: String = self
                    .take(n)
                    .iter()
                    .map(|b| char::from(b"0123456789+-.eE"[usize::from(b % 15)]))
                    .collect();
                if !d.bytes().any(|b| b.is_ascii_digit()) {
                    d.push('0');
                }
                Value::Double(d)
            }
            4 => Value::Nil,
            5 | 6 => {
                let n = self.byte() % 4;
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
            _ => {
                let n = self.byte() % 4;
                Value::Struct(
                    (0..n)
                        .map(|_| (self.text(), self.value(depth + 1)))
                        .collect(),
                )
            }
        }
    }
}

fn encode64(bytes: &[u8], pad: bool) -> String {
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..group.len()].copy_from_slice(group);
        let n = u32::from(buf[0]) << 16 | u32::from(buf[1]) << 8 | u32::from(buf[2]);
        let digits = group.len() + 1;
        for i in 0..4 {
            if i < digits {
                out.push(char::from(BASE64[(n >> (18 - 6 * i) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(b: u8) -> Option<u8> {
    BASE64.iter().position(|&c| c == b).map(|p| p as u8)
}

fn check_base64_text(text: &str) {
    let result = base64_decode(text);
    assert_eq!(
        result,
        base64_decode(text),
        "base64_decode is deterministic"
    );
    let chars: Vec<u8> = text.bytes().filter(|b| !b" \t\r\n".contains(b)).collect();
    let foreign = chars.iter().any(|&b| b != b'=' && sextet(b).is_none());
    let first_pad = chars.iter().position(|&b| b == b'=').unwrap_or(chars.len());
    let late = chars[first_pad..].iter().any(|&b| b != b'=');
    let digits: Vec<u8> = chars[..first_pad]
        .iter()
        .filter_map(|&b| sextet(b))
        .collect();
    let dangling = digits.len() % 4 == 1;
    match result {
        None => assert!(foreign || late || dangling, "{text:?} refused"),
        Some(out) => {
            assert!(
                !foreign && !late && !dangling,
                "{text:?} accepted as {out:?}"
            );
            assert_eq!(out.len(), digits.len() * 6 / 8, "{text:?} gave {out:?}");
            let again: Vec<u8> = encode64(&out, false).bytes().filter_map(sextet).collect();
            assert_eq!(again.len(), digits.len());
            if let (Some((a, a_rest)), Some((d, d_rest))) =
                (again.split_last(), digits.split_last())
            {
                assert_eq!(a_rest, d_rest, "{text:?} gave {out:?}");
                let unused = digits.len() * 6 % 8;
                assert_eq!(*a, d >> unused << unused, "{text:?} gave {out:?}");
            }
        }
    }
}

fn check_base64(data: &[u8]) {
    let text = encode64(data, true);
    assert_eq!(base64_decode(&text).as_deref(), Some(data), "{text:?}");
    // Line breaks every 76 characters, as base64.encodebytes writes, and whitespace
    // where the input says.
    let mut spaced = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            spaced.push('\n');
        }
        let choice = data.get(i % data.len().max(1)).copied().unwrap_or(0);
        if let Some(&w) = b" \t\r\n".get(usize::from(choice % 16)) {
            spaced.push(char::from(w));
        }
        spaced.push(c);
    }
    spaced.push('\n');
    assert_eq!(base64_decode(&spaced).as_deref(), Some(data), "{spaced:?}");

    check_base64_text(&String::from_utf8_lossy(data));
    // The input as text mostly of base64's characters.
    const CHARS: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n*";
    let mapped: String = data
        .iter()
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect();
    check_base64_text(&mapped);
}

fuzz_target!(|data: &[u8]| {
    check_call(data);

    // Values and a fault built from the input.
    let mut recipe = Recipe { data };
    let mut params = Vec::new();
    while !recipe.data.is_empty() && params.len() < 8 {
        params.push(recipe.value(0));
    }
    round_trip("supervisor.fuzz", &params);

    let (code, detail) = data.split_first().unwrap_or((&0, &[]));
    let code = CODES[usize::from(*code) % CODES.len()];
    let detail = String::from_utf8_lossy(detail);
    let fault = Fault::new(code, &detail);
    if detail.is_empty() {
        assert_eq!(fault.text, code.name());
    } else {
        assert_eq!(fault.text, format!("{}: {detail}", code.name()));
    }
    check_fault(&fault);

    check_base64(data);
});
