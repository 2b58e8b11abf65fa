#!/bin/sh
# Bad nn options: one message naming the option, exit 2, on every rank together.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
d="--data $top_srcdir/data/ml-latest-small --epochs 1"
expect_fail 2 "option --layers: width 0 is not in 1..100000" train $d --model nn --layers 0
expect_fail 2 "option --layers: 'abc' is not a comma-separated list of layer widths" \
    train $d --model nn --layers abc
expect_fail 2 "option --layers: '100,' is not a comma-separated list" train $d --model nn --layers 100,
expect_fail 2 "option --layers: '' is not a comma-separated list" train $d --model nn --layers ''
expect_fail 2 "option --layers: more than 8 layers" train $d --model nn --layers 1,1,1,1,1,1,1,1,1
expect_fail 2 "option --layers: only for --model nn" train $d --layers 100
expect_fail 2 "option --batchnorm: only for --model nn" train $d --model dot --batchnorm no
expect_fail 2 "option --batchnorm" train $d --model nn --batchnorm maybe
expect_fail 2 "option --opt sparse-adam: not for --model nn" train $d --model nn --opt sparse-adam
expect_fail 2 "option --bs: BatchNorm needs at least 2 ratings per batch" train $d --model nn --bs 1
expect_fail 2 "option --bs: 2000000 is more than 1048576" train $d --model nn --bs 2000000
expect_fail 2 "option --layers: width 0" lr-find $d --model nn --layers 0
# At 3 ranks: the same status everywhere and exactly one message.
set +e
run_np 3 train $d --model nn --layers 0 >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 2 ] || { cat "$TMP/err" >&2; fail "3 ranks: exit $got, expected 2"; }
[ "$(grep -c 'option --layers' "$TMP/err")" = 1 ] || { cat "$TMP/err" >&2; fail "3 ranks: not one message"; }
echo "nn-bad-options: ok"
