//! HTTP/1.x requests and responses as supervisord's medusa server has them: requests
//! parsed by httparse (bounded head, bounded body, `Content-Length` bodies only),
//! responses with medusa's error page, `Date` and keep-alive rules (HTTP/1.1 persistent
//! unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`).

use std::fmt::Write as _;

/// Largest request line plus headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body (an XML-RPC call; `sendProcessStdin` data is the big one).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub keep_alive: bool,
    pub authorization: Option<String>,
    pub host: Option<String>,
    /// `None` when the request had no `Content-Length`.
    pub content_length: Option<usize>,
    pub body: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A whole request, and how many bytes of the buffer it took.
    Done(Request, usize),
    /// Not a request we serve: answer with this status and close.
    Error(u16),
}

fn header_str(value: &[u8]) -> Option<String> {
    std::str::from_utf8(value)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Parses the request at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Parsed::Error(431),
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Error(431),
        Err(_) => return Parsed::Error(400),
    };
    if head > MAX_HEAD {
        return Parsed::Error(431);
    }
    let minor = req.version.unwrap_or(0);
    let mut request = Request {
        method: req.method.unwrap_or("").to_string(),
        target: req.path.unwrap_or("").to_string(),
        minor,
        keep_alive: minor == 1,
        authorization: None,
        host: None,
        content_length: None,
        body: Vec::new(),
    };
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        match name.as_str() {
            "connection" => {
                let v = header_str(h.value).unwrap_or_default().to_ascii_lowercase();
                if v.split(',').any(|t| t.trim() == "close") {
                    request.keep_alive = false;
                } else if v.split(',').any(|t| t.trim() == "keep-alive") {
                    request.keep_alive = true;
                }
            }
            "authorization" => request.authorization = header_str(h.value),
            "host" => request.host = header_str(h.value),
            "content-length" => {
                // Digits only (`parse` would take `+5`), and a second Content-Length
                // that disagrees is a smuggling attempt, not a tie to break (RFC 9112 §6.3).
                let n = header_str(h.value)
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<usize>().ok());
                match (n, request.content_length) {
                    (Some(n), None) => request.content_length = Some(n),
                    (Some(n), Some(before)) if n == before => {}
                    _ => return Parsed::Error(400),
                }
            }
            // medusa reads no chunked request bodies; neither does this.
            "transfer-encoding" => return Parsed::Error(411),
            _ => {}
        }
    }
    let length = request.content_length.unwrap_or(0);
    if length > MAX_BODY {
        return Parsed::Error(413);
    }
    if buf.len() < head + length {
        return Parsed::Partial;
    }
    request.body = buf[head..head + length].to_vec();
    Parsed::Done(request, head + length)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// `Date:`'s format (RFC 7231) for seconds since the epoch.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A response head; `length` `None` for a body streamed chunked (HTTP/1.1) or until
/// close (HTTP/1.0).
pub fn head(
    status: u16,
    minor: u8,
    keep_alive: bool,
    headers: &[(&str, &str)],
    length: Option<usize>,
) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "HTTP/1.{minor} {status} {}\r\nServer: supervice/{}\r\nDate: {}\r\n",
        reason(status),
        env!("CARGO_PKG_VERSION"),
        http_date(now_secs())
    );
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    match length {
        Some(n) => {
            let _ = write!(out, "Content-Length: {n}\r\n");
        }
        None if minor == 1 => out.push_str("Transfer-Encoding: chunked\r\n"),
        None => {}
    }
    if !keep_alive {
        out.push_str("Connection: close\r\n");
    } else if minor == 0 {
        out.push_str("Connection: Keep-Alive\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A whole response with a body.
pub fn response(
    status: u16,
    minor: u8,
    keep_alive: bool,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = head(status, minor, keep_alive, headers, Some(body.len()));
    out.extend_from_slice(body);
    out
}

/// medusa's error page.
pub fn error(status: u16, minor: u8, keep_alive: bool, extra: &[(&str, &str)]) -> Vec<u8> {
    let body = format!(
        "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n<h1>Error response</h1>\r\n\
         <p>Error code {status}.\r\n<p>Message: {}.\r\n</body>\r\n",
        reason(status)
    );
    let mut headers = vec![("Content-Type", "text/html")];
    headers.extend_from_slice(extra);
    response(status, minor, keep_alive, &headers, body.as_bytes())
}

/// One chunk of a chunked body (an empty `data` would end the body, so it is skipped).
pub fn chunk(out: &mut Vec<u8>, minor: u8, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    if minor == 1 {
        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(data);
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => (digit | 0x20) - b'a' + 10,
    }
}

/// Percent-decoding of a path (`%3A` → `:`); invalid escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let (hi, lo) = (bytes[i + 1], bytes[i + 2]);
            if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() {
                // Two hex digits, never `from_str_radix`'s `+1`.
                out.push(hex_value(hi) << 4 | hex_value(lo));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_with_its_body() {
        let raw = b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
                    Authorization: Basic dXNlcjpwYXNz\r\n\r\nhelloNEXT";
        let Parsed::Done(req, used) = parse(raw) else {
            panic!("not parsed");
        };
        assert_eq!(used, raw.len() - 4);
        assert_eq!(req.method, "POST");
        assert_eq!(req.target, "/RPC2");
        assert_eq!(req.body, b"hello");
        assert!(req.keep_alive);
        assert_eq!(req.authorization.as_deref(), Some("Basic dXNlcjpwYXNz"));
        assert_eq!(req.host.as_deref(), Some("localhost"));
    }

    #[test]
    fn partial_until_the_body_is_whole() {
        assert_eq!(parse(b"POST /RPC2 HTTP/1.1\r\nContent-Le"), Parsed::Partial);
        assert_eq!(
            parse(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
            Parsed::Partial
        );
    }

    #[test]
    fn keep_alive_rules() {
        let keep = |raw: &[u8]| match parse(raw) {
            Parsed::Done(r, _) => r.keep_alive,
            other => panic!("{other:?}"),
        };
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!keep(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn bad_and_oversized_requests_get_a_status() {
        assert_eq!(parse(b"\x00\x01garbage\r\n\r\n"), Parsed::Error(400));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert_eq!(parse(&big), Parsed::Error(431));
        let huge = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(parse(huge.as_bytes()), Parsed::Error(413));
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Error(411)
        );
        for bad in [
            &b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nabcde",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nabcde",
        ] {
            assert_eq!(
                parse(bad),
                Parsed::Error(400),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let same = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc";
        assert!(matches!(parse(same), Parsed::Done(r, n) if r.body == b"abc" && n == same.len()));
    }

    #[test]
    fn dates_and_escapes() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_764_754_800), "Wed, 03 Dec 2025 09:40:00 GMT");
        assert_eq!(
            percent_decode("/logtail/g%3Ap/stderr"),
            "/logtail/g:p/stderr"
        );
        assert_eq!(percent_decode("/a%+1b%2fc%4"), "/a%+1b/c%4");
        assert_eq!(percent_decode("a%zz%4"), "a%zz%4");
    }
}
