#!/usr/bin/python3
"""Benchmark 9: what counting the audience (SPEC §14) costs. (a) Requests/s
for the live HLS media playlist of benchmark 1 with `live_shop_audience
on;` against `off;` in the same run, each request a viewer seen; (b)
beacons/s one node takes, against `location = /noop { return 204; }` of
the same nginx with the same load.

It starts the setup of the nginx integration tests (nginx with 2 workers,
nginx-rtmp with HLS, ngx_live_shop_module, the journal on, ffmpeg
publishing live/demo) and builds the frozen playlist of hls_playlist.py:
a disclosure, a countdown and three pins 1.2 s apart (one PDT per segment,
5 DATERANGEs), then the publisher stops (`hls_cleanup off`), so the file
stays as it is and every request goes through live_shop_hls's cache hit,
which is where a request is counted as a viewer.

(a) The same nginx is reloaded between `live_shop_audience on;` and
`off;`: the zone, the stream's state, the playlist and the listening
socket stay; only the flag changes (a second nginx would need a second
zone with the same ranges, and two of them compete for the same 2 CPUs
anyway). After each reload a 1 s wrk run warms the new workers' playlist
caches. wrk (1 thread, --connections keep-alive connections) runs a Lua
script that cycles through --sessions prebuilt requests:

  session  GET /hls/demo.m3u8?session=bench-00000001 ... -00010000: every
           request its own session, so the stream's viewer table holds
           --sessions viewers and each request is a lookup in it (an
           insert when a session has expired);
  agent    no session: the viewer is the address + User-Agent, and as wrk
           comes from one address the script gives each request one of
           --sessions browser-like User-Agents instead.

A round is on:session, on:agent, off:agent, off:session (ABBA; the next
round starts with off), so each variant's on and off runs lie around the
same moment; the figure is the median of the per-round ratios on / off of
each variant. nginx's CPU time per request (the workers' user + system
time from /proc over each run, divided by its requests) is printed beside
req/s: other load on a shared machine disturbs it less.

(b) Beacons: --streams streams each get the offer bo-1 (the per-address
limit, 50/s with a burst of 200, is per stream, and wrk comes from one
address: spread over N streams, one node can accept up to N x 50/s
before the limit answers 429). The Lua script cycles through --streams x
--per-stream prebuilt POSTs `{"type":"impression"|"click","offer":"bo-1",
"session":S}` (one in 10 a click), consecutive requests going to
consecutive streams, each stream with its own --per-stream sessions (so a
session sends at most 50/--per-stream per s, under its 5/s). The
baseline sends the very same requests (same bodies and headers) to
/noop; a third run sends them with `live_shop_audience off;` (the beacon
is read, parsed and answered 204, not counted), which splits the cost
into the API's and the counting's. A round is beacon, /noop, beacon off,
the next one the other way round (one reload per round); the figure is
the median of the rounds. The answers are counted from the access log:
"accepted" is 204 (counted), "answered" any answer; a 429 means the
limits were in the way (the figure is then the limits', not the CPU's,
and the script says so). There is no target for beacons/s: it is printed,
as a ratio to /noop.

It also prints the zone's pages in use (state_size.py's reading of the
slab pool): per viewer, per stream with its offer, and per stream once it
has an audience and its beacons' buckets.

    bench/audience.py [--seconds 4] [--rounds 5] [--connections 16]
                      [--sessions 10000] [--streams 2000] [--per-stream 20]
"""

import os
import re
import statistics
import sys
import time

import benchlib as b
from benchlib import h
from state_size import PAGE, zone_pages_used

TARGET = 0.95
ZONE_MB = 128
OFFER = "bo-1"
BEACON_APP = "bench"

PLAYLIST_LUA = r"""
-- liveshop bench/audience.py: playlist requests, each a viewer
local reqs, n, i = {}, 0, 0
function init(args)
  n = tonumber(args[1])
  local mode = args[2]
  for k = 1, n do
    if mode == "session" then
      reqs[k] = wrk.format("GET", wrk.path ..
                           string.format("?session=bench-%08d", k))
    else
      reqs[k] = wrk.format("GET", wrk.path, {["User-Agent"] =
        string.format("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " ..
                      "(KHTML, like Gecko) Chrome/120.0.%d.0 Safari/537.36",
                      k)})
    end
  end
  i = math.random(n) - 1
end
function request()
  i = i % n + 1
  return reqs[i]
end
"""

