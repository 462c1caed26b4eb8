#!/usr/bin/env python3
"""A loopback stand-in for RunPod's serverless API, for the runpod-pull tests. Python 3 standard library only.

Usage: server.py --scenario FILE [--port N] [--api-key KEY]

Listens on 127.0.0.1 (an ephemeral port unless --port) and prints the port on stdout once listening.
Written from RunPod's public API (https://docs.runpod.io/serverless/endpoints/operations):

  POST /v2/<endpoint>/run                 {"input": {...}}  ->  {"id": "...", "status": "IN_QUEUE"}
  GET  /v2/<endpoint>/status/<job_id>     {"id", "status", "output" | "error", ...}
  POST /v2/<endpoint>/cancel/<job_id>     {"id", "status": "CANCELLED"}
  Authorization: Bearer <key> on all three (401 otherwise); 404 for an unknown or expired job;
  429 (with Retry-After) when rate-limited.

plus, for the archive and the tests:

  GET  /files/<name>                      the job's archive; honours "Range: bytes=S-" with a 206
  GET  /_requests                         JSON list of every request: method, path, route, authorization, range
  GET  /_runs                             JSON list of the "input" objects received by /run

The scenario file (JSON) is read again on every /run, so a test may change it between two pulls:

  api_key         the accepted key ("test-key")
  statuses        the statuses successive status requests report, the last one repeating
                  (["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]); ["IN_PROGRESS"] never finishes
  error           the text of a FAILED job, sent as the SDK does: a JSON string with error_message
  rate_limit      the first N status requests of each job answer 429 with Retry-After: 0
  expire          status requests answer 404 (the result expired)
  archive         {"mode": "pack", "binary": B, "models_dir": D}: run `B pack --models-dir D --have <have>`
                  with the job's have list, like the worker; or {"mode": "file", "path": P}: serve P as is
  delivery        "url" (default) or "base64"
  drop_halfway    the first download of each archive sends half of it and closes the connection
  stall_sec       the first download of each archive sends half of it, then waits that long before closing
  wrong_sha256    the output announces a wrong archive_sha256
  output          extra fields merged into the job's output
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
RUNS = []
JOBS = {}
ARGS = None


def scenario():
    with open(ARGS.scenario) as handle:
        loaded = json.load(handle)
    loaded.setdefault("api_key", ARGS.api_key)
    return loaded


def work_dir():
    path = os.path.join(os.path.dirname(os.path.abspath(ARGS.scenario)), "runpod-files")
    os.makedirs(path, exist_ok=True)
    return path


def build_archive(job_id, config, have):
    """Returns (path, output fields) for the job's archive."""
    archive = config.get("archive", {})
    if archive.get("mode") == "file":
        path = archive["path"]
        fields = {}
    else:
        directory = work_dir()
        have_path = os.path.join(directory, job_id + ".have.json")
        with open(have_path, "w") as handle:
            json.dump(have, handle)
        path = os.path.join(directory, job_id + ".zip")
        result = subprocess.run(
            [archive["binary"], "pack", "--models-dir", archive["models_dir"], "--archive-path", path,
             "--have", have_path, "--json"],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError("pack failed: " + result.stderr)
        fields = {"manifest": json.loads(result.stdout)["manifest"]}
    with open(path, "rb") as handle:
        data = handle.read()
    fields["archive_size"] = len(data)
    fields["archive_sha256"] = "sha256:" + hashlib.sha256(data).hexdigest()
    if config.get("wrong_sha256"):
        fields["archive_sha256"] = "sha256:" + "0" * 64
    return path, data, fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, code, payload, headers=()):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.split("?")[0].strip("/").split("/")
        route = parts[2] if len(parts) >= 3 and parts[0] == "v2" else parts[0]
        with LOCK:
            REQUESTS.append({"method": self.command, "path": self.path, "route": route,
                             "authorization": self.headers.get("Authorization"), "range": self.headers.get("Range")})
        if parts[0] == "_requests":
            with LOCK:
                return self.reply(200, list(REQUESTS))
        if parts[0] == "_runs":
            with LOCK:
                return self.reply(200, list(RUNS))
        if parts[0] == "files" and len(parts) == 2:
            return self.file(parts[1])
        if parts[0] != "v2" or len(parts) < 3:
            return self.reply(404, {"error": "not found"})
        config = scenario()
        if self.headers.get("Authorization") != "Bearer " + config["api_key"]:
            return self.reply(401, {"error": "Unauthorized"})
        if route in ("run", "runsync") and self.command == "POST":
            return self.run(config, body)
        if route == "status" and len(parts) == 4:
            return self.status(parts[3])
        if route == "cancel" and len(parts) == 4 and self.command == "POST":
            with LOCK:
                job = JOBS.get(parts[3])
                if job is None:
                    return self.reply(404, {"error": "job not found"})
                job["cancelled"] = True
            return self.reply(200, {"id": parts[3], "status": "CANCELLED"})
        return self.reply(404, {"error": "not found"})

    def run(self, config, body):
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return self.reply(400, {"error": "invalid JSON"})
        job_input = payload.get("input", {})
        job_id = uuid.uuid4().hex[:12] + "-u1"
        have = (job_input.get("model_sync") or {}).get("have", [])
        with LOCK:
            RUNS.append(job_input)
        job = {"config": config, "polls": 0, "cancelled": False, "downloads": 0}
        statuses = config.get("statuses", ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"])
        job["output"] = dict(config.get("output", {}))
        if "COMPLETED" in statuses and "archive" in config:
            path, data, fields = build_archive(job_id, config, have)
            output = dict(fields)
            if config.get("delivery") == "base64":
                output["archive_base64"] = base64.b64encode(data).decode()
            else:
                output["archive_url"] = "http://127.0.0.1:%d/files/%s.zip?X-Amz-Signature=presigned" % (
                    self.server.server_address[1], job_id)
            output.update(config.get("output", {}))
            job["output"] = output
            job["data"] = data
        with LOCK:
            JOBS[job_id] = job
        return self.reply(200, {"id": job_id, "status": "IN_QUEUE"})

    def status(self, job_id):
        with LOCK:
            job = JOBS.get(job_id)
            if job is not None:
                job["polls"] += 1
        if job is None or job["config"].get("expire"):
            return self.reply(404, {"error": "job not found"})
        config = job["config"]
        if job["polls"] <= config.get("rate_limit", 0):
            return self.reply(429, {"error": "rate limited"}, [("Retry-After", "0")])
        if job["cancelled"]:
            return self.reply(200, {"id": job_id, "status": "CANCELLED"})
        statuses = config.get("statuses", ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"])
        index = min(job["polls"] - 1 - config.get("rate_limit", 0), len(statuses) - 1)
        status = statuses[index]
        answer = {"id": job_id, "status": status, "delayTime": 10, "executionTime": 20}
        if status == "COMPLETED":
            answer["output"] = job["output"]
        elif status == "FAILED":
            answer["error"] = json.dumps({"error_type": "<class 'RuntimeError'>",
                                          "error_message": config.get("error", "the job failed"),
                                          "error_traceback": "Traceback (most recent call last): ..."})
        return self.reply(200, answer)

    def file(self, name):
        job_id = name[:-4] if name.endswith(".zip") else name
        with LOCK:
            job = JOBS.get(job_id)
            if job is not None:
                job["downloads"] += 1
        if job is None or "data" not in job:
            return self.reply(404, {"error": "no such file"})
        data = job["data"]
        start = 0
        header = self.headers.get("Range")
        if header and header.startswith("bytes=") and header.endswith("-"):
            start = int(header[len("bytes="):-1])
        if start >= len(data) and start > 0:
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(data))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/zip")
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if job["config"].get("stall_sec") and job["downloads"] == 1:
            self.wfile.write(data[start:len(data) // 2])
            self.wfile.flush()
            time.sleep(float(job["config"]["stall_sec"]))
            self.close_connection = True
            return
        if job["config"].get("drop_halfway") and job["downloads"] == 1:
            self.wfile.write(data[start:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data[start:])


def main():
    global ARGS
    parser = argparse.ArgumentParser(description="loopback RunPod stand-in")
    parser.add_argument("--scenario", required=True, help="JSON scenario file, read again on every /run")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
