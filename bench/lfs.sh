#!/bin/sh
# Git LFS figures, side by side in one run, every peer on 127.0.0.1 against the same servers:
#   model-sync publish/pull through Git LFS (git.lfs: true) | the git-lfs CLI | DVC with a local remote |
#   model-sync publish to a registry on a local path.
# Servers: giftless (the LFS server, from PyPI, in a virtual environment) and `git http-backend` behind
# bench/git-http-server.py (the git remote). Data: v1 = 3 large files (0.25/0.29/0.33 of SIZE_MIB: 512, 594
# and 676 MiB at the default 2048) + 17 small ones; v2 = one large and three small files changed.
#
#   MODEL_SYNC=$PWD/.build/release/model-sync sh bench/lfs.sh               (SIZE_MIB=2048, RUNS=2)
#   MODEL_SYNC=... SIZE_MIB=256 RUNS=1 sh bench/lfs.sh                      (a quick run)
#
# Each step runs RUNS times on fresh servers and clients; the median wall time and peak RSS (GNU time, %M)
# are printed, with each ratio against its target. Virtual environments (giftless, DVC) are created under
# .build/ on the first run; GIFTLESS_VENV and DVC (a dvc executable) override them; GIFTLESS_RANGES=1 serves
# Range requests (below). LFS_CONCURRENCY sets
# git.lfs_concurrency (default: the binary's default). A binary without the `git.lfs` key prints "n/a" for
# the model-sync LFS steps. PATH_MODEL_SYNC runs the local-path rows with another binary. Work goes under bench/out/lfs, data under bench/data (both ignored by git).
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to a release build of model-sync}"
SIZE_MIB=${SIZE_MIB:-2048}
RUNS=${RUNS:-2}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
MODEL_SYNC=$(cd "$(dirname "$MODEL_SYNC")" && pwd)/$(basename "$MODEL_SYNC")
PATH_MODEL_SYNC=${PATH_MODEL_SYNC:-$MODEL_SYNC}  # the binary of the local-path rows (to compare two builds)
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
G="git -c user.name=Bench -c user.email=bench@example.invalid -c init.defaultBranch=main -c advice.detachedHead=false"

# --- tools: giftless and DVC in virtual environments
GIFTLESS_VENV=${GIFTLESS_VENV:-$root/.build/bench-giftless-venv}
if [ ! -x "$GIFTLESS_VENV/bin/waitress-serve" ]; then
    echo "installing giftless into $GIFTLESS_VENV"
    python3 -m venv "$GIFTLESS_VENV"
    # giftless 0.6.2 declares no dependencies: they are listed here (docs of the LFS test server).
    "$GIFTLESS_VENV/bin/pip" install -q giftless==0.6.2 waitress flask flask-marshmallow flask-classful \
        marshmallow-enum webargs pyyaml python-dotenv cachetools typing-extensions figcan pyjwt python-dateutil \
        cryptography importlib-metadata
fi
# GIFTLESS_RANGES=1: giftless 0.6.2 answers every GET with the whole body (200), ignoring Range; this serves
# ranges (206) as S3, GitHub's and GitLab's LFS storage do, with a copy of the venv whose download view is made
# conditional (werkzeug's make_conditional). Everything else about the server stays the same.
if [ "${GIFTLESS_RANGES:-0}" = 1 ]; then
    ranged="$GIFTLESS_VENV-ranges"
    if [ ! -x "$ranged/bin/waitress-serve" ]; then
        echo "copying $GIFTLESS_VENV to $ranged, serving Range"
        rm -rf "$ranged" && cp -a "$GIFTLESS_VENV" "$ranged"
        grep -l "$GIFTLESS_VENV" "$ranged"/bin/* | xargs sed -i "s#$GIFTLESS_VENV#$ranged#g"
        view=$(echo "$ranged"/lib/python3*/site-packages/giftless/transfer/basic_streaming.py)
        python3 - "$view" <<'PATCH'
import sys
path = sys.argv[1]
text = open(path).read()
old = "file, direct_passthrough=True, status=200, headers=headers\n            )"
assert old in text, "giftless's download view changed: patch it by hand"
text = text.replace(old, old + ".make_conditional(request, accept_ranges=True, "
                    "complete_length=self.storage.get_size(path, oid))")
