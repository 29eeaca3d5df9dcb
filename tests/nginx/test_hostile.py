"""Hostile clients and faults (issue "Hardening"): bad names, oversized
catalogs and bodies, wrong methods, slow clients, a flood of control
calls, a journal whose disk fills up or turns read-only, reloads in the
middle of traffic, a publisher that drops and comes back. Each case gets a
clear error and nothing else changes: no crash, no half-written state,
no lost order, no broken stream.

The disk faults come from tests/nginx/faultfs.c, preloaded into nginx
(LIVESHOP_FAULTFS): root ignores file modes and a test machine may not
allow mounts, so the kernel's ENOSPC and EROFS are made at the system
call boundary."""

import collections
import json
import os
import re
import socket
import threading
import time

import pytest

import liveshop_harness as h
from liveshop_harness import SECRET
from test_foundation import assert_error, put_offer
from test_webhooks import (SECRETS, assert_accepted, make_order, order_lines,
                           send)


def ok(r, status=200):
    assert r.status == status, "want %d, got %r" % (status, r)
    return r.json()


def faultfs():
    path = os.environ.get("LIVESHOP_FAULTFS") or os.path.join(
        h.REPO, "build", "tests", "nginx", "liveshop_faultfs.so")
    if not os.path.isfile(path):
        if os.environ.get("LIVESHOP_FAULTFS"):
            pytest.fail("LIVESHOP_FAULTFS=%s does not exist" % path)
        pytest.skip("liveshop_faultfs.so not built (set LIVESHOP_FAULTFS)")
    return path


def files_under(d):
    out = set()
    for root, _, names in os.walk(d):
        for n in names:
            out.add(os.path.relpath(os.path.join(root, n), d))
    return out


# --------------------------------------------------------------------------
# names, sizes, methods


BAD_NAMES = [
    ("dot-dot", "live/.."),
    ("dot-dot-app", "../demo"),
    ("encoded-slash", "live%2f..%2f..%2fetc"),
    ("encoded-dot-dot", "live/%2e%2e"),
    ("nul", "live/de%00mo"),
    ("too-long", "live/" + "n" * 65),
    ("not-utf8", "live/d%ffmo"),
    ("three-parts", "live/a/b"),
    ("space", "live/de%20mo"),
    ("empty-name", "live/"),
]


@pytest.mark.parametrize("name", [n for _, n in BAD_NAMES],
                         ids=[i for i, _ in BAD_NAMES])
def test_hostile_stream_names_never_reach_the_disk(make_setup, name):
    ls = make_setup(journal=True)
    before = files_under(ls.journal_dir)
    base = "http://127.0.0.1:%d/shop/v1/streams/%s" % (ls.http_port, name)
    auth = {"Authorization": "Bearer " + h.mint_token(SECRET, "live/demo")}
    for method, rest, body in (("PUT", "/offers/x", h.offer("x")),
                               ("POST", "/pin", {"offer": "x"}),
                               ("GET", "/state", None),
                               ("GET", "/events", None),
                               ("GET", "/report", None)):
        r = h.http_request(base + rest, method,
                           json.dumps(body).encode() if body else None,
                           dict(auth, **({"Content-Type": "application/json"}
                                         if body else {})), timeout=5)
        assert r.status in (400, 401, 403, 404), (method, rest, r)
        if r.status == 400 and not (r.headers.get("Content-Type") or
                                    "").startswith("application/json"):
            continue    # nginx's own URI parser refused it (%00)
        assert_error(r, r.status)
    assert files_under(ls.journal_dir) == before
    # the server is as it was
    assert ok(ls.api.state())["seq"] == 0


def test_catalog_limit_of_1000_offers(make_setup):
    """10,000 offers pushed at one stream: the first 1,000 (the documented
    limit) are taken, every one after is 409 too_many_offers; replacing
    one of the 1,000 still works."""
    ls = make_setup(journal=True)
    api = ls.api_for("live/big")
    refused = 0
    for i in range(10000):
        o = h.offer("o-%05d" % i)
        r = api.put_offer(o)
        if i < 1000:
            assert r.status in (200, 201), (i, r)
        else:
            assert_error(r, 409, code="too_many_offers")
            refused += 1
            if refused >= 50:   # the rest would only repeat it
                break
    assert len(ok(api.offers())["offers"]) == 1000
    r = api.put_offer(h.offer("o-00007", title="Replaced"))
    assert r.status == 200, r


