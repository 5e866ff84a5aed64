#!/usr/bin/python3
"""What a researcher does with results, with plain xarray, pandas and h5py
(docs/OUTPUT.md), on the default scenario (two seeds) and a small sweep:

- select firms by name, `xr.concat` two seeds, `unstack` by firm: the firm
  dimension holds each firm once, under its own name;
- filter events by kind with pandas, from xarray and from the documented
  h5py recipe, and get the same rows, as str;
- time decoded as dates next to the calendar year;
- every units attribute parsed as a udunits-style unit (pint when it is
  installed, else the small parser below), with revenue = cash / year;
- `long_name` short, the definition in `description`, `_FillValue` and
  flags on coded integers, `start_year` at the root;
- a sweep keyed by firm identity (scenario firms by name, start-ups in
  /startups) with readable labels for non-numeric parameters;
- `marketsim export --csv` read back and compared with the HDF5 values.
"""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import xarray as xr

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, SRC)
from analysis import marketsim as ms  # noqa: E402

EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")
SCENARIO = os.path.join(SRC, "scenarios", "default.yaml")
SWEEP = os.path.join(SRC, "tests", "data", "sweeps", "small.yaml")
STEPS = 36
N_CHECKS = 0


def check(cond, msg):
    global N_CHECKS
    N_CHECKS += 1
    if not cond:
        raise AssertionError(msg)


