#!/usr/bin/python3
"""ftpd.py: a real FTP server (pyftpdlib) for the BIND tests.

Usage: ftpd.py --root DIR --port-file FILE --log FILE [--host 127.0.0.1]

Serves DIR read-only to user "e2e" (password "e2e-pw") and anonymous, on
port 0 (written to --port-file atomically).  Appends to --log one line per
event a test needs to see: "control FROM_IP" for each control connection,
"PORT ARGS" / "EPRT ARGS" as the client sent them (the address the server
will connect its data connection to), "PASV" / "EPSV" when a client asked
for passive mode, and "sent PATH" when a file went out.
"""
import argparse
import logging
import os
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    a = ap.parse_args()
    logf = open(a.log, "a", buffering=1)

    class Handler(FTPHandler):
        def on_connect(self):
            logf.write("control %s\n" % self.remote_ip)

        def ftp_PORT(self, line):
            logf.write("PORT %s\n" % line)
            return FTPHandler.ftp_PORT(self, line)

        def ftp_EPRT(self, line):
            logf.write("EPRT %s\n" % line)
            return FTPHandler.ftp_EPRT(self, line)

        def ftp_PASV(self, line):
            logf.write("PASV\n")
            return FTPHandler.ftp_PASV(self, line)

        def ftp_EPSV(self, line):
            logf.write("EPSV\n")
            return FTPHandler.ftp_EPSV(self, line)

        def on_file_sent(self, path):
            logf.write("sent %s\n" % os.path.relpath(path, a.root))

    auth = DummyAuthorizer()
    auth.add_user("e2e", "e2e-pw", a.root, perm="elr")
    auth.add_anonymous(a.root, perm="elr")
    Handler.authorizer = auth
    Handler.banner = "e2e ftpd ready"
    logging.basicConfig(level=logging.WARNING)
    server = FTPServer((a.host, 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.address[1])
    os.rename(tmp, a.port_file)
    server.serve_forever(timeout=1)


if __name__ == "__main__":
    sys.exit(main())
