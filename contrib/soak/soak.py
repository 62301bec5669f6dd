#!/usr/bin/env python3
"""supervice soak test: a release daemon with 200 programs of mixed kinds, driven
with random operations for a long time, then checked for drift.

Python 3 standard library only, Linux only (/proc).  Not run in CI.

    python3 contrib/soak/soak.py                 # 30 minutes
    python3 contrib/soak/soak.py --minutes 5     # a quick pass
    python3 contrib/soak/soak.py --help

It builds the release binaries (cargo build --release; --no-build skips that),
writes two config variants into a fresh work directory and starts
`supervice -n`.  Until the time is up, worker threads perform random starts,
stops, restarts, group starts and stops, kill -9 of children, reloads
(alternating the two variants) and status calls; RSS, fds and CPU time of the
daemon are sampled every minute.  At the end it settles and checks:

  * every instance is consistent: no STOPPING left; RUNNING (and STARTING,
    UNHEALTHY) instances have a live pid whose parent is the daemon; down
    instances (STOPPED, EXITED, FATAL, BACKOFF) have no pid;
  * no zombie children of the daemon;
  * the daemon's fds: back near the starting value with the starting config
    and programs running, and no per-child fd left once everything is stopped;
  * RSS flat (first, last and max of the samples);
  * every request got a reply (none timed out), status still answers;
  * a clean shutdown (exit 0) with nothing left running: every process that
    carries this run's token in its environment is gone.

Everything the run starts carries SUPERVICE_SOAK_TOKEN=<uuid> in its
environment.  On the end, on Ctrl-C, SIGTERM, SIGHUP or an error, the daemon
gets SIGTERM (then SIGKILL) and every process still carrying the token is
SIGKILLed; nothing is signalled by name.  The work directory is removed unless
--keep is given or the run failed.

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage or
setup error.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOKEN_VAR = "SUPERVICE_SOAK_TOKEN"
DOWN = {"STOPPED", "EXITED", "FATAL", "BACKOFF"}
UP = {"STARTING", "RUNNING", "UNHEALTHY", "STOPPING"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(time.strftime("%H:%M:%S ") + message, flush=True)


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


# --- /proc -------------------------------------------------------------------


def stat(pid):
    """(state, ppid, utime+stime seconds) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    return rest[0], int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def fd_kinds(pid):
    """Open fds of pid by kind: {'pipe': n, 'socket': n, 'file': n, ...}."""
    kinds = {}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            kind = target.split(":")[0] if ":" in target and not target.startswith("/") else "file"
            kinds[kind] = kinds.get(kind, 0) + 1
    except OSError:
        pass
    return kinds


