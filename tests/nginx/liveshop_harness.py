"""Test harness for liveshop's nginx module: real nginx (2 workers) with
nginx-rtmp, an ffmpeg publisher, ffprobe RTMP subscribers, the HTTP API,
and an RFC 8216bis checker for the playlists we serve.

Only the standard library is used, so the tests run with Debian's
python3 + python3-pytest and nothing else.

Everything that runs has a time bound: a hung nginx, ffmpeg or ffprobe is
killed, never waited for forever.
"""

import base64
import datetime as _dt
import email.message
import hashlib
import hmac
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

NGINX = os.environ.get("LIVESHOP_NGINX", "/usr/sbin/nginx")
RTMP_MODULE = os.environ.get(
    "LIVESHOP_RTMP_MODULE", "/usr/lib/nginx/modules/ngx_rtmp_module.so")
FFMPEG = os.environ.get("LIVESHOP_FFMPEG", "/usr/bin/ffmpeg")
FFPROBE = os.environ.get("LIVESHOP_FFPROBE", "/usr/bin/ffprobe")
STDBUF = shutil.which("stdbuf") or "/usr/bin/stdbuf"

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_MODULE = os.path.join(
    REPO, "build", "nginx-module", "ngx_live_shop_module.so")
DEFAULT_ARTIFACTS = os.path.join(REPO, "build", "test-artifacts")

APP = "live"
NAME = "demo"
STREAM = APP + "/" + NAME
SECRET = "test-secret-\u00e9-0123456789abcdef"  # non-ASCII on purpose

# Error-log lines that fail a run whatever the test did.
BAD_LOG = re.compile(
    r"\[(alert|emerg|crit)\]|signal 11|exited on signal|"
    r"AddressSanitizer|runtime error:")


# --------------------------------------------------------------------------
# small helpers


def module_path():
    """The module under test: $LIVESHOP_MODULE, else the build tree's."""
    return os.environ.get("LIVESHOP_MODULE") or DEFAULT_MODULE


def artifacts_root():
    return os.environ.get("LIVESHOP_ARTIFACTS") or DEFAULT_ARTIFACTS


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until it returns a true value, which is returned.
    Raises TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s"
                               % (timeout, what))
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret, stream, expires=0):
    """SPEC §5 token, written independently of the C core:
    "ls1." B64URL(stream) "." EXPIRES "." B64URL(HMAC-SHA256(secret, head))"""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    head = "ls1." + b64url(stream) + "." + str(int(expires))
    mac = hmac.new(secret, head.encode("ascii"), hashlib.sha256).digest()
    return head + "." + b64url(mac)


_libc = None


def _die_with_parent(sig=signal.SIGKILL):
    """preexec_fn: the child gets sig when the test process dies, so a run
    killed by ctest's timeout leaves no nginx, ffmpeg or ffprobe behind."""
    def fn():
        global _libc
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, int(sig), 0, 0, 0)   # PR_SET_PDEATHSIG
    return fn


def now_ms():
    return int(time.time() * 1000)


# --------------------------------------------------------------------------
# ISO-8601 (RFC 8216bis 4.2 "date-time-msec" and SPEC §3 "UTC with ms")

ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(Z|[+-]\d{2}:?\d{2})$")
SPEC_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def parse_iso(s):
    """ISO-8601 date-time with a time zone -> Unix seconds (float).
    Raises ValueError when s is not one."""
    m = ISO_RE.match(s)
    if not m:
        raise ValueError("not an ISO-8601 date-time with zone: %r" % s)
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    frac = float(m.group(7)) if m.group(7) else 0.0
    tz = m.group(8)
    if tz == "Z":
        off = 0
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        off = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    t = _dt.datetime(y, mo, d, h, mi, sec, tzinfo=_dt.timezone.utc)
    return t.timestamp() + frac - off


def parse_spec_time(s):
    """SPEC §3 time ("2026-11-24T10:00:00.123Z") -> Unix ms (int)."""
    if not isinstance(s, str) or not SPEC_TIME_RE.match(s):
        raise ValueError("not a UTC time with milliseconds: %r" % (s,))
    return int(round(parse_iso(s) * 1000))


