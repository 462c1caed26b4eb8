#!/bin/sh
# Runs handler.py under the runpod SDK's local API server (--rp_serve_api) and checks it end to end:
# POST /runsync with an empty have list → a delta archive with every blob, inline as archive_base64, whose
# sha256 and size match the output; then with the manifest's digests as have list → no blob at all; then a
# failing training command → the job reports the error.
# Usage: test_worker.sh MODEL_SYNC_BINARY VENV_DIR
set -eu
BINARY=$1
VENV=$2
HERE=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/source/btc" "$WORK/source/eth"
head -c 200000 /dev/urandom > "$WORK/source/btc/model.onnx"
head -c 100000 /dev/urandom > "$WORK/source/eth/model.onnx"

start_worker() {
    PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$WORK" && MODEL_SYNC_TRAIN_COMMAND="$1" MODEL_SYNC_MODELS_DIR="$WORK/models" MODEL_SYNC_BINARY="$BINARY" \
        exec "$VENV/bin/python" "$HERE/handler.py" --rp_serve_api --rp_api_host 127.0.0.1 --rp_api_port "$PORT" \
        > "$WORK/worker.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:$PORT/docs" > /dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    cat "$WORK/worker.log" >&2
    echo "test-worker: the worker did not start" >&2
    exit 1
}

stop_worker() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

runsync() {
    curl -sf -X POST "http://127.0.0.1:$PORT/runsync" -H 'Content-Type: application/json' -d "$1"
}

start_worker "rm -rf '$WORK/models' && cp -R '$WORK/source' '$WORK/models'"

runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/first.json"
"$VENV/bin/python" - "$WORK/first.json" "$WORK" <<'PY'
import base64, hashlib, json, sys, zipfile, io
answer = json.load(open(sys.argv[1]))
assert answer.get("status") == "COMPLETED", answer
output = answer["output"]
data = base64.b64decode(output["archive_base64"])
assert len(data) == output["archive_size"], "archive_size"
assert "sha256:" + hashlib.sha256(data).hexdigest() == output["archive_sha256"], "archive_sha256"
names = zipfile.ZipFile(io.BytesIO(data)).namelist()
assert names[0] == "manifest.json" and len(names) == 3, names
manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
assert "sha256:" + hashlib.sha256(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json")).hexdigest() == output["manifest"]
json.dump([entry["digest"] for entry in manifest["files"]], open(sys.argv[2] + "/have.json", "w"))
open(sys.argv[2] + "/first.zip", "wb").write(data)
print("test-worker: full archive OK (%d bytes, %d objects)" % (len(data), output["objects"]))
PY

HAVE=$(cat "$WORK/have.json")
runsync "{\"input\": {\"model_sync\": {\"protocol\": 1, \"have\": $HAVE}}}" > "$WORK/second.json"
"$VENV/bin/python" - "$WORK/second.json" <<'PY'
import base64, json, sys, zipfile, io
output = json.load(open(sys.argv[1]))["output"]
names = zipfile.ZipFile(io.BytesIO(base64.b64decode(output["archive_base64"]))).namelist()
assert names == ["manifest.json"] and output["objects"] == 0, (names, output["objects"])
print("test-worker: delta archive with a full have list carries the manifest only")
PY

stop_worker

start_worker "echo 'training data missing' >&2; exit 3"
runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/failed.json" || true
"$VENV/bin/python" - "$WORK/failed.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
text = json.dumps(answer)
assert "training command exited with status 3" in text and "training data missing" in text, answer
print("test-worker: a failing training command fails the job with its message")
PY
stop_worker
echo "test-worker: OK"
