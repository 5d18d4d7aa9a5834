#!/usr/bin/python3
"""udp_hop_client.py: UDP through a SOCKS5 server, to names, for the
server_udp_hop suite.

  udp_hop_client.py pysocks --proxy H:P --names A[,B...] --port PORT
                            --count N [--pause-after K --pause SECS]
      PySocks (python3-socks) UDP: N datagrams, the i-th to name i mod the
      number of names, each waiting (2 s at most) for its echo before the
      next.  With --pause-after, waits SECS once after K datagrams.  Prints
      "sent N got M source=HOST:PORT" (the source of the last echo).
  udp_hop_client.py burst --proxy H:P [--src IP] --name NAME --port PORT
                          --count N [--wait SECS]
      One association from IP (default 127.0.0.1): N datagrams to NAME at
      once, then echoes are counted for SECS (default 5) or until all N
      came.  Prints "sent N got M".
  udp_hop_client.py flood --proxy H:P --src IP --name FMT --port PORT
                          --assocs A --count N [--hold SECS]
      A associations from IP; N datagrams, the i-th to the name FMT % i
      (every name different), spread over the associations, sent at once.
      Prints "ready", keeps the associations open for SECS (default 8),
      prints "done".
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import socksraw as sr  # noqa: E402


def split(hp):
    h, _, p = hp.rpartition(":")
    return h.strip("[]"), int(p)


def run_pysocks(a):
    import socks
    ph, pp = split(a.proxy)
    names = a.names.split(",")
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, ph, pp, rdns=True)
    s.settimeout(2)
    got, source = 0, "-"
    for i in range(a.count):
        if a.pause_after and i == a.pause_after:
            time.sleep(a.pause)
        payload = b"dgram %d" % i
        s.sendto(payload, (names[i % len(names)], a.port))
        try:
            # Stale echoes of datagrams that timed out are skipped.
            while True:
                data, src = s.recvfrom(65535)
                if data == payload:
                    break
            got += 1
            source = "%s:%d" % src
        except socket.timeout:
            pass
    s.close()
    print("sent %d got %d source=%s" % (a.count, got, source))


def associate(proxy, src):
    """(control connection, UDP socket) of a new association from src."""
    c = sr.connect(proxy, src=src)
    rep = sr.handshake5(c, sr.SOCKS5_UDP, "0.0.0.0", 0)
    if rep[0] != 0:
        raise sr.ProtoError("udp associate reply %d" % rep[0])
    relay = (split(proxy)[0], rep[2])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((src, 0))
    u.connect(relay)
    return c, u


def run_burst(a):
    c, u = associate(a.proxy, a.src)
    for i in range(a.count):
        u.send(sr.udp_header(a.name, a.port) + b"burst %d" % i)
    got = 0
    end = time.monotonic() + a.wait
    while got < a.count:
        left = end - time.monotonic()
        if left <= 0:
            break
        u.settimeout(left)
        try:
            u.recv(65535)
        except socket.timeout:
            break
        got += 1
    print("sent %d got %d" % (a.count, got))
    u.close()
    c.close()


def run_flood(a):
    pairs = [associate(a.proxy, a.src) for _ in range(a.assocs)]
    for i in range(a.count):
        _, u = pairs[i % len(pairs)]
        u.send(sr.udp_header(a.name % i, a.port) + b"flood")
    print("ready", flush=True)
    time.sleep(a.hold)
    for c, u in pairs:
        u.close()
        c.close()
    print("done", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["pysocks", "burst", "flood"])
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--src", default="127.0.0.1")
    ap.add_argument("--names")
    ap.add_argument("--name")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--pause-after", type=int, default=0)
    ap.add_argument("--pause", type=float, default=0)
    ap.add_argument("--wait", type=float, default=5)
    ap.add_argument("--assocs", type=int, default=1)
    ap.add_argument("--hold", type=float, default=8)
    a = ap.parse_args()
    {"pysocks": run_pysocks, "burst": run_burst, "flood": run_flood}[a.mode](a)


if __name__ == "__main__":
    main()
