//! Starting one child: clone and exec.
//!
//! Everything the child needs (paths, argv, envp, credentials) is prepared in the parent,
//! so between clone and exec the child makes only system calls, in Supervice's order:
//! stdio, chdir (still as the daemon's user), default signal dispositions and an empty
//! mask, setsid, setgroups/setgid/setuid, pdeathsig (after the credential change, which
//! would clear it), exec. The child shares the daemon's memory until it execs
//! (`CLONE_VM | CLONE_VFORK`, like `posix_spawn`), so a spawn costs the same whatever the
//! daemon's size. A failure before exec is written to a CLOEXEC status pipe as (step,
//! errno), so a program's own exit code 126 or 127 is never mistaken for a failed spawn;
//! when `spawn` returns, the child has exec'd or that report is there to read.

use std::ffi::{CString, OsString};
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::unistd::{Gid, Uid, User};

/// A spawn that did not happen. Permanent ones make the instance FATAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    Transient(String),
    Permanent(String),
}

impl SpawnError {
    /// Supervice's rule: permission problems are permanent, everything else is retried.
    pub fn from_errno(errno: Errno, context: &str) -> SpawnError {
        let message = format!("{context}: {}", errno.desc());
        match errno {
            Errno::EACCES | Errno::EPERM => SpawnError::Permanent(message),
            _ => SpawnError::Transient(message),
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Transient(m) | SpawnError::Permanent(m) => f.write_str(m),
        }
    }
}

/// The steps of the child's setup, as reported through the status pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    Stdio = 1,
    Chdir = 2,
    Setsid = 3,
    Setgroups = 4,
    Setgid = 5,
    Setuid = 6,
    Exec = 7,
}

impl Step {
    fn from_u8(v: u8) -> Option<Step> {
        Some(match v {
            1 => Step::Stdio,
            2 => Step::Chdir,
            3 => Step::Setsid,
            4 => Step::Setgroups,
            5 => Step::Setgid,
            6 => Step::Setuid,
            7 => Step::Exec,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Step::Stdio => "setting up stdio",
            Step::Chdir => "chdir",
            Step::Setsid => "setsid",
            Step::Setgroups => "setgroups",
            Step::Setgid => "setgid",
            Step::Setuid => "setuid",
            Step::Exec => "exec",
        }
    }
}

/// A report read from the status pipe: the step that failed and its errno. `program`
/// and `directory` name what the step was about.
fn decode_status(bytes: &[u8], program: &str, directory: Option<&Path>) -> Option<SpawnError> {
    if bytes.len() < 5 {
        return None;
    }
    let step = Step::from_u8(bytes[0])?;
    let errno = Errno::from_raw(i32::from_ne_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]));
    let context = match step {
        Step::Chdir => format!("chdir '{}'", directory.unwrap_or(Path::new(".")).display()),
        Step::Exec => format!("exec '{program}'"),
        other => other.describe().to_string(),
    };
    Some(SpawnError::from_errno(errno, &context))
}

/// The daemon's own environment, captured once at startup.
pub type BaseEnv = Vec<(OsString, OsString)>;

pub fn base_env() -> BaseEnv {
    std::env::vars_os().collect()
}

/// Credentials for a `user=` program: looked up when the configuration is loaded (at
/// start and at each reload, as supervisord does), kept in the typed config and used by
/// every spawn, so no spawn blocks on the user database. A changed user keeps the uid and
/// gid it had then, until the next reload; a deleted one is caught by `crate::passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: Uid,
    pub gid: Gid,
    /// Supplementary groups, installed only when the daemon runs as root.
    pub groups: Option<Vec<Gid>>,
}

/// `getpwnam`, and `getgrouplist` when the daemon is root. `Ok(None)`: no such user.
/// Blocks on the user database (files, LDAP...): for config loading only.
pub fn resolve_user(name: &str) -> Result<Option<Credentials>, String> {
    let user = match User::from_name(name) {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("user '{name}' cannot be looked up: {}", e.desc())),
    };
    let groups = if nix::unistd::geteuid().is_root() {
        let cname = CString::new(name).map_err(|_| format!("user '{name}' contains a NUL byte"))?;
        let list = nix::unistd::getgrouplist(&cname, user.gid)
            .map_err(|e| format!("user '{name}': getgrouplist: {}", e.desc()))?;
        Some(list)
    } else {
        None
    };
    Ok(Some(Credentials {
        uid: user.uid,
        gid: user.gid,
        groups,
    }))
}

