# model-lib.sh - helpers for the tests of the commands that use a trained model (predict,
# recommend, similar, biases, pca, evaluate, show-results); sourced after lib.sh.

PY=/usr/bin/python3

# have_py: Debian's python3 with h5py and numpy is there (for independent checks).
have_py() { [ -x $PY ] && $PY -c 'import h5py, numpy' 2>/dev/null; }

# train_model DIR [TRAIN ARGS...]: a small DotProductBias model of the first 6000 ratings
# of the embedded data (folder DIR/slice) in DIR/model.h5, trained at 2 ranks.
train_model() {
    tm_dir=$1; shift
    slice_latest 6000 "$tm_dir/slice"
    run_np 2 train --data "$tm_dir/slice" --epochs 3 --n-factors 8 --lr 1e-2 --progress never \
        --quiet --output "$tm_dir/model.h5" "$@" >"$tm_dir/train.out" 2>"$tm_dir/train.err" ||
        { cat "$tm_dir/train.err" >&2; fail "training the test model failed"; }
}

# same_np OUT ARGS...: the command at 1 rank into OUT, and at 2 ranks identical to it.
same_np() {
    sn_out=$1; shift
    "$COLLAB" "$@" >"$sn_out" 2>"$sn_out.err" || { cat "$sn_out.err" >&2; fail "1 rank: $*"; }
    run_np 2 "$@" >"$sn_out.np2" 2>"$sn_out.err2" || { cat "$sn_out.err2" >&2; fail "2 ranks: $*"; }
    compare "$sn_out" "$sn_out.np2"
}
