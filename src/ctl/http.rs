//! The client's HTTP/1.1: XML-RPC calls (`POST /RPC2`) and log follows (`GET /logtail/..`)
//! to a supervisord-compatible server over a unix socket or TCP, the way supervisorctl's
//! transport talks (one persistent connection, basic auth when both credentials are set).
//! Response heads are parsed by httparse; bodies come by Content-Length, chunked or until
//! the server closes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::frontend::http::xmlrpc::{self, Value};

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body accepted (a getAllProcessInfo of 10000 processes is ~11 MB).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    Unix(PathBuf),
    Inet { host: String, port: u16 },
}

impl Server {
    /// `unix:///path` or `http://host[:port][/...]` (port 80 by default), as supervisorctl
    /// reads a serverurl; anything else is an error naming it.
    pub fn parse(url: &str) -> Result<Server, String> {
        if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("Unknown protocol for serverurl {url}"));
            }
            return Ok(Server::Unix(PathBuf::from(path)));
        }
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!("Unknown protocol for serverurl {url}"));
        };
        let hostport = rest.split('/').next().unwrap_or("");
        let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                let port = p
                    .parse()
                    .map_err(|_| format!("Bad port in serverurl {url}"))?;
                (h, port)
            }
            _ => (hostport, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("No host in serverurl {url}"));
        }
        Ok(Server::Inet {
            host: host.to_string(),
            port,
        })
    }
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum HttpError {
    /// connect() failed (refused, no such file, ...).
    Connect(io::Error),
    /// A status other than 200.
    Status(u16, String),
    /// The deadline (`--timeout`) passed.
    Timeout,
    /// The stream failed mid-exchange.
    Io(io::Error),
    /// What came back is not HTTP (an old Supervice daemon answers in its own framing).
    NotHttp,
    /// HTTP, but not a well-formed reply.
    Protocol(String),
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t),
            Conn::Tcp(s) => s.set_read_timeout(t),
        }
    }

    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_write_timeout(t),
            Conn::Tcp(s) => s.set_write_timeout(t),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How a response body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// One server, one persistent connection.
