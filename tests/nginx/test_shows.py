"""Shows (SPEC §14): the schedule, its RFC 5545 calendar read back with an
independent parser (Python's icalendar, dateutil for the recurrences),
and the shows that publishing starts and a publisher gone for the grace
period ends, on every channel: SSE, RTMP cue points, webhooks out and the
journal."""

import datetime
import json
import os
import time
import urllib.parse

import pytest

import liveshop_harness as h
from test_notify import journal_lines, receivers  # noqa: F401 (fixture)

icalendar = pytest.importorskip("icalendar")
from dateutil import rrule as du_rrule  # noqa: E402 (comes with icalendar)

STREAM = h.STREAM
GRACE_S = 2
NOTIFY_SECRET = "whsec_" + "c2hvd3MtdGVzdC1zZWNyZXQtMTIzNDU2Nzg5MA=="
EVENT_TIMEOUT = 20


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def next_weekday(now, weekday, hour):
    """The next UTC datetime after now on weekday (0 = Monday) at hour."""
    d = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    d += datetime.timedelta(days=(weekday - d.weekday()) % 7)
    if d <= now:
        d += datetime.timedelta(days=7)
    return d


def weekly_show(now):
    start = next_weekday(now, 3, 19)  # Thursday 19:00 UTC
    return start, {
        "title": "Glow-Up Thursday: Seren, Cremes; und \\ mehr — "
                 "jede Woche live mit Überraschungen für alle Zuschauer",
        "host": "Mia",
        "starts_at": iso(start),
        "duration": 3600,
        "rrule": "FREQ=WEEKLY;BYDAY=TH;COUNT=6",
        "offers": ["sku-1", "sku-2"],
    }


def put_show(api, show_id, body, **kw):
    return api.call("PUT", "/shows/" + show_id, body, **kw)


def sse_client(ls, label="sse"):
    return h.SseClient(ls.http_port, ls.api.events_path(),
                       label=label).start()


def wait_event(client, type_, timeout=EVENT_TIMEOUT):
    msg = client.wait(lambda c: next((m for m in c.stream.messages
                                      if m.event == type_), None),
                      timeout, type_)
    return msg.json()


# --------------------------------------------------------------------------


