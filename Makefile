# model-sync: `make demo` runs the whole story on an embedded default; `make test` runs every test.
SWIFT ?= swift
BUILD_FLAGS ?=
BINARY = .build/debug/model-sync

.PHONY: all build release demo test bench clean

all: build

build:
	$(SWIFT) build $(BUILD_FLAGS)

release:
	$(SWIFT) build -c release $(BUILD_FLAGS)

# A temp directory, a models folder, import → activate → import v2 → activate → rollback → fsck → gc.
demo: build
	MODEL_SYNC=$(abspath $(BINARY)) sh scripts/demo.sh

# Builds the library, the binary and the tests once, then runs the tests without rebuilding.
test: lfs-venv oci-venv
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --parallel $(BUILD_FLAGS)

# Figures of the issues (GBs of data, tens of minutes): see bench/README.md.
# SIZE_MB (default 2048) sets the data size of every script that has one; FILE_COUNT (default 200000) the many-
# files one's. bench/zip64.sh (a RunPod archive over 4 GiB) runs on its own.
SIZE_MB ?= 2048
FILE_COUNT ?= 200000
BENCH_ENV = MODEL_SYNC=$(abspath .build/release/model-sync)
bench: release lfs-venv oci-venv
	SIZE_MB=$(SIZE_MB) $(BENCH_ENV) sh bench/store.sh
	$(BENCH_ENV) sh bench/runpod.sh $(SIZE_MB)
	FILE_COUNT=$(FILE_COUNT) $(BENCH_ENV) sh bench/files.sh
	SIZE_MIB=$(SIZE_MB) $(BENCH_ENV) sh bench/git.sh
	SIZE_MIB=$(SIZE_MB) $(BENCH_ENV) sh bench/lfs.sh
	SIZE_MIB=$(SIZE_MB) $(BENCH_ENV) sh bench/oci.sh

clean:
	rm -rf .build

# giftless, the Git LFS server the LFS tests start on 127.0.0.1, with its dependencies (its package declares
# none) in a virtual environment under .build; created once, when missing.
LFS_VENV ?= .build/lfs-venv
.PHONY: lfs-venv
lfs-venv: $(LFS_VENV)/.installed

# The stamp is written last: an install that failed halfway is started over, not taken for done.
$(LFS_VENV)/.installed:
	rm -rf $(LFS_VENV)
	python3 -m venv $(LFS_VENV)
	$(LFS_VENV)/bin/pip install --quiet giftless==0.6.2 waitress flask flask-marshmallow flask-classful \
	    marshmallow-enum webargs pyyaml python-dotenv cachetools typing-extensions figcan pyjwt python-dateutil \
	    cryptography importlib-metadata
	touch $@

# The oras Python SDK (ORAS, "files as OCI artifacts"), which the OCI interoperability tests and bench/oci.sh
# drive against a registry on 127.0.0.1, in a virtual environment under .build; created once, when missing.
OCI_VENV ?= .build/oci-venv
.PHONY: oci-venv
oci-venv: $(OCI_VENV)/.installed

# The stamp is written last, as for lfs-venv.
$(OCI_VENV)/.installed:
	rm -rf $(OCI_VENV)
	python3 -m venv $(OCI_VENV)
	$(OCI_VENV)/bin/pip install --quiet oras==0.2.43
	touch $@

# The RunPod worker (deploy/runpod/handler.py) under the runpod SDK's local API server: POST /runsync, inline
# archives and the bucket path against a local S3 server (moto). Installs the SDK and the test-only
# dependencies (deploy/runpod/test-requirements.txt) from PyPI into a virtual environment under .build.
WORKER_VENV ?= .build/worker-venv
.PHONY: test-worker
test-worker: build
	sh deploy/runpod/test_worker.sh $(abspath $(BINARY)) $(abspath $(WORKER_VENV))

# The libFuzzer targets (Tests/Fuzz, docs/fuzzing.md), built with -sanitize=fuzzer,address, each run for
# FUZZ_SECONDS from its seeds in Fixtures/fuzz/. A crash fails the run; its input is kept and printed.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) sh Tests/Fuzz/run.sh

# The tests that run threads against each other (parallel hashing, writers racing for one object) under
# ThreadSanitizer, in their own build folder (.build-tsan). Any report fails the run.
.PHONY: test-tsan
test-tsan:
	SWIFT=$(SWIFT) sh scripts/test-tsan.sh
