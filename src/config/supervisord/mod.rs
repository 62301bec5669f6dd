//! supervisord's configuration dialect (issue 13): what a `supervisord.conf` means, read
//! as supervisor 4.3.0 reads it.

pub mod types;
