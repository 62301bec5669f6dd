//! supervice: a one-thread, event-driven process supervisor.
#![deny(rust_2018_idioms, unused_must_use)]
#![warn(unused)]

pub mod config;
pub mod lifecycle;
pub mod timer;
