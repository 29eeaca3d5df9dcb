"""Questions and saved answers (SPEC §15, docs/api.md): the queue seen
only with a token, a pinned question on every channel (SSE, RTMP cue
points, HLS DATERANGEs of class org.liveshop.question), hostile text
cleaned by the one rule for viewer text, blocked words holding a
question, a blocked session shadow-dropped, the limits per session and
per address (a flood from one address answered 429 while the host's pin
still reaches viewers), and saved answers and blocked words surviving a
restart."""

import json
import re
import threading
import time

import pytest

import liveshop_harness as h

STREAM = h.STREAM
EVENT_TIMEOUT = 20
CUE_TIMEOUT = 30
# the usual time for an event to reach an SSE client (test_timeline)
DELIVERY_S = 2.0
# ffmpeg's FLV demuxer reads AMF strings into a 1,024-byte buffer: a cue
# holding a longer event JSON (280 emoji) is dropped by ffprobe, not by us
FFPROBE_AMF_STRING = 1000
PDT_TOLERANCE = 5.0


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def clean(s):
    """The rule for viewer text, as docs/api.md says it."""
    out = []
    for ch in s:
        c = ord(ch)
        if c < 0x20 or 0x7f <= c <= 0x9f or c in (0x2028, 0x2029):
            out.append(" ")
        elif c in (0x200e, 0x200f) or 0x202a <= c <= 0x202e or \
                0x2066 <= c <= 0x2069:
            continue
        else:
            out.append(ch)
    return re.sub(" +", " ", "".join(out)).strip(" ")


def ask(api, text, session="sess-ask-0001", name=None, raw=None):
    if raw is not None:
        return api.call("POST", "/questions", raw, token=None)
    return api.ask(text, session, name)


def waiting(api):
    return ok(api.call("GET", "/questions"))


def sse_client(ls, label="sse"):
    return h.SseClient(ls.http_port, ls.api.events_path(),
                       label=label).start()


def wait_event(client, type_, match=lambda ev: True, timeout=EVENT_TIMEOUT):
    msg = client.wait(lambda c: next(
        (m for m in c.stream.messages
         if m.event == type_ and match(m.json())), None), timeout, type_)
    return msg.json()


def find_range(pl, ev_id):
    return next((dr for dr in pl.dateranges if dr.id == ev_id), None)


def wait_range(ls, ev_id, ended=False, timeout=10):
    """The DATERANGE of event ev_id in a valid playlist (ended: once it
    has an end)."""
    deadline = time.monotonic() + timeout
    while True:
        r = ls.fetch_playlist()
        assert r.status == 200, r
        pl = h.parse_playlist(r.text)
        # (the publisher's segment timing is not under test here)
        problems = h.check_media_playlist(pl, PDT_TOLERANCE)
        assert problems == [], "\n".join(problems)
        dr = find_range(pl, ev_id)
        if dr is not None and (not ended or dr.end is not None):
            return dr
        assert time.monotonic() < deadline, \
            "no DATERANGE %s%s in the playlist" % (
                ev_id, " with an end" if ended else "")
        time.sleep(0.3)


def start_stream(api):
    """A stream the server knows: the host has put its catalog."""
    ok(api.put_offer(h.offer("sku-q1", "Serum")), 201)


# --------------------------------------------------------------------------


