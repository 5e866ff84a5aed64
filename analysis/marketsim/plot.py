"""Overview figures of a marketsim result file.

Command line (with the package installed, or PYTHONPATH=analysis in the
repository)::

    python3 -m marketsim.plot results/default.h5            # PNGs next to the file
    python3 -m marketsim.plot results/default.h5 -o plots/  # into plots/

For a run file it writes six PNGs, named STEM.NAME.png (`RUN_FIGURES`):
adoption (adopters / potential per market and category), shares (user
shares by owner group over time in each market, main category),
concentration (HHI and foreign share), weights (strategy mix of the most
valuable firms), money (cash and value of the most valuable firms) and
events (what firms did, on a timeline). For a sweep file (`SWEEP_FIGURES`)
it writes adoption per point, mean and spread over replications, and, once
`marketsim analyze` has written /sensitivity, the sensitivity indices of
its first outputs (bars with bootstrap intervals).
It prints the paths written, one a line; a figure whose variables the
scenario's `output.datasets` left out is skipped with a note on stderr.
Exit status 0, or 2 for a file that is not a marketsim result.

In Python each figure is a function of the Dataset from
`marketsim.open_run` that returns a matplotlib Figure (Agg
canvas, no pyplot state), e.g. `adoption_figure(ds)`; a notebook shows it
by ending a cell with it.
"""
import argparse
import os
import sys

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from . import reader as ms

RUN_FIGURES = ("adoption", "shares", "concentration", "weights", "money", "events")
SWEEP_FIGURES = ("sweep_adoption", "sensitivity")
TOP = 6          # firms or groups shown by name; the rest are summed as "others"


