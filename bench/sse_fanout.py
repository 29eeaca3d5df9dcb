#!/usr/bin/env python3
"""SSE fan-out: the time from a control call's HTTP response to each of
--clients Server-Sent-Events clients of the stream having the event, and
nginx's memory before, during and after.

Starts the setup of the nginx integration tests (nginx with 2 workers,
nginx-rtmp, ngx_live_shop_module, the journal on; no publisher unless
--publish), connects the clients (one epoll loop in this process, raw
sockets, HTTP/1.1 like EventSource), then makes --events events (pin and
unpin in turn, --gap seconds apart). A client's time is taken from the
kernel's receive timestamp of the bytes that completed the message
(SO_TIMESTAMPNS), so the time this script needs to go round the sockets
does not count. Prints median, p90, p99 and max in ms per event and over
all, and the RSS of nginx's master + workers (from /proc) before the
clients connect, once they all have the events, and after they have all
closed.

Where the time goes (issue 17, item 5): for each event, the workers' time
on a CPU and their time runnable but waiting for a CPU (run-queue wait,
/proc/PID/schedstat) from the call to the last delivery; a busy machine
shows up in the second. --perf DIR records the workers with perf while
the events go out (benchlib.PerfProfile); --background N runs the
stated load of run-all --background beside this run.

    /usr/bin/python3 bench/sse_fanout.py [--clients 1000] [--events 5]
                                         [--perf DIR] [--background N]
"""

import json
import statistics
import sys
import time

import benchlib as b
from benchlib import h

STREAM = "live/fanout"


