//! Fault injection, one fault per test: full disks, a log directory removed under a
//! running child, children that close their output, write 100 MB without a newline,
//! leave 200 grandchildren behind, are SIGSTOPped, or escape their process group. Each
//! test checks that the daemon keeps answering `status`, that its picture of the
//! instances stays true, and that nothing is lost or left behind.
//!
//! The full-disk tests mount a small tmpfs and need root; without it they say so on
//! stderr and pass. Load faults (fd exhaustion, crash storms, client floods, reload
//! storms) are in `faults_load.rs`.

mod common;
use common::*;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// A tmpfs mounted for one test, unmounted when dropped (even when the test fails).
/// Declare it after the `TestDir` and before the `Daemon`, so the daemon (which holds
/// files on it) is dropped first.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount's syntax, `256k`) at `path`; `None`, said loudly,
    /// when this is not root or the mount fails.
    fn mount(test: &str, path: PathBuf, size: &str) -> Option<Tmpfs> {
        if !require_root(test) {
            return None;
        }
        fs::create_dir_all(&path).expect("create mount point");
        let output = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path));
        if !output.status.success() {
            let why = format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            skip_or_fail(test, &why);
            return None;
        }
        Some(Tmpfs { path })
    }

    /// Writes `name` until the file system is full; returns its path.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        let mut file = fs::File::create(&path).expect("create filler");
        let block = [b'F'; 4096];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // The last partial pages too.
        while file.write(&block[..1]).is_ok_and(|n| n == 1) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = run(Command::new("umount").arg(&self.path));
        if !plain.status.success() {
            // Something still holds a file there (a process the test could not stop).
            let _ = run(Command::new("umount").arg("-l").arg(&self.path));
        }
    }
}

