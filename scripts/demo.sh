#!/bin/sh
# The whole story on an embedded default, in a temp directory that is removed afterwards: a bare git
# registry, a publisher that publishes v1, a client that pulls it, a retrained v2 published as a delta
# (one blob), pulled and activated atomically, a rollback to v1, then fsck and gc on both sides.
set -eu
: "${MODEL_SYNC:?set MODEL_SYNC to the model-sync binary}"
work=$(mktemp -d "${TMPDIR:-/tmp}/model-sync-demo.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
step() { printf '\n== %s\n' "$*"; }

step "a bare registry (any git host works: GitHub, Gitea, a path, git://)"
git init -q --bare -b main registry.git
ls registry.git

cat > publisher.yaml <<YAML
model_sync:
  models_dir: publisher/models
  repo_dir: publisher/registry      # cloned from repo_url on first use
  repo_url: "file://$work/registry.git"
  git: {author_name: "Demo Publisher", author_email: "publisher@example.invalid"}
  registry: {keep_manifests: 1}
YAML
cat > client.yaml <<YAML
bot:
  name: demo-bot          # other sections of the bot's config are ignored
model_sync:
  models_dir: client/models
  repo_dir: client/registry
  repo_url: "file://$work/registry.git"
  keep_generations: 3
  activation:
    health_check: "test -s {models_dir}/btc/model.onnx"
YAML

step "v1: the publisher's models folder, as training left it"
mkdir -p publisher/models/btc publisher/models/eth
head -c 3000000 /dev/urandom > publisher/models/btc/model.onnx
head -c 1000000 /dev/urandom > publisher/models/eth/model.onnx
echo '{"features": 42}' > publisher/models/btc/meta.json
ls -l publisher/models/*

step "publish v1: manifest + 3 blobs + channels/latest in one commit, pushed"
"$MODEL_SYNC" publish --config publisher.yaml

step "pull on the client: clone, verify every blob, activate generation 1"
"$MODEL_SYNC" pull --config client.yaml
ls -l client/models

step "v2: a retrain changes one model; publish sends only that blob"
head -c 3000000 /dev/urandom > publisher/models/btc/model.onnx
"$MODEL_SYNC" publish --config publisher.yaml
git -C registry.git log --stat --format='%h %s' -1 | cat

step "pull v2: one blob fetched, swapped in atomically; pulling again is up to date"
"$MODEL_SYNC" pull --config client.yaml
"$MODEL_SYNC" pull --config client.yaml

step "rollback on the client: back to the set that was active before"
"$MODEL_SYNC" rollback --config client.yaml
"$MODEL_SYNC" status --config client.yaml

step "history on the client"
"$MODEL_SYNC" log --config client.yaml

step "fsck: re-hash every object, check every generation; git fsck on the registry"
"$MODEL_SYNC" fsck --config client.yaml
git -C registry.git fsck --strict --no-dangling && echo "git fsck --strict: clean"

step "gc: the registry keeps the blobs of its last manifest (keep_manifests: 1), the client's store keeps retained sets"
"$MODEL_SYNC" gc --registry --config publisher.yaml
"$MODEL_SYNC" gc --dry-run --config client.yaml

printf '\ndemo finished: every step succeeded\n'
