"""Read marketsim result files (HDF5) into xarray and pandas.

docs/OUTPUT.md documents the run file; this module is its reader, and the
place to change when the file changes. Every function takes the path of a
file or a Dataset from `open_run`, returns xarray or pandas objects with
named dimensions, and keeps the file's units in `attrs["units"]`: people
for counts, USD for stocks, USD/year for flows, year for time, 1 for
shares.

Examples (from the repository root, after `make run`)::

    import marketsim as ms

    ds = ms.open_run("results/default.h5")     # /market and /firm in one Dataset
    ds.attrs["seed"], ds.attrs["status"]        # root attributes ("20201111", "complete")
    ms.adoption(ds).sel(market="CN", category="live_commerce")   # adopters / potential
    share = ms.market_shares(ds)                 # users / adopters [time, firm, market, category]
    share.sel(firm="Alibaba", market="CN", category="ecommerce").isel(time=-1).item()
    ms.group_revenue(ds).sel(firm="Alibaba")     # revenue of Alibaba's group, USD/year
    ms.abroad_share(ds)                          # share of group revenue earned abroad
    ev = ms.events("results/default.h5")         # one row per event, strings decoded
    ev[ev.kind == "acquisition"]

    sw = ms.open_sweep("results/openness.h5")    # leading `run` dimension, finished runs
    ms.adoption(sw).groupby("point").mean("run")

    out = ms.run_scenario("scenarios/default.yaml", "/tmp/short.h5", steps=24)

Everything is loaded into memory and the file closed before a function
returns, so a file can be rewritten or deleted while its Dataset is in use.

Missing values follow the file: NaN for floats (a firm before it enters,
a share without adopters), -1 for integers (`owner`, `alive` before
entry); xarray's CF decoding turns the integer ones that carry a
`_FillValue` (`alive`, `presence`, `owner`) into floats with NaN. The
`firm` dimension holds the firms that existed, each under its own name;
`slot` keeps each firm's index in the file, which is what `owner` and the
events' `*_id` columns refer to. A run still being written
(`NAME.h5.partial`, status `running`) is read as far as it got.

Files this reader does not understand (another HDF5 file, a newer
schema_version) raise ValueError from `check_schema`, which every opener
calls first.
"""
import os

import h5py
import numpy as np
import pandas as pd
import xarray as xr

RUN_TITLE = "marketsim run"
SWEEP_TITLE = "marketsim sweep"
#: schema versions this reader understands, by the file's `title` attribute
SCHEMA_VERSIONS = {RUN_TITLE: (2,), SWEEP_TITLE: (2, 3)}

#: columns of `events`, in the file's order, with their dtypes
EVENT_COLUMNS = {
    "step": "int64", "time": "float64", "kind": "object",
    "actor_id": "int32", "target_id": "int32", "market_id": "int32",
    "category_id": "int32", "actor": "object", "target": "object",
    "market": "object", "category": "object", "amount": "float64",
}
#: event kinds the simulator writes (docs/OUTPUT.md, /events)
EVENT_KINDS = ("launch", "entry", "exit", "enter_market", "acquisition",
               "blocked_deal", "stake")

#: columns of `targets`, with their dtypes
TARGET_COLUMNS = {
    "target": "object", "measure": "object", "description": "object",
    "unit": "object", "expected": "float64", "simulated": "float64",
    "tolerance": "float64", "min": "float64", "max": "float64", "pass": "int8",
}

#: per-run coordinates of a sweep, from /runs
SWEEP_RUN_COORDS = ("point", "replicate", "seed", "status", "wall_seconds",
                    "message")


# --------------------------------------------------------------------------
# Files


