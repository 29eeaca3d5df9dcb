"""The viewer's session, impressions and clicks (SPEC §14) from the real
player: the demo page web/index.html with web/liveshop-player.js and
hls.js in Debian's headless Chromium (player.mjs), against real nginx +
nginx-rtmp + our module + an ffmpeg test stream.

What must hold: one session id per tab (sessionStorage: a reload is the
same viewer) on every playlist and event-stream request; an impression
beacon once per pin when the card is at least half in view for 1 s (none
when it is scrolled away or shown for less), a click beacon per press of
the buy button (mouse or keyboard) that does not hold the link back; the
same as dataLayer pushes and bubbling DOM events with the documented
fields; and the server counting them in the report, and the viewer in
GET state and the player's "N watching"."""

import json
import os
import time

import liveshop_harness as h
from test_player import ok, put
from viewer_page import (Browser, SESSION_RE, artifacts, beacons, of, query,
                         web_conf, web_deps)

SERUM_TITLE = "Vitamin C Serum 30 ml"
MASK_TITLE = "Sheet mask \u201cglow\u201d & <b>more</b>"

# the page's own analytics: the dataLayer and the DOM events, recorded
RECORD_JS = """(() => {
  const stage = document.getElementById('stage');
  window.__shown = window.__shown || [];
  window.__tracked = window.__tracked || [];
  stage.addEventListener('liveshop:offer', (e) => window.__shown.push({
    id: e.detail.offer ? e.detail.offer.id : null,
    pin: window.liveshop.state().offer, wall: Date.now(),
    visible: !document.querySelector('.ls-card').hidden }));
  for (const type of ['liveshop:impression', 'liveshop:click']) {
    document.addEventListener(type, (e) => window.__tracked.push({
      type: e.type, detail: e.detail, bubbles: e.bubbles,
      target: e.target.className, wall: Date.now() }));
  }
  return true;
})()"""

TRACKED_JS = """({
  tracked: window.__tracked,
  layer: (window.dataLayer || []).filter(
    (e) => e && typeof e.event === 'string' &&
           e.event.startsWith('liveshop_')),
})"""


def tracked(br, kind):
    """(the dataLayer pushes, the DOM events) of kind so far."""
    t = br.eval(TRACKED_JS)
    return ([e for e in t["layer"] if e["event"] == "liveshop_" + kind],
            [e for e in t["tracked"] if e["type"] == "liveshop:" + kind])


def wait_card(br, pin_id, timeout):
    return br.wait("(window.__shown || []).find(s => s.pin === %s && "
                   "s.visible)" % json.dumps(pin_id), timeout,
                   "the card of pin %s" % pin_id)


def final_tally(ls, show_id):
    """The show's figures the journal got as it ended (the full audience
    line of that show after its show.ended), or None."""
    ended = False
    with open(ls.journal_path(), encoding="utf-8") as f:
        for line in f:
            j = json.loads(line)
            if j.get("type") == "show.ended" and \
                    j["data"].get("show_id") == show_id:
                ended = True
            a = j.get("audience")
            if ended and a and a.get("show") == show_id and "offers" in a:
                return a
    return None


