#!/usr/bin/python3
"""Benchmark 11: what liveshop costs the video. nginx's CPU time per RTMP
subscriber and per HLS playlist request with ngx_live_shop_module loaded
and one event a second, against the same nginx and the same nginx-rtmp
without the module, in the same run.

Two nginx of the integration tests side by side (tests/nginx/
liveshop_harness.py: 2 workers, nginx-rtmp with HLS, 1 s fragments, each
with its own ffmpeg publishing live/demo, 320x240 x264 + AAC in real
time): "liveshop" loads ngx_live_shop_module.so (`live_shop on` in the
application, `live_shop_hls on` on /hls/, the journal on), "plain" the
same config without any live_shop directive or the module. A thread
makes one event a second on liveshop (pin, unpin, ... over a keep-alive
connection) for the whole run.

1. RTMP: --subscribers subscribers on each (bench/rtmp_reader.py), all in
   the publisher's worker: without the module Debian's dynamic
   nginx-rtmp's rtmp_auto_push never relays to the other worker (the
   module makes it work, see ngx_rtmp_live_shop_module.c), so the
   comparison is made where both serve; all read at the same time (a
   thread per nginx); over
   --rounds windows of --seconds the workers' CPU time (/proc/PID/schedstat)
   of both is read; an idle window before the subscribers come
   gives each nginx's own cost (ingest, HLS muxing). The figure: CPU
   per subscriber per second, the total over the subscribers, and the
   ratio liveshop / plain (target <= 1.05).
2. HLS: wrk (1 thread, 16 connections) on each live playlist in turn,
   ABBA, --seconds each; nginx's CPU per request, liveshop / plain.

    bench/video_cost.py [--subscribers 100] [--seconds 5] [--rounds 3]
"""

import os
import statistics
import sys
import threading
import time

import benchlib as b
from benchlib import h
from rtmp_reader import RtmpCrowd

TARGET = 1.05


class Reader(threading.Thread):
    """Keeps a crowd read until stopped."""

    def __init__(self, crowd):
        threading.Thread.__init__(self, daemon=True)
        self.crowd = crowd
        self.stop = False
        self.error = None

    def run(self):
        try:
            while not self.stop:
                self.crowd.soak(0.2)
        except Exception as e:      # noqa: BLE001 -- reported by main
            self.error = e


class Events(threading.Thread):
    """One event a second on the liveshop nginx."""

    def __init__(self, ls):
        threading.Thread.__init__(self, daemon=True)
        self.ka = h.KeepAlive(ls.http_port, ls.api.token)
        self.base = "/shop/v1/streams/" + h.STREAM
        self.stop = False
        self.made = 0
        self.error = None

    def run(self):
        t = time.monotonic()
        try:
            while not self.stop:
                st, body = self.ka.request(
                    "POST", self.base + ("/unpin" if self.made % 2
                                         else "/pin"),
                    None if self.made % 2 else {"offer": "video-1"})
                if st != 200:
                    raise RuntimeError("control call: %d %r" % (st, body))
                self.made += 1
                t += 1.0
                time.sleep(max(0, t - time.monotonic()))
        except Exception as e:      # noqa: BLE001 -- reported by main
            self.error = e
        self.ka.close()


def cpu_of(setups):
    return {k: b.schedstat(ls.nginx.workers())[0] for k, ls in setups.items()}


