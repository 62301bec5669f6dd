//! Crash safety end to end: SIGKILL a running daemon, start it again, and look at which
//! processes are left (SPEC 4.7, 8, 9.4 #2 and #8-#11, the harnesses of 11.10 and 11.11).
//!
//! Every child here is silent (no output, no log file): a child writing to a pipe whose
//! reader died gets SIGPIPE and dies whether or not pdeathsig works (SPEC 4.8). Processes
//! are found by their exact argv (a `sleep` duration unique to each test) among the
//! processes that carry a daemon's test token, so a concurrent run of the same test cannot
//! be mistaken for ours. Every process a test starts is killed by its recorded pid.

mod common;
use common::*;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A program whose child (`sleep <tag>.2`, which the shell execs, so it keeps the shell's
/// pid and leads its own group and session) has a grandchild `sleep <tag>.1` in the same
/// process group. pdeathsig covers only the child; the grandchild outlives any crash.
fn family_command(tag: u32) -> String {
    format!("sh -c 'sleep {tag}.1 & exec sleep {tag}.2'")
}

fn child_argv(tag: u32) -> String {
    format!("sleep {tag}.2")
}

fn grandchild_argv(tag: u32) -> String {
    format!("sleep {tag}.1")
}

/// `[program:NAME]` running `family_command(tag)`, plus `extra` keys.
fn family_program(name: &str, tag: u32, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand = {}\nstartsecs = 0\n{extra}\n",
        family_command(tag)
    )
}

/// The pids of one running copy of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Family {
    child: i32,
    grandchild: i32,
}

impl Family {
    /// SIGKILLs both recorded pids (cleanup of orphans a test left running on purpose).
    fn kill(&self) {
        kill(self.child, libc::SIGKILL);
        kill(self.grandchild, libc::SIGKILL);
    }
}

/// The family `tag` that `daemon` itself runs, once the shell has exec'd and forked.
fn family_of(daemon: &Daemon, tag: u32) -> Option<Family> {
    let child = children_of(daemon.pid)
        .into_iter()
        .find(|&c| cmdline(c) == child_argv(tag))?;
    let grandchild = children_of(child)
        .into_iter()
        .find(|&g| cmdline(g) == grandchild_argv(tag))?;
    Some(Family { child, grandchild })
}

/// Waits until `daemon` runs the whole family `tag`.
fn expect_family(daemon: &Daemon, tag: u32) -> Family {
    let mut found = None;
    let ok = wait_for(secs(10), || {
        found = family_of(daemon, tag);
        found.is_some()
    });
    assert!(
        ok,
        "daemon {} never ran family {tag}; log:\n{}",
        daemon.pid,
        daemon.log_text()
    );
    found.unwrap()
}

