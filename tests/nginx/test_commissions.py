"""Creator commissions (issue 16, docs/kpis.md "Commissions"): two shows
with different hosts and rates, orders through signed webhooks, and
commissions.csv checked against a computation of its own here (Python
decimal): per row revenue x rate rounded half up once, the per-host CSV
the sum of the rows."""
import csv
import datetime
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import liveshop_harness as h

STREAM = h.STREAM
SECRETS = {"standard": h.new_standard_secret()}
REFUND_SECRETS = {"standard": h.new_standard_secret(),
                  "shopify": "shpss_" + "ab" * 16}
CENT = Decimal("0.01")


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def order(ls, order_id, items):
    r = ls.hook("standard").send(h.canonical_order(order_id, STREAM, items))
    assert r.status == 200, r


def rows_of(r):
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers
    return list(csv.DictReader(io.StringIO(r.body.decode("utf-8"))))


def test_commissions_csv_adds_up(make_setup):
    ls = make_setup(journal=True, webhooks=SECRETS)
    api = ls.api
    # sku-rate carries its own rate; sku-plain takes its show's
    ok(api.put_offer(dict(h.offer("sku-rate", price="19.99", stock=100),
                          commission="0.15")), 201)
    ok(api.put_offer(h.offer("sku-plain", price="0.05", stock=100)), 201)
    now = datetime.datetime.now(datetime.timezone.utc)
    ok(api.call("PUT", "/shows/ana", {
        "title": "Ana's", "host": "Ana", "commission": "0.10",
        "starts_at": iso(now + datetime.timedelta(hours=2)),
        "duration": 3600}), 201)
    ok(api.call("PUT", "/shows/ben", {
        "title": "Ben's", "host": "Ben", "commission": "0.125",
        "starts_at": iso(now + datetime.timedelta(hours=4)),
        "duration": 3600}), 201)

    # before any show: no host, no commission
    order(ls, "c-0", [("sku-rate", 1, "19.99")])
    ok(api.call("POST", "/show", {"show": "ana"}))
    sent = [("ana", "c-1", [("sku-rate", 1, "19.99")]),
            ("ana", "c-2", [("sku-plain", 1, "0.05")]),
            ("ana", "c-3", [("sku-plain", 1, "0.05"),
                            ("sku-rate", 3, "59.97")]),
            ("ana", "c-4", [("sku-plain", 2, "12.34", "USD")])]
    for _show, oid, items in sent[:4]:
        order(ls, oid, items)
    ok(api.call("POST", "/show", {"show": "ben"}))   # ends Ana's
    more = [("ben", "c-5", [("sku-plain", 4, "0.20")]),
            ("ben", "c-6", [("sku-rate", 1, "19.99"),
                            ("sku-plain", 1, "0.05")])]
    for _show, oid, items in more:
        order(ls, oid, items)
    sent += more
    ok(api.call("DELETE", "/show"))
    order(ls, "c-after", [("sku-plain", 1, "0.05")])     # no show

    # the test's own rows: (show, offer, currency, rate) -> revenue
    show_rate = {"ana": Decimal("0.10"), "ben": Decimal("0.125")}
    host = {"ana": "Ana", "ben": "Ben"}
    want = defaultdict(Decimal)
    for show, _oid, items in sent:
        for it in items:
            cur = it[3] if len(it) > 3 else "EUR"
            if it[0] == "sku-rate":
                rate, source = Decimal("0.15"), "offer"
            else:
                rate, source = show_rate[show], "show"
            want[(show, it[0], cur, rate, source)] += Decimal(it[2])

    rows = rows_of(api.call("GET", "/commissions.csv"))
    got = {}
    for row in rows:
        key = (row["show_id"], row["offer_id"], row["currency"],
               Decimal(row["rate"]), row["rate_source"])
        assert key not in got, rows
        got[key] = row
        assert row["host"] == host[row["show_id"]], row
    assert set(got) == set(want), (sorted(got), sorted(want))
    per_host = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for key, revenue in want.items():
        row = got[key]
        due = (revenue * key[3]).quantize(CENT, rounding=ROUND_HALF_UP)
        assert Decimal(row["revenue"]) == revenue, row
        assert row["commission"] == str(due), (row, due)
        t = per_host[(host[key[0]], key[2])]
        t[0] += revenue
        t[1] += due
    # rounding per row: Ana's sku-plain EUR is 0.10 x 0.10 = 0.01 (two
    # items of 0.005 would have made 0.02)
    assert got[("ana", "sku-plain", "EUR", Decimal("0.10"),
                "show")]["commission"] == "0.01"

    # per host: the rows, added
    hosts = rows_of(api.call("GET", "/commissions.csv?by=host"))
    assert {(r["host"], r["currency"]) for r in hosts} == set(per_host)
    for r in hosts:
        revenue, due = per_host[(r["host"], r["currency"])]
        assert Decimal(r["revenue"]) == revenue, r
        assert Decimal(r["commission"]) == due, r
        assert r["revenue_without_commission"] == "0.00", r
        assert r["complete"] == "true", r
        assert r["shows"] == "1", r
    # and the rows of the CSV itself add up to them
    for r in hosts:
        assert sum(Decimal(x["commission"]) for x in rows
                   if x["host"] == r["host"] and
                   x["currency"] == r["currency"]) == \
            Decimal(r["commission"]), r

    # a period: Ben's show started after Ana's, both within the last hour
    ben = ok(api.call("GET", "/report?shows=2"))["shows"][1]
    assert ben["id"] == "ben", ben
    assert ben["commission"]["rate"] == "0.125", ben
    only = rows_of(api.call("GET", "/commissions.csv?from=" +
                            ben["started_at"].replace(":", "%3A")))
    assert {r["show_id"] for r in only} == {"ben"}, only
    before = rows_of(api.call("GET", "/commissions.csv?to=" +
                              ben["started_at"]))
    assert {r["show_id"] for r in before} == {"ana"}, before
    by_host = {x["host"]: x for x in ok(api.report())["commission_by_host"]}
    assert by_host["Ben"]["due"]["EUR"] == str(per_host[("Ben", "EUR")][1])

    # bad values name their parameter
    for query, field in [("from=yesterday", "from"), ("to=2026-13-01", "to"),
                         ("by=show", "by"),
                         ("from=2026-12-01T00:00:00Z&"
                          "to=2026-11-01T00:00:00Z", "to")]:
        r = api.call("GET", "/commissions.csv?" + query)
        assert r.status == 400, (query, r)
        assert r.json()["error"]["field"] == field, (query, r.json())
    # a token is needed, as for report.csv
    r = h.http_request(api.url("/commissions.csv"))
    assert r.status == 401, r


