"""Run the simulator from Python and open what it wrote.

`run` and `sweep` call the `marketsim` binary (`find_binary` says which
one) on a scenario or sweep file, or on a dict holding one, with
overrides given as a dict, and return the result opened by the reader
(`open_run`, `open_sweep`). `events` and `targets` take a file or a
Dataset the reader opened.

    import marketsim as ms

    ds = ms.run("scenarios/default.yaml", {"run.steps": 24, "markets.CN.openness": 0.5})
    ds.attrs["path"]                  # the run file (a temporary one: pass out= to keep it)
    ms.events(ds).query("kind == 'acquisition'")

    sw = ms.sweep("scenarios/sweeps/openness.yaml", out="results/openness.h5")
"""
import itertools
import os
import shutil
import subprocess
import tempfile

from . import reader

#: the binary's name, on PATH and in a CMake build folder
BINARY = "marketsim"


class SimulatorError(RuntimeError):
    """The simulator exited with an error: `cmd` (list), `returncode`
    (1: failure at run time; 2: bad usage or bad input) and `stderr` (its
    message, naming file, line and key for bad input)."""

    def __init__(self, cmd, returncode, stderr, note=""):
        self.cmd, self.returncode, self.stderr = cmd, returncode, stderr
        what = "bad input" if returncode == 2 else "failed"
        super().__init__(f"{' '.join(cmd)} exited with status {returncode} ({what}):\n"
                         f"{stderr.rstrip()}{note}")


# --------------------------------------------------------------------------
# Finding the binary


def _is_checkout(d):
    """Whether folder d is a marketsim source tree (the repository root)."""
    return (os.path.isfile(os.path.join(d, "CMakeLists.txt"))
            and os.path.isfile(os.path.join(d, "sim", "cli", "main.c")))


def checkout_roots(cwd=None):
    """The marketsim source trees in sight, as absolute paths, first found
    first: the one this package is imported from (analysis/marketsim/ in
    a checkout; none once installed), then the first folder at or above
    `cwd` (default: the current folder) that is one."""
    roots = []
    here = os.path.dirname(os.path.abspath(__file__))
    pkg_root = os.path.dirname(os.path.dirname(here))
    if _is_checkout(pkg_root):
        roots.append(pkg_root)
    d = os.path.abspath(cwd or os.getcwd())
    while True:
        if _is_checkout(d):
            if d not in roots:
                roots.append(d)
            break
        up = os.path.dirname(d)
        if up == d:
            break
        d = up
    return roots


def _executable(p):
    return os.path.isfile(p) and os.access(p, os.X_OK)


def _given(value, source, roots):
    """A binary given as an argument or by MARKETSIM: an absolute path; a
    relative one, from the current folder, else from each checkout root
    (so MARKETSIM=build/marketsim works in a notebook that runs in
    analysis/notebooks); or a bare name on PATH."""
    value = os.path.expanduser(os.fspath(value))
    if os.path.isabs(value):
        tried = [value]
    else:
        tried = [os.path.abspath(value)] + [os.path.join(r, value) for r in roots]
    for p in tried:
        if _executable(p):
            return p
    if os.sep not in value:
        found = shutil.which(value)
        if found:
            return os.path.abspath(found)
        tried.append(f"{value} on PATH")
    raise FileNotFoundError(
        f"{source} {value!r}: no executable marketsim there (tried "
        f"{', '.join(dict.fromkeys(tried))}); build it with `make build` in the "
        f"marketsim checkout, or give the path of an existing build/marketsim")


