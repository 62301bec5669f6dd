//! XML-RPC as supervisord speaks it: a call decoded the way its own unmarshaller does
//! (`supervisor/xmlrpc.py`: an untyped `<value>` is a string, `<boolean>` is true only
//! for `1`, `<base64>` decodes to text, `<nil/>` is accepted), and replies written the
//! way Python's `xmlrpclib.dumps` writes them, never with `<nil/>`. Parsing is
//! quick-xml's; this module only walks the elements.

use std::fmt::Write as _;

use quick_xml::events::Event as Xml;
use quick_xml::Reader;

/// Deepest nesting of elements a call may have (arrays in structs in arrays...).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    /// A `<double>`, kept as its text (no method takes one; only its truth matters).
    Double(String),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    /// `<nil/>` in a request (never written).
    Nil,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A member of a struct.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A decoded `<methodCall>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    pub params: Vec<Value>,
}

/// Why a request body is not a call (supervisord answers both with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Unmarshallable,
    NoMethodName,
}

/// One element of the request, with its text (entities resolved) and children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn tree(body: &[u8]) -> Result<Node, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::Unmarshallable)?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|_| DecodeError::Unmarshallable)?;
        match event {
            Xml::Start(start) => {
                if stack.len() > MAX_DEPTH {
                    return Err(DecodeError::Unmarshallable);
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push(Node {
                    name,
                    ..Node::default()
                });
            }
            Xml::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let node = Node {
                    name,
                    ..Node::default()
                };
                stack
                    .last_mut()
                    .ok_or(DecodeError::Unmarshallable)?
                    .children
                    .push(node);
            }
            Xml::End(_) => {
                let node = stack.pop().ok_or(DecodeError::Unmarshallable)?;
                stack
                    .last_mut()
                    .ok_or(DecodeError::Unmarshallable)?
                    .children
                    .push(node);
            }
            Xml::Text(t) => {
                let content = t.xml10_content().map_err(|_| DecodeError::Unmarshallable)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&content);
                }
            }
            Xml::CData(c) => {
                let content = c.decode().map_err(|_| DecodeError::Unmarshallable)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&content);
                }
            }
            Xml::GeneralRef(r) => {
                let resolved = resolve(&r)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Xml::Eof => break,
            Xml::Comment(_) | Xml::Decl(_) | Xml::PI(_) | Xml::DocType(_) => {}
        }
    }
    if stack.len() != 1 {
        return Err(DecodeError::Unmarshallable);
    }
    stack.pop().ok_or(DecodeError::Unmarshallable)
}

fn child<'a>(node: &'a Node, name: &str) -> Option<&'a Node> {
    node.children.iter().find(|c| c.name == name)
}

fn value(node: &Node) -> Result<Value, DecodeError> {
    let Some(typed) = node.children.first() else {
        return Ok(Value::Str(node.text.clone()));
    };
    Ok(match typed.name.as_str() {
        "nil" => Value::Nil,
        "array" => {
            let data = child(typed, "data").ok_or(DecodeError::Unmarshallable)?;
            let items = data.children.iter().filter(|c| c.name == "value");
            Value::Array(items.map(value).collect::<Result<_, _>>()?)
        }
        "struct" => {
            let mut members = Vec::new();
            for member in typed.children.iter().filter(|c| c.name == "member") {
                let name = child(member, "name").ok_or(DecodeError::Unmarshallable)?;
                let v = child(member, "value").ok_or(DecodeError::Unmarshallable)?;
                members.push((name.text.clone(), value(v)?));
            }
            Value::Struct(members)
        }
        scalar => scalar_value(scalar, &typed.text)?,
    })
}

/// A scalar `<type>text</type>`, typed as supervisord's unmarshaller types it.
fn scalar_value(kind: &str, text: &str) -> Result<Value, DecodeError> {
    Ok(match kind {
        "int" | "i4" | "i8" => Value::Int(python_int(text).ok_or(DecodeError::Unmarshallable)?),
        "boolean" => Value::Bool(text == "1"),
        "string" => Value::Str(text.to_string()),
        "double" => {
            let t = text.trim();
            let valid = !t.is_empty()
                && t.bytes().any(|b| b.is_ascii_digit())
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
            if !valid {
                return Err(DecodeError::Unmarshallable);
            }
            Value::Double(t.to_string())
        }
        "dateTime.iso8601" => Value::Str(text.to_string()),
        "base64" => Value::Str(
            String::from_utf8(base64_decode(text).ok_or(DecodeError::Unmarshallable)?)
                .map_err(|_| DecodeError::Unmarshallable)?,
        ),
        _ => return Err(DecodeError::Unmarshallable),
    })
}

/// Python's `int()` of a string: surrounding whitespace and a sign allowed.
fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Decodes a request body into a call.
pub fn decode_call(body: &[u8]) -> Result<Call, DecodeError> {
    let root = tree(body)?;
    let call = child(&root, "methodCall").ok_or(DecodeError::Unmarshallable)?;
    let method = child(call, "methodName")
        .map(|n| n.text.trim().to_string())
        .unwrap_or_default();
    if method.is_empty() {
        return Err(DecodeError::NoMethodName);
    }
    let mut params = Vec::new();
    if let Some(list) = child(call, "params") {
        for param in list.children.iter().filter(|c| c.name == "param") {
            let v = child(param, "value").ok_or(DecodeError::Unmarshallable)?;
            params.push(value(v)?);
        }
    }
    Ok(Call { method, params })
}

/// A `<methodCall>` body as Python's `xmlrpclib.dumps` writes one (the client's side).
pub fn call_body(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodCall>\n<methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName>\n<params>\n");
    for param in params {
        out.push_str("<param>\n");
        write_value(&mut out, param);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

/// A `<methodResponse>`: its value, or its fault as (faultCode, faultString). Read as a
/// stream straight into values (a client reads replies of a megabyte: no element tree).
pub fn decode_response(body: &[u8]) -> Result<Result<Value, (i64, String)>, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::Unmarshallable)?;
    let mut stream = Stream {
        reader: Reader::from_str(text),
    };
    stream.open("methodResponse")?;
    let fault = match stream.next()? {
        Met::Open(e) if named(&e, "fault") => true,
        Met::Open(e) if named(&e, "params") => {
            stream.open("param")?;
            false
        }
        _ => return Err(DecodeError::Unmarshallable),
    };
    stream.open("value")?;
    let v = stream.value(0)?;
    if !fault {
        return Ok(Ok(v));
    }
    let Some(Value::Int(code)) = v.get("faultCode") else {
        return Err(DecodeError::Unmarshallable);
    };
    let text = v.get("faultString").and_then(Value::as_str).unwrap_or("");
    Ok(Err((*code, text.to_string())))
}

/// What the stream decoder meets next, text between elements skipped. Element names are
/// compared in place (a reply of 1000 processes has 150,000 elements).
enum Met<'a> {
    Open(quick_xml::events::BytesStart<'a>),
    Empty(quick_xml::events::BytesStart<'a>),
    Close,
}

fn named(e: &quick_xml::events::BytesStart<'_>, name: &str) -> bool {
    e.local_name().as_ref() == name.as_bytes()
}

struct Stream<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> Stream<'a> {
    /// The next element boundary, skipping text, comments and declarations.
    fn next(&mut self) -> Result<Met<'a>, DecodeError> {
        loop {
            match self
                .reader
                .read_event()
                .map_err(|_| DecodeError::Unmarshallable)?
            {
                Xml::Start(e) => return Ok(Met::Open(e)),
                Xml::Empty(e) => return Ok(Met::Empty(e)),
                Xml::End(_) => return Ok(Met::Close),
                Xml::Eof => return Err(DecodeError::Unmarshallable),
                _ => {}
            }
        }
    }

    fn open(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.next()? {
            Met::Open(e) if named(&e, name) => Ok(()),
            _ => Err(DecodeError::Unmarshallable),
        }
    }

    fn close(&mut self) -> Result<(), DecodeError> {
        match self.next()? {
            Met::Close => Ok(()),
            _ => Err(DecodeError::Unmarshallable),
        }
    }

    /// The text up to the end of the current element (which must have no children).
    fn text(&mut self) -> Result<String, DecodeError> {
        let mut out = String::new();
        match self.text_into(&mut out)? {
            None => Ok(out),
            Some(_) => Err(DecodeError::Unmarshallable),
        }
    }

    /// Text into `out` up to the current element's end (None) or a child element (Some).
    fn text_into(&mut self, out: &mut String) -> Result<Option<Met<'a>>, DecodeError> {
        loop {
            match self
                .reader
                .read_event()
                .map_err(|_| DecodeError::Unmarshallable)?
            {
                Xml::Text(t) => {
                    out.push_str(&t.xml10_content().map_err(|_| DecodeError::Unmarshallable)?)
                }
                Xml::CData(c) => {
                    out.push_str(&c.decode().map_err(|_| DecodeError::Unmarshallable)?)
                }
                Xml::GeneralRef(r) => out.push_str(&resolve(&r)?),
                Xml::End(_) => return Ok(None),
                Xml::Start(e) => return Ok(Some(Met::Open(e))),
                Xml::Empty(e) => return Ok(Some(Met::Empty(e))),
                Xml::Eof => return Err(DecodeError::Unmarshallable),
                Xml::Comment(_) | Xml::Decl(_) | Xml::PI(_) | Xml::DocType(_) => {}
            }
        }
    }

    /// A value whose `<value>` was just opened, through its `</value>`.
    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Unmarshallable);
        }
        let mut untyped = String::new();
        let typed = match self.text_into(&mut untyped)? {
            None => return Ok(Value::Str(untyped)),
            Some(Met::Close) => return Err(DecodeError::Unmarshallable),
            Some(Met::Empty(e)) if named(&e, "nil") => Value::Nil,
            Some(Met::Empty(e)) if named(&e, "string") => Value::Str(String::new()),
            Some(Met::Empty(_)) => return Err(DecodeError::Unmarshallable),
            Some(Met::Open(e)) if named(&e, "array") => {
                self.open("data")?;
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Met::Open(v) if named(&v, "value") => items.push(self.value(depth + 1)?),
                        Met::Close => break,
                        _ => return Err(DecodeError::Unmarshallable),
                    }
                }
                self.close()?;
                Value::Array(items)
            }
            Some(Met::Open(e)) if named(&e, "struct") => {
                let mut members = Vec::new();
                loop {
                    match self.next()? {
                        Met::Open(m) if named(&m, "member") => {
                            self.open("name")?;
                            let key = self.text()?;
                            self.open("value")?;
                            members.push((key, self.value(depth + 1)?));
                            self.close()?;
                        }
                        Met::Close => break,
                        _ => return Err(DecodeError::Unmarshallable),
                    }
                }
                Value::Struct(members)
            }
            Some(Met::Open(e)) => {
                let kind = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let text = self.text()?;
                scalar_value(&kind, &text)?
            }
        };
        self.close()?;
        Ok(typed)
    }
}

fn resolve(r: &quick_xml::events::BytesRef<'_>) -> Result<String, DecodeError> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => {
            let name = r.decode().map_err(|_| DecodeError::Unmarshallable)?;
            quick_xml::escape::resolve_xml_entity(&name)
                .map(str::to_string)
                .ok_or(DecodeError::Unmarshallable)
        }
        Err(_) => Err(DecodeError::Unmarshallable),
    }
}

/// Standard base64 with padding (HTTP basic credentials).
pub fn base64_encode(data: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(DIGITS[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (whitespace ignored), as Python's `base64.decodebytes`.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut padding = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    (bits < 6).then_some(out)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

fn write_value(out: &mut String, v: &Value) {
    out.push_str("<value>");
    match v {
        Value::Int(i) => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Str(s) => {
            out.push_str("<string>");
            escape_into(out, s);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>\n");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>\n");
            for (k, v) in members {
                out.push_str("<member>\n<name>");
                escape_into(out, k);
                out.push_str("</name>\n");
                write_value(out, v);
                out.push_str("</member>\n");
            }
            out.push_str("</struct>");
        }
        // Never sent (allow_none is off in supervisord): the closest harmless value.
        Value::Nil => out.push_str("<string>none</string>"),
    }
    out.push_str("</value>\n");
}

/// A successful reply.
pub fn response(v: &Value) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(&mut out, v);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A fault reply (HTTP 200, as supervisord sends it).
pub fn fault_response(fault: &Fault) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    write_value(&mut out, &fault.to_struct());
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// supervisord's fault codes (`xmlrpc.py` `Faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    UnknownMethod = 1,
    IncorrectParameters = 2,
    BadArguments = 3,
    SignatureUnsupported = 4,
    ShutdownState = 6,
    BadName = 10,
    BadSignal = 11,
    NoFile = 20,
    NotExecutable = 21,
    Failed = 30,
    AbnormalTermination = 40,
    SpawnError = 50,
    AlreadyStarted = 60,
    NotRunning = 70,
    Success = 80,
    AlreadyAdded = 90,
    StillRunning = 91,
    CantReread = 92,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::UnknownMethod => "UNKNOWN_METHOD",
            Code::IncorrectParameters => "INCORRECT_PARAMETERS",
            Code::BadArguments => "BAD_ARGUMENTS",
            Code::SignatureUnsupported => "SIGNATURE_UNSUPPORTED",
            Code::ShutdownState => "SHUTDOWN_STATE",
            Code::BadName => "BAD_NAME",
            Code::BadSignal => "BAD_SIGNAL",
            Code::NoFile => "NO_FILE",
            Code::NotExecutable => "NOT_EXECUTABLE",
            Code::Failed => "FAILED",
            Code::AbnormalTermination => "ABNORMAL_TERMINATION",
            Code::SpawnError => "SPAWN_ERROR",
            Code::AlreadyStarted => "ALREADY_STARTED",
            Code::NotRunning => "NOT_RUNNING",
            Code::Success => "SUCCESS",
            Code::AlreadyAdded => "ALREADY_ADDED",
            Code::StillRunning => "STILL_RUNNING",
            Code::CantReread => "CANT_REREAD",
        }
    }
}

