"""Shoppable replay (SPEC §16): a show's chapters.vtt read back with an
independent WebVTT parser (the W3C validator's webvtt-parser from npm, in
BUILD/web-deps: scripts/setup-web.sh) and checked against the pins of the
report, and `liveshopctl clips` cutting a synthetic recording of the show
(ffmpeg testsrc, 25 fps, a keyframe every second) into one MP4 per pin,
each decoded by ffprobe."""

import datetime
import json
import os
import shutil
import subprocess
import time

import pytest

import liveshop_harness as h

STREAM = h.STREAM
SHOW = "replay"
GOP_S = 1.0  # -g 25 at 25 fps
HOSTILE = "Serum <b>&amp;</b> --> \"Glow\" & Co. \u2014 50 ml"
PARSE_JS = r"""
const path = require("path");
const { WebVTTParser } = require(path.join(process.argv[1], "webvtt-parser"));
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  // the full table of character references, as the spec has it (the
  // default one is a small subset)
  const tree = new WebVTTParser(require(path.join(
    process.argv[1], "webvtt-parser", "html-entities.json")))
    .parse(input, "chapters");
  console.log(JSON.stringify({
    errors: tree.errors,
    cues: tree.cues.map((c) => ({ id: c.id, start: c.startTime,
                                  end: c.endTime,
                                  // the text as the parser reads it: tags
                                  // would show as <name>
                                  text: c.tree.children.map((n) =>
                                    n.type === "text" ? n.value
                                                      : "<" + n.name + ">")
                                    .join("") })),
  }));
});
"""


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def web_deps():
    """node_modules of BUILD/web-deps: a ctest run (which names it) fails
    when the parser is missing; a bare pytest run skips."""
    d = os.environ.get("LIVESHOP_WEB_DEPS") or os.path.join(
        h.REPO, "build", "web-deps")
    mods = os.path.join(d, "node_modules")
    if os.path.isfile(os.path.join(mods, "webvtt-parser", "parser.js")) \
            and shutil.which("node"):
        return mods
    if os.environ.get("LIVESHOP_WEB_DEPS"):
        pytest.fail("no webvtt-parser in %s (run scripts/setup-web.sh) or "
                    "no node" % mods)
    pytest.skip("webvtt-parser not installed (scripts/setup-web.sh)")


def parse_vtt(text):
    out = subprocess.run(["node", "-e", PARSE_JS, web_deps()],
                         input=text.encode("utf-8"), capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out
    return json.loads(out.stdout)


def chapters(api, show=SHOW, method="GET"):
    return api.call(method, "/shows/%s/chapters.vtt" % show, token=None)


def ctl(liveshopctl, ls, *args, env=None):
    return subprocess.run(
        [liveshopctl, "--server", "http://127.0.0.1:%d/shop/" % ls.http_port,
         "clips", STREAM] + list(args),
        capture_output=True, env=dict(os.environ, **(env or {})),
        timeout=120)


def make_recording(path, seconds):
    """A synthetic recording of the show from its start: testsrc at 25 fps
    with a keyframe every 25 frames, and a tone."""
    enc = (["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-x264-params", "keyint=25:min-keyint=25:scenecut=0"]
           if b"libx264" in subprocess.run(
               ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True,
               timeout=30).stdout else ["-c:v", "mpeg4", "-g", "25"])
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", "%.3f" % seconds] + enc + ["-g", "25", "-c:a", "aac",
                                          "-shortest", path],
        check=True, timeout=120)


