"""liveshopctl against a fake liveshop API (SPEC §5, §8).

The fake server records every request and answers whatever a test tells it
to, so these tests check exactly what goes over the wire and what the tool
makes of the answer. A second fake serves Server-Sent Events from a script
per connection, for `events`. LIVESHOPCTL names the binary under test.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

CTL = os.environ.get("LIVESHOPCTL")
TOKEN = "ls1.bGl2ZS9kZW1v.0.test-token-not-checked-by-the-fake"
SECRET = "s3cr3t-\u00fc-key"

OFFER = {
    "id": "sku-123",
    "title": "Vitamin C Serum 30 ml",
    "price": "19.99",
    "currency": "EUR",
    "compare_at": "29.99",
    "stock": 50,
    "url": "https://shop.example/p/123",
    "image": "https://shop.example/i/123.jpg",
    "disclosure": "ad",
}

EVENT = (
    b'{"seq":17,"id":"live/demo:17","type":"offer.pinned",'
    b'"stream":"live/demo","at":"2026-11-24T10:00:00.123Z","data":{}}'
)


class FakeAPI:
    """An HTTP server on 127.0.0.1 that records requests."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.body = EVENT
        self.content_type = "application/json"
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                api.requests.append((self.command, self.path,
                                     self.headers, body))
                self.send_response(api.status)
                self.send_header("Content-Type", api.content_type)
                self.send_header("Content-Length", str(len(api.body)))
                self.end_headers()
                self.wfile.write(api.body)

            do_GET = do_PUT = do_POST = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/shop/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, status, body, content_type="application/json"):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.content_type = content_type

    def only_request(self):
        assert len(self.requests) == 1, self.requests
        return self.requests[0]

    def ctl(self, *args, token=TOKEN, **kw):
        pre = ["--server", self.url]
        if token:
            pre += ["--token", token]
        return run(*pre, *args, **kw)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def clean_env(env=None):
    assert CTL, "set LIVESHOPCTL to the liveshopctl binary under test"
    # A proxy or a LIVESHOP_* variable from the caller's shell would change
    # what is being tested.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("LIVESHOP_") and "proxy" not in k.lower()}
    clean.update(env or {})
    return clean


def run(*args, env=None, input=None):
    return subprocess.run([CTL, *args], input=input, capture_output=True,
                          env=clean_env(env), timeout=60)


@pytest.fixture
def api():
    server = FakeAPI()
    yield server
    server.close()


@pytest.fixture
def offer_file(tmp_path):
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(OFFER))
    return path


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_token(token, secret, stream):
    """Verifies a token as lshop/token.h defines it; returns EXPIRES."""
    m = re.fullmatch(r"ls1\.([A-Za-z0-9_-]+)\.(\d+)\.([A-Za-z0-9_-]+)", token)
    assert m, token
    assert unb64url(m.group(1)) == stream.encode()
    assert m.group(1) == b64url(stream.encode())
    signed = "ls1.%s.%s" % (m.group(1), m.group(2))
    mac = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    assert m.group(3) == b64url(mac), "MAC does not verify"
    return int(m.group(2))


def last_line(out):
    return out.decode().rstrip("\n").split("\n")[-1]


# --- token -----------------------------------------------------------------

def test_token_is_alone_on_last_line_and_verifies():
    r = run("token", "--secret", SECRET, "live/demo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"\n")
    token = last_line(r.stdout)
    assert token == token.strip() and " " not in token
    assert check_token(token, SECRET, "live/demo") == 0


def test_token_is_scoped_to_its_stream():
    a = last_line(run("token", "--secret", SECRET, "live/demo").stdout)
    b = last_line(run("token", "--secret", SECRET, "live/other").stdout)
    assert a != b
    check_token(b, SECRET, "live/other")
    with pytest.raises(AssertionError):
        check_token(b, SECRET, "live/demo")


def test_token_secret_from_environment_and_options_anywhere():
    r = run("token", "live/demo", env={"LIVESHOP_SECRET": SECRET})
    assert r.returncode == 0, r.stderr
    check_token(last_line(r.stdout), SECRET, "live/demo")
    # --secret wins over the environment
    r = run("token", "live/demo", "--secret=other",
            env={"LIVESHOP_SECRET": SECRET})
    check_token(last_line(r.stdout), "other", "live/demo")


def test_token_expires():
    before = int(time.time())
    r = run("token", "--secret", SECRET, "--expires", "3600", "live/demo")
    after = int(time.time())
    assert r.returncode == 0, r.stderr
    exp = check_token(last_line(r.stdout), SECRET, "live/demo")
    assert before + 3600 <= exp <= after + 3600
    r = run("token", "--secret", SECRET, "--expires", "0", "live/demo")
    assert check_token(last_line(r.stdout), SECRET, "live/demo") == 0


@pytest.mark.parametrize("value", ["-5", "abc", "1.5", "", "99999999999999"])
def test_token_bad_expires(value):
    r = run("token", "--secret", SECRET, "--expires", value, "live/demo")
    assert r.returncode == 2
    assert b"--expires" in r.stderr
    assert b"usage: liveshopctl token" in r.stderr
    assert r.stdout == b""


def test_token_without_secret():
    r = run("token", "live/demo")
    assert r.returncode == 2
    assert b"secret" in r.stderr and b"LIVESHOP_SECRET" in r.stderr
    assert b"usage: liveshopctl token [--secret S] [--expires SECONDS] " \
           b"STREAM" in r.stderr
    assert r.stdout == b""


def test_token_secret_never_in_errors():
    r = run("token", "--secret", SECRET, "--expires", "soon", "live/demo")
    assert r.returncode == 2
    assert SECRET.encode() not in r.stderr + r.stdout
    r = run("token", "--secret", SECRET, "bad stream")
    assert r.returncode == 2
    assert SECRET.encode() not in r.stderr + r.stdout


# --- API calls ---------------------------------------------------------------

def test_offer_put(api, offer_file):
    r = api.ctl("offer", "put", "live/demo", str(offer_file))
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert method == "PUT"
    assert path == "/shop/v1/streams/live/demo/offers/sku-123"
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert headers["Content-Type"] == "application/json"
    assert body == offer_file.read_bytes()
    assert r.stdout == EVENT + b"\n"


def test_offer_put_from_stdin(api):
    data = json.dumps(dict(OFFER, id="sku.from_stdin-1")).encode()
    r = api.ctl("offer", "put", "live/demo", "-", input=data)
    assert r.returncode == 0, r.stderr
    method, path, _, body = api.only_request()
    assert (method, path) == ("PUT",
                              "/shop/v1/streams/live/demo/offers/"
                              "sku.from_stdin-1")
    assert body == data


@pytest.mark.parametrize("change,field", [
    ({"price": "19,99"}, "price"),
    ({"currency": "eur"}, "currency"),
    ({"compare_at": "9.99"}, "compare_at"),
    ({"url": "ftp://shop.example/p/123"}, "url"),
    ({"stock": -1}, "stock"),
    ({"disclosure": "paid"}, "disclosure"),
    ({"title": ""}, "title"),
    ({"id": "sku 123"}, "id"),
    ({"url": None}, "url"),
    ({"id": None}, "id"),
    ({"titel": "typo"}, "titel"),
])
def test_offer_put_bad_file_is_refused_locally(api, tmp_path, change, field):
    offer = dict(OFFER, **change)
    offer = {k: v for k, v in offer.items() if v is not None}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(offer))
    r = api.ctl("offer", "put", "live/demo", str(path))
    assert r.returncode == 2, r.stderr
    assert ('"%s"' % field).encode() in r.stderr
    assert str(path).encode() in r.stderr
    assert api.requests == []


