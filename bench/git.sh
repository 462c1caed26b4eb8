#!/bin/sh
# Git registry figures of issue 4, side by side in one run, on generated incompressible data:
# v1 = 3 large files (together ~85% of SIZE_MIB) + 17 small ones; v2 = one large and three small changed.
#   MODEL_SYNC=.build/release/model-sync SIZE_MIB=2048 sh bench/git.sh      (default SIZE_MIB=256)
# Prints seconds, the bytes pushed for v2 against the changed bytes, and peak RSS (GNU time).
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
