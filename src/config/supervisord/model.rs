//! What a supervisord file means: every section supervisord 4.3 reads, typed and
//! defaulted, with `%` expansion before typing, in the order and with the names it uses
//! (SUPERVISORD.md §1). Built from the merged sections of `read`; checks that need the
//! system (users, directories) are made as supervisord makes them at startup.

use std::path::{Path, PathBuf};

use super::read::{self, Entry, Located, Parsed, Section};
use super::types::{self, AutoRestart};
use crate::config::pyformat::{self, Layers, Lookup, Names, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Supervisord {
    /// Absolute (made so against the daemon's cwd), or `syslog`.
    pub logfile: String,
    pub logfile_maxbytes: u64,
    pub logfile_backups: i64,
    pub loglevel: &'static str,
    pub pidfile: String,
    pub umask: u32,
    pub nodaemon: bool,
    pub silent: bool,
    pub minfds: i64,
    pub minprocs: i64,
    pub nocleanup: bool,
    pub childlogdir: String,
    pub user: Option<String>,
    pub directory: Option<String>,
    pub strip_ansi: bool,
    pub environment: Vec<(String, String)>,
    pub identifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixHttpServer {
    pub file: PathBuf,
    pub chmod: u32,
    /// (uid, gid), gid -1 for a user alone; `None`: unchanged.
    pub chown: Option<(i64, i64)>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetHttpServer {
    /// Empty for every interface (`*:9001`, `:9001`, `9001`).
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// supervice's `allow_unauthenticated`: serve a non-loopback address without a
    /// password (refused otherwise).
    pub allow_unauthenticated: bool,
}

/// `[supervisorctl]`, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Supervisorctl {
    pub serverurl: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: Option<String>,
    pub history_file: Option<String>,
}

/// Where a stream goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// A file in childlogdir, named when the group is added.
    Auto,
    None,
    Path(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLog {
    pub logfile: LogTarget,
    pub maxbytes: u64,
    pub backups: i64,
    pub capture_maxbytes: u64,
    pub events_enabled: bool,
    pub syslog: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    /// The `x` of its `[program:x]` (or listener, or fcgi-program) section.
    pub program: String,
    pub command: String,
    pub directory: Option<String>,
    pub umask: Option<u32>,
    pub priority: i64,
    pub autostart: bool,
    pub autorestart: AutoRestart,
    pub exitcodes: Vec<u8>,
    pub startsecs: i64,
    pub startretries: i64,
    pub stopsignal: i32,
    pub stopwaitsecs: i64,
    pub stopasgroup: bool,
    pub killasgroup: bool,
    /// The user's name and uid, resolved at load.
    pub user: Option<(String, u32)>,
    pub redirect_stderr: bool,
    /// `[supervisord] environment`, then the program's own on top.
    pub environment: Vec<(String, String)>,
    pub serverurl: Option<String>,
    pub stdout: StreamLog,
    pub stderr: StreamLog,
    /// Supervice's own keys in the section (health checks, env_file, pdeathsig,
    /// reconcile), as written; `None` when it has none.
    pub extensions: Option<ExtensionKeys>,
}

/// Supervice's keys found in a supervisord section, for `program::extensions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionKeys {
    pub section: crate::config::ini::Section,
    pub file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socket {
    Unix {
        path: PathBuf,
        owner: Option<(i64, i64)>,
        mode: u32,
        backlog: Option<i64>,
    },
    Tcp {
        host: String,
        port: u16,
        backlog: Option<i64>,
    },
}

impl Socket {
    pub fn url(&self) -> String {
        match self {
            Socket::Unix { path, .. } => format!("unix://{}", path.display()),
            Socket::Tcp { host, port, .. } => format!("tcp://{host}:{port}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    Program,
    EventListener {
        buffer_size: i64,
        /// Upper-case event type names, sorted.
        events: Vec<String>,
    },
    Fcgi {
        socket: Socket,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub priority: i64,
    pub kind: GroupKind,
    pub processes: Vec<Process>,
}

/// A whole supervisord configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub path: PathBuf,
    pub supervisord: Supervisord,
    pub unix_http_server: Option<UnixHttpServer>,
    pub inet_http_server: Option<InetHttpServer>,
    pub supervisorctl: Option<Supervisorctl>,
    /// In supervisord's order: by priority, then name.
    pub groups: Vec<Group>,
    pub warnings: Vec<String>,
}

/// The event types `events =` may name (supervisor's `EventTypes`), abstract ones too.
pub const EVENT_TYPES: [&str; 27] = [
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_UNKNOWN",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
    "PROCESS_LOG",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_5",
    "TICK_60",
    "TICK_3600",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
];

/// The only result handler and rpcinterface factory there is here (they are Python
/// callables in supervisord).
const DEFAULT_RESULT_HANDLER: &str = "supervisor.dispatchers:default_handler";
const MAIN_RPCINTERFACE: &str = "supervisor.rpcinterface:make_main_rpcinterface";

/// What the build needs from outside: the environment and the host name at load.
pub struct Context {
    pub environ: Vec<(String, String)>,
    pub host_node_name: String,
    /// For relative `logfile`, `pidfile` and socket paths.
    pub cwd: PathBuf,
}

impl Context {
    pub fn current() -> Context {
        Context {
            environ: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            host_node_name: node_name(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}

/// Python's `platform.node()`: the uname node name.
fn node_name() -> String {
    // SAFETY: utsname is plain data, filled by uname on success.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return String::new();
    }
    // SAFETY: uname NUL-terminates nodename.
    let node = unsafe { std::ffi::CStr::from_ptr(name.nodename.as_ptr()) };
    node.to_string_lossy().into_owned()
}

/// supervisord's command-line options that override `[supervisord]` keys (its
/// "priority 2" over the file's "priority 0"), set once at startup and applied to every
/// load, reloads included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub nodaemon: bool,
    pub silent: bool,
    pub nocleanup: bool,
    pub strip_ansi: bool,
    pub user: Option<String>,
    pub umask: Option<String>,
    pub directory: Option<String>,
    pub logfile: Option<String>,
    pub logfile_maxbytes: Option<String>,
    pub logfile_backups: Option<String>,
    pub loglevel: Option<String>,
    pub pidfile: Option<String>,
    pub identifier: Option<String>,
    pub childlogdir: Option<String>,
    pub minfds: Option<String>,
    pub minprocs: Option<String>,
}

static OVERRIDES: std::sync::OnceLock<Overrides> = std::sync::OnceLock::new();

/// Sets the command line's overrides; the first call wins.
pub fn set_overrides(overrides: Overrides) {
    let _ = OVERRIDES.set(overrides);
}

/// Applies the command line's options over the file's `[supervisord]`, with
/// supervisord's checks; an error names the option.
fn apply_overrides(s: &mut Supervisord, o: &Overrides, cwd: &Path) -> Result<(), String> {
    let option = |flag: &str, e: String| format!("command line option {flag}: {e}");
    s.nodaemon |= o.nodaemon;
    s.silent |= o.silent;
    s.nocleanup |= o.nocleanup;
    s.strip_ansi |= o.strip_ansi;
    if let Some(user) = &o.user {
        name_to_uid(user).map_err(|e| option("-u", e))?;
        s.user = Some(user.clone());
    }
    if let Some(v) = &o.umask {
        s.umask = types::octal(v).map_err(|e| option("-m", e))?;
    }
    if let Some(v) = &o.directory {
        s.directory = Some(existing_directory(v).map_err(|e| option("-d", e))?);
    }
    if let Some(v) = &o.logfile {
        let path = existing_dirpath(v).map_err(|e| option("-l", e))?;
        s.logfile = if path == "syslog" {
            path
        } else {
            normalize_path(&path, cwd)
        };
    }
    if let Some(v) = &o.logfile_maxbytes {
        s.logfile_maxbytes = types::byte_size(v).map_err(|e| option("-y", e))?;
    }
    if let Some(v) = &o.logfile_backups {
        s.logfile_backups = types::integer(v).map_err(|e| option("-z", e))?;
    }
    if let Some(v) = &o.loglevel {
        s.loglevel = types::logging_level(v).map_err(|e| option("-e", e))?;
    }
    if let Some(v) = &o.pidfile {
        let path = existing_dirpath(v).map_err(|e| option("-j", e))?;
        s.pidfile = normalize_path(&path, cwd);
    }
    if let Some(v) = &o.identifier {
        s.identifier = v.clone();
    }
    if let Some(v) = &o.childlogdir {
        s.childlogdir = existing_directory(v).map_err(|e| option("-q", e))?;
    }
    if let Some(v) = &o.minfds {
        s.minfds = types::integer(v).map_err(|e| option("-a", e))?;
    }
    if let Some(v) = &o.minprocs {
        s.minprocs = types::integer(v).map_err(|e| option("--minprocs", e))?;
    }
    Ok(())
}

/// Reads `path` (and its includes) and builds the model, or every refusal found (at most
/// one per section: a section's later keys are not judged after its first error).
pub fn load(path: &Path, context: &Context) -> Result<Model, Vec<Located>> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let here = read::absolute_dir(&path).display().to_string();
    let environ = environ_names(context);
    forget_directories();
    let parsed = read_files(&path, context).map_err(|e| vec![e])?;
    let mut builder = Builder {
        parsed: &parsed,
        context,
        here,
        environ,
        errors: Vec::new(),
        warnings: std::cell::RefCell::new(parsed.warnings.clone()),
    };
    let model = builder.build(path.clone());
    let mut model = match model {
        Some(model) if builder.errors.is_empty() => model,
        _ => return Err(builder.errors),
    };
    if let Some(overrides) = OVERRIDES.get() {
        apply_overrides(&mut model.supervisord, overrides, &context.cwd).map_err(|message| {
            vec![Located {
                message,
                file: path,
                section: None,
                key: None,
                line: None,
            }]
        })?;
    }
    Ok(model)
}

/// What supervisorctl reads of a file (its `ClientOptions`): `[supervisorctl]` and where
/// the servers listen, without checking the rest of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientView {
    pub supervisorctl: Option<Supervisorctl>,
    pub unix_http_server: Option<UnixHttpServer>,
    pub inet_http_server: Option<InetHttpServer>,
}

pub fn client_view(path: &Path, context: &Context) -> Result<ClientView, Vec<Located>> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parsed = read_files(&path, context).map_err(|e| vec![e])?;
    let mut builder = Builder {
        parsed: &parsed,
        context,
        here: read::absolute_dir(&path).display().to_string(),
        environ: environ_names(context),
        errors: Vec::new(),
        warnings: std::cell::RefCell::new(Vec::new()),
    };
    let servers = builder.servers();
    let supervisorctl = match parsed.section("supervisorctl") {
        Some(section) => {
            let found = builder.supervisorctl(section);
            builder.note(found)
        }
        None => None,
    };
    match servers {
        Some((unix_http_server, inet_http_server)) if builder.errors.is_empty() => Ok(ClientView {
            supervisorctl,
            unix_http_server,
            inet_http_server,
        }),
        _ => Err(builder.errors),
    }
}

/// `ENV_X` for every variable of the environment.
fn environ_names(context: &Context) -> Names {
    let mut environ: Names = Names::new();
    for (key, value) in &context.environ {
        environ.insert(format!("ENV_{key}"), Value::Str(value.clone()));
    }
    environ
}

/// The main file and its includes, merged (`[include] files` expanded with `here`,
/// `host_node_name` and the `ENV_` names).
pub fn read_files(path: &Path, context: &Context) -> Result<Parsed, Located> {
    let mut names = environ_names(context);
    let here = read::absolute_dir(path).display().to_string();
    names.insert("here".into(), Value::Str(here));
    let node = Value::Str(context.host_node_name.clone());
    names.insert("host_node_name".into(), node);
    read::read(path, |files| {
        pyformat::expand(files, &names, "include.files")
    })
}

struct Builder<'a> {
    parsed: &'a Parsed,
    context: &'a Context,
    here: String,
    /// ENV_ names: the daemon's environment, then `[supervisord] environment`.
    environ: Names,
    errors: Vec<Located>,
    warnings: std::cell::RefCell<Vec<String>>,
}

/// A section's values read one at a time with supervisord's `saneget`: the raw value (or
/// the default), `%`-expanded with the given names, and errors located at the key.
struct Reader<'b, 'a> {
    builder: &'b Builder<'a>,
    section: &'a Section,
}

type Found<T> = Result<T, Located>;

impl<'a> Reader<'_, 'a> {
    fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.builder.parsed.get(self.section, key)
    }

    fn fail(&self, key: Option<&str>, message: String) -> Located {
        self.builder.parsed.error(self.section, key, message)
    }

    /// The expanded value, or `None` when unset.
    fn raw(&self, key: &str, names: &dyn Lookup) -> Found<Option<String>> {
        match self.entry(key) {
            None => Ok(None),
            Some(entry) => self.expand(&entry.value, key, names).map(Some),
        }
    }

    /// `text % names` for `key` (most values have no `%` and are taken as they are).
    fn expand(&self, text: &str, key: &str, names: &dyn Lookup) -> Found<String> {
        if !text.contains('%') {
            return Ok(text.to_string());
        }
        let what = format!("{}.{key}", self.section.name);
        pyformat::expand(text, names, &what).map_err(|m| self.fail(Some(key), m))
    }

    /// The expanded value, or the default (expanded too, as supervisord expands string
    /// defaults).
    fn get(&self, key: &str, default: &str, names: &dyn Lookup) -> Found<String> {
        match self.raw(key, names)? {
            Some(value) => Ok(value),
            None => self.expand(default, key, names),
        }
    }

    fn typed<T>(
        &self,
        key: &str,
        default: &str,
        names: &dyn Lookup,
        convert: fn(&str) -> Result<T, String>,
    ) -> Found<T> {
        let value = self.get(key, default, names)?;
        convert(&value).map_err(|m| self.fail(Some(key), m))
    }

    /// A key whose default is no value (`None` in supervisord).
    fn optional<T>(
        &self,
        key: &str,
        names: &dyn Lookup,
        convert: fn(&str) -> Result<T, String>,
    ) -> Found<Option<T>> {
        match self.raw(key, names)? {
            None => Ok(None),
            Some(value) => convert(&value)
                .map(Some)
                .map_err(|m| self.fail(Some(key), m)),
        }
    }
}

impl<'a> Builder<'a> {
    fn reader(&self, section: &'a Section) -> Reader<'_, 'a> {
        Reader {
            builder: self,
            section,
        }
    }

    /// `here` and the ENV_ names.
    fn common(&self) -> Names {
        let mut names = Names::new();
        names.insert("here".into(), Value::Str(self.here.clone()));
        names
    }

    /// `top` in front of the ENV_ names.
    fn scope<'s>(&'s self, top: &'s Names) -> Layers<'s> {
        Layers {
            top,
            base: &self.environ,
        }
    }

    fn note<T>(&mut self, result: Found<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    fn build(&mut self, path: PathBuf) -> Option<Model> {
        let parsed = self.parsed;
        let Some(section) = parsed.section("supervisord") else {
            self.errors.push(Located {
                message: ".ini file does not include supervisord section".into(),
                file: path,
                section: None,
                key: None,
                line: None,
            });
            return None;
        };
        let supervisord = self.supervisord(section);
        let supervisord = self.note(supervisord);
        self.plugins();
        let groups = self.groups();
        let servers = self.servers();
        let supervisorctl = parsed
            .section("supervisorctl")
            .map(|s| self.supervisorctl(s));
        let supervisorctl = match supervisorctl {
            Some(result) => Some(self.note(result)?),
            None => None,
        };
        let mut supervisord = supervisord?;
        let mut groups = groups?;
        let (unix_http_server, inet_http_server) = servers?;
        for process in groups.iter_mut().flat_map(|g| g.processes.iter_mut()) {
            let mut environment = supervisord.environment.clone();
            for (key, value) in std::mem::take(&mut process.environment) {
                set(&mut environment, key, value);
            }
            process.environment = environment;
        }
        supervisord.environment.sort_unstable();
        Some(Model {
            path,
            supervisord,
            unix_http_server,
            inet_http_server,
            supervisorctl,
            groups,
            warnings: self.warnings.take(),
        })
    }

    fn supervisord(&mut self, section: &'a Section) -> Found<Supervisord> {
        let top = self.common();
        let names = self.scope(&top);
        let r = self.reader(section);
        let minfds = r.typed("minfds", "1024", &names, types::integer)?;
        let minprocs = r.typed("minprocs", "200", &names, types::integer)?;
        let directory = r.optional("directory", &names, existing_directory)?;
        let user = r.raw("user", &names)?;
        let umask = r.typed("umask", "022", &names, types::octal)?;
        let logfile = r.typed("logfile", "supervisord.log", &names, existing_dirpath)?;
        let logfile_maxbytes = r.typed("logfile_maxbytes", "50MB", &names, types::byte_size)?;
        let logfile_backups = r.typed("logfile_backups", "10", &names, types::integer)?;
        let loglevel = r.typed("loglevel", "info", &names, types::logging_level)?;
        let pidfile = r.typed("pidfile", "supervisord.pid", &names, existing_dirpath)?;
        let identifier = r.get("identifier", "supervisor", &names)?;
        let nodaemon = r.typed("nodaemon", "false", &names, types::boolean)?;
        let silent = r.typed("silent", "false", &names, types::boolean)?;
        let tempdir = self.tempdir();
        let childlogdir = match r.raw("childlogdir", &names)? {
            Some(value) => {
                existing_directory(&value).map_err(|m| r.fail(Some("childlogdir"), m))?
            }
            None => tempdir,
        };
        let nocleanup = r.typed("nocleanup", "false", &names, types::boolean)?;
        let strip_ansi = r.typed("strip_ansi", "false", &names, types::boolean)?;
        // Expanded twice: once as every key, once more with host_node_name.
        let environment = r.get("environment", "", &names)?;
        let mut top_twice = top.clone();
        top_twice.insert(
            "host_node_name".into(),
            Value::Str(self.context.host_node_name.clone()),
        );
        let twice = self.scope(&top_twice);
        let environment = pyformat::expand(&environment, &twice, "environment")
            .and_then(|text| types::key_value_pairs(&text))
            .map_err(|m| r.fail(Some("environment"), m))?;
        if let Some(user) = &user {
            name_to_uid(user).map_err(|m| r.fail(Some("user"), m))?;
        }
        for (key, value) in &environment {
            self.environ
                .insert(format!("ENV_{key}"), Value::Str(value.clone()));
        }
        let cwd = &self.context.cwd;
        let logfile = if logfile == "syslog" {
            logfile
        } else {
            normalize_path(&logfile, cwd)
        };
        Ok(Supervisord {
            logfile,
            logfile_maxbytes,
            logfile_backups,
            loglevel,
            pidfile: normalize_path(&pidfile, cwd),
            umask,
            nodaemon,
            silent,
            minfds,
            minprocs,
            nocleanup,
            childlogdir,
            user,
            directory,
            strip_ansi,
            environment,
            identifier,
        })
    }

    /// Python's `tempfile.gettempdir()`: TMPDIR, TEMP, TMP, then /tmp, /var/tmp, /usr/tmp.
    fn tempdir(&self) -> String {
        let env = |key: &str| {
            let found = self.context.environ.iter().find(|(k, _)| k == key);
            found.map(|(_, v)| v.clone())
        };
        ["TMPDIR", "TEMP", "TMP"]
            .iter()
            .filter_map(|k| env(k))
            .chain(["/tmp", "/var/tmp", "/usr/tmp"].map(String::from))
            .find(|d| Path::new(d).is_dir())
            .unwrap_or_else(|| self.context.cwd.display().to_string())
    }

    /// `[rpcinterface:x]` and `[ctlplugin:x]`: the standard interface is built in;
    /// anything else is a Python plugin, named in a warning.
    fn plugins(&mut self) {
        let parsed = self.parsed;
        for section in &parsed.sections {
            let (key, kind) = if section.name.starts_with("rpcinterface:") {
                ("supervisor.rpcinterface_factory", "rpcinterface")
            } else if section.name.starts_with("ctlplugin:") {
                ("supervisor.ctl_factory", "ctlplugin")
            } else {
                continue;
            };
            let factory = self.reader(section).raw(key, &self.environ);
            match factory {
                Err(e) => self.errors.push(e),
                Ok(None) => self.errors.push(parsed.error(
                    section,
                    None,
                    format!("section [{}] does not specify a {key}", section.name),
                )),
                Ok(Some(spec)) if spec.trim() == MAIN_RPCINTERFACE && kind == "rpcinterface" => {}
                Ok(Some(spec)) => self.warnings.borrow_mut().push(format!(
                    "[{}]: the {kind} plugin {} is a Python extension of supervisord; it is \
                     not loaded (supervice serves supervisord's standard interface only)",
                    section.name,
                    spec.trim()
                )),
            }
        }
    }

    fn groups(&mut self) -> Option<Vec<Group>> {
        let parsed = self.parsed;
        let mut groups = Vec::new();
        let mut grouped: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut ok = true;
        let has = |name: &str| parsed.section(name).is_some();
        for section in parsed
            .sections
            .iter()
            .filter(|s| s.name.starts_with("group:"))
        {
            match self.group(section, &has, &mut grouped) {
                Ok(group) => groups.push(group),
                Err(e) => {
                    ok = false;
                    self.errors.push(e);
                }
            }
        }
        let passes = [
            ("program:", Kind::Program),
            ("eventlistener:", Kind::Listener),
            ("fcgi-program:", Kind::Fcgi),
        ];
        for (prefix, kind) in passes {
            for section in &parsed.sections {
                if !section.name.starts_with(prefix) || grouped.contains(&section.name.as_str()) {
                    continue;
                }
                match self.homogeneous(section, kind) {
                    Ok(group) => groups.push(group),
                    Err(e) => {
                        ok = false;
                        self.errors.push(e);
                    }
                }
            }
        }
        // supervisord sorts groups by (priority, name); names are unique, so an unstable
        // sort gives the same order.
        groups.sort_unstable_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        ok.then_some(groups)
    }

    fn group(
        &self,
        section: &'a Section,
        has: &dyn Fn(&str) -> bool,
        grouped: &mut std::collections::HashSet<&'a str>,
    ) -> Found<Group> {
        let top = self.common();
        let names = self.scope(&top);
        let r = self.reader(section);
        let name = section_name(section).map_err(|m| r.fail(None, m))?;
        let programs = types::list_of_strings(&r.get("programs", "", &names)?);
        let priority = r.typed("priority", "999", &names, types::integer)?;
        let mut processes = Vec::new();
        for program in programs {
            let plain = format!("program:{program}");
            let fcgi = format!("fcgi-program:{program}");
            let member = match (has(&plain), has(&fcgi)) {
                (false, false) => {
                    let m = format!(
                        "[{}] names unknown program or fcgi-program {program}",
                        section.name
                    );
                    return Err(r.fail(Some("programs"), m));
                }
                (true, true) => {
                    let m = format!(
                        "[{}] name {program} is ambiguous (exists as program and fcgi-program)",
                        section.name
                    );
                    return Err(r.fail(Some("programs"), m));
                }
                (true, false) => plain,
                (false, true) => fcgi,
            };
            let Some(member) = self.parsed.section(&member) else {
                continue;
            };
            grouped.insert(member.name.as_str());
            processes.extend(self.processes(member, &name)?);
        }
        Ok(Group {
            name,
            priority,
            kind: GroupKind::Program,
            processes,
        })
    }

    fn homogeneous(&self, section: &'a Section, kind: Kind) -> Found<Group> {
        let top = self.common();
        let names = self.scope(&top);
        let r = self.reader(section);
        let raw_name = section.name.split_once(':').map_or("", |(_, n)| n);
        let name = match kind {
            // A pool's name is taken as written; its processes' program name is checked.
            Kind::Listener => raw_name.to_string(),
            _ => section_name(section).map_err(|m| r.fail(None, m))?,
        };
        let default_priority = if kind == Kind::Listener { "-1" } else { "999" };
        let priority = r.typed("priority", default_priority, &names, types::integer)?;
        let group_kind = match kind {
            Kind::Program => GroupKind::Program,
            Kind::Listener => self.listener(&r, &names)?,
            Kind::Fcgi => self.fcgi(&r, &names, &name)?,
        };
        let processes = self.processes(section, &name)?;
        Ok(Group {
            name,
            priority,
            kind: group_kind,
            processes,
        })
    }

    fn listener(&self, r: &Reader<'_, 'a>, names: &dyn Lookup) -> Found<GroupKind> {
        let section = &r.section.name;
        let buffer_size = r.typed("buffer_size", "10", names, types::integer)?;
        if buffer_size < 1 {
            let m = format!("[{section}] section sets invalid buffer_size ({buffer_size})");
            return Err(r.fail(Some("buffer_size"), m));
        }
        let handler = r.get("result_handler", DEFAULT_RESULT_HANDLER, names)?;
        if handler.trim() != DEFAULT_RESULT_HANDLER {
            let m = format!(
                "{} cannot be resolved within [{section}] (result handlers are Python \
                 functions in supervisord; supervice has only {DEFAULT_RESULT_HANDLER})",
                handler.trim()
            );
            return Err(r.fail(Some("result_handler"), m));
        }
        let mut events: Vec<String> = types::list_of_strings(&r.get("events", "", names)?)
            .into_iter()
            .map(|e| e.to_ascii_uppercase())
            .collect();
        events.sort_unstable();
        events.dedup();
        if events.is_empty() {
            let m = format!("[{section}] section requires an \"events\" line");
            return Err(r.fail(Some("events"), m));
        }
        if let Some(unknown) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
            let m = format!("Unknown event type {unknown} in [{section}] events");
            return Err(r.fail(Some("events"), m));
        }
        if r.typed("redirect_stderr", "false", names, types::boolean)? {
            let m = format!(
                "[{section}] section sets redirect_stderr=true but this is not allowed \
                 because it will interfere with the eventlistener protocol"
            );
            return Err(r.fail(Some("redirect_stderr"), m));
        }
        Ok(GroupKind::EventListener {
            buffer_size,
            events,
        })
    }

    fn fcgi(&self, r: &Reader<'_, 'a>, names: &dyn Lookup, program: &str) -> Found<GroupKind> {
        let section = &r.section.name;
        let user = r.optional("user", names, name_to_uid)?;
        let backlog = r.optional("socket_backlog", names, types::integer)?;
        if let Some(b) = backlog.filter(|b| !(1..=65535).contains(b)) {
            return Err(r.fail(
                Some("socket_backlog"),
                format!("Invalid socket_backlog value {b}"),
            ));
        }
        let owner = r.optional("socket_owner", names, |v| {
            user_group(v).map_err(|_| format!("Invalid socket_owner value {v}"))
        })?;
        let mode = r.optional("socket_mode", names, |v| {
            types::octal(v).map_err(|_| format!("Invalid socket_mode value {v}"))
        })?;
        let mut program_name = Names::new();
        program_name.insert("program_name".into(), Value::Str(program.to_string()));
        let socket_names = Layers {
            top: &program_name,
            base: names,
        };
        let socket = r.raw("socket", &socket_names)?.unwrap_or_default();
        if socket.is_empty() {
            let m = format!("[{section}] section requires a \"socket\" line");
            return Err(r.fail(Some("socket"), m));
        }
        let in_socket = |m: String| r.fail(Some("socket"), format!("{m} in [{section}] socket"));
        let socket = if let Some(path) = socket.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(in_socket(format!(
                    "('Unix socket path %s is not an absolute path', {})",
                    pyformat::repr(path)
                )));
            }
            let own = nix::unistd::getuid().as_raw();
            let owner = owner.or_else(|| {
                let uid = user.filter(|&u| u != own)?;
                Some((i64::from(uid), i64::from(gid_for_uid(uid)?)))
            });
            Socket::Unix {
                path: PathBuf::from(normalize_path(path, &self.context.cwd)),
                owner,
                mode: mode.unwrap_or(0o700),
                backlog,
            }
        } else {
            if owner.is_some() || mode.is_some() {
                return Err(in_socket(
                    "socket_owner and socket_mode params should only be used with a Unix \
                     domain socket"
                        .into(),
                ));
            }
            match tcp_address(&socket) {
                Some((host, port)) => Socket::Tcp {
                    host,
                    port,
                    backlog,
                },
                None => {
                    return Err(in_socket(format!(
                        "('Bad socket format %s', {})",
                        pyformat::repr(&socket)
                    )))
                }
            }
        };
        Ok(GroupKind::Fcgi { socket })
    }

    /// supervisord's `processes_from_section`: the section's keys read once, then the
    /// per-process keys for each process_num, in its order (first error wins).
    fn processes(&self, section: &'a Section, group: &str) -> Found<Vec<Process>> {
        let r = self.reader(section);
        let program = section_name(section).map_err(|m| r.fail(None, m))?;
        let mut top = self.common();
        for (key, value) in [
            ("program_name", program.as_str()),
            ("host_node_name", self.context.host_node_name.as_str()),
            ("group_name", group),
        ] {
            top.insert(key.into(), Value::Str(value.to_string()));
        }
        let names = self.scope(&top);
        let priority = r.typed("priority", "999", &names, types::integer)?;
        let autostart = r.typed("autostart", "true", &names, types::boolean)?;
        let autorestart = r.typed("autorestart", "unexpected", &names, types::auto_restart)?;
        let startsecs = r.typed("startsecs", "1", &names, types::integer)?;
        let startretries = r.typed("startretries", "3", &names, types::integer)?;
        let stopsignal = r.typed("stopsignal", "TERM", &names, types::signal_number)?;
        let stopwaitsecs = r.typed("stopwaitsecs", "10", &names, types::integer)?;
        let stopasgroup = r.typed("stopasgroup", "false", &names, types::boolean)?;
        let killasgroup = match r.raw("killasgroup", &names)? {
            Some(value) => types::boolean(&value).map_err(|m| r.fail(Some("killasgroup"), m))?,
            None => stopasgroup,
        };
        let exitcodes = r.typed("exitcodes", "0", &names, types::exit_codes)?;
        let redirect_stderr = r.typed("redirect_stderr", "false", &names, types::boolean)?;
        let numprocs = r.typed("numprocs", "1", &names, types::integer)?;
        let numprocs_start = r.typed("numprocs_start", "0", &names, types::integer)?;
        let environment = r.entry("environment").map_or("", |e| e.value.as_str());
        let capture = |stream: &str| -> Found<(u64, bool)> {
            let maxbytes = r.typed(
                &format!("{stream}_capture_maxbytes"),
                "0",
                &names,
                types::byte_size,
            )?;
            let events = r.typed(
                &format!("{stream}_events_enabled"),
                "false",
                &names,
                types::boolean,
            )?;
            Ok((maxbytes, events))
        };
        let stdout_capture = capture("stdout")?;
        let stderr_capture = capture("stderr")?;
        let serverurl = r
            .raw("serverurl", &names)?
            .filter(|u| !u.trim().eq_ignore_ascii_case("AUTO"));
        let user = r.optional("user", &names, |u| {
            let uid = name_to_uid(u)?;
            Ok((user_name(uid).unwrap_or_else(|| u.to_string()), uid))
        })?;
        let umask = r.optional("umask", &names, types::octal)?;
        let process_name_raw = r
            .entry("process_name")
            .map_or("%(program_name)s", |e| e.value.as_str());
        let process_name = types::process_or_group_name(process_name_raw)
            .map_err(|m| r.fail(Some("process_name"), m))?;
        if numprocs > 1 && !process_name.contains("%(process_num)") {
            let m = "%(process_num) must be present within process_name when numprocs > 1";
            return Err(r.fail(Some("process_name"), m.into()));
        }
        if stopasgroup && !killasgroup {
            let m = "Cannot set stopasgroup=true and killasgroup=false";
            return Err(r.fail(Some("killasgroup"), m.into()));
        }
        let extensions = self.extension_keys(section);
        let mut processes = Vec::new();
        // One mapping for every process, as supervisord keeps one: a process's own
        // environment stays visible to the next one's.
        let end = numprocs_start.saturating_add(numprocs);
        let mut own: Vec<(String, String)> = Vec::new();
        for process_num in numprocs_start..end {
            top.insert("process_num".into(), Value::Int(process_num));
            top.insert("numprocs".into(), Value::Int(numprocs));
            // supervisord puts its ENV_ names back over the previous process's own: those
            // of its own that the environment also has show the environment's again; its
            // other own names stay visible.
            for (key, _) in &own {
                let name = format!("ENV_{key}");
                if self.environ.contains_key(&name) {
                    top.remove(&name);
                }
            }
            own = if environment.is_empty() {
                Vec::new()
            } else {
                pyformat::expand(environment, &self.scope(&top), "environment")
                    .and_then(|text| types::key_value_pairs(&text))
                    .map_err(|m| r.fail(Some("environment"), m))?
            };
            for (key, value) in &own {
                top.insert(format!("ENV_{key}"), Value::Str(value.clone()));
            }
            let names = self.scope(&top);
            let directory = r.raw("directory", &names)?;
            let stdout = self.stream(&r, "stdout", &names, stdout_capture)?;
            let mut stderr = self.stream(&r, "stderr", &names, stderr_capture)?;
            if redirect_stderr {
                if let LogTarget::Path(_) = stderr.logfile {
                    self.warnings.borrow_mut().push(format!(
                        "For [{}], redirect_stderr=true but stderr_logfile has also been set \
                         to a filename, the filename has been ignored",
                        section.name
                    ));
                }
                stderr.logfile = LogTarget::None;
            }
            let Some(command) = r.raw("command", &names)? else {
                let m = format!(
                    "program section {} does not specify a command",
                    section.name
                );
                return Err(r.fail(Some("command"), m));
            };
            let name = pyformat::expand(&process_name, &names, "process_name")
                .map_err(|m| r.fail(Some("process_name"), m))?;
            processes.push(Process {
                name,
                program: program.clone(),
                command,
                directory,
                umask,
                priority,
                autostart,
                autorestart,
                exitcodes: exitcodes.clone(),
                startsecs,
                startretries,
                stopsignal,
                stopwaitsecs,
                stopasgroup,
                killasgroup,
                user: user.clone(),
                redirect_stderr,
                environment: own.clone(),
                serverurl: serverurl.clone(),
                stdout,
                stderr,
                extensions: extensions.clone(),
            });
        }
        processes.sort_unstable_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Ok(processes)
    }

    /// The section's Supervice-only keys (with `[DEFAULT]`'s), as written.
    fn extension_keys(&self, section: &Section) -> Option<ExtensionKeys> {
        let entries: Vec<crate::config::ini::Entry> = crate::config::EXTENSION_KEYS
            .iter()
            .filter_map(|key| self.parsed.get(section, key))
            .map(|e| crate::config::ini::Entry {
                key: e.key.clone(),
                value: e.value.clone(),
                line: e.line,
            })
            .collect();
        if entries.is_empty() {
            return None;
        }
        Some(ExtensionKeys {
            section: crate::config::ini::Section {
                name: section.name.clone(),
                line: section.line,
                entries,
            },
            file: self.parsed.files[section.file].clone(),
        })
    }

    fn stream(
        &self,
        r: &Reader<'_, 'a>,
        stream: &str,
        names: &dyn Lookup,
        (capture_maxbytes, events_enabled): (u64, bool),
    ) -> Found<StreamLog> {
        let key = format!("{stream}_logfile");
        // Expanded twice (saneget, then expand): `%%` needs `%%%%`.
        let logfile = match r.raw(&key, names)? {
            None => LogTarget::Auto,
            Some(once) => {
                let twice =
                    pyformat::expand(&once, names, &key).map_err(|m| r.fail(Some(&key), m))?;
                match twice.to_ascii_lowercase().as_str() {
                    "none" | "off" => LogTarget::None,
                    "auto" => LogTarget::Auto,
                    "syslog" => LogTarget::Path("syslog".into()),
                    _ => LogTarget::Path(
                        existing_dirpath(&twice).map_err(|m| r.fail(Some(&key), m))?,
                    ),
                }
            }
        };
        let backups = r.typed(
            &format!("{stream}_logfile_backups"),
            "10",
            names,
            types::integer,
        )?;
        let maxbytes = r.typed(
            &format!("{stream}_logfile_maxbytes"),
            "50MB",
            names,
            types::byte_size,
        )?;
        let mut syslog = r.typed(&format!("{stream}_syslog"), "false", names, types::boolean)?;
        let logfile = if logfile == LogTarget::Path("syslog".into()) {
            self.warnings.borrow_mut().push(format!(
                "For [{}], {key}=syslog but this is deprecated and will be removed.  Use \
                 {stream}_syslog=true to enable syslog instead.",
                r.section.name
            ));
            syslog = true;
            LogTarget::None
        } else {
            logfile
        };
        if logfile == LogTarget::Auto && maxbytes == 0 {
            self.warnings.borrow_mut().push(format!(
                "For [{}], AUTO logging used for {key} without rollover, set maxbytes > 0 to \
                 avoid filling up filesystem unintentionally",
                r.section.name
            ));
        }
        Ok(StreamLog {
            logfile,
            maxbytes,
            backups,
            capture_maxbytes,
            events_enabled,
            syslog,
        })
    }

    fn servers(&mut self) -> Option<Servers> {
        let parsed = self.parsed;
        let mut unix = None;
        let mut inet = None;
        let mut ok = true;
        for section in &parsed.sections {
            let result = if section.name.starts_with("inet_http_server") {
                self.inet(section).map(|s| {
                    inet.get_or_insert(s);
                })
            } else if section.name.starts_with("unix_http_server") {
                self.unix(section).map(|s| {
                    unix.get_or_insert(s);
                })
            } else {
                continue;
            };
            if let Err(e) = result {
                ok = false;
                self.errors.push(e);
            }
        }
        ok.then_some((unix, inet))
    }

    fn credentials(&self, r: &Reader<'_, 'a>) -> Found<(Option<String>, Option<String>)> {
        let username = r.raw("username", &self.environ)?;
        let password = r.raw("password", &self.environ)?;
        if username.is_some() != password.is_some() {
            let m = format!(
                "Section [{}] contains incomplete authentication: If a username or a password \
                 is specified, both the username and password must be specified",
                r.section.name
            );
            let key = if username.is_some() {
                "username"
            } else {
                "password"
            };
            return Err(r.fail(Some(key), m));
        }
        Ok((username, password))
    }

    fn inet(&self, section: &'a Section) -> Found<InetHttpServer> {
        let r = self.reader(section);
        let (username, password) = self.credentials(&r)?;
        let Some(port) = r.raw("port", &self.environ)? else {
            let m = format!("section [{}] has no port value", section.name);
            return Err(r.fail(None, m));
        };
        let (host, port) = inet_address(&port).map_err(|m| r.fail(Some("port"), m))?;
        let allow_unauthenticated = r.typed(
            "allow_unauthenticated",
            "false",
            &self.environ,
            types::boolean,
        )?;
        Ok(InetHttpServer {
            host,
            port,
            username,
            password,
            allow_unauthenticated,
        })
    }

    fn unix(&self, section: &'a Section) -> Found<UnixHttpServer> {
        let r = self.reader(section);
        let top = self.common();
        let names = self.scope(&top);
        let Some(file) = r.raw("file", &names)? else {
            let m = format!("section [{}] has no file value", section.name);
            return Err(r.fail(None, m));
        };
        let file = PathBuf::from(normalize_path(file.trim(), &self.context.cwd));
        let (username, password) = self.credentials(&r)?;
        let chown = r.optional("chown", &self.environ, |v| {
            user_group(v).map_err(|_| format!("Invalid sockchown value {v}"))
        })?;
        let chmod = r
            .optional("chmod", &self.environ, |v| {
                types::octal(v).map_err(|_| format!("Invalid chmod value {v}"))
            })?
            .unwrap_or(0o700);
        Ok(UnixHttpServer {
            file,
            chmod,
            chown,
            username,
            password,
        })
    }

    fn supervisorctl(&self, section: &'a Section) -> Found<Supervisorctl> {
        let r = self.reader(section);
        let names = self.common();
        Ok(Supervisorctl {
            serverurl: r.raw("serverurl", &names)?,
            username: r.raw("username", &self.environ)?,
            password: r.raw("password", &self.environ)?,
            prompt: r.raw("prompt", &self.environ)?,
            history_file: r.raw("history_file", &names)?,
        })
    }
}

