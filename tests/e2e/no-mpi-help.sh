#!/bin/sh
# --help, COMMAND --help and --version answer without initialising MPI: with Open MPI
# made unable to start (OMPI_MCA_pml names no component, so MPI_Init fails), they still
# print and exit 0, while a command that needs MPI fails. Under the launcher at 2 ranks
# they print once.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
# The control: a command line that reaches MPI_Init must fail in this environment.
set +e
OMPI_MCA_pml=no-such-component "$COLLAB" train --no-such-option >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" != 0 ] && [ "$got" != 2 ] ||
    skip "OMPI_MCA_pml does not stop this MPI's MPI_Init (exit $got): not Open MPI?"
for args in "--version" "--help" "help" "train --help" "lr-find --epochs 3 --help" \
    "recommend --help" "prepare --help"; do
    OMPI_MCA_pml=no-such-component "$COLLAB" $args >"$TMP/out" 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; fail "'$args' needed MPI"; }
    [ -s "$TMP/out" ] && [ ! -s "$TMP/err" ] || fail "'$args': nothing on stdout, or stderr"
done
"$COLLAB" --version >"$TMP/exp"
grep -q '^collab-mpi ' "$TMP/exp" || fail "--version does not name the program"
# No command: the usage on stderr, status 2, still without MPI.
set +e
OMPI_MCA_pml=no-such-component "$COLLAB" >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 2 ] && grep -q '^Usage: collab-mpi COMMAND' "$TMP/err" || fail "no command: exit $got"
# A --help after an option that does not parse is that usage error (through MPI).
expect_fail 2 "option --epochs: 'x' is not an integer" train --epochs x --help
# At 2 ranks: printed by rank 0 only.
run_np 2 --version >"$TMP/out" || fail "--version at 2 ranks"
compare "$TMP/exp" "$TMP/out"
run_np 2 train --help >"$TMP/out" || fail "train --help at 2 ranks"
"$COLLAB" train --help >"$TMP/exp"
compare "$TMP/exp" "$TMP/out"
echo "no-mpi-help: ok"
