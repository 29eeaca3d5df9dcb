#!/usr/bin/python3
"""Benchmark 7: shared memory and journal size of one stream with 1,000
offers and a 4-hour show with one event per second (14,400 events), and
whether they stay bounded.

It starts the setup of the nginx integration tests (nginx with 2 workers,
ngx_live_shop_module, `live_shop_zone liveshop 16m`, the journal on with
its default `live_shop_journal_max_size 16m`; no publisher), puts 1,000
offers (of the size of a real one: a 60-character title, url and image)
on one stream, then makes the show's 14,400 events as real control calls
over one keep-alive connection: pin offer i, unpin, pin offer i+1, ...
(cycling through the catalog), with a countdown and a disclosure every
15 minutes of show time. The show runs compressed: its 4 hours take a few
seconds, so the events' `at` values are seconds apart, not hours. That
changes no size: the zone keeps a stream's last 64 events and last 512
ended intervals by count, and the journal rotates by size, never by age.

The zone's use is read from nginx's slab allocator itself: the
ngx_slab_pool_t at the start of the shared mapping (found in a worker's
/proc/PID/maps, read through /proc/PID/mem) holds the number of free
pages, so pages in use = (end - start) / 4096 - pfree. It is read before
the stream exists, after the catalog, and after every hour of the show;
the journal's size (NAME.journal plus rotated NAME.journal.N) at the same
moments.

    bench/state_size.py [--offers 1000] [--hours 4] [--per-second 1]
"""

import os
import struct
import sys
import time

import benchlib as b
from benchlib import h

STREAM = "live/size"
ZONE = 16 * 1024 * 1024
PAGE = 4096


