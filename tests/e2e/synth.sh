#!/bin/sh
# synth writes a MovieLens-shaped folder: the same bytes at 1, 2 and 3 ranks; MovieLens
# headers; users and their items in order, each pair once; at least --min-per-user
# ratings a user; half stars in 0.5..5; a plausible oracle RMSE; a folder `train`
# reads. Bad options are usage errors naming the option; an unusable folder is exit 1
# with one message at 2 ranks.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
set -- --ratings 20000 --min-per-user 25 --noise 0.5 --seed 7
"$COLLAB" synth --output "$TMP/np1" "$@" >"$TMP/out1" 2>"$TMP/err1" || {
    cat "$TMP/err1" >&2
    fail "synth at 1 rank"
}
for np in 2 3; do
    run_np $np synth --output "$TMP/np$np" "$@" --quiet >"$TMP/out$np" || fail "synth at $np ranks"
    for f in ratings.csv movies.csv; do
        cmp "$TMP/np1/$f" "$TMP/np$np/$f" || fail "$f differs between 1 and $np ranks"
    done
    grep "^synth: wrote" "$TMP/out1" | sed "s/ in [0-9.]* s;/;/; s|/np1/|/np$np/|" >"$TMP/exp"
    sed "s/ in [0-9.]* s;/;/" "$TMP/out$np" >"$TMP/got"
    compare "$TMP/exp" "$TMP/got"
done
d="$TMP/np1"

# The summary names the exact total, which the file holds, and a plausible oracle RMSE.
line=$(grep '^synth: wrote' "$TMP/out1") || fail "no summary line"
n=$(echo "$line" | sed -n 's/^synth: wrote \([0-9]*\) ratings (133 users, [0-9]* items) to .*/\1/p')
[ "$n" = 20000 ] || fail "summary: $line"
[ "$(($(wc -l <"$d/ratings.csv") - 1))" = "$n" ] || fail "ratings.csv does not hold $n ratings"
rmse=$(echo "$line" | sed -n 's/.*; oracle RMSE \([0-9.]*\) (noiseless generating model)$/\1/p')
awk -v r="$rmse" 'BEGIN { exit !(r > 0.3 && r < 0.8) }' ||
    fail "oracle RMSE '$rmse' not in (0.3, 0.8)"
grep -q "^Oracle RMSE $rmse" "$d/README.txt" || fail "README.txt lacks the oracle RMSE"
grep -q -- "--ratings 20000 --users 133 " "$d/README.txt" || fail "README.txt lacks the settings"

# ratings.csv: header, userId ascending, movieId ascending within a user (so each pair
# once), half stars in 0.5..5, integer timestamps, every user with >= 25 ratings.
[ "$(head -n 1 "$d/ratings.csv")" = "userId,movieId,rating,timestamp" ] || fail "ratings header"
awk -F, -v min=25 '
    NR == 1 { next }
    NF != 4 || $1 !~ /^[1-9][0-9]*$/ || $2 !~ /^[1-9][0-9]*$/ || $4 !~ /^[0-9]+$/ {
        print "line " NR ": " $0; exit 1 }
    $3 !~ /^[0-5]\.[05]$/ || $3 + 0 < 0.5 || $3 + 0 > 5 { print "line " NR ": rating " $3; exit 1 }
    $1 + 0 < u || ($1 + 0 == u && $2 + 0 <= item) { print "line " NR ": out of order"; exit 1 }
    $1 + 0 != u { if (u && count < min) { print "user " u ": " count; exit 1 }
                  if ($1 != u + 1) { print "user ids skip at " $1; exit 1 }
                  u = $1 + 0; count = 0 }
    { item = $2 + 0; count++ }
    END { if (count < min) { print "user " u ": " count; exit 1 } }' "$d/ratings.csv" ||
    fail "ratings.csv breaks the format (see above)"

# movies.csv: header, one line per item, unique titles, every rated movieId listed.
[ "$(head -n 1 "$d/movies.csv")" = "movieId,title,genres" ] || fail "movies header"
awk -F, 'NR > 1 && (NF != 3 || t[$2]++ ||
                    $2 !~ /^Synthetic item [0-9]+ \([0-9][0-9][0-9][0-9]\)$/) {
    print "movies.csv line " NR ": " $0; exit 1 }' "$d/movies.csv" || fail "movies.csv titles"
items=$(($(wc -l <"$d/movies.csv") - 1))
awk -F, -v n="$items" 'NR > 1 && $2 > n { print "movieId " $2 " > " n; exit 1 }' \
    "$d/ratings.csv" || fail "a movieId is missing from movies.csv"

# The folder trains, and another seed gives other data.
"$COLLAB" train --data "$d" --epochs 1 --quiet >"$TMP/train" || fail "train on the synthetic set"
grep -q '^summary: epochs 1 ' "$TMP/train" || fail "train printed no summary"
"$COLLAB" synth --output "$TMP/seed8" --ratings 20000 --min-per-user 25 --seed 8 --quiet >/dev/null
cmp -s "$d/ratings.csv" "$TMP/seed8/ratings.csv" && fail "--seed 8 wrote the same ratings"

# Bad options and folders.
o="--output $TMP/bad"
expect_fail 2 "option --output is required" synth --ratings 100
expect_fail 2 "option --ratings: 0 is not in 1.." synth $o --ratings 0
expect_fail 2 "option --zipf: 3 is not in [0, 2]" synth $o --zipf 3
expect_fail 2 "option --noise: -1 is not in [0, 10]" synth $o --noise -1
expect_fail 2 "option --rank: 'x' is not an integer" synth $o --rank x
expect_fail 2 "option --users: -5 is negative" synth $o --users -5
expect_fail 2 \
    "option --min-per-user: 20 ratings for each of 100 users is more than --ratings 1000" \
    synth $o --ratings 1000 --users 100
expect_fail 2 "option --ratings: 100000 ratings do not fit 10 users rating at most half the 100" \
    synth $o --ratings 100000 --users 10 --items 100
expect_fail 2 "option --min-per-user: 60 is more than half the 100 items" \
    synth $o --ratings 1000 --users 10 --items 100 --min-per-user 60
[ ! -e "$TMP/bad" ] || fail "a usage error created the output folder"
expect_fail 1 "cannot create the output folder $TMP/no/such" synth --output "$TMP/no/such"
set +e
run_np 2 synth --output "$TMP/no/such" --ratings 1000 >/dev/null 2>"$TMP/err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "an uncreatable folder at 2 ranks exited 0"
[ "$(grep -c 'cannot create the output folder' "$TMP/err")" = 1 ] || {
    cat "$TMP/err" >&2
    fail "expected the error once from rank 0"
}
echo "synth: ok"
