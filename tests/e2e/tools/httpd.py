#!/usr/bin/python3
"""httpd.py: a tiny HTTP server for the e2e suites.

Usage: httpd.py --host 127.0.0.1|::1 --root DIR --port-file FILE --log FILE

Listens on port 0, writes the chosen port (plus newline) to --port-file
atomically once it accepts connections, serves files from --root for GET,
echoes the request body back for POST /echo, and appends one line per
request to --log ("METHOD PATH CLIENT_IP") so tests can count requests and
see which address each came from.
"""
import argparse
import http.server
import os
import socket
import socketserver
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    logf = open(args.log, "a", buffering=1)

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=args.root, **kw)

        def _note(self):
            logf.write("%s %s %s\n" % (self.command, self.path,
                                       self.client_address[0]))

        def do_GET(self):
            self._note()
            super().do_GET()

        def do_HEAD(self):
            self._note()
            super().do_HEAD()

        def do_POST(self):
            self._note()
            n = int(self.headers.get("Content-Length") or 0)
            body = b""
            while len(body) < n:
                chunk = self.rfile.read(n - len(body))
                if not chunk:
                    break
                body += chunk
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        # Room for a burst (hundreds of clients connecting at once): with
        # socketserver's default of 5, connections past the backlog wait
        # on TCP retransmissions for seconds.
        request_queue_size = 512
        address_family = socket.AF_INET6 if ":" in args.host else socket.AF_INET

    srv = Server((args.host, 0), Handler)
    port = srv.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