pub struct Client {
    server: Server,
    /// `Basic ...` when both username and password are set.
    auth: Option<String>,
    deadline: Option<Instant>,
    conn: Option<Conn>,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl Client {
    pub fn new(
        server: Server,
        credentials: Option<(&str, &str)>,
        timeout: Option<Duration>,
    ) -> Client {
        let auth = credentials.map(|(user, password)| {
            format!(
                "Basic {}",
                xmlrpc::base64_encode(format!("{user}:{password}").as_bytes())
            )
        });
        Client {
            server,
            auth,
            deadline: timeout.map(|t| Instant::now() + t),
            conn: None,
            buf: Vec::new(),
        }
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The same credentials and deadline, another server (`open URL`).
    pub fn reconnect(&self, server: Server) -> Client {
        Client {
            server,
            auth: self.auth.clone(),
            deadline: self.deadline,
            conn: None,
            buf: Vec::new(),
        }
    }

    /// One XML-RPC call: the value, or the fault as (code, string).
    pub fn call(
        &mut self,
        method: &str,
        params: &[Value],
    ) -> Result<Result<Value, (i64, String)>, HttpError> {
        let body = xmlrpc::call_body(method, params);
        let reply = self.post("/RPC2", body.as_bytes())?;
        xmlrpc::decode_response(&reply)
            .map_err(|_| HttpError::Protocol(format!("the reply to {method} is not XML-RPC")))
    }

    fn post(&mut self, path: &str, body: &[u8]) -> Result<Vec<u8>, HttpError> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: supervicectl/{}\r\n\
             Content-Type: text/xml\r\nAccept: text/xml\r\nContent-Length: {}\r\n",
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        if let Some(auth) = &self.auth {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        // A kept-alive connection the server has closed meanwhile fails at once: once more
        // on a fresh one.
        let reused = self.conn.is_some();
        match self.exchange(&request) {
            Err(HttpError::Io(_)) if reused => {
                self.conn = None;
                self.exchange(&request)
            }
            other => other,
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>, HttpError> {
        self.send(request)?;
        let (status, reason, framing, close) = self.read_head()?;
        let mut body = Vec::new();
        self.read_body(framing, &mut |data| {
            body.extend_from_slice(data);
            if body.len() > MAX_BODY {
                return Err(HttpError::Protocol("reply too large".into()));
            }
            Ok(true)
        })?;
        if close {
            self.conn = None;
        }
        if status != 200 {
            return Err(HttpError::Status(status, reason));
        }
        Ok(body)
    }

    /// GET `path` and hand each piece of the body to `each` until the body ends, `each`
    /// returns false, or the connection fails. The status is checked first.
    pub fn follow(
        &mut self,
        path: &str,
        each: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), HttpError> {
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: chunked\r\nAccept: */*\r\n\
             User-Agent: supervicectl/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(auth) = &self.auth {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        self.conn = None;
        self.send(head.as_bytes())?;
        let (status, reason, framing, _) = self.read_head()?;
        if status != 200 {
            self.conn = None;
            return Err(HttpError::Status(status, reason));
        }
        let result = self.read_body(framing, &mut |data| Ok(each(data)));
        self.conn = None;
        result
    }

    fn connect(&mut self) -> Result<&mut Conn, HttpError> {
        if self.conn.is_none() {
            let conn = match &self.server {
                Server::Unix(path) => {
                    Conn::Unix(UnixStream::connect(path).map_err(HttpError::Connect)?)
                }
                Server::Inet { host, port } => {
                    let stream = match self.deadline {
                        None => TcpStream::connect((host.as_str(), *port)),
                        Some(_) => {
                            let left = self.left()?;
                            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                            let mut found = None;
                            for addr in
                                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))
                                    .map_err(HttpError::Connect)?
                            {
                                match TcpStream::connect_timeout(&addr, left) {
                                    Ok(s) => {
                                        found = Some(s);
                                        break;
                                    }
                                    Err(e) => last = e,
                                }
                            }
                            found.ok_or(last)
                        }
                    };
                    let stream = stream.map_err(HttpError::Connect)?;
                    let _ = stream.set_nodelay(true);
                    Conn::Tcp(stream)
                }
            };
            self.buf.clear();
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(HttpError::Timeout)
    }

    fn left(&self) -> Result<Duration, HttpError> {
        match self.deadline {
            None => Ok(Duration::ZERO),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(HttpError::Timeout)
                } else {
                    Ok(left)
                }
            }
        }
    }

    /// The read/write timeout left: None (block) without a deadline.
    fn slice(&self) -> Result<Option<Duration>, HttpError> {
        Ok(match self.deadline {
            None => None,
            Some(_) => Some(self.left()?),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), HttpError> {
        let slice = self.slice()?;
        let conn = self.connect()?;
        conn.set_write_timeout(slice).map_err(HttpError::Io)?;
        conn.write_all(bytes)
            .map_err(|e| timeout_or(e, HttpError::Io))
    }

    /// Reads more into `buf`; Ok(false) at end of stream.
    fn fill(&mut self) -> Result<bool, HttpError> {
        let slice = self.slice()?;
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        conn.set_read_timeout(slice).map_err(HttpError::Io)?;
        let mut chunk = [0u8; 65536];
        loop {
            match conn.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timeout_or(e, HttpError::Io)),
            }
        }
    }

    fn read_head(&mut self) -> Result<(u16, String, Framing, bool), HttpError> {
        loop {
            if !self.buf.is_empty() && !b"HTTP/".starts_with(&self.buf[..self.buf.len().min(5)]) {
                self.conn = None;
                return Err(HttpError::NotHttp);
            }
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let status = response.code.unwrap_or(0);
                    let reason = response.reason.unwrap_or("").to_string();
                    let mut framing = Framing::UntilClose;
                    let mut close = response.version == Some(0);
                    for h in response.headers.iter() {
                        let value = String::from_utf8_lossy(h.value);
                        let value = value.trim();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = value
                                .parse()
                                .map_err(|_| HttpError::Protocol("bad Content-Length".into()))?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && value.eq_ignore_ascii_case("chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = value.eq_ignore_ascii_case("close");
                        }
                    }
                    if matches!(framing, Framing::UntilClose) {
                        close = true;
                    }
                    self.buf.drain(..used);
                    return Ok((status, reason, framing, close));
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD {
                        self.conn = None;
                        return Err(HttpError::Protocol("reply head too large".into()));
                    }
                }
                Err(_) => {
                    self.conn = None;
                    return Err(HttpError::NotHttp);
                }
            }
            if !self.fill()? {
                self.conn = None;
                return Err(if self.buf.is_empty() {
                    HttpError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without a reply",
                    ))
                } else {
                    HttpError::NotHttp
                });
            }
        }
    }

    fn read_body(
        &mut self,
        framing: Framing,
        each: &mut dyn FnMut(&[u8]) -> Result<bool, HttpError>,
    ) -> Result<(), HttpError> {
        match framing {
            Framing::Length(mut left) => {
                while left > 0 {
                    if self.buf.is_empty() && !self.fill()? {
                        return Err(truncated());
                    }
                    let n = left.min(self.buf.len());
                    let more = each(&self.buf[..n])?;
                    self.buf.drain(..n);
                    left -= n;
                    if !more {
                        return Ok(());
                    }
                }
                Ok(())
            }
            Framing::UntilClose => loop {
                if !self.buf.is_empty() {
                    let more = each(&self.buf)?;
                    self.buf.clear();
                    if !more {
                        return Ok(());
                    }
                }
                if !self.fill()? {
                    return Ok(());
                }
            },
            Framing::Chunked => loop {
                let line_end = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    if self.buf.len() > 1024 || !self.fill()? {
                        return Err(truncated());
                    }
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| HttpError::Protocol("bad chunk size".into()))?;
                self.buf.drain(..line_end + 2);
                if size == 0 {
                    // Trailers, then the blank line.
                    loop {
                        if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                            self.buf.drain(..i + 2);
                            if i == 0 {
                                return Ok(());
                            }
                        } else if !self.fill()? {
                            return Ok(());
                        }
                    }
                }
                let mut left = size;
                while left > 0 {
                    if self.buf.is_empty() && !self.fill()? {
                        return Err(truncated());
                    }
                    let n = left.min(self.buf.len());
                    let more = each(&self.buf[..n])?;
                    self.buf.drain(..n);
                    left -= n;
                    if !more {
                        return Ok(());
                    }
                }
                while self.buf.len() < 2 {
                    if !self.fill()? {
                        return Err(truncated());
                    }
                }
                self.buf.drain(..2);
            },
        }
    }
}

fn truncated() -> HttpError {
    HttpError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection mid-reply",
    ))
}

fn timeout_or(e: io::Error, other: fn(io::Error) -> HttpError) -> HttpError {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        HttpError::Timeout
    } else {
        other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_parse_as_supervisorctl_reads_them() {
        assert_eq!(
            Server::parse("unix:///run/supervisor.sock"),
            Ok(Server::Unix(PathBuf::from("/run/supervisor.sock")))
        );
        assert_eq!(
            Server::parse("http://127.0.0.1:9001"),
            Ok(Server::Inet {
                host: "127.0.0.1".into(),
                port: 9001
            })
        );
        assert_eq!(
            Server::parse("http://localhost/RPC2"),
            Ok(Server::Inet {
                host: "localhost".into(),
                port: 80
            })
        );
        assert_eq!(
            Server::parse("http://[::1]:9001"),
            Ok(Server::Inet {
                host: "::1".into(),
                port: 9001
            })
        );
        assert!(Server::parse("file:///x").is_err());
        assert!(Server::parse("http://:9001").is_err());
        assert!(Server::parse("http://h:port").is_err());
    }

    /// A canned server on a socketpair: what the client reads back from each framing.
    fn served(reply: &'static [u8]) -> Result<Vec<u8>, HttpError> {
        let (ours, theirs) = UnixStream::pair().map_err(HttpError::Io)?;
        let server = std::thread::spawn(move || {
            let mut theirs = theirs;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && theirs.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = theirs.write_all(reply);
            head
        });
        let mut client = Client::new(
            Server::Unix(PathBuf::from("/unused")),
            Some(("u", "p")),
            None,
        );
        client.conn = Some(Conn::Unix(ours));
        let result = client.exchange(b"GET / HTTP/1.1\r\n\r\n");
        let _ = server.join();
        result
    }

    #[test]
    fn bodies_by_length_chunks_or_close_and_errors() {
        assert_eq!(
            served(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").ok(),
            Some(b"hello".to_vec())
        );
        assert_eq!(
            served(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n").ok(),
            Some(b"hello".to_vec())
        );
        assert_eq!(
            served(b"HTTP/1.0 200 OK\r\n\r\nhello").ok(),
            Some(b"hello".to_vec())
        );
        assert!(matches!(
            served(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"),
            Err(HttpError::Status(401, r)) if r == "Unauthorized"
        ));
        // Supervice 0.4's framing: a length prefix, then JSON.
        assert!(matches!(
            served(b"\0\0\0\x10{\"status\": \"x\"}"),
            Err(HttpError::NotHttp)
        ));
        assert!(matches!(
            served(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"),
            Err(HttpError::Io(_))
        ));
    }
}
