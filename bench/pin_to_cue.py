#!/usr/bin/env python3
"""Pin-to-cue latency: the time from a pin call's HTTP response returning
to an independent RTMP subscriber (ffprobe -show_packets -show_data)
printing the onCuePoint that carries that pin's seq.

Starts the setup of the nginx integration tests (nginx with 2 workers,
nginx-rtmp, ngx_live_shop_module, ffmpeg publishing live/demo), one
ffprobe subscriber per worker, then pins two offers in turn, --pins times
with --gap seconds between, and prints median, p90 and max in ms over all
(pin, subscriber) pairs and per subscriber.

    /usr/bin/python3 bench/pin_to_cue.py [--module PATH] [--pins 20]

A negative time would mean the cue was printed before the HTTP response
was read: the module sends the cue before it answers.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "nginx"))

import liveshop_harness as h  # noqa: E402


def summary(ms):
    return "median %.1f  p90 %.1f  max %.1f  min %.1f  (n=%d)" % (
        statistics.median(ms), h.percentile(ms, 90), max(ms), min(ms),
        len(ms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default=h.module_path(),
                    help="ngx_live_shop_module.so (default: %(default)s)")
    ap.add_argument("--pins", type=int, default=20)
    ap.add_argument("--gap", type=float, default=1.0,
                    help="seconds between pins")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for each cue")
    ap.add_argument("--direct", action="store_true",
                    help="let the kernel choose the subscribers' worker and "
                    "connect ffprobe straight to nginx (by default one "
                    "subscriber is placed in each worker through a "
                    "loopback relay in this process)")
    ap.add_argument("--subscribers", type=int, default=2,
                    help="with --direct: how many subscribers")
    ap.add_argument("--json", action="store_true",
                    help="also print the raw times as JSON")
    ap.add_argument("--keep", action="store_true",
                    help="keep logs under the test artifacts directory")
    args = ap.parse_args()
    if not os.path.isfile(args.module):
        sys.exit("no module at %s (build it, or pass --module)" % args.module)

    ls = h.LiveSetup(module=args.module)
    ls.start()
    rows = []
    try:
        api = ls.api
        for oid in ("bench-a", "bench-b"):
            r = api.put_offer(h.offer(oid))
            if r.status not in (200, 201):
                sys.exit("PUT offer %s: %r" % (oid, r))
        if args.direct:
            subs = [ls.subscribe(label="bench-%d" % i)
                    for i in range(args.subscribers)]
        else:
            subs = [ls.subscribe(label="bench-w%d" % i, worker=w)
                    for i, w in enumerate(ls.nginx.workers())]
        workers = {s.label: ls.worker_of(s) for s in subs}
        for s in subs:
            s.wait(lambda x: x.cues, 30, "the state cue")
            s.wait_playing(30)
        for i in range(args.pins):
            oid = ("bench-a", "bench-b")[i % 2]
            r = api.pin(oid)
            returned = time.monotonic()
            if r.status != 200:
                sys.exit("pin %d: %r" % (i, r))
            seq = str(r.json()["seq"])
            for s in subs:
                cue = s.wait_cue(lambda c: c.seq == seq, args.timeout,
                                 "the cue of seq " + seq)
                rows.append({"pin": i, "seq": int(seq), "subscriber": s.label,
                             "ms": (cue.read_at - returned) * 1000})
            time.sleep(max(0.0, args.gap - (time.monotonic() - returned)))
    finally:
        ls.stop()
        if args.keep:
            print("artifacts:", ls.keep_artifacts("bench-pin_to_cue"))
        ls.cleanup()

    ms = [r["ms"] for r in rows]
    print("pin -> cue printed by ffprobe, ms, %d pins x %d subscribers"
          % (args.pins, len(subs)))
    print("  all                  " + summary(ms))
    for s in subs:
        print("  %-10s worker %-6d " % (s.label, workers[s.label]) + summary(
            [r["ms"] for r in rows if r["subscriber"] == s.label]))
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
