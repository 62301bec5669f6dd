//! supervisord's XML-RPC methods (`supervisor.*`, `system.*`) over the core's command
//! API, with supervisord's names, return structures, faults and waiting rules
//! (`supervisor/rpcinterface.py`). A call that waits (a start for RUNNING, a stop for a
//! down state) becomes a [`Wait`] that the front-end judges again after each batch of
//! notifications; nothing here blocks. `system.multicall` runs its calls in turn, a
//! waiting one holding the ones after it, as supervisord does.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;

use super::records::{self, Records};
use super::xmlrpc::{Call, Code, Fault, Value};
use crate::config::{Config, Dialect, Instance};
use crate::core::{Core, Id, Notification, State, Stream};
use crate::frontend::LoopRequest;

/// What supervisord's `getVersion`/`getAPIVersion` return: supervisorctl refuses any other.
pub const API_VERSION: &str = "3.0";
/// What `getSupervisorVersion` returns: the supervisord release whose interface this is.
pub const SUPERVISOR_VERSION: &str = "4.3.0";

/// The XML-RPC server's own state, beside the core.
#[derive(Default)]
pub struct Rpc {
    pub records: Records,
    /// The config `reloadConfig` read last: what `addProcessGroup` adds from.
    parsed: Option<Config>,
    pub request: Option<LoopRequest>,
}

type Answer = Result<Value, Fault>;

/// What a call came to: an answer now, or a wait on the process table.
enum Step {
    Done(Answer),
    Wait(Wait),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Running,
    Down,
}

struct Pending {
    id: Id,
    serial: u64,
    name: String,
    group: String,
    goal: Goal,
}

/// A call waiting for instances to reach their goal.
pub struct Wait {
    pending: Vec<Pending>,
    /// A group or all-processes call answers with result structs, in the order they
    /// come: immediate ones first, then the waited ones as they settle.
    array: Option<Vec<Value>>,
    single: Option<Answer>,
}

/// One HTTP request's calls: one, or a multicall's list.
pub struct Job {
    calls: VecDeque<Result<Call, Fault>>,
    multi: bool,
    results: Vec<Value>,
    last: Option<Answer>,
    wait: Option<Wait>,
}

/// Methods and their signatures (return type first), as supervisord's docstrings declare
/// them; `system.listMethods` lists them sorted.
const METHODS: &[(&str, &[&str])] = &[
    ("supervisor.addProcessGroup", &["boolean", "string"]),
    ("supervisor.clearAllProcessLogs", &["array"]),
    ("supervisor.clearLog", &["boolean"]),
    ("supervisor.clearProcessLog", &["boolean", "string"]),
    ("supervisor.clearProcessLogs", &["boolean", "string"]),
    ("supervisor.getAPIVersion", &["string"]),
    ("supervisor.getAllConfigInfo", &["array"]),
    ("supervisor.getAllProcessInfo", &["array"]),
    ("supervisor.getIdentification", &["string"]),
    ("supervisor.getPID", &["int"]),
    ("supervisor.getProcessInfo", &["struct", "string"]),
    ("supervisor.getState", &["struct"]),
    ("supervisor.getSupervisorVersion", &["string"]),
    ("supervisor.getVersion", &["string"]),
    ("supervisor.readLog", &["string", "int", "int"]),
    ("supervisor.readMainLog", &["string", "int", "int"]),
    (
        "supervisor.readProcessLog",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStderrLog",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStdoutLog",
        &["string", "string", "int", "int"],
    ),
    ("supervisor.reloadConfig", &["array"]),
    ("supervisor.removeProcessGroup", &["boolean", "string"]),
    ("supervisor.restart", &["boolean"]),
    (
        "supervisor.sendProcessStdin",
        &["boolean", "string", "string"],
    ),
    (
        "supervisor.sendRemoteCommEvent",
        &["boolean", "string", "string"],
    ),
    ("supervisor.shutdown", &["boolean"]),
    ("supervisor.signalAllProcesses", &["array", "string"]),
    ("supervisor.signalProcess", &["boolean", "string", "string"]),
    (
        "supervisor.signalProcessGroup",
        &["array", "string", "string"],
    ),
    ("supervisor.startAllProcesses", &["array", "boolean"]),
    ("supervisor.startProcess", &["boolean", "string", "boolean"]),
    (
        "supervisor.startProcessGroup",
        &["array", "string", "boolean"],
    ),
    ("supervisor.stopAllProcesses", &["array", "boolean"]),
    ("supervisor.stopProcess", &["boolean", "string", "boolean"]),
    (
        "supervisor.stopProcessGroup",
        &["array", "string", "boolean"],
    ),
    (
        "supervisor.tailProcessLog",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStderrLog",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStdoutLog",
        &["array", "string", "int", "int"],
    ),
    ("system.listMethods", &["array"]),
    ("system.methodHelp", &["string", "string"]),
    ("system.methodSignature", &["array", "string"]),
    ("system.multicall", &["array", "array"]),
];

