#!/usr/bin/python3
"""The Python examples of README.md ("Reading the results in Python") run
and give what they say.

Takes the ```python blocks of that section, runs each in a folder holding
results/default.h5 (the default scenario, 24 steps) and scenarios/ (the
checkout's), with the package importable from the checkout
(PYTHONPATH=analysis, as the README says) and MARKETSIM the binary, then
checks what each example left:

- the package example: the firms selected by name, events with str text
  columns, an override in the short run's scenario, a sweep with every
  run done;
- the plain xarray/h5py example: no unused firm slots left, firm names
  unique, the shares summing to 1, and the events decoded so that
  filtering by kind gives what the reader's events() gives.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
MS_PYTHON (Debian's python3).
"""
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"
EXE = os.path.abspath(os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim"))
SECTION = "## Reading the results in Python"


def readme_blocks():
    """The ```python blocks of the README section, in order."""
    with open(os.path.join(SRC, "README.md")) as f:
        text = f.read()
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    part = text.split(SECTION, 1)[1]
    part = re.split(r"^## ", part, maxsplit=1, flags=re.M)[0]
    return re.findall(r"^```python\n(.*?)^```", part, flags=re.M | re.S)


# What each example must have left, run right after it in the same namespace.
CHECKS = {
    "import marketsim as ms": """
        sel = ds.users.sel(firm=["Amazon", "eBay"], market="US")
        assert sel.sizes["firm"] == 2 and list(sel.firm.values) == ["Amazon", "eBay"]
        assert len(set(ds.firm.values.tolist())) == ds.sizes["firm"], "firm names not unique"
        assert all(isinstance(v, str) for c in ("kind", "actor", "market") for v in ev[c])
        assert len(ev) > 0 and set(ev.kind) <= set(ms.EVENT_KINDS), ev.kind
        assert ms.scenario(short)["markets"]["CN"]["openness"] == 0.5
        assert int(short.attrs["steps_done"]) == 24
        assert os.path.exists(short.attrs["path"])
        assert set(sw.status_name.values) == {"done"} and sw.sizes["run"] == sw.attrs["runs"]
        print("package example: ok")
    """,
    "import h5py, numpy as np, pandas as pd, xarray as xr": """
        import marketsim as ms
        names = firm.firm.values.tolist()
        assert "" not in names and len(set(names)) == len(names), names
        assert names == ms.open_run(path).firm.values.tolist()
        has = (market.adopters > 0).values
        total = share.sum("firm").transpose(*market.adopters.dims).values
        assert np.allclose(total[has], 1.0, atol=1e-9), "shares do not sum to 1"
        assert float(adoption.max()) <= 1.0
        ref = ms.events(path)
        assert len(ev) == len(ref) > 0
        for kind in set(ref.kind):
            assert len(ev[ev.kind == kind]) == len(ref[ref.kind == kind]) > 0, kind
        assert ev.kind.map(type).eq(str).all() and ev.actor.map(type).eq(str).all()
        print("plain example: ok")
    """,
}


class ReadmePython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_readme_python.")
        os.symlink(os.path.join(SRC, "scenarios"), os.path.join(cls.tmp, "scenarios"))
        os.makedirs(os.path.join(cls.tmp, "results"))
        r = subprocess.run([EXE, "run", "scenarios/default.yaml", "--set", "run.steps=24", "-q"],
                           cwd=cls.tmp, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"marketsim run exited {r.returncode}:\n{r.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_examples(self):
        blocks = readme_blocks()
        self.assertEqual(len(blocks), len(CHECKS), "one check per README example")
        env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "analysis"), MARKETSIM=EXE,
                   MPLBACKEND="Agg")
        for block in blocks:
            first = block.splitlines()[0]
            self.assertIn(first, CHECKS, f"README example without a check: {first}")
            code = "import os\n" + block + textwrap.dedent(CHECKS[first])
            r = subprocess.run([PY, "-c", code], cwd=self.tmp, env=env,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, f"README example failed:\n{block}\n{r.stderr}")
            self.assertIn("example: ok", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
