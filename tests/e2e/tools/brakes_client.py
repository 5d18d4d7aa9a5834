#!/usr/bin/python3
"""brakes_client.py: a client that leans on a SOCKS5 server from one address
and counts what it gets, for the per-client limits suite.

  brakes_client.py auth --proxy H:P --src IP --user U --pass P --count N
                        [--parallel]
      N logins.  In turn (the default): each on a new connection, waiting
      for the answer.  With --parallel: N connections greet first, then all
      send their credentials at once.  Prints
        failed=K fail_min=S fail_max=S   (status 1, seconds after the
                                          credentials were sent)
        slow=K fast=K                    (failures answered after at least
                                          --slow SECS, default 0.5, or sooner)
        refused=K refused_max=S          (closed before the method reply)
        ok=K
        first_refused=I last_failed=J    (1-based; 0 when none)
  brakes_client.py open --proxy H:P --src IP --cmd connect|bind|udp
                        [--target H:P] --count N [--user U --pass P]
                        [--peer-first] [--stop-file F] [--hold SECS]
      Opens N sessions one after the other and keeps those granted.
      Prints "granted=G refused=R closed=C codes=LIST" (refused: a reply
      other than 0, its codes in LIST; closed: the server closed before a
      reply).  With --peer-first (bind): connects to the first granted
      BIND's address, prints "peer ok" once the second reply comes, then
      asks for two more BINDs and prints "after-peer granted=G refused=R".
      Then holds everything until F exists or SECS (default 30) pass, and
      prints "done".
  brakes_client.py delay-probe --proxy H:P --bad-src IP --good-src IP
                        --user U --pass P --target H:P --cycles K
      K good sessions (login, CONNECT to an echo target, one byte back and
      forth) from --good-src; then one wrong login from --bad-src and,
      while it waits for its answer, K good sessions again.  Prints
        baseline=S during=S pending=yes|no bad=S bad_status=N|eof
      pending says whether the wrong login was still unanswered when the
      good sessions of the second round were done.
"""
import argparse
import os
import select
import socket
import sys
import time

import socksraw as sr


def closed_error(e):
    return isinstance(e, (sr.ProtoError, ConnectionResetError,
                          BrokenPipeError, ConnectionAbortedError))


def greet(s, user):
    """Sends the greeting; the method chosen, or None if the server closed."""
    try:
        s.sendall(sr.greeting5((2,) if user is not None else (0,)))
        return sr.read_method5(s)
    except OSError as e:
        if closed_error(e):
            return None
        raise
    except sr.ProtoError:
        return None


def do_auth(args):
    results = []   # (kind, seconds, index)
    conns = []
    for i in range(args.count):
        s = sr.connect(args.proxy, timeout=10, src=args.src)
        t0 = time.monotonic()
        m = greet(s, args.user)
        if m is None:
            results.append(("refused", time.monotonic() - t0, i + 1))
            s.close()
            continue
        if m != 2:
            sys.exit("method %d chosen, wanted 2" % m)
        if args.parallel:
            conns.append((i + 1, s))
            continue
        results.append(login(s, args) + (i + 1,))
        s.close()
    if conns:
        # Every guess goes out before any answer is read.
        t0 = time.monotonic()
        for _, s in conns:
            s.sendall(sr.auth1929(args.user, args.password))
        # Each answer is timed as it comes, whatever the order.
        left = dict((s, i) for i, s in conns)
        while left:
            ready, _, _ = select.select(list(left), [], [], 10)
            if not ready:
                sys.exit("%d logins unanswered after 10 s" % len(left))
            for s in ready:
                kind, _ = read_status(s)
                results.append((kind, time.monotonic() - t0, left.pop(s)))
                s.close()
    report_auth(sorted(results, key=lambda r: r[2]), args.slow)
    return 0


def read_status(s):
    try:
        st = sr.read_auth_status(s)
    except (OSError, sr.ProtoError) as e:
        if isinstance(e, OSError) and not closed_error(e):
            raise
        return "closed", None
    return ("ok" if st == 0 else "failed"), st


def login(s, args):
    t0 = time.monotonic()
    s.sendall(sr.auth1929(args.user, args.password))
    kind, _ = read_status(s)
    return kind, time.monotonic() - t0


def report_auth(results, slow):
    def of(kind):
        return [r for r in results if r[0] == kind]

    f, r, o = of("failed"), of("refused"), of("ok")
    print("failed=%d fail_min=%.3f fail_max=%.3f" % (
        len(f), min((x[1] for x in f), default=0), max((x[1] for x in f), default=0)))
    print("refused=%d refused_max=%.3f" % (len(r), max((x[1] for x in r), default=0)))
    print("slow=%d fast=%d" % (sum(1 for x in f if x[1] >= slow),
                               sum(1 for x in f if x[1] < slow)))
    print("ok=%d" % len(o))
    print("closed=%d" % len(of("closed")))
    print("first_refused=%d last_failed=%d" % (
        min((x[2] for x in r), default=0), max((x[2] for x in f), default=0)))


