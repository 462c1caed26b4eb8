#!/bin/sh
# Figures for a models folder of many small files (hardening issue, "scale in files"), side by side in one run:
#   FILE_COUNT (default 200000) files of FILE_BYTES (default 1024) bytes, 1,000 per folder, under bench/data.
# Measures: first import against cp -r + sync, its peak RSS; a re-import of the unchanged folder; a no-op
# import right after an import (the racy-file rule); status; fsck.
# Targets: re-import <= 2 s, status <= 0.2 s, peak memory <= 128 MiB, first import <= 1.5 x (cp -r + sync).
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to a release build of model-sync}"
FILE_COUNT=${FILE_COUNT:-200000}
FILE_BYTES=${FILE_BYTES:-1024}
here=$(cd "$(dirname "$0")" && pwd)
data="$here/data/files-${FILE_COUNT}x${FILE_BYTES}"
work="$here/out/files"
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work" "$here/data"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
report() { printf '%-62s %s\n' "$1" "$2"; }

if [ ! -d "$data" ]; then
    echo "generating $FILE_COUNT files of $FILE_BYTES bytes under $data"
    python3 - "$data.tmp" "$FILE_COUNT" "$FILE_BYTES" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    folder = os.path.join(root, f"d{i // 1000:04d}")
    if i % 1000 == 0:
        os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
    mv "$data.tmp" "$data"
    sleep 3 # older than the stat cache's racy window, like yesterday's models
fi
sync

# cp -r + sync, the yardstick for a first import.
start=$(now); cp -r "$data" "$work/copy"; sync; end=$(now)
copy=$(elapsed "$start" "$end")
rm -rf "$work/copy"; sync

store="$work/store"
start=$(now)
/usr/bin/time -f '%M' -o "$work/import.rss" "$MODEL_SYNC" import "$data" --store "$store" --models-dir "$work/models" -q
sync; end=$(now)
import=$(elapsed "$start" "$end")
import_rss=$(awk '{printf "%.1f", $1/1024}' "$work/import.rss")

start=$(now); "$MODEL_SYNC" import "$data" --store "$store" --models-dir "$work/models" -q; end=$(now)
reimport=$(elapsed "$start" "$end")

# The racy-file rule: touch a copy, import it, and import it again at once.
cp -r "$data" "$work/fresh"
"$MODEL_SYNC" import "$work/fresh" --store "$store" --models-dir "$work/models" -q
start=$(now); "$MODEL_SYNC" import "$work/fresh" --store "$store" --models-dir "$work/models" -q; end=$(now)
racy=$(elapsed "$start" "$end")

manifest=$("$MODEL_SYNC" import "$data" --store "$store" --models-dir "$work/models" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest"])')
"$MODEL_SYNC" activate "$manifest" --store "$store" --models-dir "$work/models" -q
start=$(now); "$MODEL_SYNC" status --store "$store" --models-dir "$work/models" --json >/dev/null; end=$(now)
status=$(elapsed "$start" "$end")
start=$(now)
/usr/bin/time -f '%M' -o "$work/fsck.rss" "$MODEL_SYNC" fsck --store "$store" --models-dir "$work/models" -q
end=$(now)
fsck=$(elapsed "$start" "$end")
fsck_rss=$(awk '{printf "%.1f", $1/1024}' "$work/fsck.rss")

echo "model-sync, $FILE_COUNT files of $FILE_BYTES bytes"
report "first import + sync / (cp -r + sync)" "$import s / $copy s = $(ratio "$import" "$copy")  (target <= 1.5)"
report "peak memory of the first import" "$import_rss MiB  (target <= 128)"
report "re-import of the unchanged folder" "$reimport s  (target <= 2)"
report "no-op import right after an import (racy-file rule)" "$racy s"
report "status with that set active" "$status s  (target <= 0.2)"
report "fsck (every object re-hashed), peak memory" "$fsck s, $fsck_rss MiB"
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
