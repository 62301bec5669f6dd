//! The config file: read (`ini`), expand (`expand`), then type and validate (here and in
//! `program`). The result is a `Config` whose values are typed once; nothing downstream
//! re-parses strings. Every error names the section and key it is about, and the line.

pub mod expand;
pub mod ini;
pub mod json;
pub mod jsonout;
mod program;
pub mod pyformat;
pub mod supervisord;
pub(crate) mod value;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use program::{parse_signal, Health, HealthCheck, Instance, LogFile, Program, Reconcile};
use value::Ctx;

/// Keys of `[supervice]`.
pub const SUPERVICE_KEYS: &[&str] = &[
    "logfile",
    "loglevel",
    "pidfile",
    "socket",
    "state_file",
    "shutdown_timeout",
    "log_maxbytes",
    "log_backups",
];

/// Keys of `[group:NAME]`.
pub const GROUP_KEYS: &[&str] = &["programs"];

pub use program::{extensions, Extensions, EXTENSION_KEYS, PROGRAM_KEYS};

/// A config that could not be loaded; the text is what the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// Case-insensitive, as Supervice accepts it (`WARN` is `WARNING`).
    pub fn parse(text: &str) -> Option<LogLevel> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARNING" | "WARN" => LogLevel::Warning,
            "ERROR" => LogLevel::Error,
            "CRITICAL" => LogLevel::Critical,
            _ => return None,
        })
    }

    /// `-e` also takes supervisord's levels: TRACE and BLATHER are finer than DEBUG, so
    /// here they are DEBUG.
    pub fn parse_flag(text: &str) -> Option<LogLevel> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TRACE" | "BLATHER" => Some(LogLevel::Debug),
            _ => LogLevel::parse(text),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

pub const LOG_LEVELS_HELP: &str = "CRITICAL, DEBUG, ERROR, INFO, WARN, WARNING";

/// `[supervice]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Empty: stdout in the foreground, `supervice.log` when daemonised.
    pub logfile: Option<PathBuf>,
    /// supervisord's `logfile = syslog`: the log goes to syslog instead.
    pub log_syslog: bool,
    pub loglevel: LogLevel,
    /// `None` when disabled with `pidfile = none` or an empty value.
    pub pidfile: Option<PathBuf>,
    pub socket: PathBuf,
    pub state_file: Option<PathBuf>,
    pub shutdown_timeout: Duration,
    pub log_maxbytes: u64,
    pub log_backups: u32,
    /// Stay in the foreground as with `-n` (supervisord's `nodaemon`).
    pub nodaemon: bool,
    /// A supervisord file's settings of the daemon process itself.
    pub daemon: Option<DaemonKeys>,
    /// supervisord's HTTP servers (`[unix_http_server]`, `[inet_http_server]`).
    pub http: HttpServers,
}

/// Who may speak HTTP to the daemon, and where. In Supervice's dialect all of it is
/// unset: the control socket serves HTTP without a password to the users that may use
/// it at all (root and the daemon's own).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpServers {
    /// Basic auth for HTTP on the control socket (`[unix_http_server]` username/password).
    pub unix_auth: Option<HttpAuth>,
    /// The control socket's mode (`[unix_http_server] chmod`); 0600 when unset.
    pub unix_mode: Option<u32>,
    /// Its owner (`chown`): (uid, gid), -1 for unchanged. This user may also control
    /// the daemon.
    pub unix_owner: Option<(i64, i64)>,
    pub inet: Option<InetServer>,
}

/// `username` and `password`; a password `{SHA}<hex>` is the SHA-1 of the real one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAuth {
    pub username: String,
    pub password: String,
}

/// `[inet_http_server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetServer {
    /// Empty for every interface.
    pub host: String,
    pub port: u16,
    pub auth: Option<HttpAuth>,
    /// Why the daemon must not serve it (open to other hosts without a password and
    /// without `allow_unauthenticated`), if so.
    pub refusal: Option<String>,
}

