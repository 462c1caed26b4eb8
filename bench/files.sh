#!/bin/sh
# Figures for a models folder of many small files (hardening issue, "scale in files"), side by side in one run:
#   FILE_COUNT (default 200000) files of FILE_BYTES (default 1024) bytes, 1,000 per folder, under bench/data
#   (or DATA, a folder of such files made earlier).
# Measures: the first import against cp -r + sync, RUNS times (default 3), the two interleaved, each run printed;
# the first import's peak RSS; RUNS re-imports of the unchanged folder (median, and CPU time, which the load of
# other processes does not change); a no-op import right after an import (the racy-file rule); status; fsck.
# Targets: re-import <= 2 s, status <= 0.2 s, peak memory <= 128 MiB, first import <= 1.5 x (cp -r + sync).
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to a release build of model-sync}"
FILE_COUNT=${FILE_COUNT:-200000}
FILE_BYTES=${FILE_BYTES:-1024}
RUNS=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-"$here/data/files-${FILE_COUNT}x${FILE_BYTES}"}
work="$here/out/files"
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work" "$here/data"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
median() { python3 -c "import sys, statistics; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
report() { printf '%-62s %s\n' "$1" "$2"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Runs a command under GNU time; sets `wall` (s), `rss` (MiB) and `cpu` (user + system s).
timed() {
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@"
    set -- $(tail -n 1 "$work/time")
    wall=$1
    rss=$(python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$2")
    cpu=$(python3 -c "import sys; print(f'{float(sys.argv[1]) + float(sys.argv[2]):.2f}')" "$3" "$4")
}

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
echo "model-sync, $(find "$data" -type f | wc -l) files under $data, load average at start: $(load)"
sync

# The first import (into an empty store, + sync) against cp -r + sync of the same files, interleaved. Each
# side's output of the previous run is removed just before it runs again, never the other side's: creating
# files right after 200,000 were deleted is slower (on the development VM's ext4, perf shows the inode
# allocator's recently_deleted check as the top kernel cost), so removing the copy just before the import
# made the import pay for it.
store="$work/store"
copies="" imports="" ratios="" import_rss=0
run=1
while [ "$run" -le "$RUNS" ]; do
    rm -rf "$work/copy"; sync
    start=$(now); cp -r "$data" "$work/copy"; sync; end=$(now)
    copy=$(elapsed "$start" "$end")
    chmod -R u+w "$store" "$work/models" 2>/dev/null || true
    rm -rf "$store" "$work/models"; sync
    start=$(now)
    timed "$MODEL_SYNC" import "$data" --store "$store" --models-dir "$work/models" -q
    sync; end=$(now)
    import=$(elapsed "$start" "$end")
    report "run $run: cp -r + sync / first import + sync (peak RSS)" \
        "$copy s / $import s = $(ratio "$import" "$copy")  ($rss MiB, import CPU $cpu s, load $(load))"
    copies="$copies $copy" imports="$imports $import" ratios="$ratios $(ratio "$import" "$copy")"
    import_rss=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$import_rss" "$rss")
    run=$((run + 1))
done
rm -rf "$work/copy"

walls="" cpus=""
run=1
while [ "$run" -le "$RUNS" ]; do
    timed "$MODEL_SYNC" import "$data" --store "$store" --models-dir "$work/models" -q
    walls="$walls $wall" cpus="$cpus $cpu"
    run=$((run + 1))
done
reimport=$(median $walls)

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
timed "$MODEL_SYNC" fsck --store "$store" --models-dir "$work/models" -q
end=$(now)
fsck=$(elapsed "$start" "$end")
fsck_rss=$rss

echo "model-sync, $FILE_COUNT files of $FILE_BYTES bytes, $RUNS runs, load average at the end: $(load)"
report "first import + sync / (cp -r + sync), medians" \
    "$(median $imports) s / $(median $copies) s = $(ratio "$(median $imports)" "$(median $copies)")  (target <= 1.5; runs:$ratios)"
report "peak memory of the first import (largest of the runs)" "$import_rss MiB  (target <= 128)"
report "re-import of the unchanged folder, median" "$reimport s  (target <= 2; runs:$walls s; CPU:$cpus s)"
report "no-op import right after an import (racy-file rule)" "$racy s"
report "status with that set active" "$status s  (target <= 0.2)"
report "fsck (every object re-hashed), peak memory" "$fsck s, $fsck_rss MiB"
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