fn help(method: &str) -> &'static str {
    match method {
        "supervisor.addProcessGroup" => "Update the config for a running process from config file.",
        "supervisor.clearAllProcessLogs" => "Clear all process log files",
        "supervisor.clearLog" => "Clear the main log.",
        "supervisor.clearProcessLog" | "supervisor.clearProcessLogs" => {
            "Clear the stdout and stderr logs for the named process and reopen them."
        }
        "supervisor.getAPIVersion" | "supervisor.getVersion" => {
            "Return the version of the RPC API used by supervisord"
        }
        "supervisor.getAllConfigInfo" => "Get info about all available process configurations.",
        "supervisor.getAllProcessInfo" => "Get info about all processes",
        "supervisor.getIdentification" => "Return identifying string of supervisord",
        "supervisor.getPID" => "Return the PID of supervisord",
        "supervisor.getProcessInfo" => "Get info about a process named name",
        "supervisor.getState" => "Return current state of supervisord as a struct",
        "supervisor.getSupervisorVersion" => "Return the version of the supervisor package in use by supervisord",
        "supervisor.readLog" | "supervisor.readMainLog" => {
            "Read length bytes from the main log starting at offset"
        }
        "supervisor.readProcessLog" | "supervisor.readProcessStdoutLog" => {
            "Read length bytes from name's stdout log starting at offset"
        }
        "supervisor.readProcessStderrLog" => "Read length bytes from name's stderr log starting at offset",
        "supervisor.reloadConfig" => "Reload the configuration.",
        "supervisor.removeProcessGroup" => "Remove a stopped process from the active configuration.",
        "supervisor.restart" => "Restart the supervisor process",
        "supervisor.sendProcessStdin" => "Send a string of chars to the stdin of the process name.",
        "supervisor.sendRemoteCommEvent" => "Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent.",
        "supervisor.shutdown" => "Shut down the supervisor process",
        "supervisor.signalAllProcesses" => "Send a signal to all processes in the process list",
        "supervisor.signalProcess" => "Send an arbitrary UNIX signal to the process named by name",
        "supervisor.signalProcessGroup" => "Send a signal to all processes in the group named 'name'",
        "supervisor.startAllProcesses" => "Start all processes listed in the configuration file",
        "supervisor.startProcess" => "Start a process",
        "supervisor.startProcessGroup" => "Start all processes in the group named 'name'",
        "supervisor.stopAllProcesses" => "Stop all processes in the process list",
        "supervisor.stopProcess" => "Stop a process named by name",
        "supervisor.stopProcessGroup" => "Stop all processes in the process group named 'name'",
        "supervisor.tailProcessLog" | "supervisor.tailProcessStdoutLog" => {
            "Provides a more efficient way to tail the (stdout) log than readProcessStdoutLog()."
        }
        "supervisor.tailProcessStderrLog" => {
            "Provides a more efficient way to tail the (stderr) log than readProcessStderrLog()."
        }
        "system.listMethods" => "Return an array listing the available method names",
        "system.methodHelp" => "Return a string showing the method's documentation",
        "system.methodSignature" => "Return an array describing the method signature in the form [rtype, ptype, ptype...] where rtype is the return data type of the method, and ptypes are the parameter data types that the method accepts in method argument order.",
        "system.multicall" => "Process an array of calls, and return an array of results. Calls should be structs of the form {'methodName': string, 'params': array}. Each call will be run in turn, a waiting call holding the ones after it.",
        _ => "",
    }
}

// ----- names -----

/// supervisord's (group, process) names of an instance.
pub fn names(instance: &Instance) -> (String, String) {
    let group = if instance.group.is_empty() {
        instance.program.clone()
    } else {
        instance.group.clone()
    };
    let process = instance
        .name
        .strip_prefix(&format!("{group}:"))
        .unwrap_or(&instance.name)
        .to_string();
    (group, process)
}

enum Target {
    Process(Id),
    Group(Vec<Id>),
}

/// Members of a group: a `[group:x]` (or a supervisord group), else the instances of
/// the program `x` (Supervice's numprocs instances `x:00`, `x:01`).
fn group_members(core: &Core, name: &str) -> Option<Vec<Id>> {
    if let Some(members) = core.group(name) {
        return Some(members);
    }
    let ids: Vec<Id> = core
        .views()
        .filter(|(id, _)| core.instance(*id).is_some_and(|i| names(i).0 == name))
        .map(|(id, _)| id)
        .collect();
    (!ids.is_empty()).then_some(ids)
}

/// supervisord's name resolution: `g:p`, `g:*` (or `g:`) for the whole group, `x` for
/// the process `x` of the group `x`.
fn resolve(core: &Core, name: &str) -> Result<Target, Fault> {
    let bad = || Fault::new(Code::BadName, name);
    if let Some(id) = core.lookup(name) {
        return Ok(Target::Process(id));
    }
    let (group, process) = name.split_once(':').unwrap_or((name, name));
    if process.is_empty() || process == "*" {
        return group_members(core, group)
            .map(Target::Group)
            .ok_or_else(bad);
    }
    if group == process {
        if let Some(id) = core.lookup(process) {
            return Ok(Target::Process(id));
        }
    }
    let members = group_members(core, group).ok_or_else(bad)?;
    members
        .into_iter()
        .find(|&id| core.instance(id).is_some_and(|i| names(i).1 == process))
        .map(Target::Process)
        .ok_or_else(bad)
}

/// A single process by any of its names (`/logtail` takes these).
pub fn lookup_process(core: &Core, name: &str) -> Option<Id> {
    process(core, name).ok()
}

fn process(core: &Core, name: &str) -> Result<Id, Fault> {
    match resolve(core, name)? {
        Target::Process(id) => Ok(id),
        Target::Group(_) => Err(Fault::new(Code::BadName, name)),
    }
}

fn state(core: &Core, id: Id) -> State {
    core.view(id).map_or(State::Stopped, |v| v.state)
}

fn is_running_state(state: State) -> bool {
    matches!(
        state,
        State::Running | State::Backoff | State::Starting | State::Unhealthy
    )
}

fn is_signallable(state: State) -> bool {
    matches!(
        state,
        State::Running | State::Starting | State::Stopping | State::Unhealthy
    )
}

/// A result struct of a group call.
fn result(core: &Core, id: Id, outcome: &Answer) -> Value {
    let (group, name) = core.instance(id).map(names).unwrap_or_default();
    result_named(name, group, outcome)
}

fn result_named(name: String, group: String, outcome: &Answer) -> Value {
    let (status, description) = match outcome {
        Ok(_) => (Code::Success as i64, "OK".to_string()),
        Err(f) => (f.code as i64, f.text.clone()),
    };
    Value::Struct(vec![
        ("name".into(), Value::Str(name)),
        ("group".into(), Value::Str(group)),
        ("status".into(), Value::Int(status)),
        ("description".into(), Value::Str(description)),
    ])
}

// ----- parameters -----

fn arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if params.len() < min || params.len() > max {
        return Err(Fault::bare(Code::IncorrectParameters));
    }
    Ok(())
}

fn string(params: &[Value], i: usize) -> Result<String, Fault> {
    match params.get(i) {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(Value::Int(n)) => Ok(n.to_string()),
        _ => Err(Fault::bare(Code::IncorrectParameters)),
    }
}

fn int(params: &[Value], i: usize) -> Result<i64, Fault> {
    match params.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        _ => Err(Fault::bare(Code::IncorrectParameters)),
    }
}

