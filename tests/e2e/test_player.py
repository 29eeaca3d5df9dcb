"""The shoppable player end to end: real nginx + nginx-rtmp + our module +
an ffmpeg test stream, the demo page web/index.html with
web/liveshop-player.js and hls.js, in Debian's headless Chromium
(player.mjs, playwright-core).

What a viewer must see: a pinned offer's card (title, price, anchor
price, stock, buy link with ls_stream) within one playlist refresh plus
2 s of the pin's media time and not before it, a countdown that ticks
down, titles and labels as text (never markup that runs), and a stock
that stays current across an nginx restart (SSE reconnects with
Last-Event-ID)."""

import base64
import json
import os
import re
import select
import shutil
import subprocess
import time

import pytest

import liveshop_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(h.REPO, "web")
NODE = os.environ.get("LIVESHOP_NODE", "/usr/bin/node")
CHROMIUM = os.environ.get("LIVESHOP_CHROMIUM", "/usr/bin/chromium")
XSS_TITLE = "<img src=x onerror=alert(1)>"
XSS_LABEL = '<img src=y onerror="window.__xss=2">Anzeige'
XSS_COUNTDOWN = "<svg onload=window.__xss=3>"

# A product picture served by nginx (http: the player shows no other).
SVG = ("<svg xmlns='http://www.w3.org/2000/svg' width='80' height='80'>"
       "<rect width='80' height='80' fill='#e4a'/></svg>")


def web_deps():
    """BUILD/web-deps of scripts/setup-web.sh: fails under ctest (which
    names it), skips a bare pytest run without it."""
    d = os.environ.get("LIVESHOP_WEB_DEPS") or os.path.join(
        h.REPO, "build", "web-deps")
    need = [os.path.join(d, "node_modules", "hls.js", "dist", "hls.min.js"),
            os.path.join(d, "node_modules", "playwright-core",
                         "package.json"), NODE, CHROMIUM]
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        msg = ("missing %s: run scripts/setup-deps.sh BUILD (Debian's "
               "nodejs, chromium) and scripts/setup-web.sh BUILD (npm)"
               % ", ".join(missing))
        if os.environ.get("LIVESHOP_WEB_DEPS"):
            pytest.fail(msg)
        pytest.skip(msg)
    return d


