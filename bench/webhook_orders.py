#!/usr/bin/env python3
"""Purchase webhooks in (SPEC §9): verified orders per second with durable
writes, from concurrent clients, and their latency, compared with the same
requests to a `location = /noop { return 204; }` baseline in the same run.

It starts the setup of the nginx integration tests (nginx with 2 workers,
nginx-rtmp, ngx_live_shop_module, `live_shop_journal` on, no publisher)
with a `live_shop_webhook standard` location and the /noop location, puts
one offer with a stock of 10^9, and builds --orders signed canonical
orders (Standard Webhooks, one unit each, every one its own order id and
webhook-id), split over --clients client processes. Each client sends its
requests one after the other over one keep-alive connection; all start
together. The webhook answers 200 only once the order line is written and
fdatasync'ed to the stream's journal, so every order costs a verified
HMAC, the JSON, the stock update in shared memory, two events
(purchase.completed, stock.changed) and a durable journal write.

The baseline sends the very same request bytes (headers and body) to
/noop, which nginx answers 204 without looking at them: what is left is
the HTTP and client cost, so the difference is the webhook's own. Each
configuration runs --repeats times, alternating, and the run with the
median throughput is shown. Latency is per request, from the client's
send() to the complete answer having been read.

    /usr/bin/python3 bench/webhook_orders.py [--orders 4000] [--clients 8]
"""

import json
import multiprocessing as mp
import os
import socket
import statistics
import sys
import time

import benchlib as b
from benchlib import h

STREAM = "live/bench-webhooks"
OFFER = "bw-1"
AMOUNT = "19.99"


def signed_order(port, path, secret, stream, offer, oid, ts):
    """One signed HTTP/1.1 request (bytes): order oid of one unit of
    offer in stream, for the Standard Webhooks location at path."""
    body = json.dumps(h.canonical_order(oid, stream, [(offer, 1, AMOUNT)]),
                      separators=(",", ":")).encode()
    msg_id = "msg_" + oid
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "webhook-id: %s\r\nwebhook-timestamp: %d\r\n"
            "webhook-signature: %s\r\n\r\n" % (
                path, port, len(body), msg_id, ts,
                h.sign_standard(secret, msg_id, ts, body)))
    return head.encode() + body


def build_requests(port, path, secret, first, n, run):
    """n signed HTTP/1.1 requests (bytes) of one-unit orders."""
    ts = int(time.time())
    return [signed_order(port, path, secret, STREAM, OFFER,
                         "b%s-%07d" % (run, i), ts)
            for i in range(first, first + n)]


def read_answer(sock, buf):
    """Reads one HTTP/1.1 response from sock; returns (status, body, rest
    of buf)."""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(65536)
        if not b:
            raise ConnectionError("server closed the connection")
        buf += b
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
        elif k.strip().lower() == "transfer-encoding":
            raise RuntimeError("chunked answers are not expected here")
    while len(buf) < length:
        b = sock.recv(65536)
        if not b:
            raise ConnectionError("server closed the connection")
        buf += b
    return status, buf[:length], buf[length:]


def client(port, reqs, want, barrier, out_q):
    """One keep-alive connection; sends reqs in turn. Puts (latencies in
    seconds, first bad answer or None, start, end)."""
    lat = []
    bad = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        barrier.wait(30)
        t_start = time.perf_counter()
        for req in reqs:
            t = time.perf_counter()
            s.sendall(req)
            status, body, buf = read_answer(s, buf)
            lat.append(time.perf_counter() - t)
            if status != want and bad is None:
                bad = "%d %r" % (status, body[:300])
            elif want == 200 and bad is None and \
                    b'"duplicate":false' not in body.replace(b" ", b""):
                bad = "not accepted: %r" % body[:300]
        t_end = time.perf_counter()
        s.close()
    except Exception as e:  # noqa: BLE001 - reported by the parent
        out_q.put(([], "client error: %r" % e, 0.0, 0.0))
        return
    out_q.put((lat, bad, t_start, t_end))


