#!/bin/sh
# An nn run stopped by SIGTERM mid-epoch and resumed at another number of ranks ends
# bitwise identical to an uninterrupted run (dense head, its Adam moments and the
# BatchNorm running statistics come back from the checkpoint); the final model file
# holds the nn tables.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 8000 "$TMP/slice"
args="train --data $TMP/slice --model nn --layers 12,6 --epochs 2 --progress never --quiet"
run_np 1 $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 8000 ratings: 100 batches of 64 per epoch; stop inside epoch 1 (after batch 130).
set +e
COLLAB_TEST_SIGNAL_AT=130 run_np 2 $args --checkpoint-dir "$TMP/ck" >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "stopped run exited $got, expected 75"; }
run_np 3 $args --checkpoint-dir "$TMP/ck" --resume auto --dump-params "$TMP/res.bin" \
    --output "$TMP/model.h5" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "resumed at 3 ranks: parameters differ"
# A resumed run must keep the architecture.
ck=$(ls "$TMP"/ck/ckpt-*.h5 | tail -n 1)
expect_fail 2 "option --layers 12 conflicts with the checkpoint $ck, which was written with --layers 12,6" \
    train --data "$TMP/slice" --model nn --layers 12 --epochs 2 --resume "$ck"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - "$TMP/model.h5" <<'PY' || fail "model file layout"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    m = f["model"]
    n_in = m["user_factors"].shape[1] + m["item_factors"].shape[1]
    # weights (in x out, transposed), final weight, BatchNorm weight+bias, final bias
    assert m["nn_params"].shape == (n_in * 12 + 12 * 6 + 6 + 2 * (12 + 6) + 1, ), m["nn_params"].shape
    assert m["nn_stats"].shape == (2 * (12 + 6),)
    assert "user_bias" not in m
PY
fi
echo "nn-resume: ok"
