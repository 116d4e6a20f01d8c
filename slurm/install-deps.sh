#!/bin/sh
# Install everything ptrain needs to build, test and run, from Debian/Ubuntu packages.
#
# Idempotent and non-interactive: safe to run on every boot of a cluster node (it is the
# bootstrap script for AWS ParallelCluster / Azure CycleCloud nodes) and from `make deps`.
# Packages already present are left alone and apt is not contacted at all: when everything is
# there it only asks dpkg, which takes well under a second.
#
#   slurm/install-deps.sh            build + run + test dependencies, including Debian's SLURM
#                                    (slurm-wlm, munge) for the SLURM integration test, unless
#                                    this machine already has a SLURM of its own
#   slurm/install-deps.sh --no-slurm the same without SLURM (cluster nodes: their SLURM comes
#                                    from ParallelCluster / CycleCloud / the site)
#   slurm/install-deps.sh --bench    also PyTorch, the reference `make bench` compares against
#                                    (and h5py, with which it reads ptrain's cache splits)
#   slurm/install-deps.sh --fuzz     also clang and its libFuzzer runtime (clang, and Debian 12's
#                                    libclang-rt-14-dev), for the harnesses of tests/fuzz
#                                    (`make fuzz`, which .ci/run runs after `make test`)
#   slurm/install-deps.sh --browser  also Chromium and Node.js, for the browser test of the
#                                    `ptrain serve` page (tests/integration/serve_page.sh)
#   slurm/install-deps.sh --slurm    the default, kept for old scripts
#   slurm/install-deps.sh --auto     what `make demo`, `make test` and `make bench` run: the
#                                    same, but where it cannot check or install (no dpkg, no
#                                    sudo, apt failed) it warns and exits 0: CMake then finds the
#                                    libraries however they were installed, or names the missing
#
# It knows Debian and Ubuntu only. Elsewhere (RHEL, Rocky, a cluster whose libraries come from
# environment modules) it says it cannot check and installs nothing: load or install MPI,
# parallel HDF5, OpenBLAS, libpng, libjpeg, zlib (and Criterion for the tests), then build with
# `cmake -B build && cmake --build build`; without --auto that is an error (exit 1).
set -eu

packages="build-essential cmake pkg-config ca-certificates
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev
  libpng-dev libjpeg-dev zlib1g-dev
  libmicrohttpd-dev libcjson-dev curl
  libcriterion-dev
  dataset-fashion-mnist"

slurm=yes
auto=no
for arg in "$@"; do
  case "$arg" in
    --bench) packages="$packages python3 python3-torch python3-numpy python3-h5py hey" ;;
    --fuzz) packages="$packages clang libclang-rt-14-dev" ;;
    --browser) packages="$packages chromium nodejs" ;;
    --slurm) slurm=yes ;;
    --no-slurm) slurm=no ;;
    --auto) auto=yes ;;
    -h|--help)
      sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install-deps.sh: error: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# cannot WHAT: with --auto a warning (CMake has the last word), otherwise an error.
cannot() {
  if [ "$auto" = yes ]; then
    echo "install-deps.sh: warning: $*; going on: CMake says whether it finds the libraries" >&2
    exit 0
  fi
  echo "install-deps.sh: error: $*" >&2
  exit 1
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  cannot "cannot check the dependencies on this machine (no dpkg-query / apt-get: not Debian" \
    "or Ubuntu); install or load (module load ...) MPI, parallel HDF5, OpenBLAS, libpng," \
    "libjpeg, zlib and, for the tests, Criterion"
fi

# Debian's SLURM (7 small packages, seconds to install, no questions asked) lets the test start a
# single-node SLURM. A cluster node has its own SLURM (ParallelCluster in /opt/slurm, CycleCloud's
# or the site's packages): Debian's would shadow its commands or clash with its files, so it is
# left out there. The daemons are not configured or started by the install (no slurm.conf).
if [ "$slurm" = yes ]; then
  own=""
  if ! dpkg-query -W -f='${Status}' slurm-client 2>/dev/null | grep -q "install ok installed"; then
    for tool in sbatch slurmd slurmctld; do
      if command -v "$tool" >/dev/null 2>&1; then own="$(command -v "$tool")"; fi
    done
    if [ -x /opt/slurm/bin/sbatch ]; then own=/opt/slurm/bin/sbatch; fi
  fi
  if [ -n "$own" ]; then
    echo "install-deps.sh: this machine has its own SLURM ($own): not adding Debian's slurm-wlm"
  else
    packages="$packages slurm-wlm munge"
  fi
fi

missing=""
for pkg in $packages; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps.sh: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 ||
    cannot "missing:$missing; not root and no sudo to install them with"
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! $SUDO apt-get update -q || ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
  cannot "apt-get could not install:$missing"
fi