/// The total size of `paths` once it stops changing for `quiet`.
fn settled_size(paths: &[PathBuf], quiet: std::time::Duration) -> u64 {
    let total = || -> u64 {
        paths
            .iter()
            .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
            .sum()
    };
    let mut last = total();
    loop {
        std::thread::sleep(quiet);
        let now = total();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Starts the daemon and waits until it answers (the log says it started a moment
/// before the socket listens).
fn start(dir: &TestDir, config: &std::path::Path) -> Daemon {
    let daemon = Daemon::start(dir, config);
    expect_answering(dir, secs(10));
    daemon
}

/// The daemon's open fds, without the state file it rewrites now and then.
fn steady_fds(daemon: &Daemon) -> Vec<String> {
    let mut fds = fd_targets(daemon.pid);
    fds.retain(|t| !t.contains(".supervice-state"));
    fds
}

/// The highest `line N` number in a chatty child's log.
fn last_line_number(text: &str) -> u64 {
    text.split("line ")
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// A child printing numbered 100-byte lines, 100 a second.
const CHATTY: &str = "sh -c 'i=0; while :; do i=$((i+1)); \
    echo \"line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; \
    sleep 0.01; done'";

#[test]
fn a_full_disk_under_a_child_log_is_reported_once_and_writing_resumes() {
    let dir = TestDir::new("fault-child-disk-full");
    let Some(disk) = Tmpfs::mount(
        "a_full_disk_under_a_child_log_is_reported_once_and_writing_resumes",
        dir.join("full"),
        "256k",
    ) else {
        return;
    };
    let config = dir.config(&format!(
        "[program:chatty]\ncommand = {CHATTY}\nstartsecs = 0\n\
         stdout_logfile = {{dir}}/full/chatty.log\n"
    ));
    let daemon = start(&dir, &config);
    let log = disk.path.join("chatty.log");
    let pid = expect_state(&dir.socket(), "chatty", "RUNNING", secs(10))
        .pid
        .expect("a RUNNING instance has a pid");
    expect_within(secs(5), "the child's first lines", || {
        last_line_number(&fs::read_to_string(&log).unwrap_or_default()) > 5
    });

    let filler = disk.fill("filler");
    daemon.expect_log(secs(10), "chatty stdout: cannot write");
    // A second of failing writes (about 100 of them) is still one episode.
    std::thread::sleep(secs(1));
    assert_eq!(daemon.count_log("chatty stdout: cannot write"), 1);
    assert!(daemon.log_text().contains("No space left on device"));
    let entry = entry_of(&dir.socket(), "chatty");
    assert_eq!((entry.state.as_str(), entry.pid), ("RUNNING", Some(pid)));
    assert!(
        alive(pid),
        "the child keeps running while its output is lost"
    );
    assert_eq!(ctl(&dir, &["status"]).0, 0);
    let before = last_line_number(&fs::read_to_string(&log).unwrap_or_default());

    fs::remove_file(&filler).expect("free the space");
    daemon.expect_log(
        secs(5),
        &format!("chatty stdout: writing to {} again (", log.display()),
    );
    let resumed = daemon
        .log_text()
        .lines()
        .find(|l| l.contains("again ("))
        .map(str::to_string)
        .unwrap_or_default();
    let lost: u64 = resumed
        .rsplit_once("again (")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        lost > 1000,
        "about a second of output was dropped: {resumed}"
    );
    expect_within(
        secs(5),
        "new output in the log after the space came back",
        || last_line_number(&fs::read_to_string(&log).unwrap_or_default()) > before + 10,
    );
    assert_eq!(daemon.count_log("chatty stdout: cannot write"), 1);
    assert_eq!(entry_of(&dir.socket(), "chatty").pid, Some(pid));
    assert_eq!(ctl(&dir, &["stop", "chatty"]).0, 0);
}

#[test]
fn a_full_disk_under_the_daemon_log_is_survived_and_the_loss_is_reported() {
    let dir = TestDir::new("fault-daemon-disk-full");
    let Some(disk) = Tmpfs::mount(
        "a_full_disk_under_the_daemon_log_is_survived_and_the_loss_is_reported",
        dir.join("full"),
        "256k",
    ) else {
        return;
    };
    let config = dir.write(
        "supervice.conf",
        "[supervice]\nlogfile = {dir}/full/supervice.log\npidfile = {dir}/supervice.pid\n\
         socket = {dir}/supervice.sock\nloglevel = DEBUG\n\n\
         [program:quiet]\ncommand = sleep 3000.2\nstartsecs = 0\nautostart = false\n",
    );
    let mut daemon = Daemon::spawn(&dir, &["-c", &config.display().to_string(), "-n"]);
    daemon.log = disk.path.join("supervice.log");
    daemon.expect_log(secs(10), "Supervisor starting");
    expect_answering(&dir, secs(10));

    let filler = disk.fill("filler");
    // The log's last page may have room left: log (a DEBUG line per request) until the
    // file stops growing.
    let size = || fs::metadata(&daemon.log).map_or(0, |m| m.len());
    for _ in 0..200 {
        let before = size();
        assert_eq!(ctl(&dir, &["status"]).0, 0);
        if size() == before {
            break;
        }
    }
    // Every one of these logs (INFO for start and stop, DEBUG for each request) into a
    // full file system.
    assert_eq!(ctl(&dir, &["start", "quiet"]).0, 0);
    assert_eq!(entry_of(&dir.socket(), "quiet").state, "RUNNING");
    assert_eq!(ctl(&dir, &["stop", "quiet"]).0, 0);
    for _ in 0..3 {
        assert_eq!(ctl(&dir, &["status"]).0, 0);
    }
    assert!(alive(daemon.pid));
    assert!(!daemon.log_text().contains("Stopping quiet"));

    fs::remove_file(&filler).expect("free the space");
    assert_eq!(ctl(&dir, &["status"]).0, 0);
    daemon.expect_log(secs(5), "could not be written before this one");
    let text = daemon.log_text();
    let notice = text
        .lines()
        .find(|l| l.contains("could not be written before this one"))
        .unwrap_or_default();
    // A record cut short by the full disk may precede the notice on its line.
    let lost: u64 = notice
        .rsplit_once(" log record(s) could not")
        .and_then(|(before, _)| before.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(lost >= 6, "start, stop and 4 requests were lost: {notice}");
    assert_eq!(daemon.stop(), Some(0));
    assert!(daemon.log_text().contains("Shutdown complete"));
}

#[test]
fn a_log_directory_removed_under_a_running_child() {
    let dir = TestDir::new("fault-logdir-removed");
    fs::create_dir(dir.join("logs")).unwrap();
    let config = dir.config(
        "[program:logged]\ncommand = sh -c 'while :; do echo tick; sleep 0.1; done'\n\
         startsecs = 0\nstartretries = 1\nstdout_logfile = {dir}/logs/out.log\n",
    );
    let daemon = start(&dir, &config);
    let pid = expect_state(&dir.socket(), "logged", "RUNNING", secs(10)).pid;
    expect_within(secs(5), "output in the log", || {
        dir.read("logs/out.log").contains("tick")
    });

    fs::remove_dir_all(dir.join("logs")).unwrap();
    // The open file lives on, unlinked: writes succeed, nothing to report, nobody killed.
    std::thread::sleep(secs(1));
    let entry = entry_of(&dir.socket(), "logged");
    assert_eq!((entry.state.as_str(), entry.pid), ("RUNNING", pid));
    assert!(alive(pid.unwrap()));
    assert!(!daemon.log_text().contains("cannot write"));

    // A new run cannot open its log: transient, so BACKOFF, then FATAL past startretries.
    let (code, out, _) = ctl(&dir, &["restart", "logged"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("FATAL"), "{out}");
    assert!(!alive(pid.unwrap()));
    assert_eq!(entry_of(&dir.socket(), "logged").state, "FATAL");
    assert_eq!(daemon.count_log("Failed to spawn logged (will retry)"), 2);
    assert!(daemon.log_text().contains(&format!(
        "cannot open log file {}",
        dir.join("logs/out.log").display()
    )));
    assert!(daemon.log_text().contains("Backoff logged: waiting 1s"));

    fs::create_dir(dir.join("logs")).unwrap();
    let (code, out, _) = ctl(&dir, &["start", "logged"]);
    assert_eq!((code, out.trim()), (0, "Started logged"));
    expect_within(secs(5), "output in the recreated log", || {
        dir.read("logs/out.log").contains("tick")
    });
}

#[test]
fn a_child_that_closes_its_output_costs_no_cpu_and_stays_running() {
    let dir = TestDir::new("fault-closed-stdout");
    let config = dir.config(
        "[program:closer]\ncommand = sh -c 'exec >&- 2>&-; exec sleep 3000.3'\n\
         startsecs = 0\nautostart = false\nstdout_logfile = {dir}/out.log\n\
         stderr_logfile = {dir}/err.log\n",
    );
    let daemon = start(&dir, &config);
    let fds = steady_fds(&daemon);
    assert_eq!(ctl(&dir, &["start", "closer"]).0, 0);
    let pid = entry_of(&dir.socket(), "closer").pid;
    expect_within(secs(5), "the shell to exec sleep", || {
        pid.is_some_and(|p| cmdline(p) == "sleep 3000.3")
    });

    let share = cpu_share_during(daemon.pid, || std::thread::sleep(secs(2)));
    assert!(share < 0.05, "daemon used {:.1}% of a core", share * 100.0);
    let entry = entry_of(&dir.socket(), "closer");
    assert_eq!((entry.state.as_str(), entry.pid), ("RUNNING", pid));
    // Both pipes reached EOF and were closed: the daemon holds nothing for this child.
    // (The first sample may hold a control connection still closing: compare by what is
    // new, not by equality.)
    let back = wait_for(secs(2), || {
        steady_fds(&daemon).iter().all(|fd| fds.contains(fd))
    });
    assert!(back, "fds before: {fds:?}, now: {:?}", steady_fds(&daemon));
}

#[test]
fn a_hundred_megabytes_without_a_newline_arrive_whole_across_rotations() {
    const TOTAL: u64 = 104_857_600;
    const MAXBYTES: u64 = 10_485_760;
    let dir = TestDir::new("fault-100mb");
    let config = dir.config(&format!(
        "[program:flood]\n\
         command = sh -c 'yes abcdefghi | tr -d \"\\n\" | head -c {TOTAL}; exec sleep 3000.5'\n\
         startsecs = 0\nstdout_logfile = {{dir}}/flood.log\n\
         stdout_logfile_maxbytes = {MAXBYTES}\nstdout_logfile_backups = 20\n"
    ));
    let daemon = start(&dir, &config);
    let live = dir.join("flood.log");
    let files: Vec<PathBuf> = (1..=20)
        .rev()
        .map(|n| dir.join(&format!("flood.log.{n}")))
        .chain([live.clone()])
        .collect();
    expect_within(secs(60), "the shell to finish writing", || {
        children_of(daemon.pid)
            .into_iter()
            .any(|c| cmdline(c) == "sleep 3000.5")
    });
    let total = settled_size(&files, std::time::Duration::from_millis(300));
    assert_eq!(total, TOTAL, "every byte reached the log files");

    // Ten files of exactly maxbytes (the live one is rotated at the next write), oldest
    // first, whose concatenation is the stream.
    let present: Vec<&PathBuf> = files.iter().filter(|p| p.exists()).collect();
    assert_eq!(present.len(), 10, "{present:?}");
    let pattern = b"abcdefghi".repeat(1 + MAXBYTES as usize / 9 + 1);
    let mut offset = 0usize;
    for path in present {
        let data = fs::read(path).unwrap();
        assert_eq!(data.len() as u64, MAXBYTES, "{}", path.display());
        let phase = offset % 9;
        assert!(
            data[..] == pattern[phase..phase + data.len()],
            "{} does not continue the stream at byte {offset}",
            path.display()
        );
        offset += data.len();
    }
    assert!(
        !daemon.log_text().contains("cannot"),
        "no write or rotation error"
    );
    assert_eq!(entry_of(&dir.socket(), "flood").state, "RUNNING");
}

/// The processes carrying `daemon`'s token whose argv is `argv`.
fn count(daemon: &Daemon, argv: &str) -> usize {
    processes_running(&daemon.token, argv).len()
}

/// `[program:NAME]` whose shell leaves 200 `sleep TAG` in its group and exits.
fn forker(name: &str, tag: &str) -> String {
    format!(
        "[program:{name}]\n\
         command = sh -c 'for i in $(seq 200); do sleep {tag} & done; exit 0'\n\
         startsecs = 0\nautorestart = false\n"
    )
}

/// Starts `forker(name, tag)` and waits for its 200 orphans, now the daemon's children.
fn start_forker(dir: &TestDir, name: &str, tag: &str) -> Daemon {
    let daemon = start(dir, &dir.config(&forker(name, tag)));
    let argv = format!("sleep {tag}");
    expect_within(secs(20), "200 grandchildren", || {
        count(&daemon, &argv) == 200
    });
    expect_state(&dir.socket(), name, "EXITED", secs(10));
    daemon.expect_log(secs(5), &format!("{name}: processes of its process group"));
    assert!(daemon
        .log_text()
        .contains("outlived the main process; they are stopped with the program"));
    // The daemon, their subreaper, is their parent now.
    let some = processes_running(&daemon.token, &argv)[0];
    assert_eq!(ppid_of(some), Some(daemon.pid));
    daemon
}

#[test]
fn two_hundred_grandchildren_outliving_their_parent_are_stopped_with_the_program() {
    let dir = TestDir::new("fault-200-stop");
    let daemon = start_forker(&dir, "forker", "3000.61");
    let started = Instant::now();
    ctl(&dir, &["stop", "forker"]);
    expect_within(secs(5), "the lingering group to be gone", || {
        count(&daemon, "sleep 3000.61") == 0
    });
    assert!(started.elapsed() < secs(3), "took {:?}", started.elapsed());
    expect_within(secs(5), "every grandchild reaped", || {
        zombie_children(daemon.pid).is_empty()
    });
    assert_eq!(entry_of(&dir.socket(), "forker").state, "EXITED");
}

#[test]
fn two_hundred_grandchildren_outliving_their_parent_are_stopped_at_shutdown() {
    let dir = TestDir::new("fault-200-shutdown");
    let mut daemon = start_forker(&dir, "forker", "3000.62");
    assert_eq!(daemon.stop(), Some(0));
    assert_eq!(count(&daemon, "sleep 3000.62"), 0);
    // They were stopped with the program: none of them escaped anything.
    let named = daemon.count_log("left its program's process group");
    assert_eq!(named, 0, "{}", daemon.log_text());
}

#[test]
fn a_sigstopped_child_stays_running_and_stops_promptly() {
    let dir = TestDir::new("fault-sigstop");
    let config =
        dir.config("[program:frozen]\ncommand = sleep 3000.7\nstartsecs = 0\nstopwaitsecs = 30\n");
    let daemon = start(&dir, &config);
    let pid = expect_state(&dir.socket(), "frozen", "RUNNING", secs(10))
        .pid
        .unwrap();
    let state_letter = |pid: i32| {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ")?.1.chars().next())
    };

    kill(pid, libc::SIGSTOP);
    expect_within(secs(2), "the child to be stopped", || {
        state_letter(pid) == Some('T')
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let entry = entry_of(&dir.socket(), "frozen");
    assert_eq!((entry.state.as_str(), entry.pid), ("RUNNING", Some(pid)));
    kill(pid, libc::SIGCONT);
    expect_within(secs(2), "the child to run again", || {
        state_letter(pid) == Some('S')
    });
    assert_eq!(entry_of(&dir.socket(), "frozen").pid, Some(pid));

    kill(pid, libc::SIGSTOP);
    expect_within(secs(2), "the child to be stopped", || {
        state_letter(pid) == Some('T')
    });
    let started = Instant::now();
    let (code, out, _) = ctl(&dir, &["stop", "frozen"]);
    assert_eq!((code, out.trim()), (0, "Stopped frozen"));
    assert!(
        started.elapsed() < secs(3),
        "stop of a stopped child took {:?} (stopwaitsecs is 30)",
        started.elapsed()
    );
    assert!(!alive(pid));
    assert!(!daemon.log_text().contains("did not stop, killing"));
}

#[test]
fn a_process_that_left_the_group_survives_shutdown_and_is_named() {
    let dir = TestDir::new("fault-escaped");
    let config = dir.config(
        "[program:escaper]\ncommand = sh -c 'setsid sleep 3000.91 & exec sleep 3000.92'\n\
         startsecs = 0\n",
    );
    let mut daemon = start(&dir, &config);
    let mut escaped = Vec::new();
    expect_within(secs(10), "the escaped process", || {
        escaped = processes_running(&daemon.token, "sleep 3000.91");
        escaped.len() == 1 && count(&daemon, "sleep 3000.92") == 1
    });
    let escaped = escaped[0];
    let main = entry_of(&dir.socket(), "escaper").pid.unwrap();
    assert_ne!(
        stat_field(escaped, 3),
        stat_field(main, 3),
        "a session of its own"
    );

    assert_eq!(daemon.stop(), Some(0));
    assert!(!alive(main));
    // Documented limitation: stop signals go to the program's process group only.
    assert!(alive(escaped), "the escaped process outlives the daemon");
    let named = format!("process {escaped} (sleep 3000.91) left its program's process group");
    assert!(daemon.log_text().contains(&named), "{}", daemon.log_text());
    kill(escaped, libc::SIGKILL);
    expect_within(secs(5), "the escaped process to be gone", || {
        !alive(escaped)
    });
}
