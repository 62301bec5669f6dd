//! Crash safety: the state file that records every live child, and the reconciliation
//! that a restarted daemon runs before it spawns anything, so a supervisor killed by
//! SIGKILL, OOM or a bug does not leave a second copy of every service behind.
//!
//! A child is identified by a token that survives pid reuse: `starttime:<ticks>
//! pgid:<pgid>` from `/proc/<pid>/stat`, compared as an opaque string (Supervice's format).
//! A recorded child whose pid is alive with the same token is ours; with another token the
//! pid was recycled and is never touched. A recorded child whose pid is gone may have left
//! its process group behind (pdeathsig killed the direct child, its grandchildren stayed):
//! the group counts as ours when processes remain in it and in the session our child
//! created, all started no earlier than our child. The kernel never gives the number to a
//! new process while anyone still uses it as a group or session id, so those processes
//! are what remains of our child's group.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Global, Reconcile};
use crate::rpc::push_json_string;

pub const VERSION: u64 = 1;

/// One recorded child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub pid: i32,
    pub pgid: i32,
    pub token: String,
    pub pdeathsig: bool,
    pub reconcile: Reconcile,
}

/// Where children are recorded: `state_file`, else beside the pidfile
/// (`/run/alpha.pid` → `/run/.alpha.state.json`), else beside the socket when the pidfile
/// is disabled (`/run/x.sock` → `/run/.x.state.json`), so two daemons never share it.
pub fn state_path(global: &Global) -> PathBuf {
    if let Some(path) = &global.state_file {
        return path.clone();
    }
    let (base, suffixes): (&Path, &[&str]) = match &global.pidfile {
        Some(pidfile) => (pidfile, &[".pidfile", ".pid"]),
        None => (&global.socket, &[".sock", ".socket"]),
    };
    let dir = crate::config::parent_dir(base);
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = suffixes
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(&name);
    let stem = if stem.is_empty() { "supervice" } else { stem };
    dir.join(format!(".{stem}.state.json"))
}

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub starttime: u64,
    pub zombie: bool,
}

/// Parses a `/proc/<pid>/stat` line; the command name may hold spaces and `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        zombie: matches!(*fields.first()?, "Z" | "X"),
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        sid: fields.get(3)?.parse().ok()?,
        starttime: fields.get(19)?.parse().ok()?,
    })
}

pub fn read_stat(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn token_of(stat: &ProcStat) -> String {
    format!("starttime:{} pgid:{}", stat.starttime, stat.pgid)
}

/// The token of a child just spawned: its start time, and the group its `setsid` made
/// (its own pid).
pub fn spawn_token(pid: i32) -> Option<String> {
    let stat = read_stat(pid)?;
    Some(token_of(&ProcStat { pgid: pid, ..stat }))
}

fn starttime_of(token: &str) -> Option<u64> {
    token
        .split_whitespace()
        .find_map(|part| part.strip_prefix("starttime:"))?
        .parse()
        .ok()
}

/// The state file's text.
pub fn encode(records: &[Record], boot_id: &str) -> String {
    let mut out = String::from("{\"version\": 1, \"boot_id\": ");
    push_json_string(&mut out, boot_id);
    out.push_str(", \"children\": [");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"name\": ");
        push_json_string(&mut out, &r.name);
        let _ = write!(
            out,
            ", \"pid\": {}, \"pgid\": {}, \"token\": ",
            r.pid, r.pgid
        );
        push_json_string(&mut out, &r.token);
        let _ = write!(
            out,
            ", \"pdeathsig\": {}, \"reconcile\": \"{}\"}}",
            r.pdeathsig,
            r.reconcile.name()
        );
    }
    out.push_str("]}");
    out
}

