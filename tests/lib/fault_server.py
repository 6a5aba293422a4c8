#!/usr/bin/env python3
"""fault_server.py - a scriptable, misbehaving HTTP/1.1 file server for tests.

Serves a directory tree (e.g. a libvips dzsave IIIF tree) on 127.0.0.1 and applies faults to
requests whose path matches a rule. Standard library only; responses are written straight to
the socket so they can be wrong on purpose.

Usage:
    fault_server.py --root DIR [--port N] [--log FILE] [--scenario FILE.json]
                    [--fault PATTERN SPEC [--fault PATTERN SPEC ...]]
                    [--synth PREFIX IMAGE.pgm INFO.json ...]
                    [--synth-any PREFIX IMAGE.pgm INFO.json ...]

The first line on stdout is the port actually bound (useful with --port 0, the default).
SIGTERM or SIGINT stops the server (stalled responses are closed).

Rules
    A rule is {"match": PATTERN, "fault": SPEC} with optional keys
        "times": N     apply to the first N matching requests only, then serve normally
        "after": N     let the first N matching requests through unharmed
        "headers": {}  extra response headers (e.g. {"Retry-After": "1"})
    PATTERN is a shell glob (fnmatch, '*' also matches '/') on the percent-decoded request
    path without the query string, or "re:REGEX" (re.search on the same string).
    Rules are tried in order; the first one that matches and is active wins. Rules from the
    scenario file come first, then --fault rules. The scenario file is either a list of rules
    or {"rules": [...]} (other keys are ignored); it is re-read whenever its content changes
    (counters for "times"/"after" restart then), so a test can switch scenarios without a
    restart. (Content, not the modification time: two writes within one clock tick of the
    file system have the same time.)

Synthetic IIIF images (--synth PREFIX IMAGE INFO)
    Answers /PREFIX/info.json with the INFO template ("@id"/"id" set to this server's
    http://HOST:PORT/PREFIX) and /PREFIX/REGION/SIZE/0/QUALITY.jpg by cutting REGION out of
    the grayscale IMAGE (binary PGM), resizing it to SIZE and encoding it as a quality-100
    JPEG (numpy and OpenCV, loaded only for this). REGION: full, square, x,y,w,h (clipped at
    the edge); SIZE: full, max, w,, ,h, w,h, !w,h, pct:n. Anything else is 400. Made by
    tests/lib/make_synth.py, whose 8x8-block-constant content survives JPEG exactly when a
    region starts on a multiple of 8 and is not resized. The clamp fault shrinks answers.

Any identifier (--synth-any PREFIX IMAGE INFO)
    The same for every identifier below PREFIX: /PREFIX/ID/info.json (its "@id"/"id" set to
    http://HOST:PORT/PREFIX/ID, ID percent-encoded as one path segment) and
    /PREFIX/ID/REGION/SIZE/0/QUALITY.jpg are all answered from the one IMAGE, so a batch
    of any list of identifiers can run against it. ID is the first path segment after
    PREFIX (percent-decoded, as rules see it); /PREFIX alone and /PREFIX/ are 404.

Fault specs (see FAULTS below; arguments separated by ':')
    ok                       serve normally
    status:CODE              answer CODE with a small HTML body (keep-alive kept)
    html200                  answer 200 text/html with an HTML page instead of the file
    truncate[:BYTES]         Content-Length of the whole file, send half (or BYTES), then close
    chunked[:SIZE]           send the file with Transfer-Encoding: chunked, SIZE-byte chunks
                             (default 64), each chunk in its own write
    delay:MS                 wait MS milliseconds, then serve normally
    close                    read the request, close without answering
    redirect:CODE:LOCATION   answer CODE with Location: LOCATION (may contain ':'); LOCATION may
                             use {host}, {port} and {path} (the request path, undecoded)
    stall[:BYTES]            headers with the full Content-Length, half the body (or BYTES),
                             then hang until the client closes or the server stops
    hold                     logged at once (status 000), then nothing is sent until the client
                             closes or the server stops: with "after": N, a client that needs
                             more than N matching requests cannot finish, and the log says
                             when it is held (fault_held in fault.sh)
    nolength                 200 without Content-Length or chunking: body ends at close
    gzip                     the file gzip-compressed, with Content-Encoding: gzip
    dropkeepalive            serve normally, announcing keep-alive, then close the connection
                             (like a server whose idle timeout hits between two requests)
    garbage                  answer with a line that is not an HTTP status line, then close
    clamp:N                  synthetic images only: an answer larger than N px on a side is
                             shrunk to fit N x N, status 200 (a server's silent clamp)
    wrongsize[:DX[:DY]]      synthetic images only: the answer is DX, DY px larger than asked
                             (negative: smaller; default -40:-40), status 200

Log
    --log FILE gets one line per request, flushed at once:
        METHOD TARGET STATUS CONN FAULT ARRIVED SENT INFLIGHT
    STATUS is 000 when no status line was sent, CONN a per-connection serial number
    (so keep-alive reuse shows), FAULT the applied spec or '-', ARRIVED and SENT the
    milliseconds since the server started at which the request was read and its status
    line sent, INFLIGHT the requests in progress when it arrived, itself included.

Adding a fault: write `def f_name(req, args, rule)` that answers the request through `req`
and returns True to keep the connection open; register it with @fault("name").
"""

