# The effective configuration of a supervisord-dialect file, as supervisor 4.3.0 itself
# loads it at startup: the reference side of tests/supervisord_dialect.rs.
#
#   $SUPERVISOR_BIN/python tests/peers/supervisord_effective.py CONFIG
#
# Prints on stdout the JSON document `supervice -c CONFIG --check --json` must print, and
# exits 0; or prints {"error": "<supervisord's message>"} and exits 1 when supervisord
# refuses the file.
#
# What is run: `ServerOptions().realize(args=['-c', CONFIG])`, which is exactly what
# supervisord's main() does before it builds anything (supervisord.py main()). It reads
# the file and its includes, expands, types and validates every section, and exits 2
# through usage() with "Error: <msg>" on the first error. Nothing after it runs: no
# setuid, no rlimits, no logger (the log file is not opened), no AUTO child log files
# (after_setuid), no fcgi socket (make_group), no HTTP server bind, no daemonizing, no
# pidfile. So the checks supervisord makes only there (the fcgi socket can be created, an
# HTTP server can bind, the log file can be opened, [supervisord] user can be switched
# to, the [rpcinterface:x] factory accepts its keys: realize() imports factories but
# does not call them, so SUPERVISORD.md §8 #8 is not seen here) are not part of the
# reference. Every value printed is read from supervisor's own
# objects (options, options.server_configs, process_group_configs and their pconfigs);
# nothing here parses the file.
#
# The rules where supervisord's stored form needs a decision (ours must match them):
#
# - [supervisord]: the ServerOptions attributes after realize() (what the daemon uses),
#   except "environment" (configroot.supervisord.environment, a dict).
#   - "logfile": options.logfile, i.e. normalize_path(value) = normpath(abspath(
#     expanduser(v))), relative to the cwd the loader runs in; the literal value "syslog"
#     is kept as "syslog" (realize() leaves it alone).
#   - "pidfile": normalize_path(value) likewise (always absolute).
#   - "loglevel": the lowercase LevelsByDescription name of the stored level number.
#   - "childlogdir", "directory": the stored string: "~" expanded, NOT made absolute,
#     not normalized. childlogdir's default is tempfile.gettempdir() ("/tmp" when TMPDIR,
#     TEMP and TMP are unset, as in the test's environment).
#   - "user": the string as written (after expansion), not resolved: "0" stays "0".
#   - "umask": int (octal parsed). nodaemon/silent/nocleanup/strip_ansi: JSON booleans.
# - "unix_http_server"/"inet_http_server": supervisord makes one server per section whose
#   name STARTS with the prefix ([unix_http_server:a], [inet_http_server2]). Here: the
#   FIRST configured server of that family in section order, or null when there is none.
#   - unix "file": normalize_path(value), absolute. "chmod": int, default 0o700 = 448.
#     "chown": null when unset (stored (-1, -1)); else [uid, gid] with gid -1 when only a
#     user is given.
#   - inet "port": "%s:%d" % (host, port) of what inet_address() stores: host lower-cased,
#     and "" for "*", for an empty host and for a bare port. So "*:9001", ":9001" and
#     "9001" all print ":9001"; "LocalHost:9001" prints "localhost:9001".
# - "groups": options.process_group_configs in its stored order, which is
#   groups.sort() of process_groups_from_parser: by (priority, name), stable.
#   - "kind": "eventlistener" for an EventListenerPoolConfig, "fcgi-program" for a
#     FastCGIGroupConfig, else "program" (a [group:x] is "program" even when it lists an
#     [fcgi-program:p]: supervisord then builds plain programs without the socket).
#   - "processes": the names of group.process_configs in stored order.
#   - eventlistener: "buffer_size" int; "events": sorted EventTypes names of pool_events.
#   - fcgi-program: "socket": socket_config.url: "unix://" + normalize_path(path), or
#     "tcp://%s:%d" % (host, port) with the host lower-cased (InetStreamSocketConfig).
# - "processes": every pconfig of every group, groups in the order above.
#   - "user": pwd.getpwuid(pconfig.uid).pw_name, or null when no user is set. A numeric
#     user=1000 prints the name of uid 1000.
#   - "autorestart": RestartUnconditionally -> "true", False -> "false",
#     RestartWhenExitUnexpected -> "unexpected".
#   - "stopsignal": supervisor.options.signame(n) without its leading "SIG" (signame
#     knows only SIG* names, so stopsignal=0 or SIG_DFL (0) prints "signal 0"; aliases
#     print the name Python's signal module lists last for that number: 6 -> "ABRT",
#     17 -> "CHLD", 29 -> "POLL", 34 -> "RTMIN", 64 -> "RTMAX").
#   - "stdout_logfile"/"stderr_logfile": Automatic -> "AUTO"; None (NONE/OFF, "syslog"
#     rewritten to *_syslog=true, and stderr when redirect_stderr) -> null; a path -> the
#     stored string ("~" expanded, NOT made absolute, not normalized).
#   - "serverurl": null when unset or AUTO (any case, stripped); else the stored string.
#     An empty `serverurl =` stays "": it is not AUTO (spawn falls back to supervisord's
#     URL only for None, and sets no SUPERVISOR_SERVER_URL at all for "").
#   - "environment": pconfig.environment after read_config's merge ([supervisord]
#     environment, then the program's own on top).
#   - "directory": the stored string or null; "umask": int or null; "exitcodes": the
#     list as stored (order and duplicates kept).
# - Errors: the text after "Error: " that usage() writes, up to the "For help" line
#   (a multi-line message, like a configparser parse error, keeps its newlines). Any
#   other exception out of realize() (supervisord would die with a traceback) is a
#   refusal too: {"error": "<ExceptionName>: <message>"}.
import io
import json
import pwd
import sys

