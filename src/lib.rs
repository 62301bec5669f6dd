//! supervice: a one-thread, event-driven process supervisor.
//!
//! Layers, from the outside in: `config` turns the file into typed values, `supervisor`
//! owns the instances and drives the pure `lifecycle` state machines, the `reactor`
//! multiplexes every fd and the `timer` wheel, `spawn`/`output` do the child side, `rpc`
//! and `ctl` the control protocol, `reconcile` crash recovery, and `daemon` and `logger`
//! cover the process itself. The architecture (modules, one loop turn, data flows,
//! invariants and where they are enforced, known issues, test layout) is described in
//! docs/ARCHITECTURE.md at the repository root.
#![deny(rust_2018_idioms, unused_must_use)]
#![warn(unused)]

pub mod config;
pub mod lifecycle;
pub mod timer;
#[macro_use]
pub mod logger;
pub mod ctl;
pub mod daemon;
pub mod health;
pub mod output;
pub mod passwd;
pub mod reactor;
pub mod rpc;
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
