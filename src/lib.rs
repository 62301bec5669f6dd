//! supervice: a one-thread, event-driven process supervisor.
//!
//! Layers, from the outside in (see DESIGN.md): `config` turns the file into typed values,
//! `supervisor` owns the instances and drives the pure `lifecycle` state machines, the
//! `reactor` multiplexes every fd and the `timer` wheel, `spawn`/`output` do the child
//! side, and `daemon` and `logger` cover the process itself.
#![deny(rust_2018_idioms, unused_must_use)]
#![warn(unused)]

pub mod config;
pub mod lifecycle;
pub mod timer;
#[macro_use]
pub mod logger;
pub mod ctl;
pub mod daemon;
pub mod output;
pub mod reactor;
pub mod rpc;
pub mod spawn;
pub mod supervisor;
