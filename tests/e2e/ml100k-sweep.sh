#!/bin/sh
# MovieLens 100k in 5 folds of u.data by the seed (sweep --folds 5): every fold holds out
# 20000 of the 100000 ratings, the folds' validation rows are all different, and fold 0
# is --valid-pct 0.2's split. Skips without MovieLens 100k (COLLAB_ML100K).
. "$top_srcdir/tests/e2e/lib.sh"
set -e
ml100k_or_skip
run_np 2 sweep --data "$COLLAB_ML100K" --folds 5 --grid 'n-factors=4' --epochs 1 \
    --sweep-dir "$TMP/sw" --quiet >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "sweep"; }
grep -q 'table: .* (5 of 5 trials recorded)' "$TMP/out" || { cat "$TMP/out" >&2; fail "5 trials"; }
for f in 0 1 2 3 4; do
    grep -q '^  rows  *train 80000, valid 20000,' "$TMP/sw/trials/c0000-f$f/train.log" ||
        fail "fold $f does not hold out 20000 ratings"
done
"$COLLAB" show-batch --data "$COLLAB_ML100K" --info --folds 5 --fold 0 >"$TMP/f0"
"$COLLAB" show-batch --data "$COLLAB_ML100K" --info >"$TMP/p20"
compare "$TMP/p20" "$TMP/f0"
# Different folds, different validation rows: their first validation MSEs differ.
sed -n 's/^0  *[0-9.]*  *\([0-9.]*\) .*/\1/p' "$TMP"/sw/trials/c0000-f*/train.log | sort -u >"$TMP/v"
[ "$(wc -l <"$TMP/v")" = 5 ] || fail "the folds' validation losses are not 5 different values"
echo "ml100k-sweep: ok"
