#!/bin/sh
# A NaN or infinite loss stops training on every rank at that batch with exit 1 and one
# message naming the batch and the learning rate and suggesting a lower --lr; no
# checkpoint of the broken parameters is written, and the last good one is kept (and
# named). Test hook COLLAB_TEST_NAN_AT=N makes rank 0's parameters NaN after batch N.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 6000 "$TMP/slice"
args="train --data $TMP/slice --epochs 2 --n-factors 8 --progress never --quiet"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"

# NaN parameters after batch 50: the loss of batch 50 (counted from 0) is NaN.
COLLAB_TEST_NAN_AT=50 expect_fail 1 "training diverged: the loss of epoch 0, batch 50 is NaN or infinite" \
    $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b --output "$TMP/model.h5"
grep -qF "the last good checkpoint, $TMP/ck/ckpt-e0000-i0000000040.h5, is kept. Try a lower --lr (this run has --lr 0.005; e.g. --lr 0.0005)" \
    "$TMP/err" || { cat "$TMP/err" >&2; fail "the message does not name the kept checkpoint and a lower lr"; }
[ "$(ls "$TMP/ck" | grep -c '^ckpt')" = 1 ] || { ls "$TMP/ck" >&2; fail "not exactly the one good checkpoint"; }
[ ! -e "$TMP/model.h5" ] || fail "a model of NaN parameters was written"
# The good checkpoint resumes (the fault was transient) to the uninterrupted result.
"$COLLAB" $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b --resume auto \
    --dump-params "$TMP/res.bin" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "parameters differ after resuming from the good checkpoint"

# NaN exactly at a checkpoint boundary: that checkpoint is refused, the one before kept.
COLLAB_TEST_NAN_AT=40 expect_fail 1 "training diverged: the parameters are no longer finite (at batch 40); they were not written and the last good checkpoint, $TMP/ck2/ckpt-e0000-i0000000020.h5, is kept" \
    $args --checkpoint-dir "$TMP/ck2" --checkpoint-every 20b
[ "$(ls "$TMP/ck2" | grep -c '^ckpt')" = 1 ] || { ls "$TMP/ck2" >&2; fail "a checkpoint of NaN parameters was written"; }

# A real divergence: DotProduct (no sigmoid) at lr 1000 overflows to an infinite loss.
expect_fail 1 "Try a lower --lr (this run has --lr 1000; e.g. --lr 100)" \
    $args --model dot --lr 1000 --output "$TMP/diverged.h5"
[ ! -e "$TMP/diverged.h5" ] || fail "a diverged model was written"

# 2 ranks: both stop at the same batch, one message.
if [ -n "${MPIEXEC:-}" ] && [ "$MPIEXEC" != none ]; then
    set +e
    COLLAB_TEST_NAN_AT=50 run_np 2 $args >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" != 0 ] || fail "2 ranks: exit 0 on a NaN loss"
    [ "$(grep -c 'collab-mpi: error: training diverged' "$TMP/err")" = 1 ] ||
        { cat "$TMP/err" >&2; fail "2 ranks: not one message"; }
fi
echo "nan-loss: ok"
