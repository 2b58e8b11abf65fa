#!/bin/sh
# A job killed with SIGKILL while it writes a checkpoint (the write slowed by a test hook)
# leaves the previous checkpoint intact: resuming from it finishes with the same
# parameters as an uninterrupted run. The half-written file is never taken for a
# checkpoint.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 6000 "$TMP/slice"
args="train --data $TMP/slice --epochs 2 --n-factors 8 --progress never --quiet"
"$COLLAB" $args --dump-params "$TMP/full.bin" >/dev/null || fail "uninterrupted run failed"
# 75 batches per epoch: checkpoints at 40 (fast), then at 80 (slowed down, and killed).
"$COLLAB" $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b >/dev/null &
pid=$!
# Wait until the batch-40 checkpoint exists, then make the next write slow: the hook is
# read at write time, so switch it on through a file the test controls.
i=0
while [ ! -f "$TMP/ck/ckpt-e0000-i0000000040.h5" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait $pid || fail "first run failed"
# Second run: resume from 40, slow write at 80, killed while the .tmp file exists.
COLLAB_TEST_SLOW_CHECKPOINT=30 "$COLLAB" $args --checkpoint-dir "$TMP/ck" \
    --checkpoint-every 40b --resume "$TMP/ck/ckpt-e0000-i0000000040.h5" >/dev/null 2>&1 &
pid=$!
i=0
while ! ls "$TMP/ck" | grep -q '\.tmp$' && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
ls "$TMP/ck" | grep -q '\.tmp$' || { kill -9 $pid; fail "no checkpoint write in progress"; }
kill -9 $pid
wait $pid 2>/dev/null || true
ls "$TMP/ck" >"$TMP/files"
grep -q '\.tmp$' "$TMP/files" || fail "the killed write left no partial file (was it killed in time?)"
# The newest complete checkpoint is still loadable, and resuming from it finishes right.
"$COLLAB" $args --checkpoint-dir "$TMP/ck" --checkpoint-every 40b --resume auto \
    --dump-params "$TMP/res.bin" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume failed"; }
cmp "$TMP/full.bin" "$TMP/res.bin" || fail "parameters differ after resuming past a killed write"
echo "ckpt-kill: ok"
