#!/bin/sh
# The commands that use a trained model answer --help with their usage and exit 0, and
# refuse bad options with exit 2 and a message naming the option (before the model is
# read, so no model file is needed here).
. "$top_srcdir/tests/e2e/lib.sh"
set -e
for cmd in predict recommend similar biases pca evaluate show-results; do
    "$COLLAB" $cmd --help >"$TMP/help" || fail "$cmd --help exited non-zero"
    grep -q "^Usage: collab-mpi $cmd --model PATH" "$TMP/help" || fail "$cmd --help lacks its usage"
    grep -q -- "--model PATH" "$TMP/help" || fail "$cmd --help lacks --model"
done
"$COLLAB" recommend --help | grep -q -- '-n, --num N' || fail "recommend --help lacks -n"
"$COLLAB" --help >"$TMP/help"
for cmd in predict recommend similar biases pca evaluate show-results; do
    grep -q "^  $cmd " "$TMP/help" || fail "--help lacks $cmd"
done
expect_fail 2 "option --model is required" biases
expect_fail 2 "option --model is required" recommend --user 1
expect_fail 2 "predict needs a PAIRS file" predict --model m.h5
expect_fail 2 "unexpected argument 'b.csv'" predict --model m.h5 a.csv b.csv
expect_fail 2 "unexpected argument 'x.csv'" biases --model m.h5 x.csv
expect_fail 2 "recommend needs exactly one of --user ID and --all-users" recommend --model m.h5
expect_fail 2 "recommend needs exactly one of --user ID and --all-users" \
    recommend --model m.h5 --user 1 --all-users
expect_fail 2 "option --num: 0 is not in 1..100000" recommend --model m.h5 --user 1 -n 0
expect_fail 2 "option --num: 'ten' is not an integer" biases --model m.h5 -n ten
expect_fail 2 "option --num needs a value" similar --model m.h5 --item x -n
expect_fail 2 "similar needs --item ID|TITLE" similar --model m.h5
expect_fail 2 "option --min-ratings: -1 is negative" similar --model m.h5 --item x --min-ratings -1
expect_fail 2 "option --protocol: 'all' is not one of: heldout, catalogue, both" \
    evaluate --model m.h5 --protocol all
expect_fail 2 "option --k: 0 is not in 1..100000" evaluate --model m.h5 --k 0
expect_fail 2 "option --top: 1 is out of range" pca --model m.h5 --top 1
expect_fail 2 "option --max-n: 0 is not in 1..100000" show-results --model m.h5 --max-n 0
expect_fail 2 "option --format: 'xml' is not one of" predict --model m.h5 --format xml p.csv
expect_fail 2 "unknown option '--user' for biases" biases --model m.h5 --user 3
echo "use-cli: ok"
