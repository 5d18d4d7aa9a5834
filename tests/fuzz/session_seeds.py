#!/usr/bin/env python3
"""session_seeds.py: writes the seed scripts of fuzz_session into
corpus/fuzz_session/ (the format is described in fuzz_session.c).

Usage: tests/fuzz/session_seeds.py [DIR]
"""
import os
import struct
import sys

# Flags (byte 0).
(FL_OPEN, FL_S4_USERID, FL_NO_BIND, FL_NO_UDP, FL_AUTH_NOW, FL_DNS_HOLD, FL_STOP,
 FL_EMFILE) = (1 << i for i in range(8))
# Steps (high nibble).
(OPEN, SEND, SHUT, CLOSE, READ, ACCEPT, TSEND, TBULK, TCTL, MODE, PEER, UDPC,
 UDPT, TURNS, TIME, CBULK) = range(16)
# Connect modes.
REACH, REFUSE, STALL, FAIL = range(4)
# Indexes into tick_ms.
T1, T5, T20, T50, T100, T200, T300, T499, T501, T700, T1001, T1501, T2000, \
    T4001, T10000, T61000 = range(16)


class Script:
    def __init__(self, flags=0):
        self.b = bytearray([flags])

    def op(self, code, a=0, data=None):
        self.b.append(code << 4 | a)
        if data is not None:
            assert len(data) < 256
            self.b.append(len(data))
            self.b += data
        return self

    def open(self, k=0, small=False, v6=False):
        return self.op(OPEN, k | (4 if small else 0) | (8 if v6 else 0))

    def send(self, data, k=0):
        return self.op(SEND, k, data)

    def shut(self, k=0):
        return self.op(SHUT, k)

    def close(self, k=0, reset=False):
        return self.op(CLOSE, k | (4 if reset else 0))

    def accept(self):
        return self.op(ACCEPT)

    def tsend(self, data, c=0):
        return self.op(TSEND, c, data)

    def tctl(self, c, what):   # 0 shut, 1 close, 2 reset, 3 read toggle
        return self.op(TCTL, c | what << 2)

    def mode(self, m, arg=0):
        return self.op(MODE, m | arg << 2)

    def turns(self, n=1):
        return self.op(TURNS, n - 1)

    def time(self, t):
        return self.op(TIME, t)


def s5_greet(methods=b"\x02"):
    return b"\x05" + bytes([len(methods)]) + methods


def s5_auth(user=b"alice", pw=b"secret"):
    return b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw


def s5_req(cmd, atyp, addr, port):
    if atyp == 3:
        addr = bytes([len(addr)]) + addr
    return bytes([5, cmd, 0, atyp]) + addr + struct.pack(">H", port)


LO4 = bytes([127, 0, 0, 1])
LO6 = bytes(15) + b"\x01"


def s4_req(cmd, port, ip, user=b"", name=None):
    m = bytes([4, cmd]) + struct.pack(">H", port) + ip + user + b"\x00"
    if name is not None:
        m += name + b"\x00"
    return m


def udp_dgram(atyp, addr, port, payload):
    if atyp == 3:
        addr = bytes([len(addr)]) + addr
    return bytes([0, 0, 0, atyp]) + addr + struct.pack(">H", port) + payload


SEEDS = {}

SEEDS["s5-auth-connect-relay"] = (
    Script().open().send(s5_greet()).send(s5_auth())
    .send(s5_req(1, 1, LO4, 80) + b"early").accept()
    .tsend(b"hello from the target").send(b"more from the client")
    .tctl(0, 0).shut().turns(3))

SEEDS["s5-auth-pipelined-name"] = (
    Script().open()
    .send(s5_greet(b"\x00\x02") + s5_auth() + s5_req(1, 3, b"target.test", 443) + b"GET")
    .accept().tsend(b"200").close())

SEEDS["s5-open-name-two-refused-first"] = (
    Script(FL_OPEN).mode(REFUSE).open().send(s5_greet(b"\x00"))
    .send(s5_req(1, 3, b"two.test", 22)).accept().tsend(b"SSH-2.0-x\r\n")
    .send(b"SSH-2.0-y\r\n").turns(2))

SEEDS["s5-open-denied-names"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00")).send(s5_req(1, 3, b"denied.test", 80))
    .open(1).send(s5_greet(b"\x00"), 1).send(s5_req(1, 3, b"mixed.test", 80), 1)
    .accept().turns(2))

SEEDS["s5-open-ipv6-connect"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00")).send(s5_req(1, 4, LO6, 8080))
    .accept().tsend(b"v6").tctl(0, 1).turns(2))

