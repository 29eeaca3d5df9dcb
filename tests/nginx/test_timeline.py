"""Integration tests of the stream timeline in real nginx (2 workers) with
nginx-rtmp and ffmpeg: countdowns and disclosures (SPEC §3, §5), stock
events, the journal and what survives `nginx -s stop`, `nginx -s reload`
and `kill -9`, Server-Sent Events (§8) with Last-Event-ID, the report, and
the countdown and disclosure ranges in RTMP cue points (§6) and HLS
playlists (§7).

Server conventions these tests hold the module to (beyond SPEC):
  - http{}: live_shop_journal DIR (DIR/APP/NAME.journal, one JSON record a
    line: events as their §3 JSON, catalog puts {"offer":{..},"at":T},
    {"checkpoint":..} first in a rotated journal); live_shop_journal_fsync;
    live_shop_journal_max_size; live_shop_locale en|de; live_shop_sse_ping.
  - a countdown ends by itself at ends_at, a pin with a duration at until,
    within 100 ms and without any request;
  - a pinned offer with "disclosure" shows it (disclosure.shown with
    data.offer_id, before offer.pinned) and it cannot be hidden or
    replaced while the offer is pinned (409 disclosure_required).

Tests that share the module's nginx (`tl`, with a publisher) use a stream
of their own, except the RTMP and HLS tests, which use live/demo. Tests
that stop, kill or reload nginx start their own (`make_setup`)."""

import json
import os
import random
import statistics
import threading
import time

import pytest

import liveshop_harness as h
from liveshop_harness import SECRET, STREAM
from test_foundation import (assert_error, assert_every_event_once,
                             check_cue_shape, check_event, find_range,
                             put_offer, wait_state_cue)

# 1,000 SSE clients in this process, and nginx (which inherits the limit)
# serving them.
NOFILE = h.raise_nofile(8192)

TIMER_SLACK_MS = 100        # a timed event is emitted this soon after due
POLL_S = 0.005              # how often the no-traffic tests look
CUE_TIMEOUT = 15
SSE_TIMEOUT = 10

EN_LABELS = {"ad": "Ad", "sponsored": "Sponsored",
             "affiliate": "Affiliate link", "gifted": "Gifted",
             "own": "Own product"}
DE_LABELS = {"ad": "Anzeige", "sponsored": "Werbung",
             "affiliate": "Affiliate-Link", "gifted": "Unbezahlte Werbung",
             "own": "Eigenes Produkt"}

CLASS_OF = {"offer.pinned": "org.liveshop.offer",
            "countdown.started": "org.liveshop.countdown",
            "disclosure.shown": "org.liveshop.disclosure"}
OPENS = {"offer.pinned": "pin", "countdown.started": "countdown",
         "disclosure.shown": "disclosure"}
CLOSES = {"offer.unpinned": "pin", "countdown.ended": "countdown",
          "disclosure.hidden": "disclosure"}

TIMELINE_CONF = {"journal": True, "sse_ping": "1s"}


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def tl(request, module_so):
    """nginx (2 workers) + publisher with the journal on and a 1 s SSE
    ping; shared by the tests of this file that do not restart nginx."""
    from conftest import _run_live
    yield from _run_live(request, module_so, **TIMELINE_CONF)


@pytest.fixture(scope="module")
def quiet(request, module_so):
    """nginx with the journal and nothing else: no publisher, no client.
    The timer tests make no request while they wait."""
    from conftest import _run_live
    yield from _run_live(request, module_so, publish=False, journal=True)


# --------------------------------------------------------------------------
# what the events imply


class Model:
    """The timeline as the events tell it, independently of the module:
    state (SPEC §5), intervals (§7) and the compliance rule (§3: a pinned
    offer with a disclosure has it shown, at every event)."""

    def __init__(self, stream=STREAM):
        self.stream = stream
        self.seq = 0
        self.open = {"pin": None, "countdown": None, "disclosure": None}
        self.intervals = []      # [opening event, closing event or None]
        self._iv = {}            # kind -> the open interval (a list)
        self.stock = {}
        self._problems = []
        self._gap = None         # (event, problem) awaiting the next event

    def restore(self, checkpoint):
        """Starts from a journal's checkpoint record (the seq of the event
        that follows it is not checked against the checkpoint's)."""
        cp = checkpoint["checkpoint"]
        self.seq = None
        for ev in cp.get("open", []):
            self._open_interval(ev)
        self.checkpoint_seq = cp.get("seq")

    def apply_all(self, events):
        for ev in events:
            self.apply(ev)
        return self

    def _open_interval(self, ev):
        kind = OPENS[ev["type"]]
        iv = [ev, None]
        self.intervals.append(iv)
        self._iv[kind] = iv
        self.open[kind] = ev

    @property
    def problems(self):
        return self._problems + ([self._gap[1]] if self._gap else [])

    def apply(self, ev):
        p = self._problems
        if self.seq is not None and ev["seq"] != self.seq + 1:
            p.append("seq %s after %s" % (ev["seq"], self.seq))
        self.seq = ev["seq"]
        if ev.get("id") != "%s:%d" % (self.stream, ev["seq"]):
            p.append("event %s has id %r" % (ev["seq"], ev.get("id")))
        t, d = ev["type"], ev["data"]
        if t in CLOSES:
            kind = CLOSES[t]
            opened = self.open[kind]
            if opened is None:
                p.append("seq %d: %s while no %s is open" % (ev["seq"], t,
                                                            kind))
            else:
                if t == "offer.unpinned" and \
                        d.get("offer_id") != opened["data"]["offer"]["id"]:
                    p.append("seq %d unpins %r but %r is pinned" % (
                        ev["seq"], d.get("offer_id"),
                        opened["data"]["offer"]["id"]))
                if t == "disclosure.hidden" and \
                        d.get("kind") != opened["data"]["kind"]:
                    p.append("seq %d hides %r but %r is shown" % (
                        ev["seq"], d.get("kind"), opened["data"]["kind"]))
                self._iv[kind][1] = ev
                self.open[kind] = None
        elif t in OPENS:
            kind = OPENS[t]
            if self.open[kind] is not None:
                p.append("seq %d: %s while %s is still open (no closing "
                         "event first)" % (ev["seq"], t,
                                           self.open[kind]["id"]))
                self._iv[kind][1] = ev
            self._open_interval(ev)
        elif t == "stock.changed":
            self.stock[d["offer_id"]] = d["stock"]
        elif t == "offer.sold_out":
            if self.stock.get(d["offer_id"]) != 0:
                p.append("seq %d: sold out without stock.changed to 0"
                         % ev["seq"])
        # SPEC §3: it cannot be forgotten. A disclosure.hidden directly
        # followed, at the same instant, by the disclosure.shown that
        # replaces it (a new text, say) leaves no gap.
        gap = self._gap
        self._gap = None
        pin = self.open["pin"]
        need = pin and pin["data"]["offer"].get("disclosure")
        shown = self.open["disclosure"]
        if need and (shown is None or shown["data"]["kind"] != need):
            msg = ("after seq %d offer %s (disclosure %s) is pinned but the "
                   "disclosure shown is %s" % (
                       ev["seq"], pin["data"]["offer"]["id"], need,
                       shown and shown["data"]["kind"]))
            if gap is not None:
                p.append(gap[1])
            self._gap = (ev, msg)
        elif gap is not None and not (
                t == "disclosure.shown" and ev["at"] == gap[0]["at"]):
            p.append(gap[1] + " until seq %d at %s" % (ev["seq"], ev["at"]))
        return self

    def state(self):
        """The parts of GET state the events determine."""
        out = {"seq": self.seq}
        pin = self.open["pin"]
        if pin is None:
            out["pinned"] = None
        else:
            out["pinned"] = {"id": pin["id"], "since": pin["at"],
                             "offer": pin["data"]["offer"]}
            if pin["data"].get("until"):
                out["pinned"]["until"] = pin["data"]["until"]
        cd = self.open["countdown"]
        if cd is None:
            out["countdown"] = None
        else:
            out["countdown"] = {"id": cd["id"], "since": cd["at"],
                                "ends_at": cd["data"]["ends_at"],
                                "label": cd["data"]["label"]}
            if cd["data"].get("offer_id"):
                out["countdown"]["offer_id"] = cd["data"]["offer_id"]
        ds = self.open["disclosure"]
        if ds is None:
            out["disclosure"] = None
        else:
            out["disclosure"] = {"id": ds["id"], "since": ds["at"],
                                 "kind": ds["data"]["kind"],
                                 "text": ds["data"]["text"]}
        return out


def state_differences(server, model):
    """Where GET state differs from what the events imply (extra keys in
    the server's objects are allowed)."""
    want = model.state()
    diffs = []
    if server.get("seq") != want["seq"]:
        diffs.append("seq %r, the events say %r" % (server.get("seq"),
                                                    want["seq"]))
    for key in ("pinned", "countdown", "disclosure"):
        got, exp = server.get(key), want[key]
        if exp is None or got is None:
            if exp is not got:
                diffs.append("%s: %r, the events say %r" % (key, got, exp))
            continue
        for k, v in exp.items():
            if got.get(k) != v:
                diffs.append("%s.%s: %r, the events say %r" % (
                    key, k, got.get(k), v))
        if key == "pinned" and "until" not in exp and got.get("until"):
            diffs.append("pinned.until %r without a duration" % got["until"])
    return diffs


# --------------------------------------------------------------------------
# helpers


def ok(r, status=200):
    assert r.status == status, "want %d, got %r" % (status, r)
    return r.json()


def state(api):
    return ok(api.state())


