"""Audience (SPEC §14): viewers counted over RTMP, HLS and SSE (a player
sending its session counted once across HLS and SSE), the SSE "audience"
message, beacons and their limits, the tallies in the journal, and no
address, user agent or session stored anywhere (the zone, read out of a
worker's memory, the journal, liveshop's log lines).

Every client here comes from its own loopback address (127.13.37.x), so
that the address is a string a search can find if it was kept."""

import json
import os
import re
import socket
import time

import liveshop_harness as h

STREAM = h.STREAM
ADDR = "127.13.37.%d"
UA = "LiveshopTestAgent/1.0 (unique-ua-7f3a)"
SESSIONS = ["sess-%02d-Zq9xK3" % i for i in range(8)]
TIMEOUT = 30


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def connect(ls, host_no):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ADDR % host_no, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", ls.http_port))
    return s


def fetch_playlist(ls, host_no, session=None):
    url = ls.playlist_url + ("?session=" + session if session else "")
    s = connect(ls, host_no)
    try:
        return h.raw_http(s, url, headers={"User-Agent": UA})
    finally:
        s.close()


def sse_client(ls, host_no, session=None, label="sse"):
    path = ls.api.events_path()
    if session:
        path += ("&" if "?" in path else "?") + "session=" + session
    return h.SseClient(ls.http_port, path, sock=connect(ls, host_no),
                       headers={"User-Agent": UA}, label=label).start()


def beacon(ls, body, host_no=1, stream=None):
    s = connect(ls, host_no)
    try:
        return h.raw_http(s, ls.api.url("/beacon", stream), "POST",
                          headers={"Content-Type": "application/json"},
                          body=json.dumps(body).encode())
    finally:
        s.close()


def viewers(ls):
    return ok(ls.api.state())["viewers"]


def wait_viewers(ls, n, timeout=TIMEOUT):
    return h.wait_for(lambda: viewers(ls) == n, timeout, 0.2,
                      "%d viewers (now %s)" % (n, viewers(ls)))


def audience_lines(ls, stream=STREAM):
    out = []
    with open(ls.journal_path(stream)) as f:
        for line in f:
            o = json.loads(line)
            if "audience" in o:
                out.append(o)
    return out


def zone_bytes(ls):
    """The live_shop_zone as a worker maps it: the shared mapping of the
    zone's size, read through /proc/PID/mem."""
    pid = ls.nginx.workers()[0]
    size = 16 * 1024 * 1024
    out = b""
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb") as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) rw-s ", line)
            if not m:
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            if hi - lo != size:
                continue
            mem.seek(lo)
            out += mem.read(hi - lo)
    assert out, "no shared mapping of %d bytes in worker %d" % (size, pid)
    return out


def publish(ls):
    """Starts the publisher and waits for its playlist on disk: a request
    for it would be a viewer."""
    ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")

    def ready():
        try:
            with open(path) as f:
                return f.read().count("#EXTINF") >= 2
        except OSError:
            return False
    h.wait_for(ready, 40, 0.2, "the playlist on disk")


def test_viewers_across_rtmp_hls_and_sse(make_setup):
    ls = make_setup(publish=False, journal=True)
    publish(ls)
    ok(ls.api.put_offer(h.offer("sku-1")), 201)
    ok(ls.api.pin("sku-1"))
    clients = []
    try:
        # 5 players: one session each over HLS and SSE -> 5 viewers
        for i in range(5):
            r = fetch_playlist(ls, 10 + i, SESSIONS[i])
            assert r.status == 200, r
            clients.append(sse_client(ls, 10 + i, SESSIONS[i], "p%d" % i))
        # 2 more HLS players with sessions, 1 without (address + agent)
        for i in (5, 6):
            assert fetch_playlist(ls, 20 + i, SESSIONS[i]).status == 200
        assert fetch_playlist(ls, 30).status == 200
        assert fetch_playlist(ls, 30).status == 200   # the same viewer
        # 1 SSE client without a session: its connection
        clients.append(sse_client(ls, 40, None, "bare"))
        # the host's tools (dashboard, OBS) are no audience
        path = ls.api.events_path()
        clients.append(h.SseClient(
            ls.http_port, path + ("&" if "?" in path else "?") +
            "viewer=no", sock=connect(ls, 41), label="host").start())
        # 2 RTMP players
        subs = [ls.subscribe("rtmp%d" % i) for i in range(2)]
        for s in subs:
            s.wait_playing(30)
        want = 5 + 2 + 1 + 1 + 2
        wait_viewers(ls, want)

        # SSE: an unnumbered audience message with the count
        msg = clients[0].wait(lambda c: next(
            (m for m in reversed(c.stream.audience)
             if m.json()["viewers"] == want), None), TIMEOUT,
            "audience message of %d" % want)
        assert msg.raw.startswith("event: audience\n") and "id:" not in \
            msg.raw, msg.raw

        # the journal has samples of the viewers, and a full tally
        h.wait_for(lambda: any(a["audience"]["viewers"] == want
                               for a in audience_lines(ls)), TIMEOUT, 0.5,
                   "a sample of %d viewers in the journal" % want)

        # nothing personal anywhere: no address, agent or session
        zone = zone_bytes(ls)
        needles = [ADDR % i for i in (10, 25, 30, 40)] + [UA] + SESSIONS
        for needle in needles:
            assert needle.encode() not in zone, "%r is in the zone" % needle
        with open(ls.journal_path()) as f:
            journal = f.read()
        with open(ls.nginx.error_log) as f:
            ours = [ln for ln in f if "live_shop" in ln]
        for needle in needles:
            assert needle not in journal, "%r is in the journal" % needle
            assert not [ln for ln in ours if needle in ln], \
                "%r is in liveshop's log lines" % needle
    finally:
        for c in clients:
            c.close()

    # gone clients stop counting after the TTL (30 s): RTMP players stay
    for s in subs:
        s.stop()
    wait_viewers(ls, 0, 60)


def test_beacons_and_their_limits(make_setup):
    ls = make_setup(publish=False, journal=True)
    other = ls.api_for("live/other")
    for api in (ls.api, other):
        ok(api.put_offer(h.offer("sku-1")), 201)
    good = {"type": "impression", "offer": "sku-1", "session": SESSIONS[0]}
    r = beacon(ls, good)
    assert r.status == 204, r
    assert beacon(ls, dict(good, type="click")).status == 204

    for body, field in ((dict(good, type="view"), "type"),
                        (dict(good, offer="bad id!"), "offer"),
                        (dict(good, session="short"), "session"),
                        ({"type": "click", "offer": "sku-1"}, "session"),
                        (dict(good, extra=1), "extra")):
        r = beacon(ls, body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["field"] == field, r.json()
    r = beacon(ls, dict(good, offer="sku-404"))
    assert r.status == 404 and r.json()["error"]["field"] == "offer", r
    big = dict(good, session="x" * 2000)
    assert beacon(ls, big).status == 413

    # a flood from one session gets 429 (with Retry-After) ...
    flood = dict(good, session=SESSIONS[1])
    codes = [beacon(ls, flood, host_no=50).status for _ in range(60)]
    assert codes.count(204) >= 20 and codes[-1] == 429, codes
    r = beacon(ls, flood, host_no=50)
    assert r.status == 429 and r.headers["Retry-After"] == "1", r
    # ... and changes no other stream: its beacons still count
    r = beacon(ls, flood, host_no=50, stream="live/other")
    assert r.status == 204, r
    # another session from another address is not limited either
    assert beacon(ls, dict(good, session=SESSIONS[2]), host_no=51).status \
        == 204
