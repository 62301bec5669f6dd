//! supervice: a one-thread, event-driven process supervisor.
//!
//! Layers, from the outside in: `config` turns the file into typed values; `supervisor`
//! is the loop, which routes every fd event and timer to its owner and delivers the
//! core's notifications once per turn; `frontend` holds the protocols (Supervice's JSON
//! today), which drive `core`, the process table, only through its command API; `core`
//! drives the pure `lifecycle` state machines; the `reactor` multiplexes every fd and the
//! `timer` wheel; `spawn`/`output` do the child side, `rpc` and `ctl` the control
//! protocol, `reconcile` crash recovery, and `daemon` and `logger` the process itself.
//! The architecture (layers, the command API, the notification types, one loop turn, a
//! walk of a `start` request and of a child exit, invariants, known issues, test layout)
//! is described in docs/ARCHITECTURE.md at the repository root.
#![deny(rust_2018_idioms, unused_must_use)]
#![warn(unused)]

pub mod config;
pub mod lifecycle;
pub mod timer;
#[macro_use]
pub mod logger;
pub mod core;
pub mod ctl;
pub mod daemon;
pub mod frontend;
pub mod health;
pub mod output;
pub mod passwd;
pub mod reactor;
pub mod rpc;
pub mod slab;
pub mod spawn;
pub mod supervisor;

/// An OS error as Python prints it, `[Errno 111] Connection refused`, which is what
/// Supervice's messages contain.
pub fn os_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!(
            "[Errno {code}] {}",
            nix::errno::Errno::from_raw(code).desc()
        ),
        None => e.to_string(),
    }
}
pub mod reconcile;
