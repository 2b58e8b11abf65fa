#!/bin/sh
# A trained nn model is used like the dot models: predict gives the same lines at 1 and 2
# ranks and equals the EmbeddingNN head computed independently (numpy) from the model
# file (dense layout of docs/FORMAT.md, BatchNorm in evaluation mode, cold start by the
# average user and item); recommend and evaluate work on it at any -np; biases refuses.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP" --model nn --layers 16,8
m=$TMP/model.h5
printf 'userId,movieId\n1,1\n1,50\n7,2571\n99999,1\n1,999999\n' >"$TMP/pairs.csv"
same_np "$TMP/out" predict --model "$m" "$TMP/pairs.csv"
[ "$(wc -l <"$TMP/out")" = 6 ] || fail "expected 5 predictions"
if have_py; then
    $PY - "$m" "$TMP/out" <<'PY' || fail "predictions differ from the independent computation"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    U = f["model/user_factors"][:].astype(np.float64)
    V = f["model/item_factors"][:].astype(np.float64)
    P = f["model/nn_params"][:].astype(np.float64).ravel()
    S = f["model/nn_stats"][:].astype(np.float64).ravel()
    users = {s.decode(): i for i, s in enumerate(f["vocab/users"][:])}
    items = {s.decode(): i for i, s in enumerate(f["vocab/items"][:])}
widths, at = [16, 8], 0
n_in = U.shape[1] + V.shape[1]
W, prev = [], n_in
for w in widths + [1]:                      # weights, stored (in, out)
    W.append(P[at:at + prev * w].reshape(prev, w)); at += prev * w; prev = w
G, B, st = [], [], 0
for w in widths:                            # BatchNorm weight, bias; running mean, var
    G.append(P[at:at + w]); B.append(P[at + w:at + 2 * w]); at += 2 * w
bf = P[at]; assert at + 1 == len(P)
def head(x):
    s = 0
    for l, w in enumerate(widths):
        r = np.maximum(x @ W[l], 0)
        mean, var = S[s:s + w], S[s + w:s + 2 * w]; s += 2 * w
        x = (r - mean) / np.sqrt(var + 1e-5) * G[l] + B[l]
    return 5.5 / (1 + np.exp(-(x @ W[-1][:, 0] + bf)))
u_avg, v_avg = U[1:].mean(0), V[1:].mean(0)
for line in open(sys.argv[2]).read().splitlines()[1:]:
    user, item, pred, _ = line.split("\t")
    u, i = users.get(user, 0), items.get(item, 0)
    want = head(np.concatenate([U[u] if u else u_avg, V[i] if i else v_avg]))
    assert abs(float(pred) - want) < 2e-4, (line, want)
PY
fi
same_np "$TMP/rec" recommend --model "$m" --user 1 --num 5
grep -q '^5 ' "$TMP/rec" || { cat "$TMP/rec" >&2; fail "recommend: no 5th line"; }
run_np 1 recommend --model "$m" --all-users --num 3 --output "$TMP/r1.h5" >/dev/null ||
    fail "recommend --all-users at 1 rank"
run_np 3 recommend --model "$m" --all-users --num 3 --output "$TMP/r3.h5" >/dev/null ||
    fail "recommend --all-users at 3 ranks"
if have_py; then
    $PY - "$TMP/r1.h5" "$TMP/r3.h5" <<'PY' || fail "recommend --all-users differs between 1 and 3 ranks"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
def walk(g, out, p=""):
    for k, v in g.items():
        if isinstance(v, h5py.Dataset): out[p + k] = v[()]
        else: walk(v, out, p + k + "/")
    return out
x, y = walk(a, {}), walk(b, {})
assert x.keys() == y.keys() and x, (x.keys(), y.keys())
for k in x: assert np.array_equal(x[k], y[k]), k
PY
fi
same_np "$TMP/ev" evaluate --model "$m"
grep -q '^  mse ' "$TMP/ev" || fail "evaluate: no mse"
expect_fail 1 "is an EmbeddingNN model (--model nn): it learned no biases" biases --model "$m"
echo "nn-use: ok"
