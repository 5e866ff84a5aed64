#!/usr/bin/python3
"""Notebook 01 (analysis/notebooks/01_run_overview.ipynb) runs headless.

Executes the notebook with `jupyter nbconvert --execute` on small settings
(MS_NOTEBOOK_SMALL=1: 36 steps, 20,000 people per agent) and fails if a
cell fails (its assertions included), if a code cell did not run, if fewer
than six figures were drawn, or if it takes 60 s or more. Then feeds it a
run file with adopters above the potential (MS_RUN_FILE) and checks that
the notebook's assertion stops it.

The kernel is Debian's Python (MS_PYTHON): the test writes a kernelspec
named python3 into its temporary folder and puts that folder first on
JUPYTER_PATH; IPython and Jupyter runtime files go there too, not to $HOME.

Environment: MARKETSIM, MS_SOURCE_DIR, MS_PYTHON, PYTHONPATH (repo root).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"
NOTEBOOK = os.path.join(SRC, "analysis", "notebooks", "01_run_overview.ipynb")
sys.path.insert(0, HERE)
import test_analysis_reader as reader_test  # noqa: E402  (run_sim)

LIMIT = 60.0          # seconds for one execution on small settings


class Notebook01(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_analysis_notebook.")
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
                       TMPDIR=cls.tmp,       # the notebook's own run goes here
                       MS_NOTEBOOK_SMALL="1",
                       PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cls.env.pop("MS_RUN_FILE", None)

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

    def test_kernel_is_debian_python(self):
        r = subprocess.run([PY, "-c", "from jupyter_client.kernelspec import KernelSpecManager;"
                            "print(KernelSpecManager().get_kernel_spec('python3').argv[0])"],
                           capture_output=True, text=True, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), PY)

    def test_executes(self):
        import nbformat
        r, out, secs = self.execute("executed.ipynb")
        self.assertEqual(r.returncode, 0, f"notebook failed:\n{r.stderr[-3000:]}")
        self.assertLess(secs, LIMIT, f"took {secs:.1f} s")
        nb = nbformat.read(out, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        self.assertGreaterEqual(len(code), 8)
        self.assertTrue(all(c.execution_count for c in code), "a code cell did not run")
        outputs = [o for c in code for o in c.outputs]
        self.assertFalse([o for o in outputs if o.output_type == "error"])
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        self.assertGreaterEqual(len(images), 6, "figures not shown")
        text = "".join(o.get("text", "") for o in outputs)
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