def request(args, cmd, host, port):
    """One session: (kind, code, socket, bound) with kind granted, refused
    or closed; the socket stays open when granted."""
    s = sr.connect(args.proxy, timeout=10, src=args.src)
    try:
        m = greet(s, args.user)
        if m is None:
            s.close()
            return "closed", None, None, None
        if m == 2:
            s.sendall(sr.auth1929(args.user or "", args.password or ""))
            if sr.read_auth_status(s) != 0:
                s.close()
                return "closed", None, None, None
        s.sendall(sr.request5(cmd, host, port))
        rep, bh, bp = sr.read_reply5(s)
    except (OSError, sr.ProtoError) as e:
        if isinstance(e, OSError) and not closed_error(e):
            raise
        s.close()
        return "closed", None, None, None
    if rep != 0:
        s.close()
        return "refused", rep, None, None
    return "granted", 0, s, (bh, bp)


def do_open(args):
    cmd = {"connect": sr.SOCKS5_CONNECT, "bind": sr.SOCKS5_BIND,
           "udp": sr.SOCKS5_UDP}[args.cmd]
    host, port = sr.split_hostport(args.target)
    kept, codes, n = [], [], {"granted": 0, "refused": 0, "closed": 0}
    for _ in range(args.count):
        kind, code, s, bound = request(args, cmd, host, port)
        n[kind] += 1
        if kind == "refused":
            codes.append(str(code))
        if s is not None:
            kept.append((s, bound))
    print("granted=%d refused=%d closed=%d codes=%s" % (
        n["granted"], n["refused"], n["closed"], ",".join(codes) or "-"), flush=True)
    peers = []
    if args.peer_first and kept:
        s, (bh, bp) = kept[0]
        p = socket.create_connection((bh, bp), timeout=10)
        peers.append(p)
        rep, _, _ = sr.read_reply5(s)
        print("peer ok" if rep == 0 else "peer reply %d" % rep, flush=True)
        more = {"granted": 0, "refused": 0, "closed": 0}
        for _ in range(2):
            kind, _, s2, bound = request(args, cmd, host, port)
            more[kind] += 1
            if s2 is not None:
                kept.append((s2, bound))
        print("after-peer granted=%d refused=%d" % (more["granted"], more["refused"]),
              flush=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.hold:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        time.sleep(0.05)
    for s, _ in kept:
        s.close()
    for p in peers:
        p.close()
    print("done", flush=True)
    return 0


def good_cycles(args, k):
    """k good sessions in turn; the seconds they took."""
    host, port = sr.split_hostport(args.target)
    t0 = time.monotonic()
    for _ in range(k):
        s = sr.connect(args.proxy, timeout=10, src=args.good_src)
        rep, _, _ = sr.handshake5(s, sr.SOCKS5_CONNECT, host, port,
                                  user=args.user, pw=args.password)
        if rep != 0:
            sys.exit("good session refused: reply %d" % rep)
        s.sendall(b"x")
        if sr.recv_exact(s, 1) != b"x":
            sys.exit("echo differs")
        s.close()
    return time.monotonic() - t0


def do_delay_probe(args):
    baseline = good_cycles(args, args.cycles)
    bad = sr.connect(args.proxy, timeout=30, src=args.bad_src)
    if greet(bad, args.user) != 2:
        sys.exit("bad client: no username/password method")
    t0 = time.monotonic()
    bad.sendall(sr.auth1929(args.user, args.password + "-wrong"))
    during = good_cycles(args, args.cycles)
    ready, _, _ = select.select([bad], [], [], 0)
    pending = "no" if ready else "yes"
    try:
        st = str(sr.read_auth_status(bad))
    except (OSError, sr.ProtoError):
        st = "eof"
    print("baseline=%.3f during=%.3f pending=%s bad=%.3f bad_status=%s" % (
        baseline, during, pending, time.monotonic() - t0, st))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("auth")
    a.add_argument("--parallel", action="store_true")
    a.add_argument("--slow", type=float, default=0.5)
    o = sub.add_parser("open")
    o.add_argument("--cmd", required=True, choices=("connect", "bind", "udp"))
    o.add_argument("--target", default="0.0.0.0:0")
    o.add_argument("--peer-first", action="store_true")
    o.add_argument("--stop-file")
    o.add_argument("--hold", type=float, default=30)
    for p in (a, o):
        p.add_argument("--src")
        p.add_argument("--count", type=int, default=1)
    d = sub.add_parser("delay-probe")
    d.add_argument("--bad-src", required=True)
    d.add_argument("--good-src", required=True)
    d.add_argument("--target", required=True)
    d.add_argument("--cycles", type=int, default=20)
    for p in (a, o, d):
        p.add_argument("--proxy", required=True)
        p.add_argument("--user")
        p.add_argument("--pass", dest="password")
    args = ap.parse_args()
    if args.mode == "auth" and (args.user is None or args.password is None):
        ap.error("auth needs --user and --pass")
    if args.mode == "delay-probe" and (args.user is None or args.password is None):
        ap.error("delay-probe needs --user and --pass")
    return {"auth": do_auth, "open": do_open, "delay-probe": do_delay_probe}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
