#!/bin/sh
# Training from a prepared file (collab-mpi prepare) ends with bitwise the same
# parameters and prints the same epoch table as training from the text it was prepared
# from, at 1, 2 and 3 ranks; also for a file not grouped by user, items keyed by title,
# a rating range and skipped bad lines.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 6000 "$TMP/slice"
args="train --epochs 1 --n-factors 6 --bs 128 --progress never --quiet"
run_np 1 $args --data "$TMP/slice" --dump-params "$TMP/text.bin" >"$TMP/text.out" ||
    fail "train on the text failed"
strip_times <"$TMP/text.out" >"$TMP/exp"
run_np 2 prepare "$TMP/slice" --output "$TMP/slice.h5" --quiet >"$TMP/prep.out" ||
    fail "prepare at 2 ranks failed"
grep -q "^prepare: wrote 6000 ratings" "$TMP/prep.out" || fail "prepare summary: $(cat "$TMP/prep.out")"
for np in 1 2 3; do
    run_np $np $args --data "$TMP/slice.h5" --dump-params "$TMP/p$np.bin" >"$TMP/p$np.out" ||
        fail "train on the prepared file at $np ranks failed"
    cmp "$TMP/text.bin" "$TMP/p$np.bin" || fail "parameters differ (prepared, $np ranks)"
    strip_times <"$TMP/p$np.out" >"$TMP/got"
    compare "$TMP/exp" "$TMP/got"
done

# Users out of order (rows sorted by a hash of the line), a bad line, titles, a range.
mkdir "$TMP/mixed"
cp "$TMP/slice/movies.csv" "$TMP/mixed/"
{
    head -n 1 "$TMP/slice/ratings.csv"
    tail -n +2 "$TMP/slice/ratings.csv" | awk -F, '{ print ($1 * 7919 + $2 * 31) % 1009 "," $0 }' |
        sort -t, -k1,1n -s | cut -d, -f2- | sed '100s/,[0-9.]*,/,bad,/'
} >"$TMP/mixed/ratings.csv"
opts="--item-name title --rating-range 0.5,5 --skip-bad-lines"
run_np 3 prepare "$TMP/mixed" --output "$TMP/mixed.h5" $opts --quiet >/dev/null 2>&1 ||
    fail "prepare of the mixed file failed"
run_np 2 $args --data "$TMP/mixed" $opts --valid-pct 0.3 --seed 7 \
    --dump-params "$TMP/mt.bin" >/dev/null 2>&1 || fail "train on the mixed text failed"
run_np 2 $args --data "$TMP/mixed.h5" $opts --valid-pct 0.3 --seed 7 \
    --dump-params "$TMP/mp.bin" >/dev/null 2>&1 || fail "train on the mixed prepared file failed"
cmp "$TMP/mt.bin" "$TMP/mp.bin" || fail "parameters differ (mixed file, titles, skipped line)"
echo "prepare-train: ok"
