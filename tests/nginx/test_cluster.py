"""Several nodes sharing their streams through Valkey (or Redis where
Valkey is not installed), SPEC §13: a real server on loopback, with
`appendonly yes` and `appendfsync always` (the strict mode docs/cluster.md
describes), and three nginx (2 workers each) naming it in
`live_shop_redis`.

Held to:
  - a write on any node is seen by every node with the same seq: SSE
    clients of B and C get A's pin, the state and the report are the same
    everywhere;
  - 500 buyers at once over the three nodes for a stock of 10: exactly 10
    sold, the rest oversold, one offer.sold_out;
  - the same order sent to A and B at once counts once;
  - a countdown ends once, with every node alive and when the node that
    started it dies before its end;
  - while the server is down, control calls and webhooks answer 503
    store_unavailable with Retry-After and change nothing, reads go on;
    once it is back (restarted with its AOF) writes work again within
    2 s, and SSE clients see no gap and no duplicate;
  - kill -9 of a node during 2,000 orders loses no order answered 2xx.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import liveshop_harness as h
from test_webhooks import events_of, make_order, ok, report_of, send

SECRETS = h.new_webhook_secrets()
SSE_TIMEOUT = 10


def server_binary():
    for name in ("valkey-server", "redis-server"):
        path = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if path:
            return path
    return None


class KeyValueServer:
    """valkey-server (or redis-server) on loopback, AOF fsync'ed always."""

    def __init__(self, d):
        self.binary = server_binary()
        self.d = os.path.join(d, "valkey")
        os.makedirs(self.d, exist_ok=True)
        self.port = h.free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.d, "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--daemonize", "no",
             "--logfile", os.path.join(self.d, "server.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        h.wait_for(lambda: h.port_open(self.port), 10,
                   what="%s on port %d" % (self.binary, self.port))
        h.wait_for(self.ping, 10, what="the server answering PING")
        return self

    def ping(self):
        try:
            return self.command("PING") == "PONG"
        except OSError:
            return False

    def command(self, *args):
        """One command in RESP, its reply decoded (enough for tests)."""
        import socket
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            out = "*%d\r\n" % len(args)
            for a in args:
                a = str(a).encode()
                out += "$%d\r\n" % len(a) + a.decode("latin-1") + "\r\n"
            s.sendall(out.encode("latin-1"))
            f = s.makefile("rb")
            return _read_resp(f)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def connected(node, timeout=10):
    """Every worker of node has its connection (and worker 0 its
    subscription): 2 workers, 3 connections, each logs once."""
    def count():
        with open(node.nginx.error_log, errors="replace") as f:
            return f.read().count(") connected")
    h.wait_for(lambda: count() >= 3, timeout,
               what="the node's connections to the server")