def call_event(fn, type_, stream, *a, **kw):
    """Calls fn(*a, **kw) (an Api method), checks that it answers 200 with
    a type_ event stamped within the call, returns the event."""
    before = time.time()
    r = fn(*a, **kw)
    after = time.time()
    ev = ok(r)
    check_event(ev, type_, before, after, stream=stream)
    return ev


def journal(ls, stream=STREAM):
    return h.Journal(ls.journal_path(stream))


def journal_events(ls, stream=STREAM, after=0):
    path = ls.journal_path(stream)
    if not os.path.exists(path):
        return []
    return [e for e in h.Journal(path).events if e["seq"] > after]


def model_of(ls, stream=STREAM):
    return Model(stream).apply_all(journal_events(ls, stream))


def wait_journal(ls, stream, pred, timeout, what):
    """Polls the journal file itself (no request to nginx) until pred(list
    of events) is true; returns (value, time.time() when seen)."""
    path = ls.journal_path(stream)
    deadline = time.monotonic() + timeout
    last_size = -1
    while True:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = -1
        if size != last_size and size > 0:
            last_size = size
            seen = time.time()
            v = pred(h.Journal(path).events)
            if v:
                return v, seen
        if time.monotonic() > deadline:
            raise AssertionError("journal %s: no %s within %.1fs" % (
                path, what, timeout))
        time.sleep(POLL_S)


def access_lines(ls):
    try:
        with open(ls.nginx.access_log) as f:
            return f.read().splitlines()
    except OSError:
        return []


def settled_access_lines(ls, needle):
    """The access log once the line of the last call (holding needle) is
    in: nginx writes it after the answer."""
    return h.wait_for(lambda: (lambda ls_: ls_ if ls_ and needle in ls_[-1]
                               else None)(access_lines(ls)), 2, 0.01,
                      "the access log line of %s" % needle)


def sse(ls, stream=STREAM, last_event_id=None, query_id=None, label="sse",
        sock=None, **kw):
    api = ls.api_for(stream)
    c = h.SseClient(ls.http_port, api.events_path(query_id),
                    last_event_id=last_event_id, sock=sock, label=label,
                    **kw)
    return c.start()


def replay(ls, stream, after, upto, timeout=SSE_TIMEOUT, query=False):
    """An SSE client reconnecting with Last-Event-ID: after (or the query
    parameter); returns its messages once it has the one with id upto,
    plus whatever came within 0.3 s more (a duplicate would show)."""
    after = int(after)
    if query:
        c = sse(ls, stream, query_id=after, label="replay-q%s" % after)
    else:
        c = sse(ls, stream, last_event_id=after, label="replay-%s" % after)
    try:
        if upto > after:
            c.wait_seq(upto, timeout)
        time.sleep(0.3)
        assert c.status == 200, c.status
        assert not c.stream.errors, c.stream.errors
        return list(c.messages)
    finally:
        c.close()


def assert_replay_is(messages, events, label):
    """SSE messages (after a Last-Event-ID) are exactly these events, in
    order: id = seq, event = type, data = the event JSON."""
    got = [(m.id, m.event) for m in messages]
    want = [(str(e["seq"]), e["type"]) for e in events]
    assert got == want, "%s: got %r, want %r" % (label, got, want)
    for m, e in zip(messages, events):
        assert m.json() == e, "%s: data %r != journal %r" % (label, m.data,
                                                             e)


def check_sse_message(m, ev):
    """One SSE message of event ev, in the exact form of the conventions."""
    data = json.dumps(ev)   # only for the message; compared as JSON
    assert m.id == str(ev["seq"]), (m, ev)
    assert m.event == ev["type"], (m, ev)
    assert "\n" not in m.data and "\r" not in m.data, m.data
    assert m.json() == ev, "SSE data %r != event %s" % (m.data, data)
    assert m.raw == "id: %d\nevent: %s\ndata: %s\n\n" % (
        ev["seq"], ev["type"], m.data), \
        "message not in the form id/event/data: %r" % m.raw


def ensure_clear(api):
    """Nothing pinned, no disclosure, no countdown left on api's stream
    (a running countdown is replaced by a 1 s one and waited for)."""
    r = api.unpin()
    assert r.status in (200, 409), r
    r = api.hide()
    assert r.status in (200, 409), r
    st = state(api)
    if st["countdown"] is not None:
        ok(api.countdown(1, "clear"))
        h.wait_for(lambda: state(api)["countdown"] is None, 5, 0.1,
                   "the clearing countdown to end")
    st = state(api)
    assert st["pinned"] is None and st["disclosure"] is None and \
        st["countdown"] is None, st


def sponsored(oid, kind="ad", **kw):
    return h.offer(oid, disclosure=kind, **kw)


def report_offer(rep, oid):
    got = [o for o in rep["offers"] if o.get("offer_id") == oid]
    assert len(got) == 1, "report lists %s %d times: %r" % (oid, len(got),
                                                             rep)
    return got[0]


def pinned_seconds(events, oid, now_ms=None):
    """Seconds offer oid was pinned according to the events."""
    total, since = 0, None
    for e in events:
        if e["type"] == "offer.pinned":
            if since is not None:
                total += h.parse_spec_time(e["at"]) - since
                since = None
            if e["data"]["offer"]["id"] == oid:
                since = h.parse_spec_time(e["at"])
        elif e["type"] == "offer.unpinned" and since is not None and \
                e["data"]["offer_id"] == oid:
            total += h.parse_spec_time(e["at"]) - since
            since = None
    if since is not None and now_ms is not None:
        total += now_ms - since
    return total / 1000.0


# --------------------------------------------------------------------------
# configuration


def _nginx_t(module_so, **kw):
    d = h.make_prefix()
    try:
        conf = h.make_conf(d, 1935, 8080, module=module_so, **kw)
        return h.nginx_test_config(d, conf)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("kw", [
    {"journal": True},
    {"journal": True, "journal_fsync": "on", "journal_max_size": "1m"},
    {"journal": True, "journal_fsync": "off", "journal_max_size": "64k"},
    {"locale": "de", "sse_ping": "5s"},
    {"locale": "en", "sse_ping": "500ms"},
], ids=["journal", "fsync-on", "fsync-off", "de", "en"])
def test_nginx_t_accepts_timeline_directives(module_so, kw):
    kw = dict(kw)
    d = h.make_prefix()
    try:
        if kw.get("journal") is True:
            kw["journal"] = d
        conf = h.make_conf(d, 1935, 8080, module=module_so, **kw)
        rc, out = h.nginx_test_config(d, conf)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, out


@pytest.mark.parametrize("kw,directive", [
    ({"journal": "/tmp", "journal_fsync": "maybe"},
     "live_shop_journal_fsync"),
    ({"journal": "/tmp", "journal_max_size": "lots"},
     "live_shop_journal_max_size"),
    ({"locale": "fr"}, "live_shop_locale"),
    ({"sse_ping": "soon"}, "live_shop_sse_ping"),
], ids=["fsync-maybe", "max-size-lots", "locale-fr", "ping-soon"])
def test_nginx_t_rejects_bad_timeline_values(module_so, kw, directive):
    rc, out = _nginx_t(module_so, **kw)
    assert rc != 0, "nginx -t accepted %r:\n%s" % (kw, out)
    emerg = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert emerg, out
    assert directive in emerg[0], \
        "the [emerg] does not name %s: %s" % (directive, emerg[0])


# --------------------------------------------------------------------------
# countdown


def test_countdown_started_and_replaced(tl):
    stream = "live/cd-1"
    api = tl.api_for(stream)
    seq0 = state(api)["seq"]
    label = 'Flash "sale" <b>\u00e9\U0001F525</b>'
    ev = call_event(api.countdown, "countdown.started", stream, 30, label)
    assert ev["seq"] == seq0 + 1
    at = h.parse_spec_time(ev["at"])
    assert h.parse_spec_time(ev["data"].get("ends_at")) == at + 30000, ev
    assert ev["data"].get("label") == label
    assert "offer_id" not in ev["data"] or ev["data"]["offer_id"] is None
    st = state(api)
    assert st["countdown"] == {"id": ev["id"], "since": ev["at"],
                               "ends_at": ev["data"]["ends_at"],
                               "label": label}, st
    # a running countdown ends first
    ev2 = call_event(api.countdown, "countdown.started", stream, 60,
                     "Second")
    assert ev2["seq"] == ev["seq"] + 2, ev2
    evs = journal_events(tl, stream, after=ev["seq"])
    assert [e["type"] for e in evs] == ["countdown.ended",
                                        "countdown.started"], evs
    ended = evs[0]
    assert ended["data"].get("label") == label, ended
    assert ended["at"] == ev2["at"], (ended, ev2)
    assert evs[1] == ev2
    assert state(api)["countdown"]["id"] == ev2["id"]
    # with an offer
    put_offer(api, h.offer("cd-o"))
    ev3 = call_event(api.countdown, "countdown.started", stream, 45,
                     "For an offer", offer_id="cd-o")
    assert ev3["data"].get("offer_id") == "cd-o", ev3
    assert state(api)["countdown"].get("offer_id") == "cd-o"
    # at: the moment the host pressed the key
    time.sleep(2.2)
    at4 = h.now_ms() - 2000
    r = api.countdown(10, "Stamped", at=h.format_spec_time(at4))
    ev4 = ok(r)
    assert h.parse_spec_time(ev4["at"]) == at4, ev4
    assert h.parse_spec_time(ev4["data"]["ends_at"]) == at4 + 10000
    assert Model(stream).apply_all(journal_events(tl, stream)).problems == []