/// `which`, as exec will see it: an `argv[0]` with a `/` is taken as is, anything else is
/// looked up in the daemon's PATH. The child changes to `directory` before exec, so a
/// relative path (`./run.sh`, or a relative PATH entry) is checked there, not in the
/// daemon's cwd; the path returned is the one to exec after that chdir.
pub fn resolve_command(name: &str, directory: Option<&Path>) -> Result<PathBuf, SpawnError> {
    let not_found = || SpawnError::Transient(format!("Command not found: {name}"));
    let seen_from_child = |path: &Path| match directory {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        let there = seen_from_child(&path);
        return if is_executable_file(&there) {
            Ok(path)
        } else if there.exists() {
            // Exists but cannot be run: let exec say why (EACCES is permanent).
            Ok(path)
        } else {
            Err(not_found())
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(&seen_from_child(candidate)))
        .ok_or_else(not_found)
}

fn is_executable_file(path: &Path) -> bool {
    path.is_file() && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// What the child gets on fds 0, 1 and 2.
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// A child that exec'd its program.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
}

/// Everything the child uses between clone and exec, prepared without the child allocating.
struct Plan {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    directory: Option<CString>,
    credentials: Option<Credentials>,
    pdeathsig: bool,
    umask: Option<u32>,
    parent: libc::pid_t,
}

fn cstring(bytes: &[u8], what: &str) -> Result<CString, SpawnError> {
    CString::new(bytes).map_err(|_| SpawnError::Permanent(format!("{what} contains a NUL byte")))
}

/// The child's environment: the daemon's, overlaid by env_file and `environment`.
pub fn child_env(base: &BaseEnv, overrides: &[(String, String)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = base.clone();
    for (key, value) in overrides {
        let key = OsString::from(key);
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = OsString::from(value),
            None => env.push((key, OsString::from(value))),
        }
    }
    env
}

/// What to run: the resolved executable, argv (its first word is replaced by `path`),
/// the full environment, the working directory, the user, and whether to ask for
/// SIGKILL when the daemon dies.
pub struct Spec<'a> {
    pub path: &'a Path,
    pub argv: &'a [String],
    pub env: &'a [(OsString, OsString)],
    pub directory: Option<&'a Path>,
    pub credentials: Option<Credentials>,
    pub pdeathsig: bool,
    /// The child's umask (supervisord's `umask`); `None` keeps the daemon's.
    pub umask: Option<u32>,
}

/// The fd limit the daemon was started with, which children get back.
static INHERITED_NOFILE: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Raises the daemon's soft fd limit to the hard one (it holds pipes for every child and
/// a socket for every client); children get the limit the daemon was started with, since
/// some programs misbehave with huge fd limits.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write to and read from the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let _ = INHERITED_NOFILE.set(limit);
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
    }
}

/// supervisord's `minfds`: the soft fd limit is raised to at least `min`, and the hard
/// one too when it is lower (which needs root). Returns why it could not, if it could not.
pub fn ensure_fd_limit(min: u64) -> Result<(), String> {
    ensure_limit(Resource::RLIMIT_NOFILE, min, "the fd limit", "minfds")
}

/// supervisord's `minprocs`: the same for the process limit (RLIMIT_NPROC), which counts
/// every process of the daemon's user, so a low one makes spawns fail with EAGAIN.
pub fn ensure_process_limit(min: u64) -> Result<(), String> {
    ensure_limit(Resource::RLIMIT_NPROC, min, "the process limit", "minprocs")
}

