#!/bin/sh
# The nn model (EmbeddingNN: sharded embeddings, replicated dense layers) trained at 1, 2
# and 3 ranks prints the same epoch table and ends with bitwise identical parameters,
# BatchNorm running statistics included; with and without BatchNorm. lr-find too.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 8000 "$TMP/slice"
for bn in yes no; do
    args="train --data $TMP/slice --model nn --layers 16,8 --batchnorm $bn --epochs 2 --progress never"
    for np in 1 2 3; do
        run_np $np $args --dump-params "$TMP/p$np.bin" >"$TMP/o$np" 2>"$TMP/err" ||
            { cat "$TMP/err" >&2; fail "nn (batchnorm $bn) at $np ranks failed"; }
        sed -n '/^epoch/,$p' "$TMP/o$np" | strip_times >"$TMP/t$np"
    done
    [ -s "$TMP/p1.bin" ] || fail "no parameter dump"
    grep -q '^summary: epochs 2 valid_loss' "$TMP/t1" || fail "no summary"
    for np in 2 3; do
        compare "$TMP/t1" "$TMP/t$np"
        cmp "$TMP/p1.bin" "$TMP/p$np.bin" || fail "nn (batchnorm $bn): parameters differ at $np ranks"
    done
done
# lr-find sweeps the same curve at 1 and 3 ranks (and leaves the model, BatchNorm included,
# as it was).
run_np 1 lr-find --data "$TMP/slice" --model nn --layers 16,8 --progress never --quiet >"$TMP/l1" ||
    fail "lr-find at 1 rank"
run_np 3 lr-find --data "$TMP/slice" --model nn --layers 16,8 --progress never --quiet >"$TMP/l3" ||
    fail "lr-find at 3 ranks"
grep -q '^suggestion: valley' "$TMP/l1" || fail "lr-find: no suggestion"
compare "$TMP/l1" "$TMP/l3"
# The architecture line: fastai's emb_sz_rule on the vocabularies, the layers asked for.
grep -q '^  nn  *users [0-9]*x[0-9]*, items [0-9]*x[0-9]*; Linear [0-9]*-16-8-1, ReLU, sigmoid_range$' "$TMP/o1" ||
    { cat "$TMP/o1" >&2; fail "architecture line"; }
echo "nn-train: ok"
