#!/usr/bin/python3
"""engine_epoll_connect.py: the way an event loop connects, checked step by
step.

Usage: engine_epoll_connect.py HOST PORT

Makes an AF_INET socket, non-blocking, registers it in an epoll set with
EPOLLOUT|EPOLLIN|EPOLLET before connecting (as libuv and many servers do),
then connects to HOST:PORT (an echo server) and waits up to 10 s for epoll
to report EPOLLOUT.  Prints one line per fact, for the test to assert:

  connect_ex 0|EINPROGRESS|<errno name>
  inode_after_connect same|changed
                              (os.fstat(fd).st_ino before connect and after)
  epoll EPOLLOUT|none events=0x..
  so_error 0|<errno name>
  inode same|changed          (the same, once the event came)
  sockname AF_INET|AF_INET6|? ADDR
  so_domain AF_INET|AF_INET6|<number>
  peer HOST PORT
  echo ok|<why>

and "done" at the end.  Exits 1 when connect_ex fails outright, or (after
printing the socket's facts) when no EPOLLOUT came or SO_ERROR is set.
"""
import errno
import os
import select
import socket
import sys
import time


def ename(e):
    return "0" if e == 0 else errno.errorcode.get(e, str(e))


def family_name(f):
    return {socket.AF_INET: "AF_INET", socket.AF_INET6: "AF_INET6"}.get(f, str(f))


def sockname_family(addr):
    """The family of a getsockname() result as Python decoded it from the
    sockaddr the call returned: a 2-tuple with an IPv4 text is AF_INET."""
    if isinstance(addr, tuple) and len(addr) == 2:
        try:
            socket.inet_pton(socket.AF_INET, addr[0])
            return "AF_INET"
        except OSError:
            return "?"
    if isinstance(addr, tuple) and len(addr) == 4:
        return "AF_INET6"
    return "?"


def wait_for(ep, fd, want, secs):
    """Polls ep until fd reports one of `want`, at most `secs` seconds;
    returns every event bit seen for fd."""
    seen = 0
    deadline = time.monotonic() + secs
    while not seen & want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for f, ev in ep.poll(timeout=left):
            if f == fd:
                seen |= ev
    return seen


def echo(s, msg):
    """One round trip on the non-blocking socket, waits bounded by 10 s.
    A level-triggered poll set of its own keeps this independent of how
    the edge-triggered one was drained."""
    p = select.poll()
    p.register(s.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    view = memoryview(msg)
    while view:
        try:
            view = view[s.send(view):]
        except BlockingIOError:
            q = select.poll()
            q.register(s.fileno(), select.POLLOUT)
            q.poll(100)
        if time.monotonic() > deadline:
            return "send timed out"
    got = b""
    while len(got) < len(msg):
        left = deadline - time.monotonic()
        if left <= 0:
            return "no echo within 10 s (got %r)" % got
        p.poll(int(left * 1000) + 1)
        try:
            part = s.recv(65536)
        except BlockingIOError:
            continue
        if not part:
            return "closed after %r" % got
        got += part
    return "ok" if got == msg else "wrong echo %r" % got


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    fd = s.fileno()
    ino = os.fstat(fd).st_ino
    ep = select.epoll()
    ep.register(fd, select.EPOLLOUT | select.EPOLLIN | select.EPOLLET)

    rc = s.connect_ex((host, port))
    print("connect_ex %s" % ename(rc), flush=True)
    if rc not in (0, errno.EINPROGRESS):
        return 1
    print("inode_after_connect %s"
          % ("same" if os.fstat(fd).st_ino == ino else "changed"), flush=True)

    seen = wait_for(ep, fd, select.EPOLLOUT, 10)
    print("epoll %s events=%#x" % ("EPOLLOUT" if seen & select.EPOLLOUT else "none",
                                   seen), flush=True)

    # The facts below are printed even without the event, so a failure
    # shows what became of the socket.
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    print("so_error %s" % ename(err), flush=True)
    print("inode %s" % ("same" if os.fstat(fd).st_ino == ino else "changed"))
    try:
        name = s.getsockname()
        print("sockname %s %s" % (sockname_family(name), name[0]))
    except OSError as e:
        print("sockname error %s" % ename(e.errno))
    print("so_domain %s" % family_name(s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN)))
    try:
        peer = s.getpeername()
        print("peer %s %d" % (peer[0], peer[1]))
    except OSError as e:
        print("peer error %s" % ename(e.errno))
    if not seen & select.EPOLLOUT or err != 0:
        return 1
    print("echo %s" % echo(s, b"engine-epoll-%d\n" % os.getpid()))
    s.close()
    ep.close()
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
