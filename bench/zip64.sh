#!/bin/sh
# zip64: `pack` of a models folder holding one incompressible file over 4 GiB, then `runpod-pull
# --from-archive` of that archive into an empty client, and a byte-for-byte check. About 13 GB of disk.
# Usage: MODEL_SYNC=path/to/model-sync sh bench/zip64.sh [SIZE_MIB]   (default 4200, i.e. > 4 GiB)
set -eu
SIZE_MIB=${1:-4200}
MODEL_SYNC=${MODEL_SYNC:-$(pwd)/.build/release/model-sync}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/model-sync-zip64.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/worker/models/big" "$WORK/client"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$WORK/worker/models/big/weights.bin"
echo "small" > "$WORK/worker/models/readme.txt"
t0=$(date +%s.%N)
"$MODEL_SYNC" pack --models-dir "$WORK/worker/models" --archive-path "$WORK/models.zip" --json > "$WORK/pack.json"
t1=$(date +%s.%N)
python3 - "$WORK/models.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    big = max(archive.infolist(), key=lambda info: info.file_size)
    assert big.file_size > 0xFFFFFFFF, big.file_size
    assert big.compress_type == zipfile.ZIP_STORED, big.compress_type
    print(f"zip64 entry {big.filename}: {big.file_size} bytes, stored; Python's zipfile reads the archive")
PY
printf 'model_sync:\n  models_dir: models\n' > "$WORK/client/bot.yaml"
t2=$(date +%s.%N)
(cd "$WORK/client" && "$MODEL_SYNC" runpod-pull --config bot.yaml --from-archive "$WORK/models.zip" -q)
t3=$(date +%s.%N)
cmp "$WORK/worker/models/big/weights.bin" "$WORK/client/models/big/weights.bin"
echo "pack $(python3 -c "print(f'{$t1-$t0:.1f}')") s, import + activate $(python3 -c "print(f'{$t3-$t2:.1f}')") s; the activated file is byte-identical"
