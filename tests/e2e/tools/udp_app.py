#!/usr/bin/python3
"""udp_app.py: a UDP program for the socksify UDP suite, one behaviour per
mode, against an echo server (tools/udp_echo.py) at HOST PORT.

Usage: udp_app.py MODE HOST PORT [ARG]

Modes (each prints "MODE ok ..." on success, or "MODE ERRNO NAME" and
exits 3 when a call fails with an errno; every wait is bounded):
  burst N      sendto/recvfrom N datagrams, one at a time, each checked
  many N       N sockets open at once, each sends a datagram and gets its
               echo; all are closed at the end
  connected    connect, send/recv, write/read, writev/readv; getpeername
  recvmsg      sendto, then recvmsg with ancillary data (SO_TIMESTAMP)
  peek         MSG_PEEK shows the datagram, recv then takes it
  select       non-blocking socket, select() for each reply
  asyncio      asyncio DatagramProtocol
  sizes MAX    1 byte up to MAX bytes echoed; MAX+1 fails with EMSGSIZE
  name         HOST is a name: sendto its address (a stand-in under
               socksify), recvfrom; the reply must come from that address
  refused      one sendto: prints its errno (nothing is expected back)
  until-error READY_FILE  sendto/recvfrom in a loop; after 20 replies
               writes READY_FILE; stops at the first errno (at most 30 s)
  recover DIR  as until-error (DIR/ready), but after the errno waits for
               DIR/go (at most 20 s), then sends again on the same socket:
               "recover ok" when 3 replies come back
  close-wait DIR  3 datagrams, close the socket, write DIR/closed, wait
               for DIR/go (at most 20 s) before exiting
"""
import asyncio
import errno
import os
import select
import socket
import struct
import sys
import time

TIMEOUT = 5.0
# Not in every Python's socket module; Linux's value (asm-generic).
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def fail_errno(mode, e):
    print("%s ERRNO %s" % (mode, errno.errorcode.get(e.errno, str(e.errno))))
    sys.stdout.flush()
    sys.exit(3)


def udp(host):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    return s


def burst(host, port, n):
    s = udp(host)
    src = None
    for i in range(n):
        msg = b"burst-%d" % i
        s.sendto(msg, (host, port))
        data, src = s.recvfrom(2048)
        if data != msg:
            raise SystemExit("burst: reply %d is %r" % (i, data))
    print("burst ok %d source=%s:%d" % (n, src[0], src[1]))


def many(host, port, n):
    socks = []
    try:
        for i in range(n):
            s = udp(host)
            socks.append(s)
            msg = b"many-%d" % i
            s.sendto(msg, (host, port))
            data, _ = s.recvfrom(2048)
            if data != msg:
                raise SystemExit("many: reply on socket %d is %r" % (i, data))
    finally:
        for s in socks:
            s.close()
    print("many ok %d" % n)


def connected(host, port):
    s = udp(host)
    s.connect((host, port))
    peer = s.getpeername()
    s.send(b"one")
    a = s.recv(100)
    # The fd is non-blocking (Python's timeout): wait before each read.
    os.write(s.fileno(), b"two")
    select.select([s], [], [], TIMEOUT)
    b = os.read(s.fileno(), 100)
    os.writev(s.fileno(), [b"th", b"ree"])
    buf1, buf2 = bytearray(2), bytearray(10)
    select.select([s], [], [], TIMEOUT)
    n = os.readv(s.fileno(), [buf1, buf2])
    c = bytes(buf1 + buf2)[:n]
    if (a, b, c) != (b"one", b"two", b"three"):
        raise SystemExit("connected: got %r %r %r" % (a, b, c))
    print("connected ok peer=%s:%d" % (peer[0], peer[1]))


