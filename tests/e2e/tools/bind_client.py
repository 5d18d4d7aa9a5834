#!/usr/bin/python3
"""bind_client.py: drive a SOCKS BIND from both ends, byte by byte.

Usage: bind_client.py --proxy H:P [--proto socks5|socks4] [--expect IP]
                      [--expect-port P] [--peer-src IP] [--peer-port P]
                      [--user U --pass P] [--wrong-peer]

Asks the proxy for BIND naming --expect (default 127.0.0.1) and
--expect-port (default 0: any port) as the peer, reads the first reply (the
announced address), connects a peer socket from --peer-src (default
127.0.0.1) and --peer-port (default 0: any) to it, reads the second reply (for SOCKS5 it
must name the peer's address and port), then sends data both ways and
checks it arrived intact.  Exit 0 and "bind ok" on success.

With --wrong-peer the peer is expected to be refused: it writes a marker,
and the tool succeeds ("not relayed: ...") when no success reply reaches
the client and the marker never does either within a few seconds.
"""
import argparse
import os
import socket
import sys
import time

import socksraw as sr


def fail(msg):
    print("bind_client: FAIL: " + msg)
    sys.exit(1)


def request_bind(s, args):
    exp, eport = args.expect, args.expect_port
    if args.proto == "socks4":
        s.sendall(sr.request4(2, exp, eport, user=args.user or ""))
        code, ip, port = sr.read_reply4(s)
        return code == 90, ip, port, code
    rep, host, port = sr.handshake5(s, sr.SOCKS5_BIND, exp, eport,
                                    args.user, args.password)
    return rep == 0, host, port, rep


def second_reply(s, args):
    if args.proto == "socks4":
        code, ip, port = sr.read_reply4(s)
        return code == 90, ip, port, code
    rep, host, port = sr.read_reply5(s)
    return rep == 0, host, port, rep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--proto", default="socks5", choices=["socks5", "socks4"])
    ap.add_argument("--expect", default="127.0.0.1")
    ap.add_argument("--expect-port", type=int, default=0)
    ap.add_argument("--peer-src", default="127.0.0.1")
    ap.add_argument("--peer-port", type=int, default=0)
    ap.add_argument("--user")
    ap.add_argument("--pass", dest="password")
    ap.add_argument("--wrong-peer", action="store_true")
    args = ap.parse_args()
    phost, _ = sr.split_hostport(args.proxy)

    s = sr.connect(args.proxy)
    ok, bhost, bport, code = request_bind(s, args)
    if not ok:
        fail("first reply code %d" % code)
    if bhost in ("0.0.0.0", "::"):
        bhost = phost
    print("first reply: bound %s" % sr.fmt_hostport(bhost, bport))

    peer = socket.socket(sr.family_of(bhost), socket.SOCK_STREAM)
    peer.settimeout(5)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    peer.bind((args.peer_src, args.peer_port))
    peer.connect((bhost, bport))
    me = peer.getsockname()

    if args.wrong_peer:
        peer.sendall(b"intruder-marker")
        s.settimeout(3)
        try:
            got = s.recv(4096)
        except socket.timeout:
            got = None
        except OSError as e:
            got = b""
            print("client socket: %s" % e)
        if got and ((args.proto == "socks5" and len(got) >= 2 and got[1] == 0)
                    or (args.proto == "socks4" and len(got) >= 2 and got[1] == 90)):
            fail("second reply was a success for a peer from %s" % me[0])
        if got and b"intruder-marker" in got:
            fail("the wrong peer's data reached the client")
        what = "no reply" if got is None else \
            ("client closed" if got == b"" else "failure reply %r" % got[:4])
        print("not relayed: %s" % what)
        return 0

    ok, rhost, rport, code = second_reply(s, args)
    if not ok:
        fail("second reply code %d" % code)
    print("second reply: peer %s" % sr.fmt_hostport(rhost, rport))
    if args.proto == "socks5" and (rhost != me[0] or rport != me[1]):
        fail("second reply names %s, the peer is %s"
             % (sr.fmt_hostport(rhost, rport), sr.fmt_hostport(me[0], me[1])))

    # Both directions, big enough to need several relay rounds.
    up = os.urandom(200000)
    down = os.urandom(150000)
    s.sendall(up)
    got = sr.recv_exact(peer, len(up))
    if got != up:
        fail("client->peer data differs")
    peer.sendall(down)
    got = sr.recv_exact(s, len(down))
    if got != down:
        fail("peer->client data differs")
    s.close()
    # The relay must pass the close on to the peer.
    if sr.wait_eof(peer, 5) is None:
        fail("peer did not see the client's close")
    print("bind ok: %d bytes up, %d bytes down" % (len(up), len(down)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (sr.ProtoError, OSError) as e:
        fail(repr(e))
