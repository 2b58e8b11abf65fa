# lib.sh - shared helpers for the end-to-end test scripts (sourced, POSIX sh).
# Environment from make check: COLLAB (the program), top_srcdir, MPIEXEC,
# MPIEXEC_OVERSUB, COLLAB_ML100K (folder of MovieLens 100k, may be absent).
set -u
: "${COLLAB:?run through make check}"
: "${top_srcdir:?run through make check}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/collab-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# run_np N ARGS...: the program under the launcher at N ranks.
run_np() {
    np=$1; shift
    if [ -z "${MPIEXEC:-}" ] || [ "$MPIEXEC" = none ]; then skip "no MPI launcher"; fi
    "$MPIEXEC" $MPIEXEC_OVERSUB -np "$np" "$COLLAB" "$@"
}

# compare EXP OUT: fail with a diff when they differ.
compare() { diff -u "$1" "$2" >&2 || fail "output differs from expected ($1 vs $2)"; }

# expect_fail STATUS PATTERN ARGS...: runs the program at 1 rank, checks the exit status
# and that stderr contains PATTERN (fixed string).
expect_fail() {
    want=$1; pat=$2; shift 2
    set +e; "$COLLAB" "$@" >"$TMP/out" 2>"$TMP/err"; got=$?; set -e
    [ "$got" = "$want" ] || { cat "$TMP/err" >&2; fail "exit $got, expected $want: $*"; }
    grep -qF -- "$pat" "$TMP/err" || { cat "$TMP/err" >&2; fail "stderr lacks '$pat': $*"; }
}

ml100k_or_skip() {
    [ -f "${COLLAB_ML100K:-}/u.data" ] || skip "MovieLens 100k not found (set COLLAB_ML100K)"
}

# slice_latest N DIR: a MovieLens-latest-shaped folder with the first N ratings of the
# embedded dataset (and its full movies.csv).
slice_latest() {
    mkdir -p "$2"
    head -n "$(($1 + 1))" "$top_srcdir/data/ml-latest-small/ratings.csv" >"$2/ratings.csv"
    cp "$top_srcdir/data/ml-latest-small/movies.csv" "$2/movies.csv"
}

# strip_times: the epoch table and summary without wall-clock fields.
strip_times() {
    sed -e 's/ [0-9][0-9]:[0-9][0-9]$//' -e 's/ sec_per_epoch .*$//'
}
