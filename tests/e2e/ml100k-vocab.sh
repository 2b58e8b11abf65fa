#!/bin/sh
# MovieLens 100k with items keyed by title gives fastai's vocabularies: 944 users (943 and
# #na#) and 1665 items (all 1664 distinct titles, from every row as pandas' category dtype
# has them, and #na#), with the 80/20 split cut at int(0.2 * 100000).
. "${top_srcdir:?run through make check}/tests/e2e/lib.sh"
set -e
ml100k_or_skip
"$COLLAB" show-batch --data "$COLLAB_ML100K" --item-name title --info >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "show-batch --info failed"; }
grep '^rows:' "$TMP/out" >"$TMP/got" || { cat "$TMP/out" >&2; fail "no 'rows:' line"; }
echo "rows: 100000 train: 80000 valid: 20000 users: 944 items: 1665" >"$TMP/exp"
compare "$TMP/exp" "$TMP/got"
echo "ml100k-vocab: ok"
