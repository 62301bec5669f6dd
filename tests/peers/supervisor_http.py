# Raw HTTP against a supervisord-compatible daemon's unix socket, for the differential test
# tests/supervisorctl_compat.rs (SUPERVISORD.md 3.1 and 4.2): what /RPC2 answers to requests
# that are not well-formed XML-RPC, and what /logtail and /mainlogtail serve. Prints one
# normalized line per request: the status line's code, the headers a client relies on, and
# the shape of the body.
#
#   python3 tests/peers/supervisor_http.py SOCKET [auth]
# The scenario's file has a program `alpha` that printed alpha-out / alpha-err. With `auth`
# the socket wants user `user`, password `secret`, and only the credential checks are run.
import base64
import json
import socket
import sys
import time

SOCKET = sys.argv[1]
TIMEOUT = 5.0

GET_VERSION = (
    b"<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getVersion</methodName>\n"
    b"<params>\n</params>\n</methodCall>\n"
)


def connect():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(SOCKET)
    return sock


def read_head(sock, buffered=b""):
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    version, code = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return (version, int(code), headers), rest


def read_body(sock, headers, rest, needle=None):
    """The body by Content-Length; else (a stream) until `needle` or the timeout."""
    length = headers.get("content-length")
    data = rest
    deadline = time.monotonic() + TIMEOUT
    while True:
        if length is not None and len(data) >= int(length):
            return data[: int(length)], data[int(length):]
        if needle is not None and needle in data:
            return data, b""
        if time.monotonic() > deadline:
            return data, b""
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, b""
        if not chunk:
            return data, b""
        data += chunk


SHOWN_HEADERS = ("content-type", "transfer-encoding", "x-accel-buffering", "www-authenticate")


def describe(name, response, body, needle=None):
    if response is None:
        print(json.dumps({"request": name, "closed without a reply": True}), flush=True)
        return
    version, code, headers = response
    shown = {k: headers[k] for k in SHOWN_HEADERS if k in headers}
    line = {"request": name, "version": version, "status": code, "headers": shown}
    if needle is not None:
        line["body holds %r" % needle.decode()] = needle in body
    elif code == 200 and "xml" in headers.get("content-type", ""):
        line["body"] = body.decode("utf-8", "replace")
    print(json.dumps(line, sort_keys=True), flush=True)


def exchange(name, request, needle=None):
    sock = connect()
    try:
        sock.sendall(request)
        response, rest = read_head(sock)
        body = b""
        if response is not None:
            body, _ = read_body(sock, response[2], rest, needle)
        describe(name, response, body, needle)
    except OSError as error:
        print(json.dumps({"request": name, "error": type(error).__name__}), flush=True)
    finally:
        sock.close()


def post(path, body, version="HTTP/1.1", extra=b""):
    return (
        b"POST %s %s\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n%s\r\n%s"
        % (path.encode(), version.encode(), len(body), extra, body)
    )


def get(path, version="HTTP/1.1", extra=b""):
    return b"GET %s %s\r\nHost: localhost\r\nAccept: */*\r\n%s\r\n" % (
        path.encode(),
        version.encode(),
        extra,
    )


def basic(credentials):
    return b"Authorization: Basic %s\r\n" % base64.b64encode(credentials)


if sys.argv[2:] == ["auth"]:
    exchange("no credentials", post("/RPC2", GET_VERSION))
    exchange("right credentials", post("/RPC2", GET_VERSION, extra=basic(b"user:secret")))
    exchange("wrong password", post("/RPC2", GET_VERSION, extra=basic(b"user:wrong")))
    exchange("wrong user", post("/RPC2", GET_VERSION, extra=basic(b"resu:secret")))
    exchange(
        "the stored digest as password",
        post(
            "/RPC2",
            GET_VERSION,
            extra=basic(b"user:{SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"),
        ),
    )
    exchange(
        "not Basic",
        post("/RPC2", GET_VERSION, extra=b"Authorization: Digest username=\"user\"\r\n"),
    )
    exchange("logtail without credentials", get("/logtail/alpha"))
    exchange(
        "logtail with credentials",
        get("/logtail/alpha", extra=basic(b"user:secret")),
        b"alpha-out",
    )
    exchange("mainlogtail without credentials", get("/mainlogtail"))
    sys.exit(0)


exchange("POST /RPC2 getVersion", post("/RPC2", GET_VERSION))
exchange("POST /RPC2xyz getVersion", post("/RPC2xyz", GET_VERSION))
exchange("POST /RPC2 HTTP/1.0", post("/RPC2", GET_VERSION, "HTTP/1.0"))
exchange("GET /RPC2", get("/RPC2"))
exchange(
    "POST /RPC2 without Content-Length",
    b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\r\n",
)
exchange("POST /RPC2 garbage", post("/RPC2", b"this is not xml"))
exchange(
    "POST /RPC2 no methodName",
    post("/RPC2", b"<?xml version='1.0'?>\n<methodCall><params></params></methodCall>\n"),
)
exchange(
    "POST /RPC2 no params",
    post(
        "/RPC2",
        b"<?xml version='1.0'?>\n<methodCall><methodName>supervisor.getAPIVersion"
        b"</methodName></methodCall>\n",
    ),
)
exchange(
    "POST /RPC2 untyped string param",
    post(
        "/RPC2",
        b"<?xml version='1.0'?>\n<methodCall><methodName>supervisor.getProcessInfo"
        b"</methodName><params><param><value>nosuch</value></param></params></methodCall>\n",
    ),
)
exchange("GET /nosuch", get("/nosuch"))
exchange("GET /logtail/alpha", get("/logtail/alpha"), b"alpha-out")
exchange("GET /logtail/alpha/stdout", get("/logtail/alpha/stdout"), b"alpha-out")
exchange("GET /logtail/alpha/stderr", get("/logtail/alpha/stderr"), b"alpha-err")
exchange("GET /logtail/alpha/bogus", get("/logtail/alpha/bogus"))
exchange("GET /logtail/nosuch", get("/logtail/nosuch"))
exchange("GET /logtail/grp%3A%2A", get("/logtail/grp%3A%2A"))
exchange("GET /logtail/grp%3Ag1", get("/logtail/grp%3Ag1"))
exchange("POST /logtail/alpha", post("/logtail/alpha", b""))
exchange("GET /mainlogtail", get("/mainlogtail"), b"")

# Keep-alive: two calls on one HTTP/1.1 connection.
sock = connect()
try:
    for n in (1, 2):
        sock.sendall(post("/RPC2", GET_VERSION))
        response, rest = read_head(sock)
        body, _ = read_body(sock, response[2], rest) if response else (b"", b"")
        describe("keep-alive call %d" % n, response, body)
except OSError as error:
    print(json.dumps({"request": "keep-alive", "error": type(error).__name__}), flush=True)
finally:
    sock.close()

# Connection: close is honoured: the reply is followed by the end of the stream.
sock = connect()
try:
    sock.sendall(post("/RPC2", GET_VERSION, extra=b"Connection: close\r\n"))
    response, rest = read_head(sock)
    body, rest = read_body(sock, response[2], rest)
    try:
        after = rest + sock.recv(65536)
        closed = after == b""
    except socket.timeout:
        closed = False
    print(json.dumps({"request": "Connection: close", "closed after the reply": closed}), flush=True)
except OSError as error:
    print(json.dumps({"request": "Connection: close", "error": type(error).__name__}), flush=True)
finally:
    sock.close()
