"""Integration tests of ngx_live_shop_module in real nginx (2 workers) with
nginx-rtmp and an ffmpeg publisher: the HTTP API (SPEC §2, §3, §5), the
RTMP cue points (§6) and the HLS playlists (§7).

The tests of this file share one nginx (the `live` fixture) and run in
file order; each one sets up the pin state it needs."""

import json
import math
import os
import shutil
import subprocess
import time

import pytest

import liveshop_harness as h
from liveshop_harness import SECRET, STREAM

HOSTILE_TITLES = [
    'He said "hi"',
    "a\r\nb",
    "<script>alert(1)</script>",
    "\U0001F6CD\uFE0F\U0001F525 Deal",      # 🛍️🔥 Deal
    "\u00e9" * 120,                          # 120 characters, 240 bytes
    "tab\there, back\\slash, 'single' & %s %n",
]

CUE_TIMEOUT = 15        # s; a cue normally takes well under a second


# --------------------------------------------------------------------------
# helpers


def ms_floor(t):
    return int(math.floor(t * 1000))


def ms_ceil(t):
    return int(math.ceil(t * 1000))


def assert_error(r, status, field=None, code=None):
    """SPEC §2: {"error":{"code","field","message"}}."""
    assert r.status == status, "want %d, got %r" % (status, r)
    ctype = r.headers.get("Content-Type") or ""
    assert ctype.startswith("application/json"), \
        "error without a JSON Content-Type: %r (%r)" % (ctype, r)
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), \
        "not an error object: %r" % body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], err
    assert isinstance(err.get("message"), str) and err["message"], err
    if field is not None:
        assert err.get("field") == field, \
            "error names field %r, want %r: %r" % (err.get("field"), field,
                                                   err)
    if code is not None:
        assert err["code"] == code, err
    return err


def check_event(ev, type_, before, after, stream=STREAM):
    """SPEC §3 event; before/after: time.time() around the call."""
    assert isinstance(ev, dict), ev
    assert isinstance(ev.get("seq"), int) and not isinstance(ev["seq"], bool)
    assert ev["seq"] > 0
    assert ev.get("id") == "%s:%d" % (stream, ev["seq"]), ev
    assert ev.get("type") == type_, ev
    assert ev.get("stream") == stream, ev
    at = h.parse_spec_time(ev.get("at"))
    assert ms_floor(before) <= at <= ms_ceil(after), \
        "event at %s outside the call [%s, %s]" % (
            ev["at"], h.format_spec_time(ms_floor(before)),
            h.format_spec_time(ms_ceil(after)))
    assert isinstance(ev.get("data"), dict), ev
    return at


def put_offer(api, o):
    r = api.put_offer(o)
    assert r.status in (200, 201), r
    assert r.json() == o, "PUT answered another offer: %r" % r.body
    return o


def pin(api, offer_id, **kw):
    before = time.time()
    r = api.pin(offer_id, **kw)
    after = time.time()
    assert r.status == 200, r
    ev = r.json()
    check_event(ev, "offer.pinned", before, after)
    return ev, before, after


def ensure_unpinned(api):
    r = api.unpin()
    assert r.status in (200, 409), r
    assert api.state().json()["pinned"] is None


def state(api):
    r = api.state()
    assert r.status == 200, r
    return r.json()


def find_range(pl, range_id):
    for dr in pl.dateranges:
        if dr.id == range_id:
            return dr
    return None


# --------------------------------------------------------------------------
# configuration


def _nginx_t(module_so, **kw):
    d = h.make_prefix()
    try:
        conf = h.make_conf(d, 1935, 8080, module=module_so, **kw)
        return h.nginx_test_config(d, conf)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_nginx_t_accepts_the_conventions(module_so):
    rc, out = _nginx_t(module_so)
    assert rc == 0, out


