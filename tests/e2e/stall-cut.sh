#!/bin/sh
# A host whose link goes down mid-epoch (ip link set DEV down, on a virtual cluster of 3
# hosts) does not hang the job: the stall watchdog (--stall-timeout 3) of each rank still
# there prints one message naming the phase (a training batch) and the rank not heard
# from (2, the cut host's), and the job ends with exit status 76 in bounded time. The
# last checkpoint is intact and --resume auto on the 2 hosts left ends with the
# parameters of an uninterrupted run.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/cluster-lib.sh"
set -e
cluster_up 3 --launcher-retries 2
slice_latest 20000 "$TMP/slice"
args="train --data $TMP/slice --epochs 4 --n-factors 8 --progress never --quiet"
ck="--checkpoint-dir $TMP/ck --checkpoint-every 100b"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 250 batches an epoch: vc3's link goes down just after the checkpoint at batch 100.
cluster_run --np 3 $args $ck --stall-timeout 3 >"$TMP/out" 2>"$TMP/err" &
job=$!
wait_for '[ -f "$TMP/ck/ckpt-e0000-i0000000100.h5" ]' 60 || fail "no checkpoint at batch 100"
"$VC" cut vc3
job_wait "$job" 60
echo "the job ended $job_seconds s after the cut, status $job_status"
[ "$job_status" = 76 ] || { cat "$TMP/err" >&2; fail "exit status $job_status, not 76"; }
stall_messages "$TMP/err" "s (--stall-timeout) in training batch" 0 1
stall_messages "$TMP/err" "of epoch 0; ranks not heard from: 2; ending the job with exit status 76" 0 1
# The newest complete checkpoint is read, checked and resumed from on the hosts left.
cluster_run --np 2 --hosts vc1,vc2 $args $ck --resume auto --dump-params "$TMP/res.bin" \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume on 2 hosts failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "resumed on 2 hosts: differs from the uninterrupted run"
echo "stall-cut: ok"
