#!/bin/sh
# Bad prepare commands and bad prepared files: each gets a message naming the option or
# the file, and the same exit status on every rank (1 data, 2 usage).
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 500 "$TMP/slice"
"$COLLAB" prepare "$TMP/slice" --output "$TMP/r.h5" --quiet >/dev/null || fail "prepare failed"

# prepare itself
expect_fail 2 "prepare needs the ratings to read" prepare --output "$TMP/x.h5"
expect_fail 2 "option --output is required" prepare "$TMP/slice"
expect_fail 2 "is already a prepared file" prepare "$TMP/r.h5" --output "$TMP/x.h5"
expect_fail 1 "cannot open" prepare "$TMP/none" --output "$TMP/x.h5"
expect_fail 1 "cannot create '$TMP/no/x.h5.tmp'" prepare "$TMP/slice" --output "$TMP/no/x.h5"
printf 'userId,movieId,rating,timestamp\n1,2,x,3\n' >"$TMP/bad.csv"
expect_fail 1 "bad.csv:2: expected a number for rating" prepare "$TMP/bad.csv" --output "$TMP/x.h5"
[ ! -e "$TMP/x.h5" ] && [ ! -e "$TMP/x.h5.tmp" ] || fail "a failed prepare left a file"

# options that conflict with the file, or that only text takes
expect_fail 2 "option --sep applies to text, but $TMP/r.h5 is a prepared file" \
    show-batch --data "$TMP/r.h5" --sep ';'
expect_fail 2 "option --user-col applies to text" show-batch --data "$TMP/r.h5" --user-col 1
expect_fail 2 "option --valid-file cannot be used with the prepared file" \
    show-batch --data "$TMP/r.h5" --valid-file "$TMP/slice/ratings.csv"
expect_fail 2 "option --item-name: this run has --item-name title, but $TMP/r.h5 was prepared with --item-name id" \
    show-batch --data "$TMP/r.h5" --item-name title
expect_fail 2 "option --rating-range: this run has --rating-range 1,5, but $TMP/r.h5 was prepared with no --rating-range" \
    show-batch --data "$TMP/r.h5" --rating-range 1,5
expect_fail 2 "option --skip-bad-lines" show-batch --data "$TMP/r.h5" --skip-bad-lines
expect_fail 2 "option --format: this run has --format ml-100k" show-batch --data "$TMP/r.h5" --format ml-100k
"$COLLAB" show-batch --data "$TMP/r.h5" --format ml-csv --info >/dev/null || fail "--format ml-csv refused"

# files that are not prepared ratings, or are damaged; a file without the HDF5 signature
# is read as text
expect_fail 1 "cannot open '$TMP/none.h5'" show-batch --data "$TMP/none.h5"
printf 'not HDF5\n' >"$TMP/text.h5"
expect_fail 1 "$TMP/text.h5:1: the item column index 1 is out of range" show-batch --data "$TMP/text.h5"
run_np 1 train --data "$TMP/slice" --epochs 1 --n-factors 2 --quiet --output "$TMP/model.h5" \
    >/dev/null || fail "train failed"
expect_fail 1 "$TMP/model.h5: is a collab-mpi model file, not prepared ratings" \
    show-batch --data "$TMP/model.h5"
head -c 30000 "$TMP/r.h5" >"$TMP/cut.h5"
expect_fail 1 "$TMP/cut.h5: not a readable HDF5 file (truncated or damaged?)" \
    show-batch --data "$TMP/cut.h5"
PY=/usr/bin/python3
if [ -x $PY ] && $PY -c 'import h5py' 2>/dev/null; then
    cp "$TMP/r.h5" "$TMP/v.h5"
    cp "$TMP/r.h5" "$TMP/d.h5"
    $PY -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f: f.attrs["format_version"] = 99
with h5py.File(sys.argv[2], "r+") as f: f["ratings/rating"][7] = 0.5 + f["ratings/rating"][7] % 4
' "$TMP/v.h5" "$TMP/d.h5"
    expect_fail 1 "$TMP/v.h5: prepared file version 99, but this program reads version 1" \
        show-batch --data "$TMP/v.h5"
    expect_fail 1 "$TMP/d.h5: the ratings do not match their checksums" show-batch --data "$TMP/d.h5"
    set +e
    run_np 2 show-batch --data "$TMP/d.h5" >/dev/null 2>"$TMP/err2"
    got=$?
    set -e
    [ $got = 1 ] || fail "damaged file at 2 ranks: exit $got"
    [ "$(grep -c 'do not match their checksums' "$TMP/err2")" = 1 ] ||
        fail "damaged file at 2 ranks: not one message: $(cat "$TMP/err2")"
fi
echo "prepare-bad: ok"
