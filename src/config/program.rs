//! `[program:NAME]`: typing, validation in Supervice's order, and the per-instance
//! expansion that both spawning and reload comparison use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::expand::{self, PROCESS_NUM};
use super::value::{readable, searchable, writable, Ctx};
use super::ConfigError;
use crate::spawn::Credentials;

/// Keys of `[program:NAME]`.
pub const PROGRAM_KEYS: &[&str] = &[
    "command",
    "numprocs",
    "autostart",
    "autorestart",
    "startsecs",
    "startretries",
    "stopsignal",
    "stopwaitsecs",
    "stdout_logfile",
    "stderr_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "directory",
    "user",
    "environment",
    // From here on, the keys supervisord does not have (EXTENSION_KEYS).
    "env_file",
    "pdeathsig",
    "reconcile",
    "healthcheck_type",
    "healthcheck_interval",
    "healthcheck_timeout",
    "healthcheck_retries",
    "healthcheck_start_period",
    "healthcheck_port",
    "healthcheck_host",
    "healthcheck_command",
];

/// A guard against typos: each instance is a process slot with its own state.
pub const MAX_NUMPROCS: u64 = 100_000;

/// The signal names `stopsignal` accepts, with or without `SIG`, in any case.
const SIGNAL_NAMES: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "KILL", "PIPE",
    "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
    "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// What to do at startup with a recorded child of a previous supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconcile {
    Auto,
    Kill,
    Warn,
    Off,
}

impl Reconcile {
    pub fn parse(text: &str) -> Option<Reconcile> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Reconcile::Auto,
            "kill" => Reconcile::Kill,
            "warn" => Reconcile::Warn,
            "off" => Reconcile::Off,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Reconcile::Auto => "auto",
            Reconcile::Kill => "kill",
            Reconcile::Warn => "warn",
            Reconcile::Off => "off",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    None,
    /// `host` as written (for messages); `addr` when it is an IP literal, else the
    /// name is resolved at each check.
    Tcp {
        host: String,
        port: u16,
        addr: Option<std::net::SocketAddr>,
    },
    Script {
        command: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: HealthCheck,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failures before UNHEALTHY; 0 behaves like 1.
    pub retries: u32,
    pub start_period: Duration,
}

/// A captured stream: path (a template in `Program`, expanded in `Instance`) and rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    /// 0: never rotate.
    pub maxbytes: u64,
    /// 0: truncate instead of keeping `path.1`.
    pub backups: u32,
}

/// What a program of a supervisord file has beyond Supervice's keys, and how its
/// instance behaves differently (`None` in Supervice's dialect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisordKeys {
    pub autorestart: crate::lifecycle::AutoRestart,
    pub exitcodes: Vec<u8>,
    /// Stop signals go to the process group, not only the main process.
    pub stopasgroup: bool,
    /// The SIGKILL after stopwaitsecs goes to the process group.
    pub killasgroup: bool,
    /// stderr goes where stdout goes.
    pub redirect_stderr: bool,
    pub umask: Option<u32>,
    pub priority: i64,
    /// `[supervisord] strip_ansi`: escape sequences are taken out of the output.
    pub strip_ansi: bool,
    /// Each line of the stream also goes to syslog.
    pub stdout_syslog: bool,
    pub stderr_syslog: bool,
    /// `[fcgi-program:x]`: the group's listening socket, the child's fd 0.
    pub fcgi: Option<crate::config::supervisord::model::Socket>,
}

/// One `[program:NAME]`, typed and validated; templates not yet expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    /// Set once groups are known.
    pub group: String,
    pub command: String,
    pub numprocs: u32,
    pub autostart: bool,
    pub autorestart: bool,
    pub startsecs: Duration,
    pub startretries: u32,
    pub stopsignal: Signal,
    pub stopwaitsecs: Duration,
    pub stdout: Option<LogFile>,
    pub stderr: Option<LogFile>,
    /// env_file pairs, then `environment` pairs: later ones win.
    pub environment: Vec<(String, String)>,
    pub directory: Option<PathBuf>,
    pub user: Option<String>,
    /// `user` looked up at load (see `spawn::Credentials`).
    pub credentials: Option<Credentials>,
    pub pdeathsig: bool,
    pub reconcile: Reconcile,
    pub health: Health,
    pub supervisord: Option<SupervisordKeys>,
}

