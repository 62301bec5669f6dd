//! Supervice's control protocol (length-prefixed JSON, `crate::rpc`) on the daemon's
//! control socket: accepting connections, reading one request each, answering at once or
//! parking the connection (see `ops`) until the state it waits for is reached, and
//! writing the reply.
//!
//! Every connection has exactly one timer: the 5 s read deadline, then the operation's
//! own deadline, then the 5 s write deadline. A client can never stall the loop or
//! anyone else: reads and writes are non-blocking and bounded, and past the connection
//! limit new clients get an error reply at once.

mod ops;

use std::collections::VecDeque;
use std::time::Duration;

use log::{debug, info, warn};
use mio::net::UnixStream;
use mio::Interest;

use super::Frontend;
use crate::core::{Core, Notification};
use crate::daemon::Socket;
use crate::reactor::{Endpoint, FrontId, Source, TimerKey};
use crate::rpc::conn::{Conn, Progress};
use crate::rpc::{self, Reply, Request};
use crate::slab;
use crate::timer::TimerId;
use ops::{Op, OpKind};

/// Simultaneous connections; more are refused with an error reply.
pub const MAX_CLIENTS: usize = 1024;
/// A request must arrive whole within this, and a reply be taken within it.
pub const IO_DEADLINE: Duration = Duration::from_secs(5);
/// Bytes of requests and replies held for all clients together.
const MAX_BUFFERED: usize = 64 * 1024 * 1024;
/// Connections past `MAX_CLIENTS` that are read only to be told they are refused.
const REFUSAL_SLOTS: usize = 64;
/// After accept() fails (out of fds), it is tried again this much later.
const ACCEPT_RETRY: Duration = Duration::from_millis(250);
/// A request above this size makes the daemon check `MAX_BUFFERED`.
const LARGE_REQUEST: usize = 64 * 1024;

/// The Supervice protocol front-end: its socket and its connections.
pub struct Control {
    id: FrontId,
    socket: Option<Socket>,
    clients: Vec<Option<Client>>,
    live: usize,
    /// Clients whose operation waits for a state (start waits for RUNNING...).
    parked: Vec<usize>,
    /// Clients whose read budget ran out with more to read, served again next turn.
    again: VecDeque<usize>,
    /// accept() failed for lack of fds: the one retry timer, also cut short when a
    /// connection closes.
    accept_retry: Option<TimerId>,
    /// accept() is failing (reported once per episode).
    accept_failing: bool,
    own_uid: u32,
    /// The socket's owner (`[unix_http_server] chown`), who may control the daemon too.
    owner_uid: Option<u32>,
    scratch: Vec<u8>,
    /// Connections that turned out to speak HTTP, for the HTTP front-end.
    handoffs: Vec<super::Handoff>,
}

struct Client {
    conn: Conn<UnixStream>,
    /// The one timer: read deadline, then the operation's deadline, then write deadline.
    timer: Option<TimerId>,
    /// The operation a parked connection waits on.
    op: Option<Op>,
    /// Not allowed to control the daemon: every request gets this error.
    refusal: Option<String>,
    /// Its first byte was seen: it speaks Supervice's protocol.
    sniffed: bool,
}

impl Control {
    /// Binds the control socket and watches it; `id` tags its fds and timers. `mode` and
    /// `owner` are supervisord's `chmod` and `chown` of it.
    pub fn bind(
        id: FrontId,
        core: &mut Core,
        path: &std::path::Path,
        mode: Option<u32>,
        owner: Option<(i64, i64)>,
    ) -> Result<Control, String> {
        let mut socket = Socket::bind(path)?;
        socket.set_access(mode, owner)?;
        core.reactor()
            .registry()
            .register(
                &mut socket.listener,
                Source::Front(id, Endpoint::Listener).token(),
                Interest::READABLE,
            )
            .map_err(|e| format!("cannot watch the control socket: {e}"))?;
        Ok(Control {
            id,
            socket: Some(socket),
            clients: Vec::new(),
            live: 0,
            parked: Vec::new(),
            again: VecDeque::new(),
            accept_retry: None,
            accept_failing: false,
            own_uid: nix::unistd::geteuid().as_raw(),
            owner_uid: owner.and_then(|(uid, _)| u32::try_from(uid).ok()),
            scratch: vec![0; 4096],
            handoffs: Vec::new(),
        })
    }

