#!/bin/sh
# scripts/slurm/train.sbatch, run outside Slurm with stand-ins for srun and scontrol: a
# run stopped by the time-limit signal checkpoints, exits 75 and requeues itself; the
# requeued run resumes and finishes with status 0 and the model file.
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
export PATH="$TMP/bin:$PATH" COLLAB DATA="$TMP/slice" CKPT="$TMP/ck"
export SLURM_JOB_ID=4242 SLURM_JOB_NAME=test
script="$top_srcdir/scripts/slurm/train.sbatch"
set +e
COLLAB_TEST_SIGNAL_AT=70 bash "$script" --epochs 2 --n-factors 4 >"$TMP/out1" 2>&1
first=$?
bash "$script" --epochs 2 --n-factors 4 >"$TMP/out2" 2>&1
second=$?
set -e
[ "$first" = 75 ] || { cat "$TMP/out1" >&2; fail "first run exited $first, expected 75"; }
grep -q '^requeue 4242$' "$TMP/requeued" || fail "the job did not requeue itself"
[ "$second" = 0 ] || { cat "$TMP/out2" >&2; fail "requeued run exited $second"; }
grep -q 'resume: .*ckpt-e0001-i0000000071.h5' "$TMP/out2" || { cat "$TMP/out2" >&2; fail "did not resume"; }
[ -f "$TMP/ck/model.h5" ] || fail "no model file after the requeued run"
[ "$(wc -l <"$TMP/requeued")" = 1 ] || fail "requeued more than once"
echo "slurm-template: ok"
