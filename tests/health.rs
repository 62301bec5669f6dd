//! Health checks as a user sees them: the HEALTH column and `healthy` flag, the UNHEALTHY
//! state, the daemon log lines of SPEC 5, health-triggered restarts up to FATAL, and the
//! places where we do better on purpose (preface items 7, 10, 11): the verdict belongs to
//! the current run, the script gets the program's environment and directory, its timeout
//! kills its whole process group, and `start` on an UNHEALTHY instance answers at once.

mod common;
use common::*;

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

// Helpers private to this file.

/// Starts the daemon and waits until its socket answers (it logs "Supervisor starting"
/// before it listens).
fn start(dir: &TestDir, config: &Path) -> Daemon {
    let daemon = Daemon::start(dir, config);
    expect_answering(dir, secs(10));
    daemon
}

/// A port nobody listens on: bound by us for a moment, then released.
fn free_port(host: &str) -> u16 {
    let listener = TcpListener::bind((host, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// The parsed `supervicectl status --json` reply.
fn status(dir: &TestDir) -> Value {
    let (code, out, err) = ctl(dir, &["status", "--json"]);
    assert_eq!(code, 0, "status --json failed: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {out}"))
}

/// The status entry of instance `name`.
fn entry(dir: &TestDir, name: &str) -> Value {
    status(dir)["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in status"))
}

fn state(dir: &TestDir, name: &str) -> String {
    entry(dir, name)["state"].as_str().unwrap_or("").to_string()
}

fn pid(dir: &TestDir, name: &str) -> Option<i32> {
    entry(dir, name)["pid"].as_i64().map(|p| p as i32)
}

/// Polls status until `name` is in `want` state.
fn expect_state(dir: &TestDir, daemon: &Daemon, name: &str, want: &str, timeout: Duration) {
    let mut last = String::new();
    let reached = wait_for(timeout, || {
        last = state(dir, name);
        last == want
    });
    assert!(
        reached,
        "{name} never reached {want} (last {last}); log:\n{}",
        daemon.log_text()
    );
}

/// Polls status until `name` carries the health flag `want`.
fn expect_healthy(dir: &TestDir, daemon: &Daemon, name: &str, want: bool, timeout: Duration) {
    let reached = wait_for(timeout, || entry(dir, name)["healthy"] == want);
    assert!(
        reached,
        "{name} never had healthy={want} ({}); log:\n{}",
        entry(dir, name),
        daemon.log_text()
    );
}

/// The status table, and the cells of the row of `name`.
fn table_row(dir: &TestDir, name: &str) -> (String, Vec<String>) {
    let (code, out, err) = ctl(dir, &["status"]);
    assert_eq!(code, 0, "status failed: {out}{err}");
    let row = out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{out}"));
    (out, row)
}

/// A `[program:NAME]` section: a long sleep (its argv tagged with `tag` so it can be told
/// apart), RUNNING at once, fast health settings, then `extra` lines.
fn program(name: &str, tag: u32, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand = sleep {tag}\nstartsecs = 0\n\
         healthcheck_interval = 1\nhealthcheck_start_period = 0\n{extra}\n"
    )
}

