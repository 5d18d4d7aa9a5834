#!/usr/bin/python3
"""udp_echo.py: a UDP echo server for the e2e suites.

Usage: udp_echo.py --host 127.0.0.1|::1 --port-file FILE --log FILE

Binds port 0, writes the port (plus newline) to --port-file atomically,
then sends every datagram back to its sender unchanged and appends one line
per datagram to --log ("SRC_IP SRC_PORT LENGTH") so tests can see where
datagrams came from (for a relay: the relay's address, not the client's).
"""
import argparse
import os
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((args.host, 0))
    logf = open(args.log, "a", buffering=1)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        data, src = s.recvfrom(65535)
        logf.write("%s %d %d\n" % (src[0], src[1], len(data)))
        s.sendto(data, src)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
