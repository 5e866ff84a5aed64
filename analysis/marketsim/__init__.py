"""marketsim: read, plot and run marketsim result files from Python.

    import marketsim as ms

    ds = ms.open_run("results/default.h5")     # one xarray Dataset, units in attrs
    ev = ms.events(ds)                          # pandas, one row per event, str columns
    ms.targets(ds)                              # the seed-figure targets of the run
    sw = ms.open_sweep("results/openness.h5")   # leading `run` dimension
    ds = ms.run("scenarios/default.yaml", {"run.steps": 24})   # run, then open
    sw = ms.sweep("scenarios/sweeps/openness.yaml")

Modules: `marketsim.reader` (the file reader: open_run, open_sweep,
sweep_summary, events, targets and derived quantities such as
market_shares, adoption, group_revenue, abroad_share; all of them are here
too), `marketsim.api` (run, sweep, find_binary) and `marketsim.plot`
(overview figures; `python3 -m marketsim.plot FILE.h5` writes them as PNGs).
docs/OUTPUT.md documents the files.

Install: from the repository root, into a virtual environment that sees
Debian's python3-h5py, -xarray, -pandas, -matplotlib:

    python3 -m venv --system-site-packages ~/venvs/marketsim
    ~/venvs/marketsim/bin/pip install --no-index --no-build-isolation .
"""
from .reader import *  # noqa: F401,F403  (open_run, open_sweep, ...: the reader's API)
from .api import (SimulatorError, checkout_roots, events, find_binary,  # noqa: F401
                  run, sweep, targets)

#: the version of the package, the same as `marketsim --version`
__version__ = "0.1.0"
