#!/usr/bin/python3
"""Benchmark 10: liveshop's Server-Sent Events side by side with nchan's
(Debian's libnginx-mod-nchan), in one nginx with both modules loaded.

One nginx, 2 workers, nginx-rtmp, ngx_live_shop_module.so and
ngx_nchan_module.so (/usr/lib/nginx/modules), no publisher. liveshop as
config-examples/nginx.conf has it (live_shop_zone, live_shop_journal,
`location /shop/ { live_shop_api; }`); nchan as its README recommends
for EventSource fan-out: one channel, `nchan_subscriber eventsource` and
`nchan_publisher` locations, nchan_shared_memory_size stated (the
defaults otherwise: a buffer of 10 messages, kept an hour). Both configs
are printed.

For each --clients N (liveshop first, then nchan; the next N the other
way round), nginx is reloaded (fresh workers) and warmed up with 20
clients, N EventSource clients connect (epoll loops in client processes
of at most RLIMIT_NOFILE - 1000 each, raw sockets, HTTP/1.1, kernel
receive timestamps: bench/benchlib.PeerCrowd), nginx's worker RSS is
read before and with them
idle (the delta / N is the memory per idle subscriber), then --publishes
messages are published --gap seconds apart over one keep-alive
connection: on liveshop a pin call with nothing pinned (one event; its
JSON is --size bytes, the offer's title padded to it; an unpin between
publishes, not timed), on nchan a POST of a JSON body of the same size. A client's time runs from the publish
request sent to the kernel's receive time of the bytes completing the
message. Per publish: p50 and p99 over the clients; the figure is the
median over the publishes. Then messages per second to --rate-clients
subscribers: a second process publishes --rate-messages messages one
after the other over one keep-alive connection as fast as the server
answers (on liveshop pins of two offers in turn: each counted
offer.pinned comes with an offer.unpinned); the figure is the messages
over the time from the first request sent until the last subscriber had
the last message. --perf DIR: perf record and perf stat of the workers
while each crowd's messages go out.

    bench/sse_peer.py [--clients 1000,5000,20000] [--publishes 5]
                      [--perf DIR]
"""

import json
import os
import statistics
import subprocess
import sys
import time

import benchlib as b
from benchlib import h

NCHAN = "/usr/lib/nginx/modules/ngx_nchan_module.so"
STREAM = "live/peer"
CHANNEL = "peer"
NCHAN_SHM = "128m"      # nchan's default, stated
NCHAN_HTTP = "nchan_shared_memory_size %s;" % NCHAN_SHM
NCHAN_SERVER = (
    "location = /nchan/sub/%s { nchan_subscriber eventsource; "
    "nchan_channel_id %s; } "
    "location = /nchan/pub/%s { nchan_publisher; nchan_channel_id %s; }"
    % (CHANNEL, CHANNEL, CHANNEL, CHANNEL))
MARKER = b'"type":"offer.pinned"'
MEM_BUDGET_KB = 24 * 1024 * 1024 // 10     # a tenth of the 24 GiB

PUBLISHER = r"""
import http.client, json, sys, time
port, path, token, n, size, kind = sys.argv[1:7]
n, size = int(n), int(size)
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
hdr = {"Authorization": "Bearer " + token} if token else {}
t0 = time.monotonic()
for i in range(n):
    if kind == "liveshop":
        body = json.dumps({"offer": ("peer-a", "peer-b")[i % 2]})
    else:
        body = '{"seq":%d,"type":"offer.pinned","pad":"' % (2000000 + i)
        body += "x" * (size - len(body) - 2) + '"}'
    c.request("POST", path, body=body, headers=hdr)
    r = c.getresponse()
    r.read()
    if r.status not in (200, 201, 202):
        sys.exit("publish %d: %d" % (i, r.status))
print(json.dumps({"t0": t0, "t1": time.monotonic(), "n": n}))
"""


def nchan_body(seq, size):
    body = '{"seq":%d,"type":"offer.pinned","pad":"' % seq
    return (body + "x" * (size - len(body) - 2) + '"}').encode()


