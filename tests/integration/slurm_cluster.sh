#!/bin/bash
# A throw-away single-node SLURM on this machine: munged, slurmctld and slurmd on 127.0.0.1,
# all state, logs, sockets and the key in one directory, started and stopped by PID.
#
# Sourced by tests/integration/slurm.sh (functions slurm_cluster_check, slurm_cluster_start,
# slurm_cluster_stop), or run by hand to try the batch scripts:
#
#   bash tests/integration/slurm_cluster.sh start /tmp/myslurm   # prints: export SLURM_CONF=...
#   export SLURM_CONF=/tmp/myslurm/slurm.conf; sinfo; sbatch ...
#   bash tests/integration/slurm_cluster.sh stop /tmp/myslurm
#
# Needs root (slurmd runs jobs as their owner; munged runs as the munge user) and Debian's
# slurm-wlm and munge (slurm/install-deps.sh installs them). Measured facts it relies on: in a
# container without systemd or cgroups, proctrack/linuxproc and task/none work; Debian's Open MPI
# 4.1 needs MpiDefault=pmix (pmi2 does not work); the daemons are up in about a second.
# It never touches /etc/slurm, /etc/munge or a munged that is already running: its own key,
# socket and ports.

# slurm_cluster_check: prints why a SLURM cannot be started here and returns 1, or returns 0.
slurm_cluster_check() {
    local tool
    for tool in munged mungekey slurmctld slurmd sbatch srun scontrol squeue setpriv; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "'$tool' is not installed (Debian: slurm/install-deps.sh installs slurm-wlm and munge)"
            return 1
        fi
    done
    # Debian's packages, the SLURM this was measured with; on a machine with a SLURM of its own
    # (a cluster node) a second slurmd and slurmctld are better not started by a test
    local pkg status
    for pkg in slurmd slurmctld slurm-client munge; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        if [ "$status" != "install ok installed" ]; then
            echo "Debian's '$pkg' package is not installed (found $(command -v slurmd)): this test only starts Debian's slurm-wlm"
            return 1
        fi
    done
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root: slurmd and munged (as the munge user) can only be started by root"
        return 1
    fi
    if ! id munge >/dev/null 2>&1; then
        echo "there is no 'munge' user (the munge package creates it)"
        return 1
    fi
    return 0
}