/// One process slot of a program, every template expanded. Reload compares these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `NAME`, or `NAME:NN` when numprocs > 1.
    pub name: String,
    pub program: String,
    pub group: String,
    pub numprocs: u32,
    pub argv: Vec<String>,
    pub autostart: bool,
    pub autorestart: bool,
    pub startsecs: Duration,
    pub startretries: u32,
    pub stopsignal: Signal,
    pub stopwaitsecs: Duration,
    pub stdout: Option<LogFile>,
    pub stderr: Option<LogFile>,
    pub environment: Vec<(String, String)>,
    pub directory: Option<PathBuf>,
    pub user: Option<String>,
    /// `user` looked up at load: what spawns and health scripts switch to.
    pub credentials: Option<Credentials>,
    pub pdeathsig: bool,
    pub reconcile: Reconcile,
    pub health: Health,
    pub supervisord: Option<SupervisordKeys>,
}

impl Program {
    pub fn instance_name(&self, index: u32) -> String {
        if self.numprocs == 1 {
            self.name.clone()
        } else {
            format!("{}:{}", self.name, expand::process_num(index))
        }
    }

    pub fn instances(&self) -> impl Iterator<Item = Instance> + '_ {
        (0..self.numprocs).map(move |i| self.instance(i))
    }

    /// The command line of one instance, as written (quotes kept).
    pub fn instance_command(&self, index: u32) -> String {
        expand::expand_process_num(&self.command, index)
    }

    pub fn instance(&self, index: u32) -> Instance {
        let expand = |s: &str| expand::expand_process_num(s, index);
        let log = |l: &Option<LogFile>| {
            l.as_ref().map(|l| LogFile {
                path: PathBuf::from(expand(&l.path.to_string_lossy())),
                ..l.clone()
            })
        };
        // The template was split at load; expansion only inserts digits, so this holds.
        let argv = expand::split_command(&expand(&self.command)).unwrap_or_default();
        Instance {
            name: self.instance_name(index),
            program: self.name.clone(),
            group: self.group.clone(),
            numprocs: self.numprocs,
            argv,
            autostart: self.autostart,
            autorestart: self.autorestart,
            startsecs: self.startsecs,
            startretries: self.startretries,
            stopsignal: self.stopsignal,
            stopwaitsecs: self.stopwaitsecs,
            stdout: log(&self.stdout),
            stderr: log(&self.stderr),
            environment: self
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), expand(v)))
                .collect(),
            directory: self.directory.clone(),
            user: self.user.clone(),
            credentials: self.credentials.clone(),
            pdeathsig: self.pdeathsig,
            reconcile: self.reconcile,
            health: self.health.clone(),
            supervisord: self.supervisord.clone(),
        }
    }
}

/// Normalises a signal name once, at load: `term`, `SIGTERM` and `TERM` are all SIGTERM.
pub fn parse_signal(text: &str) -> Option<Signal> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if !SIGNAL_NAMES.contains(&bare) {
        return None;
    }
    format!("SIG{bare}").parse().ok()
}

fn secs(value: u64) -> Duration {
    Duration::from_secs(value)
}