def quiet_fd_count(pid, seconds=3.0):
    """The lowest fd count over a few seconds: health checks in flight hold fds for a
    moment, and this looks past them."""
    lowest = fd_count(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
        lowest = min(lowest, fd_count(pid))
    return lowest


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(pid):
    """Live and zombie children of pid: {child: state}."""
    found = {}
    for p in all_pids():
        s = stat(p)
        if s and s[1] == pid:
            found[p] = s[0]
    return found


def has_token(pid, token):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"{TOKEN_VAR}={token}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def carrying(token):
    """Live processes whose environment holds TOKEN_VAR=token."""
    needle = f"{TOKEN_VAR}={token}".encode()
    me = os.getpid()
    found = []
    for p in all_pids():
        if p == me:
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        s = stat(p)
        if needle in env and s and s[0] not in "ZX":
            found.append(p)
    return found


# --- the control socket ---------------------------------------------------------


class NoReply(Exception):
    pass


def rpc(sock_path, request, timeout=60.0):
    """One request, one reply (a dict).  NoReply when it does not come in time."""
    body = json.dumps(request).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            s.sendall(struct.pack(">I", len(body)) + body)
        except BrokenPipeError:
            pass  # a refusal may close before reading; its reply is still there
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise NoReply(f"{request}: connection closed after {len(data)} bytes")
            data += chunk
        return json.loads(data[4:])
    except socket.timeout:
        raise NoReply(f"{request}: no reply within {timeout}s")
    except OSError as e:
        raise NoReply(f"{request}: {e}")
    finally:
        s.close()


# --- configs -------------------------------------------------------------------


def program_specs(n_programs, variant, tcp_port, closed_port):
    """[(name, {key: value})] for one variant.  Variant 1 drops the last tenth of the
    programs, adds as many new ones, changes the environment of the first ten and the
    numprocs of a few."""
    specs = []
    removed = set(range(n_programs - n_programs // 10, n_programs)) if variant else set()
    indices = [i for i in range(n_programs) if i not in removed]
    if variant:
        indices += list(range(n_programs, n_programs + n_programs // 10))
    for i in indices:
        kind = i * 10 // n_programs if i < n_programs else 0
        name = f"p{i:03d}"
        keys = {"startsecs": "1", "stopwaitsecs": "3"}
        if kind in (0, 1, 2):
            # Long runners; some trap TERM (SIGKILL after stopwaitsecs), some leave
            # a grandchild in their group (it lingers when the main one is killed).
            if i % 13 == 0:
                keys["command"] = "sh -c 'trap \"\" TERM; while :; do sleep 1; done'"
                keys["stopwaitsecs"] = "2"
            elif i % 11 == 0:
                keys["command"] = "sh -c 'sleep 86400 & exec sleep 86400'"
            else:
                keys["command"] = "sleep 86400"
            if i % 10 == 0:
                keys["numprocs"] = "3" if variant and i % 20 == 0 else "2"
            if i % 7 == 0:
                keys["stopsignal"] = "INT"
        elif kind in (3, 4):
            # Chatty, with logs rotated small.
            keys["command"] = "sh -c 'n=0; while :; do n=$((n+1)); echo \"tick $n\"; " \
                "echo \"err $n\" >&2; sleep 0.2; done'"
            keys["stdout_logfile"] = f"logs/{name}.out"
            keys["stdout_logfile_maxbytes"] = "16384"
            keys["stdout_logfile_backups"] = "2"
            if i % 2:
                keys["stderr_logfile"] = f"logs/{name}.err"
                keys["stderr_logfile_maxbytes"] = "8192"
                keys["stderr_logfile_backups"] = "1"
        elif kind == 5:
            # Short crashers: FATAL after their retries (until a start revives them).
            keys["command"] = "sh -c 'sleep 0.2; exit 1'"
            keys["startretries"] = "2"
        elif kind == 6:
            # Flappers: run 3 s, exit, restarted forever.
            keys["command"] = "sh -c 'sleep 3; exit 2'"
        elif kind == 7:
            keys["command"] = "sleep 86400"
            keys["healthcheck_type"] = "tcp"
            keys["healthcheck_port"] = str(closed_port if i % 5 == 0 else tcp_port)
            keys.update(healthcheck_interval="2", healthcheck_timeout="1",
                        healthcheck_retries="2", healthcheck_start_period="1")
        else:
            keys["command"] = "sleep 86400"
            keys["healthcheck_type"] = "script"
            keys["healthcheck_command"] = "exit 1" if i % 5 == 0 else "test -d /proc/self"
            keys.update(healthcheck_interval="2", healthcheck_timeout="2",
                        healthcheck_retries="2", healthcheck_start_period="1")
        if i % 17 == 0:
            keys["autostart"] = "false"
        if variant and i < 10:
            keys["environment"] = "VARIANT=b"
        specs.append((name, keys, kind))
    return specs


def write_config(path, workdir, specs, loglevel="INFO"):
    lines = [
        "[supervice]",
        f"logfile = {workdir}/supervice.log",
        "log_maxbytes = 5242880",
        "log_backups = 3",
        f"pidfile = {workdir}/supervice.pid",
        f"socket = {workdir}/supervice.sock",
        f"loglevel = {loglevel}",
        "shutdown_timeout = 20",
        "",
    ]
    groups = {}
    for name, keys, kind in specs:
        lines.append(f"[program:{name}]")
        lines += [f"{k} = {v}" for k, v in keys.items()]
        lines.append("")
        groups.setdefault(f"kind{kind}", []).append(name)
    for group, names in sorted(groups.items()):
        lines += [f"[group:{group}]", "programs = " + ", ".join(names), ""]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)
    return sorted(groups)


# --- the run -------------------------------------------------------------------


class Soak:
    def __init__(self, args):
        self.args = args
        self.token = uuid.uuid4().hex
        self.workdir = args.workdir or tempfile.mkdtemp(prefix="supervice-soak-")
        os.makedirs(os.path.join(self.workdir, "logs"), exist_ok=True)
        self.sock = os.path.join(self.workdir, "supervice.sock")
        self.config = os.path.join(self.workdir, "supervice.conf")
        self.daemon = None
        self.stop_ops = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.no_reply = []
        self.latency = {}
        self.samples = []
        self.failures = []
        self.rng = random.Random(args.seed)
        self.variant = 0
        self.listener = None
        self.instance_names = []
        self.slow_status = []
        self.slow_ops = []
        self.events = []
        self.t0 = time.monotonic()

    # bookkeeping

    def count(self, what, took=None):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if took is not None:
                self.latency.setdefault(what, []).append(took)

    def fail(self, message):
        log("FAIL: " + message)
        self.failures.append(message)

    def request(self, what, req, timeout=60.0):
        start = time.monotonic()
        try:
            reply = rpc(self.sock, req, timeout)
        except NoReply as e:
            with self.lock:
                self.no_reply.append(str(e))
            log(f"no reply: {e}")
            return None
        took = time.monotonic() - start
        self.count(what, took)
        if what == "status" and took > 0.2:
            with self.lock:
                self.slow_status.append((round(start - self.t0, 1), round(1000 * took)))
        if what != "status" and took > 4.5 and len(self.slow_ops) < 50:
            with self.lock:
                self.slow_ops.append(f"t={start - self.t0:.1f}s {took:.1f}s {req} -> {reply}")
        return reply

    def status(self):
        reply = self.request("status", {"command": "status"}, timeout=30)
        if not reply or reply.get("status") != "ok":
            return None
        return reply["processes"]

    # setup

    def start_listener(self):
        """A TCP port the healthy tcp checks connect to, and one nobody listens on."""
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        port = self.listener.getsockname()[1]

        def accept_forever():
            while True:
                try:
                    conn, _ = self.listener.accept()
                    conn.close()
                except OSError:
                    return

        threading.Thread(target=accept_forever, daemon=True).start()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
        probe.close()
        return port, closed

    def write_variant(self, variant):
        self.variant = variant
        specs = program_specs(self.args.programs, variant, self.tcp_port, self.closed_port)
        self.groups = write_config(self.config, self.workdir, specs, self.args.loglevel)
        self.names = sorted(n for n, _, _ in specs)

    def start_daemon(self):
        binary = os.path.join(self.args.bin_dir, "supervice")
        env = dict(os.environ, **{TOKEN_VAR: self.token})
        out = open(os.path.join(self.workdir, "daemon.out"), "w")
        self.daemon = subprocess.Popen(
            [binary, "-c", self.config, "-n"], cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited at start ({self.daemon.returncode}); "
                                   f"see {self.workdir}/daemon.out")
            try:
                rpc(self.sock, {"command": "status"}, timeout=2)
                return
            except NoReply:
                time.sleep(0.1)
        raise RuntimeError("the daemon did not answer within 15 s")

    def sample(self, label=""):
        pid = self.daemon.pid
        s = stat(pid)
        row = {
            "t": round(time.monotonic() - self.t0, 1),
            "rss_kib": rss_kib(pid),
            "fds": fd_count(pid),
            "cpu_s": round(s[2], 2) if s else -1,
            "children": len(children(pid)),
        }
        self.samples.append(row)
        log(f"sample{label}: t={row['t']}s rss={row['rss_kib']} KiB fds={row['fds']} "
            f"cpu={row['cpu_s']}s children={row['children']} requests={sum(self.counts.values())}")
        return row

    # the random operations

    def worker(self, seed):
        rng = random.Random(seed)
        ops = [("status", 30), ("start", 14), ("stop", 14), ("restart", 10),
               ("kill9", 12), ("startgroup", 3), ("stopgroup", 3), ("restart_force", 2)]
        names = [o for o, w in ops for _ in range(w)]
        while not self.stop_ops.is_set():
            op = rng.choice(names)
            name = rng.choice(self.instance_names or ["none"])
            if op == "status":
                self.status()
            elif op in ("start", "stop", "restart"):
                self.request(op, {"command": op, "name": name})
            elif op == "restart_force":
                self.request(op, {"command": "restart", "name": name, "force": True})
            elif op in ("startgroup", "stopgroup"):
                self.request(op, {"command": op, "name": rng.choice(self.groups)})
            elif op == "kill9":
                self.kill_a_child(rng)
            time.sleep(rng.uniform(0, self.args.pause))

    def kill_a_child(self, rng):
        procs = self.status() or []
        running = [p for p in procs if p.get("pid") and p["state"] in ("RUNNING", "UNHEALTHY")]
        if not running:
            return
        pid = rng.choice(running)["pid"]
        s = stat(pid)
        # Only our daemon's child, never a recycled pid.
        if s and s[1] == self.daemon.pid and has_token(pid, self.token):
            try:
                os.kill(pid, signal.SIGKILL)
                self.count("kill9")
            except ProcessLookupError:
                pass

    def refresh_names(self):
        procs = self.status()
        if procs is not None:
            self.instance_names = [p["name"] for p in procs]

    def run_ops(self, seconds):
        self.refresh_names()
        threads = [threading.Thread(target=self.worker, args=(self.args.seed * 100 + n,),
                                    daemon=True) for n in range(self.args.workers)]
        for t in threads:
            t.start()
        end = time.monotonic() + seconds
        next_sample = time.monotonic() + self.args.sample_secs
        next_reload = time.monotonic() + self.rng.uniform(5, 2 * self.args.reload_secs)
        while time.monotonic() < end:
            if self.daemon.poll() is not None:
                self.fail(f"the daemon exited during the run ({self.daemon.returncode})")
                break
            now = time.monotonic()
            if now >= next_reload:
                self.write_variant(1 - self.variant)
                self.events.append((round(now - self.t0, 1), f"reload to variant {self.variant}"))
                reply = self.request("reload", {"command": "reload"}, timeout=30)
                if not reply or reply.get("status") != "ok":
                    self.fail(f"reload: {reply}")
                self.refresh_names()
                next_reload = now + self.rng.uniform(5, 2 * self.args.reload_secs)
            if now >= next_sample:
                self.sample()
                next_sample = now + self.args.sample_secs
            time.sleep(0.2)
        self.stop_ops.set()
        for t in threads:
            t.join(timeout=120)

    # the checks

    def settle(self, timeout=60):
        """Waits until nothing is STOPPING; returns the last status."""
        deadline = time.monotonic() + timeout
        procs = None
        while time.monotonic() < deadline:
            procs = self.status()
            if procs is not None and not any(p["state"] == "STOPPING" for p in procs):
                return procs
            time.sleep(0.5)
        stuck = [p["name"] for p in procs or [] if p["state"] == "STOPPING"]
        self.fail(f"still STOPPING after {timeout}s: {stuck}")
        return procs

    def inconsistencies(self):
        procs = self.status()
        if procs is None:
            return {"status": "no status reply"}
        found = {}
        names = [p["name"] for p in procs]
        if len(names) != len(set(names)):
            found["duplicates"] = "instances listed twice"
        if sorted(names) != sorted(self.expected_instances()):
            found["names"] = "instances differ from the config"
        for p in procs:
            state, pid = p["state"], p.get("pid")
            if state in DOWN and pid is not None:
                found[p["name"]] = f"{state} with pid {pid}"
            elif state in UP:
                s = stat(pid) if pid else None
                if not s or s[0] in "ZX" or s[1] != self.daemon.pid:
                    found[p["name"]] = f"{state} pid {pid}: {s}"
        return found

    def expected_instances(self):
        specs = program_specs(self.args.programs, self.variant, self.tcp_port, self.closed_port)
        names = []
        for name, keys, _ in specs:
            n = int(keys.get("numprocs", "1"))
            names += [name] if n == 1 else [f"{name}:{k:02d}" for k in range(n)]
        return names

    def check_consistency(self):
        """Only what stays wrong over five looks counts (a flapper's instant is fine)."""
        persistent = None
        for _ in range(5):
            found = self.inconsistencies()
            persistent = found if persistent is None else {
                k: v for k, v in found.items() if k in persistent}
            if not persistent:
                return
            time.sleep(1)
        for name, what in sorted(persistent.items()):
            self.fail(f"inconsistent: {name}: {what}")

    def check_zombies(self):
        zombies = None
        for _ in range(5):
            now = {p for p, s in children(self.daemon.pid).items() if s == "Z"}
            zombies = now if zombies is None else zombies & now
            if not zombies:
                return
            time.sleep(0.5)
        self.fail(f"zombie children of the daemon: {sorted(zombies)}")

    def start_all(self, names, parallel=16):
        """Starts `names`, `parallel` requests at a time (each waits for RUNNING)."""
        queue = list(names)
        lock = threading.Lock()

        def starter():
            while True:
                with lock:
                    if not queue:
                        return
                    name = queue.pop()
                self.request("start", {"command": "start", "name": name}, timeout=60)

        threads = [threading.Thread(target=starter, daemon=True) for _ in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def stop_all(self):
        for group in self.groups:
            self.request("stopgroup", {"command": "stopgroup", "name": group}, timeout=120)

    def final_checks(self, baseline_fds, baseline_running):
        log("settling")
        self.settle()
        self.check_consistency()
        self.check_zombies()

        # fds: back to the starting config with the same programs running.
        if self.variant != 0:
            self.write_variant(0)
            reply = self.request("reload", {"command": "reload"}, timeout=30)
            if not reply or reply.get("status") != "ok":
                self.fail(f"final reload: {reply}")
        self.stop_all()
        self.settle()
        fds_stopped = quiet_fd_count(self.daemon.pid)
        self.start_all(baseline_running)
        time.sleep(5)
        self.settle()
        fds_restarted = quiet_fd_count(self.daemon.pid)
        log(f"fds by kind now: {fd_kinds(self.daemon.pid)}; at the start: {self.baseline_kinds}")
        slack = max(10, baseline_fds // 10)
        log(f"fds: {baseline_fds} at the start, {fds_restarted} with the same programs "
            f"running, {fds_stopped} with everything stopped (the first sample had "
            f"{self.samples[0]['fds']})")
        if abs(fds_restarted - baseline_fds) > slack:
            self.fail(f"fds {fds_restarted} with the starting programs running, "
                      f"{baseline_fds} at the start")
        self.fds = (baseline_fds, fds_restarted, fds_stopped)
        self.check_consistency()
        self.check_zombies()

        rss = [s["rss_kib"] for s in self.samples]
        self.rss = (rss[0], rss[-1], max(rss))
        log(f"RSS KiB: first {rss[0]}, last {rss[-1]}, max {max(rss)}")
        if rss[-1] > rss[0] * 1.5 + 4096:
            self.fail(f"RSS grew from {rss[0]} to {rss[-1]} KiB")

        start = time.monotonic()
        if self.status() is None:
            self.fail("status did not answer at the end")
        log(f"final status answered in {1000 * (time.monotonic() - start):.1f} ms")

    def shutdown(self):
        log("shutdown (SIGTERM)")
        start = time.monotonic()
        self.daemon.send_signal(signal.SIGTERM)
        try:
            code = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("the daemon did not exit within 60 s of SIGTERM")
            return
        took = time.monotonic() - start
        log(f"daemon exited {code} after {took:.1f} s")
        if code != 0:
            self.fail(f"the daemon exited {code}")
        # Every program stops within stopwaitsecs (at most 3 s) and its SIGKILL.
        if took > 8:
            self.fail(f"shutdown took {took:.1f} s; every stopwaitsecs is at most 3 s")
        time.sleep(0.5)
        left = carrying(self.token)
        if left:
            details = [f"{p} ({open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ').strip()})"
                       for p in left if os.path.exists(f"/proc/{p}")]
            self.fail(f"{len(left)} process(es) left after shutdown: {details[:10]}")

    def log_findings(self):
        text = ""
        for name in ["supervice.log.3", "supervice.log.2", "supervice.log.1", "supervice.log"]:
            try:
                with open(os.path.join(self.workdir, name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        lines = text.splitlines()
        levels = {}
        for line in lines:
            parts = line.split()
            if len(parts) > 2:
                levels[parts[2]] = levels.get(parts[2], 0) + 1
        escaped = sum("left its program's process group" in line for line in lines)
        log(f"daemon log (kept part): {len(lines)} lines, by level {levels}, "
            f"'left its program's process group': {escaped}")
        for line in lines:
            if " CRITICAL " in line or "panicked" in line:
                self.fail("daemon log: " + line)

    def report(self):
        log("requests: " + ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())))
        for what, values in sorted(self.latency.items()):
            values.sort()
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            log(f"latency {what}: n={len(values)} median={1000 * values[len(values) // 2]:.1f} ms "
                f"p99={1000 * p99:.1f} ms max={1000 * values[-1]:.1f} ms")
        if self.slow_status:
            log(f"status slower than 200 ms (t s, ms): {self.slow_status[:20]}; "
                f"reloads at: {[t for t, _ in self.events][:20]}")
        for line in self.slow_ops[:20]:
            log("slow reply: " + line)
        if self.no_reply:
            self.fail(f"{len(self.no_reply)} request(s) without a reply: {self.no_reply[:5]}")

    def run(self):
        self.tcp_port, self.closed_port = self.start_listener()
        self.write_variant(0)
        log(f"work dir {self.workdir}, token {self.token}, {len(self.names)} programs")
        self.t0 = time.monotonic()
        self.start_daemon()
        log(f"daemon pid {self.daemon.pid}; letting the autostart settle for 15 s")
        time.sleep(15)
        self.settle()
        baseline_fds = quiet_fd_count(self.daemon.pid)
        self.baseline_kinds = fd_kinds(self.daemon.pid)
        baseline_running = [p["name"] for p in self.status() or []
                            if p["state"] in ("RUNNING", "UNHEALTHY")]
        self.sample(" (start)")
        log(f"baseline: {baseline_fds} fds, {len(baseline_running)} instances running")
        self.run_ops(self.args.minutes * 60)
        self.sample(" (end of operations)")
        self.final_checks(baseline_fds, baseline_running)
        self.log_findings()
        self.report()
        self.shutdown()

    def cleanup(self):
        self.stop_ops.set()
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        for _ in range(50):
            left = carrying(self.token)
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        if self.listener:
            self.listener.close()


def main():
    parser = argparse.ArgumentParser(
        description="Soak test of a release supervice daemon (see contrib/soak/README.md).")
    parser.add_argument("--minutes", type=float, default=30, help="operations phase (30)")
    parser.add_argument("--programs", type=int, default=200, help="[program:] sections (200)")
    parser.add_argument("--workers", type=int, default=4, help="threads doing operations (4)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="max seconds between one worker's operations (0.2)")
    parser.add_argument("--reload-secs", type=float, default=30,
                        help="mean seconds between reloads (30)")
    parser.add_argument("--sample-secs", type=float, default=60,
                        help="seconds between RSS/fd samples (60)")
    parser.add_argument("--loglevel", default="INFO", help="the daemon's loglevel (INFO)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed")
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"))
    parser.add_argument("--workdir", help="work directory (default: a new temp dir)")
    parser.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.programs < 20:
        parser.error("--programs must be at least 20")

    if not args.no_build:
        log("cargo build --release")
        if subprocess.run(["cargo", "build", "--release"], cwd=ROOT).returncode != 0:
            sys.exit(2)

    # SIGINT too: a shell starts background jobs with it ignored. SIGHUP stays ignored
    # under nohup.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig != signal.SIGHUP or signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, on_signal)
    soak = Soak(args)
    log(f"seed {args.seed}")
    ok = False
    try:
        soak.run()
        ok = not soak.failures
    except (KeyboardInterrupt, Interrupted) as e:
        soak.fail(f"interrupted ({e or 'Ctrl-C'}); cleaning up")
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        soak.fail(f"error: {e!r}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        soak.cleanup()
    if ok:
        log("PASS")
        if not args.keep:
            shutil.rmtree(soak.workdir, ignore_errors=True)
    else:
        log(f"FAILED ({len(soak.failures)}); work dir kept: {soak.workdir}")
        for failure in soak.failures:
            log("  - " + failure)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
