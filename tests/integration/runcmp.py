"""Compare run files dataset for dataset: every dataset of A must be in B
with the same shape, type and values (NaN equal to NaN), and B must hold
no other, except /timers/seconds (wall time, which no two runs share).
Usage: runcmp.py A.h5 B.h5 [C.h5 ...] compares A with each of the others.
Exit 0 if equal, 1 with the differences listed."""
import sys

import h5py
import numpy as np

SKIP = {"timers/seconds"}


def datasets(path):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name not in SKIP:
            out[name] = obj[()]
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def same(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind == "f":
        return np.array_equal(x, y, equal_nan=True)
    return np.array_equal(x, y)


def main(a, others):
    da = datasets(a)
    if not da:
        print(f"{a}: no datasets to compare")
        return 1
    status = 0
    for b in others:
        db = datasets(b)
        bad = sorted(set(da) ^ set(db))
        bad += [k for k in sorted(set(da) & set(db)) if not same(da[k], db[k])]
        for k in bad:
            print(f"{b}: differs from {a}: {k}")
        status |= bool(bad)
    return status


if len(sys.argv) < 3:
    sys.exit(__doc__)
sys.exit(main(sys.argv[1], sys.argv[2:]))
