"""Integration tests of webhooks out (SPEC §10) in real nginx (2 workers):
a local receiver (NotifyReceiver, an http.server in threads) gets every
event of every stream, signed per Standard Webhooks 1.0, in seq order per
stream, at least once across failures, `nginx -s stop`, `kill -9` and
reload; 410 stops the deliveries; a receiver that never answers blocks
nothing; a stream the receiver refuses holds back no other; https://.

Server conventions these tests hold the module to (beyond SPEC §10):
  - `live_shop_notify http://HOST:PORT/PATH secret=whsec_BASE64;` in
    http{}, which needs live_shop_journal (`nginx -t` fails without it,
    naming live_shop_notify); http:// or https:// URLs, the receiver's
    certificate checked against the system's CAs or
    `live_shop_notify_ssl_trusted_certificate FILE` (unless
    `live_shop_notify_ssl_verify off`), nothing sent when it fails;
  - each event is POSTed with the exact bytes of its journal line as the
    body, `content-type: application/json`, `webhook-id: EVENT ID`
    (e.g. live/demo:17), `webhook-timestamp: UNIX SECONDS`,
    `webhook-signature: v1,BASE64(HMAC-SHA256(key, "ID.TS.BODY"))`, key
    the base64-decoded part after whsec_;
  - per stream strictly in seq order, one request at a time: the next
    event only after a 2xx for the previous one; streams independent of
    each other (own retries), at most 32 requests in flight at once;
  - delivery starts within ~50 ms of the call that made the event,
    whichever worker took it;
  - a graceful `nginx -s quit` abandons the requests in flight (sent
    again after the start);
  - a non-2xx answer or no answer within 10 s is retried after 5 s, 30 s,
    2 min, ...; a `Retry-After: SECONDS` asking for longer is honoured;
  - 410 stops every delivery to that URL, with an error.log line saying
    so, until nginx is restarted or reloaded;
  - the cursor (last acknowledged seq) is kept in DIR/APP/NAME.notified;
    after a restart delivery goes on after the last acknowledged event
    (the one acknowledged just before a stop or kill -9 may come again).

Every test starts its own nginx (`make_setup`) and receiver."""

import json
import os
import signal
import time

import pytest

import liveshop_harness as h
from liveshop_harness import HOLD, STREAM
from test_foundation import put_offer

NOTIFY_SECRET = h.new_standard_secret()
STREAMS = [STREAM, "live/second", "live/third"]

FIRST_RETRY_MAX = 8.0       # the schedule's first step is 5 s
DELIVERY_TIMEOUT = 45.0     # everything pending is delivered this soon
STATE_MAX_MS = 200.0        # GET /state while a receiver hangs


# --------------------------------------------------------------------------
# helpers


@pytest.fixture
def receivers():
    """A factory of NotifyReceivers, all closed as the test ends."""
    made = []

    def make(plan=None, path="/hook", tls=None):
        r = h.NotifyReceiver(plan, path, tls)
        made.append(r)
        return r
    try:
        yield make
    finally:
        for r in made:
            r.close()


def notify_setup(make_setup, rcv, secret=NOTIFY_SECRET, **kw):
    return make_setup(journal=True, notify=(rcv.url, secret), **kw)


def ok(r, status=200):
    assert r.status == status, r
    return r.json()


