#!/bin/sh
# show-batch prints the first training batch as user, title, rating (titles from
# movies.csv); the same batch at 1 and 2 ranks.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 3000 "$TMP/slice"
"$COLLAB" show-batch --data "$TMP/slice" --max-n 5 >"$TMP/out" || fail "show-batch failed"
[ "$(wc -l <"$TMP/out")" = 6 ] || { cat "$TMP/out" >&2; fail "expected a header and 5 rows"; }
head -n 1 "$TMP/out" | grep -q 'user *title *rating' || fail "bad header"
# Every shown row must be a real rating of the slice: look each one up.
tail -n 5 "$TMP/out" | while read -r idx user rest; do
    rating=${rest##* }
    title=$(echo "$rest" | sed 's/ *[0-9.]*$//')
    id=$(awk -F, -v t="$title" 'index($0, t) { print $1; exit }' "$TMP/slice/movies.csv")
    [ -n "$id" ] || fail "title '$title' not in movies.csv"
    grep -q "^$user,$id,$rating" "$TMP/slice/ratings.csv" || fail "row $idx ($user, $title, $rating) is not a rating"
done
run_np 2 show-batch --data "$TMP/slice" --max-n 5 >"$TMP/out2" || fail "at 2 ranks"
compare "$TMP/out" "$TMP/out2"
"$COLLAB" show-batch --data "$TMP/slice" --info >"$TMP/info"
grep -q '^rows: 3000 train: 2400 valid: 600 users: ' "$TMP/info" || { cat "$TMP/info" >&2; fail "info"; }
echo "show-batch: ok"