import argparse
import fnmatch
import gzip
import html
import http
import json
import mimetypes
import os
import re
import select
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

STOP = threading.Event()
T0 = time.monotonic()
IDLE_TIMEOUT = 30.0
MAX_HEADER_BYTES = 64 * 1024

CONTENT_TYPES = {
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".html": "text/html",
    ".txt": "text/plain",
}

FAULTS = {}


def fault(name):
    """Register a fault handler under NAME."""
    def deco(fn):
        FAULTS[name] = fn
        return fn
    return deco


# --------------------------------------------------------------------------------------------
# rules


class Rule:
    def __init__(self, spec):
        if not isinstance(spec, dict) or "match" not in spec or "fault" not in spec:
            raise ValueError("rule needs 'match' and 'fault': %r" % (spec,))
        self.match = str(spec["match"])
        self.fault = str(spec["fault"])
        self.times = spec.get("times")
        self.after = int(spec.get("after", 0))
        self.headers = dict(spec.get("headers", {}))
        self.seen = 0
        name = self.fault.split(":", 1)[0]
        if name not in FAULTS:
            raise ValueError("unknown fault %r in %r" % (name, self.fault))
        if self.match.startswith("re:"):
            self._re = re.compile(self.match[3:])
        else:
            self._re = None

    def matches(self, path):
        if self._re is not None:
            return self._re.search(path) is not None
        return fnmatch.fnmatchcase(path, self.match)

    def take(self):
        """Count a matching request; True if the fault applies to it."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.seen > self.after + int(self.times):
            return False
        return True


class RuleSet:
    def __init__(self, scenario, cli_rules):
        self.scenario = scenario
        self.cli = [Rule({"match": p, "fault": f}) for p, f in cli_rules]
        self.file_rules = []
        self.text = None
        self.lock = threading.Lock()
        self._reload()

    def _reload(self):
        if not self.scenario:
            return
        try:
            with open(self.scenario, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            text = None
        if text == self.text:
            return
        self.text = text
        if text is None:
            self.file_rules = []
            return
        try:
            data = json.loads(text.decode("utf-8"))
            if isinstance(data, dict):
                data = data.get("rules", [])
            self.file_rules = [Rule(r) for r in data]
        except (OSError, ValueError) as e:
            # keep the previous rules; a test sees the message on stderr
            print("fault_server: bad scenario %s: %s" % (self.scenario, e), file=sys.stderr)

    def pick(self, path):
        with self.lock:
            self._reload()
            for rule in self.file_rules + self.cli:
                if rule.matches(path) and rule.take():
                    return rule
        return None


# --------------------------------------------------------------------------------------------
# request / response plumbing


def now_ms():
    return (time.monotonic() - T0) * 1000.0


class Request:
    def __init__(self, server, sock, conn_id, method, target, version, headers):
        self.arrived = now_ms()
        self.inflight = 0
        self.clamp = 0
        self.resize = (0, 0)
        self.server = server
        self.sock = sock
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        raw_path = target.split("?", 1)[0]
        if raw_path.startswith(("http://", "https://")):
            raw_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
        self.raw_path = raw_path
        self.path = urllib.parse.unquote(raw_path)
        conn = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.client_keep_alive = "keep-alive" in conn
        else:
            self.client_keep_alive = "close" not in conn
        self.extra_headers = {}
        self.fault_spec = "-"
        self.logged = False

    # -- files
    def file_path(self):
        # lexical check only: symlinks inside the root may point anywhere (tests link trees)
        root = self.server.root
        full = os.path.abspath(os.path.join(root, self.path.lstrip("/")))
        if full != root and not full.startswith(root + os.sep):
            return None
        return full if os.path.isfile(full) else None

    def file_body(self):
        synth, prefix = self.server.synth_for(self.path)
        if synth is not None:
            return synth.body(self, prefix)
        p = self.file_path()
        if p is None:
            return None
        with open(p, "rb") as f:
            return f.read()

    def content_type(self):
        ext = os.path.splitext(self.path)[1].lower()
        return CONTENT_TYPES.get(ext) or mimetypes.guess_type(self.path)[0] or \
            "application/octet-stream"

    # -- output
    def log(self, status):
        if self.logged:
            return
        self.logged = True
        self.server.log_line("%s %s %03d %d %s %.1f %.1f %d" % (
            self.method, self.target, status, self.conn_id, self.fault_spec, self.arrived,
            now_ms(), self.inflight))

    def send_head(self, status, headers, keep_alive=True):
        """Status line + headers. Adds Connection and the rule's extra headers."""
        self.log(status)
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: fault_server",
                 "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())]
        merged = dict(headers)
        merged.update(self.extra_headers)
        for k, v in merged.items():
            lines.append("%s: %s" % (k, v))
        lines.append("Connection: " + ("keep-alive" if keep_alive and self.client_keep_alive
                                       else "close"))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send_body(self, body):
        if self.method != "HEAD" and body:
            self.sock.sendall(body)

    def respond(self, status, body, ctype="text/html", headers=None):
        """A complete, well-formed response with Content-Length. Returns keep-alive."""
        h = {"Content-Type": ctype, "Content-Length": str(len(body))}
        if headers:
            h.update(headers)
        self.send_head(status, h)
        self.send_body(body)
        return self.client_keep_alive

    def error_page(self, status):
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        text = "%d %s" % (status, phrase)
        return ("<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n"
                % (text, text, html.escape(self.path))).encode()

    def serve_file(self):
        try:
            body = self.file_body()
        except BadRequest:
            return self.respond(400, self.error_page(400))
        if body is None:
            return self.respond(404, self.error_page(404))
        return self.respond(200, body, self.content_type())


