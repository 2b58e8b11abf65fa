#!/bin/sh
# A malformed test hook (docs/RELIABILITY.md, "Test hooks") or a misspelt one stops the
# command before it starts: exit 2 and one message naming the variable, at 1 and 2
# ranks, instead of a run that quietly tests nothing.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 500 "$TMP/slice"
args="train --data $TMP/slice --epochs 1 --n-factors 4 --progress never --quiet"
COLLAB_TEST_NAN_AT=12x expect_fail 2 "test hook COLLAB_TEST_NAN_AT='12x' is not a batch count" $args
COLLAB_TEST_SIGNAL_AT= expect_fail 2 "test hook COLLAB_TEST_SIGNAL_AT='' is not a batch count" $args
COLLAB_TEST_SLOW_CHECKPOINT=-1 expect_fail 2 "COLLAB_TEST_SLOW_CHECKPOINT='-1' is not seconds" $args
COLLAB_TEST_MEMAVAILABLE=4X expect_fail 2 "COLLAB_TEST_MEMAVAILABLE='4X' is not a size" $args
COLLAB_TEST_KILL_ATT=5 expect_fail 2 "COLLAB_TEST_KILL_ATT is not a test hook" $args
# A well-formed hook is accepted (the value is past the run's batches: no effect).
COLLAB_TEST_NAN_AT=1000000 "$COLLAB" $args >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "a good hook was refused"; }

# 2 ranks: every rank stops, one message.
if [ -n "${MPIEXEC:-}" ] && [ "$MPIEXEC" != none ]; then
    set +e
    COLLAB_TEST_NAN_AT=abc run_np 2 $args >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" != 0 ] || fail "2 ranks: exit 0 with a malformed hook"
    [ "$(grep -c "collab-mpi: error: test hook COLLAB_TEST_NAN_AT='abc'" "$TMP/err")" = 1 ] ||
        { cat "$TMP/err" >&2; fail "2 ranks: not one message"; }
fi
echo "test-hooks: ok"
