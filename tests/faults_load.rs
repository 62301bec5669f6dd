//! Fault injection under load: the daemon out of file descriptors, a hundred programs
//! crash-looping, a thousand clients at once (and clients that vanish mid-request or
//! mid-reply), a storm of reloads under concurrent starts and stops. Each test checks
//! that the daemon keeps answering `status`, that its state stays consistent, that no
//! child is left a zombie or duplicated, that its fd count comes back, and that it does
//! not burn CPU (its own utime + stime, measured over a window).
//!
//! The tests take a shared lock so that CPU and latency figures are not skewed by each
//! other.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const STATUS: &str = r#"{"command": "status"}"#;

/// Starts the daemon and waits until it answers (the log says it started a moment
/// before the socket listens).
fn start(dir: &TestDir, config: &Path) -> Daemon {
    let daemon = Daemon::start(dir, config);
    expect_answering(dir, secs(10));
    daemon
}

/// The daemon's open fds, without the state file it rewrites now and then.
fn steady_fds(daemon: &Daemon) -> usize {
    fd_targets(daemon.pid)
        .iter()
        .filter(|t| !t.contains(".supervice-state"))
        .count()
}

fn expect_fds_back(daemon: &Daemon, baseline: usize, timeout: Duration) {
    let back = wait_for(timeout, || steady_fds(daemon) <= baseline);
    assert!(
        back,
        "daemon fds: {} (baseline {baseline}): {:?}",
        steady_fds(daemon),
        fd_targets(daemon.pid)
    );
}

fn expect_no_zombies(daemon: &Daemon) {
    let none = wait_for(secs(5), || zombie_children(daemon.pid).is_empty());
    assert!(none, "zombies: {:?}", zombie_children(daemon.pid));
}

/// `supervice -c config -n` with RLIMIT_NOFILE set to `nofile` (soft and hard), so the
/// daemon cannot raise it.
fn start_with_fd_limit(dir: &TestDir, config: &Path, nofile: u64) -> Daemon {
    let token = format!("{}-nofile-{}", std::process::id(), dir.path.display());
    let (stdout, stderr) = (dir.join("daemon.stdout"), dir.join("daemon.stderr"));
    let mut command = Command::new(SUPERVICE);
    command
        .args(["-c", &config.display().to_string(), "-n"])
        .current_dir(&dir.path)
        .env("SUPERVICE_TEST_TOKEN", &token)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap());
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("run supervice");
    let daemon = Daemon {
        pid: child.id() as i32,
        child: Some(child),
        token,
        log: dir.join("supervice.log"),
        stdout,
        stderr,
    };
    daemon.expect_log(secs(10), "Supervisor starting");
    expect_answering(dir, secs(10));
    daemon
}

#[test]
fn out_of_fds_the_daemon_backs_off_without_spinning_and_recovers() {
    let _serial = serial();
    let dir = TestDir::new("fault-nofile");
    let config = dir.config(
        "[program:steady]\ncommand = sleep 31%(process_num)s.1\nnumprocs = 10\n\
         startsecs = 0\nstdout_logfile = {dir}/steady-%(process_num)s.log\n\n\
         [program:flapper]\ncommand = sh -c 'echo tick; sleep 0.5'\nnumprocs = 10\n\
         startsecs = 0\nstartretries = 100\nautostart = false\n\
         stdout_logfile = {dir}/flapper-%(process_num)s.log\n\n\
         [group:flappers]\nprograms = flapper\n",
    );
    let daemon = start_with_fd_limit(&dir, &config, 64);
    expect_within(secs(10), "10 steady instances RUNNING", || {
        status_now(&dir.socket())
            .iter()
            .filter(|e| e.name.starts_with("steady") && e.state == "RUNNING")
            .count()
            == 10
    });
    let baseline = steady_fds(&daemon);
    let steady: Vec<Entry> = status_now(&dir.socket())
        .into_iter()
        .filter(|e| e.name.starts_with("steady"))
        .collect();
    assert_eq!(ctl(&dir, &["startgroup", "flappers"]).0, 0);

    // 60 clients that connect and say nothing: the daemon accepts them until accept()
    // fails, and the flappers' respawns then find no fd for their pipes and logs.
    let held: Vec<UnixStream> = (0..60)
        .map(|_| UnixStream::connect(dir.socket()).expect("connect"))
        .collect();
    daemon.expect_log(secs(5), "accept: Too many open files");
    let share = cpu_share_during(daemon.pid, || std::thread::sleep(secs(3)));
    assert!(
        share < 0.05,
        "out of fds, the daemon used {:.1}% of a core",
        share * 100.0
    );
    assert!(alive(daemon.pid));
    daemon.expect_log(secs(5), "Failed to spawn flapper");
    assert!(daemon.log_text().contains("Too many open files"));

    let mark = daemon.log_text().lines().count();
    drop(held);
    expect_answering(&dir, secs(5));
    // Every flapper spawns again after its backoff (at most 1+2+3+4 s in).
    expect_within(secs(15), "each flapper to spawn again", || {
        let text = daemon.log_text();
        let since: Vec<&str> = text.lines().skip(mark).collect();
        (0..10).all(|n| {
            let needle = format!("Spawning flapper:{n:02}:");
            since.iter().any(|l| l.contains(&needle))
        })
    });
    for entry in status_now(&dir.socket()) {
        assert_ne!(entry.state, "FATAL", "{entry:?}");
    }
    for before in &steady {
        assert_eq!(&entry_of(&dir.socket(), &before.name), before);
    }
    let (code, out, _) = ctl(&dir, &["stopgroup", "flappers"]);
    assert_eq!((code, out.trim()), (0, "Stopped group flappers"));
    expect_fds_back(&daemon, baseline, secs(5));
    expect_no_zombies(&daemon);
    // One warning per episode of failing accept(), not one per retry.
    let warnings = daemon.count_log("accept: Too many open files");
    let recoveries = daemon.count_log("accept works again");
    assert!(
        warnings >= 1 && warnings <= recoveries + 1,
        "{warnings} accept warnings for {recoveries} recoveries"
    );
}