def format_spec_time(ms):
    t = _dt.datetime.fromtimestamp(ms // 1000, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


# --------------------------------------------------------------------------
# AMF0 (the body of RTMP data messages, SPEC §6)


class AmfError(ValueError):
    pass


class AmfReader:
    def __init__(self, data):
        self.d = bytes(data)
        self.i = 0

    def _take(self, n):
        if self.i + n > len(self.d):
            raise AmfError("truncated AMF0 at %d (+%d of %d)"
                           % (self.i, n, len(self.d)))
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def _utf8(self, n):
        raw = self._take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AmfError("AMF0 string is not UTF-8: %s" % e)

    def _props(self):
        obj = {}
        while True:
            (klen,) = struct.unpack(">H", self._take(2))
            if klen == 0:
                end = self._take(1)
                if end != b"\x09":
                    raise AmfError("object key of length 0 not followed by "
                                   "object-end at %d" % (self.i - 1))
                return obj
            key = self._utf8(klen)
            if key in obj:
                raise AmfError("duplicate key %r in AMF0 object" % key)
            obj[key] = self.value()

    def value(self):
        t = self._take(1)[0]
        if t == 0x00:
            return struct.unpack(">d", self._take(8))[0]
        if t == 0x01:
            return self._take(1)[0] != 0
        if t == 0x02:
            (n,) = struct.unpack(">H", self._take(2))
            return self._utf8(n)
        if t == 0x03:
            return self._props()
        if t in (0x05, 0x06):
            return None
        if t == 0x08:  # ECMA array: count, then like an object
            self._take(4)
            return self._props()
        if t == 0x0A:  # strict array
            (n,) = struct.unpack(">I", self._take(4))
            return [self.value() for _ in range(n)]
        if t == 0x0C:
            (n,) = struct.unpack(">I", self._take(4))
            return self._utf8(n)
        raise AmfError("unsupported AMF0 type 0x%02x at %d" % (t, self.i - 1))

    def all(self):
        out = []
        while self.i < len(self.d):
            out.append(self.value())
        return out


def amf0_decode(data):
    """All AMF0 values in data, in order."""
    return AmfReader(data).all()


def amf0_encode(v):
    """Minimal AMF0 writer, used to test the reader."""
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + (b"\x01" if v else b"\x00")
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", float(v))
    if isinstance(v, str):
        raw = v.encode("utf-8")
        if len(raw) > 0xFFFF:
            return b"\x0c" + struct.pack(">I", len(raw)) + raw
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kr = k.encode("utf-8")
            out += struct.pack(">H", len(kr)) + kr + amf0_encode(x)
        return out + b"\x00\x00\x09"
    raise TypeError(type(v))


# --------------------------------------------------------------------------
# HTTP API


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("response is not JSON (%s): status %d, "
                                 "body %r" % (e, self.status, self.body[:500]))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def http_request(url, method="GET", body=None, headers=None, timeout=10):
    """One HTTP request on a fresh connection. body may be bytes, str or a
    JSON-able object. Never raises for HTTP status codes."""
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        try:
            data = e.read()
        except Exception:  # noqa: BLE001 - body is best effort
            data = b""
        return Response(e.code, e.headers, data)


def raw_http(sock, url, method="GET", headers=None, body=b"", timeout=5):
    """HTTP/1.0 request over an already connected socket (whose worker the
    caller chose). Returns a Response."""
    m = re.match(r"^http://[^/]+(/.*)$", url)
    path = m.group(1)
    lines = ["%s %s HTTP/1.0" % (method, path), "Host: 127.0.0.1",
             "Content-Length: %d" % len(body)]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    sock.settimeout(timeout)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    head, _, content = data.partition(b"\r\n\r\n")
    hl = head.decode("iso-8859-1").split("\r\n")
    status = int(hl[0].split()[1])
    hdrs = email.message.Message()
    for ln in hl[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip()] = v.strip()
    return Response(status, hdrs, content)


class Api:
    """The SPEC §5 API of one stream under /shop/."""

    def __init__(self, http_port, stream=STREAM, token=None, prefix="/shop"):
        self.base = "http://127.0.0.1:%d%s" % (http_port, prefix)
        self.stream = stream
        self.token = token

    def url(self, rest, stream=None):
        return "%s/v1/streams/%s%s" % (self.base, stream or self.stream, rest)

    def call(self, method, rest, body=None, token="default", stream=None,
             headers=None, timeout=10):
        h = dict(headers or {})
        if token == "default":
            token = self.token
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return http_request(self.url(rest, stream), method, body, h, timeout)

    def put_offer(self, offer, **kw):
        return self.call("PUT", "/offers/" + offer["id"], offer, **kw)

    def offers(self, **kw):
        return self.call("GET", "/offers", **kw)

    def pin(self, offer_id, duration=None, at=None, **kw):
        body = {"offer": offer_id}
        if duration is not None:
            body["duration"] = duration
        if at is not None:
            body["at"] = at
        return self.call("POST", "/pin", body, **kw)

    def unpin(self, **kw):
        return self.call("POST", "/unpin", b"", **kw)

    def ask(self, text, session, name=None, **kw):
        """A viewer's question (SPEC §15): no token."""
        body = {"text": text, "session": session}
        if name is not None:
            body["name"] = name
        return self.call("POST", "/questions", body, token=None, **kw)

    def asked(self, text, session, name=None):
        """The id of a viewer's question the server took (202)."""
        r = self.ask(text, session, name)
        assert r.status == 202, r
        return r.json()["id"]

    def state(self, **kw):
        return self.call("GET", "/state", token=None, **kw)

    def countdown(self, seconds, label=None, offer_id=None, at=None, **kw):
        body = {"seconds": seconds}
        if label is not None:
            body["label"] = label
        if offer_id is not None:
            body["offer"] = offer_id
        if at is not None:
            body["at"] = at
        return self.call("POST", "/countdown", body, **kw)

    def disclose(self, kind, text=None, **kw):
        body = {"kind": kind}
        if text is not None:
            body["text"] = text
        return self.call("POST", "/disclosure", body, **kw)

    def hide(self, **kw):
        return self.call("DELETE", "/disclosure", **kw)

    def report(self, **kw):
        return self.call("GET", "/report", **kw)

    def events_path(self, last_event_id=None):
        """The path of the SSE resource (for SseClient and SseCrowd)."""
        path = "%s/v1/streams/%s/events" % (
            re.sub(r"^http://[^/]+", "", self.base), self.stream)
        if last_event_id is not None:
            path += "?last_event_id=%s" % last_event_id
        return path


def offer(offer_id, title=None, **extra):
    """A valid SPEC §2 offer with a short url (the RTMP path needs AMF
    strings below 1024 bytes)."""
    o = {
        "id": offer_id,
        "title": title if title is not None else "Offer " + offer_id,
        "price": "19.99",
        "currency": "EUR",
        "url": "https://shop.example/p/" + offer_id,
    }
    o.update(extra)
    return o


# --------------------------------------------------------------------------
# nginx


def make_conf(d, rtmp_port, http_port, module=None, secret=SECRET,
              workers=2, zone="live_shop_zone liveshop 16m;",
              hls_directive="live_shop_hls on;", extra_http="",
              extra_app="", user_root=None, extra_modules=None,
              journal=None, journal_fsync=None, journal_max_size=None,
              locale=None, sse_ping=None, webhooks=None, extra_server="",
              noop=False, notify=None):
    """The nginx.conf of the conventions. module=None leaves every liveshop
    directive out (stock nginx + nginx-rtmp, to check the harness).

    journal, journal_fsync ("on"/"off"), journal_max_size ("64m"), locale
    ("en"/"de") and sse_ping ("15s") add the http{} directives
    live_shop_journal, live_shop_journal_fsync, live_shop_journal_max_size,
    live_shop_locale and live_shop_sse_ping; None leaves one out (the
    module's default). journal=True puts the journal in D/journal.

    webhooks adds purchase-webhook locations (SPEC §9) to the server: a
    dict {provider: secret} gives `location = /hooks/PROVIDER {
    live_shop_webhook PROVIDER secret=SECRET; }` each; a list of
    (path, provider, secret) chooses the paths. noop=True adds
    `location = /noop { return 204; }` (the bench's baseline);
    extra_server is put verbatim into the server{} block.

    notify adds outgoing webhooks (SPEC §10) to http{}: a (URL, SECRET)
    pair gives `live_shop_notify URL secret=SECRET;`, a list of pairs one
    such line each, a str the directive's arguments verbatim; a third
    item {NAME: VALUE} adds `live_shop_notify_NAME VALUE;` lines
    (ssl_verify, ssl_trusted_certificate)."""
    if user_root is None:
        user_root = os.geteuid() == 0
    shop = module is not None
    lines = []
    w = lines.append
    w("load_module %s;" % RTMP_MODULE)
    if shop:
        w("load_module %s;" % module)
    if extra_modules is None:
        # A diagnostic aid: more modules to load, e.g. to try a fix of
        # nginx-rtmp without the liveshop module.
        extra_modules = os.environ.get("LIVESHOP_EXTRA_MODULES", "").split()
    for m in extra_modules:
        w("load_module %s;" % m)
    w("worker_processes %d;" % workers)
    w("daemon off;")
    w("master_process on;")
    w("pid %s/nginx.pid;" % d)
    w("error_log %s/error.log info;" % d)
    if user_root:
        w("user root;")
    w("events { worker_connections 4096; }")
    # rtmp_auto_push: subscribers in the other worker get the stream.
    w("rtmp_auto_push on;")
    w("rtmp_socket_dir %s;" % d)
    w("rtmp {")
    w("  server {")
    w("    listen 127.0.0.1:%d;" % rtmp_port)
    w("    application %s {" % APP)
    w("      live on;")
    w("      hls on; hls_path %s/hls; hls_fragment 1s; "
      "hls_playlist_length 10s;" % d)
    w("      hls_fragment_naming system;")
    if shop:
        w("      live_shop on;")
    if extra_app:
        w("      " + extra_app)
    w("    }")
    w("  }")
    w("}")
    w("http {")
    # $pid in the access log tells which worker answered a request.
    w("  log_format lstest '$pid $status \"$request\" $request_time $msec';")
    w("  access_log %s/access.log lstest;" % d)
    w("  client_body_temp_path %s/tmp/body; proxy_temp_path %s/tmp/proxy; "
      "fastcgi_temp_path %s/tmp/fcgi; uwsgi_temp_path %s/tmp/uwsgi; "
      "scgi_temp_path %s/tmp/scgi;" % (d, d, d, d, d))
    if shop:
        if zone:
            w("  " + zone)
        if secret is not None:
            w("  live_shop_secret %s;" % nginx_quote(secret))
        if journal is True:
            journal = os.path.join(d, "journal")
        for directive, value in (("live_shop_journal", journal),
                                 ("live_shop_journal_fsync", journal_fsync),
                                 ("live_shop_journal_max_size",
                                  journal_max_size),
                                 ("live_shop_locale", locale),
                                 ("live_shop_sse_ping", sse_ping)):
            if value is not None:
                w("  %s %s;" % (directive, value))
        for args in notify_directives(notify):
            w("  live_shop_notify%s;" % args)
    if extra_http:
        w("  " + extra_http)
    w("  server {")
    w("    listen 127.0.0.1:%d;" % http_port)
    if shop:
        w("    location /shop/ { live_shop_api; }")
    for path, provider, wsecret in webhook_locations(webhooks):
        w("    location = %s { live_shop_webhook %s %s; }" % (
            path, provider, nginx_word("secret=" + wsecret)))
    if noop:
        w("    location = /noop { return 204; }")
    if extra_server:
        w("    " + extra_server)
    w("    location /hls/ {")
    if shop and hls_directive:
        w("      " + hls_directive)
    w("      alias %s/hls/;" % d)
    w("      types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }")
    w("      add_header Cache-Control no-cache;")
    w("    }")
    w("  }")
    w("}")
    return "\n".join(lines) + "\n"


def nginx_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nginx_word(s):
    """s as one nginx config word: bare when that is safe, else quoted."""
    if re.match(r"^[A-Za-z0-9_./+=:@%-]+$", s):
        return s
    return nginx_quote(s)


def webhook_locations(webhooks):
    """[(path, provider, secret)] of make_conf's webhooks parameter."""
    if not webhooks:
        return []
    if isinstance(webhooks, dict):
        return [("/hooks/" + p, p, sec) for p, sec in webhooks.items()]
    return [tuple(x) for x in webhooks]


def notify_directives(notify):
    """The argument strings of make_conf's notify parameter."""
    if not notify:
        return []
    if isinstance(notify, str):
        return [" " + notify]
    if isinstance(notify, tuple):
        notify = [notify]
    out = []
    for url, sec, *more in notify:
        out.append(" %s %s" % (nginx_word(url), nginx_word("secret=" + sec)))
        for name, value in (more[0] if more else {}).items():
            out.append("_%s %s" % (name, nginx_word(value)))
    return out


def make_prefix(base=None):
    d = tempfile.mkdtemp(prefix="liveshop-", dir=base)
    for sub in ("hls", "tmp", "logs", "playlists", "subscribers"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    return d


def nginx_test_config(d, conf_text, timeout=20):
    """`nginx -t` on conf_text; returns (returncode, stderr text)."""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    p = subprocess.run([NGINX, "-t", "-p", d + "/", "-c", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class Nginx:
    def __init__(self, d, rtmp_port, http_port, conf_text, env=None):
        """env: variables nginx is started with, on top of ours (e.g.
        LD_PRELOAD of a fault injector)."""
        self.d = d
        self.env = env
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.conf_path = os.path.join(d, "nginx.conf")
        with open(self.conf_path, "w") as f:
            f.write(conf_text)
        self.proc = None
        self.stderr = None
        # regexes of error.log lines a test expects (not problems)
        self.allow_log = []

    @property
    def error_log(self):
        return os.path.join(self.d, "error.log")

    @property
    def access_log(self):
        return os.path.join(self.d, "access.log")

    def start(self, timeout=20):
        # "ab": a restarted nginx (after kill -9, say) keeps what the
        # first one said.
        self.stderr = open(os.path.join(self.d, "nginx.stderr"), "ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.d + "/", "-c", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=self.stderr,
            stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, **self.env) if self.env else None,
            preexec_fn=_die_with_parent(signal.SIGTERM))
        try:
            wait_for(lambda: self.proc.poll() is not None or
                     (port_open(self.rtmp_port) and port_open(self.http_port)
                      and len(self.workers()) >= 1),
                     timeout, what="nginx to listen")
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with %s:\n%s" % (
                    self.proc.returncode, self.read_tail()))
        except Exception:
            self.stop()
            raise

    def read_tail(self, n=40):
        out = []
        for p in (os.path.join(self.d, "nginx.stderr"), self.error_log):
            try:
                with open(p, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
                out.append("== %s ==\n%s" % (p, "\n".join(lines[-n:])))
            except OSError:
                pass
        return "\n".join(out)

    def workers(self):
        """PIDs of the worker processes (children of the master)."""
        if self.proc is None:
            return []
        return [p for p in children_of(self.proc.pid)
                if "worker process" in cmdline(p)]

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGQUIT)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    # Kill master and workers; they share our new session.
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(timeout=5)
        if self.stderr:
            self.stderr.close()
            self.stderr = None

    def signal_cmd(self, sig, timeout=10):
        """`nginx -s SIG` (stop, quit, reload, reopen) on this prefix, as an
        operator types it; returns (returncode, output)."""
        p = subprocess.run([NGINX, "-p", self.d + "/", "-c", self.conf_path,
                            "-s", sig], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        """The master and all its children."""
        if not self.running():
            return []
        return [self.proc.pid] + children_of(self.proc.pid)

    def ctl_stop(self, timeout=15):
        """`nginx -s stop` (fast shutdown), waiting for the master to end."""
        rc, out = self.signal_cmd("stop")
        if rc != 0:
            raise RuntimeError("nginx -s stop: %s" % out)
        self.proc.wait(timeout=timeout)
        self._close_stderr()

    def kill9(self, timeout=10):
        """SIGKILL to the master and every worker, by PID. The master goes
        first: were a worker killed first, the master would start a new
        one. Returns the PIDs killed once they are all gone."""
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=timeout)
        for p in pids[1:]:
            # orphans: init reaps them (or they stay zombies, which hold
            # nothing)
            wait_for(lambda: proc_state(p) in (None, "Z", "X"), timeout,
                     0.01, "nginx process %d to die" % p)
        self._close_stderr()
        return pids

    def reload(self, timeout=15, nworkers=2):
        """`nginx -s reload`; waits until the old workers have exited and
        nworkers new ones run. Returns the new worker PIDs."""
        old = set(self.workers())
        rc, out = self.signal_cmd("reload")
        if rc != 0:
            raise RuntimeError("nginx -s reload: %s" % out)

        def done():
            now = set(self.workers())
            return sorted(now) if not (now & old) and \
                len(now) >= nworkers else None
        try:
            return wait_for(done, timeout, 0.05,
                            "old workers %s to exit after reload" %
                            sorted(old))
        except TimeoutError as e:
            left = [(p, cmdline(p)) for p in self.workers() if p in old]
            raise TimeoutError("%s; still running: %r" % (e, left))

    def _close_stderr(self):
        if self.stderr:
            self.stderr.close()
            self.stderr = None

    def rss(self):
        """{pid: {"VmRSS":kB, "RssAnon":kB, "RssFile":kB, "RssShmem":kB}}
        of the master and its workers (from /proc/PID/status)."""
        out = {}
        for p in self.pids():
            fields = {}
            try:
                with open("/proc/%d/status" % p) as f:
                    for ln in f:
                        k, _, v = ln.partition(":")
                        if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                            fields[k] = int(v.split()[0])
            except OSError:
                continue
            out[p] = fields
        return out

    def rss_total(self):
        """Sum of VmRSS (kB) over the master and its workers."""
        return sum(v.get("VmRSS", 0) for v in self.rss().values())

    def error_log_problems(self):
        """Lines of error.log that fail any run."""
        try:
            with open(self.error_log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        return [ln for ln in text.splitlines() if BAD_LOG.search(ln) and
                not any(a.search(ln) for a in self.allow_log)]

    def access_pids(self, needle):
        """The worker PIDs that answered requests whose line holds needle."""
        pids = []
        try:
            with open(self.access_log) as f:
                for ln in f:
                    if needle in ln:
                        pids.append(int(ln.split(" ", 1)[0]))
        except OSError:
            pass
        return pids


def proc_state(pid):
    """The one-letter state of a process ("S", "R", "T" = stopped...),
    None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # the command may hold spaces and parentheses: split after the last ')'
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == pid:
            out.append(int(entry))
    return sorted(out)


# --------------------------------------------------------------------------
# which worker holds a TCP connection (from /proc, no `ss` needed)


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        pass
    return inodes


def _tcp_table():
    """inode -> (local_port, remote_port) of IPv4 loopback TCP sockets."""
    table = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            parts = ln.split()
            local, remote, inode = parts[1], parts[2], int(parts[9])
            table[inode] = (int(local.split(":")[1], 16),
                            int(remote.split(":")[1], 16))
    return table


def worker_of_client(client_pid, server_port, worker_pids):
    """The nginx worker PID that serves client_pid's connection to
    server_port, or None if it cannot be told (yet)."""
    table = _tcp_table()
    client_ports = {table[i][0] for i in _socket_inodes(client_pid)
                    if i in table and table[i][1] == server_port}
    if not client_ports:
        return None
    for w in worker_pids:
        for i in _socket_inodes(w):
            if i in table and table[i][0] == server_port and \
                    table[i][1] in client_ports:
                return w
    return None


def _owner_of_server_side(server_port, client_port, pids):
    table = _tcp_table()
    for w in pids:
        for i in _socket_inodes(w):
            if table.get(i) == (server_port, client_port):
                return w
    return None


def workers_of_clients(server_port, client_ports, workers):
    """{client port: the worker PID holding the server side} for many
    connections at once (one pass over /proc)."""
    table = _tcp_table()
    want = set(client_ports)
    out = {}
    for w in workers:
        for i in _socket_inodes(w):
            lr = table.get(i)
            if lr and lr[0] == server_port and lr[1] in want:
                out[lr[1]] = w
    return out


class stopped_workers:
    """Context manager: SIGSTOPs the given nginx workers, SIGCONTs them on
    exit. A stopped worker is not waiting in epoll_wait, so with
    EPOLLEXCLUSIVE (nginx's default on Linux) the kernel hands a new
    connection on a shared listening socket to a worker that is: this is
    how the tests choose the worker a client lands in. Keep the block
    short: everything the stopped workers serve stalls meanwhile."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.stopped = []

    def __enter__(self):
        try:
            for p in self.pids:
                os.kill(p, signal.SIGSTOP)
                self.stopped.append(p)
            # kill() returns before the worker stops. One still in
            # epoll_wait would take the connection's wake-up and then stop
            # without accepting, so wait until each one has stopped.
            for p in self.pids:
                wait_for(lambda: proc_state(p) in ("T", "t", None), 5,
                         0.001, "worker %d to stop" % p)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for p in self.stopped:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.stopped = []
        return False


def connect_in_worker(port, target, workers, timeout=5, attempts=3):
    """A TCP connection to 127.0.0.1:port that worker `target` accepted."""
    others = [w for w in workers if w != target]
    last = None
    for _ in range(attempts):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with stopped_workers(others):
                s.settimeout(timeout)
                s.connect(("127.0.0.1", port))
                lport = s.getsockname()[1]
                owner = wait_for(lambda: _owner_of_server_side(
                    port, lport, workers), timeout, 0.002,
                    "worker %d to accept" % target)
            if owner == target:
                s.settimeout(None)
                return s
            last = "accepted by %d" % owner
        except (OSError, TimeoutError) as e:
            last = str(e)
        s.close()
    raise RuntimeError("could not get a connection into worker %d: %s"
                       % (target, last))


class TcpRelay:
    """Listens on a loopback port, accepts one client and pumps bytes
    between it and an already connected upstream socket. Lets ffprobe use
    a connection whose nginx worker the test chose."""

    def __init__(self, upstream, label="relay"):
        self.upstream = upstream
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.lsock.settimeout(30)
        self.port = self.lsock.getsockname()[1]
        self.client = None
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=label)
        self.thread.start()

    def _pump(self, src, dst):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                dst.sendall(b)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _run(self):
        try:
            self.client, _ = self.lsock.accept()
        except OSError:
            self.upstream.close()
            return
        finally:
            self.lsock.close()
        t = threading.Thread(target=self._pump,
                             args=(self.upstream, self.client), daemon=True)
        t.start()
        self._pump(self.client, self.upstream)
        t.join(timeout=5)

    def close(self):
        for sock in (self.lsock, self.client, self.upstream):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        self.thread.join(timeout=5)


# --------------------------------------------------------------------------
# ffmpeg publisher


_realtime_opts = None


def realtime_input_opts():
    """ffmpeg's input options for a publisher that sends in real time, as a
    camera and encoder do. Since ffmpeg 6.1, -re first bursts 0.5 s of
    input (-readrate_initial_burst): nginx-rtmp then opens the second
    segment 0.5 s early by the clock and its PROGRAM-DATE-TIME step is
    ~0.5 s short of its EXTINF (seen with Debian 13's ffmpeg 7.1: 0.44 s
    steps). No live source does that, so the burst is cut to 1 ms where
    ffmpeg has it (0 means "the default", 0.5 s; measured on 7.1: the
    first step 0.954 s, then 1.000 s, as with 5.1). Debian 12's ffmpeg
    5.1 has neither the burst nor the option."""
    global _realtime_opts
    if _realtime_opts is None:
        try:
            out = subprocess.run([FFMPEG, "-hide_banner", "-h", "full"],
                                 capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        _realtime_opts = ["-re"]
        if "-readrate_initial_burst" in out:
            _realtime_opts += ["-readrate_initial_burst", "0.001"]
    return list(_realtime_opts)


class Publisher:
    def __init__(self, d, rtmp_port, name=NAME, app=APP, extra=()):
        self.log_path = os.path.join(d, "ffmpeg-%s.log" % name)
        self.url = "rtmp://127.0.0.1:%d/%s/%s" % (rtmp_port, app, name)
        self.cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning"
                    ] + realtime_input_opts() + ["-f", "lavfi",
                    "-i", "testsrc=size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440",
                    "-c:v", "libx264", "-preset", "ultrafast",
                    "-tune", "zerolatency", "-g", "25",
                    "-c:a", "aac"] + list(extra) + ["-f", "flv", self.url]
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=_die_with_parent())
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        kill_proc(self.proc)
        if self.log:
            self.log.close()
            self.log = None


def kill_proc(proc, grace=3):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


# --------------------------------------------------------------------------
# ffprobe subscriber


class Packet:
    __slots__ = ("fields", "data", "read_at", "index")

    def __init__(self):
        self.fields = {}
        self.data = None
        self.read_at = None
        self.index = None

    @property
    def codec_type(self):
        return self.fields.get("codec_type")

    def number(self, key):
        try:
            return float(self.fields.get(key))
        except (TypeError, ValueError):
            return None


class Cue:
    """One onCuePoint a subscriber received."""

    def __init__(self, packet, values):
        self.packet = packet
        self.values = values
        self.read_at = packet.read_at
        self.index = packet.index
        self.error = None
        obj = values[1] if len(values) > 1 else None
        self.obj = obj if isinstance(obj, dict) else {}
        params = self.obj.get("parameters")
        self.params = params if isinstance(params, dict) else {}
        self.name = self.obj.get("name")
        self.seq = self.params.get("seq")
        self.json_text = self.params.get("json")
        self.json = None
        if isinstance(self.json_text, str):
            try:
                self.json = json.loads(self.json_text)
            except ValueError as e:
                self.error = "parameters.json is not JSON: %s" % e

    def __repr__(self):
        return "<Cue %s seq=%s pts=%s>" % (
            self.name, self.seq, self.packet.fields.get("pts"))


def hexdump_bytes(line):
    """Bytes of one ffprobe -show_data line "00000010: 0a0b 0c0d ...  ascii".
    The hex part is 41 columns after the 10-column offset."""
    part = line[10:51].replace(" ", "")
    return bytes.fromhex(part)


HEXLINE_RE = re.compile(r"^[0-9a-f]{8}: ")


class PacketParser:
    """Reads `ffprobe -show_packets -show_data` output line by line.
    feed() returns a Packet when its [/PACKET] line arrives (read_at = the
    monotonic time of that moment), else None. The hexdump of video and
    audio packets is skipped: only the data of other packets is kept."""

    def __init__(self):
        self.pkt = None
        self.in_data = False
        self.keep = False
        self.index = 0
        self.lines = []
        self.last_lines = []

    def feed(self, line):
        s = line.rstrip("\n")
        if s == "[PACKET]":
            self.pkt = Packet()
            self.in_data = False
            self.keep = False
            self.lines = [line]
            return None
        pkt = self.pkt
        if pkt is None:
            return None
        self.lines.append(line)
        if s == "[/PACKET]":
            pkt.read_at = time.monotonic()
            pkt.index = self.index
            self.index += 1
            self.pkt = None
            self.last_lines = self.lines
            return pkt
        if self.in_data and HEXLINE_RE.match(s):
            if self.keep:
                pkt.data.extend(hexdump_bytes(s))
            return None
        self.in_data = False
        if "=" in s:
            k, v = s.split("=", 1)
            pkt.fields[k] = v
            if k == "codec_type":
                self.keep = v not in ("video", "audio")
            elif k == "data":
                self.in_data = True
                pkt.data = bytearray()
        return None


def cue_from_packet(pkt):
    """A Cue if pkt carries an AMF0 onCuePoint, else None. Raises AmfError
    when it starts like one but does not decode."""
    data = bytes(pkt.data or b"")
    if data[:13] != b"\x02\x00\x0aonCuePoint":
        return None
    return Cue(pkt, amf0_decode(data))


class Subscriber:
    """`ffprobe -show_packets -show_data` on the stream, read by a thread.

    Every onCuePoint (data or subtitle packet whose AMF0 body starts with
    the string "onCuePoint") becomes a Cue in .cues, in arrival order, with
    the monotonic time its [/PACKET] line was read."""

    def __init__(self, d, rtmp_port, name=NAME, app=APP, label="sub",
                 extra=(), relay=None, worker=None):
        self.relay = relay
        self.worker = worker    # the nginx worker serving it, when known
        port = relay.port if relay else rtmp_port
        self.url = "rtmp://127.0.0.1:%d/%s/%s" % (port, app, name)
        self.label = label
        self.err_path = os.path.join(d, "subscribers", label + ".stderr")
        self.out_path = os.path.join(d, "subscribers", label + ".packets")
        # stdbuf -oL: ffprobe's stdout is block-buffered into a pipe.
        self.cmd = [STDBUF, "-oL", FFPROBE, "-hide_banner",
                    "-loglevel", "warning", "-show_packets", "-show_data"] + \
            list(extra) + ["-i", self.url]
        self.proc = None
        self.thread = None
        self.cond = threading.Condition()
        self.cues = []
        self.bad_cues = []      # onCuePoint packets we could not decode
        self.counts = {}        # codec_type -> packets
        self.first_media_at = None
        self.started_at = None
        self.eof = False
        self.lines_out = None
        self.err = None

    def start(self):
        self.err = open(self.err_path, "wb")
        self.lines_out = open(self.out_path, "w")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     start_new_session=True,
                                     preexec_fn=_die_with_parent())
        self.thread = threading.Thread(target=self._read, daemon=True,
                                       name="ffprobe-" + self.label)
        self.thread.start()
        return self

    def _record(self, line):
        # Keep what a person needs to debug: every non-media packet whole,
        # media packets without their hexdump.
        try:
            self.lines_out.write(line)
        except ValueError:
            pass

    def _read(self):
        parser = PacketParser()
        try:
            for raw in self.proc.stdout:
                done = parser.feed(raw.decode("utf-8", "replace"))
                if done is not None:
                    self._packet(done, parser.last_lines)
        except (OSError, ValueError):
            pass
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def _packet(self, pkt, buf):
        ct = pkt.codec_type
        with self.cond:
            self.counts[ct] = self.counts.get(ct, 0) + 1
            if ct in ("video", "audio"):
                if self.first_media_at is None:
                    self.first_media_at = pkt.read_at
                self._record("%s pts=%s size=%s\n" % (
                    ct, pkt.fields.get("pts"), pkt.fields.get("size")))
                self.cond.notify_all()
                return
            self._record("".join(buf))
            try:
                cue = cue_from_packet(pkt)
                if cue is not None:
                    self.cues.append(cue)
            except AmfError as e:
                self.bad_cues.append((pkt, str(e)))
            self.cond.notify_all()

    def wait(self, predicate, timeout, what="cue"):
        """Waits until predicate(self) is true; returns its value. Raises
        AssertionError (with what ffprobe saw) on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = predicate(self)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or (self.eof and not v):
                    break
                self.cond.wait(min(left, 0.2))
        raise AssertionError(
            "subscriber %s: no %s within %.1fs (eof=%s, packets=%r, cues=%r,"
            " undecodable=%r); ffprobe stderr: %s" % (
                self.label, what, timeout, self.eof, self.counts, self.cues,
                [e for _, e in self.bad_cues], self.stderr_tail()))

    def wait_cue(self, match, timeout, what="cue"):
        def pred(s):
            for c in s.cues:
                if match(c):
                    return c
            return None
        return self.wait(pred, timeout, what)

    def wait_playing(self, timeout):
        return self.wait(lambda s: s.first_media_at, timeout,
                         "media packets")

    def stderr_tail(self, n=1500):
        try:
            with open(self.err_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        kill_proc(self.proc, grace=2)
        if self.relay:
            self.relay.close()
        if self.thread:
            self.thread.join(timeout=5)
        if self.err:
            self.err.close()
        if self.lines_out:
            try:
                self.lines_out.close()
            except ValueError:
                pass


# --------------------------------------------------------------------------
# HLS playlists (RFC 8216bis)

# Largest accepted |(PDT[i+1] - PDT[i]) - EXTINF[i]|, seconds. Measured
# with stock nginx-rtmp 1.2.2, "hls_fragment_naming system", hls_fragment
# 1s and the ffmpeg -re publisher of the conventions (PDT taken from the
# file names, 60 s runs): steady state within +-10 ms, also with six
# subscribers and both CPUs saturated; only the first segment after the
# publisher starts is off, by -42..-58 ms (x264 start-up delays the first
# keyframe, -re then catches up). 150 ms is 2.5x the worst measured and
# still far below what a PDT from the wrong segment produces (~1 s). A PDT
# off by a constant keeps the steps right: the tests also compare each PDT
# with the time in its file name, which must match to the millisecond.
PDT_TOLERANCE = 0.150


ATTR_NAME_RE = re.compile(r"[A-Z0-9-]+")
QUOTED_RE = re.compile(r'"([^"\r\n]*)"')
UNQUOTED_RE = re.compile(r'[^",\s]+')
DECIMAL_FLOAT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
HEX_SEQ_RE = re.compile(r"^0[xX][0-9A-Fa-f]+$")


class PlaylistError(AssertionError):
    pass


class Attr:
    """One AttributeValue: .quoted tells a quoted-string from the rest."""
    __slots__ = ("value", "quoted")

    def __init__(self, value, quoted):
        self.value = value
        self.quoted = quoted

    def __eq__(self, other):
        return isinstance(other, Attr) and self.value == other.value and \
            self.quoted == other.quoted

    def __repr__(self):
        return ('"%s"' % self.value) if self.quoted else self.value


def parse_attribute_list(s):
    """RFC 8216bis 4.2 attribute-list -> ordered dict name -> Attr.
    Raises PlaylistError on anything the grammar does not allow
    (whitespace, lower-case names, quotes holding '"', CR or LF, repeats)."""
    out = {}
    i = 0
    n = len(s)
    if n == 0:
        raise PlaylistError("empty attribute list")
    while True:
        m = ATTR_NAME_RE.match(s, i)
        if not m:
            raise PlaylistError("bad AttributeName at %d in %r" % (i, s))
        name = m.group(0)
        i = m.end()
        if i >= n or s[i] != "=":
            raise PlaylistError("expected '=' after %s in %r" % (name, s))
        i += 1
        if i < n and s[i] == '"':
            m = QUOTED_RE.match(s, i)
            if not m:
                raise PlaylistError("unterminated quoted-string for %s in %r"
                                    % (name, s))
            val = Attr(m.group(1), True)
        else:
            m = UNQUOTED_RE.match(s, i)
            if not m:
                raise PlaylistError("empty value for %s in %r" % (name, s))
            val = Attr(m.group(0), False)
        i = m.end()
        if name in out:
            raise PlaylistError("attribute %s repeated in %r" % (name, s))
        out[name] = val
        if i == n:
            return out
        if s[i] != ",":
            raise PlaylistError("expected ',' at %d in %r" % (i, s))
        i += 1


class Segment:
    def __init__(self, uri, duration, pdt, msn, pdt_line):
        self.uri = uri
        self.duration = duration
        self.pdt = pdt              # Unix seconds or None
        self.pdt_text = pdt_line
        self.msn = msn

    @property
    def uri_ms(self):
        """The ms time in a "hls_fragment_naming system" file name."""
        m = re.search(r"(\d{10,})\.ts$", self.uri)
        return int(m.group(1)) if m else None


class DateRange:
    def __init__(self, attrs, line):
        self.attrs = attrs
        self.line = line

    def get(self, name):
        a = self.attrs.get(name)
        return a.value if a else None

    @property
    def id(self):
        return self.get("ID")

    @property
    def start(self):
        return parse_iso(self.get("START-DATE"))

    @property
    def end(self):
        """End as Unix seconds; None while open."""
        if "END-DATE" in self.attrs:
            return parse_iso(self.get("END-DATE"))
        if "DURATION" in self.attrs:
            return self.start + float(self.get("DURATION"))
        return None

    def event(self):
        """The liveshop event carried in X-LIVESHOP-DATA, and its raw bytes."""
        raw = base64.b64decode(self.get("X-LIVESHOP-DATA"), validate=True)
        return json.loads(raw.decode("utf-8")), raw


class Playlist:
    def __init__(self, text):
        self.text = text
        self.segments = []
        self.dateranges = []
        self.tags = {}
        self.target_duration = None
        self.media_sequence = 0
        self.pdt_count = 0


def parse_playlist(text):
    """Parses a media playlist strictly enough that nginx-rtmp's output and
    our additions are checked line by line. Raises PlaylistError."""
    if "\r" in text:
        raise PlaylistError("playlist holds a CR")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("playlist does not start with #EXTM3U")
    pl = Playlist(text)
    pending_dur = None
    pending_pdt = None
    pending_pdt_text = None
    once = ("#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
            "#EXT-X-VERSION", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-ENDLIST")
    msn = None
    for no, ln in enumerate(lines[1:], 2):
        if ln == "":
            continue
        if ln != ln.strip():
            raise PlaylistError("line %d has surrounding whitespace: %r"
                                % (no, ln))
        if ln.startswith("#EXT"):
            tag, _, value = ln.partition(":")
            if tag in once:
                if tag in pl.tags:
                    raise PlaylistError("%s appears twice" % tag)
                pl.tags[tag] = value
            if tag == "#EXT-X-TARGETDURATION":
                if not value.isdigit():
                    raise PlaylistError("bad TARGETDURATION %r" % value)
                pl.target_duration = int(value)
            elif tag == "#EXT-X-MEDIA-SEQUENCE":
                if not value.isdigit():
                    raise PlaylistError("bad MEDIA-SEQUENCE %r" % value)
                pl.media_sequence = int(value)
            elif tag == "#EXTINF":
                if pending_dur is not None:
                    raise PlaylistError("line %d: two EXTINF for one segment"
                                        % no)
                dur = value.split(",", 1)[0]
                if not DECIMAL_FLOAT_RE.match(dur):
                    raise PlaylistError("line %d: bad EXTINF %r" % (no, ln))
                pending_dur = float(dur)
            elif tag == "#EXT-X-PROGRAM-DATE-TIME":
                if pending_pdt is not None:
                    raise PlaylistError("line %d: two PROGRAM-DATE-TIME for "
                                        "one segment" % no)
                try:
                    pending_pdt = parse_iso(value)
                except ValueError as e:
                    raise PlaylistError("line %d: %s" % (no, e))
                pending_pdt_text = value
                pl.pdt_count += 1
            elif tag == "#EXT-X-DATERANGE":
                pl.dateranges.append(DateRange(parse_attribute_list(value),
                                               ln))
            continue
        if ln.startswith("#"):
            continue  # a comment
        # a URI line
        if pending_dur is None:
            raise PlaylistError("line %d: URI %r without EXTINF" % (no, ln))
        if msn is None:
            msn = pl.media_sequence
        pl.segments.append(Segment(ln, pending_dur, pending_pdt, msn,
                                   pending_pdt_text))
        msn += 1
        pending_dur = pending_pdt = pending_pdt_text = None
    if pending_dur is not None:
        raise PlaylistError("EXTINF at the end without a URI")
    if pending_pdt is not None:
        # RFC 8216bis 4.4.4.6: PDT applies to the next Media Segment.
        raise PlaylistError("PROGRAM-DATE-TIME at the end without a segment")
    if pl.target_duration is None:
        raise PlaylistError("no EXT-X-TARGETDURATION")
    return pl


def check_media_playlist(pl, pdt_tolerance, require_pdt=True):
    """RFC 8216bis rules on one media playlist. Returns a list of problems
    (empty when valid).

    pdt_tolerance: the largest |PDT[i+1]-PDT[i] - EXTINF[i]| accepted, in
    seconds."""
    p = []
    for s in pl.segments:
        # 4.4.3.1: EXTINF rounded to the nearest integer <= TARGETDURATION
        if int(s.duration + 0.5) > pl.target_duration:
            p.append("segment %s: EXTINF %.3f above TARGETDURATION %d"
                     % (s.uri, s.duration, pl.target_duration))
    if require_pdt:
        for s in pl.segments:
            if s.pdt is None:
                p.append("segment %s has no EXT-X-PROGRAM-DATE-TIME" % s.uri)
    for a, b in zip(pl.segments, pl.segments[1:]):
        if a.pdt is None or b.pdt is None:
            continue
        if not b.pdt > a.pdt:
            p.append("PROGRAM-DATE-TIME not ascending: %s (%s) then %s (%s)"
                     % (a.pdt_text, a.uri, b.pdt_text, b.uri))
        gap = b.pdt - a.pdt
        if abs(gap - a.duration) > pdt_tolerance:
            p.append("PDT step %.3fs after %s differs from its EXTINF %.3f by "
                     "more than %.3fs" % (gap, a.uri, a.duration,
                                          pdt_tolerance))
    p.extend(check_dateranges(pl))
    return p


def check_dateranges(pl):
    """RFC 8216bis 4.4.5.1 on the DATERANGEs of one playlist."""
    p = []
    if pl.dateranges and pl.pdt_count == 0:
        p.append("EXT-X-DATERANGE without any EXT-X-PROGRAM-DATE-TIME")
    by_id = {}
    for dr in pl.dateranges:
        a = dr.attrs
        for name, v in a.items():
            if name in ("ID", "CLASS", "START-DATE", "END-DATE", "CUE"):
                if not v.quoted:
                    p.append("%s must be a quoted-string: %s" % (name,
                                                                 dr.line))
            if name in ("DURATION", "PLANNED-DURATION"):
                if v.quoted or not DECIMAL_FLOAT_RE.match(v.value):
                    p.append("%s must be a decimal-floating-point: %s"
                             % (name, dr.line))
            if name.startswith("X-"):
                if not (v.quoted or HEX_SEQ_RE.match(v.value) or
                        DECIMAL_FLOAT_RE.match(v.value)):
                    p.append("client attribute %s has a bad value: %s"
                             % (name, dr.line))
            if name == "END-ON-NEXT" and v.value != "YES":
                p.append("END-ON-NEXT must be YES: %s" % dr.line)
        if "ID" not in a:
            p.append("DATERANGE without ID: %s" % dr.line)
            continue
        if "START-DATE" not in a:
            p.append("DATERANGE without START-DATE: %s" % dr.line)
            continue
        try:
            start = dr.start
        except ValueError as e:
            p.append("bad START-DATE (%s): %s" % (e, dr.line))
            continue
        end = None
        if "END-DATE" in a:
            try:
                end = parse_iso(dr.get("END-DATE"))
            except ValueError as e:
                p.append("bad END-DATE (%s): %s" % (e, dr.line))
                continue
            if end < start:
                p.append("END-DATE before START-DATE: %s" % dr.line)
        if "DURATION" in a and DECIMAL_FLOAT_RE.match(dr.get("DURATION")):
            dend = start + float(dr.get("DURATION"))
            if end is not None and abs(dend - end) > 0.0005:
                p.append("END-DATE != START-DATE + DURATION: %s" % dr.line)
        if "END-ON-NEXT" in a:
            if "CLASS" not in a:
                p.append("END-ON-NEXT without CLASS: %s" % dr.line)
            if "END-DATE" in a or "DURATION" in a:
                p.append("END-ON-NEXT with END-DATE or DURATION: %s"
                         % dr.line)
        prev = by_id.get(dr.id)
        if prev is not None:
            for name in set(prev.attrs) & set(a):
                if prev.attrs[name] != a[name]:
                    p.append("two DATERANGEs with ID %s differ in %s"
                             % (dr.id, name))
        else:
            by_id[dr.id] = dr
    p.extend(check_no_overlap(list(by_id.values())))
    return p


def check_no_overlap(ranges):
    """Ranges of one CLASS must not overlap (RFC 8216bis 4.4.5.1). An open
    range (no END-DATE/DURATION) runs forever; [a,b) and [b,c) touch but do
    not overlap."""
    p = []
    classes = {}
    for dr in ranges:
        try:
            classes.setdefault(dr.get("CLASS"), []).append(
                (dr.start, dr.end, dr.id))
        except (ValueError, TypeError):
            continue  # reported elsewhere
    for cls, rs in classes.items():
        if cls is None:
            continue
        rs.sort(key=lambda r: r[0])
        for (s1, e1, id1), (s2, _e2, id2) in zip(rs, rs[1:]):
            if e1 is None or e1 > s2 + 0.0005:
                p.append("CLASS %s: range %s (%.3f..%s) overlaps %s "
                         "starting %.3f" % (cls, id1, s1, e1, id2, s2))
    return p


class DateRangeHistory:
    """What a client that refreshes the playlist sees over time: the same
    ID never changes an attribute's value (RFC 8216bis 4.4.5.1), and the
    ranges seen, taken together, never overlap within a CLASS."""

    def __init__(self):
        self.seen = {}       # ID -> {name: Attr}
        self.latest = {}     # ID -> DateRange (latest copy)
        self.problems = []

    def add(self, pl, label=""):
        for dr in pl.dateranges:
            if dr.id is None:
                continue
            known = self.seen.setdefault(dr.id, {})
            for name, v in dr.attrs.items():
                if name in known and known[name] != v:
                    self.problems.append(
                        "%sDATERANGE %s changed %s from %r to %r" % (
                            label, dr.id, name, known[name], v))
                known.setdefault(name, v)
            self.latest[dr.id] = dr

    def check(self):
        return self.problems + check_no_overlap(list(self.latest.values()))


# --------------------------------------------------------------------------
# one live setup: nginx + publisher (+ the API when the module is loaded)


class LiveSetup:
    """nginx (2 workers) + ffmpeg publishing live/demo, in a fresh prefix.

    module=None runs stock nginx + nginx-rtmp (harness self-checks)."""

    def __init__(self, module=None, secret=SECRET, workers=2, base=None,
                 env=None, **conf_kw):
        """conf_kw: more make_conf parameters (journal=True, locale=...);
        env: variables to start nginx with (see Nginx)."""
        self.module = module
        self.secret = secret
        self.d = make_prefix(base)
        self.rtmp_port, self.http_port = free_ports(2)
        if conf_kw.get("journal") is True:
            conf_kw["journal"] = os.path.join(self.d, "journal")
        self.journal_dir = conf_kw.get("journal")
        self.webhooks = {path: (provider, wsecret) for path, provider, wsecret
                         in webhook_locations(conf_kw.get("webhooks"))}
        self.conf = make_conf(self.d, self.rtmp_port, self.http_port,
                              module=module, secret=secret, workers=workers,
                              **conf_kw)
        self.nginx = Nginx(self.d, self.rtmp_port, self.http_port, self.conf,
                           env=env)
        self.publisher = None
        self.subscribers = []
        self.api = Api(self.http_port, token=mint_token(secret, STREAM))
        self.playlist_url = "http://127.0.0.1:%d/hls/%s.m3u8" % (
            self.http_port, NAME)
        self.fetch_no = 0
        self.failed = False

    def start(self, min_segments=3, timeout=40, publish=True):
        """Starts nginx, and with publish the ffmpeg publisher, waiting for
        min_segments HLS segments."""
        self.nginx.start()
        if not publish:
            return self
        try:
            self.publisher = Publisher(self.d, self.rtmp_port).start()
            self.wait_segments(min_segments, timeout)
        except Exception:
            self.stop()
            raise
        return self

    def api_for(self, stream):
        """An Api for another stream, with its own token."""
        return Api(self.http_port, stream=stream,
                   token=mint_token(self.secret, stream))

    def hook(self, provider=None, path=None, secret=None, worker=None):
        """A WebhookSender for the webhook location at path (default
        /hooks/PROVIDER), signing with its configured secret unless
        secret is given; worker=PID: its first connection is one that
        worker accepted."""
        path = path or "/hooks/" + provider
        prov, wsecret = self.webhooks[path]
        sock = None
        if worker is not None:
            sock = connect_in_worker(self.http_port, worker,
                                     self.nginx.workers())
        return WebhookSender(self.http_port, path, prov,
                             wsecret if secret is None else secret,
                             sock=sock)

    def journal_path(self, stream=STREAM):
        """DIR/APP/NAME.journal of live_shop_journal DIR."""
        return os.path.join(self.journal_dir, stream + ".journal")

    def wait_segments(self, n, timeout):
        def enough():
            if not self.publisher.alive():
                raise RuntimeError("ffmpeg exited: %s" % self.publisher_log())
            r = http_request(self.playlist_url, timeout=5)
            if r.status != 200:
                return None
            try:
                pl = parse_playlist(r.text)
            except PlaylistError:
                return None
            return pl if len(pl.segments) >= n else None
        return wait_for(enough, timeout, 0.2,
                        "%d segments in %s" % (n, self.playlist_url))

    def publisher_log(self):
        try:
            with open(self.publisher.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def fetch_playlist(self, save=True):
        """GET the playlist; returns (Response, text). Every fetch is kept
        in D/playlists for the artifacts."""
        r = http_request(self.playlist_url, timeout=10)
        if save:
            self.fetch_no += 1
            path = os.path.join(self.d, "playlists",
                                "%03d-%d.m3u8" % (self.fetch_no, r.status))
            with open(path, "wb") as f:
                f.write(r.body)
        return r

    def subscribe(self, label=None, worker=None):
        """Starts an ffprobe subscriber; worker=PID makes that nginx worker
        serve it (see connect_in_worker), else the kernel chooses."""
        label = label or "sub%d" % (len(self.subscribers) + 1)
        relay = None
        if worker is not None:
            conn = connect_in_worker(self.rtmp_port, worker,
                                     self.nginx.workers())
            relay = TcpRelay(conn, "relay-" + label)
        s = Subscriber(self.d, self.rtmp_port, label=label, relay=relay,
                       worker=worker).start()
        self.subscribers.append(s)
        return s

    def worker_of(self, sub, timeout=10):
        """The worker PID that serves subscriber sub."""
        if sub.worker is not None:
            return sub.worker
        return wait_for(lambda: worker_of_client(
            sub.proc.pid, self.rtmp_port, self.nginx.workers()),
            timeout, 0.1, "the worker of %s" % sub.label)

    def publisher_worker(self, timeout=10):
        return wait_for(lambda: worker_of_client(
            self.publisher.proc.pid, self.rtmp_port, self.nginx.workers()),
            timeout, 0.1, "the worker of the publisher")

    def request_in_worker(self, target, url, timeout=5, **kw):
        """One HTTP request answered by worker target."""
        workers = self.nginx.workers()
        conn = connect_in_worker(self.http_port, target, workers)
        try:
            return raw_http(conn, url, timeout=timeout, **kw)
        finally:
            conn.close()

    def stop(self):
        for s in self.subscribers:
            s.stop()
        if self.publisher:
            self.publisher.stop()
        self.nginx.stop()

    def keep_artifacts(self, name):
        """Copies logs, config and playlists (not the media) out of the
        temporary prefix; returns the destination."""
        dest = os.path.join(artifacts_root(), "%s-%s" % (
            re.sub(r"[^A-Za-z0-9_.-]+", "_", name),
            time.strftime("%Y%m%d-%H%M%S")))
        os.makedirs(dest, exist_ok=True)
        for root, _dirs, files in os.walk(self.d):
            for fn in files:
                if fn.endswith(".ts") or fn.endswith(".sock") or \
                        root.startswith(os.path.join(self.d, "tmp")):
                    continue
                src = os.path.join(root, fn)
                rel = os.path.relpath(src, self.d)
                os.makedirs(os.path.dirname(os.path.join(dest, rel)),
                            exist_ok=True)
                try:
                    shutil.copy2(src, os.path.join(dest, rel))
                except OSError:
                    pass
        return dest

    def cleanup(self):
        shutil.rmtree(self.d, ignore_errors=True)


# --------------------------------------------------------------------------
# statistics for the bench and the tolerance measurement


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100)."""
    v = sorted(values)
    if not v:
        return math.nan
    k = max(0, min(len(v) - 1, int(math.ceil(q / 100.0 * len(v))) - 1))
    return v[k]


