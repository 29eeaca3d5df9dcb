"""What the questions and polls tests (test_questions.py, test_polls.py)
share: many viewers' pages in one Chromium (viewers.mjs, each page its
own browser context, so its own session), the light viewer page
(light.html: the player without video), and what the player's
questions-and-polls panel shows."""

import json
import os

import liveshop_harness as h
from test_player import Browser
from viewer_page import web_conf

HERE = os.path.dirname(os.path.abspath(__file__))
LIGHT = os.path.join(HERE, "light.html")


def pages_conf(deps):
    """extra_server of make_setup: the demo page, hls.js, a picture, and
    /light.html."""
    return web_conf(deps) + (
        " location = /light.html { alias %s; default_type text/html; "
        "add_header Cache-Control no-cache; }" % LIGHT)


class Viewers(Browser):
    """viewers.mjs: pages numbered from 0 in the order opened."""

    def __init__(self, deps, log_path):
        super().__init__(deps, log_path, "viewers.mjs")

    def open(self, url, n, timeout=600, **kw):
        return self.call(cmd="open", url=url, n=n, timeout=timeout, **kw)

    def eval(self, js, page=0, timeout=60):
        return self.call(cmd="eval", page=page, js=js, timeout=timeout)

    def wait(self, js, timeout_s, what, page=0):
        """Until js is truthy in the page (page="all": in every page);
        its value."""
        try:
            return self.call(cmd="wait", page=page, js=js,
                             timeout=timeout_s + 30,
                             ms=int(timeout_s * 1000))
        except AssertionError as e:
            pages = range(3) if page == "all" else [page]
            raise AssertionError("waiting %.0f s for %s: %s\npanel: %s" % (
                timeout_s, what, str(e)[:400],
                [self.panel(p) for p in pages]))

    def panel(self, page=0):
        try:
            return self.call(cmd="eval", page=page, js=PANEL_JS, timeout=15)
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return "(no panel: %s)" % e

    def page_log(self):
        return self.call(cmd="log")


# What the panel under the video shows (null: hidden), for assertions.
PANEL_JS = """(() => {
  const q = (s) => document.querySelector(s);
  const vis = (e) => !!e && e.checkVisibility();
  const text = (s) => vis(q(s)) ? q(s).textContent : null;
  const poll = q('.ls-poll');
  return {
    panel: vis(q('.ls-panel')),
    question: vis(q('.ls-question')) ? {
      from: q('.ls-question-from').textContent,
      name: text('.ls-question-name'),
      text: q('.ls-question-text').textContent,
      answer: text('.ls-answer-text'),
      elements: q('.ls-question-text').children.length +
                q('.ls-answer-text').children.length +
                q('.ls-question-from').querySelectorAll('*:not(bdi)').length,
      dir: q('.ls-question-text').getAttribute('dir'),
    } : null,
    live: q('.ls-question-live').getAttribute('aria-live'),
    poll: vis(poll) ? {
      legend: text('.ls-poll-vote legend'),
      options: [...poll.querySelectorAll('.ls-poll-option')].filter(vis)
        .map((b) => b.textContent),
      results: vis(q('.ls-poll-results')) ?
        [...poll.querySelectorAll('.ls-poll-label')]
          .map((e) => e.textContent) : null,
      bars: [...poll.querySelectorAll('.ls-poll-bar')]
        .map((b) => b.getAttribute('aria-hidden')),
      total: text('.ls-poll-total'),
      clock: q('.ls-poll-clock').textContent,
      status: q('.ls-poll-status').textContent,
      said: q('.ls-poll-said').textContent,
    } : null,
    ask: vis(q('.ls-ask')) ? {
      count: q('.ls-ask-count').textContent,
      status: q('.ls-ask-status').textContent,
      value: q('.ls-ask-text').value,
    } : null,
    state: window.liveshop ? (({question, poll, viewers}) =>
      ({question, poll, viewers}))(window.liveshop.state()) : null,
    xss: window.__xss === undefined ? null : window.__xss,
    imgs: document.querySelectorAll('.ls-panel img').length,
  };
})()"""


def js_str(s):
    return json.dumps(s)


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def api_post(api, rest, body=None, token="default"):
    return api.call("POST", rest, body if body is not None else b"",
                    token=token)


def connected_js():
    """The page has its event stream's state (the state's viewers)."""
    return ("window.liveshop && window.liveshop.state().viewers > 0")


def page_url(ls, path="/index.html", **query):
    q = "&".join("%s=%s" % kv for kv in
                 dict({"stream": h.STREAM}, **query).items())
    return "http://127.0.0.1:%d%s?%s" % (ls.http_port, path, q)
