#!/bin/sh
# A host whose link goes down while a checkpoint is being written (collective HDF5 I/O,
# which the program cannot wrap; on a virtual cluster of 3 hosts) does not hang the job:
# the stall watchdog (--stall-timeout 3) of each rank still there prints one message
# naming the phase (that checkpoint's write) and the rank not heard from (2), and the job
# ends with exit status 76 in bounded time. The half-written checkpoint does not count:
# the previous one is intact, and --resume auto on the 2 hosts left resumes from it to
# the parameters of an uninterrupted run.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/cluster-lib.sh"
set -e
cluster_up 3 --launcher-retries 2
slice_latest 20000 "$TMP/slice"
args="train --data $TMP/slice --epochs 4 --n-factors 8 --progress never --quiet"
ck="--checkpoint-dir $TMP/ck --checkpoint-every 100b"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# Every checkpoint write sleeps 1 s after its first table (less than the timeout, so a
# slow write alone is no stall); vc3's link goes down during the write at batch 200.
cluster_run --np 3 --env COLLAB_TEST_SLOW_CHECKPOINT=1 $args $ck --stall-timeout 3 \
    >"$TMP/out" 2>"$TMP/err" &
job=$!
wait_for '[ -f "$TMP/ck/ckpt-e0000-i0000000200.h5.tmp" ]' 60 || fail "no checkpoint write at batch 200"
"$VC" cut vc3
job_wait "$job" 60
echo "the job ended $job_seconds s after the cut, status $job_status"
[ "$job_status" = 76 ] || { cat "$TMP/err" >&2; fail "exit status $job_status, not 76"; }
stall_messages "$TMP/err" "s (--stall-timeout) in the checkpoint write of epoch 0, batch 200;" 0 1
stall_messages "$TMP/err" "ranks not heard from: 2; ending the job with exit status 76" 0 1
# The only complete checkpoint, so the one --resume auto takes (ckpt_find_latest).
ls "$TMP/ck" | grep '^ckpt-.*\.h5$' >"$TMP/complete" || true
echo ckpt-e0000-i0000000100.h5 >"$TMP/exp"
compare "$TMP/exp" "$TMP/complete"
cluster_run --np 2 --hosts vc1,vc2 $args $ck --resume auto --dump-params "$TMP/res.bin" \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume on 2 hosts failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "resumed on 2 hosts: differs from the uninterrupted run"
echo "stall-ckpt: ok"
