#!/usr/bin/python3
"""tcp_quiet.py: a TCP server that keeps its connections open and says
little, for the tests of how a proxy's sessions end.

Usage: tcp_quiet.py --port-file FILE --log FILE [--host 127.0.0.1|::1]
                    [--send-after-eof COUNT:GAP] [--shut-reset SECS]

Listens on port 0 and writes the port to --port-file atomically.  Each
connection is read and counted, and never closed by the server on its own:
a client's EOF is left unanswered, so the connection stays half-closed
until the server is stopped.  One line per event goes to --log, PORT being
the client's port:

    accept PORT          a connection came in
    eof PORT BYTES       the client's EOF, after BYTES bytes
    sent PORT BYTES      --send-after-eof finished
    reset PORT           --shut-reset reset the connection
    gone PORT ERROR      reading or writing failed (the client reset it)

--send-after-eof COUNT:GAP  once the client's EOF is in, send COUNT chunks
                            of 100 bytes, GAP seconds apart, then go quiet.
--shut-reset SECS           at once shut down the sending half (the client
                            sees EOF), and SECS later reset the connection
                            (SO_LINGER 0, then close).
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

held = []


def serve(conn, port, args, log):
    def note(line):
        log.write(line + "\n")

    note("accept %d" % port)
    if args.shut_reset is not None:
        conn.shutdown(socket.SHUT_WR)
        time.sleep(args.shut_reset)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        note("reset %d" % port)
        return
    total = 0
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
        note("eof %d %d" % (port, total))
        if args.send_after_eof:
            count, gap = args.send_after_eof
            for i in range(count):
                if i:
                    time.sleep(gap)
                conn.sendall(b"q" * 100)
            note("sent %d %d" % (port, count * 100))
    except OSError as e:
        note("gone %d %s" % (port, e.__class__.__name__))


def count_gap(text):
    count, _, gap = text.partition(":")
    return int(count), float(gap)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--send-after-eof", type=count_gap)
    ap.add_argument("--shut-reset", type=float)
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1)
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, 0))
    sock.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        conn, peer = sock.accept()
        # Kept referenced: a socket that is collected would close.
        held.append(conn)
        threading.Thread(target=serve, args=(conn, peer[1], args, log),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