/// Python truthiness of an optional `wait`.
fn flag(params: &[Value], i: usize) -> bool {
    match params.get(i) {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(n)) => *n != 0,
        Some(Value::Str(s)) => !s.is_empty(),
        Some(Value::Double(d)) => d.bytes().any(|b| (b'1'..=b'9').contains(&b)),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Struct(s)) => !s.is_empty(),
        Some(Value::Nil) => false,
    }
}

/// A signal by name (`HUP`, `SIGHUP`, any case) or number.
fn parse_signal(text: &str) -> Option<Signal> {
    match text.trim().parse::<i32>() {
        Ok(n) => Signal::try_from(n).ok(),
        Err(_) => crate::config::parse_signal(text),
    }
}

// ----- the command checks supervisord makes before a spawn -----

/// supervisord's `get_execv_args` check: the command must exist (NO_FILE) and be an
/// executable file (NOT_EXECUTABLE), found on the program's PATH when it has no `/`.
fn check_command(instance: &Instance) -> Result<(), Fault> {
    let Some(program) = instance.argv.first() else {
        return Err(Fault::new(Code::NotExecutable, "command is empty"));
    };
    let directory = instance.directory.as_deref();
    let at = |p: &str| -> PathBuf {
        match directory {
            Some(d) if !p.starts_with('/') => d.join(p),
            _ => PathBuf::from(p),
        }
    };
    let (filename, meta) = if program.contains('/') {
        (program.clone(), std::fs::metadata(at(program)).ok())
    } else {
        let path = instance
            .environment
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        path.split(':')
            .map(|dir| format!("{dir}/{program}"))
            .find_map(|f| std::fs::metadata(at(&f)).ok().map(|m| (f, Some(m))))
            .unwrap_or((program.clone(), None))
    };
    let quoted = py_repr(&filename);
    let Some(meta) = meta else {
        return Err(Fault::new(
            Code::NoFile,
            &format!("can't find command {quoted}"),
        ));
    };
    if meta.is_dir() {
        return Err(Fault::new(
            Code::NotExecutable,
            &format!("command at {quoted} is a directory"),
        ));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Fault::new(
            Code::NotExecutable,
            &format!("command at {quoted} is not executable"),
        ));
    }
    if nix::unistd::access(at(&filename).as_path(), nix::unistd::AccessFlags::X_OK).is_err() {
        return Err(Fault::new(
            Code::NotExecutable,
            &format!("no permission to run command {quoted}"),
        ));
    }
    Ok(())
}

/// Python's `str()` of a decoded value, as supervisord words a bad parameter.
fn py_str(v: &Value) -> String {
    match v {
        Value::Int(n) => n.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Str(s) | Value::Double(s) => s.clone(),
        Value::Nil => "None".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_str).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Struct(_) => "{...}".into(),
    }
}

/// Python's `repr()` of a string, as supervisord's messages quote paths.
pub fn py_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

// ----- logs -----

/// A stream's log file as supervisord reports it (`stderr` with redirect_stderr has none).
pub fn log_path(instance: &Instance, stream: Stream) -> Option<PathBuf> {
    let redirected = instance
        .supervisord
        .as_ref()
        .is_some_and(|k| k.redirect_stderr);
    match stream {
        Stream::Stdout => instance.stdout.as_ref().map(|l| l.path.clone()),
        Stream::Stderr if redirected => None,
        Stream::Stderr => instance.stderr.as_ref().map(|l| l.path.clone()),
    }
}

fn no_file(path: Option<&Path>) -> Fault {
    match path {
        Some(p) => Fault::new(Code::NoFile, &p.display().to_string()),
        None => Fault::bare(Code::NoFile),
    }
}

/// supervisord's `readFile`: offset < 0 and length 0 is the last |offset| bytes; length 0
/// reads to the end; a negative length, or a negative offset with a length, is refused.
fn read_file(path: Option<&Path>, offset: i64, length: i64) -> Answer {
    let Some(p) = path else {
        return Err(no_file(None));
    };
    let mut file = std::fs::File::open(p).map_err(|_| no_file(path))?;
    let size = file
        .metadata()
        .map_err(|e| Fault::new(Code::Failed, &e.to_string()))?
        .len() as i64;
    if (offset < 0 && length != 0) || (offset >= 0 && length < 0) {
        return Err(Fault::bare(Code::BadArguments));
    }
    let (start, end) = if offset < 0 {
        ((size + offset).max(0), size)
    } else if length == 0 {
        (offset, size)
    } else {
        (offset, offset.saturating_add(length).min(size))
    };
    if start >= size {
        return Ok(Value::str(""));
    }
    read_range(&mut file, start, end)
}

fn read_range(file: &mut std::fs::File, start: i64, end: i64) -> Answer {
    let failed = |e: std::io::Error| Fault::new(Code::Failed, &e.to_string());
    file.seek(SeekFrom::Start(start as u64)).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take((end - start).max(0) as u64)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    // supervisord decodes strictly and fails with HTTP 500 on a cut character (its
    // issues #1485, #1693); a cut character is replaced here instead.
    Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned()))
}

/// supervisord's `tailFile`: [bytes, new offset, overflow].
fn tail_file(path: Option<&Path>, offset: i64, length: i64) -> Answer {
    let empty = || {
        Ok(Value::Array(vec![
            Value::str(""),
            Value::Int(0),
            Value::Bool(false),
        ]))
    };
    let Some(p) = path else {
        return empty();
    };
    let Ok(mut file) = std::fs::File::open(p) else {
        return empty();
    };
    if offset < 0 || length < 0 {
        return Err(Fault::bare(Code::BadArguments));
    }
    let size = file.metadata().map_or(0, |m| m.len()) as i64;
    let overflow = size > offset.saturating_add(length);
    if offset >= size {
        return Ok(Value::Array(vec![
            Value::str(""),
            Value::Int(size),
            Value::Bool(false),
        ]));
    }
    let text = read_range(&mut file, (size - length).max(0), size)?;
    Ok(Value::Array(vec![
        text,
        Value::Int(size),
        Value::Bool(overflow),
    ]))
}