class BadRequest(Exception):
    """A synthetic image request that is not valid IIIF (answered 400)."""


class Synth:
    """One synthetic IIIF image: a grayscale PGM and an info.json template."""

    def __init__(self, prefix, image, info, any_id=False):
        import numpy  # noqa: F401  (fail at start-up when missing)
        import cv2
        self.cv2 = cv2
        self.prefix = "/" + prefix.strip("/")
        self.any_id = any_id
        self.img = cv2.imread(image, cv2.IMREAD_GRAYSCALE)
        if self.img is None:
            raise ValueError("cannot read %s" % image)
        with open(info, encoding="utf-8") as f:
            self.info = json.load(f)
        self.H, self.W = self.img.shape

    def info_json(self, req, prefix):
        doc = dict(self.info)
        base = "http://%s:%d%s" % (req.server.host, req.server.port,
                                   urllib.parse.quote(prefix, safe="/"))
        doc["id" if "id" in doc else "@id"] = base
        doc["width"], doc["height"] = self.W, self.H
        return (json.dumps(doc, indent=1) + "\n").encode()

    def region(self, spec):
        W, H = self.W, self.H
        if spec == "full":
            return 0, 0, W, H
        if spec == "square":
            s = min(W, H)
            return (W - s) // 2, (H - s) // 2, s, s
        m = re.fullmatch(r"(\d+),(\d+),(\d+),(\d+)", spec)
        if not m:
            raise BadRequest()
        x, y, w, h = map(int, m.groups())
        if w == 0 or h == 0 or x >= W or y >= H:
            raise BadRequest()
        return x, y, min(w, W - x), min(h, H - y)

    @staticmethod
    def size(spec, w, h):
        if spec in ("full", "max"):
            return w, h
        m = re.fullmatch(r"pct:(\d+(?:\.\d+)?)", spec)
        if m:
            f = float(m.group(1)) / 100.0
            return max(1, round(w * f)), max(1, round(h * f))
        m = re.fullmatch(r"(!?)(\d*),(\d*)", spec)
        if not m or (m.group(2) == "" and m.group(3) == ""):
            raise BadRequest()
        bang, sw, sh = m.group(1), m.group(2), m.group(3)
        if sw and not sh:
            return int(sw), max(1, round(h * int(sw) / w))
        if sh and not sw:
            return max(1, round(w * int(sh) / h)), int(sh)
        sw, sh = int(sw), int(sh)
        if bang:
            f = min(sw / w, sh / h)
            return max(1, round(w * f)), max(1, round(h * f))
        return sw, sh

    def body(self, req, prefix):
        rest = req.path[len(prefix):].strip("/")
        if rest == "info.json":
            return self.info_json(req, prefix)
        parts = rest.split("/")
        if len(parts) != 4 or parts[2] != "0" or not re.fullmatch(
                r"(default|native|gray|color)\.jpg", parts[3]):
            raise BadRequest()
        x, y, w, h = self.region(parts[0])
        ow, oh = self.size(parts[1], w, h)
        if ow <= 0 or oh <= 0:
            raise BadRequest()
        if req.clamp and (ow > req.clamp or oh > req.clamp):
            f = min(req.clamp / ow, req.clamp / oh)
            ow, oh = max(1, int(ow * f)), max(1, int(oh * f))
        ow, oh = max(1, ow + req.resize[0]), max(1, oh + req.resize[1])
        crop = self.img[y:y + h, x:x + w]
        if (ow, oh) != (w, h):
            crop = self.cv2.resize(crop, (ow, oh), interpolation=self.cv2.INTER_AREA)
        ok, enc = self.cv2.imencode(".jpg", crop, [self.cv2.IMWRITE_JPEG_QUALITY, 100])
        if not ok:
            raise BadRequest()
        return enc.tobytes()


