//! supervisorctl's commands over XML-RPC, with its output and exit statuses
//! (supervisor 4.3.0 `supervisorctl.py`; ../SUPERVISORD.md §5), so that scripts written
//! for supervisorctl read the same lines and statuses from `supervicectl`, against
//! supervisord itself or against supervice.
//!
//! Where supervisorctl lets a Python exception escape (it prints
//! `error: <class 'X'>, V: file: F line: L`), this prints `error: <class 'X'>, V`: the same
//! line without a source position it does not have.

use std::io::{self, BufRead, IsTerminal, Write};

use serde_json::{json, Value as Json};

use super::http::{Client, HttpError, Server};
use crate::frontend::http::xmlrpc::Value;

/// supervisorctl's exit statuses (`LSBInitExitStatuses`, `LSBStatusExitStatuses`).
pub mod exit {
    pub const GENERIC: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED_FEATURE: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_RUNNING: i32 = 7;
    pub const STATUS_NOT_RUNNING: i32 = 3;
    pub const STATUS_UNKNOWN: i32 = 4;
}

/// supervisord's fault codes the commands tell apart.
mod fault {
    pub const UNKNOWN_METHOD: i64 = 1;
    pub const SHUTDOWN_STATE: i64 = 6;
    pub const BAD_NAME: i64 = 10;
    pub const BAD_SIGNAL: i64 = 11;
    pub const NO_FILE: i64 = 20;
    pub const NOT_EXECUTABLE: i64 = 21;
    pub const FAILED: i64 = 30;
    pub const ABNORMAL_TERMINATION: i64 = 40;
    pub const SPAWN_ERROR: i64 = 50;
    pub const ALREADY_STARTED: i64 = 60;
    pub const NOT_RUNNING: i64 = 70;
    pub const SUCCESS: i64 = 80;
    pub const ALREADY_ADDED: i64 = 90;
    pub const STILL_RUNNING: i64 = 91;
    pub const CANT_REREAD: i64 = 92;
}

/// The API version supervisorctl insists on.
const API_VERSION: &str = "3.0";

/// Every command, in `help`'s order (sorted, as Python's `cmd` lists them).
pub const COMMANDS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail",
    "update", "version",
];

/// What escaped a command: supervisorctl's uncaught exceptions.
#[derive(Debug)]
pub enum Raised {
    Fault(i64, String),
    Http(HttpError),
    /// supervisorctl's `ValueError` (an unknown result code).
    Value(String),
}

impl From<HttpError> for Raised {
    fn from(e: HttpError) -> Raised {
        Raised::Http(e)
    }
}

type Outcome = Result<(), Raised>;

/// The connection and the state of one `supervicectl` run (one command, or a shell).
pub struct Ctl {
    client: Client,
    /// The server URL as the user gave it (messages quote it).
    url: String,
    json: bool,
    pub exit: i32,
    results: Vec<Json>,
    messages: Vec<String>,
    /// Text not yet written: one write per command, not one per line.
    pending: String,
    /// The command running (messages name it).
    command: String,
}

fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// `group:*` and `group:` name a group; `name` is group `name`'s process `name`.
fn split_namespec(spec: &str) -> (String, Option<String>) {
    match spec.split_once(':') {
        Some((group, "" | "*")) => (group.to_string(), None),
        Some((group, process)) => (group.to_string(), Some(process.to_string())),
        None => (spec.to_string(), Some(spec.to_string())),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int(v: &Value, key: &str) -> i64 {
    match v.get(key) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    }
}

fn truthy(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(i)) => *i != 0,
        _ => false,
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        _ => &[],
    }
}

/// An XML-RPC value as JSON.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Int(i) => json!(i),
        Value::Bool(b) => json!(b),
        Value::Str(s) => json!(s),
        Value::Double(d) => d.parse::<f64>().map_or(json!(d), |f| json!(f)),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Struct(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Nil => Json::Null,
    }
}

/// A result struct made from a fault, as supervisorctl makes one for a single name.
fn fault_result(code: i64, text: &str, spec: &str) -> Value {
    let (group, process) = split_namespec(spec);
    Value::Struct(vec![
        ("name".into(), Value::str(process.unwrap_or_default())),
        ("group".into(), Value::str(group)),
        ("status".into(), Value::Int(code)),
        ("description".into(), Value::str(text)),
    ])
}

fn success_result(spec: &str) -> Value {
    fault_result(fault::SUCCESS, "OK", spec)
}

fn is_dead(code: i64) -> bool {
    matches!(
        code,
        fault::SPAWN_ERROR | fault::ABNORMAL_TERMINATION | fault::NOT_RUNNING
    )
}

