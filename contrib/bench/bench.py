#!/usr/bin/env python3
"""supervice benchmark suite: supervice (Rust) side by side with its peers.

Python 3 standard library only, Linux only (/proc).  Run it through run.sh, which
builds the release binaries and installs the peers; or directly:

    python3 contrib/bench/bench.py [--quick] [--only SCENARIO]... [--peer NAME]...
    python3 contrib/bench/bench.py --summarize        # markdown from the latest JSON

Peers: supervice-rs (ours, --bin-dir), supervisord 4.3.0 and supervice-py 0.4.2
(from --venv), s6 and runit (from PATH), and `reference` floors (a shell loop
that spawns the sleeps; `producer | cat > file` for logs).

Scenarios (--only, repeatable): startup idle respawn log control scale xmlrpc, and
for ours: ctl-load churn reload health status-size tailf.  See contrib/bench/README.md.

Every process the harness launches carries SUPERVICE_BENCH_TOKEN=<run>-<n> in its
environment.  Supervisors are stopped with their own stop signal, then SIGKILL
after --stop-timeout; at the end (and on Ctrl-C, SIGTERM, SIGHUP or an error)
/proc/*/environ is scanned for this run's token and whatever carries it gets
SIGTERM, then SIGKILL.  Nothing is ever signalled by name.
"""

import argparse
import glob
import json
import math
import os
import platform
import resource
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SELF = os.path.abspath(__file__)
TOKEN_VAR = "SUPERVICE_BENCH_TOKEN"
OURS = "supervice-rs"
PEER_ORDER = ["supervice-rs", "reference", "supervisord", "supervice-py", "s6", "runit"]
SCENARIOS = ["startup", "idle", "respawn", "log", "control", "scale",
             "ctl-load", "churn", "reload", "health", "status-size", "xmlrpc", "tailf", "clients"]
SLEEP_BASE = 900000          # program i runs `sleep SLEEP_BASE+i`: argv names the program
MiB = 1 << 20
GiB = 1 << 30
BLOCK = MiB                  # bulk log payload unit
LINE = 128                   # bulk log line length
MLINE = 100                  # multi-writer line length
clock = time.perf_counter


def note(msg):
    sys.stderr.write("# %s\n" % msg)
    sys.stderr.flush()


# ============================================================================
# payload producers (bench.py --producer ...): run as the supervised programs
# ============================================================================

def bulk_header(k):
    head = b"BLOCK %012d " % k
    return head + b"=" * (LINE - 1 - len(head)) + b"\n"