type Servers = (Option<UnixHttpServer>, Option<InetHttpServer>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Program,
    Listener,
    Fcgi,
}

/// The `x` of `[kind:x]`, checked as supervisord checks names.
fn section_name(section: &Section) -> Result<String, String> {
    let raw = section.name.split_once(':').map_or("", |(_, n)| n);
    types::process_or_group_name(raw)
}

fn set(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key, value)),
    }
}

/// Python's `os.path.expanduser`: `~` and `~user` at the start.
fn expand_user(path: &str) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_string();
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let home = if user.is_empty() {
        std::env::var("HOME").ok().or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir.display().to_string())
        })
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir.display().to_string())
    };
    match home {
        Some(home) => format!("{}{tail}", home.trim_end_matches('/')).replace("//", "/"),
        None => path.to_string(),
    }
}

/// `existing_directory`: `~` expanded, must be a directory.
fn existing_directory(value: &str) -> Result<String, String> {
    let expanded = expand_user(value);
    if Path::new(&expanded).is_dir() {
        Ok(expanded)
    } else {
        Err(format!("{value} is not an existing directory"))
    }
}

/// `existing_dirpath`: `~` expanded; its directory part, if any, must exist.
fn existing_dirpath(value: &str) -> Result<String, String> {
    let expanded = expand_user(value);
    let dir = match expanded.rfind('/') {
        None => return Ok(expanded),
        Some(0) => "/",
        Some(at) => &expanded[..at],
    };
    if is_dir_cached(dir) {
        Ok(expanded)
    } else {
        Err(format!(
            "The directory named as part of the path {value} does not exist"
        ))
    }
}