fn have_python() -> bool {
    Command::new("python3")
        .args(["-c", "pass"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Live processes whose argv is exactly this; SIGKILLs whatever is left when dropped.
struct Marked(String);

impl Marked {
    fn pids(&self) -> Vec<i32> {
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if alive(pid) && cmdline(pid) == self.0 {
                found.push(pid);
            }
        }
        found
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        for pid in self.pids() {
            kill(pid, libc::SIGKILL);
        }
    }
}

// TCP checks.

#[test]
fn tcp_refused_marks_unhealthy_and_start_answers_at_once() {
    let dir = TestDir::new("hc-tcp-refused");
    let port = free_port("127.0.0.1");
    let config = dir.config(&program(
        "hc",
        1001,
        &format!(
            "autorestart = false\nhealthcheck_type = tcp\nhealthcheck_port = {port}\n\
             healthcheck_retries = 2\n"
        ),
    ));
    let daemon = start(&dir, &config);

    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(8));
    let first_pid = pid(&dir, "hc").expect("UNHEALTHY keeps its pid");
    assert_eq!(entry(&dir, "hc")["healthy"], false);
    let (table, row) = table_row(&dir, "hc");
    assert_eq!(row[1], "UNHEALTHY", "{table}");
    assert_eq!(row.last().unwrap(), "FAIL", "{table}");

    let log = daemon.log_text();
    for line in [
        format!("hc: health check failed (1/2): TCP connection to 127.0.0.1:{port} refused"),
        format!("hc: health check failed (2/2): TCP connection to 127.0.0.1:{port} refused"),
        "hc: health check failed 2 times, marking as unhealthy".to_string(),
        "hc: RUNNING -> UNHEALTHY".to_string(),
    ] {
        assert!(log.contains(&line), "no {line:?} in log:\n{log}");
    }
    assert!(!log.contains("restarting due to health check failures"));

    // Preface 11: start on UNHEALTHY answers at once that it is running.
    let asked = Instant::now();
    let (code, out, err) = ctl(&dir, &["start", "hc"]);
    let took = asked.elapsed();
    assert_eq!(
        (code, out.as_str()),
        (0, "hc is already running\n"),
        "{err}"
    );
    assert!(took < secs(1), "start on UNHEALTHY took {took:?}");
    assert_eq!(pid(&dir, "hc"), Some(first_pid));
    assert_eq!(daemon.count_log("Spawning hc:"), 1);
}

#[test]
fn tcp_refused_restarts_then_goes_fatal() {
    let dir = TestDir::new("hc-tcp-fatal");
    let port = free_port("127.0.0.1");
    let config = dir.config(&format!(
        "{}{}",
        program(
            "hc",
            1001,
            &format!(
                "startretries = 1\nhealthcheck_type = tcp\nhealthcheck_port = {port}\n\
                 healthcheck_retries = 1\n"
            ),
        ),
        program(
            "ok",
            1002,
            "healthcheck_type = script\nhealthcheck_command = true\n"
        ),
    ));
    let daemon = start(&dir, &config);

    daemon.expect_log(secs(10), "hc: STOPPED -> FATAL");
    let log = daemon.log_text();
    for line in [
        format!("hc: health check failed (1/1): TCP connection to 127.0.0.1:{port} refused"),
        "hc: health check failed 1 times, marking as unhealthy".to_string(),
        "hc: restarting due to health check failures (restart 1/1)".to_string(),
        "Backoff hc: waiting 1s".to_string(),
        "hc: still unhealthy after 1 health-triggered restarts; giving up (FATAL)".to_string(),
    ] {
        assert!(log.contains(&line), "no {line:?} in log:\n{log}");
    }
    assert_eq!(daemon.count_log("hc: RUNNING -> UNHEALTHY"), 2, "{log}");
    assert_eq!(daemon.count_log("hc: restarting due to"), 1, "{log}");

    // The respawn is a new process.
    let started: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("Started hc (pid ").map(|(_, p)| p))
        .collect();
    assert_eq!(started.len(), 2, "{log}");
    assert_ne!(started[0], started[1], "respawn kept the pid:\n{log}");

    // startretries=1: two spawns in all, and none after FATAL.
    assert_eq!(daemon.count_log("Spawning hc:"), 2, "{log}");
    let again = wait_for(Duration::from_millis(1500), || {
        daemon.count_log("Spawning hc:") > 2
    });
    assert!(!again, "spawned after FATAL:\n{}", daemon.log_text());

    // Preface 7: the verdict is for the current run only; FATAL has none.
    let hc = entry(&dir, "hc");
    assert_eq!(hc["state"], "FATAL");
    assert!(hc["pid"].is_null(), "{hc}");
    assert!(hc.get("healthy").is_none(), "FATAL keeps a verdict: {hc}");
    expect_healthy(&dir, &daemon, "ok", true, secs(5));
    let (table, row) = table_row(&dir, "hc");
    assert!(table.lines().next().unwrap().contains("HEALTH"), "{table}");
    assert_eq!(row, ["hc", "FATAL", "-", "-", "-"], "{table}");
    let (_, row) = table_row(&dir, "ok");
    assert_eq!(row.last().unwrap(), "OK", "{table}");
}