@pytest.mark.parametrize("content", [b"", b"{", b"[1,2]", b"not json"])
def test_offer_put_not_an_offer(api, tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    r = api.ctl("offer", "put", "live/demo", str(path))
    assert r.returncode == 2
    assert r.stderr.startswith(b"liveshopctl: ")
    assert api.requests == []


def test_offer_put_missing_file(api, tmp_path):
    r = api.ctl("offer", "put", "live/demo", str(tmp_path / "nope.json"))
    assert r.returncode == 2
    assert b"nope.json" in r.stderr
    assert api.requests == []


def test_offer_list(api):
    api.answer(200, b'{"offers":[]}\n')
    r = api.ctl("offer", "list", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("GET", "/shop/v1/streams/live/demo/offers")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert body == b""
    # a body that ends in a newline gets no second one
    assert r.stdout == b'{"offers":[]}\n'


def test_pin(api):
    r = api.ctl("pin", "live/demo", "sku-123")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("POST", "/shop/v1/streams/live/demo/pin")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"offer": "sku-123"}
    assert r.stdout == EVENT + b"\n"


def test_pin_duration_and_at(api):
    r = api.ctl("pin", "live/demo", "sku-123", "--duration", "120",
                "--at", "2026-11-24T10:00:00.123Z")
    assert r.returncode == 0, r.stderr
    body = json.loads(api.only_request()[3])
    assert body == {"offer": "sku-123", "duration": 120,
                    "at": "2026-11-24T10:00:00.123Z"}


def test_pin_at_with_offset_is_sent_in_utc(api):
    r = api.ctl("pin", "--at=2026-11-24T11:00:00+01:00", "live/demo", "x")
    assert r.returncode == 0, r.stderr
    body = json.loads(api.only_request()[3])
    assert body == {"offer": "x", "at": "2026-11-24T10:00:00.000Z"}


def test_global_options_after_the_command(api):
    r = run("pin", "live/demo", "sku-123", "-q", "--token", TOKEN,
            "--server", api.url)
    assert r.returncode == 0, r.stderr
    assert api.only_request()[2]["Authorization"] == "Bearer " + TOKEN
    assert r.stdout == b""


@pytest.mark.parametrize("args,what", [
    (["live/demo", "sku 1"], b"offer id"),
    (["live/demo", "x" * 65], b"offer id"),
    (["live/demo", "sku-1", "--duration", "-1"], b"--duration"),
    (["live/demo", "sku-1", "--duration", "abc"], b"--duration"),
    (["live/demo", "sku-1", "--duration", "86401"], b"--duration"),
    (["live/demo", "sku-1", "--at", "yesterday"], b"--at"),
    (["live/demo", "sku-1", "--at", "2026-11-24 10:00"], b"--at"),
    (["live/demo"], b"missing OFFER_ID"),
    (["live/demo", "a", "b"], b"too many arguments"),
])
def test_pin_bad_arguments(api, args, what):
    r = api.ctl("pin", *args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl pin STREAM OFFER_ID [--duration SECONDS] " \
           b"[--at RFC3339]" in r.stderr
    assert api.requests == []


def test_unpin(api):
    r = api.ctl("unpin", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("POST", "/shop/v1/streams/live/demo/unpin")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert json.loads(body) == {}


def test_state_needs_no_token_and_sends_none(api):
    state = b'{"stream":"live/demo","seq":0,"pinned":null}'
    api.answer(200, state)
    r = api.ctl("state", "live/demo", token=None)
    assert r.returncode == 0, r.stderr
    assert r.stdout == state + b"\n"
    r = api.ctl("state", "live/demo", env={"LIVESHOP_TOKEN": TOKEN})
    assert r.returncode == 0, r.stderr
    for method, path, headers, _ in api.requests:
        assert (method, path) == ("GET", "/shop/v1/streams/live/demo/state")
        assert "Authorization" not in headers


@pytest.mark.parametrize("args", [
    ["offer", "put", "live/demo", "OFFER_FILE"],
    ["offer", "list", "live/demo"],
    ["pin", "live/demo", "sku-123"],
    ["unpin", "live/demo"],
    ["countdown", "live/demo", "300"],
    ["disclosure", "show", "live/demo", "ad"],
    ["disclosure", "hide", "live/demo"],
    ["report", "live/demo"],
])
def test_missing_token_is_refused_locally(api, offer_file, args):
    args = [str(offer_file) if a == "OFFER_FILE" else a for a in args]
    r = api.ctl(*args, token=None)
    assert r.returncode == 2
    assert b"no token" in r.stderr and b"LIVESHOP_TOKEN" in r.stderr
    assert b"usage: liveshopctl " in r.stderr
    assert api.requests == []


def test_environment_variables(api):
    # LIVESHOP_SERVER without its trailing slash
    env = {"LIVESHOP_SERVER": api.url.rstrip("/"), "LIVESHOP_TOKEN": TOKEN}
    r = run("unpin", "live/demo", env=env)
    assert r.returncode == 0, r.stderr
    method, path, headers, _ = api.only_request()
    assert path == "/shop/v1/streams/live/demo/unpin"
    assert headers["Authorization"] == "Bearer " + TOKEN
    # options win over the environment
    env = {"LIVESHOP_SERVER": "http://127.0.0.1:1/nowhere/",
           "LIVESHOP_TOKEN": "ls1.wrong"}
    r = run("--server", api.url, "--token", TOKEN, "unpin", "live/demo",
            env=env)
    assert r.returncode == 0, r.stderr
    assert api.requests[1][2]["Authorization"] == "Bearer " + TOKEN


# --- answers -----------------------------------------------------------------

def test_server_error_message(api):
    api.answer(404, json.dumps({"error": {
        "code": "not_found", "field": "offer",
        "message": "no offer \"sku-9\" in the catalog of live/demo"}}))
    r = api.ctl("pin", "live/demo", "sku-9")
    assert r.returncode == 1
    assert r.stdout == b""
    assert r.stderr.decode() == (
        "liveshopctl: POST %sv1/streams/live/demo/pin: HTTP 404: "
        "no offer \"sku-9\" in the catalog of live/demo\n" % api.url)
    assert TOKEN.encode() not in r.stderr


def test_server_400_on_put(api, offer_file):
    api.answer(400, json.dumps({"error": {
        "code": "invalid_field", "field": "price",
        "message": "price must be greater than 0"}}))
    r = api.ctl("offer", "put", "live/demo", str(offer_file))
    assert r.returncode == 1
    assert b"PUT " + api.url.encode() in r.stderr
    assert b"HTTP 400: price must be greater than 0" in r.stderr


def test_server_error_raw_body(api):
    api.answer(502, b"Bad Gateway\r\n", "text/plain")
    r = api.ctl("offer", "list", "live/demo")
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "liveshopctl: GET %sv1/streams/live/demo/offers: HTTP 502: "
        "Bad Gateway\n" % api.url)


def test_server_401_without_body(api):
    api.answer(401, b"")
    r = api.ctl("unpin", "live/demo")
    assert r.returncode == 1
    assert b"HTTP 401" in r.stderr
    assert TOKEN.encode() not in r.stderr


def test_server_text_cannot_drive_the_terminal(api):
    api.answer(400, json.dumps({"error": {
        "message": "bad\x1b[2J\x1b]0;pwned\x07\nnews"}}))
    r = api.ctl("unpin", "live/demo")
    assert r.returncode == 1
    assert b"\x1b" not in r.stderr and b"\x07" not in r.stderr
    assert r.stderr.count(b"\n") == 1


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down():
    url = "http://127.0.0.1:%d/shop/" % closed_port()
    r = run("--server", url, "--token", TOKEN, "pin", "live/demo", "sku-1")
    assert r.returncode == 3
    assert r.stderr.startswith(
        b"liveshopctl: cannot reach " + url.encode() +
        b"v1/streams/live/demo/pin: ")
    assert TOKEN.encode() not in r.stderr
    r = run("--server", url, "state", "live/demo")
    assert r.returncode == 3
    assert b"cannot reach" in r.stderr


def test_password_in_server_url_is_not_shown():
    url = "http://user:hunter2@127.0.0.1:%d/shop/" % closed_port()
    r = run("--server", url, "state", "live/demo")
    assert r.returncode == 3
    assert b"cannot reach http://***@127.0.0.1:" in r.stderr
    assert b"hunter2" not in r.stderr


@pytest.mark.parametrize("server", ["127.0.0.1:8080/shop/", "ftp://x/", ""])
def test_server_must_be_http(server):
    r = run("--server", server, "state", "live/demo")
    assert r.returncode == 2
    assert b"--server" in r.stderr


# --- names and usage ---------------------------------------------------------

@pytest.mark.parametrize("stream", [
    "live", "live/demo/x", "live/..", "../demo", "live/de mo", "/demo",
    "live/", "", "x" * 65 + "/demo", "live/d\u00e9mo",
])
@pytest.mark.parametrize("command", [
    ["state"], ["unpin"], ["offer", "list"], ["pin", None, "sku-1"],
    ["token", "--secret", SECRET], ["countdown", None, "60"],
    ["disclosure", "show", None, "ad"], ["disclosure", "hide"], ["report"],
    ["events"], ["events", None, "--once"],
])
def test_invalid_stream(api, stream, command):
    args = [stream if a is None else a for a in command]
    if None not in command:
        args.append(stream)
    r = api.ctl(*args)
    assert r.returncode == 2
    assert b"invalid stream" in r.stderr
    assert b"usage: liveshopctl " in r.stderr
    assert r.stdout == b""
    assert api.requests == []


@pytest.mark.parametrize("args,what", [
    ([], b"no command"),
    (["frobnicate"], b"unknown command 'frobnicate'"),
    (["offer"], b"offer needs 'put' or 'list'"),
    (["offer", "delete", "live/demo"], b"offer needs 'put' or 'list'"),
    (["disclosure"], b"disclosure needs 'show' or 'hide'"),
    (["disclosure", "toggle", "live/demo"],
     b"disclosure needs 'show' or 'hide'"),
    (["disclosure", "show", "live/demo"], b"missing KIND"),
    (["countdown", "live/demo"], b"missing SECONDS"),
    (["events", "live/demo", "--label", "x"],
     b"--label is not an option of events"),
    (["countdown", "live/demo", "5", "--once"],
     b"--once is not an option of countdown"),
    (["events", "live/demo", "--once=yes"], b"--once takes no value"),
    (["state"], b"missing STREAM"),
    (["unpin", "live/demo", "--duration", "5"],
     b"--duration is not an option of unpin"),
    (["state", "live/demo", "--bogus"], b"unknown option --bogus"),
    (["state", "live/demo", "--quiet=yes"], b"--quiet takes no value"),
    (["state", "live/demo", "--server"], b"--server needs a value"),
    (["state", "live/demo", "--json"], b"--json is not an option of state"),
    (["report", "live/demo", "--csv=yes"], b"--csv takes no value"),
])
def test_usage_errors(args, what):
    r = run(*args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl " in r.stderr
    assert r.stdout == b""


def test_help_and_version():
    for args in (["help"], ["--help"], ["-h"], ["pin", "--help"]):
        r = run(*args)
        assert r.returncode == 0
        for line in (b"token [--secret S] [--expires SECONDS] STREAM",
                     b"offer put STREAM FILE", b"offer list STREAM",
                     b"pin STREAM OFFER_ID [--duration SECONDS] "
                     b"[--at RFC3339]",
                     b"unpin STREAM", b"state STREAM",
                     b"countdown STREAM SECONDS [--label TEXT] [--offer ID] "
                     b"[--at RFC3339]",
                     b"disclosure show STREAM KIND [--text TEXT] "
                     b"[--at RFC3339]",
                     b"disclosure hide STREAM",
                     b"report STREAM [--show ID] [--json | --csv]",
                     b"events STREAM [--after SEQ] [--once]",
                     b"--server URL",
                     b"LIVESHOP_SERVER", b"LIVESHOP_TOKEN",
                     b"LIVESHOP_SECRET"):
            assert line in r.stdout
    r = run("--version")
    assert r.returncode == 0
    assert re.fullmatch(rb"liveshopctl \d+\.\d+\.\d+\n", r.stdout)


# --- countdown, disclosure, report -------------------------------------------

def test_countdown(api):
    r = api.ctl("countdown", "live/demo", "300")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("POST", "/shop/v1/streams/live/demo/countdown")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"seconds": 300}
    assert r.stdout == EVENT + b"\n"


def test_countdown_label_offer_and_at(api):
    label = "Nur noch \u00fcber \"5\" Minuten \U0001f525 <b>"
    r = api.ctl("countdown", "live/demo", "86400", "--label", label,
                "--offer", "sku-123", "--at=2026-11-24T11:00:00+01:00")
    assert r.returncode == 0, r.stderr
    body = json.loads(api.only_request()[3])
    assert body == {"seconds": 86400, "label": label, "offer": "sku-123",
                    "at": "2026-11-24T10:00:00.000Z"}


def test_countdown_label_limits(api):
    # 60 characters of two bytes each: counted as characters, not bytes
    r = api.ctl("countdown", "live/demo", "1", "--label", "\u00fc" * 60)
    assert r.returncode == 0, r.stderr
    r = api.ctl("countdown", "live/demo", "1", "--label", "")
    assert r.returncode == 0, r.stderr
    assert [json.loads(b) for _, _, _, b in api.requests] == [
        {"seconds": 1, "label": "\u00fc" * 60}, {"seconds": 1, "label": ""}]


@pytest.mark.parametrize("args,what", [
    (["live/demo", "0"], b"SECONDS"),
    (["live/demo", "86401"], b"SECONDS"),
    (["live/demo", "-5"], b"SECONDS"),
    (["live/demo", "1.5"], b"SECONDS"),
    (["live/demo", "abc"], b"SECONDS"),
    (["live/demo", ""], b"SECONDS"),
    (["live/demo", "60", "--label", "x" * 61], b"--label"),
    (["live/demo", "60", "--label", "\u00fc" * 61], b"--label"),
    (["live/demo", "60", "--label", b"caf\xe9"], b"--label"),
    (["live/demo", "60", "--offer", "sku 1"], b"offer id"),
    (["live/demo", "60", "--offer", ""], b"offer id"),
    (["live/demo", "60", "--at", "soon"], b"--at"),
    (["live/demo", "60", "extra"], b"too many arguments"),
])
def test_countdown_bad_arguments(api, args, what):
    r = api.ctl("countdown", *args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl countdown STREAM SECONDS [--label TEXT] " \
           b"[--offer ID] [--at RFC3339]" in r.stderr
    assert r.stdout == b""
    assert api.requests == []


def test_countdown_stop(api):
    r = api.ctl("countdown", "stop", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("DELETE",
                              "/shop/v1/streams/live/demo/countdown")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert body == b""
    assert r.stdout == EVENT + b"\n"
    r = api.ctl("countdown", "stop", "live/demo",
                "--at=2026-11-24T11:00:00+01:00")
    assert r.returncode == 0, r.stderr
    assert json.loads(api.requests[-1][3]) == {
        "at": "2026-11-24T10:00:00.000Z"}
    r = api.ctl("countdown", "stop", "live/demo", "60")
    assert r.returncode == 2 and b"too many arguments" in r.stderr
    assert len(api.requests) == 2


def test_disclosure_show(api):
    r = api.ctl("disclosure", "show", "live/demo", "ad", "--text", "Anzeige")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("POST", "/shop/v1/streams/live/demo/disclosure")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"kind": "ad", "text": "Anzeige"}
    assert r.stdout == EVENT + b"\n"


@pytest.mark.parametrize("kind", ["ad", "sponsored", "affiliate", "gifted",
                                  "own"])
def test_disclosure_show_default_text(api, kind):
    # no --text: the server picks the kind's label
    r = api.ctl("disclosure", "show", "live/demo", kind)
    assert r.returncode == 0, r.stderr
    assert json.loads(api.only_request()[3]) == {"kind": kind}


def test_disclosure_show_text_and_at(api):
    text = "Dauerwerbesendung \u00e4\u00f6\u00fc \U0001f4e3"
    r = api.ctl("disclosure", "show", "--at", "2026-11-24T10:00:00.123Z",
                "live/demo", "sponsored", "--text=" + text)
    assert r.returncode == 0, r.stderr
    assert json.loads(api.only_request()[3]) == {
        "kind": "sponsored", "text": text, "at": "2026-11-24T10:00:00.123Z"}


@pytest.mark.parametrize("args,what", [
    (["live/demo", "paid"], b"invalid disclosure kind 'paid'"),
    (["live/demo", "AD"], b"invalid disclosure kind 'AD'"),
    (["live/demo", ""], b"invalid disclosure kind"),
    (["live/demo", "ad", "--text", ""], b"--text"),
    (["live/demo", "ad", "--text", "y" * 61], b"--text"),
    (["live/demo", "ad", "--text", b"\xc3"], b"--text"),
    (["live/demo", "ad", "--at", "2026-11-24"], b"--at"),
    (["live/demo", "ad", "--label", "x"],
     b"--label is not an option of disclosure show"),
])
def test_disclosure_show_bad_arguments(api, args, what):
    r = api.ctl("disclosure", "show", *args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl disclosure show STREAM KIND [--text TEXT] " \
           b"[--at RFC3339]" in r.stderr
    assert api.requests == []


def test_disclosure_kind_is_shown_safely(api):
    r = api.ctl("disclosure", "show", "live/demo", "a\x1b[2Jd")
    assert r.returncode == 2
    assert b"\x1b" not in r.stderr
    assert api.requests == []


def test_disclosure_hide(api):
    r = api.ctl("disclosure", "hide", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("DELETE",
                              "/shop/v1/streams/live/demo/disclosure")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert body == b""
    assert r.stdout == EVENT + b"\n"


def test_disclosure_hide_refused_while_required(api):
    message = ("offer \"sku-123\" is pinned with disclosure \"ad\"; it "
               "stays shown until the offer is unpinned")
    api.answer(409, json.dumps({"error": {"code": "disclosure_required",
                                          "field": "kind",
                                          "message": message}}))
    r = api.ctl("disclosure", "hide", "live/demo")
    assert r.returncode == 1
    assert r.stdout == b""
    assert r.stderr.decode() == (
        "liveshopctl: DELETE %sv1/streams/live/demo/disclosure: HTTP 409: "
        "%s\n" % (api.url, message))
    assert TOKEN.encode() not in r.stderr


def test_disclosure_show_refused(api):
    api.answer(409, json.dumps({"error": {
        "code": "disclosure_required", "message": "the pinned offer needs "
        "disclosure \"sponsored\""}}))
    r = api.ctl("disclosure", "show", "live/demo", "ad")
    assert r.returncode == 1
    assert b"HTTP 409: the pinned offer needs disclosure \"sponsored\"" \
        in r.stderr


# A report as the server writes it (shared/src/report.c,
# lshop_report_to_json), with the offers of config-examples/catalog.json.
REPORT = {
    "stream": "live/demo", "at": "2026-11-24T10:01:10.373Z",
    "offers": [
        {"offer_id": "sku-123", "title": "Vitamin C Serum 30 ml", "pins": 2,
         "seconds_pinned": 40.25, "orders": 2, "units": 3, "oversold": 0,
         "revenue": "59.97", "currency": "EUR"},
        {"offer_id": "sku-9", "title": "Hyaluron Day Cream 50 ml",
         "pins": 1, "seconds_pinned": 3725.5, "orders": 1, "units": 2,
         "oversold": 0, "revenue": "49.00", "currency": "EUR"},
        {"offer_id": "sku-42", "title": "Bamboo Travel Brush \"Mini\"",
         "pins": 0, "seconds_pinned": 0.0, "orders": 0, "units": 0,
         "oversold": 0, "revenue": "0.00", "currency": "EUR"},
    ],
    "disclosure": {"sponsored_pins": 1, "sponsored_seconds": 3725.5,
                   "disclosed_seconds": 3725.5, "coverage": 1.0},
}


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def columns(line):
    """The terminal columns of a line: wide characters take two."""
    import unicodedata
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in line)


def test_report_is_a_table_by_default(api):
    api.answer(200, compact(REPORT))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("GET", "/shop/v1/streams/live/demo/report")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert body == b""
    assert r.stderr == b""
    assert r.stdout.decode() == (
        "Report of live/demo at 2026-11-24T10:01:10.373Z\n"
        "\n"
        "OFFER    TITLE                       PINS   PINNED  ORDERS  UNITS"
        "     REVENUE\n"
        "sku-123  Vitamin C Serum 30 ml          2     0:40       2      3"
        "   59.97 EUR\n"
        "sku-9    Hyaluron Day Cream 50 ml       1  1:02:06       1      2"
        "   49.00 EUR\n"
        "sku-42   Bamboo Travel Brush \"Mini\"     0     0:00       0      0"
        "    0.00 EUR\n"
        "total                                   3  1:02:46       3      5"
        "  108.97 EUR\n"
        "\n"
        "Sponsored pins:   1, pinned 1:02:06\n"
        "Disclosure shown: 1:02:06 of it, coverage 100 %\n")


def test_report_table_fits_80_columns(api):
    # Long titles are cut at a character, never inside one, with an
    # ellipsis; text from the server cannot drive the terminal.
    report = json.loads(json.dumps(REPORT))
    report["offers"][0]["title"] = "\u00dcberlange Creme " * 8
    report["offers"][1]["title"] = "\u6771\u4eac\u306e\u304a\u8336" * 20
    report["offers"][2]["title"] = ("\U0001f525 Sale\x1b[2J\x1b]0;pwned\x07 "
                                    "\u0301e\u0301 " * 10)
    api.answer(200, compact(report))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()    # valid UTF-8
    assert "\x1b" not in out and "\x07" not in out
    lines = out.split("\n")
    assert max(columns(ln) for ln in lines) <= 80, out
    rows = [ln for ln in lines if ln.startswith("sku-")]
    assert len(rows) == 3
    for row in rows:
        assert "\u2026 " in row, row
    assert rows[0].startswith("sku-123  \u00dcberlange Creme \u00dcberlange")
    # every row the same width: the columns line up
    assert len({columns(ln) for ln in lines[2:7]}) == 1, out


def test_report_table_currencies_oversold_and_unknowns(api):
    report = json.loads(json.dumps(REPORT))
    report["offers"][0].update(oversold=2, units=5)
    report["offers"][1].update(revenue="2000", currency="JPY")
    report["offers"][2].update(title=None)
    report["offers"].append({
        "offer_id": "sku-odd", "title": None, "pins": 0,
        "seconds_pinned": 0.0, "orders": 1, "units": 1, "oversold": 0,
        "revenue": "19.9999", "currency": "EUR"})
    report["disclosure"].update(disclosed_seconds=3725.4,
                                coverage=3725.4 / 3725.5)
    api.answer(200, compact(report))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().split("\n")
    assert lines[2].split() == ["OFFER", "TITLE", "PINS", "PINNED", "ORDERS",
                                "UNITS", "OVERSOLD", "REVENUE"]
    assert lines[3].split()[-4:] == ["5", "2", "59.97", "EUR"]
    # one total per currency, exact: 59.97 + 0.00 + 19.9999
    assert lines[7].split() == ["total", "3", "1:02:46", "4", "8", "2",
                                "79.9699", "EUR"]
    assert lines[8].split() == ["2000", "JPY"]
    # 99.997 % is not 100 %
    assert "coverage 99.9 %" in r.stdout.decode()

    # A revenue the server could not sum (two currencies): "?" and why.
    report["offers"][0]["revenue"] = None
    api.answer(200, compact(report))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.split("\n")[3].split()[-1] == "?"
    assert out.split("\n")[7].split()[-1] == "?"
    assert "?: no one sum (orders in more than one currency" in out


def test_report_table_without_offers(api):
    api.answer(200, compact({
        "stream": "live/demo", "at": "2026-11-24T10:00:00.000Z",
        "offers": [], "disclosure": {
            "sponsored_pins": 0, "sponsored_seconds": 0.0,
            "disclosed_seconds": 0.0, "coverage": 1.0}}))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        "Report of live/demo at 2026-11-24T10:00:00.000Z\n\n"
        "No offers yet.\n\n"
        "Sponsored pins:   none, so no disclosure was needed\n")


@pytest.mark.parametrize("body", [b"[]", b"{\"offers\":{}}", b"not json",
                                  b""])
def test_report_answer_that_is_no_report(api, body):
    api.answer(200, body)
    r = api.ctl("report", "live/demo")
    assert r.returncode == 1
    assert r.stdout == b""
    assert b"no report (--json prints it as it is)" in r.stderr


def test_report_json_is_the_servers(api):
    report = compact(REPORT)
    api.answer(200, report)
    r = api.ctl("report", "live/demo", "--json")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("GET", "/shop/v1/streams/live/demo/report")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert r.stdout == report + b"\n"
    assert json.loads(r.stdout) == REPORT


def test_report_csv_is_the_servers(api):
    csv = (b"offer_id,title,pins,seconds_pinned,orders,units,oversold,"
           b"revenue,currency\r\n"
           b"sku-42,\"Bamboo Travel Brush \"\"Mini\"\", 2x\",0,0.0,0,0,0,"
           b"0.00,EUR\r\n")
    api.answer(200, csv, "text/csv; charset=utf-8")
    r = api.ctl("--csv", "report", "live/demo")
    assert r.returncode == 0, r.stderr
    method, path, headers, body = api.only_request()
    assert (method, path) == ("GET", "/shop/v1/streams/live/demo/report.csv")
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert r.stdout == csv


def test_report_quiet_prints_nothing(api):
    api.answer(200, compact(REPORT))
    for fmt in ([], ["--json"], ["--csv"]):
        r = api.ctl("report", "live/demo", "-q", *fmt)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b""


def test_report_one_format_at_a_time(api):
    r = api.ctl("report", "live/demo", "--json", "--csv")
    assert r.returncode == 2
    assert b"--json and --csv" in r.stderr
    assert b"usage: liveshopctl report STREAM [--show ID] [--json | --csv]" in r.stderr
    assert api.requests == []


def test_report_forbidden(api):
    api.answer(403, json.dumps({"error": {
        "code": "forbidden", "message": "the token is for another stream"}}))
    r = api.ctl("report", "live/demo")
    assert r.returncode == 1
    assert b"GET " + api.url.encode() + b"v1/streams/live/demo/report: " \
        b"HTTP 403: the token is for another stream" in r.stderr


def test_new_commands_server_down():
    url = "http://127.0.0.1:%d/shop/" % closed_port()
    for args in (["countdown", "live/demo", "10"],
                 ["disclosure", "show", "live/demo", "ad"],
                 ["disclosure", "hide", "live/demo"],
                 ["report", "live/demo"]):
        r = run("--server", url, "--token", TOKEN, *args)
        assert r.returncode == 3, args
        assert b"cannot reach " + url.encode() in r.stderr


# --- events (SPEC §8) ----------------------------------------------------------

DROP = "drop"  # script step: cut the connection without ending the body
HOLD = "hold"  # script step: keep the connection open with keep-alives


def event_json(seq, type="stock.changed"):
    return json.dumps({
        "seq": seq, "id": "live/demo:%d" % seq, "type": type,
        "stream": "live/demo", "at": "2026-11-24T10:00:%02d.000Z" % seq,
        "data": {"offer_id": "sku-123", "stock": 50 - seq}},
        separators=(",", ":")).encode()


def sse_event(seq, type="stock.changed"):
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, type.encode(),
                                                 event_json(seq, type))


def state_json(seq):
    return json.dumps({"stream": "live/demo", "seq": seq,
                       "at": "2026-11-24T10:00:00.000Z", "pinned": None,
                       "countdown": None, "disclosure": None, "stock": {}},
                      separators=(",", ":")).encode()


def sse_state(seq):
    return b"event: state\ndata: %s\n\n" % state_json(seq)


class FakeSSE:
    """Serves GET …/events: connection N plays scripts[N], a list of
    steps: bytes (one HTTP chunk), a float (seconds of silence), DROP or
    HOLD; ("answer", status, body) instead answers once with that. Records
    (method, path, headers) of every connection."""

    def __init__(self, port=0):
        self.connections = []
        self.scripts = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        sse = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def chunk(self, data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def do_GET(self):
                with sse.lock:
                    sse.connections.append((self.command, self.path,
                                            self.headers))
                    script = sse.scripts.pop(0) if sse.scripts else [HOLD]
                if isinstance(script, tuple):
                    _, status, body = script
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for step in script:
                        if step == DROP:
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        if step == HOLD:
                            while not sse.stop.wait(0.2):
                                self.chunk(b": keep-alive\n\n")
                            return
                        if isinstance(step, float):
                            time.sleep(step)
                        else:
                            self.chunk(step)
                    self.chunk(b"")  # the server ends the stream
                except OSError:
                    self.close_connection = True  # the client went away

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/shop/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       args=(0.05,), daemon=True)
        self.thread.start()

    def last_event_ids(self):
        return [h.get("Last-Event-ID") for _, _, h in self.connections]

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Tail:
    """liveshopctl events running in the background; stdout by line."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([CTL, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     env=clean_env(env))
        self.lines = queue.Queue()
        self.stderr = b""
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _err(self):
        for line in self.proc.stderr:
            self.stderr += line

    def line(self, timeout=10):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no line from events in %s s; stderr: %r"
                        % (timeout, self.stderr))

    def no_line(self, seconds):
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        pytest.fail("unexpected line from events: %r" % line)

    def wait_stderr(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            if time.monotonic() > deadline:
                pytest.fail("%r not on stderr in %s s: %r"
                            % (text, timeout, self.stderr))
            time.sleep(0.02)

    def wait(self, timeout=10):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("events still running after %s s" % timeout)
        rest = []
        while True:
            line = self.line(5)
            if line is None:
                return rc, rest
            rest.append(line)

    def end(self, sig=signal.SIGINT, timeout=10):
        self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def sse():
    server = FakeSSE()
    yield server
    server.close()


@pytest.fixture
def tails():
    started = []

    def start(*args, **kw):
        t = Tail(*args, **kw)
        started.append(t)
        return t
    yield start
    for t in started:
        t.kill()


def test_events_reconnects_with_last_event_id(sse, tails):
    # The first connection brings the state and two events, cut into
    # pieces anywhere (a CR at the end of a piece, its LF in the next),
    # with CRLF and LF line ends and keep-alive comments between, then
    # breaks. The second must ask for what came after the last event.
    three, four = sse_event(3), sse_event(4).replace(b"\n", b"\r\n")
    sse.scripts = [
        [b":ok\n\n", sse_state(2)[:9], sse_state(2)[9:], b": keep-alive\n\n",
         three[:5], three[5:30], three[30:], b":\r\n\r\n",
         four[:-3], four[-3:-1], four[-1:], b": ping\n", b"\n", 0.1, DROP],
        [sse_event(5), HOLD],
    ]
    t = tails("--server", sse.url, "events", "live/demo",
              env={"LIVESHOP_TOKEN": TOKEN})
    assert t.line() == state_json(2) + b"\n"
    assert t.line() == event_json(3) + b"\n"
    assert t.line() == event_json(4) + b"\n"
    assert t.line() == event_json(5) + b"\n"
    t.no_line(0.5)
    rc, rest = t.end()
    assert rc == 0, t.stderr
    assert rest == []
    assert sse.last_event_ids() == [None, "4"]
    for method, path, headers in sse.connections:
        assert (method, path) == ("GET", "/shop/v1/streams/live/demo/events")
        assert headers["Accept"] == "text/event-stream"
        assert "Authorization" not in headers  # the stream is public
    # the wait was said once, and no token anywhere
    assert t.stderr.count(b"\n") == 1, t.stderr
    assert b"reconnecting in 1 s" in t.stderr
    assert b"liveshopctl: GET " + sse.url.encode() + \
        b"v1/streams/live/demo/events: connection lost" in t.stderr
    assert TOKEN.encode() not in t.stderr


def test_events_server_ends_stream_cleanly(sse, tails):
    sse.scripts = [[sse_state(7), sse_event(8)], [sse_event(9), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo")
    assert [t.line() for _ in range(3)] == [
        state_json(7) + b"\n", event_json(8) + b"\n", event_json(9) + b"\n"]
    rc, _ = t.end(signal.SIGTERM)
    assert rc == 0
    assert sse.last_event_ids() == [None, "8"]
    assert b"the server ended the stream; reconnecting in 1 s" in t.stderr


def test_events_state_without_events_then_drop(sse, tails):
    # Nothing but the state came: its seq is where to go on from, so the
    # state is not asked for (and printed) twice.
    sse.scripts = [[sse_state(12), DROP], [sse_event(13), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo")
    assert t.line() == state_json(12) + b"\n"
    assert t.line() == event_json(13) + b"\n"
    assert t.end()[0] == 0
    assert sse.last_event_ids() == [None, "12"]


def test_events_replayed_event_printed_once(sse, tails):
    # a server that sends an event again after a reconnect
    sse.scripts = [[sse_event(3), sse_event(4), DROP],
                   [sse_event(4), sse_event(5), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo")
    assert [t.line() for _ in range(3)] == [
        event_json(3) + b"\n", event_json(4) + b"\n", event_json(5) + b"\n"]
    t.no_line(0.5)
    assert t.end()[0] == 0


def test_events_once(sse, tails):
    sse.scripts = [[sse_state(2), b": keep-alive\n\n", 0.3, sse_event(3),
                    sse_event(4), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo", "--once")
    rc, lines = t.wait()
    assert rc == 0, t.stderr
    assert lines == [state_json(2) + b"\n", event_json(3) + b"\n"]
    assert t.stderr == b""
    assert len(sse.connections) == 1


def test_events_after(sse, tails):
    sse.scripts = [[sse_event(8, "offer.unpinned"), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo", "--after", "7",
              "--once")
    rc, lines = t.wait()
    assert rc == 0, t.stderr
    assert lines == [event_json(8, "offer.unpinned") + b"\n"]
    assert sse.last_event_ids() == ["7"]


def test_events_after_skips_what_was_asked_away(sse, tails):
    sse.scripts = [[sse_event(6), sse_event(7), sse_event(8), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo", "--after=7",
              "--once")
    rc, lines = t.wait()
    assert rc == 0
    assert lines == [event_json(8) + b"\n"]


def test_events_data_lines_are_joined(sse, tails):
    sse.scripts = [[b"id: 1\r\nevent: x\r\ndata: {\"a\":\r\ndata:1,\r\n"
                    b"data: \"b\":2}\r\nretry: 10\r\nunknown: y\r\n\r\n"
                    b"event: nothing\ndata\n\n" b"id: 2\nevent: empty\n\n"
                    b"data: last\n\n", DROP], [HOLD]]
    t = tails("--server", sse.url, "events", "live/demo")
    assert t.line() == b'{"a":\n'
    assert t.line() == b'1,\n'
    assert t.line() == b'"b":2}\n'
    # a data line without a colon adds an empty line
    assert t.line() == b"\n"
    # a message without data is not printed, but its id counts
    assert t.line() == b"last\n"
    t.wait_stderr(b"reconnecting in 1 s")
    deadline = time.monotonic() + 5
    while len(sse.connections) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sse.last_event_ids() == [None, "2"]
    assert t.end()[0] == 0


def test_events_server_down_then_up(tails):
    port = closed_port()
    url = "http://127.0.0.1:%d/shop/" % port
    t = tails("--server", url, "events", "live/demo", "--once")
    start = time.monotonic()
    t.wait_stderr(b"retrying in 2 s")  # two tries failed (0 s, 1 s)
    assert t.stderr.startswith(
        b"liveshopctl: cannot reach " + url.encode() +
        b"v1/streams/live/demo/events: ")
    server = FakeSSE(port)  # the next try, at 3 s, finds it
    try:
        server.scripts = [[sse_state(0), 0.1, sse_event(1), HOLD]]
        rc, lines = t.wait(timeout=15)
        assert rc == 0, t.stderr
        assert lines == [state_json(0) + b"\n", event_json(1) + b"\n"]
        assert 2.5 < time.monotonic() - start < 10
        # one line per wait, each wait twice the one before
        waits = [int(m) for m in re.findall(
            rb"^liveshopctl: cannot reach [^\n]*; retrying in (\d+) s$",
            t.stderr, re.M)]
        assert t.stderr.count(b"\n") == len(waits), t.stderr
        assert waits in ([1, 2], [1, 2, 4]), t.stderr
        assert server.last_event_ids() == [None]
    finally:
        server.close()


def test_events_retries_a_server_error(sse, tails):
    sse.scripts = [("answer", 503, b'{"error":{"code":"unavailable",'
                    b'"message":"journal busy"}}'),
                   [sse_state(1), sse_event(2), HOLD]]
    t = tails("--server", sse.url, "events", "live/demo", "--once")
    rc, lines = t.wait()
    assert rc == 0, t.stderr
    assert lines == [state_json(1) + b"\n", event_json(2) + b"\n"]
    assert b"HTTP 503: journal busy; retrying in 1 s" in t.stderr


def test_events_refused(sse, tails):
    sse.scripts = [("answer", 404, b'{"error":{"code":"not_found",'
                    b'"message":"no stream live/demo"}}')]
    t = tails("--server", sse.url, "events", "live/demo")
    rc, lines = t.wait()
    assert rc == 1
    assert lines == []
    assert t.stderr.decode() == (
        "liveshopctl: GET %sv1/streams/live/demo/events: HTTP 404: "
        "no stream live/demo\n" % sse.url)
    assert len(sse.connections) == 1


def test_events_not_an_event_stream(api):
    # the fake API answers 200 application/json: not SPEC §8
    r = api.ctl("events", "live/demo")
    assert r.returncode == 1
    assert b"not an event stream (Content-Type: application/json)" \
        in r.stderr
    assert len(api.requests) == 1


def test_events_sigint_while_waiting_to_retry(tails):
    t = tails("--server", "http://127.0.0.1:%d/shop/" % closed_port(),
              "events", "live/demo")
    t.wait_stderr(b"retrying in 1 s")
    start = time.monotonic()
    rc, lines = t.end(signal.SIGINT)
    assert rc == 0 and lines == []
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("args,what", [
    (["live/demo", "--after", "abc"], b"--after"),
    (["live/demo", "--after", "-1"], b"--after"),
    (["live/demo", "--after", ""], b"--after"),
    (["live/demo", "--after", "1 2"], b"--after"),
    (["live/demo", "extra"], b"too many arguments"),
])
def test_events_bad_arguments(api, args, what):
    r = api.ctl("events", *args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl events STREAM [--after SEQ] [--once]" \
        in r.stderr
    assert api.requests == []


# --- webhook sign / verify (SPEC §9) -----------------------------------------

WEBHOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                        "config-examples", "webhooks")
STD_KEY = b"liveshop-test-key-0123456789abcdef"
WEBHOOK_CASES = {
    # provider: (sample, secret, order_id)
    "standard": ("standard-order.json",
                 "whsec_" + base64.b64encode(STD_KEY).decode(), "1001"),
    "shopify": ("shopify-orders-paid.json", "shpss_test_s3cr3t",
                "5839204810771"),
    "woocommerce": ("woocommerce-order.json", "wc-test-s3cr3t", "727"),
    "stripe": ("stripe-checkout-session-completed.json",
               "whsec_stripe_test_s3cr3t",
               "cs_live_a1Xq9Lk2pR7sT4vB8nM3cD6fG0hJ5kW2yE9uI4oP7aS1dF8gH3jK6lZ0xC"),
}
TS = 1795000000


def sample(provider):
    with open(os.path.join(WEBHOOKS, WEBHOOK_CASES[provider][0]), "rb") as f:
        return f.read()


def webhook(*args, secret=None, env=None, input=None):
    pre = ["webhook"] + list(args[:1]) + (["--secret", secret] if secret
                                         else [])
    return run(*pre, *args[1:], env=env, input=input)


def headers_of(out):
    lines = out.decode().splitlines()
    hs = dict(line.split(": ", 1) for line in lines)
    assert len(hs) == len(lines)
    return hs


def header_args(hs):
    return [a for k, v in hs.items() for a in ("--header", "%s: %s" % (k, v))]


def expected_signature(provider, secret, body, hs):
    """The signature header as computed here, independently of the core."""
    if provider == "standard":
        key = base64.b64decode(secret[len("whsec_"):])
        msg = ("%s.%s." % (hs["webhook-id"], hs["webhook-timestamp"])).encode()
        mac = hmac.new(key, msg + body, hashlib.sha256).digest()
        return "webhook-signature", "v1," + base64.b64encode(mac).decode()
    if provider == "stripe":
        mac = hmac.new(secret.encode(), b"%d." % TS + body,
                       hashlib.sha256).hexdigest()
        return "Stripe-Signature", "t=%d,v1=%s" % (TS, mac)
    mac = base64.b64encode(hmac.new(secret.encode(), body,
                                    hashlib.sha256).digest()).decode()
    name = ("X-Shopify-Hmac-Sha256" if provider == "shopify"
            else "X-WC-Webhook-Signature")
    return name, mac


def sign(provider, *extra, secret=None):
    secret = secret or WEBHOOK_CASES[provider][1]
    ts = [] if provider in ("shopify", "woocommerce") else [
        "--timestamp", str(TS)]
    path = os.path.join(WEBHOOKS, WEBHOOK_CASES[provider][0])
    r = webhook("sign", "--provider", provider, *ts, *extra, path,
                secret=secret)
    assert r.returncode == 0, r.stderr
    assert secret.encode() not in r.stdout + r.stderr
    return headers_of(r.stdout)


def verify(provider, hs, body, secret=None, now=TS + 10):
    secret = secret or WEBHOOK_CASES[provider][1]
    return webhook("verify", "--provider", provider, "--now", str(now),
                   *header_args(hs), "-", secret=secret, input=body)


@pytest.mark.parametrize("provider", sorted(WEBHOOK_CASES))
def test_webhook_sign_verify_round_trip(provider):
    body, secret = sample(provider), WEBHOOK_CASES[provider][1]
    hs = sign(provider)
    name, value = expected_signature(provider, secret, body, hs)
    assert hs[name] == value
    assert hs["Content-Type"] == "application/json"
    if provider == "standard":
        assert re.fullmatch(r"msg_[0-9a-f]{16}", hs["webhook-id"])
        assert hs["webhook-timestamp"] == str(TS)
    if provider == "shopify":
        assert hs["X-Shopify-Topic"] == "orders/paid"
    if provider == "woocommerce":
        assert hs["X-WC-Webhook-Topic"] == "order.updated"

    r = verify(provider, hs, body)
    assert r.returncode == 0, r.stderr
    ok, order = r.stdout.decode().splitlines()
    delivery = {"standard": hs.get("webhook-id"),
                "shopify": hs.get("X-Shopify-Webhook-Id"),
                "woocommerce": hs.get("X-WC-Webhook-Delivery-ID"),
                "stripe": None}[provider] or json.loads(body)["id"]
    assert ok == "ok " + delivery
    order = json.loads(order)
    assert order["type"] == "order.paid"
    assert order["order_id"] == WEBHOOK_CASES[provider][2]
    assert order["stream"] == "live/demo"
    assert secret.encode() not in r.stdout + r.stderr


@pytest.mark.parametrize("provider", sorted(WEBHOOK_CASES))
def test_webhook_verify_python_signed(provider):
    """A delivery signed here, not by the tool, verifies too."""
    body, secret = sample(provider), WEBHOOK_CASES[provider][1]
    hs = {"webhook-id": "msg_py1", "webhook-timestamp": str(TS)} \
        if provider == "standard" else {}
    if provider == "shopify":
        hs["X-Shopify-Topic"] = "orders/paid"
    if provider == "woocommerce":
        hs["X-WC-Webhook-Topic"] = "order.updated"
    name, value = expected_signature(provider, secret, body, hs)
    hs[name] = value
    r = verify(provider, hs, body)
    assert r.returncode == 0, r.stderr
    assert b'"order_id":"%s"' % WEBHOOK_CASES[provider][2].encode() in r.stdout


@pytest.mark.parametrize("provider", sorted(WEBHOOK_CASES))
def test_webhook_verify_refuses_changed_body_and_wrong_secret(provider):
    body, secret = sample(provider), WEBHOOK_CASES[provider][1]
    hs = sign(provider)
    changed = body.replace(b"live/demo", b"live/evil", 1)
    assert changed != body
    wrong = ("whsec_" + base64.b64encode(b"another-key-entirely").decode()
             if provider == "standard" else secret + "x")
    for r in (verify(provider, hs, changed),
              verify(provider, hs, body, secret=wrong)):
        assert r.returncode == 1
        assert r.stdout == b""
        assert b"does not match the body" in r.stderr
        assert secret.encode() not in r.stderr
        assert wrong.encode() not in r.stderr
    missing = verify(provider, {k: v for k, v in hs.items()
                                if k == "Content-Type"}, body)
    assert missing.returncode == 1
    assert b"has no" in missing.stderr


@pytest.mark.parametrize("provider", ["standard", "stripe"])
def test_webhook_verify_stale_timestamp(provider):
    body = sample(provider)
    hs = sign(provider)
    r = verify(provider, hs, body, now=TS + 301)
    assert r.returncode == 1
    assert b"301 s old" in r.stderr
    r = verify(provider, hs, body, now=TS - 61)
    assert r.returncode == 1
    assert b"61 s ahead" in r.stderr
    assert verify(provider, hs, body, now=TS + 300).returncode == 0


def test_webhook_secret_from_environment_and_given_id():
    provider = "standard"
    secret = WEBHOOK_CASES[provider][1]
    path = os.path.join(WEBHOOKS, WEBHOOK_CASES[provider][0])
    r = run("webhook", "sign", "--provider", provider, "--id", "msg_abc",
            "--timestamp", str(TS), path,
            env={"LIVESHOP_WEBHOOK_SECRET": secret})
    assert r.returncode == 0, r.stderr
    hs = headers_of(r.stdout)
    assert hs["webhook-id"] == "msg_abc"
    r = run("webhook", "verify", "--provider", provider, "--now", str(TS),
            *header_args(hs), path, env={"LIVESHOP_WEBHOOK_SECRET": secret})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"ok msg_abc\n")


def test_webhook_verify_ignored_order():
    provider, secret = "shopify", WEBHOOK_CASES["shopify"][1]
    body = sample(provider)
    hs = sign(provider)
    hs["X-Shopify-Topic"] = "products/update"
    r = verify(provider, hs, body)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("ok ")
    assert lines[1].startswith("ignored: ")


@pytest.mark.parametrize("args, what", [
    (["webhook"], b"webhook needs 'sign' or 'verify'"),
    (["webhook", "sign", "f.json"], b"missing --provider"),
    (["webhook", "sign", "--provider", "paypal", "f.json"],
     b"unknown --provider"),
    (["webhook", "sign", "--provider", "shopify"], b"missing FILE"),
    (["webhook", "sign", "--provider", "shopify", "x.json"], b"no secret"),
    (["webhook", "sign", "--provider", "standard", "--secret", "whsec_!!",
      "x.json"], b"unusable"),
    (["webhook", "sign", "--provider", "stripe", "--secret", "k",
      "--timestamp", "soon", "x.json"], b"--timestamp needs a Unix time"),
    (["webhook", "sign", "--provider", "shopify", "--secret", "k",
      "--timestamp", "1", "x.json"], b"--timestamp is not used by shopify"),
    (["webhook", "sign", "--provider", "stripe", "--secret", "k",
      "--id", "x", "x.json"], b"--id is not used by stripe"),
    (["webhook", "sign", "--provider", "standard", "--secret", "k",
      "--id", "a b", "x.json"], b"--id needs 1-128"),
    (["webhook", "sign", "--provider", "shopify", "--secret", "k",
      "--now", "1", "x.json"], b"--now is not an option of webhook sign"),
    (["webhook", "verify", "--provider", "shopify", "--secret", "k",
      "--header", "no colon", "x.json"], b"--header needs 'NAME: VALUE'"),
    (["webhook", "verify", "--provider", "shopify", "--secret", "k",
      "--now", "-5", "x.json"], b"--now needs a Unix time"),
    (["webhook", "verify", "--provider", "shopify", "--secret", "k",
      "--id", "x", "x.json"], b"--id is not an option of webhook verify"),
])
def test_webhook_usage_errors(args, what):
    r = run(*args)
    assert r.returncode == 2
    assert what in r.stderr
    assert b"usage: liveshopctl webhook " in r.stderr
    assert r.stdout == b""


def test_webhook_missing_file_and_secret_never_shown(tmp_path):
    secret = "whsec_" + base64.b64encode(b"do-not-show-me").decode()
    r = run("webhook", "verify", "--provider", "standard", "--secret", secret,
            str(tmp_path / "none.json"))
    assert r.returncode == 2
    assert b"none.json" in r.stderr
    assert secret.encode() not in r.stderr
    assert b"do-not-show-me" not in r.stderr


# clips (SPEC §16): chapters.vtt read strictly; a bad file is named by line

GOOD_VTT = ("WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:03.500\n"
            "A &amp; B \u2014 19.99 EUR\n\n")


@pytest.mark.parametrize("vtt, line", [
    ("WEBVTX\n\n", 1),
    ("WEBVTT\nx\n", 2),
    ("WEBVTT\n\nsku-1\n00:00:01.000 --> 00:00:02.000\nA\n\n", 3),
    ("WEBVTT\n\n1-sku-1\n00:00:01.000 -> 00:00:02.000\nA\n\n", 4),
    ("WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000 line:0\nA\n\n", 4),
    ("WEBVTT\n\n1-sku-1\n00:00:02.000 --> 00:00:01.000\nA\n\n", 4),
    ("WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000\n\n", 5),
    ("WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000\nA\nB\n", 6),
    (GOOD_VTT + "2-sku-2\n00:00:03.000 --> 00:00:04.000\nB\n\n", 8),
])
def test_clips_names_the_bad_line_of_chapters(api, tmp_path, vtt, line):
    rec = tmp_path / "rec.mp4"
    rec.write_bytes(b"x")
    api.answer(200, vtt, "text/vtt; charset=utf-8")
    out = tmp_path / "out"
    r = api.ctl("clips", "live/demo", "s1", "--recording", str(rec),
                "--out", str(out), token=None)
    assert r.returncode == 1, r
    assert ("line %d:" % line).encode() in r.stderr, r
    method, path, headers, _ = api.only_request()
    assert (method, path) == ("GET",
                              "/shop/v1/streams/live/demo/shows/s1/"
                              "chapters.vtt")
    assert "Authorization" not in headers
    assert not out.exists()


def test_clips_ffmpeg_missing_names_the_cue(api, tmp_path):
    rec = tmp_path / "rec.mp4"
    rec.write_bytes(b"x")
    api.answer(200, GOOD_VTT, "text/vtt; charset=utf-8")
    r = api.ctl("clips", "live/demo", "s1", "--recording", str(rec),
                "--out", str(tmp_path / "out"), token=None,
                env={"LIVESHOP_FFMPEG": str(tmp_path / "nope")})
    assert r.returncode == 1 and b"1-sku-1" in r.stderr and \
        b"cannot run" in r.stderr, r
    assert not (tmp_path / "out" / "index.json").exists()
    r = api.ctl("clips", "live/demo", "s1", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and b"--recording" in r.stderr, r
