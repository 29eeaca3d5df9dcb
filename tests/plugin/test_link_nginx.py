"""The OBS plugin's link to the server (obs-plugin/src/shop-*.c) against
real nginx with the module, driven through shop_link_probe: what the host
presses while nginx is down is kept, shown at once, and arrives in order
with the time of the press once nginx is back (same port, same journal);
a pin reaches the state at once when online; stock and purchases made on
the server show in the view through SSE; a refusal (409) is dropped and
the state fetched again; a press too old for "at" goes without it; a
wrong token is SHOP_REFUSED with the queue kept; the settings file works
both ways; the show on air, viewers now and the show's sales (what the
dock shows, SPEC §14) come from the state, the SSE stream and
report?show=. The token never appears in the link's log."""

import datetime
import json
import os
import stat
import subprocess
import time

import pytest

import liveshop_harness as h
from liveshop_harness import STREAM

WAIT = 20  # s: the probe's own bound on every wait


class Probe:
    """One shop_link_probe process: cmd() writes a line, reads one."""

    def __init__(self, path, d, label="probe"):
        self.log_path = os.path.join(d, label + ".log")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log_file, text=True, bufsize=1,
            preexec_fn=h._die_with_parent())

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise AssertionError("probe exited (%s) on %r; log:\n%s" % (
                self.proc.poll(), line, self.log()))
        return out.rstrip("\n")

    def ok(self, line):
        out = self.cmd(line)
        assert out == "ok" or out.startswith("ok "), \
            "%s -> %s\nlog:\n%s" % (line, out, self.log())
        return out[3:]

    def view(self):
        return json.loads(self.cmd("view"))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log_file.close()


@pytest.fixture
def probes(probe_path, tmp_path):
    made = []

    def make(label="probe"):
        p = Probe(probe_path, str(tmp_path), "%s%d" % (label, len(made)))
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()
        # SPEC §5 tokens start "ls1."; none may reach the log
        assert "ls1." not in p.log(), p.log()


OFFERS = [h.offer("a", stock=5), h.offer("b"),
          h.offer("c", disclosure="ad")]


def start(make_setup, **kw):
    ls = make_setup(publish=False, journal=True, **kw)
    for o in OFFERS:
        r = ls.api.put_offer(o)
        assert r.status in (200, 201), r
    return ls


def server_of(ls):
    return "http://127.0.0.1:%d/shop/" % ls.http_port


def online(p, ls, token=None):
    p.ok("configure %s %s %s" % (server_of(ls), STREAM,
                                 token or ls.api.token))
    p.ok("wait-idle %d" % WAIT)
    v = p.view()
    assert v["status"] == "online"
    assert [c["id"] for c in v["catalog"]] == ["a", "b", "c"]
    return v


def events_after(ls, seq, n):
    """The n events after seq, from GET events with Last-Event-ID."""
    c = h.SseClient(ls.http_port, ls.api.events_path(),
                    last_event_id=seq).start()
    try:
        c.wait(lambda c: len(c.events()) >= n, 10, "%d events" % n)
        return [m.json() for m in c.events()]
    finally:
        c.close()


def test_offline_presses_arrive_in_order_with_their_time(make_setup,
                                                         probes):
    """The issue's "Done when": nginx stopped, three presses kept and
    shown at once; nginx started again (same port, same journal): they
    arrive in order, each at the moment it was pressed."""
    ls = start(make_setup)
    p = probes()
    online(p, ls)
    seq0 = ls.api.state().json()["seq"]

    ls.nginx.stop()
    p.ok("wait-status offline %d" % WAIT)
    presses = []
    for line, pinned in (("pin a", "a"), ("pin b", "b"), ("unpin", "")):
        at = h.now_ms()
        assert int(p.ok("%s %d" % (line, at))) == at
        presses.append(at)
        v = p.view()
        assert v["offer"] == pinned and v["pinned"] == bool(pinned), v
        assert v["status"] == "offline", v
        assert "cannot be reached" in v["status_message"], v
        time.sleep(0.05)
    assert p.view()["pending"] == 3

    ls.nginx.start()
    p.ok("wait-idle %d" % WAIT)
    evs = events_after(ls, seq0, 4)
    t1, t2, t3 = (h.format_spec_time(t) for t in presses)
    assert [(e["type"], e["at"]) for e in evs] == [
        ("offer.pinned", t1),
        ("offer.unpinned", t2),   # pins never overlap: b starts as a ends
        ("offer.pinned", t2),
        ("offer.unpinned", t3)], evs
    assert evs[0]["data"]["offer"]["id"] == "a"
    assert evs[2]["data"]["offer"]["id"] == "b"
    assert evs[3]["data"]["offer_id"] == "b"
    assert ls.api.state().json()["pinned"] is None
    v = p.view()
    assert not v["pinned"] and v["pending"] == 0 and v["status"] == "online"


