#!/bin/sh
# Before allocating, train and lr-find estimate each rank's memory (tables, gradients,
# optimizer state, buffers) and refuse, with exit 1 and the numbers, tables that would
# not fit: in --max-memory, or in what the node has available.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 3000 "$TMP/slice"
args="--data $TMP/slice --epochs 1 --progress never --quiet"
expect_fail 1 "not enough memory for training: rank 0 needs about" train $args --max-memory 1M
grep -qF "but --max-memory allows 1.0 MiB: use more ranks (on more nodes), a smaller --n-factors, or --opt adagrad" \
    "$TMP/err" || { cat "$TMP/err" >&2; fail "the message lacks the limit or the advice"; }
expect_fail 1 "not enough memory for training" lr-find $args --max-memory 1M
"$COLLAB" train $args --max-memory 1G >/dev/null || fail "a run that fits in 1G was refused"
# Without --max-memory, the node's available memory (MemAvailable, or a cgroup limit)
# is the bound; test hook COLLAB_TEST_MEMAVAILABLE=SIZE stands for it.
COLLAB_TEST_MEMAVAILABLE=4M expect_fail 1 "but its node has available 4.0 MiB" train $args
COLLAB_TEST_MEMAVAILABLE=1G "$COLLAB" train $args >/dev/null || fail "refused with 1G available"
if [ -n "${MPIEXEC:-}" ] && [ "$MPIEXEC" != none ]; then
    set +e
    run_np 2 train $args --max-memory 1M >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" != 0 ] || fail "2 ranks: exit 0"
    [ "$(grep -c 'collab-mpi: error: not enough memory' "$TMP/err")" = 1 ] ||
        { cat "$TMP/err" >&2; fail "2 ranks: not one message"; }
    # The ranks of one node share its memory.
    set +e
    COLLAB_TEST_MEMAVAILABLE=8M run_np 2 train $args >"$TMP/out" 2>"$TMP/err"
    set -e
    grep -qF "for the 2 ranks of its node), but its node has available 8.0 MiB" "$TMP/err" ||
        { cat "$TMP/err" >&2; fail "2 ranks: the node's ranks were not counted together"; }
fi
echo "memory-estimate: ok"