def journal_lines(ls, stream):
    """{seq: the exact bytes of the journal's event line}."""
    path = ls.journal_path(stream)
    with open(path, "rb") as f:
        raw = f.read()
    out = {}
    for ln in raw.split(b"\n"):
        try:
            o = json.loads(ln.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(o, dict) and "seq" in o and "type" in o:
            out[o["seq"]] = ln
    return out


def fmt(ds):
    return "\n".join("  #%d %s %.3f..%s status=%s%s" % (
        d.n, d.id, d.started, "%.3f" % d.ended if d.ended else "-",
        d.status, " closed-by-nginx" if d.closed_by_peer else "")
        for d in ds)


def shape_problems(d, secret, path, lines):
    """What is wrong with one delivery (method, path, headers, signature,
    body = the journal line)."""
    p = []
    if d.method != "POST":
        p.append("method %s" % d.method)
    if d.path != path:
        p.append("path %r, want %r" % (d.path, path))
    ct = d.headers.get("content-type", "")
    if ct.split(";")[0].strip().lower() != "application/json":
        p.append("content-type %r" % ct)
    err = h.verify_standard_signature(secret, d)
    if err:
        p.append(err)
    ts = d.headers.get("webhook-timestamp", "")
    if ts.isdigit() and not (d.started - 60 <= int(ts) <= d.started + 5):
        p.append("webhook-timestamp %s is not the time of sending (%.0f)"
                 % (ts, d.started))
    ev = d.json()
    if not isinstance(ev, dict):
        p.append("body is not a JSON object: %r" % d.body[:200])
        return p
    for k in ("seq", "id", "type", "stream", "at", "data"):
        if k not in ev:
            p.append("event without %r: %r" % (k, d.body[:200]))
    if ev.get("id") != d.id:
        p.append("webhook-id %r != event id %r" % (d.id, ev.get("id")))
    if d.stream is None or ev.get("stream") != d.stream or \
            ev.get("seq") != d.seq:
        p.append("webhook-id %r does not name the event's stream:seq "
                 "(%r, %r)" % (d.id, ev.get("stream"), ev.get("seq")))
    want = lines.get(ev.get("stream"), {}).get(ev.get("seq"))
    if want is None:
        p.append("event %r is not in the journal" % ev.get("id"))
    elif d.body != want:
        p.append("body is not the journal line:\n    sent    %r\n    "
                 "journal %r" % (d.body[:300], want[:300]))
    return p


def check_order(stream, ds, restarts=()):
    """The attempts ds (of one stream, in arrival order) follow the rules:
    seq 1 first; after a 2xx the next seq, after anything else the same
    one again; never two requests of the stream at once. At each restart
    (time.time() of the new nginx's start) delivery goes on after the
    last acknowledged event, which alone may come again.
    Returns (problems, {seq: number of 2xx}, the seqs that may repeat)."""
    problems = []
    acks = {}
    may_repeat = set()
    expect = 1
    last_acked = 0
    bounds = sorted(restarts)
    epoch = 0
    prev = None
    for d in ds:
        e = sum(1 for t in bounds if d.started >= t)
        if e != epoch:
            epoch = e
            allowed = {last_acked + 1} | ({last_acked} if last_acked else
                                          set())
            if last_acked:
                may_repeat.add(last_acked)
            if d.seq not in allowed:
                problems.append("#%d %s: first after the restart, want seq "
                                "%s" % (d.n, d.id, sorted(allowed)))
        else:
            if d.seq != expect:
                problems.append("#%d %s: want seq %d (after %s)" % (
                    d.n, d.id, expect, prev))
            if prev is not None and (prev.ended is None or
                                     d.started < prev.ended - 0.005):
                problems.append("#%d %s sent while #%d %s was unanswered"
                                % (d.n, d.id, prev.n, prev.id))
        if d.acked:
            acks[d.seq] = acks.get(d.seq, 0) + 1
            last_acked = d.seq
            expect = d.seq + 1
        else:
            expect = d.seq
        prev = d
    return problems, acks, may_repeat


def check_all(ls, rcv, streams, restarts=(), secret=NOTIFY_SECRET):
    """Every event of every stream was acknowledged, exactly once (but
    for the one acknowledged just before a restart), in seq order, each
    request well-formed and signed. Returns the deliveries."""
    ds = rcv.snapshot()
    lines = {s: journal_lines(ls, s) for s in streams}
    problems = []
    for d in ds:
        for p in shape_problems(d, secret, "/hook", lines):
            problems.append("#%d %s: %s" % (d.n, d.id, p))
    foreign = [d for d in ds if d.stream not in streams]
    if foreign:
        problems.append("deliveries of no stream of the test:\n" +
                        fmt(foreign))
    for s in streams:
        mine = [d for d in ds if d.stream == s]
        order, acks, may_repeat = check_order(s, mine, restarts)
        problems += ["%s: %s" % (s, p) for p in order]
        seqs = sorted(lines[s])
        assert seqs == list(range(1, len(seqs) + 1)), \
            "%s: journal seqs %r" % (s, seqs)
        missing = [q for q in seqs if q not in acks]
        if missing:
            problems.append("%s: seq %s never acknowledged" % (s, missing))
        extra = [q for q in acks if q not in lines[s]]
        if extra:
            problems.append("%s: seq %s delivered, not in the journal"
                            % (s, extra))
        twice = {q: n for q, n in acks.items()
                 if n > (2 if q in may_repeat else 1)}
        if twice:
            problems.append("%s: acknowledged more often than allowed "
                            "{seq: times}: %r" % (s, twice))
    assert not problems, "\n".join(problems[:40]) + \
        "\n\nall deliveries:\n" + fmt(ds)
    return ds


def all_acked(ls, streams):
    """predicate for NotifyReceiver.wait: every journal event acked."""
    want = {s: set(journal_lines(ls, s)) for s in streams}

    def pred(ds):
        for s, seqs in want.items():
            got = {d.seq for d in ds if d.stream == s and d.acked}
            if not seqs <= got:
                return False
        return True
    return pred


def wait_all_acked(ls, rcv, streams, timeout=DELIVERY_TIMEOUT, what=""):
    try:
        rcv.wait(all_acked(ls, streams), timeout,
                 "every event acknowledged " + what)
    except TimeoutError as e:
        lines = {s: sorted(journal_lines(ls, s)) for s in streams}
        shown = fmt(rcv.snapshot())
        # a diagnosis for the report: does a request that touches the
        # streams get the deliveries going?
        n = len(rcv.snapshot())
        for s in streams:
            ls.api_for(s).state()
        time.sleep(5)
        more = rcv.snapshot()[n:]
        raise AssertionError(
            "%s\njournal seqs: %r\ndeliveries:\n%s\n%s\n"
            "diagnosis: after a GET /state of each stream, %d more "
            "deliveries in 5 s:\n%s" % (e, lines, shown, log_tail(ls),
                                        len(more), fmt(more)))


def log_tail(ls, n=25):
    try:
        with open(ls.nginx.error_log, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    keep = [ln for ln in lines if "notify" in ln.lower()][-n:]
    return "error.log (notify lines):\n" + "\n".join(keep)


def log_since(ls, pos):
    with open(ls.nginx.error_log, "rb") as f:
        return f.read()[pos:].decode("utf-8", "replace")


def log_pos(ls):
    try:
        return os.path.getsize(ls.nginx.error_log)
    except OSError:
        return 0


def graceful_quit(ls, timeout=15):
    """SIGQUIT to the master; returns the seconds until it exited (None
    if it had not after timeout, and then it is stopped by force)."""
    t0 = time.monotonic()
    ls.nginx.proc.send_signal(signal.SIGQUIT)
    try:
        ls.nginx.proc.wait(timeout=timeout)
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
        ls.nginx.stop()
        return None
    ls.nginx._close_stderr()
    return time.monotonic() - t0


# --------------------------------------------------------------------------
# nginx -t


def _nginx_t(module_so, notify, journal=True):
    d = h.make_prefix()
    try:
        conf = h.make_conf(d, 1935, 8080, module=module_so,
                           journal=d if journal else None, notify=notify)
        return h.nginx_test_config(d, conf)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def test_nginx_t_accepts_notify(module_so):
    rc, out = _nginx_t(module_so, ("http://127.0.0.1:9/hook",
                                   NOTIFY_SECRET))
    assert rc == 0, out


@pytest.mark.parametrize("notify,journal", [
    (("http://127.0.0.1:9/hook", NOTIFY_SECRET), False),
    ("http://127.0.0.1:9/hook", True),
    (("ftp://127.0.0.1:9/hook", NOTIFY_SECRET), True),
    (("not-a-url", NOTIFY_SECRET), True),
], ids=["no-journal", "no-secret", "ftp-url", "not-a-url"])
def test_nginx_t_rejects_bad_notify(module_so, notify, journal):
    rc, out = _nginx_t(module_so, notify, journal)
    assert rc != 0, "nginx -t accepted %r (journal %s):\n%s" % (
        notify, journal, out)
    emerg = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert emerg, out
    assert "live_shop_notify" in emerg[0], \
        "the [emerg] does not name live_shop_notify: %s" % emerg[0]


# --------------------------------------------------------------------------
# every event, in order, at least once, across a restart


def first_events(ls):
    """One event on each of STREAMS, quickly one after the other: the
    first delivery of each stream (the receiver's three failures)."""
    apis = [ls.api_for(s) for s in STREAMS]
    for i, api in enumerate(apis):
        put_offer(api, h.offer("n-%d" % i))
    for i, api in enumerate(apis):
        ok(api.pin("n-%d" % i))
    return apis


@pytest.mark.parametrize("how", ["stop-while-failing",
                                 "stop-while-in-flight",
                                 "kill9-while-in-flight"])
def test_every_event_in_order_across_a_restart(make_setup, receivers, how):
    """500 (Retry-After: 1) to the first three deliveries, then 2xx; ten
    events on three streams; nginx stopped (`nginx -s stop`, or kill -9)
    and started on the same journal while deliveries are pending: during
    the failures, or with requests held unanswered by the receiver after
    earlier ones were acknowledged. No request reaches nginx after the
    start: the pending deliveries must go on by themselves."""
    state = {"fail": 3, "hold": False}

    def plan(d):
        if state["fail"] > 0:
            state["fail"] -= 1
            return (500, {"Retry-After": "1"})
        if state["hold"]:
            return HOLD
        return (200, {})
    rcv = receivers(plan)
    ls = notify_setup(make_setup, rcv)
    a, b, c = first_events(ls)
    # the three 500s (on whichever streams the module starts with)
    ds = rcv.wait_count(3, FIRST_RETRY_MAX + 30 + 5, "three deliveries")
    assert all(d.status == 500 and d.seq == 1 for d in ds[:3]), fmt(ds)

    if how == "stop-while-failing":
        # more events while every stream waits for its retry
        ok(a.countdown(600, "soon"))
        ok(a.disclose("ad"))
        ok(a.unpin())
        ok(a.hide())
        ok(b.disclose("sponsored"))
        ok(b.countdown(900, "later"))
        ok(c.unpin())
    else:
        # the retries (5 s) are acknowledged; then acknowledged events
        wait_all_acked(ls, rcv, STREAMS, what="after the three 500s")
        ok(a.countdown(600, "soon"))
        ok(a.disclose("ad"))
        wait_all_acked(ls, rcv, STREAMS, what="before the hold")
        state["hold"] = True
        n0 = len(rcv.snapshot())
        ok(a.unpin())
        ok(a.hide())
        ok(b.disclose("sponsored"))
        ok(b.countdown(900, "later"))
        ok(c.unpin())
        # a request in flight (one per stream at most), the rest queued
        held = rcv.wait(lambda ds: len(ds) >= n0 + 1 and ds[n0:], 10,
                        "a held delivery")
        time.sleep(0.3)
        held = rcv.snapshot()[n0:]
        assert len({d.stream for d in held}) == len(held), fmt(held)
        print("\nheld at the stop: %s" % [d.id for d in held])
    # retries after 500 + Retry-After: 1: not hammering, and the first
    # step of the schedule (5 s) or Retry-After, not later
    for d in rcv.snapshot()[:3]:
        nxt = [x for x in rcv.snapshot() if x.n > d.n and x.id == d.id]
        if nxt:
            delay = nxt[0].started - d.ended
            assert 0.9 <= delay <= FIRST_RETRY_MAX, \
                "%s retried %.2f s after the 500" % (d.id, delay)
    if how.startswith("kill9"):
        ls.nginx.kill9()
    else:
        ls.nginx.ctl_stop()
    before_stop = rcv.snapshot()
    if how.endswith("in-flight"):
        # nginx's end closed the held connections
        rcv.wait(lambda ds: all(d.ended for d in ds), 5,
                 "nginx to close the held deliveries")
        for s in STREAMS:
            path = os.path.join(ls.journal_dir, s + ".notified")
            assert os.path.isfile(path), \
                "%s: no cursor file %s after %s (files: %r)" % (
                    s, path, how, sorted(os.listdir(os.path.dirname(path))))
        state["hold"] = False
        rcv.release(200)
    time.sleep(0.5)
    assert len(rcv.snapshot()) == len(before_stop), \
        "deliveries while nginx was down?\n" + fmt(rcv.snapshot())
    restart = time.time()
    ls.nginx.start()
    wait_all_acked(ls, rcv, STREAMS, what="after the restart")
    time.sleep(1.5)     # nothing more may come
    ds = check_all(ls, rcv, STREAMS, restarts=[restart])
    events = sum(len(journal_lines(ls, s)) for s in STREAMS)
    assert events >= 10, events
    print("\n%s: %d events, %d requests (%d before the restart)" % (
        how, events, len(ds), len(before_stop)))


def test_exact_bytes_for_every_event_type(make_setup, receivers):
    """Each event type of SPEC §3 the API makes, with an offer title full
    of quotes, <, emoji and non-ASCII: body = journal line, signature
    holds over those bytes."""
    rcv = receivers()
    ls = notify_setup(make_setup, rcv)
    api = ls.api
    put_offer(api, h.offer("odd-1", title='Say "hi" <b>\u00e9\U0001F600',
                           stock=3, compare_at="29.99", disclosure="ad"))
    ok(api.pin("odd-1", duration=1))       # disclosure.shown + pinned
    ok(api.countdown(1, "Fin \u00e0 \"1\"", offer_id="odd-1"))
    time.sleep(1.5)                         # unpinned, countdown.ended
    ok(api.disclose("gifted", "Geschenkt \u2764"))
    ok(api.hide())
    wait_all_acked(ls, rcv, [STREAM], 15)
    ds = check_all(ls, rcv, [STREAM])
    lag = [d.started - h.parse_spec_time(d.json()["at"]) / 1000.0
           for d in ds]
    print("\nfrom an event's \"at\" to its delivery: max %.0f ms, "
          "median %.0f ms" % (max(lag) * 1000,
                              sorted(lag)[len(lag) // 2] * 1000))
    types = {d.json()["type"] for d in ds}
    for t in ("offer.pinned", "offer.unpinned", "countdown.started",
              "countdown.ended", "disclosure.shown", "disclosure.hidden"):
        assert t in types, "no %s delivered: %s" % (t, sorted(types))


# --------------------------------------------------------------------------
# 410, Retry-After, a hanging receiver


def test_410_stops_deliveries_until_reload(make_setup, receivers):
    state = {"status": 410}
    rcv = receivers(lambda d: (state["status"], {}))
    ls = notify_setup(make_setup, rcv)
    pos = log_pos(ls)
    api, other = ls.api, ls.api_for("live/second")
    put_offer(api, h.offer("g-1"))
    ok(api.pin("g-1"))
    d1 = rcv.wait_count(1, 10, "the first delivery")[0]
    assert d1.status == 410 and d1.id == STREAM + ":1", fmt([d1])
    # more events, on this stream and another one: none is sent
    ok(api.countdown(600, "gone"))
    ok(api.disclose("ad"))
    ok(other.disclose("ad"))
    time.sleep(FIRST_RETRY_MAX)
    after = rcv.snapshot()
    assert len(after) == 1, \
        "deliveries after a 410:\n" + fmt(after)
    said = [ln for ln in log_since(ls, pos).splitlines()
            if "410" in ln and ("127.0.0.1:%d" % rcv.port) in ln]
    assert said, "error.log does not say that %s answered 410:\n%s" % (
        rcv.url, log_since(ls, pos)[-3000:])
    print("\nerror.log says:", said[0])
    # a reload starts over: everything comes, in order
    state["status"] = 200
    reload_at = time.time()
    ls.nginx.reload()
    wait_all_acked(ls, rcv, [STREAM, "live/second"], 20, "after reload")
    time.sleep(1)
    check_all(ls, rcv, [STREAM, "live/second"], restarts=[reload_at])


def test_retry_after_longer_is_honoured_and_quit_is_not_held(
        make_setup, receivers):
    """503 + Retry-After: 8 (longer than the 5 s first step): the retry
    comes no sooner. Then a retry an hour away (Retry-After: 3600) must
    not keep a graceful `nginx -s quit` waiting, and after a start the
    event is delivered."""
    plan = {"answers": [(503, {"Retry-After": "8"})]}

    def answer(d):
        if plan["answers"]:
            return plan["answers"].pop(0)
        return (200, {})
    rcv = receivers(answer)
    ls = notify_setup(make_setup, rcv)
    put_offer(ls.api, h.offer("ra-1"))
    ok(ls.api.pin("ra-1"))
    ds = rcv.wait_count(2, 20, "the retry after Retry-After: 8")
    delay = ds[1].started - ds[0].ended
    assert ds[1].id == ds[0].id, fmt(ds)
    assert 7.8 <= delay <= 8 + 5, \
        "retried %.2f s after 503 + Retry-After: 8" % delay
    print("\nretry %.2f s after Retry-After: 8" % delay)
    # a retry far away, then a graceful quit
    plan["answers"] = [(503, {"Retry-After": "3600"})]
    ok(ls.api.unpin())
    rcv.wait_count(3, 10, "the unpin's first delivery")
    took = graceful_quit(ls)
    assert took is not None and took < 5, \
        "nginx -s quit took %s s with a retry pending" % took
    restart = time.time()
    ls.nginx.start()
    wait_all_acked(ls, rcv, [STREAM], 15, "after the quit and start")
    time.sleep(1)
    check_all(ls, rcv, [STREAM], restarts=[restart])


def test_hanging_receiver_blocks_nothing(make_setup, receivers):
    """The receiver accepts and never answers: GET /state in each worker
    answers in < 200 ms all along, control calls go on, nginx gives up
    the request after 10 s and retries it."""
    rcv = receivers(lambda d: HOLD)
    ls = notify_setup(make_setup, rcv)
    api = ls.api
    put_offer(api, h.offer("hang-1"))
    ok(api.pin("hang-1"))
    d1 = rcv.wait_count(1, 10, "the first delivery", answered=False)[0]
    url = api.url("/state")
    slow = []
    times = []
    t_end = time.time() + 22
    calls = 0
    while time.time() < t_end:
        for w in ls.nginx.workers():
            conn = h.connect_in_worker(ls.http_port, w, ls.nginx.workers())
            try:
                t0 = time.monotonic()
                r = h.raw_http(conn, url, timeout=5)
                ms = (time.monotonic() - t0) * 1000
            finally:
                conn.close()
            assert r.status == 200, r
            times.append(ms)
            if ms >= STATE_MAX_MS:
                slow.append((w, round(ms, 1)))
        calls += 1
        if calls % 10 == 0:   # control calls while the delivery hangs
            t0 = time.monotonic()
            ok(api.countdown(600, "hang %d" % calls))
            ms = (time.monotonic() - t0) * 1000
            assert ms < 1000, "a control call took %.0f ms" % ms
        ds = rcv.snapshot()
        if len(ds) >= 2 and time.time() > ds[1].started + 1:
            break
        time.sleep(0.05)
    print("\nGET /state while the receiver hangs: %d calls, max %.1f ms, "
          "median %.1f ms" % (len(times), max(times),
                              sorted(times)[len(times) // 2]))
    assert not slow, "GET /state slower than %d ms (worker, ms): %r" % (
        STATE_MAX_MS, slow)
    ds = rcv.snapshot()
    assert d1.closed_by_peer and d1.ended, \
        "nginx did not give up the unanswered request: " + fmt(ds)
    gave_up = d1.ended - d1.started
    assert 9 <= gave_up <= 13, \
        "nginx gave up the unanswered request after %.1f s" % gave_up
    assert len(ds) >= 2 and ds[1].id == d1.id, \
        "no retry of %s after the timeout:\n%s" % (d1.id, fmt(ds))
    assert ds[1].started - d1.ended <= FIRST_RETRY_MAX, fmt(ds)
    # a graceful quit is not held up by the hanging delivery for long
    took = graceful_quit(ls)
    print("nginx -s quit with a delivery hanging: %s s" % (
        "%.2f" % took if took is not None else "> 15"))
    assert took is not None and took < 12, \
        "nginx -s quit took %s s with a delivery hanging" % took


# --------------------------------------------------------------------------
# each stream on its own; a graceful quit abandons what is in flight


def test_a_refused_stream_holds_back_no_other(make_setup, receivers):
    """The receiver answers 500 (Retry-After: 4) to every event of one
    stream and 200 to another's: the other stream's events, made while
    the refused one waits for its retry, all arrive promptly; the refused
    one keeps being retried (its first event only, one request at a
    time); once the receiver takes it, its events arrive in seq order."""
    refused, other = STREAM, "live/second"
    state = {"refuse": True}

    def plan(d):
        if d.stream == refused and state["refuse"]:
            return (500, {"Retry-After": "4"})
        return (200, {})
    rcv = receivers(plan)
    ls = notify_setup(make_setup, rcv)
    a, b = ls.api_for(refused), ls.api_for(other)
    # the refused stream's events first: it is the one delivered first
    put_offer(a, h.offer("r-1"))
    ok(a.pin("r-1"))
    ok(a.countdown(600, "refused"))
    rcv.wait(lambda ds: any(d.stream == refused and d.ended for d in ds),
             5, "the refused stream's first delivery")
    made = time.time()
    put_offer(b, h.offer("o-1"))
    ok(b.pin("o-1"))
    ok(b.disclose("ad"))
    ok(b.unpin())
    ok(b.hide())
    wait_all_acked(ls, rcv, [other], 5, "of the other stream")
    took = max(d.ended for d in rcv.of_stream(other)) - made
    print("\nthe other stream's %d events, all acknowledged %.2f s after "
          "they were made" % (len(journal_lines(ls, other)), took))
    assert took < 2.5, "the other stream waited %.2f s:\n%s" % (
        took, fmt(rcv.snapshot()))
    # the refused stream keeps being retried, its first event only
    rcv.wait(lambda ds: len([d for d in ds if d.stream == refused]) >= 3,
             15, "the refused stream retried")
    mine = rcv.of_stream(refused)
    assert all(d.seq == 1 and d.status == 500 for d in mine if d.ended), \
        fmt(mine)
    # the receiver takes it: everything, in order
    state["refuse"] = False
    wait_all_acked(ls, rcv, [refused, other], 10, "after the recovery")
    time.sleep(1)
    check_all(ls, rcv, [refused, other])


def test_at_most_32_in_flight_the_rest_take_turns(make_setup, receivers):
    """40 streams with an event each and a receiver that holds every
    request: 32 are in flight at once, one per stream; once it answers,
    the other 8 get their turn and every event arrives."""
    streams = ["live/many-%02d" % i for i in range(40)]
    rcv = receivers(lambda d: HOLD)
    ls = notify_setup(make_setup, rcv)
    for s in streams:
        ok(ls.api_for(s).disclose("ad"))
    rcv.wait(lambda ds: len(ds) >= 32, 10, "32 held deliveries",)
    time.sleep(1)
    held = [d for d in rcv.snapshot() if not d.ended]
    print("\nheld at once: %d requests of %d streams" % (
        len(held), len({d.stream for d in held})))
    assert len(held) == 32 and len({d.stream for d in held}) == 32, \
        fmt(rcv.snapshot())
    rcv.release(200)
    wait_all_acked(ls, rcv, streams, 10, "after the release")
    time.sleep(0.5)
    check_all(ls, rcv, streams)


def test_quit_abandons_a_hanging_delivery(make_setup, receivers):
    """The receiver accepts and never answers: `nginx -s quit` is done in
    about a second, not after the 10 s the request may take; after a
    start, the event is delivered (it was never acknowledged)."""
    state = {"hold": True}

    def plan(d):
        return HOLD if state["hold"] else (200, {})
    rcv = receivers(plan)
    ls = notify_setup(make_setup, rcv)
    put_offer(ls.api, h.offer("q-1"))
    ok(ls.api.pin("q-1"))
    rcv.wait_count(1, 10, "the first delivery", answered=False)
    time.sleep(0.3)
    t0 = time.monotonic()
    rc, out = ls.nginx.signal_cmd("quit")
    assert rc == 0, out
    try:
        ls.nginx.proc.wait(timeout=15)
        took = time.monotonic() - t0
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
        took = None
    ls.nginx._close_stderr()
    print("\nnginx -s quit with a delivery hanging: %s s" % (
        "%.2f" % took if took is not None else "> 15"))
    assert took is not None and took < 2.5, \
        "nginx -s quit took %s s with a delivery hanging" % took
    rcv.wait(lambda ds: ds[0].ended, 5, "nginx to close the delivery")
    state["hold"] = False
    restart = time.time()
    ls.nginx.start()
    wait_all_acked(ls, rcv, [STREAM], 10, "after the quit and start")
    time.sleep(1)
    check_all(ls, rcv, [STREAM], restarts=[restart])


def test_delivery_starts_at_once_from_any_worker(make_setup, receivers):
    """A control call answered by either worker: its event's delivery
    starts within ~50 ms (worker 0 delivers; the other one rings it), not
    on a clock. Printed: per worker, the time from the call to the
    receiver seeing the request."""
    rcv = receivers()
    ls = notify_setup(make_setup, rcv)
    api = ls.api
    put_offer(api, h.offer("l-1"))
    wait_all_acked(ls, rcv, [STREAM], 10, "before the calls")
    workers = ls.nginx.workers()
    assert len(workers) == 2, workers
    auth = {"Authorization": "Bearer " + api.token,
            "Content-Type": "application/json"}
    lags = {w: [] for w in workers}
    for i in range(16):
        w = workers[i % 2]
        conn = h.connect_in_worker(ls.http_port, w, workers)
        n = len(rcv.snapshot())
        try:
            if i % 2 == 0:
                what, body = "/pin", json.dumps({"offer": "l-1"}).encode()
            else:
                what, body = "/unpin", b""
            t0 = time.time()
            r = h.raw_http(conn, api.url(what), "POST", auth, body)
        finally:
            conn.close()
        assert r.status == 200, r
        d = rcv.wait(lambda ds: len(ds) > n and ds[n], 5,
                     "the delivery of call %d" % i)
        lags[w].append((d.started - t0) * 1000)
        rcv.wait(lambda ds: ds[n].ended, 5, "the answer")
    for w in workers:
        xs = sorted(lags[w])
        print("\nworker %d: from the call to the delivery: median %.0f ms, "
              "max %.0f ms" % (w, xs[len(xs) // 2], xs[-1]), end="")
    print()
    wait_all_acked(ls, rcv, [STREAM], 10)
    check_all(ls, rcv, [STREAM])
    for w in workers:
        xs = sorted(lags[w])
        assert xs[len(xs) // 2] <= 60 and xs[-1] <= 250, \
            "worker %d: delivery started %r ms after the call" % (
                w, [round(x) for x in lags[w]])


# --------------------------------------------------------------------------
# https://


def self_signed(d, cn="127.0.0.1", san="IP:127.0.0.1"):
    """A self-signed certificate (and its key) in d; returns the paths."""
    import subprocess
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def test_https_verifies_the_receiver(make_setup, receivers, tmp_path):
    """An https:// receiver with a self-signed certificate: not trusted
    (the system's CAs, verification on by default), nothing is sent and
    the try is repeated, error.log saying why each time; once nginx is
    reloaded with live_shop_notify_ssl_trusted_certificate naming it,
    every event arrives, signed, in order."""
    cert, key = self_signed(str(tmp_path))
    rcv = receivers(tls=(cert, key))
    assert rcv.url.startswith("https://"), rcv.url
    ls = notify_setup(make_setup, rcv)
    pos = log_pos(ls)
    put_offer(ls.api, h.offer("s-1"))
    ok(ls.api.pin("s-1"))
    ok(ls.api.countdown(600, "tls"))

    def refusals():
        return [ln for ln in log_since(ls, pos).splitlines()
                if "certificate does not verify" in ln]
    h.wait_for(lambda: len(refusals()) >= 2, FIRST_RETRY_MAX + 5, 0.1,
               "a refused certificate, tried twice")
    said = refusals()
    print("\nerror.log says: %s" % said[0])
    assert "self-signed certificate" in said[0] and rcv.url in said[0] \
        and STREAM + ":1" in said[0], said[0]
    assert rcv.snapshot() == [], "sent to an unverified receiver:\n" + \
        fmt(rcv.snapshot())
    # trusted: a reload, and everything comes
    with open(ls.nginx.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  live_shop_notify ",
                        "  live_shop_notify_ssl_trusted_certificate %s;\n"
                        "  live_shop_notify " % cert, 1)
    with open(ls.nginx.conf_path, "w") as f:
        f.write(conf)
    reload_at = time.time()
    ls.nginx.reload()
    wait_all_acked(ls, rcv, [STREAM], 10, "once the certificate is trusted")
    time.sleep(1)
    ds = check_all(ls, rcv, [STREAM], restarts=[reload_at])
    print("%d events over https after the reload, %.2f s" % (
        len(ds), max(d.ended for d in ds) - reload_at))


def test_https_without_verification(make_setup, receivers, tmp_path):
    """live_shop_notify_ssl_verify off: the same receiver is taken as it
    is."""
    cert, key = self_signed(str(tmp_path), cn="receiver.invalid",
                            san="DNS:receiver.invalid")
    rcv = receivers(tls=(cert, key))
    ls = make_setup(journal=True, notify=(rcv.url, NOTIFY_SECRET,
                                          {"ssl_verify": "off"}))
    put_offer(ls.api, h.offer("v-1"))
    ok(ls.api.pin("v-1"))
    wait_all_acked(ls, rcv, [STREAM], 5)
    check_all(ls, rcv, [STREAM])


def test_https_certificate_for_another_host(make_setup, receivers,
                                            tmp_path):
    """Trusted, but made out for another host: refused, and said so."""
    cert, key = self_signed(str(tmp_path), cn="receiver.invalid",
                            san="DNS:receiver.invalid")
    rcv = receivers(tls=(cert, key))
    ls = make_setup(journal=True, notify=(rcv.url, NOTIFY_SECRET, {
        "ssl_trusted_certificate": cert}))
    pos = log_pos(ls)
    put_offer(ls.api, h.offer("w-1"))
    ok(ls.api.pin("w-1"))
    h.wait_for(lambda: "is not for \"127.0.0.1\"" in log_since(ls, pos), 5,
               0.1, "the certificate refused")
    time.sleep(0.5)
    assert rcv.snapshot() == [], fmt(rcv.snapshot())


def test_nginx_t_https(module_so, tmp_path):
    """https:// is taken; a trusted-certificate file that cannot be read
    is an [emerg] naming the directive."""
    url = "https://127.0.0.1:9/hook"
    rc, out = _nginx_t(module_so, (url, NOTIFY_SECRET))
    assert rc == 0, out
    rc, out = _nginx_t(module_so, (url, NOTIFY_SECRET, {
        "ssl_trusted_certificate": str(tmp_path / "none.pem")}))
    assert rc != 0, out
    emerg = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert emerg and "live_shop_notify_ssl_trusted_certificate" in \
        emerg[0], out
