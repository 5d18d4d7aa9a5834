#!/usr/bin/python3
"""tcp_echo.py: a TCP echo server for the e2e suites.

Usage: tcp_echo.py --host 127.0.0.1|::1 --port-file FILE --log FILE

Binds port 0, writes the port (plus newline) to --port-file atomically,
echoes every byte back on each connection (one thread per connection) and
appends "SRC_IP SRC_PORT BYTES" to --log when a connection ends.
"""
import argparse
import os
import socket
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, 0))
    ls.listen(128)
    logf = open(args.log, "a", buffering=1)
    lock = threading.Lock()

    def serve(c, src):
        n = 0
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)
                n += len(data)
        except OSError:
            pass
        finally:
            c.close()
            with lock:
                logf.write("%s %d %d\n" % (src[0], src[1], n))

    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        c, src = ls.accept()
        threading.Thread(target=serve, args=(c, src), daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