def window(setups, seconds):
    """CPU seconds per second of each nginx's workers over seconds."""
    c0, t0 = cpu_of(setups), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_of(setups), time.monotonic()
    return {k: (c1[k] - c0[k]) / (t1 - t0) for k in setups}


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--subscribers", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.subscribers, args.seconds, args.rounds = 10, 1, 1
    if not os.path.exists(b.WRK):
        sys.exit("wrk is missing: scripts/setup-deps.sh installs it")
    h.raise_nofile(args.subscribers * 4 + 1000)

    ka_http = "keepalive_requests 10000000; keepalive_timeout 300s;"
    setups = {"liveshop": h.LiveSetup(module=args.module, journal=True,
                                      extra_http=ka_http),
              "plain": h.LiveSetup(module=None, extra_http=ka_http)}
    crowds, readers, events = {}, [], None
    cpu = b.CpuMeter()
    load0 = b.loadavg()
    try:
        for ls in setups.values():
            ls.start()
        r = setups["liveshop"].api.put_offer(h.offer("video-1"))
        if r.status not in (200, 201):
            sys.exit("PUT offer: %r" % r)
        events = Events(setups["liveshop"])
        events.start()
        time.sleep(1.5)
        idle = [window(setups, args.seconds) for _ in range(args.rounds)]

        def has_media(s):
            return s.playing and s.media > 0
        for k, ls in setups.items():
            crowds[k] = RtmpCrowd(ls.rtmp_port, h.APP, h.NAME,
                                  args.subscribers,
                                  workers=ls.nginx.workers(),
                                  place=[ls.publisher_worker()]).connect(
                timeout=60, ready=has_media)
        for c in crowds.values():
            readers.append(Reader(c))
            readers[-1].start()
        time.sleep(1.0)
        media0 = {k: sum(s.media for s in c.subs) for k, c in crowds.items()}
        busy_w = [window(setups, args.seconds) for _ in range(args.rounds)]
        media = {k: sum(s.media for s in c.subs) - media0[k]
                 for k, c in crowds.items()}
        cues = sum(len(s.cues) for s in crowds["liveshop"].subs)
        for rd in readers:
            rd.stop = True
        for rd in readers:
            rd.join(5)
            if rd.error:
                sys.exit("RTMP reader: %r" % rd.error)
        for c in crowds.values():
            c.close()
        crowds = {}
        time.sleep(1.0)

        # HLS: each live playlist in turn, ABBA
        hls = {"liveshop": [], "plain": []}
        for k, ls in setups.items():
            b.wrk(ls.playlist_url, 1, args.connections)     # warm up
        for i in range(args.rounds * 2):
            order = ["liveshop", "plain"]
            if i % 2:
                order.reverse()
            for k in order:
                ls = setups[k]
                w = ls.nginx.workers()
                c0 = b.schedstat(w)[0]
                res = b.wrk(ls.playlist_url, args.seconds, args.connections)
                c1 = b.schedstat(w)[0]
                if res["errors"] or not res["requests"]:
                    sys.exit("%s playlist: %d errors\n%s" % (
                        k, res["errors"], res["raw"]))
                hls[k].append({"rps": res["rps"], "cpu_us": (c1 - c0) /
                               res["requests"] * 1e6})
        sizes = {k: len(ls.fetch_playlist(save=False).body)
                 for k, ls in setups.items()}
        events.stop = True
        events.join(5)
        if events.error:
            sys.exit("events: %r" % events.error)
        made = events.made
    finally:
        for rd in readers:
            rd.stop = True
        if events is not None:
            events.stop = True
        for c in crowds.values():
            c.close()
        for ls in setups.values():
            ls.stop()
            ls.cleanup()
    busy = cpu.busy()
    load1 = b.loadavg()

    n = args.subscribers
    med = {k: statistics.median(w[k] for w in busy_w) for k in setups}
    med_idle = {k: statistics.median(w[k] for w in idle) for k in setups}
    per_sub = {k: med[k] / n * 1e6 for k in setups}     # us CPU per s
    marg = {k: (med[k] - med_idle[k]) / n * 1e6 for k in setups}
    rtmp_ratio = per_sub["liveshop"] / max(per_sub["plain"], 1e-9)
    hls_cpu = {k: statistics.median(x["cpu_us"] for x in v)
               for k, v in hls.items()}
    hls_rps = {k: statistics.median(x["rps"] for x in v)
               for k, v in hls.items()}
    hls_ratio = hls_cpu["liveshop"] / max(hls_cpu["plain"], 1e-9)

    print("What liveshop costs the video: two nginx side by side (2 "
          "workers each, each its own ffmpeg publisher), liveshop with "
          "%d events over the run (one a second), plain without the "
          "module; machine busy %.0f%%, load average %.2f before, %.2f "
          "after" % (made, busy * 100, load0[0], load1[0]))
    print("\nRTMP: %d subscribers on each, all in the publisher's worker, "
          "%d windows of %.0f s; "
          "%d cues at liveshop's subscribers; media messages read: %s\n"
          % (n, args.rounds, args.seconds, cues, ", ".join(
              "%s %d" % kv for kv in sorted(media.items()))))
    print("| nginx | workers' CPU ms/s, no subscribers | with %d | "
          "µs CPU per subscriber per s (all / %d) | over idle, per "
          "subscriber |" % (n, n))
    print("|---|---|---|---|---|")
    for k in ("liveshop", "plain"):
        print("| %s | %.1f | %.1f | %.1f | %.1f |" % (
            k, med_idle[k] * 1000, med[k] * 1000, per_sub[k], marg[k]))
    print("\nHLS: wrk 1 thread, %d connections, %d runs of %.0f s each, "
          "ABBA; playlist bytes %s\n" % (
              args.connections, args.rounds * 2, args.seconds,
              ", ".join("%s %d" % kv for kv in sorted(sizes.items()))))
    print("| nginx | req/s | nginx CPU µs/request |")
    print("|---|---|---|")
    for k in ("liveshop", "plain"):
        print("| %s | %.0f | %.1f |" % (k, hls_rps[k], hls_cpu[k]))
    print()
    b.emit(args, 11, "nginx CPU per RTMP subscriber, liveshop + 1 event/s "
           "vs no module", "<= 1.05 x no module",
           "%.1f µs/s per subscriber" % per_sub["liveshop"],
           TARGET / max(rtmp_ratio, 1e-9), rtmp_ratio <= TARGET,
           baseline="no module %.1f µs/s" % per_sub["plain"],
           vs_baseline=rtmp_ratio, per_sub_us=per_sub, over_idle_us=marg,
           idle=idle, busy_windows=busy_w, busy=busy)
    b.emit(args, 11, "nginx CPU per HLS playlist request, liveshop + 1 "
           "event/s vs no module", "<= 1.05 x no module",
           "%.1f µs/request" % hls_cpu["liveshop"],
           TARGET / max(hls_ratio, 1e-9), hls_ratio <= TARGET,
           baseline="no module %.1f µs/request" % hls_cpu["plain"],
           vs_baseline=hls_ratio, rps=hls_rps, runs=hls, bytes=sizes)


if __name__ == "__main__":
    main()
