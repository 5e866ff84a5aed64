#!/usr/bin/python3
"""Write docs/FIRM-DYNAMICS.md: firm demography and growth in a generated world.

Usage: scripts/firm_dynamics.py [--seed S] [--reps N] [--years Y]
                                [--size revenue|users|value] [--jobs J]
                                [--scenario-out FILE] [--quick] [-o FILE]

1. Generate a world scenario from --seed (default 10; the same seed gives
   the same file, byte for byte): --markets markets (default 8) with random
   populations, Hofstede scores, openness and costs; two categories; --firms
   firms (default 40) with random homes, cash, qualities, budgets,
   boldness, strategy mixes (Dirichlet) and learning rules (fixed,
   roth_erev or imitate); local start-up entry on; --years years (default
   30) by month, one record a year. The scenario is written to a temporary
   folder (or to --scenario-out) and its parameters are printed in the page.
2. Run it --reps times (default 5) with run seeds 1..N
   (`marketsim run WORLD --seed k -q --threads 1 -o TMP`), --jobs at a time.
3. Measure, from the run files (datasets read by name, docs/OUTPUT.md):
   start-up survival at 1, 3 and 5 years, exits per year, start-ups
   acquired and their age at the deal, the Gibrat slope, the shape of the
   annual log growth distribution (excess kurtosis, Laplace against normal
   log-likelihood), the volatility scaling exponent beta and the size
   distribution (skewness, Hill estimate of the upper-tail exponent); each
   beside a published range, with a verdict and, outside the range, a
   mechanism note chosen by rule.

Firms are the slots with a non-empty name; start-ups are the firms that are
not in the scenario. Sizes are measured for independent group heads (firms
in business that own themselves); a group's size adds its subsidiaries'
(revenue, users; `value` as recorded where the model consolidates it,
MODEL.md version 2, else added up). Records before the first accounts (no
firm has revenue yet) are left out. `--quick` is a smoke test:
2 markets, 6 firms, 3 years, 1 replication, small agent counts.

The binary is $MARKETSIM, else build/marketsim. `make firm-dynamics` runs
it. Exit status: 0 page written, 1 a run failed, 2 usage errors.
"""
import argparse
import concurrent.futures as cf
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import yaml
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ("revenue", "users", "value")
# model parameters that only MODEL.md version 2 (consolidated value) has
V2_KEYS = {"synergy", "target_min_age", "target_min_share", "divest_patience"}
DIMS = ("pdi", "idv", "mas", "uai")


def sig(x, n=4):
    """x rounded to n significant digits (a plain float for YAML)."""
    if x == 0:
        return 0.0
    return float(f"{x:.{n - 1}e}")


# --------------------------------------------------------------------------
# The generated world

def world(seed, n_markets=8, n_firms=40, years=30, people_per_agent=10000.0,
          entry_rate=0.25):
    """The scenario as a dict: deterministic from seed (Python's Mersenne
    Twister, whose random() stream is stable across versions)."""
    r = random.Random(seed)
    markets, names = {}, [f"M{k + 1}" for k in range(n_markets)]
    for m in names:
        markets[m] = {
            "population": sig(10 ** r.uniform(7.3, 9.1)),
            **{d: round(r.uniform(10, 95)) for d in DIMS},
            "openness": round(r.uniform(0.2, 1.0), 2),
            "presence_cost": sig(10 ** r.uniform(6, 7.3)),
            "entry_cost": sig(10 ** r.uniform(7.5, 8.5)),
        }
    wealth = {m: r.uniform(0.1, 1.0) for m in names}  # arpu scale per market
    cats = {
        "marketplace": {"p": 0.02, "q": 0.4, "gamma": 1.2, "churn": 0.3,
                        "switching_cost": 0.5, "unit_cost": 6.0,
                        "arpu": 100.0, "ceiling": 0.7, "init": 0.25},
        "social": {"p": 0.01, "q": 0.6, "gamma": 0.8, "churn": 0.4,
                   "switching_cost": 0.3, "unit_cost": 2.0,
                   "arpu": 30.0, "ceiling": 0.6, "init": 0.05},
    }
    categories = {}
    for c, k in cats.items():
        categories[c] = {
            "p": k["p"], "q": k["q"], "gamma": k["gamma"], "churn": k["churn"],
            "switching_cost": k["switching_cost"], "unit_cost": k["unit_cost"],
            "arpu": {m: sig(k["arpu"] * wealth[m], 3) for m in names},
            "ceiling": {m: round(k["ceiling"] * r.uniform(0.6, 1.0), 2)
                        for m in names},
            "initial_adopters": {m: round(k["init"] * r.uniform(0.2, 1.0), 3)
                                 for m in names},
        }
    strategies = ("experiment", "localize", "acquire", "invest")
    learning = ("fixed", "fixed", "roth_erev", "imitate")
    firms = {}
    for i in range(n_firms):
        home = names[i % n_markets] if i < n_markets else r.choice(names)
        offer = [c for c in cats if r.random() < 0.7] or [r.choice(list(cats))]
        g = [r.gammavariate(1.0, 1.0) for _ in strategies]
        tot = sum(g)
        mix = {s: round(x / tot, 3) for s, x in zip(strategies, g)}
        mix[strategies[0]] = round(1 - sum(mix[s] for s in strategies[1:]), 3)
        firms[f"F{i + 1:02d}"] = {
            "home": home,
            "cash": sig(10 ** r.uniform(8, 10.3), 3),
            "quality": {c: round(r.uniform(0.0, 1.2), 2) for c in offer},
            "beta": round(r.uniform(0.05, 0.3), 3),
            "boldness": round(r.uniform(0.5, 2.0), 2),
            "strategy": mix,
            "learning": r.choice(learning),
        }
    return {
        "description": f"Generated world: {n_markets} markets, {n_firms} firms, "
                       f"start-up entry, {years} years (world seed {seed}).",
        "run": {"steps": 12 * years, "dt": "1/12", "seed": 1,
                "people_per_agent": people_per_agent, "start_year": 2000},
        # Entrants are heterogeneous (Jovanovic 1982): on average well below
        # the best local firm, with a wide spread, so a few are good and
        # most are not; seed money of about a year of a median market's
        # presence cost, so that one that does not win users runs out.
        "model": {"entry_rate": entry_rate, "entry_cash": 8.0e6,
                  "entry_gap": 1.5, "entry_sd": 1.0,
                  "entry_beta": 0.2, "cost_experiment": 5.0e7,
                  "max_entrants": int(math.ceil(entry_rate * n_markets
                                                * len(cats) * years * 2 + 20))},
        "output": {"every": 12},
        "markets": markets,
        "categories": categories,
        "firms": firms,
    }