/// Empties a log file in place (the pump appends to it, so writing simply continues).
fn clear_file(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(file) => file.set_len(0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

// ----- the calls -----

impl Rpc {
    /// Runs one call; a waiting one returns its [`Wait`].
    fn call(&mut self, core: &mut Core, method: &str, params: &[Value]) -> Step {
        if let Some(answer) = self.system(method, params) {
            return Step::Done(answer);
        }
        let Some(name) = method.strip_prefix("supervisor.") else {
            return Step::Done(Err(Fault::bare(Code::UnknownMethod)));
        };
        if !METHODS.iter().any(|(m, _)| *m == method) || name.starts_with('_') {
            return Step::Done(Err(Fault::bare(Code::UnknownMethod)));
        }
        // supervisord refuses everything but sendRemoteCommEvent while it stops.
        if !core.accepting() && name != "sendRemoteCommEvent" {
            if name == "signalAllProcesses" {
                let _ = self.signal_all(core, params);
            }
            return Step::Done(Err(Fault::bare(Code::ShutdownState)));
        }
        match name {
            "startProcess" => self.start_process(core, params),
            "startProcessGroup" => self.start_group(core, params),
            "startAllProcesses" => {
                if let Err(f) = arity(params, 0, 1) {
                    return Step::Done(Err(f));
                }
                let ids = core.views().map(|(id, _)| id).collect();
                self.start_many(core, ids, flag(params, 0))
            }
            "stopProcess" => self.stop_process(core, params),
            "stopProcessGroup" => self.stop_group(core, params),
            "stopAllProcesses" => {
                if let Err(f) = arity(params, 0, 1) {
                    return Step::Done(Err(f));
                }
                let ids = core.views().map(|(id, _)| id).collect();
                self.stop_many(core, ids, flag(params, 0))
            }
            _ => Step::Done(self.immediate(core, name, params)),
        }
    }

    fn system(&mut self, method: &str, params: &[Value]) -> Option<Answer> {
        let answer = match method {
            "system.listMethods" => arity(params, 0, 0)
                .map(|()| Value::Array(METHODS.iter().map(|(m, _)| Value::str(*m)).collect())),
            "system.methodHelp" => arity(params, 1, 1).and_then(|()| {
                let name = string(params, 0)?;
                METHODS
                    .iter()
                    .find(|(m, _)| *m == name)
                    .map(|(m, _)| Value::str(help(m)))
                    .ok_or_else(|| Fault::bare(Code::SignatureUnsupported))
            }),
            "system.methodSignature" => arity(params, 1, 1).and_then(|()| {
                let name = string(params, 0)?;
                METHODS
                    .iter()
                    .find(|(m, _)| *m == name)
                    .map(|(_, sig)| Value::Array(sig.iter().map(|t| Value::str(*t)).collect()))
                    .ok_or_else(|| Fault::bare(Code::SignatureUnsupported))
            }),
            m if m.starts_with("system.") && m != "system.multicall" => {
                Err(Fault::bare(Code::UnknownMethod))
            }
            _ => return None,
        };
        Some(answer)
    }

    fn immediate(&mut self, core: &mut Core, name: &str, params: &[Value]) -> Answer {
        match name {
            "getAPIVersion" | "getVersion" => arity(params, 0, 0).map(|()| Value::str(API_VERSION)),
            "getSupervisorVersion" => arity(params, 0, 0).map(|()| Value::str(SUPERVISOR_VERSION)),
            "getIdentification" => arity(params, 0, 0).map(|()| Value::Str(identifier(core))),
            "getState" => arity(params, 0, 0).map(|()| {
                Value::Struct(vec![
                    ("statecode".into(), Value::Int(1)),
                    ("statename".into(), Value::str("RUNNING")),
                ])
            }),
            "getPID" => arity(params, 0, 0).map(|()| Value::Int(i64::from(std::process::id()))),
            "readLog" | "readMainLog" => {
                arity(params, 2, 2)?;
                let path = core.config().global.logfile.clone();
                read_file(path.as_deref(), int(params, 0)?, int(params, 1)?)
            }
            "clearLog" => {
                arity(params, 0, 0)?;
                let path = core.config().global.logfile.clone();
                let path = path.ok_or_else(|| no_file(None))?;
                clear_file(&path)
                    .map(|()| Value::Bool(true))
                    .map_err(|e| Fault::new(Code::Failed, &e.to_string()))
            }
            "shutdown" => arity(params, 0, 0).map(|()| {
                self.request = Some(LoopRequest::Shutdown);
                Value::Bool(true)
            }),
            "restart" => arity(params, 0, 0).map(|()| {
                self.request = Some(LoopRequest::Restart);
                Value::Bool(true)
            }),
            "reloadConfig" => arity(params, 0, 0).and_then(|()| self.reload_config(core)),
            "addProcessGroup" => {
                arity(params, 1, 1)?;
                self.add_group(core, &string(params, 0)?)
            }
            "removeProcessGroup" => {
                arity(params, 1, 1)?;
                remove_group(core, &string(params, 0)?)
            }
            "signalProcess" => {
                arity(params, 2, 2)?;
                let name = string(params, 0)?;
                let sig = string(params, 1)?;
                match resolve(core, &name)? {
                    Target::Group(ids) => Ok(Value::Array(signal_many(core, &ids, &sig))),
                    Target::Process(id) => {
                        let signal =
                            parse_signal(&sig).ok_or_else(|| Fault::new(Code::BadSignal, &sig))?;
                        signal_one(core, id, &name, signal)
                    }
                }
            }
            "signalProcessGroup" => {
                arity(params, 2, 2)?;
                let name = string(params, 0)?;
                let ids =
                    group_members(core, &name).ok_or_else(|| Fault::new(Code::BadName, &name))?;
                let sig = string(params, 1)?;
                Ok(Value::Array(signal_many(core, &ids, &sig)))
            }
            "signalAllProcesses" => self.signal_all(core, params),
            "getProcessInfo" => {
                arity(params, 1, 1)?;
                let id = process(core, &string(params, 0)?)?;
                Ok(self.process_info(core, id))
            }
            "getAllProcessInfo" => {
                arity(params, 0, 0)?;
                Ok(Value::Array(
                    sorted_ids(core)
                        .into_iter()
                        .map(|id| self.process_info(core, id))
                        .collect(),
                ))
            }
            "getAllConfigInfo" => {
                arity(params, 0, 0).map(|()| all_config_info(core, self.parsed.as_ref()))
            }
            "readProcessLog" | "readProcessStdoutLog" | "readProcessStderrLog" => {
                arity(params, 3, 3)?;
                let id = process(core, &string(params, 0)?)?;
                let stream = stream_of(name);
                let path = core.instance(id).and_then(|i| log_path(i, stream));
                read_file(path.as_deref(), int(params, 1)?, int(params, 2)?)
            }
            "tailProcessLog" | "tailProcessStdoutLog" | "tailProcessStderrLog" => {
                arity(params, 3, 3)?;
                let id = process(core, &string(params, 0)?)?;
                let stream = stream_of(name);
                let path = core.instance(id).and_then(|i| log_path(i, stream));
                tail_file(path.as_deref(), int(params, 1)?, int(params, 2)?)
            }
            "clearProcessLog" | "clearProcessLogs" => {
                arity(params, 1, 1)?;
                let name = string(params, 0)?;
                let id = process(core, &name)?;
                clear_logs(core, id).map_err(|_| Fault::new(Code::Failed, &name))?;
                Ok(Value::Bool(true))
            }
            "clearAllProcessLogs" => {
                arity(params, 0, 0)?;
                let ids: Vec<Id> = core.views().map(|(id, _)| id).collect();
                Ok(Value::Array(
                    ids.into_iter()
                        .map(|id| {
                            let outcome = clear_logs(core, id).map(|()| Value::Bool(true));
                            let outcome = outcome.map_err(|_| {
                                let name = core.view(id).map(|v| v.name.to_string());
                                Fault::new(Code::Failed, &name.unwrap_or_default())
                            });
                            result(core, id, &outcome)
                        })
                        .collect(),
                ))
            }
            "sendProcessStdin" => {
                arity(params, 2, 2)?;
                let name = string(params, 0)?;
                let chars = match params.get(1) {
                    Some(Value::Str(chars)) => chars,
                    Some(other) => {
                        return Err(Fault::new(Code::IncorrectParameters, &py_str(other)))
                    }
                    None => return Err(Fault::bare(Code::IncorrectParameters)),
                };
                let id = process(core, &name)?;
                let view = core.view(id);
                if view.is_none_or(|v| v.pid.is_none() || v.state == State::Stopping) {
                    return Err(Fault::new(Code::NotRunning, &name));
                }
                match core.send_stdin(id, chars.as_bytes()) {
                    Ok(()) => Ok(Value::Bool(true)),
                    Err(why) if why.starts_with("stdin is full") => {
                        Err(Fault::new(Code::Failed, &format!("{name}: {why}")))
                    }
                    Err(_) => Err(Fault::new(Code::NoFile, &name)),
                }
            }
            "sendRemoteCommEvent" => {
                arity(params, 2, 2)?;
                string(params, 0)?;
                string(params, 1)?;
                Ok(Value::Bool(true))
            }
            _ => Err(Fault::bare(Code::UnknownMethod)),
        }
    }

    fn signal_all(&mut self, core: &mut Core, params: &[Value]) -> Answer {
        arity(params, 1, 1)?;
        let sig = string(params, 0)?;
        let ids = sorted_ids(core);
        Ok(Value::Array(signal_many(core, &ids, &sig)))
    }

    pub fn process_info(&self, core: &Core, id: Id) -> Value {
        let (Some(view), Some(instance)) = (core.view(id), core.instance(id)) else {
            return Value::Struct(Vec::new());
        };
        let record = self.records.get(id, view.serial);
        let (group, name) = names(instance);
        let (code, statename) = records::state_code(view.state);
        let now = records::now();
        let cap = |t: u64| Value::Int(t.min(i32::MAX as u64) as i64);
        let path = |s| log_path(instance, s).map_or_else(String::new, |p| p.display().to_string());
        let description = records::description(&view, &record, &name, now);
        Value::Struct(vec![
            ("name".into(), Value::Str(name)),
            ("group".into(), Value::Str(group)),
            ("start".into(), cap(record.start)),
            ("stop".into(), cap(record.stop)),
            ("now".into(), cap(now)),
            ("state".into(), Value::Int(code)),
            ("statename".into(), Value::str(statename)),
            ("spawnerr".into(), Value::Str(record.spawnerr.clone())),
            ("exitstatus".into(), Value::Int(record.exitstatus)),
            ("logfile".into(), Value::Str(path(Stream::Stdout))),
            ("stdout_logfile".into(), Value::Str(path(Stream::Stdout))),
            ("stderr_logfile".into(), Value::Str(path(Stream::Stderr))),
            ("pid".into(), Value::Int(i64::from(view.pid.unwrap_or(0)))),
            ("description".into(), Value::Str(description)),
        ])
    }

    // ----- start and stop -----

    fn start_process(&mut self, core: &mut Core, params: &[Value]) -> Step {
        let parsed = arity(params, 1, 2).and_then(|()| string(params, 0));
        let name = match parsed {
            Ok(name) => name,
            Err(f) => return Step::Done(Err(f)),
        };
        let wait = flag(params, 1);
        match resolve(core, &name) {
            Err(f) => Step::Done(Err(f)),
            Ok(Target::Group(ids)) => self.start_many(core, ids, wait),
            Ok(Target::Process(id)) => match start_one(core, id, &name, wait) {
                Started::Done(answer) => Step::Done(answer),
                Started::Waiting(pending) => Step::Wait(Wait {
                    pending: vec![pending],
                    array: None,
                    single: None,
                }),
            },
        }
    }

    fn start_group(&mut self, core: &mut Core, params: &[Value]) -> Step {
        let parsed = arity(params, 1, 2).and_then(|()| string(params, 0));
        let name = match parsed {
            Ok(name) => name,
            Err(f) => return Step::Done(Err(f)),
        };
        match group_members(core, &name) {
            None => Step::Done(Err(Fault::new(Code::BadName, &name))),
            Some(ids) => self.start_many(core, ids, flag(params, 1)),
        }
    }

    fn start_many(&mut self, core: &mut Core, ids: Vec<Id>, wait: bool) -> Step {
        let mut results = Vec::new();
        let mut pending = Vec::new();
        for id in ids {
            if is_running_state(state(core, id)) {
                continue;
            }
            let name = core
                .view(id)
                .map(|v| v.name.to_string())
                .unwrap_or_default();
            match start_one(core, id, &name, wait) {
                Started::Done(answer) => results.push(result(core, id, &answer)),
                Started::Waiting(p) => pending.push(p),
            }
        }
        wait_or_done(pending, results)
    }

    fn stop_process(&mut self, core: &mut Core, params: &[Value]) -> Step {
        let parsed = arity(params, 1, 2).and_then(|()| string(params, 0));
        let name = match parsed {
            Ok(name) => name,
            Err(f) => return Step::Done(Err(f)),
        };
        let wait = flag(params, 1);
        match resolve(core, &name) {
            Err(f) => Step::Done(Err(f)),
            Ok(Target::Group(ids)) => self.stop_many(core, ids, wait),
            Ok(Target::Process(id)) => {
                if !is_running_state(state(core, id)) {
                    return Step::Done(Err(Fault::new(Code::NotRunning, &name)));
                }
                match stop_one(core, id, wait) {
                    None => Step::Done(Ok(Value::Bool(true))),
                    Some(pending) => Step::Wait(Wait {
                        pending: vec![pending],
                        array: None,
                        single: None,
                    }),
                }
            }
        }
    }

    fn stop_group(&mut self, core: &mut Core, params: &[Value]) -> Step {
        let parsed = arity(params, 1, 2).and_then(|()| string(params, 0));
        let name = match parsed {
            Ok(name) => name,
            Err(f) => return Step::Done(Err(f)),
        };
        match group_members(core, &name) {
            None => Step::Done(Err(Fault::new(Code::BadName, &name))),
            Some(ids) => self.stop_many(core, ids, flag(params, 1)),
        }
    }

    fn stop_many(&mut self, core: &mut Core, ids: Vec<Id>, wait: bool) -> Step {
        let mut results = Vec::new();
        let mut pending = Vec::new();
        // supervisord goes in priority order here too (its shutdown is what reverses).
        for id in ids {
            if !is_running_state(state(core, id)) {
                continue;
            }
            match stop_one(core, id, wait) {
                None => results.push(result(core, id, &Ok(Value::Bool(true)))),
                Some(p) => pending.push(p),
            }
        }
        wait_or_done(pending, results)
    }

    // ----- reread, add, remove -----

    fn reload_config(&mut self, core: &mut Core) -> Answer {
        let path = core.config_path().to_path_buf();
        let new =
            crate::config::load(&path).map_err(|e| Fault::new(Code::CantReread, &e.to_string()))?;
        let old = core.config();
        let members = |c: &Config, g: &str| -> Vec<crate::config::Program> {
            let group = c.groups.iter().find(|x| x.name == g);
            c.programs
                .iter()
                .filter(|p| group.is_some_and(|x| x.programs.contains(&p.name)))
                .cloned()
                .collect()
        };
        let mut added = Vec::new();
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for group in &new.groups {
            match old.groups.iter().find(|g| g.name == group.name) {
                None => added.push(Value::str(group.name.clone())),
                Some(_) if members(old, &group.name) != members(&new, &group.name) => {
                    changed.push(Value::str(group.name.clone()))
                }
                Some(_) => {}
            }
        }
        for group in &old.groups {
            if !new.groups.iter().any(|g| g.name == group.name) {
                removed.push(Value::str(group.name.clone()));
            }
        }
        self.parsed = Some(new);
        Ok(Value::Array(vec![Value::Array(vec![
            Value::Array(added),
            Value::Array(changed),
            Value::Array(removed),
        ])]))
    }

    fn add_group(&mut self, core: &mut Core, name: &str) -> Answer {
        if core.config().groups.iter().any(|g| g.name == name) {
            return Err(Fault::new(Code::AlreadyAdded, name));
        }
        let parsed = match &self.parsed {
            Some(c) => c.clone(),
            None => core.config().clone(),
        };
        core.add_group(&parsed, name)
            .map(|_| Value::Bool(true))
            .ok_or_else(|| Fault::new(Code::BadName, name))
    }
}

fn identifier(core: &Core) -> String {
    core.config()
        .global
        .daemon
        .as_ref()
        .and_then(|d| d.auto_log_cleanup.as_ref().map(|(_, id)| id.clone()))
        .unwrap_or_else(|| "supervisor".to_string())
}

fn stream_of(method: &str) -> Stream {
    if method.contains("Stderr") {
        Stream::Stderr
    } else {
        Stream::Stdout
    }
}

fn clear_logs(core: &Core, id: Id) -> std::io::Result<()> {
    let Some(instance) = core.instance(id) else {
        return Ok(());
    };
    for stream in [Stream::Stdout, Stream::Stderr] {
        if let Some(path) = log_path(instance, stream) {
            clear_file(&path)?;
        }
    }
    Ok(())
}

fn remove_group(core: &mut Core, name: &str) -> Answer {
    if !core.config().groups.iter().any(|g| g.name == name) {
        return Err(Fault::new(Code::BadName, name));
    }
    let members = core.group(name).unwrap_or_default();
    if members.iter().any(|&id| !state(core, id).is_down()) {
        return Err(Fault::new(Code::StillRunning, name));
    }
    core.remove_group(name);
    Ok(Value::Bool(true))
}

/// Instances by (group, process) name, as getAllProcessInfo lists them.
fn sorted_ids(core: &Core) -> Vec<Id> {
    let mut ids: Vec<(String, String, Id)> = core
        .views()
        .filter_map(|(id, _)| {
            let (g, p) = names(core.instance(id)?);
            Some((g, p, id))
        })
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|(_, _, id)| id).collect()
}

fn signal_one(core: &mut Core, id: Id, name: &str, signal: Signal) -> Answer {
    if !is_signallable(state(core, id)) {
        return Err(Fault::new(Code::NotRunning, name));
    }
    core.signal(id, signal);
    Ok(Value::Bool(true))
}

fn signal_many(core: &mut Core, ids: &[Id], sig: &str) -> Vec<Value> {
    let signal = parse_signal(sig);
    let mut out = Vec::new();
    for &id in ids {
        if !is_signallable(state(core, id)) {
            continue;
        }
        let outcome = match signal {
            None => Err(Fault::new(Code::BadSignal, sig)),
            Some(signal) => {
                let name = core
                    .view(id)
                    .map(|v| v.name.to_string())
                    .unwrap_or_default();
                signal_one(core, id, &name, signal)
            }
        };
        out.push(result(core, id, &outcome));
    }
    out
}

enum Started {
    Done(Answer),
    Waiting(Pending),
}

fn pending(core: &Core, id: Id, goal: Goal) -> Option<Pending> {
    let view = core.view(id)?;
    let (group, name) = core.instance(id).map(names)?;
    Some(Pending {
        id,
        serial: view.serial,
        name,
        group,
        goal,
    })
}

fn start_one(core: &mut Core, id: Id, name: &str, wait: bool) -> Started {
    if let Some(instance) = core.instance(id) {
        if let Err(f) = check_command(instance) {
            return Started::Done(Err(f));
        }
    }
    let before = state(core, id);
    if is_running_state(before) {
        return Started::Done(Err(Fault::new(Code::AlreadyStarted, name)));
    }
    if before == State::Stopping {
        // supervisord's spawn refuses a process it is still stopping.
        return Started::Done(if wait {
            Err(Fault::new(Code::AbnormalTermination, name))
        } else {
            Ok(Value::Bool(true))
        });
    }
    core.start(id);
    match state(core, id) {
        State::Running | State::Unhealthy => Started::Done(Ok(Value::Bool(true))),
        // What fails at once here (a missing directory, a user) fails in supervisord's
        // child after its fork: without waiting, its start has succeeded.
        _ if !wait => Started::Done(Ok(Value::Bool(true))),
        State::Backoff | State::Fatal => Started::Done(Err(Fault::new(Code::SpawnError, name))),
        _ => match pending(core, id, Goal::Running) {
            Some(p) => Started::Waiting(p),
            None => Started::Done(Err(Fault::new(Code::AbnormalTermination, name))),
        },
    }
}

fn stop_one(core: &mut Core, id: Id, wait: bool) -> Option<Pending> {
    core.stop(id);
    if !wait || state(core, id).is_down() {
        return None;
    }
    pending(core, id, Goal::Down)
}

fn wait_or_done(pending: Vec<Pending>, results: Vec<Value>) -> Step {
    if pending.is_empty() {
        Step::Done(Ok(Value::Array(results)))
    } else {
        Step::Wait(Wait {
            pending,
            array: Some(results),
            single: None,
        })
    }
}

impl Wait {
    /// Judges the waiting instances again; true once all have settled.
    fn settle(&mut self, core: &Core) -> bool {
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i];
            let view = core.view(p.id).filter(|v| v.serial == p.serial);
            let full = if p.group == p.name {
                p.name.clone()
            } else {
                format!("{}:{}", p.group, p.name)
            };
            let outcome: Option<Answer> = match (p.goal, view.map(|v| v.state)) {
                (Goal::Running, Some(State::Running | State::Unhealthy)) => {
                    Some(Ok(Value::Bool(true)))
                }
                (Goal::Running, Some(State::Starting)) => None,
                (Goal::Running, Some(State::Backoff | State::Fatal)) => {
                    Some(Err(Fault::new(Code::SpawnError, &full)))
                }
                (Goal::Running, _) => Some(Err(Fault::new(Code::AbnormalTermination, &full))),
                (Goal::Down, Some(s)) if !s.is_down() => None,
                (Goal::Down, _) => Some(Ok(Value::Bool(true))),
            };
            match outcome {
                None => i += 1,
                Some(answer) => {
                    let p = self.pending.remove(i);
                    match &mut self.array {
                        Some(results) => {
                            results.push(result_named(p.name, p.group, &answer));
                        }
                        None => self.single = Some(answer),
                    }
                }
            }
        }
        self.pending.is_empty()
    }

    fn answer(self) -> Answer {
        match self.array {
            Some(results) => Ok(Value::Array(results)),
            None => self.single.unwrap_or(Ok(Value::Bool(true))),
        }
    }
}

