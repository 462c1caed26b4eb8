# Shared by bench/lfs.sh and bench/oci.sh (sourced; `here` and `root` are set by the caller).

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
