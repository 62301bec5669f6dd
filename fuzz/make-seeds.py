#!/usr/bin/env python3
"""Writes the hand-made seeds of the http and xmlrpc fuzz targets.

    python3 fuzz/make-seeds.py      # (re)writes corpus/http/req-* and bad-*,
                                    # corpus/xmlrpc/call-* and bad-*

The requests are what supervisorctl (Python's http.client with supervisor's
SupervisorTransport, xmlrpclib's dumps) sends, what a browser sends to the log tails,
and malformed ones. Fuzzer-found inputs (files named by their SHA-1) are left alone.
"""

import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def xml_value(v):
    """A value as xmlrpclib's dumps writes it."""
    if isinstance(v, bool):
        return "<value><boolean>%d</boolean></value>\n" % v
    if isinstance(v, int):
        return "<value><int>%d</int></value>\n" % v
    if isinstance(v, str):
        esc = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return "<value><string>%s</string></value>\n" % esc
    if isinstance(v, list):
        return "<value><array><data>\n%s</data></array></value>\n" % "".join(
            xml_value(i) for i in v
        )
    if isinstance(v, dict):
        members = "".join(
            "<member>\n<name>%s</name>\n%s</member>\n" % (k, xml_value(i))
            for k, i in v.items()
        )
        return "<value><struct>\n%s</struct></value>\n" % members
    raise TypeError(v)


def call(method, *params):
    body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>%s</methodName>\n<params>\n" % method
    for p in params:
        body += "<param>\n%s</param>\n" % xml_value(p)
    body += "</params>\n</methodCall>\n"
    return body.encode()


CALLS = {
    "getAllProcessInfo": call("supervisor.getAllProcessInfo"),
    "getState": call("supervisor.getState"),
    "getPID": call("supervisor.getPID"),
    "getVersion": call("supervisor.getSupervisorVersion"),
    "getProcessInfo": call("supervisor.getProcessInfo", "web:web_01"),
    "startProcess": call("supervisor.startProcess", "cat", True),
    "startProcess-nowait": call("supervisor.startProcess", "group:*", False),
    "stopProcess": call("supervisor.stopProcess", "cat", True),
    "startAll": call("supervisor.startAllProcesses", True),
    "stopGroup": call("supervisor.stopProcessGroup", "web", False),
    "signalProcess": call("supervisor.signalProcess", "cat", "HUP"),
    "readLog": call("supervisor.readLog", -1600, 0),
    "tailStdout": call("supervisor.tailProcessStdoutLog", "cat", 0, 1600),
    "sendStdin": call("supervisor.sendProcessStdin", "cat", "echo <a> & b\n"),
    "clearLogs": call("supervisor.clearProcessLogs", "cat"),
    "reloadConfig": call("supervisor.reloadConfig"),
    "addGroup": call("supervisor.addProcessGroup", "new"),
    "listMethods": call("system.listMethods"),
    "methodHelp": call("system.methodHelp", "supervisor.startProcess"),
    "multicall": call(
        "system.multicall",
        [
            {"methodName": "supervisor.stopProcess", "params": ["a", True]},
            {"methodName": "supervisor.startProcess", "params": ["b", False]},
            {"methodName": "supervisor.getState", "params": []},
        ],
    ),
}


def request(target, body=None, method=None, version="1.1", auth=None, extra=()):
    """A request as http.client writes it for SupervisorTransport."""
    method = method or ("POST" if body is not None else "GET")
    lines = ["%s %s HTTP/%s" % (method, target, version), "Host: localhost"]
    if body is not None:
        lines += [
            "Accept-Encoding: identity",
            "User-Agent: Python-xmlrpc/3.11",
            "Content-Type: text/xml",
            "Accept: text/xml",
        ]
    if auth:
        lines.append("Authorization: Basic " + base64.b64encode(auth.encode()).decode())
    lines += list(extra)
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def chunked(body, size):
    out = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    )
    return out + b"0\r\n\r\n"