    fn token(&self, index: usize) -> mio::Token {
        Source::Front(self.id, Endpoint::Conn(index)).token()
    }

    fn timer_key(&self, index: usize) -> TimerKey {
        TimerKey::Front(self.id, Endpoint::Conn(index))
    }

    fn client(&self, index: usize) -> Option<&Client> {
        slab::get(&self.clients, index)
    }

    fn client_mut(&mut self, index: usize) -> Option<&mut Client> {
        slab::get_mut(&mut self.clients, index)
    }

    /// Replaces a client's one timer (or just cancels it, with `None`).
    fn set_timer(&mut self, core: &mut Core, index: usize, timer: Option<TimerId>) {
        let old = self
            .client_mut(index)
            .and_then(|c| std::mem::replace(&mut c.timer, timer));
        if let Some(old) = old {
            core.reactor().disarm(old);
        }
    }

    /// Accepts every queued connection. With `serve`, each is read at once; without (from
    /// inside a close, which may run while a request is being served), each is queued
    /// for the next turn, so that no request is served inside another.
    fn accept_clients(&mut self, core: &mut Core, serve: bool) {
        loop {
            let Some(socket) = self.socket.as_ref() else {
                return;
            };
            let (stream, _) = match socket.listener.accept() {
                Ok(accepted) => {
                    if self.accept_failing {
                        self.accept_failing = false;
                        info!("accept works again");
                    }
                    accepted
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: the connection stays queued. Readiness will not
                    // be reported again for it, so look again shortly (or as soon as a
                    // connection closes) instead of spinning now.
                    if !self.accept_failing {
                        warn!("accept: {e}; retrying every {ACCEPT_RETRY:?} until it works");
                        self.accept_failing = true;
                    }
                    if self.accept_retry.is_none() {
                        debug!("accept: retrying in {ACCEPT_RETRY:?}");
                        let key = TimerKey::Front(self.id, Endpoint::Listener);
                        self.accept_retry = Some(core.reactor().arm_in(ACCEPT_RETRY, key));
                    }
                    return;
                }
            };
            // A refused client still gets its request read, so the refusal is what it
            // reads back (closing on a client that is still writing resets the stream).
            // Past the limit, a few more are held just for that; beyond them, refused at once.
            let refusal = if self.live >= MAX_CLIENTS + REFUSAL_SLOTS {
                refuse(stream, "Too many connections");
                continue;
            } else if self.live >= MAX_CLIENTS {
                Some("Too many connections".to_string())
            } else {
                self.check_peer(&stream).err()
            };
            if let Some(message) = refusal.as_ref().filter(|m| m.starts_with("Permission")) {
                warn!("{message}");
            }
            self.add_client(core, stream, refusal, serve);
        }
    }

    /// Only root and the daemon's own user may control it.
    fn check_peer(&self, stream: &UnixStream) -> Result<(), String> {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match getsockopt(stream, PeerCredentials) {
            Ok(cred) => {
                let uid = cred.uid();
                if uid == 0 || uid == self.own_uid || Some(uid) == self.owner_uid {
                    Ok(())
                } else {
                    Err(format!(
                        "Permission denied: uid {uid} (pid {}) may not control this daemon",
                        cred.pid()
                    ))
                }
            }
            Err(e) => Err(format!("Permission denied: cannot identify the peer: {e}")),
        }
    }

    fn add_client(
        &mut self,
        core: &mut Core,
        mut stream: UnixStream,
        refusal: Option<String>,
        serve: bool,
    ) {
        let index = slab::vacant(&mut self.clients);
        let interest = Interest::READABLE | Interest::WRITABLE;
        let token = self.token(index);
        if let Err(e) = core
            .reactor()
            .registry()
            .register(&mut stream, token, interest)
        {
            warn!("cannot watch a client connection: {e}");
            return;
        }
        let timer = core.reactor().arm_in(IO_DEADLINE, self.timer_key(index));
        self.clients[index] = Some(Client {
            conn: Conn::new(stream),
            timer: Some(timer),
            op: None,
            refusal,
            sniffed: false,
        });
        self.live += 1;
        // Data may already be waiting; edge-triggered readiness would not say so again.
        if serve {
            self.client_ready(core, index, true, false);
        } else {
            self.again.push_back(index);
        }
    }

