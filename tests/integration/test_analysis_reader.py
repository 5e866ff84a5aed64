#!/usr/bin/python3
"""analysis/marketsim/reader.py reads what the simulator writes.

Runs the simulator into a temporary folder (the default scenario for 24
steps, and a run with many start-ups that exit), then checks the reader
against the file read with plain h5py and against the model's identities:
dims, coordinates and units of open_run, no file left open, shares that
sum to 1, group sums equal to the file's group_revenue and abroad_share,
decoded events, and check_schema's errors (a text file, HDF5 without a
title, schema_version 99).

Sweep files and /targets are not written by the simulator yet: the tests of
open_sweep and targets use SYNTHETIC files built here with h5py following
the schemas the lead fixed (`write_synthetic_sweep`, `write_synthetic_targets`;
the files carry the root attribute `synthetic`). Replace them by real files
when `marketsim sweep` and the targets exist.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
PYTHONPATH including the repository root. Exit status 0 when every test
passes.
"""
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
sys.path.insert(0, SRC)
from analysis.marketsim import reader as ms  # noqa: E402

EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")
SCENARIO = os.path.join(SRC, "scenarios", "default.yaml")
STEPS = 24

#: what the synthetic sweep keeps of each run, by group
SWEEP_KEEP = {"market": ("adopters", "potential", "hhi", "foreign_share"),
              "firm": ("users", "revenue", "cash", "weights", "owner", "alive",
                       "group_revenue", "abroad_share")}
SYNTHETIC = "written by tests/integration/test_analysis_reader.py, not by marketsim"


def run_sim(out, *sets, steps=STEPS, seed=None):
    """Run the default scenario with `--set` overrides into `out`."""
    cmd = [EXE, "run", SCENARIO, "--set", f"run.steps={steps}", "-o", out, "-q"]
    for s in sets:
        cmd += ["--set", s]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    return out


# --------------------------------------------------------------------------
# Synthetic files (schemas of the sweep file and of /targets, docs by the lead)


def _strings(xs):
    return np.array([str(x) for x in xs], dtype=h5py.string_dtype())


def _put(g, name, data, units=None, long_name=None, dims=(), scales=None):
    """A dataset with units and long_name, its dims attached to `scales`."""
    d = g.create_dataset(name, data=data)
    if units is not None:
        d.attrs["units"] = units
    d.attrs["long_name"] = long_name or name
    for i, dim in enumerate(dims):
        d.dims[i].attach_scale(scales[dim])
    return d


def _scale(g, name, data, scales, units=None, long_name=None):
    d = _put(g, name, data, units, long_name)
    d.make_scale(name)
    scales[name] = d
    return d