@pytest.mark.parametrize("kw,directive", [
    ({"zone": "live_shop_zone liveshop 10;"}, "live_shop_zone"),
    ({"zone": "live_shop_zone liveshop;"}, "live_shop_zone"),
    ({"zone": "live_shop_zone liveshop lots;"}, "live_shop_zone"),
    ({"hls_directive": "live_shop_hls maybe;"}, "live_shop_hls"),
], ids=["zone-too-small", "zone-no-size", "zone-bad-size", "hls-maybe"])
def test_nginx_t_rejects_bad_values(module_so, kw, directive):
    rc, out = _nginx_t(module_so, **kw)
    assert rc != 0, "nginx -t accepted %r:\n%s" % (kw, out)
    emerg = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert emerg, out
    assert directive in emerg[0], \
        "the [emerg] does not name %s: %s" % (directive, emerg[0])


# --------------------------------------------------------------------------
# tokens


def test_liveshopctl_token_is_the_documented_token(live, liveshopctl):
    want = h.mint_token(SECRET, STREAM)
    p = subprocess.run([liveshopctl, "token", "--secret", SECRET, STREAM],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip().splitlines()[-1] == want
    env = dict(os.environ, LIVESHOP_SECRET=SECRET)
    p = subprocess.run([liveshopctl, "token", STREAM], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    token = p.stdout.decode().strip().splitlines()[-1]
    assert token == want
    assert live.api.offers(token=token).status == 200


def test_tokens_401_403(live):
    api = live.api
    o = put_offer(api, h.offer("auth-1"))
    seq = state(api)["seq"]
    good = h.mint_token(SECRET, STREAM)
    mac = good.rsplit(".", 1)[1]
    tampered_mac = good[:-len(mac)] + ("A" if mac[0] != "A" else "B") + \
        mac[1:]
    cases401 = {
        "missing": None,
        "not a token": "hello",
        "forged (other secret)": h.mint_token("not-the-secret", STREAM),
        "tampered signature": tampered_mac,
        "expired": h.mint_token(SECRET, STREAM, int(time.time()) - 60),
        "signed for another stream, claiming ours": (
            "ls1." + h.b64url(STREAM) + ".0." +
            h.mint_token(SECRET, "live/other").rsplit(".", 1)[1]),
        "empty": "",
    }
    calls = [("PUT", "/offers/auth-1", h.offer("auth-1", "changed")),
             ("GET", "/offers", None),
             ("POST", "/pin", {"offer": "auth-1"}),
             ("POST", "/unpin", b"")]
    for method, path, body in calls:
        for what, tok in cases401.items():
            r = api.call(method, path, body, token=tok)
            assert r.status == 401, "%s %s with %s token: %r" % (
                method, path, what, r)
            assert_error(r, 401)
        r = api.call(method, path, body, token=None,
                     headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert_error(r, 401)
        r = api.call(method, path, body,
                     token=h.mint_token(SECRET, "live/other"))
        assert r.status == 403, "%s %s with another stream's token: %r" % (
            method, path, r)
        assert_error(r, 403)
    # nothing changed
    st = state(api)
    assert st["seq"] == seq
    offers = {x["id"]: x for x in api.offers().json()["offers"]}
    assert offers["auth-1"] == o
    # the other stream's token is good for the other stream, and one with
    # an expiry ahead is good too
    r = api.call("GET", "/offers", stream="live/other",
                 token=h.mint_token(SECRET, "live/other"))
    assert r.status == 200, r
    r = api.offers(token=h.mint_token(SECRET, STREAM, int(time.time()) + 600))
    assert r.status == 200, r


# --------------------------------------------------------------------------
# offers


def test_offer_create_replace_list(live):
    api = live.api
    o = h.offer("sku-123", "Vitamin C Serum 30 ml", compare_at="29.99",
                stock=50, image="https://shop.example/i/123.jpg",
                disclosure="ad")
    r = api.put_offer(o)
    assert r.status == 201, r
    assert r.json() == o
    o2 = dict(o, price="17.50")
    r = api.put_offer(o2)
    assert r.status == 200, r
    assert r.json() == o2
    r = api.offers()
    assert r.status == 200, r
    body = r.json()
    assert isinstance(body.get("offers"), list), body
    got = [x for x in body["offers"] if x.get("id") == "sku-123"]
    assert got == [o2]


BAD_OFFERS = [
    ("price", {"price": "19,99"}),
    ("price", {"price": "1234567890"}),
    ("price", {"price": "1.23456"}),
    ("price", {"price": 19.99}),
    ("currency", {"currency": "eur"}),
    ("currency", {"currency": "EURO"}),
    ("compare_at", {"compare_at": "9.99"}),
    ("compare_at", {"compare_at": "19.99"}),
    ("stock", {"stock": -1}),
    ("stock", {"stock": 1.5}),
    ("url", {"url": "ftp://shop.example/p"}),
    ("url", {"url": "https://shop.example/" + "a" * 2048}),
    ("url", {"url": None}),
    ("image", {"image": "javascript:alert(1)"}),
    ("disclosure", {"disclosure": "bribe"}),
    ("title", {"title": ""}),
    ("title", {"title": "x" * 121}),
    ("title", {"title": None}),
]


@pytest.mark.parametrize("field,change", BAD_OFFERS,
                         ids=["%s-%d" % (f, i)
                              for i, (f, _) in enumerate(BAD_OFFERS)])
def test_invalid_offer_is_400_naming_the_field(live, field, change):
    api = live.api
    base = put_offer(api, h.offer("val-1"))
    bad = dict(base)
    for k, v in change.items():
        if v is None:
            bad.pop(k, None)
        else:
            bad[k] = v
    r = api.put_offer(bad)
    assert_error(r, 400, field=field)
    got = [x for x in api.offers().json()["offers"] if x["id"] == "val-1"]
    assert got == [base], "a refused PUT changed the offer"


def test_invalid_offer_id_is_400(live):
    api = live.api
    for bad_id in ("a" * 65, "bad%20id", "%C3%A9"):
        r = api.call("PUT", "/offers/" + bad_id, h.offer("x"))
        assert r.status == 400, (bad_id, r)
        assert_error(r, 400)
    r = api.call("PUT", "/offers/" + "a" * 64, h.offer("a" * 64))
    assert r.status in (200, 201), r


@pytest.mark.parametrize("raw", [
    b"\xff\xfe",            # not UTF-8 at all
    b"\xc3",                # truncated sequence
    b"\xc0\xaf",            # overlong "/"
    b"\xed\xa0\x80",        # UTF-16 surrogate encoded in UTF-8
    b"\xf4\x90\x80\x80",    # above U+10FFFF
], ids=["ff-fe", "truncated", "overlong", "surrogate", "above-max"])
def test_invalid_utf8_title_is_400(live, raw):
    api = live.api
    oid = "utf8-bad"
    body = ('{"id":"%s","title":"bad ' % oid).encode() + raw + \
        b' title","price":"1.00","currency":"EUR",' \
        b'"url":"https://shop.example/p/1"}'
    r = api.call("PUT", "/offers/" + oid, body,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, field="title")
    ids = [x["id"] for x in api.offers().json()["offers"]]
    assert oid not in ids


def test_not_json_is_400(live):
    r = live.api.call("PUT", "/offers/nj", b"{not json",
                      headers={"Content-Type": "application/json"})
    assert_error(r, 400)
    r = live.api.call("POST", "/pin", b"[1,2",
                      headers={"Content-Type": "application/json"})
    assert_error(r, 400)


# --------------------------------------------------------------------------
# pin, unpin, state


def test_pin_unpin_errors(live):
    api = live.api
    r = api.pin("no-such-offer")
    assert_error(r, 404, field="offer")
    ensure_unpinned(api)
    r = api.unpin()
    assert_error(r, 409, code="not_pinned")
    r = api.call("POST", "/pin", {})
    assert_error(r, 400, field="offer")


def test_unknown_path_and_wrong_method(live):
    api = live.api
    base = "http://127.0.0.1:%d" % live.http_port
    for path in ("/shop/v1/nope", "/shop/v2/streams/live/demo/state",
                 "/shop/v1/streams/live/demo/bogus"):
        r = h.http_request(base + path, headers={
            "Authorization": "Bearer " + api.token})
        assert r.status == 404, "GET %s: %r" % (path, r)
        assert_error(r, 404)
    for method, rest in (("DELETE", "/pin"), ("GET", "/pin"),
                         ("PUT", "/state"), ("POST", "/state"),
                         ("GET", "/unpin"), ("POST", "/offers")):
        r = api.call(method, rest, b"" if method != "GET" else None)
        assert r.status == 405, "%s %s: %r" % (method, rest, r)
        assert_error(r, 405)
        assert r.headers.get("Allow"), \
            "405 without Allow (RFC 9110 15.5.6): %s %s" % (method, rest)


def test_pin_answers_the_event_and_state_follows(live):
    api = live.api
    o = put_offer(api, h.offer("pin-1", stock=7, compare_at="29.99"))
    ensure_unpinned(api)
    seq0 = state(api)["seq"]
    ev, before, after = pin(api, "pin-1")
    assert ev["seq"] == seq0 + 1
    assert ev["data"]["offer"] == o
    assert ev["data"].get("until") is None
    st = state(api)
    assert st["stream"] == STREAM
    assert st["seq"] == ev["seq"]
    h.parse_spec_time(st["at"])
    assert st["pinned"]["id"] == ev["id"]
    assert st["pinned"]["since"] == ev["at"]
    assert st["pinned"]["offer"] == o
    assert st["pinned"].get("until") is None
    assert st["countdown"] is None and st["disclosure"] is None
    assert st["stock"].get("pin-1") == 7
    # pinning again replaces (the module may first emit offer.unpinned of
    # the old one: the RTMP tests check that no seq is skipped)
    o2 = put_offer(api, h.offer("pin-2"))
    ev2, _, _ = pin(api, "pin-2")
    assert ev2["seq"] > ev["seq"]
    assert ev2["data"]["offer"] == o2
    assert state(api)["pinned"]["id"] == ev2["id"]
    before = time.time()
    r = api.unpin()
    after = time.time()
    assert r.status == 200, r
    ev3 = r.json()
    check_event(ev3, "offer.unpinned", before, after)
    assert ev3["seq"] == ev2["seq"] + 1
    assert ev3["data"].get("offer_id") == "pin-2"
    st = state(api)
    assert st["pinned"] is None and st["seq"] == ev3["seq"]


def test_pin_with_duration_shows_until(live):
    api = live.api
    put_offer(api, h.offer("dur-1"))
    ev, _, _ = pin(api, "dur-1", duration=90)
    at = h.parse_spec_time(ev["at"])
    assert h.parse_spec_time(ev["data"].get("until")) == at + 90000, ev
    st = state(api)
    assert st["pinned"]["id"] == ev["id"]
    assert h.parse_spec_time(st["pinned"].get("until")) == at + 90000, st
    for bad in (0, -5, "ten"):
        assert_error(api.pin("dur-1", duration=bad), 400, field="duration")
    ensure_unpinned(api)


def test_pin_at_a_moment_in_the_past(live):
    api = live.api
    put_offer(api, h.offer("at-1"))
    ensure_unpinned(api)
    time.sleep(3.2)        # so that the stamp lies after the last event
    at = h.now_ms() - 3000
    r = api.pin("at-1", at=h.format_spec_time(at))
    assert r.status == 200, r
    ev = r.json()
    assert h.parse_spec_time(ev["at"]) == at, ev
    assert state(api)["pinned"]["since"] == ev["at"]
    ensure_unpinned(api)
    assert_error(api.pin("at-1", at=h.format_spec_time(h.now_ms() - 60000)),
                 400, field="at")
    assert_error(api.pin("at-1", at="yesterday"), 400, field="at")


def test_backdated_pin_keeps_the_playlist_valid(live):
    """A pin stamped before the previous event: whatever the module does
    with it (refuse or clamp), ranges of one CLASS must not overlap and no
    range may end before it starts."""
    api = live.api
    put_offer(api, h.offer("bd-1"))
    put_offer(api, h.offer("bd-2"))
    pin(api, "bd-1")
    r = api.pin("bd-2", at=h.format_spec_time(h.now_ms() - 5000))
    assert r.status in (200, 400), r
    if r.status == 400:
        assert_error(r, 400, field="at")
    resp = live.fetch_playlist()
    assert resp.status == 200
    pl = h.parse_playlist(resp.text)
    assert h.check_media_playlist(pl, h.PDT_TOLERANCE) == []
    ensure_unpinned(api)
    pl = h.parse_playlist(live.fetch_playlist().text)
    assert h.check_media_playlist(pl, h.PDT_TOLERANCE) == []


def test_state_is_the_same_from_every_worker(live):
    api = live.api
    put_offer(api, h.offer("st-1", stock=3))
    ev, _, _ = pin(api, "st-1")
    workers = live.nginx.workers()
    assert len(workers) == 2, workers
    url = api.url("/state")
    seen = []
    for i in range(20):
        r = live.request_in_worker(workers[i % 2], url)
        assert r.status == 200, r
        seen.append(r.json())
    for i in range(4):          # and on the kernel's choice
        seen.append(state(api))
    time.sleep(0.2)
    pids = set(live.nginx.access_pids("/state HTTP/1.0"))
    assert set(workers) <= pids, "not every worker answered: %r" % pids
    for st in seen:
        st.pop("at")
    assert all(st == seen[0] for st in seen), \
        "workers disagree:\n" + "\n".join(json.dumps(s) for s in seen)
    assert seen[0]["pinned"]["id"] == ev["id"]
    assert seen[0]["stock"]["st-1"] == 3
    # and a change made through one worker is seen by the other at once
    for w in workers:
        put_offer(api, h.offer("st-%d" % w))
        before = time.time()
        rr = live.request_in_worker(
            w, api.url("/pin"), method="POST",
            headers={"Authorization": "Bearer " + api.token,
                     "Content-Type": "application/json"},
            body=json.dumps({"offer": "st-%d" % w}).encode())
        after = time.time()
        assert rr.status == 200, rr
        pinned = rr.json()
        check_event(pinned, "offer.pinned", before, after)
        for other in workers:
            st = live.request_in_worker(other, url).json()
            assert st["pinned"]["id"] == pinned["id"], (w, other, st)
    ensure_unpinned(api)


# --------------------------------------------------------------------------
# RTMP


def check_cue_shape(cue, sub):
    assert cue.error is None, cue.error
    assert cue.values[0] == "onCuePoint"
    assert len(cue.values) == 2, cue.values
    o = cue.obj
    assert o.get("type") == "event", o
    t = o.get("time")
    assert isinstance(t, float) and math.isfinite(t) and t >= 0, o
    assert isinstance(cue.seq, str) and cue.seq.isdigit(), o
    assert isinstance(cue.json, dict), o
    assert cue.seq == str(cue.json.get("seq")), \
        "parameters.seq %r but json seq %r" % (cue.seq, cue.json.get("seq"))
    pts = cue.packet.number("pts")
    assert pts is None or pts > 0, "cue with timestamp 0 (%s)" % sub.label
    assert cue.packet.codec_type not in ("video", "audio")


def assert_every_event_once(sub):
    """After its state, a subscriber gets every event once, in seq order,
    none skipped (SPEC §3: seq grows by one per stream; §6: each event
    goes to every subscriber)."""
    assert not sub.bad_cues, (sub.label, sub.bad_cues)
    assert sub.cues and sub.cues[0].name == "state"
    first = int(sub.cues[0].seq)
    seqs = [int(c.seq) for c in sub.cues[1:]]
    assert "state" not in [c.name for c in sub.cues[1:]], sub.cues
    assert seqs == list(range(first + 1, first + 1 + len(seqs))), \
        "%s: after state seq %d got seqs %r" % (sub.label, first, seqs)
    for c in sub.cues[1:]:
        assert c.name == c.json["type"], c


def wait_state_cue(sub):
    sub.wait(lambda s: s.cues, CUE_TIMEOUT + 10, "the state cue")
    first = sub.cues[0]
    assert first.name == "state", \
        "%s: first cue is %r, not the state" % (sub.label, first)
    check_cue_shape(first, sub)
    assert first.json.get("stream") == STREAM
    return first


def test_rtmp_cue_reaches_every_subscriber(live):
    api = live.api
    ensure_unpinned(api)
    workers = live.nginx.workers()
    assert len(workers) == 2
    subs = [live.subscribe(label="w%d-%d" % (i, n), worker=w)
            for i, w in enumerate(workers) for n in range(2)]
    for s in subs:
        st = wait_state_cue(s).json
        assert st.get("pinned") is None, st
    o = put_offer(api, h.offer("rtmp-1", "Cue \"test\" <b>\u00e9</b>"))
    ev, _, _ = pin(api, "rtmp-1")
    returned = time.monotonic()
    lat = {}
    for s in subs:
        cue = s.wait_cue(lambda c: c.seq == str(ev["seq"]), CUE_TIMEOUT,
                         "offer.pinned seq %d" % ev["seq"])
        check_cue_shape(cue, s)
        assert cue.name == "offer.pinned"
        assert cue.json == ev, "%s: cue json %r != HTTP event %r" % (
            s.label, cue.json_text, ev)
        assert cue.json["data"]["offer"] == o
        assert cue.index > s.cues[0].index
        lat[s.label] = round((cue.read_at - returned) * 1000)
    print("pin -> cue per subscriber (ms):", lat)

    # late joiners, one per worker: the state comes first and holds the pin
    late = [live.subscribe(label="late-w%d" % i, worker=w)
            for i, w in enumerate(workers)]
    for s in late:
        st = wait_state_cue(s).json
        assert st["pinned"] is not None, "%s: state without the pin" % s.label
        assert st["pinned"]["id"] == ev["id"]
        assert st["pinned"]["offer"] == o
        assert st["seq"] >= ev["seq"]
        s.wait_playing(CUE_TIMEOUT)

    # an unpin reaches all six
    r = api.unpin()
    assert r.status == 200, r
    un = r.json()
    for s in subs + late:
        cue = s.wait_cue(lambda c: c.seq == str(un["seq"]), CUE_TIMEOUT,
                         "offer.unpinned seq %d" % un["seq"])
        check_cue_shape(cue, s)
        assert cue.name == "offer.unpinned" and cue.json == un
    for s in subs + late:
        assert_every_event_once(s)
        s.stop()


# --------------------------------------------------------------------------
# HLS


def strip_ours(text):
    return "".join(ln for ln in text.splitlines(keepends=True)
                   if not ln.startswith(("#EXT-X-PROGRAM-DATE-TIME:",
                                         "#EXT-X-DATERANGE:")))


def test_playlist_program_date_time(live):
    path = os.path.join(live.d, "hls", "demo.m3u8")
    for attempt in range(5):
        with open(path) as f:
            disk_before = f.read()
        r = live.fetch_playlist()
        with open(path) as f:
            disk_after = f.read()
        if disk_before == disk_after:
            break
    assert r.status == 200, r
    assert r.headers.get("Content-Type") == "application/vnd.apple.mpegurl"
    # the operator's add_header reaches the client
    assert "no-cache" in (r.headers.get_all("Cache-Control") or [])
    if r.headers.get("Content-Length") is not None:
        assert int(r.headers["Content-Length"]) == len(r.body)
    assert strip_ours(r.text) == disk_after, \
        "the module changed more than PDT and DATERANGE lines"
    pl = h.parse_playlist(r.text)
    assert len(pl.segments) >= 3
    problems = h.check_media_playlist(pl, h.PDT_TOLERANCE)
    assert problems == [], "\n".join(problems)
    for s in pl.segments:
        # SPEC §7: with "hls_fragment_naming system" the PDT is exactly
        # the time in the file name
        assert round(s.pdt * 1000) == s.uri_ms, \
            "PDT %s but %s began at %s" % (
                s.pdt_text, s.uri, h.format_spec_time(s.uri_ms))
    # the segments themselves pass through untouched
    seg = pl.segments[-1]
    r2 = h.http_request("http://127.0.0.1:%d/hls/%s" % (live.http_port,
                                                         seg.uri))
    assert r2.status == 200
    assert r2.headers.get("Content-Type") == "video/mp2t"
    with open(os.path.join(live.d, "hls", seg.uri), "rb") as f:
        assert r2.body == f.read()


def test_playlist_dateranges_with_hostile_titles(live):
    api = live.api
    ensure_unpinned(api)
    workers = live.nginx.workers()
    sub = live.subscribe(label="hostile", worker=workers[-1])
    wait_state_cue(sub)
    hist = h.DateRangeHistory()
    pins = []

    def check(resp, label):
        assert resp.status == 200, resp
        pl = h.parse_playlist(resp.text)
        problems = h.check_media_playlist(pl, h.PDT_TOLERANCE)
        assert problems == [], "%s:\n%s" % (label, "\n".join(problems))
        hist.add(pl, label + ": ")
        return pl

    for i, title in enumerate(HOSTILE_TITLES):
        o = put_offer(api, h.offer("hostile-%d" % i, title))
        ev, before, after = pin(api, o["id"])
        got = ev["data"]["offer"]["title"]
        assert got.encode("utf-8") == title.encode("utf-8"), \
            "event title %r != %r" % (got, title)
        pins.append((ev, before, after))
        dr = None
        deadline = time.monotonic() + 5
        while dr is None and time.monotonic() < deadline:
            pl = check(live.fetch_playlist(), "after pin %d" % i)
            dr = find_range(pl, ev["id"])
            if dr is None:
                time.sleep(0.2)
        assert dr is not None, "no DATERANGE %s in the playlist" % ev["id"]
        assert dr.get("CLASS") == "org.liveshop.offer", dr.line
        assert dr.get("X-LIVESHOP-TYPE") == "offer.pinned", dr.line
        start = dr.start
        assert ms_floor(before) <= round(start * 1000) <= ms_ceil(after), \
            "START-DATE %s outside the pin call" % dr.get("START-DATE")
        assert round(start * 1000) == h.parse_spec_time(ev["at"])
        payload, raw = dr.event()
        assert payload == ev, "X-LIVESHOP-DATA %r != event %r" % (raw, ev)
        t = payload["data"]["offer"]["title"]
        assert t.encode("utf-8") == title.encode("utf-8")
        if i > 0:                   # the previous pin has ended
            prev = find_range(pl, pins[i - 1][0]["id"])
            assert prev is not None, "the previous pin left the playlist"
            assert prev.end is not None, \
                "replaced pin without END-DATE: " + prev.line
            assert prev.start <= prev.end <= start + 0.0005
        # and over RTMP
        cue = sub.wait_cue(lambda c: c.seq == str(ev["seq"]), CUE_TIMEOUT,
                           "the cue of hostile title %d" % i)
        check_cue_shape(cue, sub)
        assert cue.json["data"]["offer"]["title"] == title

    catalog = {x["id"]: x for x in api.offers().json()["offers"]}
    for i, title in enumerate(HOSTILE_TITLES):
        assert catalog["hostile-%d" % i]["title"] == title

    r = api.unpin()
    assert r.status == 200, r
    sub.wait_cue(lambda c: c.seq == str(r.json()["seq"]), CUE_TIMEOUT,
                 "the last unpin")
    assert_every_event_once(sub)
    last = pins[-1][0]["id"]
    pl = check(live.fetch_playlist(), "after unpin")
    dr = find_range(pl, last)
    assert dr is not None and dr.end is not None, \
        "unpinned range has no END-DATE: %r" % (dr and dr.line)
    end = time.monotonic() + 3
    while time.monotonic() < end:           # a client refreshing
        check(live.fetch_playlist(), "refresh")
        time.sleep(0.5)
    problems = hist.check()
    assert problems == [], "\n".join(problems)