/// A child listening on `host`:`port` (python's http.server) and a tcp check against it.
fn tcp_check_passes(dir: &TestDir, host: &str, port: u16) {
    let config = dir.config(&format!(
        "[program:web]\ncommand = python3 -m http.server {port} --bind {host}\n\
         directory = {{dir}}\nstartsecs = 1\nhealthcheck_type = tcp\n\
         healthcheck_host = {host}\nhealthcheck_port = {port}\nhealthcheck_interval = 1\n\
         healthcheck_start_period = 0\nhealthcheck_retries = 5\n"
    ));
    let daemon = start(dir, &config);

    expect_healthy(dir, &daemon, "web", true, secs(10));
    assert_eq!(state(dir, "web"), "RUNNING");
    let (code, json, _) = ctl(dir, &["status", "--json"]);
    assert_eq!(code, 0);
    assert!(json.contains("\"healthy\": true"), "{json}");
    let (table, row) = table_row(dir, "web");
    assert_eq!(row[1], "RUNNING", "{table}");
    assert_eq!(row.last().unwrap(), "OK", "{table}");
    daemon.expect_log(
        secs(2),
        &format!("web: TCP connection to {host}:{port} succeeded"),
    );
    assert_eq!(
        daemon.count_log("Spawning web:"),
        1,
        "{}",
        daemon.log_text()
    );
}

#[test]
fn tcp_check_against_a_listening_child_is_ok() {
    if !have_python() {
        skip_or_fail("tcp_check_against_a_listening_child_is_ok", "no python3");
        return;
    }
    let dir = TestDir::new("hc-tcp-ok");
    tcp_check_passes(&dir, "127.0.0.1", free_port("127.0.0.1"));
}

#[test]
fn tcp_check_on_an_ipv6_literal() {
    if TcpListener::bind("[::1]:0").is_err() {
        skip("tcp_check_on_an_ipv6_literal", "no IPv6 loopback here");
        return;
    }
    if !have_python() {
        skip_or_fail("tcp_check_on_an_ipv6_literal", "no python3");
        return;
    }
    let dir = TestDir::new("hc-tcp-ipv6");
    tcp_check_passes(&dir, "::1", free_port("::1"));
}

#[test]
fn tcp_check_times_out_against_a_full_backlog() {
    let dir = TestDir::new("hc-tcp-timeout");
    let listener = FullListener::new();
    let port = listener.port;
    let config = dir.config(&program(
        "hc",
        1001,
        &format!(
            "autorestart = false\nhealthcheck_type = tcp\nhealthcheck_port = {port}\n\
             healthcheck_timeout = 1\nhealthcheck_retries = 1\n"
        ),
    ));
    let daemon = start(&dir, &config);

    daemon.expect_log(
        secs(6),
        &format!(
            "hc: health check failed (1/1): TCP connection to 127.0.0.1:{port} timed out after 1s"
        ),
    );
    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(2));
}

/// A listening socket whose accept queue is full, so further SYNs are dropped and a
/// connect hangs until its timeout.
struct FullListener {
    port: u16,
    _listener: OwnedFd,
    _queued: Vec<TcpStream>,
}

