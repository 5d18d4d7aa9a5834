#!/usr/bin/python3
"""hostile.py: many hostile SOCKS5 clients at once, for the soak suite.

  hostile.py --proxy H:P --user U --pass P --closed-port N
             [--sources IP,IP,...] [--guess-source IP] [--conns N]
             [--duration SECS] [--rate N] [--max-total N]
             [--udp-assocs N] [--udp-rate N] [--overdue SECS]
             [--kinds K,K,...]

One process, one selector.  --conns connection slots (default 1000) are
shared out among the kinds below; each slot keeps one connection open at a
time and opens a new one, after a short pause, when the server closes it.
New connections are paced (--rate per second, a token bucket), stop after
--duration seconds (default 60) or --max-total connections, whichever
comes first; then everything is closed and the counts are printed.
--kinds keeps only the kinds named (their slots share --conns in the same
proportions).

Kinds (U:P is a valid login, the "stolen" one of a hostile user):
  slowloris  a valid handshake (or a SOCKS4 request with a long user id)
             one byte every 0.5..2 s: never complete before --timeout
  garbage    random bytes, an HTTP request, a greeting without an
             acceptable method, a random SOCKS4 request
  oversized  255 methods, a 255-byte user name announced but not sent,
             an empty user name, a NUL inside a 255-byte user name; with
             the valid login: a 255-byte name with a NUL, a 255-byte name
             announced but cut short, a well-formed 253-byte name (looked
             up, and not found), an unknown address type, a SOCKS4 user id
             of 2000 bytes
  halfopen   connect and say nothing; greet and stall; log in and stall
  guess      wrong passwords (some with 255-byte fields), from
             --guess-source only, so that the ban it earns stays there
  closed     the valid login, then CONNECT to --closed-port (by address
             or as "localhost"), or an unknown command
  bind       the valid login, then a BIND whose peer never comes
  udp        --udp-assocs UDP ASSOCIATEs with the valid login, kept open,
             and --udp-rate datagrams a second at their relay ports:
             garbage, well-formed ones for 127.0.0.1:--closed-port (by
             address and by name), fragments, and some from a port the
             association does not know

Every kind but udp sends nothing the server could serve: the server must
close each such connection itself (negotiation timeout, a failure reply,
a ban).  One still open after --overdue seconds (default 25) is closed
here and counted as overdue.

Prints one line per kind:
  kind=K opened=N closed_by_server=N with_reply=N reset=N connect_err=N
      overdue=N max_life=S
then
  udp assocs=N reopened=N datagrams=N send_err=N
  total opened=N overdue=N connect_err=N peak_open=N secs=S
"""
import argparse
import collections
import errno
import heapq
import os
import random
import selectors
import socket
import struct
import sys
import time

import socksraw as sr

IP_BIND_ADDRESS_NO_PORT = 24

KINDS = (("slowloris", 0.20), ("garbage", 0.10), ("oversized", 0.15),
         ("halfopen", 0.25), ("guess", 0.10), ("closed", 0.15),
         ("bind", 0.05))


class Stats:
    def __init__(self):
        self.opened = 0
        self.closed_by_server = 0
        self.with_reply = 0
        self.reset = 0
        self.connect_err = 0
        self.overdue = 0
        self.max_life = 0.0


def long_name(n):
    """A well-formed domain name of n bytes (labels of at most 63)."""
    labels, left = [], n
    while left > 0:
        size = min(63, left)
        labels.append("x" * size)
        left -= size + 1
    name = ".".join(labels)
    return name[:n].rstrip(".")


