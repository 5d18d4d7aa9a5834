#!/usr/bin/python3
"""client_connect.py: a TCP client that reports errno names, for the e2e suites.

Usage: client_connect.py [--asyncio] [--get PATH | --echo TEXT] HOST PORT

Connects to HOST:PORT with a plain blocking socket (no timeout, so the
connect() call itself is what blocks) or, with --asyncio, through asyncio's
non-blocking connect.  On success prints "CONNECTED", then with --get the
body of an HTTP/1.0 GET for PATH, with --echo "ECHO OK" once TEXT came back
unchanged.  On failure prints "ERRNO NAME elapsed=SECONDS" and exits 3, so
tests can check the exact errno a program sees.
"""
import argparse
import asyncio
import errno
import socket
import sys
import time


def errno_exit(exc, t0):
    name = errno.errorcode.get(exc.errno, str(exc.errno)) \
        if exc.errno is not None else type(exc).__name__
    print("ERRNO %s elapsed=%.2f" % (name, time.monotonic() - t0))
    print("detail: %s" % exc, file=sys.stderr)
    return 3


def http_body(data):
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise SystemExit("not an HTTP response: %r" % data[:80])
    return body


def run_blocking(args):
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((args.host, args.port))
    print("CONNECTED")
    peer = s.getpeername()
    print("PEER %s %d" % (peer[0], peer[1]))
    if args.get:
        s.sendall(("GET %s HTTP/1.0\r\nHost: e2e\r\n\r\n" % args.get).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        sys.stdout.buffer.write(http_body(data))
    elif args.echo:
        want = args.echo.encode()
        s.sendall(want)
        got = b""
        while len(got) < len(want):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        print("ECHO OK" if got == want else "ECHO MISMATCH %r" % got)
    s.close()


async def run_async(args):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    print("CONNECTED")
    if args.get:
        writer.write(("GET %s HTTP/1.0\r\nHost: e2e\r\n\r\n"
                      % args.get).encode())
        await writer.drain()
        data = await reader.read()
        sys.stdout.buffer.write(http_body(data))
    elif args.echo:
        want = args.echo.encode()
        writer.write(want)
        await writer.drain()
        got = await reader.readexactly(len(want))
        print("ECHO OK" if got == want else "ECHO MISMATCH %r" % got)
    writer.close()
    await writer.wait_closed()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--asyncio", action="store_true")
    ap.add_argument("--get")
    ap.add_argument("--echo")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        if args.asyncio:
            asyncio.run(run_async(args))
        else:
            run_blocking(args)
    except OSError as exc:
        return errno_exit(exc, t0)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