/// What `[supervisord]` says about the daemon process (supervisord's dialect only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonKeys {
    /// Set once detached (supervisord applies it only when it daemonizes).
    pub umask: u32,
    /// Entered once detached (likewise).
    pub directory: Option<PathBuf>,
    /// The fd limit is raised to at least this.
    pub minfds: u64,
    /// The process limit (RLIMIT_NPROC) is raised to at least this.
    pub minprocs: u64,
    /// The user to become once the pidfile and the control socket are made.
    pub user: Option<(String, crate::spawn::Credentials)>,
    /// Where earlier runs' AUTO logs are removed at start: (childlogdir, identifier);
    /// `None` with `nocleanup`.
    pub auto_log_cleanup: Option<(PathBuf, String)>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            logfile: None,
            log_syslog: false,
            loglevel: LogLevel::Info,
            pidfile: Some(PathBuf::from("supervice.pid")),
            socket: default_socket_path(),
            state_file: None,
            shutdown_timeout: Duration::from_secs(30),
            log_maxbytes: 52_428_800,
            log_backups: 10,
            nodaemon: false,
            daemon: None,
            http: HttpServers::default(),
        }
    }
}

/// A group and the programs in it, in the order their instances are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub programs: Vec<String>,
    /// supervisord's group priority (`None` in Supervice's dialect).
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    /// The language the file was written in: it decides a few rules (shutdown order).
    pub dialect: Dialect,
    pub global: Global,
    pub programs: Vec<Program>,
    /// Explicit groups, then the implicit group of every program in none.
    pub groups: Vec<Group>,
    /// Non-fatal findings (unknown keys, shared log files...), to log once loaded.
    pub warnings: Vec<String>,
}

impl Config {
    /// Every instance of every program, in config order.
    pub fn instances(&self) -> impl Iterator<Item = Instance> + '_ {
        self.programs.iter().flat_map(|p| p.instances())
    }
}

/// The default socket: `$XDG_RUNTIME_DIR`, else `/run` for root, else `~`.
pub fn default_socket_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.as_os_str().is_empty() && dir.is_dir() {
            return dir.join("supervice.sock");
        }
    }
    if nix::unistd::geteuid().is_root() && Path::new("/run").is_dir() {
        return PathBuf::from("/run/supervice.sock");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("~"), PathBuf::from);
    home.join(".supervice.sock")
}

/// Which language a config file speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Supervice,
    Supervisord,
}

/// A file whose sections (after its includes) contain `[supervisord]` is supervisord's
/// dialect; one with `[supervice]`, or neither, Supervice's; both is an error. A file
/// that cannot be read or parsed is left to Supervice's loader, which says why.
pub fn dialect(path: &Path) -> Result<Dialect, ConfigError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Dialect::Supervice);
    };
    let options = ini::Options {
        inline_comments: true,
        merge_duplicates: true,
    };
    let Ok(main) = ini::parse(&text, options) else {
        return Ok(Dialect::Supervice);
    };
    let has = |name: &str| main.sections.iter().any(|s| s.name == name);
    let mut supervisord = has("supervisord");
    if !supervisord && has("include") {
        let context = supervisord::Context::current();
        supervisord = supervisord::model::read_files(path, &context)
            .is_ok_and(|parsed| parsed.section("supervisord").is_some());
    }
    match (supervisord, has("supervice")) {
        (true, true) => Err(ConfigError(format!(
            "{} has both a [supervisord] and a [supervice] section: a file is either \
             supervisord's dialect or Supervice's, not both",
            path.display()
        ))),
        (true, false) => Ok(Dialect::Supervisord),
        (false, _) => Ok(Dialect::Supervice),
    }
}

/// Reads and validates the config file at `path`, in its dialect.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    match dialect(path)? {
        Dialect::Supervice => load_supervice(path),
        Dialect::Supervisord => load_supervisord(path),
    }
}

