#!/usr/bin/python3
"""dns_pyclient.py: fetch / from an HTTP server given by NAME, resolving it
the way a program would.

Usage: dns_pyclient.py MODE NAME PORT
  MODE create_connection   socket.create_connection((NAME, PORT))
       gai-unspec|gai-inet|gai-inet6
                           socket.getaddrinfo(NAME, PORT, FAMILY, SOCK_STREAM),
                           then a socket of the first result's family
                           connected to its address

Prints "gai FAMILY ADDRESS" per getaddrinfo result, "peer ADDRESS" (from
getpeername), then the response body.  Errors: "ERR <exception>", exit 3.
"""
import socket
import sys

FAMILIES = {
    "gai-unspec": socket.AF_UNSPEC,
    "gai-inet": socket.AF_INET,
    "gai-inet6": socket.AF_INET6,
}


def fam_name(f):
    return {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}.get(f, str(f))


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "create_connection":
        s = socket.create_connection((host, port), timeout=20)
    else:
        res = socket.getaddrinfo(host, port, FAMILIES[mode], socket.SOCK_STREAM)
        for r in res:
            print("gai %s %s" % (fam_name(r[0]), r[4][0]))
        af, st, pr, _, sa = res[0]
        s = socket.socket(af, st, pr)
        s.settimeout(20)
        s.connect(sa)
    print("peer %s" % s.getpeername()[0])
    s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode())
    data = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        data += part
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    print(head.split(b"\r\n")[0].decode())
    sys.stdout.write(body.decode())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("ERR %s" % e)
        sys.exit(3)
