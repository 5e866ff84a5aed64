#!/usr/bin/python3
"""A run file reads in Python with plain h5py and with xarray (h5netcdf).

Runs the default scenario for 24 steps into a temporary folder, then checks
what DESIGN.md promises of the file: root attributes (seed, generator,
status, git commit, schema version), units and long names on the datasets,
dimension scales attached, and, through xarray, named dimensions (time,
market, category, firm), firm names as a coordinate, users that add up to
the adopters, adopters within the potential, and a time axis in years that
advances by dt.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
Exit status 0 when every check passes; an AssertionError names the first
one that fails.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

STEPS = 24
N_CHECKS = 0


def check(cond, msg):
    """Assert with a message, counting the checks made."""
    global N_CHECKS
    N_CHECKS += 1
    assert cond, msg


def text(v):
    """An HDF5 string attribute as str (h5py gives str or bytes)."""
    return v.decode() if isinstance(v, bytes) else str(v)


def is_scale(d):
    """Whether a dataset is an HDF5 dimension scale."""
    return bool(h5py.h5ds.is_scale(d.id))


def run(path):
    exe = os.environ["MARKETSIM"]
    scen = os.path.join(os.environ["MS_SOURCE_DIR"], "scenarios", "default.yaml")
    cmd = [exe, "run", scen, "--set", f"run.steps={STEPS}", "-o", path, "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    check(r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    check(os.path.exists(path), f"{path} was not written")


def check_h5py(path):
    with h5py.File(path, "r") as f:
        a = f.attrs
        for key in ("seed", "generator", "status", "git_commit", "schema_version"):
            check(key in a, f"root attribute {key!r} missing (have {sorted(a)})")
        check(text(a["status"]) == "complete", f"status is {text(a['status'])!r}")
        check(text(a["seed"]) == "20201111", f"seed is {text(a['seed'])!r}")
        check("philox" in text(a["generator"]).lower(), f"generator is {text(a['generator'])!r}")
        check(len(text(a["git_commit"])) >= 7, f"git_commit is {text(a['git_commit'])!r}")
        sv = a["schema_version"]
        check(np.issubdtype(np.asarray(sv).dtype, np.integer) and int(sv) >= 1,
              f"schema_version is {sv!r}")
        check(int(a["steps_done"]) == STEPS, f"steps_done is {a['steps_done']}")

        # The resolved scenario, with the override applied.
        scen = f["scenario"][()]
        scen = scen.decode() if isinstance(scen, bytes) else str(scen)
        check(f"  steps: {STEPS}\n" in scen, "/scenario does not hold run.steps = 24")
        try:
            import yaml
        except ImportError:
            yaml = None
        if yaml is not None:
            doc = yaml.safe_load(scen)
            check(doc["run"]["steps"] == STEPS, "/scenario run.steps")
            check(list(doc["markets"]) == ["CN", "US", "ID"], "/scenario markets")

        n_data = 0
        for g in ("market", "firm"):
            check(g in f, f"group /{g} missing")
            scales = {}
            for name, d in f[g].items():
                check(isinstance(d, h5py.Dataset), f"/{g}/{name} is not a dataset")
                if is_scale(d):
                    scales[name] = d
            check({"time", "market", "category"} <= set(scales),
                  f"/{g}: dimension scales {sorted(scales)}")
            if g == "firm":
                check("firm" in scales, "/firm: no 'firm' dimension scale")
            for name, d in f[g].items():
                attrs = d.attrs
                check("long_name" in attrs and len(text(attrs["long_name"])) > 3,
                      f"/{g}/{name} has no long_name")
                # Numbers carry units ("1" when dimensionless); name lists
                # (market, category, firm, home, strategy) need none.
                if d.dtype.kind in "fiu":
                    check("units" in attrs and len(text(attrs["units"])) > 0,
                          f"/{g}/{name} has no units")
                if is_scale(d):
                    continue
                n_data += 1
                for i in range(d.ndim):
                    check(len(d.dims[i]) == 1,
                          f"/{g}/{name}: {len(d.dims[i])} scales on dimension {i}")
                    sc = d.dims[i][0]
                    dim = sc.name.rsplit("/", 1)[-1]
                    check(sc.name == f"/{g}/{dim}" and dim in scales,
                          f"/{g}/{name}: dimension {i} is {sc.name}")
                    check(sc.shape[0] == d.shape[i],
                          f"/{g}/{name}: dimension {i} has length {d.shape[i]}, "
                          f"its scale {sc.shape[0]}")
        check(n_data >= 10, f"only {n_data} data variables")
        check(f["market/time"].attrs["units"] in ("year", b"year"),
              "/market/time is not in years")
        return float(a["dt"])


def check_xarray(path, dt):
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf", group="market") as m, \
            xr.open_dataset(path, engine="h5netcdf", group="firm") as fm:
        check(m.adopters.dims == ("time", "market", "category"),
              f"market adopters dims {m.adopters.dims}")
        check(m.potential.dims == ("market", "category"),
              f"market potential dims {m.potential.dims}")
        check(fm.users.dims == ("time", "firm", "market", "category"),
              f"firm users dims {fm.users.dims}")
        check(fm.cash.dims == ("time", "firm"), f"firm cash dims {fm.cash.dims}")
        check(m.sizes["time"] == STEPS + 1, f"{m.sizes['time']} records, expected {STEPS + 1}")
        check(list(m.market.values) == ["CN", "US", "ID"], f"markets {list(m.market.values)}")
        check(list(m.category.values) == ["ecommerce", "live_commerce"],
              f"categories {list(m.category.values)}")
        check(list(fm.market.values) == list(m.market.values), "firm/market coordinate")

        firms = [str(x) for x in fm.firm.values]
        for name in ("Alibaba", "Pinduoduo", "Amazon", "eBay", "Tokopedia", "Shopee"):
            check(name in firms, f"firm {name} not in the firm coordinate")
        named = [x for x in firms if x]
        check(len(named) == len(set(named)), "firm names are not unique")
        check(fm.sel(firm="Alibaba").users.sel(market="CN", category="ecommerce")
              .isel(time=-1).item() > 0, "Alibaba has no users in CN")

        # Users over firms add up to the adopters (NaN: firms not yet there).
        tot = fm.users.sum("firm", skipna=True)
        ad = m.adopters
        check(tot.dims == ad.dims, f"sum dims {tot.dims}")
        diff = np.abs(tot.values - ad.values)
        bad = diff > 1e-9 * np.abs(ad.values)
        check(not bad.any(), f"users do not add up to adopters at "
              f"{np.argwhere(bad)[:3].tolist()} (max diff {diff.max()})")
        check(float(ad.isel(time=-1).sum()) > float(ad.isel(time=0).sum()),
              "adopters did not grow")

        # Adopters never exceed the potential.
        over = (m.adopters > m.potential).values
        check(not over.any(), f"adopters above potential at {np.argwhere(over)[:3].tolist()}")
        check(bool((m.potential > 0).all()), "a potential is 0")

        # Time in years, from start_year, advancing by dt each record.
        t = m.time.values
        check(abs(t[0] - 2016) < 1e-9, f"time starts at {t[0]}")
        check(np.allclose(np.diff(t), dt, rtol=0, atol=1e-9), f"time steps {np.diff(t)[:3]}")
        check(np.array_equal(m.step.values, np.arange(STEPS + 1)), "step coordinate")
        check(np.array_equal(fm.time.values, t), "firm and market time differ")


def main():
    with tempfile.TemporaryDirectory(prefix="ms_read_python.") as d:
        path = os.path.join(d, "run.h5")
        run(path)
        dt = check_h5py(path)
        check_xarray(path, dt)
    print(f"read_python: {N_CHECKS} checks ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
