//! The HTTP side of the daemon: `request::parse` on the bytes a client sends (a request,
//! maybe pipelined requests after it), on prefixes of them, and on requests rebuilt from
//! a parsed one with a padding header, another `Content-Length` or a chunked body; and
//! `request::percent_decode` on the input and on every request target.
//!
//! Input layout: the whole input is what the client sent, so a seed is a raw request.
//! Its bytes, cycled, also choose the chunk sizes of the chunked body and which
//! characters `percent_decode`'s round trip escapes.
//!
//! Properties checked beyond "no panic":
//! - `parse` is deterministic; a request took at most the buffer, its head is httparse's
//!   (method, target, version), at most `MAX_HEAD` bytes, and its body is the
//!   `Content-Length` bytes after the head, at most `MAX_BODY`; an error is one of 400,
//!   411, 413, 431; `Partial` with more than `MAX_HEAD` bytes only once a whole head is
//!   in and while fewer than `MAX_BODY` body bytes are (nothing else is buffered);
//! - more bytes never change what a prefix was: every strict prefix of a request is
//!   `Partial`, the request with anything after it (a pipelined copy) is the same
//!   request, an error stays the same error (a 431 for an unfinished head over
//!   `MAX_HEAD` may turn into 400 when the rest of the head is malformed), and no prefix
//!   of something that is not a request is a request;
//! - heads: a request rebuilt with a head of exactly `MAX_HEAD` bytes is served, one
//!   byte more is 431 before any of the body; an unfinished head of `MAX_HEAD` bytes is
//!   `Partial`, one byte more is 431 (refused, not buffered);
//! - bodies: `Content-Length: MAX_BODY` with the body still to come is `Partial`,
//!   `MAX_BODY + 1` is 413 as soon as the head is in;
//! - chunked bodies are not read (medusa reads none): the rebuilt request with its body
//!   chunked is 411 as soon as the head is in, with or without a `Content-Length` before
//!   or after the `Transfer-Encoding`, and never a request (so a chunked body is never
//!   taken for a different one); the same body with `Content-Length` is the original
//!   request with that body;
//! - `percent_decode` is deterministic, the identity on text without `%`, never makes
//!   text longer, and undoes percent-encoding (upper or lower case hex) of any chosen
//!   characters, every `%` included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supervice::frontend::http::request::{
    parse, percent_decode, Parsed, Request, MAX_BODY, MAX_HEAD,
};

/// `request::parse`'s header slots (more headers is a 431).
const MAX_HEADERS: usize = 64;

/// The head at the start of a buffer as httparse reads it, with every header but
/// `Content-Length` and `Transfer-Encoding`.
struct Shape {
    head: usize,
    method: String,
    path: String,
    minor: u8,
    headers: Vec<(String, Vec<u8>)>,
}

fn shape(buf: &[u8]) -> Option<Shape> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = req.parse(buf) else {
        return None;
    };
    let kept = req.headers.iter().filter(|h| {
        !h.name.eq_ignore_ascii_case("content-length")
            && !h.name.eq_ignore_ascii_case("transfer-encoding")
    });
    Some(Shape {
        head,
        method: req.method?.to_string(),
        path: req.path?.to_string(),
        minor: req.version?,
        headers: kept
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect(),
    })
}

/// The request line and the shape's headers, then `extra` header lines, each ending in
/// CRLF, without the empty line that ends the head.
fn head_lines(shape: &Shape, extra: &[&[u8]]) -> Vec<u8> {
    let mut out =
        format!("{} {} HTTP/1.{}\r\n", shape.method, shape.path, shape.minor).into_bytes();
    for (name, value) in &shape.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    for line in extra {
        out.extend_from_slice(line);
    }
    out
}

fn head_bytes(shape: &Shape, extra: &[&[u8]]) -> Vec<u8> {
    let mut out = head_lines(shape, extra);
    out.extend_from_slice(b"\r\n");
    out
}

fn content_length(n: usize) -> Vec<u8> {
    format!("Content-Length: {n}\r\n").into_bytes()
}

/// An `X-Pad` header line of exactly `len` bytes (`len` at least 9).
fn pad(len: usize) -> Vec<u8> {
    let mut out = b"X-Pad: ".to_vec();
    out.resize(len - 2, b'a');
    out.extend_from_slice(b"\r\n");
    out
}

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    out.extend_from_slice(b);
    out
}

