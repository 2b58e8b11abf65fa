#!/bin/sh
# Every subcommand answers --help with its usage and exit 0; bad options and commands
# are usage errors (exit 2) that name the option.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
for cmd in train lr-find show-batch sweep; do
    "$COLLAB" $cmd --help >"$TMP/help" || fail "$cmd --help exited non-zero"
    grep -q "^Usage: collab-mpi $cmd" "$TMP/help" || fail "$cmd --help lacks its usage line"
    grep -q -- "--data PATH" "$TMP/help" || fail "$cmd --help lacks --data"
done
"$COLLAB" --help >"$TMP/help"
for cmd in train lr-find show-batch sweep; do grep -q "^  $cmd " "$TMP/help" || fail "--help lacks $cmd"; done
"$COLLAB" --version | grep -q '^collab-mpi ' || fail "--version"
expect_fail 2 "unknown command 'trian'" trian
expect_fail 2 "unknown option '--epoch' for train" train --epoch 3
expect_fail 2 "option --epochs: 'three' is not an integer" train --epochs three
expect_fail 2 "option --lr: 'x' is not a finite number" train --lr x
expect_fail 2 "option --lr: 0 is not in" train --lr 0
expect_fail 2 "option --bs: 0 is not in 1..16777216" train --bs 0
expect_fail 2 "option --model: 'mf' is not one of: dot, dotbias" train --model mf
expect_fail 2 "option --y-range: '5,1' is not LO,HI with LO < HI" train --y-range 5,1
expect_fail 2 "option --valid-pct: 1 is not in [0, 1)" train --valid-pct 1
expect_fail 2 "option --format: 'xml' is not one of" train --format xml
expect_fail 2 "option --epochs needs a value" train --epochs
expect_fail 2 "option --quiet takes no value" train --quiet=1
expect_fail 2 "option --suggest: 'best' is not one of: valley, minimum, steep" lr-find --suggest best
expect_fail 1 "cannot open" train --data "$TMP/no-such-folder"
echo "cli-help: ok"
