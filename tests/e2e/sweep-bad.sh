#!/bin/sh
# A sweep's bad grid, an option it does not know or cannot sweep, and bad sweep options
# are usage errors: exit 2 on every rank with one message naming the problem (at 1 rank,
# and some at 2), before anything trains. A configuration that fails (a value train refuses, a
# divergence) is recorded as failed with train's message and the sweep goes on; when no
# configuration finishes, the sweep fails (exit 1).
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 3001 "$TMP/slice"
base="sweep --data $TMP/slice --epochs 1 --sweep-dir $TMP/sw"
# bad STATUS MESSAGE ARGS...: the status and one message, at 1 rank; bad2 also at 2
# ranks (every rank stops with the status, rank 0 prints the message).
bad_at() {
    np=$1 want=$2 pat=$3; shift 3
    set +e
    if [ "$np" = 1 ]; then "$COLLAB" "$@"; else run_np "$np" "$@"; fi >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || { cat "$TMP/err" >&2; fail "exit $got at $np ranks, expected $want: $*"; }
    grep -qF -- "$pat" "$TMP/err" || { cat "$TMP/err" >&2; fail "stderr lacks '$pat': $*"; }
    [ "$(grep -c 'collab-mpi: error' "$TMP/err")" = 1 ] || { cat "$TMP/err" >&2; fail "not one message at $np ranks: $*"; }
    [ ! -e "$TMP/sw" ] || fail "the sweep folder was made: $*"
}
bad() { bad_at 1 "$@"; }
bad2() { bad_at 1 "$@"; bad_at 2 "$@"; }
bad2 2 "option --grid: 'lr' is not NAME=VALUES" $base --grid 'lr'
bad 2 "option --grid: in 'lr=1e-3,,3e-3': --lr has an empty value" $base --grid 'lr=1e-3,,3e-3'
bad2 2 "option --grid: 'lrr' is not an option of train" $base --grid 'lrr=1'
bad2 2 "option --grid: --seed cannot be swept" $base --grid 'wd=0.1 seed=1,2'
bad 2 "option --grid: --data cannot be swept" $base --grid "data=$TMP/slice"
bad 2 "option --grid: in 'n-factors=8.5': option --n-factors: '8.5' is not an integer" $base --grid 'n-factors=8.5'
bad 2 "a range can only be drawn from by a random search (--trials N)" $base --grid 'lr=1e-4:1e-2'
bad 2 "option --grid: lr is given twice" $base --grid 'lr=1 lr=2'
bad 2 "sweep needs --grid SPEC or --configs PATH" $base
bad2 2 "option --ranks-per-trial: 3 does not divide the" $base --grid 'lr=1e-2' --ranks-per-trial 3
bad 2 "option --fold: a sweep trains every fold of --folds K" $base --grid 'lr=1e-2' --folds 3 --fold 1
bad 2 "option --pairs: the pairs are the folds; drop --folds" $base --grid 'lr=1e-2' --folds 3 --pairs a:b
bad 2 "option --pairs: 'a' is not TRAIN:TEST" $base --grid 'lr=1e-2' --pairs a
bad 2 "option --metric: 'ndcg' is not one of: rmse, mae" $base --grid 'lr=1e-2' --metric ndcg
bad 2 "option --resume: a sweep resumes from its --sweep-dir" $base --grid 'lr=1e-2' --resume x
bad 2 "option --valid-pct: 2 is not in [0, 1)" $base --grid 'lr=1e-2' --valid-pct 2
printf 'lr=1e-2\nlr=1e-2 wd\n' >"$TMP/configs"
bad2 2 "$TMP/configs:2: 'wd' is not NAME=VALUE" $base --configs "$TMP/configs"
bad 1 "option --configs: cannot open '$TMP/none'" $base --configs "$TMP/none"
# Failing configurations are recorded and the sweep goes on (exit 0).
run_np 2 $base --grid 'opt=sgd lr=-1,1e-2,1000' --folds 2 --epochs 3 >"$TMP/out" 2>"$TMP/err" ||
    { cat "$TMP/out" "$TMP/err" >&2; fail "a sweep with failing configurations did not finish"; }
grep -q '^1 .* 2/2 .* opt=sgd lr=1e-2$' "$TMP/out" || { cat "$TMP/out" >&2; fail "the good one is not first"; }
grep -q '^- .* 0/2 .* opt=sgd lr=-1  (2 failed)$' "$TMP/out" || { cat "$TMP/out" >&2; fail "lr=-1 not failed"; }
grep -q '^failed: opt=sgd lr=-1 fold 0: option --lr: -1 is not in \[1e-12, 1000\]$' "$TMP/out" ||
    fail "lr=-1: no message"
grep -q '^failed: opt=sgd lr=1000 fold 0: training diverged: the loss of epoch 1, batch' "$TMP/out" ||
    { cat "$TMP/out" >&2; fail "lr=1000: no divergence message"; }
h5dump -d /trials "$TMP/sw/sweep.h5" | grep -q '"training diverged: the loss of epoch 1' ||
    fail "the table lacks the message"
# Nothing finishes: exit 1.
rm -rf "$TMP/sw"
set +e
run_np 2 $base --grid 'lr=-1,-2' >"$TMP/out" 2>"$TMP/err"
got=$?
set -e
[ "$got" = 1 ] || fail "a sweep where everything failed exited $got"
grep -q "no configuration finished a fold" "$TMP/err" || { cat "$TMP/err" >&2; fail "all failed: message"; }
echo "sweep-bad: ok"
