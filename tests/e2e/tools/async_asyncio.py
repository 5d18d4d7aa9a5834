#!/usr/bin/python3
"""async_asyncio.py: N concurrent asyncio connections, after one alone, to
an echo server; each sends a line and reads it back.

Usage: async_asyncio.py HOST PORT N

Prints "one_ms T" (one connection alone, connect to echo), "all_ms T" (N
at once, from the first connect to the last echo), "ok K" (echoes that
came back right) and "done".  A connection that fails prints "error
TYPE: MESSAGE" and the exit status is 1.  Every step is bounded (20 s).
"""
import asyncio
import sys
import time


async def one(host, port, i):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port), 20)
    line = b"async %d\n" % i
    writer.write(line)
    await asyncio.wait_for(writer.drain(), 20)
    got = await asyncio.wait_for(reader.readline(), 20)
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (OSError, asyncio.TimeoutError):
        pass
    return got == line


async def main(host, port, n):
    t0 = time.monotonic()
    first = await one(host, port, 0)
    t1 = time.monotonic()
    print("one_ms %d" % ((t1 - t0) * 1000), flush=True)
    res = await asyncio.gather(*(one(host, port, i + 1) for i in range(n)),
                               return_exceptions=True)
    t2 = time.monotonic()
    print("all_ms %d" % ((t2 - t1) * 1000), flush=True)
    bad = 0
    for r in res:
        if isinstance(r, BaseException):
            print("error %s: %s" % (type(r).__name__, r), flush=True)
            bad += 1
    ok = sum(1 for r in res if r is True) + (1 if first else 0)
    print("ok %d" % ok)
    print("done")
    return 0 if bad == 0 and ok == n + 1 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