def _text(v):
    """An HDF5 string (str, bytes or a numpy scalar of either) as str."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    return str(v)


def _plain(v):
    """An HDF5 attribute value as a plain Python value (str, int, float)."""
    if isinstance(v, (bytes, np.bytes_, str, np.str_)):
        return _text(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.shape == ():
        return _plain(v[()])
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v]
    return v


def _understood():
    """The titles and versions this reader knows, for error messages."""
    return "; ".join(f"'{t}' schema_version {', '.join(map(str, v))}"
                     for t, v in SCHEMA_VERSIONS.items())


def _h5open(path):
    """An h5py.File for reading; a file being written (a run in progress, a
    sweep whose writer was killed) is opened in single-writer/multiple-reader
    mode. Returns (file, swmr)."""
    try:
        return h5py.File(path, "r"), False
    except OSError as e:
        if "already open for write" not in str(e) and "unable to lock" not in str(e):
            raise
    return h5py.File(path, "r", libver="latest", swmr=True), True


def check_schema(path):
    """Check that `path` is a marketsim result file this reader understands.

    Returns "run" for a run file (title "marketsim run") or "sweep" for a
    sweep file (title "marketsim sweep"). Raises FileNotFoundError if there
    is no such file, and ValueError naming the file, the schema_version
    found and the versions understood (`SCHEMA_VERSIONS`) if it is not
    HDF5, has no `title` attribute or another title, or has a
    schema_version this reader does not know (a newer simulator).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f, swmr = _h5open(path)
    except OSError as e:
        raise ValueError(
            f"{path}: not an HDF5 file ({e}); schema_version found: none; "
            f"this reader understands {_understood()}") from None
    with f:
        title = _text(f.attrs["title"]) if "title" in f.attrs else None
        version = _plain(f.attrs["schema_version"]) if "schema_version" in f.attrs else None
    if swmr and title == SWEEP_TITLE:
        raise ValueError(
            f"{path}: the sweep writing this file was killed; finish it "
            f"with `marketsim sweep SWEEP.yaml -o {path} --resume`, or "
            f"clear the mark with `h5clear -s {path}` to read the runs "
            f"it finished")
    found = "none" if version is None else repr(version)
    if title is None:
        raise ValueError(
            f"{path}: HDF5 file without a 'title' attribute, not a marketsim "
            f"result; schema_version found: {found}; this reader understands "
            f"{_understood()}")
    if title not in SCHEMA_VERSIONS:
        raise ValueError(
            f"{path}: title {title!r} is not a marketsim result; schema_version "
            f"found: {found}; this reader understands {_understood()}")
    try:
        v = int(version)
    except (TypeError, ValueError):
        v = None
    if v is None or v not in SCHEMA_VERSIONS[title]:
        newer = (v is not None and v > max(SCHEMA_VERSIONS[title]))
        raise ValueError(
            f"{path}: '{title}' with schema_version {found}; this reader "
            f"(marketsim.reader) understands {_understood()}"
            + ("; the file is newer than the reader: update the marketsim "
               "package (analysis/marketsim/ in the checkout)" if newer else ""))
    return "run" if title == RUN_TITLE else "sweep"


def _root_attrs(f):
    """Root attributes of an open h5py.File as a dict of plain values."""
    return {k: _plain(v) for k, v in f.attrs.items()}