BEACON_LUA = r"""
-- liveshop bench/audience.py: beacons over many streams (or /noop)
local reqs, n, i = {}, 0, 0
function init(args)
  local streams, per, noop = tonumber(args[1]), tonumber(args[2]),
                             args[3] == "noop"
  n = streams * per
  for k = 0, n - 1 do
    local s, j = k % streams, math.floor(k / streams)
    local path = noop and "/noop" or
      string.format("/shop/v1/streams/%s/s%05d/beacon", args[4], s)
    local body = string.format(
      '{"type":"%s","offer":"%s","session":"bsess-%05d-%03d"}',
      (k % 10 == 9) and "click" or "impression", args[5], s, j)
    reqs[k + 1] = wrk.format("POST", path,
                             {["Content-Type"] = "application/json"}, body)
  end
  i = math.random(n) - 1
end
function request()
  i = i % n + 1
  return reqs[i]
end
"""


def measured(workers, fn):
    """Runs fn() -> wrk result; adds nginx's CPU µs per request."""
    c0 = b.worker_cpu(workers)
    res = fn()
    c1 = b.worker_cpu(workers)
    res["cpu_us"] = sum(c1[w] - c0.get(w, 0.0) for w in c1) / max(
        1, res["requests"]) * 1e6
    return res


class AccessLog:
    """Counts the status codes of the access log lines written since the
    last call whose request holds one of needles (format lstest: '$pid
    $status "$request" $request_time')."""

    def __init__(self, path, needles):
        self.path = path
        self.needles = needles
        self.pos = os.path.getsize(path) if os.path.exists(path) else 0

    def since(self):
        counts = {}
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        # only whole lines: a worker may be mid-write
        end = data.rfind(b"\n") + 1
        self.pos += end
        for ln in data[:end].splitlines():
            parts = ln.split(b" ", 2)
            if len(parts) == 3 and any(n in parts[2]
                                       for n in self.needles):
                counts[parts[1].decode()] = counts.get(
                    parts[1].decode(), 0) + 1
        return counts


def set_audience(ls, on):
    """Rewrites nginx.conf with live_shop_audience on/off and reloads;
    returns the new workers."""
    with open(ls.nginx.conf_path) as f:
        conf = f.read()
    new = re.sub(r"live_shop_audience (on|off);", "live_shop_audience %s;"
                 % ("on" if on else "off"), conf)
    if new == conf:
        return ls.nginx.workers()
    with open(ls.nginx.conf_path, "w") as f:
        f.write(new)
    workers = ls.nginx.reload()
    print("  reloaded, audience %s: nginx workers %s" % (
        "on" if on else "off", " ".join(map(str, workers))), flush=True)
    return workers


def audience_of(ls):
    """live_shop_audience in nginx.conf now (True: on)."""
    with open(ls.nginx.conf_path) as f:
        return "live_shop_audience on;" in f.read()


def zone_kb(ls):
    """KB of the zone in use (its slab pages), read from a worker."""
    used, _ = zone_pages_used(ls.nginx.workers()[0], ZONE_MB << 20)
    return used * PAGE / 1024.0


def viewers(ls):
    r = ls.api.state()
    return r.json().get("viewers") if r.status == 200 else None


def playlist_rounds(ls, args, lua, body):
    """Part (a): returns [{(variant, "on"|"off"): result}] per round."""
    rows = []
    url = ls.playlist_url
    for rnd in range(args.rounds):
        first = audience_of(ls) if rnd else True
        plan = [(first, "session"), (first, "agent"),
                (not first, "agent"), (not first, "session")]
        got = {}
        for on, variant in plan:
            if audience_of(ls) != on:
                set_audience(ls, on)
                # the new workers' playlist caches
                b.wrk(url, 1, args.connections)
            workers = ls.nginx.workers()
            res = measured(workers, lambda: b.wrk(
                url, args.seconds, args.connections, script=lua,
                script_args=[args.sessions, variant]))
            if res["errors"] or res["requests"] == 0:
                sys.exit("%s %s: %d errors\n%s" % (
                    variant, "on" if on else "off", res["errors"],
                    res["raw"]))
            res["viewers"] = viewers(ls)
            got[(variant, "on" if on else "off")] = res
            print("  round %d %-7s audience %-3s %8.0f req/s  %5.1f us "
                  "CPU/req  p99 %.2f ms  viewers %s" % (
                      rnd + 1, variant, "on" if on else "off", res["rps"],
                      res["cpu_us"], res.get("p99_ms", float("nan")),
                      res["viewers"]), flush=True)
        rows.append(got)
    if ls.fetch_playlist(save=False).body != body:
        sys.exit("the playlist changed during the run")
    return rows


