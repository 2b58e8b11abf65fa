#!/bin/sh
# The chapter's run on MovieLens 100k (titles as items, 6 epochs of fit_one_cycle, lr 5e-3,
# wd 0.1), then the model put to work: the lowest and highest item biases include the
# book's films; on the held-out protocol the model's top-10 rankings beat popularity; and
# every user's recommendations are the same file at 1 and 2 ranks.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
ml100k_or_skip
run_np 2 train --data "$COLLAB_ML100K" --item-name title --epochs 6 --lr 5e-3 --wd 0.1 \
    --progress never --quiet --output "$TMP/seed.h5" >/dev/null || fail "the seed run failed"
same_np "$TMP/biases" biases --model "$TMP/seed.h5"
sed -n '2,11p' "$TMP/biases" >"$TMP/low"
sed -n '13,22p' "$TMP/biases" >"$TMP/high"
n=0
for t in "Children of the Corn: The Gathering" "Lawnmower Man 2" "Home Alone 3" \
    "Crow: City of Angels" "Beautician and the Beast"; do
    grep -qF "$t" "$TMP/low" && n=$((n + 1))
done
[ "$n" -ge 3 ] || { cat "$TMP/low" >&2; fail "only $n of the book's lowest-bias films"; }
n=0
for t in "Titanic" "Shawshank Redemption" "L.A. Confidential" "Silence of the Lambs" \
    "Star Wars" "Schindler's List"; do
    grep -qF "$t" "$TMP/high" && n=$((n + 1))
done
[ "$n" -ge 3 ] || { cat "$TMP/high" >&2; fail "only $n of the book's highest-bias films"; }
same_np "$TMP/eval" evaluate --model "$TMP/seed.h5"
# heldout protocol: model beats popularity on precision, recall and NDCG@10.
awk '/^heldout protocol/ { on = 1 } /^catalogue protocol/ { on = 0 }
     on && /^  (precision|recall|ndcg)@10 / { n++; if (!($2 > $3)) bad = bad " " $1 }
     END { if (n != 3 || bad != "") { print "not better:" bad; exit 1 } }' "$TMP/eval" ||
    { cat "$TMP/eval" >&2; fail "the model does not beat popularity on the heldout protocol"; }
"$COLLAB" recommend --model "$TMP/seed.h5" --all-users --output "$TMP/r1.h5" >/dev/null
run_np 2 recommend --model "$TMP/seed.h5" --all-users --output "$TMP/r2.h5" >/dev/null
for d in items scores; do
    h5dump -d "$d" "$TMP/r1.h5" | tail -n +2 >"$TMP/d1"
    h5dump -d "$d" "$TMP/r2.h5" | tail -n +2 >"$TMP/d2"
    compare "$TMP/d1" "$TMP/d2"
done
echo "ml100k-use: ok"