def probe(path):
    """Decodes every video frame; its duration and frame count."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames:format=duration",
         "-of", "json", path], capture_output=True, timeout=60)
    assert out.returncode == 0, out
    v = json.loads(out.stdout)
    return float(v["format"]["duration"]), \
        int(v["streams"][0]["nb_read_frames"])


@pytest.fixture
def show(make_setup):
    """nginx with a journal, a show of three pins of 2-3 s each (one of
    an offer with a hostile title), ended; its report."""
    ls = make_setup(journal=True)
    api = ls.api
    ok(api.put_offer(h.offer("sku-1", title="Vitamin C Serum")), 201)
    ok(api.put_offer(h.offer("sku-2", title=HOSTILE, price="7",
                             currency="USD")), 201)
    ok(api.put_offer(h.offer("sku-3", title="Night Cream")), 201)
    now = datetime.datetime.now(datetime.timezone.utc)
    ok(api.call("PUT", "/shows/" + SHOW, {
        "title": "Replay", "duration": 600,
        "starts_at": now.strftime("%Y-%m-%dT%H:%M:%S.000Z")}), 201)
    ok(api.call("POST", "/show", {"show": SHOW}))
    time.sleep(1.0)
    for sku, hold in (("sku-1", 2.0), ("sku-2", 2.5), ("sku-3", 2.0)):
        ok(api.pin(sku))
        time.sleep(hold)
        ok(api.unpin())
        time.sleep(0.5)
    ok(api.call("DELETE", "/show"))
    rep = ok(api.call("GET", "/report?show=" + SHOW))
    return ls, rep


def test_chapters_match_the_pins(show):
    ls, rep = show
    api = ls.api
    pins = rep["series"]["pins"]
    assert [p["offer_id"] for p in pins] == ["sku-1", "sku-2", "sku-3"], rep
    started = h.parse_spec_time(rep["show"]["started_at"])

    r = chapters(api)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/vtt; charset=utf-8", r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    text = r.body.decode("utf-8")
    assert text.startswith("WEBVTT\n\n"), text

    tree = parse_vtt(text)
    assert tree["errors"] == [], (tree, text)
    cues = tree["cues"]
    assert len(cues) == 3, (cues, text)
    titles = {"sku-1": "Vitamin C Serum \u2014 19.99 EUR",
              "sku-2": HOSTILE + " \u2014 7 USD",
              "sku-3": "Night Cream \u2014 19.99 EUR"}
    last_end = 0.0
    for i, (cue, pin) in enumerate(zip(cues, pins)):
        assert cue["id"] == "%d-%s" % (i + 1, pin["offer_id"]), cue
        assert abs(cue["start"] - (pin["start"] - started) / 1000.0) \
            <= 0.001, (cue, pin, started)
        assert abs(cue["end"] - (pin["end"] - started) / 1000.0) \
            <= 0.001, (cue, pin, started)
        assert cue["start"] >= last_end and cue["end"] > cue["start"], cues
        last_end = cue["end"]
        # the parser resolves the references back to the title
        assert cue["text"] == titles[pin["offer_id"]], cue
    assert "-->" not in text.replace(" --> ", "") and "<b>" not in text

    # HEAD: the same headers, no body
    r = chapters(api, method="HEAD")
    assert r.status == 200 and r.body == b"", r
    assert r.headers["Content-Type"] == "text/vtt; charset=utf-8", r.headers

    # an unknown show: the module's JSON error; a bad id; a wrong method
    r = chapters(api, "nope")
    assert r.status == 404 and r.json()["error"]["code"] == "not_found", r
    r = chapters(api, "bad%20id")
    assert r.status == 400, r
    r = api.call("POST", "/shows/%s/chapters.vtt" % SHOW, b"", token=None)
    assert r.status == 405, r


def test_clips_cut_one_mp4_per_pin(show, liveshopctl, tmp_path):
    ls, rep = show
    pins = rep["series"]["pins"]
    started = h.parse_spec_time(rep["show"]["started_at"])
    ended = h.parse_spec_time(rep["show"]["ended_at"])
    rec = str(tmp_path / "show.mp4")
    make_recording(rec, (ended - started) / 1000.0 + 2)
    out = tmp_path / "clips"

    r = ctl(liveshopctl, ls, SHOW, "--recording", rec, "--out", str(out))
    assert r.returncode == 0, r
    index = json.loads((out / "index.json").read_text("utf-8"))
    assert index["show"] == SHOW and index["stream"] == STREAM, index
    assert index["recording"] == rec, index
    assert len(index["clips"]) == 3, index
    assert sorted(os.listdir(out)) == sorted(
        [c["file"] for c in index["clips"]] + ["index.json"])
    for i, (clip, pin) in enumerate(zip(index["clips"], pins)):
        want = (pin["end"] - pin["start"]) / 1000.0
        assert clip["file"] == "%02d-%s.mp4" % (i + 1, pin["offer_id"])
        assert clip["offer_id"] == pin["offer_id"], clip
        assert abs(clip["start"] - (pin["start"] - started) / 1000.0) \
            <= 0.001, (clip, pin)
        assert abs(clip["end"] - (pin["end"] - started) / 1000.0) \
            <= 0.001, (clip, pin)
        assert clip["title"].endswith(" EUR") or \
            clip["title"].endswith(" USD"), clip
        duration, frames = probe(str(out / clip["file"]))
        # starts on the keyframe at or before the pin: up to a GOP more
        assert want - 0.1 <= duration <= want + GOP_S + 0.1, \
            (clip, duration, want)
        assert frames >= int(want * 25) - 2, (clip, frames, want)
    assert index["clips"][1]["title"] == HOSTILE + " \u2014 7 USD"

    # an unknown show: the server's 404, nothing written
    none = tmp_path / "none"
    r = ctl(liveshopctl, ls, "nope", "--recording", rec, "--out", str(none))
    assert r.returncode == 1 and b"404" in r.stderr, r
    assert not none.exists()
    # a missing recording: refused before any request
    r = ctl(liveshopctl, ls, SHOW, "--recording", str(tmp_path / "x.mp4"),
            "--out", str(none))
    assert r.returncode == 2 and b"x.mp4" in r.stderr, r
    # ffmpeg missing, ffmpeg failing: which cue and why, no index
    r = ctl(liveshopctl, ls, SHOW, "--recording", rec, "--out", str(none),
            env={"LIVESHOP_FFMPEG": str(tmp_path / "no-ffmpeg")})
    assert r.returncode == 1 and b"1-sku-1" in r.stderr and \
        b"cannot run" in r.stderr, r
    assert not (none / "index.json").exists()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video\n")
    r = ctl(liveshopctl, ls, SHOW, "--recording", str(junk), "--out",
            str(none))
    assert r.returncode == 1 and b"1-sku-1" in r.stderr and \
        b"exit status" in r.stderr, r
    assert not (none / "index.json").exists()