/// Live processes started under any of `daemons` whose argv is exactly `argv`.
fn running(daemons: &[&Daemon], argv: &str) -> Vec<i32> {
    let mut found: Vec<i32> = daemons
        .iter()
        .flat_map(|d| processes_with_token(&d.token))
        .filter(|&pid| cmdline(pid) == argv)
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The state file of a daemon configured with `TestDir::config` (pidfile `supervice.pid`).
fn default_state_path(dir: &TestDir) -> PathBuf {
    dir.join(".supervice.state.json")
}

/// Waits until the state file at `path` lists `pid`; returns its text.
fn expect_recorded(path: &Path, pid: i32) -> String {
    let needle = format!("\"pid\": {pid},");
    let mut text = String::new();
    let ok = wait_for(secs(10), || {
        text = fs::read_to_string(path).unwrap_or_default();
        text.contains(&needle)
    });
    assert!(
        ok,
        "state file {} never listed pid {pid}: {text:?}",
        path.display()
    );
    text
}

/// SIGKILLs `daemon` and reaps it. Returns the length of the shared log file at that
/// point, so the next daemon's lines can be told from this one's.
fn crash(dir: &TestDir, daemon: &mut Daemon) -> usize {
    daemon.signal(libc::SIGKILL);
    assert_eq!(daemon.wait_exit(secs(10)), Some(-1), "killed by a signal");
    fs::read(dir.join("supervice.log")).map_or(0, |b| b.len())
}

/// Starts the daemon again on the same directory (config, pidfile, socket, state file).
/// `Daemon::start` cannot tell its "Supervisor starting" from the crashed one's, so the
/// caller waits for the new daemon's spawns instead.
fn restart(dir: &TestDir, config: &Path) -> Daemon {
    Daemon::spawn(dir, &["-c", &config.display().to_string(), "-n"])
}

/// What the log file gained after byte `offset`.
fn log_after(dir: &TestDir, offset: usize) -> String {
    let bytes = fs::read(dir.join("supervice.log")).unwrap_or_default();
    String::from_utf8_lossy(bytes.get(offset..).unwrap_or_default()).into_owned()
}

/// A live process unrelated to any daemon, in a process group of its own, that a crafted
/// state file points at. Killed and reaped when dropped.
struct Decoy {
    child: Child,
    pid: i32,
}

impl Decoy {
    fn start(duration: &str) -> Decoy {
        let child = Command::new("sleep")
            .arg(duration)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the decoy");
        let pid = child.id() as i32;
        expect_within(secs(5), "the decoy to exec", || {
            cmdline(pid) == format!("sleep {duration}")
        });
        Decoy { child, pid }
    }

    /// Its identity token as the daemon computes it: `starttime:<field 22> pgid:<field 5>`
    /// of /proc/<pid>/stat, counting fields after the last `)`.
    fn token(&self) -> String {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("decoy stat");
        let (_, rest) = stat.rsplit_once(')').expect("stat has a command name");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        format!("starttime:{} pgid:{}", fields[19], fields[2])
    }

    /// Whether it still runs (a zombie awaiting our wait() does not count).
    fn alive(&self) -> bool {
        alive(self.pid)
    }
}

impl Drop for Decoy {
    fn drop(&mut self) {
        kill(self.pid, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A state file in Supervice's format holding one record.
fn state_json(name: &str, pid: i32, token: &str, reconcile: &str) -> String {
    format!(
        "{{\"version\": 1, \"children\": [{{\"name\": \"{name}\", \"pid\": {pid}, \
         \"pgid\": {pid}, \"token\": \"{token}\", \"pdeathsig\": false, \
         \"reconcile\": \"{reconcile}\"}}]}}"
    )
}

/// A config with an explicit `state_file = {dir}/state.json` and one silent program
/// `idle` running `sleep <idle>`.
fn decoy_config(dir: &TestDir, idle: &str) -> PathBuf {
    dir.config(&format!(
        "state_file = {{dir}}/state.json\n\n[program:idle]\ncommand = sleep {idle}\n"
    ))
}

/// Starts a daemon with `decoy_config` and waits until it runs `idle`, which it spawns
/// only after reconciliation.
fn start_past_reconcile(dir: &TestDir, config: &Path, idle: &str) -> (Daemon, i32) {
    let daemon = Daemon::start(dir, config);
    // The daemon execs the resolved path: `/usr/bin/sleep <idle>`.
    let argv = format!("sleep {idle}");
    let mut pid = None;
    let ok = wait_for(secs(10), || {
        pid = children_of(daemon.pid)
            .into_iter()
            .find(|&c| cmdline(c).ends_with(&argv));
        pid.is_some()
    });
    assert!(ok, "idle never ran; log:\n{}", daemon.log_text());
    (daemon, pid.unwrap())
}

// The pdeathsig harness (SPEC 11.11 orphan_harness arm A) and what reconciliation adds.

#[test]
fn pdeathsig_kills_the_child_and_reconcile_kills_the_surviving_group() {
    let dir = TestDir::new("crash-pdeathsig");
    let tag = 9101;
    let config = dir.config(&family_program(
        "fam",
        tag,
        "pdeathsig = true\nreconcile = auto",
    ));
    let mut first = Daemon::start(&dir, &config);
    let old = expect_family(&first, tag);
    let recorded = expect_recorded(&default_state_path(&dir), old.child);
    assert!(recorded.contains("\"pdeathsig\": true"), "{recorded}");

    let offset = crash(&dir, &mut first);
    expect_within(secs(2), "pdeathsig to kill the direct child", || {
        !alive(old.child)
    });
    // One generation only: the grandchild outlives the crash, still in the child's group.
    assert!(alive(old.grandchild), "the grandchild should survive");
    assert_eq!(stat_field(old.grandchild, 2), Some(old.child));

    let second = restart(&dir, &config);
    let new = expect_family(&second, tag);
    let log = log_after(&dir, offset);
    let killed = format!(
        "Program 'fam': killed orphaned process group {0} (pid {0}) - orphan of a previous \
         supervisor (pdeathsig was requested)",
        old.child
    );
    assert!(log.contains(&killed), "want {killed:?} in:\n{log}");
    assert!(
        log.contains("Reconciled 1 orphaned process group(s)"),
        "{log}"
    );
    expect_within(secs(2), "the orphaned grandchild to die", || {
        !alive(old.grandchild)
    });

    assert_ne!(new.child, old.child);
    assert_ne!(new.grandchild, old.grandchild);
    assert_eq!(running(&[&first, &second], &child_argv(tag)), [new.child]);
    assert_eq!(
        running(&[&first, &second], &grandchild_argv(tag)),
        [new.grandchild]
    );
}

// The reconcile harness (SPEC 11.11 reconcile_harness): R2, R3, R1.

#[test]
fn reconcile_kill_kills_the_surviving_group_at_the_next_start() {
    let dir = TestDir::new("crash-kill");
    let tag = 9102;
    let config = dir.config(&family_program(
        "k",
        tag,
        "pdeathsig = false\nreconcile = kill",
    ));
    let mut first = Daemon::start(&dir, &config);
    let old = expect_family(&first, tag);
    expect_recorded(&default_state_path(&dir), old.child);

    let offset = crash(&dir, &mut first);
    // Without pdeathsig the whole family survives the crash.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(alive(old.child) && alive(old.grandchild), "both survive");

    let second = restart(&dir, &config);
    let new = expect_family(&second, tag);
    let log = log_after(&dir, offset);
    let killed = format!(
        "Program 'k': killed orphaned process group {0} (pid {0}) - reconcile=kill for this \
         program",
        old.child
    );
    assert!(log.contains(&killed), "want {killed:?} in:\n{log}");
    assert!(
        log.contains("Reconciled 1 orphaned process group(s)"),
        "{log}"
    );
    expect_within(secs(2), "the orphaned group to die", || {
        !alive(old.child) && !alive(old.grandchild)
    });
    assert_eq!(running(&[&first, &second], &child_argv(tag)), [new.child]);
    assert_eq!(
        running(&[&first, &second], &grandchild_argv(tag)),
        [new.grandchild]
    );
}

#[test]
fn reconcile_auto_without_pdeathsig_warns_and_leaves_the_orphan() {
    let dir = TestDir::new("crash-auto-nopdeath");
    let tag = 9103;
    let config = dir.config(&family_program(
        "a",
        tag,
        "pdeathsig = false\nreconcile = auto",
    ));
    let mut first = Daemon::start(&dir, &config);
    let old = expect_family(&first, tag);
    expect_recorded(&default_state_path(&dir), old.child);

    let offset = crash(&dir, &mut first);
    let second = restart(&dir, &config);
    let new = expect_family(&second, tag);
    let log = log_after(&dir, offset);
    let warning = format!(
        "Program 'a': pid {} is still running - orphan of a previous supervisor; \
         pdeathsig=false so it is left running -- starting this program will create duplicates",
        old.child
    );
    assert!(log.contains(&warning), "want {warning:?} in:\n{log}");
    assert!(!log.contains("killed orphaned"), "{log}");
    assert!(!log.contains("Reconciled"), "{log}");

    // The control arm: two copies of everything.
    assert!(
        alive(old.child) && alive(old.grandchild),
        "the orphan is left"
    );
    assert_eq!(
        running(&[&first, &second], &child_argv(tag)),
        sorted([old.child, new.child])
    );
    assert_eq!(
        running(&[&first, &second], &grandchild_argv(tag)),
        sorted([old.grandchild, new.grandchild])
    );
    old.kill();
}

#[test]
fn reconcile_warn_and_off_leave_the_orphans_running() {
    let dir = TestDir::new("crash-warn-off");
    let (warned, silent) = (9104, 9114);
    let config = dir.config(&format!(
        "{}\n{}",
        family_program("w", warned, "pdeathsig = false\nreconcile = warn"),
        family_program("o", silent, "pdeathsig = false\nreconcile = off"),
    ));
    let mut first = Daemon::start(&dir, &config);
    let old_w = expect_family(&first, warned);
    let old_o = expect_family(&first, silent);
    expect_recorded(&default_state_path(&dir), old_w.child);
    expect_recorded(&default_state_path(&dir), old_o.child);

    let offset = crash(&dir, &mut first);
    let second = restart(&dir, &config);
    let new_w = expect_family(&second, warned);
    let new_o = expect_family(&second, silent);
    let log = log_after(&dir, offset);
    let warning = format!(
        "Program 'w': pid {} is still running - reconcile=warn for this program",
        old_w.child
    );
    assert!(log.contains(&warning), "want {warning:?} in:\n{log}");
    assert!(
        !log.contains("Program 'o'"),
        "reconcile=off is silent:\n{log}"
    );
    assert!(!log.contains("killed orphaned"), "{log}");

    for (tag, old, new) in [(warned, old_w, new_w), (silent, old_o, new_o)] {
        assert!(alive(old.child) && alive(old.grandchild), "{tag} is left");
        assert_eq!(
            running(&[&first, &second], &child_argv(tag)),
            sorted([old.child, new.child])
        );
        assert_eq!(
            running(&[&first, &second], &grandchild_argv(tag)),
            sorted([old.grandchild, new.grandchild])
        );
    }
    old_w.kill();
    old_o.kill();
}

/// SPEC 9.4 #9: for a program that still exists, the current config's policy decides,
/// not the one recorded before the crash; in both directions.
#[test]
fn the_current_config_policy_wins_over_the_recorded_one() {
    let dir = TestDir::new("crash-policy");
    let (spared, killed) = (9105, 9115);
    let before = format!(
        "{}\n{}",
        family_program("p", spared, "pdeathsig = false\nreconcile = kill"),
        family_program("q", killed, "pdeathsig = false\nreconcile = off"),
    );
    let config = dir.config(&before);
    let mut first = Daemon::start(&dir, &config);
    let old_p = expect_family(&first, spared);
    let old_q = expect_family(&first, killed);
    expect_recorded(&default_state_path(&dir), old_p.child);
    let recorded = expect_recorded(&default_state_path(&dir), old_q.child);
    assert!(recorded.contains("\"reconcile\": \"kill\""), "{recorded}");
    assert!(recorded.contains("\"reconcile\": \"off\""), "{recorded}");

    let offset = crash(&dir, &mut first);
    let after = before
        .replace("reconcile = kill", "reconcile = KEEP")
        .replace("reconcile = off", "reconcile = kill")
        .replace("reconcile = KEEP", "reconcile = off");
    dir.config(&after);
    let second = restart(&dir, &config);
    let new_p = expect_family(&second, spared);
    let new_q = expect_family(&second, killed);
    let log = log_after(&dir, offset);

    assert!(!log.contains("Program 'p'"), "p is now off:\n{log}");
    assert!(alive(old_p.child) && alive(old_p.grandchild), "p is spared");
    assert_eq!(
        running(&[&first, &second], &child_argv(spared)),
        sorted([old_p.child, new_p.child])
    );

    let line = format!(
        "Program 'q': killed orphaned process group {0} (pid {0}) - reconcile=kill for this \
         program",
        old_q.child
    );
    assert!(log.contains(&line), "want {line:?} in:\n{log}");
    expect_within(secs(2), "q's orphaned group to die", || {
        !alive(old_q.child) && !alive(old_q.grandchild)
    });
    assert_eq!(
        running(&[&first, &second], &child_argv(killed)),
        [new_q.child]
    );
    old_p.kill();
}

fn sorted<const N: usize>(mut pids: [i32; N]) -> [i32; N] {
    pids.sort_unstable();
    pids
}

// Crafted state files against a live decoy (SPEC 11.10 TestRefusal, TestStateStore).

#[test]
fn a_recycled_pid_is_never_touched() {
    let dir = TestDir::new("crash-recycled");
    let decoy = Decoy::start("9106.77");
    let wrong = format!("starttime:1 pgid:{}", decoy.pid);
    assert_ne!(wrong, decoy.token());
    dir.write(
        "state.json",
        &state_json("decoy", decoy.pid, &wrong, "kill"),
    );
    let config = decoy_config(&dir, "9106.5");
    let (daemon, _) = start_past_reconcile(&dir, &config, "9106.5");

    let line = format!(
        "Program 'decoy': pid {} is alive but is NOT ours (start token differs; pid was \
         recycled) - not touching it",
        decoy.pid
    );
    daemon.expect_log(secs(1), &line);
    assert!(!daemon.log_text().contains("killed orphaned"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(decoy.alive(), "the decoy must survive");
}

#[test]
fn a_matching_token_is_what_gets_a_process_killed() {
    let dir = TestDir::new("crash-token");
    let decoy = Decoy::start("9107.77");
    dir.write(
        "state.json",
        &state_json("decoy", decoy.pid, &decoy.token(), "kill"),
    );
    let config = decoy_config(&dir, "9107.5");
    let (daemon, _) = start_past_reconcile(&dir, &config, "9107.5");

    let line = format!(
        "Program 'decoy': killed orphaned process group {0} (pid {0}) - reconcile=kill for this \
         program",
        decoy.pid
    );
    daemon.expect_log(secs(1), &line);
    expect_within(secs(2), "the decoy to be killed", || !decoy.alive());
}

#[test]
fn a_corrupt_state_file_is_logged_and_ignored() {
    let dir = TestDir::new("crash-corrupt");
    let decoy = Decoy::start("9108.77");
    dir.write("state.json", "{garbage");
    let config = decoy_config(&dir, "9108.5");
    let (mut daemon, idle) = start_past_reconcile(&dir, &config, "9108.5");

    daemon.expect_log(secs(1), "state.json is corrupt and was ignored");
    assert!(!daemon.log_text().contains("killed orphaned"));
    assert!(decoy.alive() && alive(idle));
    // The daemon then records its own child over the garbage.
    expect_recorded(&dir.join("state.json"), idle);
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn a_state_file_of_another_version_is_logged_and_ignored() {
    let dir = TestDir::new("crash-version");
    let decoy = Decoy::start("9118.77");
    // A record that would get the decoy killed, were the file read.
    let text = state_json("decoy", decoy.pid, &decoy.token(), "kill")
        .replace("\"version\": 1", "\"version\": 2");
    dir.write("state.json", &text);
    let config = decoy_config(&dir, "9118.5");
    let (daemon, idle) = start_past_reconcile(&dir, &config, "9118.5");

    daemon.expect_log(secs(1), "state.json is corrupt and was ignored");
    assert!(!daemon.log_text().contains("killed orphaned"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(decoy.alive() && alive(idle));
}

/// A state file written in another boot names pids of processes that no longer exist.
#[test]
fn a_state_file_from_before_the_last_reboot_is_ignored() {
    let dir = TestDir::new("crash-reboot");
    let decoy = Decoy::start("9117.77");
    let text = state_json("decoy", decoy.pid, &decoy.token(), "kill").replace(
        "\"version\": 1,",
        "\"version\": 1, \"boot_id\": \"00000000-0000-0000-0000-000000000000\",",
    );
    dir.write("state.json", &text);
    let config = decoy_config(&dir, "9117.5");
    let (daemon, _) = start_past_reconcile(&dir, &config, "9117.5");

    daemon.expect_log(secs(1), "state.json: written before the last reboot");
    assert!(!daemon.log_text().contains("killed orphaned"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(decoy.alive());
}

#[test]
fn one_malformed_record_does_not_disarm_the_others() {
    let dir = TestDir::new("crash-bad-record");
    let decoy = Decoy::start("9113.77");
    let good = state_json("decoy", decoy.pid, &decoy.token(), "kill");
    let text = good.replace(
        "\"children\": [",
        "\"children\": [{\"name\": \"broken\", \"pid\": \"not a number\"}, ",
    );
    dir.write("state.json", &text);
    let config = decoy_config(&dir, "9113.5");
    let (daemon, _) = start_past_reconcile(&dir, &config, "9113.5");

    daemon.expect_log(secs(1), "record 0 is malformed and skipped");
    daemon.expect_log(
        secs(1),
        &format!(
            "Program 'decoy': killed orphaned process group {}",
            decoy.pid
        ),
    );
    expect_within(secs(2), "the decoy to be killed", || !decoy.alive());
}

// The state file itself.

/// SPEC 9.4 #2: a second instance that fails on the pidfile lock leaves the live
/// instance's state file, pidfile and socket alone.
#[test]
fn a_failed_second_instance_leaves_the_state_file_intact() {
    let dir = TestDir::new("crash-second");
    let config = dir.config("[program:one]\ncommand = sleep 9109.5\n");
    let live = Daemon::start(&dir, &config);
    live.expect_log(secs(10), "Started one (pid");
    let child = live.child_running("sleep 9109.5").expect("the child");
    let state = default_state_path(&dir);
    expect_recorded(&state, child);
    let before = fs::read(&state).expect("state file");
    let pidfile = fs::read(dir.join("supervice.pid")).expect("pidfile");

    let mut second = restart(&dir, &config);
    assert_eq!(second.wait_exit(secs(10)), Some(1));
    let said = format!("{}{}", second.log_text(), second.stderr_text());
    assert!(
        said.contains("Another supervice instance is already running"),
        "{said}"
    );

    assert_eq!(
        String::from_utf8_lossy(&fs::read(&state).expect("state file")),
        String::from_utf8_lossy(&before),
        "the state file changed"
    );
    assert_eq!(fs::read(dir.join("supervice.pid")).ok(), Some(pidfile));
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0, "the live daemon still answers");
    assert!(out.contains("RUNNING"), "{out}");
    assert!(alive(child));
}

/// SPEC 9.4 #8: without a pidfile the state file is derived from the socket, so two
/// pidfile-less daemons started in the same directory do not share it.
#[test]
fn without_a_pidfile_the_state_file_lives_beside_the_socket() {
    let dir = TestDir::new("crash-nopidfile");
    fs::create_dir(dir.join("run")).expect("mkdir run");
    let config = dir.write(
        "supervice.conf",
        "[supervice]\nlogfile = {dir}/supervice.log\npidfile = none\n\
         socket = {dir}/run/s.sock\nloglevel = DEBUG\n\n\
         [program:one]\ncommand = sleep 9110.5\n",
    );
    let mut daemon = Daemon::start(&dir, &config);
    let mut child = None;
    expect_within(secs(10), "the child", || {
        child = daemon.child_running("sleep 9110.5");
        child.is_some()
    });
    expect_recorded(&dir.join("run/.s.state.json"), child.unwrap());
    // The daemon's cwd is the test dir: nothing may land there.
    assert!(!dir.join(".supervice.state.json").exists());
    assert!(!dir.join("run/.supervice.state.json").exists());

    // No pidfile lock here: the live socket is what turns a second instance away, and it
    // must not touch the state file on its way out either.
    let before = fs::read(dir.join("run/.s.state.json")).expect("state file");
    let mut second = restart(&dir, &config);
    assert_eq!(second.wait_exit(secs(10)), Some(1), "{}", second.log_text());
    assert_eq!(
        String::from_utf8_lossy(&fs::read(dir.join("run/.s.state.json")).unwrap()),
        String::from_utf8_lossy(&before),
        "the state file changed"
    );
    let (code, _, _) = ctl_with(
        Path::new(SUPERVICECTL),
        &dir.join("run/s.sock"),
        &["status"],
    );
    assert_eq!(code, 0, "the live daemon still answers");
    assert_eq!(daemon.stop(), Some(0));
}

/// SPEC 9.4 #11: a state file that cannot be written is logged once, not per write, and
/// its recovery is logged too.
#[test]
fn a_state_file_that_cannot_be_written_is_reported() {
    let dir = TestDir::new("crash-unwritable");
    let config = dir.config(
        "state_file = {dir}/missing/state.json\n\n\
         [program:one]\ncommand = sleep 9116.5\nstartsecs = 0\n",
    );
    let daemon = Daemon::start(&dir, &config);
    daemon.expect_log(secs(10), "Started one (pid");
    daemon.expect_log(
        secs(5),
        "missing/state.json: No such file or directory (os error 2); orphans of this daemon \
         cannot be reconciled after a crash",
    );
    let (code, _, _) = ctl(&dir, &["stop", "one"]);
    assert_eq!(code, 0);
    let (code, _, _) = ctl(&dir, &["start", "one"]);
    assert_eq!(code, 0);
    assert_eq!(daemon.count_log("cannot write state file"), 1);

    fs::create_dir(dir.join("missing")).expect("mkdir missing");
    let (code, _, _) = ctl(&dir, &["stop", "one"]);
    assert_eq!(code, 0);
    daemon.expect_log(secs(5), "missing/state.json is written again");
    let text = fs::read_to_string(dir.join("missing/state.json")).expect("state file");
    assert!(text.contains("\"children\": []"), "{text}");
}

#[test]
fn the_state_file_is_private_atomic_and_empty_after_a_clean_stop() {
    let dir = TestDir::new("crash-file");
    let config = dir.config("[program:one]\ncommand = sleep 9111.5\n");
    let mut daemon = Daemon::start(&dir, &config);
    let mut child = None;
    expect_within(secs(10), "the child", || {
        child = daemon.child_running("sleep 9111.5");
        child.is_some()
    });
    let child = child.unwrap();
    let state = default_state_path(&dir);
    let text = expect_recorded(&state, child);
    let token = fs::read_to_string(format!("/proc/{child}/stat")).expect("child stat");
    let starttime = token.rsplit_once(')').unwrap().1.split_whitespace().nth(19);
    let want = format!(
        "{{\"name\": \"one\", \"pid\": {child}, \"pgid\": {child}, \"token\": \
         \"starttime:{} pgid:{child}\", \"pdeathsig\": true, \"reconcile\": \"auto\"}}",
        starttime.unwrap()
    );
    assert!(text.contains(&want), "want {want} in {text}");

    let no_temp_files = || {
        let names: Vec<String> = fs::read_dir(&dir.path)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with(".supervice-state-")),
            "temp file left: {names:?}"
        );
    };
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    no_temp_files();

    assert_eq!(daemon.stop(), Some(0));
    let text = fs::read_to_string(&state).expect("state file");
    assert!(text.contains("\"children\": []"), "{text}");
    assert!(text.starts_with("{\"version\": 1"), "{text}");
    let meta = fs::metadata(&state).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), fs::metadata(&dir.path).unwrap().uid());
    no_temp_files();
    assert!(!alive(child));
}

/// SPEC 9.4 #10: a child is recorded from the moment it is spawned, so one still inside
/// its startsecs window at the crash is reconciled too.
#[test]
fn a_child_still_starting_is_recorded_and_reconciled() {
    let dir = TestDir::new("crash-starting");
    let tag = 9112;
    let config = dir.config(
        &family_program("s", tag, "pdeathsig = false\nreconcile = kill")
            .replace("startsecs = 0", "startsecs = 30"),
    );
    let mut first = Daemon::start(&dir, &config);
    let old = expect_family(&first, tag);
    expect_recorded(&default_state_path(&dir), old.child);
    let (code, out, _) = ctl(&dir, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("STARTING"), "still starting: {out}");
    assert_eq!(first.count_log("Started s (pid"), 0);

    let offset = crash(&dir, &mut first);
    let second = restart(&dir, &config);
    let new = expect_family(&second, tag);
    let log = log_after(&dir, offset);
    let killed = format!(
        "Program 's': killed orphaned process group {0} (pid {0}) - reconcile=kill",
        old.child
    );
    assert!(log.contains(&killed), "want {killed:?} in:\n{log}");
    expect_within(secs(2), "the orphaned group to die", || {
        !alive(old.child) && !alive(old.grandchild)
    });
    assert_eq!(running(&[&first, &second], &child_argv(tag)), [new.child]);
    assert_eq!(
        running(&[&first, &second], &grandchild_argv(tag)),
        [new.grandchild]
    );
}
