#!/bin/sh
# Git registry figures of issue 4, side by side in one run, on generated incompressible data:
# v1 = 3 large files (together ~85% of SIZE_MIB) + 17 small ones; v2 = one large and three small changed.
#   MODEL_SYNC=.build/release/model-sync SIZE_MIB=2048 sh bench/git.sh      (default SIZE_MIB=256)
# Prints seconds, the bytes pushed for v2 against the changed bytes, and peak RSS (GNU time).
# With DVC=path/to/dvc (pip install dvc), also DVC's add+push and pull from a local remote, as the issue compares.
# A second registry served by `git daemon` on 127.0.0.1 measures the pack a network push of v2 sends.
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to the model-sync binary (a release build)}"
SIZE_MIB=${SIZE_MIB:-256}
work=$(mktemp -d "${TMPDIR:-/tmp}/model-sync-bench-git.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
G="git -c user.name=Bench -c user.email=bench@example.invalid -c init.defaultBranch=main"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
peak() { # peak RSS in MiB of a command: peak FILE CMD...
    out=$1; shift
    /usr/bin/time -f %M -o "$out" "$@" >/dev/null
    echo "$(( $(cat "$out") / 1024 ))"
}

large=$(( SIZE_MIB * 85 / 100 / 3 ))          # MiB per large file
small=$(( SIZE_MIB * 15 / 100 * 1024 / 17 ))  # KiB per small file
gen() { # gen DIR SEED: the model set
    mkdir -p "$1/big" "$1/small"
    for i in 1 2 3; do openssl enc -aes-128-ctr -pass pass:"$2-big-$i" -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c $(( large << 20 )) > "$1/big/model$i.onnx"; done
    for i in $(seq 1 17); do openssl enc -aes-128-ctr -pass pass:"$2-small-$i" -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c $(( small << 10 )) > "$1/small/part$i.bin"; done
}
echo "data: 3 x ${large} MiB + 17 x ${small} KiB (SIZE_MIB=$SIZE_MIB)"
gen v1 seed1
mkdir -p v2 && cp -r v1/. v2/
openssl enc -aes-128-ctr -pass pass:v2-big -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c $(( large << 20 )) > v2/big/model2.onnx
for i in 4 9 13; do openssl enc -aes-128-ctr -pass pass:v2-small-$i -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c $(( small << 10 )) > v2/small/part$i.bin; done
changed=$(( (large << 20) + 3 * (small << 10) ))
sync

# --- git CLI at its defaults: add + commit + push, then clone over file://
$G init -q --bare cli.git
$G init -q cli-work && $G -C cli-work remote add origin "$work/cli.git"
cp -r v1/. cli-work/
t0=$(now); $G -C cli-work add -A; $G -C cli-work commit -qm v1; t1=$(now)
$G -C cli-work push -q origin main; t2=$(now)
git_add=$(elapsed "$t0" "$t1"); git_push=$(elapsed "$t1" "$t2")
t0=$(now); $G clone -q "file://$work/cli.git" cli-clone; t1=$(now); git_clone=$(elapsed "$t0" "$t1")

# --- model-sync
$G init -q --bare registry.git
cat > pub.yaml <<YAML
model_sync:
  models_dir: $work/pub-models
  store_dir: $work/pub-store
  repo_dir: $work/pub-repo
  repo_url: "file://$work/registry.git"
  git: {author_name: Bench, author_email: bench@example.invalid}
YAML
cat > cli.yaml <<YAML
model_sync:
  models_dir: $work/client-models
  store_dir: $work/client-store
  repo_dir: $work/client-repo
  repo_url: "file://$work/registry.git"
YAML
mkdir pub-models && cp -r v1/. pub-models/
t0=$(now); pub_mem=$(peak mem1 "$MODEL_SYNC" publish --config pub.yaml -q); t1=$(now); ms_publish=$(elapsed "$t0" "$t1")
t0=$(now); pull_mem=$(peak mem2 "$MODEL_SYNC" pull --config cli.yaml -q); t1=$(now); ms_pull=$(elapsed "$t0" "$t1")

rm -rf pub-models && mkdir pub-models && cp -r v2/. pub-models/
before=$(du -sb registry.git/objects | cut -f1)
t0=$(now); pub2_mem=$(peak mem3 "$MODEL_SYNC" publish --config pub.yaml -q); t1=$(now); ms_publish2=$(elapsed "$t0" "$t1")
after=$(du -sb registry.git/objects | cut -f1)
t0=$(now); pull2_mem=$(peak mem4 "$MODEL_SYNC" pull --config cli.yaml -q); t1=$(now); ms_pull2=$(elapsed "$t0" "$t1")
$G -C registry.git fsck --strict --no-dangling >/dev/null && fsck=clean || fsck=FAILED

# --- the same v2 publish to a network remote (git daemon on 127.0.0.1): the pack it receives
$G init -q --bare net/registry.git
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --reuseaddr --base-path="$work/net" --export-all --enable=receive-pack --listen=127.0.0.1 --port="$port" "$work/net" &
daemon_pid=$!
trap 'kill $daemon_pid 2>/dev/null; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
cat > net.yaml <<YAML
model_sync:
  models_dir: $work/net-models
  store_dir: $work/net-store
  repo_dir: $work/net-repo
  repo_url: "git://127.0.0.1:$port/registry.git"
  git: {author_name: Bench, author_email: bench@example.invalid}
YAML
mkdir net-models && cp -r v1/. net-models/
t0=$(now); "$MODEL_SYNC" publish --config net.yaml -q; t1=$(now); net_publish=$(elapsed "$t0" "$t1")
packs_before=$(find net/registry.git/objects -type f | xargs cat | wc -c)
rm -rf net-models && mkdir net-models && cp -r v2/. net-models/
t0=$(now); "$MODEL_SYNC" publish --config net.yaml -q; t1=$(now); net_publish2=$(elapsed "$t0" "$t1")
packs_after=$(find net/registry.git/objects -type f | xargs cat | wc -c)
net_sent=$(( packs_after - packs_before ))
kill $daemon_pid 2>/dev/null || true

# --- DVC with a local remote, when available
if [ -n "${DVC:-}" ]; then
    mkdir dvc-work dvc-remote
    (cd dvc-work && $G init -q && "$DVC" init -q && "$DVC" remote add -q -d store "$work/dvc-remote" \
        && $G add -A && $G commit -qm init)
    cp -r v1 dvc-work/models
    t0=$(now); (cd dvc-work && "$DVC" add -q models && $G add -A && $G commit -qm v1); t1=$(now)
    (cd dvc-work && "$DVC" push -q); t2=$(now)
    dvc_add=$(elapsed "$t0" "$t1"); dvc_push=$(elapsed "$t1" "$t2")
    $G clone -q dvc-work dvc-client
    t0=$(now); (cd dvc-client && "$DVC" pull -q); t1=$(now); dvc_pull=$(elapsed "$t0" "$t1")
    rm -rf dvc-work/models && cp -r v2 dvc-work/models
    (cd dvc-work && "$DVC" add -q models && $G add -A && $G commit -qm v2 && "$DVC" push -q)
    t0=$(now); (cd dvc-client && $G pull -q && "$DVC" pull -q); t1=$(now); dvc_pull2=$(elapsed "$t0" "$t1")
fi

sent=$(( after - before ))
packs=$(find registry.git/objects/pack -name '*.pack' | wc -l)
echo
echo "git CLI: add+commit ${git_add}s, push ${git_push}s, clone ${git_clone}s"
echo "model-sync publish v1 (empty registry): ${ms_publish}s, peak ${pub_mem} MiB"
echo "model-sync pull v1 (empty client):      ${ms_pull}s, peak ${pull_mem} MiB"
echo "model-sync publish v2:                  ${ms_publish2}s, peak ${pub2_mem} MiB"
echo "model-sync pull v2:                     ${ms_pull2}s, peak ${pull2_mem} MiB"
echo "v2 pushed ${sent} bytes for ${changed} changed bytes: $(echo "scale=3; $sent / $changed" | bc) x"
echo "publish / (git add+commit+push): $(echo "scale=3; $ms_publish / ($git_add + $git_push)" | bc)"
echo "pull / git clone:                $(echo "scale=3; $ms_pull / $git_clone" | bc)"
echo "largest file: ${large} MiB; git fsck --strict of the registry: $fsck; packs in the registry: $packs"
echo "network remote (git daemon): publish v1 ${net_publish}s, v2 ${net_publish2}s; v2 pack ${net_sent} bytes for ${changed} changed: $(echo "scale=3; $net_sent / $changed" | bc) x"
if [ -n "${DVC:-}" ]; then
    echo "DVC: add ${dvc_add}s + push ${dvc_push}s; pull into a fresh clone ${dvc_pull}s; pull v2 ${dvc_pull2}s"
    echo "pull / dvc pull:                 $(echo "scale=3; $ms_pull / $dvc_pull" | bc)"
    echo "pull v2 / dvc pull v2:           $(echo "scale=3; $ms_pull2 / $dvc_pull2" | bc)"
    echo "publish / (dvc add + push):      $(echo "scale=3; $ms_publish / ($dvc_add + $dvc_push)" | bc)"
fi