/// The records in a state file, and what was wrong with any of it. A file from before
/// the last reboot holds nobody alive.
pub fn decode(text: &str, boot_id: &str) -> Result<(Vec<Record>, Vec<String>), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".into());
    };
    match object.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        other => return Err(format!("unknown version {other:?}")),
    }
    if let Some(recorded) = object.get("boot_id").and_then(Value::as_str) {
        if !boot_id.is_empty() && recorded != boot_id {
            return Ok((Vec::new(), vec!["written before the last reboot".into()]));
        }
    }
    let Some(children) = object.get("children").and_then(Value::as_array) else {
        return Err("no children list".into());
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (i, child) in children.iter().enumerate() {
        match decode_record(child) {
            Some(r) => records.push(r),
            None => problems.push(format!("record {i} is malformed and skipped: {child}")),
        }
    }
    Ok((records, problems))
}

fn decode_record(value: &Value) -> Option<Record> {
    let int = |key| value.get(key)?.as_i64().and_then(|n| i32::try_from(n).ok());
    Some(Record {
        name: value.get("name")?.as_str()?.to_string(),
        pid: int("pid")?,
        pgid: int("pgid").unwrap_or(0),
        token: value.get("token")?.as_str()?.to_string(),
        pdeathsig: value
            .get("pdeathsig")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        reconcile: match value.get("reconcile") {
            None => Reconcile::Auto,
            Some(v) => Reconcile::parse(v.as_str()?)?,
        },
    })
}

pub fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// What is left of a recorded child now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The pid is alive with the recorded token: our child.
    Ours,
    /// The pid is alive with another token: recycled, someone else's.
    Recycled,
    /// The pid is gone, but these processes remain in its group and session.
    GroupRemains(Vec<i32>),
    /// Nothing: gone, or identity unreadable.
    Gone,
}

/// Looks the record up in /proc.
pub fn find(record: &Record) -> Found {
    if let Some(stat) = read_stat(record.pid).filter(|s| !s.zombie) {
        return if token_of(&stat) == record.token {
            Found::Ours
        } else {
            Found::Recycled
        };
    }
    match starttime_of(&record.token) {
        Some(started) if record.pgid > 0 => {
            let members = group_members(record.pgid, started);
            if members.is_empty() {
                Found::Gone
            } else {
                Found::GroupRemains(members)
            }
        }
        _ => Found::Gone,
    }
}

/// Live processes in group and session `id` that started no earlier than `since`.
fn group_members(id: i32, since: u64) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            read_stat(pid)
                .is_some_and(|s| !s.zombie && s.pgid == id && s.sid == id && s.starttime >= since)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Kill(String),
    Warn(String),
    /// Leave it; `Some` is worth an INFO line.
    Skip(Option<String>),
}

/// The decision table. `policy` is (reconcile, pdeathsig): the current config's for a
/// program that still exists, else the record's.
pub fn decide(record: &Record, found: &Found, policy: (Reconcile, bool)) -> Verdict {
    let (reconcile, pdeathsig) = policy;
    if reconcile == Reconcile::Off {
        return Verdict::Skip(None);
    }
    let pid = record.pid;
    let what = match found {
        Found::Gone => return Verdict::Skip(None),
        Found::Recycled => {
            return Verdict::Skip(Some(format!(
                "pid {pid} is alive but is NOT ours (start token differs; pid was recycled)"
            )))
        }
        Found::Ours => String::new(),
        Found::GroupRemains(members) => format!(
            "; pid {pid} is gone but {} process(es) of its group remain",
            members.len()
        ),
    };
    match (reconcile, pdeathsig) {
        (Reconcile::Warn, _) => Verdict::Warn(format!("reconcile=warn for this program{what}")),
        (Reconcile::Kill, _) => Verdict::Kill(format!("reconcile=kill for this program{what}")),
        (_, true) => Verdict::Kill(format!(
            "orphan of a previous supervisor (pdeathsig was requested){what}"
        )),
        (_, false) => Verdict::Warn(format!(
            "orphan of a previous supervisor; pdeathsig=false so it is left running -- \
             starting this program will create duplicates{what}"
        )),
    }
}

/// The state file on disk: written atomically, problems reported once per episode.
pub struct StateFile {
    pub path: PathBuf,
    boot_id: String,
    failing: bool,
}

impl StateFile {
    pub fn new(path: PathBuf) -> StateFile {
        StateFile {
            path,
            boot_id: boot_id(),
            failing: false,
        }
    }