def recvmsg(host, port):
    s = udp(host)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    s.sendto(b"ancillary", (host, port))
    data, anc, flags, src = s.recvmsg(100, socket.CMSG_SPACE(16))
    kinds = [(lvl, typ) for lvl, typ, _ in anc]
    if data != b"ancillary" or (socket.SOL_SOCKET, SO_TIMESTAMP) not in kinds:
        raise SystemExit("recvmsg: got %r %r" % (data, anc))
    # A buffer too small: MSG_TRUNC in the flags, the first bytes kept.
    s.sendto(b"truncated!", (host, port))
    data, anc, flags, src = s.recvmsg(4, socket.CMSG_SPACE(16))
    if data != b"trun" or not flags & socket.MSG_TRUNC:
        raise SystemExit("recvmsg: short buffer gave %r flags=%#x" % (data, flags))
    print("recvmsg ok timestamp source=%s:%d" % (src[0], src[1]))


def peek(host, port):
    s = udp(host)
    s.sendto(b"peekaboo", (host, port))
    a, src = s.recvfrom(100, socket.MSG_PEEK)
    b, _ = s.recvfrom(100)
    # MSG_DONTWAIT on a blocking socket (no timeout: Python would poll
    # first): nothing is there, so EAGAIN at once.
    s.settimeout(None)
    try:
        s.recv(100, socket.MSG_DONTWAIT)
        raise SystemExit("peek: a second datagram was there")
    except BlockingIOError:
        pass
    s.settimeout(TIMEOUT)
    # MSG_TRUNC: the real length of a datagram longer than the buffer.
    s.sendto(b"0123456789", (host, port))
    select.select([s], [], [], TIMEOUT)
    n = len(s.recv(4, socket.MSG_PEEK))
    full = s.recv_into(bytearray(4), 4, socket.MSG_TRUNC)
    if a != b"peekaboo" or b != b"peekaboo" or n != 4 or full != 10:
        raise SystemExit("peek: got %r %r %d %d" % (a, b, n, full))
    print("peek ok source=%s:%d" % (src[0], src[1]))