def http_seeds():
    c = CALLS
    s = {}
    for name in ("getAllProcessInfo", "startProcess", "stopProcess", "multicall",
                 "signalProcess", "tailStdout", "sendStdin", "getState"):
        s["req-" + name] = request("/RPC2", c[name])
    s["req-auth"] = request("/RPC2", c["getAllProcessInfo"], auth="user:123")
    s["req-http10"] = request("/RPC2", c["getPID"], version="1.0")
    s["req-close"] = request("/RPC2", c["getState"], extra=["Connection: close"])
    s["req-keepalive-http10"] = request(
        "/RPC2", c["getState"], version="1.0", extra=["Connection: keep-alive"]
    )
    s["req-pipelined"] = request("/RPC2", c["getState"]) + request("/RPC2", c["getPID"])
    s["req-pipelined-get"] = request("/logtail/cat") + request("/mainlogtail")
    s["req-logtail-stdout"] = request("/logtail/cat/stdout")
    s["req-logtail-stderr"] = request("/logtail/web%3Aweb_01/stderr", auth="user:123")
    s["req-logtail-utf8"] = request("/logtail/caf%C3%A9/stdout")
    s["req-mainlogtail"] = request("/mainlogtail", extra=["Connection: keep-alive"])
    s["req-mainlogtail-http10"] = request("/mainlogtail?x=1", version="1.0")
    s["req-browser-index"] = request(
        "/index.html?action=restart&processname=cat",
        extra=["User-Agent: Mozilla/5.0", "Accept: text/html", "Cookie: a=b"],
    )
    s["req-head"] = request("/", method="HEAD")
    s["req-get-rpc2"] = request("/RPC2")
    s["req-absolute-uri"] = request("http://localhost:9001/RPC2", c["getPID"])
    s["req-lf-only"] = request("/RPC2", c["getState"]).replace(b"\r\n", b"\n", 8)
    s["req-leading-crlf"] = b"\r\n\r\n" + request("/RPC2", c["getPID"])
    s["req-expect"] = request("/RPC2", c["getState"], extra=["Expect: 100-continue"])
    s["req-case"] = request("/RPC2", c["listMethods"]).replace(
        b"Content-Length", b"content-LENGTH"
    )
    s["req-empty-body"] = request("/RPC2", b"")
    s["req-many-headers"] = request("/", extra=["X-H%d: %d" % (i, i) for i in range(60)])
    s["req-multiple-connection"] = request(
        "/RPC2", c["getState"], version="1.0", extra=["Connection: TE, Keep-Alive"]
    )
    body = c["startProcess"]
    head = request("/RPC2", b"", extra=["Transfer-Encoding: chunked"]).replace(
        b"Content-Length: 0\r\n", b""
    )
    s["req-chunked"] = head + chunked(body, 64)
    s["req-chunked-small"] = head + chunked(c["getState"], 7)
    s["req-chunked-and-length"] = request(
        "/RPC2", chunked(body, 100), extra=["Transfer-Encoding: chunked"]
    )
    # Malformed.
    s["bad-garbage"] = b"\x00\x01garbage\r\n\r\n"
    s["bad-length-word"] = request("/RPC2", b"x").replace(b"Length: 1", b"Length: x")
    s["bad-length-negative"] = request("/RPC2", b"x").replace(b"Length: 1", b"Length: -1")
    s["bad-length-huge"] = request("/RPC2", b"").replace(
        b"Length: 0", b"Length: 99999999999999999999999"
    )
    s["bad-length-over"] = request("/RPC2", b"").replace(
        b"Length: 0", b"Length: %d" % (4 * 1024 * 1024 + 1)
    )
    s["bad-length-twice"] = request("/RPC2", b"abcdef", extra=["Content-Length: 3"])
    s["bad-truncated-body"] = request("/RPC2", c["getState"])[:-20]
    s["bad-truncated-head"] = request("/RPC2", c["getState"])[:60]
    s["bad-no-colon"] = b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n"
    s["bad-space-in-name"] = b"GET / HTTP/1.1\r\nHo st: localhost\r\n\r\n"
    s["bad-version"] = b"GET / HTTP/2.0\r\n\r\n"
    s["bad-http09"] = b"GET /\r\n\r\n"
    s["bad-fold"] = b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n"
    s["bad-value-latin1"] = b"GET / HTTP/1.1\r\nAuthorization: Basic \xe9\xe9\r\n\r\n"
    s["bad-nul"] = b"GET /\x00 HTTP/1.1\r\n\r\n"
    s["bad-too-many-headers"] = request("/", extra=["X-H%d: %d" % (i, i) for i in range(70)])
    s["bad-long-target"] = b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n"
    return s


