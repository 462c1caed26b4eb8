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

An OCI registry's misbehaviour, picked by the first component of the repository name:
  GET|HEAD /v2/redirect/NAME/blobs/DIGEST   401 with a Basic challenge without Authorization, else 307 to
                                            http://localhost:PORT/oci-storage/DIGEST?X-Amz-Signature=…
  GET /v2/huge/NAME/manifests/REF           an endless manifest, without Content-Length
  GET /v2/wrong/NAME/manifests/REF          a manifest whose Docker-Content-Digest is not its own
  GET /v2/paged/NAME/tags/list?n=N&last=T   tags t0…t6, N a page, each page with a relative Link to the next
  PUT|GET /oci-storage/DIGEST               stores / serves bytes (GETs logged with their Authorization)
  /oci-log                                  JSON list of {path, authorization} of the /oci-storage GETs

A Git LFS server whose misbehaviour a test picks with MODE (objects kept in memory, shared by all modes):
  POST /lfs/MODE/objects/batch   the batch API: download actions for the objects held (404 errors for
                                 the others), upload and verify actions for the objects lacking
  GET|PUT /lfs-obj/MODE/OID      an object's bytes (GET honours "Range: bytes=S-" and "bytes=S-E" with a 206)
  POST /lfs-verify/MODE          verify: 200 when the object is held with the size given, else 404
  /lfs-log?key=MODE              JSON list of {method, path, headers, body} of the requests in MODE
                                 (the body of batch requests only)
