//! `supervice`: the daemon. Arguments, config, logging, detaching; then the supervisor.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use log::info;
use supervice::config::{self, LogLevel, LOG_LEVELS_HELP};
use supervice::critical;
use supervice::daemon::{self, Readiness};
use supervice::logger::{self, Destination};
use supervice::spawn;
use supervice::supervisor::Supervisor;

const USAGE: &str =
    "usage: supervice [-h] [--version] [-c FILE] [-n] [-l LOGFILE] [-e LEVEL] [--check [--json]]
       (and supervisord's options: supervice -h)";

const HELP: &str = "\
supervice - keep long-running programs alive

usage: supervice [-h] [--version] [-c FILE] [-n] [-l LOGFILE] [-e LEVEL] [--check [--json]]

Reads the config FILE, starts its programs and keeps them running: restarts with
backoff, stop signals to whole process groups, output captured into rotated log
files. It is controlled through a Unix socket with supervicectl(1).

options:
  -c, --configuration FILE  config file (default: supervisord.conf in the current
                            directory); see supervice.conf(5)
  -n, --nodaemon            stay in the foreground; without it the daemon detaches and
                            the command returns once the daemon is up (exit 0) or has
                            failed to start (exit 1, with the reason on stderr)
  -l, --logfile LOGFILE     daemon log file, overriding the config's logfile
  -e, --loglevel LEVEL      DEBUG, INFO, WARNING (WARN), ERROR or CRITICAL,
                            overriding the config's loglevel
      --check               read and validate FILE exactly as a start would, print
                            every warning and the first error (with section, key and
                            line) and exit 0 if it is valid, 1 if not; starts nothing
                            and touches no pidfile, socket or log file; a file with
                            [supervisord] is read as supervisord's dialect
      --json                with --check: print the effective configuration as JSON
                            on stdout (supervisord's keys for a supervisord file)
  -v, --version             print the version and exit
  -h, --help                print this help and exit

supervisord's options, for a supervisord-dialect file (they override its
[supervisord] keys, as in supervisord; with a Supervice file they are ignored with a
warning, except -j):
  -s, --silent              no log on stdout with -n (the log goes to its file)
  -u, --user USER           become USER once the pidfile and socket are made
  -m, --umask UMASK         umask of the daemon once detached (octal)
  -d, --directory DIR       directory the daemon enters once detached
  -y, --logfile_maxbytes N  daemon log rotation size (50MB, 0: never)
  -z, --logfile_backups N   rotated daemon logs kept
  -j, --pidfile FILE        pidfile
  -i, --identifier STR      identifier (in AUTO log names)
  -q, --childlogdir DIR     directory of AUTO logs
  -k, --nocleanup           keep earlier AUTO logs at start
  -a, --minfds N            raise the fd limit to at least N
  -t, --strip_ansi          strip ANSI escape sequences from children's output
      --minprocs N          raise the process limit to at least N
      --profile_options OPT accepted and ignored (supervisord's Python profiler)

Invoked as supervisord (a link named so), without -c it reads the first of
../etc/supervisord.conf and ../supervisord.conf beside the binary's directory,
supervisord.conf, etc/supervisord.conf, /etc/supervisord.conf and
/etc/supervisor/supervisord.conf, and exits 2 for a bad configuration, as supervisord.

signals:
  SIGTERM, SIGINT, SIGQUIT, SIGPWR
                   stop every program (stopsignal, then SIGKILL after stopwaitsecs;
                   at shutdown_timeout the remaining process groups are SIGKILLed)
                   and exit 0
  SIGHUP           logged and ignored; use 'supervicectl reload'
  SIGUSR2          reopen the daemon's and the programs' log files (logrotate)
  SIGUSR1, SIGALRM, SIGTSTP, SIGRTMIN..SIGRTMAX and others
                   logged and ignored; see supervice(8)

exit status:
  0  clean shutdown, --version, --help, --check of a valid file
  1  invalid config (also with --check), another instance running, or another
     startup failure
  2  invalid arguments
";

struct Args {
    /// `None`: the default (see `default_config`).
    config: Option<PathBuf>,
    /// supervisord's options over `[supervisord]`.
    overrides: supervice::config::supervisord::model::Overrides,
    nodaemon: bool,
    logfile: Option<PathBuf>,
    loglevel: Option<String>,
    check: bool,
    json: bool,
}

enum Parsed {
    Run(Box<Args>),
    Exit(ExitCode),
}

fn parse_args() -> Result<Parsed, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        config: None,
        overrides: Default::default(),
        nodaemon: false,
        logfile: None,
        loglevel: None,
        check: false,
        json: false,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("configuration") => args.config = Some(parser.value()?.into()),
            Short('n') | Long("nodaemon") => args.nodaemon = true,
            Short('s') | Long("silent") => args.overrides.silent = true,
            Short('k') | Long("nocleanup") => args.overrides.nocleanup = true,
            Short('t') | Long("strip_ansi") => args.overrides.strip_ansi = true,
            Short('u') | Long("user") => args.overrides.user = Some(parser.value()?.string()?),
            Short('m') | Long("umask") => args.overrides.umask = Some(parser.value()?.string()?),
            Short('d') | Long("directory") => {
                args.overrides.directory = Some(parser.value()?.string()?)
            }
            Short('y') | Long("logfile_maxbytes") => {
                args.overrides.logfile_maxbytes = Some(parser.value()?.string()?)
            }
            Short('z') | Long("logfile_backups") => {
                args.overrides.logfile_backups = Some(parser.value()?.string()?)
            }
            Short('j') | Long("pidfile") => {
                args.overrides.pidfile = Some(parser.value()?.string()?)
            }
            Short('i') | Long("identifier") => {
                args.overrides.identifier = Some(parser.value()?.string()?)
            }
            Short('q') | Long("childlogdir") => {
                args.overrides.childlogdir = Some(parser.value()?.string()?)
            }
            Short('a') | Long("minfds") => args.overrides.minfds = Some(parser.value()?.string()?),
            Long("minprocs") => args.overrides.minprocs = Some(parser.value()?.string()?),
            Long("profile_options") => {
                parser.value()?;
            }
            Short('l') | Long("logfile") => args.logfile = Some(parser.value()?.into()),
            Short('e') | Long("loglevel") => args.loglevel = Some(parser.value()?.string()?),
            Long("check") => args.check = true,
            Long("json") => args.json = true,
            Short('v') | Long("version") => {
                println!("supervice {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Box::new(args)))
}

fn main() -> ExitCode {
    daemon::reset_signal_state();
    spawn::ensure_stdio_open();
    // Internal: the daemon runs its own binary this way to resolve a health check's host
    // name in a child, since getaddrinfo blocks.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().take(5).collect();
    if let [_, flag, host, port] = argv.as_slice() {
        if flag == supervice::health::RESOLVE_FLAG {
            let code = match (host.to_str(), port.to_str()) {
                (Some(host), Some(port)) => supervice::health::resolve_main(host, port),
                _ => 2,
            };
            return ExitCode::from(code as u8);
        }
    }
    let args = match parse_args() {
        Ok(Parsed::Run(args)) => *args,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("{USAGE}\nsupervice: error: {e}");
            return ExitCode::from(2);
        }
    };
    let supervisord_name = invoked_as_supervisord();
    let config = match args.config.clone() {
        Some(path) => path,
        None => match default_config(supervisord_name) {
            Ok(path) => path,
            Err(message) => {
                eprintln!("Error: {message}\nFor help, use supervisord -h");
                return ExitCode::from(2);
            }
        },
    };
    let args = Args {
        config: Some(config),
        ..args
    };
    // The overrides also reach --check and every reload.
    let mut overrides = args.overrides.clone();
    overrides.logfile = args.logfile.as_ref().map(|p| p.display().to_string());
    overrides.loglevel = args.loglevel.clone();
    overrides.nodaemon = args.nodaemon;
    supervice::config::supervisord::model::set_overrides(overrides);
    let config_error = if supervisord_name {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    };
    if args.json && !args.check {
        eprintln!("{USAGE}\nsupervice: error: --json goes with --check");
        return ExitCode::from(2);
    }
    let path = args.config.clone().unwrap_or_default();
    if args.check {
        return check(&path, args.json);
    }
    match run(args, &path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("{message}");
            config_error
        }
        Err(Failure::Other(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Why the daemon did not run: a configuration it refused (exit 2 as `supervisord`), or
/// anything else.
enum Failure {
    Config(String),
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Other(message)
    }
}

/// Whether the binary was run through a link named `supervisord`.
fn invoked_as_supervisord() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "supervisord"))
        .unwrap_or(false)
}

/// The config file without `-c`: `supervisord.conf` in the current directory, or, as
/// `supervisord`, the first that exists of supervisord's search list.
fn default_config(as_supervisord: bool) -> Result<PathBuf, String> {
    if !as_supervisord {
        return Ok(PathBuf::from("supervisord.conf"));
    }
    let argv0 = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_default();
    let argv0 = std::path::absolute(&argv0).unwrap_or(argv0);
    let prefix = argv0
        .parent()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let candidates = [
        prefix.join("etc/supervisord.conf"),
        prefix.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ];
    if let Some(found) = candidates.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    let shown: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "No config file found at default paths ({}); use the -c option to specify a config \
         file at a different path",
        shown.join(", ")
    ))
}