class Browser:
    """player.mjs: one JSON command per line, one answer per line."""

    def __init__(self, deps, log_path, script="player.mjs"):
        """script: the driver in tests/e2e (crowd.mjs: many viewers)."""
        self.log = open(log_path, "wb")
        env = dict(os.environ, LIVESHOP_WEB_DEPS=deps,
                   LIVESHOP_CHROMIUM=CHROMIUM,
                   PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        self.proc = subprocess.Popen(
            [NODE, os.path.join(HERE, script)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, env=env,
            start_new_session=True, preexec_fn=h._die_with_parent())
        self.buf = b""

    def call(self, timeout=30, **cmd):
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError("player.mjs: no answer to %r (exit %s)"
                                   % (cmd, self.proc.poll()))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                self.buf += os.read(self.proc.stdout.fileno(), 65536)
        line, _, self.buf = self.buf.partition(b"\n")
        out = json.loads(line)
        if not out["ok"]:
            raise AssertionError("browser: %s: %s" % (cmd.get("cmd"),
                                                      out["error"]))
        return out.get("value")

    def eval(self, js, timeout=30):
        return self.call(cmd="eval", js=js, timeout=timeout)

    def wait(self, js, timeout_s, what):
        """Until js is truthy in the page; its value."""
        try:
            return self.call(cmd="wait", js=js, timeout=timeout_s + 10,
                             **{"ms": int(timeout_s * 1000)})
        except AssertionError as e:
            raise AssertionError("waiting %.0f s for %s: %s\npage: %s" % (
                timeout_s, what, str(e)[:300], self.snapshot()))

    def snapshot(self):
        try:
            return self.eval(SNAPSHOT_JS, timeout=10)
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return "(no snapshot: %s)" % e

    def close(self):
        try:
            if self.proc.poll() is None:
                self.call(cmd="close", timeout=15)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        h.kill_proc(self.proc)
        self.log.close()


# What the overlay shows, for assertions and failure messages.
SNAPSHOT_JS = """(() => {
  const q = (s) => document.querySelector(s);
  const vis = (e) => !!e && !e.hidden && !e.closest('[hidden]') &&
                     getComputedStyle(e).display !== 'none';
  const card = q('.ls-card');
  return {
    card: vis(card),
    title: q('.ls-title') && q('.ls-title').textContent,
    titleChildren: q('.ls-title') ? q('.ls-title').children.length : -1,
    price: q('.ls-now') && q('.ls-now').textContent,
    anchor: vis(q('.ls-anchor')) ? q('.ls-anchor').textContent : null,
    stock: vis(q('.ls-stock')) ? q('.ls-stock').textContent : null,
    href: q('.ls-buy') && q('.ls-buy').getAttribute('href'),
    image: vis(q('.ls-image')) ? q('.ls-image').getAttribute('src') : null,
    countdown: vis(q('.ls-countdown')) ?
      q('.ls-countdown-time').textContent : null,
    countdownLabel: q('.ls-countdown-label') &&
      q('.ls-countdown-label').textContent,
    disclosure: vis(q('.ls-disclosure')) ?
      q('.ls-disclosure').textContent : null,
    ticker: vis(q('.ls-ticker')) ? q('.ls-ticker').textContent : null,
    currentTime: q('video').currentTime,
    now: window.liveshop ? window.liveshop.now() : null,
    xss: window.__xss === undefined ? null : window.__xss,
    conn: (window.__conn || []).slice(-6),
  };
})()"""

RECORD_JS = """(() => {
  const stage = document.getElementById('stage');
  window.__shown = []; window.__conn = [];
  stage.addEventListener('liveshop:offer', (e) => {
    const hls = window.liveshopHls;
    const d = hls && hls.playingDate;
    window.__shown.push({
      id: e.detail.offer ? e.detail.offer.id : null,
      title: e.detail.offer ? e.detail.offer.title : null,
      at: e.detail.at, wall: Date.now(),
      hlsAt: d && isFinite(d.getTime()) ? d.getTime() : null,
      visible: !document.querySelector('.ls-card').hidden });
  });
  stage.addEventListener('liveshop:connection',
    (e) => window.__conn.push({ state: e.detail.state, wall: Date.now() }));
  return true;
})()"""


def countdown_seconds(text):
    parts = [int(x) for x in text.split(":")]
    s = 0
    for p in parts:
        s = s * 60 + p
    return s


def put(api, offer):
    r = api.put_offer(offer)
    assert r.status in (200, 201), r
    return r.json()


def ok(r):
    assert 200 <= r.status < 300, r
    return r.json()


def test_player_end_to_end(make_setup):
    deps = web_deps()
    hook_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    hls_js = os.path.join(deps, "node_modules", "hls.js", "dist",
                          "hls.min.js")
    web_types = ("types { text/html html; text/css css; "
                 "application/javascript js mjs; }")
    extra = " ".join([
        "location / { root %s; index index.html; %s "
        "add_header Cache-Control no-cache; }" % (WEB, web_types),
        "location = /hls.min.js { alias %s; %s }" % (hls_js, web_types),
        "location = /img/product.svg { default_type image/svg+xml; "
        "return 200 \"%s\"; }" % SVG,
    ])
    ls = make_setup(publish=True, journal=True, extra_server=extra,
                    webhooks={"standard": hook_secret})
    api = ls.api
    base = "http://127.0.0.1:%d" % ls.http_port
    art = os.path.join(h.artifacts_root(), "e2e_player")
    os.makedirs(art, exist_ok=True)

    serum = h.offer("serum-30", "Vitamin C Serum 30 ml", price="19.99",
                    compare_at="29.99", stock=5,
                    url="https://shop.example/p/123?ref=live&x=a%20b",
                    image=base + "/img/product.svg")
    xss = h.offer("xss-1", XSS_TITLE, price="1.00", disclosure="ad")
    put(api, serum)
    put(api, xss)

    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)",
                           ls.fetch_playlist().text).group(1))

    br = Browser(deps, os.path.join(art, "browser.log"))
    try:
        br.call(cmd="open", url=base + "/index.html", width=1280,
                height=800, timeout=60)
        br.eval(RECORD_JS)
        br.wait("window.liveshop && window.liveshop.now() !== null && "
                "document.querySelector('video').currentTime > 0.5",
                30, "the video to play with program date times")

        # -- pin: the card appears at the pin's media time -----------
        ev = ok(api.pin("serum-30"))
        pinned_wall = time.time() * 1000
        start = h.parse_spec_time(ev["at"])
        shown = br.wait(
            "(window.__shown || []).find(s => s.id === 'serum-30' && "
            "s.visible)", target + 20, "the card of serum-30")
        snap = br.eval(SNAPSHOT_JS)
        media_delay = (shown["hlsAt"] if shown["hlsAt"] is not None
                       else shown["at"]) - start
        print("pin -> card: %.0f ms wall clock, %.0f ms after the pin's "
              "media time (liveshop clock %.0f ms; refresh %d s)" % (
                  shown["wall"] - pinned_wall, media_delay,
                  shown["at"] - start, target))
        with open(os.path.join(art, "latency.json"), "w") as f:
            json.dump({"wall_ms": shown["wall"] - pinned_wall,
                       "media_ms": media_delay,
                       "target_duration_s": target}, f)
        # in sync with the frame on screen: not before the pin's media
        # time, and within one playlist refresh plus 2 s of it
        assert shown["at"] >= start, (shown, start)
        assert media_delay >= -250, (shown, start)
        assert media_delay <= target * 1000 + 2000, (shown, start)
        assert snap["card"] and snap["title"] == "Vitamin C Serum 30 ml", snap
        assert "19.99" in snap["price"] and "€" in snap["price"], snap
        assert snap["anchor"] and "29.99" in snap["anchor"], snap
        assert snap["stock"] == "Only 5 left", snap
        assert snap["image"] == base + "/img/product.svg", snap
        assert snap["href"] == ("https://shop.example/p/123?ref=live&x=a%20b"
                                "&ls_stream=live%2Fdemo"), snap
        # the native-HLS route (Safari) reads the same tags itself
        native = br.eval(
            "import('/liveshop-player.js').then(m => fetch('/hls/demo.m3u8')"
            ".then(r => r.text()).then(t => { const p = m.parsePlaylist(t);"
            " const r = p.ranges.find(r => r.ID === %s); return {"
            " segments: p.segments.filter(s => s.pdt !== null).length,"
            " start: r && Date.parse(r['START-DATE']), title: r &&"
            " m.decodeEventData(r['X-LIVESHOP-DATA']).data.offer.title}; }))"
            % json.dumps(ev["id"]))
        assert native["segments"] >= 2 and native["start"] == start and \
            native["title"] == "Vitamin C Serum 30 ml", native
        # the buy button is reachable with the keyboard
        for _ in range(12):
            if "ls-buy" in (br.call(cmd="press", key="Tab") or ""):
                break
        else:
            raise AssertionError("Tab never reaches the buy button")
        assert br.eval("document.querySelector('.ls-live')"
                       ".getAttribute('aria-live')") == "polite"

        # -- countdown: ticks down against the media clock ------------
        cd = ok(api.countdown(90, XSS_COUNTDOWN))
        first = br.wait("(() => { const e = document.querySelector("
                        "'.ls-countdown'); return !e.hidden && "
                        "document.querySelector('.ls-countdown-time')"
                        ".textContent; })()", target + 20, "the countdown")
        time.sleep(2.5)
        snap = br.eval(SNAPSHOT_JS)
        assert countdown_seconds(snap["countdown"]) < \
            countdown_seconds(first), (first, snap)
        assert 60 <= countdown_seconds(snap["countdown"]) <= 90, snap
        assert snap["countdownLabel"] == XSS_COUNTDOWN, snap
        # mm:ss is ends_at against the frame on screen, not the wall clock
        left = (h.parse_spec_time(cd["data"]["ends_at"]) - snap["now"]) / 1000
        assert abs(countdown_seconds(snap["countdown"]) - left) <= 1.5, \
            (snap, left)

        # -- markup in titles and labels stays text -------------------
        ok(api.disclose("ad", XSS_LABEL))
        ok(api.pin("xss-1"))
        snap = br.wait("(() => { const t = document.querySelector("
                       "'.ls-title'); return !document.querySelector("
                       "'.ls-card').hidden && t.textContent === %s && "
                       "document.querySelector('.ls-disclosure')"
                       ".textContent === %s; })()" % (
                           json.dumps(XSS_TITLE), json.dumps(XSS_LABEL)),
                       target + 20, "the card with the markup title")
        snap = br.eval(SNAPSHOT_JS)
        assert snap["titleChildren"] == 0, snap
        assert br.eval("document.querySelectorAll('.ls-overlay img')"
                       ".length") == 1   # the product picture only
        time.sleep(1)
        log = br.call(cmd="log")
        assert log["dialogs"] == [], log["dialogs"]
        assert br.eval("window.__xss === undefined"), br.snapshot()
        assert not [e for e in log["errors"]], log["errors"]
        br.call(cmd="screenshot", path=os.path.join(art, "player.png"))

        # a phone-sized screen: the card fits
        br.call(cmd="viewport", width=375, height=740)
        fits = br.wait("(() => { const c = document.querySelector("
                       "'.ls-card').getBoundingClientRect(); const s = "
                       "document.getElementById('stage')"
                       ".getBoundingClientRect(); return c.width > 0 && "
                       "c.left >= s.left && c.right <= s.right + 0.5 && "
                       "{card: c.width, stage: s.width}; })()", 5,
                       "the card to fit a phone's width")
        assert fits["card"] <= 375, fits
        # ... and leaves the disclosure and the countdown readable
        overlaps = br.eval(
            "(() => { const r = (s) => document.querySelector(s)"
            ".getBoundingClientRect(); const x = (a, b) => a.left < b.right"
            " && b.left < a.right && a.top < b.bottom && b.top < a.bottom;"
            " const c = r('.ls-card'), d = r('.ls-disclosure'),"
            " t = r('.ls-countdown'); return [x(c, d), x(c, t), x(d, t)];"
            " })()")
        assert overlaps == [False, False, False], overlaps
        br.call(cmd="screenshot", path=os.path.join(art, "player-phone.png"))
        br.call(cmd="viewport", width=1280, height=800)

        # -- nginx restarts: SSE reconnects, the stock stays current --
        ok(api.unpin())
        ok(api.pin("serum-30"))
        br.wait("(() => !document.querySelector('.ls-card').hidden && "
                "document.querySelector('.ls-title').textContent === "
                "'Vitamin C Serum 30 ml')()", target + 20,
                "the serum's card again")
        opened = br.eval("window.__conn.filter(c => c.state === 'open')"
                         ".length")
        ls.nginx.ctl_stop()
        time.sleep(1)
        ls.nginx.start()
        if not ls.publisher.alive():
            ls.publisher.stop()
            ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
        br.wait("window.__conn.filter(c => c.state === 'open').length > %d"
                % opened, 30, "the event stream to reconnect")
        put(api, dict(serum, stock=3))
        br.wait("document.querySelector('.ls-stock').textContent === "
                "'Only 3 left' && !document.querySelector('.ls-card')"
                ".hidden", 20, "the stock of 3 after the restart")
        # an order through the purchase webhook: stock and ticker move
        order = h.canonical_order("e2e-1", h.STREAM,
                                  [("serum-30", 1, "19.99")])
        r = ls.hook("standard").send(order)
        assert r.status == 200, r
        snap = br.wait("(() => { const t = document.querySelector("
                       "'.ls-ticker'); return document.querySelector("
                       "'.ls-stock').textContent === 'Only 2 left' && "
                       "!t.hidden && t.textContent; })()", 20,
                       "the purchase in stock and ticker")
        assert "Vitamin C Serum 30 ml" in snap, snap
        br.call(cmd="screenshot", path=os.path.join(art,
                                                    "player-after-restart.png"))
        log = br.call(cmd="log")
        assert log["dialogs"] == [] and not log["errors"], log
        with open(os.path.join(art, "console.log"), "w") as f:
            f.write("\n".join(log["console"]))
    except BaseException:
        try:
            br.call(cmd="screenshot", path=os.path.join(art, "failure.png"))
            with open(os.path.join(art, "failure.json"), "w") as f:
                json.dump({"snapshot": br.snapshot(),
                           "log": br.call(cmd="log")}, f, indent=1)
        except Exception:  # noqa: BLE001 - the first error matters
            pass
        raise
    finally:
        br.close()
        shutil.copy(ls.nginx.conf_path, os.path.join(art, "nginx.conf"))
