"""The per-worker cache of rewritten playlists (ngx_http_live_shop_hls.c):
a cached playlist must never be staler than a fresh rewrite. Each worker
is asked on a connection it accepted, so both workers' caches are checked:
an event, a new or changed playlist file must show at once in each, and a
cached answer must be byte for byte what a fresh rewrite gives."""

import os
import time

import liveshop_harness as h


def fetch_in(ls, worker):
    """GET the playlist from that worker."""
    sock = h.connect_in_worker(ls.http_port, worker, ls.nginx.workers())
    try:
        return h.raw_http(sock, ls.playlist_url)
    finally:
        sock.close()


def fetch_all(ls):
    """{worker: playlist bytes}, each twice: the second one is a hit."""
    got = {}
    for w in ls.nginx.workers():
        first = fetch_in(ls, w)
        assert first.status == 200, first
        again = fetch_in(ls, w)
        assert again.body == first.body, \
            "worker %d answered twice differently" % w
        got[w] = first.body
    return got


def range_line(text, event_id):
    for ln in text.split("\n"):
        if ln.startswith("#EXT-X-DATERANGE:") and \
                ('ID="%s"' % event_id) in ln:
            return ln
    return None


def segments(text):
    return [ln for ln in text.split("\n") if ln and not ln.startswith("#")]