impl FullListener {
    fn new() -> FullListener {
        // SAFETY: socket(2) with constant arguments; the fd is owned from here on.
        let listener = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            OwnedFd::from_raw_fd(fd)
        };
        let fd = listener.as_raw_fd();
        // SAFETY: a zeroed sockaddr_in is valid; bind, listen and getsockname get our own
        // fd and a pointer and length that describe that sockaddr_in.
        let port = unsafe {
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
            let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let sockaddr = &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr;
            assert_eq!(libc::bind(fd, sockaddr, len), 0);
            // Backlog 0: the kernel queues one connection, then drops SYNs.
            assert_eq!(libc::listen(fd, 0), 0);
            assert_eq!(libc::getsockname(fd, sockaddr, &mut len), 0);
            u16::from_be(addr.sin_port)
        };
        let target = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let queued = (0..4)
            .filter_map(|_| TcpStream::connect_timeout(&target, Duration::from_millis(200)).ok())
            .collect();
        FullListener {
            port,
            _listener: listener,
            _queued: queued,
        }
    }
}

// Script checks.

#[test]
fn script_exit_code_decides_health() {
    let dir = TestDir::new("hc-script");
    let config = dir.config(&format!(
        "{}{}",
        program(
            "good",
            1001,
            "healthcheck_type = script\nhealthcheck_command = exit 0\n"
        ),
        program(
            "bad",
            1002,
            "autorestart = false\nhealthcheck_retries = 1\nhealthcheck_type = script\n\
             healthcheck_command = echo 'db down' >&2; exit 1\n"
        ),
    ));
    let daemon = start(&dir, &config);

    expect_healthy(&dir, &daemon, "good", true, secs(5));
    expect_state(&dir, &daemon, "bad", "UNHEALTHY", secs(5));
    assert_eq!(entry(&dir, "bad")["healthy"], false);
    assert_eq!(state(&dir, "good"), "RUNNING");
    let (table, row) = table_row(&dir, "bad");
    assert_eq!(row.last().unwrap(), "FAIL", "{table}");
    let (_, row) = table_row(&dir, "good");
    assert_eq!(row.last().unwrap(), "OK", "{table}");
    daemon.expect_log(
        secs(2),
        "bad: health check failed (1/1): Health check script exited with code 1: db down",
    );
    daemon.expect_log(secs(2), "good: Health check script exited with code 0");
}

#[test]
fn script_timeout_kills_the_whole_process_group() {
    let dir = TestDir::new("hc-script-timeout");
    let marker = format!("300.{}", std::process::id());
    let marked = Marked(format!("sleep {marker}"));
    // interval 30: one check only, so nothing new appears after its timeout.
    let config = dir.config(&format!(
        "[program:hc]\ncommand = sleep 1001\nstartsecs = 0\nautorestart = false\n\
         healthcheck_type = script\nhealthcheck_command = sleep {marker} & sleep {marker}\n\
         healthcheck_timeout = 1\nhealthcheck_interval = 30\nhealthcheck_start_period = 0\n\
         healthcheck_retries = 1\n"
    ));
    let daemon = start(&dir, &config);

    expect_within(secs(5), "the check script's sleeps to run", || {
        marked.pids().len() >= 2
    });
    let sleeps = marked.pids();
    daemon.expect_log(
        secs(5),
        "hc: health check failed (1/1): Health check script timed out after 1s",
    );
    let gone = wait_for(secs(2), || sleeps.iter().all(|&p| !alive(p)));
    assert!(
        gone,
        "the timed-out check left {:?} running ({:?})",
        sleeps.iter().filter(|&&p| alive(p)).collect::<Vec<_>>(),
        sleeps.iter().map(|&p| cmdline(p)).collect::<Vec<_>>()
    );
    assert!(marked.pids().is_empty(), "left: {:?}", marked.pids());
    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(2));
    assert!(alive(pid(&dir, "hc").unwrap()));
}