def test_schedule_and_calendar(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    for i in (1, 2):
        ok(api.put_offer(h.offer("sku-%d" % i, title="Serum No. %d" % i)),
           201)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, weekly = weekly_show(now)
    single_start = (now + datetime.timedelta(days=2)).replace(microsecond=0)
    single = {"title": "Sale, once", "starts_at": iso(single_start),
              "duration": 1800}

    got = ok(put_show(api, "glow-up", weekly), 201)
    assert got["id"] == "glow-up" and got["rrule"] == weekly["rrule"], got
    ok(put_show(api, "glow-up", weekly), 200)        # replaced
    ok(put_show(api, "sale", single), 201)

    # bad input: named, nothing changed
    for body, field in (
            (dict(weekly, rrule="FREQ=HOURLY"), "rrule"),
            (dict(weekly, rrule="FREQ=WEEKLY;BYSETPOS=1"), "rrule"),
            (dict(weekly, duration=10), "duration"),
            (dict(weekly, starts_at="next thursday"), "starts_at"),
            (dict(weekly, offers=["bad id!"]), "offers"),
            (dict(weekly, colour="red"), "colour")):
        r = put_show(api, "broken", body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["field"].startswith(field), r.json()
    assert put_show(api, "x", single, token=None).status == 401
    assert put_show(api, "x", single,
                    token=h.mint_token(ls.secret, "live/other")).status == 403

    listing = ok(api.call("GET", "/shows", token=None))
    assert listing["live"] is None
    assert [s["id"] for s in listing["coming"]] == sorted(
        ["glow-up", "sale"],
        key=lambda i: start if i == "glow-up" else single_start)
    assert "broken" not in json.dumps(listing)

    r = api.call("GET", "/shows.ics", token=None)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/calendar"), r.headers
    raw = r.body
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), \
        "a content line is longer than 75 octets (RFC 5545 §3.1)"
    cal = icalendar.Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(events) == 2, events.keys()
    uid = next(u for u in events if u.startswith("glow-up@"))
    ev = events[uid]
    assert str(ev["SUMMARY"]) == weekly["title"]
    assert ev.decoded("DTSTART") == start
    assert ev.decoded("DTEND") == start + datetime.timedelta(hours=1)
    rule = ev["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["TH"] and \
        rule["COUNT"] == [6], rule
    dates = list(du_rrule.rrulestr(ev["RRULE"].to_ical().decode(),
                                   dtstart=start))
    assert len(dates) == 6 and all(d.weekday() == 3 for d in dates)
    assert dates[-1] == start + datetime.timedelta(weeks=5)
    alarms = ev.walk("VALARM")
    assert len(alarms) == 1
    assert alarms[0].decoded("TRIGGER") == -datetime.timedelta(minutes=15)
    url = urllib.parse.urlsplit(str(ev["URL"]))
    assert url.scheme == "http" and \
        url.netloc == "127.0.0.1:%d" % ls.http_port, url
    assert urllib.parse.parse_qs(url.query)["stream"] == [STREAM], url
    assert "Mia" in str(ev.get("DESCRIPTION", ""))
    assert "Serum No. 1" in str(ev.get("DESCRIPTION", ""))

    # stable UIDs: a calendar app sees the same events again
    again = icalendar.Calendar.from_ical(
        api.call("GET", "/shows.ics", token=None).body)
    assert sorted(str(e["UID"]) for e in again.walk("VEVENT")) == \
        sorted(events)

    one = api.call("GET", "/shows/sale.ics", token=None)
    assert one.status == 200, one
    evs = icalendar.Calendar.from_ical(one.body).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in evs] == ["Sale, once"]
    assert api.call("GET", "/shows/nope.ics", token=None).status == 404
    assert api.call("GET", "/shows/sale", token=None).status == 404

    # deleted: gone from the listing and the calendar, also after a restart
    r = api.call("DELETE", "/shows/sale")
    assert r.status == 204, r
    assert api.call("DELETE", "/shows/sale").status == 404
    ls.nginx.stop()
    ls.nginx.start()
    listing = ok(api.call("GET", "/shows", token=None))
    assert [s["id"] for s in listing["coming"]] == ["glow-up"], listing
    cal = icalendar.Calendar.from_ical(
        api.call("GET", "/shows.ics", token=None).body)
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [uid]


def test_publishing_starts_and_ends_the_show(make_setup, receivers):  # noqa
    rcv = receivers()
    ls = make_setup(journal=True, notify=(rcv.url, NOTIFY_SECRET),
                    extra_http="live_shop_show_grace %ds;" % GRACE_S)
    api = ls.api
    soon = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(minutes=10)
    ok(put_show(api, "launch", {"title": "Launch night", "host": "Ben",
                                "starts_at": iso(soon), "duration": 3600}),
       201)
    sse = sse_client(ls)
    try:
        pub = h.Publisher(ls.d, ls.rtmp_port).start()
        ls.publisher = pub
        started = wait_event(sse, "show.started")
        show = started["data"]["show"]
        assert show["id"] == "launch" and show["series"] == "launch", show
        assert show["title"] == "Launch night" and show["host"] == "Ben"
        state = ok(api.state())
        assert state["show"]["show"]["id"] == "launch", state
        assert ok(api.call("GET", "/shows", token=None))["live"]["id"] == \
            "launch"

        # a publisher back within the grace period: the same show goes on
        ls.wait_segments(2, 40)
        pub.stop()
        time.sleep(0.3)
        pub = h.Publisher(ls.d, ls.rtmp_port).start()
        ls.publisher = pub
        ls.wait_segments(2, 40)
        time.sleep(GRACE_S + 1)
        assert [m.event for m in sse.messages
                if m.event and m.event.startswith("show.")] == \
            ["show.started"], "a reconnect within the grace ended the show"

        pub.stop()
        gone = time.time()
        ended = wait_event(sse, "show.ended", GRACE_S + EVENT_TIMEOUT)
        assert ended["data"]["show_id"] == "launch"
        assert time.time() - gone >= GRACE_S - 0.1
        assert ok(api.state())["show"] is None
        last = ok(api.call("GET", "/shows", token=None))["last"]
        assert last[0]["id"] == "launch" and last[0]["ended_at"], last
    finally:
        sse.close()

    # every channel: webhooks out and the journal carry both
    deliveries = rcv.wait(lambda ds: len([
        d for d in ds if d.body and json.loads(d.body)["type"].startswith(
            "show.")]) >= 2 and ds, EVENT_TIMEOUT, "the show events")
    types = [json.loads(d.body)["type"] for d in deliveries]
    assert types.index("show.started") < types.index("show.ended")
    lines = journal_lines(ls, STREAM)
    kinds = [json.loads(v)["type"] for _k, v in sorted(lines.items())]
    assert "show.started" in kinds and "show.ended" in kinds

    # and a publish with nothing scheduled near starts an unscheduled show
    sse = sse_client(ls, "sse2")
    try:
        pub = h.Publisher(ls.d, ls.rtmp_port).start()
        ls.publisher = pub
        show = wait_event(sse, "show.started")["data"]["show"]
        assert show["id"].startswith("live-") and "series" not in show, show
    finally:
        sse.close()


def test_show_calls_reach_rtmp_players(make_setup):
    ls = make_setup(publish=True, journal=True)
    api = ls.api
    sub = ls.subscribe()
    sub.wait_playing(30)
    # publishing started an unscheduled show; a call starts another
    first = ok(api.state())["show"]
    assert first and first["show"]["id"].startswith("live-"), first
    ok(put_show(api, "special", {"title": "Special", "starts_at": iso(
        datetime.datetime.now(datetime.timezone.utc)), "duration": 600}),
       201)
    ev = ok(api.call("POST", "/show", {"show": "special"}))
    assert ev["type"] == "show.started" and \
        ev["data"]["show"]["id"] == "special", ev
    cue = sub.wait_cue(lambda c: c.name == "show.started" and
                       c.json["data"]["show"]["id"] == "special", 20,
                       "show.started cue")
    ended = sub.wait_cue(lambda c: c.name == "show.ended", 20,
                         "the show.ended cue of the first show")
    assert int(ended.seq) == int(cue.seq) - 1
    assert ended.json["data"]["show_id"] == first["show"]["id"]

    ev = ok(api.call("DELETE", "/show"))
    assert ev["type"] == "show.ended" and ev["data"]["show_id"] == "special"
    sub.wait_cue(lambda c: c.name == "show.ended" and
                 c.json["data"]["show_id"] == "special", 20,
                 "show.ended cue")
    r = api.call("DELETE", "/show")
    assert r.status == 409 and r.json()["error"]["code"] == "not_live", r
    r = api.call("POST", "/show", {"show": "nope"})
    assert r.status == 404, r
    r = api.call("POST", "/show", {"show": 5})
    assert r.status == 400 and r.json()["error"]["field"] == "show", r