def put_beacon_streams(ls, n):
    """The offer in n streams BEACON_APP/sNNNNN (each its own limits)."""
    for s in range(n):
        api = ls.api_for("%s/s%05d" % (BEACON_APP, s))
        r = api.put_offer(h.offer(OFFER))
        if r.status not in (200, 201):
            sys.exit("PUT offer in stream %d: %r" % (s, r))


def beacon_rounds(ls, args, lua, zone):
    """Part (b): returns [{"beacon"|"noop"|"beacon_off": result}] per
    round: beacons counted, the same requests to /noop, and beacons with
    live_shop_audience off (parsed and answered 204, not counted), the
    order reversed every other round (one reload per round)."""
    base = "http://127.0.0.1:%d" % ls.http_port
    alog = AccessLog(ls.nginx.access_log, (
        b'"POST /noop ', b'"POST /shop/v1/streams/%s/' % BEACON_APP.encode()))
    # each stream's audience and its sessions' buckets made once
    b.wrk(base + "/", 1, args.connections, script=lua,
          script_args=[args.streams, args.per_stream, "beacon", BEACON_APP,
                       OFFER])
    zone["audiences"] = zone_kb(ls)
    rows = []
    for rnd in range(args.rounds):
        plan = [("beacon", True), ("noop", None), ("beacon_off", False)]
        if not audience_of(ls):
            plan.reverse()
        got = {}
        for what, on in plan:
            if on is not None and audience_of(ls) != on:
                set_audience(ls, on)
            alog.since()
            workers = ls.nginx.workers()
            res = measured(workers, lambda: b.wrk(
                base + "/", args.seconds, args.connections, script=lua,
                script_args=[args.streams, args.per_stream,
                             "noop" if what == "noop" else "beacon",
                             BEACON_APP, OFFER]))
            time.sleep(0.2)  # the last lines of the access log
            st = alog.since()
            bad = {k: v for k, v in st.items() if k not in ("204", "429")}
            if bad or (what != "beacon" and st.get("429")) or \
                    res["errors"] > res["non2xx"] or not st:
                sys.exit("%s: unexpected answers %r\n%s" % (what, st,
                                                          res["raw"]))
            res["status"] = st
            total = sum(st.values()) or 1
            res["accepted_rps"] = res["rps"] * st.get("204", 0) / total
            res["refused"] = st.get("429", 0)
            got[what] = res
            print("  round %d %-10s %8.0f answered/s  %8.0f accepted/s  "
                  "%5.1f us CPU/req  p99 %.2f ms  answers %s" % (
                      rnd + 1, what, res["rps"], res["accepted_rps"],
                      res["cpu_us"], res.get("p99_ms", float("nan")),
                      " ".join("%s:%d" % kv for kv in sorted(st.items()))),
                  flush=True)
        rows.append(got)
    set_audience(ls, True)
    return rows


