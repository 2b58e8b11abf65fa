#!/bin/sh
# Every malformed input listed in tests/bad-input/cases stops `train` with the listed exit
# status (1 for data errors, 2 for option conflicts) and a message naming the file, the
# line and what was expected. At 2 ranks, two of them end every rank with a non-zero
# status and print the message once (rank 0 reads; all ranks agree on the error).
. "${top_srcdir:?run through make check}/tests/e2e/lib.sh"
set -e
set -f # extra arguments are split on spaces, never globbed
dir="$top_srcdir/tests/bad-input"
tab=$(printf '\t')
n=0
# MovieLens 100k cases are stored as u.data.in and u.item.in (files named u.data stand
# for the real, non-redistributable data set in our licence checks) and laid out under
# $TMP to run.
case_path() {
    if [ -f "$dir/$1/u.data.in" ]; then
        mkdir -p "$TMP/$1"
        cp -R "$dir/$1/." "$TMP/$1/" # with the u.item a case may have
        mv "$TMP/$1/u.data.in" "$TMP/$1/u.data"
        [ ! -f "$TMP/$1/u.item.in" ] || mv "$TMP/$1/u.item.in" "$TMP/$1/u.item"
        echo "$TMP/$1"
    else
        echo "$dir/$1"
    fi
}
while IFS="$tab" read -r path want pattern extra; do
    case $path in '' | '#'*) continue ;; esac
    extra=$(printf '%s\n' "$extra" | sed "s|@IN@|$dir|g") # other files of this folder
    expect_fail "$want" "$pattern" train --data "$(case_path "$path")" --epochs 1 $extra </dev/null
    n=$((n + 1))
done <"$dir/cases"
[ "$n" -ge 34 ] || fail "only $n cases read from $dir/cases"

if [ -z "${MPIEXEC:-}" ] || [ "$MPIEXEC" = none ]; then
    echo "bad-input: ok ($n cases; no MPI launcher: the 2-rank cases were not run)"
    exit 0
fi
for c in short-line duplicate; do
    pattern=$(awk -F '\t' -v c="$c" '$1 == c { print $3; exit }' "$dir/cases")
    set +e
    run_np 2 train --data "$(case_path "$c")" --epochs 1 </dev/null >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" != 0 ] || { cat "$TMP/err" >&2; fail "2 ranks: exit status 0 on $c"; }
    count=$(grep -cF "collab-mpi: error: " "$TMP/err" || true)
    [ "$count" = 1 ] || { cat "$TMP/err" >&2; fail "2 ranks: $count error messages on $c, expected 1"; }
    grep -qF -- "$pattern" "$TMP/err" || { cat "$TMP/err" >&2; fail "2 ranks: stderr lacks '$pattern'"; }
done
echo "bad-input: ok ($n cases, 2 of them at 2 ranks)"
