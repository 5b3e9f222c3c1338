#!/usr/bin/env python3
"""server.py OUT PORTFILE [STATUS]: an HTTP server on 127.0.0.1 (a free port, written to PORTFILE once it
listens) that appends each POST's path, content type and body as one line to OUT and answers
STATUS (201; a lineage
endpoint, as Marquez's /api/v1/lineage). python3 -m http.server cannot take a POST."""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[1], "ab") as f:
            f.write(self.path.encode() + b" " + self.headers.get("Content-Type", "").encode() + b" " + body + b"\n")
        self.send_response(int(sys.argv[3]) if len(sys.argv) > 3 else 201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
