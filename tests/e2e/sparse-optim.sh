#!/bin/sh
# The sparse optimizers (--opt sparse-adam, adagrad, sparse-sgd): the same training at 1, 2 and 3
# ranks ends with bitwise identical parameters, and a run stopped at a batch and resumed
# at 3 ranks ends where the uninterrupted run does (the per-row decay products and
# accumulators are in the checkpoint). Weight decay is on, so lazy decay is exercised.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 12000 "$TMP/slice"
for opt in sparse-adam adagrad sparse-sgd; do
    args="train --data $TMP/slice --epochs 3 --n-factors 8 --progress never --quiet --opt $opt --wd 0.1"
    run_np 1 $args --dump-params "$TMP/p1.bin" >"$TMP/o1" || fail "$opt at 1 rank failed"
    for np in 2 3; do
        run_np $np $args --dump-params "$TMP/p$np.bin" >"$TMP/o$np" || fail "$opt at $np failed"
        cmp "$TMP/p1.bin" "$TMP/p$np.bin" || fail "$opt: parameters differ at 1 and $np ranks"
        strip_times <"$TMP/o1" >"$TMP/exp"
        strip_times <"$TMP/o$np" >"$TMP/got"
        compare "$TMP/exp" "$TMP/got"
    done
    # 150 batches of 64 per epoch: stop inside epoch 1 (after batch 200), resume at 3.
    rm -rf "$TMP/ck"
    set +e
    COLLAB_TEST_SIGNAL_AT=200 run_np 2 $args --checkpoint-dir "$TMP/ck" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "$opt: stopped run exited $got, expected 75"; }
    run_np 3 $args --checkpoint-dir "$TMP/ck" --resume auto --dump-params "$TMP/res.bin" \
        >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "$opt: resume failed"; }
    cmp "$TMP/p1.bin" "$TMP/res.bin" || fail "$opt: resumed at 3 ranks: parameters differ"
done
# A sparse run differs from dense Adam (it is not silently the default).
run_np 1 train --data "$TMP/slice" --epochs 3 --n-factors 8 --progress never --quiet --wd 0.1 \
    --dump-params "$TMP/dense.bin" >/dev/null || fail "dense run failed"
! cmp -s "$TMP/dense.bin" "$TMP/p1.bin" || fail "adagrad gave dense Adam's parameters"
expect_fail 2 "option --opt: 'lazy' is not one of: adam, sgd, sparse-adam, adagrad, sparse-sgd" \
    train --data "$TMP/slice" --opt lazy
echo "sparse-optim: ok"