def _read_group(path, group):
    """One HDF5 group as an xarray.Dataset, loaded into memory, file closed."""
    try:
        with xr.open_dataset(path, engine="h5netcdf", group=group) as d:
            return d.load()
    except OSError:
        pass
    # A run being written: xarray cannot open it in single-writer mode, so
    # read it with h5py and decode it the same way (CF conventions).
    f, _ = _h5open(path)
    with f:
        g = f[group]
        sizes = {n: d.shape[0] for n, d in g.items()
                 if isinstance(d, h5py.Dataset) and h5py.h5ds.is_scale(d.id)}
        # A growing dimension's datasets are extended one after another (the
        # time coordinate after the data of a record, the columns of the
        # events table one by one): read what all of them have.
        dsets = {name: d for name, d in g.items() if isinstance(d, h5py.Dataset)}
        dims_of = {name: ([(dd[0].name.rsplit("/", 1)[-1] if len(dd) else f"phony_dim_{i}")
                           for i, dd in enumerate(d.dims)] if name not in sizes else [name])
                   for name, d in dsets.items()}
        for name, d in dsets.items():
            for dn, n in zip(dims_of[name], d.shape):
                if dn in sizes:
                    sizes[dn] = min(sizes[dn], n)
        variables = {}
        for name, d in dsets.items():
            dims = dims_of[name]
            cut = tuple(slice(0, sizes.get(dn, n)) for dn, n in zip(dims, d.shape))
            attrs = {k: _plain(v) for k, v in d.attrs.items()
                     if k not in ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME")}
            variables[name] = xr.Variable(dims, d[cut] if d.ndim else d[()], attrs)
    coords = {n: variables.pop(n) for n in list(variables) if n in sizes}
    return xr.decode_cf(xr.Dataset(variables, coords=coords))


def _has(path, name):
    """Whether the file holds the group or dataset `name`."""
    f, _ = _h5open(path)
    with f:
        return name in f


def _scalar_text(f, name):
    """A scalar string dataset as str ("" if absent)."""
    return _text(f[name][()]) if name in f else ""


def _tidy_firms(ds):
    """Name lists as coordinates; `slot` keeps each firm's index."""
    ds = ds.set_coords([v for v in ("step", "home", "date") if v in ds.data_vars])
    if "firm" not in ds.dims:
        return ds
    ds = ds.assign_coords(slot=("firm", np.arange(ds.sizes["firm"], dtype=np.int64)))
    ds["slot"].attrs.update(long_name="index of the firm in the file "
                            "(what owner and the events' ids refer to)", units="1")
    used = np.array([_text(x) != "" for x in ds["firm"].values], dtype=bool)
    return ds.isel(firm=np.flatnonzero(used))


def open_run(path):
    """Open a run file as one xarray.Dataset (loaded; the file is closed).

    Returns the variables of /market and /firm (docs/OUTPUT.md) merged,
    with dimensions time, market, category, firm and strategy:

    - coordinates: `time` (year), `step` (steps done, over time), `market`,
      `category`, `strategy`, `firm` (the firms that existed, each under its
      own name: scenario firms, then start-ups in birth order), `home`
      (home market, over firm), `slot` (the firm's index in the file),
      `date` (datetime64, over time);
    - e.g. `adopters[time, market, category]` (people),
      `users[time, firm, market, category]` (people),
      `revenue[time, firm]` (USD/year), `weights[time, firm, strategy]` (1);
      each variable keeps `units` and `long_name` in its attrs;
    - `ds.attrs`: the root attributes (`seed` as a decimal string,
      `status`, `schema_version`, `dt`, `steps_done`, ...), `scenario` (the
      resolved scenario YAML the run used) and `path` (absolute).

    Raises ValueError (see `check_schema`) for files it does not understand.
    """
    path = os.fspath(path)
    kind = check_schema(path)
    if kind != "run":
        raise ValueError(f"{path}: a sweep file; read it with open_sweep")
    parts = [_read_group(path, g) for g in ("market", "firm") if _has(path, g)]
    ds = xr.merge(parts, join="exact", combine_attrs="override")
    ds = _tidy_firms(ds)
    f, _ = _h5open(path)
    with f:
        attrs = _root_attrs(f)
        attrs["scenario"] = _scalar_text(f, "scenario")
    if attrs.get("status") == "running":
        # Attributes are not updated while the file is written: the last
        # record says how far the run got.
        attrs["steps_done"] = int(ds["step"].values[-1]) if ds.sizes.get("time") else 0
    attrs["path"] = os.path.abspath(path)
    ds.attrs = attrs
    return ds


def open_sweep(path, include_unfinished=False):
    """Open a sweep file as one xarray.Dataset with a leading `run` dimension.

    Returns the /market and /firm variables the sweep kept, each over
    (run, time, ...) as in a run file (e.g. `adopters[run, time, market,
    category]`, people), with these coordinates on `run` (from /runs):
    `point`, `replicate`, `seed` (uint64), `status` (0 pending, 1 done,
    2 failed) and `status_name`, `wall_seconds` (s), `message`, and one per
    varied parameter, named by its scenario key (e.g. `markets.CN.openness`).
    Only runs with status done are kept unless `include_unfinished` is true
    (then runs not done are all NaN). `ds.attrs` holds the root attributes,
    `sweep` (the sweep YAML), `scenario` (the base scenario YAML), `varied`
    (the varied parameter names) and `path`.

    Raises ValueError (see `check_schema`) for files it does not understand.
    """
    path = os.fspath(path)
    kind = check_schema(path)
    if kind != "sweep":
        raise ValueError(f"{path}: a run file; read it with open_run")
    f, _ = _h5open(path)
    with f:
        kept = _text(f.attrs.get("outputs", "runs"))
    if kept == "summary":
        raise ValueError(
            f"{path}: a summary-only sweep (outputs: summary) keeps no run's "
            f"arrays; read its per-point summaries with sweep_summary, or run "
            f"the sweep with outputs: [...] to keep the runs")
    runs = _read_group(path, "runs")
    n_run = runs.sizes["run"]
    parts = [_read_group(path, g) for g in ("market", "firm") if _has(path, g)]
    if _has(path, "startups"):
        su = _read_group(path, "startups").rename({"home": "startup_home"})
        parts.append(su.rename({v: "startups_" + v for v in su.data_vars}))
    ds = xr.merge(parts, join="exact", combine_attrs="override") if parts else xr.Dataset()
    if "run" not in ds.dims:
        # A writer that attached the /runs/run scale from another group may
        # give an unnamed dimension: name it by its length.
        phony = [d for d in ds.dims if d.startswith("phony_dim") and ds.sizes[d] == n_run]
        if len(phony) == 1:
            ds = ds.rename({phony[0]: "run"})
    varied = [v for v in runs.data_vars
              if _text(runs[v].attrs.get("long_name", "")).startswith("varied parameter")]
    for v in ("message",):
        if v in runs:
            runs[v] = ("run", np.array([_text(x).rstrip("\x00") for x in runs[v].values],
                                       dtype=object), runs[v].attrs)
    ds = ds.assign_coords(run=runs["run"].values)
    ds = ds.assign_coords({c: ("run", runs[c].values, runs[c].attrs)
                           for c in (*SWEEP_RUN_COORDS, *varied) if c in runs})
    meanings = _text(runs["status"].attrs.get("flag_meanings", "pending done failed")).split()
    status = runs["status"].values.astype(int)
    ds = ds.assign_coords(status_name=("run", np.array(
        [meanings[s] if 0 <= s < len(meanings) else "unknown" for s in status], dtype=object)))
    # Parameters whose values are not numbers (e.g. strategy mixes) are
    # stored as the index of the value; give the values too.
    for v in varied:
        values = _text(runs[v].attrs.get("values", ""))
        if values:
            texts = values.rstrip("\n").split("\n")
            idx = runs[v].values.astype(int)
            ds = ds.assign_coords({v + "_value": ("run", np.array(
                [texts[i] if 0 <= i < len(texts) else "" for i in idx], dtype=object))})
    if not include_unfinished:
        ds = ds.isel(run=np.flatnonzero(status == meanings.index("done")))
    ds = _tidy_firms(ds)
    with h5py.File(path, "r") as f:
        attrs = _root_attrs(f)
        attrs["sweep"] = _scalar_text(f, "sweep")
        attrs["scenario"] = _scalar_text(f, "scenario")
    attrs["varied"] = list(varied)
    attrs["path"] = os.path.abspath(path)
    ds.attrs = attrs
    return ds


def sweep_summary(path):
    """The /summary group of a sweep file as an xarray.Dataset over `point`.

    Returns the varied parameters (float64 over point), `n` (finished
    replications per point) and, for each kept output X, `X_mean` and
    `X_sd` over (point, ...X's other dims) with X's units.
    """
    path = os.fspath(path)
    if check_schema(path) != "sweep":
        raise ValueError(f"{path}: a run file has no sweep summary")
    if not _has(path, "summary"):
        raise ValueError(
            f"{path}: no /summary yet: the sweep did not finish; complete it "
            f"with `marketsim sweep SWEEP.yaml -o {path} --resume` (the "
            f"summary is written when a sweep ends)")
    s = _read_group(path, "summary")
    if "home" in s.dims:                  # as in open_sweep
        s = s.rename({"home": "startup_home"})
    return _value_labels(s, "point")


def sensitivity(path):
    """The /sensitivity group `marketsim analyze` writes, as an xarray.Dataset.

    Dims `output` (scalar outputs named like ``adopters[CN,ecommerce]``:
    the dataset, then its coordinates in the order of its dimensions),
    `parameter` (the varied scenario keys) and `time` (year). For a
    saltelli sweep: `S1`, `ST` and their bootstrap intervals `S1_low`,
    `S1_high`, `ST_low`, `ST_high` (units 1) over (output, parameter,
    time); for a morris sweep: `mu`, `mu_star`, `mu_star_low`,
    `mu_star_high` and `sigma`, in the output's units (`output_units`)
    per whole range of the parameter. Both have `noise_share` over
    (output, time): the share of the variance of single runs that lies
    between replications of a point (NaN without replications).
    `ds.attrs` holds the group's attributes (method, confidence,
    resamples, bootstrap_seed, ...) and `design` ("saltelli" or "morris").

    Raises ValueError for a file that is not a sweep or has no
    /sensitivity (with the command that computes it).
    """
    path = os.fspath(path)
    if check_schema(path) != "sweep":
        raise ValueError(f"{path}: a run file has no sensitivity indices; "
                         f"they come from a sweep with design: saltelli or "
                         f"morris")
    if not _has(path, "sensitivity"):
        raise ValueError(
            f"{path}: no /sensitivity yet: compute it with `marketsim "
            f"analyze {path}` (the sweep's design must be saltelli or "
            f"morris)")
    s = _read_group(path, "sensitivity")
    f, _ = _h5open(path)
    with f:
        s.attrs.update({k: _plain(v) for k, v in f["sensitivity"].attrs.items()})
        s.attrs["design"] = _text(f.attrs["design"])
    for name in ("output", "parameter", "output_units"):
        if name in s.variables and s[name].dtype == object:
            s[name] = s[name].astype(str)
    return s


def _value_labels(ds, dim):
    """For each varied parameter whose values are not numbers (stored as
    the index of the value in its `values` attribute), a coordinate
    `KEY_value` over `dim` with the value's text, for labels and legends."""
    for v in list(ds.variables):
        values = _text(ds[v].attrs.get("values", "")) if dim in ds[v].dims else ""
        if values:
            texts = values.rstrip("\n").split("\n")
            idx = np.nan_to_num(ds[v].values.astype(float), nan=-1).astype(int)
            ds = ds.assign_coords({v + "_value": (dim, np.array(
                [texts[i] if 0 <= i < len(texts) else "" for i in idx], dtype=object))})
    return ds


def param_label(ds, key, i, short=False):
    """Readable `KEY=VALUE` text of varied parameter `key` at position `i`
    of its dimension (run or point): the value's text for non-numeric
    parameters (e.g. `Alibaba.strategy={acquire: 1}`), else the number;
    `short` keeps the last two parts of the key."""
    name = ".".join(key.split(".")[-2:]) if short else key
    if key + "_value" in ds.coords:
        return f"{name}={_text(ds[key + '_value'].values[i])}"
    return f"{name}={float(ds[key].values[i]):g}"


def events(path):
    """The event table /events as a pandas.DataFrame, one row per event.

    Columns (docs/OUTPUT.md): step (0-based step of the event), time (year
    at the end of that step), kind (str: launch, entry, exit, enter_market,
    acquisition, blocked_deal, stake), actor_id/actor, target_id/target,
    market_id/market, category_id/category (ids are indices along firm,
    market and category, -1 and ""
    when not concerned) and amount (USD). Strings are decoded to str. An
    empty DataFrame with these columns if the run had no events.
    """
    path = os.fspath(path)
    check_schema(path)
    if not _has(path, "events/event"):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_COLUMNS.items()})
    table = _read_group(path, "events")
    n = min(table[c].size for c in EVENT_COLUMNS)     # a run being written
    df = pd.DataFrame({c: table[c].values[:n] for c in EVENT_COLUMNS})
    for c, t in EVENT_COLUMNS.items():
        df[c] = [_text(x) for x in df[c]] if t == "object" else df[c].astype(t)
    return df


