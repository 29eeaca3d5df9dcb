"""The lobby before a show (SPEC §14) in the real player: the demo page
web/index.html with web/liveshop-player.js and hls.js in Debian's
headless Chromium (player.mjs), against real nginx + nginx-rtmp + our
module, the stream not published until the test starts ffmpeg.

What a viewer must get: with nothing scheduled and no stream, a short
offline message; with a show scheduled, its title, host, start, a
countdown (seen: ticking; heard: a polite live region that changes at
most once a minute; without seconds for reduced motion), the teased
offers and an "Add to calendar" link whose .ics answers text/calendar;
GET shows at most once a minute; the lobby reachable with the keyboard,
named for assistive technology and at least 4.5:1 in contrast, also on a
phone. When the encoder publishes, show.started swaps the lobby for the
playing video, says "The show has started" politely and leaves the
viewer's focus where it was; when the encoder goes and the show ends,
the lobby comes back."""

import datetime
import json
import os
import re
import time

import liveshop_harness as h
from test_player import ok, put
from viewer_page import (Browser, artifacts, contrast, query, web_conf,
                         web_deps)

SHOW_TITLE = "Launch night <b>live</b> & \u201cfriends\u201d"
GRACE_S = 2     # live_shop_show_grace: the encoder gone this long ends it

LOBBY_JS = """(() => {
  const q = (s) => document.querySelector(s);
  const lobby = q('.ls-lobby');
  const vis = (e) => !!e && e.checkVisibility();
  const text = (s) => vis(q(s)) ? q(s).textContent : null;
  return {
    shown: vis(lobby),
    offline: lobby.classList.contains('ls-lobby-offline'),
    labelledBy: lobby.getAttribute('aria-labelledby'),
    title: text('.ls-lobby-title'),
    titleChildren: q('.ls-lobby-title').children.length,
    host: text('.ls-lobby-host'),
    text: text('.ls-lobby-text'),
    date: text('.ls-lobby-date'),
    datetime: q('.ls-lobby-date').getAttribute('datetime'),
    seen: text('.ls-lobby-ticking'),
    seenHidden: q('.ls-lobby-seen').getAttribute('aria-hidden'),
    said: q('.ls-lobby-said').textContent,
    saidLive: q('.ls-lobby-said').getAttribute('aria-live'),
    offers: [...lobby.querySelectorAll('.ls-lobby-offer')].filter(vis)
      .map((li) => ({
        title: li.querySelector('.ls-lobby-offer-title').textContent,
        price: li.querySelector('.ls-lobby-offer-price').textContent,
        alt: li.querySelector('img') &&
             li.querySelector('img').getAttribute('alt'),
        src: li.querySelector('img') &&
             li.querySelector('img').getAttribute('src') })),
    calendar: vis(q('.ls-lobby-calendar')) ? {
      href: q('.ls-lobby-calendar').href,
      download: q('.ls-lobby-calendar').getAttribute('download'),
      text: q('.ls-lobby-calendar').textContent } : null,
    videoShown: vis(q('video')),
    announce: q('.ls-announce').textContent,
    announceLive: q('.ls-announce').getAttribute('aria-live'),
    focus: document.activeElement ? (document.activeElement.id ||
                                     document.activeElement.className) : null,
  };
})()"""

# every change of the spoken countdown, with its time
SAID_JS = """(() => {
  const said = document.querySelector('.ls-lobby-said');
  window.__said = [{ text: said.textContent, wall: Date.now() }];
  new MutationObserver(() => window.__said.push(
    { text: said.textContent, wall: Date.now() }))
    .observe(said, { childList: true, characterData: true, subtree: true });
  return true;
})()"""


def seconds(clock):
    """mm:ss or h:mm:ss -> seconds."""
    s = 0
    for part in clock.split(":"):
        s = s * 60 + int(part)
    return s


def iso(ms):
    return h.format_spec_time(ms)


