#!/bin/sh
# The same training at 1 and 2 ranks prints the same epoch table and summary and ends
# with bitwise identical parameters.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 8000 "$TMP/slice"
args="train --data $TMP/slice --epochs 2 --n-factors 8 --progress never --quiet"
run_np 1 $args --dump-params "$TMP/p1.bin" >"$TMP/o1" || fail "train at 1 rank failed"
run_np 2 $args --dump-params "$TMP/p2.bin" >"$TMP/o2" || fail "train at 2 ranks failed"
strip_times <"$TMP/o1" >"$TMP/exp"
strip_times <"$TMP/o2" >"$TMP/got"
compare "$TMP/exp" "$TMP/got"
[ -s "$TMP/p1.bin" ] || fail "no parameter dump"
cmp "$TMP/p1.bin" "$TMP/p2.bin" || fail "parameters differ between 1 and 2 ranks"
echo "train-np2: ok"
