#!/usr/bin/python3
"""socks_client.py: a raw SOCKS client for probing a server from the tests.

  socks_client.py connect --proxy H:P --target H:P [--proto socks5|socks4|socks4a]
        [--user U --pass P] [--echo N | --http PATH] [--pipeline] [--split SECS]
        [--hold SECS] [--src IP] [--chunks K [--gap SECS]]
  socks_client.py udp --proxy H:P --target H:P [--count N] [--user U --pass P]
        [--assoc H:P] [--declare] [--frag N] [--from IP] [--expect-drop]
  socks_client.py udp-pin --proxy H:P --target H:P
  socks_client.py udp-close --proxy H:P --target H:P

connect prints "reply=CODE" and, on success, checks the stream: --echo N
sends N random bytes to an echo target and expects them back, byte for
byte; with --chunks K they go as K writes --gap SECS apart (default 0.02),
read back while they are sent, so a relay has to carry many separate
chunks each way ("echo ok N in K writes").  --http PATH sends a GET and
prints the body.  --pipeline sends greeting, auth, request
(and the payload) in one write; --split sends every message one byte per
write, SECS apart.  Exit 0 on success, 3 when the reply is a refusal,
1 on any other failure.

udp runs a UDP ASSOCIATE and sends --count datagrams to an echo target;
each reply must come back with FRAG 0, the target as its source and the
same payload.  With --expect-drop the datagrams (made wrong with --frag or
--from) must not come back, and a correct one sent afterwards must.
udp-pin checks that a 0.0.0.0:0 association pins to the first sender's
port; udp-close that the relay stops when the TCP control closes.
"""
import argparse
import os
import socket
import sys
import time

import socksraw as sr


def fail(msg, code=1):
    print("socks_client: FAIL: " + msg)
    sys.exit(code)


def send_split(s, data, delay):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(delay)


def do_connect(args):
    host, port = sr.split_hostport(args.target)
    s = sr.connect(args.proxy, src=args.src)
    payload = b""
    parts = []
    if args.echo:
        payload = os.urandom(args.echo)
        parts = sr.split_parts(payload, args.chunks)
    elif args.http:
        payload = ("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"
                   % (args.http, sr.fmt_hostport(host, port))).encode()

    def write(data):
        if args.split is not None:
            send_split(s, data, args.split)
        else:
            s.sendall(data)

    if args.proto == "socks5":
        methods = (2,) if args.user is not None else (0,)
        msgs = [sr.greeting5(methods)]
        if args.user is not None:
            msgs.append(sr.auth1929(args.user, args.password or ""))
        msgs.append(sr.request5(1, host, port))
        if args.pipeline:
            write(b"".join(msgs) + (parts[0] if parts else payload))
            m = sr.read_method5(s)
            if args.user is not None and m == 2:
                if sr.read_auth_status(s) != 0:
                    print("reply=auth-refused")
                    return 3
            elif m != 0:
                print("reply=method-%d" % m)
                return 3
        else:
            write(msgs[0])
            m = sr.read_method5(s)
            if m == 0xFF:
                print("reply=no-method")
                return 3
            if m == 2:
                write(msgs[1])
                if sr.read_auth_status(s) != 0:
                    print("reply=auth-refused")
                    return 3
            write(msgs[-1])
        rep, bhost, bport = sr.read_reply5(s)
        print("reply=%d bound=%s" % (rep, sr.fmt_hostport(bhost, bport)))
        if rep != 0:
            return 3
    else:
        req = sr.request4(1, host, port, user=args.user or "",
                          socks4a=(args.proto == "socks4a"))
        write(req + ((parts[0] if parts else payload) if args.pipeline
                     else b""))
        code, _, _ = sr.read_reply4(s)
        print("reply=%d" % code)
        if code != 90:
            return 3
    if args.echo:
        # With --pipeline the first part went with the handshake.
        rest = parts[1:] if args.pipeline else parts
        got = sr.transfer_spaced(s, s, rest, args.gap, len(payload))
        diff = sr.compare_bytes(payload, got)
        if diff:
            fail("echo differs: %s (%d writes)" % (diff, len(parts)))
        if len(parts) > 1:
            print("echo ok %d in %d writes" % (len(got), len(parts)))
        else:
            print("echo ok %d" % len(got))
    elif args.http:
        if not args.pipeline:
            s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        print(head.split(b"\r\n")[0].decode(errors="replace"))
        sys.stdout.write(body.decode(errors="replace"))
    if args.hold:
        sys.stdout.flush()
        time.sleep(args.hold)
    s.close()
    return 0


