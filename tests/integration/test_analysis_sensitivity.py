#!/usr/bin/python3
"""`marketsim analyze` on saltelli and morris sweeps of a model whose
answer is known.

The scenario has two markets that cannot touch each other: no strategies,
no start-ups, so US revenue cannot reach China through cash. The US arpu
therefore cannot change Chinese adopters, and the adoption parameters p
and q can. A saltelli sweep (N = 16 base rows, 3 parameters, 2
replications: 160 short runs) must give:

- the total index of categories.shop.arpu.US on adopters[CN,shop] with an
  interval that holds 0, and that of categories.shop.p an interval away
  from 0 (95% bootstrap intervals, 500 resamples, bootstrap seed 1);
- a noise share in (0, 1) (the runs of a point differ);
- the same bits from a second analyze, and from a copy of the file that
  keeps only /summary; /sensitivity with its dims,
  units and attributes, read by marketsim.sensitivity and drawn by
  marketsim.plot.sensitivity_figure;
- the runs an index compares sharing their seeds (/runs/seed).

A morris sweep (6 trajectories) gives mu* = 0 for the arpu and mu* > 0
for p. Bad input (a file that is not a sweep, a sweep of another design,
an unknown output, a time without a record, bad design keys) is refused
with exit status 2 and a message that says what to do, and a refused
analyze leaves the file as it was. About 15 s on two cores.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "analysis"))
import marketsim as ms  # noqa: E402
from marketsim import plot  # noqa: E402

EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")

SCENARIO = """\
description: two markets that do not touch (no strategies, no start-ups)
run: {steps: 12, dt: 1/12, seed: 5, people_per_agent: 2.0e6}
model: {entry_rate: 0, max_entrants: 0}
markets:
  CN: {population: 1.41e9, pdi: 80, idv: 20, mas: 66, uai: 30}
  US: {population: 3.33e8, pdi: 40, idv: 91, mas: 62, uai: 46}
categories:
  shop: {p: 0.05, q: 0.5, churn: 0.5, arpu: {CN: 60, US: 120},
         initial_adopters: 0.05}
firms:
  Ali: {home: CN, cash: 3.0e10, quality: {shop: 1.0}, beta: 0.5}
  Amz: {home: US, cash: 5.0e10, quality: {shop: 1.2}, beta: 0.5}
"""

PARAMS = """\
parameters:
  categories.shop.arpu.US: {low: 60, high: 200}
  categories.shop.q: {low: 0.2, high: 0.8}
  categories.shop.p: {low: 0.01, high: 0.1, log: true}