/// `parse` with the properties every buffer has.
fn check(buf: &[u8]) -> Parsed {
    let parsed = parse(buf);
    assert_eq!(parsed, parse(buf), "parse is deterministic");
    match &parsed {
        Parsed::Done(req, used) => {
            assert!(*used <= buf.len(), "took {used} of {} bytes", buf.len());
            let body = req.body.len();
            assert!(body <= MAX_BODY && body <= *used, "a body of {body} bytes");
            let head = used - body;
            assert!(head <= MAX_HEAD, "a head of {head} bytes");
            let shape = shape(buf).expect("httparse reads a whole head");
            assert_eq!(shape.head, head, "the head is httparse's");
            assert_eq!(req.method, shape.method);
            assert_eq!(req.target, shape.path);
            assert_eq!(req.minor, shape.minor);
            assert_eq!(
                &buf[head..*used],
                &req.body[..],
                "the body follows the head"
            );
            assert_eq!(req.content_length.unwrap_or(0), body, "Content-Length");
        }
        Parsed::Partial => {
            if buf.len() > MAX_HEAD {
                let head = shape(buf)
                    .expect("more than MAX_HEAD bytes are held only after a whole head")
                    .head;
                assert!(head <= MAX_HEAD, "a head of {head} bytes is held");
                assert!(
                    buf.len() - head < MAX_BODY,
                    "{} body bytes are held",
                    buf.len() - head
                );
            }
        }
        Parsed::Error(status) => {
            assert!([400, 411, 413, 431].contains(status), "status {status}");
        }
    }
    parsed
}

/// `short` is what the first `k` bytes of the buffer that gave `long` parse as.
fn agree(k: usize, short: &Parsed, long: &Parsed) {
    match (short, long) {
        (_, Parsed::Done(_, n)) if k < *n => {
            assert_eq!(short, &Parsed::Partial, "{k} bytes of a request of {n}");
        }
        (_, Parsed::Done(..)) => assert_eq!(short, long, "{k} bytes hold the request"),
        (Parsed::Done(..), _) => panic!("{k} bytes are {short:?}, more bytes are {long:?}"),
        (Parsed::Error(s), Parsed::Error(l)) => assert!(
            s == l || (*s == 431 && *l == 400 && k > MAX_HEAD),
            "{k} bytes are a {s}, more bytes a {l}"
        ),
        (Parsed::Error(s), Parsed::Partial) => panic!("{k} bytes are a {s}, more are Partial"),
        (Parsed::Partial, _) => {}
    }
}

/// Prefix lengths to try: the first 64, 64 more spread over the rest, and both sides of
/// each mark.
fn sample(len: usize, marks: &[usize]) -> Vec<usize> {
    let mut ks: Vec<usize> = (0..len.min(64)).collect();
    ks.extend((0..len).step_by((len / 64).max(1)));
    for &m in marks {
        ks.extend([m.saturating_sub(1), m, m + 1]);
    }
    ks.retain(|&k| k < len);
    ks.sort_unstable();
    ks.dedup();
    ks
}

fn check_prefixes(buf: &[u8], whole: &Parsed, marks: &[usize]) {
    for k in sample(buf.len(), marks) {
        agree(k, &check(&buf[..k]), whole);
    }
}

