#!/bin/sh
# A run stopped by SIGTERM at a chosen batch checkpoints, exits with status 75 ("resume
# me"), and resumed -- at 2 ranks, and at 3 -- ends with parameters byte-identical to an
# uninterrupted run. The metrics file is readable and holds one row per epoch.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 12000 "$TMP/slice"
args="train --data $TMP/slice --epochs 3 --n-factors 8 --progress never --quiet"
run_np 2 $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 12000 ratings: 150 batches of 64 per epoch; stop inside epoch 1 (after batch 200).
for np in 2 3; do
    rm -rf "$TMP/ck"
    set +e
    COLLAB_TEST_SIGNAL_AT=200 run_np 2 $args --checkpoint-dir "$TMP/ck" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "stopped run exited $got, expected 75"; }
    ls "$TMP/ck" | grep -q 'ckpt-e0001-i0000000201.h5' || { ls "$TMP/ck" >&2; fail "no checkpoint at batch 201"; }
    run_np $np $args --checkpoint-dir "$TMP/ck" --resume auto --dump-params "$TMP/res.bin" \
        >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume at $np ranks failed"; }
    cmp "$TMP/full.bin" "$TMP/res.bin" || fail "resumed at $np ranks: parameters differ"
done
grep -q 'summary: epochs 3' "$TMP/out" || fail "resumed run printed no summary"
# Refusals name the file and the problem, exit 1 on every rank.
ck=$(ls "$TMP"/ck/ckpt-*.h5 | tail -n 1)
head -c 3000 "$ck" >"$TMP/trunc.h5"
set +e
run_np 2 $args --resume "$TMP/trunc.h5" >/dev/null 2>"$TMP/err"; got=$?
set -e
[ "$got" != 0 ] || fail "a truncated checkpoint was accepted"
grep -q "trunc.h5: not a readable HDF5 file" "$TMP/err" || { cat "$TMP/err" >&2; fail "truncated: message"; }
[ "$(grep -c 'collab-mpi: error' "$TMP/err")" = 1 ] || fail "truncated: not exactly one message"
expect_fail 2 "option --lr 0.01 conflicts with the checkpoint $ck, which was written with --lr 0.005" \
    $args --lr 0.01 --resume "$ck"
expect_fail 1 "was written for other data" train --data "$top_srcdir/data/ml-latest-small" \
    --epochs 3 --n-factors 8 --resume "$ck"
# A finished run's metrics: epochs 0, 1, 2 once each (the resumed epoch was rewritten).
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - "$TMP/ck/metrics.h5" <<'PY' || fail "metrics file"
import sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    epochs = list(f["epochs"]["epoch"])
    assert epochs == [0, 1, 2], epochs
    assert all(v > 0 for v in f["epochs"]["valid_loss"])
PY
fi
echo "resume: ok"