def targets(path):
    """The seed-document targets of a run (/targets) as a pandas.DataFrame.

    One row per target, columns: target (figure id), measure (share,
    count, revenue, growth, ratio), description, unit, expected,
    simulated, tolerance (absolute, in `unit`), min and max (the accepted
    range: expected -+ tolerance, or for a figure stated as a bound its
    bound, with expected and tolerance NaN and -inf/inf for a side without
    one) and pass (1 pass, 0 miss, -1 not computed). An empty DataFrame with
    these columns if the file has no /targets group.
    """
    path = os.fspath(path)
    check_schema(path)
    with h5py.File(path, "r") as f:
        if "targets" not in f:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TARGET_COLUMNS.items()})
        g = f["targets"]
        cols = {}
        for c, t in TARGET_COLUMNS.items():
            if c in ("min", "max") and c not in g and "expected" in g and "tolerance" in g:
                sign = -1 if c == "min" else 1   # files written before bound targets
                cols[c] = np.asarray(g["expected"][()] + sign * g["tolerance"][()], dtype=t)
                continue
            if c not in g:
                raise ValueError(f"{path}: /targets has no {c!r} (has {sorted(g)})")
            v = g[c][()]
            cols[c] = [_text(x) for x in v] if t == "object" else np.asarray(v).astype(t)
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------
# Running the simulator


