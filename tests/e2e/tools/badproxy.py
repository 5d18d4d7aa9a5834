#!/usr/bin/python3
"""badproxy.py: a hostile or broken proxy for the e2e error tests.

Usage: badproxy.py --mode MODE --port-file FILE --log FILE [--host H]
                   [--code N] [--delay SECS]

Modes:
  silent   accept, read, never answer (a handshake deadline must fire)
  garbage  answer the first message with bytes no proxy protocol allows,
           then keep the connection open
  close    accept and close at once
  lie-version  SOCKS5: a correct method reply, then a CONNECT reply with
           version 4 (SOCKS4: a reply whose first byte is 5)
  lie-atyp SOCKS5: a correct method reply, then a CONNECT reply with
           address type 9
  reply    SOCKS5: a correct method reply, then CONNECT reply code --code
           (SOCKS4: reply code --code, e.g. 91)
  slow     a correct SOCKS5 (no auth) CONNECT proxy that waits --delay
           seconds before each reply, then relays bytes both ways

Listens on port 0 and writes the port to --port-file atomically.  Appends
one line per connection to --log ("conn N mode=MODE first=HEX") and, where a
CONNECT request was read, "target N HOST:PORT", so a test can prove a client
reached it and what it asked for.  SOCKS5: "early N yes" when the request
was already there before the method choice went out (the client pipelined
its greeting and request), "early N no" when it was not.
"""
import argparse
import ipaddress
import os
import socket
import struct
import sys
import threading
import time

from relay import serve, tunnel

GARBAGE = b"GARBAGE! this is not a proxy reply\r\n\r\n" * 4


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def hold(sock):
    """Keep the connection open until the client goes away."""
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def read_socks5_request(sock):
    """Read a SOCKS5 request after the method exchange; return target."""
    ver, cmd, _, atyp = recv_exact(sock, 4)
    if atyp == 1:
        host = str(ipaddress.IPv4Address(recv_exact(sock, 4)))
    elif atyp == 4:
        host = str(ipaddress.IPv6Address(recv_exact(sock, 16)))
    elif atyp == 3:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode("latin-1")
    else:
        raise EOFError
    port = struct.unpack("!H", recv_exact(sock, 2))[0]
    return host, port


def read_socks4_request(sock, first):
    """Read the rest of a SOCKS4/4a request whose first byte was read."""
    rest = recv_exact(sock, 7)
    port = struct.unpack("!H", rest[1:3])[0]
    ip = rest[3:7]
    while recv_exact(sock, 1) != b"\0":     # USERID
        pass
    host = str(ipaddress.IPv4Address(ip))
    if ip[:3] == b"\0\0\0" and ip[3] != 0:  # 4a: the name follows
        name = b""
        while True:
            c = recv_exact(sock, 1)
            if c == b"\0":
                break
            name += c
        host = name.decode("latin-1")
    return host, port


class Bad:
    def __init__(self, args):
        self.args = args
        self.logf = open(args.log, "a", buffering=1)
        self.lock = threading.Lock()

    def note(self, text):
        with self.lock:
            self.logf.write(text + "\n")

    def handle(self, sock, n):
        mode = self.args.mode
        with sock:
            if mode == "close":
                self.note("conn %d mode=%s first=-" % (n, mode))
                return
            try:
                first = sock.recv(1)
            except OSError:
                first = b""
            self.note("conn %d mode=%s first=%s" % (n, mode, first.hex()))
            if not first:
                return
            try:
                if mode == "silent":
                    hold(sock)
                elif mode == "garbage":
                    sock.sendall(GARBAGE)
                    hold(sock)
                elif first == b"\x05":
                    self.socks5(sock, n)
                elif first == b"\x04":
                    self.socks4(sock, n, first)
                else:
                    hold(sock)
            except (EOFError, OSError):
                pass

    def socks5(self, sock, n):
        mode, delay = self.args.mode, self.args.delay
        nmethods = recv_exact(sock, 1)[0]
        recv_exact(sock, nmethods)
        try:
            early = sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            early = b""
        self.note("early %d %s" % (n, "yes" if early else "no"))
        time.sleep(delay)
        sock.sendall(b"\x05\x00")
        host, port = read_socks5_request(sock)
        self.note("target %d %s:%d" % (n, host, port))
        time.sleep(delay)
        bound = b"\x00\x01" + b"\0" * 6
        if mode == "lie-version":
            sock.sendall(b"\x04\x00" + bound)
        elif mode == "lie-atyp":
            sock.sendall(b"\x05\x00\x00\x09" + b"\xff" * 20)
        elif mode == "reply":
            sock.sendall(bytes([5, self.args.code]) + bound)
        elif mode == "slow":
            self.relay(sock, host, port, b"\x05\x00" + bound)
            return
        hold(sock)

    def socks4(self, sock, n, first):
        mode = self.args.mode
        host, port = read_socks4_request(sock, first)
        self.note("target %d %s:%d" % (n, host, port))
        time.sleep(self.args.delay)
        if mode == "lie-version" or mode == "lie-atyp":
            sock.sendall(b"\x05\x5a" + b"\0" * 6)
        elif mode == "reply":
            sock.sendall(bytes([0, self.args.code]) + b"\0" * 6)
        elif mode == "slow":
            self.relay(sock, host, port, b"\x00\x5a" + b"\0" * 6)
            return
        hold(sock)

    def relay(self, sock, host, port, ok_reply):
        try:
            tsock = socket.create_connection((host, port), timeout=10)
            tsock.settimeout(None)
        except OSError:
            sock.sendall(ok_reply[:1] + b"\x05" + ok_reply[2:])
            return
        with tsock:
            sock.sendall(ok_reply)
            tunnel(sock, tsock)

    def serve(self):
        serve(self.args.host, self.args.port_file, self.handle)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True,
                    choices=["silent", "garbage", "close", "lie-version",
                             "lie-atyp", "reply", "slow"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--code", type=int, default=1)
    ap.add_argument("--delay", type=float, default=0.0)
    Bad(ap.parse_args()).serve()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
