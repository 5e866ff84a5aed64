#!/usr/bin/python3
"""Notebook 03 (analysis/notebooks/03_seed_targets.ipynb) runs headless.

Executes the notebook with `jupyter nbconvert --execute` on small settings
(MS_NOTEBOOK_SMALL=1: 2 replications of each shipped scenario) and fails if
a cell fails (its assertions included), if a code cell did not run, if
fewer than two figures were drawn, or if it takes 90 s or more. Then runs
it on a tiny scenario whose target cannot be computed (a ratio over a
category nobody uses, so the simulated value is NaN) through MS_SCENARIOS,
and checks that the notebook's assertion stops it.

The kernel is Debian's Python (MS_PYTHON): as in test_analysis_notebook.py,
the test writes a kernelspec named python3 into its temporary folder and
puts that folder first on JUPYTER_PATH; IPython and Jupyter runtime files
go there too, not to $HOME.

Environment: MARKETSIM, MS_SOURCE_DIR, MS_PYTHON, PYTHONPATH (repo root).
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"
NOTEBOOK = os.path.join(SRC, "analysis", "notebooks", "03_seed_targets.ipynb")
LIMIT = 90.0          # seconds for one execution on small settings

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
        kdir = os.path.join(cls.tmp, "jupyter", "kernels", "python3")
        os.makedirs(kdir)
        with open(os.path.join(kdir, "kernel.json"), "w") as f:
            json.dump({"argv": [PY, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                                "-f", "{connection_file}"],
                       "display_name": "Python 3 (Debian)", "language": "python"}, f)
        cls.env = dict(os.environ,
                       JUPYTER_PATH=os.path.join(cls.tmp, "jupyter"),
                       JUPYTER_RUNTIME_DIR=os.path.join(cls.tmp, "runtime"),
                       IPYTHONDIR=os.path.join(cls.tmp, "ipython"),
                       PYDEVD_DISABLE_FILE_VALIDATION="1",
                       TMPDIR=cls.tmp,       # the notebook's runs go here
                       MS_NOTEBOOK_SMALL="1",
                       MS_SOURCE_DIR=SRC,
                       PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cls.env.pop("MS_SCENARIOS", None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def execute(self, name, **env):
        out = os.path.join(self.tmp, name)
        cmd = [PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--ExecutePreprocessor.kernel_name=python3",
               f"--ExecutePreprocessor.timeout={int(LIMIT * 2)}",
               "--output-dir", self.tmp, "--output", name, NOTEBOOK]
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=self.tmp,
                           env=dict(self.env, **env))
        return r, out, time.monotonic() - t0

    def test_executes(self):
        import nbformat
        r, out, secs = self.execute("executed.ipynb")
        self.assertEqual(r.returncode, 0, f"notebook failed:\n{r.stderr[-3000:]}")
        self.assertLess(secs, LIMIT, f"took {secs:.1f} s")
        nb = nbformat.read(out, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        self.assertGreaterEqual(len(code), 6)
        self.assertTrue(all(c.execution_count for c in code), "a code cell did not run")
        outputs = [o for c in code for o in c.outputs]
        self.assertFalse([o for o in outputs if o.output_type == "error"])
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        self.assertGreaterEqual(len(images), 2, "figures not shown")
        text = "".join(o.get("text", "") for o in outputs)
        shipped = [p for p in glob.glob(os.path.join(SRC, "scenarios", "*.yaml"))
                   if os.path.basename(p) != "default.yaml"]
        self.assertIn(f"{len(shipped)} scenarios, 2 replications each", text)
        self.assertIn("target means within tolerance", text)
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
