#!/bin/sh
# A missing, foreign or damaged model file, and training data that moved or changed, stop
# every command with exit 1 and one message naming the file and the problem; at 2 ranks
# the message is printed once.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/model-lib.sh"
set -e
train_model "$TMP" --metrics "$TMP/metrics.h5"
m=$TMP/model.h5
expect_fail 1 "cannot open model file '$TMP/none.h5': No such file or directory" biases --model "$TMP/none.h5"
echo "not a model" >"$TMP/text.h5"
expect_fail 1 "$TMP/text.h5: not an HDF5 file" recommend --model "$TMP/text.h5" --user 1
expect_fail 1 "$TMP/metrics.h5: not a collab-mpi model" similar --model "$TMP/metrics.h5" --item 1
head -n 3001 "$top_srcdir/data/ml-latest-small/ratings.csv" >"$TMP/small.csv"
# A model with a non-finite factor (train itself stops on a NaN loss and never writes
# one; another tool might) is refused, naming the table and the row. h5py puts a NaN in
# and fixes the table's checksum (tests/e2e/poison-model.py), so only the value is wrong.
if have_py; then
    cp "$m" "$TMP/diverged.h5"
    $PY "$top_srcdir/tests/e2e/poison-model.py" "$TMP/diverged.h5" model/user_factors 3 1 ||
        fail "poison-model.py failed"
    expect_fail 1 "$TMP/diverged.h5: dataset 'model/user_factors' holds a non-finite value in row 3" \
        similar --model "$TMP/diverged.h5" --item 1
fi
"$COLLAB" train --data "$TMP/small.csv" --model dot --epochs 1 --progress never --quiet \
    --output "$TMP/dot.h5" >/dev/null || fail "training the dot model failed"
expect_fail 1 "$TMP/dot.h5 is a DotProduct model (--model dot): it learned no biases" biases --model "$TMP/dot.h5"
# The training data is rebuilt from the settings: moved, or other data, is an error.
mv "$TMP/slice" "$TMP/moved"
expect_fail 1 "reading the training data of $m: cannot open '$TMP/slice'" recommend --model "$m" --user 1
expect_fail 1 "(if the data moved, give --data PATH)" evaluate --model "$m"
"$COLLAB" recommend --model "$m" --user 1 --data "$TMP/moved" >/dev/null || fail "--data did not find the moved data"
slice_latest 5000 "$TMP/other"
expect_fail 1 "the training data '$TMP/other' has" show-results --model "$m" --data "$TMP/other"
# A corrupted table fails its checksum (needs h5py to flip a value in place).
if have_py; then
    cp "$m" "$TMP/bad.h5"
    $PY -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); f["model/item_factors"][2, 1] += 1' \
        "$TMP/bad.h5"
    expect_fail 1 "$TMP/bad.h5: dataset 'model/item_factors' does not match its checksum" \
        predict --model "$TMP/bad.h5" "$TMP/small.csv"
fi
# 2 ranks: every rank stops, one message.
set +e
run_np 2 biases --model "$TMP/text.h5" >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 1 ] || { cat "$TMP/err" >&2; fail "2 ranks: exit $got, expected 1"; }
[ "$(grep -c 'collab-mpi: error:' "$TMP/err")" = 1 ] || { cat "$TMP/err" >&2; fail "2 ranks: not one message"; }
echo "use-bad-model: ok"
