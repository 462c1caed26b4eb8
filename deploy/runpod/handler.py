"""RunPod serverless worker for model-sync: train, pack a delta archive, hand it back.

The worker runs only the configured training command (never the trading bot), then
`model-sync pack` with the client's `have` list, so the archive carries the manifest and only the blobs
the client lacks. The archive travels inline as `archive_base64` while its encoded form stays under
8 MB (RunPod caps payloads at 10 MB), otherwise through the bucket configured by RunPod's BUCKET_*
variables (the SDK's upload helper returns a presigned URL).

Job input (what runpod-pull sends): {"model_sync": {"protocol": 1, "have": ["sha256:…", …]}, …}
Output: {"archive_url" | "archive_base64", "archive_sha256", "archive_size", "manifest", "objects"}

Configuration (environment of the worker, never the job input, so a caller cannot choose the command):
  MODEL_SYNC_TRAIN_COMMAND      shell command that writes the models folder (required; "" skips training)
  MODEL_SYNC_TRAIN_TIMEOUT_SEC  its time limit [3600]
  MODEL_SYNC_MODELS_DIR         the folder it writes [/workspace/models]
  MODEL_SYNC_BINARY             the model-sync executable [model-sync]
  MODEL_SYNC_INLINE_LIMIT       largest base64 text returned inline, in bytes [8000000]
  BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY   RunPod's bucket settings (all three)

Run locally: python handler.py --rp_serve_api, then POST http://localhost:8000/runsync {"input": {}}.
"""
import base64
import json
import os
import subprocess
import tempfile

import runpod

PROTOCOL = 1
BUCKET_VARIABLES = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")


def _setting(name, default=None):
    value = os.environ.get(name)
    return default if value is None else value


def train():
    """Runs the configured training command; raises with its output's tail when it fails."""
    command = _setting("MODEL_SYNC_TRAIN_COMMAND")
    if command is None:
        raise RuntimeError("MODEL_SYNC_TRAIN_COMMAND is not set: the worker needs the training command")
    if command.strip() == "":
        return
    timeout = float(_setting("MODEL_SYNC_TRAIN_TIMEOUT_SEC", "3600"))
    try:
        result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError("the training command did not finish within %g s" % timeout) from error
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-2000:]
        raise RuntimeError("the training command exited with status %d: %s" % (result.returncode, tail))


def pack(have, directory):
    """Runs `model-sync pack`; returns its --json fields."""
    have_path = os.path.join(directory, "have.json")
    with open(have_path, "w") as handle:
        json.dump(have, handle)
    archive_path = os.path.join(directory, "models.zip")
    command = [_setting("MODEL_SYNC_BINARY", "model-sync"), "pack",
               "--models-dir", _setting("MODEL_SYNC_MODELS_DIR", "/workspace/models"),
               "--archive-path", archive_path, "--have", have_path, "--json", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError("model-sync pack exited with status %d: %s" % (result.returncode, result.stderr[-2000:]))
    return json.loads(result.stdout)


def deliver(packed, job_id):
    """Inline base64 when small enough, else upload to the bucket and return a presigned URL."""
    output = {
        "archive_sha256": packed["archive_sha256"],
        "archive_size": packed["archive_size"],
        "manifest": packed["manifest"],
        "objects": packed["objects"],
        "protocol": PROTOCOL,
    }
    inline_limit = int(_setting("MODEL_SYNC_INLINE_LIMIT", "8000000"))
    encoded_size = 4 * ((packed["archive_size"] + 2) // 3)
    if encoded_size <= inline_limit:
        with open(packed["archive"], "rb") as handle:
            output["archive_base64"] = base64.b64encode(handle.read()).decode("ascii")
        return output
    # Without all three variables the SDK's helper does not fail: it copies the file to a local folder and
    # returns that path, which the client could never download.
    missing = [name for name in BUCKET_VARIABLES if not os.environ.get(name)]
    if missing:
        raise RuntimeError("the archive is %d bytes, too large to return inline, and %s not set"
                           % (packed["archive_size"], " and ".join(missing) + (" is" if len(missing) == 1 else " are")))
    from runpod.serverless.utils import rp_upload
    url = rp_upload.upload_file_to_bucket(file_name="model-sync-%s.zip" % job_id, file_location=packed["archive"])
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise RuntimeError("the bucket upload returned %r, not a URL" % (url,))
    output["archive_url"] = url
    return output


def handler(job):
    job_input = job.get("input") or {}
    request = job_input.get("model_sync") or {}
    protocol = request.get("protocol", PROTOCOL)
    if protocol != PROTOCOL:
        return {"error": "unsupported model_sync protocol %r (this worker speaks %d)" % (protocol, PROTOCOL)}
    have = request.get("have") or []
    if not isinstance(have, list) or not all(isinstance(item, str) for item in have):
        return {"error": "model_sync.have must be a list of digests"}
    train()
    with tempfile.TemporaryDirectory(prefix="model-sync-pack-") as directory:
        packed = pack(have, directory)
        return deliver(packed, job.get("id", "local"))


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
