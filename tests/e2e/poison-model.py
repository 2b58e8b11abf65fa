#!/usr/bin/env python3
"""poison-model.py FILE TABLE ROW COL - puts a NaN at (ROW, COL) of a float32 table of a
collab-mpi HDF5 file and updates the table's checksum attribute to match, so that the
file is damaged only in that value (for the tests of non-finite parameters).

The checksum is src/checkpoint.c's table_checksum: the sum modulo 2**64 over elements e
of rng_hash(0xc4ec, e, bits(e), width), rng_hash being src/rng.c's SplitMix64 chain."""
import sys

import h5py
import numpy as np

MASK = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def rng_hash(seed, stream, a, b):
    h = mix((seed + 0x9E3779B97F4A7C15) & MASK)
    h = mix(h ^ ((stream + 0x632BE59BD9B4E019) & MASK))
    h = mix(h ^ ((a + 0x8CB92BA72F3D8DD7) & MASK))
    return mix(h ^ ((b + 0xD1B54A32D192ED03) & MASK))


def bits(x):
    return int(np.float32(x).view(np.uint32))


def main():
    path, table, row, col = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with h5py.File(path, "r+") as f:
        d = f[table]
        width = d.shape[1] if d.ndim == 2 else 1
        e = row * width + col
        old = d[row, col] if d.ndim == 2 else d[row]
        s = int(d.attrs["checksum"])
        s = (s - rng_hash(0xC4EC, e, bits(old), width)) & MASK
        s = (s + rng_hash(0xC4EC, e, bits(np.nan), width)) & MASK
        if d.ndim == 2:
            d[row, col] = np.float32(np.nan)
        else:
            d[row] = np.float32(np.nan)
        d.attrs["checksum"] = np.uint64(s)


if __name__ == "__main__":
    main()