/// `body` chunked, chunk sizes 1..=64 from `plan` (cycled).
fn chunked(body: &[u8], plan: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut at = 0;
    while !rest.is_empty() {
        let size = plan
            .get(at % plan.len().max(1))
            .map_or(16, |b| 1 + usize::from(b % 64));
        at += 1;
        let (chunk, after) = rest.split_at(size.min(rest.len()));
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        rest = after;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Requests rebuilt from a parsed one: the same head without its `Content-Length` and
/// `Transfer-Encoding`, plus the headers each check needs, and `body`.
fn check_rebuilt(shape: &Shape, req: &Request, body: &[u8], plan: &[u8]) {
    // Room for two more headers and a padding header, well inside MAX_HEAD.
    if shape.headers.len() + 2 > MAX_HEADERS || head_bytes(shape, &[]).len() > MAX_HEAD / 2 {
        return;
    }
    let with_body = Request {
        content_length: Some(body.len()),
        body: body.to_vec(),
        ..req.clone()
    };
    let cl = content_length(body.len());

    // The body with a Content-Length: the same request with that body.
    let head = head_bytes(shape, &[&cl]);
    let sent = concat(&head, body);
    let whole = check(&sent);
    assert_eq!(
        whole,
        Parsed::Done(with_body.clone(), sent.len()),
        "rebuilt"
    );
    check_prefixes(&sent, &whole, &[head.len()]);

    // The body chunked: refused as soon as the head is in, never read.
    let te: &[u8] = b"Transfer-Encoding: chunked\r\n";
    let chunks = chunked(body, plan);
    let chunks_cl = content_length(chunks.len());
    let variants: [&[&[u8]]; 3] = [&[te], &[te, &chunks_cl], &[&chunks_cl, te]];
    for extra in variants {
        let head = head_bytes(shape, extra);
        let sent = concat(&head, &chunks);
        for k in sample(sent.len(), &[head.len()])
            .into_iter()
            .chain([sent.len()])
        {
            let want = if k < head.len() {
                Parsed::Partial
            } else {
                Parsed::Error(411)
            };
            assert_eq!(check(&sent[..k]), want, "{k} bytes of a chunked request");
        }
    }

    // A head of exactly MAX_HEAD bytes is served; one byte more is refused, body or not.
    let base = head_bytes(shape, &[&cl]).len();
    let fits = pad(MAX_HEAD - base);
    let head = head_bytes(shape, &[&fits, &cl]);
    assert_eq!(head.len(), MAX_HEAD);
    let sent = concat(&head, body);
    assert_eq!(
        check(&sent),
        Parsed::Done(with_body.clone(), sent.len()),
        "a head of MAX_HEAD bytes"
    );
    assert_eq!(check(&head[..MAX_HEAD - 1]), Parsed::Partial);
    let over = pad(MAX_HEAD - base + 1);
    let head = head_bytes(shape, &[&over, &cl]);
    assert_eq!(
        check(&head),
        Parsed::Error(431),
        "a head of MAX_HEAD + 1 bytes"
    );
    assert_eq!(check(&concat(&head, body)), Parsed::Error(431));

    // An unfinished head: held up to MAX_HEAD bytes, refused beyond.
    let mut unfinished = head_lines(shape, &[b"X-Pad: "]);
    unfinished.resize(MAX_HEAD + 1, b'a');
    assert_eq!(
        check(&unfinished[..MAX_HEAD]),
        Parsed::Partial,
        "MAX_HEAD bytes of head"
    );
    assert_eq!(
        check(&unfinished),
        Parsed::Error(431),
        "MAX_HEAD + 1 bytes of head"
    );

    // A body of MAX_BODY bytes is waited for; one byte more is refused at once.
    let head = head_bytes(shape, &[&content_length(MAX_BODY)]);
    assert_eq!(check(&head), Parsed::Partial, "waiting for MAX_BODY bytes");
    assert_eq!(check(&concat(&head, body)), Parsed::Partial);
    let head = head_bytes(shape, &[&content_length(MAX_BODY + 1)]);
    assert_eq!(check(&head), Parsed::Error(413), "MAX_BODY + 1 bytes");
    assert_eq!(check(&concat(&head, body)), Parsed::Error(413));
}

fn check_percent(text: &str, plan: &[u8]) {
    let decoded = percent_decode(text);
    assert_eq!(
        decoded,
        percent_decode(text),
        "percent_decode is deterministic"
    );
    assert!(
        decoded.len() <= text.len(),
        "{text:?} grew into {decoded:?}"
    );
    if !text.contains('%') {
        assert_eq!(decoded, text, "nothing to decode");
    }
    // Any characters escaped (every '%' included) decode back to the text.
    let mut encoded = String::with_capacity(text.len() * 3);
    for (i, c) in text.chars().enumerate() {
        let choice = plan.get(i % plan.len().max(1)).copied().unwrap_or(1);
        if c == '%' || choice & 1 == 1 {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                if choice & 2 == 0 {
                    encoded.push_str(&format!("%{b:02X}"));
                } else {
                    encoded.push_str(&format!("%{b:02x}"));
                }
            }
        } else {
            encoded.push(c);
        }
    }
    assert_eq!(percent_decode(&encoded), text, "decoding {encoded:?}");
}

fuzz_target!(|data: &[u8]| {
    let whole = check(data);
    let head = shape(data).map(|s| s.head);
    let mut marks: Vec<usize> = head.into_iter().collect();
    if let Parsed::Done(_, n) = &whole {
        marks.push(*n);
    }
    check_prefixes(data, &whole, &marks);

    // Anything after the buffer, here a pipelined copy of it, changes nothing before it.
    let twice = concat(data, data);
    agree(data.len(), &whole, &check(&twice));

    if let Parsed::Done(req, _) = &whole {
        let shape = shape(data).expect("a request has a head");
        check_rebuilt(&shape, req, &data[shape.head..], data);
        check_percent(&req.target, data);
    }
    check_percent(&String::from_utf8_lossy(data), data);
});