def main():
    ap = b.parser(__doc__)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--sessions", type=int, default=10000,
                    help="sessions (and User-Agents) the playlist "
                    "requests cycle through")
    ap.add_argument("--streams", type=int, default=2000,
                    help="streams the beacons are spread over")
    ap.add_argument("--per-stream", type=int, default=20,
                    help="sessions per stream sending beacons")
    args = ap.parse_args()
    b.need_module(args)
    if args.smoke:
        args.seconds, args.rounds = 1, 1
    if not os.path.exists(b.WRK):
        sys.exit("wrk is missing: scripts/setup-deps.sh installs it")

    ls = h.LiveSetup(module=args.module, journal=True, noop=True,
                     zone="live_shop_zone liveshop %dm;" % ZONE_MB,
                     extra_app="hls_cleanup off;",
                     extra_http="keepalive_requests 10000000; "
                     "live_shop_audience on;")
    lua_pl = os.path.join(ls.d, "playlist.lua")
    lua_bc = os.path.join(ls.d, "beacon.lua")
    for path, text in ((lua_pl, PLAYLIST_LUA), (lua_bc, BEACON_LUA)):
        with open(path, "w") as f:
            f.write(text)
    ls.start()
    try:
        r = b.frozen_playlist(ls)
        body = r.body
        npdt = r.text.count("#EXT-X-PROGRAM-DATE-TIME:")
        print("nginx workers %s; playlist %d bytes, %d PDT, 5 DATERANGE"
              % (" ".join(map(str, ls.nginx.workers())), len(body), npdt),
              flush=True)
        b.wrk(ls.playlist_url, 1, args.connections)  # warm up
        zone = {"before": zone_kb(ls)}
        cpu = b.CpuMeter()
        print("(a) playlist requests, audience on/off, %d sessions or "
              "User-Agents" % args.sessions, flush=True)
        pl_rows = playlist_rounds(ls, args, lua_pl, body)
        busy_a = cpu.busy()

        zone["viewers"] = viewers(ls)
        zone["after_a"] = zone_kb(ls)
        set_audience(ls, True)
        t = time.monotonic()
        put_beacon_streams(ls, args.streams)
        zone["streams"] = zone_kb(ls)
        print("(b) beacons over %d streams x %d sessions (offer put in "
              "%.1f s)" % (args.streams, args.per_stream,
                           time.monotonic() - t), flush=True)
        cpu = b.CpuMeter()
        bc_rows = beacon_rounds(ls, args, lua_bc, zone)
        busy_b = cpu.busy()
        problems = ls.nginx.error_log_problems()
        if problems:
            sys.exit("nginx's error.log: %s" % problems[:5])
    finally:
        ls.stop()
        ls.cleanup()

    # (a)
    med = {}
    ratio = {}
    cpu_ratio = {}
    for v in ("session", "agent"):
        rs = [g[(v, "on")]["rps"] / g[(v, "off")]["rps"] for g in pl_rows]
        ratio[v] = (statistics.median(rs), rs)
        cpu_ratio[v] = statistics.median(
            g[(v, "off")]["cpu_us"] / g[(v, "on")]["cpu_us"]
            for g in pl_rows)
        for s in ("on", "off"):
            med[(v, s)] = {k: statistics.median(g[(v, s)][k]
                                                for g in pl_rows)
                           for k in ("rps", "cpu_us")}
    print()
    print("(a) HLS playlist (%d bytes, %d PDT, 5 DATERANGE), wrk 1 thread "
          "%d connections, %d rounds x %.0f s per run, nginx 2 workers, the "
          "same nginx reloaded between live_shop_audience on and off; "
          "machine busy %.0f%% during the runs" % (
              len(body), npdt, args.connections, args.rounds, args.seconds,
              busy_a * 100))
    print()
    print("| round | viewer id | on req/s | on CPU us/req | off req/s | "
          "off CPU us/req | req/s on/off | CPU off/on | viewers after on |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, g in enumerate(pl_rows, 1):
        for v, label in (("session", "?session="),
                         ("agent", "address + UA")):
            on, off = g[(v, "on")], g[(v, "off")]
            print("| %d | %s | %.0f | %.1f | %.0f | %.1f | %.3f | %.3f | "
                  "%s |" % (i, label, on["rps"], on["cpu_us"], off["rps"],
                            off["cpu_us"], on["rps"] / off["rps"],
                            off["cpu_us"] / on["cpu_us"], on["viewers"]))
    print()
    for v, label in (("session", "with ?session="),
                     ("agent", "address + User-Agent")):
        print("%s: median on/off %.3f (rounds %s); nginx CPU per request "
              "%.1f us on, %.1f us off (+%.1f us per viewer seen; off/on "
              "%.3f)" % (label, ratio[v][0],
                         " ".join("%.3f" % x for x in ratio[v][1]),
                         med[(v, "on")]["cpu_us"], med[(v, "off")]["cpu_us"],
                         med[(v, "on")]["cpu_us"] - med[(v, "off")]["cpu_us"],
                         cpu_ratio[v]))
    if any(g[(v, "on")]["viewers"] in (None, 0) for g in pl_rows
           for v in ("session", "agent")):
        sys.exit("no viewer was counted with live_shop_audience on")

    # (b)
    bmed = {k: {q: statistics.median(g[k][q] for g in bc_rows)
                for q in ("rps", "accepted_rps", "cpu_us")}
            for k in ("beacon", "noop", "beacon_off")}
    bratios = [g["beacon"]["accepted_rps"] / g["noop"]["rps"]
               for g in bc_rows]
    bratio = statistics.median(bratios)
    refused = sum(g["beacon"]["refused"] for g in bc_rows)
    answered = sum(sum(g["beacon"]["status"].values()) for g in bc_rows)
    print()
    print("(b) beacons over %d streams x %d sessions, wrk 1 thread %d "
          "connections, %d rounds x %.0f s, against the same requests to "
          "/noop; machine busy %.0f%% during the runs" % (
              args.streams, args.per_stream, args.connections, args.rounds,
              args.seconds, busy_b * 100))
    print()
    print("| round | beacon answered/s | accepted (204)/s | 429 | "
          "CPU us/req | /noop req/s | CPU us/req | accepted / noop | "
          "audience off: beacon req/s | CPU us/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, g in enumerate(bc_rows, 1):
        bc, no, bo = g["beacon"], g["noop"], g["beacon_off"]
        print("| %d | %.0f | %.0f | %d | %.1f | %.0f | %.1f | %.3f | %.0f | "
              "%.1f |" % (i, bc["rps"], bc["accepted_rps"], bc["refused"],
                          bc["cpu_us"], no["rps"], no["cpu_us"],
                          bratios[i - 1], bo["rps"], bo["cpu_us"]))
    print()
    print("beacons: median %.0f accepted/s (%.0f answered/s), /noop %.0f "
          "req/s: x%.3f; nginx CPU per request %.1f us (beacon) vs %.1f us "
          "(/noop), +%.1f us per beacon" % (
              bmed["beacon"]["accepted_rps"], bmed["beacon"]["rps"],
              bmed["noop"]["rps"], bratio, bmed["beacon"]["cpu_us"],
              bmed["noop"]["cpu_us"],
              bmed["beacon"]["cpu_us"] - bmed["noop"]["cpu_us"]))
    print("of which counting (audience on - off, %.0f beacon req/s with "
          "it off): +%.1f us; the API (body, JSON, answer): +%.1f us" % (
              bmed["beacon_off"]["rps"],
              bmed["beacon"]["cpu_us"] - bmed["beacon_off"]["cpu_us"],
              bmed["beacon_off"]["cpu_us"] - bmed["noop"]["cpu_us"]))
    if refused:
        print("%d of %d beacons were answered 429: the per-address limit "
              "(50/s per stream, %d streams: %d/s) was in the way; "
              "accepted/s is then the limit's, not the node's ceiling "
              "(--streams more)" % (refused, answered, args.streams,
                                    args.streams * 50))
    else:
        print("no beacon was refused (429): accepted/s is what the node "
              "takes, not what the limits let through")

    per_viewer = (zone["after_a"] - zone["before"]) * 1024.0 / max(
        1, zone["viewers"])
    per_stream = (zone["audiences"] - zone["streams"]) / args.streams
    print()
    print("zone (%d MB): %.0f KB in use before (a), %.0f KB with %s viewers "
          "of live/demo (%.0f bytes per viewer); %d streams with their "
          "offer %.0f KB, %.0f KB once each has an audience and %d "
          "sessions' buckets (%.1f KB per stream)" % (
              ZONE_MB, zone["before"], zone["after_a"], zone["viewers"],
              per_viewer, args.streams, zone["streams"], zone["audiences"],
              args.per_stream, per_stream))

    rs, ra = ratio["session"][0], ratio["agent"][0]
    worst = min(rs, ra)
    b.emit(args, 9, "audience counting: playlist req/s on/off (?session=, "
           "address + UA); beacons/s",
           ">= 0.95 x audience off; beacons/s printed",
           "x%.3f / x%.3f (%.0f / %.0f req/s); %.0f beacons/s" % (
               rs, ra, med[("session", "on")]["rps"],
               med[("agent", "on")]["rps"], bmed["beacon"]["accepted_rps"]),
           worst / TARGET, worst >= TARGET,
           baseline="off %.0f / %.0f req/s; /noop %.0f req/s (beacons x%.2f)"
           % (med[("session", "off")]["rps"], med[("agent", "off")]["rps"],
              bmed["noop"]["rps"], bratio),
           vs_baseline=worst,
           ratio_session=rs, ratio_agent=ra,
           rounds_session=ratio["session"][1], rounds_agent=ratio["agent"][1],
           cpu_us_per_request={"%s_%s" % k: v["cpu_us"]
                               for k, v in med.items()},
           rps={"%s_%s" % k: v["rps"] for k, v in med.items()},
           cpu_ratio=cpu_ratio, beacons=bmed, beacon_ratio=bratio,
           beacon_rounds=bratios, beacons_refused=refused,
           busy=[busy_a, busy_b], sessions=args.sessions, zone_kb=zone,
           zone_bytes_per_viewer=per_viewer,
           zone_kb_per_stream_audience=per_stream,
           streams=args.streams)


if __name__ == "__main__":
    main()
