#!/usr/bin/python3
"""subprocess_keep.py: a proxied socket must survive subprocess.run.

Usage: subprocess_keep.py HOST PORT [RUNS]

CPython's subprocess starts its children with vfork() and, in the child,
closes every fd above 2 (close_range) before exec.  A vfork child shares
the parent's memory, so whatever the preload does in that child lands in
the parent's state.  This program:

  1. resolves HOST (a number, or a name the proxy resolves), connects,
     and makes one HTTP/1.1 request (keep-alive) on the socket;
  2. runs /bin/true RUNS times (default 5) with subprocess.run;
  3. checks getpeername() is still the address it connected to (for a
     stand-in address, getnameinfo() must still give HOST back);
  4. makes a second request on the same socket;
  5. opens a second connection and makes a request on it.

Each HTTP response body is printed as "body N TEXT"; the last line is
"done ok" when every check held.  A failed check prints "FAIL ..."; the
program goes on with the next step (so one run shows every effect) and
exits 1 at the end.  A step that cannot go on (no response) exits at once.
"""
import socket
import subprocess
import sys


failures = []


def fail(msg):
    print("FAIL", msg, flush=True)
    sys.exit(1)


def check(ok, msg):
    if not ok:
        print("FAIL", msg, flush=True)
        failures.append(msg)


def http_get(sock, host, tag):
    """One GET / on an open keep-alive socket; returns the body (text)."""
    req = ("GET / HTTP/1.1\r\nHost: %s\r\nX-Tag: %s\r\n\r\n" % (host, tag)).encode()
    sock.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            fail("%s: connection closed before the response headers" % tag)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if not head.startswith(b"HTTP/1.1 200") or length is None:
        fail("%s: bad response head %r" % (tag, head[:80]))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            fail("%s: connection closed inside the body" % tag)
        body += chunk
    return body[:length].decode().strip()


def connect(host, port):
    ai = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    family, stype, proto, _, addr = ai[0]
    s = socket.socket(family, stype, proto)
    s.settimeout(20)
    s.connect(addr)
    return s, addr


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    s, addr = connect(host, port)
    print("connected", addr[0], addr[1], flush=True)
    print("body 1", http_get(s, host, "first"), flush=True)
    for i in range(runs):
        r = subprocess.run(["/bin/true"], timeout=20)
        if r.returncode != 0:
            fail("subprocess %d exited %d" % (i, r.returncode))
    print("subprocesses", runs, flush=True)
    peer = s.getpeername()
    print("getpeername", peer[0], peer[1], flush=True)
    check(tuple(peer[:2]) == tuple(addr[:2]),
          "getpeername %s:%d, connected to %s:%d" % (peer[0], peer[1], addr[0], addr[1]))
    if host != addr[0]:
        # A name: its stand-in address must still map back to it.
        try:
            name, _ = socket.getnameinfo((addr[0], addr[1]), socket.NI_NAMEREQD)
        except socket.gaierror as e:
            name = "error: %s" % e
        print("getnameinfo", name, flush=True)
        check(name == host, "getnameinfo gave %r, not %r" % (name, host))
    print("body 2", http_get(s, host, "same-socket"), flush=True)
    s.close()
    s2, addr2 = connect(host, port)
    print("body 3", http_get(s2, host, "second-connection"), flush=True)
    s2.close()
    if failures:
        sys.exit(1)
    print("done ok", flush=True)


if __name__ == "__main__":
    main()
