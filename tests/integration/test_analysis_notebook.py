#!/usr/bin/python3
"""Notebook 01 (analysis/notebooks/01_run_overview.ipynb) runs headless.

Executes the notebook with `jupyter nbconvert --execute` on small settings
(MS_NOTEBOOK_SMALL=1: 36 steps, 20,000 people per agent) and fails if a
cell fails (its assertions included), if a code cell did not run, if fewer
than six figures were drawn. Then feeds it a
run file with adopters above the potential (MS_RUN_FILE) and checks that
the notebook's assertion stops it.

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
NOTEBOOK = os.path.join(SRC, "analysis", "notebooks", "01_run_overview.ipynb")
sys.path.insert(0, HERE)
import nbexec  # noqa: E402
import test_analysis_reader as reader_test  # noqa: E402  (run_sim)



class Notebook01(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_analysis_notebook.")
        cls.env = nbexec.kernel_env(cls.tmp, SRC, drop=("MS_RUN_FILE",))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def execute(self, name, **env):
        return nbexec.execute(NOTEBOOK, self.tmp, name, self.env, **env)

    def test_kernel_is_debian_python(self):
        rc, py, err = nbexec.kernel_python(self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(py, nbexec.PY)

    def test_executes(self):
        r, out, secs = self.execute("executed.ipynb")
        text = nbexec.check_executed(self, r, out, 8, 6)
        self.assertIn("complete, seed 20201111, 36 steps", text)
        print(f"notebook 01 executed in {secs:.1f} s", file=sys.stderr)

    def test_assertions_bite(self):
        bad = reader_test.run_sim(os.path.join(self.tmp, "bad.h5"), "run.people_per_agent=20000",
                                  steps=12)
        with h5py.File(bad, "r+") as f:
            pot = f["market/potential"][0, 0]
            f["market/adopters"][-1, 0, 0] = 1.5 * pot
        r, _, _ = self.execute("bad.ipynb", MS_RUN_FILE=bad)
        self.assertNotEqual(r.returncode, 0, "the notebook accepted adopters above the potential")
        self.assertIn("adopters above the potential", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
