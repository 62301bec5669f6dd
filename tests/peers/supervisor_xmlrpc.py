# Raw XML-RPC against a supervisord-compatible daemon over its unix socket, for the
# differential test tests/supervisorctl_compat.rs: calls every supervisor.* and system.*
# method of supervisord 4.3 (SUPERVISORD.md 3.4, 3.7) and provokes each fault, printing one
# normalized JSON line per call (pids, times, the temp dir, AUTO log names and the version
# masked), so that the outputs for supervisord and for supervice can be compared line by line.
#
# Only the standard library (xmlrpc.client); run with any python3:
#   python3 tests/peers/supervisor_xmlrpc.py SOCKET DIR CONFIG DAEMON_PID
# The config is the one tests/supervisorctl_compat.rs writes for the `xmlrpc` scenario;
# this script appends a program to it to exercise reloadConfig/addProcessGroup.
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import xmlrpc.client

SOCKET, DIR, CONFIG, DAEMON_PID = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CALL_TIMEOUT = 10.0
WAIT_TIMEOUT = 10.0


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client over a unix stream socket (one persistent connection, as supervisorctl)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        conn = http.client.HTTPConnection("localhost", timeout=CALL_TIMEOUT)
        path = self.path

        def connect():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CALL_TIMEOUT)
            sock.connect(path)
            conn.sock = sock

        conn.connect = connect
        self._connection = host, conn
        return conn


def proxy():
    return xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(SOCKET))


SERVER = proxy()

DATE = re.compile(r"[A-Z][a-z]{2} \d{2} \d{2}:\d{2} [AP]M")
UPTIME = re.compile(r"uptime (\d+ days?, )?\d+:\d{2}:\d{2}")
PID = re.compile(r"pid \d+")
AUTO_LOG = re.compile(r"---supervisor-[A-Za-z0-9_]+\.log")


def mask_text(text):
    text = text.replace(DIR, "DIR")
    text = DATE.sub("DATE", text)
    text = UPTIME.sub("uptime T", text)
    text = PID.sub("pid N", text)
    return AUTO_LOG.sub("---supervisor-X.log", text)


def mask(value, key=None):
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if key == "pid" and value != 0:
            return "DAEMON_PID" if value == DAEMON_PID else "PID"
        if key in ("start", "stop", "now") and value != 0:
            return "TIME"
        return value
    if isinstance(value, str):
        return mask_text(value)
    return value


TIMES = os.environ.get("SUPERVICE_XMLRPC_TIMES") == "1"
STARTED = time.monotonic()


def namespec(struct):
    name, group = struct.get("name"), struct.get("group", struct.get("name"))
    return name if name == group else "%s:%s" % (group, name)


def flat(value, path):
    """One line per scalar, `path = json`, so that a diff points at the field that differs.
    Arrays of process structs are keyed by namespec, after a line giving their order."""
    if isinstance(value, dict):
        if not value:
            yield "%s = {}" % path
        for key in sorted(value):
            yield from flat(value[key], "%s.%s" % (path, key))
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) and "name" in v for v in value):
            yield "%s = [%s]" % (path, ", ".join(namespec(v) for v in value))
            for v in value:
                yield from flat(v, "%s[%s]" % (path, namespec(v)))
        elif all(not isinstance(v, (dict, list)) for v in value):
            yield "%s = %s" % (path, json.dumps(value))
        else:
            yield "%s = array of %d" % (path, len(value))
            for i, v in enumerate(value):
                yield from flat(v, "%s[%d]" % (path, i))
    else:
        yield "%s = %s" % (path, json.dumps(value))


def emit(call, args, **outcome):
    if TIMES:
        print("%6.2f %s" % (time.monotonic() - STARTED, call), file=sys.stderr)
    print("%s%s" % (call, json.dumps(mask(list(args)))))
    for kind, value in outcome.items():
        for line in flat(value, "  " + kind):
            print(line)
    sys.stdout.flush()


