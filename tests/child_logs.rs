//! Child stdout/stderr capture and size rotation: every byte lands exactly once, in
//! order, across the live file and its backups (SPEC 4.8).

mod common;
use common::*;

use std::fs;
use std::time::Duration;

/// What `seq 1 <n>` prints.
fn seq_output(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.extend_from_slice(format!("{i}\n").as_bytes());
    }
    out
}

fn size(path: &std::path::Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.len())
}

/// The live file plus `.1`, `.2`, ...: their sizes, newest first (live file at 0).
fn rotated_sizes(dir: &TestDir, name: &str) -> Vec<u64> {
    let mut sizes = vec![size(&dir.join(name)).unwrap_or(0)];
    for n in 1.. {
        match size(&dir.join(&format!("{name}.{n}"))) {
            Some(s) => sizes.push(s),
            None => break,
        }
    }
    sizes
}

/// The backups, oldest first, then the live file, concatenated.
fn joined(dir: &TestDir, name: &str) -> Vec<u8> {
    let backups = rotated_sizes(dir, name).len() - 1;
    let mut all = Vec::new();
    for n in (1..=backups).rev() {
        all.extend(fs::read(dir.join(&format!("{name}.{n}"))).unwrap_or_default());
    }
    all.extend(fs::read(dir.join(name)).unwrap_or_default());
    all
}

/// Waits until the files total `want` bytes and stay there for a moment.
fn wait_for_total(dir: &TestDir, name: &str, want: u64) -> Vec<u64> {
    let complete = wait_for(secs(20), || {
        rotated_sizes(dir, name).iter().sum::<u64>() >= want
    });
    let sizes = rotated_sizes(dir, name);
    assert!(
        complete,
        "output incomplete: sizes {sizes:?}, want {want} bytes in total"
    );
    // Nothing more may follow.
    let grew = wait_for(Duration::from_millis(300), || {
        rotated_sizes(dir, name).iter().sum::<u64>() != want
    });
    let sizes = rotated_sizes(dir, name);
    assert!(!grew, "total is not {want}: sizes {sizes:?}");
    sizes
}

#[test]
fn rotation_keeps_every_byte_in_order() {
    let dir = TestDir::new("rotate");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'seq 1 200000; exec sleep 1000'\n\
         stdout_logfile = {dir}/s.log\nstdout_logfile_maxbytes = 100000\n\
         stdout_logfile_backups = 20\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let want = seq_output(200_000);

    let sizes = wait_for_total(&dir, "s.log", want.len() as u64);
    let backups = &sizes[1..];
    assert_eq!(backups.len(), want.len() / 100_000, "sizes {sizes:?}");
    assert!(backups.iter().all(|&s| s == 100_000), "sizes {sizes:?}");
    assert!(sizes[0] <= 100_000, "sizes {sizes:?}");

    assert!(
        joined(&dir, "s.log") == want,
        "the rotated files do not add up to the output"
    );
}

#[test]
fn rotation_drops_the_oldest_beyond_backups() {
    let dir = TestDir::new("rotate-drop");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'seq 1 200000; exec sleep 1000'\n\
         stdout_logfile = {dir}/s.log\nstdout_logfile_maxbytes = 100000\n\
         stdout_logfile_backups = 3\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let want = seq_output(200_000);
    // 12 full files and a partial one were written; the live file and 3 backups remain.
    let kept = want.len() % 100_000 + 3 * 100_000;

    // The total shrinks at every rotation here, so wait for the final content itself.
    let tail = &want[want.len() - kept..];
    let complete = wait_for(secs(20), || joined(&dir, "s.log") == tail);
    let sizes = rotated_sizes(&dir, "s.log");
    assert!(
        complete,
        "the kept files are not the tail of the output: sizes {sizes:?}"
    );
    let changed = wait_for(Duration::from_millis(300), || {
        rotated_sizes(&dir, "s.log") != sizes
    });
    assert!(!changed, "still changing after the output was complete");
    assert_eq!(sizes, [88_895, 100_000, 100_000, 100_000]);
}

#[test]
fn maxbytes_zero_never_rotates() {
    let dir = TestDir::new("norotate");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'seq 1 200000; exec sleep 1000'\n\
         stdout_logfile = {dir}/s.log\nstdout_logfile_maxbytes = 0\n\
         stdout_logfile_backups = 2\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let want = seq_output(200_000);

    let sizes = wait_for_total(&dir, "s.log", want.len() as u64);
    assert_eq!(sizes.len(), 1, "rotated: sizes {sizes:?}");
    assert!(fs::read(dir.join("s.log")).unwrap() == want);
}

#[test]
fn stderr_is_captured_to_its_own_file() {
    let dir = TestDir::new("stderr");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'echo to-out; echo to-err >&2; exec sleep 1000'\n\
         stdout_logfile = {dir}/out.log\nstderr_logfile = {dir}/err.log\n",
    );
    let _daemon = Daemon::start(&dir, &config);

    expect_within(secs(5), "both streams captured", || {
        dir.read("out.log") == "to-out\n" && dir.read("err.log") == "to-err\n"
    });
}

