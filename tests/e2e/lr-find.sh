#!/bin/sh
# lr-find sweeps 1e-7..10, prints the curve and a suggestion inside the sweep, and leaves
# the model untouched (its parameters equal a fresh model's: train --epochs 0).
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 20000 "$TMP/slice"
"$COLLAB" lr-find --data "$TMP/slice" --progress never --dump-params "$TMP/after.bin" \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "lr-find failed"; }
grep -q '^batch lr           smooth_loss$' "$TMP/out" || fail "no curve header"
first=$(awk '$1 == "0" { print $2 }' "$TMP/out")
[ "$first" = "1.000000e-07" ] || fail "sweep starts at $first, not 1e-7"
lr=$(sed -n 's/^suggestion: valley \([0-9.e+-]*\) .*/\1/p' "$TMP/out")
[ -n "$lr" ] || fail "no valley suggestion"
awk -v x="$lr" 'BEGIN { exit !(x > 1e-5 && x < 1) }' || fail "suggestion $lr outside (1e-5, 1)"
grep -q '<- suggestion' "$TMP/out" || fail "suggested point not marked"
"$COLLAB" train --data "$TMP/slice" --epochs 0 --quiet --dump-params "$TMP/fresh.bin" >/dev/null
cmp "$TMP/fresh.bin" "$TMP/after.bin" || fail "lr-find changed the model"
"$COLLAB" lr-find --data "$TMP/slice" --suggest steep --quiet >"$TMP/steep" || fail "steep"
grep -q '^suggestion: steep ' "$TMP/steep" || fail "no steep suggestion"
echo "lr-find: ok (valley $lr)"
