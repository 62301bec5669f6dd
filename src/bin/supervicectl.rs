//! `supervicectl`: control a running supervice daemon through its Unix socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use supervice::ctl::{self, Command};
use supervice::rpc::Request;

const USAGE: &str = "usage: supervicectl [-h] [--version] [-s SOCKET] [--timeout TIMEOUT] \
{status,start,stop,restart,startgroup,stopgroup,reload} ...";

fn help() -> String {
    format!(
        "\
supervicectl - control a running supervice daemon

{USAGE}

commands:
  status [--json]         one line per instance: NAME, STATE, PID, and UPTIME and
                          HEALTH when any instance has them; --json prints the
                          daemon's reply as is
  start NAME              start an instance and wait until it is RUNNING (up to
                          max(5, startsecs+5) seconds) or has failed
  stop NAME               stop an instance (stopsignal, SIGKILL after stopwaitsecs)
                          and wait until it is down; stopping a stopped one succeeds
  restart NAME [--force]  stop then start; --force sends SIGKILL instead of the
                          stopsignal
  startgroup GROUP        start every instance of a group, concurrently
  stopgroup GROUP         stop every instance of a group, concurrently
  reload                  re-read the config file: add, remove and update programs
                          without restarting the others

options:
  -s, --socket SOCKET     the daemon's socket (default: {})
      --timeout SECONDS   give up after this many seconds (default: 30 for status
                          and reload; other commands wait as long as the operation
                          takes, while the daemon keeps answering)
      --version           print the version and exit
  -h, --help              print this help and exit

exit status:
  0  the daemon answered ok
  1  the daemon answered with an error, or could not be reached
  2  invalid arguments
",
        ctl::default_socket().display()
    )
}

struct Args {
    socket: PathBuf,
    timeout: Option<Duration>,
    command: Command,
}

enum Parsed {
    Run(Args),
    Exit(ExitCode),
}

fn parse_args() -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut socket = None;
    let mut timeout = None;
    let mut words: Vec<String> = Vec::new();
    let mut force = false;
    let mut json = false;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('s') | Long("socket") => {
                socket = Some(PathBuf::from(parser.value().map_err(|e| e.to_string())?))
            }
            Long("timeout") => {
                let text = parser.value().map_err(|e| e.to_string())?;
                let text = text.to_string_lossy();
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("argument --timeout: invalid float value: '{text}'"))?;
                timeout = Some(Duration::from_secs_f64(secs));
            }
            Long("force") => force = true,
            Long("json") => json = true,
            Long("version") => {
                println!("supervicectl {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            Short('h') | Long("help") => {
                print!("{}", help());
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            Value(word) => words.push(word.to_string_lossy().into_owned()),
            other => return Err(other.unexpected().to_string()),
        }
    }
    let Some((verb, rest)) = words.split_first() else {
        print!("{}", help());
        return Ok(Parsed::Exit(ExitCode::FAILURE));
    };
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
    if json && verb != "status" {
        return Err("unrecognized arguments: --json".to_string());
    }
    let command = match verb.as_str() {
        "status" => no_args().map(|()| Command::Status { json })?,
        "start" => Command::Send(Request::Start(name()?)),
        "stop" => Command::Send(Request::Stop(name()?)),
        "restart" => Command::Send(Request::Restart {
            name: name()?,
            force,
        }),
        "startgroup" => Command::Send(Request::StartGroup(name()?)),
        "stopgroup" => Command::Send(Request::StopGroup(name()?)),
        "reload" => no_args().map(|()| Command::Send(Request::Reload))?,
        other => {
            return Err(format!(
                "argument command: invalid choice: '{other}' (choose from 'status', 'start', \
                 'stop', 'restart', 'startgroup', 'stopgroup', 'reload')"
            ))
        }
    };
    Ok(Parsed::Run(Args {
        socket: socket.unwrap_or_else(ctl::default_socket),
        timeout,
        command,
    }))
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(Parsed::Run(args)) => {
            let code = ctl::run(&args.socket, &args.command, args.timeout);
            ExitCode::from(code as u8)
        }
        Ok(Parsed::Exit(code)) => code,
        Err(message) => {
            eprintln!("{USAGE}\nsupervicectl: error: {message}");
            ExitCode::from(2)
        }
    }
}