def row(label, ms):
    return "| %s | %d | %.1f | %.1f | %.1f | %.1f |" % (
        label, len(ms), statistics.median(ms), h.percentile(ms, 90),
        h.percentile(ms, 99), max(ms))


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--events", type=int, default=5)
    ap.add_argument("--gap", type=float, default=0.5,
                    help="seconds between events")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds to wait after the clients closed before "
                    "the last RSS")
    ap.add_argument("--publish", action="store_true",
                    help="also run the ffmpeg publisher")
    ap.add_argument("--json", action="store_true",
                    help="also print the raw times as JSON")
    ap.add_argument("--perf", metavar="DIR",
                    help="perf record the workers while the events go out")
    ap.add_argument("--background", type=int, default=0, metavar="N",
                    help="N processes of run-all's stated load beside it")
    ap.add_argument("--nginx-nice", type=int, metavar="NICE",
                    help="nice of nginx's autogroup (its session's CPU "
                    "weight against other sessions)")
    ap.add_argument("--worker-priority", type=int, metavar="NICE",
                    help="nginx's worker_priority (default: none, nice 0)")
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.clients, args.events, args.settle = min(args.clients, 200), 2, 1
    nofile = h.raise_nofile(args.clients * 2 + 1000)
    if nofile < args.clients + 100:
        sys.exit("RLIMIT_NOFILE %d is too low for %d clients"
                 % (nofile, args.clients))

    ls = h.LiveSetup(module=args.module, journal=True)
    # room for more than 4,096 clients in one worker
    ls.conf = ls.conf.replace("worker_connections 4096;",
                              "worker_connections %d;" % (args.clients + 1024))
    if args.worker_priority is not None:
        ls.conf = ls.conf.replace(
            "worker_processes 2;", "worker_processes 2;\nworker_priority %d;"
            % args.worker_priority)
    ls.nginx = h.Nginx(ls.d, ls.rtmp_port, ls.http_port, ls.conf)
    ls.start(publish=args.publish)
    if args.nginx_nice is not None:
        # nginx runs in a session of its own: its autogroup's nice is the
        # weight of all its workers together against other sessions
        try:
            with open("/proc/%d/autogroup" % ls.nginx.proc.pid, "w") as f:
                f.write("%d" % args.nginx_nice)
        except OSError as e:
            ls.stop()
            ls.cleanup()
            sys.exit("--nginx-nice: the scheduler's autogroups cannot be "
                     "set here (kernel.sched_autogroup_enabled, %s)" % e)
    background = b.Background(args.background)
    try:
        api = ls.api_for(STREAM)
        r = api.put_offer(h.offer("fan-1"))
        if r.status not in (200, 201):
            sys.exit("PUT offer: %r" % r)
        path = api.events_path()

        # warm-up: one small round, so that one-time costs are not counted
        warm = h.SseCrowd(ls.http_port, path, 20).connect(timeout=30)
        ev = api.pin("fan-1").json()
        warm.wait_seq(ev["seq"], 10)
        warm.close()
        h.wait_for(lambda: h.server_side_connections(ls.http_port) == 0,
                   15, 0.1, "the warm-up clients to go")
        time.sleep(1)
        rss = [("before the clients", ls.nginx.rss_total())]

        crowd = h.SseCrowd(ls.http_port, path, args.clients)
        t = time.monotonic()
        crowd.connect(timeout=120)
        connect_s = time.monotonic() - t
        rss.append(("%d clients connected" % args.clients,
                    ls.nginx.rss_total()))
        owner = h.workers_of_clients(
            ls.http_port, [s.getsockname()[1] for s in crowd.socks],
            ls.nginx.workers())
        worker_of_fd = {s.fileno(): owner.get(s.getsockname()[1])
                        for s in crowd.socks}
        by_worker = {}
        per_event = []
        call_ms = []
        callers = []
        sched = []      # (on CPU, waiting for a CPU) per event, ms
        background.start()
        prof = b.PerfProfile(args.perf, "liveshop", args.clients, ls.nginx) \
            if args.perf else None
        for i in range(args.events):
            s0 = b.schedstat(ls.nginx.workers())
            pinned = api.state().json()["pinned"] is not None
            t0 = time.monotonic()
            r = api.unpin() if pinned else api.pin("fan-1")
            t1 = time.monotonic()
            if r.status != 200:
                sys.exit("control call: %r" % r)
            ev = r.json()
            time.sleep(0.05)     # the access log line is written after
            pids = ls.nginx.access_pids("POST /shop/v1/streams/%s/%s" % (
                STREAM, "unpin" if pinned else "pin"))
            callers.append(pids[-1] if pids else None)
            got = crowd.wait_seq(ev["seq"], 60)
            s1 = b.schedstat(ls.nginx.workers())
            sched.append(((s1[0] - s0[0]) * 1000, (s1[1] - s0[1]) * 1000))
            bad = [m for m in got.values() if m.json() != ev]
            if bad:
                sys.exit("%d clients got another event" % len(bad))
            per_event.append(sorted((m.at - t1) * 1000
                                    for m in got.values()))
            for fd, m in got.items():
                by_worker.setdefault(worker_of_fd.get(fd), []).append(
                    (m.at - t1) * 1000)
            call_ms.append((t1 - t0) * 1000)
            time.sleep(args.gap)
        if prof:
            prof.stop()
        background.stop()
        rss.append(("all have the %d events" % args.events,
                    ls.nginx.rss_total()))
        dropped = len(crowd.closed)
        crowd.close()
        h.wait_for(lambda: h.server_side_connections(ls.http_port) == 0,
                   60, 0.1, "nginx to close the connections")
        time.sleep(args.settle)
        rss.append(("%.0f s after all closed" % args.settle,
                    ls.nginx.rss_total()))
    finally:
        background.stop()
        ls.stop()
        ls.cleanup()

    print("SSE fan-out: %d clients on %s (connected in %.1f s), %d events; "
          "nginx with 2 workers; control call median %.2f ms"
          % (args.clients, STREAM, connect_s, args.events,
             statistics.median(call_ms)))
    print("delivery time after the API response, ms (kernel receive time; "
          "negative = before the response was read)\n")
    print("| event | clients | median | p90 | p99 | max | workers on CPU "
          "| workers waiting for a CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for i, ms in enumerate(per_event, 1):
        print(row("%d (call answered by %s)" % (i, callers[i - 1]), ms) +
              " %.1f | %.1f |" % sched[i - 1])
    print(row("all", [x for ms in per_event for x in ms]) + " %.1f | %.1f |"
          % tuple(sum(x[k] for x in sched) for k in (0, 1)))
    for w, ms in sorted(by_worker.items(), key=lambda x: str(x[0])):
        print(row("all, worker %s" % w, ms))
    print("\nnginx RSS (master + workers, VmRSS)\n")
    print("| when | kB | vs before |")
    print("|---|---|---|")
    base = rss[0][1]
    for label, kb in rss:
        print("| %s | %d | %+.1f%% |" % (label, kb, (kb - base) * 100.0 /
                                          base))
    if dropped:
        print("\n%d clients were closed by the server" % dropped)
    allms = [x for ms in per_event for x in ms]
    p99 = h.percentile(allms, 99)
    delivered = sum(len(ms) for ms in per_event)
    want = args.clients * args.events
    per_client = (rss[1][1] - rss[0][1]) * 1024.0 / args.clients
    ok = delivered == want and not dropped and p99 <= 250
    b.emit(args, 4, "one event to %d SSE clients on one stream"
           % args.clients, "all delivered, p99 <= 250 ms",
           "%d/%d delivered, p99 %.1f ms (workers per event: %.1f ms on "
           "CPU, %.1f ms waiting for one); %.1f KB nginx RSS per idle client"
           % (delivered, want, p99,
              statistics.median(x[0] for x in sched),
              statistics.median(x[1] for x in sched), per_client / 1024.0),
           (250.0 / max(p99, 1e-3)) if delivered == want else 0.0, ok,
           median_ms=statistics.median(allms), max_ms=max(allms),
           rss_kb=rss, bytes_per_idle_client=per_client,
           workers_cpu_wait_ms=sched, background=background.describe(),
           connect_s=connect_s)
    if args.json:
        print(json.dumps({"delivery_ms": per_event, "rss_kb": rss,
                          "call_ms": call_ms}))


if __name__ == "__main__":
    main()
