#!/usr/bin/python3
"""udp_dns_answer.py: a UDP name server that answers every A question with
one fixed address, for `dig @HOST -p PORT NAME` through the chain.

Usage: udp_dns_answer.py --host ADDR --answer IPV4 --port-file F --log F

Binds port 0, writes the port to --port-file atomically, and appends one
line per query to --log: "SRC_IP SRC_PORT QNAME" (so a test sees that the
query came from the relay, not from the program).
"""
import argparse
import os
import socket
import struct


def question(msg):
    pos, labels = 12, []
    while msg[pos] != 0:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels), pos + 5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--answer", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.host, 0))
    logf = open(args.log, "a", buffering=1)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        msg, src = s.recvfrom(4096)
        try:
            name, end = question(msg)
        except IndexError:
            continue
        logf.write("%s %d %s\n" % (src[0], src[1], name))
        # Header: same id, QR|AA|RD|RA, one question, one answer; the
        # question as asked (no EDNS record), then A NAME -> answer.
        hdr = msg[:2] + struct.pack("!HHHHH", 0x8580, 1, 1, 0, 0)
        ans = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(args.answer)
        s.sendto(hdr + msg[12:end] + ans, src)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
