//! supervisord's HTTP interface: XML-RPC at `POST /RPC2`, log streams at `/logtail/...`
//! and `/mainlogtail`, with HTTP basic auth, served from the loop on the control socket
//! (connections the Supervice front-end recognised as HTTP are handed here) and on
//! `[inet_http_server]`'s TCP port.
//!
//! Each connection reads one request at a time (HTTP/1.1 keep-alive, no pipelining:
//! the next request is parsed once the reply is sent), within bounds on its head and
//! body. It has at most one timer: the deadline for a whole request, or for the client
//! to take a reply it is not taking. A call that waits (start, stop) parks its
//! connection with a `rpc::Job` until notifications settle it. A client that stalls,
//! floods or vanishes costs only its own connection.

mod records;
pub mod request;
mod rpc;
mod tail;
pub mod xmlrpc;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

use log::{debug, error, info, warn};
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::Interest;

use super::{Frontend, Handoff, LoopRequest};
use crate::config::{HttpAuth, HttpServers};
use crate::core::{Core, Notification, Stream as ChildStream};
use crate::reactor::{Endpoint, FrontId, Source, TimerKey};
use crate::slab;
use crate::timer::TimerId;
use request::{Parsed, Request};
use rpc::{Job, Rpc};
use tail::{Followed, Tail};

/// Simultaneous HTTP connections; more get 503 and are closed.
pub const MAX_CONNECTIONS: usize = 1024;
/// A request must arrive whole within this of its connection being ready for it (so
/// also the longest a keep-alive connection may sit idle).
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);
/// A client must take some of a pending reply (or stream) within this.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// Bytes read from one connection per turn; more waits for the next turn.
const READ_BUDGET: usize = 256 * 1024;
const ACCEPT_RETRY: Duration = Duration::from_millis(250);

pub use rpc::{py_repr, API_VERSION, SUPERVISOR_VERSION};

enum Net {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Net {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Net::Unix(s) => s,
            Net::Tcp(s) => s,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Net::Unix(s) => s.read(buf),
            Net::Tcp(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Net::Unix(s) => s.write(buf),
            Net::Tcp(s) => s.write(buf),
        }
    }
}

enum Phase {
    /// Waiting for (the rest of) a request.
    Reading,
    /// A call waits on the process table.
    Job {
        job: Job,
        minor: u8,
        keep_alive: bool,
    },
    /// A reply is queued; then the next request, or close.
    Replying { keep_alive: bool },
    /// Streaming a log.
    Tail { tail: Tail, minor: u8 },
}

struct Conn {
    net: Net,
    /// Came in on `[inet_http_server]` (its auth applies), not the control socket.
    inet: bool,
    /// Refused at accept (too many, or a user who may not control the daemon): every
    /// request gets this status.
    refusal: Option<u16>,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Of `output`, the bytes already written.
    sent: usize,
    /// Bytes written over the connection's life, and their count when the write
    /// deadline was armed (progress since then renews it).
    written: u64,
    written_at_arm: u64,
    timer: Option<TimerId>,
    eof: bool,
    phase: Phase,
}

impl Conn {
    fn pending(&self) -> usize {
        self.output.len() - self.sent
    }
}

pub struct Http {
    id: FrontId,
    tcp: Option<TcpListener>,
    conns: Vec<Option<Conn>>,
    live: usize,
    /// Connections whose read budget ran out, served again next turn.
    again: VecDeque<usize>,
    rpc: Rpc,
    unix_auth: Option<HttpAuth>,
    inet_auth: Option<HttpAuth>,
    /// The daemon-log record count `/mainlogtail` followers have seen.
    main_log_seen: u64,
    accept_retry: Option<TimerId>,
    closed: bool,
    scratch: Vec<u8>,
}