def test_online_pin_reaches_the_state_at_once(make_setup, probes):
    ls = start(make_setup)
    p = probes()
    online(p, ls)
    at = int(p.ok("pin-slot 3"))
    t0 = time.monotonic()
    st = h.wait_for(lambda: (lambda s: s if s["pinned"] else None)(
        ls.api.state().json()), 5, 0.01, "the pin in GET state")
    took = time.monotonic() - t0
    assert st["pinned"]["offer"]["id"] == "c"
    assert st["pinned"]["since"] == h.format_spec_time(at)
    # c needs its "ad" disclosure: the server shows it, the view agrees
    assert st["disclosure"]["kind"] == "ad"
    assert took < 1.0, "the pin took %.3f s to reach the state" % took
    p.ok("wait-idle %d" % WAIT)
    v = p.view()
    assert v["offer"] == "c" and v["disclosure"] and \
        v["disclosure_required"], v
    assert v["disclosure_text"] == st["disclosure"]["text"]
    # the rules hold locally: no request goes out for a refused press
    out = p.cmd("hide")
    assert out.startswith("error disclosure_required"), out
    ans = json.loads(p.cmd('vendor countdown {"seconds":30,"label":"Now"}'))
    assert ans["ok"] is True, ans
    h.wait_for(lambda: ls.api.state().json()["countdown"], 5, 0.02,
               "the countdown in GET state")
    ans = json.loads(p.cmd("vendor get_state"))
    assert ans["state"]["countdown"]["label"] == "Now", ans
    ans = json.loads(p.cmd('vendor pin {"slot":"x"}'))
    assert ans["ok"] is False and "slot" in ans["error"], ans


def test_stock_and_purchases_from_the_server_show_in_the_view(make_setup,
                                                              probes):
    secrets = h.new_webhook_secrets()
    ls = start(make_setup, webhooks=secrets)
    p = probes()
    v = online(p, ls)
    assert v["catalog"][0]["stock"] == 5
    p.ok("pin a")
    p.ok("wait-idle %d" % WAIT)
    assert p.view()["offer_stock"] == 5

    r = ls.api.put_offer(h.offer("a", stock=3))
    assert r.status == 200, r
    h.wait_for(lambda: p.view()["offer_stock"] == 3, 5, 0.02,
               "stock 3 in the view")
    assert p.view()["catalog"][0]["stock"] == 3

    r = ls.hook("standard").send({
        "type": "order.paid", "order_id": "1001", "stream": STREAM,
        "items": [{"offer": "a", "quantity": 2, "amount": "39.98",
                   "currency": "EUR"}]})
    assert r.status == 200, r
    v = h.wait_for(lambda: (lambda v: v if v["purchases"] else None)(
        p.view()), 5, 0.02, "the purchase in the view")
    assert v["purchases"][0]["offer_id"] == "a"
    assert v["purchases"][0]["quantity"] == 2
    h.wait_for(lambda: p.view()["offer_stock"] == 1, 5, 0.02,
               "stock 1 after the purchase")


