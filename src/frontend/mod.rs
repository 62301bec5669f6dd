//! Front-ends: the protocols people and programs use to control the daemon. Each is one
//! module with its own listener, connection state machines and timers; it knows the
//! core's command API (`crate::core::Core`) and its `Notification`s, never the lifecycle
//! internals. Today there is one, Supervice's length-prefixed JSON (`supervice`).
//!
//! Adding a protocol means adding a module that implements [`Frontend`] and registering
//! it with the loop (`Supervisor::add_frontend`); the loop routes its fd events and
//! timers (tagged with its `FrontId`) to it and hands it every notification once per
//! loop turn. Nothing a front-end does calls back into a front-end: commands only queue
//! notifications, and those are delivered after the current event is handled.

pub mod supervice;

use crate::core::{Core, Notification};
use crate::reactor::Endpoint;

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
}