#[test]
fn script_gets_the_program_environment_and_directory() {
    let dir = TestDir::new("hc-script-env");
    fs::create_dir(dir.join("work")).unwrap();
    let work = fs::canonicalize(dir.join("work")).unwrap();
    let check = format!(
        "healthcheck_type = script\nhealthcheck_retries = 1\nautorestart = false\n\
         healthcheck_command = test \"$HC_MARK\" = yes && test \"$(pwd -P)\" = {}\n",
        work.display()
    );
    let config = dir.config(&format!(
        "{}{}",
        program(
            "inside",
            1001,
            &format!("environment = HC_MARK=yes\ndirectory = {{dir}}/work\n{check}")
        ),
        // The same check without them fails: the daemon's own env and cwd do not pass.
        program("outside", 1002, &check),
    ));
    let daemon = start(&dir, &config);

    expect_healthy(&dir, &daemon, "inside", true, secs(5));
    expect_healthy(&dir, &daemon, "outside", false, secs(5));
    assert_eq!(state(&dir, "inside"), "RUNNING");
    daemon.expect_log(
        secs(2),
        "outside: health check failed (1/1): Health check script exited with code 1",
    );
}

#[test]
fn without_autorestart_checks_continue_and_recover() {
    let dir = TestDir::new("hc-recover");
    let config = dir.config(&program(
        "hc",
        1001,
        "autorestart = false\nhealthcheck_retries = 2\nhealthcheck_type = script\n\
         healthcheck_command = test -e {dir}/flag\n",
    ));
    let daemon = start(&dir, &config);

    daemon.expect_log(secs(8), "hc: health check failed (3/2): ");
    assert_eq!(state(&dir, "hc"), "UNHEALTHY");
    assert_eq!(entry(&dir, "hc")["healthy"], false);
    let first_pid = pid(&dir, "hc").expect("pid");
    assert_eq!(
        daemon.count_log("hc: health check failed 2 times, marking as unhealthy"),
        1
    );
    assert_eq!(
        daemon.count_log("restarting due to health check failures"),
        0
    );

    dir.write("flag", "");
    expect_state(&dir, &daemon, "hc", "RUNNING", secs(4));
    expect_healthy(&dir, &daemon, "hc", true, secs(1));
    let (table, row) = table_row(&dir, "hc");
    assert_eq!(row.last().unwrap(), "OK", "{table}");
    assert_eq!(pid(&dir, "hc"), Some(first_pid));
    assert_eq!(daemon.count_log("Spawning hc:"), 1);
    daemon.expect_log(secs(1), "hc: health check passed after ");
    daemon.expect_log(secs(1), "hc: UNHEALTHY -> RUNNING");
}

#[test]
fn start_period_delays_the_first_check_and_the_health_column() {
    let dir = TestDir::new("hc-start-period");
    let config = dir.config(&format!(
        "[program:plain]\ncommand = sleep 1001\nstartsecs = 0\n\n{}",
        program(
            "hc",
            1002,
            "healthcheck_start_period = 2\nhealthcheck_type = script\n\
             healthcheck_command = true\n"
        )
        // `program` sets start_period 0 first; the later key would be a duplicate.
        .replace("healthcheck_start_period = 0\n", ""),
    ));
    let daemon = start(&dir, &config);

    daemon.expect_log(secs(5), "Started hc (pid ");
    let running = Instant::now();

    // No verdict yet: no HEALTH column, dash line 40 + 12 (UPTIME).
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{:<20} {:<10} {:<10} {:<12}",
            "NAME", "STATE", "PID", "UPTIME"
        ),
        "{out}"
    );
    assert_eq!(lines[1], "-".repeat(52), "{out}");

    let early = wait_for(
        Duration::from_millis(1500).saturating_sub(running.elapsed()),
        || entry(&dir, "hc").get("healthy").is_some(),
    );
    assert!(
        !early,
        "a check result {:?} after RUNNING, within start_period 2s; log:\n{}",
        running.elapsed(),
        daemon.log_text()
    );
    assert_eq!(
        daemon.count_log("hc: Health check script exited"),
        0,
        "{}",
        daemon.log_text()
    );
    expect_healthy(&dir, &daemon, "hc", true, secs(3));
    let took = running.elapsed();
    assert!(
        took < Duration::from_millis(3500),
        "first check after {took:?}"
    );

    // A verdict: the HEALTH column, dash line 62; `-` for the instance without one.
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{:<20} {:<10} {:<10} {:<12} {:<10}",
            "NAME", "STATE", "PID", "UPTIME", "HEALTH"
        ),
        "{out}"
    );
    assert_eq!(lines[1], "-".repeat(62), "{out}");
    let (_, row) = table_row(&dir, "plain");
    assert_eq!(row.last().unwrap(), "-", "{out}");
    let (_, row) = table_row(&dir, "hc");
    assert_eq!(row.last().unwrap(), "OK", "{out}");
    // The cells keep their widths, trailing blanks included.
    let hc_line = lines.iter().find(|l| l.starts_with("hc ")).unwrap();
    assert_eq!(
        hc_line.len(),
        20 + 1 + 10 + 1 + 10 + 1 + 12 + 1 + 10,
        "{hc_line:?}"
    );
}

