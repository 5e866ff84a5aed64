"""Run a notebook headless with Debian's Python as its kernel.

Shared by the notebook tests. kernel_env() writes a kernelspec named
python3 for MS_PYTHON into a temporary folder and returns an environment
that puts it first on JUPYTER_PATH, with Jupyter's and IPython's files in
that folder rather than $HOME; execute() runs `jupyter nbconvert
--execute` with it.
"""
import json
import os
import subprocess
import time

PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"

# nbconvert's limit per cell: a guard against hangs, not a speed test
# (speed is for `make bench`).
CELL_TIMEOUT = 600


#: the folders of tmp that kernel_env() gives Jupyter and IPython
JUPYTER_DIRS = ("jupyter", "runtime", "ipython")


def kernel_env(tmp, src, drop=(), **extra):
    """The environment for notebooks run in tmp: small settings
    (MS_NOTEBOOK_SMALL=1), TMPDIR=tmp, the repository on PYTHONPATH, the
    variables in drop removed and those in extra added."""
    kdir = os.path.join(tmp, "jupyter", "kernels", "python3")
    os.makedirs(kdir)
    with open(os.path.join(kdir, "kernel.json"), "w") as f:
        json.dump({"argv": [PY, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                            "-f", "{connection_file}"],
                   "display_name": "Python 3 (Debian)", "language": "python"}, f)
    env = dict(os.environ,
               JUPYTER_PATH=os.path.join(tmp, "jupyter"),
               JUPYTER_RUNTIME_DIR=os.path.join(tmp, "runtime"),
               IPYTHONDIR=os.path.join(tmp, "ipython"),
               PYDEVD_DISABLE_FILE_VALIDATION="1",
               TMPDIR=tmp,
               MS_NOTEBOOK_SMALL="1",
               PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for k in drop:
        env.pop(k, None)
    env.update(extra)
    return env


def kernel_python(env):
    """The interpreter the python3 kernel runs under env, as Jupyter sees it."""
    r = subprocess.run([PY, "-c", "from jupyter_client.kernelspec import KernelSpecManager;"
                        "print(KernelSpecManager().get_kernel_spec('python3').argv[0])"],
                       capture_output=True, text=True, env=env)
    return r.returncode, r.stdout.strip(), r.stderr


def execute(notebook, tmp, name, env, **more):
    """Execute notebook into tmp/name; returns (CompletedProcess, output
    path, seconds taken)."""
    out = os.path.join(tmp, name)
    cmd = [PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.kernel_name=python3",
           f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}",
           "--output-dir", tmp, "--output", name, notebook]
    before = set(os.listdir(tmp))
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp,
                       env=dict(env, **more))
    secs = time.monotonic() - t0
    # What the notebook left in its temporary folder (TMPDIR is tmp), not
    # counting the executed notebook and Jupyter's own folders.
    r.leftovers = sorted(set(os.listdir(tmp)) - before - {name, *JUPYTER_DIRS})
    return r, out, secs


def check_executed(tc, r, out, min_cells, min_figures):
    """Assert, on the unittest.TestCase tc, that an execute() result ran
    whole: exit 0, at least min_cells code cells and every one executed,
    nothing left in the temporary folder, no error output, at least
    min_figures figures. Returns the text the
    notebook printed, for the test's own checks."""
    import nbformat
    tc.assertEqual(r.returncode, 0, f"notebook failed:\n{r.stderr[-3000:]}")
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tc.assertGreaterEqual(len(code), min_cells)
    tc.assertTrue(all(c.execution_count for c in code), "a code cell did not run")
    tc.assertEqual(getattr(r, "leftovers", []), [],
                   "the notebook left files in the temporary folder (TMPDIR)")
    outputs = [o for c in code for o in c.outputs]
    tc.assertFalse([o for o in outputs if o.output_type == "error"])
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    tc.assertGreaterEqual(len(images), min_figures, "figures not shown")
    return "".join(o.get("text", "") for o in outputs)
