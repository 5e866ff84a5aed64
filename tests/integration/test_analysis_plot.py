#!/usr/bin/python3
"""`python3 -m marketsim.plot` writes the overview PNGs of a run file.

Runs the default scenario for 24 steps into a temporary folder, runs the
plot command on it, and checks that it printed and wrote exactly the six
expected figures, each a valid PNG (signature, IHDR chunk, width and height
above 100 pixels) with something drawn in it; that --help explains it;
that a file which is not a marketsim result gives exit status 2, a message
naming the file and no PNG; that a run keeping only some variables
(output.datasets) gets the figures it can have; and that a (SYNTHETIC, see
test_analysis_reader.py) sweep file gives its summary figure.

Environment: MARKETSIM, MS_SOURCE_DIR, MS_PYTHON, PYTHONPATH (repo root).
"""
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
PY = os.environ.get("MS_PYTHON") or "/usr/bin/python3"
sys.path.insert(0, SRC)
sys.path.insert(0, HERE)
import test_analysis_reader as reader_test  # noqa: E402  (run_sim, the synthetic sweep)

#: the figures of a run file, by name (STEM.NAME.png)
RUN_PNGS = ("adoption", "shares", "concentration", "weights", "money", "events")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def plot_cmd(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "analysis") + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([PY, "-m", "marketsim.plot", *args], cwd=SRC, env=env,
                          capture_output=True, text=True)


def png_size(path):
    """(width, height) from the IHDR chunk; AssertionError if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_SIGNATURE, f"{path}: not a PNG signature"
    assert head[12:16] == b"IHDR", f"{path}: first chunk is {head[12:16]!r}, not IHDR"
    return struct.unpack(">II", head[16:24])


class PlotRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="ms_analysis_plot.")
        cls.run_file = reader_test.run_sim(os.path.join(cls.tmp.name, "run.h5"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_png(self, path):
        w, h = png_size(path)
        self.assertGreater(w, 100, path)
        self.assertGreater(h, 100, path)
        import matplotlib.image
        img = (matplotlib.image.imread(path) * 255).astype(np.uint32)
        packed = sum(img[..., i] << (8 * i) for i in range(img.shape[-1]))
        colours = len(np.unique(packed))
        self.assertGreater(colours, 20, f"{path}: {colours} colours, nothing drawn?")

    def test_run_file(self):
        out = os.path.join(self.tmp.name, "plots")
        r = plot_cmd(self.run_file, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = [os.path.join(out, f"run.{n}.png") for n in RUN_PNGS]
        self.assertEqual(r.stdout.split(), expected, "printed paths")
        self.assertEqual(sorted(os.listdir(out)), sorted(os.path.basename(p) for p in expected))
        for p in expected:
            self.check_png(p)

    def test_default_outdir(self):
        d = os.path.join(self.tmp.name, "next")
        os.makedirs(d)
        run = os.path.join(d, "x.h5")
        os.link(self.run_file, run)
        r = plot_cmd(run)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len([p for p in os.listdir(d) if p.endswith(".png")]), len(RUN_PNGS))

    def test_kept_datasets(self):
        """A run that kept only some variables: the figures it can draw."""
        run = reader_test.run_sim(os.path.join(self.tmp.name, "kept.h5"),
                                  "output.datasets=[adopters,users,hhi]", steps=12)
        out = os.path.join(self.tmp.name, "keptplots")
        r = plot_cmd(run, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [os.path.join(out, "kept.adoption.png"),
                                            os.path.join(out, "kept.events.png")])
        self.assertIn("no weights figure", r.stderr)

    def test_help(self):
        r = plot_cmd("--help")
        self.assertEqual(r.returncode, 0)
        for word in ("usage", "-o DIR", "run file", "sweep"):
            self.assertIn(word, r.stdout)

    def test_not_a_result(self):
        bad = os.path.join(self.tmp.name, "bad", "notes.h5")
        os.makedirs(os.path.dirname(bad))
        with open(bad, "w") as f:
            f.write("not hdf5\n")
        out = os.path.join(self.tmp.name, "badplots")
        r = plot_cmd(bad, "-o", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad, r.stderr)
        self.assertIn("schema_version", r.stderr)
        self.assertFalse(os.path.exists(out) and os.listdir(out), "PNGs written for a bad file")

    def test_sweep_file(self):
        runs = []
        for point, openness in enumerate((0.3, 0.9)):
            for rep in range(2):
                f = reader_test.run_sim(os.path.join(self.tmp.name, f"s{point}{rep}.h5"),
                                        f"markets.CN.openness={openness}",
                                        "model.entry_rate=0", "run.people_per_agent=20000",
                                        steps=12, seed=rep + 1)
                runs.append(dict(file=f, point=point, replicate=rep, seed=rep + 1, status=1,
                                 wall_seconds=0.1, message="",
                                 params={"markets.CN.openness": openness}))
        sweep = reader_test.write_synthetic_sweep(os.path.join(self.tmp.name, "sweep.h5"),
                                                  runs, ["markets.CN.openness"])
        out = os.path.join(self.tmp.name, "sweepplots")
        r = plot_cmd(sweep, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = [os.path.join(out, "sweep.sweep_adoption.png")]
        self.assertEqual(r.stdout.split(), expected)
        self.assertEqual(os.listdir(out), ["sweep.sweep_adoption.png"])
        self.check_png(expected[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
