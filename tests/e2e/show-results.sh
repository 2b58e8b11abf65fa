#!/bin/sh
# show-results prints validation rows with the prediction beside the target, like
# learn.show_results(): the same rows at 1 and 2 ranks, each a real rating of the data,
# its prediction the one predict gives for the pair.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP"
same_np "$TMP/out" show-results --model "$TMP/model.h5"
[ "$(wc -l <"$TMP/out")" = 10 ] || fail "expected a header and 9 rows"
head -n 1 "$TMP/out" | grep -q '^ *user *title *rating *rating_pred$' || fail "bad header"
"$COLLAB" show-results --model "$TMP/model.h5" --max-n 3 >"$TMP/three"
head -n 4 "$TMP/out" >"$TMP/exp"
compare "$TMP/exp" "$TMP/three" # the first rows of a longer list
if have_py; then
    $PY - "$TMP/out" "$TMP/slice" >"$TMP/pairs.csv" <<'PY' || fail "a shown row is not a rating"
import csv, sys
ratings = {(r[0], r[1]): float(r[2]) for r in list(csv.reader(open(sys.argv[2] + "/ratings.csv")))[1:]}
ids = {}
for r in list(csv.reader(open(sys.argv[2] + "/movies.csv")))[1:]:
    ids.setdefault(r[1], []).append(r[0])
print("user,item")
for line in open(sys.argv[1]).read().splitlines()[1:]:
    t = line.split()
    user, rating, title = t[1], float(t[-2]), " ".join(t[2:-2])
    item = [i for i in ids[title] if (user, i) in ratings]
    assert len(item) == 1 and ratings[(user, item[0])] == rating, line
    print("%s,%s" % (user, item[0]))
PY
    "$COLLAB" predict --model "$TMP/model.h5" "$TMP/pairs.csv" | tail -n +2 | cut -f3 >"$TMP/exp"
    tail -n +2 "$TMP/out" | awk '{ print $NF }' >"$TMP/got"
    compare "$TMP/exp" "$TMP/got"
fi
echo "show-results: ok"