def _read_resp(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        return [_read_resp(f) for _ in range(int(rest))]
    raise AssertionError("unexpected RESP %r" % line)


class Cluster:
    def __init__(self, module, nodes=3, **conf_kw):
        """conf_kw: make_conf parameters of every node (notify …)."""
        self.base = h.make_prefix()
        self.kv = KeyValueServer(self.base)
        self.nodes = []
        self.module = module
        self.count = nodes
        self.conf = conf_kw

    def start(self):
        self.kv.start()
        for i in range(self.count):
            self.nodes.append(self.node(i).start(publish=False))
        for n in self.nodes:
            connected(n)
        return self

    def node(self, i, **conf_kw):
        """Node i's LiveSetup (not started); conf_kw: more make_conf
        parameters (extra_app …)."""
        conf = dict(journal=True, webhooks=SECRETS, sse_ping="1s")
        conf.update(self.conf)
        conf.update(conf_kw)
        conf["extra_http"] = ("live_shop_redis redis://127.0.0.1:%d "
                              "prefix=lstest%d:; " % (self.kv.port, id(self))
                              + conf.get("extra_http", ""))
        return h.LiveSetup(module=self.module, **conf)

    def add(self, **conf_kw):
        """One more node, started, with conf_kw (see node)."""
        n = self.node(len(self.nodes), **conf_kw).start(publish=False)
        self.nodes.append(n)
        connected(n)
        return n

    def restart(self, i):
        """Node i again, after a kill -9: a fresh prefix and zone."""
        self.nodes[i] = self.node(i).start(publish=False)
        connected(self.nodes[i])
        return self.nodes[i]

    def kill(self, i):
        """kill -9 of every process of node i."""
        for pid in self.nodes[i].nginx.pids():
            os.kill(pid, signal.SIGKILL)

    def stop(self):
        # edges (added last) first: an origin stopping under an edge's
        # pull waits for it
        for n in reversed(self.nodes):
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - a killed node
                pass
        self.kv.stop()

    def version(self, stream):
        """Batches ever appended to a stream's shared log."""
        return int(self.kv.command("GET", "lstest%d:version:%s"
                                   % (id(self), stream)) or 0)

    def problems(self):
        out = []
        for n in self.nodes:
            out += n.nginx.error_log_problems()
        return out


@contextlib.contextmanager
def running_cluster(request, module, **conf_kw):
    """A started Cluster; at the end everything stopped, the nodes'
    artifacts kept if anything failed, and a failure for [alert]/[crit]
    lines in any node's error.log."""
    if server_binary() is None:
        pytest.fail("neither valkey-server nor redis-server is installed "
                    "(scripts/setup-deps.sh installs one)")
    c = Cluster(module, **conf_kw)
    failed_before = request.session.testsfailed
    try:
        c.start()
        yield c
    finally:
        c.stop()
        problems = c.problems()
        if problems or request.session.testsfailed > failed_before:
            for i, n in enumerate(c.nodes):
                try:
                    n.keep_artifacts("cluster-%s-node%d"
                                     % (request.node.name, i))
                except Exception:  # noqa: BLE001
                    pass
        for n in c.nodes:
            n.cleanup()
        assert not problems, "error.log holds:\n" + "\n".join(problems[:30])


@pytest.fixture
def cluster(request, module_so):
    with running_cluster(request, module_so) as c:
        yield c


def sse(node, stream, label):
    api = node.api_for(stream)
    c = h.SseClient(node.http_port, api.events_path(), label=label).start()
    c.wait_count(1, SSE_TIMEOUT, "the state message")
    return c


def wait_event(client, kind, timeout):
    """The first message of an event type kind."""
    return client.wait(lambda c: next((m for m in c.messages
                                       if m.event == kind), None),
                       timeout, kind)


def state(node, stream):
    """The state as every node must agree on it: each node counts the
    viewers it serves itself (docs/privacy.md), so those differ."""
    st = ok(node.api_for(stream).state())
    st.pop("at", None)
    st.pop("viewers", None)
    return st


def report(node, stream):
    return report_of(node.api_for(stream))


def same_everywhere(cluster, stream, what=state, timeout=5):
    """what(node, stream) is the same on every node (they apply the log
    in their own time: within timeout)."""
    seen = []

    def agree():
        seen[:] = [what(n, stream) for n in cluster.nodes]
        return all(s == seen[0] for s in seen)
    h.wait_for(agree, timeout, what="the same %s on every node: %r"
               % (what.__name__, seen))
    return seen[0]


@pytest.mark.parametrize("directive, zone, want", [
    ("live_shop_redis redis://127.0.0.1:6379 prefix=p: timeout=500ms;",
     True, None),
    ("live_shop_redis redis://u:pw@127.0.0.1:6379/2;", True, None),
    ("live_shop_redis redis://127.0.0.1:6379;", False,
     '"live_shop_redis" needs "live_shop_zone"'),
    ("live_shop_redis http://127.0.0.1:6379;", True,
     "takes a redis://"),
    ("live_shop_redis redis://127.0.0.1:6379/x;", True,
     "invalid database number"),
    ("live_shop_redis redis://127.0.0.1:6379 timeout=0;", True,
     "invalid timeout"),
    ("live_shop_redis redis://127.0.0.1:6379 colour=red;", True,
     'invalid parameter "colour=red"'),
    ("live_shop_redis redis://127.0.0.1:6379 prefix=%s;" % ("p" * 65),
     True, "a prefix of at most 64"),
    ("live_shop_redis redis://127.0.0.1:6379; "
     "live_shop_redis redis://127.0.0.1:6380;", True, "is duplicate"),
])
def test_nginx_t_on_live_shop_redis(module_so, directive, zone, want):
    """nginx -t takes the directive's forms and names each mistake."""
    d = h.make_prefix()
    try:
        if zone:
            conf = h.make_conf(d, 1935, 8080, module=module_so,
                               extra_http=directive)
        else:
            # no live_shop_api either (it would be refused first)
            conf = ("load_module %s;\nload_module %s;\n"
                    "pid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "events {}\nhttp {\n  %s\n  server { listen "
                    "127.0.0.1:8080; }\n}\n"
                    % (h.RTMP_MODULE, module_so, d, d, directive))
        rc, out = h.nginx_test_config(d, conf)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if want is None:
        assert rc == 0, out
    else:
        assert rc != 0 and want in out, out


def test_pin_on_a_reaches_b_and_c_with_the_same_seq(cluster):
    a, b, c = cluster.nodes
    stream = "live/cl-pin"
    api = a.api_for(stream)
    ok(api.put_offer(h.offer("pin-1", stock=5, price="9.90")), 201)
    same_everywhere(cluster, stream)
    sb = sse(b, stream, "b")
    sc = sse(c, stream, "c")
    ev = ok(api.pin("pin-1"))
    assert ev["type"] == "offer.pinned"
    for client in (sb, sc):
        m = wait_event(client, "offer.pinned", SSE_TIMEOUT)
        assert int(m.id) == ev["seq"], (m, ev)
        assert m.json() == ev
    st = same_everywhere(cluster, stream)
    assert st["seq"] == ev["seq"] and st["pinned"]["offer"]["id"] == "pin-1", st
    # a write on C is seen by A, in the same order
    ev2 = ok(c.api_for(stream).unpin())
    assert ev2["seq"] == ev["seq"] + 1
    m = wait_event(sb, ev2["type"], SSE_TIMEOUT)
    assert int(m.id) == ev2["seq"]
    same_everywhere(cluster, stream)
    sb.close()
    sc.close()


def test_rush_of_500_buyers_over_three_nodes_for_stock_10(cluster):
    stream = "live/cl-rush"
    a = cluster.nodes[0]
    ok(a.api_for(stream).put_offer(h.offer("rush-1", stock=10,
                                           price="5.00")), 201)
    same_everywhere(cluster, stream)
    watchers = [sse(n, stream, "w%d" % i)
                for i, n in enumerate(cluster.nodes)]
    orders = [make_order("standard", stream, [("rush-1", 1, "5.00")])
              for _ in range(500)]
    answers = [None] * len(orders)
    # 500 buyers at once: each its own connection, opened first, to A, B
    # or C in turn; then every order sent together
    conns = [socket.create_connection(
                 ("127.0.0.1", cluster.nodes[i % 3].http_port), 10)
             for i in range(len(orders))]
    gate = threading.Barrier(len(orders))

    def buyer(i):
        node, o = cluster.nodes[i % 3], orders[i]
        hd = node.hook("standard").headers(o.raw, o.delivery_id)
        url = "http://127.0.0.1:%d/hooks/standard" % node.http_port
        try:
            gate.wait(60)
            answers[i] = h.raw_http(conns[i], url, method="POST",
                                    headers=hd, body=o.raw, timeout=60)
        except Exception as e:  # noqa: BLE001 - reported below
            answers[i] = e
        finally:
            conns[i].close()

    threads = [threading.Thread(target=buyer, args=(i,))
               for i in range(len(orders))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    took = time.monotonic() - t0
    bad = [r for r in answers if not isinstance(r, h.Response)
           or r.status != 200]
    assert not bad, bad[:5]
    got = [r.json() for r in answers]
    sold = sum(g["sold"] for g in got)
    oversold = sum(g["oversold"] for g in got)
    print("\ncluster: 500 buyers at once over 3 nodes, stock 10: %.0f ms, "
          "%.0f orders/s, %d appends to the shared log"
          % (took * 1000, 500 / took, cluster.version(stream) - 1))
    assert (sold, oversold) == (10, 490), (sold, oversold)
    st = same_everywhere(cluster, stream)
    assert st["stock"]["rush-1"] == 0
    for w in watchers:
        wait_event(w, "offer.sold_out", SSE_TIMEOUT)
        w.read_for(0.5)
        evs = events_of(w.messages)
        assert [e["type"] for e in evs].count("offer.sold_out") == 1
        assert [e["type"] for e in evs].count("purchase.completed") == 10
        seqs = [e["seq"] for e in evs]
        assert seqs == sorted(set(seqs)), "gaps or repeats: %r" % seqs
        w.close()
    rep = same_everywhere(cluster, stream, report)
    off = [o for o in rep["offers"] if o["offer_id"] == "rush-1"][0]
    assert (off["orders"], off["units"], off.get("oversold")) == \
        (500, 500, 490), off


def test_the_same_order_on_a_and_b_at_once_counts_once(cluster):
    stream = "live/cl-dup"
    a, b, _ = cluster.nodes
    ok(a.api_for(stream).put_offer(h.offer("dup-1", stock=5,
                                           price="1.00")), 201)
    same_everywhere(cluster, stream)
    for _ in range(10):
        o = make_order("standard", stream, [("dup-1", 1, "1.00")])
        answers = [None, None]
        gate = threading.Barrier(2)

        def one(i, node):
            gate.wait(5)
            answers[i] = send(node, o)
        ts = [threading.Thread(target=one, args=(i, n))
              for i, n in enumerate((a, b))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        assert all(r is not None and r.status == 200 for r in answers), \
            answers
        dups = sorted(r.json()["duplicate"] for r in answers)
        assert dups == [False, True], answers
    st = same_everywhere(cluster, stream)
    assert st["stock"]["dup-1"] == 0, st
    off = [o for o in same_everywhere(cluster, stream, report)["offers"]
           if o["offer_id"] == "dup-1"][0]
    assert off["orders"] == 10 and off.get("oversold") == 5, off


def countdown_ends(client):
    return [m for m in client.messages if m.event == "countdown.ended"]


def test_a_countdown_ends_once_with_every_node_alive(cluster):
    stream = "live/cl-count"
    a = cluster.nodes[0]
    watchers = [sse(n, stream, "w%d" % i)
                for i, n in enumerate(cluster.nodes)]
    ev = ok(a.api_for(stream).countdown(2, label="Flash"))
    assert ev["type"] == "countdown.started"
    for w in watchers:
        wait_event(w, "countdown.ended", 10)
    time.sleep(1.5)
    ends = [countdown_ends(w) for w in watchers]
    assert all(len(e) == 1 for e in ends), ends
    assert len({e[0].id for e in ends}) == 1, ends
    st = same_everywhere(cluster, stream)
    assert st["seq"] == int(ends[0][0].id), st


def test_a_countdown_ends_once_when_its_node_dies_first(cluster):
    stream = "live/cl-count-dies"
    a, b, c = cluster.nodes
    watchers = [sse(n, stream, "w%d" % i) for i, n in enumerate((b, c))]
    ok(a.api_for(stream).countdown(3, label="Last chance"))
    for w in watchers:
        wait_event(w, "countdown.started", SSE_TIMEOUT)
    cluster.kill(0)
    for w in watchers:
        wait_event(w, "countdown.ended", 10)
    time.sleep(1.5)
    ends = [countdown_ends(w) for w in watchers]
    assert all(len(e) == 1 for e in ends), ends
    assert ends[0][0].id == ends[1][0].id


def test_server_down_503_then_back_within_2_s(cluster):
    stream = "live/cl-down"
    a, b, _ = cluster.nodes
    api = a.api_for(stream)
    ok(api.put_offer(h.offer("down-1", stock=3, price="2.00")), 201)
    ev = ok(api.pin("down-1"))
    same_everywhere(cluster, stream)
    watcher = sse(b, stream, "b")
    before = state(a, stream)

    cluster.kv.kill()
    time.sleep(0.3)
    r = api.unpin()
    assert r.status == 503, r
    assert r.json()["error"]["code"] == "store_unavailable", r.json()
    assert r.headers.get("Retry-After"), r.headers
    o = make_order("standard", stream, [("down-1", 1, "2.00")])
    r = send(b, o)
    assert r.status == 503 and \
        r.json()["error"]["code"] == "store_unavailable", r
    # reads go on from the node's last state
    assert state(a, stream) == before
    assert state(b, stream) == before
    pl = h.http_request("http://127.0.0.1:%d/shop/v1/streams/%s/state"
                        % (b.http_port, stream))
    assert pl.status == 200

    cluster.kv.start()   # the same --dir: its AOF
    back = time.monotonic()

    answers = {}

    def writes():
        # each node on its own backoff: A's control calls, B's orders
        if answers.get("a") != 200:
            answers["a"] = api.unpin().status
        if answers.get("b") != 200:
            r = send(b, o)
            answers["b"] = r.status
            if r.status == 200:
                assert r.json()["duplicate"] is False, r
        return answers == {"a": 200, "b": 200}
    h.wait_for(writes, 5, interval=0.05, what="writes on A and B after the "
               "server came back")
    took = time.monotonic() - back
    print("\ncluster: writes again on A and B %.0f ms after the server "
          "came back" % (took * 1000))
    assert took < 2.0, took
    wait_event(watcher, "purchase.completed", SSE_TIMEOUT)
    watcher.read_for(0.5)
    seqs = [int(m.id) for m in watcher.messages if m.event != "state"]
    assert seqs == list(range(ev["seq"] + 1, seqs[-1] + 1)), seqs
    same_everywhere(cluster, stream)
    watcher.close()


def test_a_server_that_hangs_counts_as_lost_after_the_timeout(cluster):
    """The server stopped (SIGSTOP: the socket open, no answer): a control
    call answers 503 store_unavailable once live_shop_redis's timeout (1 s)
    has passed, reads go on; continued (SIGCONT), writes work again."""
    stream = "live/cl-hang"
    a = cluster.nodes[0]
    api = a.api_for(stream)
    ok(api.put_offer(h.offer("hang-1", stock=3, price="2.00")), 201)
    before = state(a, stream)
    cluster.kv.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = api.pin("hang-1")
        took = time.monotonic() - t0
        assert r.status == 503, r
        assert r.json()["error"]["code"] == "store_unavailable", r.json()
        assert 0.5 <= took <= 3.0, took
        assert state(a, stream) == before
    finally:
        cluster.kv.proc.send_signal(signal.SIGCONT)
    h.wait_for(lambda: api.pin("hang-1").status == 200, 5,
               what="writes after the server went on")
    same_everywhere(cluster, stream)


def test_a_reload_keeps_the_node_in_the_cluster(cluster):
    """nginx -s reload of node A in the middle of orders on B: A's new
    workers connect and subscribe, A's SSE clients get B's events, A
    takes writes, and no order is lost or counted twice."""
    stream = "live/cl-reload"
    a, b, _ = cluster.nodes
    ok(b.api_for(stream).put_offer(h.offer("rl-1", stock=1000,
                                           price="1.00")), 201)
    orders = [make_order("standard", stream, [("rl-1", 1, "1.00")])
              for _ in range(300)]
    taken = []

    def buyer():
        s = b.hook("standard")
        for o in orders:
            taken.append(ok(send(b, o, sender=s))["duplicate"])
        s.close()
    t = threading.Thread(target=buyer)
    t.start()
    with open(a.nginx.error_log, errors="replace") as f:
        before = f.read().count(") connected")
    a.nginx.reload()
    t.join(60)
    assert taken == [False] * 300, taken.count(True)
    h.wait_for(lambda: open(a.nginx.error_log, errors="replace").read()
               .count(") connected") >= before + 3, 10,
               what="the new workers' connections")
    watcher = sse(a, stream, "after-reload")
    ev = ok(b.api_for(stream).pin("rl-1"))
    m = wait_event(watcher, "offer.pinned", SSE_TIMEOUT)
    assert int(m.id) == ev["seq"]
    ok(a.api_for(stream).unpin())
    st = same_everywhere(cluster, stream)
    assert st["stock"]["rl-1"] == 700, st
    watcher.close()


def test_kill_9_of_a_node_during_2000_orders_loses_no_2xx(cluster):
    stream = "live/cl-kill"
    a, b, c = cluster.nodes
    ok(a.api_for(stream).put_offer(h.offer("kill-1", stock=100000,
                                           price="1.00")), 201)
    same_everywhere(cluster, stream)
    orders = [make_order("standard", stream, [("kill-1", 1, "1.00")])
              for _ in range(2000)]
    accepted = set()
    lock = threading.Lock()
    nodes = [a, b, c]

    def client(k):
        for i in range(k, len(orders), 8):
            node = nodes[i % 3]
            try:
                r = send(node, orders[i])
            except OSError:
                continue
            if r.status == 200:
                with lock:
                    accepted.add(orders[i].order_id)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    h.wait_for(lambda: len(accepted) >= 400, 60, what="400 orders taken")
    cluster.kill(1)
    for t in threads:
        t.join(180)
    assert len(accepted) >= 1000, len(accepted)
    # every 2xx'd order is in the shared log: A and C count them all
    # (each node copies the log as it reads it: the last order another
    # node took may reach it a moment after that node answered)
    def missing(node):
        taken = {rec["order"]["order_id"]
                 for rec in h.Journal(node.journal_path(stream)).orders}
        return accepted - taken

    for node in (a, c):
        h.wait_for(lambda: not missing(node), 30, 0.2,
                   "every 2xx'd order in %s" % node.journal_path(stream))
    # a node started late serves the same state
    late = cluster.restart(1)
    h.wait_for(lambda: state(late, stream) == state(a, stream), 15,
               what="the late node's state")
    # and the same Last-Event-ID replay
    seq = state(a, stream)["seq"]
    replays = []
    for node in (a, late):
        api = node.api_for(stream)
        c = h.SseClient(node.http_port, api.events_path(),
                        last_event_id=str(seq - 30), label="replay").start()
        c.wait_seq(seq, SSE_TIMEOUT)
        replays.append([(m.id, m.data) for m in c.messages
                        if m.event != "state"])
        c.close()
    assert replays[0] == replays[1] and len(replays[0]) == 30, replays


def deliverer(cluster, dead=()):
    """The node whose log says it delivers the webhooks out (of those not
    in dead)."""
    holder = None
    for i, n in enumerate(cluster.nodes):
        if i in dead:
            continue
        with open(n.nginx.error_log, errors="replace") as f:
            text = f.read()
        if "this node delivers the live_shop_notify" in text:
            holder = i
    return holder


def test_webhooks_out_once_in_order_while_their_node_dies(request,
                                                           module_so):
    rcv = h.NotifyReceiver()
    try:
        with running_cluster(request, module_so,
                             notify=(rcv.url, "whsec_" + h.b64url(
                                 os.urandom(24)))) as cluster:
            h.wait_for(lambda: deliverer(cluster) is not None, 10,
                       what="a node delivering the webhooks out")
            holder = deliverer(cluster)
            others = [n for i, n in enumerate(cluster.nodes) if i != holder]
            stream = "live/cl-notify"
            ok(others[0].api_for(stream).put_offer(
                h.offer("nt-1", stock=5, price="1.00")), 201)
            made = []

            def events(n):
                for k in range(n):
                    api = others[k % 2].api_for(stream)
                    made.append(ok(api.pin("nt-1") if len(made) % 2 == 0
                                   else api.unpin())["seq"])
                    time.sleep(0.05)
            events(30)
            rcv.wait(lambda ds: sum(d.acked for d in ds) >= 10, 10)
            cluster.kill(holder)
            events(30)
            want = ["%s:%d" % (stream, s) for s in range(1, made[-1] + 1)]
            rcv.wait(lambda ds: {d.id for d in ds if d.acked} >= set(want),
                     30, "every event delivered")
            ds = rcv.snapshot()
            acked = [d.id for d in ds if d.acked]
            first = []
            for i in acked:
                if i not in first:
                    first.append(i)
            assert first == want, first
            again = len(acked) - len(set(acked))
            print("\ncluster: %d webhooks out, %d sent again after the "
                  "delivering node's kill -9" % (len(want), again))
            # at most the one in flight when its node died, sent again
            assert again <= 1, acked
            assert deliverer(cluster, dead=(holder,)) is not None
    finally:
        rcv.close()


def playlist(node):
    r = h.http_request(node.playlist_url, timeout=5)
    if r.status != 200:
        return None
    return h.parse_playlist(r.text)


def test_a_pin_on_a_reaches_b_and_an_edge_c_that_pulls_from_a(request,
                                                              module_so):
    """The encoder publishes to A; B is a node like A; C is an edge that
    pulls live/demo from A with nginx-rtmp's pull (which relays no data
    messages). A pin on A reaches the SSE clients of B and C with A's seq,
    C's RTMP player as a cue with the same seq, and C's playlist carries
    the same DATERANGE as A's."""
    with running_cluster(request, module_so, nodes=2) as cluster:
        a, b = cluster.nodes
        a.publisher = h.Publisher(a.d, a.rtmp_port).start()
        a.wait_segments(3, 40)
        c = cluster.add(extra_app="pull rtmp://127.0.0.1:%d/%s;"
                        % (a.rtmp_port, h.APP))
        player = c.subscribe("edge-player")
        player.wait_playing(20)
        h.wait_for(lambda: (playlist(c) or h.Playlist("")).segments, 30,
                   what="the edge's HLS segments")
        api = a.api_for(h.STREAM)
        ok(api.put_offer(h.offer("edge-1", stock=3, price="4.00")), 201)
        watchers = [sse(n, h.STREAM, l) for n, l in ((b, "b"), (c, "c"))]
        ev = ok(api.pin("edge-1"))
        for w in watchers:
            m = wait_event(w, "offer.pinned", SSE_TIMEOUT)
            assert int(m.id) == ev["seq"] and m.json() == ev, (m, ev)
            w.close()
        cue = player.wait_cue(lambda q: q.json and q.json.get("type") ==
                              "offer.pinned", 10, "the pin's cue on the edge")
        assert int(cue.seq) == ev["seq"] and cue.json == ev, (cue.json, ev)

        def ranges(node):
            pl = playlist(node)
            return {d.id: d.event()[0] for d in pl.dateranges} if pl else {}
        h.wait_for(lambda: any(e.get("seq") == ev["seq"]
                               for e in ranges(c).values()), 20,
                   what="the pin's DATERANGE in the edge's playlist")
        h.wait_for(lambda: ranges(a) and ranges(c) == ranges(a), 10,
                   what="the same DATERANGEs on A and C: %r / %r"
                   % (ranges(a), ranges(c)))


def test_the_shared_log_is_bounded_and_a_late_node_starts_from_its_base(
        request, module_so):
    """live_shop_journal_max_size 64k: the log is folded into a base as it
    grows (a ledger and a checkpoint) and keeps the batches since the base
    before; a node started after that has the same state and report, and
    knows an order from before the base as a duplicate."""
    with running_cluster(request, module_so, nodes=2,
                         journal_max_size="64k") as cluster:
        a, b = cluster.nodes
        stream = "live/cl-fold"
        ok(a.api_for(stream).put_offer(h.offer("fold-1", stock=100000,
                                               price="1.00")), 201)
        orders = [make_order("standard", stream, [("fold-1", 1, "1.00")])
                  for _ in range(800)]
        senders = [n.hook("standard") for n in (a, b)]
        for i, o in enumerate(orders):
            assert ok(send(None, o, sender=senders[i % 2]))["duplicate"] \
                is False
        for s in senders:
            s.close()
        prefix = "lstest%d:" % id(cluster)
        length = cluster.kv.command("LLEN", prefix + "log:" + stream)
        base = cluster.kv.command("HMGET", prefix + "base:" + stream,
                                  "version", "first")
        version = cluster.version(stream)
        print("\ncluster: %d batches appended, %d kept in the log, base at "
              "%s, the log from %s" % (version, length, base[0], base[1]))
        assert int(base[1] or 0) > 0 and length < version, (length, base)
        late = cluster.add(journal_max_size="64k")
        want = same_everywhere(cluster, stream, timeout=15)
        assert want["stock"]["fold-1"] == 100000 - 800, want
        rep = same_everywhere(cluster, stream, report)
        off = [o for o in rep["offers"] if o["offer_id"] == "fold-1"][0]
        assert off["orders"] == 800, off
        # the first order is in no batch the log still holds
        r = send(late, orders[0])
        assert ok(r)["duplicate"] is True, r
        # and the late node takes writes like the others
        ev = ok(late.api_for(stream).pin("fold-1"))
        h.wait_for(lambda: state(a, stream)["seq"] >= ev["seq"], 5,
                   what="A applying the late node's pin")
        same_everywhere(cluster, stream)


def test_kill_9_of_the_server_during_orders_loses_no_2xx(cluster):
    """Orders from 8 clients over the nodes; the server killed (kill -9)
    in the middle and started again on its AOF a second later: every
    order answered 2xx is in every node's log, 503 store_unavailable only
    while the server was down (and the 2 s a node may take to come back),
    and every order refused with 503 counts once when sent again."""
    stream = "live/cl-kv-kill"
    a = cluster.nodes[0]
    ok(a.api_for(stream).put_offer(h.offer("kv-1", stock=100000,
                                           price="1.00")), 201)
    same_everywhere(cluster, stream)
    orders = [make_order("standard", stream, [("kv-1", 1, "1.00")])
              for _ in range(3000)]
    accepted, refused, other = set(), [], []
    lock = threading.Lock()
    window = {}

    def client(k):
        sender = {}
        for i in range(k, len(orders), 8):
            node = cluster.nodes[i % 3]
            s = sender.setdefault(i % 3, node.hook("standard"))
            try:
                r = send(node, orders[i], sender=s)
            except OSError as e:
                with lock:
                    other.append((orders[i].order_id, repr(e)))
                continue
            with lock:
                if r.status == 200:
                    accepted.add(orders[i].order_id)
                elif r.status == 503 and r.json()["error"]["code"] == \
                        "store_unavailable" and r.headers.get("Retry-After"):
                    refused.append((time.monotonic(), orders[i],
                                    "may have been taken"
                                    in r.json()["error"]["message"]))
                else:
                    other.append((orders[i].order_id, r))
            time.sleep(0.01)   # a shop's pace: orders go on after the kill
        for s in sender.values():
            s.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    h.wait_for(lambda: len(accepted) >= 300, 60, what="300 orders taken")
    window["down"] = time.monotonic()
    cluster.kv.kill()
    time.sleep(1.0)
    cluster.kv.start()
    window["up"] = time.monotonic()
    for t in threads:
        t.join(180)
    assert not other, other[:5]
    assert refused, "no 503 while the server was down"
    late = [t for t, _, _ in refused
            if not window["down"] <= t <= window["up"] + 2.0]
    assert not late, "503 outside the server's absence: %r" % late[:5]
    print("\ncluster: %d orders taken, %d refused with 503 while the "
          "server was down; the last 503 %.0f ms after it was back"
          % (len(accepted), len(refused),
             (max(t for t, _, _ in refused) - window["up"]) * 1000))
    # sent again, the refused ones count once: new, but for those whose
    # append the server may have made as it was killed (the 503 says so)
    h.wait_for(lambda: send(a, refused[0][1]).status == 200, 5,
               what="node A taking orders again")
    for _, o, maybe in refused[1:]:
        assert ok(send(a, o))["duplicate"] is False or maybe, o.order_id
    for node in cluster.nodes:
        h.wait_for(lambda: len(h.Journal(node.journal_path(stream)).orders)
                   >= len(accepted) + len(refused), 10,
                   what="every order in the node's journal")
        taken = [rec["order"]["order_id"]
                 for rec in h.Journal(node.journal_path(stream)).orders]
        assert len(taken) == len(set(taken)), "an order counted twice"
        assert accepted <= set(taken), len(accepted - set(taken))
    st = same_everywhere(cluster, stream)
    assert st["stock"]["kv-1"] == 100000 - len(accepted) - len(refused)


def test_a_show_scheduled_on_a_starts_and_ends_everywhere(cluster):
    """SPEC §14 over several nodes: the schedule and the show's events go
    through the shared log like the rest."""
    a, b, c = cluster.nodes
    stream = "live/cl-show"
    body = {"title": "Weekly", "starts_at": h.format_spec_time(
        h.now_ms() + 600000), "duration": 3600,
        "rrule": "FREQ=WEEKLY;COUNT=4"}
    r = a.api_for(stream).call("PUT", "/shows/weekly", body)
    assert r.status == 201, r

    def listed(node):
        r = node.api_for(stream).call("GET", "/shows", token=None)
        return r.status == 200 and [s["id"] for s in r.json()["coming"]]
    for n in (b, c):
        h.wait_for(lambda: listed(n) == ["weekly"], 5, 0.05,
                   "the schedule on another node")
        ics = n.api_for(stream).call("GET", "/shows/weekly.ics", token=None)
        assert ics.status == 200 and b"RRULE:FREQ=WEEKLY;COUNT=4" in \
            ics.body, ics
    sa = sse(a, stream, "a")
    sc = sse(c, stream, "c")
    ev = ok(b.api_for(stream).call("POST", "/show", {"show": "weekly"}))
    assert ev["type"] == "show.started"
    assert ev["data"]["show"]["series"] == "weekly"
    for client in (sa, sc):
        m = wait_event(client, "show.started", SSE_TIMEOUT)
        assert m.json() == ev
    ended = ok(c.api_for(stream).call("DELETE", "/show"))
    assert ended["seq"] == ev["seq"] + 1
    assert wait_event(sa, "show.ended", SSE_TIMEOUT).json() == ended
    st = same_everywhere(cluster, stream)
    assert st["show"] is None
    r = b.api_for(stream).call("DELETE", "/shows/weekly")
    assert r.status == 204, r
    for n in (a, c):
        h.wait_for(lambda: listed(n) == [], 5, 0.05,
                   "the show taken off everywhere")
    sa.close()
    sc.close()
