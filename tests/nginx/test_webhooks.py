"""Integration tests of purchase webhooks in (SPEC §9) in real nginx (2
workers): each shop's sample payload (config-examples/webhooks/) signed as
the shop signs it, forged and stale deliveries, duplicates (also across a
restart and across workers), stock that never goes below 0 under 50
concurrent purchases, and 2,000 orders from 8 clients with `kill -9` of
every nginx process in the middle.

Server conventions these tests hold the module to (beyond SPEC §9):
  - `location = /hooks/PROVIDER { live_shop_webhook PROVIDER secret=S; }`,
    which needs live_shop_journal in http{} (`nginx -t` fails without it,
    naming live_shop_webhook);
  - accepted: 200 {"ok":true,"duplicate":false,"order_id":..,"stream":..,
    ["source":"player"|"qr",] "sold":N,"oversold":M}, only once the order is written and
    fdatasync'ed to the stream's journal; the same delivery id, or the
    same provider + order id, again (also after a restart): 200
    {"ok":true,"duplicate":true,"order_id":..} and nothing changes;
    acknowledged and not counted: 200 {"ok":true,"ignored":REASON};
  - 401 {"error":{"code":"unauthorized",..}} for a forged, missing or
    malformed signature or a timestamp more than 300 s old or 60 s ahead;
    400 (SPEC §2 shape) naming the field; 405 not POST; 413 a body over
    1 MiB; 503 when the journal cannot be written;
  - per item: purchase.completed {offer_id, quantity = units sold from
    stock}, stock.changed {offer_id, stock}, offer.sold_out at 0; units
    beyond the stock make no event and count as oversold (the answer,
    report offers[].oversold); an offer not in the catalog sells every
    unit and has no stock events;
  - the journal holds an accepted order as one line
    {"order":{ORDER},"provider":P,"at":T,"events":[EVENT,..]}
    (shared/include/lshop/journal.h);
  - names, e-mails, addresses and phone numbers of the shops' payloads
    appear nowhere: not in the journal, not in any event.

Tests that share one nginx (`wh`) each use a stream of their own; tests
that stop or kill nginx start their own (`make_setup`)."""

import base64
import copy
import decimal
import email.message
import json
import os
import random
import re
import socket
import threading
import time

import pytest

import liveshop_harness as h
from test_foundation import assert_error, put_offer

SAMPLE_DIR = os.path.join(h.REPO, "config-examples", "webhooks")
SAMPLE_FILES = {
    "standard": "standard-order.json",
    "shopify": "shopify-orders-paid.json",
    "woocommerce": "woocommerce-order.json",
    "stripe": "stripe-checkout-session-completed.json",
}
SECRETS = h.new_webhook_secrets()
WH_CONF = {"journal": True, "webhooks": SECRETS, "sse_ping": "1s"}
SSE_TIMEOUT = 10
MIB = 1024 * 1024

# The personal data the samples carry: none of it may be kept.
PII_KEYS = {"email", "contact_email", "customer_email", "first_name",
            "last_name", "name", "phone", "address1", "address2",
            "address_1", "address_2", "line1", "line2", "city", "zip",
            "postcode", "postal_code", "browser_ip", "customer_ip_address",
            "customer_note", "note", "company"}
# Keys whose "name" is a product's or a shop's, not a person's.
NOT_PERSONAL_PARENTS = {"line_items", "shipping_lines", "note_attributes",
                        "tax_lines", "meta_data"}
# Markers put into the personal fields of every rewritten payload.
MARK_EMAIL = "zq.pii.marker@example.invalid"
MARK_NAME = "Zyqxwerta"
MARK_STREET = "Qwzrtgasse 97"
MARK_PHONE = "+49 999 7364519"


_order_no = [random.randrange(10 ** 6, 9 * 10 ** 6) * 100]
_no_lock = threading.Lock()


def new_order_id():
    with _no_lock:
        _order_no[0] += 1
        return str(_order_no[0])


def D(s):
    return decimal.Decimal(s)


def money(v):
    return str(D(v).quantize(D("0.01")))


# --------------------------------------------------------------------------
# the samples, rewritten for a test


def load_sample(provider):
    path = os.path.join(SAMPLE_DIR, SAMPLE_FILES[provider])
    assert os.path.isfile(path), "sample payload %s missing" % path
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def personal_strings(obj, parent=None):
    """The personal values of a sample (see PII_KEYS), >= 4 characters."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            # short numbers (post codes) could be part of an id by chance
            if k in PII_KEYS and isinstance(v, str) and len(v) >= 4 and \
                    not (v.isdigit() and len(v) < 8) and \
                    not v.startswith("#") and \
                    parent not in NOT_PERSONAL_PARENTS:
                out.add(v)
            out |= personal_strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            out |= personal_strings(v, parent)
    return out


def mark_personal(obj, parent=None):
    """Replaces the personal values of a payload by the markers."""
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            if isinstance(v, str) and parent not in NOT_PERSONAL_PARENTS:
                if "email" in k:
                    obj[k] = MARK_EMAIL
                elif k in ("first_name", "last_name", "name"):
                    obj[k] = MARK_NAME
                elif k in ("address1", "address_1", "line1"):
                    obj[k] = MARK_STREET
                elif k == "phone":
                    obj[k] = MARK_PHONE
            else:
                mark_personal(v, k)
    elif isinstance(obj, list):
        for v in obj:
            mark_personal(v, parent)
    return obj


ALL_PII = set()
for _p in SAMPLE_FILES:
    try:
        ALL_PII |= personal_strings(load_sample(_p))
    except AssertionError:
        pass
ALL_PII |= {MARK_EMAIL, MARK_NAME, MARK_STREET, MARK_PHONE}


class Order:
    """One delivery to make: the body (a dict, serialized once by the
    sender), its delivery id, and what the server must make of it."""

    def __init__(self, provider, body, delivery_id, order_id, stream, items):
        self.provider = provider
        self.body = body
        self.delivery_id = delivery_id
        self.order_id = order_id
        self.stream = stream
        self.items = items      # [(offer, quantity, amount str, currency)]
        self.raw = json.dumps(body, ensure_ascii=False).encode("utf-8")

    @property
    def units(self):
        return sum(q for _, q, _, _ in self.items)


def sample_items(provider):
    """The items each sample must map onto (config-examples/webhooks/
    README.md)."""
    if provider == "woocommerce":
        return [("sku-123", 2, "33.60", "EUR"), ("sku-9", 1, "20.59", "EUR")]
    if provider == "stripe":
        # 6448 shared 2:1, the remainder on the first: 42.99 + 21.49
        return [("sku-123", 2, "42.99", "EUR"), ("sku-9", 1, "21.49", "EUR")]
    return [("sku-123", 2, "39.98", "EUR"), ("sku-9", 1, "24.50", "EUR")]


def sample_order(provider, stream=None, sku_map=None, order_id=None,
                 delivery_id=None):
    """A shop's sample as it is, but for the stream, SKUs (sku_map:
    {"sku-123": "x", "sku-9": "y"}), order id and delivery id, which each
    test chooses; personal fields get the markers."""
    d = mark_personal(load_sample(provider))
    sku_map = sku_map or {}
    order_id = order_id or new_order_id()
    delivery_id = delivery_id or "dl-" + h.b64url(os.urandom(9))
    items = [(sku_map.get(s, s), q, a, c)
             for s, q, a, c in sample_items(provider)]
    if provider == "standard":
        d["order_id"] = order_id
        if stream:
            d["stream"] = stream
        for it in d["items"]:
            it["offer"] = sku_map.get(it["offer"], it["offer"])
        stream = d["stream"]
    elif provider == "shopify":
        d["id"] = int(order_id)
        d["admin_graphql_api_id"] = "gid://shopify/Order/%s" % order_id
        for a in d["note_attributes"]:
            if a["name"] == "liveshop_stream":
                stream = stream or a["value"]
                a["value"] = stream
        for li in d["line_items"]:
            if li.get("sku"):
                li["sku"] = sku_map.get(li["sku"], li["sku"])
    elif provider == "woocommerce":
        d["id"] = int(order_id)
        d["number"] = order_id
        for m in d["meta_data"]:
            if m["key"] == "liveshop_stream":
                stream = stream or m["value"]
                m["value"] = stream
        for li in d["line_items"]:
            if li.get("sku"):
                li["sku"] = sku_map.get(li["sku"], li["sku"])
    else:
        d["id"] = "evt_" + delivery_id.replace("-", "")
        delivery_id = d["id"]
        obj = d["data"]["object"]
        # the sample's session id is 66 characters, and the order id
        obj["payment_intent"] = "pi_" + order_id
        obj["id"] = "cs_live_" + (order_id + "x" * 58)[:58]
        meta = obj["metadata"]
        stream = stream or meta["liveshop_stream"]
        meta["liveshop_stream"] = stream
        meta["liveshop_items"] = ",".join(
            "%s:%s" % (sku_map.get(e.split(":")[0], e.split(":")[0]),
                       e.split(":")[1])
            for e in meta["liveshop_items"].split(","))
        order_id = obj["id"]
    return Order(provider, d, delivery_id, order_id, stream, items)


def make_order(provider, stream, items, order_id=None, delivery_id=None):
    """An order of items [(offer, quantity, unit price)] in EUR, in the
    shape of provider's sample (personal fields: the markers)."""
    order_id = order_id or new_order_id()
    delivery_id = delivery_id or "dl-" + h.b64url(os.urandom(9))
    want = [(o, q, money(D(p) * q), "EUR") for o, q, p in items]
    if provider == "standard":
        body = h.canonical_order(order_id, stream,
                                 [(o, q, a) for o, q, a, _ in want])
        return Order(provider, body, delivery_id, order_id, stream, want)
    d = mark_personal(load_sample(provider))
    if provider == "shopify":
        d["id"] = int(order_id)
        d["admin_graphql_api_id"] = "gid://shopify/Order/%s" % order_id
        d["note_attributes"] = [
            {"name": "gift_message", "value": "Alles Gute!"},
            {"name": "liveshop_stream", "value": stream}]
        tmpl = next(li for li in d["line_items"] if li.get("sku"))
        rest = [li for li in d["line_items"] if not li.get("sku")]
        lines = []
        for n, (o, q, p) in enumerate(items):
            li = copy.deepcopy(tmpl)
            li.update({"id": 9000 + n, "sku": o, "quantity": q,
                       "fulfillable_quantity": q, "price": p,
                       "name": "Product " + o, "title": "Product " + o})
            li["price_set"]["shop_money"]["amount"] = p
            li["price_set"]["presentment_money"]["amount"] = p
            lines.append(li)
        d["line_items"] = lines + rest
    elif provider == "woocommerce":
        d["id"] = int(order_id)
        d["number"] = order_id
        d["meta_data"] = [
            {"id": 1, "key": "_wc_order_attribution_source_type",
             "value": "utm"},
            {"id": 2, "key": "liveshop_stream", "value": stream}]
        tmpl = next(li for li in d["line_items"] if li.get("sku"))
        rest = [li for li in d["line_items"] if not li.get("sku")]
        lines = []
        for n, (o, q, p) in enumerate(items):
            li = copy.deepcopy(tmpl)
            tot = money(D(p) * q)
            li.update({"id": 9000 + n, "sku": o, "quantity": q,
                       "subtotal": tot, "total": tot, "price": float(p),
                       "name": "Product " + o})
            lines.append(li)
        d["line_items"] = lines + rest
    elif provider == "stripe":
        d["id"] = "evt_" + delivery_id.replace("-", "")
        delivery_id = d["id"]
        obj = d["data"]["object"]
        obj["id"] = "cs_test_" + order_id
        obj["payment_intent"] = "pi_" + order_id
        total = sum(int(D(a) * 100) for _, _, a, _ in want)
        obj["amount_total"] = obj["amount_subtotal"] = total
        obj["metadata"] = {
            "liveshop_stream": stream,
            "liveshop_items": ",".join(
                "%s:%d:%s" % (o, q, a) for o, q, a, _ in want)
            if len(want) > 1 else "%s:%d" % (want[0][0], want[0][1])}
        order_id = obj["id"]
    else:
        raise ValueError(provider)
    return Order(provider, d, delivery_id, order_id, stream, want)


