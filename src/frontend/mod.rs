//! Front-ends: the protocols people and programs use to control the daemon. Each is one
//! module with its own listener, connection state machines and timers; it knows the
//! core's command API (`crate::core::Core`) and its `Notification`s, never the lifecycle
//! internals. There are two: Supervice's length-prefixed JSON (`supervice`) and
//! supervisord's HTTP with XML-RPC (`http`). Both are served on the control socket: the
//! Supervice front-end owns it and hands a connection whose first byte is an upper-case
//! letter (an HTTP method; a frame starts with its length's top byte, 0) to the HTTP
//! one, through the loop (`handoffs` → `adopt`).
//!
//! Adding a protocol means adding a module that implements [`Frontend`] and registering
//! it with the loop (`Supervisor::add_frontend`); the loop routes its fd events and
//! timers (tagged with its `FrontId`) to it and hands it every notification once per
//! loop turn. Nothing a front-end does calls back into a front-end: commands only queue
//! notifications, and those are delivered after the current event is handled.

pub mod http;
pub mod supervice;

use crate::core::{Core, Notification};
use crate::reactor::Endpoint;

/// A connection accepted by one front-end that speaks another's protocol.
pub struct Handoff {
    pub stream: mio::net::UnixStream,
    /// Why it may not control the daemon, if it may not (it is told so).
    pub refusal: Option<String>,
}

/// What a front-end asks of the loop, which alone can do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopRequest {
    Shutdown,
    /// supervisord's restart: stop everything, read the config again, start again.
    Restart,
}

pub trait Frontend {
    /// An fd event on its listener or one of its connections.
    fn ready(&mut self, core: &mut Core, at: Endpoint, readable: bool, writable: bool);
    /// One of its timers fired.
    fn timer(&mut self, core: &mut Core, at: Endpoint);
    /// Work is queued for the next turn (a connection's read budget ran out): the loop
    /// must not sleep.
    fn busy(&self) -> bool;
    /// The turn for the work `busy` announced.
    fn run_again(&mut self, core: &mut Core);
    /// What happened in the process table since the last call, oldest first.
    fn notify(&mut self, core: &mut Core, notes: &[Notification]);
    /// Shutdown (or a failed start): stop listening, tell waiting clients, close all.
    /// Called again at exit; a second call does nothing.
    fn close(&mut self, core: &mut Core);
    /// The end of every loop turn (a follower of the daemon's own log looks at it).
    fn turn_done(&mut self, _core: &mut Core) {}
    /// Connections it accepted for another protocol, for the loop to pass on.
    fn handoffs(&mut self) -> Vec<Handoff> {
        Vec::new()
    }
    /// Takes over a connection another front-end accepted.
    fn adopt(&mut self, _core: &mut Core, _handoff: Handoff) {}
    /// What it wants the loop to do (shut down, restart), once.
    fn take_request(&mut self) -> Option<LoopRequest> {
        None
    }
}
