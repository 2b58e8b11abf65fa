#!/bin/sh
# A rank killed mid-epoch (SIGKILL, as a node failure or the OOM killer would; test hook
# COLLAB_TEST_KILL_AT=N kills the last rank after batch N) ends the whole job loudly:
# a non-zero exit and the launcher naming the killed rank, within seconds, no hang. The
# last checkpoint is intact and resuming from it finishes with the same parameters as an
# uninterrupted run.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
[ -n "${MPIEXEC:-}" ] && [ "$MPIEXEC" != none ] || skip "no MPI launcher"
slice_latest 6000 "$TMP/slice"
args="train --data $TMP/slice --epochs 2 --n-factors 8 --progress never --quiet"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 75 batches per epoch: checkpoint at 40, killed at 110 (epoch 1, mid-epoch) after the
# checkpoint at 80.
set +e
COLLAB_TEST_KILL_AT=110 run_np 2 $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b \
    >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" != 0 ] || fail "the job with a killed rank exited 0"
grep -qi 'signal 9\|killed' "$TMP/err" || { cat "$TMP/err" >&2; fail "the launcher did not say a rank was killed"; }
ls "$TMP/ck" >"$TMP/files"
grep -q '^ckpt-e0001-i0000000080.h5$' "$TMP/files" || { cat "$TMP/files" >&2; fail "no checkpoint at batch 80"; }
! grep -q 'tmp$' "$TMP/files" || fail "a partial checkpoint was left behind"
# Resume at 2 ranks (and so at any -np): same parameters as the uninterrupted run.
run_np 2 $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b --resume auto \
    --dump-params "$TMP/res.bin" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "parameters differ after resuming past a killed rank"
echo "rank-kill: ok"
