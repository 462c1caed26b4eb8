#!/bin/sh
# Figures of the local store and of activation, each a ratio measured side by side in one run.
#   SIZE_MB (default 2048): total size of the generated set, in FILES (default 20) incompressible files.
#   SMALL_FILES (default 2000): files in the many-small-files set used for the per-1,000-files figure.
# Data goes under bench/data (ignored by git); it is generated once and reused.
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to a release build of model-sync (make bench does)}"
SIZE_MB=${SIZE_MB:-2048}
FILES=${FILES:-20}
SMALL_FILES=${SMALL_FILES:-2000}
here=$(cd "$(dirname "$0")" && pwd)
data="$here/data/set-${SIZE_MB}m-${FILES}"
small="$here/data/small-${SMALL_FILES}"
work="$here/out"
mkdir -p "$here/data"
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
peak_mib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'; }
report() { printf '%-58s %s\n' "$1" "$2"; }

if [ ! -d "$data" ]; then
    echo "generating $SIZE_MB MiB in $FILES files under $data"
    mkdir -p "$data.tmp"
    per=$((SIZE_MB / FILES))
    i=0
    while [ $i -lt $FILES ]; do
        mkdir -p "$data.tmp/model$((i % 4))"
        openssl rand -out "$data.tmp/model$((i % 4))/weights$i.bin" $((per * 1048576))
        i=$((i + 1))
    done
    mv "$data.tmp" "$data"
    sleep 3 # older than the stat cache's racy window, like yesterday's models
fi
if [ ! -d "$small" ]; then
    mkdir -p "$small.tmp"
    i=0
    while [ $i -lt "$SMALL_FILES" ]; do
        mkdir -p "$small.tmp/d$((i % 50))"
        head -c 4096 /dev/urandom > "$small.tmp/d$((i % 50))/f$i.bin"
        i=$((i + 1))
    done
    mv "$small.tmp" "$small"
    sleep 3 # older than the stat cache's racy window
fi
sync

echo "== store (issue: the local store)"
# Three rounds, alternating, medians: this VM's disk cache makes single timings swing by 2x.
median() { python3 -c "import sys, statistics; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
cp_times=""; import_times=""
for round in 1 2 3; do
    t0=$(now); cp -r "$data" "$work/cp-copy"; sync; t1=$(now)
    cp_times="$cp_times $(elapsed "$t0" "$t1")"
    rm -rf "$work/cp-copy"; sync
    chmod -R u+w "$work/store" 2>/dev/null || true; rm -rf "$work/store"; sync
    t0=$(now); "$MODEL_SYNC" import "$data" --store "$work/store" -q; sync; t1=$(now)
    import_times="$import_times $(elapsed "$t0" "$t1")"
done
cp_time=$(median $cp_times)
import_time=$(median $import_times)
report "cp -r + sync (s, median of$cp_times)" "$cp_time"
report "import into an empty store + sync (s, median of$import_times)" "$import_time"
report "import / (cp -r + sync)   [target <= 1.15]" "$(ratio "$import_time" "$cp_time")"

t0=$(now); "$MODEL_SYNC" import "$data" --store "$work/store" -q; t1=$(now)
report "re-import of the unchanged set (s)   [target < 0.2]" "$(elapsed "$t0" "$t1")"

t0=$(now); openssl dgst -sha256 "$data"/*/* > /dev/null; t1=$(now)
openssl_time=$(elapsed "$t0" "$t1")
t0=$(now); "$MODEL_SYNC" fsck --store "$work/store" --models-dir "$work/none" -q; t1=$(now)
fsck_time=$(elapsed "$t0" "$t1")
report "openssl dgst -sha256 over the files (s)" "$openssl_time"
report "fsck of the store (s)" "$fsck_time"
report "fsck throughput / openssl's   [target >= 1.7]" "$(ratio "$openssl_time" "$fsck_time")"

report "peak memory of import into a new store (MiB)   [< 64]" "$(peak_mib "$MODEL_SYNC" import "$data" --store "$work/store2" -q)"
report "peak memory of fsck (MiB)   [< 64]" "$(peak_mib "$MODEL_SYNC" fsck --store "$work/store" --models-dir "$work/none" -q)"
chmod -R u+w "$work/store2"; rm -rf "$work/store2"

echo "== activation (issue: atomic activation and rollback)"
digest=$("$MODEL_SYNC" import "$data" --store "$work/store")
t0=$(now); "$MODEL_SYNC" activate "$digest" --models-dir "$work/models" --store "$work/store" -q; t1=$(now)
report "activate $FILES files with hard links (s)" "$(elapsed "$t0" "$t1")"
small_digest=$("$MODEL_SYNC" import "$small" --store "$work/store")
t0=$(now); "$MODEL_SYNC" activate "$small_digest" --models-dir "$work/models" --store "$work/store" -q; t1=$(now)
small_time=$(elapsed "$t0" "$t1")
report "activate $SMALL_FILES small files with hard links (s)" "$small_time"
report "  per 1,000 files (s)   [target < 0.1]" "$(python3 -c "print(f'{$small_time * 1000 / $SMALL_FILES:.3f}')")"
t0=$(now); "$MODEL_SYNC" rollback --models-dir "$work/models" --store "$work/store" -q; t1=$(now)
report "rollback (ms)   [target < 50]" "$(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')")"

printf 'model_sync:\n  link_mode: copy\n' > "$work/copy.yaml"
sync
t0=$(now); cp -r "$data" "$work/cp-copy2"; sync; t1=$(now)
cp_time=$(elapsed "$t0" "$t1")
rm -rf "$work/cp-copy2"; sync
t0=$(now); "$MODEL_SYNC" activate "$digest" --force --config "$work/copy.yaml" --models-dir "$work/models" --store "$work/store" -q; sync; t1=$(now)
copy_time=$(elapsed "$t0" "$t1")
report "cp -r + sync (s)" "$cp_time"
report "activate with link_mode copy + sync (s)" "$copy_time"
report "copy speed / cp's   [target >= 0.8]" "$(ratio "$cp_time" "$copy_time")"

chmod -R u+w "$work"; rm -rf "$work"
