"""Compare the data of sweep files: every dataset of /runs (except
wall_seconds), /market, /firm, /startups and /summary must be identical
(NaN equal to NaN). Usage: sweepcmp.py A.h5 B.h5 [C.h5 ...] compares A
with each of the others. Exit 0 if equal, 1 with the differences listed."""
import sys

import h5py
import numpy as np


def datasets(f):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.split("/")[0] in (
                "runs", "market", "firm", "startups", "summary"):
            if name != "runs/wall_seconds":
                out[name] = obj[()]
    f.visititems(visit)
    return out


def same(x, y):
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind == "f":
        return np.array_equal(x, y, equal_nan=True)
    return np.array_equal(x, y)


def compare(da, b):
    with h5py.File(b, "r") as fb:
        db = datasets(fb)
    bad = sorted(set(da) ^ set(db))
    for k in sorted(set(da) & set(db)):
        if not same(da[k], db[k]):
            bad.append(k)
    for k in bad:
        print(f"{b}: differs: {k}")
    return bad


def main(a, others):
    with h5py.File(a, "r") as fa:
        da = datasets(fa)
    if not da:
        print("no datasets compared")
        return 1
    bad = [compare(da, b) for b in others]
    return 1 if any(bad) else 0


if len(sys.argv) < 3:
    sys.exit(__doc__)
sys.exit(main(sys.argv[1], sys.argv[2:]))
