"""Questions to the host (SPEC §15, /tmp design of issue 15) end to end:
real nginx + nginx-rtmp + our module + an ffmpeg test stream, three
viewers on the demo page (web/index.html, web/liveshop-player.js, its ask
form on) in one headless Chromium (viewers.mjs, one browser context each,
so three sessions).

What must hold: a question asked with the form (keyboard only) reaches
the host's queue (GET questions, token) and no viewer's page or event
stream until the host pins it; pinned, it is text in every page (name,
question, answer), cleaned as the viewer-text rule says (controls and
CR/LF a space, bidi overrides gone, markup literal), 280 emoji fit and
wrap; unpinned, it is gone everywhere. The form counts code points (280
emoji, not 140), tells the viewer "Sent", a 429's Retry-After and a 400's
message; a blocked session's question is answered like any other and
never reaches the queue. Screenshots: test-artifacts/e2e_questions."""

import json
import os
import re
import time

import liveshop_harness as h
from many_viewers import (Viewers, api_post, connected_js, js_str,
                          ok, page_url, pages_conf)
from viewer_page import CONTRAST_JS, artifacts, web_deps

PAGES = 3
A, B, C = 0, 1, 2

# typed into page A's form: markup, an RTL override, a line break
Q1_TYPED = "<img src=x onerror=alert(1)> \u202eevil\u202c"
Q1_TYPED_2 = "line two "
Q1_NAME = "<b>Anna</b>\u202e"
Q1 = "<img src=x onerror=alert(1)> evil line two"
Q1_NAME_CLEAN = "<b>Anna</b>"
ANSWER = "Yes \u2014 <i>free</i>\r\n\u202eshipping"
ANSWER_CLEAN = "Yes \u2014 <i>free</i> shipping"
EMOJI = "\U0001F600"
Q2 = EMOJI * 280
# through the API: CR/LF, a tab, U+2028 and U+0085 (C1) become spaces
Q3_SENT = "Shipping\r\nto\tAustria?\u2028\u0085 ok  "
Q3 = "Shipping to Austria? ok"
SESSION_HEX = re.compile(r"^[0-9a-f]{16}$")
SENT = "Sent \u2014 the host will see your question"


def questions(api):
    return ok(api.call("GET", "/questions"))["questions"]


def no_trace(br, sse, needles, what):
    """None of needles in any page's text or in the event stream."""
    texts = br.eval("document.body.innerText + ' ' + "
                    "[...document.querySelectorAll('textarea,input')]"
                    ".map(e => e.value).join(' ')", page="all")
    for i, t in enumerate(texts):
        for n in needles:
            assert n not in t, "%s: page %d shows %r" % (what, i, n[:40])
    for m in sse.stream.messages + sse.stream.audience:
        for n in needles:
            assert n not in m.data, "%s: SSE %s carries it" % (what, m.event)
    for i in range(PAGES):
        assert br.panel(i)["question"] is None, (what, br.panel(i))


def shown_everywhere(br, text, timeout=15):
    """Every page shows text as its pinned question; their panels."""
    br.wait("(() => { const e = document.querySelector('.ls-question-text');"
            " return e && e.checkVisibility() && e.textContent === %s; })()"
            % js_str(text), timeout, "the pinned question %r" % text[:30],
            page="all")
    return [br.panel(i) for i in range(PAGES)]


def ask_with_form(br, page, text, name=None):
    br.call(cmd="fill", page=page, selector=".ls-ask-text", value=text)
    if name is not None:
        br.call(cmd="fill", page=page, selector=".ls-ask-name", value=name)
    before = len(br.call(cmd="requests", page=page, match="/questions"))
    br.call(cmd="click", page=page, selector=".ls-ask-send")
    reqs = br.call(cmd="requests", page=page, match="/questions")
    deadline = time.monotonic() + 10
    while (len(reqs) <= before or reqs[-1]["status"] is None) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
        reqs = br.call(cmd="requests", page=page, match="/questions")
    assert len(reqs) > before and reqs[-1]["status"] is not None, reqs
    return reqs[-1]


