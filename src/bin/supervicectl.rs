//! `supervicectl`: control a running supervice daemon, or supervisord, through its socket.
//!
//! Two protocols: a bare socket path speaks Supervice's length-prefixed JSON, where the
//! seven commands of Python Supervice 0.4 keep its output byte for byte; `-s unix://` or
//! `-s http://` (or `-c FILE`) speak supervisord's XML-RPC with supervisorctl's output and
//! exit statuses. Over a bare path the other commands go as XML-RPC over the same socket
//! (supervice serves both protocols on it).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use supervice::ctl::http::{Client, Server};
use supervice::ctl::supervisorctl::{self, Ctl};
use supervice::ctl::{self, Command};
use supervice::rpc::Request;

const USAGE: &str = "usage: supervicectl [-h] [--version] [-c FILE] [-s SERVER] [-u USER] \
[-p PASSWORD] [--timeout TIMEOUT] [--json] [COMMAND [ARG ...]]";

/// Python Supervice 0.4's commands: over its protocol they keep its output.
const LEGACY: &[&str] = &[
    "status",
    "start",
    "stop",
    "restart",
    "startgroup",
    "stopgroup",
    "reload",
];

fn help() -> String {
    format!(
        "\
supervicectl - control a running supervice daemon, or supervisord

{USAGE}

servers:
  -s, --socket PATH       Supervice's protocol on that unix socket (default:
                          {}); the Supervice commands print
                          what Python Supervice 0.4 prints, the others go as
                          XML-RPC over the same socket
  -s unix:///PATH, -s http://HOST[:PORT]
                          supervisord's XML-RPC: every command prints what
                          supervisorctl 4.3 prints and exits as it does, against
                          supervice or supervisord
  -c FILE                 a supervisord file: [supervisorctl] serverurl, username
                          and password, else [unix_http_server] file, else
                          [inet_http_server] port (XML-RPC)
  -u USER, -p PASSWORD    HTTP basic credentials (both needed)

commands (NAME is a process, GROUP:* every process of a group, all every process):
  status [NAME|GROUP:*|all ...]   state, pid and uptime of each process
  start NAME|GROUP:*|all ...      start and wait until RUNNING or failed
  stop NAME|GROUP:*|all ...       stop and wait until stopped
  restart NAME|GROUP:*|all ...    stop, then start (--force: SIGKILL, Supervice
                                  protocol)
  signal SIG NAME|GROUP:*|all ... send a signal (HUP, SIGHUP or a number)
  pid [NAME ...|all]              the daemon's pid, or processes' pids
  tail [-f|-bytes] NAME [stdout|stderr]
                                  the end of a process's log (1600 bytes), or
                                  follow it (-f, until Ctrl-C)
  maintail [-f|-bytes]            the end of the daemon's own log, or follow it
  clear NAME|all ...              empty processes' log files
  reread                          read the config file again; show what changed
  update [all|GROUP ...]          reread and apply: add, remove and restart
                                  changed groups
  add GROUP ...                   start using a group added to the file
  remove GROUP ...                stop using a stopped group
  avail                           every configured process, in use or not
  reload                          Supervice protocol: reread and apply, as
                                  Python Supervice; XML-RPC: restart the daemon
  startgroup GROUP, stopgroup GROUP
                                  Supervice protocol: a group, concurrently
  shutdown                        stop every process and the daemon
  version                         the daemon's version
  fg NAME                         follow a process and send it each line typed
  open URL                        talk to another server (XML-RPC)
  help [COMMAND]                  the commands, or one command's help
With no command, an interactive prompt (when stdin is a terminal, or over
XML-RPC); quit, exit or end of input leaves it.

options:
      --json              print machine-readable JSON instead of text (status of
                          the Supervice protocol: the daemon's reply as is)
      --timeout SECONDS   give up after this many seconds (default: 30 for
                          status and reload over Supervice's protocol; otherwise
                          as long as the daemon keeps working on it)
      --version           print the version and exit
  -h, --help              print this help and exit

examples:
  supervicectl status
  supervicectl -s unix:///run/supervisor.sock status 'web:*'
  supervicectl -c /etc/supervisor/supervisord.conf restart all
  supervicectl -s http://127.0.0.1:9001 -u admin -p secret tail -f web stderr
  supervicectl signal HUP nginx
  supervicectl --json -s unix:///run/supervisor.sock status

exit status:
  Supervice protocol: 0 ok; 1 an error, or the daemon could not be reached;
  2 invalid arguments.
  XML-RPC (supervisorctl's): 0 ok; 1 an error; 2 bad arguments; 3 a process
  is not running (status), or no supervisor namespace; 4 no such process
  (status), or connection refused; 5 API version mismatch; 7 not running
  (spawn error, abnormal termination, a stopped process, no socket file).
",
        ctl::default_socket().display()
    )
}

#[derive(Default)]
struct Args {
    config: Option<PathBuf>,
    server: Option<String>,
    username: Option<String>,
    password: Option<String>,
    timeout: Option<Duration>,
    json: bool,
    force: bool,
    words: Vec<String>,
}

enum Parsed {
    Run(Args),
    Exit(ExitCode),
}

/// A URL selects XML-RPC; one of another scheme is refused as supervisorctl refuses it.
fn is_url(server: &str) -> bool {
    server.contains("://")
}

fn parse_args() -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut args = Args::default();
    let mut parser = lexopt::Parser::from_env();
    let text = |v: std::ffi::OsString| v.to_string_lossy().into_owned();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('c') | Long("configuration") => {
                args.config = Some(PathBuf::from(parser.value().map_err(|e| e.to_string())?))
            }
            Short('s') | Long("socket") | Long("serverurl") => {
                args.server = Some(text(parser.value().map_err(|e| e.to_string())?))
            }
            Short('u') | Long("username") => {
                args.username = Some(text(parser.value().map_err(|e| e.to_string())?))
            }
            Short('p') | Long("password") => {
                args.password = Some(text(parser.value().map_err(|e| e.to_string())?))
            }
            Long("timeout") => {
                let value = text(parser.value().map_err(|e| e.to_string())?);
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("argument --timeout: invalid float value: '{value}'"))?;
                args.timeout = Some(Duration::from_secs_f64(secs));
            }
            Long("force") => args.force = true,
            Long("json") => args.json = true,
            Long("version") => {
                println!("supervicectl {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            Short('h') | Long("help") => {
                print!("{}", help());
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            Value(word) => {
                args.words.push(text(word));
                let legacy_flow = args.config.is_none()
                    && !args.server.as_deref().is_some_and(is_url)
                    && LEGACY.contains(&args.words[0].as_str());
                if !legacy_flow {
                    // supervisorctl's arguments are words: `tail -f NAME`, `tail -100 NAME`.
                    for raw in parser.raw_args().map_err(|e| e.to_string())? {
                        match text(raw) {
                            flag if flag == "--json" => args.json = true,
                            word => args.words.push(word),
                        }
                    }
                    break;
                }
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(Parsed::Run(args))
}

/// The seven commands of Python Supervice 0.4, its argument forms and errors.
fn legacy_command(words: &[String], force: bool, json: bool) -> Result<Command, String> {
    let (verb, rest) = words.split_first().ok_or("no command")?;
    let name = || -> Result<String, String> {
        match rest {
            [name] => Ok(name.clone()),
            [] => Err("the following arguments are required: name".to_string()),
            _ => Err(format!("unrecognized arguments: {}", rest[1..].join(" "))),
        }
    };
    let no_args = || -> Result<(), String> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(format!("unrecognized arguments: {}", rest.join(" ")))
        }
    };
    if force && verb != "restart" {
        return Err("unrecognized arguments: --force".to_string());
    }
    Ok(match verb.as_str() {
        "status" => no_args().map(|()| Command::Status { json })?,
        "start" => Command::Send(Request::Start(name()?)),
        "stop" => Command::Send(Request::Stop(name()?)),
        "restart" => Command::Send(Request::Restart {
            name: name()?,
            force,
        }),
        "startgroup" => Command::Send(Request::StartGroup(name()?)),
        "stopgroup" => Command::Send(Request::StopGroup(name()?)),
        _ => no_args().map(|()| Command::Send(Request::Reload))?,
    })
}