def test_queue_and_pin_on_every_channel(make_setup):
    ls = make_setup(publish=True, journal=True)
    api = ls.api
    start_stream(api)
    sub = ls.subscribe()
    sub.wait_playing(30)
    sse = sse_client(ls)
    try:
        q = ok(ask(api, "Is the serum OK for dry skin?", name="Mia",
                   session="viewer-session-AAAA"), 202)
        assert re.fullmatch(r"q\d+", q["id"]), q

        # the queue is the host's: no token, no queue
        r = api.call("GET", "/questions", token=None)
        assert r.status == 401, r
        r = api.call("GET", "/questions",
                     token=h.mint_token(h.SECRET, "live/other"))
        assert r.status == 403, r
        r = h.http_request(api.url("/questions"), "PUT", b"{}",
                           {"Authorization": "Bearer " + api.token})
        assert r.status == 405, r

        got = waiting(api)
        assert got["blocked_sessions"] == 0
        [w] = got["questions"]
        assert w["id"] == q["id"] and w["name"] == "Mia" and \
            w["text"] == "Is the serum OK for dry skin?" and \
            w["held"] is False, w
        assert re.fullmatch(r"[0-9a-f]{16}", w["session"]), w
        assert "viewer-session-AAAA" not in json.dumps(got)
        h.parse_spec_time(w["at"])

        # pin with an answer: the event, the queue, SSE, RTMP, HLS
        ev = ok(api.call("POST", "/questions/%s/pin" % q["id"],
                         {"answer": "Yes, it is made for it."}))
        assert ev["type"] == "question.pinned", ev
        assert ev["data"] == {"id": q["id"],
                              "text": "Is the serum OK for dry skin?",
                              "name": "Mia",
                              "answer": "Yes, it is made for it."}, ev
        assert waiting(api)["questions"] == []
        assert wait_event(sse, "question.pinned")["seq"] == ev["seq"]
        state = ok(api.state())
        assert state["question"]["id"] == ev["id"] and \
            state["question"]["question"]["id"] == q["id"], state
        cue = sub.wait_cue(lambda c: c.seq == str(ev["seq"]), CUE_TIMEOUT,
                           "the question.pinned cue")
        assert cue.name == "question.pinned" and cue.json == ev, cue
        dr = wait_range(ls, ev["id"])
        assert dr.get("CLASS") == "org.liveshop.question", dr.line
        assert dr.get("X-LIVESHOP-TYPE") == "question.pinned", dr.line
        assert dr.event()[0] == ev

        # a pinned question is not waiting any more
        r = api.call("POST", "/questions/%s/pin" % q["id"])
        assert r.status == 404, r

        # pinning the next one unpins the first; unpin-question ends it
        q2 = ok(ask(api, "Shipping to Austria?", session="viewer-B-12345"),
                202)
        ev2 = ok(api.call("POST", "/questions/%s/pin" % q2["id"]))
        assert ev2["data"] == {"id": q2["id"],
                               "text": "Shipping to Austria?", "name": ""}
        unpinned = wait_event(sse, "question.unpinned")
        assert unpinned["data"] == {"id": q["id"]}
        assert unpinned["seq"] == ev2["seq"] - 1
        first = wait_range(ls, ev["id"], ended=True)
        assert first.end <= wait_range(ls, ev2["id"]).start + 0.0005
        ev3 = ok(api.call("POST", "/unpin-question"))
        assert ev3["type"] == "question.unpinned" and \
            ev3["data"] == {"id": q2["id"]}, ev3
        r = api.call("POST", "/unpin-question")
        assert r.status == 409 and \
            r.json()["error"]["code"] == "not_pinned", r
        assert ok(api.state())["question"] is None
        sub.wait_cue(lambda c: c.seq == str(ev3["seq"]), CUE_TIMEOUT,
                     "the question.unpinned cue")
        wait_range(ls, ev2["id"], ended=True)

        # dismiss
        q3 = ok(ask(api, "What about the price?", session="viewer-C-12345"),
                202)
        assert ok(api.call("POST", "/questions/%s/dismiss" % q3["id"])) == \
            {"dismissed": q3["id"]}
        r = api.call("POST", "/questions/%s/dismiss" % q3["id"])
        assert r.status == 404, r
        r = api.call("POST", "/questions/%s/dismiss" % q3["id"], token=None)
        assert r.status == 401, r
        assert waiting(api)["questions"] == []

        # the queue lives in the zone only; events live in the journal
        with open(ls.journal_path()) as f:
            journal = f.read()
        assert "What about the price?" not in journal
        assert "viewer-session-AAAA" not in journal
    finally:
        sse.close()


