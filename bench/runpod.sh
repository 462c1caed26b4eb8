#!/bin/sh
# RunPod transport figures (issue 5), against the loopback RunPod stand-in (Fixtures/runpod/server.py):
#   1. second runpod-pull after 1 of 20 files changed: archive size vs the changed bytes + the manifest
#      (target: archive ≤ 1.05 × (changed + manifest));
#   2. import of a delta archive of SIZE bytes (runpod-pull --from-archive: verify, import, activate) vs
#      `unzip` of the same archive followed by `sync` (target: ≤ 1.2×), and its peak memory (target: < 64 MiB).
# Usage: MODEL_SYNC=path/to/model-sync sh bench/runpod.sh [SIZE_MIB]   (default 2048; e.g. 256 for a quick run)
set -eu
SIZE_MIB=${1:-2048}
MODEL_SYNC=${MODEL_SYNC:-$(pwd)/.build/release/model-sync}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/model-sync-bench-runpod.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

FILE_BYTES=$((SIZE_MIB * 1024 * 1024 / 20))
echo "bench/runpod: 20 files of $FILE_BYTES bytes ($SIZE_MIB MiB) in $WORK"
mkdir -p "$WORK/worker/models"
for i in $(seq 1 20); do
    head -c "$FILE_BYTES" /dev/urandom > "$WORK/worker/models/model-$i.bin"
done

# --- 1. delta pull after one change -------------------------------------------------------------------
cat > "$WORK/scenario.json" <<JSON
{"archive": {"mode": "pack", "binary": "$MODEL_SYNC", "models_dir": "$WORK/worker/models"}}
JSON
python3 "$ROOT/Fixtures/runpod/server.py" --scenario "$WORK/scenario.json" > "$WORK/port" &
SERVER_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$WORK/port")
mkdir -p "$WORK/client"
cat > "$WORK/client/bot.yaml" <<YAML
model_sync:
  models_dir: models
  runpod:
    enabled: true
    trigger_url: "http://127.0.0.1:$PORT/v2/bench/run"
    status_url_template: "http://127.0.0.1:$PORT/v2/bench/status/{job_id}"
    poll_interval_sec: 0.1
    max_extract_bytes: 100000000000
YAML
export RUNPOD_API_KEY=test-key
cd "$WORK/client"
"$MODEL_SYNC" runpod-pull --config bot.yaml --json -q > "$WORK/first.json"
head -c "$FILE_BYTES" /dev/urandom > "$WORK/worker/models/model-7.bin"
"$MODEL_SYNC" runpod-pull --config bot.yaml --json -q > "$WORK/second.json"
kill "$SERVER_PID"; SERVER_PID=""
SECOND_ARCHIVE=$(ls -t "$WORK"/runpod-files/*.zip | head -n 1)
ARCHIVE_BYTES=$(stat -c %s "$SECOND_ARCHIVE")
MANIFEST_BYTES=$(unzip -p "$SECOND_ARCHIVE" manifest.json | wc -c)
FETCHED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["fetched_objects"], d["fetched_bytes"])' "$WORK/second.json")
RATIO=$(echo "scale=4; $ARCHIVE_BYTES / ($FILE_BYTES + $MANIFEST_BYTES)" | bc)
echo "1. second pull: fetched (objects bytes) = $FETCHED; archive $ARCHIVE_BYTES bytes for $FILE_BYTES changed + $MANIFEST_BYTES manifest: ratio $RATIO (target ≤ 1.05)"

# --- 2. import of a full delta archive vs unzip + sync --------------------------------------------------
FULL="$WORK/full.zip"
"$MODEL_SYNC" pack --models-dir "$WORK/worker/models" --archive-path "$FULL" --json -q > /dev/null
rm -rf "$WORK/worker" "$WORK"/runpod-files
sync
mkdir -p "$WORK/unzip"
T0=$(now)
unzip -q "$FULL" -d "$WORK/unzip"
sync
T1=$(now)
UNZIP_SEC=$(elapsed "$T0" "$T1")
rm -rf "$WORK/unzip"
sync
mkdir -p "$WORK/fresh"
cp "$WORK/client/bot.yaml" "$WORK/fresh/"
cd "$WORK/fresh"
T0=$(now)
/usr/bin/time -f "%M" -o "$WORK/rss" "$MODEL_SYNC" runpod-pull --config bot.yaml --from-archive "$FULL" --json -q > "$WORK/import.json"
T1=$(now)
IMPORT_SEC=$(elapsed "$T0" "$T1")
RSS_KB=$(tail -n 1 "$WORK/rss")
RATIO=$(echo "scale=3; $IMPORT_SEC / $UNZIP_SEC" | bc)
echo "2. import of a $(stat -c %s "$FULL")-byte delta archive: ${IMPORT_SEC}s; unzip + sync: ${UNZIP_SEC}s; ratio $RATIO (target ≤ 1.2); peak RSS $((RSS_KB / 1024)) MiB (target < 64)"