/// Whether `dir` is a directory, asked once per directory per thread: thousands of
/// log files usually share a few directories. The answers are dropped by
/// `forget_directories` at the start of every load.
fn is_dir_cached(dir: &str) -> bool {
    DIRECTORIES.with(|known| {
        if let Some(&answer) = known.borrow().get(dir) {
            return answer;
        }
        let answer = Path::new(dir).is_dir();
        known.borrow_mut().insert(dir.to_string(), answer);
        answer
    })
}

thread_local! {
    static DIRECTORIES: std::cell::RefCell<std::collections::HashMap<String, bool>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn forget_directories() {
    DIRECTORIES.with(|known| known.borrow_mut().clear());
}

/// `normalize_path`: `~` expanded, absolute against `cwd`, `.`/`..` resolved.
fn normalize_path(value: &str, cwd: &Path) -> String {
    let expanded = expand_user(value);
    read::normalize(&cwd.join(expanded)).display().to_string()
}

/// `name_to_uid`: a user name or a numeric uid that exists.
fn name_to_uid(name: &str) -> Result<u32, String> {
    use nix::unistd::{Uid, User};
    match crate::config::value::parse_int(name) {
        Ok(uid) => {
            let valid = u32::try_from(uid)
                .ok()
                .filter(|&u| User::from_uid(Uid::from_raw(u)).ok().flatten().is_some());
            valid.ok_or_else(|| format!("Invalid user id {name}"))
        }
        Err(_) => User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
            .ok_or_else(|| format!("Invalid user name {name}")),
    }
}

fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn gid_for_uid(uid: u32) -> Option<u32> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.gid.as_raw())
}