fn ensure_limit(resource: Resource, min: u64, what: &str, key: &str) -> Result<(), String> {
    let (soft, hard) = getrlimit(resource).map_err(|e| e.to_string())?;
    // RLIM_INFINITY is the largest value, so "unlimited" never needs raising.
    if soft >= min {
        return Ok(());
    }
    setrlimit(resource, min, hard.max(min)).map_err(|e| {
        format!(
            "cannot raise {what} to {key} = {min} (soft {soft}, hard {hard}): {e}; raise the \
             limit in the environment or lower {key}"
        )
    })
}

/// Forks and execs a child in its own session, as `spec` says.
pub fn spawn(spec: Spec<'_>, stdio: Stdio) -> Result<Child, SpawnError> {
    let mut argv = vec![cstring(spec.path.as_os_str().as_bytes(), "command")?];
    for arg in spec.argv.iter().skip(1) {
        argv.push(cstring(arg.as_bytes(), "command")?);
    }
    let mut envp = Vec::with_capacity(spec.env.len());
    for (k, v) in spec.env {
        let mut entry = k.clone();
        entry.push("=");
        entry.push(v);
        envp.push(cstring(entry.as_bytes(), "environment")?);
    }
    let directory = match spec.directory {
        Some(d) => Some(cstring(d.as_os_str().as_bytes(), "directory")?),
        None => None,
    };
    let plan = Plan {
        path: argv[0].clone(),
        argv,
        envp,
        directory,
        credentials: spec.credentials,
        pdeathsig: spec.pdeathsig,
        umask: spec.umask,
        parent: std::process::id() as libc::pid_t,
    };
    let argv_ptrs = null_terminated(&plan.argv);
    let envp_ptrs = null_terminated(&plan.envp);
    let groups: Vec<libc::gid_t> = plan
        .credentials
        .as_ref()
        .and_then(|c| c.groups.as_ref())
        .map(|g| g.iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();

    let (status_read, status_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| SpawnError::from_errno(e, "pipe"))?;
    let child = ChildSetup {
        plan: &plan,
        argv: &argv_ptrs,
        envp: &envp_ptrs,
        groups: &groups,
        stdio: &stdio,
        status: status_write.as_raw_fd(),
    };
    let pid = clone_and_exec(&child)?;
    drop(status_write);
    drop(stdio);
    // CLONE_VFORK: we only run again once the child has exec'd (its end of the status
    // pipe closed: EOF) or has reported why not and exited.
    let mut report = [0u8; 8];
    let n = nix::unistd::read(&status_read, &mut report).unwrap_or(0);
    if n == 0 {
        return Ok(Child { pid });
    }
    let failure = decode_status(&report[..n], &program_name(&plan), spec.directory);
    // The child has exited already; collect it so it is not reported as an exit later.
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    Err(failure.unwrap_or_else(|| SpawnError::Transient("child setup failed".into())))
}

fn program_name(plan: &Plan) -> String {
    plan.path.to_string_lossy().into_owned()
}

/// What the child needs, behind one pointer for `clone`.
struct ChildSetup<'a> {
    plan: &'a Plan,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    groups: &'a [libc::gid_t],
    stdio: &'a Stdio,
    status: RawFd,
}

/// Bytes of stack for the child between clone and exec.
const CHILD_STACK: usize = 64 * 1024;

