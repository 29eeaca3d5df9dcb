"""A small RTMP subscriber for the benchmarks: many `play` connections in
one epoll loop (no process or thread per subscriber), each doing the RTMP
handshake, connect, createStream and play, then parsing the chunk stream
and keeping only the AMF0 data messages (type 18) named onCuePoint.

100 ffprobe processes on 2 cores would measure ffprobe; this reader costs
a parse of the chunk headers per message and nothing for the media.

Each cue is stamped with the kernel's receive time (SO_TIMESTAMPNS, in
time.monotonic() terms) of the bytes that completed it. The reader reads
at most READ bytes per recv(), so that a stamp is that of the cue's own
segment and not of media that arrived after it.
"""

import os
import select
import socket
import struct
import time

from benchlib import h

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
READ = 4096


def _amf_str(s):
    raw = s.encode()
    return b"\x02" + struct.pack(">H", len(raw)) + raw


def _chunks(csid, msg_type, stream_id, payload, chunk_size=4096,
            timestamp=0):
    """One message as fmt 0 chunk + fmt 3 continuations."""
    out = bytearray()
    out += bytes([csid & 0x3F])
    out += struct.pack(">I", timestamp)[1:]
    out += struct.pack(">I", len(payload))[1:]
    out += bytes([msg_type])
    out += struct.pack("<I", stream_id)
    for i in range(0, len(payload), chunk_size):
        if i:
            out += bytes([0xC0 | (csid & 0x3F)])
        out += payload[i:i + chunk_size]
    return bytes(out)


class Cue:
    __slots__ = ("name", "seq", "at", "ts", "values")

    def __init__(self, name, seq, at, ts, values):
        self.name = name
        self.seq = seq
        self.at = at
        self.ts = ts
        self.values = values


class RtmpSubscriber:
    """One play connection; fed by RtmpCrowd."""

    def __init__(self, sock, port, app, name):
        self.sock = sock
        self.port = port
        self.app = app
        self.name = name
        self.buf = bytearray()
        self.state = "s0s1s2"
        self.in_chunk = 128
        self.cs = {}     # csid -> [ts, len, type, sid, delta, payload]
        self.cues = []
        self.media = 0
        self.playing = False
        self.error = None

    def fileno(self):
        return self.sock.fileno()

    def start(self):
        c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
        self.c1 = c1
        self.sock.sendall(b"\x03" + c1)

    def _send(self, data):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def _after_handshake(self):
        tc = "rtmp://127.0.0.1:%d/%s" % (self.port, self.app)
        connect = (_amf_str("connect") + h.amf0_encode(1) +
                   h.amf0_encode({"app": self.app, "flashVer": "LNX 9,0,124,2",
                                  "tcUrl": tc, "fpad": False,
                                  "capabilities": 15, "audioCodecs": 4071,
                                  "videoCodecs": 252, "videoFunction": 1}))
        create = _amf_str("createStream") + h.amf0_encode(2) + b"\x05"
        self._send(_chunks(2, 1, 0, struct.pack(">I", 4096), 4096) +
                   _chunks(3, 20, 0, connect) + _chunks(3, 20, 0, create))

    def _play(self, sid):
        play = (_amf_str("play") + h.amf0_encode(0) + b"\x05" +
                _amf_str(self.name))
        # user control: set buffer length 0 (event 3)
        ctl = struct.pack(">HII", 3, sid, 0)
        self._send(_chunks(2, 4, 0, ctl) + _chunks(8, 20, sid, play))

    def feed(self, data, at):
        self.buf += data
        if self.state == "s0s1s2":
            if len(self.buf) < 1 + 1536 + 1536:
                return
            s1 = bytes(self.buf[1:1537])
            del self.buf[:1 + 1536 + 1536]
            self._send(s1)
            self.state = "chunks"
            self._after_handshake()
        self._parse(at)

    def _parse(self, at):
        buf = self.buf
        pos = 0
        n = len(buf)
        while pos < n:
            b0 = buf[pos]
            fmt = b0 >> 6
            csid = b0 & 0x3F
            p = pos + 1
            if csid == 0:
                if p + 1 > n:
                    break
                csid = 64 + buf[p]
                p += 1
            elif csid == 1:
                if p + 2 > n:
                    break
                csid = 64 + buf[p] + buf[p + 1] * 256
                p += 2
            hlen = (11, 7, 3, 0)[fmt]
            if p + hlen > n:
                break
            st = self.cs.get(csid)
            if st is None:
                st = self.cs[csid] = [0, 0, 0, 0, 0, None]
            ts_field = None
            if fmt == 0:
                ts_field = int.from_bytes(buf[p:p + 3], "big")
                mlen = int.from_bytes(buf[p + 3:p + 6], "big")
                mtype = buf[p + 6]
                sid = int.from_bytes(buf[p + 7:p + 11], "little")
            elif fmt == 1:
                ts_field = int.from_bytes(buf[p:p + 3], "big")
                mlen = int.from_bytes(buf[p + 3:p + 6], "big")
                mtype = buf[p + 6]
                sid = st[3]
            elif fmt == 2:
                ts_field = int.from_bytes(buf[p:p + 3], "big")
                mlen, mtype, sid = st[1], st[2], st[3]
            else:
                mlen, mtype, sid = st[1], st[2], st[3]
            p += hlen
            ext = ts_field == 0xFFFFFF or (fmt == 3 and st[4] >= 0xFFFFFF)
            if ext:
                if p + 4 > n:
                    break
                ts_field = int.from_bytes(buf[p:p + 4], "big")
                p += 4
            payload = st[5]
            have = 0 if payload is None else len(payload)
            take = min(self.in_chunk, mlen - have)
            if p + take > n:
                break
            # header complete: commit it
            if fmt in (0, 1, 2):
                if fmt == 0:
                    st[0] = ts_field
                elif payload is None:
                    st[0] += ts_field
                st[4] = ts_field
            elif payload is None and have == 0:
                st[0] += st[4]
            st[1], st[2], st[3] = mlen, mtype, sid
            if payload is None:
                payload = st[5] = bytearray()
            payload += buf[p:p + take]
            p += take
            pos = p
            if len(payload) >= mlen:
                st[5] = None
                self._message(mtype, sid, st[0], bytes(payload), at)
        del buf[:pos]

    def _message(self, mtype, sid, ts, payload, at):
        if mtype in (8, 9):
            self.media += 1
            if not self.playing:
                self.playing = True
            return
        if mtype == 1:
            self.in_chunk = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            return
        if mtype == 20:
            try:
                v = h.amf0_decode(payload)
            except h.AmfError:
                return
            if v and v[0] == "_result" and len(v) > 3 and v[1] == 2:
                self._play(int(v[3]))
            elif v and v[0] == "_error":
                self.error = repr(v)
            elif v and v[0] == "onStatus" and len(v) > 3 and \
                    isinstance(v[3], dict) and \
                    v[3].get("level") == "error":
                self.error = repr(v[3])
            return
        if mtype == 18:
            try:
                v = h.amf0_decode(payload)
            except h.AmfError:
                return
            if len(v) >= 2 and v[0] == "onCuePoint" and isinstance(v[1],
                                                                   dict):
                params = v[1].get("parameters") or {}
                self.cues.append(Cue(v[1].get("name"), params.get("seq"),
                                     at, ts, v[1]))