    /// A new connection's first byte says its protocol: an HTTP request starts with
    /// its method, an upper-case letter; a Supervice frame with the top byte of its
    /// length, 0 for any frame it may send (a byte from `A` to `Z` would declare over
    /// 1 GiB, which is refused anyway). HTTP ones go to the HTTP front-end untouched
    /// (the byte is only peeked). True if the connection is still ours to serve.
    fn sniff(&mut self, core: &mut Core, index: usize) -> bool {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let Some(client) = self.client_mut(index) else {
            return false;
        };
        if client.sniffed {
            return true;
        }
        let fd = client.conn.stream().as_raw_fd();
        let mut first = [0u8; 1];
        match recv(fd, &mut first, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
            Ok(1) if first[0].is_ascii_uppercase() => {}
            // A frame, or the end (which the frame reader reports).
            Ok(_) => {
                client.sniffed = true;
                return true;
            }
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => return false,
            Err(_) => {
                client.sniffed = true;
                return true;
            }
        }
        let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
            return false;
        };
        if let Some(timer) = client.timer.take() {
            core.reactor().disarm(timer);
        }
        let _ = core
            .reactor()
            .registry()
            .deregister(client.conn.stream_mut());
        self.live -= 1;
        self.again.retain(|&i| i != index);
        self.handoffs.push(super::Handoff {
            stream: client.conn.into_stream(),
            refusal: client.refusal,
        });
        false
    }

    fn client_ready(&mut self, core: &mut Core, index: usize, readable: bool, writable: bool) {
        if readable && !self.sniff(core, index) {
            return;
        }
        let holds = self.client(index).map_or(0, |c| c.conn.buffered());
        // Requests are small; only a big one makes it worth adding up everyone's.
        let buffered = if holds > LARGE_REQUEST {
            self.clients
                .iter()
                .flatten()
                .map(|c| c.conn.buffered())
                .sum()
        } else {
            holds
        };
        if readable {
            let scratch = &mut self.scratch;
            let Some(client) = slab::get_mut(&mut self.clients, index) else {
                return;
            };
            if buffered > MAX_BUFFERED {
                let message = "Server busy: too much pending request data";
                let progress = client.conn.reply(&Reply::error(message));
                return self.client_progress(core, index, progress);
            }
            let progress = client.conn.on_readable(scratch);
            self.client_progress(core, index, progress);
        }
        if writable {
            let Some(client) = self.client_mut(index) else {
                return;
            };
            let progress = client.conn.on_writable();
            self.client_progress(core, index, progress);
        }
    }

    fn client_progress(&mut self, core: &mut Core, index: usize, progress: Progress) {
        match progress {
            Progress::Pending => {}
            Progress::MoreToRead => {
                if !self.again.contains(&index) {
                    self.again.push_back(index);
                }
            }
            Progress::Sent => self.close_client(core, index),
            Progress::Closed => {
                debug!("client {index} went away before its reply");
                self.close_client(core, index);
            }
            Progress::Request(request) => {
                match self.client(index).and_then(|c| c.refusal.clone()) {
                    Some(refusal) => self.answer(core, index, &Reply::error(&refusal)),
                    None => match request {
                        Ok(request) => self.serve(core, index, request),
                        Err(error) => self.answer(core, index, &error.reply()),
                    },
                }
            }
        }
    }

    fn client_timed_out(&mut self, core: &mut Core, index: usize) {
        let Some(client) = self.client_mut(index) else {
            return;
        };
        client.timer = None;
        if client.conn.waiting_for_request() {
            debug!("client {index}: no complete request within {IO_DEADLINE:?}, dropped");
            self.close_client(core, index);
        } else if client.op.is_some() {
            self.op_deadline(core, index);
        } else {
            debug!("client {index}: reply not taken within {IO_DEADLINE:?}, dropped");
            self.close_client(core, index);
        }
    }

    fn close_client(&mut self, core: &mut Core, index: usize) {
        let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
            return;
        };
        if let Some(timer) = client.timer.take() {
            core.reactor().disarm(timer);
        }
        let _ = core
            .reactor()
            .registry()
            .deregister(client.conn.stream_mut());
        self.live -= 1;
        self.parked.retain(|&i| i != index);
        // An fd was freed: accept what queued while accept() was failing, now, but read
        // those connections only next turn (serving one from here would run a request
        // inside this one's). The pending retry goes, so a failure re-arms exactly one.
        if let Some(timer) = self.accept_retry.take() {
            core.reactor().disarm(timer);
            self.accept_clients(core, false);
        }
    }

    /// Queues a reply; the write deadline replaces whatever timer the client had.
    fn answer(&mut self, core: &mut Core, index: usize, body: &[u8]) {
        self.set_timer(core, index, None);
        let Some(client) = self.client_mut(index) else {
            return;
        };
        client.op = None;
        let progress = client.conn.reply(body);
        if progress == Progress::Pending {
            let timer = core.reactor().arm_in(IO_DEADLINE, self.timer_key(index));
            self.set_timer(core, index, Some(timer));
        }
        self.client_progress(core, index, progress);
    }

    fn serve(&mut self, core: &mut Core, index: usize, request: Request) {
        debug!("client {index}: {request:?}");
        self.set_timer(core, index, None);
        match request {
            Request::Status => {
                let body = status_reply(core);
                self.answer(core, index, &body);
            }
            Request::Reload => {
                let body = reload_reply(core);
                self.answer(core, index, &body);
            }
            Request::Start(name) => self.begin_op(core, index, OpKind::Start, &name),
            Request::Stop(name) => self.begin_op(core, index, OpKind::Stop, &name),
            Request::Restart { name, force } => {
                if force {
                    self.begin_force_restart(core, index, &name);
                } else {
                    self.begin_op(core, index, OpKind::Restart, &name);
                }
            }
            Request::StartGroup(name) => {
                self.begin_op(core, index, OpKind::StartGroup(name.clone()), &name)
            }
            Request::StopGroup(name) => {
                self.begin_op(core, index, OpKind::StopGroup(name.clone()), &name)
            }
        }
    }
}