def write_synthetic_sweep(path, runs, varied, keep=SWEEP_KEEP):
    """Write a SYNTHETIC sweep file from run files, following the schema.

    `runs`: one dict per run with keys file (a run file, or None for a run
    not done), point, replicate, seed, status (0 pending, 1 done, 2 failed),
    wall_seconds, message and params ({key: value} for each of `varied`).
    Returns `path`.
    """
    done = [r for r in runs if r["status"] == 1]
    first = h5py.File(done[0]["file"], "r")
    files = [h5py.File(r["file"], "r") if r["status"] == 1 else None for r in runs]
    points = sorted({r["point"] for r in runs})
    with h5py.File(path, "w") as f:
        a = f.attrs
        a["title"] = "marketsim sweep"
        a["schema_version"] = np.int32(2)
        a["status"] = "complete"
        a["sweep_seed"] = "12345"
        a["runs"], a["runs_done"] = len(runs), len(done)
        a["runs_failed"] = sum(r["status"] == 2 for r in runs)
        a["design"] = "grid"
        a["points"] = len(points)
        a["replications"] = max(r["replicate"] for r in runs) + 1
        a["shard"] = ""
        a["synthetic"] = SYNTHETIC
        f["sweep"] = "base: scenarios/default.yaml\nvary: {" + ", ".join(varied) + "}\n"
        f["scenario"] = first["scenario"][()]

        g, sc = f.create_group("runs"), {}
        _scale(g, "run", np.arange(len(runs), dtype=np.int64), sc, "1", "run")
        _put(g, "point", np.array([r["point"] for r in runs], np.int64), "1", "point", ["run"], sc)
        _put(g, "replicate", np.array([r["replicate"] for r in runs], np.int64), "1",
             "replicate", ["run"], sc)
        _put(g, "seed", np.array([r["seed"] for r in runs], np.uint64), "1", "seed", ["run"], sc)
        st = _put(g, "status", np.array([r["status"] for r in runs], np.int8), "1", "status",
                  ["run"], sc)
        st.attrs["flag_meanings"] = "pending done failed"
        _put(g, "wall_seconds", np.array([r["wall_seconds"] for r in runs], float), "s",
             "wall time", ["run"], sc)
        _put(g, "message", _strings(r["message"] for r in runs), None, "message", ["run"], sc)
        for k in varied:
            _put(g, k, np.array([r["params"][k] for r in runs], float), "1",
                 "varied parameter", ["run"], sc)

        summary, ssc = f.create_group("summary"), {}
        pidx = [np.array([i for i, r in enumerate(runs) if r["point"] == p and r["status"] == 1])
                for p in points]
        _scale(summary, "point", np.array(points, np.int64), ssc, "1", "point")
        for k in varied:
            _put(summary, k, np.array([next(r["params"][k] for r in runs if r["point"] == p)
                                       for p in points]), "1", "varied parameter", ["point"], ssc)
        _put(summary, "n", np.array([len(i) for i in pidx], np.int64), "1",
             "finished replications", ["point"], ssc)

        for gname, names in keep.items():
            src, g, sc = first[gname], f.create_group(gname), {}
            _scale(g, "run", np.arange(len(runs), dtype=np.int64), sc, "1", "run")
            # A sweep keeps the scenario's firms (the same in every run),
            # not the start-ups (a different set in each run).
            nf = sum(not ms._text(x).startswith("new-") for x in first["firm/firm"][()])
            for d in src.values():
                if h5py.h5ds.is_scale(d.id) and d.name.rsplit("/", 1)[-1] != "run":
                    data = d[()]
                    if d.name.rsplit("/", 1)[-1] == "firm":
                        data = data[:nf]
                    if d.dtype.kind in "OS":
                        data = _strings(x.decode() if isinstance(x, bytes) else x for x in data)
                    nm = d.name.rsplit("/", 1)[-1]
                    _scale(g, nm, data, sc, d.attrs.get("units"), d.attrs["long_name"])
                    # Each group holds its own scales: h5netcdf resolves a
                    # dimension only in the group and its parents.
                    if nm not in summary:
                        _scale(summary, nm, data, ssc, d.attrs.get("units"), d.attrs["long_name"])
            if "home" in src:
                _put(g, "home", _strings(x.decode() for x in src["home"][:nf]), None,
                     "home market of the firm", ["firm"], sc)
            for nm in names:
                d = src[nm]
                dims = [d.dims[i][0].name.rsplit("/", 1)[-1] for i in range(d.ndim)]
                fill = np.nan if d.dtype.kind == "f" else -1
                cut = tuple(slice(0, nf) if dn == "firm" else slice(None) for dn in dims)
                data = np.stack([fh[gname][nm][cut] if fh is not None
                                 else np.full(d[cut].shape, fill, d.dtype) for fh in files])
                _put(g, nm, data, d.attrs.get("units"), d.attrs["long_name"], ["run", *dims], sc)
                if d.dtype.kind == "f":
                    for stat, fn in (("mean", np.mean), ("sd", lambda x, axis: np.std(x, axis, ddof=1))):
                        _put(summary, f"{nm}_{stat}",
                             np.stack([fn(data[i], axis=0) for i in pidx]),
                             d.attrs.get("units"), f"{d.attrs['long_name']} ({stat})",
                             ["point", *dims], ssc)
    for fh in [first, *files]:
        if fh is not None:
            fh.close()
    return path


