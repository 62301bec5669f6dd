//! supervisord's config dialect, differentially: supervisor 4.3.0 itself
//! (`tests/peers/supervisord_effective.py`, its own `ServerOptions.realize()`) and
//! `supervice -c FILE --check --json` read the same files in the same prepared
//! environment; a file the reference refuses we refuse, and where both accept, the two
//! effective configurations are the same JSON document.
//!
//! The files: the 58 real-world files of `tests/data/supervisord-corpus/` (SOURCES.tsv
//! says where each comes from) and `tests/data/supervisord-synthetic/*.conf`, which cover
//! every key, expansion and error kind of supervisord's dialect (`ok-*` files the
//! reference must accept, `err-*` files it must refuse; fragments they include live in
//! subdirectories). A corpus file without `[supervisord]` (a conf.d drop-in) is read
//! through a generated main file that includes it.
//!
//! The environment, as a container image would have it: each loader runs in a private
//! mount namespace (`unshare --mount`), chrooted into an overlay of `/` whose upper layer
//! is a tmpfs of that namespace, so the users and directories a file names can be made to
//! exist without creating anything on the machine. For a corpus file the reference is run
//! first; while it refuses with a missing user or directory, that user or directory is
//! added and it is run again (bounded); ours then runs in exactly that environment. Both
//! see the same fixed environment variables (`ENVIRONMENT`), the same cwd, and an empty
//! tmpfs as /tmp.

mod common;
use common::*;

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The whole environment both loaders see: what a container would set for the corpus
/// files' `%(ENV_X)s`, and the `S_*` variables the synthetic files use.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("LANG", "C.UTF-8"),
    // Python would otherwise add LC_CTYPE to its own environment (PEP 538) in a C locale,
    // and the reference would see an ENV_LC_CTYPE ours does not.
    ("PYTHONCOERCECLOCALE", "0"),
    ("API_PORT", "8080"),
    ("CELERY_MAIN_OPTIONS", "--concurrency=2"),
    ("CVAT_REDIS_HOST", "redis"),
    ("ENABLE_WEB", "true"),
    ("ENABLE_WEBSOCKET", "false"),
    ("ENABLE_WORKER", "1"),
    ("FETCHMAIL_POLL", "300"),
    ("LOGFILE_BACKUPS", "5"),
    ("LOGFILE_MAXBYTES", "10MB"),
    ("LOGLEVEL", "debug"),
    ("LOG_PATH", "/var/log/app"),
    ("NUMPROCS", "2"),
    ("NUM_WORKERS_DEFAULT", "3"),
    ("NUM_WORKERS_PRIO", "2"),
    ("NUM_WORKERS_EMAIL", "1"),
    ("NUM_WORKERS_UPDATE", "1"),
    ("NUM_WORKERS_CACHE", "2"),
    ("POSTGREY_DELAY", "300"),
    ("POSTGREY_MAX_AGE", "35"),
    ("POSTGREY_TEXT", "Delayed by Postgrey"),
    ("POSTGREY_AUTO_WHITELIST_CLIENTS", "5"),
    ("SUPERVISOR_HTTP_USERNAME", "admin"),
    ("SUPERVISOR_HTTP_PASSWORD", "secret"),
    ("SUPERVISOR_HTTP_PORT", "9001"),
    ("SUPERVISOR_USER", "root"),
    ("TAURUS_RMQ_METRIC_DEST", "localhost:2003"),
    ("TAURUS_RMQ_METRIC_PREFIX", "taurus"),
    ("S_PRIO", "42"),
    ("S_BOOL", "yes"),
    ("S_SIZE", "5MB"),
    ("S_COUNT", "3"),
    ("S_NAME", "alpha"),
    ("S_DIR", "/tmp"),
    ("S_SIGNAL", "HUP"),
    ("S_UMASK", "027"),
    ("S_CODES", "0,3"),
    ("S_LEVEL", "warn"),
    ("S_PORT", "9123"),
    ("S_USER", "nobody"),
    ("S_PCT", "50%"),
    ("S_EVENT", "process_state_exited"),
];