BULK_BODY = (b"a" * (LINE - 1) + b"\n") * (BLOCK // LINE - 1)


def multi_content(cid, lines):
    pad = b"." * (MLINE - 16)
    return b"".join([b"c%02d l%010d%s\n" % (cid, i, pad) for i in range(lines)])


def write_all(fd, data):
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def producer_main(argv):
    """--producer bulk NBYTES READY linger|exit
       --producer lines CID NLINES READY linger|exit
    Blocks SIGUSR1, touches READY, waits for SIGUSR1, writes, then lingers
    (sleeps until killed, so the supervisor never restarts it) or exits."""
    mode = argv[0]
    if mode == "paced":
        return paced_main(argv[1:])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    if mode == "bulk":
        nbytes, ready, after = int(argv[1]), argv[2], argv[3]
        payload = None
    else:
        cid, nlines, ready, after = int(argv[1]), int(argv[2]), argv[3], argv[4]
        payload = multi_content(cid, nlines)
    with open(ready, "w"):
        pass
    signal.sigwait({signal.SIGUSR1})
    if mode == "bulk":
        for k in range(nbytes // BLOCK):
            head = bulk_header(k)
            n = os.writev(1, [head, BULK_BODY])
            if n < BLOCK:
                write_all(1, (head + BULK_BODY)[n:])
    else:
        chunk = 65521  # not a multiple of the line length: reads never align with lines
        mv = memoryview(payload)
        for off in range(0, len(payload), chunk):
            write_all(1, mv[off:off + chunk])
    if after == "linger":
        while True:
            time.sleep(3600)
    return 0


def paced_main(argv):
    """--producer paced MB_PER_S SECONDS COUNTER: lines of LINE bytes at MB_PER_S for
    SECONDS (1 MiB writes on a 10 ms schedule), then lingers; the bytes written so far
    are kept in COUNTER (rewritten every 100 ms) for the harness to compare with."""
    rate, seconds, counter = float(argv[0]) * MiB, float(argv[1]), argv[2]
    line = (b"x" * (LINE - 1)) + b"\n"
    block = line * (MiB // LINE)
    written = 0
    t0 = time.monotonic()
    last = 0.0
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        if written < rate * now:
            write_all(1, block)
            written += len(block)
        else:
            time.sleep(0.002)
        if now - last >= 0.1:
            last = now
            with open(counter + ".tmp", "w") as f:
                f.write("%d %.3f" % (written, time.monotonic()))
            os.rename(counter + ".tmp", counter)
    with open(counter + ".tmp", "w") as f:
        f.write("%d %.3f" % (written, time.monotonic()))
    os.rename(counter + ".tmp", counter)
    while True:
        time.sleep(3600)


# ============================================================================
# /proc
# ============================================================================

def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def pstat(pid):
    raw = read_bytes("/proc/%d/stat" % pid)
    if not raw:
        return None
    r = raw.rfind(b")")
    f = raw[r + 2:].split()
    try:
        return {"comm": raw[raw.find(b"(") + 1:r].decode("utf-8", "replace"),
                "state": f[0].decode(), "ppid": int(f[1]), "threads": int(f[17]),
                "start": int(f[19])}
    except (IndexError, ValueError):
        return None


def pargv(pid):
    raw = read_bytes("/proc/%d/cmdline" % pid)
    if raw is None:
        return None
    parts = raw.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("utf-8", "replace") for p in parts]


def argv_key(argv):
    if not argv:
        return None
    return (os.path.basename(argv[0]),) + tuple(argv[1:])


def is_leader(pid):
    raw = read_bytes("/proc/%d/status" % pid)
    if raw is None:
        return False
    i = raw.find(b"\nTgid:")
    return i >= 0 and int(raw[i + 6:raw.index(b"\n", i + 1)]) == pid


def environ_has(pid, needle):
    raw = read_bytes("/proc/%d/environ" % pid)
    return raw is not None and needle in b"\0" + raw


def cpu_ms(pid):
    """CPU time of every live thread of PID (se.sum_exec_runtime, ns precision)."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    total = 0.0
    for tid in tids:
        raw = read_bytes("/proc/%d/task/%s/sched" % (pid, tid))
        if not raw:
            continue
        i = raw.find(b"se.sum_exec_runtime")
        if i >= 0:
            total += float(raw[raw.index(b":", i) + 1:raw.index(b"\n", i)])
    return total


def ctxsw(pid):
    vol = nonvol = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        raw = read_bytes("/proc/%d/task/%s/status" % (pid, tid))
        if not raw:
            continue
        for line in raw.split(b"\n"):
            if line.startswith(b"voluntary_ctxt_switches"):
                vol += int(line.split()[1])
            elif line.startswith(b"nonvoluntary_ctxt_switches"):
                nonvol += int(line.split()[1])
    return vol, nonvol


def mem_kib(pid):
    """(Rss, Pss) in KiB from smaps_rollup."""
    raw = read_bytes("/proc/%d/smaps_rollup" % pid)
    rss = pss = 0
    if raw:
        for line in raw.split(b"\n"):
            if line.startswith(b"Rss:"):
                rss = int(line.split()[1])
            elif line.startswith(b"Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def io_counters(pid):
    """/proc/PID/io as a dict (wchar, syscw, write_bytes ...), or {}."""
    raw = read_bytes("/proc/%d/io" % pid)
    out = {}
    for line in (raw or b"").decode().splitlines():
        k, _, v = line.partition(":")
        if v.strip().isdigit():
            out[k] = int(v)
    return out


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def process_table():
    table = {}
    for pid in all_pids():
        st = pstat(pid)
        if st is not None:
            table[pid] = st
    return table


def descendants(root, table):
    kids = {}
    for pid, st in table.items():
        kids.setdefault(st["ppid"], []).append(pid)
    out, todo = [], [root]
    while todo:
        for c in kids.get(todo.pop(), ()):
            out.append(c)
            todo.append(c)
    return out


def ns_last_pid():
    with open("/proc/sys/kernel/ns_last_pid", "rb") as f:
        return int(f.read())


with open("/proc/sys/kernel/pid_max") as _f:
    PID_MAX = int(_f.read())


def machine_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v), v[3] + v[4]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ============================================================================
# statistics
# ============================================================================

INF = float("inf")


def pct(values, p):
    """Nearest-rank percentile; None (timeout) sorts as +inf."""
    v = sorted(INF if x is None else x for x in values)
    if not v:
        return None
    return v[max(0, int(math.ceil(p / 100.0 * len(v))) - 1)]


def med(values):
    v = [INF if x is None else x for x in values]
    if not v:
        return None
    return statistics.median(v)


def fin(x):
    return None if x is None or x == INF else x


# ============================================================================
# cleanup: pids we launched, and the run token in /proc/*/environ
# ============================================================================

class Reaper:
    def __init__(self):
        self.run_id = uuid.uuid4().hex[:12]
        self.seq = 0
        self.popens = []

    def new_token(self):
        self.seq += 1
        return "%s-%d" % (self.run_id, self.seq)

    @staticmethod
    def needle(token):
        return ("\0%s=%s\0" % (TOKEN_VAR, token)).encode()

    def run_needle(self):
        return ("\0%s=%s-" % (TOKEN_VAR, self.run_id)).encode()

    def env(self, token):
        env = dict(os.environ)
        env[TOKEN_VAR] = token
        return env

    def popen(self, argv, token, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, env=self.env(token), **kw)
        self.popens.append(p)
        return p

    def carriers(self, needle):
        me = os.getpid()
        return [p for p in all_pids() if p != me and environ_has(p, needle)]

    def terminate(self, pids, grace):
        """SIGTERM, then SIGKILL whatever is still there after GRACE seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            for p in pids:
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.reap()
                pids = [p for p in pids if alive(p)]
                if not pids:
                    return
                time.sleep(0.02)

    def reap(self):
        for p in self.popens:
            if p.returncode is None:
                p.poll()

    def cleanup_all(self):
        """Everything this run started: launched processes first (their own
        stop), then anything that carries the run token."""
        self.reap()
        live = [p.pid for p in self.popens if p.returncode is None]
        if live:
            note("cleanup: stopping %d launched process(es)" % len(live))
            self.terminate(live, 10.0)
        needle = self.run_needle()
        for attempt in range(5):
            left = self.carriers(needle)
            if not left:
                return 0
            note("cleanup: %d process(es) carry this run's token: SIGTERM, then SIGKILL" % len(left))
            self.terminate(left, 3.0)
        left = self.carriers(needle)
        if left:
            note("cleanup FAILED: still alive: %s" % left)
        return len(left)


def alive(pid):
    st = pstat(pid)
    return st is not None and st["state"] != "Z"


# ============================================================================
# programs and peers
# ============================================================================

class Prog:
    def __init__(self, name, argv, log=None, startsecs=1, autostart=True, extra=None):
        self.name = name
        self.argv = list(argv)
        self.log = log            # file (supervisord, supervice) or directory (s6, runit)
        self.startsecs = startsecs
        self.autostart = autostart
        self.extra = dict(extra or {})

    @property
    def key(self):
        return argv_key(self.argv)


def sleep_progs(n, base=SLEEP_BASE):
    return [Prog("p%05d" % i, ["sleep", str(base + i)]) for i in range(n)]


class Peer:
    name = "?"
    stop_signal = signal.SIGTERM
    helpers = frozenset()   # comms of descendants that are part of the supervisor
    root_is_own = True
    up_marker = None
    log_is_dir = False

    def __init__(self, h):
        self.h = h

    def unavailable(self):
        return None

    def version(self):
        return ""

    def configure(self, inst):
        raise NotImplementedError

    def argv(self, inst):
        raise NotImplementedError

    def status_argv(self, inst):
        return None

    def prepare_stop(self, inst):
        pass

    def log_files(self, prog):
        return [prog.log]

    def own_pids(self, root, table):
        out = [root] if self.root_is_own else []
        rst = table.get(root)
        try:
            rexe = os.readlink("/proc/%d/exe" % root)
        except OSError:
            rexe = None
        for pid in descendants(root, table):
            comm = table[pid]["comm"]
            if comm in self.helpers:
                out.append(pid)
            elif self.root_is_own and rst and comm == rst["comm"]:
                try:
                    if os.readlink("/proc/%d/exe" % pid) == rexe:
                        out.append(pid)
                except OSError:
                    pass
        return out


def run_text(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else ""
    except (OSError, subprocess.SubprocessError) as e:
        return "error: %s" % e


def dpkg_version(pkg):
    return run_text(["dpkg-query", "-W", "-f", "${Version}", pkg])


class SuperviceFamily(Peer):
    """Our daemon and Python Supervice 0.4.2 share the config format and CLI."""
    up_marker = "RUNNING"

    def bins(self):
        raise NotImplementedError

    def unavailable(self):
        for b in self.bins():
            if not (b and os.access(b, os.X_OK)):
                return "%s not found" % b
        return None

    def version(self):
        return run_text([self.bins()[0], "--version"])

    def configure(self, inst):
        inst.conf = os.path.join(inst.dir, "supervice.conf")
        inst.sock = os.path.join(inst.dir, "supervice.sock")
        self.write_conf(inst)

    def write_conf(self, inst):
        lines = ["[supervice]",
                 "logfile = %s" % os.path.join(inst.dir, "daemon.log"),
                 "loglevel = INFO",
                 "pidfile = %s" % os.path.join(inst.dir, "supervice.pid"),
                 "socket = %s" % inst.sock,
                 "shutdown_timeout = 10", ""]
        for p in inst.progs:
            lines += ["[program:%s]" % p.name,
                      "command = %s" % shlex.join(p.argv),
                      "autostart = %s" % ("true" if p.autostart else "false"),
                      "autorestart = true",
                      "startsecs = %d" % p.startsecs,
                      "startretries = 3",
                      "stopwaitsecs = 5"]
            if p.log:
                lines += ["stdout_logfile = %s" % p.log,
                          "stdout_logfile_maxbytes = 0",
                          "stdout_logfile_backups = 0"]
            lines += ["%s = %s" % kv for kv in p.extra.items()]
            lines.append("")
        tmp = inst.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines))
        os.rename(tmp, inst.conf)

    def argv(self, inst):
        return [self.bins()[0], "-c", inst.conf, "-n"]

    def ctl(self, inst, *args):
        return [self.bins()[1], "-s", inst.sock] + list(args)

    def status_argv(self, inst):
        return self.ctl(inst, "status")


class SuperviceRs(SuperviceFamily):
    name = "supervice-rs"

    def bins(self):
        d = self.h.args.bin_dir
        return os.path.join(d, "supervice"), os.path.join(d, "supervicectl")

    def version(self):
        v = run_text([self.bins()[0], "--version"])
        rev = run_text(["git", "-C", ROOT, "describe", "--always", "--dirty"])
        return "%s (%s)" % (v, rev)


class SupervicePy(SuperviceFamily):
    name = "supervice-py"

    def bins(self):
        b = os.path.join(self.h.args.venv, "bin")
        return os.path.join(b, "supervice"), os.path.join(b, "supervicectl")


class Supervisord(Peer):
    name = "supervisord"
    up_marker = "RUNNING"
    inet_port = None    # also an [inet_http_server] on this loopback port

    def __init__(self, h, inet_port=None):
        super().__init__(h)
        self.inet_port = inet_port

    def bins(self):
        b = os.path.join(self.h.args.venv, "bin")
        return os.path.join(b, "supervisord"), os.path.join(b, "supervisorctl")

    def unavailable(self):
        for b in self.bins():
            if not os.access(b, os.X_OK):
                return "%s not found" % b
        return None

    def version(self):
        return "supervisord " + run_text([self.bins()[0], "--version"])

    def configure(self, inst):
        inst.conf = os.path.join(inst.dir, "supervisord.conf")
        sock = os.path.join(inst.dir, "supervisord.sock")
        n = len(inst.progs)
        lines = ["[supervisord]", "nodaemon = true",
                 "logfile = %s" % os.path.join(inst.dir, "daemon.log"),
                 "pidfile = %s" % os.path.join(inst.dir, "supervisord.pid"),
                 "childlogdir = %s" % inst.dir, "loglevel = info",
                 "minfds = %d" % max(1024, 4 * n + 64),
                 "minprocs = %d" % max(200, 2 * n + 64), "",
                 "[unix_http_server]", "file = %s" % sock, "",
                 "[rpcinterface:supervisor]",
                 "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
                 "[supervisorctl]", "serverurl = unix://%s" % sock, ""]
        if self.inet_port:
            lines += ["[inet_http_server]", "port = 127.0.0.1:%d" % self.inet_port, ""]
        for p in inst.progs:
            lines += ["[program:%s]" % p.name,
                      "command = %s" % shlex.join(p.argv).replace("%", "%%"),
                      "autostart = %s" % ("true" if p.autostart else "false"),
                      "autorestart = true", "startsecs = %d" % p.startsecs,
                      "startretries = 3", "stopwaitsecs = 5",
                      "stderr_logfile = NONE"]
            if p.log:
                lines += ["stdout_logfile = %s" % p.log, "stdout_logfile_maxbytes = 0",
                          "stdout_logfile_backups = 0"]
            else:
                lines.append("stdout_logfile = NONE")
            lines.append("")
        with open(inst.conf, "w") as f:
            f.write("\n".join(lines))

    def argv(self, inst):
        return [self.bins()[0], "-n", "-c", inst.conf]

    def status_argv(self, inst):
        return [self.bins()[1], "-c", inst.conf, "status"]


class SupervisordDialect(Supervisord):
    """Our daemon reading the file Supervisord writes, unchanged (the drop-in)."""
    name = OURS

    def bins(self):
        return (os.path.join(self.h.args.bin_dir, "supervice"),
                os.path.join(self.h.args.venv, "bin", "supervisorctl"))

    def version(self):
        return run_text([self.bins()[0], "--version"])


def loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceDirs(Peer):
    """s6 and runit: one directory per service, `run` execs the program."""
    log_is_dir = True

    def configure(self, inst):
        inst.scan = os.path.join(inst.dir, "scan")
        os.makedirs(inst.scan)
        for p in inst.progs:
            d = os.path.join(inst.scan, p.name)
            os.makedirs(d)
            script(os.path.join(d, "run"), "exec %s" % shlex.join(p.argv))
            if not p.autostart:
                open(os.path.join(d, "down"), "w").close()
            if p.log:
                os.makedirs(os.path.join(d, "log"))
                script(os.path.join(d, "log", "run"), "exec %s" % shlex.join(self.logger(p)))
                self.prepare_logdir(p)

    def prepare_logdir(self, p):
        os.makedirs(p.log, exist_ok=True)

    def dirs(self, inst):
        return [os.path.join(inst.scan, p.name) for p in inst.progs]

    def log_files(self, prog):
        try:
            names = os.listdir(prog.log)
        except OSError:
            return []
        arch = sorted(n for n in names if n.startswith("@"))
        return [os.path.join(prog.log, n) for n in arch + (["current"] if "current" in names else [])]


def script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n%s\n" % body)
    os.chmod(path, 0o755)


class S6(ServiceDirs):
    name = "s6"
    helpers = frozenset({"s6-svscan", "s6-supervise", "s6-log"})
    up_marker = "up ("

    def unavailable(self):
        for b in ("s6-svscan", "s6-supervise", "s6-svstat", "s6-log"):
            if not shutil.which(b):
                return "%s not on PATH (apt-get install s6)" % b
        return None

    def version(self):
        return "s6 %s, skalibs %s" % (dpkg_version("s6"), dpkg_version("libskarnet2.13"))

    def logger(self, p):
        # s6-log: no timestamps, largest file size (256 MiB), keep every archive
        return ["s6-log", "n1000", "s268435455", p.log]

    def prepare_logdir(self, p):
        pass  # s6-log creates it

    def argv(self, inst):
        return ["s6-svscan", "-c", str(max(500, 2 * len(inst.progs) + 16)), inst.scan]

    def status_argv(self, inst):
        return ["sh", "-c", 'for d; do s6-svstat "$d"; done', "sh"] + self.dirs(inst)


class Runit(ServiceDirs):
    name = "runit"
    helpers = frozenset({"runsvdir", "runsv", "svlogd"})
    up_marker = "run: "
    stop_signal = signal.SIGHUP   # runsvdir: SIGHUP = TERM every runsv, then exit

    def unavailable(self):
        for b in ("runsvdir", "runsv", "sv", "svlogd"):
            if not shutil.which(b):
                return "%s not on PATH (apt-get install runit)" % b
        return None

    def version(self):
        return "runit %s" % dpkg_version("runit")

    def logger(self, p):
        return ["svlogd", p.log]

    def prepare_logdir(self, p):
        os.makedirs(p.log, exist_ok=True)
        with open(os.path.join(p.log, "config"), "w") as f:
            f.write("s0\nn0\n")   # never rotate, never delete

    def argv(self, inst):
        return ["runsvdir", inst.scan]

    def status_argv(self, inst):
        return ["sv", "status"] + self.dirs(inst)

    def prepare_stop(self, inst):
        # runsv's answer to SIGTERM is `x` (exit once the service is down) and it
        # does not take the service down itself; runit's own shutdown does `sv exit`.
        # This sends TERM+CONT to every service and lets each runsv exit.
        dirs = self.dirs(inst)
        for i in range(0, len(dirs), 500):
            subprocess.run(["sv", "-w", "5", "exit"] + dirs[i:i + 500], env=self.h.reaper.env(inst.token),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


class Reference(Peer):
    """Floors, not a supervisor.  Sleep programs: one `sh` loop forks a
    `while :; do sleep X; done` subshell per program.  Logged programs:
    `producer | cat > file`, one pipeline each."""
    name = "reference"
    helpers = frozenset({"cat"})
    root_is_own = False

    def version(self):
        return "sh (%s), coreutils %s" % (os.path.realpath("/bin/sh"), dpkg_version("coreutils"))

    def configure(self, inst):
        inst.script = os.path.join(inst.dir, "reference.sh")
        sleeps = [p for p in inst.progs if not p.log and p.argv[0] == "sleep"]
        lines = ["#!/bin/sh"]
        if sleeps:
            # the programs are p_i = `sleep BASE+i`: a loop spawns them
            base = int(sleeps[0].argv[1])
            assert all(p.argv == ["sleep", str(base + i)] for i, p in enumerate(sleeps))
            lines.append('i=0; while [ $i -lt %d ]; do (while :; do sleep $((%d + i)); done) & i=$((i + 1)); done'
                         % (len(sleeps), base))
        for p in inst.progs:
            if p.log:
                lines.append("%s | cat > %s &" % (shlex.join(p.argv), shlex.quote(p.log)))
        lines.append("wait")
        with open(inst.script, "w") as f:
            f.write("\n".join(lines) + "\n")

    def argv(self, inst):
        return ["sh", inst.script]


PEER_CLASSES = {c.name: c for c in (SuperviceRs, Reference, Supervisord, SupervicePy, S6, Runit)}


# ============================================================================
# one launched supervisor and the children it spawns
# ============================================================================

class Spawns:
    """Finds the processes a supervisor spawns, cheaply: polls
    /proc/sys/kernel/ns_last_pid and looks only at pids allocated since the last
    poll (O(new pids)), keeps those that carry the instance's token, and reports
    each one once it has exec'd an argv we wait for."""

    def __init__(self, needle, peer):
        self.needle = needle
        self.peer = peer
        self.last = ns_last_pid()
        self.pending = {}   # pid -> first seen
        self.unborn = {}    # pid allocated, not yet in /proc -> first seen
        self.ignore = set()
        self.polls = 0

    def poll(self, want):
        self.polls += 1
        cur = ns_last_pid()
        t = clock()
        if cur != self.last:
            if cur > self.last:
                new = range(self.last + 1, cur + 1)
            else:
                new = list(range(self.last + 1, PID_MAX)) + list(range(1, cur + 1))
            self.last = cur
            for pid in new:
                self.unborn[pid] = t
        if self.unborn:
            # ns_last_pid moves when a pid is allocated, a moment before the new
            # task shows up in /proc: look again at those not there yet
            for pid, first in list(self.unborn.items()):
                raw = read_bytes("/proc/%d/environ" % pid)
                if not raw and t - first < 0.5:
                    continue  # not in /proc yet, or caught inside execve (no environ)
                del self.unborn[pid]
                if raw and pid not in self.ignore and self.needle in b"\0" + raw and is_leader(pid):
                    self.pending[pid] = t
        found = []
        for pid, first in list(self.pending.items()):
            # forks that stay unexec'd for long (shell subshells, helpers) are
            # looked at less often
            if t - first > 0.25 and self.polls % 10:
                continue
            argv = pargv(pid)
            if not argv:
                st = pstat(pid)
                if argv is None or st is None or st["state"] == "Z":
                    del self.pending[pid]
                continue
            key = argv_key(argv)
            if key in want:
                found.append((key, pid, clock()))
                del self.pending[pid]
            elif key[0] in self.peer.helpers:
                st = pstat(pid)
                par = pargv(st["ppid"]) if st else None
                if st is None or not par or os.path.basename(par[0]) != key[0]:
                    del self.pending[pid]  # an exec'd helper, not a fork of one
        return found


class Instance:
    def __init__(self, h, peer, progs, tag):
        self.h = h
        self.peer = peer
        self.progs = progs
        self.dir = tempfile.mkdtemp(prefix="%s-%s-" % (peer.name, tag), dir=h.workdir)
        self.token = h.reaper.new_token()
        self.needle = Reaper.needle(self.token)
        self.proc = None
        self.current = {}   # key -> (pid, time seen exec'd)
        self.want = {p.key: p for p in progs}

    def start(self):
        self.peer.configure(self)
        # back-date the tree, as at boot: runsvdir waits a second before scanning
        # a directory modified within the current second
        past = time.time() - 120
        for dp, dns, fns in os.walk(self.dir, topdown=False):
            for n in dns + fns:
                os.utime(os.path.join(dp, n), (past, past), follow_symlinks=False)
        os.utime(self.dir, (past, past))
        self.spawns = Spawns(self.needle, self.peer)
        out = open(os.path.join(self.dir, "supervisor.out"), "wb")
        self.t0 = clock()
        self.proc = self.h.reaper.popen(self.peer.argv(self), self.token, cwd=self.dir,
                                        stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.spawns.ignore.add(self.proc.pid)
        return self.t0

    def poll(self):
        found = self.spawns.poll(self.want)
        for key, pid, t in found:
            self.current[key] = (pid, t)
        return found

    def wait_all(self, timeout, keys=None, interval=0.001):
        """Until every program in KEYS (default all) has exec'd at least once
        since launch; returns the time of the last one, or None."""
        keys = set(self.want) if keys is None else set(keys)
        missing = keys - set(self.current)
        deadline = clock() + timeout
        while True:
            for key, _, _ in self.poll():
                missing.discard(key)
            if not missing:
                return max(self.current[k][1] for k in keys)
            if self.proc.poll() is not None:
                note("%s exited early (%s); see %s" % (self.peer.name, self.proc.returncode, self.dir))
                return None
            if clock() > deadline:
                note("%s: %d of %d programs exec'd after %.0f s" % (
                    self.peer.name, len(keys) - len(missing), len(keys), timeout))
                return None
            time.sleep(interval)

    def own_pids(self):
        return self.peer.own_pids(self.proc.pid, process_table())

    def sample(self, pids):
        out = {}
        for pid in pids:
            c, s = cpu_ms(pid), ctxsw(pid)
            if c is not None and s is not None:
                out[pid] = (c, s[0], s[1])
        return out

    def settle(self, cap=20.0, quiet_ms=10.0):
        """Wait until the supervisor's own processes used < QUIET_MS of CPU
        over a 1 s window (capped).  Returns the seconds waited."""
        t = clock()
        while clock() - t < cap:
            pids = self.own_pids()
            a = self.sample(pids)
            time.sleep(1.0)
            b = self.sample(pids)
            used = sum(b[p][0] - a[p][0] for p in b if p in a)
            if used < quiet_ms:
                return clock() - t
        note("%s not quiet after %.0f s" % (self.peer.name, cap))
        return None

    def status_text(self):
        argv = self.peer.status_argv(self)
        r = subprocess.run(argv, capture_output=True, text=True, env=self.h.reaper.env(self.token), timeout=60)
        return r.returncode, r.stdout + r.stderr

    def wait_up(self, n, timeout=30.0):
        """Until the peer's own status shows N programs up."""
        deadline = clock() + timeout
        while True:
            rc, out = self.status_text()
            up = out.count(self.peer.up_marker)
            if up >= n:
                return True
            if clock() > deadline:
                note("%s: only %d of %d up after %.0f s" % (self.peer.name, up, n, timeout))
                return False
            time.sleep(0.5)

    def stop(self):
        """Stop the supervisor (its stop signal, SIGKILL after --stop-timeout),
        then make sure nothing of it is left."""
        res = {"stop_s": None, "clean": True, "leftover": 0}
        if self.proc is None:
            return res
        t = clock()
        if isinstance(self.peer, Reference):
            # shell loops fork a new sleep when theirs dies: signal until none is left
            for sig in [signal.SIGTERM] + [signal.SIGKILL] * 20:
                pids = self.h.reaper.carriers(self.needle)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
                time.sleep(0.1)
                self.h.reaper.reap()
        else:
            try:
                self.peer.prepare_stop(self)
            except (OSError, subprocess.SubprocessError) as e:
                note("%s: preparing the stop failed: %s" % (self.peer.name, e))
            if self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, self.peer.stop_signal)
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=self.h.args.stop_timeout)
                res["stop_s"] = round(clock() - t, 3)
            except subprocess.TimeoutExpired:
                note("%s did not exit %.0f s after its stop signal: SIGKILL" % (self.peer.name, self.h.args.stop_timeout))
                res["clean"] = False
                self.proc.kill()
                self.proc.wait()
        left = self.h.reaper.carriers(self.needle)
        if left:
            deadline = clock() + 3.0   # a supervisor may have just sent its signals
            while left and clock() < deadline:
                time.sleep(0.05)
                left = self.h.reaper.carriers(self.needle)
        if left:
            note("%s left %d process(es) behind after it exited: SIGTERM/SIGKILL them" % (self.peer.name, len(left)))
            res["leftover"] = len(left)
            res["clean"] = False
            self.h.reaper.terminate(left, 2.0)
        self.proc = None
        return res

    def remove(self):
        if not self.h.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ============================================================================
# the harness
# ============================================================================

class Harness:
    def __init__(self, args):
        self.args = args
        self.workdir = args.workdir
        self.reaper = Reaper()
        self.rows = []      # printed table: one value per (scenario, metric, peer)
        self.raw = {}       # scenario -> peer -> details
        self.gates = []
        self.notes = []
        self.peers = []
        self.skipped = {}
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S")
        os.makedirs(args.results_dir, exist_ok=True)
        self.result_path = os.path.join(args.results_dir, "bench-%s.json" % time.strftime("%Y%m%d-%H%M%S"))

    # --- machine state -----------------------------------------------------
    def gate(self, what):
        """Wait (up to --quiet-max-wait) for a 1 s window in which the whole
        machine is less than --quiet-threshold % busy; record what was seen."""
        t0 = clock()
        while True:
            a = machine_jiffies()
            time.sleep(1.0)
            b = machine_jiffies()
            busy = 100.0 * (1.0 - (b[1] - a[1]) / max(1, b[0] - a[0]))
            waited = clock() - t0
            if busy < self.args.quiet_threshold or waited >= self.args.quiet_max_wait:
                g = {"what": what, "busy_pct": round(busy, 1), "waited_s": round(waited, 1),
                     "noisy": busy >= self.args.quiet_threshold, "loadavg": loadavg()}
                if g["noisy"]:
                    note("machine still %.0f%% busy after %.0f s before %s: measuring anyway" % (busy, waited, what))
                self.gates.append(g)
                return g

    # --- results -----------------------------------------------------------
    def row(self, scenario, metric, peer, value, unit, better, detail=None):
        self.rows.append({"scenario": scenario, "metric": metric, "peer": peer,
                          "value": value, "unit": unit, "better": better, "detail": detail})

    def keep(self, scenario, peer, data):
        self.raw.setdefault(scenario, {}).setdefault(peer, []).append(data)

    def save(self):
        doc = {"started": self.started, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "args": {k: v for k, v in vars(self.args).items()},
               "machine": self.machine, "versions": self.versions,
               "skipped": self.skipped, "gates": self.gates, "notes": self.notes,
               "rows": self.rows, "raw": self.raw, "targets": evaluate_targets(self.rows)}
        tmp = self.result_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        os.rename(tmp, self.result_path)

    def describe_machine(self):
        model = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        with open("/proc/meminfo") as f:
            mem = f.readline().split()[1]
        self.machine = {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
                        "mem_gib": round(int(mem) / 1048576, 1), "python": platform.python_version(),
                        "loadavg_start": loadavg(), "pid_max": PID_MAX,
                        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)}
        self.versions = {p.name: p.version() for p in self.peers}

    # --- peers -------------------------------------------------------------
    def select_peers(self):
        wanted = self.args.peer or PEER_ORDER
        for name in wanted:
            if name not in PEER_CLASSES:
                sys.exit("unknown peer %r (known: %s)" % (name, ", ".join(PEER_ORDER)))
        for name in PEER_ORDER:
            if name not in wanted:
                continue
            peer = PEER_CLASSES[name](self)
            why = peer.unavailable()
            if why:
                note("!!! SKIPPING peer %s: %s" % (name, why))
                self.skipped[name] = why
            else:
                self.peers.append(peer)

    def peers_for(self, names):
        return [p for p in self.peers if p.name in names]

    def ctl_env(self, inst):
        return self.reaper.env(inst.token)