TARGET_ROWS = [  # target, measure, description, unit, expected, simulated, tolerance, pass
    ("F1", "share", "Alibaba share of CN e-commerce users", "1", 0.5, 0.47, 0.05, 1),
    ("F2", "count", "live commerce users in CN", "people", 4.0e8, 2.0e8, 5.0e7, 0),
    ("F3", "growth", "GMV growth", "1/year", 0.2, np.nan, 0.05, -1),
]


def write_synthetic_targets(run_file, path):
    """Copy a run file and add a SYNTHETIC /targets group (TARGET_ROWS)."""
    shutil.copy(run_file, path)
    with h5py.File(path, "r+") as f:
        f.attrs["synthetic"] = "/targets " + SYNTHETIC
        g, sc = f.create_group("targets"), {}
        cols = list(zip(*TARGET_ROWS))
        _scale(g, "target", _strings(cols[0]), sc, None, "figure id")
        for i, nm in enumerate(("measure", "description", "unit"), start=1):
            _put(g, nm, _strings(cols[i]), None, nm, ["target"], sc)
        for i, nm in enumerate(("expected", "simulated", "tolerance"), start=4):
            _put(g, nm, np.array(cols[i], float), "mixed", nm, ["target"], sc)
        _put(g, "pass", np.array(cols[7], np.int8), "1", "1 pass, 0 miss, -1 not computed",
             ["target"], sc)
    return path


# --------------------------------------------------------------------------
# Fixtures: run files written once for every test

TMP = None
RUN = None          # the default scenario, STEPS steps
EXITS = None        # many start-ups, some exit and are bought


def setUpModule():
    global TMP, RUN, EXITS
    TMP = tempfile.mkdtemp(prefix="ms_analysis_reader.")
    RUN = run_sim(os.path.join(TMP, "run.h5"))
    EXITS = run_sim(os.path.join(TMP, "exits.h5"), "model.entry_rate=2",
                    "model.entry_cash=1e5", "model.exit_patience=2", steps=48)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def open_fds(path):
    """File descriptors of this process open on `path`."""
    real = os.path.realpath(path)
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.path.realpath(os.readlink(f"/proc/self/fd/{fd}")) == real
        except OSError:
            pass
    return n


class OpenRun(unittest.TestCase):
    def setUp(self):
        self.ds = ms.open_run(RUN)

    def test_dims_coords(self):
        ds = self.ds
        with h5py.File(RUN, "r") as f:
            raw = [x.decode() for x in f["firm/firm"][()]]
            dt = float(f.attrs["dt"])
        named = [x for x in raw if x]
        self.assertEqual(dict(ds.sizes), {"time": STEPS + 1, "market": 3, "category": 2,
                                          "firm": len(named), "strategy": 4})
        self.assertEqual(named, raw, "the file has a firm without a name")
        self.assertEqual(len(set(raw)), len(raw), "two firms under one name")
        self.assertEqual(list(ds.firm.values), named)
        self.assertEqual(list(ds.slot.values), [raw.index(n) for n in named])
        self.assertEqual(list(ds.market.values), ["CN", "US", "ID"])
        self.assertEqual(list(ds.category.values), ["ecommerce", "live_commerce"])
        self.assertEqual(list(ds.strategy.values), ["experiment", "localize", "acquire", "invest"])
        self.assertEqual(ds.home.sel(firm="Amazon").item(), "US")
        self.assertIn("home", ds.coords)
        self.assertIn("step", ds.coords)
        np.testing.assert_array_equal(ds.step.values, np.arange(STEPS + 1))
        self.assertAlmostEqual(float(ds.time[0]), 2016.0)
        np.testing.assert_allclose(np.diff(ds.time.values), dt, atol=1e-9)
        self.assertEqual(ds.users.dims, ("time", "firm", "market", "category"))
        self.assertEqual(ds.adopters.dims, ("time", "market", "category"))
        self.assertEqual(ds.weights.dims, ("time", "firm", "strategy"))

    def test_units_and_attrs(self):
        ds = self.ds
        units = {"time": "year", "adopters": "1", "potential": "1",
                 "users": "1", "revenue": "USD/year", "cash": "USD", "value": "USD",
                 "hhi": "1", "weights": "1", "quality": "1", "group_revenue": "USD/year"}
        for v, u in units.items():
            self.assertEqual(ds[v].attrs.get("units"), u, v)
            self.assertTrue(ds[v].attrs.get("long_name"), v)
        a = ds.attrs
        self.assertEqual(a["seed"], "20201111")
        self.assertEqual(a["status"], "complete")
        self.assertEqual(a["schema_version"], 2)
        self.assertEqual(a["steps_done"], STEPS)
        self.assertIn(f"  steps: {STEPS}\n", a["scenario"])
        self.assertEqual(ms.scenario(ds)["run"]["steps"], STEPS)
        self.assertEqual(ms.arpu(ds).sel(market="US", category="ecommerce").item(), 120)

    def test_no_handles_left(self):
        before = open_fds(RUN)
        ds = ms.open_run(RUN)
        ms.events(RUN)
        ms.targets(RUN)
        self.assertEqual(open_fds(RUN), before, "open_run/events/targets left the file open")
        self.assertEqual(before, 0)
        # Loaded: values are there without the file.
        moved = os.path.join(TMP, "moved.h5")
        shutil.copy(RUN, moved)
        d2 = ms.open_run(moved)
        os.remove(moved)
        self.assertEqual(float(d2.adopters.sum()), float(ds.adopters.sum()))

    def test_matches_h5py(self):
        with h5py.File(RUN, "r") as f:
            users = f["firm/users"][()]
            ad = f["market/adopters"][()]
        np.testing.assert_array_equal(self.ds.adopters.values, ad)
        np.testing.assert_array_equal(self.ds.users.values, users[:, self.ds.slot.values])