def marketsim_binary(exe=None):
    """Path of the marketsim binary: `exe`, else env MARKETSIM, else
    build/marketsim of the checkout, else PATH (`marketsim.api.find_binary`).
    Raises FileNotFoundError saying what was tried if there is none."""
    from .api import find_binary
    return find_binary(exe)


def run_scenario(scenario_file, out, steps=None, sets=(), seed=None, exe=None):
    """Run `marketsim run SCENARIO -o OUT` and return `out` (the run file).

    `steps` sets run.steps, `sets` are further `KEY=VALUE` overrides (as
    `--set`), `seed` the run's seed; `exe` as in `marketsim_binary`. Raises
    RuntimeError with the simulator's message if it fails.
    """
    import subprocess
    cmd = [marketsim_binary(exe), "run", os.fspath(scenario_file), "-o", os.fspath(out), "-q"]
    if steps is not None:
        cmd += ["--set", f"run.steps={int(steps)}"]
    for s in sets:
        cmd += ["--set", s]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    return out


# --------------------------------------------------------------------------
# The scenario


def scenario(ds):
    """The resolved scenario of a run (or the base scenario of a sweep) as a dict."""
    import yaml
    return yaml.safe_load(ds.attrs["scenario"])


def arpu(ds):
    """Revenue per user from the scenario: DataArray[market, category], USD/user/year."""
    cats = scenario(ds)["categories"]
    rows = []
    for c in ds["category"].values:
        a = cats[_text(c)].get("arpu", 0)
        rows.append([float(a.get(_text(m), 0) if isinstance(a, dict) else a)
                     for m in ds["market"].values])
    return xr.DataArray(np.array(rows).T, dims=("market", "category"),
                        coords={"market": ds["market"], "category": ds["category"]},
                        attrs={"units": "USD/user/year", "long_name": "revenue per user"})


