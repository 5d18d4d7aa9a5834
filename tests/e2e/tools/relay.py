"""relay.py: what the test proxies (badproxy.py, httpconnect_proxy.py)
share: a listener on port 0 with a thread per connection, and the tunnel."""
import os
import socket
import threading


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


def tunnel(a, b):
    """Relays a <-> b until both directions have ended."""
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join()


def serve(host, port_file, handle):
    """Listens on host, port 0, writes the port to port_file atomically,
    and runs handle(sock, n) on a thread for the n-th connection."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(fam, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, 0))
    lsock.listen(128)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(tmp, port_file)
    n = 0
    while True:
        sock, _ = lsock.accept()
        n += 1
        threading.Thread(target=handle, args=(sock, n), daemon=True).start()
