"""The marketsim Python package lives in analysis/marketsim/ (install it
with pip, see README.md). This folder is a package too, so that from the
repository root `from analysis import marketsim as ms` works without
installing; `PYTHONPATH=analysis` gives `import marketsim` and
`python3 -m marketsim.plot FILE.h5`.
"""
