"""What the viewer tests (test_beacons.py, test_lobby.py) share: the demo
page served by the nginx under test, the requests the page made (as
player.mjs recorded them), and accessibility checks of a part of the
page that need no library (contrast by WCAG 2.1's formula, names)."""

import json
import os
import re
import urllib.parse

import liveshop_harness as h
from test_player import Browser, SVG, WEB, web_deps  # noqa: F401 (re-export)

# SPEC §14: 16-32 of [A-Za-z0-9_-] from the player (the server takes 8-64)
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def web_conf(deps):
    """extra_server of make_setup: the page, hls.js and a product picture
    from the same nginx."""
    hls_js = os.path.join(deps, "node_modules", "hls.js", "dist",
                          "hls.min.js")
    web_types = ("types { text/html html; text/css css; "
                 "application/javascript js mjs; }")
    return " ".join([
        "location / { root %s; index index.html; %s "
        "add_header Cache-Control no-cache; }" % (WEB, web_types),
        "location = /hls.min.js { alias %s; %s }" % (hls_js, web_types),
        "location /img/ { default_type image/svg+xml; "
        "return 200 \"%s\"; }" % SVG,
    ])


def artifacts(name):
    d = os.path.join(h.artifacts_root(), name)
    os.makedirs(d, exist_ok=True)
    return d


def query(url):
    """{name: [values]} of url's query."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def beacons(br):
    """The beacons the page sent: [{type, offer, session, status,
    content_type}] in order (status None: no answer yet)."""
    out = []
    for r in br.call(cmd="requests", match="/beacon"):
        if r["method"] != "POST":
            continue
        body = json.loads(r["body"] or "null")
        out.append(dict(body or {}, status=r["status"]))
    return out


def of(items, **match):
    return [i for i in items if all(i.get(k) == v for k, v in match.items())]


# Every visible text of ROOT against what is behind it (backgrounds
# composed up the tree), by WCAG 2.1's relative luminance: 4.5:1, 3:1 for
# large text (24 px, or 18.66 px bold). The failures, with the numbers.
CONTRAST_JS = r"""((sel) => {
  const rgba = (s) => {
    const m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a *
                        (1 - top.a)) / a;
    return { r: mix('r'), g: mix('g'), b: mix('b'), a };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
                       Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const behind = (e) => {
    let layers = [];
    for (let x = e; x; x = x.parentElement) {
      const c = rgba(getComputedStyle(x).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };     // the canvas
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const root = document.querySelector(sel);
  const out = [];
  let checked = 0;
  for (const e of [root, ...root.querySelectorAll('*')]) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 &&
                                              n.textContent.trim());
    if (!own) continue;
    const r = e.getBoundingClientRect();
    const cs = getComputedStyle(e);
    if (r.width <= 1 || r.height <= 1 || cs.visibility === 'hidden' ||
        !e.checkVisibility()) continue;
    const fg = over(rgba(cs.color), behind(e));
    const bg = behind(e);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const px = parseFloat(cs.fontSize);
    const large = px >= 24 || (px >= 18.66 && Number(cs.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) {
      out.push({ text: e.textContent.trim().slice(0, 40), cls: e.className,
                 ratio: Math.round(ratio * 100) / 100, large });
    }
  }
  return { checked, failures: out };
})"""


def contrast(br, selector):
    return br.eval("%s(%s)" % (CONTRAST_JS, json.dumps(selector)))
