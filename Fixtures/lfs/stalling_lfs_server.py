#!/usr/bin/env python3
"""A Git LFS server whose downloads stall, for the tests that prove a slow LFS server holds no store lock.

    stalling_lfs_server.py --root DIR --stall SECONDS

POST <anything>/objects/batch answers every object with a download action on this server; GET /download/<oid>
first writes DIR/download.started, then waits SECONDS before it sends anything (and then a 500).
Listens on 127.0.0.1 with an ephemeral port and prints the port on stdout once listening.
Python 3 standard library only.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = ""
STALL = 0.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body, content_type="application/vnd.git-lfs+json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        port = self.server.server_address[1]
        objects = [{"oid": item["oid"], "size": item["size"], "authenticated": True,
                    "actions": {"download": {"href": "http://127.0.0.1:%d/download/%s" % (port, item["oid"])}}}
                   for item in request.get("objects", [])]
        self.reply(200, json.dumps({"transfer": "basic", "objects": objects}).encode())

    def do_GET(self):
        open(os.path.join(ROOT, "download.started"), "w").close()
        time.sleep(STALL)
        self.reply(500, b"stalled\n", "text/plain")


def main():
    global ROOT, STALL
    arguments = sys.argv[1:]
    ROOT = os.path.abspath(arguments[arguments.index("--root") + 1])
    STALL = float(arguments[arguments.index("--stall") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