/// Where `-c FILE` says the server is, and its credentials.
fn from_config(path: &std::path::Path) -> Result<(String, Option<String>, Option<String>), String> {
    use supervice::config::supervisord;
    let context = supervisord::Context::current();
    let view = supervisord::model::client_view(path, &context).map_err(|errors| {
        errors.first().map_or_else(
            || format!("cannot read {}", path.display()),
            ToString::to_string,
        )
    })?;
    let ctl = view.supervisorctl.clone().unwrap_or_default();
    let model = view;
    let url = match (
        &ctl.serverurl,
        &model.unix_http_server,
        &model.inet_http_server,
    ) {
        (Some(url), _, _) => url.clone(),
        (None, Some(unix), _) => format!("unix://{}", unix.file.display()),
        (None, None, Some(inet)) => {
            let host = if inet.host.is_empty() {
                "localhost"
            } else {
                &inet.host
            };
            format!("http://{host}:{}", inet.port)
        }
        (None, None, None) => "http://localhost:9001".to_string(),
    };
    Ok((url, ctl.username, ctl.password))
}

fn run(mut args: Args) -> Result<i32, String> {
    let mut username = args.username.take();
    let mut password = args.password.take();
    let url = match (&args.server, &args.config) {
        (Some(server), _) => server.clone(),
        (None, Some(path)) => {
            let (url, user, pass) = from_config(path)?;
            username = username.or(user);
            password = password.or(pass);
            url
        }
        (None, None) => ctl::default_socket().display().to_string(),
    };
    let xmlrpc = args.config.is_some() || is_url(&url);
    let legacy = !xmlrpc
        && args
            .words
            .first()
            .is_some_and(|w| LEGACY.contains(&w.as_str()));
    if legacy {
        let command = legacy_command(&args.words, args.force, args.json)?;
        let path = std::path::Path::new(&url);
        return Ok(match command {
            Command::Send(request) if args.json => ctl::run_json(path, &request, args.timeout),
            command => ctl::run(path, &command, args.timeout),
        });
    }
    if let Some(verb) = args.words.first().filter(|_| !xmlrpc) {
        if !supervisorctl::COMMANDS.contains(&verb.as_str()) {
            // Over Supervice's protocol an unknown command is a usage error, as in
            // Python Supervice (supervisorctl's "*** Unknown syntax" is for XML-RPC).
            return Err(format!(
                "argument command: invalid choice: '{verb}' (choose from 'status', 'start', \
                 'stop', 'restart', 'startgroup', 'stopgroup', 'reload')"
            ));
        }
    }
    if args.force {
        return Err("unrecognized arguments: --force".to_string());
    }
    if !xmlrpc && args.words.is_empty() && !std::io::stdin().is_terminal() {
        print!("{}", help());
        return Ok(1);
    }
    let server = if xmlrpc {
        Server::parse(&url).map_err(|e| format!("error: <class 'ValueError'>, {e}"))?
    } else {
        Server::Unix(PathBuf::from(&url))
    };
    let credentials = match (&username, &password) {
        (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
        _ => None,
    };
    let client = Client::new(server, credentials, args.timeout);
    let mut session = Ctl::new(client, url, args.json);
    let code = if args.words.is_empty() {
        supervisorctl::shell(&mut session)
    } else {
        session.run(&args.words);
        session.exit
    };
    if args.json {
        println!("{}", session.json_document());
    }
    Ok(code)
}

fn main() -> ExitCode {
    // A reader that goes away (`supervicectl status | head -1`) ends the client quietly,
    // as it ends any Unix filter, instead of a panic on the failed write.
    // SAFETY: setting a signal's disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let outcome = parse_args().and_then(|parsed| match parsed {
        Parsed::Run(args) => run(args).map(|code| ExitCode::from(code as u8)),
        Parsed::Exit(code) => Ok(code),
    });
    match outcome {
        Ok(code) => code,
        Err(message) if message.starts_with("error: ") => {
            println!("{message}");
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("{USAGE}\nsupervicectl: error: {message}");
            ExitCode::from(2)
        }
    }
}