fn to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Types and validates one program section, in the order Supervice checks things.
pub fn parse(
    name: &str,
    ctx: &Ctx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Program, ConfigError> {
    // 1-2. Integers, health ones first (their conversion runs even without a check).
    let hc_interval = ctx.int("healthcheck_interval", 30)?;
    let hc_timeout = ctx.int("healthcheck_timeout", 10)?;
    let hc_retries = ctx.int("healthcheck_retries", 3)?;
    let hc_start_period = ctx.int("healthcheck_start_period", 10)?;
    let hc_port = ctx.opt_int("healthcheck_port")?;
    let numprocs = ctx.int("numprocs", 1)?;
    let startsecs = ctx.int("startsecs", 1)?;
    let startretries = ctx.int("startretries", 3)?;
    let stopwaitsecs = ctx.int("stopwaitsecs", 10)?;
    let out_max = ctx.int("stdout_logfile_maxbytes", 52_428_800)?;
    let out_backups = ctx.int("stdout_logfile_backups", 10)?;
    let err_max = ctx.int("stderr_logfile_maxbytes", 52_428_800)?;
    let err_backups = ctx.int("stderr_logfile_backups", 10)?;
    let autostart = ctx.bool("autostart", true)?;
    let autorestart = ctx.bool("autorestart", true)?;
    let pdeathsig = ctx.bool("pdeathsig", true)?;

    // 3. reconcile.
    let reconcile = reconcile_key(ctx)?;

    // 4. command present.
    let command = match ctx.string("command") {
        Some(c) if !c.trim().is_empty() => c,
        _ => return Err(ctx.error("command", "missing command")),
    };

    // 5. Bounds.
    let numprocs = ctx.non_negative("numprocs", numprocs, true)?;
    let startsecs = ctx.non_negative("startsecs", startsecs, true)?;
    let startretries = ctx.non_negative("startretries", startretries, true)?;
    let stopwaitsecs = ctx.non_negative("stopwaitsecs", stopwaitsecs, true)?;
    let out_max = ctx.non_negative("stdout_logfile_maxbytes", out_max, true)?;
    let out_backups = ctx.non_negative("stdout_logfile_backups", out_backups, true)?;
    let err_max = ctx.non_negative("stderr_logfile_maxbytes", err_max, true)?;
    let err_backups = ctx.non_negative("stderr_logfile_backups", err_backups, true)?;
    if numprocs < 1 {
        return Err(ctx.error("numprocs", "numprocs must be at least 1"));
    }
    if numprocs > MAX_NUMPROCS {
        let msg = format!("numprocs must be at most {MAX_NUMPROCS}, got {numprocs}");
        return Err(ctx.error("numprocs", msg));
    }
    let numprocs = to_u32(numprocs);
    let startsecs = ctx.seconds("startsecs", startsecs)?;
    let stopwaitsecs = ctx.seconds("stopwaitsecs", stopwaitsecs)?;

    // 6. The command must split.
    match expand::split_command(&command) {
        Err(reason) => {
            return Err(ctx.error("command", format!("command does not parse: {reason}")))
        }
        Ok(argv) if argv.is_empty() => return Err(ctx.error("command", "command is empty")),
        Ok(_) => {}
    }

    // 7. stopsignal, user, directory, log directories, env_file, health.
    let stopsignal = match ctx.entry("stopsignal") {
        None => Signal::SIGTERM,
        Some(e) => parse_signal(&e.value).ok_or_else(|| {
            let msg = format!(
                "invalid stopsignal '{}'. Valid signals: {}",
                e.value,
                SIGNAL_NAMES.join(", ")
            );
            ctx.error("stopsignal", msg)
        })?,
    };

    let user = ctx.string("user").filter(|u| !u.trim().is_empty());
    let user = user.map(|u| u.trim().to_string());
    // Looked up once here, at load and reload, never at a spawn.
    let credentials = match &user {
        None => None,
        Some(u) => match crate::spawn::resolve_user(u) {
            Ok(Some(credentials)) => Some(credentials),
            Ok(None) => return Err(ctx.error("user", format!("user '{u}' does not exist"))),
            Err(message) => return Err(ctx.error("user", message)),
        },
    };

    let directory = ctx.string("directory").filter(|d| !d.is_empty());
    let directory = directory.map(PathBuf::from);
    if let Some(d) = &directory {
        let shown = d.display();
        if !d.exists() {
            return Err(ctx.error("directory", format!("directory '{shown}' does not exist")));
        }
        if !d.is_dir() {
            return Err(ctx.error("directory", format!("'{shown}' is not a directory")));
        }
        if !searchable(d) {
            return Err(ctx.error(
                "directory",
                format!("directory '{shown}' is not accessible"),
            ));
        }
    }

    let stdout = log_file(ctx, "stdout_logfile", out_max, out_backups)?;
    let stderr = log_file(ctx, "stderr_logfile", err_max, err_backups)?;
    for (key, log) in [("stdout_logfile", &stdout), ("stderr_logfile", &stderr)] {
        if let Some(log) = log.as_ref().filter(|l| l.maxbytes > 0) {
            if crate::output::is_special(&log.path) {
                warnings.push(format!(
                    "Program '{name}': {key}={} is not a regular file; {key}_maxbytes is \
                     ignored (only regular files are rotated)",
                    log.path.display()
                ));
            }
        }
    }

    let env_files = check_env_files(ctx)?;

    let health = parse_health(
        ctx,
        [hc_interval, hc_timeout, hc_retries, hc_start_period],
        hc_port,
    )?;

    // 8. env_file contents, then `environment` on top.
    let mut environment = read_env_files(ctx, &env_files)?;
    if let Some(text) = ctx.string("environment") {
        environment.extend(expand::parse_environment(&text));
    }

    if pdeathsig {
        let argv0 = expand::split_command(&command)
            .ok()
            .and_then(|a| a.into_iter().next());
        let resolved =
            argv0.and_then(|a| crate::spawn::resolve_command(&a, directory.as_deref()).ok());
        if let Some(path) = resolved.map(|p| match &directory {
            Some(d) if p.is_relative() => d.join(p),
            _ => p,
        }) {
            if crate::spawn::is_setid(&path) {
                warnings.push(format!(
                    "Program '{name}': command '{}' is a setuid/setgid binary; the kernel \
                     clears pdeathsig at exec, so this program's children will survive an \
                     abrupt supervisor kill despite pdeathsig=true",
                    path.display()
                ));
            }
        }
    }

    if numprocs > 1 {
        for (key, log) in [("stdout_logfile", &stdout), ("stderr_logfile", &stderr)] {
            if let Some(log) = log {
                if !log.path.to_string_lossy().contains(PROCESS_NUM) {
                    warnings.push(format!(
                        "Program '{name}': {key}={} has no {PROCESS_NUM} but numprocs={numprocs}; \
                         all instances will write to the same file with interleaved output",
                        log.path.display()
                    ));
                }
            }
        }
        if let HealthCheck::Tcp { port, .. } = &health.check {
            warnings.push(format!(
                "Program '{name}': numprocs={numprocs} with a TCP health check: all instances \
                 will probe the same port {port}; use {PROCESS_NUM} in the command to give each \
                 instance its own port"
            ));
        }
    }

    Ok(Program {
        name: name.to_string(),
        group: name.to_string(),
        command,
        numprocs,
        autostart,
        autorestart,
        startsecs,
        startretries: to_u32(startretries),
        stopsignal,
        stopwaitsecs,
        stdout,
        stderr,
        environment,
        directory,
        user,
        credentials,
        pdeathsig,
        reconcile,
        health,
        supervisord: None,
    })
}

/// `reconcile`: auto (the default), kill, warn or off.
fn reconcile_key(ctx: &Ctx<'_>) -> Result<Reconcile, ConfigError> {
    match ctx.entry("reconcile") {
        None => Ok(Reconcile::Auto),
        Some(e) => Reconcile::parse(&e.value).ok_or_else(|| {
            let msg = format!(
                "invalid reconcile '{}' (expected one of: auto, kill, warn, off)",
                e.value.trim()
            );
            ctx.error("reconcile", msg)
        }),
    }
}

/// `env_file`: each listed file must exist and be a readable regular file.
fn check_env_files(ctx: &Ctx<'_>) -> Result<Vec<String>, ConfigError> {
    let env_files = ctx.list("env_file");
    for path in &env_files {
        let p = Path::new(path);
        if !p.exists() {
            return Err(ctx.error("env_file", format!("env_file '{path}' does not exist")));
        }
        if !readable(p) || p.is_dir() {
            return Err(ctx.error("env_file", format!("env_file '{path}' is not readable")));
        }
        // A device or a pipe could be read for ever (/dev/zero) or block the load.
        if !p.is_file() {
            let msg = format!("env_file '{path}' is not a regular file");
            return Err(ctx.error("env_file", msg));
        }
    }
    Ok(env_files)
}

/// The `KEY=VALUE` lines of the env files, in order.
fn read_env_files(ctx: &Ctx<'_>, files: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut environment = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ctx.error(
                "env_file",
                format!("env_file '{path}' is not readable: {e}"),
            )
        })?;
        let pairs = expand::parse_env_file(&text).map_err(|e| {
            let msg = format!("{path}:{}: malformed env line (expected KEY=VALUE)", e.line);
            ctx.error("env_file", msg)
        })?;
        environment.extend(pairs);
    }
    Ok(environment)
}

