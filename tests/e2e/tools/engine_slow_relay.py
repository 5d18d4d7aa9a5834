#!/usr/bin/python3
"""engine_slow_relay.py: a TCP forwarder that holds every chunk for a while,
standing in for a far hop (netem is not available in the test kernel).

Usage: engine_slow_relay.py --port-file FILE --log FILE --target HOST:PORT
                            [--host 127.0.0.1] [--delay SECONDS]

Listens on port 0, writes the port to --port-file atomically, and for each
connection opens --target and copies bytes both ways, sleeping --delay
(default 0.3 s) before passing on each chunk it read, in both directions.
Appends "conn N" to --log when a connection arrives and "end N up=BYTES
down=BYTES" when both directions are done, so a test can prove that a
client's handshake crossed this relay.
"""
import argparse
import socket
import sys
import threading
import time

from relay import serve


def slow_pump(src, dst, delay, count):
    """Copies src to dst, each chunk delivered `delay` seconds after it was
    read; half-closes dst at the end so each direction ends on its own."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            time.sleep(delay)
            dst.sendall(data)
            count[0] += len(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--delay", type=float, default=0.3)
    args = ap.parse_args()
    thost, _, tport = args.target.rpartition(":")
    thost = thost.strip("[]")
    logf = open(args.log, "a", buffering=1)
    lock = threading.Lock()

    def note(line):
        with lock:
            logf.write(line + "\n")

    def handle(csock, n):
        note("conn %d" % n)
        up, down = [0], [0]
        try:
            tsock = socket.create_connection((thost, int(tport)), timeout=10)
            tsock.settimeout(None)
        except OSError as e:
            note("end %d error=%s" % (n, e))
            csock.close()
            return
        with csock, tsock:
            t = threading.Thread(target=slow_pump,
                                 args=(tsock, csock, args.delay, down),
                                 daemon=True)
            t.start()
            slow_pump(csock, tsock, args.delay, up)
            t.join()
        note("end %d up=%d down=%d" % (n, up[0], down[0]))

    serve(args.host, args.port_file, handle)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