class RtmpCrowd:
    """n RtmpSubscribers of APP/NAME on 127.0.0.1:port in one epoll loop.
    workers=[pid, ...]: subscriber i is accepted by workers[i % len]
    (tests/nginx's connect_in_worker: the other workers are stopped for
    the moment of the accept)."""

    def __init__(self, port, app, name, n, workers=None, place=None):
        """place: the workers to put subscribers in (default workers)."""
        self.place = place or workers
        self.port = port
        self.app = app
        self.name = name
        self.n = n
        self.workers = workers
        self.subs = []
        self.by_fd = {}
        self.closed = set()
        self.ep = select.epoll()
        self._offset = time.time() - time.monotonic()
        self.worker_of = {}

    def connect(self, timeout=60, ready=None):
        """ready(sub): when a subscriber counts as connected (default:
        playing, with the state cue; without the module, pass one that
        waits for media)."""
        for i in range(self.n):
            if self.workers:
                w = self.place[i % len(self.place)]
                s = h.connect_in_worker(self.port, w, self.workers)
                self.worker_of[s.fileno()] = w
            else:
                s = socket.create_connection(("127.0.0.1", self.port), 5)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sub = RtmpSubscriber(s, self.port, self.app, self.name)
            sub.start()
            s.setblocking(False)
            self.subs.append(sub)
            self.by_fd[s.fileno()] = sub
            self.ep.register(s.fileno(), select.EPOLLIN)
            self.soak(0.0)
        what = "every subscriber playing with the state cue"
        if ready is None:
            def ready(s):
                return s.playing and s.cues
        else:
            what = "every subscriber ready"
        self.pump(lambda: all(ready(s) for s in self.subs), timeout, what)
        return self

    def soak(self, seconds):
        """Reads for seconds."""
        self.pump(lambda: False, seconds, None)

    def pump(self, done, timeout, what="condition"):
        """Reads until done() holds; what=None: until timeout, quietly."""
        deadline = time.monotonic() + timeout
        while True:
            if done():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                if timeout == 0 or what is None:
                    return
                bad = [s.error for s in self.subs if s.error]
                raise TimeoutError(
                    "RtmpCrowd: %s not reached in %.0f s (%d playing, %d "
                    "with a cue, %d closed; %s)" % (
                        what, timeout, sum(s.playing for s in self.subs),
                        sum(bool(s.cues) for s in self.subs),
                        len(self.closed), bad[:2]))
            for fd, _ev in self.ep.poll(min(left, 0.2), 256):
                sub = self.by_fd[fd]
                for _ in range(64):
                    try:
                        b, anc, _f, _a = sub.sock.recvmsg(READ, 256)
                    except BlockingIOError:
                        break
                    except OSError:
                        b, anc = b"", []
                    if not b:
                        self.closed.add(fd)
                        self.ep.unregister(fd)
                        break
                    t = time.monotonic()
                    for level, typ, cdata in anc:
                        if level == socket.SOL_SOCKET and \
                                typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                            sec, nsec = struct.unpack("qq", cdata[:16])
                            t = sec + nsec / 1e9 - self._offset
                    sub.feed(b, t)
                    if len(b) < READ:
                        break
            if self.closed:
                raise ConnectionError("%d subscribers were closed by nginx"
                                      % len(self.closed))

    def wait_seq(self, seq, timeout):
        """Pumps until every subscriber has the cue of seq; returns
        [(sub, Cue)]."""
        want = str(seq)

        def has(s):
            return any(c.seq == want for c in s.cues[-8:])
        self.pump(lambda: all(has(s) for s in self.subs), timeout,
                  "the cue of seq %s at every subscriber" % want)
        return [(s, next(c for c in reversed(s.cues) if c.seq == want))
                for s in self.subs]

    def close(self):
        for s in self.subs:
            try:
                s.sock.close()
            except OSError:
                pass
        self.ep.close()
