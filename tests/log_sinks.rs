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

/// Bytes waiting in the FIFO (FIONREAD on its read end).
fn fifo_held(reader: &File) -> usize {
    use std::os::fd::AsRawFd;
    let mut held: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    unsafe { libc::ioctl(reader.as_raw_fd(), libc::FIONREAD, &mut held) };
    usize::try_from(held).unwrap_or(0)
}

fn fifo_capacity(reader: &File) -> usize {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETPIPE_SZ only reads the pipe's size.
    let size = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_GETPIPE_SZ) };
    usize::try_from(size).unwrap_or(0)
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

    // Stalled again (the FIFO full once more): SIGTERM still ends the daemon promptly,
    // and it says what it could not deliver.
    // (A pipe is full when its pages are: less than its capacity after partial reads.)
    let mut last = 0;
    expect_within(secs(10), "the FIFO to fill up again", || {
        std::thread::sleep(Duration::from_millis(200));
        let held = fifo_held(&reader);
        let full = held == last && held >= fifo_capacity(&reader) / 2;
        last = held;
        full
    });
    expect_quick_status(&socket);
    assert_eq!(daemon.stop(), Some(0), "SIGTERM ends the daemon cleanly");
    daemon.expect_log(secs(1), "flood stdout: ");
    daemon.expect_log(secs(1), "bytes of output could not be written");
    drop(reader);
}

/// `sh -c` text that prints `count` lines `tag-N`, then sleeps.
fn lines_then_sleep(tag: &str, count: u32) -> String {
    format!("sh -c 'i=0; while [ $i -lt {count} ]; do echo {tag}-$i; i=$((i+1)); done; exec sleep 1000'")
}

fn has_all_lines(text: &str, tag: &str, count: u32) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{tag}-")))
        .collect();
    let want: Vec<String> = (0..count).map(|i| format!("{tag}-{i}")).collect();
    lines == want
}

#[test]
fn dev_stdout_and_proc_fds_are_never_rotated() {
    let dir = TestDir::new("dev-stdout");
    let config = dir.config(&format!(
        "[program:out]\ncommand = {}\nstdout_logfile = /dev/stdout\n\
         stdout_logfile_maxbytes = 100\n\n\
         [program:fd]\ncommand = {}\nstdout_logfile = /proc/self/fd/1\n\
         stdout_logfile_maxbytes = 100\nstdout_logfile_backups = 2\n\n\
         [program:err]\ncommand = {}\nstdout_logfile = /dev/stderr\n\
         stdout_logfile_maxbytes = 1\n",
        lines_then_sleep("out", 300),
        lines_then_sleep("fd", 300),
        lines_then_sleep("err", 300),
    ));
    let mut daemon = Daemon::start(&dir, &config);
    // The daemon's stdout and stderr here are regular files: only the path says they
    // must not be renamed.
    expect_within(secs(20), "every line on the daemon's stdout", || {
        let out = std::fs::read_to_string(&daemon.stdout).unwrap_or_default();
        has_all_lines(&out, "out", 300) && has_all_lines(&out, "fd", 300)
    });
    expect_within(secs(20), "every line on the daemon's stderr", || {
        has_all_lines(&daemon.stderr_text(), "err", 300)
    });
    for path in ["/dev/stdout.1", "/dev/stderr.1", "/proc/self/fd/1.1"] {
        assert!(!Path::new(path).exists(), "{path} was created");
    }
    let log = std::fs::read_to_string(&daemon.log).unwrap_or_default();
    assert!(
        !log.contains("cannot rotate"),
        "no rotation was tried:\n{log}"
    );
    assert_eq!(
        daemon.count_log("is not a regular file"),
        3,
        "one notice per program at load:\n{log}"
    );
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn a_fifo_with_a_small_maxbytes_gets_every_byte_and_is_not_renamed() {
    let dir = TestDir::new("fifo-maxbytes");
    let fifo = dir.join("out.fifo");
    mkfifo(&fifo);
    let mut reader = open_reader(&fifo);
    let config = dir.config(&format!(
        "[program:lines]\ncommand = {}\nstdout_logfile = {{dir}}/out.fifo\n\
         stdout_logfile_maxbytes = 100\n",
        lines_then_sleep("line", 2000)
    ));
    let mut daemon = Daemon::start(&dir, &config);
    let mut got = Vec::new();
    let mut buffer = vec![0u8; 65536];
    expect_within(secs(20), "every line through the FIFO", || {
        loop {
            match reader.read(&mut buffer) {
                Ok(n) if n > 0 => got.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        has_all_lines(&String::from_utf8_lossy(&got), "line", 2000)
    });
    assert!(!dir.join("out.fifo.1").exists(), "the FIFO was renamed");
    assert_eq!(daemon.stop(), Some(0));
}