#[test]
fn output_is_appended_across_restarts() {
    let dir = TestDir::new("append");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'echo run; sleep 1.2'\nstartsecs = 1\n\
         stdout_logfile = {dir}/s.log\n",
    );
    dir.write("s.log", "before\n");
    let daemon = Daemon::start(&dir, &config);

    daemon.expect_log_count(secs(10), "Spawning s:", 2);
    expect_within(secs(5), "the second run's output", || {
        dir.read("s.log").starts_with("before\nrun\nrun\n")
    });
}

#[test]
fn backups_zero_starts_the_file_afresh_on_rotation() {
    let dir = TestDir::new("rotate-zero");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'seq 1 200000; exec sleep 1000'\n\
         stdout_logfile = {dir}/s.log\nstdout_logfile_maxbytes = 100000\n\
         stdout_logfile_backups = 0\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let want = seq_output(200_000);
    let tail = &want[want.len() - want.len() % 100_000..];

    expect_within(secs(20), "the last partial file", || {
        fs::read(dir.join("s.log")).is_ok_and(|got| got == tail)
    });
    assert!(!dir.join("s.log.1").exists());
}

#[test]
fn output_of_a_child_that_exits_at_once_is_complete() {
    let dir = TestDir::new("drain-exit");
    let config = dir.config(
        "[program:s]\ncommand = seq 1 200000\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/s.log\n",
    );
    let daemon = Daemon::start(&dir, &config);
    let want = seq_output(200_000);

    daemon.expect_log(secs(10), "s: RUNNING -> EXITED");
    expect_within(secs(5), "all the output", || {
        fs::read(dir.join("s.log")).is_ok_and(|got| got.len() >= want.len())
    });
    assert!(fs::read(dir.join("s.log")).unwrap() == want);
}

#[test]
fn output_written_while_stopping_is_captured() {
    let dir = TestDir::new("drain-stop");
    let config = dir.config(
        "[program:s]\ncommand = sh -c 'trap \"seq 1 100000; exit 0\" TERM; echo ready; \
         while :; do sleep 0.1; done'\nstdout_logfile = {dir}/s.log\n",
    );
    let mut daemon = Daemon::start(&dir, &config);
    expect_within(secs(5), "the child to be ready", || {
        dir.read("s.log") == "ready\n"
    });

    assert_eq!(daemon.stop(), Some(0));
    let mut want = b"ready\n".to_vec();
    want.extend(seq_output(100_000));
    let got = fs::read(dir.join("s.log")).unwrap();
    assert!(
        got == want,
        "captured {} bytes of {} once the daemon exited",
        got.len(),
        want.len()
    );
}

/// The lines of `text` that start with `tag-`, as numbers, in file order.
fn numbers_tagged(text: &str, tag: &str) -> Vec<u32> {
    let prefix = format!("{tag}-");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        .collect()
}

#[test]
fn writers_sharing_a_path_share_one_rotation() {
    let dir = TestDir::new("shared-path");
    // stdout and stderr of one program, and a second program, all in one file.
    let config = dir.config(
        "[program:both]\ncommand = sh -c 'i=0; while [ $i -lt 2000 ]; do echo out-$i; \
         echo err-$i >&2; i=$((i+1)); done; exec sleep 1000'\n\
         stdout_logfile = {dir}/all.log\nstderr_logfile = {dir}/all.log\n\
         stdout_logfile_maxbytes = 5000\nstdout_logfile_backups = 50\n\
         stderr_logfile_maxbytes = 5000\nstderr_logfile_backups = 50\n\n\
         [program:other]\ncommand = sh -c 'i=0; while [ $i -lt 2000 ]; do echo oth-$i; \
         i=$((i+1)); done; exec sleep 1000'\n\
         stdout_logfile = {dir}/all.log\n\
         stdout_logfile_maxbytes = 5000\nstdout_logfile_backups = 50\n",
    );
    let _daemon = Daemon::start(&dir, &config);
    let line_bytes =
        |tag: &str| -> u64 { (0..2000).map(|i| format!("{tag}-{i}\n").len() as u64).sum() };
    let want = line_bytes("out") + line_bytes("err") + line_bytes("oth");

    let sizes = wait_for_total(&dir, "all.log", want);
    // One size count: every backup holds exactly maxbytes, the live file the rest.
    let backups = &sizes[1..];
    assert_eq!(backups.len() as u64, want / 5000, "sizes {sizes:?}");
    assert!(backups.iter().all(|&s| s == 5000), "sizes {sizes:?}");
    assert_eq!(sizes[0], want % 5000, "sizes {sizes:?}");
    // One rotation: oldest backup first, every stream's lines whole and in order.
    let text = String::from_utf8_lossy(&joined(&dir, "all.log")).into_owned();
    let all: Vec<u32> = (0..2000).collect();
    for tag in ["out", "err", "oth"] {
        assert_eq!(numbers_tagged(&text, tag), all, "{tag} lines in order");
    }
}