# --------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def wh(request, module_so):
    """nginx (2 workers) with the journal and the four webhook locations,
    no publisher; shared by the tests of this file that do not restart
    nginx."""
    from conftest import _run_live
    yield from _run_live(request, module_so, publish=False, **WH_CONF)


def ok(r, status=200):
    assert r.status == status, "want %d, got %r" % (status, r)
    return r.json()


def send(ls, o, sender=None, **kw):
    """POSTs Order o to /hooks/PROVIDER, signed."""
    s = sender or ls.hook(o.provider)
    try:
        return s.send(o.raw, delivery_id=o.delivery_id, **kw)
    finally:
        if sender is None:
            s.close()


def check_json_answer(r):
    ctype = r.headers.get("Content-Type") or ""
    assert ctype.startswith("application/json"), \
        "answer without a JSON Content-Type: %r (%r)" % (ctype, r)
    return r.json()


def assert_accepted(r, o, sold=None, oversold=None):
    """200 {"ok":true,"duplicate":false,"order_id","stream","sold",
    "oversold"}: returns the body."""
    assert r.status == 200, "%s order %s: want 200, got %r" % (
        o.provider, o.order_id, r)
    b = check_json_answer(r)
    assert b.get("ok") is True and b.get("duplicate") is False, b
    assert b.get("order_id") == o.order_id, (b, o.order_id)
    assert b.get("stream") == o.stream, (b, o.stream)
    for k in ("sold", "oversold"):
        assert isinstance(b.get(k), int) and not isinstance(b[k], bool) \
            and b[k] >= 0, b
    assert b["sold"] + b["oversold"] == o.units, \
        "sold + oversold != the order's %d units: %r" % (o.units, b)
    if sold is not None:
        assert b["sold"] == sold, b
    if oversold is not None:
        assert b["oversold"] == oversold, b
    return b


def assert_duplicate(r, o):
    assert r.status == 200, "%s order %s again: want 200, got %r" % (
        o.provider, o.order_id, r)
    b = check_json_answer(r)
    assert b.get("ok") is True and b.get("duplicate") is True, \
        "a delivery sent again is not a duplicate: %r" % b
    assert b.get("order_id") == o.order_id, (b, o.order_id)
    return b


def assert_ignored(r, what):
    assert r.status == 200, "%s: want 200, got %r" % (what, r)
    b = check_json_answer(r)
    assert b.get("ok") is True, (what, b)
    assert isinstance(b.get("ignored"), str) and b["ignored"], \
        "%s: no \"ignored\" reason: %r" % (what, b)
    assert b.get("duplicate") is not False, \
        "%s: an ignored delivery looks accepted: %r" % (what, b)
    return b


def assert_unauthorized(r, what):
    assert r.status == 401, "%s: want 401, got %r" % (what, r)
    err = assert_error(r, 401)
    assert err["code"] == "unauthorized", "%s: %r" % (what, err)
    return err


def report_of(api):
    rep = ok(api.report())
    rep.pop("at", None)
    return rep


def report_offer(rep, oid):
    got = [o for o in rep["offers"] if o.get("offer_id") == oid]
    assert len(got) == 1, "report lists %s %d times: %r" % (oid, len(got),
                                                             rep)
    return got[0]


