//! Every per-event loop of the daemon has a per-turn budget: one fd that never runs dry (a
//! client that keeps sending, a check script that floods its stderr, a descendant that
//! floods its pipe at exit) cannot hold the loop, and everyone else is still served.

mod common;
use common::*;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `status` must keep answering quickly, `times` times in a row.
fn expect_status_keeps_answering(socket: &Path, times: usize) {
    for _ in 0..times {
        let start = Instant::now();
        let reply = rpc(socket, r#"{"command": "status"}"#, secs(5));
        assert!(reply.is_ok(), "status answered: {reply:?}");
        assert!(
            start.elapsed() < secs(3),
            "status took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_check_script_flooding_its_stderr_does_not_hold_the_loop() {
    let dir = TestDir::new("budget-hc-stderr");
    let config = dir.config(
        "[program:flood]\ncommand = sleep 1000\nstartsecs = 0\n\
         healthcheck_type = script\nhealthcheck_command = exec cat /dev/zero >&2\n\
         healthcheck_start_period = 0\nhealthcheck_timeout = 1\nhealthcheck_interval = 30\n\n\
         [program:other]\ncommand = sleep 1000\nstartsecs = 0\n",
    );
    let daemon = Daemon::start(&dir, &config);
    expect_state(&dir.socket(), "flood", "RUNNING", secs(10));
    expect_status_keeps_answering(&dir.socket(), 5);
    // The check's timeout still fires: the loop gets to its timers.
    daemon.expect_log(secs(10), "Health check script timed out after 1s");
}

#[test]
fn a_client_flooding_after_its_request_does_not_hold_the_loop() {
    let dir = TestDir::new("budget-client");
    let config = dir.config(
        "[program:slow]\ncommand = sleep 1000\nautostart = false\nstartsecs = 30\n\n\
         [program:other]\ncommand = sleep 1000\nstartsecs = 0\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let socket = dir.socket();
    expect_state(&socket, "other", "RUNNING", secs(10));

    // `start slow` waits 30 s for RUNNING; meanwhile its client sends without end.
    let mut flood = UnixStream::connect(&socket).expect("connect");
    let request = br#"{"command": "start", "name": "slow"}"#;
    let mut frame = (request.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(request);
    flood.write_all(&frame).expect("send the request");
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let junk = vec![b'x'; 1 << 16];
            while !stop.load(Ordering::Relaxed) {
                if flood.write_all(&junk).is_err() {
                    break;
                }
            }
        })
    };
    expect_status_keeps_answering(&socket, 5);
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.join();
}

#[test]
fn a_descendant_flooding_its_pipe_does_not_hold_the_exit() {
    let dir = TestDir::new("budget-exit");
    // The descendant leaves the program's session, so stopping the program does not end
    // it, and it keeps the pipe full for ever.
    let config = dir.config(
        "[program:leaver]\ncommand = sh -c 'setsid cat /dev/zero & exec sleep 1000'\n\
         startsecs = 0\nstdout_logfile = {dir}/out.log\nstdout_logfile_maxbytes = 1000000\n\
         stdout_logfile_backups = 1\n",
    );
    let mut daemon = Daemon::start(&dir, &config);
    expect_state(&dir.socket(), "leaver", "RUNNING", secs(10));
    expect_within(secs(10), "the descendant's output", || {
        std::fs::metadata(dir.join("out.log")).is_ok_and(|m| m.len() > 0)
    });
    daemon.signal(libc::SIGTERM);
    assert_eq!(
        daemon.wait_exit(secs(15)),
        Some(0),
        "the daemon exits though its pipe never runs dry"
    );
}
