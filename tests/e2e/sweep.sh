#!/bin/sh
# sweep: 2 configurations x 2 folds at 2 ranks (two groups of one) record 4 trials in
# DIR/sweep.h5 and rank the configurations; every trial's model is bitwise the model of
# `train` run alone with the trial's options from DIR/plan.txt at 1 rank; with
# --ranks-per-trial 2 a trial is bitwise train at 2 ranks; --refit trains the best on
# all the data, bitwise `train --valid-pct 0`.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
command -v h5diff >/dev/null || skip "no h5diff (hdf5-tools)"
slice_latest 6001 "$TMP/slice"
# same_model A B: the model tables of two model files are equal, bit for bit.
same_model() {
    for d in user_factors item_factors user_bias item_bias; do
        h5diff -q "$1" "$2" "/model/$d" "/model/$d" || fail "$1 and $2 differ in model/$d"
    done
}
common="--data $TMP/slice --epochs 2 --folds 2"
run_np 2 sweep $common --grid 'lr=3e-3,1e-2 n-factors=4,8' --sweep-dir "$TMP/sw" \
    --keep-models --refit >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "sweep"; }
grep -q '^table: .*sweep.h5 (8 of 8 trials recorded)$' "$TMP/out" || { cat "$TMP/out" >&2; fail "not 8 trials"; }
grep -q '^1 .* 2/2 .* lr=1e-2 n-factors=8$' "$TMP/out" || { cat "$TMP/out" >&2; fail "ranking"; }
[ "$(grep -c '^trial c000[0-3]-f[01] ' "$TMP/out")" = 8 ] || fail "a line per trial"
# Every trial, alone: train with the plan's options at 1 rank gives the same model.
tab=$(printf '\t')
tail -n +2 "$TMP/sw/plan.txt" >"$TMP/plan"
[ "$(wc -l <"$TMP/plan")" = 8 ] || fail "the plan does not list 8 trials"
while IFS="$tab" read -r id settings fold args; do
    set -f
    $COLLAB $args --output "$TMP/alone.h5" --progress never --quiet >/dev/null </dev/null ||
        fail "train $args"
    set +f
    same_model "$TMP/alone.h5" "$TMP/sw/trials/$id/model.h5"
    echo "$id" >>"$TMP/compared"
done <"$TMP/plan"
[ "$(wc -l <"$TMP/compared")" = 8 ] || fail "not every trial was compared with train alone"
grep -q "^c0003-f1${tab}lr=1e-2 n-factors=8${tab}1${tab}train --data $TMP/slice --folds 2 --fold 1 --n-factors 8 --epochs 2 --lr 0.01$" "$TMP/plan" ||
    fail "plan line of c0003-f1"
# --refit: the best configuration on every rating.
grep -q "^refit: lr=1e-2 n-factors=8 on all the data -> $TMP/sw/best.h5" "$TMP/out" || fail "refit line"
$COLLAB train --data "$TMP/slice" --epochs 2 --n-factors 8 --lr 1e-2 --valid-pct 0 \
    --output "$TMP/all.h5" --progress never --quiet >/dev/null || fail "train on all"
same_model "$TMP/all.h5" "$TMP/sw/best.h5"
# Two ranks per trial: each trial is train at 2 ranks (here at 2 ranks: one group).
run_np 2 sweep $common --grid 'lr=1e-2' --ranks-per-trial 2 --sweep-dir "$TMP/sw2" \
    --keep-models --quiet >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "sweep R=2"; }
run_np 2 train $common --fold 1 --lr 1e-2 --output "$TMP/np2.h5" --progress never --quiet \
    >/dev/null || fail "train at 2 ranks"
same_model "$TMP/np2.h5" "$TMP/sw2/trials/c0000-f1/model.h5"
# The table: one row per trial and the per-epoch metrics beside it.
h5dump -d /valid_loss "$TMP/sw/sweep.h5" | grep -q 'DATASPACE  SIMPLE { ( 8, 2 ) / ( 8, 2 ) }' ||
    fail "valid_loss is not (8 trials, 2 epochs)"
h5dump -a /complete "$TMP/sw/sweep.h5" | grep -q '(0): 1' || fail "the table is not complete"
echo "sweep: ok"