class Side:
    """What one module needs: where its subscribers connect, how one
    message is published, the needle of that message's data, and what
    puts things back between publishes (reset: None, or a call)."""

    def __init__(self, name, port, sub_path, ka, pub, reset=None):
        self.name = name
        self.port = port
        self.sub_path = sub_path
        self.ka = ka
        self.pub = pub
        self.reset = reset


def publish_liveshop(ka, base):
    """A pin with nothing pinned: one event, offer.pinned (pinning over
    another offer would make two, offer.unpinned first)."""

    def pub(size):
        t0 = time.monotonic()
        st, body = ka.request("POST", base + "/pin", {"offer": "peer-a"})
        t1 = time.monotonic()
        if st != 200:
            sys.exit("pin: %d %r" % (st, body[:200]))
        ev = json.loads(body)
        return t0, t1, '"seq":%d,' % ev["seq"], len(json.dumps(
            ev, separators=(",", ":"), ensure_ascii=False).encode())
    return pub


def unpin_liveshop(ka, base):
    """Between publishes (its offer.unpinned is not timed)."""

    def reset():
        st, body = ka.request("POST", base + "/unpin", {})
        if st != 200:
            sys.exit("unpin: %d %r" % (st, body[:200]))
    return reset


def publish_nchan(ka, path):
    state = {"seq": 1000000}

    def pub(size):
        state["seq"] += 1
        body = nchan_body(state["seq"], size)
        t0 = time.monotonic()
        st, answer = ka.request("POST", path, body)
        t1 = time.monotonic()
        if st not in (200, 201, 202):
            sys.exit("nchan publish: %d %r" % (st, answer[:200]))
        return t0, t1, '"seq":%d,' % state["seq"], len(body)
    return pub


def workers_rss(nginx):
    """Sum of the workers' VmRSS, kB (the master does not serve)."""
    master = nginx.proc.pid if getattr(nginx, "proc", None) else None
    return sum(v.get("VmRSS", 0) for p, v in nginx.rss().items()
               if p != master)


