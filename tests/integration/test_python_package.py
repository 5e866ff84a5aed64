#!/usr/bin/python3
"""The Python package `marketsim` installs from the checkout and works
from any folder.

Creates a fresh virtual environment (`python3 -m venv
--system-site-packages`, so it sees Debian's h5py, xarray, pandas,
matplotlib, pip and setuptools), installs the checkout into it with
`python -m pip install --no-index --no-build-isolation` (and a proxy that
refuses every connection, so any download attempt fails the install), then, from a folder outside the
checkout and without PYTHONPATH, uses the installed package:

- it is the installed copy, with the version of `marketsim --version`;
- `run(tests/data/tiny.yaml, overrides, out=...)` runs the scenario and
  returns the opened result: the steps asked for, the override in the
  resolved scenario, the same numbers as the file read with h5py;
  `events` and `targets` take that Dataset;
- `run` of a dict (the scenario loaded and changed) and without `out`
  writes into a temporary folder that is gone when Python exits;
- bad input raises SimulatorError with exit status 2 and the key;
- `sweep` of a dict (2 points x 2 replications of tiny.yaml) returns the
  4 runs with their parameter values;
- `python3 -m marketsim.plot FILE -o DIR` writes the PNGs;
- the binary is found from MARKETSIM relative to the checkout root in a
  subfolder of the checkout, and without any binary in sight the error
  says what was tried and how to fix it.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
MS_PYTHON (Debian's python3).
"""
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"
EXE = os.path.abspath(os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim"))
TINY = os.path.join(SRC, "tests", "data", "tiny.yaml")

#: a proxy on a port nothing listens on: pip cannot download anything
NO_NETWORK = {k: "http://127.0.0.1:9" for k in
              ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}


def clean_env(**extra):
    """The environment without PYTHONPATH (nothing from the checkout is
    importable but what pip installed) and without pip settings."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("PIP_")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **NO_NETWORK)
    env.update(extra)
    return env


# Run by the virtual environment's Python in a folder outside the checkout.
USE = textwrap.dedent("""\
    import os, subprocess, sys
    import h5py, numpy as np, yaml
    import marketsim as ms

    src, exe, tiny = sys.argv[1:4]
    print("file", ms.__file__)
    print("version", ms.__version__)
    assert not ms.__file__.startswith(src + os.sep), ms.__file__

    # A scenario file with overrides (a number, a mapping), into a file here.
    ds = ms.run(tiny, {"run.steps": 2, "markets.CN.openness": 0.75,
                       "firms.Jd.strategy": {"acquire": 1}}, out="out/tiny.h5")
    assert ds.attrs["path"] == os.path.abspath("out/tiny.h5"), ds.attrs["path"]
    assert ds.attrs["status"] == "complete", ds.attrs["status"]
    assert int(ds.attrs["steps_done"]) == 2, ds.attrs["steps_done"]
    assert int(ds.step.values[-1]) == 2, ds.step.values
    sc = ms.scenario(ds)
    assert sc["markets"]["CN"]["openness"] == 0.75, sc["markets"]["CN"]
    assert sc["run"]["steps"] == 2, sc["run"]
    mix = sc["firms"]["Jd"]["strategy"]
    assert mix["acquire"] == 1 and mix["experiment"] == mix["invest"] == 0, mix
    assert {"Ali", "Amz", "Jd"} <= set(ds.firm.values.tolist()), ds.firm.values
    with h5py.File("out/tiny.h5", "r") as f:
        raw = f["market/adopters"][()]
    assert np.array_equal(ds.adopters.transpose("time", "market", "category").values, raw)
    ev = ms.events(ds)
    assert list(ev.columns) == list(ms.EVENT_COLUMNS), list(ev.columns)
    assert all(isinstance(k, str) for k in ev.kind), ev.kind.tolist()
    assert len(ev) == len(ms.events("out/tiny.h5"))
    assert set(ev.kind) <= set(ms.EVENT_KINDS), ev
    assert set(ev.actor) <= set(ds.firm.values.tolist()), ev   # start-ups too
    assert len(ev[ev.kind == "launch"]) >= 1, ev                # str compares as str
    tg = ms.targets(ds)
    assert list(tg.columns) == list(ms.TARGET_COLUMNS) and len(tg) == 0, tg
    print("run", len(ev), "events")

    # A dict scenario, no out: a temporary file, removed at exit.
    with open(tiny) as f:
        doc = yaml.safe_load(f)
    doc["run"]["steps"] = 1
    doc["firms"]["Jd"]["cash"] = 2.0e9
    d2 = ms.run(doc, seed=5)
    assert int(d2.attrs["steps_done"]) == 1 and d2.attrs["seed"] == "5", d2.attrs
    assert ms.scenario(d2)["firms"]["Jd"]["cash"] == 2.0e9
    assert os.path.exists(d2.attrs["path"])
    print("scratch", d2.attrs["path"])

    # Bad input: exit status 2, the key named.
    try:
        ms.run(tiny, {"markets.CN.openness": 7})
    except ms.SimulatorError as e:
        assert e.returncode == 2, e
        assert "openness" in str(e), str(e)
    else:
        raise AssertionError("openness 7 accepted")

    # A sweep from a dict: 2 points x 2 replications.
    sw = ms.sweep({"scenario": tiny, "seed": 3, "replications": 2,
                   "parameters": {"markets.CN.openness": [0.25, 0.5]},
                   "outputs": ["adopters", "users"], "every": 1},
                  {"run.steps": 2}, out="out/sweep.h5")
    assert sw.sizes["run"] == 4, sw.sizes
    assert sorted(sw["markets.CN.openness"].values.tolist()) == [0.25, 0.25, 0.5, 0.5]
    assert set(sw.status_name.values) == {"done"}
    assert ms.scenario(sw)["run"]["steps"] == 2          # the override, in set:
    assert sw.sizes["time"] == 3, sw.sizes                # records at steps 0, 1, 2
    assert "set: {run.steps: 2}" in sw.attrs["sweep"], sw.attrs["sweep"]
    print("sweep", sw.sizes["run"], "runs")

    # The plots, as a module of the installed package.
    r = subprocess.run([sys.executable, "-m", "marketsim.plot", "out/tiny.h5", "-o", "plots"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    written = r.stdout.split()
    assert written and all(os.path.getsize(p) > 1000 for p in written), written
    print("plots", len(written))
    """)

# find_binary in a subfolder of the checkout, and with nothing to find.
FIND = textwrap.dedent("""\
    import os, sys
    import marketsim as ms
    if sys.argv[1] == "relative":
        print(ms.find_binary())
    else:
        try:
            ms.find_binary()
        except FileNotFoundError as e:
            print("error", e)
        else:
            raise AssertionError("a binary found with none in sight")
    """)


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_python_package.")
        venv = os.path.join(cls.tmp, "venv")
        # --without-pip: Debian's pip (python3-pip) is seen through the
        # system site-packages and installs into the environment; it spares
        # copying pip in (ensurepip), which takes most of the time.
        r = subprocess.run([PY, "-m", "venv", "--system-site-packages", "--without-pip", venv],
                           capture_output=True, text=True, env=clean_env())
        if r.returncode != 0:
            raise RuntimeError(f"python3 -m venv failed (python3-venv installed? "
                               f"scripts/install-deps.sh):\n{r.stderr}")
        cls.py = os.path.join(venv, "bin", "python")
        cls.install = subprocess.run(
            [cls.py, "-m", "pip", "install", "--no-index", "--no-build-isolation", SRC],
            capture_output=True, text=True, cwd=cls.tmp, env=clean_env())
        cls.work = os.path.join(cls.tmp, "elsewhere")
        os.makedirs(cls.work)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def venv_python(self, code, *args, cwd=None, **env):
        return subprocess.run([self.py, "-c", code, *args], capture_output=True, text=True,
                              cwd=cwd or self.work, env=clean_env(**env))

    def test_1_installs(self):
        self.assertEqual(self.install.returncode, 0,
                         f"pip install failed:\n{self.install.stdout}\n{self.install.stderr}")
        self.assertIn("Successfully installed marketsim", self.install.stdout)

    def test_2_api_from_another_folder(self):
        self.assertEqual(self.install.returncode, 0, "not installed")
        r = self.venv_python(USE, SRC, EXE, TINY, MARKETSIM=EXE)
        self.assertEqual(r.returncode, 0, f"{r.stdout}\n{r.stderr}")
        out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        self.assertIn(os.path.join(self.tmp, "venv", "lib"), out["file"])
        v = subprocess.run([EXE, "--version"], capture_output=True, text=True).stdout.split()
        self.assertEqual(v[:2], ["marketsim", out["version"]])
        self.assertTrue(os.path.isfile(os.path.join(self.work, "out", "tiny.h5")))
        self.assertFalse(os.path.exists(out["scratch"]),
                         "run() without out= left its temporary file")
        self.assertEqual(out["sweep"], "4 runs")
        self.assertEqual(int(out["plots"]), 6)

    def test_3_binary_relative_to_checkout(self):
        self.assertEqual(self.install.returncode, 0, "not installed")
        sub = os.path.join(SRC, "analysis", "notebooks")
        r = self.venv_python(FIND, "relative", cwd=sub, MARKETSIM=os.path.relpath(EXE, SRC))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.samefile(r.stdout.strip(), EXE), r.stdout)

    def test_4_no_binary(self):
        self.assertEqual(self.install.returncode, 0, "not installed")
        env = clean_env(PATH="/usr/bin:/bin")
        env.pop("MARKETSIM", None)
        r = subprocess.run([self.py, "-c", FIND, "none"], capture_output=True, text=True,
                           cwd=self.work, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        for words in ("MARKETSIM is not set", "no marketsim on PATH", "make build"):
            self.assertIn(words, r.stdout)
        r = self.venv_python(FIND, "none", MARKETSIM="build/no-such-marketsim")
        self.assertIn("MARKETSIM= 'build/no-such-marketsim': no executable marketsim", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