SEEDS["s5-connect-refused-and-errors"] = (
    Script(FL_OPEN).mode(REFUSE).open().send(s5_greet(b"\x00")).send(s5_req(1, 1, LO4, 1))
    .mode(FAIL, 0).open(1).send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 2), 1)
    .mode(FAIL, 2).open(2).send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 3), 2)
    .turns(2))

SEEDS["s5-connect-timeout"] = (
    Script().mode(STALL).open().send(s5_greet() + s5_auth() + s5_req(1, 1, LO4, 9))
    .send(b"waiting").time(T1001).turns(2))

SEEDS["s5-auth-fail-delay-ban"] = (
    Script().open().send(s5_greet()).send(s5_auth(b"alice", b"wrong"))
    .time(T501).turns(2)
    .open(1).send(s5_greet() + s5_auth(b"mallory", b"x"), 1).time(T501)
    .open(2).send(s5_greet() + s5_auth(b"alice", b"secret"), 2).turns(2))

SEEDS["s5-auth-fail-now-empty-pass"] = (
    Script(FL_AUTH_NOW).open().send(s5_greet()).send(s5_auth(b"eve", b"bad"))
    .open(1).send(s5_greet() + s5_auth(b"eve", b""), 1)
    .send(s5_req(1, 1, LO4, 80), 1).accept().turns(2))

SEEDS["s5-bind-peer"] = (
    Script().open().send(s5_greet() + s5_auth()).send(s5_req(2, 1, LO4, 0) + b"early")
    .op(PEER).tsend(b"from the peer").send(b"to the peer").shut().turns(3))

SEEDS["s5-bind-named-peer-left"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + s5_req(2, 1, bytes([192, 0, 2, 1]), 0))
    .op(PEER).turns(2).close())

SEEDS["s4-connect"] = (
    Script(FL_OPEN).open().send(s4_req(1, 80, LO4, b"user") + b"data").accept()
    .tsend(b"answer").tctl(0, 2).turns(2))

SEEDS["s4a-connect"] = (
    Script(FL_OPEN).open().send(s4_req(1, 80, bytes([0, 0, 0, 1]), b"u", b"target.test"))
    .accept().tsend(b"x").shut().tctl(0, 0).turns(2))

SEEDS["s4-userid-and-refused"] = (
    Script(FL_S4_USERID).open().send(s4_req(1, 80, LO4, b"alice")).accept()
    .open(1).send(s4_req(1, 80, LO4, b"nobody"), 1).time(T501).turns(2))

SEEDS["s4-users-need-socks5"] = (
    Script().open().send(s4_req(1, 80, LO4, b"alice")).turns(2))

SEEDS["s4-bind-peer"] = (
    Script(FL_OPEN).open().send(s4_req(2, 0, LO4, b"b")).op(PEER)
    .tsend(b"peer").turns(2))

SEEDS["s5-udp-associate"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + s5_req(3, 1, bytes(4), 0))
    .op(UDPC, 0, udp_dgram(1, LO4, 53, b"ping")).op(UDPT, 0, b"pong")
    .op(UDPC, 0, udp_dgram(3, b"target.test", 53, b"q1"))
    .op(UDPC, 0, udp_dgram(3, b"target.test", 54, b"q2"))
    .op(UDPC, 0, udp_dgram(4, LO6, 53, b"v6")).op(UDPT, 1, b"v6 answer")
    .op(UDPC, 0, udp_dgram(3, b"nowhere.test", 53, b"lost"))
    .turns(2).close())

SEEDS["s5-no-bind-no-udp"] = (
    Script(FL_OPEN | FL_NO_BIND | FL_NO_UDP).open()
    .send(s5_greet(b"\x00") + s5_req(2, 1, LO4, 0))
    .open(1).send(s5_greet(b"\x00") + s5_req(3, 1, LO4, 0), 1).turns(2))

SEEDS["s5-bad-requests"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + bytes([5, 9, 0, 1]) + LO4 + b"\x00\x50")
    .open(1).send(s5_greet(b"\x00") + bytes([5, 1, 0, 7, 1, 2]), 1)
    .open(2).send(s5_greet(b"\x00") + bytes([5, 1, 0, 3, 0, 0, 80]), 2).turns(2))

SEEDS["bulk-relay-slow-reader"] = (
    Script(FL_OPEN).open(0, small=True).send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80))
    .accept().op(READ, 0).op(TBULK, 0 | 3 << 2).op(CBULK, 0 | 3 << 2).turns(4)
    .op(READ, 0).turns(8).tctl(0, 0).shut().turns(2))

