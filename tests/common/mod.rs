//! Shared helpers for the integration tests: a private temp dir per test, the real
//! `supervice` and `supervicectl` binaries with their own socket and pidfile, polling with
//! deadlines, and cleanup of every process a test started.
//!
//! Cleanup: each daemon runs with a unique `SUPERVICE_TEST_TOKEN` in its environment,
//! which every child and grandchild inherits. When a `Daemon` is dropped it is stopped
//! with SIGTERM, and then every process still carrying its token is SIGKILLed; that is
//! how grandchildren that escaped (or survived a crashed daemon) are found, never by name.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const SUPERVICE: &str = env!("CARGO_BIN_EXE_supervice");

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A directory of its own for one test, removed when dropped.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("supervice-test-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create test dir");
        TestDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file; `{dir}` in the text becomes this directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        fs::write(
            &path,
            text.replace("{dir}", &self.path.display().to_string()),
        )
        .expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.join(name)).unwrap_or_default()
    }

    /// A config with `[supervice]` pointing everything into this directory, then `body`.
    pub fn config(&self, body: &str) -> PathBuf {
        let text = format!(
            "[supervice]\nlogfile = {{dir}}/supervice.log\npidfile = {{dir}}/supervice.pid\n\
             socket = {{dir}}/supervice.sock\nloglevel = DEBUG\n\n{body}"
        );
        self.write("supervice.conf", &text)
    }

    pub fn socket(&self) -> PathBuf {
        self.join("supervice.sock")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like `wait_for`, but fails the test with `what` on timeout.
pub fn expect_within(timeout: Duration, what: &str, condition: impl FnMut() -> bool) {
    assert!(
        wait_for(timeout, condition),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Whether this run is CI (`.ci/run` exports `CI=true`). There a test that cannot run is a
/// failure, not a pass.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test that cannot run here for a reason CI must never have (a missing peer, not root,
/// a missing tool `.ci/run` installs): it fails under CI, and elsewhere it is skipped
/// loudly and recorded for the summary `.ci/run` prints. Returns so the caller can
/// `return` right after.
pub fn skip_or_fail(test: &str, why: &str) {
    assert!(!in_ci(), "{test} cannot run in CI: {why}");
    skip(test, why);
}

/// A test that cannot run on this machine for a reason outside the project's control (no
/// IPv6 loopback, say): skipped, also in CI, but recorded for the summary.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED: {test}: {why}");
    if let Some(path) = std::env::var_os("SUPERVICE_TEST_SKIPS") {
        use std::io::Write;
        if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "{test}: {why}");
        }
    }
}

/// Whether the test runs as root; otherwise `skip_or_fail` (CI runs as root).
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        skip_or_fail(test, "needs root");
    }
    root
}

/// The directory of a peer's executables, from the environment variable `var` (set by
/// `.ci/run`), else `fallback`; it must hold every one of `files`. `None` after
/// `skip_or_fail`.
///
/// - `SUPERVICE_PY_BIN`: Python Supervice 0.4.2 (`supervice`, `supervicectl`).
/// - `SUPERVISOR_BIN`: supervisor 4.3.0 (`supervisord`, `supervisorctl`, and the `python`
///   it is installed for) and superlance 2.0 (`memmon`, `httpok`, `crashmail`).
pub fn peer_dir(test: &str, var: &str, fallback: &str, files: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os(var).map_or_else(|| PathBuf::from(fallback), PathBuf::from);
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    skip_or_fail(
        test,
        &format!(
            "{} not found in {} (set {var} to the directory holding them)",
            missing.join(", "),
            dir.display()
        ),
    );
    None
}

/// Python Supervice 0.4.2's bin directory, or `None` (skipped; a failure in CI).
pub fn python_supervice(test: &str) -> Option<PathBuf> {
    peer_dir(
        test,
        "SUPERVICE_PY_BIN",
        "/tmp/pyref/bin",
        &["supervice", "supervicectl"],
    )
}

