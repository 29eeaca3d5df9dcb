#!/usr/bin/env python3
"""Journal write cost per event: the run time of a tight sequential loop
of control calls that each make one event (pin, unpin, pin, ... of an
offer without disclosure) over one keep-alive connection, compared with
the same loop of `GET state` (no journal write) as the baseline.

For each configuration (the journal with `live_shop_journal_fsync off`,
with `on`, and, as a reference, no journal at all) it starts the setup of
the nginx integration tests (nginx with 2 workers, nginx-rtmp,
ngx_live_shop_module; no publisher), warms up, then runs --calls GET state
and --calls pin/unpin, --repeats times, and takes the median. Per event:

    (time of the pin/unpin loop - time of the GET state loop) / calls

i.e. what a control call costs beyond a read-only call of the same API:
planning, the shared-memory update, building the event, the journal
record (write(), and fdatasync() with fsync on), and waking the other
worker. The difference between the journal rows and the no-journal row
is the journal's own share.

    /usr/bin/python3 bench/journal_cost.py [--calls 5000] [--repeats 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "nginx"))

import liveshop_harness as h  # noqa: E402

STREAM = "live/journal-cost"
CONFIGS = [
    ("journal, fsync off", {"journal": True, "journal_fsync": "off"}),
    ("journal, fsync on", {"journal": True, "journal_fsync": "on"}),
    ("no journal", {}),
]


def loop_state(ka, base, n):
    t = time.perf_counter()
    for _ in range(n):
        st, _b = ka.request("GET", base + "/state")
        if st != 200:
            raise RuntimeError("GET state: %d" % st)
    return time.perf_counter() - t


def loop_events(ka, base, n, pinned):
    """n calls, each making exactly one event. Returns (seconds, pinned)."""
    t = time.perf_counter()
    for _ in range(n):
        if pinned:
            st, b = ka.request("POST", base + "/unpin", b"")
        else:
            st, b = ka.request("POST", base + "/pin", {"offer": "jc-1"})
        if st != 200:
            raise RuntimeError("control call: %d %r" % (st, b[:200]))
        pinned = not pinned
    return time.perf_counter() - t, pinned


def fs_type(path):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path],
                              stdout=subprocess.PIPE, timeout=10,
                              universal_newlines=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def run(module, label, conf_kw, calls, repeats, warmup):
    ls = h.LiveSetup(module=module,
                     extra_http="keepalive_requests 10000000; "
                     "keepalive_timeout 300s;", **conf_kw)
    ls.start(publish=False)
    try:
        api = ls.api_for(STREAM)
        r = api.put_offer(h.offer("jc-1"))
        if r.status not in (200, 201):
            raise RuntimeError("PUT offer: %r" % r)
        base = "/shop/v1/streams/" + STREAM
        ka = h.KeepAlive(ls.http_port, api.token)
        pinned = False
        loop_state(ka, base, warmup)
        _, pinned = loop_events(ka, base, warmup, pinned)
        seq0 = api.state().json()["seq"]
        t_state, t_events = [], []
        for _ in range(repeats):
            t_state.append(loop_state(ka, base, calls))
            t, pinned = loop_events(ka, base, calls, pinned)
            t_events.append(t)
        ka.close()
        events = api.state().json()["seq"] - seq0
        if events != calls * repeats:
            raise RuntimeError("%s: %d events for %d calls" % (
                label, events, calls * repeats))
        jbytes = None
        fs = None
        if conf_kw.get("journal"):
            path = ls.journal_path(STREAM)
            jbytes = os.path.getsize(path) / float(api.state().json()["seq"])
            fs = fs_type(ls.journal_dir)
    finally:
        ls.stop()
        ls.cleanup()
    s = statistics.median(t_state) / calls * 1e6
    e = statistics.median(t_events) / calls * 1e6
    return {"label": label, "state_us": s, "event_us": e,
            "cost_us": e - s, "bytes": jbytes, "fs": fs,
            "runs_state": t_state, "runs_events": t_events}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default=h.module_path(),
                    help="ngx_live_shop_module.so (default: %(default)s)")
    ap.add_argument("--calls", type=int, default=5000,
                    help="calls per loop (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--base", default=None,
                    help="directory for nginx's prefix and the journal "
                    "(default: the system's temporary directory)")
    args = ap.parse_args()
    if not os.path.isfile(args.module):
        sys.exit("no module at %s (build it, or pass --module)" % args.module)
    if args.base:
        os.environ["TMPDIR"] = args.base
    results = [run(args.module, label, kw, args.calls, args.repeats,
                   args.warmup) for label, kw in CONFIGS]
    print("journal cost: %d calls per loop, median of %d runs, one "
          "keep-alive connection, nginx with 2 workers" % (args.calls,
                                                           args.repeats))
    fs = [r["fs"] for r in results if r["fs"]]
    if fs:
        print("journal on a %s file system" % fs[0])
    print("\n| configuration | GET state µs/call | pin/unpin µs/call | "
          "µs per event over GET state | journal bytes/event |")
    print("|---|---|---|---|---|")
    for r in results:
        print("| %s | %.1f | %.1f | %.1f | %s |" % (
            r["label"], r["state_us"], r["event_us"], r["cost_us"],
            "%.0f" % r["bytes"] if r["bytes"] else "-"))
    ref = [r for r in results if r["label"] == "no journal"][0]
    print("\nthe journal's own share (µs per event, over no journal):")
    for r in results:
        if r is not ref:
            print("  %s: %.1f" % (r["label"], r["cost_us"] - ref["cost_us"]))


if __name__ == "__main__":
    main()