class Scripts:
    """What each kind sends: a list of (delay before, bytes)."""

    def __init__(self, args, rnd):
        self.a = args
        self.rnd = rnd
        self.login = sr.greeting5((2,)) + sr.auth1929(args.user, args.password)
        self.port = args.closed_port

    def s5_req(self, cmd, atyp_and_rest):
        return bytes([5, cmd, 0]) + atyp_and_rest

    def slowloris(self):
        r = self.rnd
        if r.random() < 0.7:
            msg = self.login + sr.request5(1, "127.0.0.1", self.port)
        else:
            msg = sr.request4(1, "127.0.0.1", self.port, user="u" * 40)
        # 30 bytes or more at 0.5 s or slower: at least 15 s, longer
        # than the server's negotiation timeout.
        return [(r.uniform(0.5, 2.0), msg[i:i + 1]) for i in range(len(msg))]

    def garbage(self):
        r = self.rnd
        v = r.randrange(4)
        if v == 0:
            first = r.choice([b for b in range(256) if b not in (4, 5)])
            body = bytes([first]) + os.urandom(r.randrange(0, 600))
        elif v == 1:
            body = b"GET / HTTP/1.1\r\nHost: proxy\r\n\r\n"
        elif v == 2:
            # A greeting whose methods never include 0x02.
            ms = bytes(r.choice([0, 1, 3, 0x80, 0xfe]) for _ in range(r.randrange(1, 255)))
            body = bytes([5, len(ms)]) + ms + os.urandom(r.randrange(0, 64))
        else:
            body = b"\x04" + os.urandom(r.randrange(1, 300))
        parts = sr.split_parts(body, r.randrange(1, 4))
        return [(0 if i == 0 else r.uniform(0, 0.3), p) for i, p in enumerate(parts)]

    def oversized(self):
        r = self.rnd
        v = r.randrange(9)
        if v == 0:
            # 255 methods, then a user name announced at 255 bytes and cut short.
            msg = bytes([5, 255]) + bytes(range(255)) + b"\x01\xff" + b"x" * 100
        elif v == 1:
            msg = sr.greeting5((2,)) + b"\x01\x00\x03abc"
        elif v == 2:
            user = b"y" * 100 + b"\0" + b"y" * 154
            msg = sr.greeting5((2,)) + b"\x01\xff" + user + b"\xff" + b"z" * 255
        elif v == 3:
            name = b"n" * 120 + b"\0" + b"n" * 134
            msg = self.login + self.s5_req(1, b"\x03\xff" + name + struct.pack(">H", 80))
        elif v == 4:
            msg = self.login + self.s5_req(1, b"\x03\xff" + b"m" * 40)
        elif v == 5:
            msg = self.login + sr.request5(1, long_name(253), self.port)
        elif v == 6:
            msg = self.login + self.s5_req(1, b"\x07" + os.urandom(20))
        elif v == 7:
            msg = struct.pack(">BBH", 4, 1, self.port) + b"\x7f\0\0\x01" + b"u" * 2000
        else:
            msg = self.login + self.s5_req(1, b"\x04" + b"\0" * 8)
        return [(0, msg)]

    def halfopen(self):
        v = self.rnd.randrange(3)
        if v == 0:
            return []
        if v == 1:
            return [(0, sr.greeting5((2,)))]
        return [(0, self.login)]

    def guess(self):
        r = self.rnd
        if r.random() < 0.3:
            user, pw = "g" * 255, "p" * 255
        else:
            user, pw = self.a.user, "wrong-%d" % r.randrange(1 << 30)
        return [(0, sr.greeting5((2,)) + sr.auth1929(user, pw))]

    def closed(self):
        v = self.rnd.randrange(4)
        if v == 0:
            return [(0, self.login + sr.request5(1, "localhost", self.port))]
        if v == 1:
            return [(0, self.login + self.s5_req(9, b"\x01\x7f\0\0\x01\0\x50"))]
        return [(0, self.login + sr.request5(1, "127.0.0.1", self.port))]

    def bind(self):
        return [(0, self.login + sr.request5(2, "0.0.0.0", 0))]


class Conn:
    __slots__ = ("slot", "sock", "t0", "steps", "got", "connected", "udp")

    def __init__(self, slot, sock, t0):
        self.slot = slot
        self.sock = sock
        self.t0 = t0
        self.steps = None
        self.got = 0
        self.connected = False
        self.udp = None


class Slot:
    __slots__ = ("kind", "src", "conn")

    def __init__(self, kind, src):
        self.kind = kind
        self.src = src
        self.conn = None


class UdpAssoc:
    """The datagram side of one association."""

    def __init__(self, src):
        self.src = src
        self.sock = None
        self.stranger = None
        self.relay = None
        self.buf = b""