def write_world(w, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Generated by scripts/firm_dynamics.py; do not edit.\n")
        yaml.safe_dump(w, f, sort_keys=False, default_flow_style=None,
                       width=100)


# --------------------------------------------------------------------------
# Reading a run

def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def heads_of(owner_t):
    """Ultimate owner of each firm at one record (-1 stays -1)."""
    head = owner_t.astype(np.int64).copy()
    n = len(head)
    for _ in range(n):
        ok = (head >= 0) & (head < n)
        nxt = head.copy()
        nxt[ok] = owner_t[head[ok]]
        nxt[ok & (nxt < 0)] = head[ok & (nxt < 0)]
        if np.array_equal(nxt, head):
            break
        head = nxt
    return head


def read_run(path, scenario_firms, size):
    """What the measures need from one run file, as plain arrays."""
    with h5py.File(path, "r") as f:
        fg = f["firm"]
        names = np.array([text(x) for x in fg["firm"][:]])
        time_ = f["market/time"][:] if "market/time" in f else fg["time"][:]
        alive = fg["alive"][:].astype(np.int64)          # time, firm
        owner = fg["owner"][:].astype(np.int64)
        if size == "users":
            own = fg["users"][:]
            own = np.nansum(own.reshape(own.shape[0], own.shape[1], -1), axis=2)
        else:
            own = fg[size][:]
        rev = fg["revenue"][:] if "revenue" in fg else None
        if "events/kind" in f:   # events as columns over an `event` dimension
            g = f["events"]
            events = [{"kind": k, "actor": a, "target": b, "time": t}
                      for k, a, b, t in zip(g["kind"][:], g["actor"][:],
                                            g["target"][:], g["time"][:])]
        else:                     # older files: one compound table
            events = f["events/events"][:] if "events/events" in f else None
        scen = yaml.safe_load(text(f["scenario"][()])) if "scenario" in f else {}
        prov = (text(f.attrs.get("marketsim_version", "?")),
                text(f.attrs.get("git_commit", "?")))
    # MODEL.md version 2 records consolidated values (it has `synergy`);
    # before it, a group's value is the sum over the firms it owns.
    consolidated = bool(V2_KEYS & set(((scen or {}).get("model") or {})))
    keep = np.array([bool(n) for n in names]) & (alive != -1).any(axis=0)
    idx = np.flatnonzero(keep)
    T = len(time_)
    # group size of each independent head at each record
    S = np.full((T, len(names)), np.nan)
    for t in range(T):
        if rev is not None and not (np.nan_to_num(rev[t]) > 0).any():
            continue  # no accounts yet (record 0 before MODEL.md version 2)
        a = alive[t] == 1
        head = heads_of(np.where(owner[t] >= 0, owner[t], np.arange(len(names))))
        indep = a & (head == np.arange(len(names)))
        vals = np.nan_to_num(own[t], nan=0.0)
        if size == "value" and consolidated:
            S[t, indep] = vals[indep]
        else:
            agg = np.zeros(len(names))
            m = a & (head >= 0)
            np.add.at(agg, head[m], vals[m])
            S[t, indep] = agg[indep]
    # birth, exit and acquisition times (events, else the records)
    birth, death, bought = {}, {}, {}
    pos = {n: i for i, n in enumerate(names) if n}
    if events is not None and len(events):
        for e in events:
            kind = text(e["kind"])
            actor, target = text(e["actor"]), text(e["target"])
            t = float(e["time"])
            if kind == "entry" and actor in pos:
                birth.setdefault(pos[actor], t - 0.0)
            elif kind == "exit" and actor in pos:
                death.setdefault(pos[actor], t)
            elif kind == "acquisition" and target in pos:
                bought.setdefault(pos[target], t)
    for j in idx:
        col = alive[:, j]
        if j not in birth:
            born = np.flatnonzero(col != -1)
            birth[j] = float(time_[born[0]])
        if j not in death:
            dead = np.flatnonzero(col == 0)
            if len(dead):
                death[j] = float(time_[dead[0]])
        if j not in bought:
            ch = np.flatnonzero((owner[:, j] >= 0) & (owner[:, j] != j)
                                & (col == 1))
            if len(ch):
                bought[j] = float(time_[ch[0]])
    startups = [j for j in idx if names[j] not in scenario_firms]
    n_alive = (alive[:, idx] == 1).sum(axis=1)
    return {"names": names, "idx": idx, "time": time_, "S": S,
            "consolidated": consolidated, "provenance": prov,
            "birth": birth, "death": death, "bought": bought,
            "startups": startups, "n_alive": n_alive,
            "t0": float(time_[0]), "t_end": float(time_[-1])}


# --------------------------------------------------------------------------
# Measures

def survival(run, age):
    """(survivors, cohort): start-ups born at least `age` years before the
    end, and those of them still in business `age` years after birth."""
    coh = [j for j in run["startups"] if run["birth"][j] <= run["t_end"] - age + 1e-9]
    surv = [j for j in coh
            if not (j in run["death"] and run["death"][j] < run["birth"][j] + age - 1e-9)]
    return len(surv), len(coh)


def growth_obs(run):
    """(log size at t, log growth t -> t+1) of independent heads with
    positive size at both records, one-year steps; growth demeaned by year."""
    S, tt = run["S"], run["time"]
    xs, gs = [], []
    for t in range(len(tt) - 1):
        if abs(tt[t + 1] - tt[t] - 1.0) > 1e-6:
            continue
        a, b = S[t], S[t + 1]
        ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
        if ok.sum() < 3:
            continue
        g = np.log(b[ok]) - np.log(a[ok])
        xs.append(np.log(a[ok]))
        gs.append(g - g.mean())
    if not xs:
        return np.array([]), np.array([])
    return np.concatenate(xs), np.concatenate(gs)


def gibrat(x, g):
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan
    return float(np.polyfit(x, g, 1)[0])


def kurtosis(g):
    return float(stats.kurtosis(g, fisher=True, bias=False)) if len(g) > 3 else math.nan


def laplace_minus_normal(g):
    """Mean log-likelihood per observation, Laplace minus normal (both by
    maximum likelihood)."""
    if len(g) < 3:
        return math.nan
    s2 = np.var(g)
    b = np.mean(np.abs(g - np.median(g)))
    if s2 <= 0 or b <= 0:
        return math.nan
    ll_n = -0.5 * math.log(2 * math.pi * s2) - 0.5
    ll_l = -math.log(2 * b) - 1.0
    return ll_l - ll_n


def vol_beta(x, g, bins=8):
    """beta in sd(g | S) ~ S^-beta: slope of log sd against mean log size
    over equal-count size bins (residuals of the Gibrat fit)."""
    if len(x) < 4 * bins:
        bins = max(2, len(x) // 4)
    if len(x) < 8:
        return math.nan
    b = gibrat(x, g)
    r = g - b * (x - x.mean())
    order = np.argsort(x)
    lx, ls = [], []
    for part in np.array_split(order, bins):
        if len(part) >= 3 and np.std(r[part], ddof=1) > 0:
            lx.append(x[part].mean())
            ls.append(math.log(np.std(r[part], ddof=1)))
    if len(lx) < 2:
        return math.nan
    return float(-np.polyfit(lx, ls, 1)[0])


def final_sizes(run):
    s = run["S"][-1]
    return s[np.isfinite(s) & (s > 0)]


def hill(s, frac=0.25, kmin=5):
    """Hill estimate of the Pareto exponent from the top k sizes."""
    s = np.sort(s)[::-1]
    k = max(kmin, int(frac * len(s)))
    if len(s) <= k:
        return math.nan
    return float(k / np.sum(np.log(s[:k] / s[k])))


def skew(v):
    return float(stats.skew(v, bias=False)) if len(v) > 3 else math.nan


def ci(vals):
    """(mean, half-width of the 95 % t interval) over replications."""
    v = np.array([x for x in vals if np.isfinite(x)])
    if len(v) == 0:
        return math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1)
                                  * v.std(ddof=1) / math.sqrt(len(v)))