def test_a_refused_action_is_dropped_and_the_state_fetched(make_setup,
                                                           probes):
    """Two hosts both unpin while nginx is down: the second unpin is
    refused (409 not_pinned); its link says so, drops it and agrees with
    the server again."""
    ls = start(make_setup)
    p1, p2 = probes(), probes()
    online(p1, ls)
    online(p2, ls)
    p1.ok("pin b")
    p1.ok("wait-idle %d" % WAIT)
    h.wait_for(lambda: p2.view()["offer"] == "b", 5, 0.02, "b in p2's view")

    ls.nginx.stop()
    p1.ok("wait-status offline %d" % WAIT)
    p2.ok("wait-status offline %d" % WAIT)
    p1.ok("unpin")
    p2.ok("unpin")
    ls.nginx.start()
    p1.ok("wait-idle %d" % WAIT)
    p2.ok("wait-idle %d" % WAIT)
    logs = p1.log() + p2.log()
    assert logs.count("HTTP 409 not_pinned") == 1, logs
    assert "dropped, and the state fetched again" in logs
    for p in (p1, p2):
        v = p.view()
        assert not v["pinned"] and v["pending"] == 0, v
    assert ls.api.state().json()["pinned"] is None


def test_a_press_too_old_for_at_goes_without_it(make_setup, probes):
    ls = start(make_setup)
    p = probes()
    online(p, ls)
    old = h.now_ms() - 15000
    p.ok("pin a %d" % old)
    p.ok("wait-idle %d" % WAIT)
    st = ls.api.state().json()
    assert st["pinned"]["offer"]["id"] == "a"
    since = h.parse_spec_time(st["pinned"]["since"])
    assert since > old + 10000, st
    assert "too late to keep that time" in p.log()


def test_a_wrong_token_is_refused_and_the_queue_kept(make_setup, probes):
    ls = start(make_setup)
    p = probes()
    other = h.mint_token(h.SECRET, "live/other")
    p.ok("configure %s %s %s" % (server_of(ls), STREAM, other))
    at = int(p.ok("countdown 60"))
    p.ok("wait-status refused %d" % WAIT)
    v = p.view()
    assert "HTTP 403 forbidden" in v["status_message"], v
    assert v["pending"] == 1 and v["countdown"], v
    assert ls.api.state().json()["countdown"] is None

    forged = ls.api.token[:-4] + "AAAA"
    p.ok("configure %s %s %s" % (server_of(ls), STREAM, forged))
    p.ok("wait-status refused %d" % WAIT)
    assert "HTTP 401 unauthorized" in p.view()["status_message"]
    assert p.view()["pending"] == 1

    # the right token: the kept countdown goes, with its press time
    p.ok("configure %s %s %s" % (server_of(ls), STREAM, ls.api.token))
    p.ok("wait-idle %d" % WAIT)
    cd = ls.api.state().json()["countdown"]
    assert cd["since"] == h.format_spec_time(at), cd
    assert h.parse_spec_time(cd["ends_at"]) == at + 60000


def test_settings_file_both_ways(make_setup, probes, tmp_path):
    ls = start(make_setup)
    p = probes()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({
        "server": server_of(ls), "stream": STREAM, "token": ls.api.token,
        "countdown_seconds": 45, "countdown_label": "Nur heute",
        "disclosure_kind": "sponsored", "locale": "de"}))
    got = json.loads(p.ok("settings-load %s" % path))
    assert got == {"server": server_of(ls), "stream": STREAM,
                   "token_length": len(ls.api.token),
                   "countdown_seconds": 45, "countdown_label": "Nur heute",
                   "disclosure_kind": "sponsored", "locale": "de"}
    # a file written before start is honoured: the link goes online
    p.ok("wait-idle %d" % WAIT)
    # the settings' countdown and disclosure kind are what presses use
    at = int(p.ok("countdown 0"))
    p.ok("disclose sponsored")
    p.ok("wait-idle %d" % WAIT)
    st = ls.api.state().json()
    assert h.parse_spec_time(st["countdown"]["ends_at"]) == at + 45000
    assert st["countdown"]["label"] == "Nur heute"
    assert st["disclosure"]["text"] == "Werbung"  # the "de" label

    saved = tmp_path / "saved.json"
    p.ok("settings-save %s" % saved)
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert json.loads(saved.read_text()) == json.loads(path.read_text())

    path.write_text('{"stream":"live/demo","countdown_seconds":"45"}')
    out = p.cmd("settings-load %s" % path)
    assert out.startswith("error invalid_field") and \
        "countdown_seconds" in out, out