def test_unknown_paths_404_and_wrong_methods_405_everywhere(make_setup):
    ls = make_setup(journal=True, webhooks=SECRETS)
    base = "http://127.0.0.1:%d" % ls.http_port
    auth = {"Authorization": "Bearer " + ls.api.token}
    for path in ("/shop/", "/shop/v1", "/shop/v1/streams",
                 "/shop/v1/streams/live", "/shop/v1/streams/live/demo",
                 "/shop/v1/streams/live/demo/", "/shop/v1/streams/live/demo/x",
                 "/shop/v1/streams/live/demo/offers/a/b"):
        r = h.http_request(base + path, headers=auth)
        assert_error(r, 404)
    routes = {"/offers": {"GET", "HEAD"}, "/offers/a": {"PUT"},
              "/pin": {"POST"}, "/unpin": {"POST"},
              "/countdown": {"POST", "DELETE"},
              "/disclosure": {"POST", "DELETE"},
              "/state": {"GET", "HEAD"}, "/events": {"GET"},
              "/report": {"GET", "HEAD"}}
    for rest, allowed in routes.items():
        for method in ("GET", "PUT", "POST", "DELETE", "PATCH"):
            if method in allowed:
                continue
            r = ls.api.call(method, rest, b"" if method != "GET" else None)
            assert_error(r, 405)
            got = {m.strip() for m in r.headers.get("Allow", "").split(",")}
            assert got == allowed, (method, rest, r.headers.get("Allow"))


# --------------------------------------------------------------------------
# slow clients


def test_slow_webhook_clients_stall_nothing(make_setup):
    """60 shops that send their headers and a few bytes of body and then
    nothing: other deliveries, the API and SSE go on at once, and the slow
    ones are cut off by nginx's own client_body_timeout."""
    ls = make_setup(journal=True, webhooks=SECRETS,
                    extra_http="client_body_timeout 2s;")
    stream = "live/slow"
    api = ls.api_for(stream)
    put_offer(api, h.offer("sl-1", stock=100, price="1.00"))
    slow = []
    for i in range(60):
        c = socket.create_connection(("127.0.0.1", ls.http_port))
        c.sendall(("POST /hooks/standard HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: 5000\r\n\r\n{\"type\"").encode())
        slow.append(c)
    try:
        t0 = time.monotonic()
        o = make_order("standard", stream, [("sl-1", 1, "1.00")])
        assert_accepted(send(ls, o), o, sold=1, oversold=0)
        assert ok(api.state())["stock"]["sl-1"] == 99
        took = time.monotonic() - t0
        print("an order and a state with 60 stalled shops: %.1f ms"
              % (took * 1000))
        assert took < 1.0
        # the stalled ones are closed by client_body_timeout
        deadline = time.monotonic() + 10
        closed = 0
        for c in slow:
            c.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = c.recv(4096)
            except socket.timeout:
                continue
            if data == b"" or data.startswith(b"HTTP/1.1 408"):
                closed += 1
        assert closed == len(slow), "%d of %d stalled clients closed" % (
            closed, len(slow))
    finally:
        for c in slow:
            c.close()
    assert ok(api.state())["stock"]["sl-1"] == 99