def sim(*args):
    r = subprocess.run([EXE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"marketsim {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


# --------------------------------------------------------------------------
# Units: udunits-style strings ("1", "year", "USD", "USD/year", "s",
# "seconds since 2016-01-01 00:00:00") as dimension vectors.

BASE = {"1": {}, "year": {"time": 1}, "s": {"time": 1}, "USD": {"money": 1}}
SCALE = {"1": 1.0, "year": 365.25 * 86400, "s": 1.0, "USD": 1.0}


def parse_unit(u):
    """(scale to SI seconds/USD, {dimension: power}) of a unit string, or
    raise ValueError: products with '*' or ' ', quotients with '/', powers
    with '^' or a trailing integer, and CF time 'UNIT since DATE'."""
    m = re.fullmatch(r"(\w+) since \d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?", u)
    if m:
        unit = {"seconds": "s", "days": "s", "years": "year"}.get(m.group(1), m.group(1))
        return parse_unit(unit)
    scale, dims = 1.0, {}
    for sign, term in re.findall(r"([/*]?)\s*([^/*\s]+)", u):
        m = re.fullmatch(r"([A-Za-z]+|1)\^?(-?\d+)?", term)
        if not m or m.group(1) not in BASE:
            raise ValueError(f"unit {u!r}: unknown term {term!r}")
        p = int(m.group(2) or 1) * (-1 if sign == "/" else 1)
        scale *= SCALE[m.group(1)] ** p
        for k, v in BASE[m.group(1)].items():
            dims[k] = dims.get(k, 0) + v * p
    return scale, {k: v for k, v in dims.items() if v}


def unit_parser():
    """pint with USD defined, if installed; else parse_unit."""
    try:
        import pint
    except ImportError:
        return "udunits-style parser", lambda u: parse_unit(u)[1]
    reg = pint.UnitRegistry()
    reg.define("USD = [currency]")

    def parse(u):
        m = re.fullmatch(r"(\w+) since .*", u)
        return reg.parse_units(m.group(1) if m else ("dimensionless" if u == "1" else u)
                               ).dimensionality
    return "pint", parse


# --------------------------------------------------------------------------


def check_run(a, b, seed_b):
    fa = xr.open_dataset(a, engine="h5netcdf", group="firm").load()
    ma = xr.open_dataset(a, engine="h5netcdf", group="market").load()
    fb = xr.open_dataset(b, engine="h5netcdf", group="firm").load()
    names = [str(x) for x in fa.firm.values]
    check(len(names) == len(set(names)) and "" not in names, f"firm names {names}")
    check(names[:8] == list(ms.scenario(ms.open_run(a))["firms"]),
          "scenario firms first, in the scenario's order")
    check(all(n.startswith("new-") for n in names[8:]), f"then start-ups: {names[8:]}")
    with h5py.File(a) as f:
        raw_cash = f["firm/cash"][()]
        check(raw_cash.shape[1] == len(names), "no empty firm slots in the file")
        check(int(f.attrs["entrants"]) == len(names) - 8, "firms = scenario firms + entrants")
        check(float(f.attrs["start_year"]) == 2016.0, "start_year at the root")

    # sel by names
    two = fa.cash.sel(firm=["Amazon", "eBay"])
    check(two.dims == ("time", "firm") and list(two.firm.values) == ["Amazon", "eBay"],
          "sel(firm=[...])")
    np.testing.assert_array_equal(two.values, raw_cash[:, [names.index("Amazon"),
                                                           names.index("eBay")]])
    # concat over two seeds: aligned by firm name (an outer join)
    both = xr.concat([fa.cash, fb.cash], dim=pd.Index([0, int(seed_b)], name="seed"),
                     join="outer")
    union = set(names) | {str(x) for x in fb.firm.values}
    check(set(map(str, both.firm.values)) == union, "concat keeps every firm once")
    np.testing.assert_array_equal(both.sel(seed=0, firm="Alibaba").values,
                                  fa.cash.sel(firm="Alibaba").values)
    np.testing.assert_array_equal(both.sel(seed=int(seed_b), firm="Alibaba").values,
                                  fb.cash.sel(firm="Alibaba").values)
    only_a = sorted(set(names) - {str(x) for x in fb.firm.values})
    if only_a:
        check(bool(both.sel(seed=int(seed_b), firm=only_a[0]).isnull().all()),
              "a start-up of one seed is NaN in the other")
    # unstack into a wide table, one column per firm
    wide = fa.cash.to_dataframe().cash.unstack("firm")
    check(list(wide.columns) == names and len(wide) == STEPS + 1, "unstack by firm")
    check(wide.loc[fa.time.values[-1], "Alibaba"] == raw_cash[-1, 0], "unstacked value")

    # dates
    check(np.issubdtype(fa.date.dtype, np.datetime64), f"date dtype {fa.date.dtype}")
    check(str(fa.date.values[0])[:10] == "2016-01-01", f"first date {fa.date.values[0]}")
    check(str(fa.date.sel(time=2017.0, method="nearest").values)[:10] == "2017-01-01",
          "12 steps of 1/12 year later: 2017-01-01")
    check("date" in fa.cash.coords and "step" in fa.cash.coords, "date and step are coordinates")

    # CF attributes
    for ds in (fa, ma):
        for v in ds.variables:
            ln = ds[v].attrs.get("long_name", "")
            check(ln and len(ln) <= 30, f"{v}: long_name {ln!r} is not a short label")
    check("description" in fa.cash.attrs and "W" in fa.cash.attrs["description"],
          "description holds the definition")
    alive = xr.open_dataset(a, engine="h5netcdf", group="firm", mask_and_scale=False)
    check(list(alive.alive.attrs["flag_values"]) == [0, 1] and
          alive.alive.attrs["flag_meanings"] == "exited in_business", "alive flags")
    check(alive.alive.encoding.get("_FillValue", alive.alive.attrs.get("_FillValue")) == -1,
          "alive _FillValue")
    check(list(alive.presence.attrs["flag_values"]) == [0, 1], "presence flags")
    late = names[-1]
    first = int(np.argmax(~np.isnan(fa.alive.sel(firm=late).values)))
    check(first > 0 and np.isnan(fa.alive.sel(firm=late).values[:first]).all(),
          "alive is NaN (fill) before a start-up entered")

    # units
    how, parse = unit_parser()
    seen = 0
    with h5py.File(a) as f:
        for g in ("market", "firm", "events"):
            for name, d in f[g].items():
                u = d.attrs.get("units")
                if u is None:
                    continue
                u = u.decode() if isinstance(u, bytes) else str(u)
                parse(u)  # raises if not a unit
                seen += 1
    check(seen >= 20, f"only {seen} units parsed")
    rev, cash = parse_unit(fa.revenue.attrs["units"]), parse_unit(fa.cash.attrs["units"])
    year = parse_unit("year")
    check(rev[1] == {"money": 1, "time": -1} and cash[1] == {"money": 1} and
          abs(rev[0] * year[0] - cash[0]) < 1e-9, "revenue is cash per year")
    check(parse_unit(fa.users.attrs["units"])[1] == {}, "people counts are dimensionless")
    print(f"units parsed with {how}")

    # events: xarray and the documented h5py recipe agree, as str
    ev_x = xr.open_dataset(a, engine="h5netcdf", group="events").to_dataframe()
    with h5py.File(a) as f:
        g = f["events"]
        ev_h = pd.DataFrame({k: g[k].asstr()[()] if g[k].dtype.kind == "S" else g[k][()]
                             for k in g if k != "event"})
    check(len(ev_x) == len(ev_h) > 0, "event counts")
    kinds = set(ev_x.kind)
    check(kinds <= set(ms.EVENT_KINDS) and {"entry", "launch"} <= kinds, f"kinds {kinds}")
    for kind in kinds:
        x, h = ev_x[ev_x.kind == kind], ev_h[ev_h.kind == kind]
        check(len(x) == len(h) > 0, f"{kind}: {len(x)} rows from xarray, {len(h)} from h5py")
        check(list(x.actor) == list(h.actor) and all(isinstance(s, str) for s in x.actor),
              f"{kind}: actors")
        check(set(x.actor) <= set(names), f"{kind}: actors are firms of the file")
    entries = ev_x[ev_x.kind == "entry"]
    check(list(entries.actor) == names[8:], "entries in birth order = the start-ups")
    check((entries.actor_id.values == np.arange(8, len(names))).all(), "entry ids")
    check(ev_x.actor_id.dtype.kind == "i", "ids stay integers")
    check((ms.events(a).kind == ev_x.kind.values).all(), "the reader shows the same events")
    return fa, ma, ev_x


def check_sweep(path):
    fs = xr.open_dataset(path, engine="h5netcdf", group="firm").load()
    su = xr.open_dataset(path, engine="h5netcdf", group="summary").load()
    names = list(map(str, fs.firm.values))
    check(len(names) == 8 and len(set(names)) == 8 and not any("slot" in n for n in names),
          f"sweep firms {names}")
    check(list(su.firm.values) == names, "summary keyed by firm name")
    check(bool(su.cash_mean.sel(firm="Alibaba").notnull().all()), "summary of a named firm")
    check("startups_entered_mean" in su and su.startups_entered_mean.dims ==
          ("point", "time", "home", "category"), "start-ups aggregated by home and category")
    sw = ms.open_sweep(path)
    first = np.flatnonzero(sw.replicate.values == 0)
    labels = [ms.param_label(sw, "firms.Alibaba.strategy", i, short=True) for i in first]
    check(all(re.fullmatch(r"Alibaba\.strategy=\{.*\}", l) for l in labels), f"labels {labels}")
    check("Alibaba.strategy={acquire: 1}" in labels, f"labels {labels}")
    s2 = ms.sweep_summary(path)
    check(ms.param_label(s2, "firms.Alibaba.strategy", 0) ==
          "firms.Alibaba.strategy={acquire: 1}", "summary labels")
    # every adopter is a scenario firm's user or a start-up's
    tot = sw.users.sum("firm") + sw.startups_market_users
    has = (sw.adopters > 0).values
    check(np.allclose((tot / sw.adopters.where(sw.adopters > 0)).values[has], 1, atol=1e-9),
          "scenario firms plus start-ups = adopters")
    return sw


def read_csv(path):
    with open(path) as f:
        first = f.readline()
    check(first.startswith("# units: "), f"{path}: no units line")
    units = first[len("# units: "):].rstrip("\n").split(",")
    df = pd.read_csv(path, skiprows=1, keep_default_na=False, na_values=["NA"],
                     float_precision="round_trip")   # the file has every digit
    check(len(units) == len(df.columns), f"{path}: {len(units)} units, {len(df.columns)} columns")
    return df, dict(zip(df.columns, units))


def check_export(run, sweep, d, fa, ma, ev_x):
    out = sim("export", run, "--csv", os.path.join(d, "run_csv"))
    check("markets.csv" in out and "events.csv" in out, f"export said {out!r}")
    mk, mu = read_csv(os.path.join(d, "run_csv", "markets.csv"))
    check(mu["adopters"] == "1" and mu["gmv"] == "USD/year" and mu["time"] == "year", f"{mu}")
    # (to_xarray sorts the labels: select them in the file's order)
    pivot = mk.set_index(["time", "market", "category"]).adopters.to_xarray().sel(
        market=ma.market.values, category=ma.category.values)
    np.testing.assert_array_equal(pivot.transpose(*ma.adopters.dims).values, ma.adopters.values)
    pop = mk.groupby("market").population.first()
    check(all(pop[m] == ma.population.sel(market=m).item() for m in pop.index), "population")
    check(mk.date.iloc[0] == "2016-01-01T00:00:00", f"dates {mk.date.iloc[0]}")
    fm, fu = read_csv(os.path.join(d, "run_csv", "firms.csv"))
    check(fu["cash"] == "USD" and fu["revenue"] == "USD/year", f"{fu}")
    cash = fm.set_index(["time", "firm"]).cash.to_xarray().sel(firm=fa.firm.values)
    np.testing.assert_array_equal(cash.transpose("time", "firm").values, fa.cash.values)
    alive = fm.set_index(["time", "firm"]).alive.to_xarray().sel(firm=fa.firm.values)
    np.testing.assert_array_equal(alive.transpose("time", "firm").values, fa.alive.values)
    us, _ = read_csv(os.path.join(d, "run_csv", "firms_by_market_category.csv"))
    users = us.set_index(["time", "firm", "market", "category"]).users.to_xarray().sel(
        firm=fa.firm.values, market=fa.market.values, category=fa.category.values)
    np.testing.assert_array_equal(users.transpose(*fa.users.dims).values, fa.users.values)
    ev, eu = read_csv(os.path.join(d, "run_csv", "events.csv"))
    check(eu["amount"] == "USD", "event units")
    check(list(ev.kind) == list(ev_x.kind) and list(ev.actor) == list(ev_x.actor),
          "events.csv = the events")
    np.testing.assert_array_equal(ev.amount.values, ev_x.amount.values)
    # the sweep
    sim("export", sweep, "--csv", os.path.join(d, "sweep_csv"))
    runs, _ = read_csv(os.path.join(d, "sweep_csv", "runs.csv"))
    with h5py.File(sweep) as f:
        np.testing.assert_array_equal(runs.seed.values.astype(np.uint64), f["runs/seed"][()])
        np.testing.assert_array_equal(runs.status.values, f["runs/status"][()])
        sm, _ = read_csv(os.path.join(d, "sweep_csv", "summary.csv"))
        s = sm.set_index(["point", "time", "market", "category"]).adopters_mean.to_xarray()
        order = {k: [x.decode() if isinstance(x, bytes) else x for x in f[f"summary/{k}"][()]]
                 for k in ("market", "category")}
        np.testing.assert_array_equal(s.sel(**order).values, f["summary/adopters_mean"][()])
        swc, _ = read_csv(os.path.join(d, "sweep_csv", "firms.csv"))
        c = swc.set_index(["run", "time", "firm"]).cash.to_xarray()
        names = [x.decode() if isinstance(x, bytes) else x for x in f["firm/firm"][()]]
        np.testing.assert_array_equal(c.sel(firm=names).values, f["firm/cash"][()])
    mixes = set(runs["firms.Alibaba.strategy"])
    check("{acquire: 1}" in mixes, f"runs.csv labels the mixes: {mixes}")
    h = subprocess.run([EXE, "export", "--help"], capture_output=True, text=True)
    check(h.returncode == 0 and "--csv DIR" in h.stdout and "units" in h.stdout, "export --help")
    bad = subprocess.run([EXE, "export", run], capture_output=True, text=True)
    check(bad.returncode == 2 and "--csv" in bad.stderr, "export without --csv is a usage error")


def main():
    with tempfile.TemporaryDirectory(prefix="ms_researcher.") as d:
        a, b = os.path.join(d, "a.h5"), os.path.join(d, "b.h5")
        sim("run", SCENARIO, "-o", a, "-q", "--set", f"run.steps={STEPS}")
        sim("run", SCENARIO, "-o", b, "-q", "--set", f"run.steps={STEPS}", "--seed", "7")
        fa, ma, ev_x = check_run(a, b, 7)
        sw = os.path.join(d, "sw.h5")
        sim("sweep", SWEEP, "-o", sw, "-q")
        check_sweep(sw)
        check_export(a, sw, d, fa, ma, ev_x)
    print(f"researcher: {N_CHECKS} checks ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
