#!/usr/bin/python3
"""dns_names.py: a small name server that answers from a table and counts.

  dns_names.py --host IP [--port 53] --log FILE [--ready-file FILE]
        [--record NAME=ADDR]... [--slow-suffix SUFFIX --delay SECS]

Listens on UDP at HOST:PORT and appends one line "QNAME QTYPE" to --log
for every query.  A and AAAA questions for a --record name get its
addresses of that family (NOERROR with no answer when it has none); any
other name gets NXDOMAIN.  Names ending in --slow-suffix are answered
(NXDOMAIN) only --delay seconds later, without holding up other answers:
a slow name server for some names and a fast one for the rest.
"""
import argparse
import heapq
import ipaddress
import os
import selectors
import socket
import struct
import time

QTYPE_A, QTYPE_AAAA = 1, 28


def parse_question(msg):
    """Returns (qname, qtype, end of the question), or None."""
    try:
        pos, labels = 12, []
        while msg[pos] != 0:
            n = msg[pos]
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype = struct.unpack("!H", msg[pos + 1:pos + 3])[0]
        return ".".join(labels).lower(), qtype, pos + 5
    except (IndexError, struct.error):
        return None


def answer(msg, qend, rcode, addrs):
    flags = struct.unpack("!H", msg[2:4])[0]
    # QR=1, AA=1, RA=1, keep opcode and RD.
    flags = 0x8000 | 0x0400 | 0x0080 | (flags & 0x7900) | rcode
    out = msg[:2] + struct.pack("!HHHHH", flags, 1, len(addrs), 0, 0) + msg[12:qend]
    for a in addrs:
        packed = a.packed
        qtype = QTYPE_A if len(packed) == 4 else QTYPE_AAAA
        # The name as a pointer to the question (offset 12), TTL 3600.
        out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 3600, len(packed)) + packed
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--record", action="append", default=[])
    ap.add_argument("--slow-suffix")
    ap.add_argument("--delay", type=float, default=0)
    a = ap.parse_args()
    table = {}
    for r in a.record:
        name, addr = r.split("=", 1)
        table.setdefault(name.lower(), []).append(ipaddress.ip_address(addr))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.bind((a.host, a.port))
    udp.setblocking(False)
    log = open(a.log, "a", buffering=1)
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, a.ready_file)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ)
    later = []      # (when, seq, reply, peer)
    seq = 0
    while True:
        wait = None
        if later:
            wait = max(0.0, later[0][0] - time.monotonic())
        sel.select(wait)
        while True:
            try:
                msg, peer = udp.recvfrom(4096)
            except BlockingIOError:
                break
            q = parse_question(msg)
            if q is None:
                continue
            name, qtype, qend = q
            log.write("%s %d\n" % (name, qtype))
            if name in table:
                want = 4 if qtype == QTYPE_A else 16 if qtype == QTYPE_AAAA else 0
                reply = answer(msg, qend, 0,
                               [x for x in table[name] if len(x.packed) == want])
            else:
                reply = answer(msg, qend, 3, [])
            if a.slow_suffix and name.endswith(a.slow_suffix):
                seq += 1
                heapq.heappush(later, (time.monotonic() + a.delay, seq, reply, peer))
            else:
                udp.sendto(reply, peer)
        now = time.monotonic()
        while later and later[0][0] <= now:
            _, _, reply, peer = heapq.heappop(later)
            try:
                udp.sendto(reply, peer)
            except OSError:
                pass


if __name__ == "__main__":
    main()
