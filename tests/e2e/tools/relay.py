"""relay.py: the byte pump shared by the test proxies (badproxy.py,
httpconnect_proxy.py)."""
import socket


def pump(src, dst):
    """Copies src to dst until src ends, then half-closes dst, so each
    direction of a tunnel ends on its own."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
