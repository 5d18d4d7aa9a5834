#!/usr/bin/python3
"""names_flood.py: one client that asks a SOCKS5 server for many names at once.

  names_flood.py --proxy H:P --src IP --count N --name FMT --port PORT
        [--hold SECS]

Opens N connections from IP, each sending greeting and CONNECT request in
one write for the name FMT % i (e.g. "n%d.slow.test"), then reads the
replies for at most --hold seconds (default 10), printing "ready" once all
requests are sent and, at the end, one line "reply=CODE COUNT" per code seen
and "pending COUNT" for connections with no reply yet.
"""
import argparse
import selectors
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hold", type=float, default=10)
    a = ap.parse_args()
    host, port = a.proxy.rsplit(":", 1)
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((a.src, 0))
        s.connect((host, int(port)))
        name = (a.name % i).encode()
        s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x03" + bytes([len(name)]) + name
                  + struct.pack("!H", a.port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
        socks.append(s)
    print("ready", flush=True)
    codes = {}
    pending = len(socks)
    end = time.monotonic() + a.hold
    while pending > 0 and time.monotonic() < end:
        for key, _ in sel.select(max(0.0, end - time.monotonic())):
            buf = key.data
            try:
                data = key.fileobj.recv(64)
            except OSError:
                data = b""
            buf += data
            # Method choice (2 bytes), then the reply's code in byte 1.
            if len(buf) >= 4 or not data:
                code = buf[3] if len(buf) >= 4 else -1
                codes[code] = codes.get(code, 0) + 1
                pending -= 1
                sel.unregister(key.fileobj)
    for code in sorted(codes):
        print("reply=%d %d" % (code, codes[code]))
    print("pending %d" % pending, flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