/// An RPC error: `NAME` or `NAME: detail`, as supervisord's `RPCError` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: Code,
    pub text: String,
}

impl Fault {
    pub fn new(code: Code, detail: &str) -> Fault {
        let text = if detail.is_empty() {
            code.name().to_string()
        } else {
            format!("{}: {detail}", code.name())
        };
        Fault { code, text }
    }

    pub fn bare(code: Code) -> Fault {
        Fault::new(code, "")
    }

    pub fn to_struct(&self) -> Value {
        Value::Struct(vec![
            ("faultCode".into(), Value::Int(self.code as i64)),
            ("faultString".into(), Value::str(self.text.clone())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_call_decodes_back_and_replies_decode_to_values_or_faults() {
        let params = vec![
            Value::str("web:<0>&"),
            Value::Bool(false),
            Value::Array(vec![Value::Int(-3), Value::Struct(vec![])]),
        ];
        let call = decode_call(call_body("supervisor.startProcess", &params).as_bytes()).unwrap();
        assert_eq!(call.method, "supervisor.startProcess");
        assert_eq!(call.params, params);
        let v = Value::Struct(vec![
            ("name".into(), Value::str("a")),
            ("pid".into(), Value::Int(7)),
        ]);
        assert_eq!(decode_response(response(&v).as_bytes()), Ok(Ok(v)));
        let fault = Fault::new(Code::BadName, "nosuch");
        assert_eq!(
            decode_response(fault_response(&fault).as_bytes()),
            Ok(Err((10, "BAD_NAME: nosuch".to_string())))
        );
        assert_eq!(
            decode_response(b"<methodResponse></methodResponse>"),
            Err(DecodeError::Unmarshallable)
        );
    }

    #[test]
    fn base64_encoding_is_standard_and_round_trips() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"user:p\xffss"), "dXNlcjpw/3Nz");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)), Some(all));
    }

    #[test]
    fn decodes_a_call_as_supervisord_does() {
        let body = b"<?xml version='1.0'?><methodCall><methodName>supervisor.startProcess</methodName>\
            <params><param><value><string>a&amp;b</string></value></param>\
            <param><value><boolean>1</boolean></value></param>\
            <param><value>untyped</value></param>\
            <param><value><i4> 7 </i4></value></param>\
            <param><value><array><data><value><int>1</int></value><value><nil/></value></data></array></value></param>\
            <param><value><struct><member><name>k</name><value><base64>aGk=</base64></value></member></struct></value></param>\
            </params></methodCall>";
        let call = decode_call(body).unwrap();
        assert_eq!(call.method, "supervisor.startProcess");
        assert_eq!(
            call.params,
            vec![
                Value::str("a&b"),
                Value::Bool(true),
                Value::str("untyped"),
                Value::Int(7),
                Value::Array(vec![Value::Int(1), Value::Nil]),
                Value::Struct(vec![("k".into(), Value::str("hi"))]),
            ]
        );
    }

    #[test]
    fn boolean_is_true_only_for_one() {
        let body = b"<methodCall><methodName>m</methodName><params><param><value><boolean>true</boolean></value></param></params></methodCall>";
        assert_eq!(decode_call(body).unwrap().params, vec![Value::Bool(false)]);
    }

    #[test]
    fn params_may_be_missing_but_the_name_may_not() {
        let call =
            decode_call(b"<methodCall><methodName>system.listMethods</methodName></methodCall>");
        assert_eq!(call.unwrap().params, vec![]);
        assert_eq!(
            decode_call(b"<methodCall><params/></methodCall>"),
            Err(DecodeError::NoMethodName)
        );
        for bad in [
            &b"not xml <"[..],
            b"<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
            b"<methodCall><methodName>m</methodName>",
            b"\xff\xfe",
        ] {
            assert_eq!(decode_call(bad), Err(DecodeError::Unmarshallable), "{bad:?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut body = String::from("<methodCall><methodName>m</methodName><params><param>");
        for _ in 0..200 {
            body.push_str("<value><array><data>");
        }
        assert_eq!(
            decode_call(body.as_bytes()),
            Err(DecodeError::Unmarshallable)
        );
    }

    #[test]
    fn replies_are_written_as_xmlrpclib_writes_them() {
        let reply = response(&Value::Struct(vec![
            ("name".into(), Value::str("a<b")),
            ("pid".into(), Value::Int(3)),
        ]));
        assert_eq!(
            reply,
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n\
             <member>\n<name>name</name>\n<value><string>a&lt;b</string></value>\n</member>\n\
             <member>\n<name>pid</name>\n<value><int>3</int></value>\n</member>\n</struct></value>\n\
             </param>\n</params>\n</methodResponse>\n"
        );
        let fault = fault_response(&Fault::new(Code::BadName, "foo"));
        assert!(fault.contains("<name>faultCode</name>\n<value><int>10</int></value>"));
        assert!(fault.contains("<string>BAD_NAME: foo</string>"));
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("Y").map(|_| ()), None);
        assert_eq!(base64_decode("a*b"), None);
    }
}