def test_session_impressions_and_clicks(make_setup):
    deps = web_deps()
    ls = make_setup(publish=True, journal=True, extra_server=web_conf(deps))
    api = ls.api
    base = "http://127.0.0.1:%d" % ls.http_port
    art = artifacts("e2e_beacons")
    serum = h.offer("serum-30", SERUM_TITLE, price="19.99", currency="EUR",
                    url="https://shop.example/p/serum?ref=live",
                    image=base + "/img/serum.svg")
    mask = h.offer("mask-1", MASK_TITLE, price="4.50", currency="EUR",
                   url="https://shop.example/p/mask",
                   image=base + "/img/mask.svg")
    put(api, serum)
    put(api, mask)

    def fields(offer):
        """What a dataLayer push and a DOM event must carry."""
        return {"stream": h.STREAM, "offer_id": offer["id"],
                "title": offer["title"], "price": offer["price"],
                "currency": offer["currency"], "show_id": show_id}

    br = Browser(deps, os.path.join(art, "browser.log"))
    try:
        br.call(cmd="open", url=base + "/index.html", width=1280,
                height=800, timeout=60)
        br.eval(RECORD_JS)
        br.wait("window.liveshop && window.liveshop.now() !== null && "
                "document.querySelector('video').currentTime > 0.5",
                30, "the video to play with program date times")

        # -- one session, on the playlist and the event stream ----------
        session = br.eval("window.liveshop.session")
        assert SESSION_RE.match(session), session
        assert br.eval("sessionStorage.getItem('liveshop-session')") == \
            session
        time.sleep(2.5)                       # a few playlist reloads
        playlists = [r for r in br.call(cmd="requests", match="/hls/")
                     if ".m3u8" in r["url"]]
        assert len(playlists) >= 2, playlists   # hls.js reloads it
        assert all(query(r["url"]).get("session") == [session]
                   for r in playlists), playlists
        sse = br.call(cmd="requests", match="/events")
        assert sse and all(query(r["url"]).get("session") == [session]
                           for r in sse), sse
        # segments are not the viewer's business: no session there
        assert not [r for r in br.call(cmd="requests", match=".ts")
                    if "session=" in r["url"]]
        print("session %s on %d playlist and %d event-stream requests"
              % (session, len(playlists), len(sse)))

        state = ok(api.state())
        assert state["show"], state           # publishing started one
        show_id = state["show"]["show"]["id"]
        assert br.wait("window.liveshop.state().show && "
                       "window.liveshop.state().show.id", 10,
                       "the show on air in the player") == show_id

        # -- an impression: half in view for 1 s, once per pin ----------
        pin1 = ok(api.pin("serum-30"))["id"]
        shown = wait_card(br, pin1, 25)
        imp = br.wait("window.__tracked.find(t => t.type === "
                      "'liveshop:impression')", 5, "the impression")
        seen_ms = imp["wall"] - shown["wall"]
        print("card -> impression: %d ms" % seen_ms)
        assert seen_ms >= 950, (shown, imp)
        time.sleep(2.5)                       # no second one for this pin
        sent = of(beacons(br), type="impression")
        assert [(b["offer"], b["session"]) for b in sent] == \
            [("serum-30", session)], sent
        layer, events = tracked(br, "impression")
        assert [e["liveshop"] for e in layer] == [fields(serum)], layer
        assert [e["detail"] for e in events] == [fields(serum)], events
        assert events[0]["bubbles"] and events[0]["target"] == "ls-overlay"
        # the POST: JSON, fire-and-forget (keepalive), never retried
        post = [r for r in br.call(cmd="requests", match="/beacon")][0]
        assert json.loads(post["body"]) == {
            "type": "impression", "offer": "serum-30", "session": session}

        # -- scrolled out of view: none, until it is back in view --------
        br.eval("document.body.style.paddingBottom = '3000px'; "
                "window.scrollTo(0, 2500); true")
        assert br.eval("document.querySelector('.ls-card')"
                       ".getBoundingClientRect().bottom") < 0
        pin2 = ok(api.pin("mask-1"))["id"]
        wait_card(br, pin2, 25)
        time.sleep(2.5)
        assert not of(beacons(br), type="impression", offer="mask-1")
        assert len(tracked(br, "impression")[1]) == 1
        br.eval("window.scrollTo(0, 0); true")
        back = time.monotonic()
        br.wait("window.__tracked.filter(t => t.type === "
                "'liveshop:impression').length === 2", 5,
                "the mask's impression once in view")
        assert time.monotonic() - back >= 0.9
        assert tracked(br, "impression")[1][-1]["detail"] == fields(mask)

        # -- shown for less than 1 s: none --------------------------------
        pin3 = ok(api.pin("serum-30"))["id"]
        time.sleep(0.45)
        ok(api.unpin())
        wait_card(br, pin3, 25)
        gone = br.wait("(() => { const s = window.__shown; const i = "
                       "s.findIndex(x => x.pin === %s); return i >= 0 && "
                       "s.slice(i + 1).find(x => x.pin !== %s); })()" % (
                           json.dumps(pin3), json.dumps(pin3)), 10,
                       "the short pin's card to go")
        short = gone["wall"] - wait_card(br, pin3, 1)["wall"]
        print("short pin on screen for %d ms" % short)
        assert short < 900, short
        time.sleep(1.5)
        assert len(of(beacons(br), type="impression", offer="serum-30")) == 1

        # -- pinned again: a new pin, a new impression --------------------
        pin4 = ok(api.pin("serum-30"))["id"]
        wait_card(br, pin4, 25)
        br.wait("window.__tracked.filter(t => t.type === "
                "'liveshop:impression').length === 3", 5,
                "the impression of the second serum pin")
        time.sleep(1.5)
        sent = of(beacons(br), type="impression")
        assert [b["offer"] for b in sent] == \
            ["serum-30", "mask-1", "serum-30"], sent

        # -- clicks: one per press, keyboard and mouse; the link goes -----
        href = br.eval("document.querySelector('.ls-buy').href")
        for _ in range(15):
            if "ls-buy" in (br.call(cmd="press", key="Tab") or ""):
                break
        else:
            raise AssertionError("Tab never reaches the buy button")
        br.call(cmd="press", key="Enter")
        br.wait("window.__tracked.filter(t => t.type === "
                "'liveshop:click').length === 1", 5, "the keyboard click")
        br.call(cmd="click", selector=".ls-buy")
        br.wait("window.__tracked.filter(t => t.type === "
                "'liveshop:click').length === 2", 5, "the mouse click")
        clicks = h.wait_for(lambda: len(of(beacons(br), type="click")) >= 2
                            and of(beacons(br), type="click"), 5,
                            what="two click beacons")
        time.sleep(1)
        clicks = of(beacons(br), type="click")
        assert [(b["offer"], b["session"]) for b in clicks] == \
            [("serum-30", session)] * 2, clicks
        layer, events = tracked(br, "click")
        assert [e["liveshop"] for e in layer] == [fields(serum)] * 2, layer
        assert [e["detail"] for e in events] == [fields(serum)] * 2, events
        popups = h.wait_for(lambda: len(br.call(cmd="popups")) >= 2 and
                            br.call(cmd="popups"), 10,
                            what="the shop opened twice")
        assert popups == [href, href], (popups, href)
        assert "ls_stream=live%2Fdemo" in href

        # -- a reload: the same viewer, no impression again ---------------
        impressions = len(of(beacons(br), type="impression"))
        br.eval("setTimeout(() => location.reload(), 0); true")
        time.sleep(1)
        br.wait("window.liveshop && window.liveshop.now() !== null && "
                "document.querySelector('video').currentTime > 0.5 && "
                "!document.querySelector('.ls-card').hidden",
                40, "the card again after the reload")
        assert br.eval("window.liveshop.session") == session
        time.sleep(2.5)
        playlists = [r for r in br.call(cmd="requests", match="/hls/")
                     if ".m3u8" in r["url"]]
        assert all(query(r["url"]).get("session") == [session]
                   for r in playlists)
        assert len(of(beacons(br), type="impression")) == impressions

        # -- the server counted them ---------------------------------------
        sent = beacons(br)
        assert all(b["status"] == 204 for b in sent), sent
        # the viewer: one session on playlist and events is one (the
        # harness's own playlist fetches before the page came count for
        # 30 s)
        h.wait_for(lambda: ok(api.state())["viewers"] == 1, 40,
                   what="GET state to count one viewer")
        # the player follows: the state, then an audience message at most
        # every 5 s when the number changed
        br.wait("(() => { const v = document.querySelector('.ls-viewers');"
                " return !v.hidden && v.textContent === '1 watching'; })()",
                20, "1 watching")
        assert br.eval("document.querySelector('.ls-viewers')"
                       ".getAttribute('aria-live')") == "off"
        # the show's figures go into the journal every minute and as it
        # ends: end it now; its last tally has what the page sent
        ok(api.call("DELETE", "/show"))
        want = {"serum-30": (2, 2), "mask-1": (1, 0)}
        tally = h.wait_for(lambda: final_tally(ls, show_id), 10,
                           what="the show's last tally in the journal")
        assert (tally["impressions"], tally["clicks"]) == (3, 2), tally
        assert {o["offer_id"]: (o["impressions"], o["clicks"])
                for o in tally["offers"]} == want, tally
        # ... and the report, which reads those tallies (docs/kpis.md)

        def counted():
            rep = ok(api.report())
            got = {o["offer_id"]: (o.get("impressions"), o.get("clicks"))
                   for o in rep["offers"] if o["offer_id"] in want}
            return got if got == want else None
        try:
            h.wait_for(counted, 75, interval=1, what="the report")
        except TimeoutError:
            raise AssertionError("the report counts %r, the page sent %r" % (
                {o["offer_id"]: (o.get("impressions"), o.get("clicks"))
                 for o in ok(api.report())["offers"]}, want))
        # the show is over, the video still plays: no lobby over it
        assert br.eval("document.querySelector('.ls-lobby').hidden")

        log = br.call(cmd="log")
        assert log["dialogs"] == [] and not log["errors"], log
        br.call(cmd="screenshot", path=os.path.join(art, "beacons.png"))
    except BaseException:
        try:
            br.call(cmd="screenshot", path=os.path.join(art, "failure.png"))
            with open(os.path.join(art, "failure.json"), "w") as f:
                json.dump({"snapshot": br.snapshot(),
                           "beacons": beacons(br),
                           "tracked": br.eval(TRACKED_JS),
                           "log": br.call(cmd="log")}, f, indent=1)
        except Exception:  # noqa: BLE001 - the first error matters
            pass
        raise
    finally:
        br.close()
