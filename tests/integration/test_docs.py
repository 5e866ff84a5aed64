"""Docs that match the code.

- docs/PARAMETERS.md is exactly `marketsim params --markdown`;
- the scenario shown in README.md is valid;
- every dataset and root attribute of a run file is documented in
  docs/OUTPUT.md;
- the resolved scenario stored in a run file repeats the run bit for bit,
  as docs/OUTPUT.md promises.
"""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

MS = os.environ["MARKETSIM"]
SRC = os.environ["MS_SOURCE_DIR"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(*args, **kw):
    return subprocess.run([MS, *args], capture_output=True, text=True, **kw)


# 1. PARAMETERS.md is generated from the table.
out = run("params", "--markdown")
check(out.returncode == 0, "params --markdown failed")
with open(os.path.join(SRC, "docs/PARAMETERS.md")) as f:
    check(f.read() == out.stdout,
          "docs/PARAMETERS.md is stale: run `make docs`")

with tempfile.TemporaryDirectory() as tmp:
    # 2. The README scenario validates.
    with open(os.path.join(SRC, "README.md")) as f:
        readme = f.read()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    check(len(blocks) >= 1, "README.md has no yaml block")
    for i, b in enumerate(blocks):
        p = os.path.join(tmp, f"readme{i}.yaml")
        with open(p, "w") as f:
            f.write(b)
        r = run("validate", "-q", p)
        check(r.returncode == 0, f"README yaml block {i} does not validate: {r.stderr}")

    # 3. Every dataset and root attribute is documented.
    h5 = os.path.join(tmp, "d.h5")
    r = run("run", os.path.join(SRC, "scenarios/default.yaml"), "--set",
            "run.steps=24", "-o", h5, "-q", "--check")
    check(r.returncode == 0, f"run failed: {r.stderr}")
    with open(os.path.join(SRC, "docs/OUTPUT.md")) as f:
        doc = f.read()
    with h5py.File(h5) as f:
        for key in f.attrs:
            check(f"`{key}`" in doc, f"root attribute {key} not in docs/OUTPUT.md")
        names = []
        f.visit(names.append)
        for n in names:
            base = n.split("/")[-1]
            check(f"`{base}`" in doc or f"`/{n}`" in doc,
                  f"{n} not in docs/OUTPUT.md")
        scenario = f["scenario"][()].decode()

    # 4. The stored scenario repeats the run bit for bit.
    again = os.path.join(tmp, "again.yaml")
    with open(again, "w") as fo:
        fo.write(scenario)
    h5b = os.path.join(tmp, "again.h5")
    r = run("run", again, "-o", h5b, "-q")
    check(r.returncode == 0, f"rerun failed: {r.stderr}")
    with h5py.File(h5) as a, h5py.File(h5b) as b:
        for g in ("market", "firm"):
            for k in a[g]:
                x, y = a[g][k][()], b[g][k][()]
                same = (x.shape == y.shape and
                        (x.dtype.kind in "OSU" and (x == y).all() or
                         x.dtype.kind not in "OSU" and
                         np.array_equal(x, y, equal_nan=True)))
                check(same, f"rerun differs in /{g}/{k}")
        for k in a["events"]:
            check(np.array_equal(a["events"][k][()], b["events"][k][()]),
                  f"rerun differs in /events/{k}")

if failures:
    print(f"{len(failures)} problem(s)")
    sys.exit(1)
print("docs match the code")