# --------------------------------------------------------------------------
# Published ranges and mechanism notes (chosen by rule, never by hand)

RANGES = {
    "surv1": (0.70, 0.90, "about 80 % survive the first year (US BLS Business Employment Dynamics: year-on-year survival 81-83 %, Knaup 2005)"),
    "surv3": (0.50, 0.75, "54-66 % survive three years (BLS BED: 66 % at two years, 44 % at four, Knaup 2005)"),
    "surv5": (0.40, 0.60, "about half survive five years (BLS BED: 45 % of new establishments gone within five years; 1998 cohort lower, Knaup and Piazza 2007)"),
    "exit_rate": (0.05, 0.12, "about 8-10 % of firms exit a year (US Census Business Dynamics Statistics)"),
    "bought1": (0.0, 0.25, "fewer than a quarter bought within a year of birth (acceptance bound of MODEL.md version 2, issue 10)"),
    "gibrat": (-0.10, 0.01, "about 0 (Gibrat's law) to slightly negative (Evans 1987; Hall 1987)"),
    "kurt": (1.0, math.inf, "tent-shaped, fat tails: well above 0 (Laplace: 3; Stanley et al. 1996)"),
    "dll": (0.0, math.inf, "Laplace fits better than normal: > 0 (Stanley et al. 1996; Bottazzi and Secchi 2006)"),
    "beta": (0.12, 0.23, "0.15-0.2 (Stanley et al. 1996; Amaral et al. 1997)"),
    "skew": (1.0, math.inf, "strongly right-skewed: well above 0"),
    "zipf": (0.8, 1.2, "near 1 (Axtell 2001: 1.06)"),
}

