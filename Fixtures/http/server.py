#!/usr/bin/env python3
"""Loopback HTTP server for the HTTP client tests.

Listens on 127.0.0.1 with an ephemeral port and prints the port on stdout once listening.
Python 3 standard library only. Routes:

  /echo                      JSON of the request: method, path, headers, body
  /status?code=N             answers N with a short body
  /flaky?key=K&fail=N&code=C&retry_after=S
                             the first N requests with key K answer C (with Retry-After: S when given),
                             later ones 200 "ok"
  /redirect?to=URL&code=N    N (302 when not given) to URL
  /to-port-P/REST?QUERY      302 to http://127.0.0.1:P/REST?QUERY (a git remote that moved to another port)
  /to-localhost-P/REST?QUERY 302 to http://localhost:P/REST?QUERY
  /download?size=N&mode=M&key=K
                             N bytes of a fixed pattern; honours "Range: bytes=S-" with a 206.
                             mode=drop: the first request with key K sends half the body and closes.
                             mode=ignore-range: like drop, and Range is ignored (always 200).
                             mode=stall: the first request with key K sends half the body and waits.
                             mode=no-length: no Content-Length, the body ends when the connection closes.
  /log?key=K                 JSON list of the Range headers received by /download with key K
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
HITS = {}
RANGES = {}
PATTERNS = {}


def pattern(size):
    """The bytes /download serves: a fixed function of the offset, mirrored by the tests."""
    with LOCK:
        if size not in PATTERNS:
            PATTERNS[size] = bytes(((i * 2654435761) >> 13) & 0xFF for i in range(size))
        return PATTERNS[size]


def hit(key):
    with LOCK:
        HITS[key] = HITS.get(key, 0) + 1
        return HITS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def query(self):
        parsed = urlparse(self.path)
        return parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def route(self):
        path, query = self.query()
        body = self.read_body()
        if path == "/echo":
            payload = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self.reply(200, json.dumps(payload).encode(), [("Content-Type", "application/json"), ("X-Echo", "yes")])
        elif path == "/status":
            code = int(query.get("code", "200"))
            self.reply(code, ("status %d" % code).encode())
        elif path == "/flaky":
            count = hit(query.get("key", ""))
            if count <= int(query.get("fail", "0")):
                headers = []
                if "retry_after" in query:
                    headers.append(("Retry-After", query["retry_after"]))
                self.reply(int(query.get("code", "503")), b"try later", headers)
            else:
                self.reply(200, ("ok after %d" % count).encode())
        elif path == "/redirect":
            self.reply(int(query.get("code", "302")), b"", [("Location", query["to"])])
        elif path.startswith("/to-port-") or path.startswith("/to-localhost-"):
            host = "127.0.0.1" if path.startswith("/to-port-") else "localhost"
            port, _, rest = path.split("-", 2)[-1].partition("/")
            query_string = urlparse(self.path).query
            target = "http://%s:%s/%s" % (host, port, rest) + ("?" + query_string if query_string else "")
            self.reply(302, b"", [("Location", target)])
        elif path == "/download":
            self.download(query)
        elif path == "/log":
            with LOCK:
                ranges = list(RANGES.get(query.get("key", ""), []))
            self.reply(200, json.dumps(ranges).encode(), [("Content-Type", "application/json")])
        else:
            self.reply(404, b"not found")

    def download(self, query):
        size = int(query.get("size", "0"))
        mode = query.get("mode", "normal")
        key = query.get("key", "")
        data = pattern(size)
        range_header = self.headers.get("Range")
        with LOCK:
            RANGES.setdefault(key, []).append(range_header)
        first = hit(key) == 1
        if mode == "no-length":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        start = 0
        if range_header and range_header.startswith("bytes=") and mode != "ignore-range":
            start = int(range_header[len("bytes="):].split("-")[0])
        if start > 0:
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        body = data[start:]
        if first and mode in ("drop", "ignore-range", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(30)
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (aborted downloads) are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