def test_countdown_stopped_early(tl):
    """The host stops a countdown before it runs out (the dock's stop):
    countdown.ended now, its offer stays pinned, nothing more is due."""
    stream = "live/cd-stop"
    api = tl.api_for(stream)
    put_offer(api, h.offer("cds-o"))
    ok(api.pin("cds-o"))
    started = call_event(api.countdown, "countdown.started", stream, 2,
                         "Deal", offer_id="cds-o")
    ended = call_event(lambda: api.call("DELETE", "/countdown"),
                       "countdown.ended", stream)
    assert ended["seq"] == started["seq"] + 1
    assert ended["data"].get("label") == "Deal"
    assert ended["data"].get("offer_id") == "cds-o"
    st = state(api)
    assert st["countdown"] is None and st["pinned"]["offer"]["id"] == \
        "cds-o", st
    assert_error(api.call("DELETE", "/countdown"), 409, code="not_running")
    assert_error(api.call("DELETE", "/countdown", {"at": "soon"}), 400,
                 field="at")
    # past the old ends_at: the clock ends nothing and unpins nothing
    time.sleep(2.5)
    st = state(api)
    assert st["seq"] == ended["seq"] and st["pinned"], st
    assert_error(api.call("DELETE", "/countdown",
                          token=h.mint_token(SECRET, "live/other")), 403)
    assert Model(stream).apply_all(journal_events(tl, stream)).problems == []


@pytest.mark.parametrize("body,status,field", [
    ({"seconds": 0, "label": "x"}, 400, "seconds"),
    ({"seconds": -5, "label": "x"}, 400, "seconds"),
    ({"seconds": "10", "label": "x"}, 400, "seconds"),
    ({"seconds": 1.5, "label": "x"}, 400, "seconds"),
    ({"seconds": 86401, "label": "x"}, 400, "seconds"),
    ({"label": "x"}, 400, "seconds"),
    ({"seconds": 10, "label": "x" * 61}, 400, "label"),
    ({"seconds": 10, "label": 5}, 400, "label"),
    ({"seconds": 10, "label": "x", "offer": "no-such-offer"}, 404, "offer"),
    ({"seconds": 10, "label": "x", "at": "yesterday"}, 400, "at"),
], ids=["zero", "negative", "string", "fraction", "too-long", "missing",
        "label-long", "label-number", "unknown-offer", "bad-at"])
def test_countdown_refused(tl, body, status, field):
    stream = "live/cd-bad"
    api = tl.api_for(stream)
    seq0 = state(api)["seq"]
    r = api.call("POST", "/countdown", body)
    assert_error(r, status, field=field)
    assert state(api)["seq"] == seq0, "a refused countdown made an event"


def test_timeline_calls_need_the_stream_token(tl):
    stream = "live/auth-tl"
    api = tl.api_for(stream)
    other = h.mint_token(SECRET, "live/other")
    calls = [("POST", "/countdown", {"seconds": 5, "label": "x"}),
             ("POST", "/disclosure", {"kind": "ad"}),
             ("DELETE", "/disclosure", None),
             ("GET", "/report", None)]
    for method, path, body in calls:
        for tok in (None, "nonsense", h.mint_token("wrong", stream)):
            assert_error(api.call(method, path, body, token=tok), 401)
        assert_error(api.call(method, path, body, token=other), 403)
    assert state(api)["seq"] == 0
    # SSE needs no token
    c = sse(tl, stream, label="noauth")
    try:
        assert c.wait_count(1, SSE_TIMEOUT).event == "state"
        assert c.status == 200
    finally:
        c.close()


def test_countdown_ends_on_time_without_traffic(quiet):
    """No request reaches nginx between the countdown call and its end:
    the journal file, read from disk, shows countdown.ended (and the unpin
    of the countdown's offer) within 100 ms of ends_at."""
    ls = quiet
    stream = "live/cd-quiet"
    api = ls.api_for(stream)
    put_offer(api, h.offer("cdq"))
    pinned = call_event(api.pin, "offer.pinned", stream, "cdq")
    ev = call_event(api.countdown, "countdown.started", stream, 2,
                    "Two seconds", offer_id="cdq")
    ends = h.parse_spec_time(ev["data"]["ends_at"])
    lines_before = len(settled_access_lines(ls, "/countdown"))

    def ended(evs):
        got = [e for e in evs if e["seq"] > ev["seq"]]
        return got if len(got) >= 2 else None
    evs, seen = wait_journal(ls, stream, ended, 5, "countdown.ended")
    late = seen * 1000 - ends
    print("countdown.ended in the journal %.1f ms after ends_at" % late)
    assert len(access_lines(ls)) == lines_before, \
        "a request reached nginx while the test waited"
    assert [e["type"] for e in evs] == ["countdown.ended", "offer.unpinned"], \
        evs
    end_ev, unpin_ev = evs
    assert end_ev["seq"] == ev["seq"] + 1
    assert end_ev["data"].get("label") == "Two seconds"
    assert end_ev["data"].get("offer_id") == "cdq", end_ev
    for e in evs:
        at = h.parse_spec_time(e["at"])
        assert ends <= at <= ends + TIMER_SLACK_MS, \
            "%s at %s, ends_at %s" % (e["type"], e["at"],
                                      ev["data"]["ends_at"])
    assert unpin_ev["data"].get("offer_id") == "cdq"
    assert late <= TIMER_SLACK_MS + 15, \
        "countdown.ended written %.0f ms after ends_at" % late
    st = state(api)
    assert st["countdown"] is None and st["pinned"] is None, st
    assert st["seq"] == unpin_ev["seq"]
    assert pinned["seq"] < ev["seq"]
    # a countdown for an offer that is no longer pinned only ends
    put_offer(api, h.offer("cdq2"))
    ev = call_event(api.countdown, "countdown.started", stream, 1,
                    "One", offer_id="cdq2")
    evs, seen = wait_journal(
        ls, stream, lambda es: [e for e in es if e["seq"] > ev["seq"]] or
        None, 4, "countdown.ended")
    assert [e["type"] for e in evs] == ["countdown.ended"], evs
    assert seen * 1000 - h.parse_spec_time(ev["data"]["ends_at"]) <= \
        TIMER_SLACK_MS + 15
    time.sleep(0.3)
    assert [e["type"] for e in journal_events(ls, stream, ev["seq"])] == \
        ["countdown.ended"]


def test_pin_duration_unpins_without_traffic(quiet):
    ls = quiet
    stream = "live/dur-quiet"
    api = ls.api_for(stream)
    put_offer(api, sponsored("durq", "sponsored"))
    ev = call_event(api.pin, "offer.pinned", stream, "durq", duration=1)
    until = h.parse_spec_time(ev["data"]["until"])
    assert until == h.parse_spec_time(ev["at"]) + 1000
    lines_before = len(settled_access_lines(ls, "/pin"))

    def after(evs):
        got = [e for e in evs if e["seq"] > ev["seq"]]
        return got if len(got) >= 2 else None
    evs, seen = wait_journal(ls, stream, after, 4, "offer.unpinned")
    late = seen * 1000 - until
    print("offer.unpinned in the journal %.1f ms after until" % late)
    assert len(access_lines(ls)) == lines_before
    assert [e["type"] for e in evs] == ["offer.unpinned",
                                        "disclosure.hidden"], evs
    assert evs[0]["data"]["offer_id"] == "durq"
    assert evs[1]["data"]["kind"] == "sponsored"
    for e in evs:
        assert until <= h.parse_spec_time(e["at"]) <= until + TIMER_SLACK_MS
    assert late <= TIMER_SLACK_MS + 15, \
        "offer.unpinned written %.0f ms after until" % late
    st = state(api)
    assert st["pinned"] is None and st["disclosure"] is None, st
    m = model_of(ls, stream)
    assert m.problems == []


# --------------------------------------------------------------------------
# disclosure


def test_disclosure_show_hide_and_default_labels(tl):
    stream = "live/disc-1"
    api = tl.api_for(stream)
    prev = None
    for kind, label in EN_LABELS.items():
        ev = call_event(api.disclose, "disclosure.shown", stream, kind)
        assert ev["data"].get("kind") == kind
        assert ev["data"].get("text") == label, \
            "default %s text %r, want %r (live_shop_locale en)" % (
                kind, ev["data"].get("text"), label)
        assert not ev["data"].get("offer_id"), ev
        st = state(api)
        assert st["disclosure"] and {
            k: st["disclosure"].get(k) for k in
            ("id", "since", "kind", "text")} == {
                "id": ev["id"], "since": ev["at"], "kind": kind,
                "text": label}, st
        if prev is not None:     # the shown one was hidden first
            evs = journal_events(tl, stream, after=prev["seq"])
            assert [e["type"] for e in evs] == ["disclosure.hidden",
                                                "disclosure.shown"], evs
            assert evs[0]["data"]["kind"] == prev["data"]["kind"]
        prev = ev
    ev = call_event(api.disclose, "disclosure.shown", stream, "ad",
                    text="Dauerwerbesendung")
    assert ev["data"]["text"] == "Dauerwerbesendung"
    hid = call_event(api.hide, "disclosure.hidden", stream)
    assert hid["data"].get("kind") == "ad"
    assert hid["seq"] == ev["seq"] + 1
    assert state(api)["disclosure"] is None
    assert_error(api.hide(), 409, code="not_shown")
    seq = state(api)["seq"]
    for body, field in (({"kind": "bribe"}, "kind"), ({}, "kind"),
                        ({"kind": 1}, "kind"),
                        ({"kind": "ad", "text": "x" * 61}, "text"),
                        ({"kind": "ad", "text": 7}, "text")):
        assert_error(api.call("POST", "/disclosure", body), 400, field=field)
    assert state(api)["seq"] == seq
    assert model_of(tl, stream).problems == []


