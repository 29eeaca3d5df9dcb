"""A crowd (SPEC §14, issue 14): 40 headless Chromium players of the demo
page (each its own browser context, so its own session id, on HLS and SSE
both), 2 RTMP players and 3 bare SSE clients watch a show; the state's
viewers, the SSE audience message and the show's peak and unique viewers
say 45 (unique within the sketch's error), and no session id of theirs is
in the zone, the journal or liveshop's log lines."""

import datetime
import os
import time

import liveshop_harness as h
from test_audience import publish, zone_bytes
from test_player import Browser
from viewer_page import artifacts, web_conf, web_deps

PLAYERS = 40
RTMP = 2
BARE_SSE = 3
# HyperLogLog with 2048 registers: 1.04/sqrt(2048) = 2.3 %; 3 sigma
SKETCH = 3 * 1.04 / 2048 ** 0.5


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def viewers(ls):
    return ok(ls.api.state())["viewers"]


def test_forty_players_rtmp_and_sse_count_as_they_should(make_setup):
    deps = web_deps()
    ls = make_setup(journal=True, extra_server=web_conf(deps))
    art = artifacts("e2e_crowd")
    api = ls.api
    ok(api.put_offer(h.offer("sku-1")), 201)
    start = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(minutes=5)
    ok(api.call("PUT", "/shows/crowd", {
        "title": "Crowd", "starts_at": start.strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "duration": 3600}), 201)
    publish(ls)
    h.wait_for(lambda: ok(api.state())["show"], 30, 0.2, "the show on air")
    ok(api.pin("sku-1"))

    crowd = Browser(deps, os.path.join(art, "crowd.log"), "crowd.mjs")
    clients = []
    try:
        url = "http://127.0.0.1:%d/index.html?stream=%s" % (
            ls.http_port, h.STREAM)
        t0 = time.monotonic()
        assert crowd.call(cmd="open", url=url, n=PLAYERS, timeout=480) == \
            PLAYERS
        print("\ncrowd: %d pages open in %.1f s, %d viewers" % (
            PLAYERS, time.monotonic() - t0, viewers(ls)))
        subs = [ls.subscribe("rtmp%d" % i) for i in range(RTMP)]
        for s in subs:
            s.wait_playing(60)
        for i in range(BARE_SSE):
            clients.append(h.SseClient(ls.http_port, api.events_path(),
                                       label="bare%d" % i).start())
        want = PLAYERS + RTMP + BARE_SSE
        h.wait_for(lambda: viewers(ls) == want, 180, 0.5,
                   "%d viewers (now %s)" % (want, viewers(ls)))
        sessions = crowd.call(cmd="sessions")
        assert len(set(sessions)) == PLAYERS and None not in sessions
        playing = crowd.call(cmd="playing", timeout=60)
        print("\ncrowd: %d of %d pages play, %d viewers counted"
              % (playing, PLAYERS, viewers(ls)))
        msg = clients[0].wait(lambda c: next(
            (m for m in c.stream.audience if m.json()["viewers"] == want),
            None), 30, "an audience message of %d" % want)
        assert msg.id is None

        # nothing of theirs kept: their session ids are nowhere
        zone = zone_bytes(ls)
        with open(ls.journal_path()) as f:
            journal = f.read()
        with open(ls.nginx.error_log) as f:
            ours = "".join(ln for ln in f if "live_shop" in ln)
        for sid in sessions:
            assert sid.encode() not in zone, "a session id in the zone"
            assert sid not in journal and sid not in ours, sid
        assert crowd.call(cmd="errors") == []
    finally:
        crowd.close()
        for c in clients:
            c.close()

    show = ok(api.call("DELETE", "/show"))["data"]["show_id"]

    def figures():
        r = api.call("GET", "/report?show=" + show)
        rep = r.json() if r.status == 200 else None
        return rep if rep and rep["show"]["viewers_peak"] == want else None
    rep = h.wait_for(figures, 30, 0.5, "the show's figures")["show"]
    print("crowd: peak %d, unique %d (want %d)" % (
        rep["viewers_peak"], rep["viewers_unique"], want))
    assert abs(rep["viewers_unique"] - want) <= max(1, SKETCH * want), rep
    assert rep["watch_seconds"] > 0, rep