def test_lobby_until_the_show_starts(make_setup):
    deps = web_deps()
    ls = make_setup(publish=False, journal=True, extra_server=web_conf(deps),
                    extra_http="live_shop_show_grace %ds;" % GRACE_S)
    api = ls.api
    base = "http://127.0.0.1:%d" % ls.http_port
    art = artifacts("e2e_lobby")
    serum = h.offer("serum-30", "Vitamin C Serum 30 ml", price="19.99",
                    image=base + "/img/serum.svg")
    mask = h.offer("mask-1", "Sheet mask", price="4.50",
                   image=base + "/img/mask.svg")
    put(api, serum)
    put(api, mask)

    br = Browser(deps, os.path.join(art, "browser.log"))
    try:
        # -- nothing scheduled, nothing published: offline ---------------
        br.call(cmd="open", url=base + "/index.html", width=1280,
                height=800, timeout=60)
        br.wait("document.querySelector('.ls-lobby').checkVisibility()",
                15, "the lobby")
        snap = br.eval(LOBBY_JS)
        assert snap["offline"] and snap["title"] == \
            "This stream is offline", snap
        assert snap["text"] and snap["calendar"] is None and \
            snap["seen"] is None and not snap["offers"], snap
        assert not snap["videoShown"], snap
        br.call(cmd="screenshot", path=os.path.join(art, "offline.png"))

        # -- a show in 10 minutes ------------------------------------------
        start_ms = (h.now_ms() // 1000 + 600) * 1000
        r = api.call("PUT", "/shows/launch", {
            "title": SHOW_TITLE, "host": "Ben", "starts_at": iso(start_ms),
            "duration": 3600, "offers": ["serum-30", "mask-1", "gone-1"]})
        assert r.status == 201, r
        br.eval("setTimeout(() => location.reload(), 0); true")
        time.sleep(1)
        reloaded = time.monotonic()
        snap = br.wait("(() => { const e = document.querySelector("
                       "'.ls-lobby'); return e && e.checkVisibility() && "
                       "!e.classList.contains('ls-lobby-offline') && "
                       "document.querySelector('.ls-lobby-ticking')"
                       ".textContent; })()", 15, "the lobby of the show")
        br.eval(SAID_JS)
        snap = br.eval(LOBBY_JS)
        assert snap["title"] == SHOW_TITLE and snap["titleChildren"] == 0, \
            snap                                   # markup stays text
        assert snap["labelledBy"] and br.eval(
            "document.getElementById(%s).textContent" %
            json.dumps(snap["labelledBy"])) == SHOW_TITLE
        assert snap["host"] == "with Ben", snap
        assert h.parse_iso(snap["datetime"]) * 1000 == start_ms, snap
        assert snap["date"], snap
        m = re.match(r"^Starts in (\d+:\d\d(:\d\d)?)$", snap["seen"])
        assert m and 540 <= seconds(m.group(1)) <= 600, snap
        assert snap["seenHidden"] == "true", snap
        assert snap["said"] in ("Starts in 10 minutes",
                                "Starts in 9 minutes"), snap
        assert snap["saidLive"] == "polite", snap
        assert not snap["videoShown"], snap
        # the teased offers: those of the show that the catalog holds
        assert [o["title"] for o in snap["offers"]] == [
            "Vitamin C Serum 30 ml", "Sheet mask"], snap
        for o, src in zip(snap["offers"], ("serum", "mask")):
            assert o["alt"] == o["title"], o
            assert o["src"] == base + "/img/%s.svg" % src, o
        assert "19.99" in snap["offers"][0]["price"] and \
            "\u20ac" in snap["offers"][0]["price"], snap
        # "Add to calendar": the show's .ics, downloaded
        cal = snap["calendar"]
        assert cal["href"] == base + \
            "/shop/v1/streams/live/demo/shows/launch.ics", cal
        assert cal["download"] == "launch.ics" and \
            "calendar" in cal["text"].lower(), cal
        ics = br.eval("fetch(%s).then(async (r) => ({status: r.status, "
                      "type: r.headers.get('content-type'), "
                      "body: await r.text()}))" % json.dumps(cal["href"]))
        assert ics["status"] == 200, ics
        assert ics["type"].startswith("text/calendar"), ics
        assert ics["body"].startswith("BEGIN:VCALENDAR") and \
            "BEGIN:VEVENT" in ics["body"], ics
        br.call(cmd="screenshot", path=os.path.join(art, "lobby.png"))

        # -- seen ticks, heard does not (at most once a minute) -----------
        time.sleep(2.2)
        later = br.eval(LOBBY_JS)
        m2 = re.match(r"^Starts in (\d+:\d\d(:\d\d)?)$", later["seen"])
        assert m2 and 1 <= seconds(m.group(1)) - seconds(m2.group(1)) <= 4, \
            (snap["seen"], later["seen"])

        # -- assistive technology: names, roles, contrast, keyboard -------
        tree = br.call(cmd="aria", selector=".ls-lobby")
        with open(os.path.join(art, "lobby-aria.yml"), "w") as f:
            f.write(tree)
        name = json.dumps(SHOW_TITLE, ensure_ascii=False)[1:-1]
        for want in ('- region "%s"' % name,
                     '- heading "%s" [level=2]' % name,
                     '- heading "In this show" [level=3]',
                     '- list "In this show"',
                     '- img "Vitamin C Serum 30 ml"', '- img "Sheet mask"',
                     '- link "Add to calendar (.ics)"',
                     later["said"]):
            assert want in tree, (want, tree)
        # the ticking digits are not read out
        assert not re.search(r"Starts in \d+:\d\d", tree), tree
        worst = contrast(br, ".ls-lobby")
        assert worst["checked"] >= 8 and worst["failures"] == [], worst
        assert br.eval("document.querySelector('.ls-lobby-seen')"
                       ".querySelectorAll('a, button, [tabindex]')"
                       ".length") == 0
        br.eval("document.activeElement && document.activeElement.blur(); "
                "true")
        path = []
        for _ in range(12):
            br.call(cmd="press", key="Tab")
            path.append(br.eval("document.activeElement.tagName + '.' + "
                                "document.activeElement.className"))
            if "ls-lobby-calendar" in path[-1]:
                break
        else:
            raise AssertionError("Tab never reaches the calendar link: %r"
                                 % path)
        # the hidden video and its controls are not in the way
        assert not [p for p in path if p.startswith("VIDEO")], path
        ring = br.eval("(() => { const s = getComputedStyle("
                       "document.activeElement); return {style: "
                       "s.outlineStyle, width: parseFloat(s.outlineWidth)}; "
                       "})()")
        assert ring["style"] == "solid" and ring["width"] >= 2, ring

        # -- reduced motion: no ticking seconds ---------------------------
        br.call(cmd="media", reducedMotion="reduce")
        calm = br.wait("(() => { const t = document.querySelector("
                       "'.ls-lobby-ticking').textContent; return "
                       "!/\\d:\\d\\d/.test(t) && t; })()", 3,
                       "the countdown without seconds")
        assert calm in ("Starts in 10 minutes", "Starts in 9 minutes"), calm
        time.sleep(1.2)
        assert br.eval("document.querySelector('.ls-lobby-ticking')"
                       ".textContent") == calm
        br.call(cmd="media", reducedMotion="no-preference")
        time.sleep(0.5)                       # the fade-in, once more

        # -- a phone: the lobby grows to hold it all, nothing sideways ----
        br.call(cmd="viewport", width=375, height=740)
        fit = br.wait("(() => { const l = document.querySelector("
                      "'.ls-lobby'); const r = l.getBoundingClientRect(); "
                      "const c = document.querySelector('.ls-lobby-calendar')"
                      ".getBoundingClientRect(); return r.width <= 375 && "
                      "c.bottom <= r.bottom && c.right <= r.right + 0.5 && "
                      "l.scrollWidth <= l.clientWidth && {width: r.width, "
                      "height: r.height}; })()", 5, "the lobby on a phone")
        print("lobby on a phone: %r" % fit)
        assert contrast(br, ".ls-lobby")["failures"] == []
        br.call(cmd="screenshot", path=os.path.join(art, "lobby-phone.png"))
        br.call(cmd="viewport", width=1280, height=800)

        # -- polling: GET shows at most once a minute ---------------------
        waited = time.monotonic() - reloaded
        said = br.eval("window.__said")
        assert len(said) - 1 <= 1 + waited / 60, said
        shows = [r for r in br.call(cmd="requests", match="/shows")
                 if r["method"] == "GET" and not r["url"].endswith(".ics")]
        print("in the lobby %.0f s: %d GET shows (both loads), %d changes "
              "of the spoken countdown" % (waited, len(shows),
                                           len(said) - 1))
        # one before the reload, one after it
        assert len(shows) <= 2 + waited / 60, shows

        # -- the show starts: the lobby goes, the video plays -------------
        br.eval("document.getElementById('token').focus(); true")
        ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
        published = time.monotonic()
        br.wait("!document.querySelector('.ls-lobby').checkVisibility()",
                20, "the lobby to go when the show starts")
        swapped = time.monotonic() - published
        said = br.wait("document.querySelector('.ls-announce').textContent",
                       3, "the announcement")
        assert said == "The show has started", said
        snap = br.eval(LOBBY_JS)
        assert snap["announceLive"] == "polite", snap
        assert snap["focus"] == "token", snap        # focus was not moved
        br.wait("document.querySelector('video').checkVisibility() && "
                "document.querySelector('video').currentTime > 0.5 && "
                "window.liveshop.now() !== null", 40,
                "the video to play after the lobby")
        playing = time.monotonic() - published
        print("publish -> lobby gone %.1f s, -> video playing %.1f s"
              % (swapped, playing))
        show = br.eval("window.liveshop.state().show")
        assert show and show["series"] == "launch" and \
            show["title"] == SHOW_TITLE, show
        listing = ok(api.call("GET", "/shows", token=None))
        assert listing["live"]["series"] == "launch", listing
        # every playlist request carried the tab's session
        session = br.eval("window.liveshop.session")
        assert all(query(r["url"]).get("session") == [session]
                   for r in br.call(cmd="requests", match=".m3u8"))
        br.call(cmd="screenshot", path=os.path.join(art, "playing.png"))

        # -- the encoder goes: the show ends, the lobby comes back --------
        ls.publisher.stop()
        stopped = time.monotonic()
        br.wait("document.querySelector('.ls-lobby').checkVisibility()",
                40, "the lobby after the show")
        print("encoder gone -> lobby again %.1f s"
              % (time.monotonic() - stopped))
        snap = br.eval(LOBBY_JS)
        assert not snap["videoShown"] and snap["title"], snap
        assert br.eval("window.liveshop.state().show") is None
        log = br.call(cmd="log")
        assert log["dialogs"] == [] and not log["errors"], log
    except BaseException:
        try:
            br.call(cmd="screenshot", path=os.path.join(art, "failure.png"))
            with open(os.path.join(art, "failure.json"), "w") as f:
                json.dump({"lobby": br.eval(LOBBY_JS),
                           "log": br.call(cmd="log")}, f, indent=1)
        except Exception:  # noqa: BLE001 - the first error matters
            pass
        raise
    finally:
        br.close()


def test_lobby_of_a_weekly_show(make_setup):
    """The lobby counts down to the next occurrence ("next"), not to the
    first one, and says days when the show is days away."""
    deps = web_deps()
    ls = make_setup(publish=False, journal=True, extra_server=web_conf(deps))
    api = ls.api
    base = "http://127.0.0.1:%d" % ls.http_port
    art = artifacts("e2e_lobby")
    first = datetime.datetime.now(datetime.timezone.utc).replace(
        microsecond=0) - datetime.timedelta(days=4)
    r = api.call("PUT", "/shows/weekly", {
        "title": "Weekly", "starts_at": first.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"),
        "duration": 1800, "rrule": "FREQ=WEEKLY"})
    assert r.status == 201, r
    listing = ok(api.call("GET", "/shows", token=None))
    nxt = h.parse_iso(listing["coming"][0]["next"]) * 1000
    br = Browser(deps, os.path.join(art, "browser-weekly.log"))
    try:
        br.call(cmd="open", url=base + "/index.html", width=1280,
                height=800, timeout=60)
        snap = br.wait("(() => { const e = document.querySelector("
                       "'.ls-lobby'); return e && e.checkVisibility() && "
                       "document.querySelector('.ls-lobby-ticking')"
                       ".textContent && %s; })()" % LOBBY_JS, 15,
                       "the lobby of the weekly show")
        assert snap["title"] == "Weekly" and snap["host"] is None, snap
        assert h.parse_iso(snap["datetime"]) * 1000 == nxt, (snap, nxt)
        assert snap["seen"] == "Starts in 3 days" and \
            snap["said"] == "Starts in 3 days", snap
        assert snap["calendar"]["href"].endswith("/shows/weekly.ics")
        assert not snap["offers"], snap
    finally:
        br.close()
