#!/bin/sh
# scripts/slurm/train.sbatch on a real one-node Slurm (scripts/slurm-local: munged,
# slurmctld, slurmd, a generated slurm.conf): submitted with sbatch, sent
# `scancel --signal=USR1` after its first checkpoint, the job exits 75, requeues itself,
# resumes from the checkpoint and finishes with parameters byte-identical to an
# uninterrupted run; its log has no carriage return, no bar and no line it should not.
# Also: `srun --mpi=pmix -n 2` trains exactly as `mpirun -np 2`.
# Skips (77), saying why, where Slurm cannot start (not root, packages absent), unless
# COLLAB_REQUIRE_SLURM=1 (scripts/check as root), which makes that a failure.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
cannot() {
    [ "${COLLAB_REQUIRE_SLURM:-0}" != 1 ] || fail "Slurm is required here: $*"
    skip "$*"
}
[ "$(id -u)" = 0 ] || cannot "needs root (slurm-local runs munged, slurmctld and slurmd)"
PATH=$PATH:/usr/sbin
for p in sbatch srun scontrol scancel slurmctld slurmd munged; do
    command -v $p >/dev/null 2>&1 || cannot "$p not found (scripts/install-deps --with-slurm)"
done
[ "${MPIEXEC:-none}" != none ] || cannot "no MPI launcher to compare srun with"

