# Shared by bench/lfs.sh and bench/oci.sh (sourced). The caller sets `here` and `root`; `work` (the work
# directory) and `res` (its results folder) before measuring; `server_pid` when a server it started should have
# its CPU time recorded with each step; `G` (git with an identity) and `DVC` (dvc_venv) for dvc_steps.

# stream SEED BYTES: BYTES of incompressible data, the same for the same SEED (AES-CTR of zeros).
stream() { openssl enc -aes-128-ctr -pass pass:"$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c "$2"; }

# free_port: a TCP port free on 127.0.0.1 at the time of the call.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# two_versions SIZE_MIB: the set both scripts measure, generated once under bench/data/lfs-<SIZE_MIB>m.
# v1 = 3 large files (0.25/0.29/0.33 of SIZE_MIB) + 17 small ones; v2 = one large and three small files changed.
# Sets data, v1, v2, large1, large2, large3 (MiB), small (KiB per small file) and changed (the bytes v2 changes).
two_versions() {
    large1=$(( $1 * 25 / 100 )); large2=$(( $1 * 29 / 100 )); large3=$(( $1 * 33 / 100 ))
    small=$(( $1 * 13 / 100 * 1024 / 17 ))
    data="$here/data/lfs-${1}m"
    if [ ! -d "$data" ]; then
        echo "generating the set under $data"
        rm -rf "$data.tmp" && mkdir -p "$data.tmp/v1/big" "$data.tmp/v1/small"
        stream big-1 $(( large1 << 20 )) > "$data.tmp/v1/big/model1.onnx"
        stream big-2 $(( large2 << 20 )) > "$data.tmp/v1/big/model2.onnx"
        stream big-3 $(( large3 << 20 )) > "$data.tmp/v1/big/model3.onnx"
        for i in $(seq 1 17); do stream "small-$i" $(( small << 10 )) > "$data.tmp/v1/small/part$i.bin"; done
        mkdir -p "$data.tmp/v2"
        cp -r "$data.tmp/v1/." "$data.tmp/v2/"
        stream v2-big-2 $(( large2 << 20 )) > "$data.tmp/v2/big/model2.onnx"
        for i in 4 9 13; do stream "v2-small-$i" $(( small << 10 )) > "$data.tmp/v2/small/part$i.bin"; done
        mv "$data.tmp" "$data"
        sleep 3  # older than the stat cache's racy window
    fi
    v1=$data/v1; v2=$data/v2
    changed=$(( (large2 << 20) + 3 * (small << 10) ))
}

# dvc_venv: sets DVC to the dvc executable, installing DVC from PyPI into .build/bench-dvc-venv on the first run
# (DVC=path/to/dvc overrides it).
dvc_venv() {
    [ -z "${DVC:-}" ] || return 0
    DVC=$root/.build/bench-dvc-venv/bin/dvc
    if [ ! -x "$DVC" ]; then
        echo "installing DVC into $root/.build/bench-dvc-venv"
        python3 -m venv "$root/.build/bench-dvc-venv"
        "$root/.build/bench-dvc-venv/bin/pip" install -q dvc
    fi
}

# cpu_ticks PID: the user + system clock ticks PID has used so far (0 when there is no such process).
cpu_ticks() { if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }

# measure STEP CMD...: runs CMD after a sync, appends "seconds peak-KiB user-s system-s server-cpu-s" to
# results/STEP: the last is the CPU time `server_pid` spent meanwhile (0 without one), which shows how much of a
# step the server's own work (an OCI registry's SHA-256 of every blob it receives, its writes) takes.
measure() {
    step=$1; shift
    sync
    ticks0=$(cpu_ticks "${server_pid:-}")
    /usr/bin/time -f '%e %M %U %S' -o "$work/time.out" "$@" >"$work/step.log" 2>&1 || {
        echo "step $step failed:" >&2; tail -20 "$work/step.log" >&2; return 1; }
    ticks1=$(cpu_ticks "${server_pid:-}")
    echo "$(tail -1 "$work/time.out") $(python3 -c "import os, sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / os.sysconf(\"SC_CLK_TCK\"):.2f}')" "$ticks0" "$ticks1")" >> "$res/$step"
}
record() { echo "$2" >> "$res/$1"; }
bytes_in() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# dvc_steps RUN_DIR: DVC with a local remote under RUN_DIR (no network at all): add + push v1, pull into a
# clone, add + push v2, pull v2; steps dvc-add1 … dvc-pull2.
dvc_steps() {
    mkdir -p "$1/dvc-remote"
    $G init -q "$1/dvc-work"
    (cd "$1/dvc-work" && "$DVC" init -q && "$DVC" remote add -q -d store "$1/dvc-remote" && $G add -A && $G commit -qm init)
    cp -r "$v1" "$1/dvc-work/models"
    measure dvc-add1 sh -c "cd '$1/dvc-work' && '$DVC' add -q models && $G add -A && $G commit -qm v1"
    measure dvc-push1 sh -c "cd '$1/dvc-work' && '$DVC' push -q"
    $G clone -q "$1/dvc-work" "$1/dvc-client"
    measure dvc-pull1 sh -c "cd '$1/dvc-client' && '$DVC' pull -q"
    rm -rf "$1/dvc-work/models" && cp -r "$v2" "$1/dvc-work/models"
    measure dvc-add2 sh -c "cd '$1/dvc-work' && '$DVC' add -q models && $G add -A && $G commit -qm v2"
    measure dvc-push2 sh -c "cd '$1/dvc-work' && '$DVC' push -q"
    measure dvc-pull2 sh -c "cd '$1/dvc-client' && $G pull -q && '$DVC' pull -q"
    cmp "$1/dvc-client/models/big/model2.onnx" "$v2/big/model2.onnx"
}

# --- the report
# med STEP [COLUMN]: the median of a column of results/STEP (1: seconds, 2: peak KiB, 3: user s, 4: system s,
# 5: the server's CPU s); "n/a" without data.
med() {
    [ -s "$res/$1" ] || { echo n/a; return; }
    python3 -c "import statistics, sys; v = statistics.median(float(l.split()[int(sys.argv[2]) - 1]) for l in open(sys.argv[1]) if l.strip()); print(int(v) if v == int(v) else f'{v:.2f}')" "$res/$1" "${2:-1}"
}
mib() { v=$(med "$1" 2); [ "$v" = n/a ] && echo n/a || python3 -c "import sys; print(f'{float(sys.argv[1]) / 1024:.0f}')" "$v"; }
ratio() { # ratio A B TARGET: "A / B = r (target)"; n/a when either is missing
    if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo "n/a ($3)"; return; fi
    python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a:.2f} / {b:.2f} = {a / b:.3f} ({sys.argv[3]})')" "$1" "$2" "$3"
}
sum() { if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; else python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$1" "$2"; fi; }
row() { printf '%-44s %s\n' "$1" "$2"; }