NOTES = {
    ("surv1", "high"): "exit",
    ("surv3", "high"): "exit",
    ("surv5", "high"): "exit",
    ("surv1", "low"): "weak_entrant",
    ("surv3", "low"): "weak_entrant",
    ("surv5", "low"): "weak_entrant",
    ("exit_rate", "low"): "exit",
    ("exit_rate", "high"): "weak_entrant",
    ("bought1", "high"): "cheap_target",
    ("gibrat", "high"): "network",
    ("gibrat", "low"): "saturation",
    ("kurt", "low"): "many_small",
    ("dll", "low"): "many_small",
    ("beta", "low"): "firm_wide",
    ("beta", "high"): "independent_units",
    ("skew", "low"): "similar",
    ("zipf", "high"): "similar",
    ("zipf", "low"): "concentration",
}

MECHANISMS = {
    "owned": "Most start-ups are acquired, and an acquired firm is funded by "
             "its group rather than left to run out of cash: survival is high "
             "and exits are rare because acquisition replaces exit.",
    "exit": "A firm leaves only after `exit_patience` steps of negative cash "
            "(MODEL.md section 2, step 4): a start-up whose entry cash covers its "
            "losses for years, or that a group owns and keeps, stays in business, "
            "so exits come late and rarely.",
    "weak_entrant": "Start-ups enter `entry_gap` below the best local quality with "
                    "a fixed `entry_cash`; against network effects and switching "
                    "costs few win enough users to cover presence and serving "
                    "costs before the cash runs out.",
    "cheap_target": "Acquirers pick targets where a young firm is cheap: until it "
                    "has revenue a start-up's value is mostly its entry cash, so "
                    "deals come soon after birth.",
    "network": "Network effects (`gamma`) raise the utility of large firms, so "
               "large firms gain share faster than small ones: growth rises "
               "with size.",
    "saturation": "Adoption saturates at the ceiling (Bass diffusion): large "
                  "firms in mature markets can grow only by taking share, while "
                  "small firms and entrants ride the adoption wave, so growth "
                  "falls steeply with size.",
    "many_small": "Growth is the sum of many small independent consumer "
                  "decisions, which averages to a near-normal distribution; a "
                  "tent shape needs lumpy firm-level shocks (experiments, deals, "
                  "market entries) to dominate.",
    "firm_wide": "Volatility does not fall with size when growth is driven by "
                 "firm-wide shocks (an experiment moves quality in every market "
                 "at once; a deal moves the whole group), not by independent "
                 "sub-units.",
    "independent_units": "Large groups' growth averages many independent "
                         "markets and consumer decisions; beta near 0.5 is the "
                         "limit of independent sub-units, with too little "
                         "correlated firm-wide shock.",
    "similar": "Sizes are bounded by market populations and ceilings and the "
               "firms start at similar scales, so the upper tail is thin.",
    "concentration": "Network effects and acquisitions concentrate markets in "
                     "a few groups, so the upper tail is heavier than Zipf.",
}


