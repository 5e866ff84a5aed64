"""The generated reports' scripts run and write the pages they promise.

- scripts/firm_dynamics.py: the world generator is deterministic from its
  seed (same seed, same scenario text; another seed, another world) and its
  world validates; `--quick` (2 markets, 6 firms, 3 years, 1 run) writes a
  page with the expected sections and one table row per measure, each with
  a verdict; what it reads from a run does not change when the firm
  dimension is cut to the firms that existed (no empty slots);
- scripts/strategies_report.py: `--quick` (the strategies sweep with 2
  replications of 24 steps) writes a page with a results row per mix of
  the sweep file and a "best" row per measure, and the mix named best for
  a measure has the largest mean in the results table; a sweep without a
  strategy parameter is refused with exit status 2.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
"""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import yaml

MS = os.environ["MARKETSIM"]
SRC = os.environ["MS_SOURCE_DIR"]
PY = sys.executable
failures = []
sys.path.insert(0, os.path.join(SRC, "scripts"))
import firm_dynamics  # noqa: E402


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def script(name, *args):
    env = dict(os.environ, MARKETSIM=MS)
    return subprocess.run([PY, os.path.join(SRC, "scripts", name), *args],
                          capture_output=True, text=True, env=env)


def table_rows(page, heading):
    """Rows (lists of cells) of the first table after `heading`."""
    part = page[page.find(heading):] if heading in page else ""
    rows = []
    for line in part.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # without header and rule


