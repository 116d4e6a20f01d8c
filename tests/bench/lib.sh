# shellcheck shell=bash
# Shared by the benchmark scripts (sourced): Open MPI allowed to run as root (a fresh cloud VM or
# CI container), and the caches the training benchmarks use.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# bench_caches BUILD DATA TMP: DATA/fmnist.h5 (Fashion-MNIST, Debian's dataset-fashion-mnist),
# DATA/cxr128.h5 and DATA/cxr64.h5 (the same 1,200 synthetic films at 128x128 and at 64x64), each
# made only if missing; TMP is scratch.
bench_caches() {
    local build=$1 data=$2 tmp=$3 side
    mkdir -p "$data"
    [ -f "$data/fmnist.h5" ] ||
        mpirun -np 2 "$build/bin/ptrain-prep" --src /usr/share/datasets/fashion-mnist \
            --out "$data/fmnist.h5" --quiet >/dev/null
    for side in 128 64; do
        [ -f "$data/cxr$side.h5" ] && continue
        [ -d "$tmp/films" ] ||
            "$build/bin/ptrain-synth" --out "$tmp/films" --count 1200 --min-size 256 \
                --max-size 384 --seed 3 >/dev/null
        mpirun -np 2 "$build/bin/ptrain-prep" --src "$tmp/films" --out "$data/cxr$side.h5" \
            --size "$side" --quiet >/dev/null
    done
    rm -rf "$tmp/films"
}