from supervisor import events
from supervisor.datatypes import Automatic, RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.loggers import LevelsByDescription
from supervisor.options import EventListenerPoolConfig, FastCGIGroupConfig, ServerOptions, signame

import socket


def level_name(number):
    for name, value in vars(LevelsByDescription).items():
        if not name.startswith("_") and value == number:
            return name
    raise ValueError("unknown log level %r" % number)


def autorestart(value):
    if value is RestartUnconditionally:
        return "true"
    if value is RestartWhenExitUnexpected:
        return "unexpected"
    if value is False:
        return "false"
    raise ValueError("unknown autorestart %r" % value)


def logfile(value):
    if value is Automatic:
        return "AUTO"
    if value is None:
        return None
    return str(value)


def signal_name(number):
    name = signame(number)
    return name[3:] if name.startswith("SIG") else name


def user_name(uid):
    return None if uid is None else pwd.getpwuid(uid).pw_name


def supervisord_section(options):
    return {
        "logfile": options.logfile,
        "logfile_maxbytes": options.logfile_maxbytes,
        "logfile_backups": options.logfile_backups,
        "loglevel": level_name(options.loglevel),
        "pidfile": options.pidfile,
        "umask": options.umask,
        "nodaemon": bool(options.nodaemon),
        "silent": bool(options.silent),
        "minfds": options.minfds,
        "minprocs": options.minprocs,
        "nocleanup": bool(options.nocleanup),
        "childlogdir": options.childlogdir,
        "user": options.user,
        "directory": options.directory,
        "strip_ansi": bool(options.strip_ansi),
        "environment": dict(options.configroot.supervisord.environment),
        "identifier": options.identifier,
    }


def unix_server(configs):
    for config in configs:
        if config["family"] is socket.AF_UNIX:
            chown = config["chown"]
            return {
                "file": config["file"],
                "chmod": config["chmod"],
                "chown": None if tuple(chown) == (-1, -1) else list(chown),
                "username": config["username"],
                "password": config["password"],
            }
    return None


def inet_server(configs):
    for config in configs:
        if config["family"] is socket.AF_INET:
            return {
                "port": "%s:%d" % (config["host"], config["port"]),
                "username": config["username"],
                "password": config["password"],
            }
    return None


def group(config):
    entry = {
        "name": config.name,
        "priority": config.priority,
        "kind": "program",
        "processes": [p.name for p in config.process_configs],
    }
    if isinstance(config, EventListenerPoolConfig):
        entry["kind"] = "eventlistener"
        entry["buffer_size"] = config.buffer_size
        entry["events"] = sorted(events.getEventNameByType(e) for e in config.pool_events)
    elif isinstance(config, FastCGIGroupConfig):
        entry["kind"] = "fcgi-program"
        entry["socket"] = config.socket_config.url
    return entry


def process(group_name, p):
    entry = {
        "group": group_name,
        "name": p.name,
        "command": p.command,
        "directory": p.directory,
        "umask": p.umask,
        "priority": p.priority,
        "autostart": bool(p.autostart),
        "autorestart": autorestart(p.autorestart),
        "exitcodes": list(p.exitcodes),
        "startsecs": p.startsecs,
        "startretries": p.startretries,
        "stopsignal": signal_name(p.stopsignal),
        "stopwaitsecs": p.stopwaitsecs,
        "stopasgroup": bool(p.stopasgroup),
        "killasgroup": bool(p.killasgroup),
        "user": user_name(p.uid),
        "redirect_stderr": bool(p.redirect_stderr),
        "environment": dict(p.environment or {}),
        "serverurl": p.serverurl,
    }
    for stream in ("stdout", "stderr"):
        entry[stream + "_logfile"] = logfile(getattr(p, stream + "_logfile"))
        for key in ("logfile_maxbytes", "logfile_backups", "capture_maxbytes"):
            entry["%s_%s" % (stream, key)] = getattr(p, "%s_%s" % (stream, key))
        for key in ("events_enabled", "syslog"):
            entry["%s_%s" % (stream, key)] = bool(getattr(p, "%s_%s" % (stream, key)))
    return entry


def effective(options):
    configs = options.process_group_configs
    return {
        "dialect": "supervisord",
        "supervisord": supervisord_section(options),
        "unix_http_server": unix_server(options.server_configs),
        "inet_http_server": inet_server(options.server_configs),
        "groups": [group(g) for g in configs],
        "processes": [process(g.name, p) for g in configs for p in g.process_configs],
    }


def refused(message):
    print(json.dumps({"error": message}))
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: supervisord_effective.py CONFIG\n")
        sys.exit(2)
    options = ServerOptions()
    options.stdout = io.StringIO()
    options.stderr = io.StringIO()
    try:
        options.realize(args=["-c", sys.argv[1]], progname="supervisord")
    except SystemExit:
        text = options.stderr.getvalue()
        text = text.split("\nFor help, use ")[0]
        if text.startswith("Error: "):
            text = text[len("Error: "):]
        refused(text.rstrip("\n") or "supervisord exited without a message")
    except Exception as e:
        refused("%s: %s" % (type(e).__name__, e))
    try:
        document = effective(options)
    except Exception as e:
        # A value this script cannot render (a uid with no passwd entry, say).
        refused("%s: %s" % (type(e).__name__, e))
    print(json.dumps(document, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
