# cluster-lib.sh - helpers for the tests across virtual hosts (scripts/vcluster; sourced
# after lib.sh). One virtual cluster exists at a time on a machine, so the tests that use
# it take a lock and wait for each other; each takes its cluster down when it ends, even
# on failure. They skip (77) where network namespaces cannot be made (not root, no
# iproute2, a kernel or container that refuses them) or the launcher is not Open MPI's.
VC="$top_srcdir/scripts/vcluster"
VC_LOCK=${VCLUSTER_LOCK:-/tmp/collab-vcluster.lock}

# cluster_up N [vcluster up options]: hosts vc1..vcN, taken down at exit.
cluster_up() {
    [ "$(id -u)" = 0 ] || skip "the virtual cluster needs root (network namespaces)"
    command -v ip >/dev/null 2>&1 || skip "the virtual cluster needs iproute2 (ip)"
    command -v flock >/dev/null 2>&1 || skip "the virtual cluster's lock needs flock (util-linux)"
    case ${MPIEXEC_OVERSUB:-} in
    --oversubscribe) ;;
    *) skip "the virtual cluster drives Open MPI's mpirun (rsh agent, MCA settings)" ;;
    esac
    probe=collab-probe-$$
    ip netns add "$probe" 2>/dev/null || skip "network namespaces cannot be made here"
    ip netns del "$probe"
    exec 9>"$VC_LOCK"
    flock -w 900 9 || fail "another test held the virtual cluster for 15 minutes"
    trap 'cluster_down; rm -rf "$TMP"' EXIT
    cluster_down # with the lock held, a cluster still up was left by a run that was killed
    "$VC" up "$@" >"$TMP/vc-up" 2>&1 || { cat "$TMP/vc-up" >&2; fail "vcluster up $*"; }
}

cluster_down() { "$VC" down >/dev/null 2>&1 || true; }

# cluster_run [--np P] [--hosts LIST] [--env VAR]... ARGS...: the program on the hosts
# (mpirun on the head; --env passes VAR to the ranks), without Open MPI 4.1's harmless
# setpgid warnings on stderr.
cluster_run() {
    opts= env=
    while :; do
        case $1 in
        --np | --hosts) opts="$opts $1 $2"; shift 2 ;;
        --env) env="$env -x $2"; shift 2 ;;
        *) break ;;
        esac
    done
    rc=0
    "$VC" run $opts -- mpirun $env "$COLLAB" "$@" 2>"$TMP/cluster-err" || rc=$?
    grep -v 'setpgid' "$TMP/cluster-err" >&2 || true
    return $rc
}

# host_pid HOST: the pid of the collab-mpi process on HOST (one rank per host).
host_pid() {
    for p in $("$VC" pids "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = collab-mpi ] && { echo "$p"; return 0; }
    done
    return 1
}

# wait_for TEST SECONDS: polls the shell test TEST (a string) every 20 ms until it holds.
wait_for() {
    n=$(($2 * 50))
    while [ "$n" -gt 0 ]; do
        eval "$1" && return 0
        sleep 0.02
        n=$((n - 1))
    done
    return 1
}

# job_wait PID SECONDS: waits for the background job PID at most SECONDS; its exit status
# is in $job_status and the seconds it took in $job_seconds. A job still running then
# fails the test (the trap's cluster_down ends what it left on the hosts and the head).
job_wait() {
    t0=$(date +%s)
    while kill -0 "$1" 2>/dev/null; do
        [ $(($(date +%s) - t0)) -lt "$2" ] || fail "the job still runs $2 s later: it hangs"
        sleep 0.1
    done
    job_seconds=$(($(date +%s) - t0))
    set +e
    wait "$1"
    job_status=$?
    set -e
}

# stall_messages ERR EXPECT RANKS...: each rank of RANKS printed exactly one stall message
# into ERR, containing EXPECT (a fixed string: the phase, the ranks not heard from).
stall_messages() {
    err=$1 want=$2; shift 2
    for r in "$@"; do
        n=$(grep -F "collab-mpi: error: rank $r of " "$err" | grep -F "stalled: " |
            grep -cF "$want" || true)
        [ "$n" = 1 ] || { cat "$err" >&2; fail "rank $r printed $n stall messages with '$want'"; }
    done
}
