#!/usr/bin/python3
"""badclient.py: misbehaving SOCKS clients for the bad-input suite.

  badclient.py raw  --proxy H:P --hex HEX [--wait SECS]
      Sends the bytes in one write, then reads until the server closes or
      --wait (default 3) passes.  Prints "got=HEX" (everything received),
      "first=HEX" (what the first read returned) and "eof=SECS" or
      "eof=none".
  badclient.py slow --proxy H:P --hex HEX [--interval SECS] [--wait SECS]
      Sends the bytes one per --interval (default 1 s) until the server
      closes; prints "closed after SECS sent N of M" or "not closed ...".
  badclient.py idle --proxy H:P --count N [--ready-file F] [--wait SECS]
      Opens N connections that never send a byte, writes N to --ready-file
      once all are connected, then waits up to --wait (default 20) for the
      server to close them.  Prints "connected N" and "closed K of N after
      SECS".
"""
import argparse
import resource
import select
import socket
import sys
import time

import socksraw as sr


def do_raw(args):
    s = sr.connect(args.proxy)
    s.sendall(bytes.fromhex(args.hex))
    got = b""
    first = None
    t0 = time.monotonic()
    eof = None
    s.settimeout(0.2)
    while time.monotonic() - t0 < args.wait:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            eof = time.monotonic() - t0
            break
        if not chunk:
            eof = time.monotonic() - t0
            break
        if first is None:
            first = chunk
        got += chunk
    print("got=%s" % got.hex())
    print("first=%s" % (first or b"").hex())
    print("eof=%s" % ("none" if eof is None else "%.2f" % eof))
    return 0


def do_slow(args):
    data = bytes.fromhex(args.hex)
    s = sr.connect(args.proxy)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < args.wait:
        if sent < len(data):
            try:
                s.sendall(data[sent:sent + 1])
                sent += 1
            except OSError:
                break
        r, _, _ = select.select([s], [], [], args.interval)
        if r:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            # A reply mid-handshake (method choice) is fine: keep going.
    t = time.monotonic() - t0
    if t >= args.wait:
        print("not closed after %.2f sent %d of %d" % (t, sent, len(data)))
        return 1
    print("closed after %.2f sent %d of %d" % (t, sent, len(data)))
    return 0


def do_idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    socks = []
    host, port = sr.split_hostport(args.proxy)
    for _ in range(args.count):
        s = socket.socket(sr.family_of(host), socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    print("connected %d" % len(socks))
    sys.stdout.flush()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % len(socks))
        import os
        os.rename(args.ready_file + ".tmp", args.ready_file)
    t0 = time.monotonic()
    open_ = set(range(len(socks)))
    poller = select.poll()
    for i, s in enumerate(socks):
        poller.register(s.fileno(), select.POLLIN)
    byfd = {s.fileno(): i for i, s in enumerate(socks)}
    while open_ and time.monotonic() - t0 < args.wait:
        for fd, ev in poller.poll(200):
            i = byfd[fd]
            try:
                chunk = socks[i].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                open_.discard(i)
                poller.unregister(fd)
    closed = len(socks) - len(open_)
    print("closed %d of %d after %.2f" % (closed, len(socks),
                                          time.monotonic() - t0))
    return 0 if not open_ else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("raw")
    p.add_argument("--proxy", required=True)
    p.add_argument("--hex", required=True)
    p.add_argument("--wait", type=float, default=3)
    p = sub.add_parser("slow")
    p.add_argument("--proxy", required=True)
    p.add_argument("--hex", required=True)
    p.add_argument("--interval", type=float, default=1)
    p.add_argument("--wait", type=float, default=20)
    p = sub.add_parser("idle")
    p.add_argument("--proxy", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--ready-file")
    p.add_argument("--wait", type=float, default=20)
    args = ap.parse_args()
    return {"raw": do_raw, "slow": do_slow, "idle": do_idle}[args.mode](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("badclient: FAIL: %r" % e)
        sys.exit(1)