impl Job {
    pub fn new(call: Call) -> Job {
        let mut calls = VecDeque::new();
        let mut multi = false;
        if call.method == "system.multicall" {
            multi = true;
            match call.params.as_slice() {
                [Value::Array(list)] => {
                    for entry in list {
                        calls.push_back(multicall_entry(entry));
                    }
                }
                _ => {
                    multi = false;
                    calls.push_back(Err(Fault::bare(Code::IncorrectParameters)));
                }
            }
        } else {
            calls.push_back(Ok(call));
        }
        Job {
            calls,
            multi,
            results: Vec::new(),
            last: None,
            wait: None,
        }
    }

    /// Runs calls until one waits; the reply body once every call has its answer.
    pub fn run(&mut self, rpc: &mut Rpc, core: &mut Core) -> Option<String> {
        if let Some(wait) = self.wait.as_mut() {
            if !wait.settle(core) {
                return None;
            }
            if let Some(wait) = self.wait.take() {
                self.record(wait.answer());
            }
        }
        while let Some(call) = self.calls.pop_front() {
            let step = match call {
                Err(fault) => Step::Done(Err(fault)),
                Ok(call) => rpc.call(core, &call.method, &call.params),
            };
            match step {
                Step::Done(answer) => self.record(answer),
                Step::Wait(mut wait) => {
                    if wait.settle(core) {
                        self.record(wait.answer());
                    } else {
                        self.wait = Some(wait);
                        return None;
                    }
                }
            }
        }
        Some(self.reply())
    }