def test_unpin_and_hide_keep_the_key_press_time(tl):
    """An OBS host offline for a moment sends its presses later, each with
    the moment the key was pressed: unpin and hiding take "at" too."""
    stream = "live/moment-1"
    api = tl.api_for(stream)
    put_offer(api, sponsored("mom", "ad"))
    ok(api.pin("mom"))
    at = h.now_ms() - 3000
    r = api.call("POST", "/unpin", {"at": h.format_spec_time(at)})
    ev = ok(r)
    assert ev["type"] == "offer.unpinned"
    # moved up to the pin's start at the latest (pins never overlap)
    assert h.parse_spec_time(ev["at"]) >= at
    ok(api.disclose("gifted"))
    at = h.now_ms() - 2000
    ev = ok(api.call("DELETE", "/disclosure",
                     {"at": h.format_spec_time(at)}))
    assert ev["type"] == "disclosure.hidden"
    assert h.parse_spec_time(ev["at"]) >= at
    ok(api.disclose("gifted"))
    seq = state(api)["seq"]
    old = h.format_spec_time(h.now_ms() - 11000)
    for method, rest, body, field in (
            ("DELETE", "/disclosure", {"at": old}, "at"),
            ("DELETE", "/disclosure", {"kind": "ad"}, "kind"),
            ("DELETE", "/disclosure", b"{", ""),
            ("POST", "/unpin", {"at": "soon"}, "at")):
        r = api.call(method, rest, body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["field"] == field, r
    assert state(api)["seq"] == seq
    ok(api.hide())


def test_locale_de_labels(make_setup):
    ls = make_setup(journal=True, locale="de")
    api = ls.api
    for kind, label in DE_LABELS.items():
        ev = call_event(api.disclose, "disclosure.shown", STREAM, kind)
        assert ev["data"]["text"] == label, (kind, ev)
    ok(api.hide())
    put_offer(api, sponsored("de-1", "affiliate"))
    ok(api.pin("de-1"))
    shown = [e for e in journal_events(ls) if e["type"] ==
             "disclosure.shown"][-1]
    assert shown["data"].get("kind") == "affiliate", shown
    assert shown["data"].get("text") == "Affiliate-Link", shown
    assert shown["data"].get("offer_id") == "de-1", shown


def test_sponsored_pin_cannot_leave_the_disclosure_off(tl):
    stream = "live/sponsored"
    api = tl.api_for(stream)
    a = put_offer(api, sponsored("sp-a", "ad", price="10.00"))
    put_offer(api, sponsored("sp-b", "affiliate"))
    put_offer(api, h.offer("sp-c"))

    # pinning shows the offer's disclosure, just before the pin
    seq0 = state(api)["seq"]
    pa = call_event(api.pin, "offer.pinned", stream, "sp-a")
    assert pa["data"]["offer"] == a
    evs = journal_events(tl, stream, after=seq0)
    assert [e["type"] for e in evs] == ["disclosure.shown", "offer.pinned"], \
        evs
    shown = evs[0]
    assert shown["data"].get("kind") == "ad"
    assert shown["data"].get("text") == "Ad"
    assert shown["data"].get("offer_id") == "sp-a", shown
    assert shown["at"] == pa["at"]
    st = state(api)
    assert st["disclosure"]["kind"] == "ad" and \
        st["disclosure"]["id"] == shown["id"], st

    # it cannot be hidden or swapped while the offer is pinned
    seq = st["seq"]
    err = assert_error(api.hide(), 409, code="disclosure_required")
    assert "sp-a" in err["message"], err
    for kind in ("gifted", "sponsored", "own", "affiliate"):
        assert_error(api.disclose(kind), 409, code="disclosure_required")
    after = state(api)
    assert after["seq"] == seq and after["disclosure"] == st["disclosure"]

    # another sponsored offer: the old disclosure goes, the new one comes
    pb = call_event(api.pin, "offer.pinned", stream, "sp-b")
    evs = journal_events(tl, stream, after=seq)
    assert [e["type"] for e in evs] == [
        "offer.unpinned", "disclosure.hidden", "disclosure.shown",
        "offer.pinned"], evs
    assert evs[1]["data"]["kind"] == "ad"
    assert evs[2]["data"].get("kind") == "affiliate", evs[2]
    assert evs[2]["data"].get("text") == "Affiliate link", evs[2]
    assert evs[2]["data"].get("offer_id") == "sp-b", evs[2]
    # an offer without disclosure: the tied disclosure goes with sp-b
    pc = call_event(api.pin, "offer.pinned", stream, "sp-c")
    evs = journal_events(tl, stream, after=pb["seq"])
    assert [e["type"] for e in evs] == [
        "offer.unpinned", "disclosure.hidden", "offer.pinned"], evs
    assert state(api)["disclosure"] is None
    un = call_event(api.unpin, "offer.unpinned", stream)
    assert un["seq"] == pc["seq"] + 1

    # a stream-wide disclosure of the kind: no second one, and it stays
    wide = call_event(api.disclose, "disclosure.shown", stream, "ad",
                      text="Anzeige")
    pa2 = call_event(api.pin, "offer.pinned", stream, "sp-a")
    assert pa2["seq"] == wide["seq"] + 1, \
        "a disclosure of the kind was shown: no second one wanted"
    assert_error(api.hide(), 409, code="disclosure_required")
    un = call_event(api.unpin, "offer.unpinned", stream)
    assert un["seq"] == pa2["seq"] + 1
    time.sleep(0.1)
    st = state(api)
    assert st["disclosure"] and st["disclosure"]["id"] == wide["id"], \
        "unpinning hid the stream-wide disclosure: %r" % st
    call_event(api.hide, "disclosure.hidden", stream)

    # a stream-wide disclosure of another kind: the pin still shows ad
    call_event(api.disclose, "disclosure.shown", stream, "gifted")
    call_event(api.pin, "offer.pinned", stream, "sp-a")
    st = state(api)
    assert st["disclosure"] and st["disclosure"]["kind"] == "ad", st
    call_event(api.unpin, "offer.unpinned", stream)

    m = model_of(tl, stream)
    assert m.problems == [], "\n".join(m.problems)
    assert state_differences(state(api), m) == []
    rep = ok(api.report())
    assert rep["disclosure"]["coverage"] == 1.0, rep


# --------------------------------------------------------------------------
# stock


def test_stock_changed_and_sold_out(tl):
    stream = "live/stock-1"
    api = tl.api_for(stream)
    o = put_offer(api, h.offer("st-a", stock=5))
    assert state(api)["stock"].get("st-a") == 5
    seq = state(api)["seq"]
    put_offer(api, dict(o, stock=3))
    evs = journal_events(tl, stream, after=seq)
    assert [e["type"] for e in evs] == ["stock.changed"], evs
    assert evs[0]["data"] == {"offer_id": "st-a", "stock": 3}, evs[0]
    assert state(api)["stock"]["st-a"] == 3
    seq = evs[-1]["seq"]
    put_offer(api, dict(o, stock=3, price="18.00"))   # stock unchanged
    assert state(api)["seq"] == seq, "a PUT without a stock change made " \
        "an event"
    put_offer(api, dict(o, stock=0))
    evs = journal_events(tl, stream, after=seq)
    assert [e["type"] for e in evs] == ["stock.changed", "offer.sold_out"], \
        evs
    assert evs[0]["data"] == {"offer_id": "st-a", "stock": 0}
    assert evs[1]["data"] == {"offer_id": "st-a"}
    assert evs[0]["at"] == evs[1]["at"]
    st = state(api)
    assert st["stock"]["st-a"] == 0 and st["seq"] == evs[1]["seq"]
    put_offer(api, dict(o, stock=2))
    evs = journal_events(tl, stream, after=st["seq"])
    assert [(e["type"], e["data"]) for e in evs] == [
        ("stock.changed", {"offer_id": "st-a", "stock": 2})], evs
    # the catalog puts are journaled too
    puts = [r["offer"] for r in journal(tl, stream).offers]
    assert puts[-1] == dict(o, stock=2), puts[-1]
    assert len(puts) == 5
    for rec in journal(tl, stream).offers:
        h.parse_spec_time(rec["at"])


# --------------------------------------------------------------------------
# Server-Sent Events


def test_sse_stream_form(tl):
    stream = "live/sse-form"
    api = tl.api_for(stream)
    put_offer(api, h.offer("f-1", stock=4))
    ok(api.pin("f-1"))
    st0 = state(api)
    c = sse(tl, stream, label="form")
    try:
        m0 = c.wait_count(1, SSE_TIMEOUT, "the state message")
        assert c.status == 200
        ctype = c.headers.get("Content-Type") or ""
        assert ctype.split(";")[0].strip() == "text/event-stream", ctype
        assert m0.event == "state"
        assert m0.id == str(st0["seq"]), (m0.id, st0["seq"])
        st = m0.json()
        st.pop("at")
        st0.pop("at")
        assert st == st0, "SSE state %r != GET state %r" % (st, st0)
        assert m0.raw == "id: %d\nevent: state\ndata: %s\n\n" % (
            st0["seq"], m0.data), m0.raw
        # every kind of event, each once, in order
        made = []
        title = 'He said "hi"\r\n<script>\u00e9\U0001F6CD'
        put_offer(api, h.offer("f-2", title))
        made.append(ok(api.pin("f-2")))
        made.append(ok(api.countdown(30, "Hurry\nup")))
        made.append(ok(api.disclose("gifted", text="Gifted \"by\" them")))
        made.append(ok(api.hide()))
        put_offer(api, h.offer("f-1", stock=0))
        made.append(ok(api.unpin()))
        target = made[-1]["seq"]
        c.wait_seq(target, SSE_TIMEOUT)
        time.sleep(0.3)
        evs = journal_events(tl, stream, after=st0["seq"])
        assert evs[-1]["seq"] == target
        assert_replay_is(c.messages[1:], evs, "live")
        for m, ev in zip(c.messages[1:], evs):
            check_sse_message(m, ev)
        for ev in made:
            assert ev in evs
        assert not c.stream.errors, c.stream.errors
        assert not c.eof
    finally:
        c.close()


def test_sse_clients_in_both_workers_get_events(tl):
    stream = "live/sse-workers"
    api = tl.api_for(stream)
    put_offer(api, h.offer("w-1"))
    workers = tl.nginx.workers()
    assert len(workers) == 2
    clients = []
    try:
        for i, w in enumerate(workers):
            for n in range(2):
                conn = h.connect_in_worker(tl.http_port, w, workers)
                clients.append(sse(tl, stream, sock=conn,
                                   label="w%d-%d" % (i, n)))
        for c in clients:
            assert c.wait_count(1, SSE_TIMEOUT).event == "state"
        lat = {}
        for i, w in enumerate(workers):
            # the call is answered by one worker; all clients get it
            r = tl.request_in_worker(
                w, api.url("/pin"), method="POST",
                headers={"Authorization": "Bearer " + api.token,
                         "Content-Type": "application/json"},
                body=json.dumps({"offer": "w-1"}).encode())
            done = time.monotonic()
            ev = ok(r)
            for c in clients:
                m = c.wait_seq(ev["seq"], SSE_TIMEOUT)
                check_sse_message(m, ev)
                lat.setdefault(c.label, []).append(
                    round((m.at - done) * 1000, 1))
        print("pin -> SSE message per client (ms):", lat)
        evs = journal_events(tl, stream)
        first = int(clients[0].messages[0].id)
        for c in clients:
            assert_replay_is(c.messages[1:], [e for e in evs
                                              if e["seq"] > first], c.label)
    finally:
        for c in clients:
            c.close()


def test_sse_reconnect_gets_exactly_what_it_missed(tl):
    stream = "live/sse-resume"
    api = tl.api_for(stream)
    put_offer(api, h.offer("r-1", stock=9))
    put_offer(api, sponsored("r-2", "own"))
    a = sse(tl, stream, label="first")
    try:
        a.wait_count(1, SSE_TIMEOUT)
        ok(api.pin("r-1"))
        ok(api.countdown(20, "soon"))
        last = ok(api.unpin())
        a.wait_seq(last["seq"], SSE_TIMEOUT)
        last_id = a.messages[-1].id
        assert last_id == str(last["seq"])
    finally:
        a.close()
    # missed while away: several kinds, several events per call
    ok(api.pin("r-2"))                        # disclosure.shown + pinned
    ok(api.countdown(30, "later", offer_id="r-2"))  # ended + started
    put_offer(api, h.offer("r-1", stock=0))   # stock.changed + sold_out
    ok(api.pin("r-1"))                        # unpinned, hidden, pinned
    missed = journal_events(tl, stream, after=int(last_id))
    assert len(missed) >= 9, missed
    upto = missed[-1]["seq"]

    msgs = replay(tl, stream, last_id, upto)
    assert all(m.event != "state" for m in msgs), \
        "a reconnect with Last-Event-ID got a state message"
    assert_replay_is(msgs, missed, "Last-Event-ID: %s" % last_id)
    for m, ev in zip(msgs, missed):
        check_sse_message(m, ev)
    # the same with the query parameter
    msgs = replay(tl, stream, last_id, upto, query=True)
    assert_replay_is(msgs, missed, "?last_event_id=%s" % last_id)
    # from the start
    msgs = replay(tl, stream, 0, upto)
    assert_replay_is(msgs, journal_events(tl, stream), "Last-Event-ID: 0")
    # up to date: nothing until the next event, then it live
    b = sse(tl, stream, last_event_id=upto, label="uptodate")
    try:
        time.sleep(0.5)
        assert b.messages == [], b.messages
        ev = ok(api.unpin())
        m = b.wait_seq(ev["seq"], SSE_TIMEOUT)
        assert b.messages[0] is m
        check_sse_message(m, ev)
    finally:
        b.close()
    # resumed, then live: no gap and no duplicate at the seam
    c = sse(tl, stream, last_event_id=last_id, label="seam")
    try:
        c.wait_seq(ev["seq"], SSE_TIMEOUT)
        live_ev = ok(api.pin("r-2"))
        c.wait_seq(live_ev["seq"], SSE_TIMEOUT)
        time.sleep(0.3)
        assert_replay_is(c.messages, journal_events(
            tl, stream, after=int(last_id)), "resume then live")
    finally:
        c.close()


def test_sse_ping_on_idle_connections(tl):
    stream = "live/sse-idle"
    c = sse(tl, stream, label="idle")
    try:
        c.wait_count(1, SSE_TIMEOUT)
        start = time.monotonic()
        c.wait(lambda x: len(x.comments) >= 3, 6, "3 pings (ping 1s)")
        times = [t for _, t in c.comments[:3]]
        assert all(text.strip() == "ping" for text, _ in c.comments), \
            c.comments
        gaps = [b - a for a, b in zip([start] + times, times)]
        print("ping gaps (s):", [round(g, 2) for g in gaps])
        assert all(g < 2.0 for g in gaps[1:]), gaps
        assert len(c.messages) == 1
        assert not c.stream.errors
    finally:
        c.close()


def test_sse_slow_client_is_dropped_and_others_are_not_slowed(tl):
    stream = "live/sse-slow"
    api = tl.api_for(stream)
    # offers of ~4.5 KB: the unsent output grows quickly
    big = []
    for i in range(2):
        o = h.offer("big-%d" % i, "T%d " % i + "x" * 110,
                    url="https://shop.example/p/" + "u" * 2000,
                    image="https://shop.example/i/" + "i" * 2000)
        big.append(put_offer(api, o))
    fast = sse(tl, stream, label="fast")
    slow = h.SseClient(tl.http_port, api.events_path(), rcvbuf=4096,
                       label="slow").start(read=False)
    ka = h.KeepAlive(tl.http_port, api.token)
    pin_path = "/shop/v1/streams/%s/pin" % stream
    workers = tl.nginx.workers()
    try:
        fast.wait_count(1, SSE_TIMEOUT)
        h.wait_for(lambda: h._owner_of_server_side(
            tl.http_port, slow.local_port, workers), 5, 0.01,
            "nginx to accept the slow client")
        made = 0
        sent_bytes = 0
        lags = []
        dropped_at = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sent_bytes < 48 << 20:
            status, body = ka.request("POST", pin_path,
                                      {"offer": big[made % 2]["id"]})
            done = time.monotonic()
            assert status == 200, (status, body[:300])
            ev = json.loads(body)
            made += 1
            sent_bytes += 2 * len(body)
            if made % 10 == 0:
                m = fast.wait_seq(ev["seq"], SSE_TIMEOUT)
                lags.append(m.at - done)
                if h._owner_of_server_side(tl.http_port, slow.local_port,
                                           workers) is None:
                    dropped_at = (made, sent_bytes)
                    break
        print("slow client: dropped after %s pins (~%.1f MB of events); "
              "fast client lag median %.1f ms, max %.1f ms" % (
                  dropped_at and dropped_at[0],
                  (dropped_at[1] if dropped_at else sent_bytes) / 1e6,
                  statistics.median(lags) * 1000, max(lags) * 1000))
        assert dropped_at is not None, \
            "nginx still holds a client that read nothing while %.1f MB " \
            "of events were sent" % (sent_bytes / 1e6)
        assert max(lags) < 1.0, "the fast client waited %.2f s" % max(lags)
        last = state(api)["seq"]
        fast.wait_seq(last, SSE_TIMEOUT)
        evs = journal_events(tl, stream)
        first = int(fast.messages[0].id)
        assert_replay_is(fast.messages[1:],
                         [e for e in evs if e["seq"] > first], "fast")
        # the slow one got a clean prefix, then the end
        slow.read_for(20)
        assert slow.eof, "the dropped connection did not end"
        got = slow.messages
        assert got and got[0].event == "state"
        sfirst = int(got[0].id)
        assert_replay_is(got[1:], [e for e in evs if e["seq"] > sfirst]
                         [:len(got) - 1], "slow prefix")
        resume = got[-1].id
        msgs = replay(tl, stream, resume, last, timeout=30)
        assert_replay_is(msgs, [e for e in evs if e["seq"] > int(resume)],
                         "slow client resumed")
    finally:
        ka.close()
        fast.close()
        slow.close()


def crowd_round(ls, api, n, offer_id):
    """n SSE clients connect, an event (a pin or an unpin of offer_id) is
    made, all get it, all close and nginx lets them go. Returns (RSS with
    all connected, RSS once all got the event, latencies in ms after the
    API response, the API call's ms)."""
    crowd = h.SseCrowd(ls.http_port, api.events_path(), n)
    try:
        crowd.connect(timeout=90)
        connected = ls.nginx.rss_total()
        pinned = state(api)["pinned"] is not None
        t0 = time.monotonic()
        r = api.unpin() if pinned else api.pin(offer_id)
        t1 = time.monotonic()
        ev = ok(r)
        got = crowd.wait_seq(ev["seq"], 30)
        during = ls.nginx.rss_total()
        lat = sorted((m.at - t1) * 1000 for m in got.values())
        for m in got.values():
            assert m.json() == ev
        errors = [e for st in crowd.streams.values() for e in st.errors]
        assert not errors, errors[:5]
        assert not crowd.closed, "%d clients were closed by the server" % \
            len(crowd.closed)
        assert crowd.kernel_stamps, "no kernel receive timestamps"
    finally:
        crowd.close()
    h.wait_for(lambda: h.server_side_connections(ls.http_port) == 0, 30,
               0.1, "nginx to close the %d connections" % n)
    return connected, during, lat, (t1 - t0) * 1000


def test_sse_1000_clients_and_memory(make_setup):
    ls = make_setup(journal=True)
    stream = "live/crowd"
    api = ls.api_for(stream)
    put_offer(api, h.offer("crowd-1"))
    for w in ls.nginx.workers():
        with open("/proc/%d/limits" % w) as f:
            lim = [ln for ln in f if ln.startswith("Max open files")][0]
        assert int(lim.split()[3]) >= 2100, \
            "worker %d may open too few files: %s" % (w, lim)
    # warm-up: what the first clients cost once is not a leak
    crowd_round(ls, api, 200, "crowd-1")
    time.sleep(2)
    before = ls.nginx.rss_total()
    connected, during, lat, call_ms = crowd_round(ls, api, 1000, "crowd-1")
    time.sleep(3)
    after = ls.nginx.rss_total()
    print("\n1,000 SSE clients: API call %.1f ms; delivery after the "
          "response (kernel receive time): median %.1f ms, p99 %.1f ms, "
          "max %.1f ms" % (call_ms, statistics.median(lat),
                           h.percentile(lat, 99), lat[-1]))
    print("nginx RSS (master + workers): before %d kB, with 1,000 clients "
          "connected %d kB, after all got the event %d kB, after all "
          "closed %d kB (%+.1f%%)" % (before, connected, during, after,
                                      (after - before) * 100.0 / before))
    print("per process after:", ls.nginx.rss())
    # a second round tells retained memory from a leak
    _, during2, _, _ = crowd_round(ls, api, 1000, "crowd-1")
    time.sleep(3)
    after2 = ls.nginx.rss_total()
    print("second round of 1,000: %d kB with them, %d kB after (%+.1f%% "
          "of before)" % (during2, after2, (after2 - before) * 100.0 /
                          before))
    assert after <= before * 1.10, \
        "nginx RSS %d kB after the clients left, %d kB before (+%.1f%%)" % (
            after, before, (after - before) * 100.0 / before)


# --------------------------------------------------------------------------
# report


def test_report(tl):
    stream = "live/report"
    api = tl.api_for(stream)
    put_offer(api, sponsored("rep-a", "ad", price="10.00"))
    put_offer(api, h.offer("rep-b", price="5.50", currency="USD"))
    ok(api.pin("rep-a"))
    time.sleep(0.6)
    ok(api.pin("rep-b"))
    time.sleep(0.3)
    ok(api.unpin())
    ok(api.pin("rep-a"))
    time.sleep(0.4)
    rep = ok(api.report())
    evs = journal_events(tl, stream)
    now = h.parse_spec_time(rep["at"])
    open_a = report_offer(rep, "rep-a")
    assert abs(open_a["seconds_pinned"] -
               pinned_seconds(evs, "rep-a", now)) < 0.01, \
        "an open pin counts up to the report's at: %r" % open_a
    ok(api.unpin())
    rep = ok(api.report())
    evs = journal_events(tl, stream)
    assert rep["stream"] == stream
    h.parse_spec_time(rep["at"])
    assert [o["offer_id"] for o in rep["offers"]] == ["rep-a", "rep-b"], rep
    a, b = report_offer(rep, "rep-a"), report_offer(rep, "rep-b")
    assert a["title"] == "Offer rep-a" and b["title"] == "Offer rep-b"
    assert a["pins"] == 2 and b["pins"] == 1, rep
    sa, sb = pinned_seconds(evs, "rep-a"), pinned_seconds(evs, "rep-b")
    assert abs(a["seconds_pinned"] - sa) < 0.002, (a, sa)
    assert abs(b["seconds_pinned"] - sb) < 0.002, (b, sb)
    for o, cur in ((a, "EUR"), (b, "USD")):
        assert o["orders"] == 0 and o["units"] == 0, o
        assert isinstance(o["revenue"], str) and float(o["revenue"]) == 0, o
        assert o["currency"] == cur
    d = rep["disclosure"]
    assert d["sponsored_pins"] == 2, d
    assert abs(d["sponsored_seconds"] - sa) < 0.002, (d, sa)
    assert abs(d["disclosed_seconds"] - d["sponsored_seconds"]) < 0.002, d
    assert d["coverage"] == 1.0, d


# --------------------------------------------------------------------------
# RTMP


def test_rtmp_carries_countdown_and_disclosure(tl):
    api = tl.api
    ensure_clear(api)
    workers = tl.nginx.workers()
    subs = [tl.subscribe(label="tl-w%d" % i, worker=w)
            for i, w in enumerate(workers)]
    try:
        for s in subs:
            wait_state_cue(s)
        first = int(subs[0].cues[0].seq)
        put_offer(api, sponsored("rt-a", "sponsored"))
        made = [ok(api.countdown(1, "RTMP one"))]
        made.append(ok(api.disclose("own")))
        made.append(ok(api.hide()))
        made.append(ok(api.pin("rt-a")))
        # the countdown ends by itself
        time.sleep(1.3)
        made.append(ok(api.countdown(60, "RTMP long", offer_id="rt-a")))
        last = made[-1]["seq"]
        evs = journal_events(tl, STREAM, after=min(
            int(s.cues[0].seq) for s in subs))
        types = {e["type"] for e in evs}
        assert {"countdown.started", "countdown.ended", "disclosure.shown",
                "disclosure.hidden", "offer.pinned"} <= types, types
        by_seq = {e["seq"]: e for e in evs}
        for s in subs:
            s.wait_cue(lambda c: c.seq == str(last), CUE_TIMEOUT,
                       "seq %d" % last)
            for c in s.cues[1:]:
                check_cue_shape(c, s)
                assert c.json == by_seq[int(c.seq)], (c.json_text,
                                                      by_seq[int(c.seq)])
            assert_every_event_once(s)
        # a late subscriber's state holds the countdown and the disclosure
        late = tl.subscribe(label="tl-late", worker=workers[0])
        st = wait_state_cue(late).json
        assert st["countdown"]["id"] == made[-1]["id"], st
        assert st["countdown"]["ends_at"] == made[-1]["data"]["ends_at"]
        assert st["disclosure"]["kind"] == "sponsored", st
        assert st["pinned"]["id"] == made[3]["id"]
        assert first <= int(late.cues[0].seq)
        late.stop()
    finally:
        for s in subs:
            s.stop()
    ensure_clear(api)


# --------------------------------------------------------------------------
# HLS


def intervals_of(events):
    return Model().apply_all(events).intervals


def check_ranges(pl, iv_before, iv_after):
    """The DATERANGEs of playlist pl against the journal read just before
    (iv_before) and just after (iv_after) the fetch: every interval that
    has not ended 0.5 s before the first segment is there, with CLASS,
    START-DATE, END-DATE (once ended) and the opening event in
    X-LIVESHOP-DATA; none that ended 1.5 s before the first segment; none
    that is not in the journal."""
    p = []
    first = pl.segments[0].pdt
    known = {iv[0]["id"]: iv for iv in iv_after}
    ended_before = {iv[0]["id"]: iv[1] for iv in iv_before}
    for dr in pl.dateranges:
        iv = known.get(dr.id)
        if iv is None:
            p.append("DATERANGE %s is no interval of the journal" % dr.id)
            continue
        op, cl = iv
        if dr.get("CLASS") != CLASS_OF[op["type"]]:
            p.append("%s: CLASS %s for a %s" % (dr.id, dr.get("CLASS"),
                                                op["type"]))
        if dr.get("X-LIVESHOP-TYPE") != op["type"]:
            p.append("%s: X-LIVESHOP-TYPE %s" % (dr.id,
                                                 dr.get("X-LIVESHOP-TYPE")))
        try:
            payload, _ = dr.event()
            if payload != op:
                p.append("%s: X-LIVESHOP-DATA %r != %r" % (dr.id, payload,
                                                           op))
        except (ValueError, TypeError) as e:
            p.append("%s: X-LIVESHOP-DATA does not decode: %s" % (dr.id, e))
        if round(dr.start * 1000) != h.parse_spec_time(op["at"]):
            p.append("%s: START-DATE %s != %s" % (dr.id, dr.get("START-DATE"),
                                                  op["at"]))
        end = dr.end
        if end is not None:
            if cl is None:
                p.append("%s: END-DATE on an open interval" % dr.id)
            elif round(end * 1000) != h.parse_spec_time(cl["at"]):
                p.append("%s: ends %s, its %s was at %s" % (
                    dr.id, dr.get("END-DATE") or dr.get("DURATION"),
                    cl["type"], cl["at"]))
        elif ended_before.get(dr.id) is not None:
            p.append("%s: no END-DATE, but %s was before the fetch" % (
                dr.id, ended_before[dr.id]["type"]))
        if cl is not None and h.parse_spec_time(cl["at"]) / 1000.0 < \
                first - 1.5:
            p.append("%s ended %.1f s before the first segment and is "
                     "still listed" % (dr.id, first -
                                       h.parse_spec_time(cl["at"]) / 1000.0))
    listed = {dr.id for dr in pl.dateranges}
    for op, cl in iv_before:
        if cl is None or h.parse_spec_time(cl["at"]) / 1000.0 > first + 0.5:
            if op["id"] not in listed:
                p.append("interval %s (%s at %s, %s) overlaps the playlist "
                         "(first segment %s) but has no DATERANGE" % (
                             op["id"], op["type"], op["at"],
                             "open" if cl is None else "ended " + cl["at"],
                             pl.segments[0].pdt_text))
    return p


def test_playlist_ranges_of_all_three_classes(tl):
    api = tl.api
    ensure_clear(api)
    hist = h.DateRangeHistory()
    fetches = [0]

    def look(label):
        iv1 = intervals_of(journal_events(tl))
        r = tl.fetch_playlist()
        iv2 = intervals_of(journal_events(tl))
        assert r.status == 200, r
        pl = h.parse_playlist(r.text)
        problems = h.check_media_playlist(pl, h.PDT_TOLERANCE)
        problems += check_ranges(pl, iv1, iv2)
        assert problems == [], "%s (fetch %d):\n%s\n%s" % (
            label, tl.fetch_no, "\n".join(problems), r.text)
        hist.add(pl, label + ": ")
        fetches[0] += 1
        return pl

    def watch(seconds, label, until=None):
        end = time.monotonic() + seconds
        pl = look(label)
        while time.monotonic() < end:
            if until is not None and until(pl):
                break
            time.sleep(0.4)
            pl = look(label)
        return pl

    # three intervals that will have begun before the first segment
    put_offer(api, h.offer("hls-a", 'Long "pin" \u00e9'))
    put_offer(api, sponsored("hls-b", "ad"))
    d1 = ok(api.disclose("sponsored", text="Dauerwerbesendung"))
    c1 = ok(api.countdown(120, "Long countdown"))
    p1 = ok(api.pin("hls-a"))
    starts = max(h.parse_spec_time(e["at"]) for e in (d1, c1, p1)) / 1000.0
    pl = watch(25, "before the window moves",
               until=lambda pl: pl.segments[0].pdt > starts + 0.5)
    assert pl.segments[0].pdt > starts, \
        "the playlist window did not move past the starts in 25 s"
    for ev in (d1, c1, p1):
        dr = find_range(pl, ev["id"])
        assert dr is not None, "no DATERANGE for %s, which began before " \
            "the first segment:\n%s" % (ev["id"], pl.text)
        assert dr.start < pl.segments[0].pdt and dr.end is None, dr.line
    # overlapping intervals of different classes; replaced ones touch
    c2 = ok(api.countdown(2, "Short countdown", offer_id="hls-b"))
    p2 = ok(api.pin("hls-b"))      # ad: replaces the stream-wide one
    d2 = state(api)["disclosure"]
    assert d2["kind"] == "ad", d2
    pl = look("after the changes")
    for old in (c1, p1, d1):
        dr = find_range(pl, old["id"])
        assert dr is not None and dr.end is not None, \
            "replaced interval %s without END-DATE" % old["id"]
    # the short countdown ends by itself, and unpins hls-b with its
    # disclosure
    ends = h.parse_spec_time(c2["data"]["ends_at"]) / 1000.0
    def ended(pl, ev):
        dr = find_range(pl, ev["id"])
        return dr is not None and dr.end is not None
    pl = watch(6, "countdown end",
               until=lambda pl: ended(pl, c2) and ended(pl, p2))
    for ev in (c2, p2):
        dr = find_range(pl, ev["id"])
        assert dr is not None and dr.end is not None, \
            "%s did not end with the countdown:\n%s" % (ev["id"], pl.text)
    assert abs(find_range(pl, c2["id"]).end - ends) < 0.0005
    assert state(api)["disclosure"] is None
    # everything ended: after the window moves on, the ranges leave
    last_end = max(h.parse_spec_time(cl["at"]) for _, cl in
                   intervals_of(journal_events(tl)) if cl) / 1000.0
    pl = watch(25, "after the window moved on",
               until=lambda pl: pl.segments[0].pdt > last_end + 2)
    for ev in (d1, c1, p1, c2, p2):
        assert find_range(pl, ev["id"]) is None, \
            "%s ended before the playlist and is still listed" % ev["id"]
    problems = hist.check()
    assert problems == [], "\n".join(problems)
    print("%d playlist fetches checked" % fetches[0])


# --------------------------------------------------------------------------
# the journal, restarts and crashes


def scripted_history(api, stream):
    """Some of everything on a stream; returns the last event."""
    put_offer(api, h.offer("j-a", stock=10, compare_at="29.99"))
    put_offer(api, sponsored("j-b", "affiliate", stock=3))
    ok(api.pin("j-a"))
    put_offer(api, h.offer("j-a", stock=7, compare_at="29.99"))
    ok(api.disclose("gifted"))
    ok(api.hide())
    ok(api.pin("j-b", duration=3600))
    return ok(api.countdown(3600, "Later", offer_id="j-b"))


def snapshot(api):
    st = state(api)
    st.pop("at")
    offers = ok(api.offers())
    rep = ok(api.report())
    rep.pop("at")
    return st, offers, rep


def report_counts(rep):
    return ([(o["offer_id"], o["pins"], o["orders"], o["units"],
              o["revenue"]) for o in rep["offers"]],
            rep["disclosure"]["sponsored_pins"],
            rep["disclosure"]["coverage"])


def check_comes_back(ls, streams, before, how):
    """After a restart: state, catalog, report and journal as before, and
    the next event takes the next seq."""
    for stream in streams:
        api = ls.api_for(stream)
        st, offers, rep = snapshot(api)
        st0, offers0, rep0 = before[stream]
        assert st == st0, "%s: state after %s differs:\n%r\n%r" % (
            stream, how, st, st0)
        assert offers == offers0, "%s: catalog after %s differs" % (stream,
                                                                    how)
        assert report_counts(rep) == report_counts(rep0), (rep, rep0)
        evs = journal_events(ls, stream)
        m = Model(stream).apply_all(evs)
        assert m.problems == [], "\n".join(m.problems)
        assert state_differences(state(api), m) == []
        msgs = replay(ls, stream, 0, st["seq"])
        assert_replay_is(msgs, evs, "%s after %s" % (stream, how))
        put_offer(api, h.offer("after-%s" % how.replace(" ", "-")))
        if state(api)["pinned"] is not None:
            ok(api.unpin())
        seq = state(api)["seq"]
        ev = ok(api.pin("after-%s" % how.replace(" ", "-")))
        assert ev["seq"] == seq + 1, \
            "%s: new pin has seq %d after %d" % (stream, ev["seq"], seq)
        evs = journal_events(ls, stream)
        assert [e["seq"] for e in evs] == list(range(1, ev["seq"] + 1))


@pytest.mark.parametrize("how", ["nginx -s stop", "kill -9",
                                 "nginx -s reload"])
def test_state_comes_back_from_the_journal(make_setup, how):
    ls = make_setup(journal=True)
    streams = [STREAM, "live/second"]
    before = {}
    for stream in streams:
        api = ls.api_for(stream)
        scripted_history(api, stream)
        before[stream] = snapshot(api)
        assert before[stream][0]["pinned"] and \
            before[stream][0]["countdown"] and \
            before[stream][0]["disclosure"]
    if how == "nginx -s stop":
        ls.nginx.ctl_stop()
        ls.nginx.start()
    elif how == "kill -9":
        ls.nginx.kill9()
        ls.nginx.start()
    else:
        ls.nginx.reload()
    check_comes_back(ls, streams, before, how)
    # the restored timers still run: a short countdown ends by itself
    api = ls.api
    ev = ok(api.countdown(1, "after %s" % how))
    evs, _ = wait_journal(ls, STREAM, lambda es: [
        e for e in es if e["seq"] > ev["seq"]] or None, 3,
        "countdown.ended after %s" % how)
    assert evs[0]["type"] == "countdown.ended"


def test_reload_ends_sse_connections_and_they_resume(make_setup):
    """A reload must not leave old workers running for their SSE clients;
    a client that reconnects with Last-Event-ID misses nothing."""
    ls = make_setup(journal=True)
    api = ls.api
    put_offer(api, h.offer("rl-1"))
    clients = [sse(ls, label="reload-%d" % i) for i in range(4)]
    try:
        for c in clients:
            c.wait_count(1, SSE_TIMEOUT)
        ev = ok(api.pin("rl-1"))
        for c in clients:
            c.wait_seq(ev["seq"], SSE_TIMEOUT)
        ls.nginx.reload(timeout=15)
        for c in clients:
            c.wait(lambda x: x.eof, 10, "the end of the stream on reload")
        un = ok(api.unpin())
        for c in clients:
            msgs = replay(ls, STREAM, c.messages[-1].id, un["seq"])
            assert_replay_is(msgs, journal_events(
                ls, after=int(c.messages[-1].id)), c.label)
    finally:
        for c in clients:
            c.close()


def test_torn_last_line_is_skipped(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    put_offer(api, h.offer("torn-1"))
    ok(api.pin("torn-1"))
    ok(api.countdown(600, "torn"))
    st0, offers0, _ = snapshot(api)
    ls.nginx.ctl_stop()
    path = ls.journal_path()
    last = st0["seq"]
    torn = ('{"seq":%d,"id":"%s:%d","type":"offer.unpinned","stream":"%s",'
            '"at":"2026-' % (last + 1, STREAM, last + 1, STREAM))
    with open(path, "ab") as f:
        f.write(torn.encode())
    with open(ls.nginx.error_log, "rb") as f:
        log_pos = len(f.read())
    ls.nginx.start()
    st, offers, _ = snapshot(api)
    assert st == st0 and offers == offers0
    with open(ls.nginx.error_log, "rb") as f:
        new_log = f.read()[log_pos:].decode("utf-8", "replace")
    named = [ln for ln in new_log.splitlines()
             if path in ln or "live/demo.journal" in ln]
    assert named, "error.log does not name %s:\n%s" % (path, new_log)
    print("error.log says:", named[0])
    ev = ok(api.unpin())
    assert ev["seq"] == last + 1
    # the new record is a line of its own: it survives another restart
    j = journal(ls)
    assert j.torn == b"", j.torn
    assert ev in j.events
    ls.nginx.kill9()
    ls.nginx.start()
    st = state(api)
    assert st["seq"] == ev["seq"] and st["pinned"] is None, st
    assert ok(api.pin("torn-1"))["seq"] == ev["seq"] + 1


@pytest.mark.parametrize("fsync,mid", [(None, False), ("on", False),
                                       (None, True)],
                         ids=["after-burst", "after-burst-fsync-on",
                              "mid-burst"])
def test_kill9_after_a_burst_loses_nothing_acknowledged(make_setup, fsync,
                                                        mid):
    """200 control calls from 4 threads, then kill -9 of every nginx
    process; mid-burst: the kill comes after 100 calls, while the threads
    still send (what was in flight may be lost, nothing acknowledged)."""
    ls = make_setup(journal=True, journal_fsync=fsync)
    api = ls.api
    kinds = [None, "ad", None, "affiliate", None, "sponsored"]
    shared = [put_offer(api, h.offer("sh-%d" % i, stock=20,
                                     **({"disclosure": k} if k else {})))
              for i, k in enumerate(kinds)]
    seq_start = state(api)["seq"]
    nthreads, per_thread = 4, 50
    results = [[] for _ in range(nthreads)]
    failures = []
    killing = threading.Event()
    calls = [0]
    lock = threading.Lock()

    def worker(t):
        rng = random.Random(1000 + t)
        mine = {}               # offer id -> [(offer, acknowledged)]
        for i in range(per_thread):
            if killing.is_set():
                break
            with lock:
                calls[0] += 1
            op = rng.choices(["pin", "unpin", "countdown", "disclose",
                              "hide", "put"],
                             [35, 15, 15, 10, 10, 15])[0]
            try:
                if op == "pin":
                    o = rng.choice(shared)["id"]
                    r = api.pin(o, duration=rng.choice([None, 3600]))
                elif op == "unpin":
                    r = api.unpin()
                elif op == "countdown":
                    r = api.countdown(3600, "c%d-%d" % (t, i),
                                      offer_id=rng.choice(
                                          [None, rng.choice(shared)["id"]]))
                elif op == "disclose":
                    r = api.disclose(rng.choice(list(EN_LABELS)),
                                     text=rng.choice([None, "T%d" % i]))
                elif op == "hide":
                    r = api.hide()
                else:
                    oid = "t%d-o%d" % (t, rng.randrange(3))
                    o = h.offer(oid, stock=rng.randrange(0, 6),
                                price="%d.%02d" % (rng.randrange(1, 99),
                                                   rng.randrange(100)))
                    mine.setdefault(oid, []).append([o, False])
                    r = api.put_offer(o)
                    if r.status in (200, 201):
                        mine[oid][-1][1] = True
                results[t].append((op, r.status, r.body))
                if r.status >= 500 or r.status in (400, 401, 403):
                    failures.append("thread %d call %d %s: %r" % (t, i, op,
                                                                  r))
            except Exception as e:  # noqa: BLE001 - reported below
                if killing.is_set():
                    break       # nginx is gone: not acknowledged
                failures.append("thread %d call %d %s: %s" % (t, i, op, e))
        results[t].append(("final-offers", mine, None))

    threads = [threading.Thread(target=worker, args=(t,))
               for t in range(nthreads)]
    for th in threads:
        th.start()
    if mid:
        h.wait_for(lambda: calls[0] >= 100, 60, 0.001, "100 calls")
        killing.set()
        killed = ls.nginx.kill9()
    for th in threads:
        th.join(timeout=120)
    if not mid:
        killing.set()
        killed = ls.nginx.kill9()
    assert not any(th.is_alive() for th in threads)
    assert not failures, "\n".join(failures[:20])
    assert all(h.proc_state(p) in (None, "Z", "X") for p in killed)

    acked = []
    put_attempts = {}
    statuses = {}
    for t in range(nthreads):
        for op, status, body in results[t]:
            if op == "final-offers":
                put_attempts.update(status)
                continue
            statuses[(op, status)] = statuses.get((op, status), 0) + 1
            if op != "put" and status == 200:
                acked.append(json.loads(body))
    print("burst: %d calls, %d events acknowledged; %r" % (
        calls[0], len(acked), sorted(statuses.items())))
    assert len(acked) >= 30, statuses
    last_acked = max(e["seq"] for e in acked)

    # the journal as nginx left it
    j = journal(ls)
    assert not j.bad, "unreadable journal lines: %r" % j.bad[:3]
    evs = j.events
    by_seq = {}
    for e in evs:
        assert e["seq"] not in by_seq, "seq %d twice in the journal" % \
            e["seq"]
        by_seq[e["seq"]] = e
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    for e in acked:
        assert by_seq.get(e["seq"]) == e, \
            "acknowledged event %s missing or different in the journal: " \
            "%r" % (e["id"], by_seq.get(e["seq"]))
    assert len({e["id"] for e in acked}) == len(acked)
    last = evs[-1]["seq"]
    assert last >= last_acked
    print("journal after kill -9: %d events (last acknowledged %d), torn "
          "tail %d bytes" % (last, last_acked, len(j.torn)))

    ls.nginx.start()
    st = state(api)
    m = Model(STREAM).apply_all(evs)
    assert m.problems == [], "\n".join(m.problems)
    diffs = state_differences(st, m)
    assert diffs == [], "state after kill -9:\n" + "\n".join(diffs)
    catalog = {o["id"]: o for o in ok(api.offers())["offers"]}
    for o in shared:
        assert catalog[o["id"]]["id"] == o["id"]
    for oid, tries in put_attempts.items():
        # the last acknowledged version, or one sent after it whose answer
        # the kill cut off
        acked_at = [i for i, (_, a) in enumerate(tries) if a]
        allowed = [o for o, _ in tries[acked_at[-1]:]] if acked_at else \
            [o for o, _ in tries] + [None]
        assert catalog.get(oid) in allowed, \
            "offer %s: %r, acknowledged %r" % (oid, catalog.get(oid),
                                               allowed[0])
    assert st["stock"] == {oid: o["stock"] for oid, o in catalog.items()
                           if "stock" in o}, st["stock"]
    msgs = replay(ls, STREAM, 0, last, timeout=20)
    assert_replay_is(msgs, evs, "Last-Event-ID: 0 after kill -9")
    msgs = replay(ls, STREAM, seq_start, last, timeout=20)
    assert_replay_is(msgs, evs[seq_start:], "Last-Event-ID: %d" % seq_start)
    assert ok(api.report())["disclosure"]["coverage"] == 1.0
    # the next event takes the next seq, and survives the next kill -9
    put_offer(api, h.offer("after-kill"))
    nxt = ok(api.pin("after-kill"))
    new = journal_events(ls, after=last)
    assert new and new[0]["seq"] == last + 1, new
    assert new[-1] == nxt
    ls.nginx.kill9()
    ls.nginx.start()
    st = state(api)
    assert st["seq"] == nxt["seq"] and st["pinned"]["id"] == nxt["id"], st


def test_journal_rotation(make_setup):
    ls = make_setup(journal=True, journal_max_size="64k")
    api = ls.api
    path = ls.journal_path()
    put_offer(api, h.offer("rot-a", stock=100))
    put_offer(api, sponsored("rot-b", "ad"))
    ka = h.KeepAlive(ls.http_port, api.token)
    pin_path = "/shop/v1/streams/%s/pin" % STREAM
    rotations = []
    first_line = None
    try:
        for i in range(6000):
            st, body = ka.request("POST", pin_path,
                                  {"offer": ("rot-a", "rot-b")[i % 2]})
            assert st == 200, body
            if i % 20 == 0:
                with open(path, "rb") as f:
                    line = f.readline()
                if line != first_line and line.startswith(b'{"checkpoint"'):
                    rotations.append(json.loads(line))
                    first_line = line
                if len(rotations) >= 2:
                    break
    finally:
        ka.close()
    assert len(rotations) >= 2, "the journal was not rotated twice"
    size1 = os.path.getsize(path + ".1")
    assert size1 >= 64 * 1024, "rotated at %d bytes" % size1
    assert size1 < 80 * 1024, "rotated at %d bytes" % size1
    cur = h.Journal(path)
    cp = cur.records[0][1]
    assert "checkpoint" in cp
    old = h.Journal(path + ".1")
    assert "checkpoint" in old.records[0][1], \
        "the second rotation's old file does not start with a checkpoint"
    # the checkpoint says what the old file left open
    m = Model()
    m.restore(old.records[0][1])
    m.apply_all(old.events)
    assert m.problems == [], m.problems
    opened = sorted(e["id"] for e in m.open.values() if e)
    assert sorted(e["id"] for e in cp["checkpoint"].get("open", [])) == \
        opened, (cp, opened)
    catalog = ok(api.offers())["offers"]
    assert sorted(cp["checkpoint"].get("offers", []),
                  key=lambda o: o["id"]) == \
        sorted(catalog, key=lambda o: o["id"]), cp
    evs_cur = cur.events
    assert evs_cur[0]["seq"] == old.events[-1]["seq"] + 1
    assert cp["checkpoint"].get("seq") in (evs_cur[0]["seq"] - 1,
                                           evs_cur[0]["seq"]), cp
    m.apply_all(evs_cur)
    assert m.problems == []
    st0, offers0, _ = snapshot(api)
    assert state_differences(state(api), m) == []
    # replay across the two files
    from_seq = old.events[0]["seq"]
    msgs = replay(ls, STREAM, from_seq, st0["seq"], timeout=20)
    assert_replay_is(msgs, old.events[1:] + evs_cur,
                     "Last-Event-ID in the rotated file")
    ls.nginx.kill9()
    ls.nginx.start()
    st, offers, _ = snapshot(api)
    assert st == st0 and offers == offers0
    ev = ok(api.unpin())
    assert ev["seq"] == st0["seq"] + 1
