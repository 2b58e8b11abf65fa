#!/bin/sh
# A rank frozen by SIGSTOP mid-epoch (on a virtual cluster of 3 hosts) does not hang the
# job: the stall watchdog (--stall-timeout 3) of each other rank prints one message
# naming the phase (a training batch) and the rank not heard from (1, the frozen one),
# and the job ends with exit status 76 in bounded time. The last checkpoint is intact and
# --resume auto on the 2 other hosts ends with the parameters of an uninterrupted run.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/cluster-lib.sh"
set -e
cluster_up 3 --launcher-retries 2
slice_latest 20000 "$TMP/slice"
args="train --data $TMP/slice --epochs 4 --n-factors 8 --progress never --quiet"
ck="--checkpoint-dir $TMP/ck --checkpoint-every 100b"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 250 batches an epoch: rank 1 (on vc2) stops just after the checkpoint at batch 100.
cluster_run --np 3 $args $ck --stall-timeout 3 >"$TMP/out" 2>"$TMP/err" &
job=$!
wait_for '[ -f "$TMP/ck/ckpt-e0000-i0000000100.h5" ]' 60 || fail "no checkpoint at batch 100"
pid=$(host_pid vc2) || fail "no rank found on vc2"
kill -STOP "$pid"
job_wait "$job" 60
echo "the job ended $job_seconds s after SIGSTOP, status $job_status"
[ "$job_status" = 76 ] || { cat "$TMP/err" >&2; fail "exit status $job_status, not 76"; }
stall_messages "$TMP/err" "s (--stall-timeout) in training batch" 0 2
stall_messages "$TMP/err" "of epoch 0; ranks not heard from: 1; ending the job with exit status 76" 0 2
wait_for '! kill -0 "$pid" 2>/dev/null' 10 || fail "the stopped rank was left behind"
cluster_run --np 2 --hosts vc1,vc3 $args $ck --resume auto --dump-params "$TMP/res.bin" \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume on 2 hosts failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "resumed on 2 hosts: differs from the uninterrupted run"
echo "stall-stop: ok"