    /// Whether the notifications concern what this job waits for.
    pub fn concerns(&self, notes: &[Notification]) -> bool {
        let Some(wait) = &self.wait else {
            return false;
        };
        notes.iter().any(|n| match n {
            Notification::State { id, .. } | Notification::Removed { id } => {
                wait.pending.iter().any(|p| p.id == *id)
            }
            _ => false,
        })
    }

    fn record(&mut self, answer: Answer) {
        if self.multi {
            self.results.push(match answer {
                Ok(v) => v,
                Err(f) => f.to_struct(),
            });
        } else {
            self.last = Some(answer);
        }
    }

    fn reply(&mut self) -> String {
        if self.multi {
            return super::xmlrpc::response(&Value::Array(std::mem::take(&mut self.results)));
        }
        match self.last.take() {
            Some(Ok(v)) => super::xmlrpc::response(&v),
            Some(Err(f)) => super::xmlrpc::fault_response(&f),
            None => super::xmlrpc::response(&Value::Bool(true)),
        }
    }
}

fn multicall_entry(entry: &Value) -> Result<Call, Fault> {
    let Some(method) = entry.get("methodName").and_then(Value::as_str) else {
        return Err(Fault::new(Code::IncorrectParameters, "No methodName"));
    };
    if method == "system.multicall" {
        return Err(Fault::new(
            Code::IncorrectParameters,
            "Recursive system.multicall forbidden",
        ));
    }
    let params = match entry.get("params") {
        Some(Value::Array(p)) => p.clone(),
        None => Vec::new(),
        Some(_) => return Err(Fault::new(Code::IncorrectParameters, "No params")),
    };
    Ok(Call {
        method: method.to_string(),
        params,
    })
}

