#!/bin/sh
# Every header compiles on its own (STYLE.md: it includes what it uses), with the
# compiler and flags of the build.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
: "${CC:?run through make check}"
n=0
for h in "$top_srcdir"/include/collab/*/*.h; do
    rel=${h#"$top_srcdir"/include/}
    printf '#include "%s"\n' "$rel" >"$TMP/one.c"
    $CC -std=c11 -D_POSIX_C_SOURCE=200809L -I"$top_srcdir/include" $HDF5_CFLAGS \
        -Wall -Wextra -Werror -fsyntax-only "$TMP/one.c" 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; fail "$rel does not compile on its own"; }
    n=$((n + 1))
done
[ "$n" -gt 40 ] || fail "only $n headers found under include/collab/"
echo "headers: $n compile on their own"
