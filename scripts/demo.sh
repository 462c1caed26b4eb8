#!/bin/sh
# The main job end to end on an embedded default, in a temp directory that is removed afterwards:
# a models folder is imported and activated, a retrained v2 replaces it atomically, a rollback
# returns to v1, and fsck and gc check and tidy the store. Every step prints what it did.
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to the model-sync binary}"
work=$(mktemp -d "${TMPDIR:-/tmp}/model-sync-demo.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
step() { printf '\n== %s\n' "$*"; }

cat > bot.yaml <<'YAML'
bot:
  name: demo-bot          # other sections of the bot's config are ignored
model_sync:
  models_dir: models
  keep_generations: 3
  activation:
    health_check: "test -s {models_dir}/btc/model.onnx"
YAML

step "v1: the bot's models folder, as training left it"
mkdir -p models/btc models/eth
head -c 3000000 /dev/urandom > models/btc/model.onnx
head -c 1000000 /dev/urandom > models/eth/model.onnx
echo '{"features": 42}' > models/btc/meta.json
ls -l models/*

step "import v1 into the store (hashing every file once)"
v1=$("$MODEL_SYNC" import --config bot.yaml)
echo "$v1"

step "activate v1: models/ becomes a symlink to generation 1, swapped atomically"
"$MODEL_SYNC" activate "$v1" --config bot.yaml
ls -l models

step "v2: a retrain changes one model"
mkdir -p incoming && cp -r models/. incoming/ && chmod -R u+w incoming
head -c 3000000 /dev/urandom > incoming/btc/model.onnx
v2=$("$MODEL_SYNC" import incoming --config bot.yaml -v)
echo "$v2"
"$MODEL_SYNC" diff "$v1" "$(echo "$v2" | head -1)" --config bot.yaml

step "activate v2 (the health check runs against the new set)"
"$MODEL_SYNC" activate "$(echo "$v2" | head -1)" --config bot.yaml
"$MODEL_SYNC" status --config bot.yaml

step "rollback: back to the set that was active before"
"$MODEL_SYNC" rollback --config bot.yaml
"$MODEL_SYNC" status --config bot.yaml

step "history"
"$MODEL_SYNC" log --config bot.yaml

step "fsck: re-hash every object, check every generation"
"$MODEL_SYNC" fsck --config bot.yaml

step "gc: nothing is unreferenced yet (recent manifests are kept for gc.grace_sec)"
"$MODEL_SYNC" gc --dry-run --config bot.yaml

printf '\ndemo finished: every step succeeded\n'