/// A supervisord file as the daemon runs it; the first refusal (all of them with
/// `--check`).
fn load_supervisord(path: &Path) -> Result<Config, ConfigError> {
    let context = supervisord::Context::current();
    let model = supervisord::load(path, &context).map_err(|errors| {
        let first = errors.first().map_or_else(String::new, ToString::to_string);
        match errors.len() {
            0 | 1 => ConfigError(first),
            n => ConfigError(format!(
                "{first} (and {} more; `supervice -c {} --check` lists them)",
                n - 1,
                path.display()
            )),
        }
    })?;
    supervisord::runtime::into_config(model, auto_tag())
}

/// Makes this daemon's AUTO log names its own; the same for every load in the process
/// (and in the detached daemon, which inherits it), so a reload sees no changed path.
fn auto_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let mut bytes = [0u8; 4];
        let random = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
        if random.is_err() {
            bytes = std::process::id().to_le_bytes();
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

fn load_supervice(path: &Path) -> Result<Config, ConfigError> {
    if !path.exists() {
        return Err(ConfigError(format!(
            "Config file not found: {}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("Cannot read {}: {e}", path.display())))?;
    parse(path, &text)
}

/// Validates config `text` as if read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let ini = ini::parse(text, ini::Options::default())
        .map_err(|e| ConfigError(format!("{} (line {})", e.message, e.line)))?;
    let mut warnings = Vec::new();

    // As in Supervice, `[supervice]` is validated before any program, wherever it is.
    let mut global = Global::default();
    if let Some(section) = ini.sections.iter().find(|s| s.name == "supervice") {
        global = parse_global(&Ctx::new(section, &ini.defaults, ""))?;
        warn_unknown_keys(section, SUPERVICE_KEYS, &mut warnings);
        if let Some(logfile) = global.logfile.as_ref().filter(|_| global.log_maxbytes > 0) {
            if crate::output::is_special(logfile) {
                warnings.push(format!(
                    "[supervice] logfile={} is not a regular file; log_maxbytes is ignored \
                     (only regular files are rotated)",
                    logfile.display()
                ));
            }
        }
    }
    let mut programs = Vec::new();
    let mut program_lines = Vec::new();
    let mut group_sections = Vec::new();
    let mut table = TableSize::default();
    for section in &ini.sections {
        if section.name == "supervice" {
            continue;
        } else if let Some(name) = section.name.strip_prefix("program:") {
            let prefix = format!("Program '{name}': ");
            let ctx = Ctx::new(section, &ini.defaults, &prefix);
            let program = program::parse(name, &ctx, &mut warnings)?;
            table.add(&program, &ctx)?;
            programs.push(program);
            program_lines.push(section.line);
            warn_unknown_keys(section, PROGRAM_KEYS, &mut warnings);
        } else if let Some(name) = section.name.strip_prefix("group:") {
            group_sections.push((name, section));
            warn_unknown_keys(section, GROUP_KEYS, &mut warnings);
        } else {
            warnings.push(format!(
                "Unknown section [{}] ignored (line {})",
                section.name, section.line
            ));
        }
    }
    for entry in &ini.defaults {
        let known = [SUPERVICE_KEYS, PROGRAM_KEYS, GROUP_KEYS]
            .iter()
            .any(|keys| keys.contains(&entry.key.as_str()));
        if !known {
            warnings.push(format!(
                "Unknown key '{}' in [DEFAULT] ignored (line {})",
                entry.key, entry.line
            ));
        }
    }

    check_instance_names(&programs, &program_lines)?;
    let groups = build_groups(&group_sections, &ini.defaults, &mut programs, &mut warnings)?;
    Ok(Config {
        path: path.to_path_buf(),
        dialect: Dialect::Supervice,
        global,
        programs,
        groups,
        warnings,
    })
}

/// Two sections must not make instances of one name (`[program:a]` with numprocs = 2
/// and `[program:a:00]`): the second would be a row no command can address.
fn check_instance_names(programs: &[Program], lines: &[usize]) -> Result<(), ConfigError> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, program) in programs.iter().enumerate() {
        for i in 0..program.numprocs {
            let name = program.instance_name(i);
            if let Some(&first) = seen.get(&name) {
                let describe = |p: &Program, line: usize| {
                    if p.numprocs > 1 {
                        format!(
                            "[program:{}] (numprocs={}, line {line})",
                            p.name, p.numprocs
                        )
                    } else {
                        format!("[program:{}] (line {line})", p.name)
                    }
                };
                return Err(ConfigError(format!(
                    "Process name '{name}' is defined twice: by {} and by {}",
                    describe(&programs[first], lines[first]),
                    describe(program, lines[index])
                )));
            }
            seen.insert(name, index);
        }
    }
    Ok(())
}

/// The most instances a configuration holds, all programs together (as `numprocs` is
/// for one program).
pub const MAX_INSTANCES: u64 = program::MAX_NUMPROCS;

/// The instances counted so far, and the most bytes their status reply can take: a
/// configuration the daemon loads is one whose `status` the client can read.
#[derive(Default)]
struct TableSize {
    instances: u64,
    status_bytes: usize,
}

impl TableSize {
    fn add(&mut self, program: &Program, ctx: &Ctx<'_>) -> Result<(), ConfigError> {
        self.instances += u64::from(program.numprocs);
        if self.instances > MAX_INSTANCES {
            let msg = format!(
                "numprocs={} makes {} instances in all, more than the limit of {MAX_INSTANCES}",
                program.numprocs, self.instances
            );
            return Err(ctx.error("numprocs", msg));
        }
        // Every instance name is at most this long: `NAME:` and the widest number.
        let widest = program.instance_name(program.numprocs - 1);
        let entry = crate::rpc::status_entry_bound(&widest);
        self.status_bytes += entry * program.numprocs as usize;
        if self.status_bytes + crate::rpc::STATUS_ENVELOPE > crate::rpc::MAX_REPLY / 2 {
            let msg = format!(
                "the status reply of this many instances with names this long would pass \
                 {} bytes; use fewer instances or shorter program names",
                crate::rpc::MAX_REPLY / 2
            );
            return Err(ctx.error("numprocs", msg));
        }
        Ok(())
    }
}

fn warn_unknown_keys(section: &ini::Section, known: &[&str], warnings: &mut Vec<String>) {
    for entry in &section.entries {
        if !known.contains(&entry.key.as_str()) {
            warnings.push(format!(
                "Unknown key '{}' in [{}] ignored (line {})",
                entry.key, section.name, entry.line
            ));
        }
    }
}

fn parse_global(ctx: &Ctx<'_>) -> Result<Global, ConfigError> {
    let shutdown_timeout = ctx.int("shutdown_timeout", 30)?;
    let log_maxbytes = ctx.int("log_maxbytes", 52_428_800)?;
    let log_backups = ctx.int("log_backups", 10)?;

    let loglevel = match ctx.entry("loglevel") {
        None => LogLevel::Info,
        Some(e) => LogLevel::parse(&e.value).ok_or_else(|| {
            ctx.error(
                "loglevel",
                format!(
                    "Invalid loglevel '{}'. Valid levels: {LOG_LEVELS_HELP}",
                    e.value
                ),
            )
        })?,
    };
    if shutdown_timeout <= 0 {
        return Err(ctx.error("shutdown_timeout", "shutdown_timeout must be positive"));
    }
    let shutdown_timeout = ctx.seconds("shutdown_timeout", shutdown_timeout as u64)?;
    let log_maxbytes = ctx.non_negative("log_maxbytes", log_maxbytes, false)?;
    let log_backups = ctx.non_negative("log_backups", log_backups, false)?;

    let pidfile = match ctx.string("pidfile") {
        None => Some(PathBuf::from("supervice.pid")),
        Some(v) if v.is_empty() || v.eq_ignore_ascii_case("none") => None,
        Some(v) => Some(PathBuf::from(v)),
    };
    if let Some(pidfile) = &pidfile {
        check_parent_dir(ctx, "pidfile", "pidfile", pidfile)?;
    }
    let socket = match ctx.string("socket") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default_socket_path(),
    };
    check_parent_dir(ctx, "socket", "socket", &socket)?;

    Ok(Global {
        logfile: ctx
            .string("logfile")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        log_syslog: false,
        loglevel,
        pidfile,
        socket,
        state_file: ctx
            .string("state_file")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        shutdown_timeout,
        log_maxbytes,
        log_backups: u32::try_from(log_backups).unwrap_or(u32::MAX),
        nodaemon: false,
        daemon: None,
        http: HttpServers::default(),
    })
}

/// The directory that will hold `path` must exist and be writable by the daemon.
fn check_parent_dir(ctx: &Ctx<'_>, key: &str, what: &str, path: &Path) -> Result<(), ConfigError> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        let msg = format!("{what} directory '{}' does not exist", dir.display());
        return Err(ctx.error(key, msg));
    }
    if !value::writable(&dir) {
        let msg = format!("{what} directory '{}' is not writable", dir.display());
        return Err(ctx.error(key, msg));
    }
    Ok(())
}