def test_slow_sse_readers_stall_nothing(make_setup):
    """SSE clients that never read: events keep flowing to the others at
    once, and the state answers at once."""
    ls = make_setup(journal=True, sse_ping="1s")
    stream = "live/slow-sse"
    api = ls.api_for(stream)
    put_offer(api, h.offer("ss-1", title="T" * 120))
    stalled = []
    for _ in range(30):
        c = socket.create_connection(("127.0.0.1", ls.http_port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sendall(("GET /shop/v1/streams/%s/events HTTP/1.1\r\nHost: x\r\n"
                   "\r\n" % stream).encode())
        stalled.append(c)
    reader = h.SseClient(ls.http_port, ls.api_for(stream).url("/events")
                         [len("http://127.0.0.1:%d" % ls.http_port):]).start()
    try:
        reader.wait(lambda c: any(m.event == "state" for m in c.messages),
                    5, "the state")
        t0 = time.monotonic()
        for i in range(200):
            ok(api.pin("ss-1"))
            ok(api.unpin())
        took = time.monotonic() - t0
        reader.wait(lambda c: len([m for m in c.messages
                                   if m.event == "offer.unpinned"]) >= 200,
                    10, "every event at the reading client")
        print("400 control calls with 30 stalled SSE readers: %.0f ms"
              % (took * 1000))
        assert took < 10
    finally:
        reader.close()
        for c in stalled:
            c.close()


# --------------------------------------------------------------------------
# the journal's disk


@pytest.mark.parametrize("fault,errtext", [
    ("enospc", "No space left on device"),
    ("erofs", "Read-only file system")], ids=["disk-full", "read-only"])
def test_journal_fault_refuses_writes_and_recovers(make_setup, tmp_path,
                                                   fault, errtext):
    preload = faultfs()
    journal = str(tmp_path / "journal")
    os.makedirs(journal)
    ls = make_setup(journal=journal, webhooks=SECRETS,
                    env={"LD_PRELOAD": preload,
                         "LIVESHOP_FAULT_DIR": journal})
    ls.nginx.allow_log.append(re.compile(re.escape(errtext)))
    stream = "live/fault"
    api = ls.api_for(stream)
    put_offer(api, h.offer("fa-1", stock=10, price="2.00"))
    ok(api.pin("fa-1"))
    before = ok(api.state())
    size = os.path.getsize(ls.journal_path(stream))
    sse = h.SseClient(ls.http_port, api.url("/events")[
        len("http://127.0.0.1:%d" % ls.http_port):]).start()
    fault_file = os.path.join(journal, ".fault")
    with open(fault_file, "w") as f:
        f.write(fault)
    try:
        assert_error(api.unpin(), 503, code="journal_failed")
        assert_error(api.put_offer(h.offer("fa-2")), 503)
        assert_error(api.countdown(30, "x"), 503)
        o = make_order("shopify", stream, [("fa-1", 2, "4.00")])
        assert_error(send(ls, o), 503)
        # reads keep working, and nothing changed
        # (the timeline's state: viewers are counted, not journalled)
        st = ok(api.state())
        st.pop("at"), before.pop("at", None)
        st.pop("viewers"), before.pop("viewers", None)
        assert st == before
        assert len(ok(api.offers())["offers"]) == 1
        assert os.path.getsize(ls.journal_path(stream)) == size
        with open(ls.nginx.error_log, encoding="utf-8",
                  errors="replace") as f:
            log = f.read()
        assert "writing the journal" in log and errtext in log, \
            "no clear log line naming the journal and %r" % errtext
    finally:
        os.unlink(fault_file)
    # space is back: the same calls work, and the shop's retry counts
    ok(api.unpin())
    assert_accepted(send(ls, o), o, sold=2, oversold=0)
    assert len(order_lines(ls, stream, o.order_id)) == 1
    after = ok(api.state())
    ls.nginx.stop()
    ls.nginx.start()
    again = ok(api.state())
    after.pop("at"), again.pop("at")
    after.pop("viewers"), again.pop("viewers")
    assert again == after
    with open(ls.nginx.error_log, encoding="utf-8", errors="replace") as f:
        assert "skipped" not in f.read()
    sse.close()


# --------------------------------------------------------------------------
# reloads and a publisher that comes back


class ResumingReader:
    """An SSE client that, like EventSource, reconnects with Last-Event-ID
    whenever its connection ends, and keeps every message it got."""

    def __init__(self, ls, stream):
        self.ls = ls
        self.path = ls.api_for(stream).url("/events")[
            len("http://127.0.0.1:%d" % ls.http_port):]
        self.events = []
        self.log = []  # (connection, Last-Event-ID sent, first, last)
        self.first_state = None
        self.connects = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        last = None
        while not self.stopped.is_set():
            c = h.SseClient(self.ls.http_port, self.path, last_event_id=last)
            try:
                c.start(timeout=5)
            except OSError:
                time.sleep(0.05)
                continue
            self.connects += 1
            first = None
            seen = 0
            while True:
                done = c.eof or self.stopped.is_set()
                batch = c.messages[seen:]  # a live list: slice it once
                seen += len(batch)
                for m in batch:
                    if first is None:
                        first = (m.event, m.id)
                    if m.event == "state" and self.first_state is None:
                        self.first_state = int(m.id)
                    if m.event != "state":
                        self.events.append(json.loads(m.data))
                        last = m.id
                if done:
                    break
                time.sleep(0.01)
            self.log.append((self.connects, c.last_event_id, first, last))
            c.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(10)


def test_reload_in_the_middle_of_traffic_loses_nothing(make_setup):
    """Control calls and orders keep coming while nginx reloads three
    times: every call answered 2xx is in the journal exactly once, none
    fails, and SSE readers that resume with Last-Event-ID (as EventSource
    does) get every event exactly once, in seq order."""
    ls = make_setup(journal=True, webhooks=SECRETS, sse_ping="1s")
    stream = "live/reload-traffic"
    api = ls.api_for(stream)
    put_offer(api, h.offer("rt-1", stock=100000, price="1.00"))
    readers = [ResumingReader(ls, stream) for _ in range(3)]
    for r in readers:
        h.wait_for(lambda: r.first_state is not None, 10,
                   what="a reader's first state")
    answered, failures, orders = [], [], []
    stop = threading.Event()

    def control():
        a = ls.api_for(stream)
        while not stop.is_set():
            for call in (lambda: a.pin("rt-1"), a.unpin):
                try:
                    r = call()
                except OSError as e:
                    failures.append(repr(e))
                    continue
                if r.status == 200:
                    answered.append(r.json()["seq"])
                elif r.status != 409:
                    failures.append(repr(r))

    def shop():
        while not stop.is_set():
            o = make_order("standard", stream, [("rt-1", 1, "1.00")])
            try:
                r = send(ls, o)
            except OSError as e:
                failures.append(repr(e))
                continue
            if r.status == 200:
                orders.append(o.order_id)
            else:
                failures.append(repr(r))
    threads = [threading.Thread(target=control),
               threading.Thread(target=shop)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            time.sleep(1.0)
            ls.nginx.reload(timeout=20)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    last = ok(api.state())["seq"]
    for r in readers:
        h.wait_for(lambda: r.events and r.events[-1]["seq"] >= last, 15,
                   what="a resuming reader to catch up")
        r.stop()
    j = h.Journal(ls.journal_path(stream))
    journal = [e["seq"] for e in j.events]
    taken = collections.Counter(r["order"]["order_id"] for r in j.orders)
    print("reload under traffic: %d control events, %d orders, %d SSE "
          "connects per reader" % (len(answered), len(orders),
                                   readers[0].connects))
    assert not failures, failures[:5]
    assert journal == list(range(1, last + 1))
    assert set(answered) <= set(journal)
    assert all(taken[o] == 1 for o in orders), \
        [o for o in orders if taken[o] != 1][:5]
    for r in readers:
        assert r.connects >= 4, "a reload did not end the SSE connection"
        got = [e["seq"] for e in r.events]
        assert got == journal[r.first_state:], "a resuming reader's connections " \
            "(n, Last-Event-ID, first message, last id): %r; missing %r" % (
                r.log, sorted(set(journal[r.first_state:]) - set(got))[:10])


def test_publisher_drop_and_return(make_setup):
    """The encoder drops and reconnects: RTMP players that waited get the
    state again, and the playlist's discontinuity keeps valid program date
    times on every segment, growing, and the offer's range."""
    ls = make_setup(publish=True, journal=True)
    api = ls.api
    put_offer(api, h.offer("pd-1"))
    ev = ok(api.pin("pd-1"))
    sub = ls.subscribe(label="waits")
    sub.wait(lambda s: [c for c in s.cues if c.name == "state"], 25,
             "the first state cue")
    ls.publisher.stop()
    time.sleep(2)
    ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
    sub.wait(lambda s: len([c for c in s.cues if c.name == "state"]) >= 2,
             25, "the state again once the publisher is back")
    again = [c for c in sub.cues if c.name == "state"][-1].json
    assert again["pinned"]["id"] == ev["id"], again

    def discontinued():
        r = ls.fetch_playlist()
        if r.status != 200 or "#EXT-X-DISCONTINUITY" not in r.text:
            return None
        pl = h.parse_playlist(r.text)
        after = r.text.split("#EXT-X-DISCONTINUITY", 1)[1]
        return pl if after.count("#EXTINF") >= 2 else None
    pl = h.wait_for(discontinued, 40, 0.5,
                    "two segments after the discontinuity")
    pdts = [s.pdt for s in pl.segments]
    assert all(p is not None for p in pdts), pl.segments
    assert pdts == sorted(pdts) and len(set(pdts)) == len(pdts), pdts
    assert any(dr.id == ev["id"] for dr in pl.dateranges), \
        "the open pin's range is gone from the playlist"


# --------------------------------------------------------------------------
# limits that are directives


def test_body_limit_is_a_directive(make_setup):
    """live_shop_max_body_size: past it, 413 in JSON naming the directive,
    for the API and the webhooks alike, with Content-Length or chunked;
    nothing changes."""
    ls = make_setup(journal=True, webhooks=SECRETS,
                    extra_http="live_shop_max_body_size 2k;")
    api = ls.api
    big = h.offer("bl-1", title="x" * 100)
    big["url"] = "https://shop.example/p/" + "y" * 2100
    err = assert_error(api.put_offer(big), 413, code="too_large")
    assert "live_shop_max_body_size" in err["message"]
    assert ok(api.offers())["offers"] == []
    assert api.put_offer(h.offer("bl-1")).status == 201
    o = make_order("standard", "live/demo", [("bl-1", 1, "1.00")])
    o.raw = o.raw[:-1] + b" " * 2100 + b"}"
    assert_error(send(ls, o), 413, code="too_large")
    # chunked: no length up front, cut off once read
    s = socket.create_connection(("127.0.0.1", ls.http_port))
    body = json.dumps({"offer": "bl-1", "x": "z" * 3000}).encode()
    s.sendall(("POST /shop/v1/streams/live/demo/pin HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n%x\r\n" % (api.token, len(body))
               ).encode() + body + b"\r\n0\r\n\r\n")
    answer = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        answer += data
    s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"too_large"' in answer
    assert ok(api.state())["pinned"] is None


def test_default_api_body_limit_is_64k(make_setup):
    ls = make_setup(journal=True)
    o = h.offer("bd-1")
    o["image"] = "https://shop.example/i/" + "a" * 1900
    pad = {"id": "bd-1"}
    # a body of 64 KiB + 1 made of blanks around a valid offer
    text = json.dumps(o)
    body = (text[:-1] + " " * (65537 - len(text)) + "}").encode()
    assert len(body) == 65537
    assert_error(ls.api.call("PUT", "/offers/bd-1", body), 413)
    body = (text[:-1] + " " * (65536 - len(text)) + "}").encode()
    assert ls.api.call("PUT", "/offers/bd-1", body).status == 201
    del pad


@pytest.mark.parametrize("value", ["0r/s", "ten", "5r/h", "5r/s burst=x",
                                   "5r/s burst=-1", "r/s"])
def test_nginx_t_rejects_bad_control_rates(module_so, value):
    d = h.make_prefix(None)
    conf = h.make_conf(d, 1, 2, module=module_so,
                       extra_http="live_shop_control_rate %s;" % value)
    rc, out = h.nginx_test_config(d, conf)
    assert rc != 0 and "live_shop_control_rate" in out, out


def test_control_flood_is_429_and_spares_other_streams(make_setup):
    """live_shop_control_rate 5r/s burst=5: a flood of pins on one stream
    gets 429 with Retry-After past the burst; another stream, reads and
    the stream itself once the wait is over are not affected."""
    ls = make_setup(journal=True,
                    extra_http="live_shop_control_rate 5r/s burst=5;")
    a, b = ls.api_for("live/flood"), ls.api_for("live/calm")
    put_offer(a, h.offer("fl-1"))
    put_offer(b, h.offer("ca-1"))
    time.sleep(2.5)    # the two puts drain from the buckets
    answers = [a.pin("fl-1").status for _ in range(30)]
    accepted = answers.count(200)
    assert 5 <= accepted <= 8, answers
    assert answers[:5] == [200] * 5, answers
    r = a.pin("fl-1")
    err = assert_error(r, 429, code="rate_limited")
    assert "live_shop_control_rate" in err["message"]
    retry = int(r.headers.get("Retry-After"))
    assert 1 <= retry <= 2, r.headers
    # the other stream, and reads, go on as if nothing happened
    for _ in range(5):
        assert b.pin("ca-1").status == 200
    assert a.state().status == 200
    assert a.offers().status == 200
    journal = h.Journal(ls.journal_path("live/flood")).events
    assert len([e for e in journal if e["type"] == "offer.pinned"]) == \
        accepted
    time.sleep(retry)
    assert a.pin("fl-1").status == 200


def test_rtmp_subscriber_of_a_stalled_worker_gets_every_event(make_setup):
    """A worker that could not run for a while (here: SIGSTOP) while 400
    events were made, more than the zone keeps: its RTMP subscriber still
    gets every event once, in order, from the journal (SPEC §6), not a
    state in their place."""
    from test_foundation import assert_every_event_once, wait_state_cue
    ls = make_setup(publish=True, journal=True)
    api = ls.api
    put_offer(api, h.offer("sw-1"))
    workers = sorted(ls.nginx.workers())
    stalled = ls.publisher and workers[1]
    sub = ls.subscribe(label="stalled", worker=stalled)
    wait_state_cue(sub)
    with h.stopped_workers([stalled]):
        for _ in range(200):
            ok(api.pin("sw-1"))
            ok(api.unpin())
    last = ok(api.state())["seq"]
    sub.wait(lambda s: s.cues and int(s.cues[-1].seq) >= last, 30,
             "every event at the stalled worker's subscriber")
    assert_every_event_once(sub)
    assert len(sub.cues) - 1 >= 400


def test_sse_clients_of_a_stalled_worker_get_every_event(make_setup):
    """The same for SSE: 20 clients of a worker that could not run while
    400 events were made get every event once, in order, from one
    journal replay."""
    ls = make_setup(journal=True)
    api = ls.api
    put_offer(api, h.offer("se-1"))
    workers = sorted(ls.nginx.workers())
    stalled = workers[1]
    path = api.url("/events")[len("http://127.0.0.1:%d" % ls.http_port):]
    clients = []
    for _ in range(20):
        sock = h.connect_in_worker(ls.http_port, stalled, workers)
        clients.append(h.SseClient(ls.http_port, path, sock=sock).start())
    try:
        for c in clients:
            c.wait(lambda x: x.messages, 10, "the state")
        first = int(clients[0].messages[0].id)
        with h.stopped_workers([stalled]):
            for _ in range(200):
                ok(api.pin("se-1"))
                ok(api.unpin())
        last = ok(api.state())["seq"]
        for c in clients:
            c.wait(lambda x: int(x.messages[-1].id) >= last, 30,
                   "every event at a client of the stalled worker")
            got = [int(m.id) for m in c.messages[1:]]
            assert [m.event for m in c.messages[1:]].count("state") == 0
            assert got == list(range(first + 1, last + 1))
    finally:
        for c in clients:
            c.close()
