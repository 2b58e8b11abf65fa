#!/bin/sh
# The layout rules hold (scripts/check-layout): only the expected entries at the
# repository root, includes pointing down the layers, no file over 800 lines and no
# function over 80. Then the checker itself is shown a tree that breaks each rule.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
"$top_srcdir/scripts/check-layout" "$top_srcdir" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "layout rules broken"; }

# A small tree that breaks rules 2 and 3 must be refused with one line per break.
t="$TMP/tree"
mkdir -p "$t/src/base" "$t/src/cli" "$t/src/odd" "$t/include/collab/base"
printf '#include "collab/cli/cli.h"\n' >"$t/src/base/low.c"
printf '#include "collab/base/low.h"\n' >"$t/src/cli/high.c"
: >"$t/src/odd/x.c"
awk 'BEGIN { print "int f(void)"; print "{"; for (i = 0; i < 80; i++) print "    ;"; print "}" }' \
    >"$t/src/cli/long.c"
awk 'BEGIN { for (i = 0; i < 801; i++) print "/* */" }' >"$t/include/collab/base/big.h"
set +e; "$top_srcdir/scripts/check-layout" "$t" >"$TMP/bad"; rc=$?; set -e
[ "$rc" = 1 ] || fail "check-layout exited $rc on a broken tree"
for want in "src/base/low.c:1: base/ includes cli/, a higher layer" \
    "src/odd/x.c: outside the layer folders" \
    "src/cli/long.c:1: function f is 82 lines, over 80" \
    "include/collab/base/big.h: 801 lines, over 800"; do
    grep -qF "$want" "$TMP/bad" || { cat "$TMP/bad" >&2; fail "check-layout missed: $want"; }
done
[ "$(wc -l <"$TMP/bad")" = 4 ] || { cat "$TMP/bad" >&2; fail "check-layout reported more than the 4 breaks"; }
echo "layout: ok"