# --------------------------------------------------------------------------
# Server-Sent Events (SPEC §8), the journal, and process limits


def raise_nofile(want=8192):
    """Raises this process's soft RLIMIT_NOFILE to want (or the hard limit),
    so that it can open many sockets; nginx started afterwards inherits it.
    Returns the new soft limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV",
              4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE",
              8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}


def tcp_state(local_port, remote_port):
    """The state name of the loopback TCP socket local_port -> remote_port
    (e.g. "CLOSE_WAIT" once the peer has closed), None if there is none."""
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            parts = ln.split()
            lp = int(parts[1].split(":")[1], 16)
            rp = int(parts[2].split(":")[1], 16)
            if lp == local_port and rp == remote_port:
                return TCP_STATES.get(int(parts[3], 16), parts[3])
    return None


def server_side_connections(port):
    """How many TCP sockets with local port `port` are not LISTEN/TIME_WAIT
    (connections nginx still holds)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            parts = ln.split()
            st = int(parts[3], 16)
            if int(parts[1].split(":")[1], 16) == port and st not in (6, 10):
                n += 1
    return n


class SseMessage:
    """One dispatched SSE message. id: the value of the block's own `id`
    field (None without one); raw: the block's exact text, blank line
    included; at: time.monotonic() when its last byte was read."""
    __slots__ = ("id", "event", "data", "raw", "at", "last_id")

    def __init__(self, id_, event, data, raw, at, last_id):
        self.id = id_
        self.event = event
        self.data = data
        self.raw = raw
        self.at = at
        self.last_id = last_id

    def json(self):
        try:
            return json.loads(self.data)
        except ValueError as e:
            raise AssertionError("SSE data is not JSON (%s): %r"
                                 % (e, self.data[:300]))

    def __repr__(self):
        return "<SSE id=%s event=%s %r>" % (self.id, self.event,
                                            self.data[:80])