class Shares(unittest.TestCase):
    def test_sum_to_one(self):
        for path in (RUN, EXITS):
            ds = ms.open_run(path)
            has = (ds.adopters > 0)
            for by in ("firm", "group"):
                s = ms.market_shares(ds, by=by)
                self.assertEqual(s.dims, ("time", "firm", "market", "category"))
                tot = s.sum("firm")
                np.testing.assert_allclose(tot.where(has).values[has.values], 1.0, atol=1e-12)
                self.assertTrue(s.where(~has).isnull().all(), "shares without adopters not NaN")
            self.assertTrue((~has).any(), "no (time, market, category) without adopters")
            # The file's HHI is the sum of squared group shares.
            hhi = (ms.market_shares(ds, by="group") ** 2).sum("firm").where(has)
            np.testing.assert_allclose(hhi.values, ds.hhi.values, atol=1e-12)

    def test_adoption(self):
        ds = ms.open_run(RUN)
        a = ms.adoption(ds)
        self.assertEqual(a.attrs["units"], "1")
        self.assertTrue(((a >= 0) & (a <= 1)).all())
        np.testing.assert_allclose((a * ds.potential).values, ds.adopters.values, rtol=1e-12)


class Groups(unittest.TestCase):
    def test_group_revenue_matches_file(self):
        for path in (RUN, EXITS):
            ds = ms.open_run(path)
            g, f = ms.group_revenue(ds).values, ds.group_revenue.values
            np.testing.assert_array_equal(np.isnan(g), np.isnan(f))
            np.testing.assert_allclose(g, f, rtol=1e-12, atol=1e-6)
            self.assertEqual(ms.group_revenue(ds).attrs["units"], "USD/year")

    def test_group_users(self):
        ds = ms.open_run(EXITS)
        gu = ms.group_users(ds)
        self.assertEqual(gu.dims, ds.users.dims)
        np.testing.assert_allclose(gu.sum("firm").values, ds.adopters.values, rtol=1e-12)
        owned = (ds.owner != ds.slot) & (ds.owner >= 0)
        self.assertTrue(owned.any(), "no acquisitions in the exits run")
        self.assertTrue(gu.where(owned).isnull().all(), "owned firms must be NaN")

    def test_abroad_share_matches_file(self):
        for path in (RUN, EXITS):
            ds = ms.open_run(path)
            mine = ms.abroad_share(ds, check=False)
            np.testing.assert_array_equal(np.isnan(mine.values), np.isnan(ds.abroad_share.values))
            np.testing.assert_allclose(mine.values, ds.abroad_share.values, atol=1e-9)
            self.assertTrue((mine > 0.05).any(), "no group earns abroad: weak test")
            ms.abroad_share(ds)            # check=True: agrees
        bad = ds.copy()
        bad["abroad_share"] = ds.abroad_share.where(ds.abroad_share.isnull(), ds.abroad_share + 0.01)
        with self.assertRaisesRegex(ValueError, "abroad_share: computed"):
            ms.abroad_share(bad)

    def test_heads_follow_acquisitions(self):
        ds = ms.open_run(EXITS)
        ev = ms.events(EXITS)
        head = ms.group_head(ds)
        acq = ev[ev.kind == "acquisition"]
        self.assertGreater(len(acq), 0)
        for e in acq.itertuples():
            t = ds.time.values[ds.step.values == e.step + 1][0]
            self.assertEqual(head.sel(time=t, firm=e.target).item(),
                             head.sel(time=t, firm=e.actor).item(), f"{e.target} bought by {e.actor}")
        # A head owns itself.
        pos = {n: i for i, n in enumerate(ds.firm.values)}
        h = head.isel(time=-1).values
        own = ds.owner.isel(time=-1).values
        for f, hh in zip(ds.firm.values, h):
            if hh:
                self.assertEqual(own[pos[hh]], ds.slot.values[pos[hh]], f"{f} -> {hh}")

    def test_chains(self):
        """Owner chains on a hand-made dataset: 2 -> 1 -> 0, 3 alone, 4 not entered."""
        import xarray as xr
        owner = np.array([[0, 1, 2, 3, -1], [0, 0, 1, 3, -1]], dtype=np.int32)
        ds = xr.Dataset(
            {"owner": (("time", "firm"), owner),
             "revenue": (("time", "firm"), np.array([[1., 2, 4, 8, np.nan]] * 2),
                         {"units": "USD/year"})},
            coords={"time": [2016.0, 2017.0], "firm": list("abcde"),
                    "slot": ("firm", np.arange(5))})
        self.assertEqual(list(ms.group_head(ds).values[1]), ["a", "a", "a", "d", ""])
        np.testing.assert_array_equal(ms.group_revenue(ds).values,
                                      [[1, 2, 4, 8, np.nan], [7, np.nan, np.nan, 8, np.nan]])
        ds["owner"][1, 0] = 2                      # 0 -> 2 -> 1 -> 0: a cycle
        with self.assertRaisesRegex(ValueError, "cycle"):
            ms.group_head(ds)