def _figure(nrows=1, ncols=1, width=11.0, height=6.0, **kw):
    """A Figure on an Agg canvas and its axes (always a 2-D array)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _colors(names):
    """A colour for each name, stable across the panels of one figure."""
    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def adoption_figure(ds):
    """Adopters as a share of the potential, one panel per category, one
    line per market."""
    a = ms.adoption(ds)
    cats = [str(c) for c in ds.category.values]
    fig, axes = _figure(1, len(cats), sharey=True)
    for ax, c in zip(axes[0], cats):
        for m in ds.market.values:
            ax.plot(ds.time, a.sel(market=m, category=c), label=str(m))
        ax.set_title(c)
        ax.set_xlabel("year")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(title="market")
    axes[0, 0].set_ylabel("adopters / potential (share, 1)")
    fig.suptitle("Adoption: people using the category as a share of those who can adopt")
    return fig


def shares_figure(ds, category=None, top=TOP):
    """User shares by owner group over time, one stacked panel per market,
    for `category` (default the main category); by name the `top` groups
    with the largest peak share in that market, the rest as "others"."""
    category = category or ms.main_category(ds)
    share = ms.market_shares(ds, by="group").sel(category=category).fillna(0.0)
    markets = [str(m) for m in ds.market.values]
    big = share.max(["time", "market"])
    order = [str(ds.firm.values[i]) for i in np.argsort(-big.values, kind="stable")]
    colors = _colors(order[:10])
    fig, axes = _figure(1, len(markets), sharey=True, height=7.0)
    for ax, m in zip(axes[0], markets):
        s = share.sel(market=m)
        peak = s.max("time").values            # groups that ever held a large share
        names = [str(ds.firm.values[i]) for i in np.argsort(-peak, kind="stable")
                 if peak[i] > 0][:top]
        ys = [s.sel(firm=n).values for n in names]
        others = s.sum("firm").values - np.sum(ys, axis=0) if ys else s.sum("firm").values
        ax.stackplot(ds.time.values, *ys, np.clip(others, 0, None),
                     labels=names + ["others"],
                     colors=[colors.get(n, "0.6") for n in names] + ["0.85"])
        ax.set_title(m)
        ax.set_xlabel("year")
        ax.set_ylim(0, 1)
        ax.margins(x=0)
        ax.legend(title="group (head)", fontsize="small", ncol=2,
                  loc="upper center", bbox_to_anchor=(0.5, -0.12))
    axes[0, 0].set_ylabel("share of adopters (1)")
    fig.suptitle(f"User shares by owner group, {category} (0 where no one has adopted yet)")
    return fig


def concentration_figure(ds):
    """HHI of group shares and foreign share, one line per market and
    category (colour: market, line style: category)."""
    fig, axes = _figure(2, 1, sharex=True, height=7.0)
    colors = _colors([str(m) for m in ds.market.values])
    styles = ["-", "--", ":", "-."]
    for ax, var, label in ((axes[0, 0], "hhi", "HHI of user shares by group (1)"),
                           (axes[1, 0], "foreign_share", "foreign share of users (1)")):
        for m in ds.market.values:
            for k, c in enumerate(ds.category.values):
                ax.plot(ds.time, ds[var].sel(market=m, category=c), color=colors[str(m)],
                        linestyle=styles[k % len(styles)], label=f"{m} {c}")
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(ncol=len(ds.market), fontsize="small", title="market, category")
    axes[0, 0].set_title("Concentration (Herfindahl index)")
    axes[1, 0].set_title("Users served by firms from another market")
    axes[1, 0].set_xlabel("year")
    fig.suptitle("Market concentration and foreign share")
    return fig


def weights_figure(ds, top=TOP):
    """Strategy mix over time of the `top` most valuable firms, one stacked
    panel per firm."""
    firms = ms.top_firms(ds, top, by="value")
    ncols = min(3, max(len(firms), 1))
    nrows = max(1, -(-len(firms) // ncols))
    fig, axes = _figure(nrows, ncols, sharex=True, sharey=True, height=3.2 * nrows + 1)
    colors = _colors([str(s) for s in ds.strategy.values])
    for ax, f in zip(axes.flat, firms):
        w = ds.weights.sel(firm=f).fillna(0.0)
        ax.stackplot(ds.time.values, *[w.sel(strategy=s).values for s in ds.strategy.values],
                     labels=[str(s) for s in ds.strategy.values],
                     colors=[colors[str(s)] for s in ds.strategy.values], step="post")
        ax.set_title(f)
        ax.set_ylim(0, 1)
        ax.margins(x=0)
        ax.set_xlabel("year")
        ax.set_ylabel("weight (1)")
    for ax in list(axes.flat)[len(firms):]:
        ax.set_visible(False)
    if firms:
        axes.flat[min(ncols, len(firms)) - 1].legend(
            title="strategy", fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Strategy mix of the most valuable firms (weights sum to 1)")
    return fig


def money_figure(ds, top=TOP):
    """Cash and value of the `top` most valuable firms, in billions of USD."""
    firms = ms.top_firms(ds, top, by="value")
    fig, axes = _figure(2, 1, sharex=True, height=7.0)
    colors = _colors(firms)
    for ax, var, label in ((axes[0, 0], "cash", "cash W (billion USD)"),
                           (axes[1, 0], "value", "value V (billion USD)")):
        for f in firms:
            ax.plot(ds.time, ds[var].sel(firm=f) / 1e9, color=colors[f], label=f)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", title="firm")
    axes[0, 0].set_title("Cash at the end of each step")
    axes[1, 0].set_title("Value: revenue multiple x revenue + cash + stakes")
    axes[1, 0].set_xlabel("year")
    fig.suptitle("Cash and value of the most valuable firms")
    return fig


def events_figure(ev, ds):
    """The events (DataFrame from `marketsim.events`) on a timeline: one row
    per kind, marker area growing with the amount in USD."""
    fig, axes = _figure(1, 1, height=4.5)
    ax = axes[0, 0]
    kinds = [k for k in ms.EVENT_KINDS if k in set(ev.kind)] + \
        sorted(set(ev.kind) - set(ms.EVENT_KINDS))
    colors = _colors(kinds)
    for i, k in enumerate(kinds):
        e = ev[ev.kind == k]
        size = 12 + 60 * np.sqrt(np.abs(e.amount.values) / max(np.abs(ev.amount).max(), 1.0))
        ax.scatter(e.time, np.full(len(e), i), s=size, color=colors[k], alpha=0.7,
                   label=f"{k} ({len(e)})")
    if not kinds:
        ax.plot([], [], " ", label="no events")
        ax.text(0.5, 0.5, "no events in this run", transform=ax.transAxes, ha="center")
    ax.set_yticks(range(len(kinds)), kinds)
    ax.set_ylim(-0.7, max(len(kinds), 1) - 0.3)
    ax.set_xlim(float(ds.time[0]), float(ds.time[-1]) + float(ds.attrs.get("dt", 0)))
    ax.set_xlabel("year (end of the step of the event)")
    ax.set_ylabel("event kind")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small", title="kind (count); area ~ sqrt(USD)",
              loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f"Events: {len(ev)} in the run")
    return fig


def sweep_adoption_figure(sw):
    """Adoption per point of a sweep: the mean over replications (line) and
    the mean +- one sd (band), one panel per market and category."""
    a = ms.adoption(sw)
    varied = list(sw.attrs.get("varied", []))
    points = np.unique(sw.point.values)
    markets, cats = list(sw.market.values), list(sw.category.values)
    fig, axes = _figure(len(cats), len(markets), sharex=True, sharey=True,
                        height=3.2 * len(cats) + 1.2)
    colors = _colors([int(p) for p in points])
    for r, c in enumerate(cats):
        for k, m in enumerate(markets):
            ax = axes[r, k]
            for p in points:
                x = a.sel(market=m, category=c).isel(run=np.flatnonzero(sw.point.values == p))
                mean, sd = x.mean("run"), x.std("run")
                first = np.flatnonzero(sw.point.values == p)[0]
                label = ", ".join(ms.param_label(sw, v, first, short=True)
                                  for v in varied) or f"point {int(p)}"
                ax.plot(sw.time, mean, color=colors[int(p)], label=f"{label} (n={x.sizes['run']})")
                ax.fill_between(sw.time.values, (mean - sd).values, (mean + sd).values,
                                color=colors[int(p)], alpha=0.2)
            ax.set_title(f"{m}, {c}")
            ax.set_ylim(0, 1.05)
            if r == len(cats) - 1:
                ax.set_xlabel("year")
            if k == 0:
                ax.set_ylabel("adopters / potential (1)")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize="small", title="point (finished runs)")
    fig.suptitle("Sweep: adoption per point, mean over replications and +- 1 sd")
    return fig


def sensitivity_figure(sens, outputs=None, time=None):
    """Which parameters matter: one panel per output, a bar per parameter.

    `sens` is `marketsim.sensitivity(path)`. For Sobol indices (saltelli)
    the bars are S1 and ST with their bootstrap intervals as error bars;
    for Morris the bars are mu* with its interval and sigma beside it.
    `outputs`: names from `sens.output` (default: the first six);
    `time`: a year of `sens.time` (default: the last).
    """
    names = list(sens.output.values) if outputs is None else list(outputs)
    if outputs is None:
        names = names[:6]
    missing = [n for n in names if n not in set(sens.output.values)]
    if missing:
        raise ValueError(f"no output {missing[0]!r} in /sensitivity; it has "
                         f"{', '.join(map(str, sens.output.values))}")
    t = sens.time.values[-1] if time is None else time
    s = sens.sel(time=t, method="nearest")
    params = [str(p) for p in sens.parameter.values]
    sobol = "S1" in sens
    fig, axes = _figure(len(names), 1, height=2.6 * len(names) + 1.0)
    x = np.arange(len(params))
    for r, name in enumerate(names):
        ax = axes[r, 0]
        o = s.sel(output=name)
        pairs = ((("S1", "first order S1"), ("ST", "total ST")) if sobol else
                 (("mu_star", "mu*"), ("sigma", "sigma")))
        for i, (var, label) in enumerate(pairs):
            v = o[var].values
            lo = o[f"{var}_low"].values if f"{var}_low" in o else None
            hi = o[f"{var}_high"].values if f"{var}_high" in o else None
            err = None
            if lo is not None:
                err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
            ax.bar(x + (i - 0.5) * 0.38, v, 0.38, yerr=err, capsize=3, label=label)
        ax.set_xticks(x, params, fontsize="small")
        units = "1" if sobol else str(o["output_units"].values)
        ax.set_ylabel(f"index ({units})")
        noise = float(o["noise_share"].values)
        ax.set_title(f"{name}" + (f" (noise share {noise:.2f})" if np.isfinite(noise) else ""))
        if sobol:
            ax.axhline(0, color="black", lw=0.8)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small")
    conf = sens.attrs.get("confidence", 0.95)
    fig.suptitle(("Sobol indices" if sobol else "Morris elementary effects")
                 + f" at {float(t):.2f}, {100 * float(conf):g}% bootstrap intervals")
    return fig


def write_overview(path, outdir=None):
    """Write the overview PNGs of a run or sweep file; returns their paths.

    `outdir` defaults to the folder holding the file; files are named
    STEM.NAME.png with NAME from RUN_FIGURES or SWEEP_FIGURES. A figure
    whose variables the file does not hold (a scenario's output.datasets
    dropped them) is skipped with a note on stderr.
    """
    path = os.fspath(path)
    kind = ms.check_schema(path)
    outdir = outdir or os.path.dirname(os.path.abspath(path))
    os.makedirs(outdir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(path))[0]
    if kind == "run":
        ds = ms.open_run(path)
        ev = ms.events(path)
        figs = {"adoption": (lambda: adoption_figure(ds), ("adopters", "potential")),
                "shares": (lambda: shares_figure(ds), ("users", "adopters", "owner")),
                "concentration": (lambda: concentration_figure(ds), ("hhi", "foreign_share")),
                "weights": (lambda: weights_figure(ds), ("weights", "value")),
                "money": (lambda: money_figure(ds), ("cash", "value")),
                "events": (lambda: events_figure(ev, ds), ())}
    else:
        ds = ms.open_sweep(path)
        figs = {"sweep_adoption": (lambda: sweep_adoption_figure(ds), ("adopters", "potential"))}
        if ms._has(path, "sensitivity"):
            sens = ms.sensitivity(path)
            figs["sensitivity"] = (lambda: sensitivity_figure(sens), ())
    written = []
    for name, (draw, needs) in figs.items():
        missing = [v for v in needs if v not in ds]
        if missing:       # dropped by the scenario's output.datasets
            print(f"marketsim.plot: {path}: no {name} figure, the file has no "
                  f"{', '.join(missing)} (output.datasets)", file=sys.stderr)
            continue
        out = os.path.join(outdir, f"{stem}.{name}.png")
        draw().savefig(out)
        written.append(out)
    return written


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python3 -m marketsim.plot",
        description="Write overview PNGs of a marketsim result file. For a run file: "
                    + ", ".join(RUN_FIGURES) + " (adoption per market and category, "
                    "user shares by group in the main category, HHI and foreign share, "
                    "strategy weights and cash/value of the most valuable firms, events "
                    "timeline). For a sweep file: adoption per point, mean and spread over "
                    "replications. Prints the files written.")
    p.add_argument("file", help="run or sweep file (.h5) written by marketsim")
    p.add_argument("-o", "--outdir", metavar="DIR",
                   help="folder for the PNGs (default: the file's folder); "
                        "names are STEM.NAME.png")
    args = p.parse_args(argv)
    try:
        written = write_overview(args.file, args.outdir)
    except (ValueError, FileNotFoundError) as e:
        print(f"marketsim.plot: {e}", file=sys.stderr)
        return 2
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
