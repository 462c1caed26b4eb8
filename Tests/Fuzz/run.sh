#!/bin/sh
# Builds the libFuzzer targets of this package and runs each for FUZZ_SECONDS (default 60), one after the
# other, from its seed corpus Fixtures/fuzz/<target>/ and its dictionary Fixtures/fuzz/<target>.dict.
# Usage: run.sh [target ...] (default: every target, one per Sources/fuzz-<target>/). See docs/fuzzing.md.
#
# A crash, an ASan report, an input taking longer than FUZZ_TIMEOUT seconds or a run growing past
# FUZZ_RSS_MB fails the target; the others still run, and the script exits 1 naming the failed targets,
# with each crashing input saved under .build/artifacts/<target>/ and printed in base64 (a CI log is all
# that remains of a CI machine). New inputs that reach new code accumulate in .build/corpus/<target>/.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SWIFT=${SWIFT:-swift}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
# FUZZ_SEED fixes libFuzzer's random seed (CI sets it, so a run explores the same inputs for the same code;
# unset: a new seed each run, for exploring by hand).
FUZZ_SEED=${FUZZ_SEED:-}

if [ "$#" -gt 0 ]; then
    TARGETS="$*"
else
    TARGETS=$(cd "$HERE/Sources" && ls -d fuzz-* | sed 's/^fuzz-//')
fi

# -use-ld=lld: the system's gold linker crashes on ASan-instrumented Swift objects; the toolchain's lld
# links them. -enable-testing: the targets reach internal parsers through @testable import.
"$SWIFT" build -c release --package-path "$HERE" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld
BIN="$HERE/.build/release"

failed=""
for target in $TARGETS; do
    corpus="$HERE/.build/corpus/$target"
    artifacts="$HERE/.build/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    echo "== fuzz-$target for ${FUZZ_SECONDS}s"
    touch "$artifacts/.started"
    set --
    dictionary="$ROOT/Fixtures/fuzz/$target.dict"
    [ -f "$dictionary" ] && set -- -dict="$dictionary"
    [ -n "$FUZZ_SEED" ] && set -- "$@" -seed="$FUZZ_SEED"
    # The first folder receives new inputs; the seeds are only read.
    if "$BIN/fuzz-$target" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
        -rss_limit_mb="$FUZZ_RSS_MB" -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" \
        "$corpus" "$ROOT/Fixtures/fuzz/$target" >"$artifacts/last-run.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
            "$artifacts/last-run.log" || true
    else
        failed="$failed $target"
        tail -n 60 "$artifacts/last-run.log"
        # Only this run's inputs: earlier ones may still lie there.
        find "$artifacts" -maxdepth 1 -type f -newer "$artifacts/.started" ! -name last-run.log | while read -r input; do
            echo "-- $input (base64):"
            base64 "$input" | head -c 65536
            echo
        done
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzing failed:$failed (inputs under $HERE/.build/artifacts/; docs/fuzzing.md says how to make each a test)"
    exit 1
fi
echo "fuzzing passed: $(echo $TARGETS | wc -w) targets, ${FUZZ_SECONDS}s each"
