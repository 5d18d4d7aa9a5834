#!/usr/bin/python3
"""pysocks_client.py: PySocks (python3-socks) as a client of a SOCKS server.

  pysocks_client.py tcp --proxy H:P --target H:P [--socks4] [--rdns]
                        [--user U --pass P] [--path /]
                        [--echo N [--chunks K] [--gap SECS]]
      Connects through the proxy, sends an HTTP/1.0 GET and prints the body.
      With --echo N the target is an echo server instead: N random bytes go
      out as K writes (default 1) SECS apart (default 0.02), are read back
      while they are sent and compared byte for byte; prints
      "echo ok N in K writes" ("echo ok N" for one write).
  pysocks_client.py udp --proxy H:P --target H:P [--rdns] [--count N]
                        [--user U --pass P]
      Sends N datagrams through UDP ASSOCIATE and checks each echo; prints
      "udp ok N from HOST:PORT" (the source PySocks reports) and the local
      UDP port as "local=PORT".
"""
import argparse
import os
import socket
import sys

import socks

import socksraw as sr


def split(hp):
    if hp.startswith("["):
        h, _, p = hp[1:].partition("]")
        return h, int(p.lstrip(":"))
    h, _, p = hp.rpartition(":")
    return h, int(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["tcp", "udp"])
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--socks4", action="store_true")
    ap.add_argument("--rdns", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--pass", dest="password")
    ap.add_argument("--path", default="/")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--echo", type=int, default=0)
    ap.add_argument("--chunks", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.02)
    args = ap.parse_args()
    ph, pp = split(args.proxy)
    th, tp = split(args.target)
    kind = socks.SOCKS4 if args.socks4 else socks.SOCKS5

    if args.mode == "tcp":
        s = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
        s.set_proxy(kind, ph, pp, rdns=args.rdns, username=args.user,
                    password=args.password)
        s.settimeout(10)
        s.connect((th, tp))
        if args.echo:
            payload = os.urandom(args.echo)
            parts = sr.split_parts(payload, args.chunks)
            got = sr.transfer_spaced(s, s, parts, args.gap, len(payload))
            diff = sr.compare_bytes(payload, got)
            if diff:
                print("pysocks_client: FAIL: echo differs: %s (%d writes)"
                      % (diff, len(parts)))
                return 1
            if len(parts) > 1:
                print("echo ok %d in %d writes" % (len(got), len(parts)))
            else:
                print("echo ok %d" % len(got))
            s.close()
            return 0
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"
                   % (args.path, th)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
            print("pysocks_client: FAIL: %r" % head[:80])
            return 1
        sys.stdout.write(body.decode())
        return 0

    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(kind, ph, pp, rdns=args.rdns, username=args.user,
                password=args.password)
    s.settimeout(5)
    src = None
    for i in range(args.count):
        msg = b"pysocks-%d-" % i + os.urandom(8).hex().encode()
        s.sendto(msg, (th, tp))
        data, src = s.recvfrom(65535)
        if data != msg:
            print("pysocks_client: FAIL: echo %r != %r" % (data, msg))
            return 1
    print("udp ok %d from %s:%d" % (args.count, src[0], src[1]))
    print("local=%d" % s.getsockname()[1])
    s.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, socks.ProxyError) as e:
        print("pysocks_client: FAIL: %r" % e)
        sys.exit(1)