def find_binary(exe=None):
    """The absolute path of the marketsim binary to run.

    In this order: `exe` (a path, or a name on PATH); else the environment
    variable MARKETSIM; else build/marketsim in the checkout this package
    is imported from, or in the checkout holding the current folder; else
    PREFIX/bin/marketsim when this package was installed into PREFIX with
    marketsim (cmake --install); else `marketsim` on PATH. A relative path (argument or MARKETSIM) is tried
    from the current folder, then from the checkout root. Raises
    FileNotFoundError saying what was tried and how to fix it.
    """
    roots = checkout_roots()
    if exe is not None:
        return _given(exe, "exe=", roots)
    env = os.environ.get("MARKETSIM")
    if env:
        return _given(env, "MARKETSIM=", roots)
    tried = []
    for r in roots:
        p = os.path.join(r, "build", BINARY)
        if _executable(p):
            return p
        tried.append(p)
    # Installed (cmake --install): PREFIX/lib/pythonX.Y/site-packages/
    # marketsim/api.py next to PREFIX/bin/marketsim.
    pkg = os.path.dirname(os.path.abspath(__file__))
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(pkg))))
    p = os.path.join(prefix, "bin", BINARY)
    if os.path.basename(os.path.dirname(pkg)) in ("site-packages", "dist-packages") \
            and _executable(p):
        return p
    found = shutil.which(BINARY)
    if found:
        return os.path.abspath(found)
    where = (f"no {', '.join(tried)}" if tried else
             "not inside a marketsim checkout, so no build/marketsim")
    raise FileNotFoundError(
        f"no marketsim binary: no exe= argument, MARKETSIM is not set, {where}, "
        f"and no marketsim on PATH; build it with `make build` in the checkout, "
        f"then pass exe=PATH, set MARKETSIM=PATH or put its folder on PATH")


# --------------------------------------------------------------------------
# Overrides and scenario dicts


def _yaml_value(v):
    """A Python value as the YAML text `--set KEY=VALUE` takes: str as is
    (it is parsed as YAML: "1/12", "[CN, ID]"), others in flow style."""
    if hasattr(v, "tolist"):                  # numpy scalars and arrays
        v = v.tolist()
    if isinstance(v, str):
        return v
    if v is None:
        raise ValueError("an override of None: give a value (the simulator has no null)")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    import yaml
    text = yaml.safe_dump(v, default_flow_style=True, width=1 << 30)
    return text.strip().removesuffix("...").strip()


def _sets(overrides):
    """`--set KEY=VALUE` arguments for a dict of overrides: each key a
    scenario key as `--set` takes it (`markets.CN.openness`), each value
    what it gets; a dict or list value replaces the whole entry, as with
    `--set firms.Alibaba.strategy={acquire: 1}`."""
    if overrides is None:
        return []
    if not isinstance(overrides, dict):
        raise TypeError(f"overrides: a dict of scenario keys to values, e.g. "
                        f"{{'run.steps': 24}}, not {type(overrides).__name__}")
    args = []
    for k, v in overrides.items():
        args += ["--set", f"{k}={_yaml_value(v)}"]
    return args


_scratch_dir = None
_counter = itertools.count(1)


def _scratch():
    """A temporary folder for the files of run() and sweep() called without
    out=; removed when Python exits."""
    global _scratch_dir
    if _scratch_dir is None:
        _scratch_dir = tempfile.TemporaryDirectory(prefix="marketsim.")
    return _scratch_dir.name


def _scratch_path(stem, ext):
    return os.path.join(_scratch(), f"{stem}.{next(_counter)}{ext}")


