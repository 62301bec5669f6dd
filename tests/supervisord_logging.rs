//! supervisord's `strip_ansi` and `*_syslog`, differentially: the same file run by
//! supervisord 4.3.0 and by supervice (through a link named `supervisord`, so both send
//! under the ident `supervisord`) writes the same log file and the same syslog lines.
//! /dev/log is a socket of the test's own (tests/peers/with-dev-log.sh, root only).

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{secs, wait_for, Daemon, TestDir};

const WITH_DEV_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/with-dev-log.sh");

/// The syslog datagrams received so far, each split into (priority, ident, message); the
/// timestamp is checked for its shape and dropped.
struct Receiver {
    socket: UnixDatagram,
    got: Vec<(String, String, String)>,
}

impl Receiver {
    fn bind(path: &Path) -> Receiver {
        let socket = UnixDatagram::bind(path).expect("bind the syslog socket");
        socket.set_nonblocking(true).expect("nonblocking");
        Receiver {
            socket,
            got: Vec::new(),
        }
    }

    fn poll(&mut self) {
        let mut buf = [0u8; 8192];
        while let Ok(n) = self.socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (priority, rest) = text[1..].split_once('>').expect("<PRI>");
            // `Mmm dd hh:mm:ss ` as glibc writes it.
            let (stamp, rest) = rest.split_at(16);
            let b = stamp.as_bytes();
            assert!(
                b[3] == b' ' && b[6] == b' ' && b[9] == b':' && b[12] == b':' && b[15] == b' ',
                "timestamp of {text:?}"
            );
            let (ident, message) = rest.split_once(": ").expect("ident: message");
            self.got
                .push((priority.to_string(), ident.to_string(), message.to_string()));
        }
    }

    /// Waits until `count` messages satisfy `wanted`, then returns them all.
    fn wait(&mut self, count: usize, wanted: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + secs(15);
        loop {
            self.poll();
            if self.got.iter().filter(|m| wanted(&m.2)).count() >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

const PROGRAMS: &str = r#"
[program:color]
command = sh -c 'printf "\033[1;31mred\033[0m plain\n"; printf "next \033[2Kline\033[10;2H\n"; printf "err \033[33mline\033[m\n" >&2; printf "no newline"'
autorestart = false
startsecs = 0
stdout_logfile = {dir}/color.log
stdout_syslog = true
stderr_logfile = NONE
stderr_syslog = true

[program:multi]
command = sh -c 'printf "instance %(process_num)d\n"'
process_name = %(program_name)s_%(process_num)02d
numprocs = 2
autorestart = false
startsecs = 0
stdout_logfile = NONE
stdout_syslog = true

[program:quiet]
command = sh -c 'printf "only in the file\n"'
autorestart = false
startsecs = 0
stdout_logfile = {dir}/quiet.log
"#;

struct Run {
    color_log: String,
    quiet_log: String,
    syslog: Vec<(String, String, String)>,
}

/// Runs the scenario under `daemon` (supervisord or the link to supervice) in a directory
/// of its own and collects what it wrote.
fn run(daemon: &Path, name: &str) -> Run {
    let dir = TestDir::new(name);
    let d = dir.path.display().to_string();
    let config = dir.write(
        "supervisord.conf",
        &format!(
            "[supervisord]\nlogfile = {d}/daemon.log\npidfile = {d}/daemon.pid\n\
             childlogdir = {d}\nstrip_ansi = true\n\n[unix_http_server]\nfile = {d}/s.sock\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = \
             supervisor.rpcinterface:make_main_rpcinterface\n{}",
            PROGRAMS.replace("{dir}", &d)
        ),
    );
    let socket = dir.join("syslog.sock");
    let mut receiver = Receiver::bind(&socket);
    let config = config.display().to_string();
    let args = [
        &socket.display().to_string(),
        &daemon.display().to_string(),
        "-n",
        "-c",
        &config,
    ];
    let mut daemon = Daemon::spawn_program(&dir, Path::new(WITH_DEV_LOG), &args);
    let complete = receiver.wait(1, |m| m.ends_with("no newline"))
        && receiver.wait(1, |m| m.starts_with("color err"))
        && receiver.wait(2, |m| m.starts_with("multi_"))
        && wait_for(secs(15), || {
            dir.read("color.log").ends_with("no newline") && !dir.read("quiet.log").is_empty()
        });
    let run = Run {
        color_log: dir.read("color.log"),
        quiet_log: dir.read("quiet.log"),
        syslog: receiver.got.clone(),
    };
    assert!(
        complete,
        "{name}: output incomplete: file {:?}, syslog {:?}\n{}",
        run.color_log,
        run.syslog,
        daemon.stderr_text()
    );
    daemon.stop();
    run
}

fn supervice_as_supervisord(dir: &TestDir) -> PathBuf {
    let link = dir.join("supervisord");
    std::os::unix::fs::symlink(common::SUPERVICE, &link).expect("symlink supervisord");
    link
}

#[test]
fn strip_ansi_and_syslog_write_what_supervisord_writes() {
    if !common::require_root("strip_ansi_and_syslog_write_what_supervisord_writes") {
        return;
    }
    let Some(bin) = common::supervisor_bin("strip_ansi_and_syslog_write_what_supervisord_writes")
    else {
        return;
    };
    let links = TestDir::new("sd-syslog-bin");
    let theirs = run(&bin.join("supervisord"), "sd-syslog-peer");
    let ours = run(&supervice_as_supervisord(&links), "sd-syslog-ours");

    assert_eq!(theirs.color_log, "red plain\nnext line\nno newline");
    assert_eq!(ours.color_log, theirs.color_log);
    assert_eq!(ours.quiet_log, theirs.quiet_log);
    // The children's lines: the same set (stdout and stderr may interleave either way),
    // each `<process> <line>` at LOG_USER|LOG_INFO under supervisord's ident.
    let children = |run: &Run| {
        let mut lines: Vec<(String, String, String)> = run
            .syslog
            .iter()
            .filter(|m| m.2.starts_with("color ") || m.2.starts_with("multi_"))
            .cloned()
            .collect();
        lines.sort();
        lines
    };
    let expected: Vec<(String, String, String)> = [
        "color err line",
        "color next line",
        "color no newline",
        "color red plain",
        "multi_00 instance 0",
        "multi_01 instance 1",
    ]
    .iter()
    .map(|m| ("14".to_string(), "supervisord".to_string(), m.to_string()))
    .collect();
    assert_eq!(children(&theirs), expected, "{:?}", theirs.syslog);
    assert_eq!(children(&ours), expected, "{:?}", ours.syslog);
    // A program without *_syslog sends nothing there.
    for run in [&theirs, &ours] {
        assert!(
            !run.syslog.iter().any(|m| m.2.contains("only in the file")),
            "{:?}",
            run.syslog
        );
    }
}

#[test]
fn logfile_syslog_sends_the_daemon_log_to_syslog_at_the_levels_priority() {
    if !common::require_root("logfile_syslog_sends_the_daemon_log_to_syslog") {
        return;
    }
    let dir = TestDir::new("sd-mainlog-syslog");
    let d = dir.path.display().to_string();
    let config = dir.write(
        "supervisord.conf",
        &format!(
            "[supervisord]\nlogfile = syslog\npidfile = {d}/daemon.pid\nloglevel = debug\n\
             childlogdir = {d}\n\n[unix_http_server]\nfile = {d}/s.sock\n\n\
             [program:a]\ncommand = sleep 300\nstartsecs = 0\n"
        ),
    );
    let socket = dir.join("syslog.sock");
    let mut receiver = Receiver::bind(&socket);
    let link = supervice_as_supervisord(&dir);
    let config = config.display().to_string();
    let args = [
        &socket.display().to_string(),
        &link.display().to_string(),
        "-n",
        "-c",
        &config,
    ];
    let mut daemon = Daemon::spawn_program(&dir, Path::new(WITH_DEV_LOG), &args);
    let entered = receiver.wait(1, |m| m.contains("STARTING -> RUNNING"));
    assert!(entered, "{:?}\n{}", receiver.got, daemon.stderr_text());
    assert_eq!(daemon.stop(), Some(0));
    receiver.poll();
    let running = receiver
        .got
        .iter()
        .find(|m| m.2.starts_with("INFO Started a (pid"))
        .expect("the Started line");
    assert_eq!((&running.0[..], &running.1[..]), ("14", "supervisord"));
    assert!(running.2.starts_with("INFO "), "{running:?}");
    // Debug records go at LOG_DEBUG; no file named `syslog` was made.
    assert!(
        receiver
            .got
            .iter()
            .any(|m| m.0 == "15" && m.2.starts_with("DEBUG ")),
        "{:?}",
        receiver.got
    );
    assert!(!dir.join("syslog").exists());
}
