#!/bin/sh
# pca projects the factors of the most-rated items on their principal components and
# writes HDF5 and CSV, the same at 1 and 2 ranks; the selection (most ratings first) and
# the projection match an independent numpy computation.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP"
m=$TMP/model.h5
"$COLLAB" pca --model "$m" --top 200 --components 3 --show 2 --output "$TMP/a.h5" >"$TMP/out1" ||
    fail "pca failed"
run_np 2 pca --model "$m" --top 200 --components 3 --show 2 --output "$TMP/b.h5" >"$TMP/out2" ||
    fail "pca at 2 ranks failed"
sed "s|$TMP/b|$TMP/a|g" "$TMP/out2" >"$TMP/out2a"
compare "$TMP/out1" "$TMP/out2a"
compare "$TMP/a.csv" "$TMP/b.csv"
head -n 1 "$TMP/out1" | grep -q '^pca: the 200 most-rated items (of [0-9]* rated), 8 factors -> 3 components$' ||
    fail "bad summary line"
[ "$(grep -c '^  \(low\|high\) ' "$TMP/out1")" = 12 ] || fail "expected 2 items at each end of 3 components"
head -n 1 "$TMP/a.csv" | grep -qx 'item,title,ratings,pc1,pc2,pc3' || fail "bad CSV header"
[ "$(wc -l <"$TMP/a.csv")" = 201 ] || fail "expected 200 CSV rows"
"$COLLAB" pca --model "$m" --csv "$TMP/c.csv" --output "$TMP/c.h5" >/dev/null
[ -f "$TMP/c.csv" ] && [ -f "$TMP/c.h5" ] || fail "--csv"
expect_fail 2 "option --components: 9 is more than the model's 8 factors" pca --model "$m" --components 9
if have_py; then
    $PY - "$m" "$TMP/slice/ratings.csv" "$TMP/a.h5" "$TMP/a.csv" <<'PY' || fail "pca differs from numpy"
import csv, sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    V = f["model/item_factors"][:].astype(np.float64)
    items = [s.decode() for s in f["vocab/items"][:]]
index = {s: i for i, s in enumerate(items)}
counts = np.zeros(len(items), dtype=np.int64)
for row in list(csv.reader(open(sys.argv[2])))[1:]:
    counts[index.get(row[1], 0)] += 1
counts[0] = 0
sel = [i for i in np.lexsort((np.arange(len(items)), -counts)) if counts[i] > 0][:200]
X = V[sel] - V[sel].mean(0)
w, vec = np.linalg.eigh(X.T @ X / (len(sel) - 1))
comp = vec[:, ::-1][:, :3].T
for c in comp:  # the documented sign: the largest-magnitude loading is positive
    if c[np.argmax(np.abs(c))] < 0:
        c *= -1
coords = X @ comp.T
with h5py.File(sys.argv[3], "r") as f:
    assert f.attrs["kind"] == b"pca"
    assert list(f["items"][:]) == sel
    assert list(f["ratings"][:]) == list(counts[sel])
    assert np.allclose(f["coords"][:], coords, atol=1e-9)
    assert np.allclose(f["variance"][:], w[::-1][:3], atol=1e-12)
    assert np.allclose(f["variance_ratio"][:], w[::-1][:3] / w.sum(), atol=1e-9)
    assert [s.decode() for s in f["names"][:]] == [items[i] for i in sel]
rows = list(csv.reader(open(sys.argv[4])))[1:]
assert [r[0] for r in rows] == [items[i] for i in sel]
assert np.allclose(np.array([[float(x) for x in r[3:]] for r in rows]), coords, atol=1e-7)
PY
fi
echo "pca: ok"