def _write_yaml(doc, stem):
    """Write a dict as a YAML file in the scratch folder; returns its path."""
    import yaml
    path = _scratch_path(stem, ".yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None)
    return path


def _numbered(path):
    with open(path) as f:
        return "".join(f"{i:4d}  {line}" for i, line in enumerate(f, 1))


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _call(cmd, written=None):
    """Run the simulator; SimulatorError if it fails (with the YAML we
    wrote from a dict, numbered, so its line numbers can be followed)."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        note = (f"\n(the file {written}, written from the dict given:)\n{_numbered(written)}"
                if written and os.path.exists(written) else "")
        raise SimulatorError(cmd, r.returncode, r.stderr, note)
    return r


def _output(out, stem):
    if out is None:
        return _scratch_path(stem, ".h5")
    out = os.path.abspath(os.fspath(out))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    return out


# --------------------------------------------------------------------------
# Running


def run(scenario, overrides=None, *, out=None, seed=None, steps=None, threads=None,
        check=False, exe=None):
    """Run one scenario and return its result, opened by `open_run`.

    `scenario` is a scenario file (path) or a dict holding a whole
    scenario (as the YAML file would). `overrides` is a dict of scenario
    keys to values, each passed as `--set KEY=VALUE` (`marketsim params`
    lists the keys): `{"markets.CN.openness": 0.5, "firms.Alibaba.strategy":
    {"acquire": 1}, "firms.Amazon.markets": ["US", "CN"]}`; a dict or list
    replaces the whole entry, a str is YAML text (`"1/12"`). `seed` is
    `--seed`, `steps` sets
    run.steps, `threads` is `--threads` (results do not depend on it),
    `check` adds `--check` (the model's invariants). `exe` as in
    `find_binary`.

    The file goes to `out` (folders created), else to a temporary folder
    removed when Python exits; `ds.attrs["path"]` says where. Raises
    SimulatorError (exit status 2 and the simulator's FILE:LINE message
    for bad input) if the run fails, FileNotFoundError for a missing
    scenario file or binary.
    """
    exe = find_binary(exe)
    written = None
    if isinstance(scenario, dict):
        written = path = _write_yaml(scenario, "scenario")
        stem = "run"
    else:
        path = os.path.abspath(os.fspath(scenario))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{scenario}: no such scenario file")
        stem = _stem(path)
    out = _output(out, stem)
    cmd = [exe, "run", path, "-o", out, "-q"] + _sets(overrides)
    if steps is not None:
        cmd += ["--set", f"run.steps={int(steps)}"]
    if seed is not None:
        cmd += ["--seed", str(int(seed))]
    if threads is not None:
        cmd += ["--threads", str(int(threads))]
    if check:
        cmd.append("--check")
    _call(cmd, written)
    return reader.open_run(out)


def sweep(spec, overrides=None, *, out=None, threads=None, include_unfinished=False,
          exe=None):
    """Run a sweep and return its file, opened by `open_sweep`.

    `spec` is a sweep file (path; scenarios/sweeps/*.yaml shows the format)
    or a dict holding one; in a dict, a relative `scenario` path is taken
    from the current folder, and `scenario` may itself be a dict (a whole
    scenario). `overrides` (a dict as in `run`) are added to the sweep's
    `set:`, the settings every run gets. `threads` is `--threads`;
    `include_unfinished` is passed to `open_sweep`; `exe` as in
    `find_binary`.

    The file goes to `out`, else to a temporary folder removed when Python
    exits (`sw.attrs["path"]`). Raises SimulatorError if the sweep fails.
    For MPI or Slurm, and to resume a stopped sweep, use the command line
    (docs/CLUSTER.md).
    """
    exe = find_binary(exe)
    written = None
    if isinstance(spec, dict) or overrides:
        if isinstance(spec, dict):
            doc, base, stem = dict(spec), os.getcwd(), "sweep"
        else:
            import yaml
            path = os.path.abspath(os.fspath(spec))
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{spec}: no such sweep file")
            with open(path) as f:
                doc = yaml.safe_load(f)
            base, stem = os.path.dirname(path), _stem(path)
        sc = doc.get("scenario")
        if isinstance(sc, dict):
            doc["scenario"] = _write_yaml(sc, "scenario")
        elif isinstance(sc, (str, os.PathLike)):
            doc["scenario"] = os.path.join(base, os.fspath(sc))
        if overrides:
            fixed = dict(doc.get("set") or {})
            fixed.update(overrides)
            doc["set"] = fixed
        written = path = _write_yaml(doc, stem)
    else:
        path = os.path.abspath(os.fspath(spec))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{spec}: no such sweep file")
        stem = _stem(path)
    out = _output(out, stem)
    cmd = [exe, "sweep", path, "-o", out, "-q"]
    if threads is not None:
        cmd += ["--threads", str(int(threads))]
    _call(cmd, written)
    return reader.open_sweep(out, include_unfinished=include_unfinished)


# --------------------------------------------------------------------------
# Tables of a run, from a file or an opened Dataset


def _path_of(source):
    """The file behind `source`: a path, or a Dataset from open_run /
    open_sweep (its attrs["path"])."""
    attrs = getattr(source, "attrs", None)
    if attrs is not None and not isinstance(source, (str, bytes, os.PathLike)):
        if "path" not in attrs:
            raise ValueError("a Dataset without attrs['path']: give the file's path, "
                             "or a Dataset from marketsim.open_run")
        return attrs["path"]
    return os.fspath(source)


def events(source):
    """The events of a run as a pandas.DataFrame (see `reader.events`);
    `source` is the run file or a Dataset from `open_run` or `run`."""
    return reader.events(_path_of(source))


def targets(source):
    """The seed-figure targets of a run as a pandas.DataFrame (see
    `reader.targets`); `source` is the run file or a Dataset from
    `open_run` or `run`."""
    return reader.targets(_path_of(source))
