#!/usr/bin/python3
"""Benchmark 1: requests/s for a live HLS media playlist with program date
time and 5 ranges served through `live_shop_hls on`, against the very same
playlist bytes served as a static file by the same nginx in the same run.

It starts the setup of the nginx integration tests (nginx with 2 workers,
nginx-rtmp with HLS, 1 s fragments, a 10 s playlist, ngx_live_shop_module,
the journal on, ffmpeg publishing live/demo), shows a disclosure, starts a
countdown and pins three offers 1.2 s apart, so the playlist holds one
EXT-X-PROGRAM-DATE-TIME per segment and 5 EXT-X-DATERANGE tags (a
disclosure and a countdown still open, two ended pins and the open one).
Then it stops the publisher (with `hls_cleanup off`), so that the playlist
file stays as it is for the whole measurement (the module reads and rewrites it on every request
all the same: that is the cost measured), fetches the decorated playlist
once and writes those bytes to STATIC/demo.m3u8, which `location /static/`
of the same server serves as a plain file with the same headers.

wrk (1 thread, --connections keep-alive connections) then runs against
both URLs in turn, --rounds times each for --seconds; the figure is the
median of the per-round ratios live_shop_hls / static, each from two runs
back to back, so slow drifts of a shared machine cancel. It also shows
nginx's CPU time per request (the workers' user + system time from /proc
over each run, divided by its requests), which other load on the machine
disturbs less than req/s.

    bench/hls_playlist.py [--seconds 5] [--rounds 3] [--connections 16]
"""

import os
import statistics
import sys

import benchlib as b
from benchlib import h

TARGET = 0.90


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.seconds, args.rounds = 1, 1
    if not os.path.exists(b.WRK):
        sys.exit("wrk is missing: scripts/setup-deps.sh installs it")

    # alias relative to nginx's prefix (-p), the harness's directory
    # hls_cleanup off: nginx-rtmp would delete the playlist of a stream
    # that stopped publishing after a while
    ls = h.LiveSetup(module=args.module, journal=True,
                     extra_app="hls_cleanup off;",
                     extra_server="location /static/ { alias static/; "
                     "types { application/vnd.apple.mpegurl m3u8; } "
                     "add_header Cache-Control no-cache; }",
                     extra_http="keepalive_requests 10000000;")
    static = os.path.join(ls.d, "static")
    os.makedirs(static)
    ls.start()
    rows = []
    try:
        r = b.frozen_playlist(ls)
        npdt = r.text.count("#EXT-X-PROGRAM-DATE-TIME:")
        nranges = r.text.count("#EXT-X-DATERANGE:")
        with open(os.path.join(static, "demo.m3u8"), "wb") as f:
            f.write(r.body)
        static_url = "http://127.0.0.1:%d/static/demo.m3u8" % ls.http_port
        rs = h.http_request(static_url)
        if rs.status != 200 or rs.body != r.body:
            sys.exit("the static copy differs: %r" % rs)
        workers = ls.nginx.workers()
        print("nginx workers %s" % " ".join(map(str, workers)), flush=True)
        # warm up both
        b.wrk(ls.playlist_url, 1, args.connections)
        b.wrk(static_url, 1, args.connections)
        cpu = b.CpuMeter()
        for i in range(args.rounds):
            order = [("live_shop_hls", ls.playlist_url),
                     ("static", static_url)]
            if i % 2:
                order.reverse()
            got = {}
            for label, url in order:
                c0 = b.worker_cpu(workers)
                res = b.wrk(url, args.seconds, args.connections)
                c1 = b.worker_cpu(workers)
                # nginx's CPU per request: steadier than req/s when
                # others share the machine
                res["cpu_us"] = sum(c1[w] - c0[w] for w in c1) / max(
                    1, res["requests"]) * 1e6
                if res["errors"] or res["requests"] == 0:
                    sys.exit("%s: %d errors\n%s" % (label, res["errors"],
                                                    res["raw"]))
                got[label] = res
            rows.append(got)
        busy = cpu.busy()
        final = ls.fetch_playlist(save=False)
        if final.body != r.body:
            sys.exit("the playlist changed during the run")
        size = len(r.body)
    finally:
        ls.stop()
        ls.cleanup()

    ratios = [g["live_shop_hls"]["rps"] / g["static"]["rps"] for g in rows]
    cpu_ratio = statistics.median(g["static"]["cpu_us"] /
                                  g["live_shop_hls"]["cpu_us"] for g in rows)
    cpu_us = {k: statistics.median(g[k]["cpu_us"] for g in rows)
              for k in ("live_shop_hls", "static")}
    ratio = statistics.median(ratios)
    med = {k: statistics.median(g[k]["rps"] for g in rows)
           for k in ("live_shop_hls", "static")}
    print("HLS playlist (%d bytes, %d PDT, %d DATERANGE), wrk 1 thread "
          "%d connections, %d rounds x %.0f s each, nginx 2 workers; "
          "machine busy %.0f%% during the runs"
          % (size, npdt, nranges, args.connections, args.rounds,
             args.seconds, busy * 100))
    print()
    print("| round | live_shop_hls req/s | p99 ms | nginx CPU us/req | "
          "static req/s | p99 ms | nginx CPU us/req | req/s ratio | "
          "CPU ratio (static/live) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, g in enumerate(rows, 1):
        lv, st = g["live_shop_hls"], g["static"]
        print("| %d | %.0f | %.2f | %.1f | %.0f | %.2f | %.1f | %.3f | "
              "%.3f |" % (i, lv["rps"], lv.get("p99_ms", float("nan")),
                          lv["cpu_us"], st["rps"],
                          st.get("p99_ms", float("nan")), st["cpu_us"],
                          ratios[i - 1], st["cpu_us"] / lv["cpu_us"]))
    print()
    print("nginx CPU per request (median): live_shop_hls %.1f us, static "
          "%.1f us: the static file costs %.3f of the live_shop_hls "
          "request" % (cpu_us["live_shop_hls"], cpu_us["static"],
                       cpu_ratio))
    b.emit(args, 1, "HLS playlist, PDT + 5 ranges, via live_shop_hls",
           ">= 0.90 x static", "%.0f req/s" % med["live_shop_hls"],
           ratio / TARGET, ratio >= TARGET,
           baseline="static file %.0f req/s" % med["static"],
           vs_baseline=ratio,
           rps=med["live_shop_hls"], baseline_rps=med["static"],
           ratio_of_baseline=ratio, rounds=ratios, busy=busy, bytes=size,
           cpu_us_per_request=cpu_us, cpu_ratio=cpu_ratio)


if __name__ == "__main__":
    main()