/// Python's `cmd.columnize`: the fewest rows whose columns fit in `width`.
fn columnize(list: &[&str], width: usize) -> Vec<String> {
    let size = list.len();
    if size <= 1 {
        return list.iter().map(|s| s.to_string()).collect();
    }
    let (mut rows, mut widths) = (size, vec![0]);
    for nrows in 1..size {
        let ncols = size.div_ceil(nrows);
        let mut colwidths = Vec::new();
        let mut total: isize = -2;
        for col in 0..ncols {
            let w = (0..nrows)
                .map(|row| row + nrows * col)
                .take_while(|&i| i < size)
                .map(|i| list[i].len())
                .max()
                .unwrap_or(0);
            colwidths.push(w);
            total += w as isize + 2;
            if total > width as isize {
                break;
            }
        }
        if total <= width as isize {
            rows = nrows;
            widths = colwidths;
            break;
        }
    }
    let cols = if rows == size { 1 } else { size.div_ceil(rows) };
    (0..rows)
        .map(|row| {
            let mut texts: Vec<&str> = (0..cols)
                .map(|col| list.get(row + rows * col).copied().unwrap_or(""))
                .collect();
            while texts.last() == Some(&"") {
                texts.pop();
            }
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{t:<w$}", w = widths.get(i).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect()
}

/// `help CMD`'s text (supervisorctl's words).
fn help_text(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "add" => "add <name> [...]\tActivates any updates in config for process/group",
        "avail" => "avail\t\t\tDisplay all configured processes",
        "clear" => "clear <name>\t\tClear a process' log files.\nclear <name> <name>\tClear multiple process' log files\nclear all\t\tClear all process' log files",
        "exit" => "exit\tExit the supervisor shell.",
        "fg" => "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit",
        "help" => "help\t\tPrint a list of available actions\nhelp <action>\tPrint help for <action>",
        "maintail" => "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\nmaintail -100\tlast 100 *bytes* of supervisord main log file\nmaintail\tlast 1600 *bytes* of supervisor main log file\n",
        "open" => "open <url>\tConnect to a remote supervisord process.\n\t\t(for UNIX domain socket, use unix:///socket/path)",
        "pid" => "pid\t\t\tGet the PID of supervisord.\npid <name>\t\tGet the PID of a single child process by name.\npid all\t\t\tGet the PID of every child process, one per line.",
        "quit" => "quit\tExit the supervisor shell.",
        "reload" => "reload \t\tRestart the remote supervisord.",
        "remove" => "remove <name> [...]\tRemoves process/group from active config",
        "reread" => "reread \t\t\tReload the daemon's configuration files without add/remove",
        "restart" => "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update.",
        "shutdown" => "shutdown \tShut the remote supervisord down.",
        "signal" => "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes",
        "start" => "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes",
        "status" => "status <name>\t\tGet status for a single process\nstatus <gname>:*\tGet status for all processes in a group\nstatus <name> <name>\tGet status for multiple named processes\nstatus\t\t\tGet all process status info",
        "stop" => "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes",
        "tail" => "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tlast 100 *bytes* of process stdout\ntail <name> stderr\tlast 1600 *bytes* of process stderr",
        "update" => "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate all\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate <gname> [...]\tUpdate specific groups",
        "version" => "version\t\t\tShow the version of the remote supervisord process",
        _ => return None,
    })
}

/// What a shell line asks for after it ran.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    Continue,
    Quit,
}

impl Ctl {
    pub fn new(client: Client, url: String, json: bool) -> Ctl {
        Ctl {
            client,
            url,
            json,
            exit: 0,
            results: Vec::new(),
            messages: Vec::new(),
            pending: String::new(),
            command: String::new(),
        }
    }

    fn out(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.json {
            self.messages.push(line);
        } else {
            self.pending.push_str(&line);
            self.pending.push('\n');
        }
    }

    /// Writes the text so far (at the end of each command, and before a follow).
    pub fn flush(&mut self) {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(self.pending.as_bytes());
        let _ = stdout.flush();
        self.pending.clear();
    }

    /// Keeps a result for `--json` (built only then).
    fn result(&mut self, v: impl FnOnce() -> Json) {
        if self.json {
            self.results.push(v());
        }
    }

    /// The JSON document of everything run so far (`--json`).
    pub fn json_document(&mut self) -> Json {
        json!({
            "exit": self.exit,
            "results": std::mem::take(&mut self.results),
            "messages": std::mem::take(&mut self.messages),
        })
    }

    fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, Raised> {
        match self.client.call(method, params)? {
            Ok(v) => Ok(v),
            Err((code, text)) => Err(Raised::Fault(code, text)),
        }
    }

    fn set_exit_from_fault(&mut self, code: i64, ignored: Option<i64>) {
        if code == fault::SUCCESS || Some(code) == ignored {
        } else if is_dead(code) {
            self.exit = exit::NOT_RUNNING;
        } else {
            self.exit = exit::GENERIC;
        }
    }

