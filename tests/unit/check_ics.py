#!/usr/bin/env python3
"""The calendar of lshop_show_calendar as another implementation reads it.

Usage: check_ics.py PATH/TO/show_ics

Writes a few shows (a weekly one with a long title full of umlauts, commas
and semicolons, single ones, a finished one, and rules of every frequency),
has show_ics write their calendar, reads it with Python's icalendar (Debian:
python3-icalendar) and checks every event, then expands each RRULE with
dateutil and checks that it gives exactly the occurrences
lshop_show_occurrences gives. Exits non-zero on the first difference.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile

try:
    import icalendar
    from dateutil import rrule as du_rrule
except ImportError as e:
    sys.exit("check_ics.py needs Python's icalendar and dateutil (Debian: "
             "python3-icalendar; scripts/setup-deps.sh installs it): %s" % e)

UTC = datetime.timezone.utc
NOW = "2026-11-20T08:00:00Z"
STREAM = "live/demo"
PLAYER = "https://shop.example/live/demo?x=1&y=2"

TITLE = ("Tee-Zeit mit Jürgen: Grüntee, Matcha; Öle & \"mehr\" – jede "
         "Woche donnerstags live \\o/ 🍵")
assert len(TITLE.encode()) > 75

OFFERS = {"sku-1": "Serum, 30 ml; neu", "sku-2": "Öl\\Essig"}

SHOWS = [
    # Every Thursday at 19:00 UTC (2026-11-26 is a Thursday), 6 times.
    {"id": "weekly-tea", "title": TITLE, "host": "Ana; Bö, Ça",
     "starts_at": "2026-11-26T19:00:00Z", "duration": 3600,
     "rrule": "FREQ=WEEKLY;BYDAY=TH;COUNT=6",
     "offers": ["sku-1", "sku-2", "sku-unknown"], "commission": "0.10"},
    {"id": "single", "title": "Einmalig", "starts_at": "2026-12-01T10:00:00Z",
     "duration": 1800},
    # Over before NOW: not in the calendar.
    {"id": "finished", "title": "Vorbei", "starts_at": "2026-11-19T10:00:00Z",
     "duration": 1800},
    {"id": "every-other", "title": "Tue/Thu",
     "starts_at": "2026-11-24T18:30:00Z", "duration": 5400,
     "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20270301T183000Z"},
    # Months without a 31st are skipped (RFC 5545 §3.3.10).
    {"id": "monthly-31", "title": "Ultimo", "starts_at": "2027-01-31T17:00:00Z",
     "duration": 3600, "rrule": "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=8"},
    {"id": "monthly-days", "title": "1st and 15th",
     "starts_at": "2026-12-01T09:00:00Z", "duration": 3600,
     "rrule": "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15;COUNT=9"},
    {"id": "daily", "title": "Daily", "starts_at": "2026-11-21T07:15:00Z",
     "duration": 900, "rrule": "FREQ=DAILY;INTERVAL=3;COUNT=10"},
    # Began before NOW, recurs after it: in the calendar.
    {"id": "ongoing", "title": "Ongoing", "starts_at": "2026-10-31T20:00:00Z",
     "duration": 3600, "rrule": "FREQ=MONTHLY;UNTIL=20271231T200000Z"},
]

# Titles whose folds fall inside each octet of 2-, 3- and 4-octet sequences.
SHOWS += [{"id": "fold-%d" % k, "title": "x" * k + "ä€🍵" * 20,
           "starts_at": "2026-12-0%dT12:00:00Z" % (k + 2), "duration": 60}
          for k in range(4)]

EXPECTED_IDS = {s["id"] for s in SHOWS} - {"finished"}


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def utc(text):
    return datetime.datetime.strptime(
        text.replace(".000Z", "Z"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def run(show_ics, args):
    out = subprocess.run([show_ics] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=False, timeout=60)
    if out.returncode != 0:
        raise Failure("show_ics %s failed: %s" % (" ".join(args),
                                                  out.stderr.decode()))
    return out.stdout


def check_lines(raw):
    """RFC 5545 §3.1: CRLF, at most 75 octets, folds between characters."""
    check(raw.endswith(b"\r\n"), "the calendar does not end in CRLF")
    lines = raw[:-2].split(b"\r\n")
    for n, line in enumerate(lines, 1):
        check(b"\r" not in line and b"\n" not in line,
              "line %d has a bare CR or LF: %r" % (n, line))
        check(len(line) <= 75, "line %d has %d octets" % (n, len(line)))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise Failure("line %d splits a UTF-8 sequence: %r" % (n, line))
    check(any(line.startswith(b" ") for line in lines),
          "no line was folded, although the title is long")


def unfolded_lines(raw):
    return raw.replace(b"\r\n ", b"").decode("utf-8").split("\r\n")


def escaped(text):
    """RFC 5545 §3.3.11 TEXT, as the calendar must write it."""
    return (text.replace("\\", "\\\\").replace(";", "\\;")
            .replace(",", "\\,").replace("\n", "\\n"))


def expand(rule, dtstart):
    """The occurrences RFC 5545 gives: DTSTART, then the rule's instances.

    dateutil leaves DTSTART out when it does not match the rule, where the
    RFC counts it; every rule here with COUNT is synchronized with its
    DTSTART, for the others adding DTSTART is the RFC's set."""
    rset = du_rrule.rruleset()
    rset.rrule(du_rrule.rrulestr(rule, dtstart=dtstart))
    if "COUNT=" not in rule:
        rset.rdate(dtstart)
    return list(rset)


