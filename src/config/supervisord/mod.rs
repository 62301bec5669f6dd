//! supervisord's configuration dialect (issue 13): what a `supervisord.conf` means, read
//! as supervisor 4.3.0 reads it. `read` turns the files (with includes) into merged
//! sections, `model` types them into a `Model`, `json` prints what `--check --json` shows.

pub mod json;
pub mod model;
pub mod read;
pub mod runtime;
pub mod types;

pub use model::{load, Context, Model};