    /// Runs one command line (words as split by the shell); prints its output.
    pub fn run(&mut self, words: &[String]) -> After {
        let Some((cmd, args)) = words.split_first() else {
            return After::Continue;
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.command.clone_from(cmd);
        let outcome = match cmd.as_str() {
            "status" => self.status(&args),
            "start" => self.start(&args),
            "stop" => self.stop(&args),
            "restart" => self.restart(&args),
            "signal" => self.signal(&args),
            "pid" => self.pid(&args),
            "tail" => self.tail(&args),
            "maintail" => self.maintail(&args),
            "clear" => self.clear(&args),
            "avail" => self.avail(&args),
            "reread" => self.reread(&args),
            "update" => self.update(&args),
            "add" => self.add(&args),
            "remove" => self.remove(&args),
            "shutdown" => self.shutdown(&args),
            "reload" => self.reload(&args),
            "version" => self.version(&args),
            "open" => self.open(&args),
            "fg" => self.fg(&args),
            "help" => {
                self.help(&args);
                Ok(())
            }
            "quit" | "exit" | "EOF" => return After::Quit,
            _ => {
                self.out(format!("*** Unknown syntax: {}", words.join(" ")));
                self.exit = exit::GENERIC;
                self.flush();
                return After::Continue;
            }
        };
        if let Err(raised) = outcome {
            self.report(raised);
        }
        self.flush();
        After::Continue
    }

    fn report(&mut self, raised: Raised) {
        self.exit = exit::GENERIC;
        let line = match raised {
            Raised::Fault(code, text) => format!(
                "error: <class 'xmlrpc.client.Fault'>, <Fault {code}: {}>",
                crate::frontend::http::py_repr(&text)
            ),
            Raised::Value(text) => format!("error: <class 'ValueError'>, {text}"),
            Raised::Http(HttpError::Status(401, reason)) => {
                self.out("Server requires authentication");
                format!(
                    "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 {reason}>"
                )
            }
            Raised::Http(HttpError::Status(code, reason)) => format!(
                "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: {code} {reason}>"
            ),
            Raised::Http(HttpError::Connect(e) | HttpError::Io(e)) => {
                let class = match e.kind() {
                    io::ErrorKind::ConnectionRefused => "ConnectionRefusedError",
                    io::ErrorKind::NotFound => "FileNotFoundError",
                    io::ErrorKind::PermissionDenied => "PermissionError",
                    io::ErrorKind::ConnectionReset => "ConnectionResetError",
                    io::ErrorKind::BrokenPipe => "BrokenPipeError",
                    _ => "OSError",
                };
                format!("error: <class '{class}'>, {}", crate::os_error_text(&e))
            }
            Raised::Http(HttpError::Timeout) => {
                format!("error: <class 'TimeoutError'>, no reply from {} in time (--timeout)", self.url)
            }
            Raised::Http(HttpError::NotHttp) => format!(
                "supervicectl: the daemon at {} does not answer {}: it speaks only Supervice \
                 0.4's protocol",
                self.url, self.command
            ),
            Raised::Http(HttpError::Protocol(text)) => {
                format!("error: <class 'xmlrpc.client.ProtocolError'>, {text}")
            }
        };
        self.out(line);
    }

    /// supervisorctl's `upcheck`: the server speaks API 3.0, else a message and a status.
    fn upcheck(&mut self) -> Result<bool, Raised> {
        match self.client.call("supervisor.getVersion", &[]) {
            Ok(Ok(Value::Str(v))) if v == API_VERSION => Ok(true),
            Ok(Ok(v)) => {
                let shown = match &v {
                    Value::Str(s) => s.clone(),
                    other => format!("{:?}", to_json(other)),
                };
                self.out(format!(
                    "Sorry, this version of supervisorctl expects to talk to a server with API \
                     version {API_VERSION}, but the remote version is {shown}."
                ));
                self.exit = exit::NOT_INSTALLED;
                Ok(false)
            }
            Ok(Err((fault::UNKNOWN_METHOD, _))) => {
                self.out(
                    "Sorry, supervisord responded but did not recognize the supervisor namespace \
                     commands that supervisorctl uses to control it.  Please check that the \
                     [rpcinterface:supervisor] section is enabled in the configuration file \
                     (see sample.conf).",
                );
                self.exit = exit::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Ok(Err((code, text))) => Err(Raised::Fault(code, text)),
            Err(HttpError::Connect(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                self.out(format!("{} refused connection", self.url));
                self.exit = exit::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(HttpError::Connect(e)) if e.kind() == io::ErrorKind::NotFound => {
                self.out(format!("{} no such file", self.url));
                self.exit = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => Err(Raised::Http(e)),
        }
    }

    fn status(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            self.exit = exit::STATUS_UNKNOWN;
            return Ok(());
        }
        let all = self.call("supervisor.getAllProcessInfo", &[])?;
        let all = items(&all);
        let mut matching: Vec<&Value> = Vec::new();
        if names.is_empty() || names.contains(&"all") {
            matching.extend(all);
        } else {
            for name in names {
                let (group, process) = split_namespec(name);
                let before = matching.len();
                matching.extend(all.iter().filter(|info| {
                    text(info, "group") == group
                        && process.as_deref().is_none_or(|p| text(info, "name") == p)
                }));
                if matching.len() == before {
                    match process {
                        None => self.out(format!("{group}: ERROR (no such group)")),
                        Some(_) => self.out(format!("{name}: ERROR (no such process)")),
                    }
                    self.exit = exit::STATUS_UNKNOWN;
                }
            }
        }
        let specs: Vec<String> = matching
            .iter()
            .map(|i| namespec(text(i, "group"), text(i, "name")))
            .collect();
        let width = specs.iter().map(String::len).max().unwrap_or(0).max(30) + 3;
        for (info, spec) in matching.iter().zip(&specs) {
            let line = format!(
                "{spec:<width$}{:<10}{}",
                text(info, "statename"),
                text(info, "description")
            );
            self.out(line);
            self.result(|| to_json(info));
        }
        // STOPPED_STATES: STOPPED, EXITED, FATAL, UNKNOWN.
        if matching
            .iter()
            .any(|i| matches!(int(i, "state"), 0 | 100 | 200 | 1000))
        {
            self.exit = exit::STATUS_NOT_RUNNING;
        }
        Ok(())
    }

    fn start_line(&self, result: &Value) -> Result<String, Raised> {
        let name = namespec(text(result, "group"), text(result, "name"));
        let why = match int(result, "status") {
            fault::SUCCESS => return Ok(format!("{name}: started")),
            fault::BAD_NAME => "no such process",
            fault::NO_FILE => "no such file",
            fault::NOT_EXECUTABLE => "file is not executable",
            fault::ALREADY_STARTED => "already started",
            fault::SPAWN_ERROR => "spawn error",
            fault::ABNORMAL_TERMINATION => "abnormal termination",
            code => {
                return Err(Raised::Value(format!(
                    "Unknown result code {code} for {name}"
                )))
            }
        };
        Ok(format!("{name}: ERROR ({why})"))
    }

    fn signal_line(result: &Value, success: &str) -> Result<String, Raised> {
        let name = namespec(text(result, "group"), text(result, "name"));
        let why = match int(result, "status") {
            fault::SUCCESS => return Ok(format!("{name}: {success}")),
            fault::FAILED => return Ok(text(result, "description").to_string()),
            fault::BAD_NAME => "no such process",
            fault::BAD_SIGNAL => "bad signal name",
            fault::NOT_RUNNING => "not running",
            code => {
                return Err(Raised::Value(format!(
                    "Unknown result code {code} for {name}"
                )))
            }
        };
        Ok(format!("{name}: ERROR ({why})"))
    }

    /// Prints each result of a start/stop/signal/clear and sets the status from it.
    fn results(
        &mut self,
        results: &[Value],
        line: &dyn Fn(&Ctl, &Value) -> Result<String, Raised>,
        ignored: Option<i64>,
    ) -> Outcome {
        for r in results {
            let text = line(self, r)?;
            self.out(text);
            self.result(|| to_json(r));
            self.set_exit_from_fault(int(r, "status"), ignored);
        }
        Ok(())
    }

    fn start(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if names.is_empty() {
            self.out("Error: start requires a process name");
            self.exit = exit::INVALID_ARGS;
            self.help(&["start"]);
            return Ok(());
        }
        let line = |ctl: &Ctl, r: &Value| ctl.start_line(r);
        let ignored = Some(fault::ALREADY_STARTED);
        if names.contains(&"all") {
            let results = self.call("supervisor.startAllProcesses", &[])?;
            return self.results(items(&results), &line, ignored);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            if process.is_none() {
                match self.call("supervisor.startProcessGroup", &[Value::str(&group)]) {
                    Ok(results) => self.results(items(&results), &line, ignored)?,
                    Err(Raised::Fault(fault::BAD_NAME, _)) => {
                        self.out(format!("{group}: ERROR (no such group)"));
                        self.exit = exit::INVALID_ARGS;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                let r = match self.call("supervisor.startProcess", &[Value::str(*name)]) {
                    Ok(_) => success_result(name),
                    Err(Raised::Fault(code, text)) => fault_result(code, &text, name),
                    Err(e) => return Err(e),
                };
                self.results(&[r], &line, ignored)?;
            }
        }
        Ok(())
    }

    fn stop(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if names.is_empty() {
            self.out("Error: stop requires a process name");
            self.exit = exit::GENERIC;
            self.help(&["stop"]);
            return Ok(());
        }
        let line = |_: &Ctl, r: &Value| Ctl::signal_line(r, "stopped");
        let ignored = Some(fault::NOT_RUNNING);
        if names.contains(&"all") {
            let results = self.call("supervisor.stopAllProcesses", &[])?;
            return self.results(items(&results), &line, ignored);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            if process.is_none() {
                match self.call("supervisor.stopProcessGroup", &[Value::str(&group)]) {
                    Ok(results) => self.results(items(&results), &line, ignored)?,
                    Err(Raised::Fault(fault::BAD_NAME, _)) => {
                        self.exit = exit::GENERIC;
                        self.out(format!("{group}: ERROR (no such group)"));
                    }
                    Err(e) => {
                        self.exit = exit::GENERIC;
                        return Err(e);
                    }
                }
            } else {
                let r = match self.call("supervisor.stopProcess", &[Value::str(*name)]) {
                    Ok(_) => fault_result(fault::SUCCESS, "OK", name),
                    Err(Raised::Fault(code, text)) => fault_result(code, &text, name),
                    Err(e) => return Err(e),
                };
                self.results(&[r], &line, ignored)?;
            }
        }
        Ok(())
    }

    fn restart(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if names.is_empty() {
            self.out("Error: restart requires a process name");
            self.exit = exit::GENERIC;
            self.help(&["restart"]);
            return Ok(());
        }
        self.stop(names)?;
        self.start(names)
    }

    fn signal(&mut self, args: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let [sig, names @ ..] = args else {
            return self.signal_usage();
        };
        if names.is_empty() {
            return self.signal_usage();
        }
        let line = |_: &Ctl, r: &Value| Ctl::signal_line(r, "signalled");
        if names.contains(&"all") {
            let results = self.call("supervisor.signalAllProcesses", &[Value::str(*sig)])?;
            return self.results(items(&results), &line, None);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            if process.is_none() {
                let params = [Value::str(&group), Value::str(*sig)];
                match self.call("supervisor.signalProcessGroup", &params) {
                    Ok(results) => self.results(items(&results), &line, None)?,
                    Err(Raised::Fault(fault::BAD_NAME, _)) => {
                        self.out(format!("{group}: ERROR (no such group)"));
                        self.exit = exit::GENERIC;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                let params = [Value::str(*name), Value::str(*sig)];
                let r = match self.call("supervisor.signalProcess", &params) {
                    Ok(_) => success_result(name),
                    Err(Raised::Fault(code, text)) => fault_result(code, &text, name),
                    Err(e) => return Err(e),
                };
                self.results(&[r], &line, None)?;
            }
        }
        Ok(())
    }

    fn signal_usage(&mut self) -> Outcome {
        self.out("Error: signal requires a signal name and a process name");
        self.help(&["signal"]);
        self.exit = exit::GENERIC;
        Ok(())
    }

    fn pid(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if names.is_empty() {
            let pid = self.call("supervisor.getPID", &[])?;
            self.out(int_text(&pid));
            self.result(|| json!({"pid": to_json(&pid)}));
        } else if names.contains(&"all") {
            let all = self.call("supervisor.getAllProcessInfo", &[])?;
            for info in items(&all) {
                self.out(int(info, "pid").to_string());
                self.result(|| json!({"name": namespec(text(info, "group"), text(info, "name")), "pid": int(info, "pid")}));
            }
        } else {
            for name in names {
                match self.call("supervisor.getProcessInfo", &[Value::str(*name)]) {
                    Ok(info) => {
                        let pid = int(&info, "pid");
                        self.out(pid.to_string());
                        self.result(|| json!({"name": name, "pid": pid}));
                        if pid == 0 {
                            self.exit = exit::NOT_RUNNING;
                        }
                    }
                    Err(Raised::Fault(fault::BAD_NAME, _)) => {
                        self.exit = exit::GENERIC;
                        self.out(format!("No such process {name}"));
                    }
                    Err(e) => {
                        self.exit = exit::GENERIC;
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    fn tail(&mut self, args: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if args.is_empty() || args.len() > 3 {
            let many = !args.is_empty();
            self.out(if many {
                "Error: too many arguments"
            } else {
                "Error: too few arguments"
            });
            self.exit = exit::GENERIC;
            self.help(&["tail"]);
            return Ok(());
        }
        let mut args = args.to_vec();
        let modifier = if args[0].starts_with('-') {
            Some(args.remove(0))
        } else {
            None
        };
        let (name, channel) = match args.as_slice() {
            [name] => (name.to_string(), "stdout".to_string()),
            [name, .., last] => {
                let channel = last.to_lowercase();
                if channel != "stdout" && channel != "stderr" {
                    self.out(format!(
                        "Error: bad channel {}",
                        crate::frontend::http::py_repr(&channel)
                    ));
                    self.exit = exit::GENERIC;
                    return Ok(());
                }
                (name.to_string(), channel)
            }
            [] => {
                self.out("Error: tail requires process name");
                self.exit = exit::GENERIC;
                return Ok(());
            }
        };
        let bytes = match modifier.map(|m| &m[1..]) {
            None => 1600,
            Some("f") => return self.follow(&format!("/logtail/{name}/{channel}")),
            Some(n) => match py_int(n) {
                Some(n) => n,
                None => {
                    self.out(format!(
                        "Error: bad argument {}",
                        modifier.unwrap_or_default()
                    ));
                    self.exit = exit::GENERIC;
                    return Ok(());
                }
            },
        };
        let method = if channel == "stdout" {
            "supervisor.readProcessStdoutLog"
        } else {
            "supervisor.readProcessStderrLog"
        };
        let params = [Value::str(&name), Value::Int(-bytes), Value::Int(0)];
        match self.call(method, &params) {
            Ok(out) => {
                let text = out.as_str().unwrap_or("").to_string();
                self.result(|| json!({"name": name, "channel": channel, "text": text}));
                self.out(text);
            }
            Err(Raised::Fault(code, text)) => {
                self.exit = exit::GENERIC;
                let why = match code {
                    fault::NO_FILE => "no log file",
                    fault::FAILED => "unknown error reading log",
                    fault::BAD_NAME => "no such process name",
                    _ => return Err(Raised::Fault(code, text)),
                };
                self.out(format!("{name}: ERROR ({why})"));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn maintail(&mut self, args: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let bytes = match args {
            [] => 1600,
            [arg] => match arg.strip_prefix('-') {
                Some("f") => return self.follow("/mainlogtail"),
                Some(n) if py_int(n).is_some() => py_int(n).unwrap_or(1600),
                _ => {
                    self.out(format!("Error: bad argument {arg}"));
                    self.exit = exit::GENERIC;
                    return Ok(());
                }
            },
            _ => {
                self.out("Error: too many arguments");
                self.exit = exit::GENERIC;
                self.help(&["maintail"]);
                return Ok(());
            }
        };
        match self.call("supervisor.readLog", &[Value::Int(-bytes), Value::Int(0)]) {
            Ok(out) => {
                let text = out.as_str().unwrap_or("").to_string();
                self.result(|| json!({"text": text}));
                self.out(text);
            }
            Err(Raised::Fault(code, text)) => {
                self.exit = exit::GENERIC;
                let why = match code {
                    fault::NO_FILE => "no log file",
                    fault::FAILED => "unknown error reading log",
                    _ => return Err(Raised::Fault(code, text)),
                };
                self.out(format!("supervisord: ERROR ({why})"));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// `tail -f`: the log as it grows, until the server ends the stream or Ctrl-C.
    fn follow(&mut self, path: &str) -> Outcome {
        self.out("==> Press Ctrl-C to exit <==");
        self.flush();
        let json = self.json;
        let mut stdout = io::stdout();
        let mut each = |data: &[u8]| -> bool {
            let ok = if json {
                let line = json!({"text": String::from_utf8_lossy(data)}).to_string();
                writeln!(stdout, "{line}").is_ok()
            } else {
                stdout.write_all(data).is_ok()
            };
            ok && stdout.flush().is_ok()
        };
        match self.client.follow(path, &mut each) {
            Ok(()) => {
                eprintln!("supervicectl: {} ended the log stream", self.url);
                self.exit = exit::GENERIC;
                Ok(())
            }
            Err(HttpError::Status(code, _)) if code != 401 => {
                eprintln!("{}{path} Cannot read, status code {code}", self.url);
                self.exit = exit::GENERIC;
                Ok(())
            }
            Err(HttpError::Io(e)) => {
                eprintln!("supervicectl: the log stream from {} broke: {e}", self.url);
                self.exit = exit::GENERIC;
                Ok(())
            }
            Err(e) => Err(Raised::Http(e)),
        }
    }

    fn clear(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if names.is_empty() {
            self.out("Error: clear requires a process name");
            self.exit = exit::GENERIC;
            self.help(&["clear"]);
            return Ok(());
        }
        let line = |_: &Ctl, r: &Value| -> Result<String, Raised> {
            let name = namespec(text(r, "group"), text(r, "name"));
            match int(r, "status") {
                fault::SUCCESS => Ok(format!("{name}: cleared")),
                fault::BAD_NAME => Ok(format!("{name}: ERROR (no such process)")),
                fault::FAILED => Ok(format!("{name}: ERROR (failed)")),
                code => Err(Raised::Value(format!(
                    "Unknown result code {code} for {name}"
                ))),
            }
        };
        if names.contains(&"all") {
            let results = self.call("supervisor.clearAllProcessLogs", &[])?;
            return self.results(items(&results), &line, None);
        }
        for name in names {
            let r = match self.call("supervisor.clearProcessLogs", &[Value::str(*name)]) {
                Ok(_) => success_result(name),
                Err(Raised::Fault(code, text)) => fault_result(code, &text, name),
                Err(e) => return Err(e),
            };
            self.results(&[r], &line, None)?;
        }
        Ok(())
    }

    fn no_args(&mut self, cmd: &str, args: &[&str]) -> bool {
        if args.is_empty() {
            return true;
        }
        self.out(format!("Error: {cmd} accepts no arguments"));
        self.exit = exit::GENERIC;
        self.help(&[cmd]);
        false
    }

    fn avail(&mut self, args: &[&str]) -> Outcome {
        if !self.no_args("avail", args) {
            return Ok(());
        }
        match self.call("supervisor.getAllConfigInfo", &[]) {
            Ok(infos) => {
                for info in items(&infos) {
                    let line = format!(
                        "{:<32} {:<9} {:<9} {}:{}",
                        namespec(text(info, "group"), text(info, "name")),
                        if truthy(info, "inuse") {
                            "in use"
                        } else {
                            "avail"
                        },
                        if truthy(info, "autostart") {
                            "auto"
                        } else {
                            "manual"
                        },
                        int(info, "group_prio"),
                        int(info, "process_prio")
                    );
                    self.out(line);
                    self.result(|| to_json(info));
                }
                Ok(())
            }
            Err(Raised::Fault(fault::SHUTDOWN_STATE, _)) => {
                self.exit = exit::GENERIC;
                self.out("ERROR: supervisor shutting down");
                Ok(())
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                Err(e)
            }
        }
    }

    /// reloadConfig's (added, changed, removed).
    fn changes(reply: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
        let lists = items(reply).first().map(items).unwrap_or(&[]);
        let names = |i: usize| -> Vec<String> {
            lists
                .get(i)
                .map(items)
                .unwrap_or(&[])
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        (names(0), names(1), names(2))
    }

    fn reread(&mut self, args: &[&str]) -> Outcome {
        if !self.no_args("reread", args) {
            return Ok(());
        }
        match self.call("supervisor.reloadConfig", &[]) {
            Ok(reply) => {
                let (added, changed, removed) = Ctl::changes(&reply);
                self.result(|| json!({"added": added, "changed": changed, "removed": removed}));
                let mut lines: Vec<(String, &str)> = Vec::new();
                // Later kinds win for a name in two lists, as supervisorctl's dict does.
                for (names, kind) in [
                    (&added, "available"),
                    (&changed, "changed"),
                    (&removed, "disappeared"),
                ] {
                    for n in names {
                        lines.retain(|(m, _)| m != n);
                        lines.push((n.clone(), kind));
                    }
                }
                lines.sort();
                if lines.is_empty() {
                    self.out("No config updates to processes");
                }
                for (name, kind) in lines {
                    self.out(format!("{name}: {kind}"));
                }
                Ok(())
            }
            Err(Raised::Fault(code @ (fault::SHUTDOWN_STATE | fault::CANT_REREAD), text)) => {
                self.exit = exit::GENERIC;
                if code == fault::SHUTDOWN_STATE {
                    self.out("ERROR: supervisor shutting down");
                } else {
                    self.out(format!("ERROR: {text}"));
                }
                Ok(())
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                Err(e)
            }
        }
    }

    fn update(&mut self, args: &[&str]) -> Outcome {
        let reply = match self.call("supervisor.reloadConfig", &[]) {
            Ok(reply) => reply,
            Err(Raised::Fault(fault::SHUTDOWN_STATE, _)) => {
                self.exit = exit::GENERIC;
                self.out("ERROR: already shutting down");
                return Ok(());
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                return Err(e);
            }
        };
        let (added, changed, removed) = Ctl::changes(&reply);
        let mut wanted: Vec<&str> = args.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.contains(&"all") {
            wanted.clear();
        }
        if !wanted.is_empty() {
            let all = self.call("supervisor.getAllProcessInfo", &[])?;
            let mut groups: Vec<String> = items(&all)
                .iter()
                .map(|i| text(i, "group").to_string())
                .collect();
            groups.extend(added.iter().cloned());
            for g in &wanted {
                if !groups.iter().any(|x| x == g) {
                    self.out(format!("ERROR: no such group: {g}"));
                    self.exit = exit::GENERIC;
                }
            }
        }
        let chosen = |g: &str| wanted.is_empty() || wanted.contains(&g);
        for g in removed.iter().filter(|g| chosen(g)) {
            let results = self.call("supervisor.stopProcessGroup", &[Value::str(g)])?;
            self.out(format!("{g}: stopped"));
            if items(&results)
                .iter()
                .any(|r| int(r, "status") == fault::FAILED)
            {
                self.out(format!("{g}: has problems; not removing"));
                self.exit = exit::GENERIC;
                self.result(|| json!({"group": g, "action": "not removed"}));
                continue;
            }
            self.call("supervisor.removeProcessGroup", &[Value::str(g)])?;
            self.out(format!("{g}: removed process group"));
            self.result(|| json!({"group": g, "action": "removed"}));
        }
        for g in changed.iter().filter(|g| chosen(g)) {
            self.call("supervisor.stopProcessGroup", &[Value::str(g)])?;
            self.out(format!("{g}: stopped"));
            self.call("supervisor.removeProcessGroup", &[Value::str(g)])?;
            self.call("supervisor.addProcessGroup", &[Value::str(g)])?;
            self.out(format!("{g}: updated process group"));
            self.result(|| json!({"group": g, "action": "updated"}));
        }
        for g in added.iter().filter(|g| chosen(g)) {
            self.call("supervisor.addProcessGroup", &[Value::str(g)])?;
            self.out(format!("{g}: added process group"));
            self.result(|| json!({"group": g, "action": "added"}));
        }
        Ok(())
    }

    fn add(&mut self, names: &[&str]) -> Outcome {
        for name in names {
            match self.call("supervisor.addProcessGroup", &[Value::str(*name)]) {
                Ok(_) => {
                    self.out(format!("{name}: added process group"));
                    self.result(|| json!({"group": name, "action": "added"}));
                }
                Err(Raised::Fault(fault::SHUTDOWN_STATE, _)) => {
                    self.out("ERROR: shutting down");
                    self.exit = exit::GENERIC;
                }
                Err(Raised::Fault(fault::ALREADY_ADDED, _)) => {
                    self.out("ERROR: process group already active");
                }
                Err(Raised::Fault(fault::BAD_NAME, _)) => {
                    self.out(format!("ERROR: no such process/group: {name}"));
                    self.exit = exit::GENERIC;
                }
                Err(e) => {
                    self.exit = exit::GENERIC;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn remove(&mut self, names: &[&str]) -> Outcome {
        for name in names {
            match self.call("supervisor.removeProcessGroup", &[Value::str(*name)]) {
                Ok(_) => {
                    self.out(format!("{name}: removed process group"));
                    self.result(|| json!({"group": name, "action": "removed"}));
                }
                Err(Raised::Fault(code @ (fault::STILL_RUNNING | fault::BAD_NAME), _)) => {
                    self.exit = exit::GENERIC;
                    if code == fault::STILL_RUNNING {
                        self.out(format!("ERROR: process/group still running: {name}"));
                    } else {
                        self.out(format!("ERROR: no such process/group: {name}"));
                    }
                }
                Err(e) => {
                    self.exit = exit::GENERIC;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn shutdown(&mut self, args: &[&str]) -> Outcome {
        if !self.no_args("shutdown", args) {
            return Ok(());
        }
        match self.call("supervisor.shutdown", &[]) {
            Ok(_) => {
                self.out("Shut down");
                self.result(|| json!({"action": "shut down"}));
                Ok(())
            }
            Err(Raised::Fault(fault::SHUTDOWN_STATE, _)) => {
                self.out("ERROR: already shutting down");
                Ok(())
            }
            Err(Raised::Http(HttpError::Connect(e)))
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                ) =>
            {
                self.exit = exit::GENERIC;
                let what = if e.kind() == io::ErrorKind::NotFound {
                    "no such file"
                } else {
                    "refused connection"
                };
                self.out(format!("ERROR: {} {what} (already shut down?)", self.url));
                Ok(())
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                Err(e)
            }
        }
    }

    fn reload(&mut self, args: &[&str]) -> Outcome {
        if !self.no_args("reload", args) {
            return Ok(());
        }
        match self.call("supervisor.restart", &[]) {
            Ok(_) => {
                self.out("Restarted supervisord");
                self.result(|| json!({"action": "restarted"}));
                Ok(())
            }
            Err(Raised::Fault(fault::SHUTDOWN_STATE, _)) => {
                self.exit = exit::GENERIC;
                self.out("ERROR: already shutting down");
                Ok(())
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                Err(e)
            }
        }
    }

    fn version(&mut self, args: &[&str]) -> Outcome {
        if !self.no_args("version", args) {
            return Ok(());
        }
        if !self.upcheck()? {
            return Ok(());
        }
        let v = self.call("supervisor.getSupervisorVersion", &[])?;
        let v = v.as_str().unwrap_or("").to_string();
        self.result(|| json!({"version": v}));
        self.out(v);
        Ok(())
    }

    fn open(&mut self, args: &[&str]) -> Outcome {
        let url = args.join(" ");
        let server = match Server::parse(url.trim()) {
            Ok(server) => server,
            Err(_) => {
                self.out("ERROR: url must be http:// or unix://");
                self.exit = exit::GENERIC;
                return Ok(());
            }
        };
        self.client = self.client.reconnect(server);
        self.url = url.trim().to_string();
        let kept = self.exit;
        let result = self.status(&[]);
        self.exit = kept;
        result
    }

    /// `fg NAME`: the process's stdout and stderr as they come, and each line typed sent
    /// to its stdin, until it stops running or input ends.
    fn fg(&mut self, names: &[&str]) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let name = match names {
            [] => {
                self.out("ERROR: no process name supplied");
                self.exit = exit::GENERIC;
                self.help(&["fg"]);
                return Ok(());
            }
            [name] => name.to_string(),
            _ => {
                self.out("ERROR: too many process names supplied");
                self.exit = exit::GENERIC;
                return Ok(());
            }
        };
        let running = |ctl: &mut Ctl| -> Result<bool, Raised> {
            let info = ctl.call("supervisor.getProcessInfo", &[Value::str(&name)])?;
            Ok(int(&info, "state") == 20)
        };
        match running(self) {
            Ok(true) => {}
            Ok(false) => {
                self.out("ERROR: process not running");
                self.exit = exit::GENERIC;
                return Ok(());
            }
            Err(Raised::Fault(fault::BAD_NAME, _)) => {
                self.out("ERROR: bad process name supplied");
                self.exit = exit::GENERIC;
                return Ok(());
            }
            Err(Raised::Fault(code, text)) => {
                self.out(format!(
                    "ERROR: <Fault {code}: {}>",
                    crate::frontend::http::py_repr(&text)
                ));
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        self.out("==> Press Ctrl-C to exit <==");
        self.flush();
        // Each stream on its own connection, in a child process (a thread would cost the
        // client 17 KB of thread machinery); they are killed when fg ends.
        let mut followers = Vec::new();
        for channel in ["stdout", "stderr"] {
            let mut follower = self.client.reconnect(self.client.server().clone());
            let path = format!("/logtail/{name}/{channel}");
            // SAFETY: the client is single-threaded; the child only does I/O and exits.
            match unsafe { nix::unistd::fork() } {
                Ok(nix::unistd::ForkResult::Child) => {
                    let mut out = io::stdout();
                    let _ = follower.follow(&path, &mut |data| {
                        out.write_all(data).is_ok() && out.flush().is_ok()
                    });
                    // SAFETY: leaves the forked child without running the parent's exit code.
                    unsafe { libc::_exit(0) }
                }
                Ok(nix::unistd::ForkResult::Parent { child }) => followers.push(child),
                Err(e) => {
                    return Err(Raised::Http(HttpError::Io(e.into())));
                }
            }
        }
        let result = self.fg_input(&name, running);
        for pid in followers {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        result
    }

    fn fg_input(
        &mut self,
        name: &str,
        running: impl Fn(&mut Ctl) -> Result<bool, Raised>,
    ) -> Outcome {
        let stdin = io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            if matches!(stdin.lock().read_line(&mut line), Ok(0) | Err(_)) {
                self.out("Exiting foreground");
                return Ok(());
            }
            if !line.ends_with('\n') {
                line.push('\n');
            }
            let sent = self.call(
                "supervisor.sendProcessStdin",
                &[Value::str(name), Value::str(&line)],
            );
            let gone = match sent {
                Ok(_) => !running(self)?,
                Err(Raised::Fault(fault::NOT_RUNNING, _)) => true,
                Err(Raised::Fault(code, text)) => {
                    self.out(format!(
                        "ERROR: <Fault {code}: {}>",
                        crate::frontend::http::py_repr(&text)
                    ));
                    self.out("Exiting foreground");
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if gone {
                self.out("Process got killed");
                self.out("Exiting foreground");
                return Ok(());
            }
        }
    }

    fn help(&mut self, args: &[&str]) {
        match args.first() {
            Some(cmd) => match help_text(cmd) {
                Some(text) => self.out(text),
                None => self.out(format!("*** No help on {cmd}")),
            },
            None => {
                self.out("");
                let header = "default commands (type help <topic>):";
                self.out(header);
                self.out("=".repeat(header.len()));
                // supervisorctl lists its plugin's commands: `help` is the shell's own.
                let topics: Vec<&str> = COMMANDS.iter().copied().filter(|c| *c != "help").collect();
                for line in columnize(&topics, 79) {
                    self.out(line);
                }
                self.out("");
            }
        }
    }
}

fn int_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        other => to_json(other).to_string(),
    }
}

/// Python's `int()` of a word.
fn py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// The interactive shell: `status` first, then a command per line until quit or EOF.
pub fn shell(ctl: &mut Ctl) -> i32 {
    ctl.run(&["status".to_string()]);
    let stdin = io::stdin();
    let tty = stdin.is_terminal();
    let mut line = String::new();
    loop {
        if tty {
            print!("supervice> ");
            let _ = io::stdout().flush();
        }
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                if tty {
                    println!();
                }
                break;
            }
            Ok(_) => {}
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if ctl.run(&words) == After::Quit {
            break;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespecs_split_and_join_as_supervisors_do() {
        assert_eq!(split_namespec("web"), ("web".into(), Some("web".into())));
        assert_eq!(split_namespec("g:*"), ("g".into(), None));
        assert_eq!(split_namespec("g:"), ("g".into(), None));
        assert_eq!(split_namespec("g:p:q"), ("g".into(), Some("p:q".into())));
        assert_eq!(namespec("web", "web"), "web");
        assert_eq!(namespec("g", "p"), "g:p");
    }

    #[test]
    fn help_lists_the_commands_in_pythons_columns() {
        let topics: Vec<&str> = COMMANDS.iter().copied().filter(|c| *c != "help").collect();
        assert_eq!(
            columnize(&topics, 79),
            vec![
                "add    exit      open  reload  restart   start   tail   ",
                "avail  fg        pid   remove  shutdown  status  update ",
                "clear  maintail  quit  reread  signal    stop    version",
            ]
        );
        assert_eq!(columnize(&["one"], 79), vec!["one"]);
        assert_eq!(columnize(&["a", "b"], 79), vec!["a  b"]);
    }

    #[test]
    fn python_int_words() {
        assert_eq!(py_int("100"), Some(100));
        assert_eq!(py_int("+5"), Some(5));
        assert_eq!(py_int("1_000"), Some(1000));
        assert_eq!(py_int("f"), None);
        assert_eq!(py_int(""), None);
    }
}
