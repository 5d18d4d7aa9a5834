#!/usr/bin/python3
"""dns_multi_echo.py: many loopback addresses, one port, each connection
told which address it reached.

Usage: dns_multi_echo.py --count N --port-file FILE --log FILE

Listens on 127.1.(i >> 8).(i & 255) for i = 1..N, all on the same port
(the kernel picks it for the first address), writes the port to
--port-file atomically, and on every connection first sends the local
address it arrived at ("at ADDR\\n"), then echoes every byte back.  Appends
"ADDR BYTES" to --log when a connection ends.  So a client that reached a
name through a proxy can tell whether the proxy connected it to that
name's address.
"""
import argparse
import os
import resource
import selectors
import socket
import threading


def addr_of(i):
    return "127.1.%d.%d" % (i >> 8, i & 255)


def serve(conn, log, lock):
    local = conn.getsockname()[0]
    n = 0
    try:
        conn.sendall(("at %s\n" % local).encode())
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
            n += len(data)
    except OSError:
        pass
    finally:
        conn.close()
        with lock:
            log.write("%s %d\n" % (local, n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    sel = selectors.DefaultSelector()
    port = 0
    for i in range(1, a.count + 1):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr_of(i), port))
        port = ls.getsockname()[1]
        ls.listen(64)
        sel.register(ls, selectors.EVENT_READ)
    log = open(a.log, "a", buffering=1)
    lock = threading.Lock()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn, log, lock),
                             daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
