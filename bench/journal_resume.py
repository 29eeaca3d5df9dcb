#!/usr/bin/env python3
"""Benchmark 12: resuming after a million events. The time an SSE client
that reconnects with Last-Event-ID near the end of a stream's journal of
--events events waits for its first missed event.

It writes the journal of one stream (live/demo, NAME.journal) directly:
a catalog put, then --events stock.changed events (seq 1..N, one ms
apart, a catalog put every 10,000), line for line as the module writes
them (the templates are taken from a journal the module wrote, so the
format is the module's own). Then it starts the setup of the nginx
integration tests on it (nginx with 2 workers, ngx_live_shop_module,
`live_shop_journal_max_size 4g` so that the file is one, no publisher),
which rebuilds the stream from the journal, and connects SSE clients with
Last-Event-ID: N - --behind (further back than the 128 events the zone
keeps, so the journal has to be read). Figure: the time from sending the
request to the first byte of the event N - --behind + 1, median of
--repeats; also the time to the last event N, and that every event came
once and in order.

With --baseline-module (a build of the module from before the catch-up
seek, e.g. of the branch point), the same journal is served by it too, in
the same run: its figure is the baseline.

    /usr/bin/python3 bench/journal_resume.py [--events 1000000]
        [--behind 1000] [--repeats 5] [--baseline-module OLD.so]
"""

import os
import re
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib as b  # noqa: E402
from benchlib import h  # noqa: E402

STREAM = h.STREAM
TARGET_MS = 50.0


def templates(module):
    """An offer line and a stock.changed line as the module writes them."""
    ls = h.LiveSetup(module=module, journal=True)
    ls.start(publish=False)
    try:
        o = h.offer("jr-1")
        o["stock"] = 7
        for _ in range(2):
            r = ls.api.put_offer(o)
            if r.status not in (200, 201):
                sys.exit("PUT offer: %r" % r)
            o["stock"] -= 1
        with open(ls.journal_path()) as f:
            lines = f.read().splitlines()
    finally:
        ls.stop()
    offer = [x for x in lines if x.startswith('{"offer":')][-1]
    event = [x for x in lines if '"type":"stock.changed"' in x][-1]
    return offer, event


def write_journal(path, n, offer, event):
    """NAME.journal with n events, the last one a second before now."""
    seq = int(re.match(r'\{"seq":(\d+),', event).group(1))
    head, tail = event.split('"data":', 1)
    ev_pre = head.replace('{"seq":%d,' % seq, "").replace(
        '"id":"%s:%d",' % (STREAM, seq), "")
    ev_pre = re.sub(r'"at":"[^"]*",', "", ev_pre)
    at_re = re.compile(r'"at":"[^"]*"')
    t0 = h.now_ms() - n - 1000
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        chunk = []
        for i in range(1, n + 1):
            at = h.format_spec_time(t0 + i)
            if i % 10000 == 1:
                chunk.append(at_re.sub('"at":"%s"' % at, offer) + "\n")
            chunk.append('{"seq":%d,"id":"%s:%d",%s"at":"%s","data":'
                         '{"offer_id":"jr-1","stock":%d}}\n'
                         % (i, STREAM, i, ev_pre, at, i % 1000))
            if len(chunk) >= 20000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return os.path.getsize(path)


def resume(port, path, after, last, timeout=120):
    """(ms to the first byte of event after + 1, ms to event last, ids)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream"
           "\r\nLast-Event-ID: %d\r\n\r\n" % (path, after)).encode()
    first_id = ("id: %d\n" % (after + 1)).encode()
    last_id = ("id: %d\n" % last).encode()
    buf = b""
    t0 = time.perf_counter()
    s.sendall(req)
    t_first = t_last = None
    try:
        while t_last is None:
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
            if t_first is None and first_id in buf:
                t_first = time.perf_counter()
            if last_id in buf:
                t_last = time.perf_counter()
    finally:
        s.close()
    if t_first is None or t_last is None:
        raise RuntimeError("resume after %d: no event %d/%d in %r" % (
            after, after + 1, last, buf[:300]))
    ids = [int(x) for x in re.findall(rb"^id: (\d+)$", buf, re.M)]
    return (t_first - t0) * 1e3, (t_last - t0) * 1e3, ids


def measure(module, offer, event, n, behind, repeats):
    ls = h.LiveSetup(module=module, journal=True, journal_max_size="4g")
    size = write_journal(ls.journal_path(), n, offer, event)
    t = time.monotonic()
    ls.nginx.start(timeout=600)
    try:
        # the stream is rebuilt from its journal when first used
        r = ls.api.state(timeout=1200)
        started = time.monotonic() - t
        if r.status != 200 or r.json().get("seq") != n:
            sys.exit("state after start: %r" % r)
        path = ls.api.events_path()
        after = n - behind
        firsts, lasts = [], []
        for _ in range(repeats):
            f_ms, l_ms, ids = resume(ls.http_port, path, after, n)
            if ids[:behind] != list(range(after + 1, n + 1)):
                sys.exit("resume after %d: not exactly %d..%d once in "
                         "order" % (after, after + 1, n))
            firsts.append(f_ms)
            lasts.append(l_ms)
    finally:
        ls.stop()
    return {"first_ms": statistics.median(firsts),
            "last_ms": statistics.median(lasts), "firsts": firsts,
            "lasts": lasts, "journal_bytes": size, "start_s": started}


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--behind", type=int, default=1000,
                    help="events the client missed (> 128, the zone's)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-module", default=None,
                    help="the module from before, served the same journal")
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.events, args.repeats = 20000, 1
    if args.behind <= 128 or args.behind >= args.events:
        sys.exit("--behind must be over 128 and under --events")

    offer, event = templates(args.module)
    runs = [("this build", args.module)]
    if args.baseline_module:
        runs.append(("baseline", args.baseline_module))
    res = {}
    for label, module in runs:
        res[label] = measure(module, offer, event, args.events, args.behind,
                             args.repeats)

    print("\n| module | journal | start and rebuild | first missed event "
          "(median) | all %d missed | each run (ms) |" % args.behind)
    print("|---|---|---|---|---|---|")
    for label, _m in runs:
        r = res[label]
        print("| %s | %d events, %.0f MB | %.1f s | %.2f ms | %.2f ms | %s |"
              % (label, args.events, r["journal_bytes"] / 1048576.0,
                 r["start_s"], r["first_ms"], r["last_ms"],
                 ", ".join("%.1f" % x for x in r["firsts"])))

    now = res["this build"]
    base = res.get("baseline")
    b.emit(args, 12, "SSE resume, Last-Event-ID %d behind the end of %d "
           "events in the journal, to the first missed event"
           % (args.behind, args.events), "<= %.0f ms" % TARGET_MS,
           "%.2f ms" % now["first_ms"], TARGET_MS / max(now["first_ms"],
                                                         1e-3),
           now["first_ms"] <= TARGET_MS,
           baseline=None if base is None else "%.2f ms" % base["first_ms"],
           vs_baseline=None if base is None
           else now["first_ms"] / base["first_ms"],
           speedup=None if base is None
           else base["first_ms"] / max(now["first_ms"], 1e-3),
           events=args.events, behind=args.behind,
           first_ms=now["firsts"], last_ms=now["lasts"],
           journal_bytes=now["journal_bytes"],
           baseline_first_ms=None if base is None else base["firsts"],
           baseline_last_ms=None if base is None else base["lasts"])


if __name__ == "__main__":
    main()
