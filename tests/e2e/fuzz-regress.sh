#!/bin/sh
# The fuzz targets, built as plain programs (fuzz/replay_*), replay their seeds and every
# input fuzzing ever found a crash, a hang or undefined behaviour on (fuzz/regress/T):
# each must run to the end. Under ./configure --enable-asan --enable-ubsan this is the
# sanitized replay of all of them.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
n=0
for t in text data ckpt; do
    prog="$top_builddir/fuzz/replay_$t"
    [ -x "$prog" ] || fail "$prog was not built"
    files=
    for f in "$top_srcdir/fuzz/seeds/fuzz_$t"/* "$top_srcdir/fuzz/regress/fuzz_$t"/*; do
        [ -f "$f" ] && files="$files $f" && n=$((n + 1))
    done
    [ -n "$files" ] || continue
    # shellcheck disable=SC2086 # file names without spaces, split on purpose
    "$prog" $files >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/out" "$TMP/err" >&2; fail "fuzz_$t crashed on a replayed input"; }
done
echo "fuzz-regress: ok ($n inputs)"