fn name_to_gid(name: &str) -> Result<u32, String> {
    use nix::unistd::{Gid, Group};
    match crate::config::value::parse_int(name) {
        Ok(gid) => u32::try_from(gid)
            .ok()
            .filter(|&g| Group::from_gid(Gid::from_raw(g)).ok().flatten().is_some())
            .ok_or_else(|| format!("Invalid group id {name}")),
        Err(_) => Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| format!("Invalid group name {name}")),
    }
}

/// `user` or `user:group` → (uid, gid), gid -1 for a user alone.
fn user_group(value: &str) -> Result<(i64, i64), String> {
    match value.split_once(':') {
        None => Ok((i64::from(name_to_uid(value)?), -1)),
        Some((user, group)) => Ok((
            i64::from(name_to_uid(user)?),
            i64::from(name_to_gid(group)?),
        )),
    }
}

/// `inet_address`: `host:port`, `:port`, `*:port` or `port`; the host lower-cased, empty
/// for every interface.
fn inet_address(value: &str) -> Result<(String, u16), String> {
    let port_number = |text: &str| -> Result<u16, String> {
        let n = types::integer(text)?;
        u16::try_from(n)
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| format!("{} is not in the range 1 to 65535", text.trim()))
    };
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => {
            if port.is_empty() {
                return Err(format!(
                    "no port number specified in {}",
                    pyformat::repr(port)
                ));
            }
            (host.to_ascii_lowercase(), port_number(port)?)
        }
        None => (
            String::new(),
            port_number(value)
                .map_err(|_| format!("not a valid port number: {} ", pyformat::repr(value)))?,
        ),
    };
    let host = if host == "*" { String::new() } else { host };
    Ok((host, port))
}

/// `tcp://host:port` as supervisord's pattern `tcp://([^\s:]+):(\d+)$` takes it.
fn tcp_address(value: &str) -> Option<(String, u16)> {
    let rest = value.strip_prefix("tcp://")?;
    let (host, port) = rest.split_once(':')?;
    let host_ok = !host.is_empty() && !host.chars().any(|c| c.is_whitespace());
    let port_ok = !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
    if !host_ok || !port_ok {
        return None;
    }
    // supervisord keeps the host lower-cased (InetStreamSocketConfig).
    Some((host.to_ascii_lowercase(), port.parse().ok()?))
}