    /// The records left by a previous daemon, with warnings for anything odd. A missing
    /// file is simply empty.
    pub fn load(&self) -> (Vec<Record>, Vec<String>) {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
            Err(e) => {
                let msg = format!("cannot read state file {}: {e}", self.path.display());
                return (Vec::new(), vec![msg]);
            }
        };
        match decode(&text, &self.boot_id) {
            Ok((records, problems)) => {
                let shown = self.path.display();
                let problems = problems
                    .into_iter()
                    .map(|p| format!("state file {shown}: {p}"))
                    .collect();
                (records, problems)
            }
            Err(e) => {
                let msg = format!(
                    "state file {} is corrupt and was ignored: {e}",
                    self.path.display()
                );
                (Vec::new(), vec![msg])
            }
        }
    }

    /// Replaces the file with `records`: a 0600 temp file in the same directory, then a
    /// rename over the old one. Returns a message to log when writing starts or stops failing.
    pub fn save(&mut self, records: &[Record]) -> Option<String> {
        let result = self.write(records);
        match (result, self.failing) {
            (Ok(()), false) => None,
            (Ok(()), true) => {
                self.failing = false;
                Some(format!(
                    "state file {} is written again",
                    self.path.display()
                ))
            }
            (Err(_), true) => None,
            (Err(e), false) => {
                self.failing = true;
                Some(format!(
                    "cannot write state file {}: {e}; orphans of this daemon cannot be \
                     reconciled after a crash",
                    self.path.display()
                ))
            }
        }
    }

    fn write(&self, records: &[Record]) -> io::Result<()> {
        let dir = crate::config::parent_dir(&self.path);
        let temp = dir.join(format!(".supervice-state-{}", std::process::id()));
        let result = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(encode(records, &self.boot_id).as_bytes())?;
            // No fsync: the rename alone makes the update atomic, and what the file
            // protects against (a daemon killed while its children live on) does not
            // lose the page cache, while a power loss leaves no children to reconcile.
            // An fsync would stall the one event loop behind the disk.
            fs::rename(&temp, &self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

#[cfg(test)]
mod tests;

/// Acts on the records of a previous daemon: kills, warns or leaves each, logging as
/// Supervice does. `policy` gives the current (reconcile, pdeathsig) of an instance that
/// still exists. Returns how many process groups were killed.
pub fn reconcile(records: &[Record], policy: impl Fn(&str) -> Option<(Reconcile, bool)>) -> usize {
    let mut killed = 0;
    for record in records {
        let found = find(record);
        let rule = policy(&record.name).unwrap_or((record.reconcile, record.pdeathsig));
        let name = &record.name;
        match decide(record, &found, rule) {
            Verdict::Kill(reason) => {
                if kill_group(record) {
                    killed += 1;
                    log::warn!(
                        "Program '{name}': killed orphaned process group {} (pid {}) - {reason}",
                        record.pgid,
                        record.pid
                    );
                }
            }
            Verdict::Warn(reason) => {
                log::warn!(
                    "Program '{name}': pid {} is still running - {reason}",
                    record.pid
                )
            }
            Verdict::Skip(Some(reason)) => {
                log::info!("Program '{name}': {reason} - not touching it")
            }
            Verdict::Skip(None) => {}
        }
    }
    if killed > 0 {
        log::info!("Reconciled {killed} orphaned process group(s) from a previous supervisor");
    }
    killed
}

/// SIGKILL to the recorded group, else to the pid.
fn kill_group(record: &Record) -> bool {
    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::Pid;
    if record.pgid > 0 && killpg(Pid::from_raw(record.pgid), Signal::SIGKILL).is_ok() {
        return true;
    }
    record.pid > 0 && kill(Pid::from_raw(record.pid), Signal::SIGKILL).is_ok()
}

/// Whether any live process is in group `id` and session `id` (what our child's
/// `setsid` made).
pub fn session_has_members(id: i32) -> bool {
    !group_members(id, 0).is_empty()
}
