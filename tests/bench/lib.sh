# shellcheck shell=bash
# Shared by the benchmark scripts (sourced): Open MPI allowed to run as root (a fresh cloud VM or
# CI container), and the caches the training benchmarks use.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# bench_caches BUILD DATA TMP: DATA/fmnist.h5 (Fashion-MNIST, Debian's dataset-fashion-mnist) and
# DATA/cxr128.h5 (1,200 synthetic films at 128x128), each made only if missing; TMP is scratch.
bench_caches() {
    local build=$1 data=$2 tmp=$3
    mkdir -p "$data"
    [ -f "$data/fmnist.h5" ] ||
        mpirun -np 2 "$build/bin/ptrain-prep" --src /usr/share/datasets/fashion-mnist \
            --out "$data/fmnist.h5" --quiet >/dev/null
    if [ ! -f "$data/cxr128.h5" ]; then
        "$build/bin/ptrain-synth" --out "$tmp/films" --count 1200 --min-size 256 --max-size 384 \
            --seed 3 >/dev/null
        mpirun -np 2 "$build/bin/ptrain-prep" --src "$tmp/films" --out "$data/cxr128.h5" \
            --size 128 --quiet >/dev/null
        rm -rf "$tmp/films"
    fi
}