def run_clients(port, per_client, want):
    """Runs one client process per list of requests; returns (orders/s,
    latencies ms)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(per_client))
    q = ctx.Queue()
    procs = [ctx.Process(target=client, args=(port, reqs, want, barrier, q))
             for reqs in per_client]
    for p in procs:
        p.start()
    results = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    bad = [b for _, b, _, _ in results if b]
    if bad:
        raise RuntimeError("bad answers: %s" % bad[:3])
    start = min(r[2] for r in results)
    end = max(r[3] for r in results)
    lat = [x * 1000.0 for r in results for x in r[0]]
    return len(lat) / (end - start), lat


def fdatasync_us(directory, n=200):
    """Median and p90 µs of write(600 bytes) + fdatasync() appended to a
    file in directory: what the disk charges per durable order."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ts = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, b"x" * 600 + b"\n")
            os.fdatasync(fd)
            ts.append((time.perf_counter() - t) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(ts), h.percentile(ts, 90)


def split(reqs, n):
    return [reqs[i::n] for i in range(n)]


def summary(label, runs):
    """The run with the median throughput: (label, orders/s, p50, p99,
    max, all throughputs)."""
    runs = sorted(runs, key=lambda r: r[0])
    thr, lat = runs[len(runs) // 2]
    return (label, thr, statistics.median(lat), h.percentile(lat, 99),
            max(lat), [r[0] for r in runs])


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--orders", type=int, default=4000,
                    help="orders per run (default 4000)")
    ap.add_argument("--clients", type=int, default=8,
                    help="concurrent client processes (default 8)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--journal-fsync", choices=("on", "off"), default=None,
                    help="live_shop_journal_fsync (orders are fdatasync'ed "
                         "whatever it says)")
    ap.add_argument("--base", default=None,
                    help="directory for nginx's prefix and the journal "
                         "(default: $TMPDIR)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    b.need_module(a)
    if a.smoke:
        a.orders, a.repeats, a.warmup = 300, 1, 50
    h.raise_nofile(4096)
    secret = h.new_standard_secret()
    # journal_max_size 1g: no rotation in the run, so the journal file
    # holds every order to count
    ls = h.LiveSetup(module=a.module, base=a.base, journal=True,
                     journal_fsync=a.journal_fsync, journal_max_size="1g",
                     webhooks={"standard": secret}, noop=True,
                     extra_http="keepalive_requests 10000000; "
                                "keepalive_timeout 300s;")
    ls.start(publish=False)
    try:
        api = ls.api_for(STREAM)
        r = api.put_offer(h.offer(OFFER, stock=10 ** 9, price=AMOUNT))
        if r.status not in (200, 201):
            sys.exit("PUT offer: %r" % r)
        port = ls.http_port
        n = a.orders
        # warm-up (both paths), not measured
        w = build_requests(port, "/hooks/standard", secret, 0, a.warmup,
                           "w")
        run_clients(port, split(w, a.clients), 200)
        run_clients(port, split(build_requests(
            port, "/noop", secret, 0, a.warmup, "w"), a.clients), 204)
        print("nginx workers %s" % " ".join(map(str, ls.nginx.workers())),
              flush=True)
        jdir = os.path.dirname(ls.journal_path(STREAM))
        sync_before = fdatasync_us(jdir, 50 if a.smoke else 200)
        hook_runs, noop_runs = [], []
        for rep in range(a.repeats):
            reqs = build_requests(port, "/hooks/standard", secret, 0, n,
                                  "r%d" % rep)
            noop = [x.replace(b"POST /hooks/standard ", b"POST /noop ", 1)
                    for x in reqs]
            noop_runs.append(run_clients(port, split(noop, a.clients), 204))
            hook_runs.append(run_clients(port, split(reqs, a.clients), 200))
        # every order is in the journal once
        j = h.Journal(ls.journal_path(STREAM))
        ids = [o["order"]["order_id"] for o in j.orders]
        want = a.warmup + n * a.repeats
        if len(ids) != want or len(set(ids)) != want:
            sys.exit("journal holds %d order lines (%d distinct), want %d"
                     % (len(ids), len(set(ids)), want))
        st = api.state().json()
        if st["stock"][OFFER] != 10 ** 9 - want:
            sys.exit("stock %r after %d orders" % (st["stock"], want))
        jbytes = os.path.getsize(ls.journal_path(STREAM))
        sync_after = fdatasync_us(jdir, 50 if a.smoke else 200)
        fs = h.subprocess.run(["stat", "-f", "-c", "%T",
                               os.path.dirname(ls.journal_path(STREAM))],
                              stdout=h.subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
    finally:
        ls.stop()
        ls.cleanup()
    rows = [summary("webhook, standard (verified, journalled, fdatasync)",
                    hook_runs),
            summary("baseline: same requests to /noop (204)", noop_runs)]
    per_order = (1.0 / rows[0][1] - 1.0 / rows[1][1]) * 1e6
    thr, p99 = rows[0][1], rows[0][3]
    b.emit(a, 3, "signed, verified, fdatasync'ed webhooks/s, %d clients"
           % a.clients, ">= 5,000/s, p99 <= 50 ms",
           "%.0f/s, p99 %.2f ms" % (thr, p99),
           min(thr / 5000.0, 50.0 / max(p99, 1e-3)),
           thr >= 5000 and p99 <= 50,
           baseline="return 204: %.0f/s, p99 %.2f ms" % (rows[1][1],
                                                          rows[1][3]),
           vs_baseline=thr / rows[1][1], us_per_order_over_noop=per_order,
           journal_bytes_per_order=jbytes / want, journal_fs=fs,
           runs=rows[0][5], baseline_runs=rows[1][5],
           fdatasync_us=[sync_before, sync_after],
           one_sync_per_order_ceiling=2e6 / statistics.mean(
               [sync_before[0], sync_after[0]]))
    if a.json:
        print(json.dumps({"orders": n, "clients": a.clients,
                          "repeats": a.repeats, "journal_fs": fs,
                          "journal_bytes_per_order": jbytes / want,
                          "rows": [dict(zip(("label", "orders_per_s",
                                             "p50_ms", "p99_ms", "max_ms",
                                             "runs"), r)) for r in rows],
                          "us_per_order_over_noop": per_order}, indent=1))
        return
    print("%d orders per run, %d client processes (one keep-alive "
          "connection each), nginx 2 workers, journal on %s, %d runs, "
          "median run shown" % (n, a.clients, fs, a.repeats))
    print()
    print("| endpoint | orders/s | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for label, thr, p50, p99, mx, _runs in rows:
        print("| %s | %.0f | %.2f | %.2f | %.2f |" % (label, thr, p50, p99,
                                                      mx))
    print()
    print("throughput of each run: webhook %s, noop %s" % (
        ", ".join("%.0f" % x for x in rows[0][5]),
        ", ".join("%.0f" % x for x in rows[1][5])))
    ceiling = 2e6 / statistics.mean([sync_before[0], sync_after[0]])
    print("the disk: write + fdatasync of 600 bytes took %.0f us (median; "
          "p90 %.0f) before the runs and %.0f us (p90 %.0f) after: with one "
          "fdatasync per order in each of 2 workers, at most %.0f orders/s"
          % (sync_before[0], sync_before[1], sync_after[0], sync_after[1],
             ceiling))
    print("the webhook adds %.0f us per order to the run (1/throughput "
          "over the baseline's, %d clients); journal %.0f bytes per order"
          % (per_order, a.clients, jbytes / want))


if __name__ == "__main__":
    main()