class CrowdProcs:
    """n EventSource clients split over client processes of at most
    `per` each (this script with --crowd-child: a PeerCrowd each), so
    that no process needs more descriptors than RLIMIT_NOFILE allows
    (a container may not lift its hard limit). The kernel stamps each
    message on arrival, in CLOCK_MONOTONIC terms that every process
    shares, so the times need no translation."""

    def __init__(self, port, path, n, per, sources):
        k = max(1, -(-n // per))
        self.n = n
        self.procs = []
        for i in range(k):
            share = n // k + (1 if i < n % k else 0)
            self.procs.append(subprocess.Popen(
                [b.PYTHON, os.path.abspath(__file__), "--crowd-child",
                 str(port), path, str(share), sources[i % len(sources)]],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                universal_newlines=True, bufsize=1))
        self.closed = 0

    def _ask(self, line):
        for p in self.procs:
            p.stdin.write(line + "\n")
            p.stdin.flush()
        out = []
        for p in self.procs:
            ans = p.stdout.readline()
            if not ans:
                raise RuntimeError("a client process died (%r)" % line)
            out.append(json.loads(ans))
        return out

    def connect(self, timeout):
        for a in self._ask("connect %f" % timeout):
            if "error" in a:
                raise RuntimeError("client process: %s" % a["error"])
        return self

    def wait_data(self, needle, timeout):
        """Kernel arrival times (monotonic) of the message holding needle
        at every client."""
        times = []
        for a in self._ask("wait %f %s" % (timeout, needle)):
            if "error" in a:
                raise RuntimeError("client process: %s" % a["error"])
            times.extend(a["at"])
        return times

    def soak(self, seconds):
        self._ask("soak %f" % seconds)

    def close(self):
        try:
            self.closed = sum(a.get("closed", 0)
                              for a in self._ask("close"))
        except (RuntimeError, OSError, ValueError):
            pass
        for p in self.procs:
            try:
                p.stdin.close()
            except OSError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def crowd_child(argv):
    """--crowd-child PORT PATH N SOURCE: one PeerCrowd, driven by lines
    on stdin (connect T, wait T NEEDLE, soak S, close), answering one
    JSON line each."""
    port, path, n, source = int(argv[0]), argv[1], int(argv[2]), argv[3]
    b.raise_nofile_hard(n + 500)
    crowd = b.PeerCrowd(port, path, n, source=source)
    for line in sys.stdin:
        cmd, _, rest = line.rstrip("\n").partition(" ")
        try:
            if cmd == "connect":
                crowd.connect(timeout=float(rest))
                ans = {}
            elif cmd == "wait":
                t, _, needle = rest.partition(" ")
                got = crowd.wait_data(needle, float(t))
                ans = {"at": [m.at for m in got.values()]}
            elif cmd == "soak":
                _soak(crowd, float(rest))
                ans = {}
            else:
                ans = {"closed": len(crowd.closed)}
                crowd.close()
                print(json.dumps(ans), flush=True)
                return
        except Exception as e:      # noqa: BLE001 -- handed to the parent
            ans = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(ans), flush=True)


def fan_out(ls, side, n, publishes, gap, size, sources, per,
            profile=None):
    """One crowd of n on side (in client processes of at most per):
    RSS per idle subscriber and the delivery times of publishes
    messages (under perf record with profile, a directory)."""
    base = h.server_side_connections(ls.http_port)   # the publishers'
    rss0 = workers_rss(ls.nginx)
    t = time.monotonic()
    crowd = CrowdProcs(side.port, side.sub_path, n, per, sources)
    try:
        crowd.connect(max(60, n / 50.0))
        connect_s = time.monotonic() - t
        time.sleep(0.5)
        rss1 = workers_rss(ls.nginx)
        per_pub = []
        sizes = set()
        prof = b.PerfProfile(profile, side.name, n, ls.nginx) if profile else None
        for _ in range(publishes):
            t0, t1, needle, nbytes = side.pub(size)
            sizes.add(nbytes)
            got = crowd.wait_data(needle, max(30, n / 200.0))
            per_pub.append({"sent": sorted((x - t0) * 1000 for x in got),
                            "answered_ms": (t1 - t0) * 1000})
            if side.reset:
                side.reset()
            crowd.soak(gap)
        if prof:
            prof.stop()
    finally:
        crowd.close()
    dropped = crowd.closed
    h.wait_for(lambda: h.server_side_connections(ls.http_port) <= base,
               60, 0.1, "nginx to close the %s connections" % side.name)
    per = per_pub
    p50s = [h.percentile(p["sent"], 50) for p in per]
    p99s = [h.percentile(p["sent"], 99) for p in per]
    return {"side": side.name, "n": n, "connect_s": connect_s,
            "processes": len(crowd.procs),
            "rss_before_kb": rss0, "rss_idle_kb": rss1,
            "kb_per_sub": (rss1 - rss0) / float(n),
            "p50_ms": statistics.median(p50s),
            "p99_ms": statistics.median(p99s),
            "p99_each": p99s, "max_ms": max(max(p["sent"]) for p in per),
            "answered_ms": statistics.median(p["answered_ms"] for p in per),
            "delivered": sum(len(p["sent"]) for p in per),
            "want": n * publishes, "dropped": dropped,
            "bytes": sorted(sizes)}


def _soak(crowd, seconds):
    """Keeps reading (pings, stray bytes) for seconds."""
    end = time.monotonic() + seconds
    try:
        crowd.pump(lambda: time.monotonic() >= end, seconds + 1, "soak")
    except TimeoutError:
        pass


def rate(ls, side, n, messages, size, token, path, source):
    """Messages/s to n subscribers from one publisher process."""
    base = h.server_side_connections(ls.http_port)
    crowd = b.PeerCrowd(side.port, side.sub_path, n, source=source)
    try:
        crowd.connect(timeout=max(60, n / 50.0))
        _soak(crowd, 0.3)
        p = subprocess.Popen(
            [b.PYTHON, "-c", PUBLISHER, str(side.port), path, token or "",
             str(messages), str(size), side.name],
            stdout=subprocess.PIPE, universal_newlines=True)
        got, done_at, _last = crowd.count_deliveries(
            MARKER, messages, 120 + messages / 5.0,
            stop=lambda: p.poll() is not None)
        out, _ = p.communicate(timeout=60)
        if p.returncode != 0:
            sys.exit("%s publisher failed: %s" % (side.name, out))
        pt = json.loads(out)
    finally:
        crowd.close()
    h.wait_for(lambda: h.server_side_connections(ls.http_port) <= base,
               60, 0.1, "nginx to close the %s connections" % side.name)
    complete = len(done_at) == n
    end = max(done_at.values()) if complete else None
    return {"side": side.name, "n": n, "messages": messages,
            "publish_s": pt["t1"] - pt["t0"],
            "publish_rate": messages / (pt["t1"] - pt["t0"]),
            "delivered": sum(min(v, messages) for v in got.values()),
            "want": n * messages, "complete": complete,
            "rate": messages / (end - pt["t0"]) if complete else 0.0,
            "lag_ms": (end - pt["t1"]) * 1000 if complete else None}


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--clients", default="1000,5000,20000",
                    help="comma-separated subscriber counts")
    ap.add_argument("--publishes", type=int, default=5)
    ap.add_argument("--gap", type=float, default=0.5,
                    help="seconds between publishes")
    ap.add_argument("--size", type=int, default=327,
                    help="bytes of each message's data (the event JSON)")
    ap.add_argument("--rate-clients", type=int, default=1000)
    ap.add_argument("--rate-messages", type=int, default=2000)
    ap.add_argument("--per-process", type=int, default=0,
                    help="clients per client process (default: what "
                    "RLIMIT_NOFILE allows; --smoke: 120, to run the split)")
    ap.add_argument("--nchan", default=NCHAN,
                    help="ngx_nchan_module.so (default %(default)s)")
    ap.add_argument("--perf", metavar="DIR",
                    help="record the workers with perf while each crowd's "
                    "messages go out, into DIR/SIDE-N.data, and print the "
                    "symbols that took the most samples")
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.clients, args.publishes, args.gap = "50,200", 3, 0.2
        args.rate_clients, args.rate_messages = 50, 200
        args.per_process = args.per_process or 120
    if not os.path.isfile(args.nchan):
        sys.exit("no nchan at %s: `LIVESHOP_DEPS=bench scripts/setup-deps.sh"
                 "` installs libnginx-mod-nchan" % args.nchan)
    counts = [int(x) for x in args.clients.split(",") if x.strip()]
    top = max(counts + [args.rate_clients])
    nofile = b.raise_nofile_hard(top * 2 + 2000)
    # clients per client process; nginx's workers share the crowd
    per = args.per_process or max(100, nofile - 1000)
    if nofile < top // 2 + 1000 or args.rate_clients > per:
        sys.exit("RLIMIT_NOFILE %d is too low for %d clients" % (nofile,
                                                                 top))

    ls = h.LiveSetup(module=args.module, journal=True,
                     extra_modules=[args.nchan], extra_http=NCHAN_HTTP +
                     " keepalive_requests 10000000; keepalive_timeout 300s;",
                     extra_server=NCHAN_SERVER)
    # worker_rlimit_nofile: each worker may hold every client
    ls.conf = ls.conf.replace(
        "events { worker_connections 4096; }",
        "worker_rlimit_nofile %d;\nevents { worker_connections %d; }"
        % (nofile, min(top + 1024, nofile - 100)))
    ls.nginx = h.Nginx(ls.d, ls.rtmp_port, ls.http_port, ls.conf)
    conf_text = ls.conf
    results, rates = [], []
    cpu = b.CpuMeter()
    load0 = b.loadavg()
    ls.start(publish=False)
    try:
        api = ls.api_for(STREAM)
        pad = [40]

        def size_offers():
            """Pads the offers' titles so that a pin event's JSON is --size
            bytes at the stream's present seq (its digits count)."""
            for _ in range(3):
                for oid in ("peer-a", "peer-b"):
                    r = api.put_offer(h.offer(oid, title="T" * pad[0]))
                    if r.status not in (200, 201):
                        sys.exit("PUT offer: %r" % r)
                ev = api.pin("peer-a").json()
                n = len(json.dumps(ev, separators=(",", ":"),
                                   ensure_ascii=False).encode())
                if n == args.size:
                    break
                pad[0] = max(1, pad[0] + args.size - n)
            if api.unpin().status != 200:
                sys.exit("unpin failed")
        src = [0]

        def source():
            src[0] += 1
            return "127.0.0.%d" % (2 + src[0] % 250)

        def sources(k=4):
            return [source() for _ in range(k)]
        kas = []

        def fresh(name):
            """New workers (a reload) before each measurement, so that
            no crowd inherits the heap another one grew, then a warm-up
            of 20 clients of that side; returns the side."""
            for ka in kas:
                ka.close()
            del kas[:]
            ls.nginx.reload()
            ka_ls = h.KeepAlive(ls.http_port, api.token)
            ka_nc = h.KeepAlive(ls.http_port)
            # open both now: the crowds count connections beside these
            ka_ls.request("GET", "/shop/v1/streams/%s/state" % STREAM)
            ka_nc.request("GET", "/nchan/pub/" + CHANNEL)
            kas.extend((ka_ls, ka_nc))
            if name == "liveshop":
                size_offers()
                side = Side("liveshop", ls.http_port, api.events_path(),
                            ka_ls, publish_liveshop(
                                ka_ls, "/shop/v1/streams/" + STREAM),
                            unpin_liveshop(ka_ls,
                                           "/shop/v1/streams/" + STREAM))
            else:
                side = Side("nchan", ls.http_port, "/nchan/sub/" + CHANNEL,
                            ka_nc, publish_nchan(ka_nc,
                                                 "/nchan/pub/" + CHANNEL))
            fan_out(ls, side, 20, 1, 0.1, args.size, sources(1), per)
            return side
        for i, n in enumerate(counts):
            order = ("liveshop", "nchan") if i % 2 == 0 else \
                ("nchan", "liveshop")
            for name in order:
                side = fresh(name)
                res = fan_out(ls, side, n, args.publishes, args.gap,
                              args.size, sources(), per, args.perf)
                print("%s, %d subscribers: p50 %.1f ms, p99 %.1f ms, "
                      "%.2f KB/subscriber, connected in %.1f s by %d "
                      "client process(es)" % (
                          side.name, n, res["p50_ms"], res["p99_ms"],
                          res["kb_per_sub"], res["connect_s"],
                          res["processes"]), flush=True)
                results.append(res)
        for name, path, token in (("liveshop",
                                   "/shop/v1/streams/%s/pin" % STREAM,
                                   api.token),
                                  ("nchan", "/nchan/pub/" + CHANNEL, None)):
            side = fresh(name)
            res = rate(ls, side, args.rate_clients, args.rate_messages,
                       args.size, token, path, source())
            print("%s, %d subscribers: %.0f messages/s delivered to all "
                  "(publisher alone %.0f/s)" % (
                      side.name, res["n"], res["rate"],
                      res["publish_rate"]), flush=True)
            rates.append(res)
        for ka in kas:
            ka.close()
        problems = ls.nginx.error_log_problems()
    finally:
        ls.stop()
        ls.cleanup()
    busy = cpu.busy()
    load1 = b.loadavg()
    report(args, conf_text, results, rates, busy, load0, load1, problems,
           per)