def main_category(ds):
    """Name of the main category: the top-level (not hosted) category with
    the most adopters at the last record (the first category if none is
    top-level)."""
    cats = scenario(ds).get("categories", {})
    top = [c for c in ds["category"].values
           if str(cats.get(_text(c), {}).get("host", "none")) in ("none", "None", "")]
    if not top:
        return _text(ds["category"].values[0])
    last = ds["adopters"].isel(time=-1).sel(category=top)
    last = last.sum([d for d in last.dims if d != "category"])   # markets (and runs)
    return _text(last["category"].values[int(np.argmax(last.values))])


# --------------------------------------------------------------------------
# Markets


def adoption(ds):
    """Adopters as a share of the potential: DataArray[time, market,
    category] (with a leading `run` for sweeps), units 1, NaN where the
    potential is 0."""
    a = ds["adopters"] / ds["potential"].where(ds["potential"] > 0)
    a.attrs = {"units": "1", "long_name": "adopters / potential"}
    return a.rename("adoption")


def market_shares(ds, by="firm"):
    """User shares: DataArray[time, firm, market, category], units 1.

    `by="firm"`: each firm's users over the adopters of the (market,
    category). `by="group"`: the users of the group each firm heads
    (`group_users`), NaN for owned firms; these are the shares the HHI is
    computed from. NaN where there are no adopters; over firms the shares
    sum to 1 wherever adopters > 0.
    """
    if by == "firm":
        users = ds["users"]
    elif by == "group":
        users = group_users(ds)
    else:
        raise ValueError(f"market_shares: by={by!r}; use 'firm' or 'group'")
    ad = ds["adopters"]
    s = users / ad.where(ad > 0)
    s.attrs = {"units": "1", "long_name": f"share of the adopters using the {by}"}
    return s.rename("share")


