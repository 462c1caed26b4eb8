#!/bin/sh
# OCI registry figures, side by side in one run, every peer on 127.0.0.1 against its own CNCF distribution
# registry (Debian's docker-registry, filesystem storage, plain HTTP):
#   model-sync publish/pull (model_sync.oci.reference) | the oras Python SDK's push/pull of the same files |
#   DVC with a local remote | a fleet of FLEET clients pulling v2 from one registry at once.
# Data: the set of bench/lfs.sh (shared with it under bench/data): v1 = 3 large files (0.25/0.29/0.33 of
# SIZE_MIB) + 17 small ones; v2 = one large and three small files changed.
#
#   MODEL_SYNC=$PWD/.build/release/model-sync sh bench/oci.sh               (SIZE_MIB=2048, RUNS=2, FLEET=20)
#   MODEL_SYNC=... SIZE_MIB=128 RUNS=1 FLEET=5 sh bench/oci.sh              (a quick run)
#
# SIZE_MB is read when SIZE_MIB is not set (make bench's name). Each step runs RUNS times on fresh registries
# and clients after a `sync`; medians of wall time and peak RSS (GNU time, %M) are printed with each ratio
# against its target. Bytes uploaded for v2 are the growth of the registry's blob storage; bytes served to the
# fleet are summed from the registry's log (http.response.written of each blob GET). The fleet's clients start
# from the v1 state (hard links of one client's objects, copies of its index) and pull v2 at once, so the disk
# needs about FLEET x (changed bytes) beside the set. The oras SDK comes from `make oci-venv` (ORAS_VENV
# overrides), DVC from the venv bench/lfs.sh makes (DVC overrides). OCI_CONCURRENCY sets oci.concurrency.
# Work goes under bench/out/oci, data under bench/data (both ignored by git).
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to a release build of model-sync}"
SIZE_MIB=${SIZE_MIB:-${SIZE_MB:-2048}}
RUNS=${RUNS:-2}
FLEET=${FLEET:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
MODEL_SYNC=$(cd "$(dirname "$MODEL_SYNC")" && pwd)/$(basename "$MODEL_SYNC")
REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
G="git -c user.name=Bench -c user.email=bench@example.invalid -c init.defaultBranch=main"

# --- tools
[ -x "$REGISTRY" ] || { echo "docker-registry is not installed (Debian package docker-registry)" >&2; exit 2; }
ORAS_VENV=${ORAS_VENV:-$root/.build/oci-venv}
if [ ! -x "$ORAS_VENV/bin/python" ] || ! "$ORAS_VENV/bin/python" -c "import oras" 2>/dev/null; then
    echo "installing the oras SDK into $ORAS_VENV"
    make -C "$root" oci-venv OCI_VENV="$ORAS_VENV" >/dev/null
fi
ORAS="$ORAS_VENV/bin/python $root/Fixtures/oci/oras_files.py"
dvc_venv

# --- data, generated once (the same set as bench/lfs.sh)
two_versions "$SIZE_MIB"

# --- work directory
work=$here/out/oci
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work" && mkdir -p "$work/results"
res=$work/results
server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# start_registry NAME: a fresh registry with its storage under $work/NAME; sets reg (host:port), reg_dir, reg_log.
start_registry() {
    reg_dir=$work/$1
    rm -rf "$reg_dir" && mkdir -p "$reg_dir/storage"
    port=$(free_port)
    reg=127.0.0.1:$port
    reg_log=$reg_dir/registry.log
    cat > "$reg_dir/config.yml" <<YAML
version: 0.1
log: {level: info, formatter: text, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: "$reg_dir/storage"}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "$reg", secret: bench-secret}
YAML
    "$REGISTRY" serve "$reg_dir/config.yml" >"$reg_log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://$reg/v2/" && return 0; sleep 0.1; done
    echo "the registry did not start:" >&2; tail -5 "$reg_log" >&2; exit 1
}
stop_registry() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

blob_bytes() { bytes_in "$reg_dir/storage/docker/registry/v2/blobs"; }
# served_since OFFSET: "bytes copies digest" of the blob GETs logged after byte OFFSET of the log: the bytes served,
# and for the most served blob how many copies of it went out (its bytes served / its size: the ranged GETs of a
# segmented download add up to one copy).
served_since() {
    tail -c +"$(( $1 + 1 ))" "$reg_log" | BLOBS="$reg_dir/storage/docker/registry/v2/blobs/sha256" python3 -c '
import collections, os, re, sys
served, per_blob = 0, collections.Counter()
for line in sys.stdin:
    if "response completed" not in line or "http.request.method=GET" not in line:
        continue
    uri = re.search(r"http\.request\.uri=\"?([^\" ]+)", line)
    written = re.search(r"http\.response\.written=(\d+)", line)
    if uri and written and "/blobs/sha256:" in uri.group(1):
        served += int(written.group(1))
        per_blob[uri.group(1).rsplit("/", 1)[-1]] += int(written.group(1))
copies, top = 0.0, "-"
for digest, count in per_blob.items():
    hexdigest = digest.split(":", 1)[-1]
    size = os.path.getsize(os.path.join(os.environ["BLOBS"], hexdigest[:2], hexdigest, "data"))
    if size and count / size > copies:
        copies, top = count / size, digest
print(served, f"{copies:.2f}", top)'
}
ms_config() { # ms_config FILE MODELS STORE: a model-sync configuration for the current registry
    cat > "$1" <<YAML
model_sync:
  models_dir: $2
  store_dir: $3
  oci: {reference: "$reg/bench/models"${OCI_CONCURRENCY:+, concurrency: $OCI_CONCURRENCY}}
YAML
}

