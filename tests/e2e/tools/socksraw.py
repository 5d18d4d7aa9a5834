"""socksraw.py: byte-level SOCKS4/4a/5 client pieces for the e2e tools.

Written from RFC 1928, RFC 1929 and the SOCKS4/4a memos so the tests can
send exactly the bytes they mean (including wrong ones) and read every
reply field, independently of the project's own codecs.
"""
import ipaddress
import socket
import struct
import threading
import time

SOCKS5_CONNECT, SOCKS5_BIND, SOCKS5_UDP = 1, 2, 3


class ProtoError(Exception):
    pass


def split_hostport(s):
    """'127.0.0.1:80', '[::1]:80' or 'name:80' -> (host, port)."""
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = s.rpartition(":")
    return host, int(port)


def fmt_hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(hostport, timeout=5.0, src=None):
    """A TCP connection to hostport, optionally from source address src."""
    host, port = split_hostport(hostport)
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def recv_exact(s, n):
    """Exactly n bytes, or ProtoError on EOF (the socket's timeout applies)."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ProtoError("eof after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def wait_eof(s, secs):
    """Read until EOF; return seconds taken, or None if still open after secs.
    A reset counts as EOF."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < secs:
        try:
            if not s.recv(4096):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def split_parts(payload, n):
    """payload cut into n pieces of (nearly) the same size, none empty."""
    n = max(1, min(n, len(payload)))
    step, extra = divmod(len(payload), n)
    parts, pos = [], 0
    for i in range(n):
        size = step + (1 if i < extra else 0)
        parts.append(payload[pos:pos + size])
        pos += size
    return parts


def send_spaced(s, parts, gap):
    """Each part in a write of its own, gap seconds apart (Nagle off, so
    every part leaves as a segment of its own)."""
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    for i, part in enumerate(parts):
        if i and gap > 0:
            time.sleep(gap)
        s.sendall(part)


def transfer_spaced(tx, rx, parts, gap, want, idle=5.0):
    """Write parts to tx gap seconds apart while reading rx; return what rx
    got: want bytes, or fewer when rx closed or stayed silent for idle
    seconds.  tx and rx may be the same socket (an echo)."""
    errs = []

    def sender():
        try:
            send_spaced(tx, parts, gap)
        except OSError as e:
            errs.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = bytearray()
    rx.settimeout(idle)
    while len(got) < want:
        try:
            chunk = rx.recv(min(65536, want - len(got)))
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        got += chunk
    t.join(idle + gap * len(parts))
    if errs and len(got) < want:
        raise errs[0]
    return bytes(got)


def compare_bytes(sent, got):
    """None when got == sent, else what differs, for a failure message."""
    if got == sent:
        return None
    n = min(len(sent), len(got))
    at = next((i for i in range(n) if sent[i] != got[i]), n)
    return "got %d of %d bytes, first difference at offset %d" % (
        len(got), len(sent), at)


def enc_addr5(host, port):
    """SOCKS5 ATYP + address + port."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode()
        return bytes([3, len(name)]) + name + struct.pack(">H", port)
    if ip.version == 4:
        return b"\x01" + ip.packed + struct.pack(">H", port)
    return b"\x04" + ip.packed + struct.pack(">H", port)


def dec_addr5(buf):
    """(host, port, used) from ATYP + address + port at the start of buf."""
    atyp = buf[0]
    if atyp == 1:
        return socket.inet_ntop(socket.AF_INET, buf[1:5]), \
            struct.unpack(">H", buf[5:7])[0], 7
    if atyp == 4:
        return socket.inet_ntop(socket.AF_INET6, buf[1:17]), \
            struct.unpack(">H", buf[17:19])[0], 19
    if atyp == 3:
        n = buf[1]
        return buf[2:2 + n].decode(errors="replace"), \
            struct.unpack(">H", buf[2 + n:4 + n])[0], 4 + n
    raise ProtoError("bad atyp %d" % atyp)


def greeting5(methods=(0,)):
    return bytes([5, len(methods)]) + bytes(methods)


def auth1929(user, pw):
    u, p = user.encode(), pw.encode()
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p


def request5(cmd, host, port):
    return bytes([5, cmd, 0]) + enc_addr5(host, port)


def read_method5(s):
    ver, method = recv_exact(s, 2)
    if ver != 5:
        raise ProtoError("method reply version %d" % ver)
    return method


def read_auth_status(s):
    ver, status = recv_exact(s, 2)
    return status


def read_reply5(s):
    """(rep, bound_host, bound_port), read in stages: header, then the tail
    whose size the address type announces."""
    head = recv_exact(s, 4)
    if head[0] != 5:
        raise ProtoError("reply version %d" % head[0])
    atyp = head[3]
    if atyp == 1:
        tail = recv_exact(s, 6)
    elif atyp == 4:
        tail = recv_exact(s, 18)
    elif atyp == 3:
        n = recv_exact(s, 1)
        tail = n + recv_exact(s, n[0] + 2)
    else:
        raise ProtoError("reply atyp %d" % atyp)
    host, port, _ = dec_addr5(bytes([atyp]) + tail)
    return head[1], host, port


def handshake5(s, cmd, host, port, user=None, pw=None):
    """Greeting, optional RFC 1929 auth and one request, each its own write.
    Returns the reply tuple; raises ProtoError when auth is refused."""
    s.sendall(greeting5((2,) if user is not None else (0,)))
    m = read_method5(s)
    if m == 0xFF:
        raise ProtoError("no acceptable method")
    if m == 2:
        s.sendall(auth1929(user or "", pw or ""))
        if read_auth_status(s) != 0:
            raise ProtoError("auth refused")
    s.sendall(request5(cmd, host, port))
    return read_reply5(s)


def request4(cmd, host, port, user="", socks4a=False):
    """A SOCKS4 request; SOCKS4a puts the name after the user id."""
    if socks4a:
        return struct.pack(">BBH", 4, cmd, port) + b"\0\0\0\x01" + \
            user.encode() + b"\0" + host.encode() + b"\0"
    return struct.pack(">BBH", 4, cmd, port) + \
        socket.inet_aton(host) + user.encode() + b"\0"


def read_reply4(s):
    """(code, ip, port) of an 8-byte SOCKS4 reply."""
    r = recv_exact(s, 8)
    if r[0] != 0:
        raise ProtoError("socks4 reply version %d" % r[0])
    return r[1], socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[2:4])[0]


def udp_header(host, port, frag=0):
    return b"\0\0" + bytes([frag]) + enc_addr5(host, port)


def parse_udp(data):
    """(frag, host, port, payload) of a SOCKS5 UDP datagram."""
    if len(data) < 4 or data[0] or data[1]:
        raise ProtoError("bad udp header")
    host, port, used = dec_addr5(data[3:])
    return data[2], host, port, data[3 + used:]
