//! The control socket inside the one loop: accepting connections, reading one request
//! each, answering at once or parking the connection (see `ops`) until the state it
//! waits for is reached, and writing the reply.
//!
//! Every connection has exactly one timer: the 5 s read deadline, then the operation's
//! own deadline, then the 5 s write deadline. A client can never stall the loop or
//! anyone else: reads and writes are non-blocking and bounded, and past the connection
//! limit new clients get an error reply at once.

use std::time::Duration;

use log::{debug, info, warn};
use mio::net::UnixStream;
use mio::Interest;

use super::ops::{Op, OpKind};
use super::{Supervisor, TimerKey};
use crate::reactor::Source;
use crate::rpc::conn::{Conn, Progress};
use crate::rpc::{self, Reply, Request};
use crate::timer::TimerId;

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

pub(super) struct Client {
    conn: Conn<UnixStream>,
    /// The one timer: read deadline, then the operation's deadline, then write deadline.
    pub(super) timer: Option<TimerId>,
    /// The operation a parked connection waits on.
    pub(super) op: Option<Op>,
    /// Not allowed to control the daemon: every request gets this error.
    refusal: Option<String>,
}

impl Supervisor {
    pub(super) fn accept_clients(&mut self) {
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
                        let timer = self.reactor.arm_in(ACCEPT_RETRY, TimerKey::AcceptRetry);
                        self.accept_retry = Some(timer);
                    }
                    return;
                }
            };
            // A refused client still gets its request read, so the refusal is what it
            // reads back (closing on a client that is still writing resets the stream).
            // Past the limit, a few more are held just for that; beyond them, refused at once.
            let refusal = if self.live_clients >= MAX_CLIENTS + REFUSAL_SLOTS {
                refuse(stream, "Too many connections");
                continue;
            } else if self.live_clients >= MAX_CLIENTS {
                Some("Too many connections".to_string())
            } else {
                self.check_peer(&stream).err()
            };
            if let Some(message) = refusal.as_ref().filter(|m| m.starts_with("Permission")) {
                warn!("{message}");
            }
            self.add_client(stream, refusal);
        }
    }

    /// Only root and the daemon's own user may control it.
    fn check_peer(&self, stream: &UnixStream) -> Result<(), String> {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match getsockopt(stream, PeerCredentials) {
            Ok(cred) => {
                let uid = cred.uid();
                if uid == 0 || uid == self.own_uid {
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

    fn add_client(&mut self, mut stream: UnixStream, refusal: Option<String>) {
        let index = match self.clients.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.clients.push(None);
                self.clients.len() - 1
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) =
            self.reactor
                .registry()
                .register(&mut stream, Source::Client(index).token(), interest)
        {
            warn!("cannot watch a client connection: {e}");
            return;
        }
        let timer = self.reactor.arm_in(IO_DEADLINE, TimerKey::Client(index));
        self.clients[index] = Some(Client {
            conn: Conn::new(stream),
            timer: Some(timer),
            op: None,
            refusal,
        });
        self.live_clients += 1;
        // Data may already be waiting; edge-triggered readiness would not say so again.
        self.client_ready(index, true, false);
    }

    pub(super) fn client_ready(&mut self, index: usize, readable: bool, writable: bool) {
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
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if readable {
            if buffered > MAX_BUFFERED {
                let message = "Server busy: too much pending request data";
                let progress = client.conn.reply(&Reply::error(message));
                return self.client_progress(index, progress);
            }
            let progress = client.conn.on_readable(&mut self.scratch);
            self.client_progress(index, progress);
        }
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if writable {
            let progress = client.conn.on_writable();
            self.client_progress(index, progress);
        }
    }

    fn client_progress(&mut self, index: usize, progress: Progress) {
        match progress {
            Progress::Pending => {}
            Progress::MoreToRead => self.again(Source::Client(index)),
            Progress::Sent => self.close_client(index),
            Progress::Closed => {
                debug!("client {index} went away before its reply");
                self.close_client(index);
            }
            Progress::Request(request) => {
                match self.client(index).and_then(|c| c.refusal.clone()) {
                    Some(refusal) => self.answer(index, &Reply::error(&refusal)),
                    None => match request {
                        Ok(request) => self.serve(index, request),
                        Err(error) => self.answer(index, &error.reply()),
                    },
                }
            }
        }
    }

    pub(super) fn client_timed_out(&mut self, index: usize) {
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        client.timer = None;
        if client.conn.waiting_for_request() {
            debug!("client {index}: no complete request within {IO_DEADLINE:?}, dropped");
            self.close_client(index);
        } else if client.op.is_some() {
            self.op_deadline(index);
        } else {
            debug!("client {index}: reply not taken within {IO_DEADLINE:?}, dropped");
            self.close_client(index);
        }
    }

    fn close_client(&mut self, index: usize) {
        let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
            return;
        };
        if let Some(timer) = client.timer.take() {
            self.reactor.disarm(timer);
        }
        let _ = self.reactor.registry().deregister(client.conn.stream_mut());
        self.live_clients -= 1;
        // An fd was freed: accept what queued while accept() was failing, now. The
        // pending retry goes, so a failure re-arms exactly one.
        if let Some(timer) = self.accept_retry.take() {
            self.reactor.disarm(timer);
            self.accept_clients();
        }
    }

    /// Queues a reply; the write deadline replaces whatever timer the client had.
    pub(super) fn answer(&mut self, index: usize, body: &[u8]) {
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        client.op = None;
        if let Some(timer) = client.timer.take() {
            self.reactor.disarm(timer);
        }
        let progress = client.conn.reply(body);
        if progress == Progress::Pending {
            let timer = self.reactor.arm_in(IO_DEADLINE, TimerKey::Client(index));
            if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
                client.timer = Some(timer);
            }
        }
        self.client_progress(index, progress);
    }

    /// Closes every connection at shutdown; parked ones are told why, if they listen.
    pub(super) fn drop_clients(&mut self) {
        for index in 0..self.clients.len() {
            let parked = self
                .clients
                .get(index)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.op.is_some());
            if parked {
                if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
                    let _ = client
                        .conn
                        .reply(&Reply::error("Supervice is shutting down"));
                }
            }
            self.close_client(index);
        }
    }

    fn serve(&mut self, index: usize, request: Request) {
        debug!("client {index}: {request:?}");
        if let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) {
            if let Some(timer) = client.timer.take() {
                self.reactor.disarm(timer);
            }
        }
        match request {
            Request::Status => {
                let body = self.status_reply();
                self.answer(index, &body);
            }
            Request::Reload => {
                let body = self.reload_reply();
                self.answer(index, &body);
            }
            Request::Start(name) => self.begin_op(index, OpKind::Start, &name),
            Request::Stop(name) => self.begin_op(index, OpKind::Stop, &name),
            Request::Restart { name, force } => {
                let kind = OpKind::Restart;
                if force {
                    self.begin_force_restart(index, &name);
                } else {
                    self.begin_op(index, kind, &name);
                }
            }
            Request::StartGroup(name) => {
                self.begin_op(index, OpKind::StartGroup(name.clone()), &name)
            }
            Request::StopGroup(name) => {
                self.begin_op(index, OpKind::StopGroup(name.clone()), &name)
            }
        }
    }

    pub(super) fn status_reply(&self) -> Vec<u8> {
        let now = self.reactor.now();
        let mut entries = String::new();
        for slot in self.order.iter().filter_map(|&i| self.slot(i)) {
            rpc::status_entry(
                &mut entries,
                &slot.config.name,
                slot.life.state().name(),
                slot.life.pid(),
                slot.life.uptime_secs(now),
                slot.life.healthy(),
            );
        }
        let mut reply = Reply::new();
        reply.string("status", "ok");
        reply.raw("processes", &format!("[{entries}]"));
        reply.finish()
    }

    pub(super) fn client(&self, index: usize) -> Option<&Client> {
        self.clients.get(index)?.as_ref()
    }

    pub(super) fn op(&self, index: usize) -> Option<&Op> {
        self.clients.get(index)?.as_ref()?.op.as_ref()
    }

    pub(super) fn op_mut(&mut self, index: usize) -> Option<&mut Op> {
        self.clients.get_mut(index)?.as_mut()?.op.as_mut()
    }
}

/// Answers a connection we will not serve, without waiting for it.
fn refuse(stream: UnixStream, message: &str) {
    let mut conn = Conn::new(stream);
    let _ = conn.reply(&Reply::error(message));
}
