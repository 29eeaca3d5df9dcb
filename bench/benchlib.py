"""What the benchmarks share: where the build products are, the nginx test
harness (tests/nginx/liveshop_harness.py), wrk, and the one-line result
each benchmark hands to bench/run-all.

A benchmark is a script that starts what it needs on loopback, prints its
own table and, with --result FILE, appends one JSON object per figure to
FILE:

    {"n": 1, "what": "...", "target": "...", "figure": "...",
     "ratio": 1.08, "met": true, "baseline": "...", "vs_baseline": 0.97,
     "smoke": false, "detail": {...}}

ratio is figure/target for "at least" targets and target/figure for "at
most" targets, so that >= 1 always means met; vs_baseline is the figure
over the baseline measured in the same run, where there is one.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "nginx"))

import liveshop_harness as h  # noqa: E402,F401

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def build_dir():
    """$LIVESHOP_BUILD_DIR, else REPO/build."""
    return os.environ.get("LIVESHOP_BUILD_DIR") or os.path.join(REPO,
                                                                 "build")


def default_module():
    return os.environ.get("LIVESHOP_MODULE") or os.path.join(
        build_dir(), "nginx-module", "ngx_live_shop_module.so")


def parser(doc):
    """An ArgumentParser with the options every benchmark has."""
    ap = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", default=default_module(),
                    help="ngx_live_shop_module.so (default: %(default)s; "
                    "$LIVESHOP_MODULE or $LIVESHOP_BUILD_DIR)")
    ap.add_argument("--smoke", action="store_true",
                    help="a few seconds: checks that it runs, not how fast")
    ap.add_argument("--result", default=None,
                    help="append the figures as JSON lines to this file "
                    "(bench/run-all)")
    return ap


def need_module(args):
    if not os.path.isfile(args.module):
        sys.exit("no module at %s (build it, pass --module or set "
                 "LIVESHOP_BUILD_DIR)" % args.module)


def emit(args, n, what, target, figure, ratio, met, baseline=None,
         vs_baseline=None, **detail):
    """Prints the figure's line and appends it to --result. ratio: figure
    against target (>= 1 is met); vs_baseline: figure over the baseline
    measured in the same run (a throughput ratio), where there is one."""
    rec = {"n": n, "what": what, "target": target, "figure": figure,
           "ratio": ratio, "met": bool(met), "baseline": baseline,
           "vs_baseline": vs_baseline, "smoke": bool(args.smoke),
           "detail": detail}
    print("RESULT #%d %s: %s%s (target %s, figure/target %s) %s" % (
        n, what, figure,
        "" if baseline is None else ", baseline %s%s" % (
            baseline, "" if vs_baseline is None else
            " (x%.3f)" % vs_baseline),
        target, "-" if ratio is None else "%.2f" % ratio,
        "met" if met else "MISSED"))
    if args.result:
        with open(args.result, "a") as f:
            f.write(json.dumps(rec) + "\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


BACKGROUND_LOOP = (
    "import hashlib, os\n"
    "buf = os.urandom(65536)\n"
    "while True:\n"
    "    hashlib.sha256(buf).digest()\n")


class Background:
    """A fixed, stated load beside a run (issue 17, item 5): n processes,
    each hashing a 64 KiB buffer with SHA-256 in a loop at nice 0 (one
    core's worth of CPU and memory traffic each), started before the run
    and killed after it."""

    def __init__(self, n):
        self.n = n
        self.procs = []

    def describe(self):
        return ("%d background process(es), each SHA-256 over 64 KiB in a "
                "loop at nice 0" % self.n) if self.n else "no background"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        for _ in range(self.n):
            self.procs.append(subprocess.Popen(
                [py, "-c", BACKGROUND_LOOP], stdin=subprocess.DEVNULL,
                start_new_session=True))
        return self

    def stop(self):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


class CpuMeter:
    """CPU time of the whole machine and of given pids over an interval:
    how much of the 2 cores others (other engineers' test runs) took."""

    def __init__(self):
        self.t0 = self._stat()
        self.wall0 = time.monotonic()

    @staticmethod
    def _stat():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v[:8]), idle

    def busy(self):
        """Fraction of all CPUs busy since creation (0..1)."""
        t1 = self._stat()
        total = t1[0] - self.t0[0]
        idle = t1[1] - self.t0[1]
        return 0.0 if total <= 0 else 1.0 - idle / float(total)


def worker_cpu(workers):
    """{pid: CPU seconds (user + system) used so far} of nginx workers."""
    out = {}
    tck = os.sysconf("SC_CLK_TCK")
    for w in workers:
        try:
            with open("/proc/%d/stat" % w) as f:
                v = f.read().rsplit(")", 1)[1].split()
            out[w] = (int(v[11]) + int(v[12])) / float(tck)
        except (OSError, IndexError, ValueError):
            pass
    return out


def schedstat(pids):
    """(seconds on a CPU, seconds runnable but waiting for one) the pids
    have had so far, from /proc/PID/schedstat (ns; /proc/PID/stat counts
    10 ms ticks, too coarse). The wait is what a busy machine adds."""
    run = wait = 0
    for p in pids:
        try:
            with open("/proc/%d/schedstat" % p) as f:
                v = f.read().split()
            run += int(v[0])
            wait += int(v[1])
        except (OSError, ValueError, IndexError):
            pass
    return run / 1e9, wait / 1e9


class PerfProfile:
    """perf record of nginx's workers while messages are delivered
    (sse_peer.py and sse_fanout.py --perf DIR): DIR/SIDE-N.data, call
    graphs, and perf stat of their write and epoll_wait calls; stop()
    prints the calls and the symbols that took the most samples."""

    def __init__(self, directory, side, n, nginx):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "%s-%d.data" % (side, n))
        master = nginx.proc.pid if getattr(nginx, "proc", None) else None
        pids = ",".join(str(p) for p in nginx.pids() if p != master)
        self.proc = subprocess.Popen(
            ["perf", "record", "-q", "-F", "4999", "-g", "-p", pids, "-o",
             self.path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # the writes: how many calls carried the messages
        self.stat = subprocess.Popen(
            ["perf", "stat", "-x", ",", "-e", "syscalls:sys_enter_writev,"
             "syscalls:sys_enter_write,syscalls:sys_enter_sendfile64,"
             "syscalls:sys_enter_epoll_wait", "-p", pids],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)                  # perf attached

    def stop(self, top=25):
        self.stat.send_signal(2)
        _, counts = self.stat.communicate(timeout=60)
        self.proc.send_signal(2)
        _, err = self.proc.communicate(timeout=60)
        calls = ["%s %s" % (f[2].split(":")[-1], f[0])
                 for f in (ln.split(",") for ln in
                           counts.decode(errors="replace").splitlines())
                 if len(f) > 2 and f[2].startswith("syscalls:")]
        if self.proc.returncode not in (0, -2):
            sys.exit("perf record failed (%s): %s" % (
                self.proc.returncode, err.decode(errors="replace")))
        rep = subprocess.run(
            ["perf", "report", "-i", self.path, "--stdio", "--no-children",
             "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            universal_newlines=True, timeout=300)
        lines = [ln for ln in rep.stdout.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        print("\nperf, %s: the workers' calls (%s) and samples (self "
              "time) while the messages went out" % (self.path,
                                                     ", ".join(calls)))
        for ln in lines[:top]:
            print("    " + ln.strip())


def wrk(url, seconds, connections=16, threads=1, timeout=None,
        script=None, script_args=()):
    """Runs wrk (with the Lua script at path script, given script_args,
    if any); returns {"rps", "p50_ms", "p99_ms", "requests", "seconds"
    (what wrk measured over), "non2xx", "errors" (non-2xx included)}."""
    cmd = [WRK, "-t%d" % threads, "-c%d" % connections,
           "-d%ds" % max(1, int(round(seconds))), "--latency"]
    if script:
        cmd += ["-s", script, url, "--"] + [str(x) for x in script_args]
    else:
        cmd.append(url)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True,
                       timeout=timeout or seconds + 60)
    out = p.stdout
    if p.returncode != 0:
        raise RuntimeError("wrk failed: %s" % out[-1000:])
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("no Requests/sec in wrk's output: %s" % out)
    res = {"rps": float(m.group(1)), "raw": out}
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    res["requests"] = int(m.group(1)) if m else 0
    res["seconds"] = (float(m.group(2)) / (1000.0 if m.group(3) == "ms"
                                           else 1.0)) if m else seconds
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    res["errors"] = res["non2xx"] + (sum(int(x) for x in m.groups())
                                     if m else 0)
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % q, out, re.M)
        if m:
            v = float(m.group(1)) * {"us": 1e-3, "ms": 1.0,
                                     "s": 1e3}[m.group(2)]
            res["p%s_ms" % q] = v
    return res


def pct(values, q):
    return h.percentile(values, q)


def frozen_playlist(ls):
    """The playlist of benchmark 1 (and 9): an ad disclosure and a
    countdown still open, three pins 1.2 s apart (two ended), so PDT per
    segment and 5 EXT-X-DATERANGEs; then the publisher stopped (with
    hls_cleanup off), so that the file stays as it is. Returns the
    Response of one request for it."""
    api = ls.api
    for i in range(3):
        r = api.put_offer(h.offer("hls-%d" % i, disclosure="ad")
                          if i == 0 else h.offer("hls-%d" % i))
        if r.status not in (200, 201):
            sys.exit("PUT offer: %r" % r)
    for r in (api.disclose("ad", "Anzeige"), api.countdown(600, "Sale ends")):
        if r.status != 200:
            sys.exit("control call: %r" % r)
    for i in range(3):
        r = api.pin("hls-%d" % i)
        if r.status != 200:
            sys.exit("pin: %r" % r)
        time.sleep(1.2)
    time.sleep(1.5)
    ls.publisher.stop()
    time.sleep(1.5)
    r = ls.fetch_playlist()
    if r.status != 200:
        sys.exit("playlist: %r" % r)
    nranges = r.text.count("#EXT-X-DATERANGE:")
    if nranges != 5:
        sys.exit("the playlist holds %d ranges, want 5:\n%s" % (nranges,
                                                               r.text))
    if ls.fetch_playlist(save=False).body != r.body:
        sys.exit("the playlist changed after the publisher stopped")
    return r


def raise_nofile_hard(want):
    """Like h.raise_nofile, but as root also lifts the hard limit (20,000
    SSE clients need more descriptors than a login's hard limit), so that
    this process and the nginx it starts can hold want descriptors.
    Returns the new soft limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0 and hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    return h.raise_nofile(want)


class PeerCrowd(h.SseCrowd):
    """h.SseCrowd for any SSE server, not only liveshop's: a client is
    ready once its response head and a first message or comment are in
    (nchan opens an EventSource stream with a comment, liveshop with the
    state), messages are found by a string in their data, and
    count_deliveries() counts them cheaply for throughput runs. source:
    the local address to connect from (another 127.0.0.x per crowd keeps
    the TIME_WAIT ports of the last crowd out of the way)."""

    def __init__(self, port, path, n, source="127.0.0.1", **kw):
        h.SseCrowd.__init__(self, port, path, n, **kw)
        self.source = source

    def connect(self, timeout=60, batch=100):
        import select
        import socket
        self.ep = select.epoll()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
               % (self.path, self.port)).encode()
        deadline = time.monotonic() + timeout

        def ready(st):
            return st.head_done and (st.messages or st.comments)
        while len(self.socks) < self.n:
            fresh = []
            for _ in range(min(batch, self.n - len(self.socks))):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if self.kernel_ts:
                    s.setsockopt(socket.SOL_SOCKET, h.SO_TIMESTAMPNS, 1)
                s.bind((self.source, 0))
                s.settimeout(self.connect_timeout)
                s.connect(("127.0.0.1", self.port))
                s.sendall(req)
                s.setblocking(False)
                self.socks.append(s)
                self.by_fd[s.fileno()] = s
                self.streams[s.fileno()] = h.SseStream()
                self.ep.register(s.fileno(), select.EPOLLIN)
                fresh.append(self.streams[s.fileno()])
            want = len(self.socks)
            # the earlier batches are ready: look at this one only
            self.pump(lambda: all(ready(st) for st in fresh),
                      max(0.1, deadline - time.monotonic()),
                      "the first message or comment for %d clients" % want)
        bad = [st.status for st in self.streams.values() if st.status != 200]
        if bad:
            raise RuntimeError("%d clients answered %r" % (len(bad), bad[:5]))
        return self

    def wait_data(self, needle, timeout):
        """Pumps until every client has a message whose data holds needle;
        returns {fd: SseMessage}."""
        pending = set(self.streams)
        found = {}

        def done():
            for fd in list(pending):
                for m in reversed(self.streams[fd].messages):
                    if needle in m.data:
                        found[fd] = m
                        pending.discard(fd)
                        break
            return not pending
        self.pump(done, timeout, "a message holding %r at every client"
                  % needle)
        for st in self.streams.values():
            del st.messages[:]      # keep 20,000 clients' memory flat
        return found

    def count_deliveries(self, marker, want, timeout, stop=None):
        """Reads raw bytes (no SSE parsing: fast enough for thousands of
        messages a second) until every client has received `want` more
        occurrences of marker, or stop() is true and nothing arrived for
        a second. Returns ({fd: occurrences}, {fd: kernel time the want-th
        arrived}, last kernel time of any byte)."""
        carry = {fd: b"" for fd in self.streams}
        got = {fd: 0 for fd in self.streams}
        done_at = {}
        last = [None]
        k = len(marker) - 1
        deadline = time.monotonic() + timeout
        quiet = time.monotonic()
        while len(done_at) < len(got) and time.monotonic() < deadline:
            evs = self.ep.poll(0.2, 4096)
            if not evs:
                if stop is not None and stop() and \
                        time.monotonic() - quiet > 1.0:
                    break
                continue
            quiet = time.monotonic()
            for fd, _ev in evs:
                while True:
                    try:
                        data, t = self._recv(fd)
                    except BlockingIOError:
                        break
                    except OSError:
                        data, t = b"", None
                    if not data:
                        self.closed.add(fd)
                        self.ep.unregister(fd)
                        break
                    buf = carry[fd] + data
                    got[fd] += buf.count(marker)
                    carry[fd] = buf[-k:]
                    last[0] = t
                    if got[fd] >= want and fd not in done_at:
                        done_at[fd] = t
                    if len(data) < 65536:
                        break
        return got, done_at, last[0]