def verdict(key, mean, half, bought=math.nan):
    """(verdict, note key); a high survival or low exit rate gets the note
    on acquisitions when at least half of the start-ups were bought."""
    lo, hi, _ = RANGES[key]
    if not np.isfinite(mean):
        return "n/a", None
    if lo <= mean <= hi:
        return "inside", None
    side = "low" if mean < lo else "high"
    note = NOTES.get((key, side))
    if note == "exit" and np.isfinite(bought) and bought >= 0.5:
        note = "owned"
    if np.isfinite(half) and mean - half <= hi and mean + half >= lo:
        return "outside, CI overlaps", note
    return "outside", note


# --------------------------------------------------------------------------

def run_one(exe, scenario, seed, out):
    cmd = [exe, "run", scenario, "--seed", str(seed), "-q", "--threads", "1",
           "-o", out]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return time.time() - t0


def fmt(v, d=3):
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.{d}f}"


def fmt_ci(m, h, d=3):
    if not np.isfinite(m):
        return "n/a"
    return fmt(m, d) + ("" if not np.isfinite(h) else f" ± {fmt(h, d)}")


def rng_text(key):
    lo, hi, _ = RANGES[key]
    if hi == math.inf:
        return f"> {lo:g}"
    return f"{lo:g} to {hi:g}"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate a world, run it and write docs/FIRM-DYNAMICS.md.")
    ap.add_argument("--seed", type=int, default=10, help="world seed (default 10)")
    ap.add_argument("--reps", type=int, default=5, help="replications (run seeds 1..N; default 5)")
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--markets", type=int, default=8)
    ap.add_argument("--firms", type=int, default=40)
    ap.add_argument("--people-per-agent", type=float, default=10000.0)
    ap.add_argument("--entry-rate", type=float, default=0.25,
                    help="start-ups per market and category per year")
    ap.add_argument("--size", choices=SIZES, default="revenue",
                    help="size measure (default revenue: consolidated group revenue)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--scenario-out", help="also keep the generated scenario here")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 markets, 6 firms, 3 years, 1 replication")
    ap.add_argument("-o", "--output", default=os.path.join(ROOT, "docs", "FIRM-DYNAMICS.md"))
    a = ap.parse_args(argv)
    if a.quick:
        a.reps, a.years, a.markets, a.firms = 1, 3, 2, 6
        a.people_per_agent, a.entry_rate = max(a.people_per_agent, 1e6), 2.0
    if a.reps < 1 or a.years < 1 or a.markets < 1 or a.firms < 1:
        ap.error("--reps, --years, --markets and --firms must be at least 1")
    exe = os.environ.get("MARKETSIM") or os.path.join(ROOT, "build", "marketsim")
    if not os.access(exe, os.X_OK):
        print(f"firm_dynamics: {exe}: no marketsim binary (build it, or set MARKETSIM)",
              file=sys.stderr)
        return 2

    w = world(a.seed, a.markets, a.firms, a.years, a.people_per_agent, a.entry_rate)
    tmp = tempfile.mkdtemp(prefix="firm_dynamics.")
    t_start = time.time()
    try:
        scen = os.path.join(tmp, "world.yaml")
        write_world(w, scen)
        if a.scenario_out:
            shutil.copyfile(scen, a.scenario_out)
        seeds = list(range(1, a.reps + 1))
        outs = [os.path.join(tmp, f"run{s}.h5") for s in seeds]
        try:
            with cf.ThreadPoolExecutor(a.jobs) as ex:
                walls = list(ex.map(lambda so: run_one(exe, scen, *so), zip(seeds, outs)))
        except RuntimeError as e:
            print(f"firm_dynamics: {e}", file=sys.stderr)
            return 1
        runs = [read_run(o, set(w["firms"]), a.size) for o in outs]
        others = {z: [read_run(o, set(w["firms"]), z) for o in outs]
                  for z in SIZES if z != a.size}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.time() - t_start
    page = report(a, w, runs, seeds, walls, elapsed, others)
    part = a.output + ".partial"    # the page appears whole or not at all
    with open(part, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(part, a.output)
    print(f"{os.path.relpath(a.output)} written ({len(runs)} runs, {elapsed:.0f} s)")
    return 0


def size_stats(runs):
    """Growth and size measures per replication: key -> list."""
    out = {}
    for r in runs:
        x, g = growth_obs(r)
        s = final_sizes(r)
        for k, v in (("gibrat", gibrat(x, g)), ("kurt", kurtosis(g)),
                     ("dll", laplace_minus_normal(g)), ("beta", vol_beta(x, g)),
                     ("skew", skew(s)), ("zipf", hill(s))):
            out.setdefault(k, []).append(v)
    return out


def report(a, w, runs, seeds, walls, elapsed, others=None):
    rows = {}  # key -> per-replication values
    extra = {}

    def put(k, v):
        rows.setdefault(k, []).append(v)

    pooled_x, pooled_g, n_start, n_bought, ages = [], [], 0, 0, []
    exits_total, years_total = 0, 0.0
    for r in runs:
        for age, k in ((1, "surv1"), (3, "surv3"), (5, "surv5")):
            s, c = survival(r, age)
            put(k, s / c if c else math.nan)
            extra.setdefault(k + "_n", []).append(c)
        span = r["t_end"] - r["t0"]
        ex = sum(1 for j in r["idx"] if j in r["death"])
        exits_total += ex
        years_total += span
        put("exits", ex / span if span > 0 else math.nan)
        put("exit_rate", ex / span / np.mean(r["n_alive"]) if span > 0 else math.nan)
        st = r["startups"]
        b = [r["bought"][j] - r["birth"][j] for j in st if j in r["bought"]]
        n_start += len(st)
        n_bought += len(b)
        ages += b
        put("bought", len(b) / len(st) if st else math.nan)
        coh = [j for j in st if r["birth"][j] <= r["t_end"] - 1.0 + 1e-9]
        b1 = [j for j in coh if j in r["bought"]
              and r["bought"][j] - r["birth"][j] <= 1.0 + 1e-9]
        put("bought1", len(b1) / len(coh) if coh else math.nan)
        x, g = growth_obs(r)
        pooled_x.append(x)
        pooled_g.append(g)
        put("gibrat", gibrat(x, g))
        put("kurt", kurtosis(g))
        put("dll", laplace_minus_normal(g))
        put("beta", vol_beta(x, g))
        s = final_sizes(r)
        put("skew", skew(s))
        put("skewlog", skew(np.log(s)) if len(s) else math.nan)
        put("zipf", hill(s))
        put("nheads", len(s))
    px = np.concatenate(pooled_x) if pooled_x else np.array([])
    pg = np.concatenate(pooled_g) if pooled_g else np.array([])
    unit = {"revenue": "USD/year", "users": "people", "value": "USD"}[a.size]
    L = []
    L.append("# Firm dynamics in a generated world\n")
    L.append("Generated by `make firm-dynamics` (scripts/firm_dynamics.py); do not "
             "edit by hand. It generates a world scenario from a seed, runs it "
             "with several run seeds and sets the firm demography and growth "
             "statistics of the runs beside published ranges. The verdicts and "
             "the mechanism notes are chosen by rule from the numbers.\n")
    L.append("## How it was made\n")
    cmd = ("scripts/firm_dynamics.py" + (" --quick" if a.quick else "")
           + f" --seed {a.seed} --reps {a.reps} --years {a.years} --markets {a.markets}"
           f" --firms {a.firms} --people-per-agent {a.people_per_agent:g}"
           f" --entry-rate {a.entry_rate:g} --size {a.size}")
    L.append(f"- Command: `{cmd}` (`make firm-dynamics` runs it with the defaults).")
    L.append(f"- marketsim {runs[0]['provenance'][0]}, commit {runs[0]['provenance'][1]}.")
    L.append(f"- World seed {a.seed}; run seeds {', '.join(map(str, seeds))} "
             f"(`marketsim run WORLD --seed K`); `--scenario-out FILE` keeps the "
             "generated scenario.")
    L.append(f"- Wall time: {elapsed:.0f} s in all; runs "
             f"{', '.join(f'{x:.0f}' for x in walls)} s each (one thread, "
             f"{a.jobs} at a time).")
    L.append(f"- Size: {'consolidated group revenue (the revenue of a head and its subsidiaries)' if a.size == 'revenue' else 'group users over markets and categories' if a.size == 'users' else 'consolidated group value (as recorded, MODEL.md version 2)' if runs[0]['consolidated'] else 'group value (the values of a head and its subsidiaries added)'} "
             f"({unit}), of independent group heads only (firms in business "
             "that own themselves); records where no firm has revenue yet "
             "(no accounts) are left out. Growth is the annual log growth of a head "
             "between consecutive yearly records where it is an independent "
             "head with positive size at both, minus the mean growth of that "
             "year in that run (removing the common diffusion trend).")
    L.append("- Start-ups are the firms not in the scenario (local entrants). "
             "Survival at age a: of the start-ups born at least a years before "
             "the last record, the share not exited a years after birth (a "
             "start-up that was acquired and is still in business survives). "
             "Ages come from the event table (`entry`, `exit`, `acquisition`).")
    L.append("- Each figure is the mean over replications with a 95 % t "
             "interval (none with one replication). Verdict: inside when the "
             "mean is in the range.\n")
    L.append("### Scenario parameters\n")
    mo = w["model"]
    L.append(f"{a.markets} markets, {len(w['categories'])} categories "
             f"({', '.join(w['categories'])}), {a.firms} firms, {a.years} years "
             f"by month (dt 1/12), a record a year, people_per_agent "
             f"{a.people_per_agent:g}; entry_rate {mo['entry_rate']} per market "
             f"and category per year, entry_cash {mo['entry_cash']:g} USD, "
             f"entry_gap {mo['entry_gap']:g} and entry_sd {mo['entry_sd']:g} utils "
             "(heterogeneous entrants: most well below the best local firm, a "
             "few above it), "
             f"entry_beta {mo['entry_beta']}, cost_experiment "
             f"{mo['cost_experiment']:g} USD, max_entrants {mo['max_entrants']}; "
             "other model parameters at their defaults (docs/PARAMETERS.md).\n")
    L.append("| market | population | openness | PDI | IDV | MAS | UAI | presence cost (USD/year) | entry cost (USD) | arpu " +
             " / ".join(w["categories"]) + " (USD/user/year) | firms at home |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for m, v in w["markets"].items():
        arpu = " / ".join(f"{w['categories'][c]['arpu'][m]:g}" for c in w["categories"])
        nf = sum(1 for f in w["firms"].values() if f["home"] == m)
        L.append(f"| {m} | {v['population']:.3g} | {v['openness']} | {v['pdi']} | "
                 f"{v['idv']} | {v['mas']} | {v['uai']} | {v['presence_cost']:.3g} | "
                 f"{v['entry_cost']:.3g} | {arpu} | {nf} |")
    learn = {}
    for f in w["firms"].values():
        learn[f["learning"]] = learn.get(f["learning"], 0) + 1
    cash = [f["cash"] for f in w["firms"].values()]
    beta = [f["beta"] for f in w["firms"].values()]
    dom = {}
    for f in w["firms"].values():
        s = max(f["strategy"], key=f["strategy"].get)
        dom[s] = dom.get(s, 0) + 1
    L.append("")
    L.append(f"Firms: cash {min(cash):.3g} to {max(cash):.3g} USD, beta "
             f"{min(beta):g} to {max(beta):g} per year, boldness 0.5 to 2, "
             "strategy mixes drawn from a flat Dirichlet (largest weight: "
             + ", ".join(f"{k} {v}" for k, v in sorted(dom.items()))
             + "), learning " + ", ".join(f"{k} {v}" for k, v in sorted(learn.items()))
             + ".\n")
    L.append("## Results\n")
    L.append(f"Over {len(runs)} replication(s): {n_start} start-ups, "
             f"{n_bought} of them acquired, {exits_total} exits in "
             f"{years_total:.0f} run-years, {len(pg)} growth observations, "
             f"{fmt(np.mean(rows['nheads']), 0)} independent heads at the end "
             "(mean).\n")
    L.append("| measure | model (mean ± 95 % CI) | published | range used | verdict |")
    L.append("|---|---|---|---|---|")
    notes = []

    def line(label, key, d=3, ranged=True):
        m, h = ci(rows[key])
        if ranged and key in RANGES:
            v, note = verdict(key, m, h, ci(rows["bought"])[0])
            if note and note not in notes:
                notes.append(note)
            tag = v if not note else f"{v} [{notes.index(note) + 1}]"
            L.append(f"| {label} | {fmt_ci(m, h, d)} | {RANGES[key][2]} | "
                     f"{rng_text(key)} | {tag} |")
        else:
            L.append(f"| {label} | {fmt_ci(m, h, d)} | - | - | - |")

    for age, k in ((1, "surv1"), (3, "surv3"), (5, "surv5")):
        n = sum(extra[k + "_n"])
        line(f"start-up survival at {age} year{'s' if age > 1 else ''} (cohort {n})", k)
    line("exits per year (firms)", "exits", 2, ranged=False)
    line("exit rate (exits per year / firms in business)", "exit_rate")
    line("start-ups ever acquired (share)", "bought", ranged=False)
    line("start-ups acquired within a year of birth (share of those born a year before the end)", "bought1")
    line("Gibrat slope (log growth on log size)", "gibrat")
    line("excess kurtosis of log growth", "kurt", 2)
    line("Laplace minus normal log-likelihood (per observation)", "dll")
    line("volatility scaling beta (sd ~ S^-beta)", "beta")
    line("skewness of size (last record)", "skew", 2)
    line("skewness of log size (last record)", "skewlog", 2, ranged=False)
    line("upper-tail exponent (Hill, top quarter, last record)", "zipf")
    L.append("")
    if ages:
        q = np.percentile(ages, [25, 50, 75])
        L.append(f"Age of start-ups at acquisition (years, pooled): quartiles "
                 f"{q[0]:.2f}, {q[1]:.2f}, {q[2]:.2f}; "
                 f"{sum(1 for x in ages if x <= 1 + 1e-9)} of {len(ages)} within a year.\n")
    else:
        L.append("No start-up was acquired.\n")
    width = 5 if a.years >= 10 else 1
    t0 = runs[0]["t0"]
    edges = np.arange(0, a.years + width, width)
    cnt_exit = np.zeros(len(edges) - 1, dtype=int)
    cnt_birth = np.zeros(len(edges) - 1, dtype=int)
    for r in runs:
        for j in r["idx"]:
            if j in r["death"]:
                cnt_exit += np.histogram([r["death"][j] - t0], edges)[0]
        for j in r["startups"]:
            cnt_birth += np.histogram([r["birth"][j] - t0], edges)[0]
    L.append(f"By {width}-year period (years since the start, all replications):\n")
    L.append("| period | " + " | ".join(f"{int(lo)}-{int(hi)}" for lo, hi in
                                         zip(edges[:-1], edges[1:])) + " |")
    L.append("|---|" + "---|" * (len(edges) - 1))
    L.append("| start-ups born | " + " | ".join(map(str, cnt_birth)) + " |")
    L.append("| exits | " + " | ".join(map(str, cnt_exit)) + " |")
    L.append("")
    if len(pg) > 3:
        L.append(f"Pooled over replications: Gibrat slope {fmt(gibrat(px, pg))}, "
                 f"excess kurtosis {fmt(kurtosis(pg), 2)}, Laplace minus normal "
                 f"log-likelihood {fmt(laplace_minus_normal(pg))} per observation, "
                 f"beta {fmt(vol_beta(px, pg))}.\n")
    if others:
        L.append("### The other size measures\n")
        L.append("The growth and size measures with each size measure (same "
                 "runs; the verdicts above are for " + a.size + "):\n")
        tab = {a.size: size_stats(runs), **{z: size_stats(v) for z, v in others.items()}}
        order = [a.size] + [z for z in SIZES if z in others]
        L.append("| measure | range used | " + " | ".join(order) + " |")
        L.append("|---|---|" + "---|" * len(order))
        for k, lab in (("gibrat", "Gibrat slope"), ("kurt", "excess kurtosis"),
                       ("dll", "Laplace minus normal log-likelihood"),
                       ("beta", "volatility scaling beta"), ("skew", "skewness of size"),
                       ("zipf", "upper-tail exponent (Hill)")):
            cells = []
            for z in order:
                m, h = ci(tab[z][k])
                cells.append(f"{fmt_ci(m, h, 2 if k in ('kurt', 'skew') else 3)} "
                             f"({verdict(k, m, h)[0]})")
            L.append(f"| {lab} | {rng_text(k)} | " + " | ".join(cells) + " |")
        L.append("")
    L.append("## Mechanism notes\n")
    if notes:
        L.append("Chosen by rule for each measure outside its range (which side "
                 "it falls on selects the note); they name the model's "
                 "mechanism that pushes the measure that way.\n")
        for i, n in enumerate(notes):
            L.append(f"{i + 1}. {MECHANISMS[n]}")
        L.append("")
    else:
        L.append("Every measure with a range is inside it.\n")
    L.append("## Measures\n")
    L.append("- Exit rate: exits per run-year over the mean number of firms "
             "in business at the yearly records.")
    L.append("- Gibrat slope: least-squares slope of the (year-demeaned) log "
             "growth on the log size at the start of the year.")
    L.append("- Excess kurtosis: the unbiased sample estimate (0 for a normal "
             "distribution, 3 for Laplace). Laplace minus normal: the "
             "difference of the maximized mean log-likelihoods, "
             "-ln(2b) - 1 against -ln(2 pi s^2)/2 - 1/2, with b the mean "
             "absolute deviation from the median and s^2 the variance.")
    L.append("- beta: the residuals of the Gibrat fit are split into 8 "
             "equal-count bins of log size; beta is minus the slope of the "
             "log standard deviation on the mean log size of the bins.")
    L.append("- Hill exponent: k / sum ln(S_i / S_(k+1)) over the k largest "
             "heads, k a quarter of them (at least 5).")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