# ============================================================================
# measurements shared by scenarios
# ============================================================================

def timed_call(argv, env):
    t = clock()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120)
    return (clock() - t) * 1000.0, r.returncode, r.stdout


def client_maxrss_kib(argv, env, samples=5):
    """Largest RSS of the client: /usr/bin/time -f %M if present, else the
    ru_maxrss that wait4() reports for the child."""
    best = 0
    how = ""
    for _ in range(samples):
        if os.access("/usr/bin/time", os.X_OK):
            how = "/usr/bin/time -f %M"
            with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as tf:
                subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + argv, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                txt = tf.read().strip().splitlines()
                kib = int(txt[-1]) if txt and txt[-1].isdigit() else 0
        else:
            how = "wait4 ru_maxrss"
            p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, _, ru = os.wait4(p.pid, 0)
            p.returncode = 0
            kib = ru.ru_maxrss
        best = max(best, kib)
    return best, how


def footprint(inst, window):
    """RSS/PSS of the supervisor's own processes, and their CPU time and
    context switches over WINDOW seconds."""
    table = process_table()
    pids = inst.peer.own_pids(inst.proc.pid, table)
    a = inst.sample(pids)
    t = clock()
    time.sleep(window)
    b = inst.sample(pids)
    dt = clock() - t
    common = [p for p in b if p in a]
    rss = pss = fds = threads = 0
    for p in pids:
        r, s = mem_kib(p)
        rss += r
        pss += s
        fds += fd_count(p) or 0
        st = pstat(p)
        threads += st["threads"] if st else 0
    return {"procs": len(pids), "threads": threads, "fds": fds,
            "rss_kib": rss, "pss_kib": pss, "window_s": round(dt, 2),
            "cpu_ms": round(sum(b[p][0] - a[p][0] for p in common), 3),
            "vol_ctxsw": sum(b[p][1] - a[p][1] for p in common),
            "invol_ctxsw": sum(b[p][2] - a[p][2] for p in common)}