class Events(unittest.TestCase):
    def test_decoded(self):
        for path in (RUN, EXITS):
            ev = ms.events(path)
            ds = ms.open_run(path)
            with h5py.File(path, "r") as f:
                n = len(f["events/event"])
            self.assertEqual(len(ev), n)
            self.assertGreater(n, 0)
            self.assertEqual(list(ev.columns), list(ms.EVENT_COLUMNS))
            for c in ("kind", "actor", "target", "market", "category"):
                self.assertTrue(all(isinstance(x, str) for x in ev[c]), c)
            self.assertTrue(set(ev.kind) <= set(ms.EVENT_KINDS), set(ev.kind))
            self.assertTrue(set(ev.actor) <= set(ds.firm.values))
            slot = dict(zip(ds.firm.values, ds.slot.values))
            self.assertTrue(all(slot[a] == i for a, i in zip(ev.actor, ev.actor_id)))
            self.assertTrue(set(ev.market) <= set(ds.market.values) | {""})
            self.assertTrue((ev.time >= ds.time[0].item()).all())
            self.assertTrue((ev.time <= ds.time[-1].item() + 1e-9).all())
            self.assertTrue((np.diff(ev.step.values) >= 0).all(), "events out of order")
        self.assertIn("exit", set(ms.events(EXITS).kind))

    def test_empty(self):
        p = os.path.join(TMP, "noevents.h5")
        shutil.copy(RUN, p)
        with h5py.File(p, "r+") as f:
            del f["events"]
        ev = ms.events(p)
        self.assertEqual(len(ev), 0)
        self.assertEqual(list(ev.columns), list(ms.EVENT_COLUMNS))