/// `--check`: the load a start does, and nothing else; with `json`, the effective
/// configuration on stdout.
fn check(path: &std::path::Path, json: bool) -> ExitCode {
    let shown = path.display();
    match config::dialect(path) {
        Err(e) => {
            eprintln!("{shown}: error: {e}");
            return ExitCode::FAILURE;
        }
        Ok(config::Dialect::Supervisord) => return check_supervisord(path, json),
        Ok(config::Dialect::Supervice) => {}
    }
    match config::load(path) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("{shown}: warning: {warning}");
            }
            if json {
                println!("{}", config::json::effective(&config));
                return ExitCode::SUCCESS;
            }
            let processes = config.instances().count();
            println!(
                "{shown}: OK ({} program(s), {processes} process(es), {} warning(s))",
                config.programs.len(),
                config.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{shown}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_supervisord(path: &std::path::Path, json: bool) -> ExitCode {
    use supervice::config::supervisord;
    let shown = path.display();
    match supervisord::load(path, &supervisord::Context::current()) {
        Ok(model) => {
            // What only the daemon's view checks: Supervice's own keys, user lookups.
            let config = match supervisord::runtime::into_config(model.clone(), "check") {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("{shown}: error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            // The one thing that loads but stops the daemon: an open, unguarded TCP server.
            let refusal = config.global.http.inet.and_then(|i| i.refusal);
            for warning in model.warnings.iter().chain(&refusal) {
                eprintln!("{shown}: warning: {warning}");
            }
            if json {
                println!("{}", supervisord::json::effective(&model));
            } else {
                let processes: usize = model.groups.iter().map(|g| g.processes.len()).sum();
                println!(
                    "{shown}: OK (supervisord dialect: {} group(s), {processes} process(es), \
                     {} warning(s))",
                    model.groups.len(),
                    model.warnings.len() + usize::from(refusal.is_some())
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{shown}: error: {error}");
            }
            ExitCode::FAILURE
        }
    }
}

/// supervisord's options other than -c -n -l -e -j mean nothing to a Supervice file.
fn warn_supervisord_only_options(o: &supervice::config::supervisord::model::Overrides) {
    let given = [
        ("-s", o.silent),
        ("-k", o.nocleanup),
        ("-t", o.strip_ansi),
        ("-u", o.user.is_some()),
        ("-m", o.umask.is_some()),
        ("-d", o.directory.is_some()),
        ("-y", o.logfile_maxbytes.is_some()),
        ("-z", o.logfile_backups.is_some()),
        ("-i", o.identifier.is_some()),
        ("-q", o.childlogdir.is_some()),
        ("-a", o.minfds.is_some()),
        ("--minprocs", o.minprocs.is_some()),
    ];
    for (flag, _) in given.iter().filter(|(_, set)| *set) {
        log::warn!("option {flag} applies to supervisord-dialect files only; ignored");
    }
}

/// supervisord's startup cleanup of AUTO logs left by earlier runs (unless nocleanup).
fn cleanup_auto_logs(config: &config::Config) {
    let cleanup = config
        .global
        .daemon
        .as_ref()
        .and_then(|d| d.auto_log_cleanup.as_ref());
    let Some((dir, identifier)) = cleanup else {
        return;
    };
    for problem in supervice::config::supervisord::runtime::purge_auto_logs(dir, identifier) {
        log::warn!("{problem}");
    }
}

fn run(args: Args, path: &std::path::Path) -> Result<(), Failure> {
    let level_override = match &args.loglevel {
        None => None,
        Some(text) => Some(LogLevel::parse_flag(text).ok_or_else(|| {
            format!("supervice: invalid log level '{text}' (valid: {LOG_LEVELS_HELP})")
        })?),
    };
    let bootstrap_level = level_override.unwrap_or(LogLevel::Info);
    // `-l syslog` names syslog in supervisord's dialect: until the file says which
    // dialect, the log goes to stdout rather than to a file called `syslog`.
    let bootstrap_log = args
        .logfile
        .as_deref()
        .filter(|p| *p != Path::new("syslog"));
    open_log(bootstrap_log, None, bootstrap_level)?;
    info!("Loading config from {}", path.display());
    let config = config::load(path).map_err(|e| {
        critical!("Failed to load config: {e}");
        Failure::Config(format!("Failed to load config '{}': {e}", path.display()))
    })?;
    let mut config = config;
    if config.dialect == config::Dialect::Supervice {
        warn_supervisord_only_options(&args.overrides);
        if let Some(pidfile) = &args.overrides.pidfile {
            config.global.pidfile = Some(PathBuf::from(pidfile));
        }
    }

    // supervisord's `nodaemon = true` in the file means what -n means.
    let nodaemon = args.nodaemon || config.global.nodaemon;
    cleanup_auto_logs(&config);
    let logfile = args
        .logfile
        .clone()
        .or_else(|| config.global.logfile.clone());
    let logfile = match logfile {
        None if !nodaemon => {
            eprintln!("Warning: no logfile configured, using 'supervice.log'");
            Some(PathBuf::from("supervice.log"))
        }
        other => other,
    };
    let level = level_override.unwrap_or(config.global.loglevel);
    if config.global.log_syslog {
        logger::configure(Destination::Syslog, level)
            .map_err(|e| format!("supervice: cannot log to syslog: {e}"))?;
    } else {
        open_log(logfile.as_deref(), Some(&config.global), level)?;
    }

    spawn::cloexec_inherited_fds();
    spawn::raise_fd_limit();
    let daemon_keys = config.global.daemon.clone();
    if let Some(keys) = &daemon_keys {
        spawn::ensure_fd_limit(keys.minfds).map_err(Failure::Other)?;
        spawn::ensure_process_limit(keys.minprocs).map_err(Failure::Other)?;
    }
    let readiness = if nodaemon {
        Readiness::foreground()
    } else {
        let readiness = daemon::detach().map_err(|e| format!("supervice: cannot detach: {e}"))?;
        // supervisord sets its umask and enters its directory only when it daemonizes.
        if let Some(keys) = &daemon_keys {
            // SAFETY: umask only sets the process's file mode mask.
            unsafe {
                libc::umask(keys.umask as libc::mode_t);
            }
            if let Some(dir) = &keys.directory {
                std::env::set_current_dir(dir).map_err(|e| {
                    format!("Failed to load config: cannot enter {}: {e}", dir.display())
                })?;
            }
        }
        readiness
    };
    let supervisor = Supervisor::new(config).map_err(|e| format!("Supervice crashed: {e}"))?;
    supervisor
        .run(readiness)
        .map_err(|e| Failure::Other(format!("Supervice crashed: {e}")))
}

/// Points the daemon log at `path` (rotated per `global`) or stdout.
fn open_log(
    path: Option<&std::path::Path>,
    global: Option<&config::Global>,
    level: LogLevel,
) -> Result<(), String> {
    let destination = match path {
        None => Destination::Stdout,
        Some(path) => Destination::File {
            path,
            maxbytes: global.map_or(52_428_800, |g| g.log_maxbytes),
            backups: global.map_or(10, |g| g.log_backups),
        },
    };
    logger::configure(destination, level).map_err(|e| {
        let shown = path.map(|p| p.display().to_string()).unwrap_or_default();
        format!("supervice: cannot open log file '{shown}': {e}")
    })
}