/// `clone(CLONE_VM | CLONE_VFORK)`: the child borrows the daemon's memory until it execs,
/// so nothing is copied, whatever the daemon's size (fork copied its page tables for
/// every spawn). The daemon waits meanwhile, as `posix_spawn` does.
fn clone_and_exec(child: &ChildSetup<'_>) -> Result<i32, SpawnError> {
    extern "C" fn run(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the ChildSetup that clone_and_exec keeps alive; the parent is
        // suspended until this child execs or exits, so nothing changes under us.
        unsafe {
            let child = &*(arg as *const ChildSetup<'_>);
            exec_child(
                child.plan,
                child.argv,
                child.envp,
                child.groups,
                child.stdio,
                child.status,
            )
        }
    }
    let mut stack = vec![0u8; CHILD_STACK];
    // SAFETY: the stack grows down from the end of a buffer that outlives the child's
    // use of it (CLONE_VFORK returns only after exec or exit).
    let top = unsafe { stack.as_mut_ptr().add(CHILD_STACK) };
    let top = (top as usize & !15) as *mut libc::c_void;

    // Until the child has reset the daemon's signal handlers, a signal reaching it
    // would run them in the child (and write to the daemon's signal pipe): block
    // everything across the clone; the child unblocks once its handlers are defaults.
    // SAFETY: sigprocmask with sets we own; the mask is restored right after.
    let saved_mask = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut saved);
        saved
    };
    // SAFETY: the child runs `run` on its own stack with the daemon's memory; it makes
    // only raw system calls on data prepared before, and execs or exits.
    let pid = unsafe {
        libc::clone(
            run,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            child as *const ChildSetup<'_> as *mut libc::c_void,
        )
    };
    let clone_errno = Errno::last();
    // SAFETY: restores the mask saved above.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, &saved_mask, std::ptr::null_mut());
    }
    drop(stack);
    if pid < 0 {
        return Err(SpawnError::from_errno(clone_errno, "clone"));
    }
    Ok(pid)
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on an fd we own; failure leaves it blocking, which callers tolerate.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// The child side of the clone. Only system calls on data prepared by the parent;
/// never returns.
///
/// # Safety
/// Must run only in a child made by `clone_and_exec` (sharing the memory of a
/// single-threaded, suspended parent).
unsafe fn exec_child(
    plan: &Plan,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    groups: &[libc::gid_t],
    stdio: &Stdio,
    status: RawFd,
) -> ! {
    let fail = |step: Step| -> ! {
        let errno = *libc::__errno_location();
        let mut report = [0u8; 5];
        report[0] = step as u8;
        report[1..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(status, report.as_ptr().cast(), report.len());
        libc::_exit(127)
    };

    for (fd, target) in [
        (stdio.stdin.as_raw_fd(), 0),
        (stdio.stdout.as_raw_fd(), 1),
        (stdio.stderr.as_raw_fd(), 2),
    ] {
        if fd == target {
            // dup2 onto itself keeps FD_CLOEXEC: clear it instead.
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                fail(Step::Stdio);
            }
        } else if libc::dup2(fd, target) < 0 {
            fail(Step::Stdio);
        }
    }
    if let Some(dir) = &plan.directory {
        if libc::chdir(dir.as_ptr()) < 0 {
            fail(Step::Chdir);
        }
    }
    if let Some(mask) = plan.umask {
        libc::umask(mask as libc::mode_t);
    }
    // Ignored dispositions (the daemon ignores SIGPIPE) survive exec; reset them all,
    // SIGRTMAX and the C library's own signals included.
    reset_dispositions(false, 0);
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    if libc::setsid() < 0 {
        fail(Step::Setsid);
    }
    // Raw system calls: the C library's wrappers coordinate all of a process's
    // threads and keep state in memory we share with the daemon.
    if let Some(creds) = &plan.credentials {
        if creds.groups.is_some()
            && libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) < 0
        {
            fail(Step::Setgroups);
        }
        if libc::syscall(libc::SYS_setgid, creds.gid.as_raw()) < 0 {
            fail(Step::Setgid);
        }
        if libc::syscall(libc::SYS_setuid, creds.uid.as_raw()) < 0 {
            fail(Step::Setuid);
        }
    }
    if plan.pdeathsig {
        // After the credential change, which clears it. If the daemon died before this
        // point the signal would never come, so check the parent is still ours.
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        if libc::getppid() != plan.parent {
            libc::_exit(127);
        }
    }
    if let Some(limit) = INHERITED_NOFILE.get() {
        libc::setrlimit(libc::RLIMIT_NOFILE, limit);
    }
    // Everything the daemon opens is CLOEXEC; this also covers fds it inherited.
    libc::syscall(
        libc::SYS_close_range,
        3u32,
        u32::MAX,
        libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
    );
    libc::execve(plan.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    fail(Step::Exec)
}

