//! The daemon's signals, all read from one fd in the loop. Every signal a user can
//! plausibly send is either handled with a log line or harmless: none kills the daemon
//! without its cleanup (socket and pidfile removed, children stopped).

use std::io;

use log::{error, info};
use signal_hook_mio::v1_0::Signals;

use super::Supervisor;

/// Shut down as SIGTERM does. SIGPWR is how `lxc-stop` asks a container's init to stop.
const SHUTDOWN: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT, libc::SIGPWR];

/// Mean nothing to the daemon but would kill it (or stop it: SIGTSTP) by default:
/// logged and ignored. The real-time signals are added to these.
const LOGGED_AND_IGNORED: [libc::c_int; 7] = [
    libc::SIGUSR1,
    libc::SIGALRM,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGIO,
    libc::SIGSTKFLT,
    libc::SIGTSTP,
];

/// Ignored outright. SIGTTIN and SIGTTOU would stop a daemon in a background job that
/// touches the terminal (a caught SIGTTOU makes the write retry and raise it again, so
/// ignoring is the only way); SIGXFSZ would kill it when a log file reaches the file
/// size limit, where a failed write is reported instead. SIGPIPE is ignored already.
const IGNORED: [libc::c_int; 3] = [libc::SIGTTIN, libc::SIGTTOU, libc::SIGXFSZ];

/// Installs the handlers (and the ignored dispositions); children get defaults back.
pub(super) fn install() -> io::Result<Signals> {
    for signal in IGNORED {
        // SAFETY: setting SIG_IGN installs no handler code.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    let handled = [libc::SIGCHLD, libc::SIGHUP, libc::SIGUSR2]
        .into_iter()
        .chain(SHUTDOWN)
        .chain(LOGGED_AND_IGNORED)
        .chain(libc::SIGRTMIN()..=libc::SIGRTMAX());
    Signals::new(handled)
}

/// `SIGUSR1`, `SIGRTMIN+3`...
fn name(signal: libc::c_int) -> String {
    if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&signal) {
        return format!("SIGRTMIN+{}", signal - libc::SIGRTMIN());
    }
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}

impl Supervisor {
    pub(super) fn on_signals(&mut self) {
        let pending: Vec<libc::c_int> = self.signals.pending().collect();
        for signal in pending {
            match signal {
                libc::SIGCHLD => self.core.reap(),
                libc::SIGHUP
                    if self.core.config().dialect == crate::config::Dialect::Supervisord =>
                {
                    // supervisord's meaning: restart (stop all, re-read the file, start).
                    info!("received SIGHUP indicating restart request");
                    self.begin_restart();
                }
                libc::SIGHUP => {
                    info!("Received SIGHUP, ignoring (use 'reload' command instead)")
                }
                libc::SIGUSR2 => {
                    info!("Received SIGUSR2, reopening log files");
                    self.reopen_logs();
                }
                s if SHUTDOWN.contains(&s) => {
                    info!("Received signal {signal}");
                    self.begin_shutdown();
                }
                _ => info!("Received {}, ignoring", name(signal)),
            }
        }
    }

    /// What logrotate's `postrotate` expects: after the files were renamed away, new
    /// writes go to fresh files at the configured paths. A file that cannot be opened
    /// is reported and the old one stays in use.
    fn reopen_logs(&mut self) {
        if let Err(e) = crate::logger::reopen() {
            error!("cannot reopen the daemon log: {e}");
        }
        self.core.reopen_child_logs();
        info!("Log files reopened");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signals_are_named() {
        assert_eq!(super::name(libc::SIGUSR1), "SIGUSR1");
        assert_eq!(super::name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(super::name(libc::SIGRTMAX()), "SIGRTMIN+30");
    }
}
