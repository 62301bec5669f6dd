//! `GET /logtail/NAME[/stdout|stderr]` and `GET /mainlogtail`: a log file streamed as it
//! grows, as supervisord serves them for `supervisorctl tail -f` and `maintail -f`. The
//! body starts 1024 bytes before the end and never ends by itself; a rotated file is
//! followed to its new inode from the start, a truncated one says so and starts over.
//! New bytes are read when the core says the child wrote (or the daemon logged), and
//! only while the client takes them: a client that stops reading holds at most
//! `MAX_PENDING` bytes, never more.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::core::{Id, Stream};

/// Bytes queued for one follower before reading stops until it catches up.
pub const MAX_PENDING: usize = 1024 * 1024;
/// What a follower first gets of the file's end.
const BACKLOG: u64 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    Process { id: Id, serial: u64, stream: Stream },
    MainLog,
}

pub struct Tail {
    pub followed: Followed,
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    offset: u64,
}

impl Tail {
    /// Opens the file; `None` if it does not exist (supervisord answers 404).
    pub fn open(followed: Followed, path: PathBuf) -> Option<Tail> {
        let file = File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        Some(Tail {
            followed,
            path,
            inode: meta.ino(),
            offset: meta.len().saturating_sub(BACKLOG),
            file: Some(file),
        })
    }

    /// The file's mtime, for `Last-Modified`.
    pub fn modified(&self) -> Option<u64> {
        let meta = self.file.as_ref()?.metadata().ok()?;
        u64::try_from(meta.mtime()).ok()
    }

    /// Appends what the file gained since the last read to `out`, at most `room` bytes.
    pub fn read_new(&mut self, out: &mut Vec<u8>, room: usize) {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if meta.ino() != self.inode {
                // Rotated or replaced: the new file from its start.
                if let Ok(file) = File::open(&self.path) {
                    self.file = Some(file);
                    self.inode = meta.ino();
                    self.offset = 0;
                }
            } else if meta.len() < self.offset {
                out.extend_from_slice(b"==> File truncated <==\n");
                self.offset = 0;
            }
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if room == 0 || file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let before = out.len();
        if file.take(room as u64).read_to_end(out).is_err() {
            out.truncate(before);
        }
        self.offset += (out.len() - before) as u64;
    }
}
