#!/bin/sh
# Install everything ptrain needs to build, test and run, from Debian/Ubuntu packages.
#
# Idempotent and non-interactive: safe to run on every boot of a cluster node (it is the
# bootstrap script for AWS ParallelCluster / Azure CycleCloud nodes) and from `make deps`.
# Packages already present are left alone and apt is not contacted at all.
#
#   slurm/install-deps.sh            build + run + test dependencies
#   slurm/install-deps.sh --bench    also PyTorch, the reference `make bench` compares against
#   slurm/install-deps.sh --slurm    also the SLURM daemons used by the SLURM integration test
set -eu

packages="build-essential cmake pkg-config ca-certificates
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev
  libpng-dev libjpeg-dev zlib1g-dev
  libcriterion-dev
  dataset-fashion-mnist"

for arg in "$@"; do
  case "$arg" in
    --bench) packages="$packages python3 python3-torch python3-numpy" ;;
    --slurm) packages="$packages slurm-wlm munge" ;;
    -h|--help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install-deps.sh: error: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

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
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
