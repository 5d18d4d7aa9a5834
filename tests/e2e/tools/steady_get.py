#!/usr/bin/python3
"""steady_get.py: a well-behaved client that fetches one page through a
SOCKS5 proxy at a steady pace and says how often it got it.

  steady_get.py --proxy H:P --src IP --user U --pass P --target NAME:PORT
                --expect BODY [--path /] [--rate 20] [--duration 60]
                [--timeout 5]

Each fetch is a new connection from --src: greeting, RFC 1929 login,
CONNECT to the target by name (as curl --socks5-hostname does), an HTTP/1.1
GET with "Connection: close", and the whole response, which must be a 200
whose body is --expect plus a newline.  Fetches start --rate times a second
(one at a time: a late one starts the next at once, with no catch-up
burst) for --duration seconds.

Prints
  ok=N fail=N secs=S avg=R min5=R p50=S p99=S max=S
  windows=R,R,...        (pages a second in each whole 5-second window)
  fail t=S why           (the first 20 failures, if any)
where avg is pages a second over the run and min5 the lowest window.
"""
import argparse
import sys
import time

import socksraw as sr


def fetch(args, host, port, deadline):
    s = sr.connect(args.proxy, timeout=args.timeout, src=args.src)
    try:
        rep, _, _ = sr.handshake5(s, sr.SOCKS5_CONNECT, host, port,
                                  user=args.user, pw=args.password)
        if rep != 0:
            raise sr.ProtoError("reply %d" % rep)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                   (args.path, host)).encode())
        buf = b""
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
            raise sr.ProtoError("status %r" % head[:40])
        if body != (args.expect + "\n").encode():
            raise sr.ProtoError("body %r" % body[:40])
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--src", default=None)
    ap.add_argument("--user", required=True)
    ap.add_argument("--pass", dest="password", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    if not (0 < args.duration <= 600 and 0 < args.rate <= 1000):
        ap.error("--duration up to 600 s, --rate up to 1000")
    host, port = sr.split_hostport(args.target)
    gap = 1.0 / args.rate
    t0 = time.monotonic()
    oks, lat, fails = [], [], []
    nxt = t0
    while True:
        now = time.monotonic()
        if now - t0 >= args.duration:
            break
        if nxt > now:
            time.sleep(min(nxt - now, args.duration - (now - t0)))
            continue
        # Late: the next one starts now, not in a burst to catch up.
        nxt = max(nxt + gap, now)
        start = time.monotonic()
        try:
            fetch(args, host, port, start + args.timeout)
        except (OSError, sr.ProtoError) as e:
            fails.append((start - t0, "%s: %s" % (type(e).__name__, e)))
            continue
        end = time.monotonic()
        oks.append(end - t0)
        lat.append(end - start)
    secs = time.monotonic() - t0
    nwin = int(args.duration // 5)
    wins = [0] * nwin
    for t in oks:
        w = int(t // 5)
        if w < nwin:
            wins[w] += 1
    rates = [w / 5.0 for w in wins]
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0

    print("ok=%d fail=%d secs=%.1f avg=%.2f min5=%.2f p50=%.3f p99=%.3f max=%.3f" % (
        len(oks), len(fails), secs, len(oks) / args.duration,
        min(rates) if rates else 0.0, pct(0.5), pct(0.99), lat[-1] if lat else 0.0))
    print("windows=" + ",".join("%.1f" % r for r in rates))
    for t, why in fails[:20]:
        print("fail t=%.2f %s" % (t, why))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
