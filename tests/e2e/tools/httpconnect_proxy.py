#!/usr/bin/python3
"""httpconnect_proxy.py: a small HTTP CONNECT proxy for the e2e suites.

Usage: httpconnect_proxy.py --port-file FILE --log FILE [--host 127.0.0.1]
                            [--auth USER:PASS] [--status CODE]

Listens on port 0, writes the chosen port to --port-file atomically once it
accepts connections, and answers CONNECT requests by opening the target and
relaying bytes both ways.  With --auth, a request without the right
Proxy-Authorization: Basic header gets 407.  With --status, every CONNECT
is answered with that status and nothing is opened (to test how clients map
refusals).  Appends one line per request to --log:
"CONNECT TARGET user=USER|- result=ok|STATUS" so tests can prove that bytes
went through this proxy and to which target.
"""
import argparse
import base64
import os
import socket
import sys
import threading

from relay import serve, tunnel

REASONS = {200: "Connection established", 400: "Bad Request",
           403: "Forbidden", 405: "Method Not Allowed",
           407: "Proxy Authentication Required", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def read_head(sock):
    """Read up to the end of the request head; return (head, extra)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > 65536:
            return None, b""
    head, _, extra = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), extra


def split_target(target):
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = target.rpartition(":")
    return host, int(port)


class Proxy:
    def __init__(self, args):
        self.args = args
        self.logf = open(args.log, "a", buffering=1)
        self.lock = threading.Lock()

    def note(self, target, user, result):
        with self.lock:
            self.logf.write("CONNECT %s user=%s result=%s\n"
                            % (target, user or "-", result))

    def answer(self, sock, code, extra_headers=""):
        sock.sendall(("HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\n\r\n"
                      % (code, REASONS.get(code, "Status"),
                         extra_headers)).encode())

    def handle(self, csock):
        with csock:
            head, extra = read_head(csock)
            if head is None:
                return
            lines = head.split("\r\n")
            parts = lines[0].split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                self.answer(csock, 405)
                self.note(parts[1] if len(parts) > 1 else "?", None, 405)
                return
            target = parts[1]
            user = None
            auth_ok = self.args.auth is None
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() != "proxy-authorization":
                    continue
                scheme, _, cred = value.strip().partition(" ")
                if scheme.lower() != "basic":
                    continue
                try:
                    text = base64.b64decode(cred.strip()).decode()
                except ValueError:
                    continue
                user = text.partition(":")[0]
                if self.args.auth is not None and text == self.args.auth:
                    auth_ok = True
            if not auth_ok:
                self.answer(csock, 407,
                            'Proxy-Authenticate: Basic realm="e2e"\r\n')
                self.note(target, user, 407)
                return
            if self.args.status:
                self.answer(csock, self.args.status)
                self.note(target, user, self.args.status)
                return
            try:
                host, port = split_target(target)
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                tsock = socket.socket(fam, socket.SOCK_STREAM)
                tsock.settimeout(10)
                tsock.connect((host, port))
                tsock.settimeout(None)
            except (OSError, ValueError):
                self.answer(csock, 502)
                self.note(target, user, 502)
                return
            with tsock:
                self.note(target, user, "ok")
                csock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if extra:
                    tsock.sendall(extra)
                tunnel(csock, tsock)

    def serve(self):
        serve(self.args.host, self.args.port_file,
              lambda sock, _n: self.handle(sock))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--auth", help="USER:PASS required (Basic)")
    ap.add_argument("--status", type=int, default=0,
                    help="answer every CONNECT with this status")
    Proxy(ap.parse_args()).serve()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
