#!/bin/sh
# train for one epoch on a slice of ml-latest-small at one rank: the settings, fastai's
# epoch table (one row) and the summary are printed, and the model learned something:
# its validation MSE beats predicting the training mean.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 20000 "$TMP/slice"
"$COLLAB" train --data "$TMP/slice" --epochs 1 --lr 1e-2 --progress never >"$TMP/out" 2>"$TMP/err" \
    || { cat "$TMP/err" >&2; fail "train exited non-zero"; }
grep -q '^  model  *dotbias$' "$TMP/out" || fail "settings do not show the model"
grep -q '^epoch  train_loss  valid_loss  time$' "$TMP/out" || fail "no epoch table header"
[ "$(grep -c '^0 ' "$TMP/out")" = 1 ] || fail "expected one epoch row"
mse=$(sed -n 's/^summary: .* valid_loss \([0-9.]*\) .*/\1/p' "$TMP/out")
[ -n "$mse" ] || fail "no summary line"
# The variance of the slice's ratings about their mean is ~1.1: a trained model is below 1.
awk -v m="$mse" 'BEGIN { exit !(m > 0.3 && m < 1.0) }' || fail "valid_loss $mse not in (0.3, 1.0)"
[ ! -s "$TMP/err" ] || { cat "$TMP/err" >&2; fail "unexpected stderr"; }
echo "train-e2e: ok (valid_loss $mse)"