def need_file(req):
    """Body of the requested file; answers 404 (400 for a bad synthetic request)
    and returns None when there is none."""
    try:
        body = req.file_body()
    except BadRequest:
        req.respond(400, req.error_page(400))
        return None
    if body is None:
        req.respond(404, req.error_page(404))
    return body


def int_arg(args, i, default):
    return int(args[i]) if len(args) > i and args[i] != "" else default


# --------------------------------------------------------------------------------------------
# the fault table: each returns True to keep the connection open


@fault("ok")
def f_ok(req, args, rule):
    return req.serve_file()


@fault("status")
def f_status(req, args, rule):
    code = int_arg(args, 0, 500)
    return req.respond(code, req.error_page(code))


@fault("html200")
def f_html200(req, args, rule):
    page = (b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\n"
            b"<body><h1>Welcome to our digital library</h1>\n"
            b"<p>The page you asked for has moved. Please use the search.</p></body></html>\n")
    return req.respond(200, page, "text/html; charset=utf-8")


def send_prefix(req, args):
    """Promise the whole file in Content-Length, send only its first N bytes
    (default half). False when there is no such file (a 404 went out)."""
    body = need_file(req)
    if body is None:
        return False
    n = int_arg(args, 0, len(body) // 2)
    req.send_head(200, {"Content-Type": req.content_type(), "Content-Length": str(len(body))})
    req.send_body(body[:n])
    return True


@fault("truncate")
def f_truncate(req, args, rule):
    if not send_prefix(req, args):
        return req.client_keep_alive
    return False


@fault("chunked")
def f_chunked(req, args, rule):
    body = need_file(req)
    if body is None:
        return req.client_keep_alive
    size = max(1, int_arg(args, 0, 64))
    req.send_head(200, {"Content-Type": req.content_type(), "Transfer-Encoding": "chunked"})
    if req.method == "HEAD":
        return req.client_keep_alive
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        req.sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
    req.sock.sendall(b"0\r\n\r\n")
    return req.client_keep_alive


@fault("delay")
def f_delay(req, args, rule):
    if STOP.wait(int_arg(args, 0, 1000) / 1000.0):
        return False
    return req.serve_file()


@fault("close")
def f_close(req, args, rule):
    req.log(0)
    return False


@fault("redirect")
def f_redirect(req, args, rule):
    code = int_arg(args, 0, 302)
    location = ":".join(args[1:]) if len(args) > 1 else "/"
    location = (location.replace("{host}", req.server.host)
                .replace("{port}", str(req.server.port))
                .replace("{path}", req.raw_path))
    page = ("<html><body>Moved to <a href=\"%s\">%s</a></body></html>\n"
            % (html.escape(location), html.escape(location))).encode()
    return req.respond(code, page, headers={"Location": location})


@fault("stall")
def f_stall(req, args, rule):
    if not send_prefix(req, args):
        return req.client_keep_alive
    # hang until the client gives up (or the server stops), so that a stalled
    # request does not count as in flight for ever
    while not STOP.is_set():
        ready, _, _ = select.select([req.sock], [], [], 0.2)
        if ready and not req.sock.recv(4096):
            break
    return False


@fault("hold")
def f_hold(req, args, rule):
    req.log(0)
    while not STOP.is_set():
        ready, _, _ = select.select([req.sock], [], [], 0.2)
        if ready and not req.sock.recv(4096):
            break
    return False


@fault("nolength")
def f_nolength(req, args, rule):
    body = need_file(req)
    if body is None:
        return req.client_keep_alive
    req.send_head(200, {"Content-Type": req.content_type()}, keep_alive=False)
    req.send_body(body)
    return False


@fault("gzip")
def f_gzip(req, args, rule):
    body = need_file(req)
    if body is None:
        return req.client_keep_alive
    return req.respond(200, gzip.compress(body, mtime=0), req.content_type(),
                       {"Content-Encoding": "gzip"})


@fault("dropkeepalive")
def f_dropkeepalive(req, args, rule):
    req.serve_file()
    return False


@fault("garbage")
def f_garbage(req, args, rule):
    req.log(0)
    req.sock.sendall(b"SPAM SPAM SPAM\r\nwonderful spam\r\n\r\n")
    return False


@fault("clamp")
def f_clamp(req, args, rule):
    req.clamp = int_arg(args, 0, 1000)
    return req.serve_file()


@fault("wrongsize")
def f_wrongsize(req, args, rule):
    req.resize = (int_arg(args, 0, -40), int_arg(args, 1, -40))
    return req.serve_file()


# --------------------------------------------------------------------------------------------
# server


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        conn_id = srv.next_conn_id()
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_TIMEOUT)
        rfile = sock.makefile("rb")
        try:
            while not STOP.is_set():
                req = self.read_request(rfile, sock, conn_id)
                if req is None:
                    return
                req.inflight = srv.enter()
                try:
                    keep = self.answer(srv, req)
                finally:
                    srv.leave()
                if not keep or not req.client_keep_alive:
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                rfile.close()
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def answer(srv, req):
        rule = srv.rules.pick(req.path)
        if rule is None:
            return req.serve_file()
        name, *args = rule.fault.split(":")
        req.fault_spec = rule.fault
        req.extra_headers = rule.headers
        return FAULTS[name](req, args, rule)

    def read_request(self, rfile, sock, conn_id):
        line = rfile.readline(MAX_HEADER_BYTES)
        while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
            line = rfile.readline(MAX_HEADER_BYTES)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            self.server.log_line("- %r 400 %d -" % (line[:80], conn_id))
            return None
        method, target, version = parts
        headers = {}
        total = len(line)
        while True:
            h = rfile.readline(MAX_HEADER_BYTES)
            total += len(h)
            if not h or total > MAX_HEADER_BYTES:
                return None
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > 0:
            rfile.read(length)  # GET only in practice; drain any body
        return Request(self.server, sock, conn_id, method, target, version, headers)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, host, port, root, rules, log_path, synths=()):
        super().__init__((host, port), Handler)
        self.host = host
        self.port = self.server_address[1]
        self.root = os.path.abspath(root)
        self.rules = rules
        self._conn_lock = threading.Lock()
        self._conn_id = 0
        self._log_lock = threading.Lock()
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.synths = list(synths)
        self._inflight = 0

    def synth_for(self, path):
        """(Synth, its image's prefix) for a synthetic path, else (None, None)."""
        for sy in self.synths:
            if sy.any_id:
                if path.startswith(sy.prefix + "/"):
                    ident = path[len(sy.prefix) + 1:].split("/", 1)[0]
                    if ident:
                        return sy, sy.prefix + "/" + ident
            elif path == sy.prefix or path.startswith(sy.prefix + "/"):
                return sy, sy.prefix
        return None, None

    def enter(self):
        with self._conn_lock:
            self._inflight += 1
            return self._inflight

    def leave(self):
        with self._conn_lock:
            self._inflight -= 1

    def next_conn_id(self):
        with self._conn_lock:
            self._conn_id += 1
            return self._conn_id

    def log_line(self, text):
        if self._log is None:
            return
        with self._log_lock:
            self._log.write(text + "\n")
            self._log.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="directory to serve")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port (default)")
    ap.add_argument("--log", help="request log file (appended)")
    ap.add_argument("--scenario", help="JSON rule file, re-read when it changes")
    ap.add_argument("--fault", nargs=2, action="append", default=[],
                    metavar=("PATTERN", "SPEC"), help="add a rule (after the scenario's)")
    ap.add_argument("--synth", nargs=3, action="append", default=[],
                    metavar=("PREFIX", "IMAGE", "INFO"),
                    help="serve a synthetic IIIF image (see the module text)")
    ap.add_argument("--synth-any", nargs=3, action="append", default=[],
                    metavar=("PREFIX", "IMAGE", "INFO"),
                    help="serve it for any identifier below PREFIX (see the module text)")
    opts = ap.parse_args()

    if not os.path.isdir(opts.root):
        ap.error("--root %s is not a directory" % opts.root)
    try:
        rules = RuleSet(opts.scenario, opts.fault)
    except (ValueError, OSError) as e:
        ap.error(str(e))

    try:
        synths = [Synth(*a) for a in opts.synth] + \
            [Synth(*a, any_id=True) for a in opts.synth_any]
    except (ValueError, OSError, ImportError) as e:
        ap.error("--synth: %s" % e)
    srv = Server(opts.host, opts.port, opts.root, rules, opts.log, synths)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(srv.port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        STOP.set()
        srv.server_close()


if __name__ == "__main__":
    main()
