#!/bin/sh
# scripts/collab-plot draws the lr-find curve, the loss per epoch and the PCA map as PNG
# files (where Debian's python3-h5py and python3-matplotlib are installed; skipped
# otherwise), and names a file that lacks what it plots.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
[ -x $PY ] && $PY -c 'import h5py, matplotlib, numpy' 2>/dev/null ||
    skip "python3-h5py or python3-matplotlib not installed"
plot="$top_srcdir/scripts/collab-plot"
export COLLAB_PYTHON=$PY
train_model "$TMP" --metrics "$TMP/metrics.h5"
"$COLLAB" lr-find --data "$TMP/slice" --num-it 50 --metrics "$TMP/metrics.h5" --quiet \
    --progress never >/dev/null || fail "lr-find failed"
"$COLLAB" pca --model "$TMP/model.h5" --top 100 --output "$TMP/pca.h5" >/dev/null || fail "pca failed"
"$plot" lr-find "$TMP/metrics.h5" -o "$TMP/lr.png" >/dev/null || fail "lr-find plot"
"$plot" loss "$TMP/metrics.h5" -o "$TMP/loss.png" >/dev/null || fail "loss plot"
"$plot" pca "$TMP/pca.h5" -o "$TMP/pca.png" --labels 20 >/dev/null || fail "pca plot"
for png in lr loss pca; do
    # A PNG starts with \x89PNG; a blank figure would be a few kB at most.
    [ "$(head -c 4 "$TMP/$png.png" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "$png.png is not a PNG"
    [ "$(wc -c <"$TMP/$png.png")" -gt 10000 ] || fail "$png.png is suspiciously small"
done
set +e
"$plot" pca "$TMP/metrics.h5" -o "$TMP/x.png" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 1 ] && grep -q "metrics.h5 has no 'coords' (write one with collab-mpi pca" "$TMP/err" ||
    { cat "$TMP/err" >&2; fail "wrong file: exit $got"; }
echo "plots: ok"