def invoke(server, method, args):
    """('result', value) or ('fault', [code, string]) or ('error', text)."""
    try:
        target = server
        for part in method.split("."):
            target = getattr(target, part)
        return "result", target(*args)
    except xmlrpc.client.Fault as fault:
        return "fault", [fault.faultCode, mask_text(fault.faultString)]
    except Exception as error:  # a protocol error or a dropped connection is a result too
        return "error", mask_text("%s: %s" % (type(error).__name__, error))


def call(method, *args, shape=None, server=None):
    """Calls `method`, prints the normalized outcome and returns the raw result (or None)."""
    kind, value = invoke(server or SERVER, method, args)
    if kind == "result":
        shown = shape(value) if shape else mask(value)
        emit(method, args, result=shown)
        return value
    emit(method, args, **{kind: value})
    return None


def stopped(value):
    """A waiting group or all stop reports each process as it stops. The delays of the
    processes' traps order that, but under load supervisord notices two exits in either
    order (a CI run saw grp:g2 before grp:g1), so the results are compared by name."""
    return mask(sorted(value, key=namespec))


def nonempty_text(value):
    return {"type": type(value).__name__, "nonempty": bool(value)}


def quiet(method, *args):
    kind, value = invoke(SERVER, method, args)
    return value if kind == "result" else None


def exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


DAEMON_EXE = exe(DAEMON_PID)


def settled(pid):
    """Whether a child has exec'd its program and, if its shell sets traps, catches
    SIGTERM already (as tests/supervisorctl_compat.rs `settled`)."""
    if exe(pid) in (DAEMON_EXE, None):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"trap " not in f.read():
                return True
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (15 - 1)))
    except OSError:
        pass
    return False


def states():
    """namespec -> statename; a RUNNING process that is not `settled` counts as STARTING,
    and a STARTING one that has not exec'd yet as SPAWNING: between fork and exec
    supervisord loses a SIGTERM (a stop then waits out stopwaitsecs, past CALL_TIMEOUT: a
    CI run saw it), and before its shell's trap runs a SIGTERM kills it at once, so a
    stop then would be a race."""
    infos = quiet("supervisor.getAllProcessInfo") or []
    found = {}
    for i in infos:
        name = i["name"] if i["name"] == i["group"] else "%s:%s" % (i["group"], i["name"])
        state = i["statename"]
        if state == "RUNNING" and not settled(i["pid"]):
            state = "STARTING"
        elif state == "STARTING" and exe(i["pid"]) in (DAEMON_EXE, None):
            state = "SPAWNING"
        found[name] = state
    return found


