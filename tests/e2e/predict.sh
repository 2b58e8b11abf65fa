#!/bin/sh
# predict gives one prediction per (user, item) line, in file order, the same at 1 and 2
# ranks; it equals the model's formula computed independently from the model file
# (sigmoid_range(<u, v> + b_u + b_i)), and unknown users and items get the documented
# cold-start values (the average known user or item). Bad lines are named by file:line.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP"
m=$TMP/model.h5
printf 'userId,movieId\n1,1\n1,50\n7,2571\n99999,1\n1,999999\n99999,999999\n"007",50\n' >"$TMP/pairs.csv"
same_np "$TMP/out" predict --model "$m" "$TMP/pairs.csv"
cut -f1,2,4 "$TMP/out" >"$TMP/got"
printf 'user\titem\tcold_start\n1\t1\t-\n1\t50\t-\n7\t2571\t-\n99999\t1\tuser\n1\t999999\titem\n99999\t999999\tuser+item\n7\t50\t-\n' >"$TMP/exp"
compare "$TMP/exp" "$TMP/got"
grep -q "3 of 7 pairs have a user or item the model does not know" "$TMP/out.err" || fail "no cold-start warning"
if have_py; then
    $PY - "$m" "$TMP/out" <<'PY' || fail "predictions differ from the independent computation"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    U, Ub = f["model/user_factors"][:].astype(np.float64), f["model/user_bias"][:]
    V, Vb = f["model/item_factors"][:].astype(np.float64), f["model/item_bias"][:]
    users = {s.decode(): i for i, s in enumerate(f["vocab/users"][:])}
    items = {s.decode(): i for i, s in enumerate(f["vocab/items"][:])}
# Cold start: the mean of the known rows (1..) and of their biases.
u_avg, ub_avg = U[1:].mean(0), Ub[1:].mean()
v_avg, vb_avg = V[1:].mean(0), Vb[1:].mean()
for line in open(sys.argv[2]).read().splitlines()[1:]:
    user, item, pred, _ = line.split("\t")
    u = users.get(user.lstrip("0"), 0); i = items.get(item, 0)
    uf, ub = (U[u], Ub[u]) if u else (u_avg, ub_avg)
    vf, vb = (V[i], Vb[i]) if i else (v_avg, vb_avg)
    want = 5.5 / (1 + np.exp(-(uf @ vf + ub + vb)))
    assert abs(float(pred) - want) < 2e-4, (line, want)
PY
fi
# A MovieLens file is read by the training reader: every rating of the slice, in order.
same_np "$TMP/all" predict --model "$m" "$TMP/slice/ratings.csv"
[ "$(wc -l <"$TMP/all")" = 6001 ] || fail "expected 6000 predictions of the slice"
# Columns by name, tab separator, no header.
printf 'x\tmovie\tuser\n-\t50\t1\n' >"$TMP/named.tsv"
"$COLLAB" predict --model "$m" --user-col user --item-col movie "$TMP/named.tsv" >"$TMP/named"
[ "$(sed -n 2p "$TMP/named" | cut -f3)" = "$(sed -n 3p "$TMP/out" | cut -f3)" ] || fail "named columns"
# Bad lines: the error names file and line; --skip-bad-lines warns and goes on.
printf '1,50\n7\n1,1\n' >"$TMP/bad.csv"
expect_fail 1 "$TMP/bad.csv:2: expected at least 2 fields (user, item separated by ','), found 1" \
    predict --model "$m" "$TMP/bad.csv"
printf '1,50\n1,\n' >"$TMP/empty.csv"
expect_fail 1 "$TMP/empty.csv:2: expected a value for item (column 1), found an empty field" \
    predict --model "$m" "$TMP/empty.csv"
"$COLLAB" predict --model "$m" --skip-bad-lines "$TMP/bad.csv" >"$TMP/skip" 2>"$TMP/err"
[ "$(wc -l <"$TMP/skip")" = 3 ] || fail "--skip-bad-lines: expected 2 predictions"
grep -q "$TMP/bad.csv:2: expected at least 2 fields .* (skipped)" "$TMP/err" || fail "no skip warning"
expect_fail 1 "cannot open '$TMP/none.csv'" predict --model "$m" "$TMP/none.csv"
echo "predict: ok"