class SseStream:
    """Sans-IO reader of one HTTP response carrying text/event-stream:
    feed() the bytes as they arrive; it parses the status line and headers,
    undoes chunked transfer coding, and splits the body into SSE messages
    and comments as the WHATWG EventSource algorithm does (lines end in
    CRLF, LF or CR; one leading space after the colon is dropped; `data`
    lines join with LF; a blank line dispatches; a block without data is
    no message). Protocol errors go to .errors, not exceptions."""

    def __init__(self):
        import codecs
        self._raw = bytearray()
        self.status = None
        self.headers = None
        self.head_done = False
        self.chunked = False
        self._chunk_left = None     # bytes left of the current chunk
        self._chunk_state = "size"
        self.body_ended = False
        self._dec = codecs.getincrementaldecoder("utf-8")("strict")
        self._text = ""
        self._block = []            # raw lines of the block so far
        self._data = []
        self._event = ""
        self._id = None
        self.last_id = ""
        self.messages = []
        self.audience = []          # SPEC §14 "audience" messages
        self.comments = []          # (text after ':', monotonic time)
        self.errors = []
        self.body_bytes = 0

    # -- HTTP framing

    def feed(self, data, at=None):
        """Returns the list of messages completed by data."""
        if at is None:
            at = time.monotonic()
        before = len(self.messages)
        self._raw.extend(data)
        if not self.head_done:
            i = self._raw.find(b"\r\n\r\n")
            if i < 0:
                return []
            head = bytes(self._raw[:i]).decode("iso-8859-1").split("\r\n")
            del self._raw[:i + 4]
            try:
                self.status = int(head[0].split()[1])
            except (IndexError, ValueError):
                self.errors.append("bad status line %r" % head[0])
                self.status = 0
            self.headers = email.message.Message()
            for ln in head[1:]:
                k, _, v = ln.partition(":")
                self.headers[k.strip()] = v.strip()
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            self.chunked = "chunked" in te
            self.head_done = True
        if self.chunked:
            self._unchunk(at)
        else:
            body = bytes(self._raw)
            self._raw.clear()
            self._body(body, at)
        return self.messages[before:]

    def _unchunk(self, at):
        buf = self._raw
        while buf and not self.body_ended:
            if self._chunk_state == "size":
                i = buf.find(b"\r\n")
                if i < 0:
                    return
                line = bytes(buf[:i]).split(b";")[0].strip()
                del buf[:i + 2]
                try:
                    self._chunk_left = int(line, 16)
                except ValueError:
                    self.errors.append("bad chunk size %r" % line)
                    self.body_ended = True
                    return
                self._chunk_state = "data" if self._chunk_left else "trailer"
            elif self._chunk_state == "data":
                n = min(self._chunk_left, len(buf))
                self._body(bytes(buf[:n]), at)
                del buf[:n]
                self._chunk_left -= n
                if self._chunk_left == 0:
                    self._chunk_state = "crlf"
            elif self._chunk_state == "crlf":
                if len(buf) < 2:
                    return
                if bytes(buf[:2]) != b"\r\n":
                    self.errors.append("chunk not followed by CRLF")
                del buf[:2]
                self._chunk_state = "size"
            else:  # trailer: the body is over
                self.body_ended = True
                buf.clear()
                if self._text.endswith("\r"):
                    # a final CR cannot be the start of a CRLF any more
                    self._body(b"\n", at)

    # -- event-stream

    def _body(self, data, at):
        self.body_bytes += len(data)
        try:
            self._text += self._dec.decode(data)
        except UnicodeDecodeError as e:
            self.errors.append("event stream is not UTF-8: %s" % e)
            self._text += data.decode("utf-8", "replace")
        t = self._text
        i = 0
        n = len(t)
        while i < n:
            j = i
            while j < n and t[j] not in "\r\n":
                j += 1
            if j == n:
                break
            if t[j] == "\r":
                if j + 1 == n:
                    break           # a CR that may be the start of CRLF
                end = j + 2 if t[j + 1] == "\n" else j + 1
            else:
                end = j + 1
            self._line(t[i:j], t[i:end], at)
            i = end
        self._text = t[i:]

    def _line(self, line, raw, at):
        self._block.append(raw)
        if line == "":
            self._dispatch(at)
            return
        if line.startswith(":"):
            self.comments.append((line[1:], at))
            self._block.pop()       # comments are not part of a message
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
                self._id = value
        elif name == "retry":
            pass
        # other field names are ignored, as by EventSource

    def _dispatch(self, at):
        raw = "".join(self._block)
        self._block = []
        if self._data:
            msg = SseMessage(self._id, self._event or "message",
                             "\n".join(self._data), raw, at, self.last_id)
            # SPEC §14's unnumbered audience messages come whenever the
            # viewers change: kept apart, so that the timeline's
            # messages can be compared one for one
            if msg.event == "audience" and msg.id is None:
                self.audience.append(msg)
            else:
                self.messages.append(msg)
        self._data = []
        self._event = ""
        self._id = None