def config_lines(conf):
    keep = ("load_module", "worker_", "events", "live_shop", "nchan",
            "location /shop/", "keepalive")
    return [ln.strip() for ln in conf.splitlines()
            if any(k in ln for k in keep)]


def report(args, conf, results, rates, busy, load0, load1, problems, per):
    print("\nSSE side by side: one nginx (2 workers) with liveshop and nchan "
          "loaded; machine busy %.0f%%, load average %.2f before, %.2f "
          "after; clients: epoll processes of at most %d clients each "
          "(RLIMIT_NOFILE), on the same 2 CPUs"
          % (busy * 100, load0[0], load1[0], per))
    print("\nnginx.conf (the lines that matter):\n")
    for ln in config_lines(conf):
        for part in ln.split("} "):
            print("    " + part + ("}" if part != ln.split("} ")[-1]
                                   else ""))
    print("\none publish -> delivery to all subscribers, from the publish "
          "request sent (median over %d publishes of each publish's p50 "
          "and p99 over the clients); nginx workers' RSS per idle "
          "subscriber\n" % args.publishes)
    print("| subscribers | module | client processes | message bytes | "
          "delivered | p50 ms | p99 ms | p99 of each publish | max ms | "
          "publish answered ms | KB RSS / idle subscriber |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %d | %s | %d | %s | %d/%d | %.1f | %.1f | %s | %.1f | %.2f "
              "| %.2f |" % (r["n"], r["side"], r["processes"],
                            "/".join(map(str, r["bytes"])),
                          r["delivered"], r["want"], r["p50_ms"],
                          r["p99_ms"], " ".join("%.1f" % x
                                                for x in r["p99_each"]),
                          r["max_ms"], r["answered_ms"], r["kb_per_sub"]))
    print("\nmessages/s to %d subscribers, one publisher process sending "
          "one after the other\n" % args.rate_clients)
    print("| module | messages | delivered | publisher alone msg/s | "
          "delivered to all msg/s | last delivery after last answer ms |")
    print("|---|---|---|---|---|---|")
    for r in rates:
        print("| %s | %d | %d/%d | %.0f | %.0f | %s |" % (
            r["side"], r["messages"], r["delivered"], r["want"],
            r["publish_rate"], r["rate"],
            "-" if r["lag_ms"] is None else "%.0f" % r["lag_ms"]))
    if problems:
        print("\nerror.log:\n" + "\n".join(problems[:20]))

    by = {(r["n"], r["side"]): r for r in results}
    for n in sorted({r["n"] for r in results}):
        ls_, nc = by[(n, "liveshop")], by[(n, "nchan")]
        all_in = (ls_["delivered"] == ls_["want"] and not ls_["dropped"])
        b.emit(args, 10, "one publish to %d SSE subscribers: liveshop vs "
               "nchan, p99" % n, "p99 <= nchan's",
               "p99 %.1f ms (p50 %.1f)" % (ls_["p99_ms"], ls_["p50_ms"]),
               (nc["p99_ms"] / max(ls_["p99_ms"], 1e-3)) if all_in else 0.0,
               all_in and ls_["p99_ms"] <= nc["p99_ms"],
               baseline="nchan p99 %.1f ms (p50 %.1f)" % (nc["p99_ms"],
                                                          nc["p50_ms"]),
               vs_baseline=ls_["p99_ms"] / max(nc["p99_ms"], 1e-3),
               liveshop=ls_, nchan=nc)
    n = max(r["n"] for r in results)
    ls_, nc = by[(n, "liveshop")], by[(n, "nchan")]
    total = ls_["rss_idle_kb"]
    b.emit(args, 10, "nginx RSS per idle SSE subscriber, %d: liveshop vs "
           "nchan" % n, "<= nchan's; %d in <= %.1f GiB" % (
               n, MEM_BUDGET_KB / 1048576.0),
           "%.2f KB (workers %.0f MB)" % (ls_["kb_per_sub"], total / 1024.0),
           nc["kb_per_sub"] / max(ls_["kb_per_sub"], 1e-3),
           ls_["kb_per_sub"] <= nc["kb_per_sub"] and total <= MEM_BUDGET_KB,
           baseline="nchan %.2f KB" % nc["kb_per_sub"],
           vs_baseline=ls_["kb_per_sub"] / max(nc["kb_per_sub"], 1e-3))
    rl, rn = rates
    b.emit(args, 10, "messages/s to %d SSE subscribers: liveshop vs nchan"
           % args.rate_clients, "all delivered; stated",
           "%.0f msg/s" % rl["rate"], 1.0 if rl["complete"] else 0.0,
           rl["complete"], baseline="nchan %.0f msg/s" % rn["rate"],
           vs_baseline=rl["rate"] / max(rn["rate"], 1e-3),
           liveshop=rl, nchan=rn, busy=busy, loadavg=[load0, load1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--crowd-child"]:
        crowd_child(sys.argv[2:])
    else:
        main()