/// getAllConfigInfo: every process of the config read last (`reloadConfig`'s, else the
/// running one), by name; `inuse` says whether its group is in the table.
fn all_config_info(core: &Core, parsed: Option<&Config>) -> Value {
    let config = parsed.unwrap_or(core.config());
    let supervisord = config.dialect == Dialect::Supervisord;
    let mut out: Vec<(String, Value)> = Vec::new();
    for program in &config.programs {
        for index in 0..program.numprocs {
            let instance = program.instance(index);
            let command = program.instance_command(index);
            out.push(config_info(core, config, &instance, command, supervisord));
        }
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Value::Array(out.into_iter().map(|(_, v)| v).collect())
}

fn config_info(
    core: &Core,
    config: &Config,
    instance: &Instance,
    command: String,
    supervisord: bool,
) -> (String, Value) {
    let (group, name) = names(instance);
    let inuse = core.config().groups.iter().any(|g| g.name == group);
    let keys = instance.supervisord.as_ref();
    let process_prio = keys.map_or(999, |k| k.priority);
    let group_prio = config
        .groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.priority)
        .unwrap_or(process_prio);
    // supervisord reports the size and count keys even for a NONE log (its defaults
    // here: the file is not kept).
    let log = |l: &Option<crate::config::LogFile>, k: &str| -> Value {
        match (l, k) {
            (Some(l), "path") => Value::Str(l.path.display().to_string()),
            (Some(l), "maxbytes") => Value::Int(l.maxbytes as i64),
            (Some(l), _) => Value::Int(i64::from(l.backups)),
            (None, "path") => Value::str("none"),
            (None, "maxbytes") => Value::Int(50 * 1024 * 1024),
            (None, _) => Value::Int(10),
        }
    };
    let uid = instance
        .credentials
        .as_ref()
        .map_or(Value::str("none"), |c| {
            Value::Int(i64::from(c.uid.as_raw()))
        });
    let directory = instance
        .directory
        .as_ref()
        .map_or_else(|| "none".to_string(), |d| d.display().to_string());
    let exitcodes = keys.map_or(vec![0], |k| k.exitcodes.clone());
    let mut fields = vec![
        ("autostart".to_string(), Value::Bool(instance.autostart)),
        ("command".into(), Value::Str(command)),
        ("directory".into(), Value::Str(directory)),
        (
            "exitcodes".into(),
            Value::Array(
                exitcodes
                    .into_iter()
                    .map(|c| Value::Int(i64::from(c)))
                    .collect(),
            ),
        ),
        ("group".into(), Value::Str(group)),
        ("group_prio".into(), Value::Int(group_prio)),
        ("inuse".into(), Value::Bool(inuse)),
        (
            "killasgroup".into(),
            Value::Bool(keys.map_or(!supervisord, |k| k.killasgroup)),
        ),
        ("name".into(), Value::Str(name.clone())),
        ("process_prio".into(), Value::Int(process_prio)),
        (
            "redirect_stderr".into(),
            Value::Bool(keys.is_some_and(|k| k.redirect_stderr)),
        ),
        ("serverurl".into(), Value::str("none")),
        (
            "startretries".into(),
            Value::Int(i64::from(instance.startretries)),
        ),
        (
            "startsecs".into(),
            Value::Int(instance.startsecs.as_secs() as i64),
        ),
        ("stopsignal".into(), Value::Int(instance.stopsignal as i64)),
        (
            "stopwaitsecs".into(),
            Value::Int(instance.stopwaitsecs.as_secs() as i64),
        ),
        ("uid".into(), uid),
    ];
    let syslog = [
        keys.is_some_and(|k| k.stdout_syslog),
        keys.is_some_and(|k| k.stderr_syslog),
    ];
    for ((prefix, l), syslog) in [("stdout", &instance.stdout), ("stderr", &instance.stderr)]
        .into_iter()
        .zip(syslog)
    {
        fields.push((format!("{prefix}_capture_maxbytes"), Value::Int(0)));
        fields.push((format!("{prefix}_events_enabled"), Value::Bool(false)));
        fields.push((format!("{prefix}_logfile"), log(l, "path")));
        fields.push((format!("{prefix}_logfile_backups"), log(l, "backups")));
        fields.push((format!("{prefix}_logfile_maxbytes"), log(l, "maxbytes")));
        fields.push((format!("{prefix}_syslog"), Value::Bool(syslog)));
    }
    fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    (name, Value::Struct(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs_quote_as_python_does() {
        assert_eq!(py_repr("/bin/x"), "'/bin/x'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\nb"), "'a\\nb'");
    }

    #[test]
    fn methods_are_sorted_and_complete() {
        let names: Vec<&str> = METHODS.iter().map(|(m, _)| *m).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 41);
        assert!(
            names.iter().all(|m| !help(m).is_empty()),
            "a method without help"
        );
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("HUP"), Some(Signal::SIGHUP));
        assert_eq!(parse_signal("sigusr1"), Some(Signal::SIGUSR1));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("BOGUS"), None);
    }

    #[test]
    fn multicall_entries_are_checked() {
        let entry = Value::Struct(vec![("methodName".into(), Value::str("system.multicall"))]);
        assert_eq!(
            multicall_entry(&entry).unwrap_err().text,
            "INCORRECT_PARAMETERS: Recursive system.multicall forbidden"
        );
        assert_eq!(
            multicall_entry(&Value::Struct(vec![])).unwrap_err().text,
            "INCORRECT_PARAMETERS: No methodName"
        );
    }
}