def zone_pages_used(pid, size=ZONE):
    """(pages in use, pages in all) of the live_shop zone, from the slab
    pool header in worker pid's mapping of it."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    for line in maps:
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if hi - lo != size or "rw-s" not in parts[1]:
            continue
        with open("/proc/%d/mem" % pid, "rb") as mem:
            mem.seek(lo)
            raw = mem.read(128)
        # ngx_slab_pool_t (nginx 1.22, x86_64, POSIX semaphores):
        # lock{lock,wait} 0, min_size 16, min_shift 24, pages 32, last 40,
        # free 48..72, stats 72, pfree 80, start 88, end 96
        pfree, start, end = struct.unpack_from("<QQQ", raw, 80)
        if not (lo < start < end <= hi):
            continue
        total = (end - start) // PAGE
        return total - pfree, total
    raise RuntimeError("no %d-byte shared mapping with a slab pool in "
                       "worker %d" % (size, pid))


def journal_bytes(ls):
    path = ls.journal_path(STREAM)
    d = os.path.dirname(path)
    base = os.path.basename(path)
    total = 0
    files = 0
    for fn in os.listdir(d):
        if fn == base or fn.startswith(base + "."):
            total += os.path.getsize(os.path.join(d, fn))
            files += 1
    return total, files


def real_offer(i):
    return h.offer("sku-%04d" % i,
                   title=("Vitamin C Serum 30 ml, limited edition no. %04d"
                          % i)[:60],
                   price="19.99", compare_at="29.99", stock=500,
                   url="https://shop.example/products/vitamin-c-serum-"
                   "%04d?variant=123456789" % i,
                   image="https://cdn.shop.example/images/products/"
                   "vitamin-c-serum-%04d-1200x1200.jpg" % i,
                   disclosure="ad" if i % 10 == 0 else None)


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--offers", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=4)
    ap.add_argument("--per-second", type=float, default=1.0,
                    help="events per second of show time")
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.offers, args.hours = 50, 0.1

    ls = h.LiveSetup(module=args.module, journal=True,
                     extra_http="keepalive_requests 10000000; "
                     "keepalive_timeout 300s;")
    ls.start(publish=False)
    rows = []
    try:
        api = ls.api_for(STREAM)
        worker = ls.nginx.workers()[0]
        used0, total = zone_pages_used(worker)
        rows.append(("nginx started, no stream", 0, used0, None))
        ka = h.KeepAlive(ls.http_port, api.token)
        base = "/shop/v1/streams/" + STREAM
        for i in range(args.offers):
            o = real_offer(i)
            if o.get("disclosure") is None:
                o.pop("disclosure")
            st, body = ka.request("PUT", base + "/offers/" + o["id"], o)
            if st not in (200, 201):
                sys.exit("PUT offer %d: %d %r" % (i, st, body[:200]))
        rows.append(("%d offers" % args.offers, 0, zone_pages_used(worker)[0],
                     journal_bytes(ls)))
        events = int(args.hours * 3600 * args.per_second)
        per_hour = int(3600 * args.per_second)
        made = 0
        pinned = False
        t0 = time.monotonic()
        i = 0
        while made < events:
            if made % 900 == 0 and made:
                # every 15 minutes: a countdown and a disclosure
                st, body = ka.request("POST", base + "/countdown",
                                      {"seconds": 300, "label": "Deal"})
            elif made % 900 == 1:
                st, body = ka.request("POST", base + "/disclosure",
                                      {"kind": "ad", "text": "Anzeige"})
            elif pinned:
                st, body = ka.request("POST", base + "/unpin", b"")
                pinned = False
            else:
                st, body = ka.request("POST", base + "/pin", {
                    "offer": "sku-%04d" % (i % args.offers)})
                i += 1
                pinned = True
            if st != 200:
                sys.exit("control call %d: %d %r" % (made, st, body[:200]))
            made += 1
            if made % per_hour == 0 or made == events:
                rows.append(("show %.2f h: %d events" % (
                    made / float(per_hour), made), made,
                    zone_pages_used(worker)[0], journal_bytes(ls)))
        run_s = time.monotonic() - t0
        ka.close()
        seq = api.state().json()["seq"]
        ok = api.state().status == 200
    finally:
        ls.stop()
        ls.cleanup()

    print("state of one stream: %d offers, %d events (%.1f h at %.1f "
          "event/s, made in %.2f s), zone 16m = %d pages of 4 KB; last "
          "seq %d" % (args.offers, events, args.hours, args.per_second,
                      run_s, total, seq))
    print()
    print("| when | zone in use (KB) | of it this stream (KB) | journal "
          "bytes (files) |")
    print("|---|---|---|---|")
    for label, _n, used, jb in rows:
        print("| %s | %d | %d | %s |" % (
            label, used * PAGE // 1024, (used - used0) * PAGE // 1024,
            "-" if jb is None else "%d (%d)" % jb))
    print()
    zone_after_offers = (rows[1][2] - used0) * PAGE
    zone_end = (rows[-1][2] - used0) * PAGE
    hours = [r for r in rows[2:]]
    # bounded: the last hour (3,600 events) grows the zone by at most 4
    # pages, i.e. nothing is kept per event
    if len(hours) >= 2:
        growth = (hours[-1][2] - hours[-2][2]) * PAGE
    else:
        growth = (rows[-1][2] - rows[1][2]) * PAGE
    # a smoke run is shorter than the zone's 512 kept intervals: it cannot
    # show the bound, only that the benchmark runs
    bounded = True if args.smoke else growth <= PAGE * 4
    jtotal = rows[-1][3][0]
    per_event = (jtotal - rows[1][3][0]) / float(max(1, events))
    print("zone: %.0f KB for the stream with its catalog, %.0f KB at the "
          "end of the show; the last %s added %d KB. journal: %.0f KB "
          "(%.0f bytes per event; bounded by live_shop_journal_max_size "
          "16m per file, the current file and NAME.journal.1..2 kept)" % (
              zone_after_offers / 1024.0, zone_end / 1024.0,
              "hour" if len(hours) >= 2 else "run", growth // 1024,
              jtotal / 1024.0, per_event))
    b.emit(args, 7, "zone and journal of 1 stream, %d offers, %.0f h x %g "
           "event/s" % (args.offers, args.hours, args.per_second),
           "stated and bounded",
           "zone %.0f KB (catalog %.0f KB), journal %.1f MB; zone growth "
           "in the last %s %d KB" % (
               zone_end / 1024.0, zone_after_offers / 1024.0,
               jtotal / 1048576.0, "hour" if len(hours) >= 2 else "run",
               growth // 1024),
           1.0 if bounded and ok else 0.0, bounded and ok,
           zone_bytes=zone_end, zone_catalog_bytes=zone_after_offers,
           journal_bytes=jtotal, journal_bytes_per_event=per_event,
           rows=[list(r[:3]) + [r[3]] for r in rows])


if __name__ == "__main__":
    main()
