#!/usr/bin/python3
"""leak_trap.py: the target's double inside the client's network namespace.

Usage: leak_trap.py --addr ADDR... --tcp PORT... --udp PORT... --log FILE
                    [--ready-file FILE]

The client namespace owns the target's addresses itself, so anything a
socksified program sends there directly (instead of through the proxy)
lands here instead of timing out.  Listens on every --addr with every
--tcp and --udp port and appends to --log:

    tcp SRC_IP SRC_PORT -> DST_IP DST_PORT      one per accepted connection
    udp SRC_IP SRC_PORT -> DST_IP DST_PORT len=N data=REPR
                                                one per datagram
      data REPR                                 the first bytes a connection
                                                sent (indented: not counted)

Tests count the unindented lines.  The TCP listeners accept TCP Fast Open,
so data carried in a SYN shows up too.  A connection is closed after its
first bytes or after 2 s, so a leaking client gets EOF at once rather than
hanging until its own timeout.  Writes --ready-file once every socket is
bound.  Runs until it is sent SIGTERM.
"""
import argparse
import os
import selectors
import socket
import time

# Bytes of payload shown per connection or datagram: enough to recognise a
# request line or a SOCKS greeting.
SHOW = 80
IDLE = 2.0


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", action="append", required=True)
    ap.add_argument("--tcp", action="append", type=int, default=[])
    ap.add_argument("--udp", action="append", type=int, default=[])
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    log = open(a.log, "a", buffering=1)
    sel = selectors.DefaultSelector()
    for addr in a.addr:
        for port in sorted(set(a.tcp)):
            s = socket.socket(family(addr), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accept data in the SYN, as a real server with TFO would, so
            # a direct sendto(MSG_FASTOPEN) is seen with its payload.
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
            s.bind((addr, port))
            s.listen(64)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("listen", None))
        for port in sorted(set(a.udp)):
            s = socket.socket(family(addr), socket.SOCK_DGRAM)
            s.bind((addr, port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("udp", None))
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, a.ready_file)
    conns = {}
    while True:
        for key, _ in sel.select(timeout=0.5):
            kind, _ = key.data
            s = key.fileobj
            if kind == "listen":
                try:
                    c, src = s.accept()
                except OSError:
                    continue
                dst = c.getsockname()
                log.write("tcp %s %d -> %s %d\n" % (src[0], src[1], dst[0], dst[1]))
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("conn", None))
                conns[c] = time.monotonic()
            elif kind == "udp":
                try:
                    data, src = s.recvfrom(65535)
                except OSError:
                    continue
                dst = s.getsockname()
                log.write("udp %s %d -> %s %d len=%d data=%r\n" % (
                    src[0], src[1], dst[0], dst[1], len(data), data[:SHOW]))
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    log.write("  data %r\n" % data[:SHOW])
                sel.unregister(s)
                conns.pop(s, None)
                s.close()
        now = time.monotonic()
        for c, t0 in list(conns.items()):
            if now - t0 > IDLE:
                sel.unregister(c)
                del conns[c]
                c.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
