//! supervisord's `[fcgi-program:x]` sockets: one listening socket per group, shared by
//! all its processes as their fd 0. As in supervisord it is reference-counted by live
//! processes: the first spawn creates it (a unix path already there is replaced, then
//! chowned and chmodded), the last exit closes it (the path stays).

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use log::info;
use nix::sys::socket::{self, Backlog};

use crate::config::supervisord::model::Socket;

/// The open sockets, by URL, with the number of live processes holding each.
#[derive(Default)]
pub(super) struct Sockets {
    open: HashMap<String, (OwnedFd, usize)>,
}

impl Sockets {
    /// The socket for one more process: a duplicate of the shared one for its fd 0.
    pub(super) fn acquire(&mut self, config: &Socket) -> Result<OwnedFd, String> {
        let url = config.url();
        if !self.open.contains_key(&url) {
            info!("Creating socket {url}");
            let fd = create(config)
                .map_err(|e| format!("Could not create FastCGI socket {url}: {e}"))?;
            self.open.insert(url.clone(), (fd, 0));
        }
        let Some((fd, users)) = self.open.get_mut(&url) else {
            return Err(format!("Could not create FastCGI socket {url}"));
        };
        let copy = fd
            .try_clone()
            .map_err(|e| format!("Could not share FastCGI socket {url}: {e}"))?;
        *users += 1;
        Ok(copy)
    }

    /// One process holding it is gone; the last one closes it.
    pub(super) fn release(&mut self, url: &str) {
        let Some((_, users)) = self.open.get_mut(url) else {
            return;
        };
        *users = users.saturating_sub(1);
        if *users == 0 {
            info!("Closing socket {url}");
            self.open.remove(url);
        }
    }
}

fn create(config: &Socket) -> std::io::Result<OwnedFd> {
    // std's listeners are close-on-exec, and TCP ones have SO_REUSEADDR; listen() again
    // sets the backlog asked for.
    let backlog = |b: Option<i64>| {
        let n = b
            .and_then(|b| i32::try_from(b).ok())
            .unwrap_or(libc::SOMAXCONN);
        Backlog::new(n).unwrap_or(Backlog::MAXCONN)
    };
    match config {
        Socket::Unix {
            path,
            owner,
            mode,
            backlog: b,
        } => {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let listener = std::os::unix::net::UnixListener::bind(path)?;
            if let Some((uid, gid)) = owner {
                let uid = u32::try_from(*uid).ok().map(nix::unistd::Uid::from_raw);
                let gid = u32::try_from(*gid).ok().map(nix::unistd::Gid::from_raw);
                nix::unistd::chown(path.as_path(), uid, gid)?;
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))?;
            socket::listen(&listener, backlog(*b))?;
            Ok(OwnedFd::from(listener))
        }
        Socket::Tcp {
            host,
            port,
            backlog: b,
        } => {
            // A name is resolved here, at the spawn (supervisord does the same).
            let listener = std::net::TcpListener::bind((host.as_str(), *port))?;
            socket::listen(&listener, backlog(*b))?;
            Ok(OwnedFd::from(listener))
        }
    }
}
