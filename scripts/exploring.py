#!/usr/bin/python3
"""Write docs/EXPLORING.md: how to explore a model, with worked examples.

Usage: scripts/exploring.py [-o FILE] [--workdir DIR] [--threads J]

The page answers "which parameters matter" with a Morris screening and a
Saltelli sweep of the seed scenario scenarios/sea_expansion.yaml (at
100,000 people per agent, so that it regenerates in about two minutes on
two cores), analyzed by `marketsim analyze` and read back with
marketsim.sensitivity. The sweep files are the constants SCREENING and
SOBOL below, shown in the page as they are run.

A second part, "how sure is this fit", comes from scripts/exploring_fit.py
when it is there: its section(marketsim_path, workdir) returns markdown
that is appended to the page.

The binary is $MARKETSIM, else build/marketsim. `make exploring` runs it.
Exit status: 0 page written, 1 a command failed, 2 usage errors.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "analysis"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

#: the seed scenario of the worked example, relative to the repository
SCENARIO = "scenarios/sea_expansion.yaml"

#: a Morris screening of six parameters: 12 trajectories x 7 points
SCREENING = """\
# Which of six parameters move e-commerce in Southeast Asia at all?
scenario: {scenario}
seed: 2016
design: morris
trajectories: 12
levels: 4
parameters:
  model.lambda: {{low: 0.5, high: 1.5}}
  categories.ecommerce.q: {{low: 0.3, high: 0.6}}
  categories.ecommerce.churn: {{low: 0.1, high: 0.5}}
  markets.ID.openness: {{low: 0.2, high: 1.0}}
  firms.Shopee.quality.ecommerce: {{low: 0.6, high: 1.0}}
  categories.ecommerce.arpu.SG: {{low: 40, high: 120}}
outputs: [adopters, revenue]
every: 12
set: {{run.people_per_agent: 100000}}
"""

#: Sobol indices of four of them: N = 32 base rows, 2 replications
SOBOL = """\
# How much of the spread of each output does each parameter explain?
scenario: {scenario}
seed: 2016
replications: 2
design: saltelli
samples: 32
parameters:
  model.lambda: {{low: 0.5, high: 1.5}}
  categories.ecommerce.q: {{low: 0.3, high: 0.6}}
  firms.Shopee.quality.ecommerce: {{low: 0.6, high: 1.0}}
  categories.ecommerce.arpu.SG: {{low: 40, high: 120}}
outputs: [adopters, revenue]
every: 12
set: {{run.people_per_agent: 100000}}
"""

#: the outputs the page shows (`marketsim analyze --output`)
OUTPUTS = ("adopters[ID,ecommerce]", "revenue[Shopee]", "revenue[Alibaba]")


def sweep_text(template, scenario_path):
    """The sweep file as run: the template with the scenario's path."""
    return template.format(scenario=scenario_path)