/// The absolute directory a file path lives in (the cwd for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// Explicit groups from `[group:NAME]`, then one implicit group per ungrouped program.
/// A program named by several groups ends up in the last one, as in Supervice.
fn build_groups(
    sections: &[(&str, &ini::Section)],
    defaults: &[ini::Entry],
    programs: &mut [Program],
    warnings: &mut Vec<String>,
) -> Result<Vec<Group>, ConfigError> {
    let mut explicit: Vec<Group> = Vec::new();
    for (name, section) in sections {
        let prefix = format!("Group '{name}': ");
        let ctx = Ctx::new(section, defaults, &prefix);
        let members = ctx.list("programs");
        if members.is_empty() {
            warnings.push(format!(
                "Group '{name}' lists no programs and is ignored (line {})",
                section.line
            ));
            continue;
        }
        let unknown: Vec<&str> = members
            .iter()
            .filter(|m| !programs.iter().any(|p| &p.name == *m))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let msg = format!("unknown program(s): {}", unknown.join(", "));
            return Err(ctx.error("programs", msg));
        }
        explicit.push(Group {
            name: name.to_string(),
            programs: members,
            priority: None,
        });
    }

    for program in programs.iter_mut() {
        let owners: Vec<&str> = explicit
            .iter()
            .filter(|g| g.programs.contains(&program.name))
            .map(|g| g.name.as_str())
            .collect();
        if let Some(last) = owners.last() {
            if owners.len() > 1 {
                warnings.push(format!(
                    "Program '{}' is listed in groups {}; it belongs to the last one, '{last}'",
                    program.name,
                    owners.join(", ")
                ));
            }
            program.group = last.to_string();
        } else {
            program.group = program.name.clone();
        }
    }

    // Membership is decided: each explicit group keeps its listed order, minus programs
    // claimed by a later group; an ungrouped program joins the group of its own name.
    let mut groups: Vec<Group> = Vec::new();
    for group in explicit {
        let members: Vec<String> = group
            .programs
            .into_iter()
            .filter(|m| {
                programs
                    .iter()
                    .any(|p| &p.name == m && p.group == group.name)
            })
            .collect();
        if !members.is_empty() {
            groups.push(Group {
                name: group.name,
                programs: members,
                priority: None,
            });
        }
    }
    for program in programs.iter().filter(|p| p.group == p.name) {
        match groups.iter_mut().find(|g| g.name == program.name) {
            Some(group) if !group.programs.contains(&program.name) => {
                group.programs.push(program.name.clone())
            }
            Some(_) => {}
            None => groups.push(Group {
                name: program.name.clone(),
                programs: vec![program.name.clone()],
                priority: None,
            }),
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests;
