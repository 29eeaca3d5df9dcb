"""KPIs (SPEC §14, docs/kpis.md): a show with viewers, beacons and orders
the test sends itself, and the report's figures checked against numbers
computed here, independently, from what was sent: per show and per offer,
viewers, impressions, clicks, CTR, orders, units, GMV, AOV, conversion,
click-to-buy and GMV per 1,000 viewers; report.csv and `liveshopctl
report --show ID --csv` say the same."""

import csv
import datetime
import io
import json
import os
import subprocess
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest

import liveshop_harness as h

STREAM = h.STREAM
SECRETS = {"standard": h.new_standard_secret()}
PRICES = {"sku-1": Decimal("10.00"), "sku-2": Decimal("25.50")}
TIMEOUT = 30


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fetch(ls, session):
    r = h.http_request(ls.playlist_url + "?session=" + session)
    assert r.status == 200, r


def beacon(ls, type_, offer, session):
    r = h.http_request(ls.api.url("/beacon"), "POST",
                       {"type": type_, "offer": offer, "session": session})
    assert r.status == 204, r


def order(ls, order_id, items):
    body = h.canonical_order(order_id, STREAM, [
        (o, q, str(PRICES[o] * q)) for o, q in items])
    r = ls.hook("standard").send(body)
    assert r.status == 200, r