/// Supervice's keys that supervisord does not have (health checks, env_file, pdeathsig,
/// reconcile): also read in a supervisord file's `[program:x]`, which supervisord ignores.
/// They are the tail of `PROGRAM_KEYS`, from `env_file` on.
pub const EXTENSION_KEYS: &[&str] = PROGRAM_KEYS.split_at(EXTENSIONS_START).1;
const EXTENSIONS_START: usize = 17;

/// Those keys of one section, typed and checked as Supervice checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    pub health: Health,
    /// The env files' pairs, under the program's `environment`.
    pub env_file_pairs: Vec<(String, String)>,
    pub pdeathsig: bool,
    pub reconcile: Reconcile,
}

pub fn extensions(ctx: &Ctx<'_>) -> Result<Extensions, ConfigError> {
    let ints = [
        ctx.int("healthcheck_interval", 30)?,
        ctx.int("healthcheck_timeout", 10)?,
        ctx.int("healthcheck_retries", 3)?,
        ctx.int("healthcheck_start_period", 10)?,
    ];
    let port = ctx.opt_int("healthcheck_port")?;
    let pdeathsig = ctx.bool("pdeathsig", true)?;
    let reconcile = reconcile_key(ctx)?;
    let files = check_env_files(ctx)?;
    let health = parse_health(ctx, ints, port)?;
    Ok(Extensions {
        health,
        env_file_pairs: read_env_files(ctx, &files)?,
        pdeathsig,
        reconcile,
    })
}