with tempfile.TemporaryDirectory() as tmp:
    # 1. The world generator: deterministic, seeds differ, valid scenario.
    a, b, c = (os.path.join(tmp, n) for n in ("a.yaml", "b.yaml", "c.yaml"))
    firm_dynamics.write_world(firm_dynamics.world(7), a)
    firm_dynamics.write_world(firm_dynamics.world(7), b)
    firm_dynamics.write_world(firm_dynamics.world(8), c)
    ta, tb, tc = (open(p).read() for p in (a, b, c))
    check(ta == tb, "same world seed gave different scenarios")
    check(ta != tc, "different world seeds gave the same scenario")
    w = yaml.safe_load(ta)
    check(len(w["markets"]) == 8 and len(w["firms"]) == 40,
          "default world is not 8 markets and 40 firms")
    check(w["model"]["entry_rate"] > 0, "default world has no start-up entry")
    check(w["run"]["steps"] == 360, "default world does not last 30 years by month")
    learn = {f["learning"] for f in w["firms"].values()}
    check(learn == {"fixed", "roth_erev", "imitate"},
          f"default world lacks some learning rules: {learn}")
    r = subprocess.run([MS, "validate", "-q", a], capture_output=True, text=True)
    check(r.returncode == 0, f"generated world does not validate: {r.stderr}")

    # 2. firm_dynamics.py --quick writes the page.
    out = os.path.join(tmp, "fd.md")
    kept = os.path.join(tmp, "world.yaml")
    r = script("firm_dynamics.py", "--quick", "-o", out, "--scenario-out", kept)
    check(r.returncode == 0, f"firm_dynamics.py --quick failed: {r.stderr}")
    page = open(out).read() if os.path.exists(out) else ""
    for h in ("# Firm dynamics in a generated world", "## How it was made",
              "### Scenario parameters", "## Results", "## Mechanism notes",
              "## Measures"):
        check(h in page, f"FIRM-DYNAMICS page lacks heading {h!r}")
    check("--seed 10" in page and "run seeds 1" in page,
          "FIRM-DYNAMICS page does not state its seeds")
    rows = table_rows(page, "| measure |")
    labels = [row[0] for row in rows]
    for want in ("start-up survival at 1 year", "start-up survival at 3 years",
                 "start-up survival at 5 years", "exit rate", "acquired within a year",
                 "Gibrat slope", "excess kurtosis", "Laplace minus normal",
                 "volatility scaling beta", "skewness of size", "upper-tail exponent"):
        check(any(want in l for l in labels), f"no row {want!r}")
    for row in rows:
        check(len(row) == 5, f"row {row[0]!r} has {len(row)} cells, not 5")
        if len(row) == 5 and row[3] != "-":
            check(re.match(r"^(inside|outside|n/a)", row[4]) is not None,
                  f"row {row[0]!r} has no verdict: {row[4]!r}")
    kw = yaml.safe_load(open(kept)) if os.path.exists(kept) else {}
    check(len(kw.get("markets", {})) == 2 and len(kw.get("firms", {})) == 6,
          "--quick world is not 2 markets and 6 firms")
    page_markets = [row[0] for row in table_rows(page, "| market |")]
    check(page_markets == list(kw.get("markets", {})),
          f"scenario table lists {page_markets}, the world has {list(kw.get('markets', {}))}")

    # 2b. The run file holds the firms as they existed (no empty slots,
    # unique names), and the generator's reading of it finds as start-ups
    # exactly the firms of the entry events, each born at its entry step.
    wq = firm_dynamics.world(10, 2, 6, 3, 1e6, 2.0)
    firm_dynamics.write_world(wq, os.path.join(tmp, "q.yaml"))
    full = os.path.join(tmp, "q.h5")
    r = subprocess.run([MS, "run", os.path.join(tmp, "q.yaml"), "-q", "--threads", "1",
                        "-o", full], capture_output=True, text=True)
    check(r.returncode == 0, f"quick world run failed: {r.stderr}")
    with h5py.File(full, "r") as f:
        names = [firm_dynamics.text(x) for x in f["firm/firm"][:]]
        g = f["events"]
        kinds = [firm_dynamics.text(x) for x in g["kind"][:]]
        actors = [firm_dynamics.text(x) for x in g["actor"][:]]
    check(all(names) and len(set(names)) == len(names),
          f"firm coordinate has empty or repeated names: {names}")
    entered = sorted(a for k, a in zip(kinds, actors) if k == "entry")
    check(len(entered) > 0, "the quick world had no entry")
    ra = firm_dynamics.read_run(full, set(wq["firms"]), "revenue")
    check(sorted(ra["names"][ra["startups"]]) == entered,
          "start-ups read differ from the entry events")

    # 3. strategies_report.py --quick writes the page.
    out = os.path.join(tmp, "st.md")
    r = script("strategies_report.py", "--quick", "-o", out)
    check(r.returncode == 0, f"strategies_report.py --quick failed: {r.stderr}")
    page = open(out).read() if os.path.exists(out) else ""
    for h in ("# Which strategy mix wins where", "## How it was made", "### Markets",
              "## Results by mix", "## Which mix is best where", "## The sweep file"):
        check(h in page, f"STRATEGIES page lacks heading {h!r}")
    spec = yaml.safe_load(open(os.path.join(SRC, "scenarios", "sweeps", "strategies.yaml")))
    mixes = spec["parameters"]["firms.Expander.strategy"]
    res = table_rows(page, "## Results by mix")
    check(len(res) == len(mixes), f"{len(res)} result rows for {len(mixes)} mixes")
    check(all(row[1] == "2" for row in res),
          f"--quick runs 2 replications per mix; the n column says {[r[1] for r in res]}")
    best = table_rows(page, "## Which mix is best where")
    header = [l for l in page.split("## Results by mix", 1)[-1].splitlines()
              if l.startswith("|")][:1]
    cols = [c.strip() for c in header[0].strip("|").split("|")][2:] if header else []
    check(len(best) == len(cols) and len(cols) >= 2 + 4,
          f"{len(best)} best rows for {len(cols)} measures (value, abroad, 4 markets)")
    for k, row in enumerate(best):
        if k >= len(cols) or row[1] == "n/a":
            continue
        means = []
        for rr in res:
            cell = rr[2 + k].strip("*")
            means.append(float(cell.split()[0]) if cell != "n/a" else float("-inf"))
        named = [rr[0] for rr in res]
        check(row[1] in named, f"best mix {row[1]!r} is not a mix of the sweep")
        if row[1] in named:
            check(means[named.index(row[1])] == max(means),
                  f"{row[0]}: best mix {row[1]} has not the largest mean")

    # 4. A sweep without a strategy parameter is refused.
    r = script("strategies_report.py", "--quick", "--sweep",
               os.path.join(SRC, "tests", "data", "sweeps", "lhs.yaml"),
               "-o", os.path.join(tmp, "bad.md"))
    check(r.returncode == 2 and "firms.NAME.strategy" in r.stderr,
          f"sweep without a strategy parameter: exit {r.returncode}, {r.stderr!r}")
    check(not os.path.exists(os.path.join(tmp, "bad.md")), "a page was written for a bad sweep")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")
