#!/bin/sh
# Runs handler.py under the runpod SDK's local API server (--rp_serve_api) and checks it end to end:
# POST /runsync with an empty have list → a delta archive with every blob, inline as archive_base64, whose
# sha256 and size match the output; then with the manifest's digests as have list → no blob at all; then a
# failing training command → the job reports the error; then, with a small MODEL_SYNC_INLINE_LIMIT and the
# BUCKET_* variables pointing at a local S3 server (moto), the archive goes through the SDK's upload helper:
# the output has archive_url and no archive_base64, the presigned URL downloads without credentials, its
# bytes match archive_sha256 / archive_size, and `model-sync runpod-pull --from-archive` activates a set
# equal to the worker's models; an incomplete bucket configuration fails the job.
# Usage: test_worker.sh MODEL_SYNC_BINARY VENV_DIR
set -eu
BINARY=$1
VENV=$2
HERE=$(cd "$(dirname "$0")" && pwd)

fail() {
    echo "test-worker: FAILED: $*" >&2
    exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || fail "cannot create the virtual environment $VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
    -r "$HERE/test-requirements.txt" || fail "pip install of requirements.txt and test-requirements.txt failed"

# Everything this script talks to is on 127.0.0.1: no proxy, and no AWS settings of the machine.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL 2>/dev/null || true

WORK=$(mktemp -d)
SERVER_PID=""
S3_PID=""
cleanup() {
    status=$?
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$S3_PID" ]; then kill "$S3_PID" 2>/dev/null || true; wait "$S3_PID" 2>/dev/null || true; fi
    if [ "$status" -ne 0 ]; then
        for log in "$WORK/worker.log" "$WORK/s3.log"; do
            if [ -s "$log" ]; then echo "--- last lines of $(basename "$log") ---" >&2; tail -n 30 "$log" >&2; fi
        done
        echo "test-worker: FAILED (exit status $status)" >&2
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mkdir -p "$WORK/source/btc" "$WORK/source/eth"
head -c 200000 /dev/urandom > "$WORK/source/btc/model.onnx"
head -c 100000 /dev/urandom > "$WORK/source/eth/model.onnx"

# start_worker TRAIN_COMMAND [NAME=VALUE…]: the handler under the local API server, extra environment last.
start_worker() {
    train_command=$1
    shift
    PORT=$(free_port)
    (cd "$WORK" && exec env MODEL_SYNC_TRAIN_COMMAND="$train_command" MODEL_SYNC_MODELS_DIR="$WORK/models" \
        MODEL_SYNC_BINARY="$BINARY" "$@" \
        "$VENV/bin/python" "$HERE/handler.py" --rp_serve_api --rp_api_host 127.0.0.1 --rp_api_port "$PORT" \
        > "$WORK/worker.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:$PORT/docs" > /dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    fail "the worker did not start on 127.0.0.1:$PORT within 20 s"
}

stop_worker() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

runsync() {
    curl -sS -f -X POST "http://127.0.0.1:$PORT/runsync" -H 'Content-Type: application/json' -d "$1"
}

start_worker "rm -rf '$WORK/models' && cp -R '$WORK/source' '$WORK/models'"

runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/first.json" \
    || fail "POST /runsync (empty have list) failed"
"$VENV/bin/python" - "$WORK/first.json" "$WORK" <<'PY' || fail "the inline full archive does not match its output"
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
runsync "{\"input\": {\"model_sync\": {\"protocol\": 1, \"have\": $HAVE}}}" > "$WORK/second.json" \
    || fail "POST /runsync (full have list) failed"
"$VENV/bin/python" - "$WORK/second.json" <<'PY' || fail "the delta archive for a full have list is not manifest-only"
import base64, json, sys, zipfile, io
output = json.load(open(sys.argv[1]))["output"]
names = zipfile.ZipFile(io.BytesIO(base64.b64decode(output["archive_base64"]))).namelist()
assert names == ["manifest.json"] and output["objects"] == 0, (names, output["objects"])
print("test-worker: delta archive with a full have list carries the manifest only")
PY

stop_worker

start_worker "echo 'training data missing' >&2; exit 3"
runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/failed.json" || true
"$VENV/bin/python" - "$WORK/failed.json" <<'PY' || fail "a failing training command did not fail the job with its message"
import json, sys
answer = json.load(open(sys.argv[1]))
text = json.dumps(answer)
assert "training command exited with status 3" in text and "training data missing" in text, answer
print("test-worker: a failing training command fails the job with its message")
PY
stop_worker

# --- The bucket path: RunPod's BUCKET_* variables on a local S3 server ------------------------------------
# runpod 1.12.0's rp_upload.upload_file_to_bucket (without bucket_name/prefix, as handler.py calls it) uploads
# to the bucket time.strftime("%m-%y") (local time, e.g. "11-26"; nothing comes from BUCKET_ENDPOINT_URL but
# the endpoint), key = the file name, through a boto3 client on BUCKET_ENDPOINT_URL, and returns a presigned
# GET URL valid 7 days. The bucket is created for now and for an hour later, so a run across the end of a
# month still finds it.
S3_PORT=$(free_port)
S3_URL="http://127.0.0.1:$S3_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" > "$WORK/s3.log" 2>&1 &
S3_PID=$!
s3_up=""
for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$S3_URL/" 2>/dev/null || true)
    if [ -n "$code" ] && [ "$code" != "000" ]; then s3_up=1; break; fi
    kill -0 "$S3_PID" 2>/dev/null || fail "the S3 stand-in (moto_server) exited at start"
    sleep 0.2
done
[ -n "$s3_up" ] || fail "the S3 stand-in (moto_server) did not answer on $S3_URL within 20 s"
BUCKET_KEY_ID=model-sync-test-key
BUCKET_SECRET=model-sync-test-secret
"$VENV/bin/python" - "$S3_URL" "$BUCKET_KEY_ID" "$BUCKET_SECRET" <<'PY' || fail "cannot create the bucket on the S3 stand-in"
import sys, time
import boto3
client = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
                      aws_secret_access_key=sys.argv[3], region_name="us-east-1")
now = time.time()
for name in sorted({time.strftime("%m-%y", time.localtime(now)), time.strftime("%m-%y", time.localtime(now + 3600))}):
    client.create_bucket(Bucket=name)
    print("test-worker: bucket %s created on the S3 stand-in" % name)
PY

start_worker "rm -rf '$WORK/models' && cp -R '$WORK/source' '$WORK/models'" MODEL_SYNC_INLINE_LIMIT=1000 \
    BUCKET_ENDPOINT_URL="$S3_URL" BUCKET_ACCESS_KEY_ID="$BUCKET_KEY_ID" BUCKET_SECRET_ACCESS_KEY="$BUCKET_SECRET"
runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/bucket.json" \
    || fail "POST /runsync (archive over the inline limit, through the bucket) failed"
"$VENV/bin/python" - "$WORK/bucket.json" "$S3_URL" "$BUCKET_KEY_ID" > "$WORK/bucket.fields" <<'PY' \
    || fail "the bucket job's output is not a presigned archive_url on the S3 stand-in"
import json, sys, time
from urllib.parse import urlsplit, parse_qs
answer = json.load(open(sys.argv[1]))
assert answer.get("status") == "COMPLETED", answer
output = answer["output"]
assert "archive_base64" not in output, "archive_base64 returned although the archive is over MODEL_SYNC_INLINE_LIMIT"
url = output.get("archive_url")
assert isinstance(url, str), "no archive_url in the output: %r" % sorted(output)
parts = urlsplit(url)
assert "%s://%s" % (parts.scheme, parts.netloc) == sys.argv[2], "archive_url %s is not on the bucket endpoint" % url
bucket, _, key = parts.path.lstrip("/").partition("/")
now = time.time()
assert bucket in {time.strftime("%m-%y", time.localtime(now + delta)) for delta in (-3600, 0, 3600)}, url
assert key == "model-sync-%s.zip" % answer.get("id", "local"), (key, answer.get("id"))
query = parse_qs(parts.query)
assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query, "not presigned: " + url
assert query.get("X-Amz-Credential", [""])[0].startswith(sys.argv[3] + "/"), "signed with another key: " + url
assert isinstance(output["archive_size"], int) and output["archive_sha256"].startswith("sha256:"), output
print(url)
print(output["archive_sha256"])
print(output["archive_size"])
PY
stop_worker
ARCHIVE_URL=$(sed -n 1p "$WORK/bucket.fields")
ARCHIVE_SHA256=$(sed -n 2p "$WORK/bucket.fields")
ARCHIVE_SIZE=$(sed -n 3p "$WORK/bucket.fields")
echo "test-worker: the archive went through the bucket: $ARCHIVE_URL"

# The client downloads the presigned URL as runpod-pull does: no credentials, no Authorization header
# (-q: no .curlrc; no -n: no .netrc).
curl -q -sS -f --proto '=http,https' -o "$WORK/downloaded.zip" "$ARCHIVE_URL" \
    || fail "downloading archive_url without credentials failed: $ARCHIVE_URL"
GOT_SIZE=$(wc -c < "$WORK/downloaded.zip" | tr -d ' ')
GOT_SHA256="sha256:$(sha256sum "$WORK/downloaded.zip" | cut -d ' ' -f 1)"
[ "$GOT_SIZE" = "$ARCHIVE_SIZE" ] || fail "downloaded $GOT_SIZE bytes, archive_size says $ARCHIVE_SIZE"
[ "$GOT_SHA256" = "$ARCHIVE_SHA256" ] || fail "downloaded archive hashes to $GOT_SHA256, archive_sha256 says $ARCHIVE_SHA256"
echo "test-worker: the downloaded archive matches archive_sha256 and archive_size ($GOT_SIZE bytes)"

mkdir -p "$WORK/client"
printf 'model_sync:\n  models_dir: models\n' > "$WORK/client/bot.yaml"
(cd "$WORK/client" && "$BINARY" runpod-pull --config bot.yaml --from-archive "$WORK/downloaded.zip" --json -q) \
    > "$WORK/pull.json" || fail "model-sync runpod-pull --from-archive of the downloaded archive failed"
[ -n "$(ls "$WORK/client/models/")" ] || fail "the activated set is empty"
diff -r "$WORK/client/models/" "$WORK/models/" > "$WORK/diff.txt" 2>&1 \
    || { cat "$WORK/diff.txt" >&2; fail "the activated set differs from the worker's models"; }
echo "test-worker: runpod-pull --from-archive activates a set equal to the worker's models byte for byte"

# Half a bucket configuration: the SDK's helper would copy the archive to a folder on the worker and return
# that path as the URL; the handler must fail the job instead, naming the missing variable.
start_worker "" MODEL_SYNC_INLINE_LIMIT=1000 BUCKET_ENDPOINT_URL="$S3_URL" BUCKET_ACCESS_KEY_ID="$BUCKET_KEY_ID"
runsync '{"input": {"model_sync": {"protocol": 1, "have": []}}}' > "$WORK/halfbucket.json" || true
"$VENV/bin/python" - "$WORK/halfbucket.json" <<'PY' || fail "an incomplete bucket configuration did not fail the job"
import json, sys
answer = json.load(open(sys.argv[1]))
output = answer.get("output")
assert not (isinstance(output, dict) and "archive_url" in output), answer
assert "BUCKET_SECRET_ACCESS_KEY is not set" in json.dumps(answer), answer
print("test-worker: an incomplete bucket configuration fails the job, naming the missing variable")
PY
stop_worker

kill "$S3_PID" 2>/dev/null || true
wait "$S3_PID" 2>/dev/null || true
S3_PID=""
echo "test-worker: OK"