class Hostile:
    def __init__(self, args):
        self.a = args
        self.rnd = random.Random(args.seed)
        self.scripts = Scripts(args, self.rnd)
        self.sel = selectors.DefaultSelector()
        self.heap = []
        self.seq = 0
        self.pending = collections.deque()
        self.stats = {k: Stats() for k, _ in KINDS}
        self.stats["udp"] = Stats()
        self.total = 0
        self.open_now = 0
        self.peak_open = 0
        self.udp_reopened = 0
        self.datagrams = 0
        self.udp_send_err = 0
        self.proxy = sr.split_hostport(args.proxy)
        self.t_start = time.monotonic()
        self.t_end = self.t_start + args.duration
        self.tokens = 0.0
        self.t_tokens = self.t_start
        self.assocs = []
        self.payloads = [os.urandom(self.rnd.randrange(1, 1400)) for _ in range(64)]
        self.slots = []
        srcs = args.sources.split(",")
        kinds = [(k, w) for k, w in KINDS if not args.kinds or k in args.kinds]
        wsum = sum(w for _, w in kinds) or 1.0
        for kind, share in kinds:
            n = int(round(args.conns * share / wsum))
            for i in range(n):
                src = args.guess_source if kind == "guess" else srcs[i % len(srcs)]
                self.slots.append(Slot(kind, src))
        for i in range(args.udp_assocs):
            self.slots.append(Slot("udp", srcs[i % len(srcs)]))
        self.rnd.shuffle(self.slots)
        self.pending.extend(self.slots)

    def at(self, when, fn, *arg):
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, fn, arg))

    # ---- connections

    def start(self, slot, now):
        st = self.stats[slot.kind]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            s.bind((slot.src, 0))
            rc = s.connect_ex(self.proxy)
        except OSError:
            rc = -1
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            st.connect_err += 1
            self.requeue(slot, now, 0.5)
            return
        self.total += 1
        st.opened += 1
        c = Conn(slot, s, now)
        slot.conn = c
        self.open_now += 1
        self.peak_open = max(self.peak_open, self.open_now)
        self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        self.at(now + self.a.overdue, self.give_up, c)

    def requeue(self, slot, now, pause=None):
        if pause is None:
            pause = self.rnd.uniform(0.1, 0.5)
        self.at(now + pause, self.pending.append, slot)

    def finish(self, c, now, by_server, reset=False):
        if c.slot.conn is not c:
            return
        st = self.stats[c.slot.kind]
        life = now - c.t0
        if by_server:
            st.closed_by_server += 1
            st.max_life = max(st.max_life, life)
        if reset:
            st.reset += 1
        if c.got:
            st.with_reply += 1
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        if c.udp is not None:
            self.udp_close(c.udp)
            self.udp_reopened += 1
        c.slot.conn = None
        self.open_now -= 1
        self.requeue(c.slot, now)

    def give_up(self, c):
        if c.slot.conn is not c or c.slot.kind == "udp":
            return
        self.stats[c.slot.kind].overdue += 1
        self.finish(c, time.monotonic(), False)

    def connected(self, c, now):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            st = self.stats[c.slot.kind]
            st.connect_err += 1
            st.opened -= 1
            self.total -= 1
            # Not a connection the server closed: undo finish's counting.
            self.finish(c, now, False)
            return
        c.connected = True
        self.sel.modify(c.sock, selectors.EVENT_READ, c)
        kind = c.slot.kind
        if kind == "udp":
            c.udp = UdpAssoc(c.slot.src)
            steps = [(0, self.scripts.login + sr.request5(3, "0.0.0.0", 0))]
        else:
            steps = getattr(self.scripts, kind)()
        c.steps = collections.deque(steps)
        self.next_step(c, now)

    def next_step(self, c, now):
        if c.slot.conn is not c or not c.steps:
            return
        delay, data = c.steps[0]
        self.at(now + delay, self.send_step, c)

    def send_step(self, c):
        if c.slot.conn is not c:
            return
        _, data = c.steps.popleft()
        now = time.monotonic()
        try:
            c.sock.send(data)
        except BlockingIOError:
            pass
        except OSError as e:
            self.finish(c, now, True, isinstance(e, ConnectionResetError))
            return
        self.next_step(c, now)

    def readable(self, c, now):
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.finish(c, now, True, isinstance(e, ConnectionResetError))
            return
        if not data:
            self.finish(c, now, True)
            return
        c.got += len(data)
        if c.udp is not None and c.udp.relay is None:
            self.udp_reply(c, data)

    # ---- UDP

    def udp_reply(self, c, data):
        u = c.udp
        u.buf += data
        # Method choice, auth status, then a 10-byte IPv4 reply.
        if len(u.buf) < 14:
            return
        rep = u.buf[4:14]
        if rep[1] != 0 or rep[3] != 1:
            return
        u.relay = (socket.inet_ntoa(rep[4:8]), struct.unpack(">H", rep[8:10])[0])
        u.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sock.setblocking(False)
        u.sock.bind((u.src, 0))
        u.stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.stranger.setblocking(False)
        u.stranger.bind((u.src, 0))
        self.assocs.append(u)

    def udp_close(self, u):
        if u in self.assocs:
            self.assocs.remove(u)
        for s in (u.sock, u.stranger):
            if s is not None:
                s.close()

    def udp_datagram(self, u):
        r = self.rnd
        v = r.random()
        p = r.choice(self.payloads)
        sock = u.sock
        if v < 0.4:
            d = p
        elif v < 0.7:
            d = sr.udp_header("127.0.0.1", self.a.closed_port) + p
        elif v < 0.8:
            d = sr.udp_header("localhost", self.a.closed_port) + p
        elif v < 0.9:
            d = sr.udp_header("127.0.0.1", self.a.closed_port, frag=1) + p
        else:
            d = sr.udp_header("127.0.0.1", self.a.closed_port) + p
            sock = u.stranger
        try:
            sock.sendto(d, u.relay)
            self.datagrams += 1
        except OSError:
            self.udp_send_err += 1

    def udp_tick(self, last):
        now = time.monotonic()
        if now >= self.t_end:
            return
        n = int(self.a.udp_rate * (now - last))
        if self.assocs:
            for i in range(n):
                u = self.assocs[i % len(self.assocs)]
                self.udp_datagram(u)
                # Drain what comes back (nothing should) so no buffer fills.
                try:
                    while u.sock.recv(65536):
                        pass
                except OSError:
                    pass
        self.at(now + 0.01, self.udp_tick, last + n / self.a.udp_rate if n else last)

    # ---- the loop

    def run(self):
        a = self.a
        self.at(self.t_start + 0.01, self.udp_tick, self.t_start)
        while True:
            now = time.monotonic()
            if now >= self.t_end:
                break
            self.tokens = min(a.rate / 10.0 + 1,
                              self.tokens + (now - self.t_tokens) * a.rate)
            self.t_tokens = now
            while self.pending and self.tokens >= 1 and self.total < a.max_total:
                self.tokens -= 1
                self.start(self.pending.popleft(), now)
            timeout = 0.05
            if self.heap:
                timeout = min(timeout, max(0.0, self.heap[0][0] - now))
            if self.pending and self.total < a.max_total:
                timeout = min(timeout, 1.0 / a.rate)
            for key, ev in self.sel.select(timeout):
                c = key.data
                now = time.monotonic()
                if not c.connected:
                    if ev & selectors.EVENT_WRITE:
                        self.connected(c, now)
                    continue
                if ev & selectors.EVENT_READ:
                    self.readable(c, now)
            now = time.monotonic()
            while self.heap and self.heap[0][0] <= now:
                _, _, fn, arg = heapq.heappop(self.heap)
                fn(*arg)
        secs = time.monotonic() - self.t_start
        for slot in self.slots:
            if slot.conn is not None:
                if slot.conn.udp is not None:
                    self.udp_close(slot.conn.udp)
                slot.conn.sock.close()
        self.report(secs)

    def report(self, secs):
        overdue = connect_err = 0
        for kind, _ in KINDS + (("udp", 0),):
            st = self.stats[kind]
            overdue += st.overdue
            connect_err += st.connect_err
            print("kind=%s opened=%d closed_by_server=%d with_reply=%d reset=%d "
                  "connect_err=%d overdue=%d max_life=%.1f" % (
                      kind, st.opened, st.closed_by_server, st.with_reply,
                      st.reset, st.connect_err, st.overdue, st.max_life))
        print("udp assocs=%d reopened=%d datagrams=%d send_err=%d" % (
            self.a.udp_assocs, self.udp_reopened, self.datagrams, self.udp_send_err))
        print("total opened=%d overdue=%d connect_err=%d peak_open=%d secs=%.1f" % (
            self.total, overdue, connect_err, self.peak_open, secs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--pass", dest="password", required=True)
    ap.add_argument("--closed-port", type=int, required=True)
    ap.add_argument("--sources", default=",".join("127.0.0.%d" % i for i in range(2, 9)))
    ap.add_argument("--guess-source", default="127.0.0.9")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=400.0)
    ap.add_argument("--max-total", type=int, default=100000)
    ap.add_argument("--udp-assocs", type=int, default=4)
    ap.add_argument("--udp-rate", type=float, default=1000.0)
    ap.add_argument("--overdue", type=float, default=25.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kinds", type=lambda v: v.split(","), default=None)
    args = ap.parse_args()
    if args.kinds and "udp" not in args.kinds:
        args.udp_assocs = 0
    if not (0 < args.duration <= 600 and 0 <= args.conns <= 5000 and args.rate > 0):
        ap.error("--duration up to 600 s, --conns up to 5000, --rate above 0")
    Hostile(args).run()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