#[test]
fn daemon_fd_count_stays_flat_across_health_cycles() {
    let dir = TestDir::new("hc-fds");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap().port();
    let down = free_port("127.0.0.1");
    let keep = "autorestart = false\nhealthcheck_retries = 100\n";
    let config = dir.config(&format!(
        "{}{}{}",
        program(
            "up",
            1001,
            &format!("{keep}healthcheck_type = tcp\nhealthcheck_port = {up}\n")
        ),
        program(
            "down",
            1002,
            &format!("{keep}healthcheck_type = tcp\nhealthcheck_port = {down}\n")
        ),
        program(
            "script",
            1003,
            &format!("{keep}healthcheck_type = script\nhealthcheck_command = exit 1\n")
        ),
    ));
    let daemon = start(&dir, &config);

    let checks = |n: usize| {
        daemon.expect_log_count(
            secs(n as u64 + 5),
            &format!("up: TCP connection to 127.0.0.1:{up} succeeded"),
            n,
        );
        daemon.expect_log_count(secs(5), "down: health check failed (", n);
        daemon.expect_log_count(secs(5), "script: health check failed (", n);
    };
    // The fewest fds seen over a short while: no check in flight at that moment.
    let settled_fds = || {
        let mut least = usize::MAX;
        for _ in 0..15 {
            least = least.min(daemon.fd_count());
            std::thread::sleep(Duration::from_millis(20));
        }
        least
    };

    checks(3);
    let after_3 = settled_fds();
    checks(8);
    let after_8 = settled_fds();
    assert!(after_3 > 0);
    assert_eq!(
        after_3, after_8,
        "daemon fds went from {after_3} (3 checks) to {after_8} (8 checks)"
    );
    drop(listener);
}

#[test]
fn script_runs_as_the_program_user() {
    if !require_root("script_runs_as_the_program_user") {
        return;
    }
    let dir = TestDir::new("hc-script-user");
    let config = dir.config(&program(
        "hc",
        1001,
        "user = nobody\nautorestart = false\nhealthcheck_retries = 1\n\
         healthcheck_type = script\nhealthcheck_command = test \"$(id -un)\" = nobody\n",
    ));
    let daemon = start(&dir, &config);
    expect_healthy(&dir, &daemon, "hc", true, secs(5));
}

// Health settings and reload (SPEC 5, last point): a change applies from the next RUNNING
// entry; the run that is going keeps the settings it started with.

fn check_lines(daemon: &Daemon) -> usize {
    daemon.count_log("hc: Health check script exited")
}

