#!/usr/bin/env python3
"""A small HTTP server in front of `git http-backend` (CGI) for the benchmarks, on 127.0.0.1.

    python3 bench/git-http-server.py ROOT PORTFILE

Serves the repositories under ROOT as http://127.0.0.1:<port>/<name>.git (the port is chosen by the
kernel and written to PORTFILE once the server listens). Request bodies may come with a Content-Length or
chunked (git and libgit2 chunk a push larger than their post buffer); a chunked body is decoded into a
temporary file first, since the CGI wants a Content-Length. The CGI's output is streamed back as it comes,
and each response closes its connection. No authentication: receive-pack is allowed by the repositories'
`http.receivepack` setting.
"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # for `Expect: 100-continue`, which curl sends before a large body

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.run_cgi()

    def do_POST(self):
        self.run_cgi()

    def request_body(self):
        """The body as a file (rewound) and its length."""
        body = tempfile.TemporaryFile()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                remaining = size
                while remaining:
                    data = self.rfile.read(min(remaining, 1 << 20))
                    if not data:
                        raise ConnectionError("the client closed the connection mid-chunk")
                    body.write(data)
                    remaining -= len(data)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                data = self.rfile.read(min(remaining, 1 << 20))
                if not data:
                    raise ConnectionError("the client closed the connection early")
                body.write(data)
                remaining -= len(data)
        length = body.tell()
        body.seek(0)
        return body, length

    def run_cgi(self):
        path, _, query = self.path.partition("?")
        body, length = self.request_body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "REMOTE_ADDR": self.client_address[0],
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for name in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(name):
                env["HTTP_" + name.upper().replace("-", "_")] = self.headers[name]
        with body:
            cgi = subprocess.Popen(["git", "http-backend"], stdin=body, stdout=subprocess.PIPE, env=env)
        status, headers = "200 OK", []
        while True:
            line = cgi.stdout.readline().rstrip(b"\r\n").decode("latin-1")
            if not line:
                break
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name, value.strip()))
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        shutil.copyfileobj(cgi.stdout, self.wfile, 1 << 20)
        cgi.wait()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
