#!/bin/sh
# evaluate reports MSE/RMSE/MAE and ranking metrics on held-out ratings beside the
# training-mean and popularity baselines, the same at 1 and 2 ranks. On the validation
# split its MSE is training's valid_loss; on an explicit held-out file every number
# matches an independent numpy implementation of the documented protocols, cold start
# included.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
# The validation split of a title-keyed model (no unknown users or items): MSE = valid_loss.
train_model "$TMP" --item-name title
same_np "$TMP/out" evaluate --model "$TMP/model.h5"
grep -q "^held-out ratings: 1200 (0 with a user or item unknown to the model: cold start)$" \
    "$TMP/out" || { cat "$TMP/out" >&2; fail "held-out count"; }
want=$(sed -n 's/^summary: .* valid_loss \([0-9.]*\) .*/\1/p' "$TMP/train.out")
got=$(awk '$1 == "mse" { print $2 }' "$TMP/out")
[ "$(printf '%.4f' "$want")" = "$got" ] || fail "mse $got, training's valid_loss $want"
for p in heldout catalogue; do
    grep -q "^$p protocol (candidates: " "$TMP/out" || fail "no $p protocol"
done
[ "$(grep -c '@10 ' "$TMP/out")" = 10 ] || fail "expected 5 metrics x 2 protocols"
"$COLLAB" evaluate --model "$TMP/model.h5" --protocol heldout --k 5 >"$TMP/h5"
grep -q '^heldout protocol' "$TMP/h5" && ! grep -q '^catalogue' "$TMP/h5" || fail "--protocol heldout"
grep -q '^  precision@5 ' "$TMP/h5" || fail "--k 5"

# An explicit held-out file: every 5th rating of the slice.
mkdir -p "$TMP/split"
awk -F, 'NR == 1 || NR % 5 != 0' "$TMP/slice/ratings.csv" >"$TMP/split/ratings.csv"
awk -F, 'NR == 1 || NR % 5 == 0' "$TMP/slice/ratings.csv" >"$TMP/valid.csv"
run_np 2 train --data "$TMP/split" --valid-file "$TMP/valid.csv" --epochs 3 --n-factors 8 \
    --lr 1e-2 --progress never --quiet --output "$TMP/m2.h5" >/dev/null || fail "training m2"
same_np "$TMP/file" evaluate --model "$TMP/m2.h5" "$TMP/valid.csv"
"$COLLAB" evaluate --model "$TMP/m2.h5" >"$TMP/split-out"
tail -n +2 "$TMP/file" >"$TMP/a"
tail -n +2 "$TMP/split-out" >"$TMP/b"
compare "$TMP/a" "$TMP/b" # the file is the validation set: the same numbers
if have_py; then
    $PY - "$TMP/m2.h5" "$TMP/split/ratings.csv" "$TMP/valid.csv" "$TMP/file" <<'PY' ||
import csv, sys, h5py, numpy as np
f32 = np.float32
with h5py.File(sys.argv[1], "r") as f:
    U, Ub = f["model/user_factors"][:], f["model/user_bias"][:]
    V, Vb = f["model/item_factors"][:], f["model/item_bias"][:]
    uix = {s.decode(): i for i, s in enumerate(f["vocab/users"][:])}
    iix = {s.decode(): i for i, s in enumerate(f["vocab/items"][:])}
ni = len(iix)
def rows(path):
    return [(uix.get(r[0], 0), iix.get(r[1], 0), f32(r[2])) for r in list(csv.reader(open(path)))[1:]]
train, held = rows(sys.argv[2]), rows(sys.argv[3])
# Cold start: the average known user / item (rows 1..), as float32 like the program.
avg_u = np.append(U[1:].astype(np.float64).mean(0), Ub[1:].astype(np.float64).mean()).astype(f32)
avg_i = np.append(V[1:].astype(np.float64).mean(0), Vb[1:].astype(np.float64).mean()).astype(f32)
def scores(u, items):
    """The forward pass in float32, in the program's order of operations."""
    ur = np.append(U[u], Ub[u]) if u else avg_u
    F = np.where((items == 0)[:, None], avg_i[None, :-1], V[items])
    B = np.where(items == 0, avg_i[-1], Vb[items])
    z = np.zeros(len(items), f32)
    for c in range(len(ur) - 1):
        z = (z + ur[c] * F[:, c]).astype(f32)
    z = (z + (ur[-1] + B).astype(f32)).astype(f32)
    return (f32(1) / (f32(1) + np.exp(-z))).astype(f32) * f32(5.5)