#[test]
fn a_hundred_crash_looping_programs_back_off_to_fatal_cheaply() {
    let _serial = serial();
    let dir = TestDir::new("fault-crash-storm");
    let config =
        dir.config("[program:crash]\ncommand = /bin/false\nnumprocs = 100\nstartretries = 3\n");
    let started = Instant::now();
    let daemon = Daemon::start(&dir, &config);
    let cpu_before = cpu_time(daemon.pid);

    // Status all through the storm, each answered quickly. On a loaded machine a reply
    // can be late without the daemon being busy: a slow reply counts against the daemon
    // only if it used the CPU time meanwhile (spawning a batch of children).
    let mut slowest = Duration::ZERO;
    let mut polls = 0;
    let all_fatal = loop {
        let (asked, cpu) = (Instant::now(), cpu_time(daemon.pid));
        let reply = rpc(&dir.socket(), STATUS, secs(5));
        let took = asked.elapsed();
        let busy = cpu_time(daemon.pid).saturating_sub(cpu);
        if let Some(entries) = reply.ok().as_deref().and_then(status_entries) {
            polls += 1;
            if took > Duration::from_millis(200) {
                eprintln!(
                    "status at {:?} took {took:?}, daemon busy {busy:?}",
                    asked - started
                );
            }
            assert!(took < secs(2), "status took {took:?}");
            slowest = slowest.max(took.min(busy));
            if entries.len() == 100 && entries.iter().all(|e| e.state == "FATAL") {
                break started.elapsed();
            }
        }
        assert!(started.elapsed() < secs(20), "not all FATAL after 20 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    let share =
        (cpu_time(daemon.pid).saturating_sub(cpu_before)).as_secs_f64() / all_fatal.as_secs_f64();

    assert!(polls > 50, "status answered {polls} times");
    // Generous: the figure that matters is in the benchmark; this catches a loop that
    // is blocked for a whole batch of spawns.
    assert!(
        slowest < Duration::from_millis(500),
        "slowest status {slowest:?}"
    );
    // Backoff 1 + 2 + 3 s between the four spawns.
    assert!(
        all_fatal >= Duration::from_millis(5900) && all_fatal < secs(10),
        "all FATAL after {all_fatal:?}"
    );
    assert!(
        share < 0.20,
        "the storm cost {:.1}% of a core",
        share * 100.0
    );
    for n in 0..100 {
        let spawns = daemon.count_log(&format!("Spawning crash:{n:02}:"));
        assert_eq!(spawns, 4, "crash:{n:02} spawned {spawns} times");
    }
    assert_eq!(
        daemon.count_log("giving up after 4 failed start attempts"),
        100
    );
    expect_no_zombies(&daemon);
}

/// One client: status, or the clean refusal past the connection limit.
fn status_or_refusal(socket: &Path) -> Result<bool, String> {
    let reply = rpc(socket, STATUS, secs(30)).map_err(|e| e.to_string())?;
    if status_entries(&reply).is_some_and(|e| e.len() == 20) {
        return Ok(true);
    }
    if reply.contains("Too many connections") {
        return Ok(false);
    }
    Err(format!("unexpected reply: {reply}"))
}

#[test]
fn a_thousand_concurrent_clients_are_all_answered() {
    let _serial = serial();
    let dir = TestDir::new("fault-1000-clients");
    let config = dir
        .config("[program:p]\ncommand = sleep 32%(process_num)s.1\nnumprocs = 20\nstartsecs = 0\n");
    let daemon = start(&dir, &config);
    expect_within(secs(10), "20 RUNNING", || {
        status_now(&dir.socket())
            .iter()
            .all(|e| e.state == "RUNNING")
    });
    let baseline = steady_fds(&daemon);

    let barrier = Arc::new(Barrier::new(1000));
    let clients: Vec<_> = (0..1000)
        .map(|_| {
            let (socket, barrier) = (dir.socket(), barrier.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    barrier.wait();
                    status_or_refusal(&socket)
                })
                .expect("thread")
        })
        .collect();
    let results: Vec<Result<bool, String>> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let served = results.iter().filter(|r| r == &&Ok(true)).count();
    assert_eq!(served, 1000, "every client got its status");
    expect_fds_back(&daemon, baseline, secs(5));

    assert!(alive(daemon.pid));
}

#[test]
fn past_the_connection_limit_a_client_reads_too_many_connections() {
    let _serial = serial();
    let dir = TestDir::new("fault-connection-limit");
    let config = dir.config("[program:p]\ncommand = sleep 3300.1\nstartsecs = 0\n");
    let daemon = start(&dir, &config);
    let baseline = steady_fds(&daemon);
    let idle: Vec<UnixStream> = (0..1024)
        .map(|_| UnixStream::connect(dir.socket()).expect("connect"))
        .collect();
    expect_within(secs(3), "1024 connections accepted", || {
        steady_fds(&daemon) >= baseline + 1024
    });
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let asked = Instant::now();
        let (code, out, _) = ctl(&dir, &["status"]);
        assert!(
            asked.elapsed() < secs(2),
            "a refusal took {:?}",
            asked.elapsed()
        );
        outcomes.push((code, out.trim().to_string()));
    }
    drop(idle);
    expect_answering(&dir, secs(5));
    expect_fds_back(&daemon, baseline, secs(5));
    let unclean: Vec<_> = outcomes
        .iter()
        .filter(|o| *o != &(1, "Error: Too many connections".to_string()))
        .collect();
    assert!(unclean.is_empty(), "{} of 20: {unclean:?}", unclean.len());
}