def wait_states(wanted):
    """Waits until each process is in its state (a set of names or one name); prints a line
    only if that never happens."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        now = states()
        if all(now.get(n) in (w if isinstance(w, set) else {w}) for n, w in wanted.items()):
            return
        if time.monotonic() > deadline:
            emit("WAIT", [], error="timed out waiting for %r; states %r" % (wanted, now))
            return
        time.sleep(0.05)


def wait_log(name, needle, method="supervisor.readProcessStdoutLog"):
    deadline = time.monotonic() + WAIT_TIMEOUT
    while needle not in (quiet(method, name, 0, 0) or ""):
        if time.monotonic() > deadline:
            emit("WAIT", [name], error="timed out waiting for %r in %s" % (needle, method))
            return
        time.sleep(0.05)


def wait_answering():
    """After restart: until getState answers RUNNING again on a fresh connection."""
    global SERVER
    deadline = time.monotonic() + WAIT_TIMEOUT
    while time.monotonic() < deadline:
        SERVER = proxy()
        if (quiet("supervisor.getState") or {}).get("statename") == "RUNNING":
            return
        time.sleep(0.05)
    emit("WAIT", [], error="the daemon did not come back after restart")


RUNNING_AT_START = {
    "alpha": "RUNNING",
    "echo": "RUNNING",
    "trapper": "RUNNING",
    "grp:g1": "RUNNING",
    "grp:g2": "RUNNING",
    "ticker": "RUNNING",
}


def introspection():
    methods = call("system.listMethods") or []
    for method in methods:
        call("system.methodSignature", method)
        call("system.methodHelp", method, shape=nonempty_text)
    call("system.methodHelp", "supervisor.nosuch")
    call("system.methodSignature", "supervisor.nosuch")


def identity():
    call("supervisor.getAPIVersion")
    call("supervisor.getVersion")
    call("supervisor.getSupervisorVersion", shape=lambda v: {"type": type(v).__name__})
    call("supervisor.getIdentification")
    call("supervisor.getState")
    call("supervisor.getPID", shape=lambda v: "DAEMON_PID" if v == DAEMON_PID else v)


def process_info():
    call("supervisor.getAllProcessInfo")
    call("supervisor.getProcessInfo", "alpha")
    call("supervisor.getProcessInfo", "grp:g1")
    call("supervisor.getProcessInfo", "beta")
    call("supervisor.getAllConfigInfo")


def logs():
    wait_log("alpha", "alpha-out")
    wait_log("alpha", "alpha-err", "supervisor.readProcessStderrLog")
    call("supervisor.readProcessStdoutLog", "alpha", 0, 0)
    call("supervisor.readProcessLog", "alpha", 0, 0)
    call("supervisor.readProcessStderrLog", "alpha", 0, 0)
    call("supervisor.readProcessStdoutLog", "alpha", -4, 0)
    call("supervisor.readProcessStdoutLog", "alpha", 2, 3)
    call("supervisor.readProcessStdoutLog", "alpha", 1000, 0)
    call("supervisor.readProcessStdoutLog", "alpha", 1000, 5)
    call("supervisor.tailProcessStdoutLog", "alpha", 0, 100)
    call("supervisor.tailProcessLog", "alpha", 0, 4)
    call("supervisor.tailProcessStdoutLog", "alpha", 100, 5)
    call("supervisor.tailProcessStderrLog", "alpha", 0, 5)
    call("supervisor.tailProcessStdoutLog", "nolog", 0, 10)
    call("supervisor.readLog", 0, 0, shape=nonempty_text)
    call("supervisor.readMainLog", -10, 0, shape=nonempty_text)
    call("supervisor.readLog", 0, 5, shape=nonempty_text)
    call("supervisor.clearLog")
    call("supervisor.readLog", -100000, 0, shape=lambda v: {"type": type(v).__name__})


def start_stop():
    call("supervisor.startProcess", "beta")
    call("supervisor.getProcessInfo", "beta")
    call("supervisor.startProcess", "beta")
    call("supervisor.stopProcess", "beta")
    call("supervisor.stopProcess", "beta")
    call("supervisor.getProcessInfo", "beta")
    call("supervisor.startProcess", "beta", False)
    wait_states({"beta": "RUNNING"})
    call("supervisor.stopProcess", "beta", False)
    wait_states({"beta": "STOPPED"})
    call("supervisor.startProcessGroup", "grp")
    call("supervisor.stopProcessGroup", "grp", shape=stopped)
    call("supervisor.stopProcessGroup", "grp", shape=stopped)
    call("supervisor.startProcessGroup", "grp")
    wait_states({"grp:g1": "RUNNING", "grp:g2": "RUNNING"})
    call("supervisor.stopProcess", "grp:*", shape=stopped)
    call("supervisor.startProcess", "grp:")
    call("supervisor.startProcess", "grp:g1")
    wait_states({"grp:g1": "RUNNING", "grp:g2": "RUNNING"})
    call("supervisor.stopProcess", "grp:g1", True)
    call("supervisor.startProcess", "grp:g1", True)


def signals():
    wait_log("trapper", "ready")
    call("supervisor.signalProcess", "trapper", "HUP")
    wait_log("trapper", "got-hup")
    call("supervisor.signalProcess", "trapper", "sigusr1")
    wait_log("trapper", "got-usr1")
    call("supervisor.signalProcess", "trapper", 1)
    call("supervisor.signalProcess", "trapper", "10")
    call("supervisor.signalProcess", "trapper", "Hup")
    call("supervisor.signalProcess", "trapper", "NOSUCH")
    call("supervisor.signalProcess", "trapper", 999)
    call("supervisor.signalProcess", "beta", "HUP")
    call("supervisor.signalProcess", "nosuch", "HUP")
    call("supervisor.signalProcessGroup", "grp", "CONT")
    call("supervisor.signalProcessGroup", "grp", "BOGUS")
    call("supervisor.signalProcessGroup", "nosuch", "HUP")
    call("supervisor.signalProcess", "grp:*", "CONT")
    call("supervisor.signalAllProcesses", "CONT")
    call("supervisor.signalAllProcesses", "BOGUS")
    wait_states(RUNNING_AT_START)


def spawn_faults():
    call("supervisor.startProcess", "nosuch")
    call("supervisor.startProcess", "nosuch:*")
    call("supervisor.startProcessGroup", "nosuch")
    call("supervisor.stopProcess", "nosuch")
    call("supervisor.stopProcessGroup", "nosuch")
    call("supervisor.startProcess", "nofile")
    call("supervisor.getProcessInfo", "nofile")
    call("supervisor.startProcess", "notexec")
    call("supervisor.startProcess", "nodir")
    wait_states({"nodir": "FATAL"})
    call("supervisor.getProcessInfo", "nodir")
    call("supervisor.startProcess", "quick")
    wait_states({"quick": "FATAL"})
    call("supervisor.getProcessInfo", "quick")
    call("supervisor.stopProcess", "quick")
    # ABNORMAL_TERMINATION: a start that waits for startsecs while the process is stopped.
    outcome = {}

    def start_slow():
        outcome["start"] = invoke(proxy(), "supervisor.startProcess", ("slow", True))

    starter = threading.Thread(target=start_slow)
    starter.start()
    wait_states({"slow": "STARTING"})
    call("supervisor.stopProcess", "slow")
    starter.join(CALL_TIMEOUT + 5)
    kind, value = outcome.get("start", ("error", "startProcess never returned"))
    emit("supervisor.startProcess", ["slow", True], **{kind: mask(value)})
    call("supervisor.getProcessInfo", "slow")


def argument_faults():
    call("supervisor.getProcessInfo", "nosuch")
    call("supervisor.getProcessInfo", "grp:*")
    call("supervisor.getProcessInfo", "grp:nosuch")
    call("supervisor.getProcessInfo", "nosuch:g1")
    call("supervisor.getProcessInfo")
    call("supervisor.getProcessInfo", "alpha", "extra")
    call("supervisor.startProcess", "alpha", True, "extra")
    call("supervisor.getState", 1)
    call("supervisor.readLog", -1, 5)
    call("supervisor.readLog", 0, -1)
    call("supervisor.readProcessStdoutLog", "alpha", 0, -1)
    call("supervisor.readProcessStdoutLog", "alpha", -1, 5)
    call("supervisor.readProcessStdoutLog", "nolog", 0, 0)
    call("supervisor.readProcessStdoutLog", "nosuch", 0, 0)
    call("supervisor.tailProcessStdoutLog", "nosuch", 0, 10)
    call("supervisor.nosuch")
    call("nosuch.getState")
    call("getState")
    call("supervisor._private")
    call("supervisor.getState.extra")
    call("system.nosuch")
    call("supervisor.addProcessGroup", "alpha")
    call("supervisor.addProcessGroup", "nosuch")
    call("supervisor.removeProcessGroup", "alpha")
    call("supervisor.removeProcessGroup", "nosuch")


def stdin():
    call("supervisor.sendProcessStdin", "echo", "hello\n")
    wait_log("echo", "in:hello")
    call("supervisor.readProcessStdoutLog", "echo", 0, 0)
    call("supervisor.sendProcessStdin", "echo", 5)
    call("supervisor.sendProcessStdin", "beta", "x\n")
    call("supervisor.sendProcessStdin", "nosuch", "x\n")
    call("supervisor.sendRemoteCommEvent", "kind", "data")


def clearing():
    call("supervisor.clearProcessLogs", "alpha")
    call("supervisor.readProcessStdoutLog", "alpha", 0, 0)
    call("supervisor.readProcessStderrLog", "alpha", 0, 0)
    call("supervisor.clearProcessLog", "echo")
    call("supervisor.clearProcessLogs", "nosuch")
    call("supervisor.clearProcessLogs", "grp:*")
    call("supervisor.clearAllProcessLogs")


def multicall():
    call(
        "system.multicall",
        [
            {"methodName": "supervisor.getState", "params": []},
            {"methodName": "supervisor.getProcessInfo", "params": ["nosuch"]},
            {"params": []},
            {"methodName": "system.multicall", "params": [[]]},
            {"methodName": "supervisor.nosuch", "params": []},
            {"methodName": "supervisor.startProcess", "params": ["beta"]},
            {"methodName": "supervisor.getProcessInfo", "params": ["beta"]},
            {"methodName": "supervisor.stopProcess", "params": ["beta"]},
            {"methodName": "supervisor.getProcessInfo", "params": ["beta"]},
        ],
    )
    call("system.multicall", [])
    # supervisord fails here with HTTP 500 (an exception in its multicall); supervice
    # answers INCORRECT_PARAMETERS (README, "Driving supervice with supervisorctl").
    # Both refuse the call: that is what is compared.
    kind, value = invoke(SERVER, "system.multicall", ("notalist",))
    refused = kind == "fault" or (kind == "error" and "500" in str(value))
    emit("system.multicall", ("notalist",), refused=refused)


def reloading():
    call("supervisor.reloadConfig")
    with open(CONFIG, "a") as config:
        config.write("\n[program:fresh]\ncommand = sleep 300\nstartsecs = 0\n")
    call("supervisor.reloadConfig")
    call("supervisor.addProcessGroup", "fresh")
    call("supervisor.addProcessGroup", "fresh")
    wait_states({"fresh": "RUNNING"})
    call("supervisor.getProcessInfo", "fresh")
    call("supervisor.removeProcessGroup", "fresh")
    call("supervisor.stopProcessGroup", "fresh")
    call("supervisor.removeProcessGroup", "fresh")
    call("supervisor.removeProcessGroup", "fresh")
    call("supervisor.reloadConfig")


def all_processes():
    call("supervisor.stopAllProcesses", shape=stopped)
    call("supervisor.getAllProcessInfo")
    call("supervisor.startAllProcesses", False)
    wait_states(
        {
            **RUNNING_AT_START,
            "beta": "RUNNING",
            "slow": "RUNNING",
            "nofile": "STOPPED",
            "notexec": "STOPPED",
            "nodir": "FATAL",
            "quick": "FATAL",
            "nolog": "RUNNING",
        }
    )
    call("supervisor.getAllProcessInfo")
    call("supervisor.stopProcess", "slow")
    call("supervisor.stopProcess", "nolog")
    # Two spawn errors would complete in either order: only one deferred start is left.
    call("supervisor.removeProcessGroup", "quick")
    call("supervisor.removeProcessGroup", "nodir")
    call("supervisor.startAllProcesses")
    wait_states({"slow": "RUNNING", "nolog": "RUNNING"})


def restart_and_shutdown():
    # supervisord stops groups one after the other at restart and shutdown: stopping them
    # all at once first (no wait) keeps that short. A restart while processes are stopping.
    call("supervisor.stopAllProcesses", False)
    call("supervisor.restart")
    wait_answering()
    call("supervisor.getPID", shape=lambda v: "DAEMON_PID" if v == DAEMON_PID else v)
    wait_states({**RUNNING_AT_START, "fresh": "RUNNING"})
    call("supervisor.getAllProcessInfo")
    call("supervisor.stopAllProcesses", False)
    call("supervisor.shutdown")
    # trapper takes 2.4 s to stop, so the daemon is still shutting down here.
    call("supervisor.getState")
    call("supervisor.getAllProcessInfo")
    call("supervisor.stopAllProcesses", False)
    call("supervisor.shutdown")
    call("supervisor.restart")
    call("system.listMethods", shape=len)
    call("supervisor.sendRemoteCommEvent", "kind", "data")


wait_states(RUNNING_AT_START)
introspection()
identity()
process_info()
logs()
start_stop()
signals()
spawn_faults()
argument_faults()
stdin()
clearing()
multicall()
reloading()
all_processes()
restart_and_shutdown()