def replace_file(path, data, mtime_ns=None):
    """As nginx-rtmp writes a playlist: a new file renamed over it."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.rename(tmp, path)


def stopped_setup(make_setup):
    """A setup whose playlist file stays put: the publisher has stopped."""
    ls = make_setup(publish=True, journal=True, extra_app="hls_cleanup off;")
    api = ls.api
    for i in range(2):
        r = api.put_offer(h.offer("cache-%d" % i))
        assert r.status in (200, 201), r
    ls.publisher.stop()
    time.sleep(1.5)
    return ls


def test_events_show_at_once_in_every_worker(make_setup):
    ls = stopped_setup(make_setup)
    api = ls.api
    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")
    before = os.stat(path)
    fetch_all(ls)

    r = api.pin("cache-0")
    assert r.status == 200, r
    pin0 = r.json()["id"]
    for w, body in fetch_all(ls).items():
        ln = range_line(body.decode(), pin0)
        assert ln is not None, "worker %d: no range of the pin" % w
        assert "END-DATE" not in ln, ln

    r = api.pin("cache-1")
    assert r.status == 200, r
    pin1 = r.json()["id"]
    for w, body in fetch_all(ls).items():
        text = body.decode()
        assert "END-DATE" in (range_line(text, pin0) or ""), \
            "worker %d: the replaced pin did not end" % w
        assert range_line(text, pin1) is not None, \
            "worker %d: no range of the second pin" % w

    r = api.unpin()
    assert r.status == 200, r
    r = api.countdown(60, "Sale")
    assert r.status == 200, r
    cd = r.json()["id"]
    for w, body in fetch_all(ls).items():
        text = body.decode()
        assert "END-DATE" in (range_line(text, pin1) or ""), \
            "worker %d: the unpinned range did not end" % w
        assert range_line(text, cd) is not None, \
            "worker %d: no range of the countdown" % w

    # a range the clock ends: the countdown.ended the tick makes
    r = api.countdown(1, "Flash")
    assert r.status == 200, r
    flash = r.json()["id"]
    for w, body in fetch_all(ls).items():
        assert "END-DATE" not in (range_line(body.decode(), flash) or "E"), \
            "worker %d: the new countdown is missing or ended" % w
    time.sleep(1.6)
    for w, body in fetch_all(ls).items():
        assert "END-DATE" in (range_line(body.decode(), flash) or ""), \
            "worker %d: the countdown did not end on time" % w

    # all of it without the file changing
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == \
        (before.st_ino, before.st_mtime_ns)


def test_new_and_changed_files_show_at_once(make_setup):
    ls = stopped_setup(make_setup)
    r = ls.api.pin("cache-0")
    assert r.status == 200, r
    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")
    with open(path, "rb") as f:
        orig = f.read()
    fetch_all(ls)

    # a new segment, renamed in as nginx-rtmp does
    segs = segments(orig.decode())
    last = segs[-1]
    digits = "".join(c for c in os.path.splitext(last)[0] if c.isdigit())
    extinf = [ln for ln in orig.decode().split("\n")
              if ln.startswith("#EXTINF:")][-1]
    dur_ms = round(float(extinf[8:].split(",")[0]) * 1000)
    newer = last.replace(digits, str(int(digits) + dur_ms))
    grown = orig + b"#EXTINF:1.000,\n" + newer.encode() + b"\n"
    replace_file(path, grown)
    for w, body in fetch_all(ls).items():
        text = body.decode()
        assert segments(text)[-1] == newer, \
            "worker %d: the new segment is missing" % w
        pl = h.parse_playlist(text)
        assert h.check_media_playlist(pl, h.PDT_TOLERANCE) == []

    # the same inode and size written over in place: only mtime tells
    changed = grown.replace(newer.encode(), newer.replace(
        str(int(digits) + dur_ms), str(int(digits) + dur_ms + 1)).encode())
    assert len(changed) == len(grown)
    with open(path, "r+b") as f:
        f.write(changed)
    for w, body in fetch_all(ls).items():
        assert segments(body.decode())[-1] != newer, \
            "worker %d: served the playlist before the file changed" % w

    # gone: 404, not the cached copy
    os.rename(path, path + ".away")
    for w in ls.nginx.workers():
        assert fetch_in(ls, w).status == 404
    os.rename(path + ".away", path)
    for w in ls.nginx.workers():
        assert fetch_in(ls, w).status == 200


def test_cached_answer_is_a_fresh_rewrite(make_setup):
    ls = stopped_setup(make_setup)
    api = ls.api
    for r in (api.disclose("ad", "Anzeige"), api.countdown(600, "Sale"),
              api.pin("cache-0"), api.pin("cache-1")):
        assert r.status == 200, r
    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")
    cached = fetch_all(ls)
    assert len(set(cached.values())) == 1, "the workers disagree"
    body = next(iter(cached.values()))
    assert body.count(b"#EXT-X-DATERANGE:") == 4

    # a new inode with the same bytes and mtime: rewritten afresh
    st = os.stat(path)
    with open(path, "rb") as f:
        data = f.read()
    replace_file(path, data, st.st_mtime_ns)
    assert os.stat(path).st_ino != st.st_ino
    for w, fresh in fetch_all(ls).items():
        assert fresh == body, "worker %d: fresh rewrite differs" % w

    # new workers start with nothing cached
    ls.nginx.reload()
    for w, fresh in fetch_all(ls).items():
        assert fresh == body, "worker %d after reload differs" % w


def test_orders_between_fetches(make_setup):
    """An order's events move the seq but no range: the answer stays the
    same bytes (and a fresh rewrite agrees), and a pin after it shows."""
    from test_webhooks import SECRETS, make_order, send
    ls = make_setup(publish=True, journal=True, webhooks=SECRETS,
                    extra_app="hls_cleanup off;")
    api = ls.api
    r = api.put_offer(h.offer("cache-0", stock=100, price="1.00"))
    assert r.status in (200, 201), r
    r = api.pin("cache-0")
    assert r.status == 200, r
    pin0 = r.json()["id"]
    ls.publisher.stop()
    time.sleep(1.5)
    body = set(fetch_all(ls).values())
    assert len(body) == 1
    seq = api.state().json()["seq"]
    for _ in range(3):
        o = make_order("standard", h.STREAM, [("cache-0", 1, "1.00")])
        assert send(ls, o).status == 200
        assert set(fetch_all(ls).values()) == body, "an order changed it"
    assert api.state().json()["seq"] > seq

    path = os.path.join(ls.d, "hls", h.NAME + ".m3u8")
    st = os.stat(path)
    with open(path, "rb") as f:
        replace_file(path, f.read(), st.st_mtime_ns)
    assert set(fetch_all(ls).values()) == body, "a fresh rewrite differs"

    r = api.unpin()
    assert r.status == 200, r
    for w, b in fetch_all(ls).items():
        assert "END-DATE" in (range_line(b.decode(), pin0) or ""), \
            "worker %d: the unpin after orders did not show" % w