# _slurm_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
_slurm_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _slurm_wait SECONDS COMMAND...: retries COMMAND (quietly) every 0.2 s until it succeeds.
_slurm_wait() {
    local tries=$(($1 * 5))
    shift
    local i
    for ((i = 0; i < tries; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# slurm_cluster_start DIR: starts the three daemons with their state in DIR (created, must be
# empty or absent); exports SLURM_CONF and SLURM_CLUSTER_DIR; writes DIR/pids. On failure it
# prints the daemons' logs, stops what it started and returns 1.
slurm_cluster_start() {
    local dir="$1"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    # munged (as the munge user) must reach its key and socket through this directory
    chmod 755 "$dir"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/tmp"
    : >"$dir/pids"

    # munge: a fresh key, a private socket; munged insists that it owns its files
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 2>/dev/null
    chown -R munge:munge "$dir/munge"
    chmod 700 "$dir/munge"
    chmod 600 "$dir/munge/munge.key"
    # setpriv execs munged in place, so $! is munged itself (stopped by that PID later)
    setpriv --reuid=munge --regid="$(id -g munge)" --init-groups \
        munged --foreground --force --socket="$dir/munge/munge.socket" \
        --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
        --seed-file="$dir/munge/munged.seed" --log-file="$dir/munge/munged.log" \
        </dev/null >"$dir/munged.out" 2>&1 &
    echo "munged $!" >>"$dir/pids"

    # two free ports next to each other, away from SLURM's defaults (6817/6818), so this never
    # collides with a real SLURM or with another instance of this test
    local port=$((20000 + RANDOM % 20000))
    while ! _slurm_port_free "$port" || ! _slurm_port_free $((port + 1)); do
        port=$((20000 + RANDOM % 20000))
    done

    local host cpus sockets cores threads
    host="$(hostname -s)"
    # the node's real shape, as slurmd sees it (a mismatch would drain the node)
    local shape
    shape="$(slurmd -C 2>/dev/null | head -n 1)"
    cpus="$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$shape")"
    sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$shape")"
    cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$shape")"
    threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$shape")"
    : "${cpus:=$(nproc)}" "${sockets:=1}" "${cores:=$cpus}" "${threads:=1}"

    cat >"$dir/slurm.conf" <<EOF
# generated by tests/integration/slurm_cluster.sh: a single-node SLURM for tests
ClusterName=ptraintest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
TmpFS=$dir/tmp
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd, no cgroups in a container: track processes by parentage, bind nothing
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Debian's Open MPI 4.1 starts under srun with PMIx only
MpiDefault=pmix
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
# one line per finished job (JobState, ExitCode, ...): the test reads the outcome of a job from
# here, since scontrol forgets a finished job after MinJobAge
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
# sbatch --wait polls every 2 s only while MinJobAge/2 is not above that (else up to every
# 32 s); a finished job stays visible to scontrol for these 5 s, which submit.sh --wait needs
MinJobAge=5
KillWait=10
InactiveLimit=0
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$dir/slurm.conf"
    export SLURM_CLUSTER_DIR="$dir"

    if ! _slurm_wait 10 test -S "$dir/munge/munge.socket"; then
        echo "slurm_cluster: munged did not start" >&2
        _slurm_dump_logs "$dir"
        slurm_cluster_stop "$dir"
        return 1
    fi
    # -D: in the foreground, so that $! is the daemon (no pid-file race); -c: no old state
    slurmctld -D -c -f "$dir/slurm.conf" </dev/null >"$dir/slurmctld.out" 2>&1 &
    echo "slurmctld $!" >>"$dir/pids"
    slurmd -D -f "$dir/slurm.conf" -N "$host" </dev/null >"$dir/slurmd.out" 2>&1 &
    echo "slurmd $!" >>"$dir/pids"

    # up when the node is idle (sinfo answers and the node has registered)
    if ! _slurm_wait 30 _slurm_node_idle; then
        echo "slurm_cluster: the node did not become idle" >&2
        sinfo -N -l >&2 || true
        _slurm_dump_logs "$dir"
        slurm_cluster_stop "$dir"
        return 1
    fi
}

_slurm_node_idle() {
    local out
    out="$(sinfo -h -N -o '%T' 2>/dev/null)" || return 1
    [ "$out" = "idle" ]
}

_slurm_dump_logs() {
    local f
    for f in "$1"/munged.out "$1"/munge/munged.log "$1"/slurmctld.out "$1"/slurmctld.log \
        "$1"/slurmd.out "$1"/slurmd.log; do
        [ -f "$f" ] || continue
        echo "--- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
}

# slurm_cluster_stop DIR: stops the daemons started by slurm_cluster_start DIR, by PID, slurmd
# first (it ends the jobs it runs), then slurmctld, then munged; SIGKILL after 10 s.
slurm_cluster_stop() {
    local dir="$1" name pid
    [ -f "$dir/pids" ] || return 0
    for name in slurmd slurmctld munged; do
        pid="$(awk -v n="$name" '$1 == n { print $2 }' "$dir/pids")"
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null || continue
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$dir/pids"
}

# Run by hand: start DIR | stop DIR
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
    start)
        [ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
        if ! why="$(slurm_cluster_check)"; then
            echo "slurm_cluster: cannot start a SLURM here: $why" >&2
            exit 1
        fi
        slurm_cluster_start "$2"
        # the daemons were started in the background of this shell: let them outlive it
        disown -a
        echo "export SLURM_CONF=$SLURM_CONF"
        ;;
    stop)
        [ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
        slurm_cluster_stop "$(cd "$2" && pwd)"
        ;;
    *)
        echo "usage: $0 start|stop DIR" >&2
        exit 2
        ;;
    esac
fi