def run_instance(h, peer, progs, tag, body):
    """Launch, run BODY(inst), always stop and clean up."""
    inst = Instance(h, peer, progs, tag)
    try:
        result = body(inst)
    finally:
        stopped = inst.stop()
        inst.remove()
    if isinstance(result, dict):
        result.setdefault("stop", stopped)
    return result


def fmt_s(x):
    return "timeout" if x is None or x == INF else "%.3f" % x


# ============================================================================
# scenarios
# ============================================================================

def sc_startup(h):
    a = h.args
    # the large sizes run for ours and, as the floor, the reference
    sizes = [(n, None) for n in a.startup_sizes] + [(n, {OURS, "reference"}) for n in a.startup_sizes_ours]
    for n, only in sizes:
        timeout = 30 if n <= 100 else (150 if n <= 1000 else 600)
        for peer in h.peers:
            if only and peer.name not in only:
                continue
            times = []
            for r in range(a.repeats):
                g = h.gate("startup %s N=%d" % (peer.name, n))

                def body(inst):
                    t0 = inst.start()
                    t = inst.wait_all(timeout)
                    return {"startup_s": None if t is None else round(t - t0, 4),
                            "root_io": io_counters(inst.proc.pid)}
                res = run_instance(h, peer, sleep_progs(n), "startup%d" % n, body)
                res["gate"] = g
                times.append(res["startup_s"])
                h.keep("startup", peer.name, dict(res, n=n))
                note("startup %-13s N=%-5d run %d/%d: %s s (stop %s s%s)" % (
                    peer.name, n, r + 1, a.repeats, fmt_s(res["startup_s"]),
                    res["stop"]["stop_s"], "" if res["stop"]["clean"] else ", NOT clean"))
            h.row("startup", "N=%d: launch -> all exec'd (s)" % n, peer.name, fin(med(times)), "s", "lower",
                  {"runs": times})


def sc_idle(h):
    a = h.args
    n = 100
    for peer in h.peers:
        if isinstance(peer, Reference):
            continue
        runs = []
        for r in range(a.repeats):
            def body(inst):
                inst.start()
                if inst.wait_all(120) is None:
                    return None
                time.sleep(2.0)          # past startsecs=1: RUNNING
                settled = inst.settle()
                time.sleep(a.idle_settle)
                g = h.gate("idle %s" % peer.name)
                fp = footprint(inst, a.idle_window)
                fp["gate"] = g
                fp["settle_s"] = settled
                return fp
            fp = run_instance(h, peer, sleep_progs(n), "idle", body)
            if fp is None:
                continue
            h.keep("idle", peer.name, fp)
            runs.append(fp)
            note("idle    %-13s run %d/%d: %d procs, RSS %.1f MiB, PSS %.1f MiB, CPU %.2f ms, %d wakeups in %.1f s" % (
                peer.name, r + 1, a.repeats, fp["procs"], fp["rss_kib"] / 1024, fp["pss_kib"] / 1024,
                fp["cpu_ms"], fp["vol_ctxsw"], fp["window_s"]))
        if not runs:
            continue
        m = lambda k: med([x[k] for x in runs])   # noqa: E731
        h.row("idle", "100 programs: supervisor processes", peer.name, m("procs"), "", "lower")
        h.row("idle", "100 programs: RSS (MiB)", peer.name, m("rss_kib") / 1024, "MiB", "lower")
        h.row("idle", "100 programs: PSS (MiB)", peer.name, m("pss_kib") / 1024, "MiB", "lower")
        h.row("idle", "100 programs: CPU (ms per 10 s)", peer.name,
              med([x["cpu_ms"] * 10.0 / x["window_s"] for x in runs]), "ms", "lower")
        h.row("idle", "100 programs: wakeups (vol. ctxsw/s)", peer.name,
              med([x["vol_ctxsw"] / x["window_s"] for x in runs]), "/s", "lower")


def sc_respawn(h):
    a = h.args
    n = 10
    for peer in h.peers:
        def body(inst):
            inst.start()
            if inst.wait_all(60) is None:
                return None
            keys = [p.key for p in inst.progs]
            g = h.gate("respawn %s" % peer.name)
            lat = []
            for k in range(a.kills):
                key = keys[k % n]
                pid, seen = inst.current[key]
                while clock() - seen < a.min_age:
                    time.sleep(0.01)
                    inst.poll()
                inst.poll()
                os.kill(pid, signal.SIGKILL)
                tk = clock()
                got = None
                while clock() - tk < 10.0:
                    for fkey, fpid, ft in inst.poll():
                        if fkey == key and fpid != pid:
                            got = ft
                    if got is not None:
                        break
                    time.sleep(0.0002)
                lat.append(None if got is None else round((got - tk) * 1000.0, 3))
                if got is None:
                    note("respawn %s: no new %s within 10 s" % (peer.name, key))
                    inst.wait_all(30, keys=[key])
            return {"latency_ms": lat, "gate": g}
        res = run_instance(h, peer, sleep_progs(n), "respawn", body)
        if res is None:
            continue
        lat = res["latency_ms"]
        h.keep("respawn", peer.name, res)
        note("respawn %-13s %d kills: median %s ms, p90 %s ms, max %s ms" % (
            peer.name, len(lat), fmt(med(lat)), fmt(pct(lat, 90)), fmt(pct(lat, 100))))
        h.row("respawn", "kill -9 -> new child exec'd: median (ms)", peer.name, fin(med(lat)), "ms", "lower")
        h.row("respawn", "kill -9 -> new child exec'd: p90 (ms)", peer.name, fin(pct(lat, 90)), "ms", "lower")
        h.row("respawn", "kill -9 -> new child exec'd: max (ms)", peer.name, fin(pct(lat, 100)), "ms", "lower")


def producer_argv(*args):
    return [sys.executable, SELF, "--producer"] + [str(x) for x in args]


def total_size(peer, progs):
    s = 0
    for p in progs:
        for f in peer.log_files(p):
            try:
                s += os.stat(f).st_size
            except OSError:
                pass
    return s


def read_concat(peer, prog):
    """The captured stdout of PROG, in order, as a generator of chunks."""
    for f in peer.log_files(prog):
        with open(f, "rb") as fh:
            while True:
                b = fh.read(4 * MiB)
                if not b:
                    break
                yield b


def verify_bulk(peer, prog, nbytes):
    """Byte-exact comparison with what the producer wrote (every block)."""
    pos = 0
    pend = b""
    k = 0
    for chunk in read_concat(peer, prog):
        pend += chunk
        while len(pend) >= BLOCK:
            blk, pend = pend[:BLOCK], pend[BLOCK:]
            if blk[:LINE] != bulk_header(k) or blk[LINE:] != BULK_BODY:
                return False, "block %d differs (offset %d)" % (k, pos)
            k += 1
            pos += BLOCK
    if pend or pos != nbytes:
        return False, "%d bytes, expected %d" % (pos + len(pend), nbytes)
    return True, "every block matches"


def verify_lines(peer, prog, cid, nlines):
    data = b"".join(read_concat(peer, prog))
    want = multi_content(cid, nlines)
    if data == want:
        return True, 0, len(data)
    got = data.split(b"\n")
    exp = want.split(b"\n")
    bad = sum(1 for i in range(max(len(got), len(exp)))
              if i >= len(got) or i >= len(exp) or got[i] != exp[i])
    return False, bad, len(data)


def wait_files(paths, timeout):
    deadline = clock() + timeout
    while clock() < deadline:
        if all(os.path.exists(p) for p in paths):
            return True
        time.sleep(0.01)
    return False


def log_run(h, peer, progs_fn, tag, expect, verify, timeout):
    """Launch PEER with the producer programs, wait until every producer is
    ready, gate, SIGUSR1 them all, and time until the logs hold EXPECT bytes."""
    def body(inst):
        logs = os.path.join(inst.dir, "logs")
        os.makedirs(logs)
        progs, readies = progs_fn(inst.dir, logs, peer)
        inst.progs[:] = progs
        inst.want = {p.key: p for p in progs}
        inst.start()
        if inst.wait_all(60) is None or not wait_files(readies, 120):
            note("log %s: producers not ready" % peer.name)
            return None
        time.sleep(0.3)
        g = h.gate("log %s %s" % (tag, peer.name))
        table = process_table()
        own = peer.own_pids(inst.proc.pid, table)
        cpu0 = inst.sample(own)
        targets = [inst.current[p.key][0] for p in progs]
        t_go = clock()
        for pid in targets:
            os.kill(pid, signal.SIGUSR1)
        size = 0
        last_change, last_size = t_go, 0
        t_first = None
        while True:
            size = total_size(peer, progs)
            t = clock()
            if size and t_first is None:
                t_first = t
            if size >= expect:
                break
            if size != last_size:
                last_change, last_size = t, size
            elif t - last_change > 30 or t - t_go > timeout:
                note("log %s %s: stalled at %d of %d bytes" % (tag, peer.name, size, expect))
                break
            time.sleep(0.002)
        t_done = clock()
        cpu1 = inst.sample(own)
        time.sleep(0.5)
        final = total_size(peer, progs)
        ok, detail = verify(peer, progs) if final == expect else (False, "size %d, expected %d" % (final, expect))
        cpu_s = sum(cpu1[p][0] - cpu0[p][0] for p in cpu1 if p in cpu0) / 1000.0
        res = {"bytes": final, "expected": expect, "size_ok": final == expect, "content_ok": ok,
               "detail": detail, "go_to_done_s": round(t_done - t_go, 4),
               "first_to_done_s": round(t_done - (t_first or t_go), 4),
               "mb_per_s": round(expect / 1e6 / (t_done - t_go), 1) if size >= expect else None,
               "cpu_s": round(cpu_s, 4), "own_procs": len(own), "gate": g}
        shutil.rmtree(logs, ignore_errors=True)
        return res
    return run_instance(h, peer, [], tag, body)