# --------------------------------------------------------------------------
# Groups: a firm and the firms it owns, directly or through others


def _need(ds, *names):
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(f"{', '.join(missing)} not in the Dataset (dropped by the "
                         "scenario's output.datasets?)")


def _head_positions(ds):
    """Position (along ds.firm) of each firm's group head: int array over
    the owner's dims (firm last); -1 where the firm is not in the file's
    records yet (owner -1)."""
    _need(ds, "owner")
    own = ds["owner"].transpose(..., "firm")
    o = np.nan_to_num(own.values.astype(float), nan=-1).astype(np.int64)
    shape = o.shape
    o = o.reshape(-1, shape[-1])
    slots = ds["slot"].values if "slot" in ds.coords else np.arange(shape[-1])
    lut = np.full(int(max(slots.max(initial=0), o.max(initial=0))) + 2, -1, dtype=np.int64)
    lut[slots] = np.arange(len(slots))
    pos = np.where(o >= 0, lut[np.clip(o, 0, len(lut) - 1)], -1)
    rows = np.arange(pos.shape[0])[:, None]
    head = pos.copy()
    for _ in range(shape[-1] + 1):              # follow owner chains to the head
        nxt = np.where(head >= 0, pos[rows, np.maximum(head, 0)], -1)
        if np.array_equal(nxt, head):
            break
        head = nxt
    else:
        raise ValueError("owner chains do not end at a firm that owns itself (a cycle)")
    return head.reshape(shape), own.dims


def group_head(ds):
    """Name of each firm's group head (follows owner chains to the firm
    that owns itself): DataArray[time, firm] of str, "" before entry."""
    head, dims = _head_positions(ds)
    names = np.append(np.array([_text(x) for x in ds["firm"].values], dtype=object), "")
    out = xr.DataArray(names[head], dims=dims,
                       coords={d: ds[d] for d in dims if d in ds.coords})
    out.attrs = {"long_name": "head of the firm's owner group"}
    return out.rename("group_head")


def by_group(ds, da):
    """Sum a firm variable over owner groups.

    Returns a DataArray with the dims of `da` (which must have `firm` and
    the owner's dims, time and, for sweeps, run): at each head firm the sum
    of `da` over the firms whose chain of owners leads to it (itself
    included); NaN for owned firms and firms not yet entered, like the
    file's group_revenue. Units are those of `da`.
    """
    head, odims = _head_positions(ds)
    rest = [d for d in da.dims if d not in odims]
    da = da.transpose(*odims, *rest)
    n, nf = int(np.prod(head.shape[:-1])), head.shape[-1]
    vals = np.nan_to_num(da.values.astype(float).reshape(n, nf, -1), nan=0.0)
    h = head.reshape(n, nf)
    out = np.zeros_like(vals)
    rows = np.broadcast_to(np.arange(n)[:, None], h.shape)
    ok = h >= 0
    np.add.at(out, (rows[ok], h[ok]), vals[ok])
    is_head = h == np.arange(nf)[None, :]
    out[~is_head] = np.nan
    res = xr.DataArray(out.reshape(da.shape), dims=da.dims, coords=da.coords)
    res.attrs = {"units": da.attrs.get("units", ""),
                 "long_name": f"{da.attrs.get('long_name', da.name)}, summed over "
                              "the group the firm heads (NaN for owned firms)"}
    return res.rename(f"group_{da.name}" if da.name else None)