MODE is one of:
  normal
  wrong-bytes, too-many, too-few   GET serves other bytes of the same size, 100 bytes more, 100 bytes less
  extra                 the answer adds an object not asked for
  object-error          a 422 error per object
  status-413, status-422  the batch answers that status with a JSON message
  size-mismatch         the answer's sizes are one more than asked
  garbage, tus, omit    the batch answers an HTML page, another transfer adapter, no object at all
  drop                  the first GET of each object sends half and closes
  ignore-range          like drop, and Range is ignored (always 200)
  drop-segment          the first GET of each object whose range starts past byte 0 sends half and closes
  stall                 the first GET of each object sends half and waits 30 s
  put-500               the first PUT of each object answers 500
  put-422-large         the first PUT of each object over 1 MiB answers 422 (refused, not to be retried)
  put-stall             the first PUT of each object is neither read nor answered for 30 s
  expired, href-401     the first batch's actions have expired / their hrefs answer 401
  other-host            hrefs name localhost (another origin) with an X-Action-Token header
  insecure              hrefs are http:// to a non-loopback host
  redirect              hrefs answer 307 to the same object on localhost, logged as "redirected"
  slow                  each GET waits 1 s before answering
  echo                  hrefs answer 404 quoting the Authorization and X-Action-Token headers they got
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
LFS_OBJECTS = {}
LFS_LOG = {}
HITS = {}
RANGES = {}
PATTERNS = {}
OCI_BLOBS = {}
OCI_LOG = []


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
        if path.startswith("/lfs-obj/put-stall/") and self.command == "PUT" and hit("put-stall" + path) == 1:
            time.sleep(30)  # neither reads the body nor answers: a frozen upload
            self.close_connection = True
            return
        body = self.read_body()
        if path.startswith("/v2/") or path.startswith("/oci-"):
            self.oci(path, body)
        elif path.startswith("/lfs"):
            self.lfs(path, query, body)
        elif path == "/echo":
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


    def lfs(self, path, query, body):
        if path == "/lfs-log":
            with LOCK:
                records = list(LFS_LOG.get(query.get("key", ""), []))
            return self.reply(200, json.dumps(records).encode(), [("Content-Type", "application/json")])
        parts = path.split("/")
        mode = parts[2] if len(parts) > 2 else ""
        with LOCK:
            LFS_LOG.setdefault(mode, []).append(
                {"method": self.command, "path": path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace") if path.endswith("/objects/batch") else ""})
        if parts[1] == "lfs" and path.endswith("/objects/batch"):
            self.lfs_batch(mode, json.loads(body or b"{}"))
        elif parts[1] == "lfs-obj" and len(parts) == 4:
            self.lfs_object(mode, parts[3], body)
        elif parts[1] == "lfs-verify":
            request = json.loads(body or b"{}")
            with LOCK:
                held = LFS_OBJECTS.get(request.get("oid"))
            ok = held is not None and len(held) == request.get("size")
            self.reply(200 if ok else 404, b"{}" if ok else b'{"message": "not there"}')
        else:
            self.reply(404, b"not found")

    def lfs_href(self, mode, oid, stale):
        port = self.server.server_address[1]
        if mode == "other-host":
            return "http://localhost:%d/lfs-obj/%s/%s" % (port, mode, oid)
        if mode == "insecure":
            return "http://lfs.example.invalid/lfs-obj/%s/%s" % (mode, oid)
        return "http://127.0.0.1:%d/lfs-obj/%s/%s" % (port, mode + ("-stale" if stale else ""), oid)

    def lfs_batch(self, mode, request):
        if mode in ("status-413", "status-422"):
            code = int(mode[-3:])
            message = {413: "batch over the host's request size limit", 422: "hash_algo not accepted by this host"}
            return self.reply(code, json.dumps({"message": message[code]}).encode(),
                              [("Content-Type", "application/vnd.git-lfs+json")])
        if mode == "garbage":
            return self.reply(200, b"<html>a login page</html>", [("Content-Type", "text/html")])
        stale = mode in ("expired", "href-401") and hit("batch-" + mode) == 1
        headers = {"X-Action-Token": "action-secret"} if mode in ("other-host", "echo") else {}
        answer = []
        for item in request.get("objects", []):
            oid, size = item["oid"], item["size"]
            with LOCK:
                held = LFS_OBJECTS.get(oid)
            entry = {"oid": oid, "size": size + 1 if mode == "size-mismatch" else size}
            action = {"href": self.lfs_href(mode, oid, stale), "header": headers, "expires_in": 3600}
            if stale and mode == "expired":
                action["expires_at"] = "2001-01-01T00:00:00Z"
            if mode == "object-error":
                entry["error"] = {"code": 422, "message": "object %s refused by the host's file size rule" % oid[:8]}
            elif request.get("operation") == "download":
                if held is None:
                    entry["error"] = {"code": 404, "message": "Object does not exist"}
                else:
                    entry["actions"] = {"download": action}
            elif held is None:
                port = self.server.server_address[1]
                verify = {"href": "http://127.0.0.1:%d/lfs-verify/%s" % (port, mode), "header": headers}
                entry["actions"] = {"upload": action, "verify": verify}
            answer.append(entry)
        if mode == "extra":
            other = "e" * 64
            with LOCK:
                LFS_OBJECTS[other] = b"unrequested"
            answer.append({"oid": other, "size": 11, "actions": {"download": {"href": self.lfs_href(mode, other, False)}}})
        if mode == "omit":
            answer = []
        transfer = "tus" if mode == "tus" else "basic"
        self.reply(200, json.dumps({"transfer": transfer, "objects": answer, "hash_algo": "sha256"}).encode(),
                   [("Content-Type", "application/vnd.git-lfs+json")])

    def lfs_object(self, mode, oid, body):
        if mode == "href-401-stale":
            return self.reply(401, b'{"message": "token expired"}')
        if mode.endswith("-stale"):
            return self.reply(410, b'{"message": "stale action used"}')
        if mode == "redirect":
            target = "http://localhost:%d/lfs-obj/redirected/%s" % (self.server.server_address[1], oid)
            return self.reply(307, b"", [("Location", target)])
        if mode == "echo":
            message = "no object for %s / %s" % (self.headers.get("Authorization"), self.headers.get("X-Action-Token"))
            return self.reply(404, json.dumps({"message": message}).encode())
        if mode == "slow" and self.command == "GET":
            time.sleep(1)
        if self.command == "PUT":
            if mode == "put-500" and hit("put-" + oid) == 1:
                return self.reply(500, b'{"message": "storage hiccup"}')
            if mode == "put-422-large" and len(body) > 1 << 20 and hit("put-" + oid) == 1:
                return self.reply(422, b'{"message": "refused this once"}')
            with LOCK:
                LFS_OBJECTS[oid] = body
            return self.reply(200, b"")
        with LOCK:
            data = LFS_OBJECTS.get(oid)
        if data is None:
            return self.reply(404, b'{"message": "Object does not exist"}')
        if mode == "wrong-bytes":
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        elif mode == "too-many":
            data = data + b"x" * 100
        elif mode == "too-few":
            data = data[:-100]
        range_header = self.headers.get("Range")
        start, end = 0, len(data) - 1
        ranged = bool(range_header and range_header.startswith("bytes=")) and mode != "ignore-range"
        if ranged:
            first_byte, _, last_byte = range_header[len("bytes="):].partition("-")
            start = int(first_byte)
            end = min(int(last_byte), end) if last_byte else end
        first = mode in ("drop", "ignore-range", "stall") and hit("get-" + mode + oid) == 1
        if mode == "drop-segment" and start > 0:
            first = hit("get-" + mode + oid) == 1
        if ranged and (start > 0 or end < len(data) - 1):
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end + 1 - start))
        self.end_headers()
        data = data[: end + 1]
        rest = data[start:]
        if first:
            self.wfile.write(rest[: len(rest) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(30)
            self.close_connection = True
            return
        self.wfile.write(rest)

    def oci(self, path, body):
        parts = path.split("/")
        if path.startswith("/v2/redirect/") and "/blobs/" in path:
            if not self.headers.get("Authorization"):
                error = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
                self.reply(401, json.dumps(error).encode(), [("WWW-Authenticate", 'Basic realm="stub"'),
                                                             ("Content-Type", "application/json")])
                return
            target = "http://localhost:%d/oci-storage/%s?X-Amz-Signature=presigned-secret" % (
                self.server.server_address[1], parts[-1])
            self.reply(307, b"", [("Location", target)])
        elif path.startswith("/v2/huge/") and "/manifests/" in path:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b" " * 65536
            try:
                for _ in range(1024):  # 64 MiB at most
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif path.startswith("/v2/wrong/") and "/manifests/" in path:
            digest = "sha256:" + "0" * 64
            self.reply(200, b'{"schemaVersion":2}', [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                                      ("Docker-Content-Digest", digest)])
        elif path.startswith("/v2/paged/") and path.endswith("/tags/list"):
            _, query = self.query()
            tags = ["t%d" % i for i in range(7)]
            size = int(query.get("n", "100"))
            start = tags.index(query["last"]) + 1 if "last" in query else 0
            page = tags[start:start + size]
            headers = [("Content-Type", "application/json")]
            if start + size < len(tags):
                headers.append(("Link", '<%s?n=%d&last=%s>; rel="next"' % (path, size, page[-1])))
            self.reply(200, json.dumps({"name": path[4:-10], "tags": page}).encode(), headers)
        elif path.startswith("/oci-storage/"):
            digest = parts[-1]
            if self.command == "PUT":
                with LOCK:
                    OCI_BLOBS[digest] = body
                self.reply(201, b"")
                return
            with LOCK:
                OCI_LOG.append({"path": path, "authorization": self.headers.get("Authorization")})
                data = OCI_BLOBS.get(digest)
            if data is None:
                self.reply(404, b"no such blob")
            else:
                self.reply(200, data, [("Content-Type", "application/octet-stream")])
        elif path == "/oci-log":
            with LOCK:
                log = list(OCI_LOG)
            self.reply(200, json.dumps(log).encode(), [("Content-Type", "application/json")])
        else:
            self.reply(404, b"not found")


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