def xmlrpc_seeds():
    s = {"call-" + k: v for k, v in CALLS.items()}
    s["call-untyped"] = (
        b"<methodCall><methodName>supervisor.startProcess</methodName><params>"
        b"<param><value>cat</value></param></params></methodCall>"
    )
    s["call-types"] = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<methodCall><methodName> m </methodName>"
        b"<params><param><value><i4> 7 </i4></value></param>"
        b"<param><value><i8>-9223372036854775808</i8></value></param>"
        b"<param><value><double>-1.5e3</double></value></param>"
        b"<param><value><base64>aGVsbG8gd29ybGQ=</base64></value></param>"
        b"<param><value><dateTime.iso8601>20250101T00:00:00</dateTime.iso8601></value></param>"
        b"<param><value><nil/></value></param>"
        b"<param><value><boolean>true</boolean></value></param></params></methodCall>"
    )
    s["call-entities"] = (
        b"<methodCall><methodName>supervisor.sendProcessStdin</methodName><params>"
        b"<param><value><string>a&amp;b&lt;&gt;&quot;&apos;&#65;&#x263A;&#13;</string></value></param>"
        b"<param><value><string><![CDATA[<raw> & \r\n]]></string></value></param>"
        b"</params></methodCall>"
    )
    s["call-comments"] = (
        b"<?xml version=\"1.0\"?><!DOCTYPE methodCall><!-- c --><methodCall><?pi x?>"
        b"<methodName>system.<!-- x -->listMethods</methodName></methodCall>"
    )
    s["call-namespaces"] = (
        b"<x:methodCall xmlns:x='urn:x'><x:methodName>supervisor.getState</x:methodName>"
        b"<x:params/></x:methodCall>"
    )
    s["call-empty-containers"] = (
        b"<methodCall><methodName>m</methodName><params><param><value><array><data/></array>"
        b"</value></param><param><value><struct/></value></param><param><value><string/>"
        b"</value></param><param><value/></param></params></methodCall>"
    )
    s["call-nested"] = call("m", [[{"a": [1, {"b": ["c"]}]}], {"d": {"e": True}}])
    s["call-crlf"] = call("supervisor.sendProcessStdin", "cat", "line\r\n").replace(
        b"\n", b"\r\n"
    )
    s["call-bom"] = b"\xef\xbb\xbf" + call("supervisor.getState")
    s["call-whitespace"] = (
        b"\n <methodCall>\n\t<methodName>\n supervisor.getPID \n</methodName>\n\t<params>"
        b"\n\t\t<param>\n<value>\n<string> x </string>\n</value>\n</param>\n</params>\n"
        b"</methodCall>\n\n"
    )
    s["call-no-params"] = b"<methodCall><methodName>system.listMethods</methodName></methodCall>"
    s["call-utf8"] = call("supervisor.startProcess", "caf\u00e9:\u263a", True)
    deep = "<methodCall><methodName>m</methodName><params><param>"
    deep += "<value><array><data>" * 20 + "<value>x</value>" + "</data></array></value>" * 20
    s["call-deep"] = (deep + "</param></params></methodCall>").encode()
    # Malformed.
    s["bad-no-name"] = b"<methodCall><params/></methodCall>"
    s["bad-empty-name"] = b"<methodCall><methodName> </methodName></methodCall>"
    s["bad-unclosed"] = b"<methodCall><methodName>m</methodName>"
    s["bad-mismatched"] = b"<methodCall><methodName>m</methodCall></methodName>"
    s["bad-int"] = call("m", 1).replace(b"<int>1</int>", b"<int>1x</int>")
    s["bad-int-overflow"] = call("m", 1).replace(b"<int>1</int>", b"<int>99999999999999999999</int>")
    s["bad-double"] = call("m", 1).replace(b"<int>1</int>", b"<double>nan</double>")
    s["bad-base64"] = call("m", 1).replace(b"<int>1</int>", b"<base64>a*b</base64>")
    s["bad-base64-latin1"] = call("m", 1).replace(b"<int>1</int>", b"<base64>6Q==</base64>")
    s["bad-type"] = call("m", 1).replace(b"<int>1</int>", b"<float>1</float>")
    s["bad-array-no-data"] = call("m", 1).replace(b"<int>1</int>", b"<array></array>")
    s["bad-member-no-name"] = call("m", 1).replace(
        b"<int>1</int>", b"<struct><member><value>1</value></member></struct>"
    )
    s["bad-entity"] = call("m", "a").replace(b">a<", b">&nbsp;<")
    s["bad-charref"] = call("m", "a").replace(b">a<", b">&#0;<")
    s["bad-not-utf8"] = call("m", "a").replace(b">a<", b">\xff<")
    s["bad-response"] = (
        b"<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n"
        b"<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n</struct></value>\n"
        b"</fault>\n</methodResponse>\n"
    )
    s["bad-text"] = b"not xml <"
    return s


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d seeds, %d bytes" % (target, len(seeds), sum(map(len, seeds.values()))))


if __name__ == "__main__":
    write("http", http_seeds())
    write("xmlrpc", xmlrpc_seeds())