class SseClient:
    """One EventSource-like client on a real socket, read by a thread.

    sock: an already connected socket (see connect_in_worker); else it
    connects to 127.0.0.1:port. last_event_id: sent as Last-Event-ID.
    rcvbuf: a small SO_RCVBUF for a client that is slow on purpose.
    start(read=False) sends the request but leaves the socket unread."""

    def __init__(self, port, path, last_event_id=None, headers=None,
                 sock=None, rcvbuf=None, label="sse"):
        self.port = port
        self.path = path
        self.last_event_id = last_event_id
        self.extra_headers = dict(headers or {})
        self.sock = sock
        self.rcvbuf = rcvbuf
        self.label = label
        self.stream = SseStream()
        self.cond = threading.Condition()
        self.eof = False
        self.error = None
        self.thread = None
        self.local_port = None
        self.started_at = None

    def request_bytes(self):
        lines = ["GET %s HTTP/1.1" % self.path,
                 "Host: 127.0.0.1:%d" % self.port,
                 "Accept: text/event-stream",
                 "Cache-Control: no-cache"]
        if self.last_event_id is not None:
            lines.append("Last-Event-ID: %s" % self.last_event_id)
        for k, v in self.extra_headers.items():
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def start(self, read=True, timeout=5):
        if self.sock is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                             self.rcvbuf)
            s.settimeout(timeout)
            s.connect(("127.0.0.1", self.port))
            self.sock = s
        self.sock.settimeout(timeout)
        self.local_port = self.sock.getsockname()[1]
        self.started_at = time.monotonic()
        self.sock.sendall(self.request_bytes())
        if read:
            self.sock.settimeout(None)
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name="sse-" + self.label)
            self.thread.start()
        return self

    def _run(self):
        try:
            while True:
                b = self.sock.recv(65536)
                t = time.monotonic()
                if not b:
                    break
                with self.cond:
                    self.stream.feed(b, t)
                    self.cond.notify_all()
        except OSError as e:
            self.error = str(e)
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def read_for(self, seconds):
        """For a client started with read=False: reads what arrives within
        seconds (or until EOF)."""
        deadline = time.monotonic() + seconds
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                break
            except OSError as e:
                self.error = str(e)
                self.eof = True
                break
            if not b:
                self.eof = True
                break
            self.stream.feed(b)

    @property
    def status(self):
        return self.stream.status

    @property
    def headers(self):
        return self.stream.headers

    @property
    def messages(self):
        return self.stream.messages

    @property
    def comments(self):
        return self.stream.comments

    def events(self):
        """The messages other than the state."""
        return [m for m in self.stream.messages if m.event != "state"]

    def wait(self, predicate, timeout, what="SSE message"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = predicate(self)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    break
                self.cond.wait(min(left, 0.2))
        raise AssertionError(
            "SSE client %s: no %s within %.1fs (status=%s, eof=%s, error=%s,"
            " messages=%r, comments=%d, protocol errors=%r)" % (
                self.label, what, timeout, self.stream.status, self.eof,
                self.error, self.stream.messages[-10:],
                len(self.stream.comments), self.stream.errors))

    def wait_seq(self, seq, timeout, what=None):
        """The message with id == seq."""
        want = str(seq)
        return self.wait(lambda c: next((m for m in c.stream.messages
                                         if m.id == want), None), timeout,
                         what or "message with id %s" % want)

    def wait_count(self, n, timeout, what=None):
        """Waits for n messages; returns the n-th."""
        return self.wait(lambda c: c.stream.messages[n - 1]
                         if len(c.stream.messages) >= n else None, timeout,
                         what or "%d messages" % n)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                self.sock.close()
            except OSError:
                pass
        if self.thread is not None:
            self.thread.join(timeout=5)


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class SseCrowd:
    """Many SSE clients on one stream, served by one epoll loop in the
    calling thread (no thread per client).

    Each client's messages are stamped (SseMessage.at, in time.monotonic()
    terms) with the time the kernel received the bytes that completed them
    (SO_TIMESTAMPNS), so the time this loop takes to get round 1,000
    sockets does not count; kernel_ts=False stamps the return of recv()
    instead."""

    def __init__(self, port, path, n, connect_timeout=5, kernel_ts=True):
        self.port = port
        self.path = path
        self.n = n
        self.connect_timeout = connect_timeout
        self.kernel_ts = kernel_ts
        self.socks = []
        self.by_fd = {}        # fd -> socket
        self.streams = {}      # fd -> SseStream
        self.closed = set()    # fds the server closed
        self.ep = None
        self.kernel_stamps = 0
        # wall clock -> monotonic (the kernel stamps in CLOCK_REALTIME)
        self._offset = time.time() - time.monotonic()

    def connect(self, timeout=60, batch=100):
        """Opens the n connections (in batches, so the listen backlog never
        overflows), sends the requests and pumps until every client has
        its first message (the state). Raises TimeoutError otherwise."""
        import select
        self.ep = select.epoll()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Accept: text/event-stream\r\n\r\n"
               % (self.path, self.port)).encode()
        deadline = time.monotonic() + timeout
        while len(self.socks) < self.n:
            for _ in range(min(batch, self.n - len(self.socks))):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if self.kernel_ts:
                    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.settimeout(self.connect_timeout)
                s.connect(("127.0.0.1", self.port))
                s.sendall(req)
                s.setblocking(False)
                self.socks.append(s)
                self.by_fd[s.fileno()] = s
                self.streams[s.fileno()] = SseStream()
                self.ep.register(s.fileno(), select.EPOLLIN)
            # let this batch be accepted and answered before the next
            want = len(self.socks)
            self.pump(lambda: self.count(lambda st: st.messages) >= want,
                      max(0.1, deadline - time.monotonic()),
                      "the state for %d clients" % want)
        return self

    def count(self, pred):
        return sum(1 for st in self.streams.values() if pred(st))

    def pump(self, done, timeout, what="condition"):
        """Reads from every socket until done() is true."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    "SseCrowd: timed out after %.1fs waiting for %s "
                    "(%d of %d clients have a message, %d closed by the "
                    "server)" % (timeout, what,
                                 self.count(lambda st: st.messages), self.n,
                                 len(self.closed)))
            for fd, ev in self.ep.poll(min(left, 0.5), 1024):
                while True:
                    try:
                        b, t = self._recv(fd)
                    except BlockingIOError:
                        break
                    except OSError:
                        b, t = b"", None
                    if not b:
                        self.closed.add(fd)
                        self.ep.unregister(fd)
                        break
                    self.streams[fd].feed(b, t)
                    if len(b) < 65536:
                        break

    def _recv(self, fd):
        if not self.kernel_ts:
            b = os.read(fd, 65536)
            return b, time.monotonic()
        b, anc, _flags, _addr = self.by_fd[fd].recvmsg(65536, 256)
        t = time.monotonic()
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and \
                    len(cdata) >= 16:
                sec, nsec = struct.unpack("qq", cdata[:16])
                t = sec + nsec / 1e9 - self._offset
                self.kernel_stamps += 1
        return b, t

    def wait_seq(self, seq, timeout):
        """Pumps until every client has the message with id == seq; returns
        {fd: SseMessage}."""
        want = str(seq)

        def got(st):
            return any(m.id == want for m in st.messages)
        self.pump(lambda: self.count(got) == self.n, timeout,
                  "message %s at every client" % want)
        return {fd: next(m for m in st.messages if m.id == want)
                for fd, st in self.streams.items()}

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        if self.ep is not None:
            self.ep.close()
        self.socks = []


class Journal:
    """The records of one journal file (DIR/APP/NAME.journal): every
    complete line parsed; .torn holds a last line without "\\n"."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        self.raw = raw
        lines = raw.split(b"\n")
        self.torn = lines.pop()          # b"" when the file ends in "\n"
        self.records = []                # (line number, object)
        self.bad = []                    # (line number, bytes)
        for no, ln in enumerate(lines, 1):
            try:
                self.records.append((no, json.loads(ln.decode("utf-8"))))
            except (UnicodeDecodeError, ValueError):
                self.bad.append((no, ln))

    @property
    def events(self):
        """Every event, in file order: event lines and the events an order
        line holds ({"order":..,"events":[..]})."""
        out = []
        for _, o in self.records:
            if not isinstance(o, dict):
                continue
            if "seq" in o and "type" in o:
                out.append(o)
            elif "order" in o and isinstance(o.get("events"), list):
                out.extend(e for e in o["events"] if isinstance(e, dict))
        return out

    @property
    def orders(self):
        """The order lines: {"order":{ORDER},"provider":P,"at":T,
        "events":[..]}."""
        return [o for _, o in self.records
                if isinstance(o, dict) and isinstance(o.get("order"), dict)]

    @property
    def offers(self):
        return [o for _, o in self.records
                if isinstance(o, dict) and "offer" in o]

    @property
    def checkpoints(self):
        return [o for _, o in self.records
                if isinstance(o, dict) and "checkpoint" in o]


