#!/usr/bin/python3
"""udprtt.py: bench/udprtt.c's measurements from Python, plain or through PySocks.

usage: udprtt.py rtt|rate [-n N] [-w WARMUP] [-s SIZE] [-W WINDOW] [-d SECS]
                 [--proxy HOST:PORT] HOST PORT

With --proxy the socket is PySocks' socks.socksocket(AF_INET, SOCK_DGRAM)
with a SOCKS5 proxy (UDP ASSOCIATE); without it, a plain socket, so that
the two show what the proxy costs and what Python itself costs.  Same
modes, timeouts and output line as udprtt.c; exit status 0 only if at
least one echo came back.
"""
import argparse
import socket
import struct
import sys
import time


def open_socket(proxy, timeout):
    if proxy:
        import socks
        host, port = proxy.rsplit(":", 1)
        s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
        s.set_proxy(socks.SOCKS5, host, int(port))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    return s


def recv_seq(s, size, to, bad):
    """One echo: its sequence number, or None on timeout."""
    try:
        data, src = s.recvfrom(65536)
    except socket.timeout:
        return None
    if len(data) != size or src != to:
        bad[0] += 1
    if len(data) < 8:
        return -1
    return struct.unpack_from("=Q", data)[0]


def run_rtt(s, to, size, n, warm):
    pad = b"u" * (size - 8)
    rtts, lost, bad = [], 0, [0]
    for i in range(-warm, n):
        want = i + warm
        t0 = time.monotonic()
        s.sendto(struct.pack("=Q", want) + pad, to)
        seq = recv_seq(s, size, to, bad)
        while seq is not None and seq != want and time.monotonic() - t0 < 1.0:
            seq = recv_seq(s, size, to, bad)
        if seq != want:
            lost += 1
            continue
        if i >= 0:
            rtts.append((time.monotonic() - t0) * 1e6)
    if rtts:
        rtts.sort()
        print("mode=rtt size=%d n=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f lost=%d bad=%d" % (
            size, n, rtts[len(rtts) // 2], rtts[int((len(rtts) - 1) * 0.99)],
            sum(rtts) / len(rtts), lost, bad[0]))
    else:
        print("mode=rtt size=%d n=%d p50_us=nan p99_us=nan mean_us=nan lost=%d bad=%d" % (
            size, n, lost, bad[0]))
    return 0 if rtts else 1


def run_rate(s, to, size, window, secs):
    pad = b"u" * (size - 8)
    tw = time.monotonic() + 0.2
    end = tw + secs
    nxt = base = 0
    got = counted = lost = late = stalls = inflight = 0
    bad = [0]
    while True:
        for _ in range(inflight, window):
            s.sendto(struct.pack("=Q", nxt) + pad, to)
            nxt += 1
        inflight = window
        stalled = False
        while not stalled:
            t = time.monotonic()
            if t >= end:
                print("mode=rate size=%d window=%d secs=%.2f rate=%.0f got=%d lost=%d "
                      "late=%d stalls=%d bad=%d" % (size, window, secs, counted / secs, got,
                                                    lost, late, stalls, bad[0]))
                return 0 if got else 1
            seq = recv_seq(s, size, to, bad)
            if seq is None:
                stalls += 1
                lost += inflight
                inflight = 0
                base = nxt
                stalled = True
            elif seq < base or seq >= nxt:
                late += 1
            else:
                got += 1
                if t >= tw:
                    counted += 1
                s.sendto(struct.pack("=Q", nxt) + pad, to)
                nxt += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("rtt", "rate"))
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("-w", type=int, default=100)
    ap.add_argument("-s", type=int, default=64)
    ap.add_argument("-W", type=int, default=16)
    ap.add_argument("-d", type=float, default=2.0)
    ap.add_argument("--proxy")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    a = ap.parse_args()
    if a.s < 8 or a.s > 65000 or a.W < 1 or not 0 < a.d <= 3600:
        ap.error("bad -s, -W or -d")
    to = (socket.gethostbyname(a.host), a.port)
    s = open_socket(a.proxy, 1.0 if a.mode == "rtt" else 0.2)
    try:
        if a.mode == "rtt":
            return run_rtt(s, to, a.s, a.n, a.w)
        return run_rate(s, to, a.s, a.W, a.d)
    except OSError as e:
        print("udprtt.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
