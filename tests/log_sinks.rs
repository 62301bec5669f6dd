//! Log files that are not regular files: FIFOs, /dev/stdout. None of them may freeze the
//! loop; a sink that cannot take bytes holds back only the child writing to it.

mod common;
use common::*;

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// The FIFO's read end, non-blocking, never read until the test says so.
fn open_reader(path: &Path) -> File {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("open FIFO for reading")
}

/// A status round trip, which must be quick even while a sink is stalled.
fn expect_quick_status(socket: &Path) -> Vec<Entry> {
    let start = Instant::now();
    let entries = status_now(socket);
    assert!(
        start.elapsed() < secs(3),
        "status took {:?}",
        start.elapsed()
    );
    entries
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn fifo_without_reader_fails_the_spawn_and_the_daemon_stays_responsive() {
    let dir = TestDir::new("fifo-noreader");
    let fifo = dir.join("out.fifo");
    mkfifo(&fifo);
    let config = dir.config(
        "[program:piped]\ncommand = sh -c 'echo hi; exec sleep 1000'\n\
         stdout_logfile = {dir}/out.fifo\nstartretries = 1\n\n\
         [program:other]\ncommand = sleep 1000\nstdout_logfile = {dir}/other.log\n",
    );
    let mut daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "other", "RUNNING", secs(10));
    expect_state(&socket, "piped", "FATAL", secs(20));
    daemon.expect_log(secs(5), "no process has it open for reading");
    expect_quick_status(&socket);
    assert_eq!(daemon.stop(), Some(0), "SIGTERM ends the daemon cleanly");
}

#[test]
fn stalled_fifo_reader_holds_back_only_its_child() {
    let dir = TestDir::new("fifo-stall");
    let fifo = dir.join("out.fifo");
    mkfifo(&fifo);
    let mut reader = open_reader(&fifo);
    let config = dir.config(
        "[program:flood]\ncommand = sh -c 'head -c 3000000 /dev/zero; exec sleep 1000'\n\
         stdout_logfile = {dir}/out.fifo\n\n\
         [program:tick]\ncommand = sh -c 'while :; do echo tick; sleep 0.05; done'\n\
         stdout_logfile = {dir}/tick.log\n",
    );
    let mut daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "flood", "RUNNING", secs(10));
    expect_state(&socket, "tick", "RUNNING", secs(10));

    // Nobody reads the FIFO: it is full, yet status and the other child carry on.
    let tick = dir.join("tick.log");
    for _ in 0..3 {
        let before = size(&tick);
        expect_within(
            secs(5),
            "tick.log to grow while the FIFO is stalled",
            || size(&tick) > before,
        );
        expect_quick_status(&socket);
    }

    // The reader reads 1 MB: the pump resumes when the FIFO has room, no byte is lost.
    let mut got = 0usize;
    let mut buffer = vec![0u8; 65536];
    let deadline = Instant::now() + secs(20);
    while got < 1_000_000 && Instant::now() < deadline {
        match reader.read(&mut buffer[..(1_000_000 - got).min(65536)]) {
            Ok(0) => break,
            Ok(n) => {
                assert!(buffer[..n].iter().all(|&b| b == 0), "only zeros were sent");
                got += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("reading the FIFO: {e}"),
        }
    }
    assert_eq!(got, 1_000_000, "the FIFO delivered what the child wrote");

    // Stalled again: SIGTERM still ends the daemon promptly, and it says what it could
    // not deliver.
    expect_quick_status(&socket);
    assert_eq!(daemon.stop(), Some(0), "SIGTERM ends the daemon cleanly");
    daemon.expect_log(secs(1), "flood stdout: ");
    daemon.expect_log(secs(1), "bytes of output could not be written");
    drop(reader);
}