open(path, "w").write(text)
PATCH
        rm -rf "$(dirname "$view")/__pycache__"
    fi
    GIFTLESS_VENV=$ranged
fi
dvc_venv
git lfs version >/dev/null 2>&1 || { echo "git-lfs is not installed (Debian package git-lfs)" >&2; exit 2; }

# --- data, generated once
two_versions "$SIZE_MIB"

# --- work directory, servers
work=$here/out/lfs
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work" && mkdir -p "$work/results" "$work/storage" "$work/git"
res=$work/results
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

secret=model-sync-bench-secret-0123456789abcdef
cat > "$work/giftless.yaml" <<YAML
AUTH_PROVIDERS:
  - factory: giftless.auth.jwt:factory
    options: {algorithm: HS256, private_key: "$secret"}
PRE_AUTHORIZED_ACTION_PROVIDER:
  factory: giftless.auth.jwt:factory
  options: {algorithm: HS256, private_key: "$secret", default_lifetime: 86400}
TRANSFER_ADAPTERS:
  basic:
    factory: giftless.transfer.basic_streaming:factory
    options:
      storage_class: giftless.storage.local_storage:LocalStorage
      storage_options: {path: "$work/storage"}
YAML
lfs_port=$(free_port)
GIFTLESS_CONFIG_FILE=$work/giftless.yaml "$GIFTLESS_VENV/bin/waitress-serve" --listen="127.0.0.1:$lfs_port" \
    --threads=16 --call giftless.app:init_app >"$work/giftless.log" 2>&1 &
pids="$pids $!"
python3 "$here/git-http-server.py" "$work/git" "$work/git-port" >"$work/git-http.log" 2>&1 &
pids="$pids $!"
token=$("$GIFTLESS_VENV/bin/python" -c "import jwt, time; print(jwt.encode({'sub': 'bench', 'name': 'bench', \
'exp': int(time.time()) + 86400, 'scopes': ['obj:bench/*']}, '$secret', algorithm='HS256'))")
export BENCH_LFS_TOKEN="$token"
for _ in $(seq 1 50); do [ -s "$work/git-port" ] && curl -s -o /dev/null "http://127.0.0.1:$lfs_port/" && break; sleep 0.2; done
git_port=$(cat "$work/git-port")
lfs_base=http://127.0.0.1:$lfs_port/bench
git_base=http://127.0.0.1:$git_port

# --- helpers
new_bare() { $G init -q --bare "$work/git/$1.git" && git -C "$work/git/$1.git" config http.receivepack true; }
new_lfs_repo() { mkdir -p "$work/storage/bench/$1"; }  # giftless races to create it on parallel first uploads

# Does this binary know git.lfs? A config naming it either parses or is refused as an unknown key.
cat > "$work/probe.yaml" <<YAML
model_sync:
  models_dir: $work/probe-models
  store_dir: $work/probe-store
  git: {lfs: true}
YAML
mkdir -p "$work/probe-models"
if "$MODEL_SYNC" status --config "$work/probe.yaml" 2>&1 | grep -q "unknown key"; then ms_lfs=no; else ms_lfs=yes; fi
[ "$ms_lfs" = yes ] || echo "note: $MODEL_SYNC does not know git.lfs; its LFS steps are n/a"
rm -rf "$work/probe-models" "$work/probe-store"

echo "data: 3 large files (${large1}, ${large2}, ${large3} MiB) + 17 x ${small} KiB; v2 changes ${changed} bytes; $RUNS run(s)"