def test_bad_questions(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    # no such stream yet
    r = ask(api, "Hello?")
    assert r.status == 404, r
    start_stream(api)
    for body, field in [({"session": "sess-ask-0001"}, "text"),
                        ({"text": "   ", "session": "sess-ask-0001"},
                         "text"),
                        ({"text": "x" * 281, "session": "sess-ask-0001"},
                         "text"),
                        ({"text": "hi", "name": "n" * 41,
                          "session": "sess-ask-0001"}, "name"),
                        ({"text": "hi"}, "session"),
                        ({"text": "hi", "session": "short"}, "session"),
                        ({"text": "hi", "session": "sess-ask-0001",
                          "x": 1}, None)]:
        r = ask(api, None, raw=body)
        assert r.status == 400, (body, r)
        if field:
            assert r.json()["error"]["field"] == field, (body, r)
    r = h.http_request(api.url("/questions"), "POST",
                       b'{"text":"\xff\xfe","session":"sess-ask-0001"}',
                       {"Content-Type": "application/json"})
    assert r.status == 400, r
    r = h.http_request(api.url("/questions"), "POST", b"not json",
                       {"Content-Type": "application/json"})
    assert r.status == 400, r
    assert waiting(api)["questions"] == []
    r = api.call("POST", "/questions/q999/pin")
    assert r.status == 404, r
    r = api.call("POST", "/questions/q1/pin", {"answer": 5})
    assert r.status == 400 and r.json()["error"]["field"] == "answer", r


HOSTILE = [
    ("<b>bold</b> &amp; <script>alert(\"x\")</script>", "<i>Eve</i>"),
    ("price \u202eevil\u202c ok? \u2066iso\u2069 \u200fmark", "Bob\u202e"),
    ("\U0001F600" * 280, "\U0001F9F4" * 40),
    ("first line\r\nsecond\tline\x0bvt\u2028ls\u0085nel",
     "Na\r\nme"),
    ("  spaces   everywhere \u00a0 kept nbsp  ", "  "),
    ("quote \" backslash \\ and , ; = DATERANGE\"\n#EXT-X-ENDLIST", ""),
]


def test_hostile_text_is_cleaned_everywhere(make_setup):
    ls = make_setup(publish=True, journal=True)
    api = ls.api
    start_stream(api)
    sub = ls.subscribe()
    sub.wait_playing(30)
    sse = sse_client(ls)
    longest = None
    try:
        for i, (text, name) in enumerate(HOSTILE):
            session = "hostile-session-%02d" % i
            q = ok(ask(api, text, session=session, name=name), 202)
            [w] = waiting(api)["questions"]
            assert w["text"] == clean(text) and w["name"] == clean(name), w
            ev = ok(api.call("POST", "/questions/%s/pin" % q["id"],
                             {"answer": "<em>sure</em>\r\n\u202eyes"}))
            want = {"id": q["id"], "text": clean(text),
                    "name": clean(name), "answer": "<em>sure</em> yes"}
            assert ev["data"] == want, ev
            assert wait_event(sse, "question.pinned",
                              lambda e: e["seq"] == ev["seq"]) == ev
            dr = wait_range(ls, ev["id"])
            payload, raw = dr.event()
            assert payload == ev and b"\r" not in raw and b"\n" not in raw
            if len(raw) < FFPROBE_AMF_STRING:
                cue = sub.wait_cue(lambda c: c.seq == str(ev["seq"]),
                                   CUE_TIMEOUT,
                                   "cue of hostile question %d" % i)
                assert cue.json == ev
            else:
                longest = ev
        # ffprobe drops a cue whose JSON is too long for it; the cues
        # after it still come (the stream is not broken)
        ev = ok(api.call("POST", "/unpin-question"))
        sub.wait_cue(lambda c: c.seq == str(ev["seq"]), CUE_TIMEOUT,
                     "the cue after the longest question")
        assert len(json.dumps(longest["data"]["text"],
                              ensure_ascii=False)) > 280
        # 280 emoji is the most; 281 is one too many
        r = ask(api, "\U0001F600" * 281, session="hostile-session-99")
        assert r.status == 400 and r.json()["error"]["field"] == "text", r
        # the playlist as a whole stays valid, and every range of the
        # class follows the one before
        pl = h.parse_playlist(ls.fetch_playlist().text)
        assert h.check_media_playlist(pl, PDT_TOLERANCE) == []
        assert len([dr for dr in pl.dateranges
                    if dr.get("CLASS") == "org.liveshop.question"]) >= \
            len(HOSTILE)
    finally:
        sse.close()


def test_blocked_words_and_sessions(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    start_stream(api)
    assert ok(api.call("GET", "/blocked-words")) == {"words": []}
    r = api.call("PUT", "/blocked-words", {"words": ["Spam", "IDIOT",
                                                     "spam"]})
    words = ok(r)["words"]
    assert sorted(words) == ["idiot", "spam"], words
    assert sorted(ok(api.call("GET", "/blocked-words"))["words"]) == \
        ["idiot", "spam"]
    r = api.call("GET", "/blocked-words", token=None)
    assert r.status == 401, r
    r = api.call("PUT", "/blocked-words", {"words": ["x" * 41]})
    assert r.status == 400 and \
        r.json()["error"]["field"].startswith("words"), r
    r = api.call("PUT", "/blocked-words", {"words": ["w%d" % i
                                                     for i in range(201)]})
    assert r.status == 400, r

    a = ok(ask(api, "You are an IdIoT", session="troll-session-1"), 202)
    b = ok(ask(api, "Nice colour!", session="fan-session-0001"), 202)
    got = {w["id"]: w for w in waiting(api)["questions"]}
    assert got[a["id"]]["held"] is True and got[b["id"]]["held"] is False

    # block the troll: its questions go, its next ones are dropped unseen
    c = ok(ask(api, "more spam", session="troll-session-1"), 202)
    blocked = ok(api.call("POST", "/questions/%s/block" % a["id"]))
    assert blocked["removed"] == 2, blocked
    assert blocked["blocked"] == got[a["id"]]["session"]
    after = waiting(api)
    assert [w["id"] for w in after["questions"]] == [b["id"]]
    assert after["blocked_sessions"] == 1
    time.sleep(5.2)   # the troll's own limit refills
    d = ok(ask(api, "you cannot see me", session="troll-session-1"), 202)
    assert re.fullmatch(r"q\d+", d["id"]) and d["id"] not in \
        (a["id"], b["id"], c["id"])
    assert [w["id"] for w in waiting(api)["questions"]] == [b["id"]]
    r = api.call("POST", "/questions/%s/block" % a["id"])
    assert r.status == 404, r

    # an empty list lets everything through again
    ok(api.call("PUT", "/blocked-words", {"words": []}))
    e = ok(ask(api, "spam spam", session="other-session-01"), 202)
    held = {w["id"]: w["held"] for w in waiting(api)["questions"]}
    assert held[e["id"]] is False


def test_limits_per_session_and_address(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    start_stream(api)
    # a session: 3 at once, then one per 5 s
    for i in range(3):
        ok(ask(api, "question %d" % i, session="eager-session-1"), 202)
    r = ask(api, "question 3", session="eager-session-1")
    assert r.status == 429 and r.headers.get("Retry-After"), r
    assert r.json()["error"]["code"] == "too_many_questions"
    assert len(waiting(api)["questions"]) == 3
    # an address: 20 at once, from any sessions
    codes = [ask(api, "from one address %d" % i,
                 session="many-session-%04d" % i).status for i in range(40)]
    assert codes.count(202) <= 20 and codes.count(429) >= 17, codes
    assert set(codes) <= {202, 429}, codes


def _flood(port, path, body_of, stop, counts, rate):
    """POSTs from one address at about rate a second, over one kept-alive
    connection, until stop is set; counts: {status: n}."""
    conn = h.KeepAlive(port, timeout=5)
    i = 0
    interval = 1.0 / rate
    nxt = time.monotonic()
    try:
        while not stop.is_set():
            try:
                status, _ = conn.request("POST", path, body_of(i))
                counts[status] = counts.get(status, 0) + 1
            except Exception:
                counts["error"] = counts.get("error", 0) + 1
                conn.close()
                conn = h.KeepAlive(port, timeout=5)
            i += 1
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        conn.close()


def flood_and_pin(ls, path, body_of, pin, threads=4, rate=250):
    """threads x rate POSTs a second from one address while the host
    pins: the pin reaches an SSE client within the usual time. Returns
    ({status: n}, delivery seconds, seconds flooded)."""
    stop = threading.Event()
    counts = [{} for _ in range(threads)]
    full = "/shop/v1/streams/%s%s" % (STREAM, path)
    workers = [threading.Thread(target=_flood,
                                args=(ls.http_port, full,
                                      lambda i, k=k: body_of(k, i),
                                      stop, counts[k], rate), daemon=True)
               for k in range(threads)]
    sse = sse_client(ls, "flood-sse")
    try:
        wait_event(sse, "state")
        began = time.monotonic()
        for t in workers:
            t.start()
        time.sleep(2)
        t0 = time.monotonic()
        ev = pin()
        got = wait_event(sse, ev["type"], lambda e: e["seq"] == ev["seq"],
                         timeout=10)
        took = time.monotonic() - t0
        assert got == ev
        time.sleep(1)
    finally:
        stop.set()
        for t in workers:
            t.join(10)
        sse.close()
    flooded = time.monotonic() - began
    total = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return total, took, flooded


def test_question_flood_does_not_slow_the_host(make_setup):
    ls = make_setup(journal=True)
    api = ls.api
    start_stream(api)
    total, took, flooded = flood_and_pin(
        ls, "/questions",
        lambda k, i: {"text": "flood %d-%d" % (k, i),
                      "session": "flood-session-%d-%06d" % (k, i)},
        lambda: ok(api.pin("sku-q1")))
    print("question flood: %s in %.1f s; the pin reached SSE in %.3f s" % (
        total, flooded, took))
    assert total.get(429, 0) > 1000, total
    assert total.get(202, 0) <= 20 + 5 * (flooded + 1), total
    assert took < DELIVERY_S, took
    assert len(waiting(api)["questions"]) == total.get(202, 0)


def test_saved_answers_survive_a_restart(make_setup):
    ls = make_setup(journal=True, journal_max_size="64k")
    api = ls.api
    body = {"question": "Shipping?", "answer": "Free over 50 \u20ac"}
    a = ok(api.call("PUT", "/answers/shipping", body))
    assert a == {"id": "shipping", "question": "Shipping?",
                 "answer": "Free over 50 \u20ac"}, a
    body["answer"] = "Free over 40 \u20ac <b>now</b>\r\n"
    a = ok(api.call("PUT", "/answers/shipping", body), 200)
    assert a["answer"] == "Free over 40 \u20ac <b>now</b>"
    ok(api.call("PUT", "/answers/returns",
                {"question": "Returns?", "answer": "30 days"}))
    ok(api.call("PUT", "/answers/gone",
                {"question": "Gone?", "answer": "soon"}))
    r = api.call("PUT", "/answers/bad", {"question": "", "answer": "x"})
    assert r.status == 400 and r.json()["error"]["field"] == "question", r
    r = api.call("PUT", "/answers/bad%20id", {"question": "q",
                                              "answer": "x"})
    assert r.status == 400, r
    r = api.call("GET", "/answers", token=None)
    assert r.status == 401, r
    assert ok(api.call("DELETE", "/answers/gone"), 204) is None
    r = api.call("DELETE", "/answers/gone")
    assert r.status == 404, r
    ok(api.call("PUT", "/blocked-words", {"words": ["rabatt", "fake"]}))

    ev = ok(api.call("POST", "/answers/shipping/pin"))
    assert ev["type"] == "question.pinned" and ev["data"] == {
        "id": "shipping", "text": "Shipping?", "name": "",
        "answer": "Free over 40 \u20ac <b>now</b>"}, ev
    r = api.call("POST", "/answers/nope/pin")
    assert r.status == 404, r

    # enough events to rotate the journal (64k) twice: checkpoints carry
    # the answers and words
    ok(api.put_offer(h.offer("sku-r1", "Rotating",
                             url="https://shop.example/" + "p" * 1900)),
       201)
    for i in range(80):
        ok(api.pin("sku-r1"))
    cps = [ln for ln in open(ls.journal_path()) if '"checkpoint"' in ln]
    assert cps, "the journal never rotated"
    want = ok(api.call("GET", "/answers"))
    assert [x["id"] for x in want["answers"]] == ["shipping", "returns"]

    for how in ("stop", "kill"):
        if how == "stop":
            ls.nginx.stop()
        else:
            ls.nginx.kill9()
        ls.nginx.start()
        assert ok(api.call("GET", "/answers")) == want, how
        assert sorted(ok(api.call("GET", "/blocked-words"))["words"]) == \
            ["fake", "rabatt"], how
        problems = [ln for ln in open(ls.nginx.error_log, errors="replace")
                    if "skipped" in ln]
        assert problems == [], problems
    q = ok(ask(api, "Is this FAKE?", session="after-restart-1"), 202)
    assert {w["id"]: w["held"] for w in waiting(api)["questions"]} == \
        {q["id"]: True}
    # ids of questions asked after a restart do not repeat the pinned one
    assert q["id"] != "shipping"


def test_pinned_question_survives_rotation(make_setup):
    ls = make_setup(journal=True, journal_max_size="64k")
    api = ls.api
    ok(api.call("PUT", "/answers/shipping",
                {"question": "Shipping?", "answer": "Free"}))
    ev = ok(api.call("POST", "/answers/shipping/pin"))
    ok(api.put_offer(h.offer("sku-r1", "Rotating",
                             url="https://shop.example/" + "p" * 1900)),
       201)
    for i in range(40):
        ok(api.pin("sku-r1"))
    ls.nginx.stop()
    ls.nginx.start()
    assert ok(api.state())["question"]["id"] == ev["id"]
