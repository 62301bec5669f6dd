//! `supervice`: the daemon. Arguments, config, logging, detaching; then the supervisor.

use std::path::PathBuf;
use std::process::ExitCode;

use log::info;
use supervice::config::{self, LogLevel, LOG_LEVELS_HELP};
use supervice::critical;
use supervice::daemon::{self, Readiness};
use supervice::logger::{self, Destination};
use supervice::spawn;
use supervice::supervisor::Supervisor;

const USAGE: &str =
    "usage: supervice [-h] [--version] [-c FILE] [-n] [-l LOGFILE] [-e LEVEL] [--check [--json]]";

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
      --json                with --check: print the effective configuration of a
                            supervisord-dialect file as JSON on stdout
      --version             print the version and exit
  -h, --help                print this help and exit

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
    config: PathBuf,
    nodaemon: bool,
    logfile: Option<PathBuf>,
    loglevel: Option<String>,
    check: bool,
    json: bool,
}

enum Parsed {
    Run(Args),
    Exit(ExitCode),
}

fn parse_args() -> Result<Parsed, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        config: PathBuf::from("supervisord.conf"),
        nodaemon: false,
        logfile: None,
        loglevel: None,
        check: false,
        json: false,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("configuration") => args.config = parser.value()?.into(),
            Short('n') | Long("nodaemon") => args.nodaemon = true,
            Short('l') | Long("logfile") => args.logfile = Some(parser.value()?.into()),
            Short('e') | Long("loglevel") => args.loglevel = Some(parser.value()?.string()?),
            Long("check") => args.check = true,
            Long("json") => args.json = true,
            Long("version") => {
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
    Ok(Parsed::Run(args))
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
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("{USAGE}\nsupervice: error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json && !args.check {
        eprintln!("{USAGE}\nsupervice: error: --json goes with --check");
        return ExitCode::from(2);
    }
    if args.check {
        return check(&args.config, args.json);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
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
            for warning in &model.warnings {
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
                    model.warnings.len()
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

/// supervisord's startup cleanup of AUTO logs left by earlier runs (unless nocleanup).
fn cleanup_auto_logs(path: &std::path::Path) {
    use supervice::config::supervisord;
    let Ok(model) = supervisord::load(path, &supervisord::Context::current()) else {
        return;
    };
    if model.supervisord.nocleanup {
        return;
    }
    for problem in supervisord::runtime::purge_auto_logs(&model) {
        log::warn!("{problem}");
    }
}

fn run(args: Args) -> Result<(), String> {
    let level_override = match &args.loglevel {
        None => None,
        Some(text) => Some(LogLevel::parse(text).ok_or_else(|| {
            format!("supervice: invalid log level '{text}' (valid: {LOG_LEVELS_HELP})")
        })?),
    };
    let bootstrap_level = level_override.unwrap_or(LogLevel::Info);
    open_log(args.logfile.as_deref(), None, bootstrap_level)?;
    info!("Loading config from {}", args.config.display());
    let config = config::load(&args.config).map_err(|e| {
        critical!("Failed to load config: {e}");
        format!("Failed to load config '{}': {e}", args.config.display())
    })?;

    // supervisord's `nodaemon = true` in the file means what -n means.
    let nodaemon = args.nodaemon || config.global.nodaemon;
    if config.dialect == config::Dialect::Supervisord {
        cleanup_auto_logs(&args.config);
    }
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
    open_log(logfile.as_deref(), Some(&config.global), level)?;

    spawn::cloexec_inherited_fds();
    spawn::raise_fd_limit();
    let readiness = if nodaemon {
        Readiness::foreground()
    } else {
        daemon::detach().map_err(|e| format!("supervice: cannot detach: {e}"))?
    };
    let supervisor = Supervisor::new(config).map_err(|e| format!("Supervice crashed: {e}"))?;
    supervisor
        .run(readiness)
        .map_err(|e| format!("Supervice crashed: {e}"))
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