def shopify_body(order_id, refunds=None):
    """A Shopify order of sku-r x1 at 19.99 and sku-p x2 at 2.50 from the
    stream (cart attribute), with its refunds so far when given."""
    body = {"id": order_id, "currency": "EUR", "financial_status": "paid",
            "note_attributes": [{"name": "liveshop_stream",
                                 "value": STREAM}],
            "line_items": [{"id": 11, "sku": "sku-r", "quantity": 1,
                            "price": "19.99"},
                           {"id": 12, "sku": "sku-p", "quantity": 2,
                            "price": "2.50"},
                           {"id": 13, "sku": None, "quantity": 1,
                            "price": "3.00"}]}
    if refunds is not None:
        body["refunds"] = [{"id": 900 + i, "refund_line_items": lines}
                           for i, lines in enumerate(refunds)]
    return body


def test_refunds_reduce_commissions(make_setup):
    """Refunds (docs/kpis.md): a Shopify orders/updated with refunds and
    the standard order.refunded, cumulative, journalled and acknowledged,
    change no stock; commissions.csv (rows and by host) checked against
    Python's Decimal; the same after kill -9 (the refunds replayed)."""
    ls = make_setup(journal=True, webhooks=REFUND_SECRETS)
    api = ls.api
    ok(api.put_offer(dict(h.offer("sku-r", price="19.99", stock=100),
                          commission="0.15")), 201)
    ok(api.put_offer(h.offer("sku-p", price="2.50", stock=100)), 201)
    now = datetime.datetime.now(datetime.timezone.utc)
    ok(api.call("PUT", "/shows/cara", {
        "title": "Cara's", "host": "Cara", "commission": "0.10",
        "starts_at": iso(now + datetime.timedelta(hours=2)),
        "duration": 3600}), 201)
    ok(api.call("POST", "/show", {"show": "cara"}))
    order(ls, "r-1", [("sku-r", 2, "39.98")])
    order(ls, "r-2", [("sku-p", 1, "2.50"), ("sku-r", 1, "19.99")])
    order(ls, "r-3", [("sku-p", 1, "2.50", "USD")])
    shop = ls.hook("shopify")
    r = shop.send(shopify_body(7001), topic="orders/paid")
    assert r.status == 200 and r.json()["duplicate"] is False, r
    stock = ok(api.state())["stock"]

    # Shopify: two refunds so far of order 7001, read whole each time
    refunds = [[{"line_item_id": 11, "quantity": 1, "subtotal": "19.99"}],
               [{"line_item_id": 12, "quantity": 1, "subtotal": "2.50"},
                {"line_item_id": 13, "quantity": 1, "subtotal": "3.00"}]]
    r = shop.send(shopify_body(7001, refunds[:1]), topic="orders/updated")
    assert r.status == 200 and r.json()["refund"] is True, r
    r = shop.send(shopify_body(7001, refunds), topic="orders/updated",
                  delivery_id="shop-refund-2")
    assert r.status == 200 and r.json()["refund"] is True, r
    # the same delivery again: a duplicate
    r = shop.send(shopify_body(7001, refunds), topic="orders/updated",
                  delivery_id="shop-refund-2")
    assert r.status == 200 and r.json()["duplicate"] is True, r
    # an orders/updated without refunds: acknowledged and ignored
    r = shop.send(shopify_body(7001), topic="orders/updated")
    assert r.status == 200 and "ignored" in r.json(), r

    std = ls.hook("standard")

    def refund(order_id, items, delivery_id=None):
        r = std.send(h.canonical_order(order_id, STREAM, items,
                                       type_="order.refunded"),
                     delivery_id=delivery_id)
        assert r.status == 200, r
        return r.json()

    # r-1: 10.00, then 25.00 so far (replaces), then more than it had
    # of sku-p in r-2 (capped at 2.50)
    assert refund("r-1", [("sku-r", 1, "10.00")])["refund"] is True
    refund("r-1", [("sku-r", 1, "25.00")])
    refund("r-2", [("sku-p", 1, "99.00")])
    # an order never taken, and r-3's item in another currency
    refund("nope", [("sku-r", 1, "1.00")])
    refund("r-3", [("sku-p", 1, "2.50", "EUR")])
    # a refund changes no stock
    assert ok(api.state())["stock"] == stock

    # the test's own figures: (offer, currency, rate) -> [revenue, refunded]
    want = {("sku-r", "EUR", Decimal("0.15")):
            [Decimal("39.98") + Decimal("19.99") + Decimal("19.99"),
             Decimal("25.00") + Decimal("19.99")],
            ("sku-p", "EUR", Decimal("0.10")):
            [Decimal("2.50") + Decimal("5.00"),
             Decimal("2.50") + Decimal("2.50")],
            ("sku-p", "USD", Decimal("0.10")):
            [Decimal("2.50"), Decimal("0")]}

    def check():
        rows = rows_of(api.call("GET", "/commissions.csv"))
        per_cur = defaultdict(lambda: [Decimal(0)] * 3)
        assert len(rows) == len(want), rows
        for row in rows:
            key = (row["offer_id"], row["currency"], Decimal(row["rate"]))
            revenue, refunded = want[key]
            due = ((revenue - refunded) * key[2]).quantize(
                CENT, rounding=ROUND_HALF_UP)
            assert Decimal(row["revenue"]) == revenue, row
            assert Decimal(row["refunded"]) == refunded, row
            assert row["commission"] == str(due), (row, due)
            t = per_cur[row["currency"]]
            per_cur[row["currency"]] = [t[0] + revenue, t[1] + refunded,
                                        t[2] + due]
        hosts = rows_of(api.call("GET", "/commissions.csv?by=host"))
        assert {r["currency"] for r in hosts} == set(per_cur), hosts
        for r in hosts:
            revenue, refunded, due = per_cur[r["currency"]]
            assert r["host"] == "Cara", r
            assert Decimal(r["revenue"]) == revenue, r
            assert Decimal(r["refunded"]) == refunded, r
            assert Decimal(r["commission"]) == due, r
        rep = ok(api.report())
        assert rep["refunds"]["unmatched"] == 2, rep["refunds"]
        # GMV stays gross
        show = [x for x in rep["shows"] if x["id"] == "cara"][0]
        assert Decimal(show["gmv_by_currency"]["EUR"]) == sum(
            v[0] for k, v in want.items() if k[1] == "EUR"), show
        return rows, hosts

    before = check()
    ls.nginx.kill9()
    ls.nginx.start()
    assert check() == before
    assert ok(api.state())["stock"] == stock