def check_calendar(show_ics, tmp):
    shows_file = os.path.join(tmp, "shows.json")
    offers_file = os.path.join(tmp, "offers.json")
    with open(shows_file, "w", encoding="utf-8") as f:
        json.dump(SHOWS, f, ensure_ascii=False)
    with open(offers_file, "w", encoding="utf-8") as f:
        json.dump(OFFERS, f, ensure_ascii=False)

    raw = run(show_ics, [shows_file, STREAM, NOW, PLAYER, offers_file])
    check_lines(raw)
    lines = unfolded_lines(raw)
    cal = icalendar.Calendar.from_ical(raw)
    check(cal.name == "VCALENDAR", "not a VCALENDAR")
    check(str(cal["VERSION"]) == "2.0", "VERSION")
    check(str(cal["PRODID"]) == "-//liveshop//liveshop//EN", "PRODID")
    check(str(cal["CALSCALE"]) == "GREGORIAN", "CALSCALE")
    check(str(cal["METHOD"]) == "PUBLISH", "METHOD")
    check(str(cal["X-WR-CALNAME"]) == STREAM, "X-WR-CALNAME")

    events = {}
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        check(uid.endswith("@live.demo.liveshop"), "UID %s" % uid)
        events[uid.split("@")[0]] = ev
    check(set(events) == EXPECTED_IDS,
          "events %s, want %s" % (sorted(events), sorted(EXPECTED_IDS)))

    occurrences = json.loads(run(show_ics, [
        shows_file, "--occurrences", "2000-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z"]))

    for show in SHOWS:
        sid = show["id"]
        start = utc(show["starts_at"])
        got = [utc(t) for t in occurrences[sid]]
        if "rrule" not in show:
            check(got == [start], "%s: occurrences %s" % (sid, got))
        if sid not in events:
            continue
        ev = events[sid]
        check(str(ev["SUMMARY"]) == show["title"],
              "%s: SUMMARY %r, want %r" % (sid, str(ev["SUMMARY"]),
                                           show["title"]))
        # icalendar reads unescaped ',' and ';' too: check the line.
        check("SUMMARY:" + escaped(show["title"]) in lines,
              "%s: no line SUMMARY:%s" % (sid, escaped(show["title"])))
        check(ev["DTSTART"].dt == start,
              "%s: DTSTART %s, want %s" % (sid, ev["DTSTART"].dt, start))
        check(ev["DTEND"].dt - ev["DTSTART"].dt ==
              datetime.timedelta(seconds=show["duration"]),
              "%s: DTEND %s" % (sid, ev["DTEND"].dt))
        check(ev["DTSTAMP"].dt == utc(NOW), "%s: DTSTAMP" % sid)
        check(str(ev["URL"]) == PLAYER, "%s: URL %s" % (sid, ev["URL"]))

        alarms = [c for c in ev.subcomponents if c.name == "VALARM"]
        check(len(alarms) == 1, "%s: %d VALARMs" % (sid, len(alarms)))
        check(str(alarms[0]["ACTION"]) == "DISPLAY", "%s: ACTION" % sid)
        check(alarms[0]["TRIGGER"].dt == datetime.timedelta(minutes=-15),
              "%s: TRIGGER %s" % (sid, alarms[0]["TRIGGER"].dt))
        check(str(alarms[0]["DESCRIPTION"]) == show["title"],
              "%s: the alarm's DESCRIPTION" % sid)

        if "rrule" not in show:
            check("RRULE" not in ev, "%s: an RRULE without rrule" % sid)
            continue
        check("RRULE" in ev, "%s: no RRULE" % sid)
        # The line as written (normalised), and as icalendar reads it.
        check("RRULE:" + show["rrule"] in lines,
              "%s: no line RRULE:%s" % (sid, show["rrule"]))
        rule = ev["RRULE"].to_ical().decode()
        want = expand(rule, ev["DTSTART"].dt)
        check(got == want,
              "%s: lshop gives %s,\ndateutil gives %s" %
              (sid, [t.isoformat() for t in got],
               [t.isoformat() for t in want]))

    tea = events["weekly-tea"]
    check(str(tea["DESCRIPTION"]) ==
          "Host: Ana; Bö, Ça\nOffers: Serum, 30 ml; neu, Öl\\Essig",
          "weekly-tea: DESCRIPTION %r" % str(tea["DESCRIPTION"]))
    thursdays = [utc(t) for t in occurrences["weekly-tea"]]
    check(len(thursdays) == 6 and
          all(t.weekday() == 3 and t.hour == 19 for t in thursdays),
          "weekly-tea: %s" % thursdays)
    # The same shows, asked later: the same UIDs.
    again = icalendar.Calendar.from_ical(run(show_ics, [
        shows_file, STREAM, "2026-11-20T09:30:00Z", PLAYER]))
    uids = sorted(str(e["UID"]) for e in again.walk("VEVENT"))
    check(uids == sorted(str(e["UID"]) for e in events.values()),
          "the UIDs changed: %s" % uids)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            check_calendar(sys.argv[1], tmp)
        except Failure as e:
            print("FAIL: %s" % e)
            return 1
    print("ok: %d events read by icalendar %s, occurrences agree with "
          "dateutil" % (len(EXPECTED_IDS), icalendar.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
