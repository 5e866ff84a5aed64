#!/usr/bin/python3
"""Notebook 02 (analysis/notebooks/02_strategy_sweep.ipynb) runs headless.

Executes the notebook with `jupyter nbconvert --execute` on small settings
(MS_NOTEBOOK_SMALL=1: it runs scenarios/sweeps/strategy_small.yaml, 27
short runs) and fails if a cell fails (its assertions included), if a code
cell did not run, if fewer than two figures (the heatmaps, adoption per
point) were drawn. Then feeds it
sweep files (MS_SWEEP_FILE) that break what it asserts, a summary mean
that is not the mean of the runs and a run left pending, and checks that
the notebook stops with the matching message.

The kernel is Debian's Python (MS_PYTHON), set up by nbexec.py.

Environment: MARKETSIM, MS_SOURCE_DIR, MS_PYTHON, PYTHONPATH (repo root).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import nbexec  # noqa: E402
EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")
NOTEBOOK = os.path.join(SRC, "analysis", "notebooks", "02_strategy_sweep.ipynb")
SWEEP = os.path.join(SRC, "scenarios", "sweeps", "strategy_small.yaml")



class Notebook02(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_analysis_notebook02.")
        cls.env = nbexec.kernel_env(cls.tmp, SRC, drop=("MS_SWEEP_FILE",),
                                    MARKETSIM=EXE, MS_SOURCE_DIR=SRC)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def execute(self, name, **env):
        return nbexec.execute(NOTEBOOK, self.tmp, name, self.env, **env)

    def sweep(self, name):
        """strategy_small.yaml run into the temporary folder."""
        out = os.path.join(self.tmp, name)
        r = subprocess.run([EXE, "sweep", SWEEP, "-o", out, "-q"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def test_executes(self):
        r, out, secs = self.execute("executed.ipynb")
        text = nbexec.check_executed(self, r, out, 7, 2)
        self.assertIn("strategy_small.h5: 27 runs, all done: 9 points x 3 replications", text)
        self.assertIn("firm and group shares sum to 1", text)
        self.assertIn("20 runs, 10 mixes; * marks the best mix of each measure", text)
        for x in ("adopters", "users", "value", "weights"):
            self.assertIn(f"{x:10s} summary mean and sd = per-run mean and sd", text)
        print(f"notebook 02 executed in {secs:.1f} s", file=sys.stderr)

    def test_assertions_bite(self):
        # A summary mean that is not the mean of its runs.
        bad = self.sweep("bad_summary.h5")
        with h5py.File(bad, "r+") as f:
            f["summary/value_mean"][4, -1, 0] *= 1 + 1e-6
        r, _, _ = self.execute("bad_summary.ipynb", MS_SWEEP_FILE=bad)
        self.assertNotEqual(r.returncode, 0, "the notebook accepted a wrong summary mean")
        self.assertIn("summary value_mean differs from the runs' mean", r.stderr)
        # A run not done.
        bad = self.sweep("pending.h5")
        with h5py.File(bad, "r+") as f:
            f["runs/status"][5] = 0
        r, _, _ = self.execute("pending.ipynb", MS_SWEEP_FILE=bad)
        self.assertNotEqual(r.returncode, 0, "the notebook accepted a pending run")
        self.assertIn("1 runs not done (pending)", r.stderr)
        self.assertIn("--resume", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