pred = np.array([scores(u, np.array([i]))[0] for u, i, _ in held], f32)
y = np.array([r for _, _, r in held], f32)
d = (pred - y).astype(np.float64)
mean = f32(np.mean([float(r) for _, _, r in train]))
b = (mean - y).astype(np.float64)
want = {"mse": ((d * d).mean(), (b * b).mean()), "rmse": (np.sqrt((d * d).mean()), np.sqrt((b * b).mean())),
        "mae": (np.abs(d).mean(), np.abs(b).mean())}
rated, pop = {}, np.zeros(ni, np.int64)
for u, i, _ in train:
    rated.setdefault(u, set()).add(i)
    pop[i] += 1
K = 10
def metrics(lists):
    out = np.zeros(5); cov = set()
    for lst, rel in lists:
        lst = lst[:K]; hits = [i in rel for i in lst]; cov.update(lst)
        dcg = sum(1 / np.log2(j + 2) for j, h in enumerate(hits) if h)
        idcg = sum(1 / np.log2(j + 2) for j in range(min(K, len(rel))))
        out += [sum(hits) / K, sum(hits) / len(rel), dcg / idcg, any(hits), 0]
    out /= len(lists); out[4] = len(cov) / (ni - 1)
    return out
cand, rel = {}, {}
for (u, i, r), p in zip(held, pred):
    if u == 0 or i == 0 or i in rated.get(u, ()):
        continue
    cand.setdefault(u, []).append((i, p, r))
    if r >= 4:
        rel.setdefault(u, set()).add(i)
H = {"model": [], "popularity": []}; C = {"model": [], "popularity": []}
for u in sorted(rel):
    c = cand[u]
    H["model"].append(([i for i, p, _ in sorted(c, key=lambda t: (-t[1], t[0]))], rel[u]))
    H["popularity"].append(([i for i, _, _ in sorted(c, key=lambda t: (-pop[t[0]], t[0]))], rel[u]))
    s = scores(u, np.arange(ni)).astype(np.float64)
    s[0] = -np.inf; s[list(rated.get(u, ()))] = -np.inf
    C["model"].append((list(np.lexsort((np.arange(ni), -s))[:K]), rel[u]))
    order = [i for i in np.lexsort((np.arange(ni), -pop)) if i != 0 and i not in rated.get(u, ())]
    C["popularity"].append((order[:K], rel[u]))
names = ["precision@10", "recall@10", "ndcg@10", "hit_rate@10", "coverage@10"]
for proto, L in (("heldout", H), ("catalogue", C)):
    m, p = metrics(L["model"]), metrics(L["popularity"])
    for j, n in enumerate(names):
        want[proto + " " + n] = (m[j], p[j])
section, got = "", {}
for line in open(sys.argv[4]).read().splitlines():
    if line.endswith(" users"):
        section = line.split()[0] + " "
        assert int(line.split()[-2]) == len(rel), line
    parts = line.split()
    if len(parts) == 3 and (parts[0] in ("mse", "rmse", "mae") or "@" in parts[0]):
        got[(section if "@" in parts[0] else "") + parts[0]] = (float(parts[1]), float(parts[2]))
assert set(got) == set(want), (sorted(got), sorted(want))
for key in want:
    assert all(abs(g - w) <= 1.5e-4 for g, w in zip(got[key], want[key])), (key, got[key], want[key])
n_cold = sum(1 for u, i, _ in held if u == 0 or i == 0)
assert "held-out ratings: %d (%d with a user or item unknown" % (len(held), n_cold) in open(sys.argv[4]).read()
assert n_cold > 0  # the cold-start policy was exercised
PY
        fail "evaluate differs from the independent computation"
fi
echo "evaluate: ok"
