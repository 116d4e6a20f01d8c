#!/bin/sh
# Install everything ptrain needs to build, test and run, from Debian/Ubuntu packages.
#
# Idempotent and non-interactive: safe to run on every boot of a cluster node (it is the
# bootstrap script for AWS ParallelCluster / Azure CycleCloud nodes) and from `make deps`.
# Packages already present are left alone and apt is not contacted at all.
#
#   slurm/install-deps.sh            build + run + test dependencies, including Debian's SLURM
#                                    (slurm-wlm, munge) for the SLURM integration test, unless
#                                    this machine already has a SLURM of its own
#   slurm/install-deps.sh --no-slurm the same without SLURM (cluster nodes: their SLURM comes
#                                    from ParallelCluster / CycleCloud / the site)
#   slurm/install-deps.sh --bench    also PyTorch, the reference `make bench` compares against
#                                    (and h5py, with which it reads ptrain's cache splits)
#   slurm/install-deps.sh --slurm    the default, kept for old scripts
set -eu

packages="build-essential cmake pkg-config ca-certificates
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev
  libpng-dev libjpeg-dev zlib1g-dev
  libcriterion-dev
  dataset-fashion-mnist"

slurm=yes
for arg in "$@"; do
  case "$arg" in
    --bench) packages="$packages python3 python3-torch python3-numpy python3-h5py" ;;
    --slurm) slurm=yes ;;
    --no-slurm) slurm=no ;;
    -h|--help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install-deps.sh: error: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

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
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
