#!/usr/bin/python3
"""tcp_echo.py: a TCP echo server for the e2e suites.

Usage: tcp_echo.py --port-file FILE --log FILE [--host 127.0.0.1|::1]

Listens on port 0 (backlog 1024, for the many-thread tests), writes the
port to --port-file atomically, sends every byte back to its sender, closes
when the sender does, and appends one line per connection to --log
("SRC_IP SRC_PORT BYTES") when it ends, so a test can count connections
and bytes.
"""
import argparse
import asyncio
import os
import socket
import sys


async def main_async(args):
    logf = open(args.log, "a", buffering=1)

    async def handle(reader, writer):
        peer = writer.get_extra_info("peername")
        total = 0
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                total += len(data)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            logf.write("%s %s %d\n" % (peer[0] if peer else "?",
                                        peer[1] if peer else "?", total))
            writer.close()

    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, 0))
    srv = await asyncio.start_server(handle, sock=sock, backlog=1024)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.rename(tmp, args.port_file)
    async with srv:
        await srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    asyncio.run(main_async(ap.parse_args()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
