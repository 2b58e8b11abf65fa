#!/bin/sh
# scripts/slurm/sweep.sbatch, run outside Slurm with stand-ins for srun and scontrol: a
# sweep stopped by the time-limit signal checkpoints its trial, exits 75 and requeues
# itself; the requeued run resumes the sweep and finishes with status 0 and the table.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
command -v bash >/dev/null || skip "no bash"
slice_latest 4000 "$TMP/slice"
mkdir -p "$TMP/bin"
# srun: run the program at one rank; scontrol: record the requeue.
cat >"$TMP/bin/srun" <<SH
#!/bin/sh
exec "\$@"
SH
cat >"$TMP/bin/scontrol" <<SH
#!/bin/sh
echo "\$*" >>"$TMP/requeued"
SH
chmod +x "$TMP/bin/srun" "$TMP/bin/scontrol"
export PATH="$TMP/bin:$PATH" COLLAB DATA="$TMP/slice" SWEEP="$TMP/sweeps/one"
export SLURM_JOB_ID=4243 SLURM_JOB_NAME=test
script="$top_srcdir/scripts/slurm/sweep.sbatch"
# Two folds of 2000 ratings: 31 batches an epoch; the first trial stops in its epoch 2.
opts="--grid n-factors=4,8 --folds 2 --epochs 3 --quiet"
set +e
COLLAB_TEST_SIGNAL_AT=70 bash "$script" $opts >"$TMP/out1" 2>&1
first=$?
bash "$script" $opts >"$TMP/out2" 2>&1
second=$?
set -e
[ "$first" = 75 ] || { cat "$TMP/out1" >&2; fail "first run exited $first, expected 75"; }
grep -q '^requeue 4243$' "$TMP/requeued" || fail "the job did not requeue itself"
[ "$second" = 0 ] || { cat "$TMP/out2" >&2; fail "requeued run exited $second"; }
grep -q 'table: .* (4 of 4 trials recorded)' "$TMP/out2" || { cat "$TMP/out2" >&2; fail "not finished"; }
grep -q '^resume: .*ckpt-e0002-i0000000071.h5' "$TMP/sweeps/one/trials/c0001-f0/train.log" ||
    { cat "$TMP/sweeps/one/trials/c0001-f0/train.log" >&2; fail "the stopped trial did not resume"; }
[ "$(wc -l <"$TMP/requeued")" = 1 ] || fail "requeued more than once"
echo "slurm-sweep: ok"