class KeepAlive:
    """API calls over one persistent HTTP/1.1 connection (for loops that
    measure the server, not connection set-up)."""

    def __init__(self, port, token=None, timeout=10):
        import http.client
        self._mk = lambda: http.client.HTTPConnection("127.0.0.1", port,
                                                      timeout=timeout)
        self.conn = self._mk()
        self.token = token

    def request(self, method, path, body=None):
        """Returns (status, body bytes). path is the full path
        (/shop/v1/streams/...)."""
        h = {}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if body is None and method in ("POST", "PUT"):
            body = b""
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = self._mk()
        return r.status, data

    def close(self):
        self.conn.close()


# --------------------------------------------------------------------------
# purchase webhooks in (SPEC §9): what the shops send, signed as they sign


PROVIDERS = ("standard", "shopify", "woocommerce", "stripe")


def new_standard_secret(nbytes=32):
    """A Standard Webhooks secret: "whsec_" + base64 of random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(nbytes)).decode("ascii")


def new_webhook_secrets():
    """One secret per provider, each of the form its shop hands out."""
    return {
        "standard": new_standard_secret(),
        "shopify": "shpss_" + os.urandom(16).hex(),
        "woocommerce": "wc-" + base64.b64encode(os.urandom(18)).decode(),
        "stripe": "whsec_" + b64url(os.urandom(24)),
    }


def standard_key(secret):
    """The HMAC key of a Standard Webhooks secret: the base64 after
    "whsec_" decoded (a secret without the prefix is used as it is)."""
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8")
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def _hmac(key, msg):
    if isinstance(key, str):
        key = key.encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).digest()


def sign_standard(secret, msg_id, ts, body):
    """webhook-signature: "v1," BASE64(HMAC-SHA256(key, "ID.TS.BODY"))."""
    mac = _hmac(standard_key(secret),
                ("%s.%d." % (msg_id, ts)).encode("utf-8") + body)
    return "v1," + base64.b64encode(mac).decode("ascii")


def sign_body_b64(secret, body):
    """Shopify's and WooCommerce's: BASE64(HMAC-SHA256(secret, BODY))."""
    return base64.b64encode(_hmac(secret, body)).decode("ascii")


def sign_stripe(secret, ts, body):
    """Stripe-Signature: "t=TS,v1=" HEX(HMAC-SHA256(secret, "TS.BODY")),
    the whole secret (whsec_ included) being the key."""
    mac = _hmac(secret, ("%d." % ts).encode("ascii") + body)
    return "t=%d,v1=%s" % (ts, mac.hex())


def webhook_headers(provider, secret, body, delivery_id, ts=None,
                    topic=None):
    """The headers a shop sends with body (bytes), signed with secret.
    delivery_id: webhook-id / X-Shopify-Webhook-Id /
    X-WC-Webhook-Delivery-ID (Stripe's is the event id in the body, so it
    is not a header); ts: the signing time (Unix s; now when None);
    topic: X-Shopify-Topic / X-WC-Webhook-Topic (orders/paid,
    order.created by default)."""
    ts = int(time.time()) if ts is None else int(ts)
    hd = {"Content-Type": "application/json"}
    if provider == "standard":
        hd.update({"webhook-id": delivery_id,
                   "webhook-timestamp": str(ts),
                   "webhook-signature": sign_standard(secret, delivery_id,
                                                      ts, body)})
    elif provider == "shopify":
        hd.update({"X-Shopify-Topic": topic or "orders/paid",
                   "X-Shopify-Hmac-Sha256": sign_body_b64(secret, body),
                   "X-Shopify-Shop-Domain": "liveshop-test.myshopify.com",
                   "X-Shopify-API-Version": "2024-10",
                   "X-Shopify-Webhook-Id": delivery_id,
                   "X-Shopify-Triggered-At": format_spec_time(ts * 1000)})
    elif provider == "woocommerce":
        topic = topic or "order.created"
        hd.update({"X-WC-Webhook-Source": "https://shop.example/",
                   "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Resource": topic.split(".")[0],
                   "X-WC-Webhook-Event": topic.split(".")[-1],
                   "X-WC-Webhook-Signature": sign_body_b64(secret, body),
                   "X-WC-Webhook-ID": "7",
                   "X-WC-Webhook-Delivery-ID": delivery_id})
    elif provider == "stripe":
        hd.update({"Stripe-Signature": sign_stripe(secret, ts, body),
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/"
                                 "webhooks)"})
    else:
        raise ValueError("unknown provider %r" % provider)
    return hd


class WebhookSender:
    """POSTs signed deliveries to one webhook location over a keep-alive
    HTTP/1.1 connection (reopened when the server closes it). Never
    raises for HTTP status codes; OSError and http.client errors pass
    (a killed nginx)."""

    def __init__(self, port, path, provider, secret, timeout=10,
                 sock=None):
        """sock: an already connected socket to use first (e.g. one from
        connect_in_worker, to choose the worker)."""
        self.port = port
        self.path = path
        self.provider = provider
        self.secret = secret
        self.timeout = timeout
        self.conn = None
        if sock is not None:
            self._connect()
            sock.settimeout(timeout)
            self.conn.sock = sock

    def _connect(self):
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=self.timeout)

    def headers(self, body, delivery_id, ts=None, topic=None):
        return webhook_headers(self.provider, self.secret, body,
                               delivery_id, ts, topic)

    def send(self, body, delivery_id=None, ts=None, topic=None,
             headers=None, drop=(), method="POST"):
        """Signs body (bytes, str or a JSON-able object; objects are
        serialized once, and those exact bytes are signed and sent) and
        POSTs it. headers: more (or replacing) headers; drop: header names
        to leave out. Returns a Response."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if delivery_id is None:
            delivery_id = "msg_" + b64url(os.urandom(12))
        hd = self.headers(body, delivery_id, ts, topic)
        hd.update(headers or {})
        low = {d.lower() for d in drop}
        hd = {k: v for k, v in hd.items() if k.lower() not in low}
        return self.raw(method, body, hd)

    def raw(self, method, body, hd):
        import http.client
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            fresh = attempt == 1
            try:
                self.conn.request(method, self.path, body=body, headers=hd)
                r = self.conn.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                # a keep-alive connection the server had closed: once more
                # on a new one
                self.close()
                if fresh:
                    raise
                last = e
                continue
            if (r.getheader("Connection") or "").lower() == "close":
                self.close()
            return Response(r.status, r.msg, data)
        raise last  # noqa: F821 - not reached

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


