"""Python readers and plots for marketsim result files.

`analysis.marketsim` reads run and sweep files into xarray and pandas;
`analysis.plot` draws overview figures (`python3 -m analysis.plot FILE.h5`).
"""