/// supervisor 4.3.0's bin directory (with superlance), or `None` (skipped; a failure in CI).
pub fn supervisor_bin(test: &str) -> Option<PathBuf> {
    peer_dir(
        test,
        "SUPERVISOR_BIN",
        "/work/venv/bin",
        &["supervisord", "supervisorctl", "python"],
    )
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Whether a pid is alive (and not a zombie).
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// The direct children of `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if ppid_of(child) == Some(pid) && alive(child) {
            found.push(child);
        }
    }
    found.sort_unstable();
    found
}

pub fn ppid_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// argv of a process, space-joined.
pub fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

/// Every live process whose environment holds `token`.
pub fn processes_with_token(token: &str) -> Vec<i32> {
    let needle = format!("SUPERVICE_TEST_TOKEN={token}");
    let mut found = Vec::new();
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me || !alive(pid) {
            continue;
        }
        let mut environ = Vec::new();
        if fs::File::open(format!("/proc/{pid}/environ"))
            .and_then(|mut f| f.read_to_end(&mut environ))
            .is_err()
        {
            continue;
        }
        if environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

pub fn kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a pid this test recorded; errors (already gone) are fine.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// A running `supervice -n`, stopped and cleaned up when dropped.
pub struct Daemon {
    pub child: Option<Child>,
    pub pid: i32,
    pub token: String,
    pub log: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Daemon {
    /// Starts `supervice -c <config> -n` in `dir` and waits until its control socket is
    /// bound (it logs that after taking the pidfile lock).
    pub fn start(dir: &TestDir, config: &Path) -> Daemon {
        let daemon = Daemon::spawn(dir, &["-c", &config.display().to_string(), "-n"]);
        expect_within(secs(10), "the daemon to start", || {
            daemon.log_text().contains("RPC Server listening on")
        });
        daemon
    }

    /// Runs `supervice` with `args` in `dir` without waiting for anything.
    pub fn spawn(dir: &TestDir, args: &[&str]) -> Daemon {
        Daemon::spawn_program(dir, Path::new(SUPERVICE), args)
    }

    pub fn log_text(&self) -> String {
        let mut text = fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&fs::read_to_string(&self.stdout).unwrap_or_default());
        text
    }

    pub fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for `needle` to appear in the daemon log.
    pub fn expect_log(&self, timeout: Duration, needle: &str) {
        let found = wait_for(timeout, || self.log_text().contains(needle));
        assert!(
            found,
            "timed out waiting for log line {needle:?}; log:\n{}",
            self.log_text()
        );
    }

    /// How many log lines contain `needle`.
    pub fn count_log(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: i32) {
        kill(self.pid, signal);
    }

    /// Waits for the daemon to exit and returns its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        self.wait_exit(secs(40))
    }

    /// Live processes started under this daemon (children, grandchildren, itself).
    pub fn descendants(&self) -> Vec<i32> {
        processes_with_token(&self.token)
    }

    /// The one child of the daemon whose argv contains `needle`.
    pub fn child_running(&self, needle: &str) -> Option<i32> {
        children_of(self.pid)
            .into_iter()
            .find(|&c| cmdline(c).contains(needle))
    }

    pub fn threads(&self) -> usize {
        fs::read_dir(format!("/proc/{}/task", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Anything left that carries this daemon's token: escaped grandchildren,
        // survivors of a crash test.
        for _ in 0..50 {
            let left = processes_with_token(&self.token);
            if left.is_empty() {
                break;
            }
            for pid in left {
                kill(pid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run command")
}

// Daemon-core helpers (log reading, /proc facts).

impl Daemon {
    /// The `FROM -> TO` state changes logged for instance `name`, in order.
    pub fn transitions(&self, name: &str) -> Vec<String> {
        let marker = format!(" {name}: ");
        self.log_text()
            .lines()
            .filter_map(|line| {
                let rest = &line[line.find(&marker)? + marker.len()..];
                let (from, to) = rest.split_once(" -> ")?;
                let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
                (word(from) && word(to)).then(|| rest.to_string())
            })
            .collect()
    }

    /// Waits until the daemon has `count` log lines containing `needle`.
    pub fn expect_log_count(&self, timeout: Duration, needle: &str, count: usize) {
        let found = wait_for(timeout, || self.count_log(needle) >= count);
        assert!(
            found,
            "timed out waiting for {count} log lines with {needle:?}; log:\n{}",
            self.log_text()
        );
    }
}

/// Every live descendant of `pid` (children, grandchildren, ...), not `pid` itself.
pub fn descendants_of(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for child in children_of(parent) {
            found.push(child);
            queue.push(child);
        }
    }
    found.sort_unstable();
    found
}

/// Field `index` (0-based, after the command name) of `/proc/<pid>/stat`: 0 is the state,
/// 1 the ppid, 2 the process group, 3 the session.
pub fn stat_field(pid: i32, index: usize) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(index)?.parse().ok()
}

// Control-plane helpers: our `supervicectl`, and other daemon binaries (the Python
// reference implementation).

pub const SUPERVICECTL: &str = env!("CARGO_BIN_EXE_supervicectl");

/// Runs a `supervicectl` binary with `-s <socket>` and `args`; returns (exit code, stdout,
/// stderr). A client killed by a signal reports -1.
pub fn ctl_with(program: &Path, socket: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(program)
        .arg("-s")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run supervicectl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Our `supervicectl -s <dir's socket> args...`: (exit code, stdout, stderr).
pub fn ctl(dir: &TestDir, args: &[&str]) -> (i32, String, String) {
    ctl_with(Path::new(SUPERVICECTL), &dir.socket(), args)
}

/// Waits until our `supervicectl status` gets an answer from the daemon on `dir`'s socket.
pub fn expect_answering(dir: &TestDir, timeout: Duration) {
    let mut last = (0, String::new(), String::new());
    let answered = wait_for(timeout, || {
        last = ctl(dir, &["--timeout", "2", "status"]);
        last.0 == 0
    });
    assert!(answered, "the daemon never answered status: {last:?}");
}

impl Daemon {
    /// Like `spawn`, but runs `program` (another build of a supervice daemon, such as the
    /// Python reference) with the same token, output files and cleanup.
    pub fn spawn_program(dir: &TestDir, program: &Path, args: &[&str]) -> Daemon {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let token = format!("{}-{n}-{}", std::process::id(), dir.path.display());
        let stdout = dir.join(format!("daemon-{n}.stdout").as_str());
        let stderr = dir.join(format!("daemon-{n}.stderr").as_str());
        let child = Command::new(program)
            .args(args)
            .current_dir(&dir.path)
            .env("SUPERVICE_TEST_TOKEN", &token)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("stdout file"))
            .stderr(fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        Daemon {
            pid: child.id() as i32,
            child: Some(child),
            token,
            log: dir.join("supervice.log"),
            stdout,
            stderr,
        }
    }

    /// Open file descriptors of the daemon (entries of /proc/PID/fd).
    pub fn fd_count(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

// Fault-injection helpers: the daemon's CPU time, its zombie children, and one raw
// request over the control socket (for many concurrent clients, without a
// `supervicectl` process each).

/// CPU time `pid` has used itself (utime + stime of /proc/PID/stat; not its children).
pub fn cpu_time(pid: i32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // After the command name: state is field 0, utime 11, stime 12 (in clock ticks).
    let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
    // SAFETY: sysconf has no memory effects.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / per_sec)
}

/// The share of one core `pid` used while `during` ran (1.0 = a whole core).
pub fn cpu_share_during(pid: i32, during: impl FnOnce()) -> f64 {
    let (cpu, wall) = (cpu_time(pid), Instant::now());
    during();
    (cpu_time(pid).saturating_sub(cpu)).as_secs_f64() / wall.elapsed().as_secs_f64()
}

/// Children of `pid` that are zombies (exited, not reaped).
pub fn zombie_children(pid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&child| {
            let stat = fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            stat.rsplit_once(") ").is_some_and(|(_, rest)| {
                rest.starts_with('Z') && rest.split_whitespace().nth(1) == Some(&pid.to_string())
            })
        })
        .collect()
}

/// Sends one request body over the control socket and returns the reply body. Every
/// step is bounded by `timeout` except connect(), which the listen backlog bounds.
pub fn rpc(socket: &Path, request: &str, timeout: Duration) -> std::io::Result<String> {
    use std::io::Write;
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut frame = (request.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(request.as_bytes());
    stream.write_all(&frame)?;
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let mut body = vec![0; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// One instance in a status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub state: String,
    pub pid: Option<i32>,
}

/// The instances of a status reply body, or `None` if it is not a status reply.
pub fn status_entries(reply: &str) -> Option<Vec<Entry>> {
    let value: serde_json::Value = serde_json::from_str(reply).ok()?;
    if value["status"] != "ok" {
        return None;
    }
    value["processes"]
        .as_array()?
        .iter()
        .map(|p| {
            Some(Entry {
                name: p["name"].as_str()?.to_string(),
                state: p["state"].as_str()?.to_string(),
                pid: p["pid"].as_i64().map(|pid| pid as i32),
            })
        })
        .collect()
}

/// `status` over the raw socket, within 10 s; panics if the daemon does not answer it.
pub fn status_now(socket: &Path) -> Vec<Entry> {
    let reply = rpc(socket, r#"{"command": "status"}"#, secs(10))
        .unwrap_or_else(|e| panic!("status over {}: {e}", socket.display()));
    status_entries(&reply).unwrap_or_else(|| panic!("not a status reply: {reply}"))
}

/// The state and pid of instance `name` (panics if status does not list it).
pub fn entry_of(socket: &Path, name: &str) -> Entry {
    status_now(socket)
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} is not in status"))
}

/// Waits until instance `name` is in `state`; returns its entry.
pub fn expect_state(socket: &Path, name: &str, state: &str, timeout: Duration) -> Entry {
    let mut last = None;
    let reached = wait_for(timeout, || {
        let entry = entry_of(socket, name);
        let done = entry.state == state;
        last = Some(entry);
        done
    });
    assert!(reached, "{name} never reached {state}: last {last:?}");
    last.expect("polled at least once")
}

/// Live processes carrying `token` whose argv is exactly `argv`.
pub fn processes_running(token: &str, argv: &str) -> Vec<i32> {
    processes_with_token(token)
        .into_iter()
        .filter(|&pid| cmdline(pid) == argv)
        .collect()
}

/// What each open fd of `pid` points to (`pipe:[123]`, a path...), sorted.
pub fn fd_targets(pid: i32) -> Vec<String> {
    let mut targets: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| fs::read_link(e.path()).ok())
                .map(|t| t.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    targets.sort();
    targets
}

/// Starts `supervice -c CONFIG -n` in a private mount namespace where `copy` is
/// bind-mounted over `target` (`/etc/passwd`, `/etc/hosts`), so a test can change what the
/// daemon sees there, by writing `copy` in place, without touching the machine's file.
/// Waits until the daemon listens. Needs root and unshare(1): `None` when the test is
/// skipped (a failure in CI).
pub fn start_with_file_over(
    test: &str,
    dir: &TestDir,
    config: &Path,
    copy: &Path,
    target: &str,
) -> Option<Daemon> {
    if !require_root(test) {
        return None;
    }
    let Some(unshare) = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        skip_or_fail(test, "unshare (util-linux) not found");
        return None;
    };
    let script = format!(
        "mount --bind {} {target} && exec {SUPERVICE} -c {} -n",
        copy.display(),
        config.display()
    );
    let daemon = Daemon::spawn_program(
        dir,
        Path::new(unshare),
        &["--mount", "--propagation", "private", "sh", "-c", &script],
    );
    expect_within(secs(10), "the daemon to start", || {
        daemon.log_text().contains("RPC Server listening on")
    });
    Some(daemon)
}

/// `supervice -c CONFIG --check --json EXTRA...`, which must succeed: its JSON document.
pub fn check_json(config: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(SUPERVICE)
        .args(["-c", &config.display().to_string(), "--check", "--json"])
        .args(extra)
        .output()
        .expect("run --check --json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}
