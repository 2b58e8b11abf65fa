#!/bin/sh
# The stall watchdog's setting: --stall-timeout, else COLLAB_STALL_TIMEOUT (for batch
# scripts), else 600, as the resolved settings show; the variable is parsed as strictly
# as the option, and a bad value stops every rank with status 2 and one message naming
# it, at 1 and 2 ranks; the setting is stored in checkpoints and may change on resume.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
slice_latest 2000 "$TMP/slice"
args="train --data $TMP/slice --epochs 1 --n-factors 4 --progress never"
setting() { grep '^  stall-timeout ' "$TMP/out" | awk '{ print $2 }'; }
"$COLLAB" $args >"$TMP/out" || fail "default run"
[ "$(setting)" = 600 ] || fail "default stall-timeout is '$(setting)', not 600"
COLLAB_STALL_TIMEOUT=7 "$COLLAB" $args >"$TMP/out" || fail "run with COLLAB_STALL_TIMEOUT=7"
[ "$(setting)" = 7 ] || fail "COLLAB_STALL_TIMEOUT=7 gave '$(setting)'"
COLLAB_STALL_TIMEOUT=7 "$COLLAB" $args --stall-timeout 0 >"$TMP/out" || fail "--stall-timeout 0"
[ "$(setting)" = 0 ] || fail "the option does not override the variable: '$(setting)'"
# bad VALUE NP: COLLAB_STALL_TIMEOUT=VALUE stops NP ranks with status 2, one message.
bad() {
    set +e
    if [ "$2" = 1 ]; then
        COLLAB_STALL_TIMEOUT=$1 "$COLLAB" $args >"$TMP/out" 2>"$TMP/err"
    else
        COLLAB_STALL_TIMEOUT=$1 run_np "$2" $args >"$TMP/out" 2>"$TMP/err"
    fi
    got=$?
    set -e
    [ "$got" = 2 ] || fail "COLLAB_STALL_TIMEOUT='$1' at $2 ranks: exit $got, not 2"
    n=$(grep -cF "COLLAB_STALL_TIMEOUT='$1' is not seconds (a whole number from 0 to 604800" \
        "$TMP/err" || true)
    [ "$n" = 1 ] || { cat "$TMP/err" >&2; fail "COLLAB_STALL_TIMEOUT='$1' at $2 ranks: $n messages"; }
}
for v in 5x -1 '' ' 5' 604801 1e3; do bad "$v" 1; done
bad 5x 2
bad '' 2
# Stored with the checkpoint, and free to change when resuming (a batch script's value).
"$COLLAB" $args --stall-timeout 7 --checkpoint-dir "$TMP/ck" >/dev/null || fail "checkpointed run"
h5dump -a settings/stall-timeout "$TMP"/ck/ckpt-e0001-*.h5 | grep -q '"7"' || fail "not stored"
COLLAB_STALL_TIMEOUT=9 "$COLLAB" $args --epochs 2 --checkpoint-dir "$TMP/ck" --resume auto \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "resume with another stall timeout"; }
echo "stall-timeout: ok"