outputs: [adopters, revenue]
"""

SALTELLI = "scenario: two.yaml\nseed: 7\nreplications: 2\ndesign: saltelli\nsamples: 16\n" + PARAMS
MORRIS = "scenario: two.yaml\nseed: 7\ndesign: morris\ntrajectories: 6\nlevels: 4\n" + PARAMS


def sim(*args, check=True):
    p = subprocess.run([EXE, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"marketsim {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Analyze(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ms-analyze-")
        d = cls.dir
        with open(os.path.join(d, "two.yaml"), "w") as f:
            f.write(SCENARIO)
        for name, text in (("salt.yaml", SALTELLI), ("morris.yaml", MORRIS)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        cls.salt = os.path.join(d, "salt.h5")
        cls.morris = os.path.join(d, "morris.h5")
        sim("sweep", os.path.join(d, "salt.yaml"), "-o", cls.salt, "-q")
        sim("sweep", os.path.join(d, "morris.yaml"), "-o", cls.morris, "-q")
        cls.table = sim("analyze", cls.salt, "--resamples", "500").stdout
        sim("analyze", cls.morris, "--resamples", "200", "-q")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_inert_and_active(self):
        s = ms.sensitivity(self.salt)
        o = s.sel(output="adopters[CN,shop]").isel(time=-1)
        inert = o.sel(parameter="categories.shop.arpu.US")
        self.assertLessEqual(float(inert.ST_low), 0.0)
        self.assertGreaterEqual(float(inert.ST_high), 0.0)
        self.assertLessEqual(float(inert.S1_low), 0.0)
        self.assertGreaterEqual(float(inert.S1_high), 0.0)
        for key in ("categories.shop.p", "categories.shop.q"):
            active = o.sel(parameter=key)
            self.assertGreater(float(active.ST_low), 0.0, key)
            self.assertLessEqual(float(active.ST_low), float(active.ST))
            self.assertLessEqual(float(active.ST), float(active.ST_high))
        # The US arpu does move Amazon's revenue (users x arpu).
        amz = s.sel(output="revenue[Amz]", parameter="categories.shop.arpu.US").isel(time=-1)
        self.assertGreater(float(amz.ST_low), 0.0)
        noise = float(o.noise_share)
        self.assertTrue(0.0 < noise < 1.0, noise)
        self.assertIn("noise", self.table)
        self.assertIn("adopters[CN,shop]", self.table)
        self.assertIn("left out:", self.table)     # start-up outputs, all 0

    def test_layout(self):
        s = ms.sensitivity(self.salt)
        self.assertEqual(s.attrs["design"], "saltelli")
        self.assertEqual(list(s.parameter.values),
                         ["categories.shop.arpu.US", "categories.shop.q",
                          "categories.shop.p"])
        self.assertEqual(s.S1.dims, ("output", "parameter", "time"))
        self.assertEqual(s.ST.attrs["units"], "1")
        self.assertEqual(s.time.attrs["units"], "year")
        self.assertEqual(int(s.attrs["resamples"]), 500)
        self.assertAlmostEqual(float(s.attrs["confidence"]), 0.95)
        self.assertEqual(int(s.attrs["rows_used"]), 16)
        with h5py.File(self.salt) as f:
            self.assertEqual(int(f.attrs["saltelli_samples"]), 16)
            t_end = f["summary/time"][-1]
            self.assertAlmostEqual(float(s.time[-1]), float(t_end))
            # Common random numbers: A_i and AB_i_j share a seed, B_i not.
            seed = f["runs/seed"][...].reshape(16, 5, 2)
            self.assertTrue((seed[:, 1:4, :] == seed[:, :1, :]).all())
            self.assertTrue((seed[:, 4, :] != seed[:, 0, :]).all())
            self.assertEqual(len(np.unique(seed[:, 0, :])), 32)
        fig = plot.sensitivity_figure(s, outputs=["adopters[CN,shop]", "revenue[Amz]"])
        out = os.path.join(self.dir, "sens.png")
        fig.savefig(out)
        self.assertGreater(os.path.getsize(out), 1000)

    def test_same_bits(self):
        a = os.path.join(self.dir, "again.h5")
        sim("analyze", self.salt, "--resamples", "500", "-o", a, "-q")
        with h5py.File(self.salt) as f, h5py.File(a) as g:
            for name in ("S1", "S1_low", "ST_high", "noise_share"):
                x, y = f["sensitivity"][name][...], g["sensitivity"][name][...]
                self.assertTrue(np.array_equal(x, y, equal_nan=True), name)
        b = os.path.join(self.dir, "seed2.h5")
        sim("analyze", self.salt, "--resamples", "500", "--seed", "2", "-o", b, "-q")
        with h5py.File(self.salt) as f, h5py.File(b) as g:
            self.assertTrue(np.array_equal(f["sensitivity/ST"][...], g["sensitivity/ST"][...],
                                           equal_nan=True))
            self.assertFalse(np.array_equal(f["sensitivity/ST_low"][...],
                                            g["sensitivity/ST_low"][...], equal_nan=True))

    def test_summary_alone(self):
        """A file that keeps only /summary (and the root attributes) gives
        the same indices, bit for bit."""
        only = os.path.join(self.dir, "summary_only.h5")
        shutil.copy(self.salt, only)
        with h5py.File(only, "a") as f:
            for g in ("runs", "market", "firm", "startups", "sensitivity"):
                if g in f:
                    del f[g]
        sim("analyze", only, "--resamples", "500", "-q")
        with h5py.File(self.salt) as f, h5py.File(only) as g:
            self.assertNotIn("runs", g)
            for name in ("S1", "ST", "ST_low", "noise_share"):
                self.assertTrue(np.array_equal(f["sensitivity"][name][...],
                                               g["sensitivity"][name][...],
                                               equal_nan=True), name)

    def test_selection_and_times(self):
        c = os.path.join(self.dir, "sel.h5")
        p = sim("analyze", self.salt, "--output", "adopters[*,shop]", "--output",
                "revenue[Amz]", "--at", "2020.5,2021", "--resamples", "50", "-o", c)
        s = ms.sensitivity(c)
        self.assertEqual(list(s.output.values),
                         ["adopters[CN,shop]", "adopters[US,shop]", "revenue[Amz]"])
        self.assertEqual(s.sizes["time"], 2)
        self.assertEqual(list(s.output_units.values)[-1], "USD/year")
        self.assertIn("revenue[Amz]", p.stdout)

    def test_morris(self):
        s = ms.sensitivity(self.morris)
        self.assertEqual(s.attrs["design"], "morris")
        o = s.sel(output="adopters[CN,shop]").isel(time=-1)
        self.assertEqual(float(o.mu_star.sel(parameter="categories.shop.arpu.US")), 0.0)
        self.assertGreater(float(o.mu_star.sel(parameter="categories.shop.p")), 0.0)
        self.assertGreaterEqual(float(o.mu_star.sel(parameter="categories.shop.p")),
                                abs(float(o.mu.sel(parameter="categories.shop.p"))))
        self.assertIn("sigma", s)
        with h5py.File(self.morris) as f:
            self.assertEqual(int(f.attrs["morris_trajectories"]), 6)
            self.assertEqual(int(f.attrs["points"]), 24)

    def test_bad_input(self):
        d = self.dir
        text = os.path.join(d, "notes.txt")
        with open(text, "w") as f:
            f.write("not a sweep\n")
        p = sim("analyze", text, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(text, p.stderr)
        run = os.path.join(d, "run.h5")
        sim("run", os.path.join(d, "two.yaml"), "-o", run, "-q")
        p = sim("analyze", run, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not a marketsim sweep file", p.stderr)
        # A sweep of another design.
        with open(os.path.join(d, "lhs.yaml"), "w") as f:
            f.write(SALTELLI.replace("design: saltelli\nsamples: 16",
                                     "design: lhs\nsamples: 2").replace(
                                         "replications: 2", "replications: 1"))
        lhs = os.path.join(d, "lhs.h5")
        sim("sweep", os.path.join(d, "lhs.yaml"), "-o", lhs, "-q")
        p = sim("analyze", lhs, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("design is 'lhs'", p.stderr)
        self.assertIn("design: saltelli", p.stderr)
        # Unknown outputs and times: refused, the file unchanged.
        before = digest(self.salt)
        for args, says in ((("--output", "adoptrs"), "did you mean"),
                           (("--output", "adopters[XX,shop]"), "no such coordinate"),
                           (("--output", "adopters[CN]"), "wrong number of coordinates"),
                           (("--at", "1990"), "no record near")):
            p = sim("analyze", self.salt, *args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(says, p.stderr, args)
            self.assertIn(self.salt, p.stderr)
        for args in (("--confidence", "1.5"), ("--resamples", "x"), ("--bogus",)):
            p = sim("analyze", self.salt, *args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
        self.assertEqual(digest(self.salt), before)
        self.assertFalse([n for n in os.listdir(d) if n.endswith(".partial")])

    def test_bad_design_keys(self):
        d = self.dir
        cases = (
            (SALTELLI.replace("samples: 16", "samples: 12"), "power of 2", 5),
            (SALTELLI.replace("samples: 16\n", ""), "samples: a saltelli", 4),
            (MORRIS.replace("levels: 4", "levels: 5"), "even", 5),
            (MORRIS.replace("trajectories: 6\n", ""), "trajectories: a morris", 3),
            (SALTELLI.replace("samples: 16", "samples: 16\ntrajectories: 3"),
             "only for design: morris", 6),
            (SALTELLI.replace("{low: 60, high: 200}", "[60, 200]"),
             "saltelli designs need ranges", 7),
        )
        for i, (text, says, line) in enumerate(cases):
            path = os.path.join(d, f"bad{i}.yaml")
            with open(path, "w") as f:
                f.write(text)
            p = sim("sweep", path, "--dry-run", check=False)
            self.assertEqual(p.returncode, 2, (says, p.stderr))
            self.assertIn(says, p.stderr)
            self.assertIn(f"{path}:{line}:", p.stderr)
        p = sim("sweep", os.path.join(d, "salt.yaml"), "--dry-run")
        self.assertIn("saltelli: 80 points x 2 replications = 160 runs", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
