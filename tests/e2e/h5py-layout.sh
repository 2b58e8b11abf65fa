#!/bin/sh
# A model file, a checkpoint and a prepared ratings file open with plain h5py (where
# python3-h5py is installed) and hold the documented layout (docs/FORMAT.md): tables in
# vocabulary order, equal to the raw parameter dump, with the vocabularies and the
# progress attributes; the prepared file's rows grouped by user, equal to the text's.
. "$top_srcdir/tests/e2e/lib.sh"
set -e
PY=/usr/bin/python3
[ -x $PY ] && $PY -c 'import h5py, numpy' 2>/dev/null || skip "python3-h5py not installed"
slice_latest 4000 "$TMP/slice"
run_np 2 train --data "$TMP/slice" --epochs 1 --n-factors 6 --quiet --output "$TMP/model.h5" \
    --checkpoint-dir "$TMP/ck" --dump-params "$TMP/raw.bin" >/dev/null || fail "train failed"
$PY - "$TMP/model.h5" "$TMP/raw.bin" "$TMP/ck" <<'PY' || fail "layout check failed"
import glob, sys, h5py, numpy as np
model, raw, ck = sys.argv[1], np.fromfile(sys.argv[2], dtype=np.float32), sys.argv[3]
with h5py.File(model, "r") as f:
    assert f.attrs["format"] == b"collab-mpi" or f.attrs["format"] == "collab-mpi"
    assert f.attrs["format_version"] == 1 and f.attrs["nranks"] == 2
    assert "optimizer" not in f
    tables = [f["model/" + n][:] for n in
              ("user_factors", "user_bias", "item_factors", "item_bias")]
    nu, k = tables[0].shape
    assert k == 6 and tables[1].shape == (nu,) and tables[2].shape[1] == 6
    assert np.array_equal(np.concatenate([t.ravel() for t in tables]), raw)
    users = f["vocab/users"][:]
    assert users[0] == b"#na#" and len(users) == nu
    assert f["vocab/titles"].shape == (tables[2].shape[0],)
    assert f["settings"].attrs["n-factors"] == b"6"
(path,) = glob.glob(ck + "/ckpt-*.h5")
with h5py.File(path, "r") as f:
    p = f["progress"].attrs
    assert p["epoch"] == 1 and p["batch"] == 0 and p["iter"] == p["opt_step"] > 0
    assert f["optimizer/v/item_factors"].shape == f["model/item_factors"].shape
PY
run_np 2 prepare "$TMP/slice" --output "$TMP/r.h5" --quiet >/dev/null || fail "prepare failed"
$PY - "$TMP/r.h5" "$TMP/slice/ratings.csv" <<'PY' || fail "prepared layout check failed"
import sys, h5py, numpy as np
text = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    assert a["kind"] in (b"ratings", "ratings") and a["format_version"] == 1
    assert a["n_rows"] == len(text) and a["data_format"] in (b"ml-csv", "ml-csv")
    user, item, row = f["ratings/user"][:], f["ratings/item"][:], f["ratings/row"][:]
    off, ukeys = f["users/offsets"][:], f["users/keys"][:].astype(int)
    ikeys = f["items/keys"][:].astype(int)
    assert off[0] == 0 and off[-1] == len(text) and len(off) == len(ukeys) + 1
    assert np.array_equal(np.repeat(np.arange(len(ukeys)), np.diff(off)), user)
    assert np.all(np.diff(ukeys) > 0) and np.all(np.diff(ikeys) > 0)
    assert np.array_equal(np.sort(row), np.arange(len(text)))
    assert np.array_equal(ukeys[user], text[row, 0]) and np.array_equal(ikeys[item], text[row, 1])
    assert np.array_equal(f["ratings/rating"][:], text[row, 2].astype(np.float32))
    assert np.array_equal(f["ratings/timestamp"][:], text[row, 3].astype(np.int64))
    titles = f["items/titles"][:]
    assert len(titles) == len(ikeys) and all(len(t) > 0 for t in titles)
PY
echo "h5py-layout: ok"
