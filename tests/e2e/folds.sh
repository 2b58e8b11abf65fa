#!/bin/sh
# train --folds K --fold I: the K folds of the seed's permutation partition the rows (each
# n/K or one more), fold 0 of 5 is --valid-pct 0.2's split, a fold trains to the same
# bits at 1 and 2 ranks and to other bits than another fold, a checkpoint of one fold is
# refused by a run of another, and evaluate rebuilds a fold-trained model's fold.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 6001 "$TMP/slice"
base="--data $TMP/slice"
total=0
for f in 0 1 2 3; do
    "$COLLAB" show-batch $base --info --folds 4 --fold $f >"$TMP/info"
    v=$(sed -n 's/.* valid: \([0-9]*\) .*/\1/p' "$TMP/info")
    [ "$v" = 1500 ] || [ "$v" = 1501 ] || { cat "$TMP/info" >&2; fail "fold $f holds $v rows"; }
    total=$((total + v))
done
[ "$total" = 6001 ] || fail "the 4 folds hold $total rows, not 6001"
"$COLLAB" show-batch $base --info --folds 5 --fold 0 >"$TMP/f0"
"$COLLAB" show-batch $base --info --valid-pct 0.2 >"$TMP/p20"
compare "$TMP/p20" "$TMP/f0"
args="train $base --progress never --quiet --epochs 2 --n-factors 4 --folds 3"
run_np 1 $args --fold 1 --dump-params "$TMP/f1.np1" >/dev/null || fail "fold 1 at 1 rank"
run_np 2 $args --fold 1 --dump-params "$TMP/f1.np2" --checkpoint-dir "$TMP/ck" >/dev/null ||
    fail "fold 1 at 2 ranks"
cmp "$TMP/f1.np1" "$TMP/f1.np2" || fail "fold 1: 1 and 2 ranks differ"
run_np 1 $args --fold 2 --dump-params "$TMP/f2.np1" >/dev/null || fail "fold 2 at 1 rank"
! cmp -s "$TMP/f1.np1" "$TMP/f2.np1" || fail "folds 1 and 2 trained the same parameters"
ck=$(ls "$TMP"/ck/ckpt-*.h5 | tail -n 1)
expect_fail 2 "option --fold 2 conflicts with the checkpoint $ck, which was written with --fold 1" \
    $args --fold 2 --resume "$ck"
# evaluate finds the fold in the model's settings: it holds out fold 1's rows.
run_np 1 $args --fold 1 --output "$TMP/m.h5" >/dev/null || fail "fold 1 with --output"
"$COLLAB" evaluate --model "$TMP/m.h5" --protocol heldout >"$TMP/eval.out" || fail "evaluate"
grep -q -- "--folds 3 --fold 1 --seed 42" "$TMP/eval.out" || { cat "$TMP/eval.out" >&2; fail "evaluate: which split"; }
"$COLLAB" show-batch $base --info --folds 3 --fold 1 >"$TMP/info"
v=$(sed -n 's/.* valid: \([0-9]*\) .*/\1/p' "$TMP/info")
grep -q "^held-out ratings: $v " "$TMP/eval.out" || { cat "$TMP/eval.out" >&2; fail "evaluate: not fold 1's $v rows"; }
echo "folds: ok"