impl Http {
    /// The HTTP front-end; binds `[inet_http_server]` if the config has one.
    pub fn new(id: FrontId, core: &mut Core, servers: &HttpServers) -> Result<Http, String> {
        let mut tcp = None;
        if let Some(inet) = &servers.inet {
            if let Some(refusal) = &inet.refusal {
                return Err(refusal.clone());
            }
            let host = if inet.host.is_empty() {
                "0.0.0.0"
            } else {
                inet.host.as_str()
            };
            let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, inet.port))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    format!(
                        "Could not determine IP address for hostname {host}, please try \
                         setting an explicit IP address in the \"port\" setting of your \
                         [inet_http_server] section."
                    )
                })?;
            let mut listener = TcpListener::bind(addr).map_err(|e| {
                format!(
                    "Another program is already listening on a port that one of our HTTP \
                     servers is configured to use ({addr}: {e}).  Shut this program down \
                     first before starting supervisord."
                )
            })?;
            core.reactor()
                .registry()
                .register(
                    &mut listener,
                    Source::Front(id, Endpoint::Listener).token(),
                    Interest::READABLE,
                )
                .map_err(|e| format!("cannot watch the HTTP port: {e}"))?;
            info!("HTTP server listening on {addr}");
            tcp = Some(listener);
        }
        Ok(Http {
            id,
            tcp,
            conns: Vec::new(),
            live: 0,
            again: VecDeque::new(),
            rpc: Rpc::default(),
            unix_auth: servers.unix_auth.clone(),
            inet_auth: servers.inet.as_ref().and_then(|i| i.auth.clone()),
            main_log_seen: crate::logger::records_written(),
            accept_retry: None,
            closed: false,
            scratch: vec![0; 64 * 1024],
        })
    }

    fn token(&self, index: usize) -> mio::Token {
        Source::Front(self.id, Endpoint::Conn(index)).token()
    }

    fn conn_mut(&mut self, index: usize) -> Option<&mut Conn> {
        slab::get_mut(&mut self.conns, index)
    }

    fn set_timer(&mut self, core: &mut Core, index: usize, delay: Option<Duration>) {
        let key = TimerKey::Front(self.id, Endpoint::Conn(index));
        let Some(conn) = slab::get_mut(&mut self.conns, index) else {
            return;
        };
        if let Some(old) = conn.timer.take() {
            core.reactor().disarm(old);
        }
        if let Some(delay) = delay {
            conn.written_at_arm = conn.written;
            conn.timer = Some(core.reactor().arm_in(delay, key));
        }
    }

    fn accept_tcp(&mut self, core: &mut Core) {
        loop {
            let Some(listener) = self.tcp.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    self.add(core, Net::Tcp(stream), true, None);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if self.accept_retry.is_none() {
                        warn!("HTTP accept: {e}; retrying in {ACCEPT_RETRY:?}");
                        let key = TimerKey::Front(self.id, Endpoint::Listener);
                        self.accept_retry = Some(core.reactor().arm_in(ACCEPT_RETRY, key));
                    }
                    return;
                }
            }
        }
    }

    fn add(&mut self, core: &mut Core, mut net: Net, inet: bool, refusal: Option<u16>) {
        let refusal = if self.live >= MAX_CONNECTIONS {
            if self.live >= MAX_CONNECTIONS + 64 {
                let _ = net.write(&request::error(503, 0, false, &[]));
                return;
            }
            Some(503)
        } else {
            refusal
        };
        let index = slab::vacant(&mut self.conns);
        let token = self.token(index);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = core
            .reactor()
            .registry()
            .register(net.source(), token, interest)
        {
            warn!("cannot watch an HTTP connection: {e}");
            return;
        }
        self.conns[index] = Some(Conn {
            net,
            inet,
            refusal,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            written: 0,
            written_at_arm: 0,
            timer: None,
            eof: false,
            phase: Phase::Reading,
        });
        self.live += 1;
        self.set_timer(core, index, Some(REQUEST_DEADLINE));
        // Bytes may be waiting already; edge-triggered readiness would not say so again.
        self.serve(core, index, true);
    }

    fn close_conn(&mut self, core: &mut Core, index: usize) {
        let Some(mut conn) = self.conns.get_mut(index).and_then(Option::take) else {
            return;
        };
        if let Some(timer) = conn.timer.take() {
            core.reactor().disarm(timer);
        }
        let _ = core.reactor().registry().deregister(conn.net.source());
        self.live -= 1;
        self.again.retain(|&i| i != index);
    }

    /// Reads what the connection has (within its budget).
    fn read_input(&mut self, index: usize) {
        let scratch = &mut self.scratch;
        let Some(conn) = slab::get_mut(&mut self.conns, index) else {
            return;
        };
        let mut budget = READ_BUDGET;
        let limit = request::MAX_HEAD + request::MAX_BODY + 1;
        while budget > 0 && !conn.eof {
            // A full buffer (a request being read, or bytes sent ahead while one is
            // served): the rest stays in the socket until the next request is read.
            if conn.input.len() >= limit {
                return;
            }
            match conn.net.read(scratch) {
                Ok(0) => conn.eof = true,
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    // Bytes after a request (pipelining) wait their turn; bytes sent to
                    // a log stream mean nothing.
                    if !matches!(conn.phase, Phase::Tail { .. }) {
                        conn.input.extend_from_slice(&scratch[..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => conn.eof = true,
            }
        }
        if budget == 0 && !self.again.contains(&index) {
            self.again.push_back(index);
        }
    }

    /// Writes what is queued; false if the connection broke.
    fn flush(&mut self, index: usize) -> bool {
        let Some(conn) = slab::get_mut(&mut self.conns, index) else {
            return false;
        };
        while conn.sent < conn.output.len() {
            match conn.net.write(&conn.output[conn.sent..]) {
                Ok(0) => return false,
                Ok(n) => {
                    conn.sent += n;
                    conn.written += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        if conn.sent == conn.output.len() {
            conn.output.clear();
            conn.sent = 0;
        } else if conn.sent > 64 * 1024 {
            conn.output.drain(..conn.sent);
            conn.sent = 0;
        }
        true
    }

    /// Moves a connection on as far as it can go now.
    fn serve(&mut self, core: &mut Core, index: usize, readable: bool) {
        if readable {
            self.read_input(index);
        }
        for _ in 0..64 {
            if !self.flush(index) {
                return self.close_conn(core, index);
            }
            let Some(conn) = self.conn_mut(index) else {
                return;
            };
            let pending = conn.pending();
            let eof = conn.eof;
            match &mut conn.phase {
                Phase::Reading => {
                    if conn.input.is_empty() && eof {
                        return self.close_conn(core, index);
                    }
                    match request::parse(&conn.input) {
                        Parsed::Partial if eof => return self.close_conn(core, index),
                        Parsed::Partial => return,
                        Parsed::Error(status) => {
                            conn.input.clear();
                            debug!("HTTP connection {index}: bad request, {status}");
                            self.reply(core, index, request::error(status, 1, false, &[]), false);
                        }
                        Parsed::Done(req, used) => {
                            conn.input.drain(..used);
                            self.set_timer(core, index, None);
                            self.handle(core, index, req);
                        }
                    }
                }
                Phase::Replying { keep_alive } => {
                    if pending > 0 {
                        return self.await_writer(core, index);
                    }
                    if !*keep_alive || eof && conn.input.is_empty() {
                        return self.close_conn(core, index);
                    }
                    conn.phase = Phase::Reading;
                    self.set_timer(core, index, Some(REQUEST_DEADLINE));
                    // What the client sent meanwhile is still in the socket.
                    self.read_input(index);
                }
                Phase::Job { .. } => {
                    if eof {
                        // The operation goes on; only the answer has no one to go to.
                        return self.close_conn(core, index);
                    }
                    return;
                }
                Phase::Tail { tail, minor } => {
                    if eof {
                        return self.close_conn(core, index);
                    }
                    if pending < tail::MAX_PENDING {
                        let room = tail::MAX_PENDING - pending;
                        let minor = *minor;
                        let mut fresh = Vec::new();
                        tail.read_new(&mut fresh, room);
                        if fresh.is_empty() {
                            return self.await_writer(core, index);
                        }
                        request::chunk(&mut conn.output, minor, &fresh);
                        continue;
                    }
                    return self.await_writer(core, index);
                }
            }
        }
    }

    /// Arms the write deadline if output waits for the client (and none is armed).
    fn await_writer(&mut self, core: &mut Core, index: usize) {
        let Some(conn) = self.conn_mut(index) else {
            return;
        };
        if conn.pending() > 0 && conn.timer.is_none() {
            self.set_timer(core, index, Some(WRITE_DEADLINE));
        }
    }

    fn reply(&mut self, core: &mut Core, index: usize, bytes: Vec<u8>, keep_alive: bool) {
        let Some(conn) = self.conn_mut(index) else {
            return;
        };
        conn.output.extend_from_slice(&bytes);
        conn.phase = Phase::Replying { keep_alive };
        self.set_timer(core, index, None);
    }

    fn handle(&mut self, core: &mut Core, index: usize, req: Request) {
        let Some(conn) = self.conn_mut(index) else {
            return;
        };
        let minor = req.minor;
        if let Some(status) = conn.refusal {
            let page = request::error(status, minor, false, &[]);
            return self.reply(core, index, page, false);
        }
        let auth = if conn.inet {
            self.inet_auth.as_ref()
        } else {
            self.unix_auth.as_ref()
        };
        if let Some(auth) = auth {
            if let Err(status) = check_auth(auth, req.authorization.as_deref()) {
                let extra: &[(&str, &str)] = if status == 401 {
                    &[("WWW-Authenticate", "Basic realm=\"default\"")]
                } else {
                    &[]
                };
                let page = request::error(status, minor, false, extra);
                return self.reply(core, index, page, false);
            }
        }
        let path = req.target.split('?').next().unwrap_or("").to_string();
        if path.starts_with("/RPC2") {
            self.handle_rpc(core, index, req);
        } else if let Some(rest) = path.strip_prefix("/logtail/") {
            let rest = request::percent_decode(rest);
            self.handle_tail(core, index, &req, Some(&rest));
        } else if path.starts_with("/mainlogtail") {
            self.handle_tail(core, index, &req, None);
        } else {
            let page = request::error(404, minor, req.keep_alive, &[]);
            self.reply(core, index, page, req.keep_alive);
        }
    }

    fn handle_rpc(&mut self, core: &mut Core, index: usize, req: Request) {
        let (minor, keep_alive) = (req.minor, req.keep_alive);
        let status = if req.method != "POST" {
            Some(400)
        } else if req.content_length.is_none() {
            Some(411)
        } else {
            None
        };
        if let Some(status) = status {
            let page = request::error(status, minor, keep_alive, &[]);
            return self.reply(core, index, page, keep_alive);
        }
        let call = match xmlrpc::decode_call(&req.body) {
            Ok(call) => call,
            Err(e) => {
                let why = match e {
                    xmlrpc::DecodeError::Unmarshallable => "unmarshallable",
                    xmlrpc::DecodeError::NoMethodName => "no method name",
                };
                error!(
                    "XML-RPC request data {:?} is invalid: {why}",
                    String::from_utf8_lossy(&req.body[..req.body.len().min(200)])
                );
                let page = request::error(400, minor, keep_alive, &[]);
                return self.reply(core, index, page, keep_alive);
            }
        };
        debug!("XML-RPC method called: {}()", call.method);
        let mut job = Job::new(call);
        match job.run(&mut self.rpc, core) {
            Some(body) => self.reply_xml(core, index, minor, keep_alive, &body),
            None => {
                if let Some(conn) = self.conn_mut(index) {
                    conn.phase = Phase::Job {
                        job,
                        minor,
                        keep_alive,
                    };
                }
            }
        }
    }

    fn reply_xml(
        &mut self,
        core: &mut Core,
        index: usize,
        minor: u8,
        keep_alive: bool,
        body: &str,
    ) {
        let headers = [("Content-Type", "text/xml")];
        let bytes = request::response(200, minor, keep_alive, &headers, body.as_bytes());
        self.reply(core, index, bytes, keep_alive);
    }

    fn handle_tail(&mut self, core: &mut Core, index: usize, req: &Request, spec: Option<&str>) {
        let (minor, keep_alive) = (req.minor, req.keep_alive);
        if req.method != "GET" {
            let page = request::error(400, minor, keep_alive, &[]);
            return self.reply(core, index, page, keep_alive);
        }
        let opened = match spec {
            None => core
                .config()
                .global
                .logfile
                .clone()
                .and_then(|p| Tail::open(Followed::MainLog, p)),
            Some(spec) => self.open_process_tail(core, spec),
        };
        let Some(tail) = opened else {
            let page = request::error(404, minor, keep_alive, &[]);
            return self.reply(core, index, page, keep_alive);
        };
        let modified = tail.modified().map(request::http_date).unwrap_or_default();
        let mut headers = vec![
            ("Last-Modified", modified.as_str()),
            ("Content-Type", "text/plain;charset=utf-8"),
        ];
        if spec.is_some() {
            headers.push(("X-Accel-Buffering", "no"));
        }
        // The stream never ends: HTTP/1.1 gets it chunked, HTTP/1.0 until close.
        let head = request::head(200, minor, minor == 1, &headers, None);
        if let Some(conn) = self.conn_mut(index) {
            conn.output.extend_from_slice(&head);
            conn.phase = Phase::Tail { tail, minor };
        }
    }

    fn open_process_tail(&self, core: &Core, spec: &str) -> Option<Tail> {
        let (name, channel) = match spec.rsplit_once('/') {
            Some((name, channel)) => (name, channel),
            None => (spec, "stdout"),
        };
        let stream = match channel {
            "stdout" => ChildStream::Stdout,
            "stderr" => ChildStream::Stderr,
            _ => return None,
        };
        let id = rpc::lookup_process(core, name)?;
        let view = core.view(id)?;
        let path = rpc::log_path(core.instance(id)?, stream)?;
        let followed = Followed::Process {
            id,
            serial: view.serial,
            stream,
        };
        Tail::open(followed, path)
    }

    fn conn_timed_out(&mut self, core: &mut Core, index: usize) {
        let Some(conn) = self.conn_mut(index) else {
            return;
        };
        conn.timer = None;
        let progressed = conn.written > conn.written_at_arm;
        match conn.phase {
            Phase::Reading => {
                debug!("HTTP connection {index}: no whole request within {REQUEST_DEADLINE:?}");
                self.close_conn(core, index);
            }
            _ if conn.pending() == 0 => {}
            _ if progressed => self.set_timer(core, index, Some(WRITE_DEADLINE)),
            _ => {
                debug!("HTTP connection {index}: took nothing for {WRITE_DEADLINE:?}, dropped");
                self.close_conn(core, index);
            }
        }
    }

    /// Streams of followers whose file grew.
    fn feed_followers(&mut self, core: &mut Core, wants: impl Fn(&Followed) -> bool) {
        for index in 0..self.conns.len() {
            let follows = matches!(
                slab::get(&self.conns, index).map(|c| &c.phase),
                Some(Phase::Tail { tail, .. }) if wants(&tail.followed)
            );
            if follows {
                self.serve(core, index, false);
            }
        }
    }

    fn any_main_follower(&self) -> bool {
        self.conns.iter().flatten().any(
            |c| matches!(&c.phase, Phase::Tail { tail, .. } if tail.followed == Followed::MainLog),
        )
    }
}

/// HTTP basic auth against the one configured user: `Err(401)` for missing or wrong
/// credentials, `Err(400)` for undecodable ones, as supervisord answers. Passwords are
/// compared in constant time.
fn check_auth(auth: &HttpAuth, header: Option<&str>) -> Result<(), u16> {
    let header = header.ok_or(401u16)?;
    let (scheme, encoded) = header.trim().split_once(' ').ok_or(401u16)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(401);
    }
    let decoded = xmlrpc::base64_decode(encoded.trim()).ok_or(400u16)?;
    let decoded = String::from_utf8(decoded).map_err(|_| 400u16)?;
    let (user, password) = decoded.split_once(':').ok_or(401u16)?;
    let password_ok = match auth.password.strip_prefix("{SHA}") {
        Some(hex) => {
            let digest = sha1_smol::Sha1::from(password).digest().to_string();
            constant_time_eq(digest.as_bytes(), hex.to_ascii_lowercase().as_bytes())
        }
        None => constant_time_eq(password.as_bytes(), auth.password.as_bytes()),
    };
    let user_ok = constant_time_eq(user.as_bytes(), auth.username.as_bytes());
    if password_ok & user_ok {
        Ok(())
    } else {
        Err(401)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

impl Frontend for Http {
    fn ready(&mut self, core: &mut Core, at: Endpoint, readable: bool, _writable: bool) {
        match at {
            Endpoint::Listener => self.accept_tcp(core),
            Endpoint::Conn(index) => self.serve(core, index, readable),
        }
    }

    fn timer(&mut self, core: &mut Core, at: Endpoint) {
        match at {
            Endpoint::Listener => {
                self.accept_retry = None;
                self.accept_tcp(core);
            }
            Endpoint::Conn(index) => self.conn_timed_out(core, index),
        }
    }

    fn busy(&self) -> bool {
        !self.again.is_empty()
    }

    fn run_again(&mut self, core: &mut Core) {
        for _ in 0..self.again.len() {
            if let Some(index) = self.again.pop_front() {
                self.serve(core, index, true);
            }
        }
    }

    fn notify(&mut self, core: &mut Core, notes: &[Notification]) {
        self.rpc.records.observe(core, notes);
        for index in 0..self.conns.len() {
            let done = match slab::get_mut(&mut self.conns, index).map(|c| &mut c.phase) {
                Some(Phase::Job {
                    job,
                    minor,
                    keep_alive,
                }) if job.concerns(notes) => job
                    .run(&mut self.rpc, core)
                    .map(|body| (body, *minor, *keep_alive)),
                _ => None,
            };
            if let Some((body, minor, keep_alive)) = done {
                self.reply_xml(core, index, minor, keep_alive, &body);
                self.serve(core, index, false);
            }
        }
        let grew = |f: &Followed| {
            notes.iter().any(|n| match (n, f) {
                (
                    Notification::Output { id, stream, .. },
                    Followed::Process {
                        id: fid,
                        stream: fs,
                        ..
                    },
                ) => id == fid && stream == fs,
                _ => false,
            })
        };
        self.feed_followers(core, grew);
    }

    fn turn_done(&mut self, core: &mut Core) {
        let written = crate::logger::records_written();
        if written != self.main_log_seen {
            self.main_log_seen = written;
            if self.any_main_follower() {
                self.feed_followers(core, |f| *f == Followed::MainLog);
            }
        }
    }

    fn adopt(&mut self, core: &mut Core, handoff: Handoff) {
        let refusal = handoff.refusal.map(|why| {
            if why.starts_with("Permission") {
                403
            } else {
                503
            }
        });
        self.add(core, Net::Unix(handoff.stream), false, refusal);
    }

    /// It keeps serving until the daemon exits: `supervisor.*` calls get SHUTDOWN_STATE
    /// (the core no longer accepts work), `system.*` calls their answers.
    fn shutdown_began(&mut self, _core: &mut Core) {}

    fn take_request(&mut self) -> Option<LoopRequest> {
        self.rpc.request.take()
    }

    fn close(&mut self, core: &mut Core) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(mut listener) = self.tcp.take() {
            let _ = core.reactor().registry().deregister(&mut listener);
        }
        if let Some(timer) = self.accept_retry.take() {
            core.reactor().disarm(timer);
        }
        for index in 0..self.conns.len() {
            // A reply queued (the answer to `shutdown`) gets its chance to go out.
            let _ = self.flush(index);
            self.close_conn(core, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(password: &str) -> HttpAuth {
        HttpAuth {
            username: "user".into(),
            password: password.into(),
        }
    }

    #[test]
    fn basic_auth_plain_and_sha() {
        // "user:123" and "user:wrong"
        let good = Some("Basic dXNlcjoxMjM=");
        let bad = Some("Basic dXNlcjp3cm9uZw==");
        assert_eq!(check_auth(&auth("123"), good), Ok(()));
        assert_eq!(check_auth(&auth("123"), bad), Err(401));
        assert_eq!(check_auth(&auth("123"), None), Err(401));
        assert_eq!(check_auth(&auth("123"), Some("Digest x")), Err(401));
        assert_eq!(check_auth(&auth("123"), Some("Basic !!!")), Err(400));
        let sha = "{SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef";
        assert_eq!(check_auth(&auth(sha), good), Ok(()));
        assert_eq!(check_auth(&auth(sha), bad), Err(401));
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
