#!/usr/bin/python3
"""leak_probe.py: the ways out of a process that a leak test tries, one by one.

Usage: leak_probe.py ACTION HOST PORT [ACTION HOST PORT]...

HOST is numeric (IPv4 or IPv6).  Actions:

  connect      connect() on a blocking TCP socket, then an HTTP/1.0 GET /
  fastopen     sendto(GET, MSG_FASTOPEN, (HOST, PORT)) on an unconnected
               blocking TCP socket: the connect and the request in one call
  fastopen-nb  the same on a non-blocking socket: sendto returns a byte
               count or fails with EINPROGRESS/EAGAIN; then poll for
               writable, check SO_ERROR, send what was not sent, read
  syscall      libc's syscall(SYS_connect, ...) through ctypes (x86_64
               only), then the GET on the same socket
  udp          sendto() of one datagram on an unconnected UDP socket

Each action prints lines starting with its name: "ACTION SENT N",
"ACTION BODY LINE" for each line of an HTTP body, or "ACTION ERRNO NAME"
when a call failed, then the next action runs.  Exit status 0 when every
action succeeded, 3 when one failed, 77 when an action cannot run on this
machine.  The non-blocking path has one 10 s deadline for all its waits; the
blocking ones are bounded by the caller's timeout, since a socket timeout
would make the socket non-blocking under the hood.
"""
import ctypes
import errno
import platform
import select
import socket
import struct
import sys
import time

REQUEST = b"GET / HTTP/1.0\r\nHost: target.leak.test\r\n\r\n"
WAIT = 10.0


class Skip(Exception):
    pass


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def errname(e):
    return errno.errorcode.get(e, str(e))


def out(action, text):
    print("%s %s" % (action, text), flush=True)


def show_body(action, data):
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        out(action, "NOT-HTTP %r" % data[:80])
        return False
    for line in body.decode("utf-8", "replace").splitlines():
        out(action, "BODY " + line)
    return True


def read_all_blocking(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def wait_fd(s, events, deadline):
    p = select.poll()
    p.register(s, events)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise OSError(errno.ETIMEDOUT, "poll: timed out")
        if p.poll(left * 1000):
            return


def do_connect(action, host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.connect((host, port))
    out(action, "CONNECTED")
    s.sendall(REQUEST)
    return show_body(action, read_all_blocking(s))


def do_fastopen(action, host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    n = s.sendto(REQUEST, socket.MSG_FASTOPEN, (host, port))
    out(action, "SENT %d" % n)
    if n < len(REQUEST):
        s.sendall(REQUEST[n:])
    return show_body(action, read_all_blocking(s))


def do_fastopen_nb(action, host, port):
    # One deadline for the whole exchange, so no loop below can spin on.
    deadline = time.monotonic() + WAIT
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        n = s.sendto(REQUEST, socket.MSG_FASTOPEN, (host, port))
        out(action, "SENT %d" % n)
    except BlockingIOError as e:
        # EINPROGRESS (no TFO cookie yet) or EAGAIN: nothing was queued,
        # the whole request is sent once the socket is writable.
        out(action, "PENDING %s" % errname(e.errno))
        n = 0
    wait_fd(s, select.POLLOUT, deadline)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, "SO_ERROR after poll")
    out(action, "WRITABLE")
    rest = REQUEST[n:]
    while rest:
        try:
            rest = rest[s.send(rest):]
        except BlockingIOError:
            wait_fd(s, select.POLLOUT, deadline)
    data = b""
    while True:
        wait_fd(s, select.POLLIN, deadline)
        try:
            chunk = s.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        data += chunk
    return show_body(action, data)


def sockaddr(host, port):
    if fam(host) == socket.AF_INET:
        return (struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) +
                socket.inet_pton(socket.AF_INET, host) + b"\0" * 8)
    return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) +
            socket.inet_pton(socket.AF_INET6, host) + struct.pack("=I", 0))


def do_syscall(action, host, port):
    # The system call number is the architecture's; only x86_64's is known.
    if platform.machine() != "x86_64":
        raise Skip("SYS_connect is 42 on x86_64 only")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    sa = sockaddr(host, port)
    rc = libc.syscall(ctypes.c_long(42), ctypes.c_long(s.fileno()),
                      ctypes.c_char_p(sa), ctypes.c_long(len(sa)))
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "syscall(SYS_connect)")
    out(action, "CONNECTED")
    s.sendall(REQUEST)
    return show_body(action, read_all_blocking(s))


def do_udp(action, host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    n = s.sendto(b"leak-probe datagram", (host, port))
    out(action, "SENT %d" % n)
    return True


ACTIONS = {
    "connect": do_connect,
    "fastopen": do_fastopen,
    "fastopen-nb": do_fastopen_nb,
    "syscall": do_syscall,
    "udp": do_udp,
}


def main(argv):
    if len(argv) == 0 or len(argv) % 3 != 0:
        print(__doc__, file=sys.stderr)
        return 64
    rc = 0
    for i in range(0, len(argv), 3):
        action, host, port = argv[i], argv[i + 1], int(argv[i + 2])
        if action not in ACTIONS:
            print("unknown action %s" % action, file=sys.stderr)
            return 64
        try:
            if not ACTIONS[action](action, host, port):
                rc = 3
        except Skip as e:
            out(action, "SKIP %s" % e)
            return 77
        except OSError as e:
            out(action, "ERRNO %s" % (errname(e.errno) if e.errno else type(e).__name__))
            print("%s: %s" % (action, e), file=sys.stderr)
            rc = 3
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