def sc_log(h):
    a = h.args
    nbytes = a.log_bytes

    def bulk_progs(d, logs, peer):
        ready = os.path.join(d, "ready.bulk")
        after = "linger"   # for every peer: an exiting interpreter would compete for the CPU
        log = os.path.join(logs, "bulk" if peer.log_is_dir else "bulk.log")
        return [Prog("bulk", producer_argv("bulk", nbytes, ready, after), log=log)], [ready]

    def bulk_verify(peer, progs):
        return verify_bulk(peer, progs[0], nbytes)

    nchild, nlines = 64, a.multi_lines
    mexpect = nchild * nlines * MLINE

    def multi_progs(d, logs, peer):
        after = "linger"
        progs, readies = [], []
        for c in range(nchild):
            ready = os.path.join(d, "ready.%02d" % c)
            log = os.path.join(logs, "w%02d" % c + ("" if peer.log_is_dir else ".log"))
            progs.append(Prog("w%02d" % c, producer_argv("lines", c, nlines, ready, after), log=log))
            readies.append(ready)
        return progs, readies

    def multi_verify(peer, progs):
        bad_files = torn = 0
        for c, p in enumerate(progs):
            ok, bad, _ = verify_lines(peer, p, c, nlines)
            if not ok:
                bad_files += 1
                torn += bad
        return bad_files == 0, "%d/%d files byte-exact, %d lines torn or missing" % (
            nchild - bad_files, nchild, torn)

    ref = [p for p in h.peers if isinstance(p, Reference)]
    if ref and a.log_warmup:
        note("log: one unmeasured warm-up run (reference)")
        log_run(h, ref[0], bulk_progs, "warmup", nbytes, bulk_verify, 600)
    for peer in h.peers:
        runs = []
        for r in range(a.repeats):
            res = log_run(h, peer, bulk_progs, "bulk", nbytes, bulk_verify, 600)
            if res is None:
                continue
            runs.append(res)
            h.keep("log-bulk", peer.name, res)
            note("log     %-13s %d MiB run %d/%d: %s MB/s, supervisor CPU %.2f s, size %s, content %s" % (
                peer.name, nbytes // MiB, r + 1, a.repeats, res["mb_per_s"], res["cpu_s"],
                "ok" if res["size_ok"] else "WRONG", "ok" if res["content_ok"] else "WRONG: " + res["detail"]))
        if runs:
            lbl = "%d MiB, 1 child" % (nbytes // MiB)
            h.row("log", lbl + ": throughput (MB/s)", peer.name, med([x["mb_per_s"] for x in runs]), "MB/s", "higher")
            h.row("log", lbl + ": supervisor CPU (s per GiB)", peer.name,
                  med([x["cpu_s"] * GiB / nbytes for x in runs]), "s", "lower")
            h.row("log", lbl + ": byte-exact", peer.name,
                  "%d/%d" % (sum(1 for x in runs if x["size_ok"] and x["content_ok"]), len(runs)), "", "")
        runs = []
        for r in range(a.repeats):
            res = log_run(h, peer, multi_progs, "multi", mexpect, multi_verify, 600)
            if res is None:
                continue
            runs.append(res)
            h.keep("log-multi", peer.name, res)
            note("log     %-13s 64 writers run %d/%d: %s MB/s, supervisor CPU %.2f s, %s" % (
                peer.name, r + 1, a.repeats, res["mb_per_s"], res["cpu_s"], res["detail"]))
        if runs:
            lbl = "64 children x %.1f MiB lines" % (nlines * MLINE / MiB)
            h.row("log", lbl + ": throughput (MB/s)", peer.name, med([x["mb_per_s"] for x in runs]), "MB/s", "higher")
            h.row("log", lbl + ": supervisor CPU (s)", peer.name, med([x["cpu_s"] for x in runs]), "s", "lower")
            h.row("log", lbl + ": all bytes, no torn line", peer.name,
                  "%d/%d" % (sum(1 for x in runs if x["size_ok"] and x["content_ok"]), len(runs)), "", "")


def sc_control(h):
    a = h.args
    n = 100
    if h.peers_for({"reference"}):
        env = dict(os.environ)
        floor = [timed_call(["/bin/true"], env)[0] for _ in range(a.ctl_calls)]
        rss, _ = client_maxrss_kib(["/bin/true"], env)
        h.row("control", "status, 100 programs: median (ms)", "reference", med(floor), "ms", "lower",
              {"what": "/bin/true"})
        h.row("control", "status, 100 programs: p90 (ms)", "reference", pct(floor, 90), "ms", "lower")
        h.row("control", "status client max RSS (MiB)", "reference", rss / 1024, "MiB", "lower")
    for peer in h.peers:
        if isinstance(peer, Reference):
            continue

        def body(inst):
            inst.start()
            if inst.wait_all(120) is None or not inst.wait_up(n, 60):
                return None
            inst.settle()
            argv = peer.status_argv(inst)
            env = h.ctl_env(inst)
            rc, out = inst.status_text()
            g = h.gate("control %s" % peer.name)
            lat, fails = [], 0
            for _ in range(a.ctl_calls):
                ms, rc, _ = timed_call(argv, env)
                lat.append(round(ms, 3))
                fails += rc != 0
            rss, how = client_maxrss_kib(argv, env)
            return {"latency_ms": lat, "failures": fails, "client_maxrss_kib": rss, "maxrss_by": how,
                    "first_output_lines": out.count("\n"), "gate": g}
        res = run_instance(h, peer, sleep_progs(n), "control", body)
        if res is None:
            continue
        h.keep("control", peer.name, res)
        lat = res["latency_ms"]
        note("control %-13s %d calls: median %.2f ms, p90 %.2f ms, client max RSS %.1f MiB, %d failed" % (
            peer.name, len(lat), med(lat), pct(lat, 90), res["client_maxrss_kib"] / 1024, res["failures"]))
        h.row("control", "status, 100 programs: median (ms)", peer.name, med(lat), "ms", "lower")
        h.row("control", "status, 100 programs: p90 (ms)", peer.name, pct(lat, 90), "ms", "lower")
        h.row("control", "status client max RSS (MiB)", peer.name, res["client_maxrss_kib"] / 1024, "MiB", "lower")


def sc_scale(h):
    a = h.args
    n = a.scale_n
    for peer in h.peers_for({OURS}):
        def body(inst):
            t0 = inst.start()
            t = inst.wait_all(600)
            if t is None:
                return None
            res = {"n": n, "startup_s": round(t - t0, 3), "root_io_at_exec": io_counters(inst.proc.pid)}
            ok = inst.wait_up(n, 120)
            res["all_running_s"] = round(clock() - t0, 3) if ok else None
            res["settle_s"] = inst.settle(cap=60)
            g = h.gate("scale %s" % peer.name)
            fp = footprint(inst, 5.0)
            res.update(fp)
            argv = peer.status_argv(inst)
            env = h.ctl_env(inst)
            lat = [round(timed_call(argv, env)[0], 3) for _ in range(a.scale_calls)]
            res["status_ms"] = lat
            res["client_maxrss_kib"], res["maxrss_by"] = client_maxrss_kib(argv, env, 3)
            res["gate"] = g
            return res
        res = run_instance(h, peer, sleep_progs(n), "scale", body)
        if res is None:
            continue
        h.keep("scale", peer.name, res)
        note("scale   %-13s N=%d: exec'd %.2f s, RUNNING %s s, RSS %.1f MiB, status median %.1f ms, stop %s s" % (
            peer.name, n, res["startup_s"], res["all_running_s"], res["rss_kib"] / 1024,
            med(res["status_ms"]), res["stop"]["stop_s"]))
        lbl = "%d programs: " % n
        h.row("scale", lbl + "launch -> all exec'd (s)", peer.name, res["startup_s"], "s", "lower")
        h.row("scale", lbl + "launch -> status shows all RUNNING (s)", peer.name, res["all_running_s"], "s", "lower")
        h.row("scale", lbl + "RSS (MiB)", peer.name, res["rss_kib"] / 1024, "MiB", "lower")
        h.row("scale", lbl + "fds", peer.name, res["fds"], "", "lower")
        h.row("scale", lbl + "idle wakeups (vol. ctxsw/s)", peer.name, res["vol_ctxsw"] / res["window_s"], "/s", "lower")
        h.row("scale", lbl + "status median (ms)", peer.name, med(res["status_ms"]), "ms", "lower")
        h.row("scale", lbl + "status client max RSS (MiB)", peer.name, res["client_maxrss_kib"] / 1024, "MiB", "lower")
        h.row("scale", lbl + "graceful stop (s)", peer.name, res["stop"]["stop_s"], "s", "lower")


class IdleClients:
    """N connections held open to a control socket, sending nothing; one that
    the daemon closes (e.g. at its read deadline) is opened again at once."""

    def __init__(self, path, n):
        self.path = path
        self.n = n
        self.socks = []
        self.reconnects = 0
        self.refused = 0
        self.stop = threading.Event()
        for _ in range(n):
            self.socks.append(self.connect())
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        return s

    def run(self):
        while not self.stop.is_set():
            r, _, _ = select.select(self.socks, [], [], 0.1)
            for s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    self.refused += 1
                s.close()
                self.socks.remove(s)
                try:
                    self.socks.append(self.connect())
                    self.reconnects += 1
                except OSError:
                    self.refused += 1

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def sc_ctl_load(h):
    a = h.args
    n = 100
    for peer in h.peers_for({OURS, "supervice-py"}):
        def body(inst):
            inst.start()
            if inst.wait_all(120) is None or not inst.wait_up(n, 60):
                return None
            inst.settle()
            argv = peer.status_argv(inst)
            env = h.ctl_env(inst)
            base = [round(timed_call(argv, env)[0], 3) for _ in range(min(50, a.load_calls))]
            clients = IdleClients(inst.sock, a.idle_conns)
            try:
                time.sleep(0.5)
                g = h.gate("ctl-load %s" % peer.name)
                lat, fails = [], 0
                # paced so that the series outlasts a 5 s read deadline: the daemon
                # drops and the harness reopens idle connections during the series
                pace = 6.0 / a.load_calls
                t_series = clock()
                for i in range(a.load_calls):
                    while clock() < t_series + i * pace:
                        time.sleep(0.001)
                    ms, rc, _ = timed_call(argv, env)
                    lat.append(round(ms, 3))
                    fails += rc != 0
                span = clock() - t_series
            finally:
                clients.close()
            return {"latency_ms": lat, "baseline_ms": base, "failures": fails, "conns": a.idle_conns,
                    "series_s": round(span, 2),
                    "reconnects": clients.reconnects, "refused": clients.refused, "gate": g}
        res = run_instance(h, peer, sleep_progs(n), "ctlload", body)
        if res is None:
            continue
        h.keep("ctl-load", peer.name, res)
        lat = res["latency_ms"]
        note("ctl-load %-12s %d calls with %d idle conns: p50 %.2f p90 %.2f p99 %.2f max %.2f ms "
             "(no conns: p50 %.2f ms); over %.1f s, %d failed, %d reconnects, %d refused" % (
                 peer.name, len(lat), res["conns"], med(lat), pct(lat, 90), pct(lat, 99), pct(lat, 100),
                 med(res["baseline_ms"]), res["series_s"], res["failures"], res["reconnects"], res["refused"]))
        lbl = "status with %d idle connections: " % a.idle_conns
        h.row("ctl-load", lbl + "median (ms)", peer.name, med(lat), "ms", "lower")
        h.row("ctl-load", lbl + "p99 (ms)", peer.name, pct(lat, 99), "ms", "lower")
        h.row("ctl-load", lbl + "failed calls", peer.name, res["failures"], "", "lower")


def sc_churn(h):
    a = h.args
    for peer in h.peers_for({OURS}):
        progs = sleep_progs(10) + [Prog("churn", ["sleep", str(SLEEP_BASE - 1)], startsecs=0, autostart=False)]

        def body(inst):
            inst.start()
            if inst.wait_all(60, keys=[p.key for p in progs[:10]]) is None:
                return None
            time.sleep(1.5)
            inst.settle()
            pid = inst.proc.pid
            env = h.ctl_env(inst)
            samples = [(0, fd_count(pid), mem_kib(pid)[0])]
            g = h.gate("churn %s" % peer.name)
            rt, fails = [], 0
            for i in range(1, a.churn_rounds + 1):
                t = clock()
                r1 = subprocess.run(peer.ctl(inst, "start", "churn"), env=env, capture_output=True)
                r2 = subprocess.run(peer.ctl(inst, "stop", "churn"), env=env, capture_output=True)
                rt.append(round((clock() - t) * 1000.0, 3))
                fails += (r1.returncode != 0) + (r2.returncode != 0)
                if (r1.returncode or r2.returncode) and fails <= 3:
                    note("churn round %d failed: %r / %r" % (i, r1.stdout[-200:], r2.stdout[-200:]))
                if i % max(1, a.churn_rounds // 10) == 0:
                    samples.append((i, fd_count(pid), mem_kib(pid)[0]))
            time.sleep(1.0)
            samples.append(("after", fd_count(pid), mem_kib(pid)[0]))
            return {"rounds": a.churn_rounds, "failures": fails, "roundtrip_ms": rt,
                    "samples": samples, "gate": g}
        res = run_instance(h, peer, progs, "churn", body)
        if res is None:
            continue
        h.keep("churn", peer.name, res)
        s = res["samples"]
        note("churn   %-13s %d start/stop rounds: fds %s -> %s, RSS %d -> %d KiB, round trip median %.1f ms, %d failed" % (
            peer.name, res["rounds"], s[0][1], s[-1][1], s[0][2], s[-1][2], med(res["roundtrip_ms"]), res["failures"]))
        lbl = "%d start+stop round trips: " % res["rounds"]
        h.row("churn", lbl + "daemon fds before -> after", peer.name, "%s -> %s" % (s[0][1], s[-1][1]), "", "")
        h.row("churn", lbl + "daemon RSS before -> after (KiB)", peer.name, "%d -> %d" % (s[0][2], s[-1][2]), "KiB", "")
        h.row("churn", lbl + "round trip median (ms)", peer.name, med(res["roundtrip_ms"]), "ms", "lower")
        h.row("churn", lbl + "failed commands", peer.name, res["failures"], "", "lower")


def sc_reload(h):
    a = h.args
    n = a.reload_n
    for peer in h.peers_for({OURS}):
        progs = sleep_progs(n)
        target = progs[n // 2]
        alt = ["sleep", str(SLEEP_BASE - 100000 + n // 2)]

        def body(inst):
            inst.start()
            if inst.wait_all(300) is None or not inst.wait_up(n, 60):
                return None
            inst.settle(cap=30)
            env = h.ctl_env(inst)
            lat, fails, outs = [], 0, []
            for i in range(a.reload_iters):
                # alternate one program's command; the daemon records the change
                # (it applies at that program's next restart, as in Supervice 0.4)
                target.argv = alt if i % 2 == 0 else ["sleep", str(SLEEP_BASE + n // 2)]
                peer.write_conf(inst)
                g = h.gate("reload %s #%d" % (peer.name, i + 1))
                ms, rc, out = timed_call(peer.ctl(inst, "reload"), env)
                lat.append(round(ms, 3))
                fails += rc != 0
                outs.append({"out": out.decode("utf-8", "replace")[-300:], "gate": g})
                inst.settle(cap=10)
            return {"n": n, "reply_ms": lat, "failures": fails, "outputs": outs}
        res = run_instance(h, peer, progs, "reload", body)
        if res is None:
            continue
        h.keep("reload", peer.name, res)
        note("reload  %-13s %d programs, one changed, %d reloads: reply median %.1f ms (all %s); %d failed; "
             "reply: %r" % (peer.name, n, len(res["reply_ms"]), med(res["reply_ms"]), res["reply_ms"],
                            res["failures"], res["outputs"][-1]["out"].strip()))
        lbl = "%d programs, 1 changed: " % n
        h.row("reload", lbl + "reply median (ms)", peer.name, med(res["reply_ms"]), "ms", "lower")
        h.row("reload", lbl + "failed reloads", peer.name, res["failures"], "", "lower")


LISTENER = r"""
import os, select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1024)
s.setblocking(False)
countfile = sys.argv[1]
with open(countfile + ".port", "w") as f:
    f.write(str(s.getsockname()[1]))
count, last = 0, 0.0
while True:
    r, _, _ = select.select([s], [], [], 0.1)
    while r:
        try:
            c, _ = s.accept()
        except BlockingIOError:
            break
        c.close()
        count += 1
    now = time.monotonic()
    if now - last >= 0.1:
        with open(countfile + ".tmp", "w") as f:
            f.write(str(count))
        os.rename(countfile + ".tmp", countfile)
        last = now
"""


def sc_health(h):
    a = h.args
    n = 100
    for peer in h.peers_for({OURS, "supervice-py"}):
        lis_dir = tempfile.mkdtemp(prefix="listener-", dir=h.workdir)
        countfile = os.path.join(lis_dir, "count")
        tok = h.reaper.new_token()
        lis = h.reaper.popen([sys.executable, "-c", LISTENER, countfile], tok)
        try:
            if not wait_files([countfile + ".port"], 10):
                note("health: listener did not start")
                return
            time.sleep(0.1)
            with open(countfile + ".port") as f:
                port = int(f.read())
            extra = {"healthcheck_type": "tcp", "healthcheck_host": "127.0.0.1", "healthcheck_port": port,
                     "healthcheck_interval": 1, "healthcheck_timeout": 1, "healthcheck_retries": 3,
                     "healthcheck_start_period": 1}
            progs = [Prog(p.name, p.argv, extra=extra) for p in sleep_progs(n)]

            def count():
                try:
                    with open(countfile) as f:
                        return int(f.read() or 0)
                except (OSError, ValueError):
                    return 0

            def body(inst):
                inst.start()
                if inst.wait_all(120) is None:
                    return None
                time.sleep(4.0)
                g = h.gate("health %s" % peer.name)
                c0 = count()
                fp = footprint(inst, a.health_window)
                c1 = count()
                rc, out = inst.status_text()
                # NAME STATE PID UPTIME HEALTH, HEALTH is OK / FAIL / -
                rows = [line.split() for line in out.splitlines()]
                healthy = sum(1 for f in rows if len(f) >= 4 and f[1] == "RUNNING" and f[-1] == "OK")
                fp.update({"checks": c1 - c0, "healthy": healthy, "gate": g, "port": port})
                return fp
            res = run_instance(h, peer, progs, "health", body)
        finally:
            h.reaper.terminate([lis.pid], 2.0)
            lis.wait()
            shutil.rmtree(lis_dir, ignore_errors=True)
        if res is None:
            continue
        h.keep("health", peer.name, res)
        cpu_pct = res["cpu_ms"] / 10.0 / res["window_s"]
        note("health  %-13s 100 tcp checks every 1 s, %.0f s: daemon CPU %.3f%% of a core, %.0f checks/s seen, "
             "%.1f wakeups/s, %d healthy" % (peer.name, res["window_s"], cpu_pct, res["checks"] / res["window_s"],
                                            res["vol_ctxsw"] / res["window_s"], res["healthy"]))
        lbl = "100 programs, tcp check every 1 s: "
        h.row("health", lbl + "daemon CPU (% of one core)", peer.name, cpu_pct, "%", "lower")
        h.row("health", lbl + "checks/s seen by the listener", peer.name, res["checks"] / res["window_s"], "/s", "")
        h.row("health", lbl + "programs shown healthy", peer.name, res["healthy"], "", "higher")


def sc_status_size(h):
    """`supervicectl status` of big tables: 10000 and 100000 instances (the most a
    configuration may hold), as 4 programs with numprocs and autostart=false, so
    nothing runs and the reply size alone is measured."""
    a = h.args
    for peer in h.peers_for({OURS}):
        for n in a.status_sizes:
            progs = [Prog("big%d" % i, ["/bin/true"], autostart=False,
                          extra={"numprocs": n // 4}) for i in range(4)]

            def body(inst):
                t0 = inst.start()
                argv = peer.status_argv(inst)
                env = h.ctl_env(inst)
                deadline = clock() + 120
                rows = 0
                while clock() < deadline:
                    ms, rc, out = timed_call(argv, env)
                    rows = out.count(b"\n") - 2
                    if rc == 0 and rows == n:
                        break
                    time.sleep(0.05)
                else:
                    note("status-size %s N=%d: status shows %d rows after 120 s" % (peer.name, n, rows))
                    return None
                res = {"n": n, "answers_all_s": round(clock() - t0, 3)}
                inst.settle(cap=30)
                g = h.gate("status-size %s N=%d" % (peer.name, n))
                lat, fails = [], 0
                for _ in range(a.status_size_calls):
                    ms, rc, out = timed_call(argv, env)
                    lat.append(round(ms, 3))
                    fails += rc != 0 or out.count(b"\n") - 2 != n
                json_ms, _, body_json = timed_call(peer.ctl(inst, "status", "--json"), env)
                res.update({"status_ms": lat, "failures": fails, "reply_bytes": len(body_json.strip()),
                            "status_json_ms": round(json_ms, 3), "gate": g})
                res["client_maxrss_kib"], res["maxrss_by"] = client_maxrss_kib(argv, env, 3)
                rss, _ = mem_kib(inst.proc.pid)
                res["daemon_rss_kib"] = rss
                return res
            res = run_instance(h, peer, progs, "status-size", body)
            if res is None:
                continue
            h.keep("status-size", peer.name, res)
            note("status-size %-13s N=%d: status median %.1f ms (p90 %.1f), reply %.1f MB, client max RSS "
                 "%.1f MiB, daemon RSS %.1f MiB, %d failed" % (
                     peer.name, n, med(res["status_ms"]), pct(res["status_ms"], 90), res["reply_bytes"] / 1e6,
                     res["client_maxrss_kib"] / 1024, res["daemon_rss_kib"] / 1024, res["failures"]))
            lbl = "%d instances: " % n
            h.row("status-size", lbl + "status median (ms)", peer.name, med(res["status_ms"]), "ms", "lower")
            h.row("status-size", lbl + "status client max RSS (MiB)", peer.name,
                  res["client_maxrss_kib"] / 1024, "MiB", "lower")
            h.row("status-size", lbl + "daemon RSS (MiB)", peer.name, res["daemon_rss_kib"] / 1024, "MiB", "lower")
            h.row("status-size", lbl + "launch -> status lists all (s)", peer.name, res["answers_all_s"], "s", "lower")

GET_ALL = (b"<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getAllProcessInfo"
           b"</methodName>\n<params>\n</params>\n</methodCall>\n")


class RawRpc:
    """A minimal HTTP/1.1 XML-RPC client on a unix socket, one persistent connection:
    what the daemon costs per call without any client's start-up."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)

    def call(self, body):
        head = ("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                "Content-Length: %d\r\n\r\n" % len(body)).encode()
        self.s.sendall(head + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        if length is None:
            raise OSError("no Content-Length")
        while len(rest) < length:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise OSError("connection closed")
            rest += chunk
        return head.split(b" ")[1], rest

    def close(self):
        self.s.close()


def rpc_socket(peer, inst):
    if peer.name == "supervisord":
        return os.path.join(inst.dir, "supervisord.sock")
    return inst.sock


def sc_xmlrpc(h):
    """supervisord's interface: getAllProcessInfo of 1000 processes over the unix socket
    (raw client, daemon-side latency), and the real supervisorctl's `status` of 100
    running programs against each server (the same Python client: the difference is
    the server)."""
    a = h.args
    n = 1000
    for peer in h.peers_for({OURS, "supervisord"}):
        def body(inst):
            inst.start()
            path = rpc_socket(peer, inst)
            deadline = clock() + 120
            rpc = None
            while clock() < deadline:
                try:
                    rpc = RawRpc(path)
                    status, reply = rpc.call(GET_ALL)
                    if status == b"200" and reply.count(b"<name>name</name>") >= n:
                        break
                    rpc.close()
                    rpc = None
                except OSError:
                    rpc = None
                time.sleep(0.2)
            if rpc is None:
                note("%s: getAllProcessInfo never listed %d processes" % (peer.name, n))
                return None
            inst.settle()
            g = h.gate("xmlrpc %s" % peer.name)
            lat = []
            for _ in range(a.ctl_calls):
                t = clock()
                status, reply = rpc.call(GET_ALL)
                lat.append(round((clock() - t) * 1000, 3))
                if status != b"200":
                    raise OSError("HTTP %s" % status)
            rpc.close()
            return {"latency_ms": lat, "reply_bytes": len(reply), "gate": g}
        progs = [Prog(p.name, p.argv, autostart=False) for p in sleep_progs(n)]
        res = run_instance(h, peer, progs, "xmlrpc", body)
        if res is None:
            continue
        h.keep("xmlrpc", peer.name, res)
        lat = res["latency_ms"]
        note("xmlrpc %-13s getAllProcessInfo x%d (%d processes, %d B): median %.2f ms, p90 %.2f ms" % (
            peer.name, len(lat), n, res["reply_bytes"], med(lat), pct(lat, 90)))
        h.row("xmlrpc", "getAllProcessInfo, 1000 processes: median (ms)", peer.name, med(lat), "ms", "lower")

    sctl = os.path.join(a.venv, "bin", "supervisorctl")
    for peer in h.peers_for({OURS, "supervisord"}):
        def body(inst):
            inst.start()
            if inst.wait_all(120) is None or not inst.wait_up(100, 60):
                return None
            inst.settle()
            argv = [sctl, "-s", "unix://" + rpc_socket(peer, inst), "status"]
            env = h.ctl_env(inst)
            g = h.gate("xmlrpc-ctl %s" % peer.name)
            lat, fails = [], 0
            for _ in range(a.ctl_calls):
                ms, rc, _ = timed_call(argv, env)
                lat.append(round(ms, 3))
                fails += rc != 0
            return {"latency_ms": lat, "failures": fails, "gate": g}
        res = run_instance(h, peer, sleep_progs(100), "xmlrpcctl", body)
        if res is None:
            continue
        h.keep("xmlrpc-ctl", peer.name, res)
        lat = res["latency_ms"]
        note("xmlrpc %-13s supervisorctl status x%d (100 programs): median %.1f ms, %d failed" % (
            peer.name, len(lat), med(lat), res["failures"]))
        h.row("xmlrpc", "supervisorctl status, 100 programs: median (ms)", peer.name, med(lat), "ms", "lower")

    # Idle in supervisord's dialect with both of its servers listening (unix and inet).
    for peer in h.peers_for({OURS, "supervisord"}):
        kind = SupervisordDialect if peer.name == OURS else Supervisord
        sd = kind(h, inet_port=loopback_port())
        runs = []
        for r in range(a.repeats):
            def body(inst):
                inst.start()
                if inst.wait_all(120) is None:
                    return None
                time.sleep(2.0)          # past startsecs=1: RUNNING
                inst.settle()
                time.sleep(a.idle_settle)
                g = h.gate("xmlrpc-idle %s" % peer.name)
                fp = footprint(inst, a.idle_window)
                fp["gate"] = g
                return fp
            fp = run_instance(h, sd, sleep_progs(100), "xmlrpcidle", body)
            if fp is None:
                continue
            h.keep("xmlrpc-idle", peer.name, fp)
            runs.append(fp)
            note("xmlrpc %-13s idle, unix + inet servers, 100 programs: %d wakeups in %.1f s, CPU %.2f ms" % (
                peer.name, fp["vol_ctxsw"], fp["window_s"], fp["cpu_ms"]))
        if runs:
            h.row("xmlrpc", "idle, unix + inet servers, 100 programs: wakeups (vol. ctxsw/s)", peer.name,
                  med([x["vol_ctxsw"] / x["window_s"] for x in runs]), "/s", "lower")


def sc_clients(h):
    """The clients: supervicectl (XML-RPC) against supervisorctl 4.3.0, each against
    supervisord and against our daemon reading the same supervisord file: `status` of 100
    running programs (wall time of the whole client, as `control` times it; client max
    RSS), and 69 sequential `start NAME` of startsecs=0 programs (SONiC's boot pattern,
    sonic-buildimage#4554), total wall time. Rows: ours = supervicectl, supervisord =
    supervisorctl; the server is in the metric's name."""
    a = h.args
    ours = os.path.join(a.bin_dir, "supervicectl")
    theirs = os.path.join(a.venv, "bin", "supervisorctl")
    for server in h.peers_for({OURS, "supervisord"}):
        sd = SupervisordDialect(h) if server.name == OURS else Supervisord(h)
        label = "supervice" if server.name == OURS else "supervisord"

        def clients(inst):
            url = "unix://" + os.path.join(inst.dir, "supervisord.sock")
            return [(OURS, [ours, "-s", url]), ("supervisord", [theirs, "-s", url])]

        def status_body(inst):
            inst.start()
            if inst.wait_all(120) is None or not inst.wait_up(100, 60):
                return None
            inst.settle()
            env = h.ctl_env(inst)
            res = {}
            g = h.gate("clients status %s" % label)
            for who, base in clients(inst):
                lat, fails = [], 0
                for _ in range(a.ctl_calls):
                    ms, rc, _ = timed_call(base + ["status"], env)
                    lat.append(round(ms, 3))
                    fails += rc != 0
                rss, _ = client_maxrss_kib(base + ["status"], env)
                res[who] = {"latency_ms": lat, "failures": fails, "maxrss_kib": rss}
            res["gate"] = g
            return res
        res = run_instance(h, sd, sleep_progs(100), "clients", status_body)
        if res is not None:
            h.keep("clients-status", label, res)
            for who in (OURS, "supervisord"):
                r = res[who]
                note("clients %-12s via %-13s status x%d (100 programs): median %.2f ms, max RSS %.1f MiB, %d failed" % (
                    label, who, len(r["latency_ms"]), med(r["latency_ms"]), r["maxrss_kib"] / 1024, r["failures"]))
                h.row("clients", "status, 100 programs, against %s: median (ms)" % label, who,
                      med(r["latency_ms"]), "ms", "lower")
                h.row("clients", "status client max RSS (MiB)" if label == "supervisord" else
                      "status client max RSS, against supervice (MiB)", who, r["maxrss_kib"] / 1024, "MiB", "lower")

        progs = [Prog("s%02d" % i, ["sleep", str(SLEEP_BASE + i)], startsecs=0, autostart=False)
                 for i in range(69)]

        def starts_body(inst):
            inst.start()
            env = h.ctl_env(inst)
            res = {}
            for who, base in clients(inst):
                deadline = clock() + 60
                while timed_call(base + ["status"], env)[1] not in (0, 3) and clock() < deadline:
                    time.sleep(0.2)
                g = h.gate("clients starts %s %s" % (label, who))
                t = clock()
                fails = 0
                for p in progs:
                    fails += timed_call(base + ["start", p.name], env)[1] != 0
                total = clock() - t
                timed_call(base + ["stop", "all"], env)
                res[who] = {"total_s": round(total, 3), "failures": fails, "gate": g}
            return res
        res = run_instance(h, sd, progs, "clientstarts", starts_body)
        if res is not None:
            h.keep("clients-starts", label, res)
            for who in (OURS, "supervisord"):
                r = res[who]
                note("clients %-12s via %-13s 69 sequential starts: %.2f s, %d failed" % (
                    label, who, r["total_s"], r["failures"]))
                h.row("clients", "69 sequential starts (startsecs=0), against %s: total (s)" % label, who,
                      r["total_s"], "s", "lower")


def sc_tailf(h):
    """`supervisorctl tail -f`'s stream (GET /logtail/NAME over the unix socket, chunked)
    of a child writing 100 MB/s of lines for 5 s: the share of the bytes the follower has
    within 1 s of their writing, and the daemon's CPU meanwhile (ours only)."""
    for peer in h.peers_for({OURS}):
        def body(inst):
            counter = os.path.join(inst.dir, "written")
            prog = Prog("tailed", producer_argv("paced", 100, 5, counter),
                        log=os.path.join(inst.dir, "tailed.log"), startsecs=0)
            inst.progs[:] = [prog]
            inst.want = {prog.key: prog}
            inst.start()
            path = inst.sock
            deadline = clock() + 60
            while not os.path.exists(counter) and clock() < deadline:
                time.sleep(0.01)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            s.sendall(b"GET /logtail/tailed HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = 0
            lags = []
            cpu0 = cpu_ms(inst.proc.pid)
            t0 = clock()
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(65536)
            got += len(head.partition(b"\r\n\r\n")[2])
            with open(counter) as f:
                w0 = int(f.read().split()[0])
            samples = []
            s.settimeout(0.2)
            cpu1 = None
            changed = clock()
            while clock() - t0 < 8:
                try:
                    data = s.recv(1 << 20)
                except socket.timeout:
                    data = b""
                got += len(data)
                try:
                    with open(counter) as f:
                        w, _ = f.read().split()
                    now = clock()
                    if not samples or samples[-1][1] != int(w):
                        changed = now
                    samples.append((now, int(w), got))
                    if cpu1 is None and int(w) > w0 and now - changed > 0.3:
                        # the writer stopped: the daemon's CPU over the writing
                        cpu1, t1 = cpu_ms(inst.proc.pid), changed
                except (OSError, ValueError):
                    pass
            if cpu1 is None:
                cpu1, t1 = cpu_ms(inst.proc.pid), clock()
            wall = t1 - t0
            s.close()
            with open(counter) as f:
                total = int(f.read().split()[0])
            # What the follower had 1 s after the writer's last byte, of what was written
            # after it connected (chunk framing counts in `got`: a few bytes per MiB).
            t_end = next((t for t, w, _ in samples if w >= total), None)
            within = max((g for t, _, g in samples if t_end is not None and t <= t_end + 1.0), default=0)
            return {"written": total - w0, "received": got, "within_1s": within, "cpu_ms": cpu1 - cpu0,
                    "wall_s": round(wall, 2), "samples": len(samples)}
        res = run_instance(h, peer, [], "tailf", body)
        if res is None:
            continue
        h.keep("tailf", peer.name, res)
        share = 100.0 * min(res["within_1s"], res["written"]) / max(1, res["written"])
        cores = res["cpu_ms"] / 1000.0 / max(0.001, res["wall_s"])
        note("tailf %-13s %d MB written, %d MB streamed (%.1f%% within 1 s), daemon CPU %.2f core over %.1f s" % (
            peer.name, res["written"] // MiB, res["received"] // MiB, share, cores, res["wall_s"]))
        h.row("tailf", "tail -f of 100 MB/s: bytes streamed within 1 s (%)", peer.name, share, "%", "higher")
        h.row("tailf", "tail -f of 100 MB/s: daemon CPU (cores)", peer.name, cores, "cores", "lower")


SCENARIO_FUNCS = {"startup": sc_startup, "idle": sc_idle, "respawn": sc_respawn, "log": sc_log,
                  "control": sc_control, "scale": sc_scale, "ctl-load": sc_ctl_load, "churn": sc_churn,
                  "reload": sc_reload, "health": sc_health, "status-size": sc_status_size,
                  "xmlrpc": sc_xmlrpc, "tailf": sc_tailf, "clients": sc_clients}


# ============================================================================
# targets and tables
# ============================================================================

def find_row(rows, scenario, prefix, peer=OURS):
    for r in rows:
        if r["scenario"] == scenario and r["metric"].startswith(prefix) and r["peer"] == peer:
            return r
    return None


def evaluate_targets(rows):
    """The project's targets for supervice-rs, checked against the rows."""
    def val(scenario, prefix, peer=OURS):
        r = find_row(rows, scenario, prefix, peer)
        return None if r is None or not isinstance(r["value"], (int, float)) else r["value"]

    def contains(scenario, text):
        for r in rows:
            if r["scenario"] == scenario and text in r["metric"] and r["peer"] == OURS:
                return r["value"] if isinstance(r["value"], (int, float)) else None
        return None

    out = []

    def t(label, measured, ok, shown):
        out.append({"target": label, "measured": shown if measured is not None else "not measured",
                    "result": "n/a" if measured is None else ("PASS" if ok else "MISS")})

    v = val("idle", "100 programs: wakeups")
    t("idle, 100 programs: 0 wakeups", v, v is not None and v == 0, "%.2f /s" % (v or 0))
    v = val("xmlrpc", "idle, unix + inet servers, 100 programs: wakeups")
    t("idle with both HTTP servers listening: 0 wakeups", v, v is not None and v == 0, "%.2f /s" % (v or 0))
    v = val("idle", "100 programs: RSS")
    t("idle, 100 programs: RSS <= 2 MiB", v, v is not None and v <= 2.0, "%.2f MiB" % (v or 0))
    v = contains("scale", "RSS (MiB)")
    n = next((r["metric"].split()[0] for r in rows if r["scenario"] == "scale"), "10000")
    t("%s programs: RSS <= 30 MiB" % n, v, v is not None and v <= 30.0, "%.2f MiB" % (v or 0))
    v = val("respawn", "kill -9 -> new child exec'd: median")
    t("respawn median <= 2 ms", v, v is not None and v <= 2.0, "%.2f ms" % (v or 0))
    v = val("startup", "N=1000:")
    t("startup 1000 <= 1 s", v, v is not None and v <= 1.0, "%.3f s" % (v or 0))
    v = val("startup", "N=10000:")
    t("startup 10000 <= 10 s", v, v is not None and v <= 10.0, "%.3f s" % (v or 0))
    ours = contains("log", "1 child: throughput")
    cat = None
    for r in rows:
        if r["scenario"] == "log" and "1 child: throughput" in r["metric"] and r["peer"] == "reference":
            cat = r["value"]
    ratio = ours / cat if ours and cat else None
    t("log capture >= 0.8x cat", ratio, ratio is not None and ratio >= 0.8,
      "%.2fx (%.0f vs %.0f MB/s)" % (ratio or 0, ours or 0, cat or 0))
    v = contains("log", "1 child: supervisor CPU")
    t("log capture <= 0.1 CPU-s/GiB", v, v is not None and v <= 0.1, "%.3f s/GiB" % (v or 0))
    v = val("control", "status, 100 programs: median")
    t("status, 100 programs: median <= 2 ms", v, v is not None and v <= 2.0, "%.2f ms" % (v or 0))
    v = val("control", "status client max RSS")
    t("status client max RSS <= 2 MiB", v, v is not None and v <= 2.0, "%.2f MiB" % (v or 0))
    v = contains("ctl-load", "p99")
    t("status p99 <= 10 ms with 100 idle connections", v, v is not None and v <= 10.0, "%.2f ms" % (v or 0))
    v = contains("reload", "reply median")
    n = next((r["metric"].split()[0] for r in rows if r["scenario"] == "reload"), "1000")
    t("reload of %s, one changed: <= 100 ms" % n, v, v is not None and v <= 100.0, "%.1f ms" % (v or 0))
    v = contains("health", "daemon CPU")
    t("100 tcp checks/s: <= 1 % CPU", v, v is not None and v <= 1.0, "%.3f %%" % (v or 0))
    return out


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v == INF:
        return "timeout"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1):
        return "%d" % v
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a == 0:
        return "0"
    return "%.3f" % v


def build_table(rows):
    """(header, lines): one line per (scenario, metric); a peer's cell holds
    its median and, for the other peers, (ours/theirs)."""
    peers = [p for p in PEER_ORDER if any(r["peer"] == p for r in rows)]
    order, cells = [], {}
    for r in rows:
        k = (r["scenario"], r["metric"])
        if k not in cells:
            order.append(k)
            cells[k] = {"better": r["better"]}
        cells[k][r["peer"]] = r["value"]
    header = ["scenario", "metric", "better"] + peers
    lines = []
    for k in order:
        c = cells[k]
        ours = c.get(OURS)
        line = [k[0], k[1], c["better"] or ""]
        for p in peers:
            v = c.get(p)
            s = fmt(v) if p in c else ""
            if (p != OURS and isinstance(v, (int, float)) and isinstance(ours, (int, float))
                    and v not in (0, INF) and c["better"] in ("lower", "higher")):
                s += " (%s)" % fmt(ours / v)
            line.append(s)
        lines.append(line)
    return header, lines


def print_text_table(rows, out=sys.stdout):
    header, lines = build_table(rows)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out.write("\n(x) in a peer's cell = supervice-rs / that peer; 'better' says which direction wins\n")
    out.write("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for line in lines:
        out.write("  ".join(str(x).ljust(w) for x, w in zip(line, widths)) + "\n")


def markdown(doc):
    rows = doc["rows"]
    header, lines = build_table(rows)
    out = []
    m = doc.get("machine", {})
    gates = doc.get("gates", [])
    out.append("Measured %s on %s CPUs (%s), kernel %s, %s GiB; load average at start %s." % (
        doc.get("started", "?"), m.get("cpus"), m.get("cpu_model"), m.get("kernel"), m.get("mem_gib"),
        m.get("loadavg_start")))
    if gates:
        busy = [g["busy_pct"] for g in gates]
        out.append("Quiet gate before each measured run: %d gates, machine busy median %.1f %%, max %.1f %%, "
                   "%d noisy (gate timed out)." % (len(gates), statistics.median(busy), max(busy),
                                                   sum(1 for g in gates if g.get("noisy"))))
    if doc.get("skipped"):
        out.append("Skipped peers: " + "; ".join("%s (%s)" % kv for kv in doc["skipped"].items()) + ".")
    out.append("")
    out.append("Medians. In a peer's cell, (x) = supervice-rs / that peer: below 1 is better for "
               "`lower` rows, above 1 for `higher` rows.")
    out.append("")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
    for line in lines:
        out.append("| " + " | ".join(str(x) for x in line) + " |")
    tg = doc.get("targets") or evaluate_targets(rows)
    if tg:
        out.append("")
        out.append("| target (supervice-rs) | measured | result |")
        out.append("|---|---:|---|")
        for t in tg:
            out.append("| %s | %s | %s |" % (t["target"], t["measured"], t["result"]))
    if doc.get("versions"):
        out.append("")
        out.append("Versions: " + "; ".join("%s: %s" % kv for kv in doc["versions"].items()) + ".")
    return "\n".join(out) + "\n"


def summarize(args):
    """Markdown from the latest results, or from the files given: with several,
    a scenario measured in a later file replaces that scenario from earlier ones."""
    paths = args.summarize
    if not paths:
        files = sorted(glob.glob(os.path.join(args.results_dir, "bench-*.json")), key=os.path.getmtime)
        if not files:
            sys.exit("no results in %s" % args.results_dir)
        paths = files[-1:]
    doc = None
    for path in paths:
        with open(path) as f:
            d = json.load(f)
        if doc is None:
            doc = d
            continue
        redone = {r["scenario"] for r in d["rows"]}
        doc["rows"] = [r for r in doc["rows"] if r["scenario"] not in redone] + d["rows"]
        doc["gates"] = [g for g in doc.get("gates", []) if g["what"].split()[0] not in redone] + d.get("gates", [])
        doc["skipped"] = dict(doc.get("skipped", {}), **d.get("skipped", {}))
        doc["started"] = "%s and %s" % (doc["started"], d["started"])
    order = {s: i for i, s in enumerate(SCENARIOS)}
    doc["rows"].sort(key=lambda r: order.get(r["scenario"], 99))  # stable: keeps metric order
    doc["targets"] = evaluate_targets(doc["rows"])
    sys.stdout.write("<!-- %s -->\n" % " + ".join(paths))
    sys.stdout.write(markdown(doc))


# ============================================================================
# main
# ============================================================================

def parse_args(argv):
    default_venv = os.path.join(os.environ.get("BENCH_PEERS_DIR", "/tmp/supervice-bench-peers"), "venv")
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    ap = argparse.ArgumentParser(description="supervice benchmark suite (see contrib/bench/README.md)")
    ap.add_argument("--only", action="append", choices=SCENARIOS, help="scenario to run (repeatable; default all)")
    ap.add_argument("--peer", action="append", help="peer to run (repeatable; default all available): "
                    + ", ".join(PEER_ORDER))
    ap.add_argument("--quick", action="store_true", help="smaller sizes, 1 repeat: a smoke run")
    ap.add_argument("--repeats", type=int, help="runs per measurement (default 3; --quick 1)")
    ap.add_argument("--workdir", help="where configs, sockets and logs go (default: a new dir in /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the per-run directories")
    ap.add_argument("--results-dir", default=os.environ.get("BENCH_RESULTS_DIR", "/tmp/supervice-bench-results"))
    ap.add_argument("--bin-dir", default=os.path.join(target, "release"), help="where supervice and supervicectl are")
    ap.add_argument("--venv", default=default_venv, help="venv with supervisor 4.3.0 and supervice 0.4.2")
    ap.add_argument("--summarize", nargs="*", metavar="JSON",
                    help="print markdown tables from the JSON file(s) (default: the latest in --results-dir) "
                         "and exit; with several, a later file's scenarios replace the earlier ones'")
    ap.add_argument("--quiet-threshold", type=float, default=15.0, help="machine busy %% that counts as quiet")
    ap.add_argument("--quiet-max-wait", type=float, default=10.0, help="seconds to wait for a quiet window")
    ap.add_argument("--stop-timeout", type=float, default=20.0, help="seconds before a supervisor gets SIGKILL")
    ap.add_argument("--startup-sizes", help="comma-separated N for every peer (default 10,100,1000)")
    ap.add_argument("--startup-sizes-ours", help="extra N for supervice-rs only (default 10000)")
    ap.add_argument("--log-mib", type=int, help="bulk log size in MiB (default 1024)")
    ap.add_argument("--no-log-warmup", dest="log_warmup", action="store_false")
    ap.add_argument("--producer", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    q = a.quick
    a.repeats = a.repeats or (1 if q else 3)
    if a.startup_sizes is None:
        a.startup_sizes = "10,100" if q else "10,100,1000"
    if a.startup_sizes_ours is None:
        a.startup_sizes_ours = "1000" if q else "10000"
    a.startup_sizes = [int(x) for x in a.startup_sizes.split(",") if x]
    a.startup_sizes_ours = [int(x) for x in a.startup_sizes_ours.split(",") if x]
    a.idle_window = 3.0 if q else 10.0
    a.idle_settle = 1.0 if q else 3.0
    a.kills = 10 if q else 30
    a.min_age = 1.5
    a.log_bytes = (a.log_mib or (256 if q else 1024)) * MiB
    a.multi_lines = (1 if q else 8) * MiB // MLINE
    a.ctl_calls = 20 if q else 50
    a.scale_n = 2000 if q else 10000
    a.scale_calls = 10 if q else 20
    a.idle_conns = 100
    a.load_calls = 100 if q else 200
    a.churn_rounds = 100 if q else 1000
    a.reload_n = 200 if q else 1000
    a.reload_iters = 3 if q else 5
    a.health_window = 5.0 if q else 20.0
    a.status_sizes = [10000, 100000]
    a.status_size_calls = 5 if q else 10
    return a


def main(argv):
    if argv[:1] == ["--producer"]:
        return producer_main(argv[1:])
    args = parse_args(argv)
    if args.summarize is not None:
        summarize(args)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    own_workdir = args.workdir is None
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="supervice-bench-"))
    os.makedirs(args.workdir, exist_ok=True)
    h = Harness(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    status = 0
    try:
        h.select_peers()
        if not h.peers:
            sys.exit("no peer available")
        if OURS not in [p.name for p in h.peers] and (not args.peer or OURS in args.peer):
            note("!!! our own binaries are missing: run `cargo build --release` (or contrib/bench/run.sh)")
        h.describe_machine()
        note("run %s: peers %s; results -> %s" % (h.reaper.run_id, ", ".join(p.name for p in h.peers),
                                                   h.result_path))
        for sc in args.only or SCENARIOS:
            t = clock()
            note("=== %s" % sc)
            try:
                SCENARIO_FUNCS[sc](h)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
                import traceback
                traceback.print_exc()
                h.notes.append("%s failed: %r" % (sc, e))
                note("!!! scenario %s failed: %r" % (sc, e))
                status = 1
            h.notes.append("%s took %.0f s" % (sc, clock() - t))
            h.machine["loadavg_end"] = loadavg()
            h.save()
    except KeyboardInterrupt as e:
        note("interrupted (%s): cleaning up" % (e or "Ctrl-C"))
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        left = h.reaper.cleanup_all()
        if left:
            status = status or 1
        if own_workdir and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if h.rows:
        h.machine["loadavg_end"] = loadavg()
        h.save()
        print_text_table(h.rows)
        print()
        for t in evaluate_targets(h.rows):
            if t["result"] != "n/a":
                print("target %-48s %-28s %s" % (t["target"], t["measured"], t["result"]))
        gates = h.gates
        if gates:
            busy = [g["busy_pct"] for g in gates]
            print("\nmachine: %d quiet gates, busy median %.1f%% max %.1f%%, %d noisy; loadavg %s -> %s" % (
                len(gates), statistics.median(busy), max(busy), sum(1 for g in gates if g["noisy"]),
                h.machine["loadavg_start"], h.machine.get("loadavg_end")))
        print("results: %s" % h.result_path)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