impl Frontend for Control {
    fn ready(&mut self, core: &mut Core, at: Endpoint, readable: bool, writable: bool) {
        match at {
            Endpoint::Listener => self.accept_clients(core, true),
            Endpoint::Conn(index) => self.client_ready(core, index, readable, writable),
        }
    }

    fn timer(&mut self, core: &mut Core, at: Endpoint) {
        match at {
            Endpoint::Listener => {
                self.accept_retry = None;
                self.accept_clients(core, true);
            }
            Endpoint::Conn(index) => self.client_timed_out(core, index),
        }
    }

    fn busy(&self) -> bool {
        !self.again.is_empty()
    }

    fn run_again(&mut self, core: &mut Core) {
        for _ in 0..self.again.len() {
            if let Some(index) = self.again.pop_front() {
                self.client_ready(core, index, true, false);
            }
        }
    }

    fn notify(&mut self, core: &mut Core, notes: &[Notification]) {
        self.settle_parked(core, notes);
    }

    fn handoffs(&mut self) -> Vec<super::Handoff> {
        std::mem::take(&mut self.handoffs)
    }

    fn close(&mut self, core: &mut Core) {
        if let Some(mut socket) = self.socket.take() {
            let _ = core.reactor().registry().deregister(&mut socket.listener);
            socket.close();
        }
        if let Some(timer) = self.accept_retry.take() {
            core.reactor().disarm(timer);
        }
        for index in 0..self.clients.len() {
            if let Some(client) = self.client_mut(index).filter(|c| c.op.is_some()) {
                let _ = client
                    .conn
                    .reply(&Reply::error("Supervice is shutting down"));
            }
            self.close_client(core, index);
        }
    }
}

fn status_reply(core: &Core) -> Vec<u8> {
    let mut entries = String::new();
    for (_, process) in core.views() {
        rpc::status_entry(
            &mut entries,
            process.name,
            process.state.name(),
            process.pid,
            process.uptime_secs,
            process.healthy,
        );
    }
    let mut reply = Reply::new();
    reply.string("status", "ok");
    reply.raw("processes", &format!("[{entries}]"));
    reply.finish()
}

fn reload_reply(core: &mut Core) -> Vec<u8> {
    match core.reload() {
        Ok(summary) => {
            let mut reply = Reply::new();
            reply.string("status", "ok");
            reply.strings("added", &summary.added);
            reply.strings("removed", &summary.removed);
            reply.strings("changed", &summary.changed);
            reply.finish()
        }
        Err(message) => Reply::error(&format!("Reload failed: {message}")),
    }
}

/// Answers a connection we will not serve, without waiting for it.
fn refuse(stream: UnixStream, message: &str) {
    let mut conn = Conn::new(stream);
    let _ = conn.reply(&Reply::error(message));
}