def canonical_order(order_id, stream, items, type_="order.paid"):
    """The standard provider's body. items: [(offer, quantity, amount)]
    or [(offer, quantity, amount, currency)]; amount is the line total."""
    out = []
    for it in items:
        cur = it[3] if len(it) > 3 else "EUR"
        out.append({"offer": it[0], "quantity": it[1], "amount": it[2],
                    "currency": cur})
    return {"type": type_, "order_id": str(order_id), "stream": stream,
            "items": out}


# --------------------------------------------------------------------------
# webhooks out (SPEC §10): a receiver the module delivers to


class Delivery:
    """One request the NotifyReceiver read. status: what it answered
    (None: it never answered, e.g. held until nginx closed the
    connection); started/ended: time.time() when the request was read and
    when the answer went out (or the connection was found closed);
    closed_by_peer: nginx closed the connection before an answer."""

    def __init__(self, n, method, path, headers, body, started):
        self.n = n
        self.method = method
        self.path = path
        self.headers = headers          # {lower-case name: value}
        self.body = body
        self.started = started
        self.ended = None
        self.status = None
        self.closed_by_peer = False

    @property
    def id(self):
        return self.headers.get("webhook-id")

    @property
    def acked(self):
        return self.status is not None and 200 <= self.status < 300 and \
            not self.closed_by_peer

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    @property
    def stream(self):
        """APP/NAME of the webhook-id "APP/NAME:SEQ" (None if malformed)."""
        m = re.match(r"^(.+):(\d+)$", self.id or "")
        return m.group(1) if m else None

    @property
    def seq(self):
        m = re.match(r"^(.+):(\d+)$", self.id or "")
        return int(m.group(2)) if m else None

    def __repr__(self):
        return "<Delivery #%d %s %s -> %s%s>" % (
            self.n, self.id, self.path, self.status,
            " (closed by nginx)" if self.closed_by_peer else "")


