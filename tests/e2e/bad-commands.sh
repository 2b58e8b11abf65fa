#!/bin/sh
# Every bad option value, bad configuration and damaged checkpoint or model file listed
# in tests/bad-input/commands stops its command with the listed exit status (2 for usage
# errors, 1 for data and runtime errors) and a message saying what and where. The
# damaged files are made here from a good checkpoint and model (see damage below), so
# they follow the current file layout.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
set -f # arguments are split on spaces, never globbed
dir="$top_srcdir/tests/bad-input"
tab=$(printf '\t')
slice_latest 3000 "$TMP/data"
gen=$TMP/gen
mkdir "$gen"
# A good checkpoint and model of $TMP/data; the checkpoint cases resume with these args.
good="--data $TMP/data --epochs 1 --n-factors 4 --progress never --quiet"
"$COLLAB" train $good --checkpoint-dir "$TMP/ck" --output "$TMP/model.h5" >/dev/null ||
    fail "training the good checkpoint failed"
# last DIR: the checkpoint at the end of epoch 1 in DIR.
last() { echo "$1/$(ls "$1" | grep '^ckpt-e0001-')"; }
ck=$(last "$TMP/ck")

# damage NAME FROM HOW: writes gen/NAME, a copy of FROM damaged HOW.
damage() {
    size=$(wc -c <"$2")
    case $3 in
    half) head -c $((size / 2)) "$2" >"$gen/$1" ;;      # cut off mid-write
    head) head -c 2048 "$2" >"$gen/$1" ;;               # superblock and little else
    signature) cp "$2" "$gen/$1"                        # HDF5 signature overwritten
        printf 'NOTHDF5!' | dd of="$gen/$1" bs=1 seek=0 conv=notrunc 2>/dev/null ;;
    tail) cp "$2" "$gen/$1"                             # the last 4 KiB (string data) garbled
        head -c 4096 /dev/zero | tr '\0' 'x' | dd of="$gen/$1" bs=1 seek=$((size - 4096)) \
            conv=notrunc 2>/dev/null ;;
    esac
}
: >"$gen/empty.h5"
echo "not an HDF5 file" >"$gen/text.h5"
for how in half head signature tail; do
    damage "ckpt-$how.h5" "$ck" $how
    damage "model-$how.h5" "$TMP/model.h5" $how
done
# A table value changed without its checksum (needs h5py): the checksum catches it.
have_h5py=0
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    have_h5py=1
    for f in ckpt:"$ck" model:"$TMP/model.h5"; do
        cp "${f#*:}" "$gen/${f%%:*}-value.h5"
        /usr/bin/python3 -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); f["model/item_factors"][2, 1] += 1' \
            "$gen/${f%%:*}-value.h5"
    done
fi
# Another run's checkpoint: other settings, and other data.
"$COLLAB" train $good --lr 0.01 --checkpoint-dir "$TMP/ck-lr" >/dev/null || fail "other-lr run failed"
slice_latest 2000 "$TMP/other"
"$COLLAB" train --data "$TMP/other" --epochs 1 --n-factors 4 --progress never --quiet \
    --checkpoint-dir "$TMP/ck-data" >/dev/null || fail "other-data run failed"

# subst TEXT: the placeholders of the commands file replaced.
subst() {
    printf '%s\n' "$1" | sed -e "s|@IN@|$dir|g" -e "s|@TMP@|$TMP|g" -e "s|@GEN@|$gen|g" \
        -e "s|@GOOD@|$good|g" -e "s|@CK@|$ck|g" -e "s|@MODEL@|$TMP/model.h5|g" \
        -e "s|@CKLR@|$(last "$TMP/ck-lr")|g" -e "s|@CKDATA@|$(last "$TMP/ck-data")|g"
}
n=0
skipped=0
while IFS="$tab" read -r want pattern args; do
    case $want in '' | '#'*) continue ;; esac
    case $args in *-value.h5*) [ $have_h5py = 1 ] || { skipped=$((skipped + 1)); continue; } ;; esac
    expect_fail "$want" "$(subst "$pattern")" $(subst "$args") </dev/null
    n=$((n + 1))
done <"$dir/commands"
[ $((n + skipped)) -ge 30 ] || fail "only $((n + skipped)) cases read from $dir/commands"
echo "bad-commands: ok ($n cases; $skipped skipped without h5py)"