def udp_assoc(args, assoc=None):
    """Open the TCP control and run UDP ASSOCIATE.  Returns (control, relay
    address tuple, family)."""
    ctl = sr.connect(args.proxy)
    ahost, aport = sr.split_hostport(assoc or args.assoc)
    rep, rhost, rport = sr.handshake5(ctl, sr.SOCKS5_UDP, ahost, aport,
                                      args.user, args.password)
    if rep != 0:
        print("reply=%d" % rep)
        sys.exit(3)
    if rhost in ("0.0.0.0", "::"):
        rhost = sr.split_hostport(args.proxy)[0]
    print("reply=0 relay=%s" % sr.fmt_hostport(rhost, rport))
    return ctl, (rhost, rport)


def udp_socket(relay, src):
    u = socket.socket(sr.family_of(relay[0]), socket.SOCK_DGRAM)
    u.bind((src, 0))
    u.settimeout(2)
    return u


def udp_roundtrip(u, relay, thost, tport, frag=0, expect=True):
    """Send one datagram through the relay; check (or refute) its echo."""
    payload = os.urandom(16) + b"socksify-udp"
    u.sendto(sr.udp_header(thost, tport, frag) + payload, relay)
    u.settimeout(2 if expect else 1.5)
    try:
        data, src = u.recvfrom(65535)
    except socket.timeout:
        if expect:
            fail("no reply through the relay")
        return None
    except ConnectionRefusedError:
        if expect:
            fail("relay port refused")
        return None
    if not expect:
        fail("a datagram that should have been dropped came back")
    if src[1] != relay[1]:
        fail("reply from %s, not the relay" % (src,))
    f, h, p, body = sr.parse_udp(data)
    if f != 0 or body != payload:
        fail("bad echo: frag=%d len=%d" % (f, len(body)))
    return h, p


def do_udp(args):
    thost, tport = sr.split_hostport(args.target)
    if args.declare:
        # Bind first, then tell the relay exactly where we send from.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        ctl, relay = udp_assoc(args, sr.fmt_hostport(*probe.getsockname()))
        u = probe
        u.settimeout(2)
    else:
        ctl, relay = udp_assoc(args)
        src = ctl.getsockname()[0]
        u = udp_socket(relay, src)
    if args.expect_drop:
        bad = udp_socket(relay, args.src_ip) if args.src_ip else u
        for _ in range(args.count):
            udp_roundtrip(bad, relay, thost, tport, args.frag, expect=False)
        print("dropped ok %d" % args.count)
        h, p = udp_roundtrip(u, relay, thost, tport)
        print("then good datagram ok from %s" % sr.fmt_hostport(h, p))
        return 0
    for _ in range(args.count):
        h, p = udp_roundtrip(u, relay, thost, tport)
    print("udp ok %d source=%s" % (args.count, sr.fmt_hostport(h, p)))
    ctl.close()
    return 0


def do_udp_pin(args):
    thost, tport = sr.split_hostport(args.target)
    ctl, relay = udp_assoc(args, "0.0.0.0:0")
    src = ctl.getsockname()[0]
    a = udp_socket(relay, src)
    b = udp_socket(relay, src)
    udp_roundtrip(a, relay, thost, tport)
    udp_roundtrip(b, relay, thost, tport, expect=False)
    udp_roundtrip(a, relay, thost, tport)
    print("pin ok")
    return 0


def do_udp_close(args):
    thost, tport = sr.split_hostport(args.target)
    ctl, relay = udp_assoc(args)
    u = udp_socket(relay, ctl.getsockname()[0])
    udp_roundtrip(u, relay, thost, tport)
    ctl.close()
    time.sleep(1)
    udp_roundtrip(u, relay, thost, tport, expect=False)
    print("closed ok")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("connect", "udp", "udp-pin", "udp-close"):
        p = sub.add_parser(name)
        p.add_argument("--proxy", required=True)
        p.add_argument("--target", required=True)
        p.add_argument("--user")
        p.add_argument("--pass", dest="password")
        if name == "connect":
            p.add_argument("--proto", default="socks5",
                           choices=["socks5", "socks4", "socks4a"])
            p.add_argument("--echo", type=int, default=0)
            p.add_argument("--http")
            p.add_argument("--pipeline", action="store_true")
            p.add_argument("--split", type=float)
            p.add_argument("--hold", type=float, default=0)
            p.add_argument("--src")
            p.add_argument("--chunks", type=int, default=1)
            p.add_argument("--gap", type=float, default=0.02)
        if name == "udp":
            p.add_argument("--count", type=int, default=3)
            p.add_argument("--assoc", default="0.0.0.0:0")
            p.add_argument("--declare", action="store_true")
            p.add_argument("--frag", type=int, default=0)
            p.add_argument("--from", dest="src_ip")
            p.add_argument("--expect-drop", action="store_true")
        else:
            p.set_defaults(assoc="0.0.0.0:0")
    args = ap.parse_args()
    return {"connect": do_connect, "udp": do_udp, "udp-pin": do_udp_pin,
            "udp-close": do_udp_close}[args.mode](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (sr.ProtoError, OSError) as e:
        fail(repr(e))