fn log_file(
    ctx: &Ctx<'_>,
    key: &str,
    maxbytes: u64,
    backups: u64,
) -> Result<Option<LogFile>, ConfigError> {
    let Some(path) = ctx.string(key).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    // A device, FIFO or /dev/stdout is written where it is: only it must be writable
    // (its directory, /dev or /proc/self/fd, need not be).
    if crate::output::is_special(Path::new(&path)) && Path::new(&path).exists() {
        if !writable(Path::new(&path)) {
            return Err(ctx.error(key, format!("log file '{path}' is not writable")));
        }
        return Ok(Some(LogFile {
            path: PathBuf::from(path),
            maxbytes,
            backups: to_u32(backups),
        }));
    }
    // Checked on the template, so a %(process_num)s in the directory part fails here.
    let dir = super::parent_dir(Path::new(&path));
    if !dir.is_dir() {
        let msg = format!("log directory '{}' does not exist", dir.display());
        return Err(ctx.error(key, msg));
    }
    if !writable(&dir) {
        let msg = format!("log directory '{}' is not writable", dir.display());
        return Err(ctx.error(key, msg));
    }
    Ok(Some(LogFile {
        path: PathBuf::from(path),
        maxbytes,
        backups: to_u32(backups),
    }))
}

fn parse_health(ctx: &Ctx<'_>, ints: [i64; 4], port: Option<i64>) -> Result<Health, ConfigError> {
    let [interval, timeout, retries, start_period] = ints;
    let kind = ctx
        .string("healthcheck_type")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let check_kind = match kind.as_str() {
        "" | "none" => None,
        "tcp" | "script" => Some(kind.as_str()),
        other => {
            let msg =
                format!("invalid healthcheck_type '{other}' (expected one of: none, tcp, script)");
            return Err(ctx.error("healthcheck_type", msg));
        }
    };
    let mut health = Health {
        check: HealthCheck::None,
        interval: secs(interval.max(0) as u64),
        timeout: secs(timeout.max(0) as u64),
        retries: to_u32(retries.max(0) as u64),
        start_period: secs(start_period.max(0) as u64),
    };
    let Some(kind) = check_kind else {
        return Ok(health);
    };
    let interval = ctx.non_negative("healthcheck_interval", interval, true)?;
    let timeout = ctx.non_negative("healthcheck_timeout", timeout, true)?;
    ctx.non_negative("healthcheck_retries", retries, true)?;
    let start_period = ctx.non_negative("healthcheck_start_period", start_period, true)?;
    if interval < 1 {
        let msg = "healthcheck_interval must be at least 1";
        return Err(ctx.error("healthcheck_interval", msg));
    }
    health.interval = ctx.seconds("healthcheck_interval", interval)?;
    health.timeout = ctx.seconds("healthcheck_timeout", timeout)?;
    health.start_period = ctx.seconds("healthcheck_start_period", start_period)?;
    health.check = if kind == "tcp" {
        let Some(port) = port else {
            let msg = "healthcheck_port is required for TCP health checks";
            return Err(ctx.error("healthcheck_port", msg));
        };
        let Ok(port) =
            u16::try_from(port)
                .map_err(|_| ())
                .and_then(|p| if p == 0 { Err(()) } else { Ok(p) })
        else {
            let msg = "healthcheck_port must be between 1 and 65535";
            return Err(ctx.error("healthcheck_port", msg));
        };
        let host = ctx
            .string("healthcheck_host")
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "127.0.0.1".to_string());
        // A name is resolved at each check, without blocking the loop; not here, where
        // a reload would wait on DNS and freeze the answer until the next one.
        let addr = crate::health::literal_addr(&host, port);
        HealthCheck::Tcp { host, port, addr }
    } else {
        match ctx.string("healthcheck_command") {
            Some(c) if !c.trim().is_empty() => HealthCheck::Script { command: c },
            _ => {
                let msg = "healthcheck_command required for script checks";
                return Err(ctx.error("healthcheck_command", msg));
            }
        }
    };
    Ok(health)
}
