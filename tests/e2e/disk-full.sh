#!/bin/sh
# The disk fills up while a checkpoint is written: the job stops with exit 1 and one
# message saying the device is full and the previous checkpoint is intact; it is, no
# partial file is left behind, and resuming from it (once there is space) finishes with
# the same parameters as an uninterrupted run. The full disk is simulated under HDF5 and
# MPI-IO by an LD_PRELOAD shim (tests/e2e/fullfs.so: writes to *.tmp files fail with ENOSPC
# past a byte budget); when the test may mount a small tmpfs (root, outside most
# containers), a really full file system is tried as well.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
shim="${top_builddir:?}/tests/e2e/fullfs.so"
[ -f "$shim" ] || skip "the shim $shim was not built"
# A sanitized program must accept a preloaded library ahead of the sanitizer runtime.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
slice_latest 6000 "$TMP/slice"
args="train --data $TMP/slice --epochs 2 --n-factors 8 --progress never --quiet"
"$COLLAB" $args --dump-params "$TMP/full.bin" --checkpoint-dir "$TMP/sized" \
    --checkpoint-every 40b >/dev/null || fail "uninterrupted run failed"
size=$(wc -c <"$TMP/sized/ckpt-e0000-i0000000040.h5")
# Room for one checkpoint and a half: the write at batch 80 runs out of space.
budget=$((size + size / 2))

# check_full WHAT DIR: the stop left DIR with the batch-40 checkpoint, no partial file,
# and that checkpoint resumes to the parameters of the uninterrupted run.
n=0
check_full() {
    grep -qF "no space left on the device (disk full); the previous checkpoint is intact" \
        "$TMP/err" || { cat "$TMP/err" >&2; fail "$1: no disk-full message"; }
    [ "$(grep -c 'collab-mpi: error:' "$TMP/err")" = 1 ] || { cat "$TMP/err" >&2; fail "$1: not one message"; }
    ls "$2" >"$TMP/files"
    grep -q '^ckpt-e0000-i0000000040.h5$' "$TMP/files" || fail "$1: the previous checkpoint is gone"
    ! grep -q 'tmp$' "$TMP/files" || fail "$1: a partial checkpoint was left behind"
    n=$((n + 1))
    "$COLLAB" $args --checkpoint-dir "$TMP/after$n" --resume "$2/ckpt-e0000-i0000000040.h5" \
        --dump-params "$TMP/res.bin" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "$1: resume failed"; }
    cmp "$TMP/full.bin" "$TMP/res.bin" || fail "$1: parameters differ after resuming past a full disk"
}

set +e
LD_PRELOAD="$shim" COLLAB_FULL_AFTER=$budget "$COLLAB" $args --checkpoint-dir "$TMP/ck" \
    --checkpoint-every 40b >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 1 ] || { cat "$TMP/err" >&2; fail "1 rank: exit $got, expected 1"; }
check_full "1 rank" "$TMP/ck"

# 2 ranks: each rank has the budget of 4/5 of a checkpoint, so that at batch 80 one rank
# runs out of space and the other does not. Every rank must stop (no hang: a rank once
# waited in a collective call the failed one skipped), with one message.
if [ -n "${MPIEXEC:-}" ] && [ "$MPIEXEC" != none ]; then
    guard=
    command -v timeout >/dev/null && guard="timeout 120"
    set +e
    LD_PRELOAD="$shim" COLLAB_FULL_AFTER=$((size * 4 / 5)) $guard "$MPIEXEC" $MPIEXEC_OVERSUB \
        -np 2 "$COLLAB" $args \
        --checkpoint-dir "$TMP/ck2" --checkpoint-every 40b >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" != 124 ] || fail "2 ranks: the job hung after the disk filled up"
    [ "$got" != 0 ] || fail "2 ranks: exit status 0 on a full disk"
    check_full "2 ranks" "$TMP/ck2"
fi

# A real full file system: a tmpfs with room for one checkpoint and the metrics file.
mnt=$TMP/mnt
mkdir "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$((budget / 1024 + 64))k tmpfs "$mnt" 2>/dev/null; then
    trap 'umount "$mnt" 2>/dev/null; rm -rf "$TMP"' EXIT
    set +e
    "$COLLAB" $args --checkpoint-dir "$mnt" --checkpoint-every 40b >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = 1 ] || { cat "$TMP/err" >&2; fail "tmpfs: exit $got, expected 1"; }
    check_full "tmpfs" "$mnt"
    echo "disk-full: ok (shim at 1 and 2 ranks, and a full tmpfs)"
else
    echo "disk-full: ok (shim at 1 and 2 ranks; no tmpfs mount allowed here)"
fi
