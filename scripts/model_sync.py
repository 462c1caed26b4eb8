# `python3 -m scripts.model_sync ARGS` (the old script's crontabs and units) runs `model-sync ARGS`.
import os, sys
os.execvp(os.environ.get("MODEL_SYNC", "model-sync"), ["model-sync"] + sys.argv[1:])
