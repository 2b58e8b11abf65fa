#!/bin/sh
# similar finds an item by ID, exact title or part of a title and lists the nearest items
# by cosine similarity of their factors (checked independently); an ambiguous title lists
# the candidates, an unknown one is named. biases lists the lowest and highest learned
# biases of items and users (checked independently). Both are the same at 1 and 2 ranks.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP"
m=$TMP/model.h5
same_np "$TMP/by-id" similar --model "$m" --item 2571 -n 6
"$COLLAB" similar --model "$m" --item "Matrix, The (1999)" -n 6 >"$TMP/by-title"
compare "$TMP/by-id" "$TMP/by-title"
head -n 1 "$TMP/by-id" >"$TMP/got"
echo "items most similar to Matrix, The (1999) [2571] (cosine similarity of item factors)" >"$TMP/exp"
compare "$TMP/exp" "$TMP/got"
"$COLLAB" similar --model "$m" --item "saving PRIVATE" -n 2 | head -n 1 >"$TMP/got"
echo "items most similar to Saving Private Ryan (1998) [2028] (cosine similarity of item factors)" >"$TMP/exp"
compare "$TMP/exp" "$TMP/got"
expect_fail 1 "--item 'matrix' matches 3 items; give one of them exactly:" similar --model "$m" --item matrix
printf '  Matrix, The (1999) [2571]\n  Matrix Reloaded, The (2003) [6365]\n  Matrix Revolutions, The (2003) [6934]\n' >"$TMP/exp"
tail -n 3 "$TMP/err" >"$TMP/got"
compare "$TMP/exp" "$TMP/got"
expect_fail 1 "--item 'no such film': no item of $m matches" similar --model "$m" --item "no such film"
# --min-ratings reads the training data and drops rarely rated items.
"$COLLAB" similar --model "$m" --item 2571 -n 6 --min-ratings 5 >"$TMP/min5"
same_np "$TMP/biases" biases --model "$m" -n 4
grep -c '^  ' "$TMP/biases" | grep -qx 16 || fail "biases: expected 4 rows in each of 4 lists"
if have_py; then
    $PY - "$m" "$TMP/by-id" "$TMP/biases" "$TMP/min5" "$TMP/slice/ratings.csv" <<'PY' ||
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    V = f["model/item_factors"][:].astype(np.float64)
    Vb, Ub = f["model/item_bias"][:], f["model/user_bias"][:]
    users = [s.decode() for s in f["vocab/users"][:]]
    items = [s.decode() for s in f["vocab/items"][:]]
def listed(path, start):
    return [l.rsplit("[", 1)[1].rstrip("]") for l in open(path).read().splitlines()[start:]]
q = items.index("2571")
cos = V @ V[q] / (np.linalg.norm(V, axis=1) * np.linalg.norm(V[q]))
order = [i for i in np.lexsort((np.arange(len(items)), -cos)) if i not in (0, q)]
assert listed(sys.argv[2], 2) == [items[i] for i in order[:6]], "similar"
# --min-ratings 5: only items with at least 5 training ratings (a subset of all ratings,
# so every listed item has >= 5 ratings in the slice).
counts = {}
for l in open(sys.argv[5]).read().splitlines()[1:]:
    counts[l.split(",")[1]] = counts.get(l.split(",")[1], 0) + 1
assert all(counts[i] >= 5 for i in listed(sys.argv[4], 2)), "min-ratings"
lines = open(sys.argv[3]).read().splitlines()
blocks = [[l.split() for l in lines[5 * b + 1:5 * b + 5]] for b in range(4)]
for b, (bias, names, rev) in enumerate([(Vb, items, False), (Vb, items, True),
                                        (Ub, users, False), (Ub, users, True)]):
    idx = np.lexsort((np.arange(len(bias)), -bias if rev else bias))
    idx = [i for i in idx if i != 0][:4]
    got = [r[-1].strip("[]") for r in blocks[b]]
    assert got == [names[i] for i in idx], (b, got, [names[i] for i in idx])
    assert all(abs(float(r[0]) - bias[i]) < 1e-4 for r, i in zip(blocks[b], idx))
PY
        fail "similar or biases differ from the independent computation"
fi
echo "similar-biases: ok"