run=1
while [ "$run" -le "$RUNS" ]; do
    echo "run $run/$RUNS"
    r=$work/run$run
    mkdir -p "$r"

    # --- the git-lfs CLI: add+commit (clean filter), `git lfs push`, then the pointer commit's git push
    name=gitlfs-$run
    new_bare "$name"; new_lfs_repo "$name"
    lfs_url="http://_jwt:$token@127.0.0.1:$lfs_port/bench/$name"
    $G init -q "$r/lfs-work"
    (cd "$r/lfs-work" && git lfs install --local >/dev/null && git lfs track '*.onnx' '*.bin' >/dev/null \
        && git remote add origin "$git_base/$name.git" && git config lfs.url "$lfs_url")
    cp -r "$v1/." "$r/lfs-work/"
    measure gitlfs-add1 sh -c "cd '$r/lfs-work' && $G add -A && $G commit -qm v1"
    measure gitlfs-push1 git -C "$r/lfs-work" lfs push origin main
    git -C "$r/lfs-work" push -q --no-verify origin main
    measure gitlfs-pull1 sh -c "GIT_LFS_SKIP_SMUDGE=1 $G clone -q '$git_base/$name.git' '$r/lfs-client' \
        && cd '$r/lfs-client' && git lfs install --local >/dev/null && git config lfs.url '$lfs_url' && git lfs pull"
    (cd "$r/lfs-client" && sha256sum big/* small/* >/dev/null)
    cp -r "$v2/." "$r/lfs-work/"
    measure gitlfs-add2 sh -c "cd '$r/lfs-work' && $G add -A && $G commit -qm v2"
    s0=$(bytes_in "$work/storage/bench/$name"); g0=$(bytes_in "$work/git/$name.git/objects")
    measure gitlfs-push2 git -C "$r/lfs-work" lfs push origin main
    git -C "$r/lfs-work" push -q --no-verify origin main
    record gitlfs-up2 $(( $(bytes_in "$work/storage/bench/$name") - s0 ))
    record gitlfs-git2 $(( $(bytes_in "$work/git/$name.git/objects") - g0 ))
    measure gitlfs-pull2 sh -c "cd '$r/lfs-client' && GIT_LFS_SKIP_SMUDGE=1 $G pull -q origin main && git lfs pull"
    cmp "$r/lfs-client/big/model2.onnx" "$v2/big/model2.onnx"
    rm -rf "$r/lfs-work" "$r/lfs-client" "$work/storage/bench/$name" "$work/git/$name.git"

    # --- model-sync through Git LFS, against the same servers
    if [ "$ms_lfs" = yes ]; then
        name=ms-$run
        new_bare "$name"; new_lfs_repo "$name"
        concurrency=${LFS_CONCURRENCY:+", lfs_concurrency: $LFS_CONCURRENCY"}
        for side in pub client; do
            cat > "$r/$side.yaml" <<YAML
model_sync:
  models_dir: $r/$side-models
  store_dir: $r/$side-store
  repo_dir: $r/$side-repo
  repo_url: "$git_base/$name.git"
  git: {lfs: true, lfs_url: "$lfs_base/$name", username: _jwt, token_env: BENCH_LFS_TOKEN,
        author_name: Bench, author_email: bench@example.invalid$concurrency}
YAML
        done
        mkdir -p "$r/pub-models" && cp -r "$v1/." "$r/pub-models/"
        measure ms-publish1 "$MODEL_SYNC" publish --config "$r/pub.yaml" -q
        measure ms-pull1 "$MODEL_SYNC" pull --config "$r/client.yaml" -q
        rm -rf "$r/pub-models" && mkdir -p "$r/pub-models" && cp -r "$v2/." "$r/pub-models/"
        s0=$(bytes_in "$work/storage/bench/$name"); g0=$(bytes_in "$work/git/$name.git/objects")
        measure ms-publish2 "$MODEL_SYNC" publish --config "$r/pub.yaml" -q
        record ms-up2 $(( $(bytes_in "$work/storage/bench/$name") - s0 ))
        record ms-git2 $(( $(bytes_in "$work/git/$name.git/objects") - g0 ))
        measure ms-pull2 "$MODEL_SYNC" pull --config "$r/client.yaml" -q
        cmp "$r/client-models/big/model2.onnx" "$v2/big/model2.onnx"
        chmod -R u+w "$r" 2>/dev/null || true
        rm -rf "$r/pub-"* "$r/client-"* "$work/storage/bench/$name" "$work/git/$name.git"
    fi

    # --- DVC with a local remote (no network at all)
    dvc_steps "$r"
    chmod -R u+w "$r" 2>/dev/null || true
    rm -rf "$r/dvc-"*

    # --- model-sync to a registry on a local path (no LFS)
    $G init -q --bare "$r/path-registry.git"
    for side in pub client; do
        cat > "$r/path-$side.yaml" <<YAML
model_sync:
  models_dir: $r/path-$side-models
  store_dir: $r/path-$side-store
  repo_dir: $r/path-$side-repo
  repo_url: "$r/path-registry.git"
  git: {author_name: Bench, author_email: bench@example.invalid}
YAML
    done
    mkdir -p "$r/path-pub-models" && cp -r "$v1/." "$r/path-pub-models/"
    measure path-publish1 "$PATH_MODEL_SYNC" publish --config "$r/path-pub.yaml" -q
    measure path-pull1 "$PATH_MODEL_SYNC" pull --config "$r/path-client.yaml" -q
    chmod -R u+w "$r" 2>/dev/null || true
    rm -rf "$r"
    run=$((run + 1))
done

# --- report

echo
echo "medians of $RUNS run(s), seconds (peak RSS MiB)"
for step in gitlfs-add1 gitlfs-push1 gitlfs-pull1 gitlfs-add2 gitlfs-push2 gitlfs-pull2 \
            ms-publish1 ms-pull1 ms-publish2 ms-pull2 dvc-add1 dvc-push1 dvc-pull1 dvc-add2 dvc-push2 dvc-pull2 \
            path-publish1 path-pull1; do
    t=$(med "$step")
    if [ "$t" = n/a ]; then row "$step" n/a; else row "$step" "$t s ($(mib "$step") MiB)"; fi
done
echo
echo "figures against their targets"
row "publish v1 / git lfs push v1" "$(ratio "$(med ms-publish1)" "$(med gitlfs-push1)" '<= 0.7')"
row "  (publish v1 / (git add+commit + lfs push))" "$(ratio "$(med ms-publish1)" \
    "$(python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$(med gitlfs-add1)" "$(med gitlfs-push1)")" '')"
row "pull v1 / (git clone + git lfs pull)" "$(ratio "$(med ms-pull1)" "$(med gitlfs-pull1)" '<= 0.7')"
row "publish v2 / git lfs push v2" "$(ratio "$(med ms-publish2)" "$(med gitlfs-push2)" '<= 0.7')"
row "pull v2 / (git pull + git lfs pull)" "$(ratio "$(med ms-pull2)" "$(med gitlfs-pull2)" '<= 0.7')"
row "publish v1 / dvc push v1" "$(ratio "$(med ms-publish1)" "$(med dvc-push1)" '<= 1.5')"
row "pull v1 / dvc pull v1" "$(ratio "$(med ms-pull1)" "$(med dvc-pull1)" '<= 1.5')"
row "publish v2 / dvc push v2" "$(ratio "$(med ms-publish2)" "$(med dvc-push2)" '<= 1.5')"
row "pull v2 / dvc pull v2" "$(ratio "$(med ms-pull2)" "$(med dvc-pull2)" '<= 1.5')"
row "uploaded for v2 / changed bytes" "$(ratio "$(med ms-up2)" "$changed" '<= 1.02')"
row "  (git-lfs: uploaded for v2 / changed)" "$(ratio "$(med gitlfs-up2)" "$changed" '')"
row "git push for v2, bytes" "$(med ms-git2 | cut -d. -f1) (< 65536; git-lfs: $(med gitlfs-git2 | cut -d. -f1))"
peak=n/a
if [ "$ms_lfs" = yes ]; then
    peak=$(for s in ms-publish1 ms-pull1 ms-publish2 ms-pull2; do mib "$s"; done | sort -n | tail -1)
fi
row "peak RSS of LFS publish and pull, MiB" "$peak (< 64)"
row "path registry: publish v1 / dvc push v1" "$(ratio "$(med path-publish1)" "$(med dvc-push1)" '<= 1.5')"
row "  (publish v1 / (dvc add + dvc push))" "$(ratio "$(med path-publish1)" \
    "$(sum "$(med dvc-add1)" "$(med dvc-push1)")" '')"