/// Files where the issue asks ours to differ from supervisord on purpose, and what ours
/// must do instead of what the reference does.
const DELIBERATE: &[(&str, Deliberate)] = &[
    // "[rpcinterface:x] other than the standard factory gets a warning that names it"
    // (issue 13): supervisord refuses a factory it cannot import; ours cannot load Python
    // plugins at all, so it warns and goes on.
    (
        "synthetic/err-rpcinterface-unresolvable.conf",
        Deliberate::AcceptsWarning("[rpcinterface:custom]"),
    ),
    // Dialect selection (issue 13): without [supervisord] a file is Supervice's dialect,
    // so where supervisord says ".ini file does not include supervisord section" ours
    // reads it as a Supervice file.
    (
        "synthetic/err-no-supervisord-section.conf",
        Deliberate::ReadsAsSupervice,
    ),
    // A bare `%s` formats supervisord's whole expansion dict into the value (issues #980,
    // #986); SUPERVISORD.md §8 #7: "the %s→dict text is a bug you may reject with an
    // error". Ours refuses it, naming the section and key.
    (
        "synthetic/ok-bare-percent-s.conf",
        Deliberate::RefusesNaming("[program:bare] command"),
    ),
];

#[derive(Clone, Copy)]
enum Deliberate {
    /// Ours refuses the file (exit 1) and its message holds this text.
    RefusesNaming(&'static str),
    /// Ours accepts the file (exit 0) and its stderr holds this text.
    AcceptsWarning(&'static str),
    /// Ours accepts the file as the Supervice dialect: `"dialect": "supervice"`.
    ReadsAsSupervice,
}

/// How many times a corpus file's environment is extended before giving up.
const PREPARATION_ROUNDS: usize = 24;
/// The longest one loader may take on one file.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What a file needs to exist around it: users (each with a group of its name), groups,
/// directories.
#[derive(Default, Clone)]
struct Environment {
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

/// What a synthetic file's name says the reference does with it.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Accept,
    Refuse,
    Either,
}

struct Case {
    /// The file as the report names it.
    label: String,
    /// The file to load; a generated main file for a drop-in.
    file: PathBuf,
    expect: Expect,
    /// Whether missing users and directories are added for it (corpus files).
    prepare: bool,
    /// Its own directory: the cwd of both loaders, the generated main file.
    dir: PathBuf,
}

/// What one loader made of a file.
#[derive(Debug)]
enum Outcome {
    Accepted(Value),
    Refused(String),
    /// Anything else: a crash, a timeout, unreadable output.
    Broken(String),
}

struct Paths {
    root: PathBuf,
    python: PathBuf,
    reference: PathBuf,
    unshare: PathBuf,
    /// Directories bind-mounted into the chroot at the same path, so the binaries, the venv
    /// and the test data are there even where they are not on the root filesystem.
    binds: Vec<PathBuf>,
}

#[test]
fn supervisord_4_3_0_and_supervice_read_every_file_the_same() {
    const TEST: &str = "supervisord_4_3_0_and_supervice_read_every_file_the_same";
    let Some(bin) = supervisor_bin(TEST) else {
        return;
    };
    if !require_root(TEST) {
        return;
    }
    let Some(unshare) = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        skip_or_fail(TEST, "unshare (util-linux) not found");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = bin.join("python");
    let venv = fs::canonicalize(&bin).unwrap_or(bin.clone());
    let binary_dir = Path::new(SUPERVICE).parent().unwrap().to_path_buf();
    // The interpreter the venv links to (its prefix: /usr, /usr/local, /opt/python...).
    let interpreter = fs::canonicalize(&python)
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.to_path_buf()))
        .filter(|p| p != Path::new("/"));
    let paths = Paths {
        reference: root.join("tests/peers/supervisord_effective.py"),
        binds: distinct_roots(
            [
                root.clone(),
                binary_dir,
                venv.parent().unwrap().to_path_buf(),
            ]
            .into_iter()
            .chain(interpreter)
            .collect(),
        ),
        root,
        python,
        unshare,
    };