# A cluster of our own, on two free ports, beside any other on this machine.
port_free() {
    hex=$(printf ':%04X ' "$1")
    ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qi "$hex"
}
port=$((20000 + ($$ % 10000) * 2))
while ! port_free $port || ! port_free $((port + 1)); do port=$((port + 2)); done
export SLURM_LOCAL_DIR="$TMP/slurm" SLURM_LOCAL_PORT=$port
jobid=
cleanup() {
    status=$?
    if [ $status != 0 ] && [ $status != 77 ] && [ -d "$SLURM_LOCAL_DIR/log" ]; then
        for f in "$SLURM_LOCAL_DIR"/log/*.log; do
            echo "--- the end of $(basename "$f"):" >&2
            tail -n 25 "$f" >&2
        done
    fi
    [ -z "$jobid" ] || scancel --full "$jobid" 2>/dev/null || true
    "$top_srcdir/scripts/slurm-local" down >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
t0=$(date +%s)
up=$("$top_srcdir/scripts/slurm-local" up 2>&1) || cannot "Slurm cannot start here: $up"
eval "$(echo "$up" | grep '^export SLURM_CONF=')"
: "${SLURM_CONF:?slurm-local printed no SLURM_CONF}"

# field NAME: NAME=value of our job, from scontrol.
field() { scontrol show job "$jobid" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
# wait_for SECONDS WHAT CMD...: polls CMD every 0.2 s.
wait_for() {
    limit=$(($1 * 5)); what=$2; shift 2; i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -lt $limit ] || { scontrol show job "$jobid" >&2 || true; fail "timed out: $what"; }
        sleep 0.2
    done
}

slice_latest 8000 "$TMP/slice" # 100 batches of 64 per epoch
train="--data $TMP/slice --epochs 2 --n-factors 8 --lr 0.01"

# srun --mpi=pmix -n 2 against mpirun -np 2: the same parameters, the same table.
srun --mpi=pmix -n 2 -t 5 "$COLLAB" train $train --dump-params "$TMP/srun.bin" \
    >"$TMP/srun.out" 2>"$TMP/srun.err" || { cat "$TMP/srun.err" >&2; fail "srun failed"; }
run_np 2 train $train --dump-params "$TMP/mpirun.bin" >"$TMP/mpirun.out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "mpirun failed"; }
cmp "$TMP/srun.bin" "$TMP/mpirun.bin" || fail "srun and mpirun trained different parameters"
grep -E '^[0-9]|^summary' "$TMP/srun.out" | strip_times >"$TMP/srun.table"
grep -E '^[0-9]|^summary' "$TMP/mpirun.out" | strip_times >"$TMP/mpirun.table"
compare "$TMP/mpirun.table" "$TMP/srun.table"
[ "$(wc -l <"$TMP/srun.table")" = 3 ] || fail "srun: not two epochs and a summary"

# The template as a job: 2 tasks, srun through PMIx, checkpoints every 20 batches, each
# write slowed by a second (a test hook) so that the signal comes while training runs.
mkdir "$TMP/job"
export COLLAB DATA="$TMP/slice" CKPT="$TMP/job/ck" SLURM_MPI_TYPE=pmix
export COLLAB_TEST_SLOW_CHECKPOINT=1
jobid=$(sbatch --parsable --ntasks=2 --time=10 --chdir="$TMP/job" \
    "$top_srcdir/scripts/slurm/train.sbatch" $train --checkpoint-every 20b \
    --dump-params "$TMP/job.bin" --progress-seconds 1) || fail "sbatch failed"
log="$TMP/job/collab-mpi-$jobid.out"
have_ckpt() { ls "$CKPT" 2>/dev/null | grep -q '^ckpt-.*\.h5$'; }
wait_for 120 "the job's first checkpoint" have_ckpt
echo "first checkpoint after $(($(date +%s) - t0)) s"
scancel --signal=USR1 "$jobid" || fail "scancel --signal=USR1 failed"
requeued() { [ "$(field Restarts)" = 1 ] && [ "$(field JobState)" = PENDING ]; }
wait_for 120 "the job to requeue itself" requeued
# Slurm holds a requeued job back until its launch credential has expired (begin time =
# requeue + AuthInfo cred_expire, 120 s, + 1 s). A test need not wait that long, but the
# new credential must be younger, to the second, than the revoked one, or slurmd kills
# the job at launch ("Job credential revoked"). So: 2 s, then StartTime=now, which also
# makes slurmctld schedule at once (a later StartTime waits for a scheduler pass, up to
# 30 s here). scontrol release does nothing here: the job is not held.
eligible=$(field EligibleTime)
echo "requeued at $(date +%FT%T), eligible at $eligible; starting it in 2 s"
sleep 2
scontrol update JobId="$jobid" StartTime=now || fail "scontrol update StartTime=now failed"
finished() { case $(field JobState) in COMPLETED | FAILED | CANCELLED | TIMEOUT) true ;; *) false ;; esac; }
restarted() { [ "$(field JobState)" != PENDING ]; }
wait_for 180 "the requeued job to start" restarted
echo "restarted after $(($(date +%s) - t0)) s"
wait_for 180 "the requeued job to finish" finished
state=$(field JobState) code=$(field ExitCode) restarts=$(field Restarts)
[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && [ "$restarts" = 1 ] ||
    { cat "$log" >&2; fail "job $jobid: $state, exit $code, $restarts restarts"; }

# The log: the first run stopped with 75 and requeued, the second resumed and finished.
grep -qE '^srun: error: [^ ]+: tasks 0-1: Exited with exit code 75$' "$log" &&
    grep -q "^collab-mpi: checkpointed before the time limit; requeueing job $jobid\$" "$log" ||
    { cat "$log" >&2; fail "the first run did not exit 75 and requeue"; }
grep -q '^stopped by signal 10: checkpoint written; resume with --resume auto (exit status 75)$' "$log" ||
    { cat "$log" >&2; fail "the first run did not stop on SIGUSR1"; }
grep -qE "^resume: $CKPT/ckpt-e0000-i[0-9]+\.h5 at epoch 0, batch [0-9]+ " "$log" ||
    { cat "$log" >&2; fail "the second run did not resume from the checkpoint"; }
grep -q "^collab-mpi: training finished; model in $CKPT/model.h5\$" "$log" ||
    { cat "$log" >&2; fail "the second run did not finish"; }
[ -f "$CKPT/model.h5" ] || fail "no model file"
cmp "$TMP/srun.bin" "$TMP/job.bin" || fail "the requeued job's parameters differ from an uninterrupted run"
# Clean: no carriage return, no bar, plain progress lines, and nothing but our lines.
[ "$(tr -cd '\r' <"$log" | wc -c)" = 0 ] || fail "carriage returns in the job log"
! grep -qE '\[[#.]{30}\]' "$log" || fail "a progress bar in the job log"
grep -qE '^progress: epoch [01] batch [0-9]+/100 elapsed_sec ' "$log" ||
    { cat "$log" >&2; fail "no plain progress line in the job log"; }
# Slurm's own two lines about the stop are expected, not stray: srun reports the tasks'
# status 75, and slurmstepd may report the requeue when it ends the batch script before
# the script's own exit.
ours='^(collab-mpi train \(|  [a-z-]+ +|epoch +train_loss|[0-9]+ +[0-9.]+ |progress: |resume: |stopped by signal |summary: |collab-mpi: (checkpointed|training finished)|srun: error: [^ ]+: tasks? [0-9-]+: Exited with exit code 75$|slurmstepd(-[^:]+)?: error: \*\*\* JOB [0-9]+ ON [^ ]+ CANCELLED AT [^ ]+ DUE TO JOB REQUEUE \*\*\*$)'
if grep -vE "$ours" "$log" | grep -q .; then
    grep -vE "$ours" "$log" >&2
    fail "stray lines in the job log (above)"
fi
echo "slurm-real: ok ($(($(date +%s) - t0)) s; the requeue would have waited until $eligible)"