#[test]
fn clients_vanishing_mid_request_or_mid_reply_disturb_no_one() {
    let _serial = serial();
    let dir = TestDir::new("fault-vanishing-clients");
    // 2000 instances make a status reply of about 130 KB, more than a socket takes at once.
    let config =
        dir.config("[program:many]\ncommand = sleep 1000\nnumprocs = 2000\nautostart = false\n");
    let daemon = start(&dir, &config);
    let baseline = steady_fds(&daemon);
    let request = {
        let mut frame = (STATUS.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(STATUS.as_bytes());
        frame
    };

    for _round in 0..3 {
        let barrier = Arc::new(Barrier::new(200));
        let clients: Vec<_> = (0..200)
            .map(|n| {
                let (socket, barrier, request) = (dir.socket(), barrier.clone(), request.clone());
                std::thread::spawn(move || -> Result<(), String> {
                    barrier.wait();
                    let mut stream = UnixStream::connect(&socket).map_err(|e| e.to_string())?;
                    stream.set_read_timeout(Some(secs(20))).unwrap();
                    match n % 4 {
                        // Half a frame, then gone.
                        0 => {
                            let _ = stream.write_all(&request[..request.len() / 2]);
                        }
                        // A whole request, then gone without reading.
                        1 => {
                            let _ = stream.write_all(&request);
                        }
                        // Reads the first bytes of the reply, then gone.
                        2 => {
                            stream.write_all(&request).map_err(|e| e.to_string())?;
                            let mut start = [0u8; 100];
                            stream.read_exact(&mut start).map_err(|e| e.to_string())?;
                        }
                        // A patient client: the whole reply, all 2000 instances.
                        _ => {
                            stream.write_all(&request).map_err(|e| e.to_string())?;
                            let mut reply = Vec::new();
                            stream.read_to_end(&mut reply).map_err(|e| e.to_string())?;
                            let body = String::from_utf8_lossy(reply.get(4..).unwrap_or(&[]));
                            let n = status_entries(&body).map_or(0, |e| e.len());
                            if n != 2000 {
                                return Err(format!("status with {n} instances"));
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for client in clients {
            client
                .join()
                .unwrap()
                .expect("a patient or partial reader got what it read");
        }
    }
    assert_eq!(status_now(&dir.socket()).len(), 2000);
    expect_fds_back(&daemon, baseline, secs(5));
    assert!(alive(daemon.pid));
}

/// The reload storm's programs, by variant. Each instance runs `sleep <marker>`, a
/// number no other instance uses.
fn storm_config(variant: u8) -> String {
    let program = |name: &str, base: u32, numprocs: u32, extra: &str| {
        format!(
            "[program:{name}]\ncommand = sleep {base}%(process_num)s.5\nnumprocs = {numprocs}\n\
             startsecs = 0\nstopwaitsecs = 2\n{extra}\n"
        )
    };
    let mut text = String::new();
    text += &program("common", 41, 3, "");
    if variant == 0 {
        text += &program("multi", 42, 2, "");
        text += &program("only_a", 43, 2, "");
        text += &program("changing", 45, 1, "environment = V=a\n");
        text += "[group:g]\nprograms = common\n";
    } else {
        text += &program("multi", 42, 4, "");
        text += &program("only_b", 44, 2, "");
        text += &program("changing", 45, 1, "environment = V=b\nstartretries = 4\n");
        text += "[group:g]\nprograms = common, multi\n";
    }
    text
}

/// The processes of the storm's instance `name` (`multi:03` runs `/usr/bin/sleep 4203.5`).
fn storm_children(daemon: &Daemon, name: &str) -> Vec<i32> {
    let marker = format!("sleep {}", storm_marker(name));
    processes_with_token(&daemon.token)
        .into_iter()
        .filter(|&pid| cmdline(pid).ends_with(&marker))
        .collect()
}

/// The `sleep` argument of the storm's instance `name`.
fn storm_marker(name: &str) -> String {
    let (program, num) = name.split_once(':').unwrap_or((name, "00"));
    let base = match program {
        "common" => 41,
        "multi" => 42,
        "only_a" => 43,
        "only_b" => 44,
        _ => 45,
    };
    format!("{base}{num}.5")
}

fn storm_names() -> Vec<String> {
    let mut names = Vec::new();
    for (program, n) in [("common", 3), ("multi", 4), ("only_a", 2), ("only_b", 2)] {
        names.extend((0..n).map(|i| format!("{program}:{i:02}")));
    }
    names.push("changing".into());
    names
}

#[test]
fn a_reload_storm_under_concurrent_starts_and_stops_leaves_one_child_per_instance() {
    let _serial = serial();
    let dir = TestDir::new("fault-reload-storm");
    let config = dir.config(&storm_config(0));
    let daemon = start(&dir, &config);
    expect_within(secs(10), "variant 0 RUNNING", || {
        status_now(&dir.socket())
            .iter()
            .all(|e| e.state == "RUNNING")
    });
    let baseline = steady_fds(&daemon);

    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3u64)
        .map(|seed| {
            let (socket, done) = (dir.socket(), done.clone());
            std::thread::spawn(move || -> Vec<String> {
                let names = storm_names();
                let mut x = seed * 7919 + 17;
                let mut bad = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let name = &names[(x % names.len() as u64) as usize];
                    let command = ["start", "stop", "restart", "startgroup", "stopgroup"]
                        [(x / 64 % 5) as usize];
                    let name = if command.ends_with("group") {
                        "g"
                    } else {
                        name
                    };
                    let body = format!(r#"{{"command": "{command}", "name": "{name}"}}"#);
                    match rpc(&socket, &body, secs(20)) {
                        Ok(reply) if reply.contains("\"status\"") => {}
                        other => bad.push(format!("{body}: {other:?}")),
                    }
                }
                bad
            })
        })
        .collect();

    let mut slowest = Duration::ZERO;
    for n in 1..=100u8 {
        dir.config(&storm_config(n % 2));
        let asked = Instant::now();
        let reply = rpc(&dir.socket(), r#"{"command": "reload"}"#, secs(10))
            .unwrap_or_else(|e| panic!("reload {n}: {e}"));
        slowest = slowest.max(asked.elapsed());
        assert!(reply.contains(r#""status": "ok""#), "reload {n}: {reply}");
        std::thread::sleep(Duration::from_millis(20));
    }
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        let bad = worker.join().unwrap();
        assert!(bad.is_empty(), "requests without a reply: {bad:?}");
    }
    assert!(slowest < secs(2), "slowest reload {slowest:?}");

    // The last reload loaded variant 0.
    let settled = wait_for(secs(15), || {
        status_now(&dir.socket())
            .iter()
            .all(|e| !["STARTING", "STOPPING", "BACKOFF"].contains(&e.state.as_str()))
    });
    assert!(settled, "{:?}", status_now(&dir.socket()));
    let entries = status_now(&dir.socket());
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    let expected: BTreeSet<&str> = [
        "common:00",
        "common:01",
        "common:02",
        "multi:00",
        "multi:01",
        "only_a:00",
        "only_a:01",
        "changing",
    ]
    .into();
    assert_eq!(names.len(), unique.len(), "duplicates in {names:?}");
    assert_eq!(unique, expected);

    // Removed instances finish stopping in the background.
    let gone = ["multi:02", "multi:03", "only_b:00", "only_b:01"];
    expect_within(secs(10), "removed instances' children gone", || {
        gone.iter().all(|n| storm_children(&daemon, n).is_empty())
    });
    for entry in &entries {
        let pids = storm_children(&daemon, &entry.name);
        match entry.state.as_str() {
            "RUNNING" => {
                let pid = entry.pid.unwrap();
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                assert_eq!(
                    pids,
                    vec![pid],
                    "{entry:?}: argv {:?}, stat {stat:?}, now {:?}",
                    cmdline(pid),
                    entry_of(&dir.socket(), &entry.name)
                );
                assert_eq!(ppid_of(pids[0]), Some(daemon.pid));
            }
            _ => assert!(pids.is_empty(), "{entry:?} has children {pids:?}"),
        }
    }
    expect_no_zombies(&daemon);
    expect_fds_back(&daemon, baseline, secs(5));
    assert!(daemon.count_log("Reload complete") >= 100);
}

/// Sets the soft RLIMIT_NOFILE of a running process (the hard limit stays).
fn set_soft_fd_limit(pid: i32, soft: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads and writes only the structs we pass, for a pid we started.
    let ok = unsafe {
        libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut limit) == 0 && {
            limit.rlim_cur = soft;
            libc::prlimit(pid, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut()) == 0
        }
    };
    assert!(ok, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn out_of_fds_at_most_one_accept_retry_timer_is_armed() {
    let _serial = serial();
    let dir = TestDir::new("fault-accept-retry");
    let config = dir.config("[program:idle]\ncommand = sleep 1000\nautostart = false\n");
    let daemon = Daemon::start(&dir, &config);
    expect_answering(&dir, secs(10));
    // The probe's connection may still be open on the daemon's side: count once it is
    // closed (listener and signal pipe are the only sockets left).
    let sockets = || {
        std::fs::read_dir(format!("/proc/{}/fd", daemon.pid))
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .filter(|l| l.to_string_lossy().starts_with("socket:"))
                    .count()
            })
            .unwrap_or(0)
    };
    expect_within(secs(5), "the probe connection closed", || sockets() == 3);
    let fds = daemon.fd_count() as u64;
    // Room for three connections: three held ones take it, the next queue.
    set_soft_fd_limit(daemon.pid, fds + 3);
    let held: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(dir.socket()).expect("connect"))
        .collect();
    expect_within(secs(5), "three connections accepted", || {
        daemon.fd_count() as u64 == fds + 3
    });
    let queued: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(dir.socket()).expect("connect"))
        .collect();
    daemon.expect_log(secs(5), "accept: Too many open files");

    // Each close frees an fd while a retry is armed: the daemon accepts at once, fails
    // on the next queued one and must not arm a second timer beside the first.
    drop(held);
    daemon.expect_log_count(secs(5), "accept works again", 3);
    let before = daemon.count_log("accept: retrying in");
    let storm = wait_for(secs(1), || {
        daemon.count_log("accept: retrying in") > before + 8
    });
    assert!(
        !storm,
        "{} accept retries armed within a second (one timer every 250 ms gives 4)",
        daemon.count_log("accept: retrying in") - before
    );

    drop(queued);
    set_soft_fd_limit(daemon.pid, fds + 64);
    expect_answering(&dir, secs(10));
}
