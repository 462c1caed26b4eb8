#!/bin/sh
# Runs the tests whose threads share memory under ThreadSanitizer: parallel hashing (import, pack, and
# fsck through the binary), writers racing for one object, Git LFS transfers on N threads into one sink, OCI
# manifest listings on N threads. The library, the binary and the tests are built
# with --sanitize thread into .build-tsan (apart from the normal build); end-to-end tests run the
# instrumented binary. MODEL_SYNC_WORKERS=8 gives the hashing pool more threads than this machine has cores.
#
# Any report fails the run: TSan's exit code (66) fails the test process, and a report from a model-sync
# child (whose exit code a test may not check) is caught by its file in .build-tsan/reports/.
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
TSAN_TESTS=${TSAN_TESTS:-ObjectStoreTests|DirectoryImporterTests|PackerTests|StoreEndToEndTests|LFSHostileServerTests|LFSGiftlessTests|HTTPClientStreamTests|OCIRegistryHistoryTests}

"$SWIFT" build --build-tests --sanitize thread --scratch-path .build-tsan
reports="$PWD/.build-tsan/reports"
rm -rf "$reports"
mkdir -p "$reports"

status=0
# racingProcesses runs two non-instrumented binaries against each other: nothing for TSan to see.
MODEL_SYNC_WORKERS=8 MODEL_SYNC_BINARY="$PWD/.build-tsan/debug/model-sync" \
    TSAN_OPTIONS="log_path=$reports/tsan second_deadlock_stack=1" \
    "$SWIFT" test --skip-build --scratch-path .build-tsan --filter "$TSAN_TESTS" --skip racingProcesses || status=$?

if [ -n "$(ls -A "$reports")" ]; then
    for report in "$reports"/*; do
        echo "== $report"
        cat "$report"
    done
    echo "ThreadSanitizer reported the races above"
    exit 1
fi
exit "$status"