def money(d):
    return str(d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(a, b):
    return None if b == 0 else round(a / b, 4)


def close(got, want, what):
    if want is None:
        assert got is None, "%s: %r, want null" % (what, got)
    else:
        assert got is not None and abs(got - want) <= 0.0001, \
            "%s: %r, want %r" % (what, got, want)


def publish(ls):
    ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")

    def ready():
        try:
            with open(path) as f:
                return f.read().count("#EXTINF") >= 2
        except OSError:
            return False
    h.wait_for(ready, 40, 0.2, "the playlist on disk")


def test_the_reports_kpis_equal_what_was_sent(make_setup, liveshopctl):
    ls = make_setup(journal=True, webhooks=SECRETS)
    api = ls.api
    for sku, price in PRICES.items():
        ok(api.put_offer(h.offer(sku, price=str(price), stock=100)), 201)
    now = datetime.datetime.now(datetime.timezone.utc)
    ok(api.call("PUT", "/shows/launch", {
        "title": "Launch", "starts_at": iso(now + datetime.timedelta(
            minutes=5)), "duration": 3600, "offers": list(PRICES)}), 201)
    publish(ls)
    h.wait_for(lambda: (ok(api.state())["show"] or {}).get(
        "show", {}).get("id") == "launch", TIMEOUT, 0.2, "the show on air")

    # sku-1 pinned: sessions 0-5 watch (HLS only: the test knows exactly
    # who was seen during which pin)
    sessions = ["kpi-session-%02d" % i for i in range(10)]
    ok(api.pin("sku-1"))
    for s in sessions[0:6]:
        fetch(ls, s)
    for s in sessions[0:6] + sessions[0:2]:
        beacon(ls, "impression", "sku-1", s)
    for s in sessions[0:2]:
        beacon(ls, "click", "sku-1", s)
    order(ls, "kpi-1", [("sku-1", 1)])
    order(ls, "kpi-2", [("sku-1", 2)])
    time.sleep(2.5)                 # swept while only sku-1's 6 watch

    # sku-2 pinned: sessions 4-9 watch; 0-3 still count (30 s)
    ok(api.pin("sku-2"))
    for s in sessions[4:10]:
        fetch(ls, s)
    for s in sessions[4:7]:
        beacon(ls, "impression", "sku-2", s)
    beacon(ls, "click", "sku-2", sessions[4])
    order(ls, "kpi-3", [("sku-2", 1)])
    time.sleep(2.5)
    ev = ok(api.call("DELETE", "/show"))
    assert ev["type"] == "show.ended"
    order(ls, "kpi-after", [("sku-2", 4)])      # after the show: not its

    # the sweep writes the show's last figures within a second or two
    def final():
        r = api.call("GET", "/report?show=launch")
        if r.status != 200:
            return None
        rep = r.json()
        return rep if rep["show"]["viewers_unique"] >= 9 and \
            rep["show"]["clicks"] == 3 else None
    rep = h.wait_for(final, TIMEOUT, 0.5, "the show's final figures")
    show = rep["show"]

    # the show, computed here from what was sent
    orders, units = 3, 4
    gmv = PRICES["sku-1"] * 3 + PRICES["sku-2"]
    unique, impressions, clicks = 10, 11, 3
    assert show["id"] == "launch" and show["ended_at"], show
    assert show["orders"] == orders and show["units"] == units, show
    assert show["gmv"] == money(gmv) and show["currency"] == "EUR", show
    assert show["aov"] == money(gmv / orders), show
    assert abs(show["viewers_unique"] - unique) <= 1, show    # the sketch
    assert show["viewers_peak"] == unique, show
    assert show["impressions"] == impressions, show
    assert show["clicks"] == clicks, show
    close(show["ctr"], ratio(clicks, impressions), "ctr")
    close(show["conversion"], ratio(orders, show["viewers_unique"]),
          "conversion")
    close(show["click_to_buy"], ratio(orders, clicks), "click_to_buy")
    assert show["gmv_per_1000_viewers"] == money(
        gmv * 1000 / show["viewers_unique"]), show
    assert 0 < show["watch_seconds"] <= unique * (
        h.parse_spec_time(show["ended_at"]) -
        h.parse_spec_time(show["started_at"])) / 1000.0 + 1, show

    # per offer within the show
    offers = {o["offer_id"]: o for o in rep["offers"]}
    want = {"sku-1": dict(orders=2, units=3, gmv=PRICES["sku-1"] * 3,
                          unique=6, impressions=8, clicks=2, peak=6),
            "sku-2": dict(orders=1, units=1, gmv=PRICES["sku-2"],
                          unique=10, impressions=3, clicks=1, peak=10)}
    for sku, w in want.items():
        o = offers[sku]
        what = "%s: %r" % (sku, o)
        assert o["orders"] == w["orders"] and o["units"] == w["units"], what
        assert o["gmv"] == money(w["gmv"]), what
        assert o["aov"] == money(w["gmv"] / w["orders"]), what
        assert abs(o["viewers_unique"] - w["unique"]) <= 1, what
        assert o["viewers_peak"] == w["peak"], what
        assert o["impressions"] == w["impressions"], what
        assert o["clicks"] == w["clicks"], what
        close(o["ctr"], ratio(w["clicks"], w["impressions"]), sku + " ctr")
        close(o["conversion"], ratio(w["orders"], o["viewers_unique"]),
              sku + " conversion")
        close(o["click_to_buy"], ratio(w["orders"], w["clicks"]),
              sku + " click_to_buy")
        assert o["gmv_per_1000_viewers"] == money(
            w["gmv"] * 1000 / o["viewers_unique"]), what

    # the series of the show: viewers over time and every order
    series = rep["series"]
    assert max(n for _t, n in series["viewers"]) == unique, series
    assert [p[1] for p in series["orders"]] == [1, 2, 3], series
    assert [p["offer_id"] for p in series["pins"]] == ["sku-1", "sku-2"]

    # the stream: the order after the show counts there, not in the show
    whole = ok(api.report())
    assert [s["id"] for s in whole["shows"]] == ["launch"], whole
    w2 = {o["offer_id"]: o for o in whole["offers"]}["sku-2"]
    assert w2["orders"] == 2 and w2["units"] == 5, w2

    # report.csv: the same figures
    r = api.call("GET", "/report.csv?show=launch")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers
    rows = {row["offer_id"]: row for row in csv.DictReader(
        io.StringIO(r.body.decode("utf-8")))}
    assert rows["sku-1"]["gmv"] == offers["sku-1"]["gmv"], rows
    assert int(rows["sku-1"]["impressions"]) == 8, rows

    # and liveshopctl, as a script would call it
    env = dict(os.environ, LIVESHOP_TOKEN=api.token)
    out = subprocess.run(
        [liveshopctl, "--server", "http://127.0.0.1:%d/shop/" % ls.http_port,
         "report", "--show", "launch", "--csv", STREAM],
        capture_output=True, env=env, timeout=30)
    assert out.returncode == 0, out
    assert out.stdout == r.body, (out.stdout, r.body)