echo "data: 3 large files (${large1}, ${large2}, ${large3} MiB) + 17 x ${small} KiB; v2 changes ${changed} bytes;" \
    "$RUNS run(s); fleet of $FLEET"

run=1
while [ "$run" -le "$RUNS" ]; do
    echo "run $run/$RUNS"
    r=$work/run$run
    mkdir -p "$r"

    # --- model-sync: publish v1, pull into an empty client, publish v2, pull v2
    start_registry ms-registry
    ms_config "$r/pub.yaml" "$r/pub-models" "$r/pub-store"
    ms_config "$r/client.yaml" "$r/client-models" "$r/client-store"
    mkdir -p "$r/pub-models" && cp -r "$v1/." "$r/pub-models/"
    measure ms-publish1 "$MODEL_SYNC" publish --config "$r/pub.yaml" -q
    measure ms-pull1 "$MODEL_SYNC" pull --config "$r/client.yaml" -q
    # The fleet starts from this v1 client (hard links: the pull of v2 below must not change it).
    mkdir -p "$r/fleet-base" && cp -al "$r/client-models" "$r/client-store" "$r/fleet-base/"
    for f in "$r/fleet-base/client-store/"*; do
        if [ -f "$f" ]; then cp -p "$f" "$f.own" && mv -f "$f.own" "$f"; fi
    done
    rm -rf "$r/pub-models" && mkdir -p "$r/pub-models" && cp -r "$v2/." "$r/pub-models/"
    b0=$(blob_bytes)
    measure ms-publish2 "$MODEL_SYNC" publish --config "$r/pub.yaml" -q
    record ms-up2 $(( $(blob_bytes) - b0 ))
    measure ms-pull2 "$MODEL_SYNC" pull --config "$r/client.yaml" -q
    cmp "$r/client-models/big/model2.onnx" "$v2/big/model2.onnx"
    cmp "$r/client-models/small/part9.bin" "$v2/small/part9.bin"

    # --- the fleet: FLEET clients at v1 pull v2 at once from this registry
    i=1
    while [ "$i" -le "$FLEET" ]; do
        c=$r/fleet/$i
        mkdir -p "$c"
        # Objects and generation files are immutable (read-only, replaced by rename, never written in place): they
        # are shared by hard links. The index, its journal, the lock files and anything in incoming/ or tmp/ get
        # their own copy. The names stay those of the v1 client: models is a relative symlink into the store.
        cp -al "$r/fleet-base/client-models" "$r/fleet-base/client-store" "$c/"
        find "$c/client-store" \( -path "$c/client-store/objects" -o -path "$c/client-store/generations" \) -prune \
            -o -type f -print | while read -r f; do
            cp -p "$f" "$f.own" && mv -f "$f.own" "$f"
        done
        ms_config "$c/client.yaml" "$c/client-models" "$c/client-store"
        i=$((i + 1))
    done
    sync
    offset=$(wc -c < "$reg_log")
    start=$(date +%s.%N)
    i=1; fleet_pids=""
    while [ "$i" -le "$FLEET" ]; do
        "$MODEL_SYNC" pull --config "$r/fleet/$i/client.yaml" -q >"$r/fleet/$i.log" 2>&1 &
        fleet_pids="$fleet_pids $!"
        i=$((i + 1))
    done
    failed=0
    for pid in $fleet_pids; do wait "$pid" || failed=$((failed + 1)); done
    record fleet-wall "$(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")"
    record fleet-failed "$failed"
    set -- $(served_since "$offset")
    record fleet-served "$1"
    record fleet-max-copies "$2"
    record fleet-max-blob "$3"
    i=1
    while [ "$i" -le "$FLEET" ]; do
        cmp "$r/fleet/$i/client-models/big/model2.onnx" "$v2/big/model2.onnx" || failed=$((failed + 1))
        i=$((i + 1))
    done
    [ "$failed" = 0 ] || echo "fleet: $failed client(s) failed or pulled wrong bytes; see $r/fleet/*.log" >&2
    # Each client lacks the changed files' blobs and the new config blob (the model-sync manifest) only.
    config_size=$(curl -s "http://$reg/v2/bench/models/manifests/latest" \
        -H "Accept: application/vnd.oci.image.manifest.v1+json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["size"])')
    record fleet-expected $(( FLEET * (changed + config_size) ))
    chmod -R u+w "$r" 2>/dev/null || true
    rm -rf "$r/fleet" "$r/fleet-base" "$r/pub-"* "$r/client-"*
    stop_registry

    # --- the oras SDK: push v1, pull into an empty folder, push v2 (it skips blobs the registry has), pull v2
    start_registry oras-registry
    ref=$reg/bench/models:latest
    measure oras-push1 $ORAS push "$ref" "$v1" --insecure
    measure oras-pull1 $ORAS pull "$ref" "$r/oras-out1" --insecure
    b0=$(blob_bytes)
    measure oras-push2 $ORAS push "$ref" "$v2" --insecure
    record oras-up2 $(( $(blob_bytes) - b0 ))
    measure oras-pull2 $ORAS pull "$ref" "$r/oras-out1" --insecure
    cmp "$r/oras-out1/big/model2.onnx" "$v2/big/model2.onnx"
    rm -rf "$r/oras-out1"
    stop_registry

    # --- DVC with a local remote (no network at all)
    dvc_steps "$r"
    chmod -R u+w "$r" 2>/dev/null || true
    rm -rf "$r"
    run=$((run + 1))
done

# --- report

echo
echo "medians of $RUNS run(s): wall s (peak RSS MiB; CPU s user + system; the registry's CPU s meanwhile)"
for step in ms-publish1 ms-pull1 ms-publish2 ms-pull2 oras-push1 oras-pull1 oras-push2 oras-pull2 \
            dvc-add1 dvc-push1 dvc-pull1 dvc-add2 dvc-push2 dvc-pull2; do
    t=$(med "$step")
    if [ "$t" = n/a ]; then row "$step" n/a; else
        row "$step" "$t s ($(mib "$step") MiB; $(med "$step" 3) + $(med "$step" 4); registry $(med "$step" 5))"; fi
done
echo
echo "figures against their targets"
row "publish v1 / oras push v1" "$(ratio "$(med ms-publish1)" "$(med oras-push1)" '<= 0.7')"
row "pull v1 / oras pull v1" "$(ratio "$(med ms-pull1)" "$(med oras-pull1)" '<= 0.7')"
row "publish v2 / oras push v2" "$(ratio "$(med ms-publish2)" "$(med oras-push2)" '<= 0.7')"
row "pull v2 / oras pull v2" "$(ratio "$(med ms-pull2)" "$(med oras-pull2)" '<= 0.7')"
row "publish v1 / dvc push v1" "$(ratio "$(med ms-publish1)" "$(med dvc-push1)" '<= 1.5')"
row "pull v1 / dvc pull v1" "$(ratio "$(med ms-pull1)" "$(med dvc-pull1)" '<= 1.5')"
row "publish v2 / dvc push v2" "$(ratio "$(med ms-publish2)" "$(med dvc-push2)" '<= 1.5')"
row "pull v2 / dvc pull v2" "$(ratio "$(med ms-pull2)" "$(med dvc-pull2)" '<= 1.5')"
row "  (publish v1 / dvc add + push v1)" "$(ratio "$(med ms-publish1)" "$(sum "$(med dvc-add1)" "$(med dvc-push1)")" 'publish hashes and stores too')"
row "  (publish v2 / dvc add + push v2)" "$(ratio "$(med ms-publish2)" "$(sum "$(med dvc-add2)" "$(med dvc-push2)")" '')"
cores=$(nproc)
row "registry CPU s while publish v1; oras push v1" "$(med ms-publish1 5); $(med oras-push1 5) (/ $cores cores: a floor for both)"
row "uploaded for v2 / changed bytes" "$(ratio "$(med ms-up2)" "$changed" '<= 1.02')"
row "  (oras: uploaded for v2 / changed)" "$(ratio "$(med oras-up2)" "$changed" '')"
peak=$(for s in ms-publish1 ms-pull1 ms-publish2 ms-pull2; do mib "$s"; done | sort -n | tail -1)
row "peak RSS of publish and pull, MiB" "$peak (< 64)"
row "fleet: $FLEET clients pull v2 at once, s" "$(med fleet-wall) (failed: $(med fleet-failed))"
row "fleet: bytes served / expected" "$(ratio "$(med fleet-served)" "$(med fleet-expected)" '<= 1.0: each blob once per client')"
row "  (served beyond that, bytes)" "$(python3 -c "import sys; print(int(float(sys.argv[1]) - float(sys.argv[2])))" "$(med fleet-served)" "$(med fleet-expected)") (0)"
row "fleet: copies served of the most served blob" "$(med fleet-max-copies) (<= $FLEET: $(tail -1 "$res/fleet-max-blob"))"