class CheckSchema(unittest.TestCase):
    def test_run_ok(self):
        self.assertEqual(ms.check_schema(RUN), "run")

    def test_text_file(self):
        p = os.path.join(TMP, "notes.txt")
        with open(p, "w") as f:
            f.write("not hdf5\n")
        with self.assertRaises(ValueError) as c:
            ms.open_run(p)
        msg = str(c.exception)
        self.assertIn(p, msg)
        self.assertIn("not an HDF5 file", msg)
        self.assertIn("schema_version 2", msg)

    def test_no_title(self):
        p = os.path.join(TMP, "other.h5")
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(3)
        with self.assertRaises(ValueError) as c:
            ms.check_schema(p)
        self.assertIn(p, str(c.exception))
        self.assertIn("'title'", str(c.exception))
        with h5py.File(p, "r+") as f:
            f.attrs["title"] = "some other tool"
        with self.assertRaisesRegex(ValueError, "'some other tool' is not a marketsim"):
            ms.open_run(p)

    def test_newer_version(self):
        p = os.path.join(TMP, "v99.h5")
        shutil.copy(RUN, p)
        with h5py.File(p, "r+") as f:
            f.attrs["schema_version"] = np.int32(99)
        for fn in (ms.check_schema, ms.open_run, ms.events, ms.targets):
            with self.assertRaises(ValueError, msg=fn.__name__) as c:
                fn(p)
            msg = str(c.exception)
            self.assertIn(p, msg)
            self.assertIn("schema_version 99", msg)
            self.assertIn("'marketsim run' schema_version 2", msg)
            self.assertIn("newer", msg)

    def test_missing_file(self):
        with self.assertRaises(FileNotFoundError):
            ms.open_run(os.path.join(TMP, "nothing.h5"))


class Targets(unittest.TestCase):
    def test_none(self):
        t = ms.targets(RUN)
        self.assertEqual(len(t), 0)
        self.assertEqual(list(t.columns), list(ms.TARGET_COLUMNS))

    def test_synthetic(self):
        p = write_synthetic_targets(RUN, os.path.join(TMP, "targets.h5"))
        t = ms.targets(p)
        self.assertEqual(list(t.columns), list(ms.TARGET_COLUMNS))
        self.assertEqual(len(t), len(TARGET_ROWS))
        self.assertEqual(list(t.target), [r[0] for r in TARGET_ROWS])
        self.assertEqual(list(t.measure), [r[1] for r in TARGET_ROWS])
        self.assertTrue(all(isinstance(x, str) for x in t.description))
        np.testing.assert_array_equal(t.expected.values, [r[4] for r in TARGET_ROWS])
        np.testing.assert_array_equal(t.simulated.values, [r[5] for r in TARGET_ROWS])
        self.assertEqual(t["pass"].dtype, np.int8)
        self.assertEqual(list(t["pass"]), [1, 0, -1])
        ok = (t.simulated - t.expected).abs() <= t.tolerance
        self.assertEqual(list(ok), [True, False, False])
        ms.open_run(p)      # a run file with targets still opens