/// The kernel's `struct sigaction` in the generic layout (x86-64, arm64, riscv...). glibc's
/// `sigaction` refuses the signals it keeps for itself (32 and 33), which a launcher may
/// still have left ignored, so dispositions are read and set with the raw system call.
/// All zeroes is SIG_DFL with no flags and an empty mask.
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// `rt_sigaction` as the kernel has it (its signal set is 64 bits).
///
/// # Safety
/// `new` and `old` are null or point to valid `KernelSigaction`s.
unsafe fn kernel_sigaction(
    signal: libc::c_int,
    new: *const KernelSigaction,
    old: *mut KernelSigaction,
) -> libc::c_long {
    libc::syscall(
        libc::SYS_rt_sigaction,
        signal,
        new,
        old,
        std::mem::size_of::<u64>(),
    )
}

/// Sets signals 1 to SIGRTMAX back to SIG_DFL, except `keep`; with `only_ignored`,
/// installed handlers are left alone. System calls only, no allocation: callable
/// between clone and exec.
///
/// # Safety
/// Changes process-wide dispositions: the caller must be single-threaded (or the
/// suspended-parent child of `clone_and_exec`).
pub unsafe fn reset_dispositions(only_ignored: bool, keep: libc::c_int) {
    let default = KernelSigaction::default();
    for signal in 1..=libc::SIGRTMAX() {
        let mut current = KernelSigaction::default();
        if signal == keep || kernel_sigaction(signal, std::ptr::null(), &mut current) != 0 {
            continue;
        }
        let reset = match current.handler {
            libc::SIG_DFL => false,
            libc::SIG_IGN => true,
            _ => !only_ignored,
        };
        if reset {
            kernel_sigaction(signal, &default, std::ptr::null_mut());
        }
    }
}

/// Opens `/dev/null` for a child's stdio.
pub fn dev_null(write: bool) -> std::io::Result<OwnedFd> {
    let flags = if write {
        libc::O_WRONLY
    } else {
        libc::O_RDONLY
    } | libc::O_CLOEXEC;
    // SAFETY: a plain open of a constant, NUL-terminated path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A CLOEXEC pipe whose read end (for the daemon) is non-blocking.
pub fn output_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    set_nonblocking(read.as_raw_fd());
    Ok((read, write))
}

/// A pipe for a child's stdin: (its read end for the child, our non-blocking write end).
pub fn input_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    set_nonblocking(write.as_raw_fd());
    Ok((read, write))
}

/// Makes sure fds 0, 1 and 2 are open, so no pipe or file of ours can land on them.
pub fn ensure_stdio_open() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries; opening /dev/null fills the lowest free fd.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) < 0 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// Marks every inherited fd above 2 CLOEXEC, so children never see them.
pub fn cloexec_inherited_fds() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags; ENOSYS is harmless.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        );
    }
}

/// Joins argv for the `Spawning` log line.
pub fn display_argv(path: &Path, argv: &[String]) -> String {
    let mut line = path.display().to_string();
    for arg in argv.iter().skip(1) {
        line.push(' ');
        line.push_str(arg);
    }
    line
}

/// Whether `PR_SET_PDEATHSIG` works here: a throwaway child sets it, reads it back and
/// exits with the value (9 when functional; 254 if the set failed, 253 if the read
/// failed). The daemon's own setting is never touched. Blocks briefly: call at startup.
pub fn pdeathsig_works() -> bool {
    // SAFETY: single-threaded; the child only makes prctl calls and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return false;
    }
    if pid == 0 {
        // SAFETY: in the forked child, async-signal-safe calls only.
        unsafe {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                libc::_exit(254);
            }
            let mut signal: libc::c_int = 0;
            if libc::prctl(
                libc::PR_GET_PDEATHSIG,
                &mut signal as *mut libc::c_int,
                0,
                0,
                0,
            ) != 0
            {
                libc::_exit(253);
            }
            libc::_exit(signal & 0xff);
        }
    }
    let child = nix::unistd::Pid::from_raw(pid);
    loop {
        match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => return code == libc::SIGKILL,
            Err(Errno::EINTR) => continue,
            _ => return false,
        }
    }
}

/// Whether the file is setuid or setgid (the kernel clears pdeathsig when exec'ing one).
pub fn is_setid(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o6000 != 0)
}
