#!/bin/sh
# Blocked training (train --blocks): the same run at 1, 2 and 3 ranks ends with bitwise
# identical parameters and the same epoch table; from a prepared file it is the run from
# the text; a run stopped inside an epoch (after a stratum) and resumed at another rank
# count ends where the uninterrupted run does; it learns; bad combinations are usage
# errors on every rank. Numbers against a serial reference: tests/mpi/mpi_blocks.c.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 12000 "$TMP/slice"
for opt in adagrad sparse-sgd; do
    args="train --data $TMP/slice --epochs 3 --n-factors 24 --progress never --quiet --blocks 6
          --opt $opt --lr 0.05 --wd 0.01"
    run_np 1 $args --dump-params "$TMP/p1.bin" >"$TMP/o1" || fail "$opt at 1 rank failed"
    strip_times <"$TMP/o1" >"$TMP/exp"
    cp "$TMP/o1" "$TMP/$opt.summary"
    for np in 2 3; do
        run_np $np $args --dump-params "$TMP/p$np.bin" >"$TMP/o$np" || fail "$opt at $np failed"
        cmp "$TMP/p1.bin" "$TMP/p$np.bin" || fail "$opt: parameters differ at 1 and $np ranks"
        strip_times <"$TMP/o$np" >"$TMP/got"
        compare "$TMP/exp" "$TMP/got"
    done
    # 6 strata per epoch: the signal at stratum 8 stops the run after stratum 9 (epoch 1,
    # stratum 3) at 2 ranks; resume at 3.
    rm -rf "$TMP/ck"
    set +e
    COLLAB_TEST_SIGNAL_AT=8 run_np 2 $args --checkpoint-dir "$TMP/ck" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "$opt: stopped run exited $got, expected 75"; }
    [ -f "$TMP/ck/ckpt-e0001-i0000000009.h5" ] || { ls "$TMP/ck" >&2; fail "$opt: no mid-epoch checkpoint"; }
    run_np 3 $args --checkpoint-dir "$TMP/ck" --resume auto --dump-params "$TMP/res.bin" \
        >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "$opt: resume failed"; }
    cmp "$TMP/p1.bin" "$TMP/res.bin" || fail "$opt: resumed at 3 ranks: parameters differ"
    # Checkpoints between strata bring the item rows home and training goes on from there.
    rm -rf "$TMP/ck2"
    run_np 3 $args --checkpoint-dir "$TMP/ck2" --checkpoint-every 4b --dump-params "$TMP/ck.bin" \
        >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "$opt: checkpointed run failed"; }
    cmp "$TMP/p1.bin" "$TMP/ck.bin" || fail "$opt: checkpoints between strata changed the result"
done

# The resume line counts strata.
rm -rf "$TMP/ck5"
set +e
COLLAB_TEST_SIGNAL_AT=2 run_np 2 train --data "$TMP/slice" --epochs 2 --blocks 4 --opt adagrad \
    --progress never --quiet --checkpoint-dir "$TMP/ck5" >/dev/null 2>&1
set -e
run_np 2 train --data "$TMP/slice" --epochs 2 --blocks 4 --opt adagrad --progress never \
    --checkpoint-dir "$TMP/ck5" --resume auto >"$TMP/out" 2>&1 || fail "resume (ck5) failed"
grep -q "at epoch 0, stratum 3 (3 strata done)" "$TMP/out" || { cat "$TMP/out" >&2; fail "resume line"; }

# It learns: the slice's ratings have a variance of 1.12, so predicting their mean scores
# about that; the untrained model (sigmoid_range(0) = 2.75 everywhere) about 1.9. Dense
# Adam reaches 0.92-0.94 on this slice, blocked Adagrad 0.93.
v=$(sed -n 's/.* valid_loss \([0-9.]*\).*/\1/p' "$TMP/adagrad.summary")
awk -v v="$v" 'BEGIN { exit !(v > 0 && v < 1.0) }' || fail "blocked adagrad did not learn: valid $v"

# A prepared file trains to the same bits as its text.
run_np 2 prepare "$TMP/slice" --output "$TMP/slice.h5" --quiet >/dev/null || fail "prepare failed"
args="train --epochs 2 --n-factors 24 --progress never --quiet --blocks 4 --opt adagrad --lr 0.05"
run_np 2 $args --data "$TMP/slice" --dump-params "$TMP/text.bin" >/dev/null || fail "text run failed"
run_np 2 $args --data "$TMP/slice.h5" --dump-params "$TMP/h5.bin" >/dev/null || fail "h5 run failed"
cmp "$TMP/text.bin" "$TMP/h5.bin" || fail "prepared file and text trained differently"

# Blocks change the result, ranks do not: B 4 differs from B 6.
run_np 1 $args --data "$TMP/slice" --blocks 6 --dump-params "$TMP/b6.bin" >/dev/null
! cmp -s "$TMP/text.bin" "$TMP/b6.bin" || fail "--blocks 4 and 6 gave the same parameters"

expect_fail 2 "option --blocks: blocked training updates one rating at a time, with --opt adagrad or sparse-sgd, not --opt adam" \
    train --data "$TMP/slice" --blocks 2
expect_fail 2 "option --blocks: 1025 is not in 0..1024" train --data "$TMP/slice" --blocks 1025 --opt adagrad
expect_fail 2 "option --blocks: -2 is not in 0..1024" train --data "$TMP/slice" --blocks -2 --opt adagrad
expect_fail 2 "option --blocks: 'x' is not an integer" train --data "$TMP/slice" --blocks x --opt adagrad
expect_fail 2 "unknown option '--blocks' for lr-find" lr-find --data "$TMP/slice" --blocks 2
# A diverging run stops at the stratum whose loss is not finite and writes nothing.
expect_fail 1 "training diverged: the loss of epoch 0, stratum 3 is NaN or infinite" \
    train --data "$TMP/slice" --blocks 4 --opt sparse-sgd --lr 500 --progress never \
    --dump-params "$TMP/div.bin"
[ ! -e "$TMP/div.bin" ] || fail "a diverged run wrote its parameters"
# More ranks than blocks: every rank exits 2 with the message.
set +e
run_np 3 train --data "$TMP/slice" --blocks 2 --opt adagrad >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 2 ] || { cat "$TMP/err" >&2; fail "3 ranks, 2 blocks: exit $got, expected 2"; }
grep -qF "option --blocks: 2 blocks for 3 ranks" "$TMP/err" || fail "3 ranks, 2 blocks: no message"
echo "blocks: ok"
