#!/bin/sh
# --progress auto draws the bar only for a person at a terminal (README, Batch logs):
# `mpirun -np 2 ... > file` gives a log without carriage returns, its epoch table
# parseable, with plain progress lines; in a terminal (tmux, else script(1)) the bar is
# drawn by a singleton and under mpirun, but not with TERM=dumb, in a batch job's
# environment or with --progress never; --progress always draws it into a file.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 12000 "$TMP/slice"
# 150 batches per epoch: a line every millisecond gives several per epoch.
args="train --data $TMP/slice --epochs 2 --n-factors 4 --progress-seconds 0.001"
cr() { tr -cd '\r' <"$1" | wc -c; }
# bar FILE: the bar was drawn (a terminal turns every newline into \r\n, so a carriage
# return alone proves nothing there).
bar() { grep -qE '\[[#.]{30}\]' "$1"; }

# check_log FILE: no carriage return, two table rows, plain progress lines, nothing else.
check_log() {
    [ "$(cr "$1")" = 0 ] || fail "$1: carriage returns in a redirected log"
    ! bar "$1" || fail "$1: a progress bar in a redirected log"
    [ "$(grep -cE '^[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9][0-9]:[0-9][0-9]$' "$1")" = 2 ] ||
        { cat "$1" >&2; fail "$1: the epoch table is not two parseable rows"; }
    grep -qE '^progress: epoch [01] batch [0-9]+/150 elapsed_sec [0-9.]+ eta_sec [0-9.]+ smooth_loss [0-9.]+$' "$1" ||
        { cat "$1" >&2; fail "$1: no plain progress line"; }
    # Every line is a setting, the table, a progress line or the summary.
    if grep -vE '^(collab-mpi train |  [a-z]|epoch +train_loss|[0-9]+ |progress: |summary: )' "$1" | grep -q .; then
        cat "$1" >&2; fail "$1: unexpected lines"
    fi
}

run_np 2 $args >"$TMP/mpirun.log" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "mpirun -np 2 failed"; }
check_log "$TMP/mpirun.log"
[ ! -s "$TMP/err" ] || { cat "$TMP/err" >&2; fail "mpirun -np 2 wrote to stderr"; }
"$COLLAB" $args >"$TMP/single.log" 2>"$TMP/err" || fail "a singleton run failed"
check_log "$TMP/single.log"
run_np 2 $args --progress never >"$TMP/never.log" || fail "--progress never failed"
! grep -q '^progress:' "$TMP/never.log" || fail "--progress never printed progress lines"
run_np 2 $args --progress always >"$TMP/always.log" || fail "--progress always failed"
[ "$(cr "$TMP/always.log")" -gt 0 ] && bar "$TMP/always.log" ||
    fail "--progress always drew no bar into a file"

# At a terminal: in tmux (or script(1)), stdout the pane's pseudo-terminal.
# in_tty OUT CMD...: runs CMD with stdout on a fresh terminal, its bytes into OUT.
if command -v tmux >/dev/null 2>&1; then
    sock="collab-test-$$"
    in_tty() {
        out=$1; shift
        rm -f "$TMP/go" "$TMP/done"
        printf '%s\n' "while [ ! -f '$TMP/go' ]; do sleep 0.05; done" "$*" \
            "echo \$? >'$TMP/done'" >"$TMP/tty.sh"
        tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 40 "sh '$TMP/tty.sh'"
        tmux -L "$sock" pipe-pane -o -t 0 "cat >'$out'"
        touch "$TMP/go"
        i=0
        while [ ! -f "$TMP/done" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
        tmux -L "$sock" kill-server 2>/dev/null || true
        [ "$(cat "$TMP/done" 2>/dev/null)" = 0 ] || fail "in tmux: '$*' failed"
    }
    trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$TMP"' EXIT
elif command -v script >/dev/null 2>&1; then
    in_tty() {
        out=$1; shift
        script -qec "$*" "$out" >/dev/null 2>&1 </dev/null || fail "under script: '$*' failed"
    }
else
    echo "batch-log: no tmux or script(1): the terminal cases are not run"
    echo "batch-log: ok"
    exit 0
fi
mpirun_cmd="$MPIEXEC $MPIEXEC_OVERSUB -np 2 $COLLAB $args"
[ "${MPIEXEC:-none}" != none ] || mpirun_cmd="$COLLAB $args"
export TERM=xterm
in_tty "$TMP/tty-mpirun" "$mpirun_cmd"
bar "$TMP/tty-mpirun" || fail "mpirun at a terminal: no bar"
! grep -q '^progress:' "$TMP/tty-mpirun" || fail "mpirun at a terminal: plain lines beside the bar"
in_tty "$TMP/tty-single" "$COLLAB $args"
bar "$TMP/tty-single" || fail "a singleton at a terminal: no bar"
in_tty "$TMP/tty-dumb" "env TERM=dumb $mpirun_cmd"
! bar "$TMP/tty-dumb" || fail "TERM=dumb: a bar was drawn"
grep -q '^progress: ' "$TMP/tty-dumb" || fail "TERM=dumb: no plain progress lines"
in_tty "$TMP/tty-batch" "env ENVIRONMENT=BATCH $COLLAB $args"
! bar "$TMP/tty-batch" || fail "a batch job's environment: a bar was drawn"
in_tty "$TMP/tty-never" "$mpirun_cmd --progress never"
! bar "$TMP/tty-never" || fail "--progress never at a terminal: a bar was drawn"
echo "batch-log: ok"
