#!/usr/bin/python3
"""analysis/marketsim/reader.py reads the sweep files `marketsim sweep` writes.

Runs scenarios/sweeps/strategy_small.yaml (27 short runs) three ways into a
temporary folder: one process, `mpirun -n 3` (rank 0 writes, two ranks
compute) and two shards joined by `marketsim merge`. Then checks:

- open_sweep of the one-process file against the file read with plain
  h5py: dims, the run coordinates (point, replicate, seed, status, the
  varied parameters and the text of the strategy mixes), the data, units,
  and the root attributes; sweep_summary's `n` and its means and sds
  against the runs; a shard alone opens with only its runs;
- the three files open identically (xarray.testing.assert_identical on the
  data variables and run coordinates, and on sweep_summary) except
  /runs/wall_seconds and the provenance attributes (PROVENANCE);
- a sweep killed with SIGKILL partway: open_sweep (with and without
  include_unfinished) and sweep_summary raise ValueError saying to resume
  with --resume or clear the mark with h5clear; after `h5clear -s` on a
  copy, include_unfinished=True shows the pending runs as NaN; after
  `marketsim sweep ... --resume` the file opens with all runs done and the
  same data as an uninterrupted sweep.

Without mpirun the MPI part prints SKIP and the rest still runs.
Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
PYTHONPATH including the repository root. Exit status 0 when every test
passes; about 10 s on two cores.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np
import xarray as xr
import yaml

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, SRC)
from analysis.marketsim import reader as ms  # noqa: E402

EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")
SWEEP = os.path.join(SRC, "scenarios", "sweeps", "strategy_small.yaml")
#: root attributes that say when, where and by what a file was written
PROVENANCE = ("created", "command", "path", "git_commit", "marketsim_version")
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1"}
# 3 ranks share 2 cores here: let idle ranks yield instead of spinning.
MPIRUN = ["mpirun", "--oversubscribe", "--mca", "mpi_yield_when_idle", "1",
          "--mca", "btl", "self,vader"]


def sim(*args, env=None, prefix=()):
    """Run `marketsim ARGS` (with -q for a sweep; merge has none); raise
    with its stderr if it fails."""
    cmd = [*prefix, EXE, *args] + (["-q"] if args[0] == "sweep" else [])
    r = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})), timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    return r


def read_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def comparable(ds):
    """A sweep Dataset without what may differ between equal sweeps:
    the run coordinate wall_seconds and the provenance attributes."""
    ds = ds.drop_vars("wall_seconds")
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in PROVENANCE}
    return ds


def assert_same_sweep(a, b, what):
    """open_sweep(a) and open_sweep(b) are identical but for `comparable`,
    and so are their summaries."""
    xr.testing.assert_identical(comparable(ms.open_sweep(a)), comparable(ms.open_sweep(b)))
    xr.testing.assert_identical(ms.sweep_summary(a), ms.sweep_summary(b))
    print(f"  {what}: identical", file=sys.stderr)


class SweepReader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ms_sweep_reader.")
        cls.one = os.path.join(cls.tmp, "one.h5")
        sim("sweep", SWEEP, "-o", cls.one)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ----------------------------------------------------------------------
    # One process

    def test_open_sweep(self):
        sw = ms.open_sweep(self.one)
        spec = read_yaml(SWEEP)
        params = spec["parameters"]
        n_points = int(np.prod([len(v) for v in params.values()]))
        n_runs = n_points * spec["replications"]
        steps, every = spec["set"]["run.steps"], spec["every"]
        self.assertEqual(ms.check_schema(self.one), "sweep")
        with self.assertRaisesRegex(ValueError, "open_sweep"):
            ms.open_run(self.one)
        self.assertEqual(dict(sw.sizes), {"run": n_runs, "time": steps // every + 1, "market": 3,
                                          "category": 2, "firm": len(ms.scenario(sw)["firms"]),
                                          "strategy": 4, "startup_home": 3})
        # Scenario firms one by one plus start-ups together: every adopter.
        tot = sw.users.sum("firm") + sw.startups_market_users
        has = (sw.adopters > 0).values
        np.testing.assert_allclose((tot / sw.adopters.where(sw.adopters > 0)).values[has], 1,
                                   rtol=0, atol=1e-9)
        startups = ["startups_" + v for v in ("entered", "in_business", "users", "revenue",
                                                "cash", "value", "market_users")]
        self.assertEqual(sorted(sw.data_vars),
                         sorted(spec["outputs"] + ["population", "potential"] + startups))
        self.assertEqual(sw.adopters.dims, ("run", "time", "market", "category"))
        self.assertEqual(sw.users.dims, ("run", "time", "firm", "market", "category"))
        self.assertEqual(sw.users.attrs["units"], "1")
        self.assertEqual(sw.value.attrs["units"], "USD")
        self.assertEqual(sorted(sw.attrs["varied"]), sorted(params))
        a = sw.attrs
        self.assertEqual((a["status"], a["runs"], a["runs_done"], a["runs_failed"], a["points"],
                          a["replications"], a["shard"]),
                         ("complete", n_runs, n_runs, 0, n_points, spec["replications"], ""))
        self.assertIn("strategy_small", a["sweep"])
        self.assertIn("Alibaba", ms.scenario(sw)["firms"])
        dt = a["dt"]
        np.testing.assert_allclose(sw.time.values, 2016 + dt * every * np.arange(sw.sizes["time"]))
        with h5py.File(self.one, "r") as f:
            r = f["runs"]
            np.testing.assert_array_equal(sw.run.values, np.arange(n_runs))
            for c in ("point", "replicate", "seed", "status"):
                np.testing.assert_array_equal(sw[c].values, r[c][()], c)
            self.assertEqual(sw.seed.dtype, np.uint64)
            np.testing.assert_array_equal(sw.point.values, np.arange(n_runs) // a["replications"])
            self.assertTrue((sw.status_name.values == "done").all())
            self.assertTrue((sw.message.values == "").all())
            np.testing.assert_array_equal(sw.adopters.values, f["market/adopters"][()])
            np.testing.assert_array_equal(sw.users.values, f["firm/users"][()])
            # owner: -1 (before entry) is the fill value, decoded as NaN
            np.testing.assert_array_equal(np.nan_to_num(sw.owner.values, nan=-1),
                                          f["firm/owner"][()])
        # Firms by identity: the scenario's firms, one name each.
        self.assertEqual(list(sw.firm.values), list(ms.scenario(sw)["firms"]))
        self.assertEqual(sw.home.sel(firm="Amazon").item(), "US")
        # Grid order: the first parameter varies slowest; mixes come back as text.
        first = np.arange(0, n_runs, a["replications"])
        key, mix = "markets.CN.openness", "firms.Alibaba.strategy"
        n_mix = len(params[mix])
        np.testing.assert_allclose(sw[key].values[first],
                                   np.repeat(params[key], n_mix))
        self.assertEqual([yaml.safe_load(t) for t in sw[mix + "_value"].values[first]],
                         params[mix] * len(params[key]))
        np.testing.assert_array_equal(sw[mix].values[first], np.tile(np.arange(n_mix), len(params[key])))

    def test_summary_is_mean_over_replications(self):
        sw, s = ms.open_sweep(self.one), ms.sweep_summary(self.one)
        self.assertEqual(s.sizes["point"], sw.attrs["points"])
        np.testing.assert_array_equal(s.n.values, sw.attrs["replications"])
        for x in ("adopters", "users", "value", "weights"):
            g = sw[x].groupby("point")
            for stat, ours in (("mean", g.mean("run", skipna=False)),
                               ("sd", g.std("run", ddof=1, skipna=False))):
                theirs = s[f"{x}_{stat}"]
                self.assertEqual(theirs.dims, ours.dims)
                # To 1e-9 of the values' scale (the larger of the statistic
                # and the mean): the file folds the runs one by one
                # (Welford), numpy in two passes, and an sd near 0 of values
                # far from 0 has rounding errors of the values' last digits.
                nan = np.isnan(theirs.values)
                np.testing.assert_array_equal(np.isnan(ours.values), nan, f"{x}_{stat} NaN")
                scale = np.maximum(np.abs(theirs.values), np.abs(s[f"{x}_mean"].values))[~nan]
                diff = np.abs(ours.values - theirs.values)[~nan]
                self.assertTrue((diff <= 1e-9 * scale).all(),
                                f"{x}_{stat}: differs by up to {diff.max():g}")
        self.assertNotIn("owner_mean", s)           # integers have no summary
        for v in sw.attrs["varied"]:
            np.testing.assert_array_equal(s[v].values, sw[v].groupby("point").first().values)

    # ----------------------------------------------------------------------
    # MPI, shards + merge

    def test_mpi_same_as_one_process(self):
        if shutil.which("mpirun") is None:
            print("SKIP: no mpirun, the MPI sweep is not tested", file=sys.stderr)
            return
        version = subprocess.run([EXE, "--version"], capture_output=True, text=True).stdout
        if "MPI sweeps: yes" not in version:
            print(f"SKIP: marketsim built without MPI ({version.strip()}), the MPI sweep "
                  "is not tested", file=sys.stderr)
            return
        out = self.path("mpi.h5")
        sim("sweep", SWEEP, "-o", out, env=MPI_ENV, prefix=MPIRUN + ["-n", "3"])
        assert_same_sweep(self.one, out, "mpirun -n 3 = one process")

    def test_shards_merged_same_as_one_process(self):
        shards = [self.path(f"shard{i}.h5") for i in (1, 2)]
        for i, s in enumerate(shards, 1):
            sim("sweep", SWEEP, "-o", s, "--shard", f"{i}/2")
        # A shard alone: its runs (r mod 2 = I-1) are done, the others pending.
        part = ms.open_sweep(shards[0])
        self.assertEqual(part.attrs["shard"], "1/2")
        np.testing.assert_array_equal(part.run.values, np.arange(0, part.attrs["runs"], 2))
        every_run = ms.open_sweep(shards[0], include_unfinished=True)
        pending = every_run.status_name.values == "pending"
        np.testing.assert_array_equal(np.flatnonzero(pending), np.arange(1, part.attrs["runs"], 2))
        self.assertTrue(np.isnan(every_run.adopters.values[pending]).all())
        merged = self.path("merged.h5")
        sim("merge", *shards, "-o", merged)
        assert_same_sweep(self.one, merged, "2 shards merged = one process")

    # ----------------------------------------------------------------------
    # Killed with SIGKILL, then resumed

    def test_killed_then_resumed(self):
        # Longer runs than strategy_small (~400,000 agents, 36 steps) so
        # that the kill falls between runs: 6 runs of ~0.2 s on one thread.
        spec = read_yaml(SWEEP)
        spec["scenario"] = os.path.normpath(os.path.join(os.path.dirname(SWEEP), spec["scenario"]))
        spec["parameters"] = {"markets.CN.openness": [0.1, 1.0]}
        spec["set"].update({"run.steps": 36, "run.people_per_agent": 5000})
        big = self.path("big.yaml")
        with open(big, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        full, killed = self.path("full.h5"), self.path("killed.h5")
        sim("sweep", big, "-o", full, "--threads", "1")

        p = subprocess.Popen([EXE, "sweep", big, "-o", killed, "-q", "--threads", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done, t0 = 0, time.monotonic()
        try:
            while time.monotonic() - t0 < 60 and p.poll() is None:
                try:
                    with h5py.File(killed, "r", libver="latest", swmr=True) as f:
                        done = int((f["runs/status"][()] == 1).sum())
                except (OSError, KeyError):
                    done = 0
                if done >= 2:
                    break
                time.sleep(0.01)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
        self.assertEqual(p.returncode, -signal.SIGKILL,
                         f"the sweep ended (exit {p.returncode}) before it could be killed")
        with h5py.File(killed, "r", libver="latest", swmr=True) as f:
            status = f["runs/status"][()]
        self.assertTrue(0 < (status == 1).sum() < len(status), status)

        # A killed file: a clear error naming both ways out.
        for call in (lambda: ms.open_sweep(killed), lambda: ms.open_sweep(killed, True),
                     lambda: ms.sweep_summary(killed)):
            with self.assertRaises(ValueError) as e:
                call()
            msg = str(e.exception)
            for word in (killed, "was killed", "--resume", "h5clear -s"):
                self.assertIn(word, msg)

        # The h5clear way: the runs done are there, the others NaN.
        if shutil.which("h5clear"):
            cleared = self.path("cleared.h5")
            shutil.copy(killed, cleared)
            subprocess.run(["h5clear", "-s", cleared], check=True, capture_output=True)
            sw = ms.open_sweep(cleared, include_unfinished=True)
            np.testing.assert_array_equal(sw.status.values, status)
            pending = sw.status_name.values == "pending"
            self.assertTrue(np.isnan(sw.adopters.values[pending]).all())
            self.assertTrue(np.isfinite(sw.adopters.values[~pending]).all())
            self.assertEqual(ms.open_sweep(cleared).sizes["run"], int((status == 1).sum()))
            self.assertEqual(sw.attrs["status"], "running")
        else:
            print("SKIP: no h5clear, reading a cleared file is not tested", file=sys.stderr)

        # The --resume way: all runs done, the data of the uninterrupted sweep.
        sim("sweep", big, "-o", killed, "--resume")
        sw = ms.open_sweep(killed, include_unfinished=True)
        self.assertTrue((sw.status_name.values == "done").all(), sw.status_name.values)
        self.assertEqual((sw.attrs["status"], sw.attrs["runs_done"]), ("complete", len(status)))
        assert_same_sweep(full, killed, "killed + resumed = uninterrupted")


if __name__ == "__main__":
    unittest.main(verbosity=2)