HOLD = "hold"


class NotifyReceiver:
    """An HTTP/1.1 server on 127.0.0.1 in threads that records every
    request (as a Delivery) and answers what plan(delivery) says:
    (status, {header: value}) or HOLD, which keeps the request unanswered
    until release() (then it answers release's status) or until nginx
    closes the connection. The default plan answers 200. tls=(CERTFILE,
    KEYFILE) makes it an HTTPS server (TLS set up in the request's thread;
    a client that gives up during the handshake records nothing)."""

    def __init__(self, plan=None, path="/hook", tls=None):
        import http.server
        self.plan = plan or (lambda d: (200, {}))
        self.path = path
        self.lock = threading.Lock()
        self.deliveries = []
        self.connections = 0
        self._release = threading.Event()
        self._release_status = 200
        self._closing = threading.Event()
        rcv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                if tls:
                    self.request.do_handshake()
                super().setup()
                with rcv.lock:
                    rcv.connections += 1

            def _body(self):
                te = (self.headers.get("Transfer-Encoding") or "").lower()
                if "chunked" in te:
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n",
                                                                b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _peer_closed(self):
                import select
                try:
                    r, _, _ = select.select([self.connection], [], [], 0)
                    if not r:
                        return False
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _serve(self):
                body = self._body()
                hd = {k.lower(): v for k, v in self.headers.items()}
                with rcv.lock:
                    d = Delivery(len(rcv.deliveries) + 1, self.command,
                                 self.path, hd, body, time.time())
                    rcv.deliveries.append(d)
                try:
                    answer = rcv.plan(d)
                except Exception as e:  # noqa: BLE001 - a bad plan: 599
                    answer = (599, {"X-Plan-Error": repr(e)[:200]})
                if answer == HOLD:
                    while not rcv._closing.is_set():
                        if self._peer_closed():
                            d.closed_by_peer = True
                            d.ended = time.time()
                            self.close_connection = True
                            return
                        if rcv._release.is_set():
                            answer = (rcv._release_status, {})
                            break
                        time.sleep(0.02)
                    else:
                        d.ended = time.time()
                        self.close_connection = True
                        return
                status, extra = answer
                payload = b'{"ok":true}' if 200 <= status < 300 else \
                    b'{"ok":false}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                    d.status = status
                except OSError:
                    d.closed_by_peer = True
                d.ended = time.time()

            do_POST = do_PUT = do_GET = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(
                self.server.socket, server_side=True,
                do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http",
                                            self.port, path)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True, name="notify-receiver")
        self.thread.start()

    def release(self, status=200):
        """Answers the held requests (and later HOLDs) with status."""
        self._release_status = status
        self._release.set()

    def hold_again(self):
        self._release.clear()

    def snapshot(self):
        with self.lock:
            return list(self.deliveries)

    def of_stream(self, stream):
        return [d for d in self.snapshot() if d.stream == stream]

    def wait(self, predicate, timeout, what="deliveries"):
        """Waits until predicate(list of deliveries) is true; returns it."""
        return wait_for(lambda: predicate(self.snapshot()), timeout, 0.02,
                        what)

    def wait_count(self, n, timeout, what=None, answered=True):
        """Waits for n deliveries (answered: and the first n done with,
        answered or found closed); returns the list."""
        return self.wait(lambda ds: len(ds) >= n and (
            not answered or all(d.ended for d in ds[:n])) and ds, timeout,
            what or "%d deliveries" % n)

    def close(self):
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def verify_standard_signature(secret, delivery):
    """Standard Webhooks 1.0, checked independently of the module: one of
    the space-separated "v1,SIG" of webhook-signature must be
    BASE64(HMAC-SHA256(key, "ID.TS.BODY")), key the base64 after whsec_.
    Returns None when it holds, else what is wrong."""
    msg_id = delivery.headers.get("webhook-id")
    ts = delivery.headers.get("webhook-timestamp")
    sig = delivery.headers.get("webhook-signature")
    if not msg_id or not ts or not sig:
        return "missing header(s): id=%r timestamp=%r signature=%r" % (
            msg_id, ts, sig)
    if not re.match(r"^\d+$", ts):
        return "webhook-timestamp %r is not Unix seconds" % ts
    key = base64.b64decode(secret[len("whsec_"):])
    want = base64.b64encode(hmac.new(
        key, msg_id.encode("utf-8") + b"." + ts.encode("ascii") + b"." +
        delivery.body, hashlib.sha256).digest()).decode("ascii")
    for part in sig.split(" "):
        ver, _, val = part.partition(",")
        if ver == "v1" and hmac.compare_digest(val, want):
            return None
    return "webhook-signature %r does not hold v1,%s" % (sig, want)
