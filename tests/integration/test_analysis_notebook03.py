#!/usr/bin/python3
"""Notebook 03 (analysis/notebooks/03_seed_targets.ipynb) runs headless.

Executes the notebook with `jupyter nbconvert --execute` on small settings
(MS_NOTEBOOK_SMALL=1: 2 replications of each shipped scenario, MARKETSIM a
path relative to the repository root) and fails if a cell fails (its
assertions included), if a code cell did not run, if it leaves files in
its temporary folder, if fewer than two figures were drawn. Then runs
it on a tiny scenario whose target cannot be computed (a ratio over a
category nobody uses, so the simulated value is NaN) through MS_SCENARIOS,
and checks that the notebook's assertion stops it.

The kernel is Debian's Python (MS_PYTHON), set up by nbexec.py.

Environment: MARKETSIM, MS_SOURCE_DIR, MS_PYTHON, PYTHONPATH (repo root).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import nbexec  # noqa: E402
NOTEBOOK = os.path.join(SRC, "analysis", "notebooks", "03_seed_targets.ipynb")

# One market, two categories; nobody can use `y` (no firm offers it), so a
# ratio over its users is 0 / 0: the run writes NaN, pass -1.
BAD_SCENARIO = """\
run: {steps: 6, dt: 1/12, seed: 1, people_per_agent: 1000, start_year: 2020}
markets: {A: {population: 100000}}
categories:
  x: {p: 0.05, q: 0.4}
  y: {p: 0.05, q: 0.4}
firms: {f: {home: A, quality: {x: 0}}}
targets:
  - figure: pinduoduo_active_buyers
    measure: ratio
    numerator: {measure: count, category: x}
    denominator: {measure: count, category: y}
    expected: 1.0
    tolerance: 0.1
    description: "derived: a target nobody can compute"
"""


class Notebook03(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_analysis_notebook03.")
        cls.env = nbexec.kernel_env(cls.tmp, SRC, drop=("MS_SCENARIOS",), MS_SOURCE_DIR=SRC)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def execute(self, name, **env):
        return nbexec.execute(NOTEBOOK, self.tmp, name, self.env, **env)

    def test_executes(self):
        # MARKETSIM relative to the repository root, although the kernel
        # runs in analysis/notebooks (the reader resolves it).
        exe = os.path.relpath(os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim"),
                              SRC)
        r, out, secs = self.execute("executed.ipynb", MARKETSIM=exe)
        text = nbexec.check_executed(self, r, out, 6, 2)
        shipped = [p for p in glob.glob(os.path.join(SRC, "scenarios", "*.yaml"))
                   if os.path.basename(p) != "default.yaml"]
        self.assertIn(f"{len(shipped)} scenarios, 2 replications each", text)
        self.assertIn("target means inside their accepted range", text)
        print(f"notebook 03 executed in {secs:.1f} s", file=sys.stderr)

    def test_assertions_bite(self):
        bad = os.path.join(self.tmp, "nan_target.yaml")
        with open(bad, "w") as f:
            f.write(BAD_SCENARIO)
        r, _, _ = self.execute("bad.ipynb", MS_SCENARIOS=bad)
        self.assertNotEqual(r.returncode, 0, "the notebook accepted a target that is not finite")
        self.assertIn("simulated mean is not finite", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
