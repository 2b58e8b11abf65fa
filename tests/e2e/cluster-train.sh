#!/bin/sh
# Across three virtual hosts over TCP (scripts/vcluster), training ends with the same
# parameters, byte for byte, as at one rank: dense Adam, a sparse optimizer (Adagrad),
# blocked training and --model nn. A checkpoint written by the 3 hosts (stopped by a
# signal) resumes on 2 of them to the uninterrupted bits, and recommend --all-users across
# the hosts writes the lists one rank writes.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/cluster-lib.sh"
set -e
cluster_up 3
slice_latest 6000 "$TMP/slice"
base="train --data $TMP/slice --progress never --quiet --n-factors 8"

# same NAME ARGS...: the parameters at 1 rank and across the 3 hosts.
same() {
    name=$1; shift
    "$COLLAB" $base "$@" --dump-params "$TMP/$name-1.bin" >/dev/null || fail "$name at 1 rank"
    cluster_run --np 3 $base "$@" --dump-params "$TMP/$name-3.bin" >/dev/null 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; fail "$name across 3 hosts"; }
    cmp "$TMP/$name-1.bin" "$TMP/$name-3.bin" || fail "$name: 3 hosts differ from 1 rank"
}
same adam --epochs 2
same adagrad --epochs 2 --opt adagrad --lr 0.1 --bs 256
same blocks --epochs 2 --blocks 6 --opt sparse-sgd --lr 0.02 --wd 0.03
same nn --epochs 1 --model nn --bs 256 --lr 1e-2

# 75 batches an epoch: stopped after batch 100 (epoch 1) by a signal, checkpointed by the
# 3 hosts at the next batch, resumed by 2.
set +e
cluster_run --np 3 --env COLLAB_TEST_SIGNAL_AT=100 $base --epochs 2 --checkpoint-dir "$TMP/ck" \
    >/dev/null 2>"$TMP/err"
got=$?
set -e
[ "$got" = 75 ] || { cat "$TMP/err" >&2; fail "the signalled run exited $got, not 75"; }
[ -f "$TMP/ck/ckpt-e0001-i0000000101.h5" ] || { ls "$TMP/ck" >&2; fail "no checkpoint at batch 101"; }
cluster_run --np 2 --hosts vc1,vc2 $base --epochs 2 --checkpoint-dir "$TMP/ck" --resume auto \
    --dump-params "$TMP/resumed.bin" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume on 2 hosts"; }
cmp "$TMP/adam-1.bin" "$TMP/resumed.bin" || fail "resumed on 2 hosts: differs from the uninterrupted run"

# Every user's top-N across the hosts: the file one rank writes.
"$COLLAB" $base --epochs 1 --output "$TMP/model.h5" >/dev/null || fail "training the model"
"$COLLAB" recommend --model "$TMP/model.h5" --all-users -n 8 --output "$TMP/r1.h5" >/dev/null ||
    fail "recommend at 1 rank"
cluster_run --np 3 recommend --model "$TMP/model.h5" --all-users -n 8 --output "$TMP/r3.h5" \
    >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "recommend across 3 hosts"; }
for d in items scores counts vocab/users; do
    h5dump -d "$d" "$TMP/r1.h5" | tail -n +2 >"$TMP/d1"
    h5dump -d "$d" "$TMP/r3.h5" | tail -n +2 >"$TMP/d3"
    compare "$TMP/d1" "$TMP/d3"
done
echo "cluster-train: ok"