#[test]
fn health_check_added_by_reload_starts_with_the_next_run() {
    let dir = TestDir::new("hc-reload-add");
    let config = dir.config(&program("hc", 1001, ""));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "hc", "RUNNING", secs(5));

    dir.config(&program(
        "hc",
        1001,
        "autorestart = false\nhealthcheck_retries = 1\nhealthcheck_type = script\n\
         healthcheck_command = exit 1\n",
    ));
    let (code, out, _) = ctl(&dir, &["reload"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Changed (restart to apply): hc\n")
    );
    let checked = wait_for(Duration::from_millis(1500), || check_lines(&daemon) > 0);
    assert!(
        !checked,
        "checked before the restart:\n{}",
        daemon.log_text()
    );

    let (code, out, _) = ctl(&dir, &["restart", "hc"]);
    assert_eq!((code, out.as_str()), (0, "Restarted hc\n"));
    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(5));
}

#[test]
fn health_check_removed_by_reload_ends_with_the_run() {
    let dir = TestDir::new("hc-reload-remove");
    dir.write("flag", "");
    let config = dir.config(&program(
        "hc",
        1001,
        "healthcheck_retries = 1\nhealthcheck_type = script\n\
         healthcheck_command = test -e {dir}/flag\n",
    ));
    let daemon = start(&dir, &config);
    expect_healthy(&dir, &daemon, "hc", true, secs(5));

    dir.config(&program("hc", 1001, ""));
    let (code, out, _) = ctl(&dir, &["reload"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Changed (restart to apply): hc\n")
    );
    let (code, out, _) = ctl(&dir, &["restart", "hc"]);
    assert_eq!((code, out.as_str()), (0, "Restarted hc\n"));
    let restarted = pid(&dir, "hc").expect("running again");
    let checks = check_lines(&daemon);

    // The new run has no check: a failing script must not matter any more.
    fs::remove_file(dir.join("flag")).unwrap();
    let checked = wait_for(Duration::from_millis(2500), || {
        check_lines(&daemon) > checks
    });
    assert!(
        !checked,
        "checked after the restart:\n{}",
        daemon.log_text()
    );
    assert_eq!(state(&dir, "hc"), "RUNNING");
    assert_eq!(pid(&dir, "hc"), Some(restarted));
    assert!(entry(&dir, "hc").get("healthy").is_none());

    // Nor does a stopped instance run checks.
    let (code, _, _) = ctl(&dir, &["stop", "hc"]);
    assert_eq!(code, 0);
    let checks = check_lines(&daemon);
    let checked = wait_for(Duration::from_millis(2500), || {
        check_lines(&daemon) > checks
    });
    assert!(!checked, "checked while STOPPED:\n{}", daemon.log_text());
}

#[test]
fn running_checks_keep_their_retries_across_a_reload() {
    let dir = TestDir::new("hc-reload-retries");
    let check = "autorestart = false\nhealthcheck_type = script\nhealthcheck_command = exit 1\n";
    let config = dir.config(&program(
        "hc",
        1001,
        &format!("{check}healthcheck_retries = 5\n"),
    ));
    let daemon = start(&dir, &config);
    daemon.expect_log(secs(5), "hc: health check failed (1/5)");

    dir.config(&program(
        "hc",
        1001,
        &format!("{check}healthcheck_retries = 1\n"),
    ));
    let (code, out, _) = ctl(&dir, &["reload"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Changed (restart to apply): hc\n")
    );
    daemon.expect_log(secs(5), "hc: health check failed (3/");
    let log = daemon.log_text();
    assert!(log.contains("hc: health check failed (3/5)"), "{log}");
    assert!(!log.contains("marking as unhealthy"), "{log}");
    assert_eq!(state(&dir, "hc"), "RUNNING");
}

// Host names: resolved at each check by a short-lived child, never in the loop.

/// `localhost` is resolved (by the resolver child) and its addresses tried in turn, so a
/// listener on 127.0.0.1 passes whether the name gives ::1 or 127.0.0.1 first.
#[test]
fn tcp_check_against_localhost_resolves_and_passes() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let dir = TestDir::new("hc-localhost");
    let config = dir.config(&program(
        "hc",
        1011,
        &format!(
            "healthcheck_type = tcp\nhealthcheck_host = localhost\nhealthcheck_port = {port}\n\
             healthcheck_retries = 1\n"
        ),
    ));
    let daemon = start(&dir, &config);
    expect_healthy(&dir, &daemon, "hc", true, secs(10));
    daemon.expect_log(
        secs(2),
        &format!("hc: TCP connection to localhost:{port} succeeded"),
    );
    // A check every second, each one resolving again.
    daemon.expect_log_count(
        secs(10),
        &format!("TCP connection to localhost:{port} succeeded"),
        3,
    );
    assert_eq!(state(&dir, "hc"), "RUNNING");
    drop(listener);
}

/// A name that does not resolve fails each check with the resolver's reason, and the
/// daemon keeps answering meanwhile.
#[test]
fn unresolvable_host_fails_the_check_and_status_stays_responsive() {
    let dir = TestDir::new("hc-unresolvable");
    let config = dir.config(&program(
        "hc",
        1012,
        "autorestart = false\nhealthcheck_type = tcp\nhealthcheck_host = nonexistent.invalid\n\
         healthcheck_port = 80\nhealthcheck_retries = 2\n",
    ));
    let daemon = start(&dir, &config);
    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(10));
    let log = daemon.log_text();
    let line = "hc: health check failed (1/2): TCP connection to nonexistent.invalid:80 failed: \
                nonexistent.invalid does not resolve: ";
    assert!(log.contains(line), "no {line:?} in log:\n{log}");
    assert_eq!(entry(&dir, "hc")["healthy"], false);
    // Checks keep running every second; every status meanwhile answers at once.
    let until = Instant::now() + secs(3);
    while Instant::now() < until {
        let asked = Instant::now();
        let (code, out, err) = ctl(&dir, &["status"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            asked.elapsed() < secs(2),
            "status took {:?}",
            asked.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(daemon.count_log("nonexistent.invalid does not resolve") >= 3);
}

/// A host name is resolved again at every check, not frozen at load: when the name moves
/// to another address, the next checks follow it. The daemon runs in a private mount
/// namespace with a copy of /etc/hosts bind-mounted over the real one, so the machine's
/// own file is never touched.
#[test]
fn host_names_are_resolved_again_at_each_check() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let dir = TestDir::new("hc-reresolve");
    let hosts = dir.join("hosts");
    fs::write(&hosts, "127.0.0.1 svc-moving-host\n").expect("write hosts copy");
    let config = dir.config(&program(
        "hc",
        1013,
        &format!(
            "autorestart = false\nhealthcheck_type = tcp\nhealthcheck_host = svc-moving-host\n\
             healthcheck_port = {port}\nhealthcheck_retries = 1\n"
        ),
    ));
    let test = "host_names_are_resolved_again_at_each_check";
    let Some(daemon) = start_with_file_over(test, &dir, &config, &hosts, "/etc/hosts") else {
        return;
    };
    expect_healthy(&dir, &daemon, "hc", true, secs(10));

    // The name moves to an address nobody listens on (the same inode, written in place).
    fs::write(&hosts, "127.0.0.2 svc-moving-host\n").expect("move the name");
    expect_state(&dir, &daemon, "hc", "UNHEALTHY", secs(10));
    daemon.expect_log(
        secs(1),
        &format!("TCP connection to svc-moving-host:{port} refused"),
    );
    // And back: healthy again, without a reload.
    fs::write(&hosts, "127.0.0.1 svc-moving-host\n").expect("move the name back");
    expect_healthy(&dir, &daemon, "hc", true, secs(10));
    assert_eq!(daemon.count_log("Reloading"), 0);
    drop(listener);
}