def select_mode(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setblocking(False)
    for i in range(20):
        msg = b"select-%d" % i
        s.sendto(msg, (host, port))
        r, _, _ = select.select([s], [], [], TIMEOUT)
        if not r:
            raise SystemExit("select: no reply %d within %ss" % (i, TIMEOUT))
        data, src = s.recvfrom(100)
        if data != msg:
            raise SystemExit("select: got %r" % data)
    print("select ok 20 source=%s:%d" % (src[0], src[1]))


def asyncio_mode(host, port):
    class Proto(asyncio.DatagramProtocol):
        def __init__(self, done):
            self.done, self.got, self.transport = done, [], None

        def connection_made(self, transport):
            self.transport = transport
            for i in range(10):
                transport.sendto(b"aio-%d" % i)

        def datagram_received(self, data, addr):
            self.got.append(data)
            if len(self.got) == 10 and not self.done.done():
                self.done.set_result(addr)

        def error_received(self, exc):
            if not self.done.done():
                self.done.set_exception(exc)

    async def run():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        transport, proto = await loop.create_datagram_endpoint(
            lambda: Proto(done), remote_addr=(host, port), family=family(host))
        try:
            addr = await asyncio.wait_for(done, TIMEOUT)
        finally:
            transport.close()
        if sorted(proto.got) != sorted(b"aio-%d" % i for i in range(10)):
            raise SystemExit("asyncio: got %r" % proto.got)
        return addr

    addr = asyncio.run(run())
    print("asyncio ok 10 source=%s:%d" % (addr[0], addr[1]))


def sizes(host, port, top):
    s = udp(host)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for n in sorted({1, 2, 100, 1400, 1500, 9000, 32768, top - 1, top}):
        msg = bytes((i * 7 + n) & 0xFF for i in range(n))
        sent = s.sendto(msg, (host, port))
        data, _ = s.recvfrom(70000)
        if sent != n or data != msg:
            raise SystemExit("sizes: %d bytes: sent %d, got %d back" % (n, sent, len(data)))
    try:
        s.sendto(b"x" * (top + 1), (host, port))
    except OSError as e:
        if e.errno != errno.EMSGSIZE:
            raise
        print("sizes ok 1..%d, %d: EMSGSIZE" % (top, top + 1))
        return
    raise SystemExit("sizes: %d bytes were sent" % (top + 1))


def name(host, port):
    addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
    s = udp(addr[0])
    for i in range(3):
        s.sendto(b"by-name-%d" % i, addr)
        data, src = s.recvfrom(100)
        if data != b"by-name-%d" % i or src != addr:
            raise SystemExit("name: got %r from %r, sent to %r" % (data, src, addr))
    print("name ok address=%s source=%s:%d" % (addr[0], src[0], src[1]))


def refused(host, port):
    s = udp(host)
    try:
        s.sendto(b"must not leave", (host, port))
    except OSError as e:
        fail_errno("refused", e)
    print("refused sent")


def until_error(host, port, ready):
    s = udp(host)
    s.settimeout(1.0)
    n, deadline = 0, time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            s.sendto(b"tick-%d" % n, (host, port))
            try:
                s.recvfrom(100)
                n += 1
            except socket.timeout:
                pass
        except OSError as e:
            print("until-error %d replies" % n)
            fail_errno("until-error", e)
        if n == 20:
            with open(ready, "w") as f:
                f.write("ready\n")
            n += 1
        time.sleep(0.01)
    raise SystemExit("until-error: no error within 30 s (%d replies)" % n)


def wait_file(path, secs):
    deadline = time.monotonic() + secs
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("no %s within %d s" % (path, secs))
        time.sleep(0.05)


def recover(host, port, d):
    s = udp(host)
    s.settimeout(1.0)
    n, deadline = 0, time.monotonic() + 30
    while True:
        if time.monotonic() > deadline:
            raise SystemExit("recover: no error within 30 s")
        try:
            s.sendto(b"tick", (host, port))
            try:
                s.recvfrom(100)
                n += 1
            except socket.timeout:
                pass
        except OSError as e:
            print("recover ERRNO %s" % errno.errorcode.get(e.errno, str(e.errno)))
            sys.stdout.flush()
            break
        if n == 20:
            with open(os.path.join(d, "ready"), "w") as f:
                f.write("ready\n")
        time.sleep(0.01)
    wait_file(os.path.join(d, "go"), 20)
    s.settimeout(TIMEOUT)
    for i in range(3):
        s.sendto(b"again-%d" % i, (host, port))
        data, _ = s.recvfrom(100)
        if data != b"again-%d" % i:
            raise SystemExit("recover: got %r" % data)
    print("recover ok")


def close_wait(host, port, d):
    s = udp(host)
    for i in range(3):
        s.sendto(b"x", (host, port))
        s.recvfrom(100)
    s.close()
    with open(os.path.join(d, "closed"), "w") as f:
        f.write("closed\n")
    wait_file(os.path.join(d, "go"), 20)
    print("close-wait ok")


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    try:
        if mode == "burst":
            burst(host, port, int(arg))
        elif mode == "many":
            many(host, port, int(arg))
        elif mode == "connected":
            connected(host, port)
        elif mode == "recvmsg":
            recvmsg(host, port)
        elif mode == "peek":
            peek(host, port)
        elif mode == "select":
            select_mode(host, port)
        elif mode == "asyncio":
            asyncio_mode(host, port)
        elif mode == "sizes":
            sizes(host, port, int(arg))
        elif mode == "name":
            name(host, port)
        elif mode == "refused":
            refused(host, port)
        elif mode == "recover":
            recover(host, port, arg)
        elif mode == "close-wait":
            close_wait(host, port, arg)
        elif mode == "until-error":
            until_error(host, port, arg)
        else:
            raise SystemExit("unknown mode " + mode)
    except OSError as e:
        if e.errno is None:
            raise
        fail_errno(mode, e)


if __name__ == "__main__":
    main()