def run(cmd, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if p.returncode != 0:
        sys.stderr.write(f"exploring.py: {' '.join(cmd)} failed "
                         f"(exit {p.returncode}):\n{p.stderr}")
        sys.exit(1)
    return p.stdout


def analyze_args(path):
    args = ["analyze", path]
    for o in OUTPUTS:
        args += ["--output", o]
    return args


def fmt_ci(v, lo, hi, digits=2):
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_g(v):
    return f"{v:.3g}"


def sobol_table(s):
    rows = ["| output | parameter | S1 [95% interval] | ST [95% interval] |",
            "|---|---|---|---|"]
    t = s.isel(time=-1)
    for o in OUTPUTS:
        for k, p in enumerate(s.parameter.values):
            x = t.sel(output=o, parameter=p)
            rows.append(f"| {o if k == 0 else ''} | `{p}` | "
                        f"{fmt_ci(float(x.S1), float(x.S1_low), float(x.S1_high))} | "
                        f"{fmt_ci(float(x.ST), float(x.ST_low), float(x.ST_high))} |")
    return "\n".join(rows)


def morris_table(s):
    rows = ["| output | parameter | mu* [95% interval] | mu | sigma | units |",
            "|---|---|---|---|---|---|"]
    t = s.isel(time=-1)
    for o in OUTPUTS:
        order = sorted(s.parameter.values,
                       key=lambda p: -float(t.mu_star.sel(output=o, parameter=p)))
        units = str(t.output_units.sel(output=o).values)
        for k, p in enumerate(order):
            x = t.sel(output=o, parameter=p)
            rows.append(f"| {o if k == 0 else ''} | `{p}` | "
                        f"{fmt_g(float(x.mu_star))} [{fmt_g(float(x.mu_star_low))}, "
                        f"{fmt_g(float(x.mu_star_high))}] | {fmt_g(float(x.mu))} | "
                        f"{fmt_g(float(x.sigma))} | {units} |")
    return "\n".join(rows)


def noise_line(s):
    t = s.isel(time=-1)
    return ", ".join(f"{o} {float(t.noise_share.sel(output=o)):.2f}" for o in OUTPUTS)


def parameters_section(exe, workdir, threads):
    """The "Which parameters matter" section, from two sweeps in workdir."""
    import marketsim as ms

    scen = os.path.join(ROOT, SCENARIO)
    exe = os.path.abspath(exe)
    for name, template in (("screening", SCREENING), ("sobol", SOBOL)):
        with open(os.path.join(workdir, f"{name}.yaml"), "w") as f:
            f.write(sweep_text(template, scen))
        # Relative names, as a reader types them (analyze prints the path).
        run([exe, "sweep", f"{name}.yaml", "-o", f"{name}.h5", "-q",
             "--threads", str(threads)], cwd=workdir)
    run([exe, *analyze_args("screening.h5"), "-q"], cwd=workdir)
    table = run([exe, *analyze_args("sobol.h5")], cwd=workdir)
    mo = ms.sensitivity(os.path.join(workdir, "screening.h5"))
    so = ms.sensitivity(os.path.join(workdir, "sobol.h5"))
    year = float(so.time.values[-1])
    k_m, k_s = mo.sizes["parameter"], so.sizes["parameter"]
    r = int(mo.attrs["trajectories"])
    n = int(so.attrs["base_samples"])
    show = lambda t: sweep_text(t, "../sea_expansion.yaml")  # noqa: E731
    # Lines of analyze's own table, as a reader will see them.
    head = "\n".join(table.rstrip("\n").split("\n")[:6])
    return f"""## Which parameters matter

A sweep over ranges says what happens across them; a sensitivity analysis
says which of the ranges it was that mattered. Two designs answer it, and
`marketsim analyze SWEEP.h5` computes their indices from the finished
sweep, prints them and writes them into the file as `/sensitivity`
(docs/OUTPUT.md):

- **`design: morris`** (screening): r trajectories that move one
  parameter at a time across a grid. Cheap, r (k + 1) points for k
  parameters, and good at one question: which parameters do nothing?
  Its mu* is the mean size of a parameter's effect on an output (over
  the parameter's whole range, in the output's units), sigma the spread
  of those effects (large when the parameter interacts with others or
  acts nonlinearly).
- **`design: saltelli`** (Sobol indices): N base rows, N (k + 2) points.
  The first-order index S1 of a parameter is the share of the output's
  variance it explains alone; the total index ST the share it has a hand
  in, alone or with others. ST near 0: the parameter can be fixed
  anywhere in its range. ST much larger than S1: it acts through
  interactions. The sum of the S1 is at most 1; what is missing is
  interaction.

Both come with bootstrap confidence intervals (1000 resamples of the base
rows or trajectories, 95% by default: `--resamples`, `--confidence`,
`--seed`). An interval that is too wide to tell two parameters apart
means the design is too small: double `samples` (it must stay a power of
2) or add trajectories, and sweep again.

### The example: e-commerce in Southeast Asia

`{SCENARIO}` (Alibaba buying, Tencent investing and ClubFactory
localizing against Shopee, Lazada and local firms, 2016 to 2021) at
100,000 people per agent, so that the {r * (k_m + 1)} + {n * (k_s + 2) * 2}
runs below take a couple of minutes on two cores. The question: what
drives e-commerce adoption in Indonesia and the revenue of Shopee and
Alibaba by {year:g} (the last record)?

First the screening, {k_m} parameters, {r} trajectories, {r * (k_m + 1)} runs
(`scenarios/sweeps/`-relative paths, as in docs/SWEEPS.md):

```yaml
{show(SCREENING)}```

```sh
marketsim sweep screening.yaml -o screening.h5
marketsim analyze screening.h5 --output 'adopters[ID,ecommerce]' \\
    --output 'revenue[Shopee]' --output 'revenue[Alibaba]'
```

Each scalar output is a dataset at one combination of its coordinates,
in the order of its dimensions: `adopters[ID,ecommerce]` is
`adopters[market=ID, category=ecommerce]`, `revenue[Shopee]` is
`revenue[firm=Shopee]`; `adopters[*,ecommerce]` takes every market.
Without `--output` every output that varies is analyzed; `--at 2019,2021`
picks other record times than the last.

Morris measures at {year:g}, parameters by mu* (largest first):

{morris_table(mo)}

A parameter whose mu* interval reaches 0, with a small sigma, is a
candidate to fix: within its range it does little to that output. The
Sobol sweep then measures the variance shares of four of the parameters
(strong and weak ones), with 2 replications per point ({n} x ({k_s} + 2)
x 2 = {n * (k_s + 2) * 2} runs):

```yaml
{show(SOBOL)}```

`marketsim analyze sobol.h5 ...` prints (first lines):

```
{head}
```

Sobol indices at {year:g}:

{sobol_table(so)}

Noise share (the share of the variance of single runs that lies between
the replications of a point): {noise_line(so)}. The indices are those of
the mean over the replications, so noise makes them uncertain but does
not turn into a share of its own; a large noise share asks for more
replications rather than more base rows.

With N = {n} base rows the intervals are wide, and an estimate can fall
a little outside [0, 1] (an S1 above 1 or below 0): the interval, not the
point, is the result. Doubling `samples` narrows them by about 1/sqrt(2).

How to read it: a parameter whose ST interval holds 0 (or lies close to
it) does not move that output within its range, whatever the others do;
one whose S1 is close to its ST acts alone; S1 well below ST means it
acts through the others. The runs an index compares share their seeds
(common random numbers, docs/SWEEPS.md), so an inert parameter gets an
index of exactly 0, not noise.

In Python:

```python
import marketsim as ms
from marketsim import plot
s = ms.sensitivity("sobol.h5")          # xarray: S1, ST, ... over output, parameter, time
s.ST.sel(output="revenue[Shopee]").isel(time=-1).to_series()
plot.sensitivity_figure(s, outputs=["revenue[Shopee]"]).savefig("st.png")
```
"""


def main(argv=None):
    p = argparse.ArgumentParser(prog="scripts/exploring.py",
                                description="Write docs/EXPLORING.md from "
                                "sweeps of a seed scenario.")
    p.add_argument("-o", "--output", default=os.path.join(ROOT, "docs", "EXPLORING.md"))
    p.add_argument("--workdir", help="keep the sweep files here (default: a "
                   "temporary folder, removed)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    exe = os.environ.get("MARKETSIM") or os.path.join(ROOT, "build", "marketsim")
    if not os.access(exe, os.X_OK):
        print(f"exploring.py: no marketsim at {exe}: run `make build` or set "
              f"MARKETSIM", file=sys.stderr)
        return 2
    workdir = args.workdir or tempfile.mkdtemp(prefix="ms-exploring-")
    os.makedirs(workdir, exist_ok=True)
    try:
        parts = ["""# Exploring a model

<!-- Generated by `make exploring` (scripts/exploring.py); do not edit. -->

A model a researcher can trust is one whose answers are known to depend on
what they should, with known uncertainty. This page shows, on a seed
scenario, the commands that answer "which parameters matter" and (where
available) "how sure is this fit". The figures below come from the runs
made when the page was generated: the same binary and commands give the
same figures, bit for bit.
""", parameters_section(exe, workdir, args.threads)]
        try:
            import exploring_fit
        except ImportError:
            exploring_fit = None
        if exploring_fit is not None:
            parts.append(exploring_fit.section(exe, workdir))
        text = "\n".join(x.rstrip("\n") + "\n" for x in parts)
        with open(args.output, "w") as f:
            f.write(text)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
