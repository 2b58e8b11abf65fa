#!/bin/sh
# A sweep stopped by a signal (COLLAB_TEST_SIGNAL_AT: a SIGTERM in the trial's batch 60)
# checkpoints the trial in progress, keeps the finished ones, writes the table so far and
# exits 75; `--resume auto` -- at 2 ranks -- trains only what was left, resuming the
# stopped trial from its checkpoint, and ends with the table of an uninterrupted sweep,
# bit for bit. A finished trial is not trained again. The sweep folder is not reused
# without --resume, nor resumed with other settings.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
command -v h5diff >/dev/null || skip "no h5diff (hdf5-tools)"
slice_latest 6001 "$TMP/slice"
# 3000 training ratings per fold: 46 batches an epoch. Trials are dealt the costliest
# first (epochs x (factors + 8)): the two 1-epoch trials of the first configuration
# finish (46 batches < 60), the first 3-epoch trial is stopped in its epoch 1.
cat >"$TMP/configs" <<'EOF'
epochs=1 n-factors=64
epochs=3 n-factors=4   # stopped, then resumed
EOF
args="sweep --data $TMP/slice --configs $TMP/configs --folds 2 --quiet"
set +e
COLLAB_TEST_SIGNAL_AT=60 run_np 1 $args --sweep-dir "$TMP/sw" >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 75 ] || { cat "$TMP/out" "$TMP/err" >&2; fail "stopped sweep exited $got, expected 75"; }
grep -q 'table: .* (2 of 4 trials recorded)' "$TMP/out" || { cat "$TMP/out" >&2; fail "2 trials done"; }
grep -q '^-  .* 0/2 .* epochs=3 n-factors=4  (2 not trained yet)$' "$TMP/out" ||
    { cat "$TMP/out" >&2; fail "the partial table"; }
for id in c0000-f0 c0000-f1; do
    [ -f "$TMP/sw/trials/$id/result.h5" ] || fail "$id has no record"
    cp "$TMP/sw/trials/$id/result.h5" "$TMP/$id.h5"
done
[ -f "$TMP/sw/trials/c0001-f0/ckpt-e0001-i0000000061.h5" ] || { ls -R "$TMP/sw" >&2; fail "no checkpoint at batch 61"; }
[ ! -e "$TMP/sw/trials/c0001-f0/result.h5" ] || fail "the stopped trial has a record"
h5dump -a /complete "$TMP/sw/sweep.h5" | grep -q '(0): 0' || fail "the partial table says complete"
# Refusals: the folder holds a sweep; other settings.
expect_fail 2 "holds a sweep already" $args --sweep-dir "$TMP/sw"
sed 's/n-factors=4 /n-factors=5 /' "$TMP/configs" >"$TMP/other"
expect_fail 2 "was planned with other settings: its line 'c0001-f0" sweep --data "$TMP/slice" \
    --configs "$TMP/other" --folds 2 --sweep-dir "$TMP/sw" --resume auto
# Resume at 2 ranks.
run_np 2 $args --sweep-dir "$TMP/sw" --resume auto >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "resumed sweep"; }
grep -q 'table: .* (4 of 4 trials recorded)' "$TMP/out" || { cat "$TMP/out" >&2; fail "4 trials done"; }
for id in c0000-f0 c0000-f1; do
    cmp -s "$TMP/$id.h5" "$TMP/sw/trials/$id/result.h5" || fail "$id was recorded again"
    [ "$(grep -c '^summary:' "$TMP/sw/trials/$id/train.log")" = 1 ] || fail "$id was trained again"
done
grep -q '^resume: .*c0001-f0/ckpt-e0001-i0000000061.h5 at epoch 1' "$TMP/sw/trials/c0001-f0/train.log" ||
    { cat "$TMP/sw/trials/c0001-f0/train.log" >&2; fail "c0001-f0 did not resume"; }
ls "$TMP/sw/trials/c0001-f0" | grep -q ckpt- && fail "a finished trial kept its checkpoints"
# The same table as a sweep that was never stopped.
run_np 1 $args --sweep-dir "$TMP/full" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "full sweep"; }
for d in valid_loss valid_mae train_loss; do
    h5diff -q "$TMP/sw/sweep.h5" "$TMP/full/sweep.h5" /$d /$d || fail "resumed table: $d differs"
done
echo "sweep-resume: ok"