def test_questions_from_the_form_to_every_page(make_setup):
    deps = web_deps()
    ls = make_setup(publish=True, journal=True, extra_server=pages_conf(deps))
    api = ls.api
    art = artifacts("e2e_questions")
    sse = h.SseClient(ls.http_port, api.events_path(), label="bare").start()
    br = Viewers(deps, os.path.join(art, "browser.log"))
    try:
        assert br.open(page_url(ls), PAGES, width=1100, height=900,
                       batch=1) == [A, B, C]
        br.wait(connected_js(), 30, "the event stream", page="all")
        sse.wait(lambda c: c.stream.messages, 10, "the state")
        sessions = br.eval("window.liveshop.session", page="all")
        assert len(set(sessions)) == PAGES, sessions

        # the queue is the host's: no token, no questions
        assert api.call("GET", "/questions", token=None).status == 401
        assert questions(api) == []
        first = br.panel(A)
        assert first["panel"] and first["ask"] and \
            first["ask"]["count"] == "0 / 280", first
        assert first["question"] is None and first["live"] == "polite", first

        # -- page A asks with the keyboard only ---------------------------
        for _ in range(30):
            if "ls-ask-text" in (br.call(cmd="press", page=A, key="Tab")
                                 or ""):
                break
        else:
            raise AssertionError("Tab never reaches the question field")
        ring = br.eval("(() => { const s = getComputedStyle("
                       "document.activeElement); return [s.outlineStyle, "
                       "parseFloat(s.outlineWidth)]; })()", page=A)
        assert ring[0] != "none" and ring[1] >= 2, ring
        br.call(cmd="type", page=A, text=Q1_TYPED)
        br.call(cmd="press", page=A, key="Enter")       # a new line
        br.call(cmd="type", page=A, text=Q1_TYPED_2)
        assert "ls-ask-name" in br.call(cmd="press", page=A, key="Tab")
        br.call(cmd="type", page=A, text=Q1_NAME)
        assert "ls-ask-send" in br.call(cmd="press", page=A, key="Tab")
        ring = br.eval("(() => { const s = getComputedStyle("
                       "document.activeElement); return [s.outlineStyle, "
                       "parseFloat(s.outlineWidth)]; })()", page=A)
        assert ring[0] != "none" and ring[1] >= 2, ring
        br.call(cmd="press", page=A, key="Enter")
        br.wait("document.querySelector('.ls-ask-status').textContent === "
                + js_str(SENT), 10, "Sent", page=A)
        req = br.call(cmd="requests", page=A, match="/questions")[-1]
        assert req["method"] == "POST" and req["status"] == 202, req
        body = json.loads(req["body"])
        assert body["session"] == sessions[A], body
        assert body["text"] == Q1_TYPED + "\n" + Q1_TYPED_2, body
        assert body["name"] == Q1_NAME, body
        assert br.panel(A)["ask"]["value"] == "", br.panel(A)

        # -- 281 emoji: the form keeps 280 code points (560 UTF-16 units)
        br.call(cmd="fill", page=A, selector=".ls-ask-text",
                value=EMOJI * 281)
        form = br.panel(A)["ask"]
        assert form["value"] == Q2 and form["count"] == "280 / 280", \
            (len(form["value"]), form["count"])
        left = br.eval("document.querySelector('.ls-ask-left').textContent",
                       page=A)
        assert left == "0 characters left", left
        req = ask_with_form(br, A, Q2)
        assert req["status"] == 202, req
        assert json.loads(req["body"])["text"] == Q2

        # -- CR/LF, a tab, U+2028 through the API (a textarea has no CR)
        r = api.call("POST", "/questions", {"text": Q3_SENT,
                                            "session": "http-viewer-0001"},
                     token=None)
        assert r.status == 202 and re.match(r"^\w+$", r.json()["id"]), r

        # the host sees them, oldest first, cleaned; no viewer does
        queue = questions(api)
        assert [q["text"] for q in queue] == [Q1, Q2, Q3], queue
        # the name stays in the form for the next question
        assert [q["name"] for q in queue] == \
            [Q1_NAME_CLEAN, Q1_NAME_CLEAN, ""], queue
        assert all(SESSION_HEX.match(q["session"]) and q["held"] is False
                   for q in queue), queue
        assert queue[0]["session"] == queue[1]["session"] != \
            queue[2]["session"], queue
        assert sessions[A] not in json.dumps(queue)
        time.sleep(1.5)
        no_trace(br, sse, ["evil line", EMOJI * 3, "Austria"],
                 "before the pin")

        # -- pinned: text in every page, cleaned, nothing runs ------------
        ev = ok(api_post(api, "/questions/%s/pin" % queue[0]["id"],
                         {"answer": ANSWER}))
        assert ev["type"] == "question.pinned", ev
        assert ev["data"] == {"id": queue[0]["id"], "text": Q1,
                              "name": Q1_NAME_CLEAN,
                              "answer": ANSWER_CLEAN}, ev
        for i, p in enumerate(shown_everywhere(br, Q1)):
            q = p["question"]
            assert q["name"] == Q1_NAME_CLEAN, (i, p)
            assert q["from"] == "Question from " + Q1_NAME_CLEAN, (i, p)
            assert q["answer"] == ANSWER_CLEAN, (i, p)
            assert q["elements"] == 0 and q["dir"] == "auto", (i, p)
            assert p["imgs"] == 0 and p["xss"] is None, (i, p)
            assert p["state"]["question"]["id"] == queue[0]["id"], p
        assert [q["id"] for q in questions(api)] == \
            [queue[1]["id"], queue[2]["id"]]
        state = ok(api.state())["question"]
        assert state["question"]["text"] == Q1 and \
            state["id"] == ev["id"], state
        # bidi isolates: the name in a <bdi>, the texts dir=auto
        iso = br.eval("[document.querySelector('.ls-question-name')"
                      ".tagName, getComputedStyle(document.querySelector("
                      "'.ls-question-text')).unicodeBidi, "
                      "getComputedStyle(document.querySelector("
                      "'.ls-answer-text')).unicodeBidi]", page=B)
        assert iso[0] == "BDI" and iso[1] in ("isolate", "plaintext") and \
            iso[2] in ("isolate", "plaintext"), iso
        res = br.eval("(%s)('.ls-panel')" % CONTRAST_JS, page=B)
        assert res["checked"] >= 5 and res["failures"] == [], res
        br.call(cmd="screenshot", page=B,
                path=os.path.join(art, "question-pinned.png"))

        # -- 280 emoji: pinning it replaces the first; it wraps ------------
        ok(api_post(api, "/questions/%s/pin" % queue[1]["id"]))
        for i, p in enumerate(shown_everywhere(br, Q2)):
            assert p["question"]["name"] == Q1_NAME_CLEAN, (i, p)
            assert p["question"]["answer"] is None, (i, p)
        br.call(cmd="viewport", page=C, width=360, height=740)
        fit = br.eval("""(() => {
          const t = document.querySelector('.ls-question-text');
          const p = document.querySelector('.ls-panel').getBoundingClientRect();
          const r = t.getBoundingClientRect();
          return { lines: Math.round(r.height / parseFloat(
                     getComputedStyle(t).lineHeight || 20)),
                   inside: r.left >= p.left - 0.5 && r.right <= p.right + 0.5,
                   scroll: t.scrollWidth <= t.clientWidth + 1,
                   page: document.documentElement.scrollWidth <=
                         window.innerWidth };
        })()""", page=C)
        assert fit["inside"] and fit["scroll"] and fit["page"], fit
        assert fit["lines"] >= 3, fit
        br.call(cmd="screenshot", page=C,
                path=os.path.join(art, "question-emoji-phone.png"))
        br.call(cmd="viewport", page=C, width=1100, height=900)

        # -- the one with CR/LF ------------------------------------------
        ok(api_post(api, "/questions/%s/pin" % queue[2]["id"]))
        for i, p in enumerate(shown_everywhere(br, Q3)):
            assert p["question"]["name"] is None and \
                p["question"]["from"] == "Question from a viewer", (i, p)

        # -- unpinned: gone everywhere -----------------------------------
        ev = ok(api_post(api, "/unpin-question"))
        assert ev["type"] == "question.unpinned" and \
            ev["data"]["id"] == queue[2]["id"], ev
        br.wait("!document.querySelector('.ls-question').checkVisibility()"
                " && window.liveshop.state().question === null", 10,
                "the question to go", page="all")
        r = api_post(api, "/unpin-question")
        assert r.status == 409 and "not_pinned" in r.text, r
        assert ok(api.state())["question"] is None

        # -- too many from one tab: 429, Retry-After, said ---------------
        for k in range(6):
            req = ask_with_form(br, A, "Filler %d" % k)
            if req["status"] == 429:
                break
            assert req["status"] == 202, req
        else:
            raise AssertionError("page A never got a 429")
        status = br.wait("(() => { const t = document.querySelector("
                         "'.ls-ask-status').textContent; return /^Too many"
                         " questions \u2014 try again in \\d+ s$/.test(t) "
                         "&& t; })()", 5, "the 429 message", page=A)
        wait_s = int(re.search(r"in (\d+) s", status).group(1))
        assert 1 <= wait_s <= 10, status
        # the text stays for the next try
        assert br.panel(A)["ask"]["value"].startswith("Filler"), \
            br.panel(A)

        # -- an empty question never leaves the page ---------------------
        n_before = len(br.call(cmd="requests", page=C, match="/questions"))
        br.call(cmd="fill", page=C, selector=".ls-ask-text", value="  \n ")
        br.call(cmd="click", page=C, selector=".ls-ask-send")
        br.wait("document.querySelector('.ls-ask-status').textContent === "
                "'Please write your question first.' && document"
                ".querySelector('.ls-ask-text').getAttribute('aria-invalid')"
                " === 'true' && document.activeElement === document"
                ".querySelector('.ls-ask-text')", 5, "the empty message",
                page=C)
        assert len(br.call(cmd="requests", page=C, match="/questions")) == \
            n_before

        # -- a 400 says the server's message: bidi controls only are an
        # empty question once cleaned (the page cannot know that)
        req = ask_with_form(br, C, "\u202e\u2066\u200f")
        assert req["status"] == 400, req
        r = api.call("POST", "/questions", {"text": "\u202e\u2066\u200f",
                                            "session": "http-viewer-0002"},
                     token=None)
        assert r.status == 400 and r.json()["error"]["field"] == "text", r
        message = r.json()["error"]["message"]
        assert message, r
        br.wait("document.querySelector('.ls-ask-status').textContent === "
                "%s && document.querySelector('.ls-ask-text')"
                ".getAttribute('aria-invalid') === 'true'" % js_str(message),
                5, "the server's message", page=C)

        # -- a blocked session: answered, never queued --------------------
        for q in questions(api):
            ok(api_post(api, "/questions/%s/dismiss" % q["id"]))
        assert questions(api) == []
        req = ask_with_form(br, B, "Is this a troll? \U0001F608")
        assert req["status"] == 202, req
        queue = questions(api)
        assert [q["text"] for q in queue] == \
            ["Is this a troll? \U0001F608"], queue
        troll = queue[0]
        blocked = ok(api_post(api, "/questions/%s/block" % troll["id"]))
        assert blocked == {"blocked": troll["session"], "removed": 1}, blocked
        assert questions(api) == []
        req = ask_with_form(br, B, "Troll again")
        assert req["status"] == 202, req           # a shadow block
        br.wait("document.querySelector('.ls-ask-status').textContent === "
                + js_str(SENT), 5, "Sent (shadow-blocked)", page=B)
        assert json.loads(req["body"])["session"] == sessions[B]
        time.sleep(0.5)
        got = ok(api.call("GET", "/questions"))
        assert got["questions"] == [], got
        assert got["blocked_sessions"] == 1, got
        # another viewer is still heard
        req = ask_with_form(br, C, "Does it come in blue?")
        assert req["status"] == 202, req
        assert [(q["text"], q["session"] == troll["session"])
                for q in questions(api)] == \
            [("Does it come in blue?", False)]
        no_trace(br, sse, ["Troll again"], "the blocked question")

        log = br.page_log()
        assert log == [], log        # no alert(1), no page error
        br.call(cmd="screenshot", page=A,
                path=os.path.join(art, "asker.png"))
    except BaseException:
        try:
            for i in range(PAGES):
                br.call(cmd="screenshot", page=i,
                        path=os.path.join(art, "failure-%d.png" % i))
            with open(os.path.join(art, "failure.json"), "w") as f:
                json.dump({"panels": [br.panel(i) for i in range(PAGES)],
                           "log": br.page_log()}, f, indent=1)
        except Exception:  # noqa: BLE001 - the first error matters
            pass
        raise
    finally:
        br.close()
        sse.close()

