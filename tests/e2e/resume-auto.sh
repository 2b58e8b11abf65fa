#!/bin/sh
# A run resumes without retyping: `train --checkpoint-dir DIR --resume auto` (or
# --resume PATH alone), from another folder, continues with the checkpoint's settings,
# its relative --data, --output and --dump-params taken relative to the folder training
# started in, and ends byte-identical to an uninterrupted run. A given option that may
# not change and differs is a usage error naming it and both values; --epochs may change.
# A model's use commands find its relative data the same way.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
mkdir -p "$TMP/run" "$TMP/elsewhere"
slice_latest 12000 "$TMP/run/slice"
# A decoy: "slice" means other ratings in the other folder, so a path taken relative to
# the current folder trains on the wrong data (and the fingerprint check refuses it).
slice_latest 6000 "$TMP/elsewhere/slice"
cd "$TMP/run"
args="train --data slice --epochs 3 --n-factors 8 --lr 0.01 --checkpoint-every 50b"
run_np 2 $args --dump-params full.bin --output first.h5 --quiet >/dev/null ||
    fail "uninterrupted run failed"
# 150 batches per epoch: stopped after batch 200, in epoch 1.
set +e
COLLAB_TEST_SIGNAL_AT=200 run_np 2 $args --checkpoint-dir ck --output model.h5 \
    --dump-params res.bin --quiet >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "stopped run exited $got, expected 75"; }
mid=ck/ckpt-e0001-i0000000201.h5
[ -f "$mid" ] || { ls ck >&2; fail "no checkpoint at batch 201"; }
cp "$mid" "$TMP/mid.h5"

cd "$TMP/elsewhere"
run_np 2 train --checkpoint-dir ../run/ck --resume auto >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "resume auto from another folder failed"; }
cmp "$TMP/run/full.bin" "$TMP/run/res.bin" || fail "resume auto: parameters differ"
[ -f "$TMP/run/model.h5" ] || fail "resume auto: no --output in the training folder"
grep -q "^  data  *$TMP/run/slice\$" "$TMP/out" || { cat "$TMP/out" >&2; fail "resume auto: data path"; }
grep -q "^  lr  *0.01\$" "$TMP/out" || fail "resume auto: the checkpoint's --lr not taken"
grep -q '^summary: epochs 3 ' "$TMP/out" || fail "resume auto: no summary of 3 epochs"

# --resume PATH alone: the checkpoint folder too comes from the checkpoint.
rm "$TMP/run/res.bin" "$TMP"/run/ck/ckpt-*.h5
run_np 1 train --resume "$TMP/mid.h5" --quiet >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "resume PATH alone failed"; }
cmp "$TMP/run/full.bin" "$TMP/run/res.bin" || fail "resume PATH: parameters differ"
[ -f "$TMP/run/ck/ckpt-e0002-i0000000450.h5" ] || fail "resume PATH: not checkpointed into ck"

# A conflicting option: exit 2, naming the option and both values.
expect_fail 2 "option --lr 0.02 conflicts with the checkpoint $TMP/mid.h5, which was written with --lr 0.01" \
    train --resume "$TMP/mid.h5" --lr 0.02
expect_fail 2 "option --opt sgd conflicts with the checkpoint $TMP/mid.h5, which was written with --opt adam" \
    train --resume "$TMP/mid.h5" --opt sgd
# The same value given again is no conflict, and --epochs may change.
run_np 2 train --resume "$TMP/mid.h5" --lr 0.01 --epochs 4 --dump-params "$TMP/e4.bin" \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume with --epochs 4 failed"; }
grep -q '^summary: epochs 4 ' "$TMP/out" || fail "--epochs 4: no summary of 4 epochs"
grep -qE '^3 +[0-9.]+ +[0-9.]+ ' "$TMP/out" || fail "--epochs 4: no row for epoch 3"
# A use command rebuilds the model's relative data from the training folder.
"$COLLAB" show-results --model ../run/first.h5 --max-n 3 >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "show-results from another folder failed"; }
echo "resume-auto: ok"