SEEDS["relay-idle-and-half-close"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80)).accept()
    .tsend(b"hi").time(T4001).turns(2)
    .open(1).send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80), 1).accept()
    .shut(1).time(T1501).turns(2))

SEEDS["s5-auth-banned-while-waiting"] = (
    Script(FL_AUTH_NOW).open(0).send(s5_greet(), 0)
    .open(1).send(s5_greet() + s5_auth(b"alice", b"x"), 1)
    .open(2).send(s5_greet() + s5_auth(b"alice", b"y"), 2)
    .send(s5_auth(), 0).turns(2))

SEEDS["s4-userid-banned"] = (
    Script(FL_S4_USERID | FL_AUTH_NOW).open(0)
    .open(1).send(s4_req(1, 80, LO4, b"nobody"), 1)
    .open(2).send(s4_req(1, 80, LO4, b"nobody"), 2)
    .send(s4_req(1, 80, LO4, b"alice"), 0).turns(2))

SEEDS["dns-held-cancelled"] = (
    Script(FL_OPEN | FL_DNS_HOLD).open().send(s5_greet(b"\x00") + s5_req(1, 3, b"target.test", 80))
    .open(1).send(s5_greet(b"\x00") + s5_req(1, 3, b"two.test", 80), 1)
    .open(2, v6=True).send(s5_greet(b"\x00") + s5_req(3, 1, bytes(16), 0), 2)
    .op(UDPC, 0, udp_dgram(3, b"target.test", 7, b"held"))
    .time(T1001).turns(2))

SEEDS["stop-with-sessions"] = (
    Script(FL_OPEN | FL_STOP | FL_DNS_HOLD).mode(STALL).open()
    .send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80))
    .open(1).send(s5_greet(b"\x00") + s5_req(2, 1, LO4, 0), 1)
    .open(2).send(s5_greet(b"\x00") + s5_req(1, 3, b"target.test", 80), 2)
    .open(3, v6=True).send(s5_greet(b"\x00") + s5_req(3, 1, bytes(4), 0), 3))

SEEDS["accept-emfile-pause"] = (
    Script(FL_OPEN | FL_EMFILE).open().send(s5_greet(b"\x00")).time(T200)
    .turns(2).send(s5_req(1, 1, LO4, 80)).accept().turns(2))

SEEDS["v6-clients-limits"] = (
    Script(FL_OPEN).open(0, v6=True).send(s4_req(2, 0, LO4, b"v6"), 0)
    .open(1, v6=True).send(s5_greet(b"\x00") + s5_req(2, 4, bytes(16), 0), 1)
    .op(PEER).open(2).open(3).send(s5_greet(b"\x00"), 3).turns(2))

SEEDS["s5-connect-self"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + s5_req(1, 3, b"self.test", 1080))
    .turns(2))

SEEDS["small-buffers-held-bytes"] = (
    Script(FL_OPEN).mode(REACH, 1).open(0, small=True)
    .send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80)).accept()
    .op(READ, 0).tctl(0, 3).op(TBULK, 0).op(TBULK, 0).op(CBULK, 0).op(CBULK, 0)
    .op(CBULK, 0).op(CBULK, 0).op(CBULK, 0).op(CBULK, 0).op(CBULK, 0).op(CBULK, 0)
    .op(READ, 0).tctl(0, 3).turns(8).op(CBULK, 3 << 2).turns(16))

SEEDS["udp-burst"] = (
    Script(FL_OPEN).open().send(s5_greet(b"\x00") + s5_req(3, 1, bytes(4), 0))
    .op(UDPC, 15, udp_dgram(1, LO4, 9, b"x" * 64)).op(UDPT, 14, b"y" * 64)
    .op(UDPC, 15, udp_dgram(3, b"v6.test", 9, b"n")).turns(4))

SEEDS["errnos"] = (
    Script(FL_OPEN).mode(FAIL, 2).open().send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80))
    .mode(FAIL, 3).open(1).send(s5_greet(b"\x00") + s5_req(1, 1, LO4, 80), 1)
    .mode(STALL).mode(STALL).mode(REFUSE).open(2).send(s5_greet(b"\x00") + s5_req(1, 3, b"mixed.test", 80), 2)
    .time(T1001).turns(2))

SEEDS["garbage"] = Script().open().send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").turns(1)

SEEDS["silent-client-timeout"] = Script().open().time(T1001).turns(2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_session")
    os.makedirs(out, exist_ok=True)
    for name, sc in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(sc.b))


if __name__ == "__main__":
    main()
