//! Whether a user that `/etc/passwd` listed when the config was loaded is listed still,
//! answered without the user database: `user=` is resolved at load and reload only (NSS
//! may block on the network), and a spawn uses those credentials. A user deleted since
//! then must not keep running under its old uid unnoticed, so before a spawn the file is
//! looked at again: a `stat`, and a re-read only when it changed. Users that come from
//! elsewhere (LDAP, systemd-userdb) were never listed here and are not checked.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

pub struct Passwd {
    path: PathBuf,
    /// Names listed when the config was last loaded.
    at_load: HashSet<String>,
    stamp: Option<Stamp>,
    /// Names listed in the version `stamp` names.
    now: HashSet<String>,
}

impl Passwd {
    pub fn new() -> Self {
        Passwd::at(Path::new("/etc/passwd"))
    }

    pub fn at(path: &Path) -> Self {
        let mut passwd = Passwd {
            path: path.to_path_buf(),
            at_load: HashSet::new(),
            stamp: None,
            now: HashSet::new(),
        };
        passwd.config_loaded();
        passwd
    }

    /// The config was (re)loaded and its users resolved: what the file lists now is what
    /// later spawns are compared with.
    pub fn config_loaded(&mut self) {
        self.refresh();
        self.at_load = self.now.clone();
    }

    /// False only for a user the file listed at load and lists no more.
    pub fn still_listed(&mut self, name: &str) -> bool {
        if !self.at_load.contains(name) {
            return true;
        }
        self.refresh();
        self.now.contains(name)
    }

    fn refresh(&mut self) {
        let stamp = std::fs::metadata(&self.path).ok().map(|m| Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        });
        if stamp.is_some() && stamp == self.stamp {
            return;
        }
        self.stamp = stamp;
        // An unreadable file says nothing about anyone: keep what was known.
        if let Ok(text) = std::fs::read_to_string(&self.path) {
            self.now = names(&text);
        }
    }
}

impl Default for Passwd {
    fn default() -> Self {
        Passwd::new()
    }
}

/// The user names of a passwd file (`name:x:uid:gid:...`; comments and NIS `+`/`-`
/// lines are not users).
fn names(text: &str) -> HashSet<String> {
    text.lines()
        .filter_map(|line| line.split(':').next())
        .filter(|name| !name.is_empty() && !name.starts_with(['#', '+', '-']))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_removed_from_the_file_since_load_is_noticed() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("supervice-passwd-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("passwd");
        std::fs::write(
            &path,
            "root:x:0:0::/root:/bin/sh\nsvc:x:42:42::/:/bin/false\n",
        )?;
        let mut passwd = Passwd::at(&path);
        assert!(passwd.still_listed("svc"));
        assert!(
            passwd.still_listed("ldap-user"),
            "never listed: not checked"
        );
        std::fs::write(&path, "root:x:0:0::/root:/bin/sh\n# svc removed\n")?;
        assert!(!passwd.still_listed("svc"));
        assert!(passwd.still_listed("root"));
        // A reload accepts the file as it is now.
        passwd.config_loaded();
        assert!(
            passwd.still_listed("svc"),
            "not listed at this load: not checked"
        );
        std::fs::remove_dir_all(&dir)
    }

    #[test]
    fn names_skips_comments_and_nis_lines() {
        let got = names("a:x:1:1::/:/bin/sh\n#b:x:2\n+c\n-d\n\ne:x:5:5::/:/bin/sh\n");
        let want: HashSet<String> = ["a", "e"].iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want);
    }
}