def journal_bytes(ls, stream):
    try:
        with open(ls.journal_path(stream), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def access_lines(ls):
    try:
        with open(ls.nginx.access_log) as f:
            return f.read().splitlines()
    except OSError:
        return []


def journal(ls, stream):
    return h.Journal(ls.journal_path(stream))


def snapshot(ls, stream):
    """What must not change: state (less its time), report (less its
    time), the catalog and the journal's bytes."""
    api = ls.api_for(stream)
    st = ok(api.state())
    st.pop("at", None)
    return {"state": st, "report": report_of(api),
            "offers": ok(api.offers()),
            "journal": journal_bytes(ls, stream)}


def assert_unchanged(ls, stream, before, what):
    after = snapshot(ls, stream)
    for k in ("state", "report", "offers"):
        assert after[k] == before[k], "%s changed the %s: %r -> %r" % (
            what, k, before[k], after[k])
    assert after["journal"] == before["journal"], \
        "%s changed the journal (%d -> %d bytes): %r" % (
            what, len(before["journal"]), len(after["journal"]),
            after["journal"][len(before["journal"]):][:300])


def order_lines(ls, stream, order_id=None, provider=None):
    out = []
    for rec in journal(ls, stream).orders:
        o = rec["order"]
        if order_id is not None and o.get("order_id") != order_id:
            continue
        if provider is not None and rec.get("provider") != provider:
            continue
        out.append(rec)
    return out


def check_order_line(rec, o):
    """The journal's order line of Order o: the canonical order."""
    assert rec.get("provider") == o.provider, rec
    h.parse_spec_time(rec.get("at"))
    order = rec["order"]
    assert order.get("order_id") == o.order_id, order
    assert order.get("stream") == o.stream, order
    got = [(i.get("offer"), i.get("quantity"), i.get("amount"),
            i.get("currency")) for i in order.get("items", [])]
    assert got == o.items, "order %s: items %r, want %r" % (
        o.order_id, got, o.items)


def assert_no_personal_data(where, data):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    leaks = sorted(s for s in ALL_PII if s in data)
    assert not leaks, "personal data of the shop's payload in %s: %r" % (
        where, leaks)


def sse_client(ls, stream, label):
    api = ls.api_for(stream)
    c = h.SseClient(ls.http_port, api.events_path(), label=label).start()
    c.wait_count(1, SSE_TIMEOUT, "the state message")
    return c


def events_of(msgs):
    return [m.json() for m in msgs if m.event != "state"]


def purchase_events(evs):
    return [(e["type"], e["data"]) for e in evs]


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


def test_nginx_t_accepts_webhook_locations(module_so):
    rc, out = _nginx_t(module_so, journal="/tmp/liveshop-t-journal",
                       webhooks=SECRETS)
    assert rc == 0, out
    # several locations of one provider, and a prefix location
    rc, out = _nginx_t(module_so, journal="/tmp/liveshop-t-journal",
                       webhooks=[("/a/shopify", "shopify", "s1"),
                                 ("/b/shopify", "shopify", "s2"),
                                 ("/in/", "standard", SECRETS["standard"])])
    assert rc == 0, out


def test_nginx_t_needs_the_journal(module_so):
    rc, out = _nginx_t(module_so, webhooks={"shopify": "s3cr3t"})
    assert rc != 0, "nginx -t accepted live_shop_webhook without " \
        "live_shop_journal:\n" + out
    assert "live_shop_webhook" in out, out


@pytest.mark.parametrize("line", [
    "live_shop_webhook paypal secret=abc;",
    "live_shop_webhook shopify;",
    "live_shop_webhook shopify secret=;",
    "live_shop_webhook shopify abc;",
    "live_shop_webhook;",
    "live_shop_webhook standard secret=whsec_%%%not-base64%%%;",
], ids=["unknown-provider", "no-secret", "empty-secret", "not-secret=",
        "no-args", "standard-not-base64"])
def test_nginx_t_rejects_bad_webhook_directives(module_so, line):
    rc, out = _nginx_t(module_so, journal="/tmp/liveshop-t-journal",
                       extra_server="location = /hooks/x { %s }" % line)
    assert rc != 0, "nginx -t accepted %r:\n%s" % (line, out)
    assert "live_shop_webhook" in out, out


def test_nginx_t_webhook_only_in_location(module_so):
    rc, out = _nginx_t(module_so, journal="/tmp/liveshop-t-journal",
                       extra_http="live_shop_webhook shopify secret=abc;")
    assert rc != 0, "live_shop_webhook accepted in http{}:\n" + out


# --------------------------------------------------------------------------
# each shop's sample


@pytest.mark.parametrize("provider", h.PROVIDERS)
def test_sample_accepted_events_report_no_personal_data(wh, provider):
    stream = "live/wh-sample-" + provider
    api = wh.api_for(stream)
    put_offer(api, h.offer("sku-123", stock=10, price="19.99"))
    put_offer(api, h.offer("sku-9", price="24.50"))
    c = sse_client(wh, stream, "sample-" + provider)
    try:
        o = sample_order(provider, stream=stream)
        size0 = len(journal_bytes(wh, stream))
        r = send(wh, o)
        assert_accepted(r, o, sold=3, oversold=0)
        # written before the answer
        recs = order_lines(wh, stream, o.order_id)
        assert len(recs) == 1, "order %s %d times in the journal" % (
            o.order_id, len(recs))
        check_order_line(recs[0], o)
        evs = recs[0].get("events")
        assert purchase_events(evs) == [
            ("purchase.completed", {"offer_id": "sku-123", "quantity": 2}),
            ("stock.changed", {"offer_id": "sku-123", "stock": 8}),
            ("purchase.completed", {"offer_id": "sku-9", "quantity": 1}),
        ], evs
        for e in evs:
            assert e["stream"] == stream and e["id"] == "%s:%d" % (
                stream, e["seq"]), e
            h.parse_spec_time(e["at"])
        seqs = [e["seq"] for e in evs]
        assert seqs == list(range(seqs[0], seqs[0] + 3)), seqs
        assert journal(wh, stream).events[-3:] == evs
        # SSE
        c.wait_seq(seqs[-1], SSE_TIMEOUT)
        time.sleep(0.2)
        got = events_of(c.messages)
        assert got == evs, "SSE %r != journal %r" % (got, evs)
        for m in c.messages[1:]:
            assert m.id == str(m.json()["seq"]) and \
                m.event == m.json()["type"], m
        # state and report
        st = ok(api.state())
        assert st["stock"].get("sku-123") == 8, st
        assert st["seq"] == seqs[-1], st
        rep = report_of(api)
        a, b = report_offer(rep, "sku-123"), report_offer(rep, "sku-9")
        it = dict((x[0], x) for x in o.items)
        for ro, oid, units in ((a, "sku-123", 2), (b, "sku-9", 1)):
            assert ro["orders"] == 1 and ro["units"] == units and \
                ro.get("oversold") == 0, ro
            assert isinstance(ro["revenue"], str) and \
                D(ro["revenue"]) == D(it[oid][2]), (ro, it[oid])
            assert ro["currency"] == "EUR", ro
        # the shop's personal data: nowhere
        assert len(journal_bytes(wh, stream)) > size0
        assert_no_personal_data("the journal", journal_bytes(wh, stream))
        assert_no_personal_data("the SSE events",
                                "".join(m.raw for m in c.messages))
        assert_no_personal_data("the report", json.dumps(
            report_of(api), ensure_ascii=False))
        with open(wh.nginx.error_log, "rb") as f:
            assert_no_personal_data("error.log", f.read())
    finally:
        c.close()


@pytest.mark.parametrize("provider", h.PROVIDERS)
def test_delivery_three_times_counts_once(wh, provider):
    stream = "live/wh-thrice-" + provider
    api = wh.api_for(stream)
    put_offer(api, h.offer("th-1", stock=20, price="19.99"))
    o = sample_order(provider, stream=stream,
                     sku_map={"sku-123": "th-1", "sku-9": "th-2"})
    s = wh.hook(provider)
    try:
        assert_accepted(send(wh, o, s), o, sold=3, oversold=0)
        before = snapshot(wh, stream)
        for n in (2, 3):
            # a retry: the same delivery, signed again (a new timestamp
            # for the providers that sign one)
            time.sleep(1.05 if n == 3 else 0)
            assert_duplicate(send(wh, o, s), o)
        assert_unchanged(wh, stream, before, "the same delivery again")
        # the same order id in another delivery: a duplicate too
        o2 = copy.copy(o)
        if provider == "stripe":
            body = copy.deepcopy(o.body)
            body["id"] = "evt_other" + h.b64url(os.urandom(6))
            o2 = Order(provider, body, body["id"], o.order_id, o.stream,
                       o.items)
        else:
            o2.delivery_id = "dl-other-" + h.b64url(os.urandom(6))
        assert_duplicate(send(wh, o2, s), o2)
        assert_unchanged(wh, stream, before, "the same order id again")
        assert len(order_lines(wh, stream, o.order_id)) == 1
        assert ok(api.state())["stock"]["th-1"] == 18
    finally:
        s.close()


def test_same_order_id_from_two_providers_counts_twice(wh):
    stream = "live/wh-two-providers"
    api = wh.api_for(stream)
    put_offer(api, h.offer("tp-1", price="5.00"))
    oid = new_order_id()
    a = make_order("standard", stream, [("tp-1", 1, "5.00")], order_id=oid)
    b = make_order("shopify", stream, [("tp-1", 1, "5.00")], order_id=oid)
    assert_accepted(send(wh, a), a)
    assert_accepted(send(wh, b), b)
    assert report_offer(report_of(api), "tp-1")["orders"] == 2


def test_concurrent_copies_in_both_workers_count_once(wh):
    """The same delivery 3 times into each worker at once: one counts."""
    stream = "live/wh-copies"
    api = wh.api_for(stream)
    put_offer(api, h.offer("cp-1", stock=5, price="3.00"))
    workers = wh.nginx.workers()
    assert len(workers) == 2
    for provider in h.PROVIDERS:
        o = make_order(provider, stream, [("cp-1", 1, "3.00")])
        hd = wh.hook(provider).headers(o.raw, o.delivery_id)
        conns = [h.connect_in_worker(wh.http_port, w, workers)
                 for w in workers for _ in range(3)]
        url = "http://127.0.0.1:%d/hooks/%s" % (wh.http_port, provider)
        answers = [None] * len(conns)
        gate = threading.Barrier(len(conns))

        def one(i):
            gate.wait(5)
            try:
                answers[i] = h.raw_http(conns[i], url, method="POST",
                                        headers=hd, body=o.raw, timeout=10)
            except Exception as e:  # noqa: BLE001 - reported below
                answers[i] = e
            finally:
                conns[i].close()
        ts = [threading.Thread(target=one, args=(i,))
              for i in range(len(conns))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        fresh = [a for a in answers if isinstance(a, h.Response) and
                 a.status == 200 and a.json().get("duplicate") is False]
        dups = [a for a in answers if isinstance(a, h.Response) and
                a.status == 200 and a.json().get("duplicate") is True]
        assert len(fresh) == 1 and len(dups) == len(conns) - 1, \
            "%s: %d copies at once in 2 workers: %r" % (provider, len(conns),
                                                        answers)
        assert len(order_lines(wh, stream, o.order_id, provider)) == 1
    assert ok(api.state())["stock"]["cp-1"] == 1
    assert report_offer(report_of(api), "cp-1")["orders"] == 4


# --------------------------------------------------------------------------
# signatures


def forge_variants(provider, o, secret):
    """(what, headers, body) of deliveries that must be refused: a body
    that is not the one signed, the wrong secret, a missing and a
    malformed signature header (and, for standard, a missing id or
    timestamp)."""
    sig_header = {"standard": "webhook-signature",
                  "shopify": "X-Shopify-Hmac-Sha256",
                  "woocommerce": "X-WC-Webhook-Signature",
                  "stripe": "Stripe-Signature"}[provider]
    good = h.webhook_headers(provider, secret, o.raw, o.delivery_id)
    if b'"quantity": 2' in o.raw:
        forged_body = o.raw.replace(b'"quantity": 2', b'"quantity": 20', 1)
    else:
        forged_body = o.raw.replace(b'"amount_total": 6448',
                                    b'"amount_total": 1', 1)
    assert forged_body != o.raw
    other = h.new_webhook_secrets()[provider]
    out = [
        ("forged body", good, forged_body),
        ("body with one more byte", good, o.raw + b" "),
        ("wrong secret", h.webhook_headers(provider, other, o.raw,
                                           o.delivery_id), o.raw),
        ("missing %s" % sig_header,
         {k: v for k, v in good.items() if k != sig_header}, o.raw),
        ("empty %s" % sig_header, dict(good, **{sig_header: ""}), o.raw),
    ]
    if provider == "standard":
        sig = good[sig_header]
        out += [
            ("missing webhook-id",
             {k: v for k, v in good.items() if k != "webhook-id"}, o.raw),
            ("missing webhook-timestamp",
             {k: v for k, v in good.items() if k != "webhook-timestamp"},
             o.raw),
            ("another webhook-id than signed",
             dict(good, **{"webhook-id": o.delivery_id + "x"}), o.raw),
            ("v2 instead of v1", dict(good, **{sig_header: "v2" + sig[2:]}),
             o.raw),
            ("signature not base64",
             dict(good, **{sig_header: "v1,***not base64***"}), o.raw),
            ("no version", dict(good, **{sig_header: sig[3:]}), o.raw),
            ("non-numeric timestamp",
             dict(good, **{"webhook-timestamp": "soon"}), o.raw),
        ]
    elif provider == "stripe":
        t, v1 = good[sig_header].split(",")
        out += [
            ("v1 only", dict(good, **{sig_header: v1}), o.raw),
            ("t only", dict(good, **{sig_header: t}), o.raw),
            ("v0 instead of v1",
             dict(good, **{sig_header: t + ",v0=" + v1[3:]}), o.raw),
            ("v1 not hex", dict(good, **{sig_header: t + ",v1=zz" + v1[5:]}),
             o.raw),
            ("another t than signed",
             dict(good, **{sig_header: "t=%d,%s" % (int(t[2:]) - 1, v1)}),
             o.raw),
        ]
    else:
        sig = good[sig_header]
        out += [
            ("hex instead of base64",
             dict(good, **{sig_header: base64.b64decode(sig).hex()}),
             o.raw),
            ("truncated signature", dict(good, **{sig_header: sig[:20]}),
             o.raw),
        ]
    return out


@pytest.mark.parametrize("provider", h.PROVIDERS)
def test_forged_wrong_secret_missing_header_401(wh, provider):
    stream = "live/wh-forged-" + provider
    api = wh.api_for(stream)
    put_offer(api, h.offer("fg-1", stock=10, price="19.99"))
    put_offer(api, h.offer("fg-2", price="24.50"))
    # something in the journal first, so "nothing changes" is about bytes
    pre = make_order(provider, stream, [("fg-2", 1, "24.50")])
    assert_accepted(send(wh, pre), pre)
    o = sample_order(provider, stream=stream,
                     sku_map={"sku-123": "fg-1", "sku-9": "fg-2"})
    before = snapshot(wh, stream)
    s = wh.hook(provider)
    try:
        for what, hd, body in forge_variants(provider, o, SECRETS[provider]):
            r = s.raw("POST", body, hd)
            assert_unauthorized(r, "%s: %s" % (provider, what))
            assert_unchanged(wh, stream, before, "%s: %s" % (provider, what))
        # the refused deliveries did not use the delivery id up
        assert_accepted(send(wh, o, s), o, sold=3, oversold=0)
    finally:
        s.close()


@pytest.mark.parametrize("provider", ["standard", "stripe"])
def test_stale_or_future_timestamp_401(wh, provider):
    stream = "live/wh-stale-" + provider
    api = wh.api_for(stream)
    put_offer(api, h.offer("sl-1", stock=10, price="2.00"))
    o = make_order(provider, stream, [("sl-1", 1, "2.00")])
    before = snapshot(wh, stream)
    s = wh.hook(provider)
    try:
        for off in (-301 - 5, -3600, -86400 * 400, 61 + 5, 3600):
            r = send(wh, o, s, ts=time.time() + off)
            assert_unauthorized(r, "%s: timestamp %+d s" % (provider, off))
            assert_unchanged(wh, stream, before, "timestamp %+d s" % off)
        # inside the window
        assert_accepted(send(wh, o, s, ts=time.time() - 280), o)
        o2 = make_order(provider, stream, [("sl-1", 1, "2.00")])
        assert_accepted(send(wh, o2, s, ts=time.time() + 45), o2)
    finally:
        s.close()


def test_standard_several_signatures(wh):
    """Standard Webhooks: space-separated signatures while keys rotate;
    one that matches is enough."""
    stream = "live/wh-multisig"
    api = wh.api_for(stream)
    put_offer(api, h.offer("ms-1", price="1.00"))
    s = wh.hook("standard")
    try:
        o = make_order("standard", stream, [("ms-1", 1, "1.00")])
        ts = int(time.time())
        good = h.sign_standard(SECRETS["standard"], o.delivery_id, ts, o.raw)
        bad = h.sign_standard(h.new_standard_secret(), o.delivery_id, ts,
                              o.raw)
        before = snapshot(wh, stream)
        hd = h.webhook_headers("standard", SECRETS["standard"], o.raw,
                               o.delivery_id, ts)
        r = s.raw("POST", o.raw, dict(hd, **{"webhook-signature":
                                             bad + " " + bad[:-4] + "AAA="}))
        assert_unauthorized(r, "two wrong signatures")
        assert_unchanged(wh, stream, before, "two wrong signatures")
        r = s.raw("POST", o.raw, dict(hd, **{"webhook-signature":
                                             bad + " " + good}))
        assert_accepted(r, o)
        o2 = make_order("standard", stream, [("ms-1", 1, "1.00")])
        hd = h.webhook_headers("standard", SECRETS["standard"], o2.raw,
                               o2.delivery_id, ts)
        sig = hd["webhook-signature"]
        r = s.raw("POST", o2.raw, dict(hd, **{
            "webhook-signature": sig + " v1a," + sig[3:] + " " + bad}))
        assert_accepted(r, o2)
    finally:
        s.close()


def test_stripe_several_signatures(wh):
    """Stripe sends a v1 per secret while one is being rolled."""
    stream = "live/wh-multisig-stripe"
    api = wh.api_for(stream)
    put_offer(api, h.offer("ms-1", price="1.00"))
    s = wh.hook("stripe")
    try:
        o = make_order("stripe", stream, [("ms-1", 1, "1.00")])
        ts = int(time.time())
        good = h.sign_stripe(SECRETS["stripe"], ts, o.raw).split(",")[1]
        bad = h.sign_stripe("whsec_old", ts, o.raw).split(",")[1]
        before = snapshot(wh, stream)
        hd = h.webhook_headers("stripe", SECRETS["stripe"], o.raw, None, ts)
        r = s.raw("POST", o.raw, dict(hd, **{
            "Stripe-Signature": "t=%d,%s,%s" % (ts, bad, bad)}))
        assert_unauthorized(r, "two wrong v1")
        assert_unchanged(wh, stream, before, "two wrong v1")
        r = s.raw("POST", o.raw, dict(hd, **{
            "Stripe-Signature": "t=%d,%s,%s,v0=%s" % (ts, bad, good,
                                                     "00" * 32)}))
        assert_accepted(r, o)
    finally:
        s.close()


@pytest.mark.parametrize("flow", ["shopify-create-then-paid",
                                  "woocommerce-created-then-updated",
                                  "stripe-completed-then-async-succeeded"])
def test_one_order_in_two_notifications_counts_once(wh, flow):
    """Shops notify one order more than once (created, then paid or
    updated): the order id makes the second a duplicate."""
    stream = "live/wh-2notes-" + flow.split("-")[0]
    api = wh.api_for(stream)
    put_offer(api, h.offer("tn-1", stock=9, price="3.00"))
    o = make_order(flow.split("-")[0], stream, [("tn-1", 2, "3.00")])
    s = wh.hook(o.provider)
    try:
        if o.provider == "shopify":
            assert_accepted(send(wh, o, s, topic="orders/create"), o)
            o2 = copy.copy(o)
            o2.delivery_id = "dl-paid-" + o.delivery_id
            assert_duplicate(send(wh, o2, s, topic="orders/paid"), o2)
        elif o.provider == "woocommerce":
            assert_accepted(send(wh, o, s, topic="order.created"), o)
            body = copy.deepcopy(o.body)
            body["status"] = "completed"
            o2 = Order(o.provider, body, "dl-upd-" + o.delivery_id,
                       o.order_id, o.stream, o.items)
            assert_duplicate(send(wh, o2, s, topic="order.updated"), o2)
        else:
            assert_accepted(send(wh, o, s), o)
            body = copy.deepcopy(o.body)
            body["id"] = "evt_async" + h.b64url(os.urandom(6))
            body["type"] = "checkout.session.async_payment_succeeded"
            o2 = Order(o.provider, body, body["id"], o.order_id, o.stream,
                       o.items)
            assert_duplicate(send(wh, o2, s), o2)
    finally:
        s.close()
    assert ok(api.state())["stock"]["tn-1"] == 7
    assert report_offer(report_of(api), "tn-1")["orders"] == 1


# --------------------------------------------------------------------------
# bodies


WRONG_TYPE = {
    # provider: (change to the body, the field the 400 names)
    "standard": (lambda d: d["items"][0].update(quantity="2"),
                 "items[0].quantity"),
    "shopify": (lambda d: d["line_items"][0].update(quantity="two"),
                "line_items[0].quantity"),
    "woocommerce": (lambda d: d["line_items"][0].update(quantity=[2]),
                    "line_items[0].quantity"),
    "stripe": (lambda d: d["data"]["object"].update(amount_total="6448"),
               "data.object.amount_total"),
}


@pytest.mark.parametrize("provider", h.PROVIDERS)
def test_malformed_json_400(wh, provider):
    stream = "live/wh-badjson-" + provider
    api = wh.api_for(stream)
    put_offer(api, h.offer("bj-1", stock=10, price="19.99"))
    o = sample_order(provider, stream=stream,
                     sku_map={"sku-123": "bj-1", "sku-9": "bj-2"})
    before = snapshot(wh, stream)
    s = wh.hook(provider)
    try:
        for what, raw in (("cut short", o.raw[:len(o.raw) // 2]),
                          ("not JSON", b"{not json"),
                          ("an array", b"[1,2,3]"),
                          ("empty", b""),
                          ("invalid UTF-8 in the stream", o.raw.replace(
                              b"wh-badjson", b"wh-bad\xffjson", 1))):
            r = s.send(raw, delivery_id="bad-" + h.b64url(os.urandom(6)))
            err = assert_error(r, 400)
            assert isinstance(err.get("field"), str), \
                "%s %s: the 400 has no field: %r" % (provider, what, err)
            assert_unchanged(wh, stream, before, "%s: %s" % (provider, what))
        change, field = WRONG_TYPE[provider]
        body = copy.deepcopy(o.body)
        change(body)
        r = s.send(body, delivery_id="bad-" + h.b64url(os.urandom(6)))
        assert_error(r, 400, field=field)
        assert_unchanged(wh, stream, before, "%s: %s of the wrong type"
                         % (provider, field))
    finally:
        s.close()


def ignored_cases(stream):
    """(provider, what, body, topic) acknowledged and not counted."""
    out = []

    def sh(change, topic="orders/paid", what=""):
        o = make_order("shopify", stream, [("ig-1", 1, "1.00")])
        change(o.body)
        out.append(("shopify", what, o, topic))

    def wc(change, topic="order.created", what=""):
        o = make_order("woocommerce", stream, [("ig-1", 1, "1.00")])
        change(o.body)
        out.append(("woocommerce", what, o, topic))

    def st(change, what=""):
        o = make_order("stripe", stream, [("ig-1", 1, "1.00")])
        change(o.body)
        out.append(("stripe", what, o, None))

    def sd(change, what=""):
        o = make_order("standard", stream, [("ig-1", 1, "1.00")])
        change(o.body)
        out.append(("standard", what, o, None))

    # (order.refunded is read: test_commissions.py)
    sd(lambda d: d.update(type="order.cancelled"), "standard order.cancelled")
    sh(lambda d: None, "orders/cancelled", "shopify orders/cancelled")
    sh(lambda d: None, "orders/updated", "shopify orders/updated, no refunds")
    sh(lambda d: d.update(financial_status="pending"), "orders/create",
       "shopify orders/create not paid")
    sh(lambda d: d.update(note_attributes=[]), what="shopify no stream")
    sh(lambda d: [li.update(sku=None) for li in d["line_items"]],
       what="shopify no SKU")
    wc(lambda d: d.update(status="pending"), what="woocommerce pending")
    wc(lambda d: d.update(status="on-hold"), "order.updated",
       "woocommerce on-hold")
    wc(lambda d: None, "order.deleted", "woocommerce order.deleted")
    wc(lambda d: d.update(meta_data=[]), what="woocommerce no stream")
    st(lambda d: d.update(type="payment_intent.succeeded"),
       "stripe payment_intent.succeeded")
    st(lambda d: d.update(type="charge.refunded"), "stripe charge.refunded")
    st(lambda d: d["data"]["object"].update(payment_status="unpaid"),
       "stripe unpaid")
    st(lambda d: d["data"]["object"].update(metadata={}),
       "stripe no metadata")
    for _p, _w, o, _t in out:
        o.raw = json.dumps(o.body, ensure_ascii=False).encode("utf-8")
    return out


def test_ignored_deliveries_are_acknowledged(wh):
    stream = "live/wh-ignored"
    api = wh.api_for(stream)
    put_offer(api, h.offer("ig-1", stock=5, price="1.00"))
    before = snapshot(wh, stream)
    for provider, what, o, topic in ignored_cases(stream):
        s = wh.hook(provider)
        try:
            r = s.send(o.raw, delivery_id=o.delivery_id, topic=topic)
        finally:
            s.close()
        assert_ignored(r, what)
        assert_unchanged(wh, stream, before, what)


def test_woocommerce_ping_is_acknowledged(wh):
    """Saving a webhook in WooCommerce sends an unsigned "webhook_id=N"
    and shows the shop owner any non-2xx as a failed setup: it gets 200
    and changes nothing; anything else unsigned stays 401."""
    stream = "live/wh-ping"
    api = wh.api_for(stream)
    put_offer(api, h.offer("pg-1", stock=5, price="1.00"))
    before = snapshot(wh, stream)
    url = "http://127.0.0.1:%d/hooks/woocommerce" % wh.http_port
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = h.http_request(url, "POST", b"webhook_id=17", form)
    assert r.status == 200, r
    assert r.json() == {"ok": True, "ignored": "ping"}, r
    for body, headers in ((b"webhook_id=17&x=1", form),
                          (b'{"webhook_id":17}', {}),
                          (b"webhook_id=17",
                           dict(form, **{"X-WC-Webhook-Signature": "AAAA"}))):
        assert_error(h.http_request(url, "POST", body, headers), 401)
    # another shop's location knows no such ping
    r = h.http_request("http://127.0.0.1:%d/hooks/shopify" % wh.http_port,
                       "POST", b"webhook_id=17", form)
    assert_error(r, 401)
    assert_unchanged(wh, stream, before, "the ping")


def test_not_post_is_405(wh):
    base = "http://127.0.0.1:%d" % wh.http_port
    for provider in h.PROVIDERS:
        for method in ("GET", "PUT", "DELETE"):
            r = h.http_request(base + "/hooks/" + provider, method,
                               b"" if method != "GET" else None)
            assert_error(r, 405)
            assert "POST" in (r.headers.get("Allow") or ""), r.headers


def big_order(stream, size):
    """A signed-able standard order of exactly size bytes (padded with
    blanks inside the JSON object)."""
    o = make_order("standard", stream, [("sz-1", 1, "1.00")])
    raw = o.raw[:-1] + b" " * (size - len(o.raw)) + b"}"
    assert len(raw) == size
    o.raw = raw
    return o


@pytest.mark.parametrize("chunked", [False, True],
                         ids=["content-length", "chunked"])
def test_body_over_1_mib_is_413(wh, chunked):
    stream = "live/wh-size-" + ("chunked" if chunked else "cl")
    api = wh.api_for(stream)
    put_offer(api, h.offer("sz-1", price="1.00"))
    before = snapshot(wh, stream)
    o = big_order(stream, MIB + 1)
    s = wh.hook("standard")
    try:
        if chunked:
            r = chunked_post(wh.http_port, "/hooks/standard", o.raw,
                             s.headers(o.raw, o.delivery_id))
        else:
            r = s.send(o.raw, delivery_id=o.delivery_id)
        assert r.status == 413, "a body of 1 MiB + 1 byte: %r" % r
        assert_error(r, 413)
        assert_unchanged(wh, stream, before, "a body over 1 MiB")
    finally:
        s.close()


@pytest.mark.parametrize("chunked", [False, True],
                         ids=["content-length", "chunked"])
def test_body_of_1_mib_is_accepted(wh, chunked):
    stream = "live/wh-1mib-" + ("chunked" if chunked else "cl")
    api = wh.api_for(stream)
    put_offer(api, h.offer("sz-1", price="1.00"))
    o = big_order(stream, MIB)
    s = wh.hook("standard")
    try:
        if chunked:
            r = chunked_post(wh.http_port, "/hooks/standard", o.raw,
                             s.headers(o.raw, o.delivery_id))
        else:
            r = s.send(o.raw, delivery_id=o.delivery_id)
        assert_accepted(r, o)
    finally:
        s.close()


def chunked_post(port, path, body, headers, chunk=64 * 1024):
    """POST with Transfer-Encoding: chunked over HTTP/1.1, Connection:
    close; returns a Response."""
    lines = ["POST %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
             "Transfer-Encoding: chunked", "Connection: close"]
    lines += ["%s: %s" % kv for kv in headers.items()]
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for i in range(0, len(body), chunk):
                part = body[i:i + chunk]
                sock.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass    # the server may answer and close before the end
        data = b""
        while True:
            try:
                b = sock.recv(65536)
            except OSError:
                break
            if not b:
                break
            data += b
    finally:
        sock.close()
    head, _, content = data.partition(b"\r\n\r\n")
    hl = head.decode("iso-8859-1").split("\r\n")
    hdrs = email.message.Message()
    for ln in hl[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip()] = v.strip()
    if (hdrs.get("Transfer-Encoding") or "").lower() == "chunked":
        out, rest = b"", content
        while True:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        content = out
    return h.Response(int(hl[0].split()[1]), hdrs, content)


# --------------------------------------------------------------------------
# stock


def test_offer_not_in_catalog_sells_every_unit(wh):
    stream = "live/wh-ghost"
    api = wh.api_for(stream)
    put_offer(api, h.offer("gh-known", stock=1, price="2.00"))
    o = make_order("standard", stream, [("gh-ghost", 3, "4.00"),
                                        ("gh-known", 2, "2.00")])
    assert_accepted(send(wh, o), o, sold=4, oversold=1)
    rec = order_lines(wh, stream, o.order_id)[0]
    assert purchase_events(rec["events"]) == [
        ("purchase.completed", {"offer_id": "gh-ghost", "quantity": 3}),
        ("purchase.completed", {"offer_id": "gh-known", "quantity": 1}),
        ("stock.changed", {"offer_id": "gh-known", "stock": 0}),
        ("offer.sold_out", {"offer_id": "gh-known"}),
    ], rec["events"]
    st = ok(api.state())
    assert "gh-ghost" not in st["stock"], st
    assert st["stock"]["gh-known"] == 0
    rep = report_of(api)
    g, k = report_offer(rep, "gh-ghost"), report_offer(rep, "gh-known")
    assert (g["orders"], g["units"], g.get("oversold")) == (1, 3, 0), g
    assert D(g["revenue"]) == D("12.00"), g
    assert (k["orders"], k["units"], k.get("oversold")) == (1, 2, 1), k
    assert D(k["revenue"]) == D("4.00"), k


def test_units_beyond_the_stock_are_oversold(wh):
    stream = "live/wh-oversold"
    api = wh.api_for(stream)
    put_offer(api, h.offer("ov-1", stock=2, price="10.00"))
    seq0 = ok(api.state())["seq"]
    o = make_order("shopify", stream, [("ov-1", 5, "10.00")])
    assert_accepted(send(wh, o), o, sold=2, oversold=3)
    o2 = make_order("woocommerce", stream, [("ov-1", 1, "10.00")])
    assert_accepted(send(wh, o2), o2, sold=0, oversold=1)
    evs = [e for e in journal(wh, stream).events if e["seq"] > seq0]
    assert purchase_events(evs) == [
        ("purchase.completed", {"offer_id": "ov-1", "quantity": 2}),
        ("stock.changed", {"offer_id": "ov-1", "stock": 0}),
        ("offer.sold_out", {"offer_id": "ov-1"}),
    ], evs
    assert order_lines(wh, stream, o2.order_id)[0].get("events") in \
        ([], None)
    assert ok(api.state())["stock"]["ov-1"] == 0
    r = report_offer(report_of(api), "ov-1")
    assert (r["orders"], r["units"], r.get("oversold")) == (2, 6, 4), r
    assert D(r["revenue"]) == D("60.00"), r
    # restocking and buying again
    put_offer(api, h.offer("ov-1", stock=1, price="10.00"))
    o3 = make_order("stripe", stream, [("ov-1", 1, "10.00")])
    assert_accepted(send(wh, o3), o3, sold=1, oversold=0)
    assert ok(api.state())["stock"]["ov-1"] == 0


def test_50_concurrent_purchases_of_10_units(wh):
    """50 orders of one unit, standard provider, 10 threads, an offer with
    stock 10: 10 sold, 40 oversold, offer.sold_out last, report adds up."""
    stream = "live/wh-race"
    api = wh.api_for(stream)
    amount = "19.99"
    put_offer(api, h.offer("race-1", stock=10, price=amount))
    seq0 = ok(api.state())["seq"]
    c = sse_client(wh, stream, "race")
    orders = [make_order("standard", stream, [("race-1", 1, amount)])
              for _ in range(50)]
    answers = {}
    errors = []
    gate = threading.Barrier(10)
    workers = wh.nginx.workers()
    assert len(workers) == 2
    # 5 keep-alive connections in each worker: the stock is shared
    senders = [wh.hook("standard", worker=workers[t % 2]) for t in range(10)]
    log0 = len(access_lines(wh))

    def client(t):
        s = senders[t]
        try:
            gate.wait(10)
            for o in orders[t::10]:
                r = send(wh, o, s)
                answers[o.order_id] = r
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("thread %d: %r" % (t, e))
        finally:
            s.close()
    try:
        ts = [threading.Thread(target=client, args=(t,)) for t in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors
        bodies = [assert_accepted(answers[o.order_id], o) for o in orders]
        lines = h.wait_for(lambda: (lambda ls_: ls_ if len(ls_) >= 50
                                    else None)(
            [ln for ln in access_lines(wh)[log0:]
             if "/hooks/standard" in ln]), 3, 0.01, "50 access log lines")
        served = {int(ln.split()[0]) for ln in lines}
        assert served == set(workers), \
            "the 50 orders were not served by both workers: %r" % served
        sold = sum(b["sold"] for b in bodies)
        over = sum(b["oversold"] for b in bodies)
        assert (sold, over) == (10, 40), \
            "sold %d, oversold %d of 50 units of a stock of 10" % (sold, over)
        # the journal
        j = journal(wh, stream)
        assert not j.bad and j.torn == b"", (j.bad[:3], j.torn[:200])
        evs = [e for e in j.events if e["seq"] > seq0]
        assert [e["seq"] for e in evs] == list(
            range(seq0 + 1, seq0 + 1 + len(evs))), [e["seq"] for e in evs]
        types = [e["type"] for e in evs]
        assert types.count("purchase.completed") == 10, types
        assert types.count("stock.changed") == 10, types
        assert types.count("offer.sold_out") == 1, types
        assert types[-1] == "offer.sold_out", types
        assert all(e["data"]["quantity"] == 1 for e in evs
                   if e["type"] == "purchase.completed"), evs
        stocks = [e["data"]["stock"] for e in evs
                  if e["type"] == "stock.changed"]
        assert stocks == list(range(9, -1, -1)), stocks
        recs = [r for r in j.orders if r["order"]["stream"] == stream]
        assert sorted(r["order"]["order_id"] for r in recs) == \
            sorted(o.order_id for o in orders)
        # the answers and the order lines tell the same
        by_id = {r["order"]["order_id"]: r for r in recs}
        for o, b in zip(orders, bodies):
            n = sum(e["data"]["quantity"] for e in by_id[o.order_id]["events"]
                    if e["type"] == "purchase.completed")
            assert n == b["sold"], (o.order_id, b, by_id[o.order_id])
        # SSE: the same, sold_out last
        c.wait(lambda cl: any(m.event == "offer.sold_out"
                              for m in cl.messages), SSE_TIMEOUT,
               "offer.sold_out")
        time.sleep(0.5)
        assert events_of(c.messages) == evs
        assert c.messages[-1].event == "offer.sold_out"
        # state and report
        assert ok(api.state())["stock"]["race-1"] == 0
        r = report_offer(report_of(api), "race-1")
        assert (r["orders"], r["units"], r.get("oversold")) == \
            (50, 50, 40), r
        assert D(r["revenue"]) == 50 * D(amount), r
    finally:
        c.close()


def test_journal_write_failure_is_503(make_setup):
    """A stream whose journal cannot be written: 503, and the shop's
    retry once it can is counted (not a duplicate)."""
    wh = make_setup(**WH_CONF)
    # the module may well log the failure as [crit]: that is expected here
    wh.nginx.allow_log.append(re.compile(r"jfail"))
    app_dir = os.path.join(wh.journal_dir, "jfail")
    with open(app_dir, "w") as f:
        f.write("not a directory\n")
    stream = "jfail/x"
    try:
        o = make_order("standard", stream, [("jf-1", 1, "1.00")])
        r = send(wh, o)
        assert_error(r, 503)
    finally:
        os.unlink(app_dir)
    assert_accepted(send(wh, o), o, sold=1, oversold=0)
    assert len(order_lines(wh, stream, o.order_id)) == 1


# --------------------------------------------------------------------------
# RTMP


def test_purchase_events_reach_rtmp(make_setup):
    ls = make_setup(publish=True, **WH_CONF)
    api = ls.api
    put_offer(api, h.offer("rt-1", stock=1, price="9.00"))
    sub = ls.subscribe(label="wh-rtmp")
    sub.wait(lambda s: s.cues, 25, "the state cue")
    o = make_order("woocommerce", h.STREAM, [("rt-1", 2, "9.00")])
    assert_accepted(send(ls, o), o, sold=1, oversold=1)
    evs = order_lines(ls, h.STREAM, o.order_id)[0]["events"]
    assert [e["type"] for e in evs] == ["purchase.completed",
                                        "stock.changed", "offer.sold_out"]
    for e in evs:
        cue = sub.wait_cue(lambda cc, e=e: cc.seq == str(e["seq"]), 15,
                           "the cue of %s" % e["id"])
        assert cue.name == e["type"] and cue.json == e, (cue, e)
        assert_no_personal_data("an RTMP cue", cue.json_text)


# --------------------------------------------------------------------------
# restarts


def test_duplicates_after_restart(make_setup):
    ls = make_setup(**WH_CONF)
    stream = "live/wh-restart"
    api = ls.api_for(stream)
    put_offer(api, h.offer("rs-1", stock=100, price="1.50"))
    orders = []
    for provider in h.PROVIDERS:
        o = make_order(provider, stream, [("rs-1", 2, "1.50")])
        assert_accepted(send(ls, o), o, sold=2, oversold=0)
        orders.append(o)
    before = snapshot(ls, stream)
    for how in ("stop", "kill9"):
        if how == "stop":
            ls.nginx.ctl_stop()
        else:
            ls.nginx.kill9()
        ls.nginx.start()
        for o in orders:
            assert_duplicate(send(ls, o), o)
        assert_unchanged(ls, stream, before, "deliveries again after "
                         "nginx -s stop" if how == "stop" else
                         "deliveries again after kill -9")
    assert ok(api.state())["stock"]["rs-1"] == 92


def build_load_orders(stream, n):
    """n orders, provider by turn; each buys one unit of ld-0..ld-3
    (unlimited) and every fifth one unit of ld-s (stock 300) too."""
    out = []
    for i in range(n):
        items = [("ld-%d" % (i % 4), 1, "2.50")]
        if i % 5 == 0:
            items.append(("ld-s", 1, "1.00"))
        out.append(make_order(h.PROVIDERS[i % 4], stream, items))
    return out


def run_clients(ls, orders, nthreads, on_answer, stop):
    """Sends orders from nthreads threads over keep-alive connections.
    on_answer(order, Response or Exception); a thread ends at its first
    connection error or when stop is set. Returns the orders not sent."""
    nxt = [0]
    lock = threading.Lock()
    unsent = []

    def client(t):
        senders = {p: ls.hook(p) for p in h.PROVIDERS}
        try:
            while True:
                with lock:
                    i = nxt[0]
                    if i >= len(orders) or stop.is_set():
                        return
                    nxt[0] += 1
                o = orders[i]
                try:
                    r = senders[o.provider].send(o.raw,
                                                 delivery_id=o.delivery_id)
                except Exception as e:  # noqa: BLE001 - nginx was killed
                    on_answer(o, e)
                    return
                on_answer(o, r)
        finally:
            for s in senders.values():
                s.close()
    ts = [threading.Thread(target=client, args=(t,))
          for t in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    unsent.extend(orders[nxt[0]:])
    return unsent


def test_2000_orders_with_kill9_in_the_middle(make_setup):
    t_start = time.monotonic()
    ls = make_setup(**WH_CONF)
    stream = "live/wh-load"
    api = ls.api_for(stream)
    for i in range(4):
        put_offer(api, h.offer("ld-%d" % i, price="2.50"))
    put_offer(api, h.offer("ld-s", stock=300, price="1.00"))
    orders = build_load_orders(stream, 2000)
    by_id = {o.order_id: o for o in orders}
    assert len(by_id) == 2000

    acked = {}              # order id -> answer body
    failed = {}             # order id -> what came instead of a 2xx
    lock = threading.Lock()
    stop = threading.Event()

    def on_answer(o, r):
        with lock:
            if isinstance(r, h.Response) and 200 <= r.status < 300:
                acked[o.order_id] = r.json()
            else:
                failed[o.order_id] = r

    killer_done = threading.Event()
    killed = []

    def killer():
        try:
            h.wait_for(lambda: len(acked) >= 900, 90, 0.002,
                       "900 acknowledged orders")
            killed.extend(ls.nginx.kill9())
        finally:
            stop.set()
            killer_done.set()
    kt = threading.Thread(target=killer)
    kt.start()
    t0 = time.monotonic()
    unsent = run_clients(ls, orders, 8, on_answer, stop)
    kt.join(100)
    t_first = time.monotonic() - t0
    assert killer_done.is_set() and killed, "nginx was not killed"
    assert all(h.proc_state(p) in (None, "Z", "X") for p in killed)
    http_errors = {k: v for k, v in failed.items()
                   if isinstance(v, h.Response)}
    assert not http_errors, "answers other than 2xx before the kill: %r" % (
        list(http_errors.items())[:5])
    for oid, b in acked.items():
        o = by_id[oid]
        assert b.get("ok") is True and b.get("duplicate") is False and \
            b.get("order_id") == o.order_id and \
            b["sold"] + b["oversold"] == o.units, (o.provider, b)
    print("load: %d acknowledged in %.2f s (%.0f orders/s), %d cut off by "
          "kill -9, %d not sent" % (len(acked), t_first,
                                    len(acked) / t_first, len(failed),
                                    len(unsent)))
    assert len(acked) >= 900

    # the journal as kill -9 left it: every acknowledged order exactly once
    j = journal(ls, stream)
    assert not j.bad, "unreadable journal lines: %r" % j.bad[:3]
    ids = [r["order"]["order_id"] for r in j.orders]
    dup = sorted({i for i in ids if ids.count(i) > 1}) if \
        len(ids) != len(set(ids)) else []
    assert not dup, "orders twice in the journal: %r" % dup[:10]
    missing = sorted(set(acked) - set(ids))
    assert not missing, "%d acknowledged orders not in the journal after " \
        "kill -9: %r" % (len(missing), missing[:10])
    stray = set(ids) - set(by_id)
    assert not stray, stray
    in_journal = set(ids)
    print("journal after kill -9: %d orders (%d acknowledged, %d written "
          "but not answered), torn tail %d bytes" % (
              len(ids), len(acked), len(in_journal - set(acked)),
              len(j.torn)))

    # restart; the shop retries what got no 2xx, and a sample of the rest
    ls.nginx.start()
    retry = [o for o in orders if o.order_id not in acked]
    sample = random.Random(7).sample(sorted(acked), min(200, len(acked)))
    retry += [by_id[i] for i in sample]
    random.Random(8).shuffle(retry)
    second = {}
    second_fail = {}

    def on_retry(o, r):
        with lock:
            if isinstance(r, h.Response) and r.status == 200:
                second[o.order_id] = r.json()
            else:
                second_fail[o.order_id] = r
    left = run_clients(ls, retry, 8, on_retry, threading.Event())
    assert not left and not second_fail, "retries failed: %r" % (
        list(second_fail.items())[:5])
    wrong = []
    for o in retry:
        b = second[o.order_id]
        want_dup = o.order_id in in_journal
        if b.get("ok") is not True or b.get("duplicate") is not want_dup or \
                b.get("order_id") != o.order_id:
            wrong.append((o.provider, o.order_id,
                          "acknowledged" if o.order_id in acked else
                          "written, unanswered" if want_dup else "new", b))
    assert not wrong, "%d retries answered wrongly, e.g. %r" % (
        len(wrong), wrong[:5])

    # every order exactly once, the events in order, the numbers add up
    j = journal(ls, stream)
    assert not j.bad, j.bad[:3]
    ids = [r["order"]["order_id"] for r in j.orders]
    assert len(ids) == 2000 and set(ids) == set(by_id), \
        "%d order lines, %d distinct, %d of the 2,000" % (
            len(ids), len(set(ids)), len(set(ids) & set(by_id)))
    for rec in j.orders:
        check_order_line(rec, by_id[rec["order"]["order_id"]])
    assert_no_personal_data("the journal", j.raw)
    evs = j.events
    seqs = [e["seq"] for e in evs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), \
        "seq not contiguous in the journal"
    types = [(e["type"], e["data"].get("offer_id")) for e in evs]
    assert types.count(("offer.sold_out", "ld-s")) == 1
    st = ok(api.state())
    assert st["stock"]["ld-s"] == 0 and st["seq"] == seqs[-1], st
    rep = report_of(api)
    for i in range(4):
        r = report_offer(rep, "ld-%d" % i)
        assert (r["orders"], r["units"], r.get("oversold")) == \
            (500, 500, 0), r
        assert D(r["revenue"]) == D("1250.00"), r
    r = report_offer(rep, "ld-s")
    assert (r["orders"], r["units"], r.get("oversold")) == (400, 400, 100), r
    assert D(r["revenue"]) == D("400.00"), r
    took = time.monotonic() - t_start
    print("load test: %.1f s in all" % took)
    assert took < 200


def test_rotation_keeps_dedup_and_report(make_setup):
    """Orders in a journal that has been rotated (more than once): their
    retries are still duplicates and the report still counts them, also
    after a restart. Collects every problem before failing."""
    ls = make_setup(journal=True, journal_max_size="64k",
                    webhooks=SECRETS)
    stream = "live/wh-rotate"
    api = ls.api_for(stream)
    put_offer(api, h.offer("ro-1", stock=100000, price="1.00"))
    orders = [make_order(h.PROVIDERS[i % 4], stream, [("ro-1", 1, "1.00")])
              for i in range(400)]
    problems = []

    def retries(label, subset):
        senders = {p: ls.hook(p) for p in h.PROVIDERS}
        wrong = []
        try:
            for o in subset:
                r = send(ls, o, senders[o.provider])
                if r.status != 200 or r.json().get("duplicate") is not True:
                    wrong.append((orders.index(o), o.provider, r))
        finally:
            for x in senders.values():
                x.close()
        if wrong:
            problems.append("%s: %d of %d retries were not duplicates, "
                            "e.g. (order number, provider, answer) %r" % (
                                label, len(wrong), len(subset), wrong[:2]))

    def counted(label):
        rep = report_offer(report_of(api), "ro-1")
        if (rep["orders"], rep["units"], D(rep["revenue"])) != \
                (400, 400, D("400.00")):
            problems.append("%s: the report counts orders %d, units %d, "
                            "revenue %s of 400 orders" % (
                                label, rep["orders"], rep["units"],
                                rep["revenue"]))

    senders = {p: ls.hook(p) for p in h.PROVIDERS}
    try:
        for o in orders:
            assert_accepted(send(ls, o, senders[o.provider]), o)
    finally:
        for x in senders.values():
            x.close()
    path = ls.journal_path(stream)
    assert os.path.exists(path + ".1"), "the journal was not rotated"
    first = h.Journal(path + ".1").records[0][1]
    assert "checkpoint" in first, "rotated only once: %r" % (first,)
    old = set(r["order"]["order_id"] for f in (path, path + ".1")
              for r in h.Journal(f).orders)
    gone = [o for o in orders if o.order_id not in old]
    print("rotation: %d of 400 orders in no journal file any more" %
          len(gone))
    counted("after rotation")
    before = snapshot(ls, stream)
    retries("after rotation, orders no longer in any journal file",
            gone[:20])
    retries("after rotation, orders in the journal files",
            orders[-10:])
    after = snapshot(ls, stream)
    if after["journal"] != before["journal"] or \
            after["state"] != before["state"]:
        problems.append("retries after rotation changed the journal or "
                        "the state (stock %r -> %r)" % (
                            before["state"]["stock"],
                            after["state"]["stock"]))
    ls.nginx.kill9()
    ls.nginx.start()
    st = ok(api.state())
    if st["stock"] != after["state"]["stock"] or \
            st["seq"] != after["state"]["seq"]:
        problems.append("after rotation and kill -9 the state is seq %d, "
                        "stock %r; before seq %d, stock %r (error.log: %s)"
                        % (st["seq"], st["stock"], after["state"]["seq"],
                           after["state"]["stock"], skipped_lines(ls)))
    counted("after rotation and kill -9")
    retries("after rotation and kill -9, orders in the journal files",
            [o for o in orders if o.order_id in old])
    retries("after rotation and kill -9, orders in no journal file",
            gone)
    st = ok(api.state())["stock"]["ro-1"]
    if st != 100000 - 400:
        problems.append("at the end the stock is %d, want %d" % (
            st, 100000 - 400))
    assert not problems, "\n".join(problems)


def skipped_lines(ls):
    """What error.log says about journal records it skipped."""
    try:
        with open(ls.nginx.error_log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(ln[ln.find("live_shop"):][:300]
                      for ln in text.splitlines() if "skipped" in ln)[:900]


def test_dedup_has_no_window_of_recent_orders(wh):
    """A shop retries for days (Shopify 48 h, Stripe 3 days): a retry of
    an order 10,500 orders back is still a duplicate."""
    stream = "live/wh-window"
    api = wh.api_for(stream)
    put_offer(api, h.offer("wn-1", price="1.00"))
    orders = [make_order("standard", stream, [("wn-1", 1, "1.00")])
              for _ in range(10500)]
    errors = []

    def run(part):
        s = wh.hook("standard")
        try:
            for o in part:
                r = send(wh, o, s)
                if r.status != 200:
                    errors.append(r)
        finally:
            s.close()
    ts = [threading.Thread(target=run, args=(orders[i::4],))
          for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors, errors[:3]
    before = snapshot(wh, stream)
    wrong = []
    for i in (0, 1, 2, 5000, 10499):
        r = send(wh, orders[i])
        if r.status != 200 or r.json().get("duplicate") is not True:
            wrong.append((i, r))
    assert not wrong, "retries of the n-th of 10,500 orders counted " \
        "again: %r" % wrong
    assert_unchanged(wh, stream, before, "retries of old orders")


# --------------------------------------------------------------------------
# attribution without a theme edit (SPEC §16, docs/webhooks.md): the stream
# and the source (player, QR) only in what the shop's own link carries


def stripe_ref(stream, source):
    """The client_reference_id of a Payment Link opened from liveshop,
    written here from docs/webhooks.md rather than by the core: "ls1",
    "p" (player) or "q" (QR), "_", the stream in base64url without
    padding."""
    b64 = base64.urlsafe_b64encode(stream.encode("ascii")).decode("ascii")
    return "ls1%s_%s" % ("q" if source == "qr" else "p", b64.rstrip("="))


def link_order(provider, stream, source, items, ref=None):
    """An order of items whose stream (and source; None: the link says
    none) reaches the shop only through its own link:
      shopify:     a cart permalink's attributes[liveshop_stream] and
                   attributes[liveshop_src], which become note attributes;
      woocommerce: ?add-to-cart=ID&ls_stream=…&ls_src=…, copied into the
                   order's meta by the snippet of docs/webhooks.md;
      stripe:      a Payment Link opened with ?client_reference_id=REF
                   (ref: another client_reference_id), the link's own
                   metadata naming only the items;
      standard:    the canonical order's "source"."""
    o = make_order(provider, stream, items)
    d = o.body
    if provider == "shopify":
        d["note_attributes"] = [{"name": "liveshop_stream", "value": stream}]
        if source:
            d["note_attributes"].append({"name": "liveshop_src",
                                         "value": source})
        d["landing_site"] = "/cart/41234567890:1?attributes%%5B" \
            "liveshop_stream%%5D=%s%s" % (
                stream.replace("/", "%2F"),
                "&attributes%%5Bliveshop_src%%5D=%s" % source
                if source else "")
    elif provider == "woocommerce":
        d["meta_data"] = [
            {"id": 1, "key": "_wc_order_attribution_source_type",
             "value": "typein"},
            {"id": 2, "key": "liveshop_stream", "value": stream}]
        if source:
            d["meta_data"].append({"id": 3, "key": "liveshop_src",
                                   "value": source})
    elif provider == "stripe":
        obj = d["data"]["object"]
        del obj["metadata"]["liveshop_stream"]
        obj["client_reference_id"] = ref if ref is not None else \
            stripe_ref(stream, source)
        obj["payment_link"] = "plink_" + h.b64url(os.urandom(12))
    else:
        if source:
            d["source"] = source
    return Order(provider, d, o.delivery_id, o.order_id, stream, o.items)


def assert_attributed(ls, o, source, sold):
    """Order o was counted on its stream, from source (None: none said),
    in the answer and in the stream's journal line."""
    r = send(ls, o)
    b = assert_accepted(r, o, sold=sold, oversold=0)
    assert b.get("source") == source, \
        "%s order %s: source %r in the answer, want %r" % (
            o.provider, o.order_id, b.get("source"), source)
    recs = order_lines(ls, o.stream, o.order_id, o.provider)
    assert len(recs) == 1, "%s order %s %d times in %s's journal" % (
        o.provider, o.order_id, len(recs), o.stream)
    check_order_line(recs[0], o)
    assert recs[0]["order"].get("source") == source, recs[0]
    if source is None:
        assert "source" not in recs[0]["order"], recs[0]
    return recs[0]


@pytest.mark.parametrize("provider", h.PROVIDERS)
def test_order_attributed_by_the_shops_link(wh, provider):
    """Two streams sell the same offer; each order reaches the shop with
    its stream only in the link the viewer followed: the order counts on
    that stream (stock, journal, report) and nowhere else, with the
    source the link said."""
    qr_stream = "live/wh-link-qr-" + provider
    player_stream = "live/wh-link-player-" + provider
    apis = {s: wh.api_for(s) for s in (qr_stream, player_stream)}
    for api in apis.values():
        put_offer(api, h.offer("lk-1", stock=10, price="12.50"))
    qr = link_order(provider, qr_stream, "qr", [("lk-1", 3, "12.50")])
    pl = link_order(provider, player_stream, "player",
                    [("lk-1", 2, "12.50")])
    assert_attributed(wh, qr, "qr", 3)
    assert_attributed(wh, pl, "player", 2)
    # stock dropped on the order's stream only
    assert ok(apis[qr_stream].state())["stock"]["lk-1"] == 7
    assert ok(apis[player_stream].state())["stock"]["lk-1"] == 8
    assert not order_lines(wh, qr_stream, pl.order_id)
    assert not order_lines(wh, player_stream, qr.order_id)
    for stream, o, units in ((qr_stream, qr, 3), (player_stream, pl, 2)):
        ro = report_offer(report_of(apis[stream]), "lk-1")
        assert ro["orders"] == 1 and ro["units"] == units, (stream, ro)
        assert D(ro["revenue"]) == D(o.items[0][2]), (stream, ro)
    # the player's plain buy URL (url + ls_stream) says no source: the
    # order counts, with none (docs/webhooks.md); a Stripe reference
    # always names its source
    if provider != "stripe":
        plain = link_order(provider, player_stream, None,
                           [("lk-1", 1, "12.50")])
        assert_attributed(wh, plain, None, 1)
        assert ok(apis[player_stream].state())["stock"]["lk-1"] == 7
    # a source that is none of liveshop's is left out, never refused
    if provider in ("shopify", "woocommerce", "standard"):
        odd = link_order(provider, qr_stream, "tiktok",
                         [("lk-1", 1, "12.50")])
        assert_attributed(wh, odd, None, 1)
        assert ok(apis[qr_stream].state())["stock"]["lk-1"] == 6


HOSTILE_REFS = [
    "ls1q_" + "bGl2ZS9vdGhlcg==",       # padded
    "ls2q_bGl2ZS9vdGhlcg",              # another version
    "ls1x_bGl2ZS9vdGhlcg",              # no such source
    "ls1q_" + "A" * 195,                # too long for Stripe, no stream
    "ls1q_bGl2ZS8uLi9ldGM",             # "live/../etc"
    "ls1q_bGl2ZS9kZW1vAHg",             # "live/demo\0x"
    "ls1q_bGl2ZS9kZW1v!",               # outside base64url
    "cart-4711",                        # the shop's own reference
]


def test_stripe_hostile_reference(wh):
    """A client_reference_id that is no liveshop reference is passed
    over: with metadata naming the stream the order counts by it; without,
    it is no live order (200, ignored) and changes nothing."""
    stream = "live/wh-link-hostile"
    api = wh.api_for(stream)
    put_offer(api, h.offer("hr-1", stock=50, price="2.00"))
    for ref in HOSTILE_REFS:
        before = snapshot(wh, stream)
        o = link_order("stripe", stream, None, [("hr-1", 1, "2.00")],
                       ref=ref)
        assert_ignored(send(wh, o), "client_reference_id %r" % ref)
        assert_unchanged(wh, stream, before,
                         "a Stripe session with client_reference_id %r"
                         % ref)
        o = make_order("stripe", stream, [("hr-1", 1, "2.00")])
        o.body["data"]["object"]["client_reference_id"] = ref
        o = Order("stripe", o.body, o.delivery_id, o.order_id, stream,
                  o.items)
        assert_attributed(wh, o, None, 1)
    assert ok(api.state())["stock"]["hr-1"] == 50 - len(HOSTILE_REFS)
    # metadata and a reference of another stream: the metadata wins
    o = make_order("stripe", stream, [("hr-1", 1, "2.00")])
    o.body["data"]["object"]["client_reference_id"] = stripe_ref(
        "live/wh-link-elsewhere", "qr")
    o = Order("stripe", o.body, o.delivery_id, o.order_id, stream, o.items)
    assert_attributed(wh, o, None, 1)


def test_source_survives_restart(make_setup):
    """Order lines with a source read back after a restart (the report
    rebuilt from the journal counts them), beside lines without one."""
    ls = make_setup(**WH_CONF)
    stream = "live/wh-link-restart"
    api = ls.api_for(stream)
    put_offer(api, h.offer("sr-1", stock=100, price="3.00"))
    sent = []
    for provider in h.PROVIDERS:
        for source in ("qr", "player", None):
            if provider == "stripe" and source is None:
                continue
            o = link_order(provider, stream, source, [("sr-1", 1, "3.00")])
            assert_attributed(ls, o, source, 1)
            sent.append((o, source))
    before = snapshot(ls, stream)
    ls.nginx.kill9()
    ls.nginx.start()
    for o, _ in sent:
        assert_duplicate(send(ls, o), o)
    assert_unchanged(ls, stream, before, "a restart")
    assert ok(api.state())["stock"]["sr-1"] == 100 - len(sent)
    ro = report_offer(report_of(api), "sr-1")
    assert ro["orders"] == len(sent), ro
    got = {(r["provider"], r["order"].get("source"))
           for r in journal(ls, stream).orders}
    assert got == {(o.provider, s) for o, s in sent}, got
