"""Resuming from the journal (SPEC §8, Last-Event-ID): a client further
back than the 128 events the zone keeps gets exactly the events after its
id, each once and in order, from wherever in the journal they are: the
current file, the rotated one, or both, and at the seams between them.
The module finds where to start by bisecting the file
(lshop_journal_seek), so these points are chosen around the places the
bisection could get wrong: the first and last lines, a checkpoint's seq,
and the blocks in between."""

import os
import time

import liveshop_harness as h

STREAM = h.STREAM
SSE_TIMEOUT = 20


def journal_files(ls):
    """The events of NAME.journal.1 (if any) and NAME.journal, and the
    seq of the checkpoint that begins the current file (None: none)."""
    path = ls.journal_path()
    old = h.Journal(path + ".1").events if os.path.exists(path + ".1") \
        else []
    cur = h.Journal(path)
    first = cur.records[0][1]
    cp = first["checkpoint"]["seq"] if "checkpoint" in first else None
    return old, cur.events, cp


def resume(ls, after, last):
    """The messages of a client reconnecting with Last-Event-ID: after,
    once it has the event last, and 0.3 s more (a duplicate would show)."""
    c = h.SseClient(ls.http_port, ls.api.events_path(),
                    last_event_id=after, label="resume-%d" % after).start()
    try:
        if last > after:
            c.wait_seq(last, SSE_TIMEOUT)
        time.sleep(0.3)
        assert c.status == 200, c.status
        assert not c.stream.errors, c.stream.errors
        return list(c.messages)
    finally:
        c.close()


def assert_exactly(messages, events, label):
    got = [(m.id, m.event) for m in messages]
    want = [(str(e["seq"]), e["type"]) for e in events]
    assert got == want, "%s: got %d messages %r..., want %d %r..." % (
        label, len(got), got[:3], len(want), want[:3])
    for m, e in zip(messages, events):
        assert m.json() == e, "%s: data %r != journal %r" % (label, m.data,
                                                             e)


def make_events(ls, n):
    """n pin calls over one connection, alternating two offers (each one
    pins, and from the second on also ends the pin before)."""
    ka = h.KeepAlive(ls.http_port, ls.api.token)
    pin = "/shop/v1/streams/%s/pin" % STREAM
    try:
        for i in range(n):
            st, body = ka.request("POST", pin,
                                  {"offer": ("rs-a", "rs-b")[i % 2]})
            assert st == 200, body
    finally:
        ka.close()


def put_offers(ls):
    for oid in ("rs-a", "rs-b"):
        r = ls.api.put_offer(h.offer(oid, title="Offer " + oid + " " +
                                     "x" * 100))
        assert r.status in (200, 201), r


def check_points(ls, points, events):
    """Resumes after each point; events: every event of the files, in
    order."""
    last = events[-1]["seq"]
    by_seq = {e["seq"]: i for i, e in enumerate(events)}
    for after in sorted(set(points)):
        start = by_seq[after] + 1 if after in by_seq else 0
        if after not in by_seq:
            assert after < events[0]["seq"], after
        msgs = resume(ls, after, last)
        assert_exactly(msgs, events[start:], "Last-Event-ID: %d" % after)


def test_resume_from_many_points_of_one_file(make_setup):
    ls = make_setup(journal=True, journal_max_size="64m", publish=False)
    put_offers(ls)
    make_events(ls, 2500)
    old, cur, cp = journal_files(ls)
    assert old == [] and cp is None
    events = cur
    last = events[-1]["seq"]
    assert last >= 4000, last
    # the zone keeps the last 128: every point here but the last needs the
    # journal
    points = [1, 2, 3, 50, 511, 1024, last // 3, last // 2, last // 2 + 1,
              2 * last // 3, last - 1000, last - 200, last - 129,
              last - 128, last - 1]
    check_points(ls, points, events)
    # and once more after a restart, from the same file
    ls.nginx.kill9()
    ls.nginx.start()
    check_points(ls, [7, last // 2 - 3, last - 300], events)


def test_resume_across_a_rotation(make_setup):
    ls = make_setup(journal=True, journal_max_size="256k", publish=False)
    put_offers(ls)
    path = ls.journal_path()
    for _ in range(40):
        make_events(ls, 100)
        if os.path.exists(path + ".1"):
            break
    # some more in the new file
    make_events(ls, 150)
    old, cur, cp = journal_files(ls)
    assert old, "the journal was not rotated"
    assert cp is not None
    assert old[-1]["seq"] <= cp < cur[0]["seq"], (old[-1], cp, cur[0])
    assert len(cur) > 250
    events = old + cur
    first, last = old[0]["seq"], cur[-1]["seq"]
    points = [first, first + 1, first + len(old) // 2, cp - 200, cp - 1, cp,
              cp + 1, cp + 2, cur[len(cur) // 2]["seq"], last - 300,
              last - 129]
    check_points(ls, [p for p in points if p >= first], events)
    # a client further back than both files reaches gets the state
    if first > 1:
        c = h.SseClient(ls.http_port, ls.api.events_path(),
                        last_event_id=first - 2 if first > 2 else 0,
                        label="too-old").start()
        try:
            c.wait(lambda cl: any(m.event == "state"
                               for m in cl.stream.messages),
                   SSE_TIMEOUT, "a state message")
        finally:
            c.close()
