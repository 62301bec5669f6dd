//! The whole loading pipeline, `parse(path, text)` / `load(path)`, against SPEC section 1:
//! defaults, the INI dialect, `%(process_num)s`, env_file, every validation error with its
//! location, the validation order, groups, warnings and the reload comparison of instances.

use super::*;

use std::collections::BTreeMap;
use std::fs;
use std::net::{Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::Signal;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "supervice-config-tests-{}-{n}-{tag}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {dir:?}: {e}"));
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside the directory, as config text.
    fn p(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn mkdir(&self, name: &str) -> String {
        let dir = self.0.join(name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {dir:?}: {e}"));
        dir.display().to_string()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let file = self.0.join(name);
        fs::write(&file, contents).unwrap_or_else(|e| panic!("write {file:?}: {e}"));
        file.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const CONF: &str = "/etc/supervice-test/supervice.conf";

fn ok(text: &str) -> Config {
    parse(Path::new(CONF), text)
        .unwrap_or_else(|e| panic!("config should load, got: {e}\n--- config ---\n{text}"))
}

fn err(text: &str) -> String {
    match parse(Path::new(CONF), text) {
        Ok(c) => panic!("config should fail to load, got {c:#?}\n--- config ---\n{text}"),
        Err(e) => {
            assert_eq!(e.to_string(), e.0, "Display shows the message");
            e.0
        }
    }
}

/// The load fails and its message contains every one of `parts`.
fn err_has(text: &str, parts: &[&str]) -> String {
    let msg = err(text);
    for part in parts {
        assert!(
            msg.contains(part),
            "error message lacks {part:?}\n  message: {msg}\n--- config ---\n{text}"
        );
    }
    msg
}

/// `[program:web]` with a command, plus `extra` lines.
fn web(extra: &str) -> String {
    format!("[program:web]\ncommand = /bin/true\n{extra}\n")
}

fn program<'a>(config: &'a Config, name: &str) -> &'a Program {
    config
        .programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no program {name:?} in {:?}", config.programs))
}

fn only_program(config: &Config) -> &Program {
    assert_eq!(config.programs.len(), 1, "{:?}", config.programs);
    &config.programs[0]
}

fn instances(config: &Config) -> Vec<Instance> {
    config.instances().collect()
}

fn names(config: &Config) -> Vec<String> {
    config.instances().map(|i| i.name).collect()
}

fn group<'a>(config: &'a Config, name: &str) -> Option<&'a Group> {
    config.groups.iter().find(|g| g.name == name)
}

/// The programs of a group, or nothing if there is no such group.
fn members(config: &Config, name: &str) -> Vec<String> {
    group(config, name).map_or_else(Vec::new, |g| g.programs.clone())
}

fn group_names(config: &Config) -> Vec<&str> {
    config.groups.iter().map(|g| g.name.as_str()).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The environment a child would get on top of the daemon's: later pairs win.
fn effective_env(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

fn warnings_with<'a>(config: &'a Config, needle: &str) -> Vec<&'a String> {
    config
        .warnings
        .iter()
        .filter(|w| w.contains(needle))
        .collect()
}

const ALL_SIGNALS: &str = "ABRT, ALRM, BUS, CHLD, CONT, FPE, HUP, ILL, INT, IO, KILL, PIPE, \
    PROF, PWR, QUIT, SEGV, STKFLT, STOP, SYS, TERM, TRAP, TSTP, TTIN, TTOU, URG, USR1, USR2, \
    VTALRM, WINCH, XCPU, XFSZ";

mod defaults;
mod env_file;
mod errors;
mod format;
mod groups;
mod health;
mod values;
