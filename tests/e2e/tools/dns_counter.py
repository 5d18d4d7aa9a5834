#!/usr/bin/python3
"""dns_counter.py: a name server that answers nothing and counts everything.

Listens on UDP and TCP at HOST:PORT (default port 53), appends one line
"udp|tcp QNAME QTYPE" to --log for every query it receives, and answers
REFUSED so the asking resolver gives up at once.  Used as the only name
server of a client that must never ask one.
"""
import argparse
import os
import selectors
import socket
import struct


def parse_question(msg):
    """Returns (qname, qtype) of the first question, or ("?", 0)."""
    try:
        pos, labels = 12, []
        while msg[pos] != 0:
            n = msg[pos]
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype = struct.unpack("!H", msg[pos + 1:pos + 3])[0]
        return ".".join(labels) or ".", qtype
    except (IndexError, struct.error):
        return "?", 0


def refused(msg):
    if len(msg) < 12:
        return b""
    flags = struct.unpack("!H", msg[2:4])[0]
    # QR=1, keep opcode and RD, RCODE=5 (REFUSED).
    flags = 0x8000 | (flags & 0x7900) | 5
    return msg[:2] + struct.pack("!H", flags) + msg[4:6] + b"\0" * 6 + msg[12:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.bind((a.host, a.port))
    tcp = socket.socket(fam, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((a.host, a.port))
    tcp.listen(16)
    log = open(a.log, "a", buffering=1)
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, a.ready_file)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "tcp")
    while True:
        for key, _ in sel.select():
            if key.data == "udp":
                msg, peer = udp.recvfrom(4096)
                name, qtype = parse_question(msg)
                log.write("udp %s %d\n" % (name, qtype))
                udp.sendto(refused(msg), peer)
            else:
                conn, _ = tcp.accept()
                conn.settimeout(2)
                try:
                    hdr = conn.recv(2)
                    if len(hdr) == 2:
                        n = struct.unpack("!H", hdr)[0]
                        msg = b""
                        while len(msg) < n:
                            part = conn.recv(n - len(msg))
                            if not part:
                                break
                            msg += part
                        name, qtype = parse_question(msg)
                        log.write("tcp %s %d\n" % (name, qtype))
                        r = refused(msg)
                        conn.sendall(struct.pack("!H", len(r)) + r)
                except OSError:
                    pass
                finally:
                    conn.close()


if __name__ == "__main__":
    main()