def group_users(ds):
    """Users of each owner group: DataArray[time, firm, market, category],
    people, at the group's head firm (NaN for owned firms)."""
    _need(ds, "users")
    return by_group(ds, ds["users"])


def group_revenue(ds):
    """Revenue of each owner group: DataArray[time, firm], USD/year, at the
    head firm (NaN for owned firms); equals the file's group_revenue."""
    _need(ds, "revenue")
    return by_group(ds, ds["revenue"])


def revenue_by_market(ds):
    """Revenue of each firm by market: DataArray[time, firm, market], USD/year.

    The firm's revenue split over markets in proportion to users times
    arpu (revenue is users * arpu * monetization, and monetization is one
    number per firm). Without `revenue` in the file, users * arpu *
    monetization from the scenario (1, the default, for start-ups).
    """
    _need(ds, "users")
    per_market = (ds["users"] * arpu(ds)).sum("category", min_count=1)
    if "revenue" in ds:
        tot = per_market.sum("market", min_count=1)
        frac = (per_market / tot.where(tot > 0)).fillna(0.0)
        r = ds["revenue"] * frac
    else:
        firms = scenario(ds).get("firms", {})
        mu = [float(firms.get(_text(f), {}).get("monetization", 1.0))
              for f in ds["firm"].values]
        r = per_market * xr.DataArray(mu, dims="firm", coords={"firm": ds["firm"]})
    r = r.transpose(..., "firm", "market")
    r.attrs = {"units": "USD/year", "long_name": "revenue by market, annualized"}
    return r.rename("revenue_by_market")


def abroad_share(ds, check=True, atol=1e-6):
    """Share of each group's revenue earned outside its head's home market.

    Returns DataArray[time, firm], units 1, at the head firm; NaN for owned
    firms and where the group has no revenue. Computed from users, arpu and
    revenue (`revenue_by_market`, summed over the group). With `check`, and
    if the file holds `abroad_share`, raises ValueError where the two
    differ by more than `atol` or one is NaN and the other is not.
    """
    g = by_group(ds, revenue_by_market(ds))
    total = g.sum("market", skipna=False)
    abroad = g.where(g["market"] != ds["home"], 0.0).sum("market", skipna=False)
    share = (abroad / total.where(total > 0)).rename("abroad_share")
    share.attrs = {"units": "1", "long_name": "share of group revenue earned "
                   "outside the head's home market"}
    if check and "abroad_share" in ds:
        f = ds["abroad_share"].transpose(*share.dims)
        a, b = share.values, f.values
        bad = (np.isnan(a) != np.isnan(b)) | (np.abs(np.nan_to_num(a - b)) > atol)
        if bad.any():
            i = tuple(np.argwhere(bad)[0])
            where = ", ".join(f"{d}={_text(share[d].values[k]) if d in share.coords else k}"
                              for d, k in zip(share.dims, i))
            raise ValueError(f"abroad_share: computed {a[i]!r}, file {b[i]!r} at {where} "
                             f"({int(bad.sum())} of {bad.size} values differ)")
    return share


def top_firms(ds, n=6, by="value"):
    """Names of the `n` firms with the largest `by` (a [time, firm]
    variable, default value in USD) at the last record, largest first."""
    _need(ds, by)
    last = ds[by].isel(time=-1)
    last = last.mean([d for d in last.dims if d != "firm"])      # a sweep: over runs
    v = np.nan_to_num(last.values.astype(float), nan=-np.inf)
    order = np.argsort(-v, kind="stable")[:n]
    return [_text(ds["firm"].values[i]) for i in order if np.isfinite(v[i])]
