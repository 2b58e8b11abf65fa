#!/bin/sh
# The nn model on MovieLens 100k with titles as items: fastai's emb_sz_rule gives the
# embeddings 944x74 (users) and 1665x102 (titles), and one epoch of the book's
# EmbeddingNN run (layers 100,50, lr 5e-3, wd 0.1) already validates below 0.95 MSE.
# (The five-epoch accuracy runs over three seeds: scripts/bench-nn.)
. "${top_srcdir:?run through make check}/tests/e2e/lib.sh"
set -e
ml100k_or_skip
"$COLLAB" train --data "$COLLAB_ML100K" --item-name title --model nn --layers 100,50 \
    --wd 0.1 --epochs 1 --progress never >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "training failed"; }
grep -q '^  nn  *users 944x74, items 1665x102; Linear 176-100-50-1, ReLU, BatchNorm, sigmoid_range$' \
    "$TMP/out" || { cat "$TMP/out" >&2; fail "architecture line"; }
mse=$(sed -n 's/^summary: epochs 1 valid_loss \([0-9.]*\) .*/\1/p' "$TMP/out")
[ -n "$mse" ] || fail "no summary"
awk -v m="$mse" 'BEGIN { exit !(m < 0.95) }' || fail "valid MSE $mse after one epoch, expected < 0.95"
echo "ml100k-nn: ok (valid MSE $mse)"