def test_the_show_its_viewers_and_sales_in_the_view(make_setup, probes):
    """What the dock shows (SPEC §14): no show before the stream is
    published; then the show on air, viewers now (the state, then the
    unnumbered audience messages), and the show's orders and GMV from
    GET report?show=ID, asked for again after a purchase; "no show" once
    it ends."""
    secrets = h.new_webhook_secrets()
    ls = start(make_setup, webhooks=secrets)
    now = datetime.datetime.now(datetime.timezone.utc)
    r = ls.api.call("PUT", "/shows/deals", {
        "title": "Deals night", "duration": 3600,
        "starts_at": (now + datetime.timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z")})
    assert r.status == 201, r
    p = probes()
    v = online(p, ls)
    assert v["show_live"] is False and v["sales"] is None, v
    assert v["viewers"] >= 0, v

    ls.publisher = h.Publisher(ls.d, ls.rtmp_port).start()
    v = h.wait_for(lambda: (lambda v: v if v["show_live"] else None)(
        p.view()), 40, 0.1, "the show on air in the view")
    show = ls.api.state().json()["show"]["show"]
    assert v["show_id"] == show["id"] and v["show_title"] == "Deals night"
    # its report at once: no orders yet
    v = h.wait_for(lambda: (lambda v: v if v["sales"] else None)(
        p.view()), 10, 0.05, "the show's report in the view")
    assert v["sales"]["show"] == show["id"], v
    assert v["sales"]["orders"] == 0 and v["sales"]["units"] == 0, v
    assert v["sales"]["gmv"] == [["0.00", ""]], v

    # viewers: the link's own event stream is none (viewer=no: the host
    # is no audience); a player arrives with an audience message (at
    # most every 5 s)
    before = p.view()["viewers"]
    h.wait_for(lambda: h.http_request(
        ls.playlist_url + "?session=probe-viewer-1").status == 200, 40,
        0.2, "the playlist for a player")
    h.wait_for(lambda: p.view()["viewers"] >= before + 1, 15, 0.1,
               "one viewer more in the view")

    r = ls.hook("standard").send(h.canonical_order("2001", STREAM, [
        ("a", 2, "39.98")]))
    assert r.status == 200, r
    v = h.wait_for(lambda: (lambda v: v if v["sales"] and
                            v["sales"]["orders"] == 1 else None)(p.view()),
                   15, 0.1, "the purchase in the show's sales")
    assert v["sales"]["units"] == 2, v
    assert v["sales"]["gmv"] == [["39.98", "EUR"]], v
    assert v["purchases"][0]["offer_id"] == "a", v
    rep = ls.api.call("GET", "/report?show=" + show["id"])
    assert rep.status == 200, rep
    assert rep.json()["show"]["gmv"] == "39.98", rep.json()["show"]

    ev = ls.api.call("DELETE", "/show")
    assert ev.status == 200, ev
    v = h.wait_for(lambda: (lambda v: v if not v["show_live"] else None)(
        p.view()), 10, 0.05, "no show in the view")
    assert v["sales"] is None and v["show_title"] == "", v
    assert "not understood" not in p.log(), p.log()


def ask(ls, text, name, session):
    return ls.api.asked(text, session, name)


def vendor(p, line):
    ans = json.loads(p.cmd("vendor " + line))
    assert ans["ok"] is True, (line, ans)
    return ans


def test_questions_answers_and_polls_through_nginx(make_setup, probes):
    """SPEC §15 from the host's side: the waiting queue in the link (with
    the token), a question pinned with an answer, a saved answer pinned,
    dismiss and block, a poll started here with its live tally through
    SSE and its final counts; hostile viewer text arrives clean."""
    ls = start(make_setup)
    r = ls.api.call("PUT", "/answers/ship", {
        "question": "Shipping?", "answer": "Free over 50 \u20ac"})
    assert r.status in (200, 201), r
    p = probes()
    online(p, ls)
    p.ok("watch-questions")

    q1 = ask(ls, "Does it <b>ship</b>\r\nto \u202eAustria?", "<i>Eve</i>",
             "session-eve-0001")
    q2 = ask(ls, "Colours?", "Bob", "session-bob-0001")
    q3 = ask(ls, "\U0001F600" * 280, "", "session-emo-0001")
    q4 = ask(ls, "And Italy?", "Eve again", "session-eve-0001")

    def listed(n):
        ans = vendor(p, "get_questions")
        return ans if len(ans["questions"]) == n and ans["answers"] \
            else None
    ans = h.wait_for(lambda: listed(4), 10, 0.05, "4 waiting questions")
    texts = {q["id"]: q for q in ans["questions"]}
    # cleaned by the server: CR LF a space, the bidi override gone, the
    # markup kept as text
    assert texts[q1]["text"] == "Does it <b>ship</b> to Austria?", texts
    assert texts[q1]["name"] == "<i>Eve</i>"
    assert len(texts[q3]["text"]) == 280
    assert [a["id"] for a in ans["answers"]] == ["ship"]
    assert p.view()["questions_waiting"] == 4

    # pinned with an answer: at the server's state at once
    vendor(p, json.dumps({"id": q1, "answer": "Yes,\nin 3 days"})
           .join(["pin_question ", ""]))
    st = h.wait_for(lambda: (lambda s: s if s.get("question") else None)(
        ls.api.state().json()), 5, 0.02, "the question in GET state")
    assert st["question"]["question"]["id"] == q1
    assert st["question"]["question"]["answer"] == "Yes, in 3 days"
    p.ok("wait-idle %d" % WAIT)
    v = p.view()
    assert v["question"]["text"] == "Does it <b>ship</b> to Austria?", v
    assert v["question"]["answer"] == "Yes, in 3 days"

    # dismiss q2, block the asker of q4 (Eve: nothing else of hers waits)
    vendor(p, 'dismiss_question {"id":"%s"}' % q2)
    vendor(p, 'block_question {"id":"%s"}' % q4)
    p.ok("wait-idle %d" % WAIT)
    ids = [q["id"] for q in ls.api.call("GET", "/questions")
           .json()["questions"]]
    assert ids == [q3], ids
    blocked = ls.api.call("GET", "/questions").json()["blocked_sessions"]
    assert blocked == 1
    # a blocked asker is answered 202 and dropped
    ask(ls, "again?", "Eve", "session-eve-0001")
    time.sleep(0.5)
    assert len(ls.api.call("GET", "/questions").json()["questions"]) == 1

    # the saved answer: pinned as a question, replacing q1
    vendor(p, 'pin_answer {"slot":1}')
    h.wait_for(lambda: (ls.api.state().json().get("question") or {})
               .get("question", {}).get("id") == "ship", 5, 0.02,
               "the saved answer pinned")
    p.ok("wait-idle %d" % WAIT)
    assert p.view()["question"]["answer"] == "Free over 50 \u20ac"
    vendor(p, "unpin_question")
    h.wait_for(lambda: ls.api.state().json().get("question") is None, 5,
               0.02, "the question unpinned")

    # a poll: started here, votes from viewers, the tally through SSE
    vendor(p, json.dumps({"question": "Which colour?",
                          "options": ["Red", "Blue"], "seconds": 60})
           .join(["start_poll ", ""]))
    poll = h.wait_for(lambda: ls.api.state().json().get("poll"), 5, 0.02,
                      "the poll in GET state")
    pid = poll["poll"]["id"]
    p.ok("wait-idle %d" % WAIT)
    assert p.view()["poll"]["id"] == pid
    for i, option in enumerate((0, 0, 1)):
        r = ls.api.call("POST", "/polls/%s/vote" % pid,
                        {"option": option, "session": "voter-%04d" % i},
                        token=None)
        assert r.status == 202, r
    v = h.wait_for(lambda: (lambda v: v if v["poll"]["counts"] == [2, 1]
                            else None)(p.view()), 5, 0.05,
                   "the live tally [2, 1] in the view")
    assert v["poll"]["live"] is True and v["poll"]["votes"] == 3
    vendor(p, "end_poll")
    v = h.wait_for(lambda: (lambda v: v if v["poll"] and
                            not v["poll"]["live"] else None)(p.view()),
                   5, 0.02, "the poll ended in the view")
    assert v["poll"]["counts"] == [2, 1], v
    assert ls.api.state().json().get("poll") is None
    p.ok("wait-idle %d" % WAIT)
    v = p.view()
    # poll.ended's final counts (the server's tally when it ended)
    assert v["pending"] == 0 and v["poll"]["counts"] == [2, 1], v
    assert v["poll"]["votes"] == 3
