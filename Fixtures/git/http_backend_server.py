#!/usr/bin/env python3
"""Loopback git smart-HTTP server with Basic authentication, for the credentials tests.

    http_backend_server.py --root DIR [--slow-upload-pack SECONDS] [--user USER] [--max-push-bytes N]

Serves the repositories under DIR through `git http-backend` (run as CGI, GIT_HTTP_EXPORT_ALL set; a bare
repository accepts pushes when its config has http.receivepack = true). Every request must carry
`Authorization: Basic base64(USER:TOKEN)` (USER x-access-token unless --user names another), TOKEN read
from the environment variable REGISTRY_SERVER_TOKEN; anything else gets 401 with `WWW-Authenticate: Basic realm="registry"`.
Listens on 127.0.0.1 with an ephemeral port and prints the port on stdout once listening.
Appends one line per request to DIR/requests.log: the status and the path (never a header).
With --slow-upload-pack, each authenticated git-upload-pack POST (the fetch itself) first writes
DIR/upload-pack.started, then waits that long: a slow network fetch.
With --max-push-bytes, a git-receive-pack POST (the push itself) whose body is larger gets 413 with a
plain-text explanation, as a host or its proxy refuses a push over its size limit.
Python 3 standard library only.
"""
import base64
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

ROOT = ""
EXPECTED = ""
SLOW_UPLOAD_PACK = 0.0
MAX_PUSH_BYTES = 0
LOG_LOCK = threading.Lock()


def log(status, path):
    with LOG_LOCK:
        with open(os.path.join(ROOT, "requests.log"), "a") as handle:
            handle.write("%d %s\n" % (status, path))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log(status, self.path)

    def handle_any(self):
        body = self.read_body()
        if self.headers.get("Authorization", "") != EXPECTED:
            self.reply(401, [("WWW-Authenticate", 'Basic realm="registry"'),
                             ("Content-Type", "text/plain")], b"authentication required\n")
            return
        url = urlparse(self.path)
        if MAX_PUSH_BYTES and self.command == "POST" and url.path.endswith("/git-receive-pack") \
                and len(body) > MAX_PUSH_BYTES:
            self.reply(413, [("Content-Type", "text/plain")],
                       b"push of %d bytes refused: the limit is %d bytes\n" % (len(body), MAX_PUSH_BYTES))
            return
        if SLOW_UPLOAD_PACK and self.command == "POST" and url.path.endswith("/git-upload-pack"):
            open(os.path.join(ROOT, "upload-pack.started"), "w").close()
            time.sleep(SLOW_UPLOAD_PACK)
        environment = dict(os.environ)
        environment.pop("REGISTRY_SERVER_TOKEN", None)
        environment.update({
            "GIT_PROJECT_ROOT": ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
        })
        if self.headers.get("Content-Encoding"):
            environment["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            environment["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        result = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=environment)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        if result.returncode != 0 and not result.stdout:
            status, headers, payload = 500, [("Content-Type", "text/plain")], result.stderr
        self.reply(status, headers, payload)

    do_GET = handle_any
    do_POST = handle_any


def main():
    global ROOT, EXPECTED, SLOW_UPLOAD_PACK, MAX_PUSH_BYTES
    arguments = sys.argv[1:]
    ROOT = os.path.abspath(arguments[arguments.index("--root") + 1])
    if "--slow-upload-pack" in arguments:
        SLOW_UPLOAD_PACK = float(arguments[arguments.index("--slow-upload-pack") + 1])
    if "--max-push-bytes" in arguments:
        MAX_PUSH_BYTES = int(arguments[arguments.index("--max-push-bytes") + 1])
    token = os.environ["REGISTRY_SERVER_TOKEN"]
    user = arguments[arguments.index("--user") + 1] if "--user" in arguments else "x-access-token"
    EXPECTED = "Basic " + base64.b64encode((user + ":" + token).encode()).decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