    let work = TestDir::new("supervisord-dialect");
    let cases = cases(&paths.root, &work);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, String, Option<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let (summary, failure) = check(&paths, case);
                let _ = fs::remove_dir_all(&case.dir);
                results.lock().unwrap().push((i, summary, failure));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let mut table = String::new();
    for (_, summary, _) in &results {
        let _ = writeln!(table, "  {summary}");
    }
    eprintln!("reference (supervisord 4.3.0) on each file:\n{table}");
    let failures: Vec<&String> = results.iter().filter_map(|r| r.2.as_ref()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} files are read differently by supervisord 4.3.0 and supervice:\n\n{}",
        failures.len(),
        results.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The corpus files (drop-ins through a generated main file), then the synthetic ones.
fn cases(root: &Path, work: &TestDir) -> Vec<Case> {
    let mut cases = Vec::new();
    let case_dir = |n: usize| {
        let dir = work.join(&format!("case-{n}"));
        fs::create_dir_all(&dir).expect("create case dir");
        dir
    };
    let corpus = root.join("tests/data/supervisord-corpus");
    for path in sorted_files(&corpus) {
        let name = file_name(&path);
        if name == "SOURCES.tsv" {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        // A copy in the case's own directory: `%(here)s/../logs` and relative includes
        // then land in the test's temp dir, never in the repository.
        let dir = case_dir(cases.len());
        let copy = dir.join(&name);
        fs::copy(&path, &copy).expect("copy a corpus file");
        let file = if text.lines().any(|l| l.trim() == "[supervisord]") {
            copy
        } else {
            let main = dir.join("supervisord.conf");
            let text = format!("[supervisord]\n[include]\nfiles = {}\n", copy.display());
            fs::write(&main, text).expect("write the main file");
            main
        };
        cases.push(Case {
            label: format!("corpus/{name}"),
            file,
            expect: Expect::Either,
            prepare: true,
            dir,
        });
    }
    let synthetic = root.join("tests/data/supervisord-synthetic");
    let files: Vec<PathBuf> = sorted_files(&synthetic)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    assert!(
        files.len() >= 100,
        "the synthetic set is incomplete: {}",
        synthetic.display()
    );
    for path in files {
        let name = file_name(&path);
        let expect = if name.starts_with("ok-") {
            Expect::Accept
        } else if name.starts_with("err-") {
            Expect::Refuse
        } else {
            panic!("synthetic file {name} is neither ok-* nor err-*");
        };
        cases.push(Case {
            label: format!("synthetic/{name}"),
            file: path,
            expect,
            prepare: false,
            dir: case_dir(cases.len()),
        });
    }
    cases
}

/// Runs the reference (preparing the environment for corpus files) and ours on one file.
/// Returns the line of the acceptance table and, when they differ, the failure text.
fn check(paths: &Paths, case: &Case) -> (String, Option<String>) {
    let dir = &case.dir;
    let mut env = Environment::default();
    let mut want = reference(paths, case, dir, &env);
    if case.prepare {
        for _ in 0..PREPARATION_ROUNDS {
            let Outcome::Refused(message) = &want else {
                break;
            };
            if !env.add_what_is_missing(message) {
                break;
            }
            want = reference(paths, case, dir, &env);
        }
    }
    let prepared = env.describe();
    let summary = match &want {
        Outcome::Accepted(v) => format!(
            "{:<70} accepted ({} processes){prepared}",
            case.label,
            v["processes"].as_array().map_or(0, Vec::len)
        ),
        Outcome::Refused(m) => format!("{:<70} REFUSED: {}{prepared}", case.label, one_line(m)),
        Outcome::Broken(m) => format!("{:<70} BROKEN: {}", case.label, one_line(m)),
    };
    let mut failure = String::new();
    match (&want, case.expect) {
        (Outcome::Broken(m), _) => {
            let _ = writeln!(failure, "the reference failed to run: {m}");
        }
        (Outcome::Refused(m), Expect::Accept) => {
            let _ = writeln!(
                failure,
                "test data: an ok-* file the reference refuses: {m}"
            );
        }
        (Outcome::Accepted(_), Expect::Refuse) => {
            let _ = writeln!(failure, "test data: an err-* file the reference accepts");
        }
        _ => {}
    }
    let deliberate = DELIBERATE
        .iter()
        .find(|(label, _)| *label == case.label)
        .map(|(_, d)| *d);
    if failure.is_empty() {
        let (ours, stderr) = ours(paths, case, dir, &env);
        match (deliberate, &ours) {
            (Some(Deliberate::AcceptsWarning(needle)), Outcome::Accepted(_))
                if stderr.contains(needle) => {}
            (Some(Deliberate::AcceptsWarning(needle)), _) => {
                let _ = writeln!(
                    failure,
                    "  ours must accept it with a warning naming {needle} (issue 13); ours: \
                     {ours:?}, stderr {stderr:?}"
                );
            }
            (Some(Deliberate::RefusesNaming(needle)), Outcome::Refused(m))
                if m.contains(needle) => {}
            (Some(Deliberate::RefusesNaming(needle)), _) => {
                let _ = writeln!(
                    failure,
                    "  ours must refuse it naming {needle} (SUPERVISORD.md §8); ours: {ours:?}"
                );
            }
            (Some(Deliberate::ReadsAsSupervice), Outcome::Accepted(v))
                if v["dialect"] == "supervice" => {}
            (Some(Deliberate::ReadsAsSupervice), _) => {
                let _ = writeln!(
                    failure,
                    "  ours must read it as the Supervice dialect (no [supervisord]) and \
                     print its JSON; ours: {ours:?}"
                );
            }
            (None, _) => compare(case, &want, &ours, &mut failure),
        }
    }

    let failure = (!failure.is_empty()).then(|| {
        format!(
            "{} ({}){prepared}:\n{failure}",
            case.label,
            case.file.display()
        )
    });
    (summary, failure)
}

/// Refuses ⇔ refuses; where both accept, the same document. Where both refuse, ours names
/// the file and the line (the issue asks it of every refusal; supervisord's often do not).
fn compare(case: &Case, want: &Outcome, ours: &Outcome, failure: &mut String) {
    match (want, ours) {
        (Outcome::Accepted(want), Outcome::Accepted(got)) => {
            let mut diffs = Vec::new();
            diff("", want, got, &mut diffs);
            for d in diffs.iter().take(12) {
                let _ = writeln!(failure, "  {d}");
            }
            if diffs.len() > 12 {
                let _ = writeln!(failure, "  ... and {} more", diffs.len() - 12);
            }
        }
        (Outcome::Refused(_), Outcome::Refused(m)) => {
            let name = case.label.rsplit('/').next().unwrap_or(&case.label);
            let names_line = m
                .match_indices("line ")
                .any(|(i, _)| m[i + 5..].starts_with(|c: char| c.is_ascii_digit()));
            if !m.contains(name) || !names_line {
                let _ = writeln!(
                    failure,
                    "  both refuse it, but ours does not name the file ({name}) and line: {m}"
                );
            }
        }
        (Outcome::Refused(m), Outcome::Accepted(_)) => {
            let _ = writeln!(failure, "  the reference refuses it ({m}); ours accepts it");
        }
        (Outcome::Accepted(_), Outcome::Refused(m)) => {
            let _ = writeln!(failure, "  the reference accepts it; ours refuses it:\n{m}");
        }
        (_, Outcome::Broken(m)) => {
            let _ = writeln!(failure, "  ours did not answer as --check --json must: {m}");
        }
        (Outcome::Broken(_), _) => unreachable!(),
    }
}

fn reference(paths: &Paths, case: &Case, dir: &Path, env: &Environment) -> Outcome {
    let argv = [
        paths.python.display().to_string(),
        paths.reference.display().to_string(),
        case.file.display().to_string(),
    ];
    match isolated(paths, dir, env, &argv) {
        Err(e) => Outcome::Broken(e),
        Ok((code, stdout, stderr)) => {
            let value: Option<Value> = serde_json::from_str(&stdout).ok();
            match (code, value) {
                (0, Some(v)) => Outcome::Accepted(v),
                (1, Some(v)) if v["error"].is_string() => {
                    Outcome::Refused(v["error"].as_str().unwrap().to_string())
                }
                _ => Outcome::Broken(format!("exit {code}, stdout {stdout:?}, stderr {stderr:?}")),
            }
        }
    }
}

/// Ours' outcome, and its stderr (warnings).
fn ours(paths: &Paths, case: &Case, dir: &Path, env: &Environment) -> (Outcome, String) {
    let argv = [
        SUPERVICE.to_string(),
        "-c".to_string(),
        case.file.display().to_string(),
        "--check".to_string(),
        "--json".to_string(),
    ];
    let (code, stdout, stderr) = match isolated(paths, dir, env, &argv) {
        Err(e) => return (Outcome::Broken(e), String::new()),
        Ok(run) => run,
    };
    let outcome = match code {
        0 => match serde_json::from_str(&stdout) {
            Ok(v) => Outcome::Accepted(v),
            Err(e) => Outcome::Broken(format!(
                "exit 0 but stdout is not JSON ({e}): {stdout:?}; stderr {stderr:?}"
            )),
        },
        1 => Outcome::Refused(format!("{stderr}{stdout}")),
        _ => Outcome::Broken(format!("exit {code}, stdout {stdout:?}, stderr {stderr:?}")),
    };
    (outcome, stderr)
}

impl Environment {
    /// Adds the user or directory whose absence `message` (the reference's refusal) names;
    /// false when the message names nothing to add, or nothing new.
    fn add_what_is_missing(&mut self, message: &str) -> bool {
        let first = message.lines().next().unwrap_or("");
        // The section suffix processes_from_section appends.
        let first = first.split(" in section '").next().unwrap_or(first);
        if let Some(user) = first.strip_prefix("Invalid user name ") {
            return self.users.insert(user.to_string());
        }
        for prefix in ["Invalid sockchown value ", "Invalid socket_owner value "] {
            if let Some(spec) = first.strip_prefix(prefix) {
                let spec = spec.split(" in [").next().unwrap_or(spec);
                let (user, group) = spec.split_once(':').unwrap_or((spec, ""));
                let mut added = self.users.insert(user.to_string());
                if !group.is_empty() {
                    added |= self.groups.insert(group.to_string());
                }
                return added;
            }
        }
        if let Some(rest) = first.strip_prefix("The directory named as part of the path ") {
            if let Some(path) = rest.strip_suffix(" does not exist") {
                let parent = Path::new(path).parent().unwrap_or(Path::new("/"));
                return self
                    .dirs
                    .insert(home_expanded(&parent.display().to_string()));
            }
        }
        if let Some(path) = first.strip_suffix(" is not an existing directory") {
            return self.dirs.insert(home_expanded(path));
        }
        false
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        if !self.users.is_empty() {
            let _ = write!(out, " [users: {}]", join(&self.users));
        }
        if !self.groups.is_empty() {
            let _ = write!(out, " [groups: {}]", join(&self.groups));
        }
        if !self.dirs.is_empty() {
            let _ = write!(out, " [dirs: {}]", join(&self.dirs));
        }
        out
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

fn home_expanded(path: &str) -> String {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/root{rest}"),
        _ => path.to_string(),
    }
}

/// Runs `argv` with `dir` as cwd in a private mount namespace chrooted into an overlay of
/// `/` where `env`'s users and directories exist, with exactly `ENVIRONMENT`. Returns the
/// exit code, stdout and stderr; `Err` when it could not run or took too long.
fn isolated(
    paths: &Paths,
    dir: &Path,
    env: &Environment,
    argv: &[String],
) -> Result<(i32, String, String), String> {
    let ns = dir.join("ns");
    fs::create_dir_all(&ns).map_err(|e| format!("mkdir {}: {e}", ns.display()))?;
    let (passwd, group) = accounts(env)?;
    fs::write(dir.join("passwd"), passwd).map_err(|e| e.to_string())?;
    fs::write(dir.join("group"), group).map_err(|e| e.to_string())?;

    let n = quote(&ns.display().to_string());
    let mut script = format!(
        "set -e\n\
         mount -t tmpfs supervice-test {n}\n\
         mkdir {n}/upper {n}/work {n}/root\n\
         mount -t overlay overlay -o lowerdir=/,upperdir={n}/upper,workdir={n}/work {n}/root\n\
         mount --rbind /proc {n}/root/proc\n\
         mount --rbind /dev {n}/root/dev\n\
         mount -t tmpfs supervice-test-tmp {n}/root/tmp\n"
    );
    // /tmp above is empty, as in a container: what other processes put in the machine's
    // /tmp (the lower layer, live) cannot change what a loader sees.
    for bind in &paths.binds {
        let b = quote(&bind.display().to_string());
        // Read-only: a directory a file needs is never made in the real tree.
        let _ = writeln!(
            script,
            "mkdir -p {n}/root{b}\nmount --rbind {b} {n}/root{b}\nmount -o remount,bind,ro {n}/root{b}"
        );
    }
    // The case's own directory (the generated main file, the cwd); not recursive: the
    // namespace's tmpfs is mounted inside it.
    let d = quote(&dir.display().to_string());
    let _ = writeln!(script, "mkdir -p {n}/root{d}\nmount --bind {d} {n}/root{d}");
    for made in &env.dirs {
        let absolute = if made.starts_with('/') {
            made.clone()
        } else {
            format!("{}/{made}", dir.display())
        };
        let _ = writeln!(script, "mkdir -p {n}/root{}", quote(&absolute));
    }
    let _ = writeln!(
        script,
        "cat {d}/passwd > {n}/root/etc/passwd\ncat {d}/group > {n}/root/etc/group"
    );
    let _ = write!(script, "exec chroot {n}/root /usr/bin/env -i -C {d}");
    for (k, v) in ENVIRONMENT {
        let _ = write!(script, " {}", quote(&format!("{k}={v}")));
    }
    for arg in argv {
        let _ = write!(script, " {}", quote(arg));
    }
    script.push('\n');

    let mut child = Command::new(&paths.unshare)
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let pid = child.id() as i32;
    // Read both pipes on threads so a full pipe cannot stall the child.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    let Some(status) = status else {
        kill(-pid, libc::SIGKILL);
        let _ = child.wait();
        return Err(format!("timed out after {RUN_TIMEOUT:?}: {argv:?}"));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status.code() {
        Some(code) => Ok((code, stdout, stderr)),
        None => Err(format!("killed by a signal ({status}); stderr {stderr:?}")),
    }
}

use std::os::unix::process::CommandExt as _;

/// The machine's /etc/passwd and /etc/group with `env`'s users and groups added (uids and
/// gids from 20000 on, each user with a group of its name).
fn accounts(env: &Environment) -> Result<(String, String), String> {
    let mut passwd = fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    let mut group = fs::read_to_string("/etc/group").map_err(|e| e.to_string())?;
    let known = |text: &str, name: &str| text.lines().any(|l| l.split(':').next() == Some(name));
    for text in [&mut passwd, &mut group] {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    let mut id = 20000;
    for user in &env.users {
        id += 1;
        if !known(&passwd, user) {
            let _ = writeln!(passwd, "{user}:x:{id}:{id}::/nonexistent:/usr/sbin/nologin");
        }
        if !known(&group, user) {
            let _ = writeln!(group, "{user}:x:{id}:");
        }
    }
    for name in &env.groups {
        id += 1;
        if !known(&group, name) {
            let _ = writeln!(group, "{name}:x:{id}:");
        }
    }
    Ok((passwd, group))
}

/// Every difference between the reference's document and ours, as "path: ...". Extra
/// keys in ours are allowed (the issue lets ours add keys), except inside an
/// "environment" map, which is data.
fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => diff(&p, wv, gv, out),
                    None => out.push(format!("{p}: reference {wv}, ours has no such key")),
                }
            }
            if path.ends_with(".environment") {
                for (k, gv) in g {
                    if !w.contains_key(k) {
                        out.push(format!("{path}.{k}: reference has none, ours {gv}"));
                    }
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                // A group or process is named in the path: .processes[11 sig7:sig7].
                let name = names(std::slice::from_ref(wv));
                let label = match wv {
                    Value::Object(_) => format!("[{i} {}]", name.trim_matches(['[', ']'])),
                    _ => format!("[{i}]"),
                };
                diff(&format!("{path}{label}"), wv, gv, out);
            }
        }
        (Value::Array(w), Value::Array(g))
            if path.ends_with(".processes") || path.ends_with(".groups") =>
        {
            out.push(format!(
                "{path}: reference {} entries {}, ours {} entries {}",
                w.len(),
                names(w),
                g.len(),
                names(g)
            ));
        }
        _ if want == got => {}
        _ => out.push(format!("{path}: reference {want}, ours {got}")),
    }
}

/// The names of a list of groups or processes (or the list itself when it holds names).
fn names(list: &[Value]) -> String {
    let names: Vec<String> = list
        .iter()
        .map(|v| match v {
            Value::Object(o) => match (o.get("group"), o.get("name")) {
                (Some(g), Some(n)) => format!(
                    "{}:{}",
                    g.as_str().unwrap_or("?"),
                    n.as_str().unwrap_or("?")
                ),
                (_, Some(n)) => n.as_str().unwrap_or("?").to_string(),
                _ => "?".to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", names.join(", "))
}

/// Directories that are not inside another of the list.
fn distinct_roots(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    dirs.sort();
    let mut out: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !out.iter().any(|o| d.starts_with(o)) {
            out.push(d);
        }
    }
    out
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn one_line(text: &str) -> String {
    let line = text.replace('\n', " | ");
    if line.chars().count() > 160 {
        format!("{}...", line.chars().take(160).collect::<String>())
    } else {
        line
    }
}

/// `text` as one word for sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
