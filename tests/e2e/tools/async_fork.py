#!/usr/bin/python3
"""async_fork.py: an asyncio connection in the parent, then one in a forked
child (which has no engine thread until it needs one), then one more in
the parent while the child runs.

Usage: async_fork.py HOST PORT

Prints "parent True", "child True", "parent2 True", "child exit 0"; every
step is bounded (10 s).
"""
import asyncio
import os
import sys


async def one(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    w.write(b"hi\n")
    await w.drain()
    got = await asyncio.wait_for(r.readline(), 10)
    w.close()
    return got == b"hi\n"


def say(*words):
    """One line in one write: parent and child share the pipe, and a
    print() may write a line in pieces that the other's line splits."""
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode())


host, port = sys.argv[1], int(sys.argv[2])
say("parent", asyncio.run(one(host, port)))
pid = os.fork()
if pid == 0:
    ok = asyncio.run(one(host, port))
    say("child", ok)
    os._exit(0 if ok else 1)
say("parent2", asyncio.run(one(host, port)))
_, st = os.waitpid(pid, 0)
say("child exit", os.waitstatus_to_exitcode(st))
