"""liveshopctl against a fake liveshop API (SPEC §5).

The fake server records every request and answers whatever a test tells it
to, so these tests check exactly what goes over the wire and what the tool
makes of the answer. LIVESHOPCTL names the binary under test.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
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


def run(*args, env=None, input=None):
    assert CTL, "set LIVESHOPCTL to the liveshopctl binary under test"
    # A proxy or a LIVESHOP_* variable from the caller's shell would change
    # what is being tested.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("LIVESHOP_") and "proxy" not in k.lower()}
    clean.update(env or {})
    return subprocess.run([CTL, *args], input=input, capture_output=True,
                          env=clean, timeout=60)


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
    ["token", "--secret", SECRET],
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
    (["state"], b"missing STREAM"),
    (["unpin", "live/demo", "--duration", "5"],
     b"--duration is not an option of unpin"),
    (["state", "live/demo", "--bogus"], b"unknown option --bogus"),
    (["state", "live/demo", "--quiet=yes"], b"--quiet takes no value"),
    (["state", "live/demo", "--server"], b"--server needs a value"),
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
                     b"unpin STREAM", b"state STREAM", b"--server URL",
                     b"LIVESHOP_SERVER", b"LIVESHOP_TOKEN",
                     b"LIVESHOP_SECRET"):
            assert line in r.stdout
    r = run("--version")
    assert r.returncode == 0
    assert re.fullmatch(rb"liveshopctl \d+\.\d+\.\d+\n", r.stdout)