class Sweep(unittest.TestCase):
    """open_sweep on a SYNTHETIC sweep file assembled from real runs."""

    KEY = "markets.CN.openness"

    @classmethod
    def setUpClass(cls):
        cls.runs = []
        for point, openness in enumerate((0.3, 0.9)):
            for rep in range(2):
                seed = 100 + rep
                out = os.path.join(TMP, f"sw{point}{rep}.h5")
                run_sim(out, f"{cls.KEY}={openness}", "model.entry_rate=0",
                        "run.people_per_agent=20000", steps=12, seed=seed)
                cls.runs.append(dict(file=out, point=point, replicate=rep, seed=seed,
                                     status=1, wall_seconds=0.5, message="",
                                     params={cls.KEY: openness}))
        cls.runs.append(dict(file=None, point=1, replicate=2, seed=102, status=2,
                             wall_seconds=0.1, message="out of memory",
                             params={cls.KEY: 0.9}))
        cls.path = write_synthetic_sweep(os.path.join(TMP, "sweep.h5"), cls.runs, [cls.KEY])

    def test_schema(self):
        self.assertEqual(ms.check_schema(self.path), "sweep")
        with self.assertRaisesRegex(ValueError, "open_sweep"):
            ms.open_run(self.path)
        with self.assertRaisesRegex(ValueError, "open_run"):
            ms.open_sweep(RUN)
        p = os.path.join(TMP, "sweep99.h5")
        shutil.copy(self.path, p)
        with h5py.File(p, "r+") as f:
            f.attrs["schema_version"] = 99
        with self.assertRaisesRegex(ValueError, "'marketsim sweep' with schema_version 99"):
            ms.open_sweep(p)

    def test_done_runs(self):
        sw = ms.open_sweep(self.path)
        self.assertEqual(sw.sizes["run"], 4)
        self.assertEqual(sw.adopters.dims, ("run", "time", "market", "category"))
        self.assertEqual(sw.users.dims, ("run", "time", "firm", "market", "category"))
        self.assertEqual(list(sw.run.values), [0, 1, 2, 3])
        self.assertEqual(list(sw.point.values), [0, 0, 1, 1])
        self.assertEqual(list(sw.replicate.values), [0, 1, 0, 1])
        self.assertEqual(sw.seed.dtype, np.uint64)
        self.assertEqual(list(sw.status_name.values), ["done"] * 4)
        self.assertEqual(list(sw[self.KEY].values), [0.3, 0.3, 0.9, 0.9])
        self.assertEqual(sw.attrs["varied"], [self.KEY])
        self.assertEqual(sw.attrs["title"], "marketsim sweep")
        self.assertIn("vary", sw.attrs["sweep"])
        self.assertIn("markets:", sw.attrs["scenario"])
        self.assertEqual(sw.adopters.attrs["units"], "1")
        self.assertNotIn("", list(sw.firm.values))
        for i, r in enumerate(self.runs[:4]):
            one = ms.open_run(r["file"])
            np.testing.assert_array_equal(sw.adopters.isel(run=i).values, one.adopters.values)
            np.testing.assert_array_equal(sw.users.isel(run=i).values, one.users.values)
        self.assertEqual(open_fds(self.path), 0)
        # Different seeds give different runs, different points differ too.
        a = sw.adopters.isel(time=-1)
        self.assertFalse(np.array_equal(a.isel(run=0).values, a.isel(run=1).values))
        # The group helpers work with a run dimension.
        g = ms.group_revenue(sw)
        np.testing.assert_allclose(g.values, sw.group_revenue.values, rtol=1e-12)
        self.assertEqual(ms.adoption(sw).dims, ("run", "time", "market", "category"))

    def test_include_unfinished(self):
        sw = ms.open_sweep(self.path, include_unfinished=True)
        self.assertEqual(sw.sizes["run"], 5)
        self.assertEqual(list(sw.status.values), [1, 1, 1, 1, 2])
        self.assertEqual(sw.status_name.values[-1], "failed")
        self.assertEqual(sw.message.values[-1], "out of memory")
        self.assertTrue(sw.adopters.isel(run=-1).isnull().all())
        self.assertTrue(sw.adopters.isel(run=0).notnull().all())

    def test_summary(self):
        sw = ms.open_sweep(self.path)
        s = ms.sweep_summary(self.path)
        self.assertEqual(list(s.n.values), [2, 2])
        self.assertEqual(list(s[self.KEY].values), [0.3, 0.9])
        self.assertEqual(s.adopters_mean.dims, ("point", "time", "market", "category"))
        mean = sw.adopters.groupby("point").mean("run")
        np.testing.assert_allclose(s.adopters_mean.values, mean.values, rtol=1e-12)


if __name__ == "__main__":
    unittest.main(verbosity=2)
