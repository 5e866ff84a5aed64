#!/usr/bin/python3
"""Write docs/STRATEGIES.md: which strategy mix wins where, from a sweep.

Usage: scripts/strategies_report.py [--sweep FILE] [--jobs J] [--quick]
                                    [--keep FILE] [-o FILE]

Runs the sweep (default scenarios/sweeps/strategies.yaml: one expanding
firm with each pure strategy and the six 50/50 mixes, 20 replications
each) with `marketsim sweep SWEEP -q --threads J -o TMP`, and reads the
sweep file by dataset name (docs/OUTPUT.md, "The sweep file"). The firm
whose strategy is swept (the `firms.NAME.strategy` parameter) is found by
its name in each run. Per run it measures:

- value growth: the annual log growth of the firm's consolidated value
  (its own value plus the values of the firms its group owns; the value
  as recorded where the model already consolidates it, MODEL.md version
  2), from the first record with revenue to the last;
- abroad share: the share of its group's revenue earned outside its home
  market, at the last record;
- market share in each market: its group's users (the firm and the firms
  it owns) over the market's adopters, all categories, at the last record.

Per mix: mean and 95 % t interval over the replications; per measure the
best mix (largest mean) and, for every other mix, Welch's t-test against
the best (two-sided, Holm's correction over the mixes of a measure, 5 %).
`--quick` is a smoke test: 2 replications, 2 years, few agents.

The binary is $MARKETSIM, else build/marketsim. `make strategies` runs it.
Exit status: 0 page written, 1 the sweep failed, 2 usage errors.
"""
import argparse
import math
import os
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
DIMS = ("pdi", "idv", "mas", "uai")
VAR_DEFAULT = {"pdi": 463.4, "idv": 562.8, "mas": 375.6, "uai": 541.4}
ALPHA = 0.05
# model parameters that only MODEL.md version 2 (consolidated value) has
V2_KEYS = {"synergy", "target_min_age", "target_min_share", "divest_patience"}


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def mix_label(v):
    """`{experiment: 0.5, localize: 0.5}` -> `experiment 0.5 + localize 0.5`."""
    d = yaml.safe_load(v) if isinstance(v, str) else v
    if not isinstance(d, dict):
        return str(v)
    d = {k: float(x) for k, x in d.items() if float(x) > 0}
    if len(d) == 1:
        return next(iter(d))
    return " + ".join(f"{k} {x:g}" for k, x in d.items())


def heads_of(owner_t):
    """Ultimate owner of each firm at one record (-1 stays itself)."""
    n = len(owner_t)
    own = np.where((owner_t >= 0) & (owner_t < n), owner_t, np.arange(n)).astype(np.int64)
    head = own.copy()
    for _ in range(n):
        nxt = own[head]
        if np.array_equal(nxt, head):
            break
        head = nxt
    return head


def distance(sc, h, m):
    """Kogut-Singh cultural distance of the resolved scenario (or its
    explicit `distance` entries)."""
    mk = sc["markets"]
    for a, b in ((h, m), (m, h)):
        d = mk[a].get("distance")
        if isinstance(d, dict) and b in d:
            return float(d[b])
    if h == m:
        return 0.0
    model = sc.get("model", {}) or {}
    tot = 0.0
    for k in DIMS:
        if mk[h].get(k) is None or mk[m].get(k) is None:
            return math.nan
        tot += (float(mk[h][k]) - float(mk[m][k])) ** 2 / float(model.get("var_" + k, VAR_DEFAULT[k]))
    return tot / 4


def ci(v):
    v = np.asarray([x for x in v if np.isfinite(x)])
    if len(v) == 0:
        return math.nan, math.nan, 0
    if len(v) < 2:
        return float(v.mean()), math.nan, 1
    return (float(v.mean()),
            float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))),
            len(v))


def holm(pvals):
    """Holm-adjusted p-values (same order)."""
    p = np.asarray(pvals, dtype=float)
    order = np.argsort(p)
    adj = np.empty_like(p)
    run = 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (len(p) - rank) * p[i]))
        adj[i] = run
    return adj


def measure(path, firm_name):
    """Per-run measures and the setting: a dict."""
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        key = next(k for k in runs if k.startswith("firms.") and k.endswith(".strategy"))
        choice = runs[key][:].astype(int)
        values = text(runs[key].attrs["values"]).strip().split("\n")
        status = runs["status"][:]
        scen = yaml.safe_load(text(f["scenario"][()]))
        fg, mg = f["firm"], f["market"]
        markets = [text(x) for x in mg["market"][:]]
        t = f["firm/time"][:] if "time" in fg else mg["time"][:]
        # Sweep files key firms by identity: the firm coordinate names the
        # scenario's firms (older files held per-run names of firm slots).
        names = fg["name"][:] if "name" in fg else None
        firm_names = [text(x) for x in fg["firm"][:]]
        owner = fg["owner"][:].astype(np.int64)
        users = fg["users"][:]
        value = fg["value"][:]
        revenue = fg["revenue"][:]
        abroad = fg["abroad_share"][:] if "abroad_share" in fg else None
        adopters = mg["adopters"][:]
        sweep_text = text(f["sweep"][()])
        attrs = {k: text(v) for k, v in f.attrs.items()}
    consolidated = bool(V2_KEYS & set(scen.get("model") or {}))
    n_runs = len(choice)
    home = scen["firms"][firm_name]["home"]
    out = {"choice": choice, "values": values, "markets": markets, "home": home,
           "scenario": scen, "sweep_text": sweep_text, "attrs": attrs,
           "consolidated": consolidated, "done": status == 1,
           "growth": np.full(n_runs, np.nan), "abroad": np.full(n_runs, np.nan),
           "share": np.full((n_runs, len(markets)), np.nan), "time": t}
    for r in range(n_runs):
        if status[r] != 1:
            continue
        nm = [text(x) for x in names[r]] if names is not None else firm_names
        if firm_name not in nm:
            continue
        j = nm.index(firm_name)
        T = len(t)
        V = np.full(T, np.nan)
        for k in range(T):
            if consolidated:
                V[k] = value[r, k, j]
            else:
                head = heads_of(owner[r, k])
                grp = (head == j)
                V[k] = np.nansum(value[r, k, grp])
        base = next((k for k in range(T) if revenue[r, k, j] > 0), None)
        if base is not None and base < T - 1 and V[base] > 0 and V[-1] > 0:
            out["growth"][r] = math.log(V[-1] / V[base]) / (t[-1] - t[base])
        if abroad is not None:
            out["abroad"][r] = abroad[r, -1, j]
        head = heads_of(owner[r, -1])
        grp = head == j
        u = np.nansum(users[r, -1][grp], axis=(0, 2))          # market
        a = np.nansum(adopters[r, -1], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["share"][r] = np.where(a > 0, u / a, np.nan)
    return out


def analyse(m):
    """Columns: (title, unit, per-run array, digits, scale)."""
    cols = [("value growth", "log, 1/year", m["growth"], 3),
            ("abroad share", "", m["abroad"], 3)]
    for i, mk in enumerate(m["markets"]):
        cols.append((f"share {mk}" + (" (home)" if mk == m["home"] else ""), "",
                     m["share"][:, i], 3))
    res = []
    for title, unit, arr, d in cols:
        per = []
        for p in range(len(m["values"])):
            sel = (m["choice"] == p) & m["done"]
            per.append(arr[sel])
        stats_ = [ci(v) for v in per]
        means = np.array([s[0] for s in stats_])
        ok = np.isfinite(means)
        best = int(np.nanargmax(np.where(ok, means, -np.inf))) if ok.any() else None
        p_raw, others = [], []
        for p in range(len(per)):
            if best is None or p == best:
                continue
            a, b = per[best][np.isfinite(per[best])], per[p][np.isfinite(per[p])]
            if len(a) >= 2 and len(b) >= 2 and (a.std() > 0 or b.std() > 0):
                pv = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
            elif len(a) and len(b) and np.array_equal(np.unique(a), np.unique(b)):
                pv = 1.0
            else:
                pv = math.nan
            p_raw.append(pv)
            others.append(p)
        adj = {}
        fin = [i for i, x in enumerate(p_raw) if np.isfinite(x)]
        if fin:
            h = holm([p_raw[i] for i in fin])
            for i, x in zip(fin, h):
                adj[others[i]] = x
        res.append({"title": title, "unit": unit, "stats": stats_, "best": best,
                    "p": adj, "d": d})
    return res


def fmt(x, d):
    return "n/a" if not np.isfinite(x) else f"{x:.{d}f}"


def cell(s, d):
    m, h, _ = s
    if not np.isfinite(m):
        return "n/a"
    return fmt(m, d) + ("" if not np.isfinite(h) else f" ± {fmt(h, d)}")


def page(m, res, args, cmd, wall, firm_name):
    labels = [mix_label(v) for v in m["values"]]
    sc = m["scenario"]
    home = m["home"]
    reps = np.bincount(m["choice"][m["done"]], minlength=len(labels))
    L = ["# Which strategy mix wins where\n",
         "Generated by `make strategies` (scripts/strategies_report.py) from "
         "the sweep below; do not edit by hand. Every number, every \"best\" "
         "and every significance mark is computed from the sweep file.\n",
         "## How it was made\n",
         f"- Command: `{cmd}` (`make strategies`); the sweep: "
         f"`marketsim sweep {os.path.relpath(args.sweep, ROOT)}`.",
         f"- marketsim {m['attrs'].get('marketsim_version', '?')}, commit "
         f"{m['attrs'].get('git_commit', '?')}.",
         f"- Sweep seed {m['attrs'].get('sweep_seed', '?')}; run r's seed is "
         "`/runs/seed[r]` of the sweep file, derived from it (`marketsim run "
         "--seed` repeats one run alone).",
         f"- {len(labels)} mixes of `{firm_name}` (home {home}), "
         + (f"{int(reps.min())} to {int(reps.max())}" if len(reps) and reps.min() != reps.max()
            else f"{int(reps.max()) if len(reps) else 0}")
         + f" finished replications each; {int(m['done'].sum())} runs of "
         f"{len(m['done'])} done; wall time {wall:.0f} s "
         f"({args.jobs} thread(s)).",
         f"- Scenario `{os.path.relpath(os.path.join(os.path.dirname(args.sweep), yaml.safe_load(m['sweep_text'])['scenario']), ROOT)}`: "
         f"{sc['run']['steps'] * float(sc['run']['dt']):.3g} years ({sc['run']['steps']} "
         f"steps of {float(sc['run']['dt']):.4g} years), "
         f"people_per_agent {sc['run']['people_per_agent']:g}, a record every "
         f"{(sc.get('output') or {}).get('every', 1)} steps.",
         "- Value: " + ("the recorded value, consolidated by the model (MODEL.md "
                        "version 2)." if m["consolidated"] else
                        "the firm's value plus the values of the firms its group "
                        "owns (the recorded value is not consolidated in this "
                        "model version).")
         + " Growth is the annual log growth of this value from the first "
         "record where the firm has revenue to the last record.",
         "- Abroad share: `abroad_share` at the last record. Market share: the "
         "users of the firm's group (it and the firms it owns) over the "
         "market's adopters, all categories, at the last record.",
         "- Intervals: mean ± half-width of the 95 % t interval over "
         "replications. Significance: Welch's two-sided t-test of each mix "
         f"against the best mix of the measure, p-values adjusted by Holm's "
         f"method over the mixes of that measure, at {ALPHA:g}.\n",
         "### Markets\n",
         f"| market | population | openness | cultural distance from {home} | "
         "presence cost (USD/year) | firms at home |",
         "|---|---|---|---|---|---|"]
    for mk in m["markets"]:
        v = sc["markets"][mk]
        nf = sum(1 for f in sc["firms"].values() if f.get("home") == mk)
        L.append(f"| {mk} | {float(v['population']):.3g} | {float(v.get('openness', 1)):g} | "
                 f"{fmt(distance(sc, home, mk), 2)} | "
                 f"{float(v.get('presence_cost', 0)):.3g} | {nf} |")
    L.append("")
    L.append("### Firms\n")
    L.append("| firm | home | quality | cash (USD) | beta (1/year) | mix |")
    L.append("|---|---|---|---|---|---|")
    for name, fd in sc["firms"].items():
        q = ", ".join(f"{c} {float(v):g}" for c, v in (fd.get("quality") or {}).items())
        mix = "swept" if name == firm_name else mix_label(fd.get("strategy") or {})
        L.append(f"| {name} | {fd.get('home')} | {q} | {float(fd.get('cash', 0)):.3g} | "
                 f"{float(fd.get('beta', 0)):g} | {mix} |")
    L.append("")
    L.append("## Results by mix\n")
    head = "| mix | n | " + " | ".join(r["title"] + (f" ({r['unit']})" if r["unit"] else "")
                                      for r in res) + " |"
    L.append(head)
    L.append("|---|---|" + "---|" * len(res))
    for p, lab in enumerate(labels):
        cells = []
        for r in res:
            c = cell(r["stats"][p], r["d"])
            if r["best"] == p:
                c = f"**{c}**"
            cells.append(c)
        L.append(f"| {lab} | {int(reps[p])} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("Bold: the best mix of the column (largest mean).\n")
    L.append("## Which mix is best where\n")
    L.append("| measure | best mix | not significantly different from the best | "
             "significantly below the best (Holm-adjusted p) |")
    L.append("|---|---|---|---|")
    where = {}
    for mk in m["markets"]:
        v = sc["markets"][mk]
        where[mk] = (f"openness {float(v.get('openness', 1)):g}, cultural distance "
                     f"{fmt(distance(sc, home, mk), 2)}")
    for r in res:
        mk = r["title"].split()[1] if r["title"].startswith("share ") else None
        if mk in where and mk != home:
            r = dict(r, title=f"{r['title']} ({where[mk]})")
        if r["best"] is None:
            L.append(f"| {r['title']} | n/a | | |")
            continue
        same = [labels[p] for p, x in sorted(r["p"].items()) if x >= ALPHA]
        worse = [f"{labels[p]} ({x:.2g})" for p, x in sorted(r["p"].items(),
                                                              key=lambda kv: kv[1])
                 if x < ALPHA]
        untested = [labels[p] for p in range(len(labels))
                    if p != r["best"] and p not in r["p"]]
        s = ", ".join(same) or "none"
        if untested:
            s += "; not testable: " + ", ".join(untested)
        L.append(f"| {r['title']} | {labels[r['best']]} | {s} | {', '.join(worse) or 'none'} |")
    L.append("")
    L.append("## The sweep file\n")
    L.append("```yaml")
    L.append(m["sweep_text"].rstrip())
    L.append("```")
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run the strategy sweep and write docs/STRATEGIES.md.")
    ap.add_argument("--sweep", default=os.path.join(ROOT, "scenarios", "sweeps", "strategies.yaml"))
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="threads of the sweep (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 replications, 24 steps, few agents")
    ap.add_argument("--keep", help="keep the sweep file here")
    ap.add_argument("-o", "--output", default=os.path.join(ROOT, "docs", "STRATEGIES.md"))
    a = ap.parse_args(argv)
    a.sweep = os.path.abspath(a.sweep)
    exe = os.environ.get("MARKETSIM") or os.path.join(ROOT, "build", "marketsim")
    if not os.access(exe, os.X_OK):
        print(f"strategies_report: {exe}: no marketsim binary (build it, or set MARKETSIM)",
              file=sys.stderr)
        return 2
    try:
        with open(a.sweep, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        key = next(k for k in spec["parameters"] if k.startswith("firms.")
                   and k.endswith(".strategy"))
    except (OSError, yaml.YAMLError, KeyError, StopIteration, TypeError) as e:
        print(f"strategies_report: {a.sweep}: needs a sweep with a "
              f"firms.NAME.strategy parameter ({e})", file=sys.stderr)
        return 2
    firm_name = key[len("firms."):-len(".strategy")]
    cmd = "scripts/strategies_report.py" + (" --quick" if a.quick else "")
    if os.path.abspath(a.sweep) != os.path.join(ROOT, "scenarios", "sweeps", "strategies.yaml"):
        cmd += f" --sweep {os.path.relpath(a.sweep, ROOT)}"
    tmp = tempfile.mkdtemp(prefix="strategies.")
    try:
        sweep = a.sweep
        if a.quick:
            spec["scenario"] = os.path.join(os.path.dirname(a.sweep), spec["scenario"])
            spec["replications"] = 2
            spec["set"] = dict(spec.get("set") or {}, **{"run.steps": 24,
                                                         "run.people_per_agent": 200000})
            sweep = os.path.join(tmp, "quick.yaml")
            with open(sweep, "w", encoding="utf-8") as f:
                yaml.safe_dump(spec, f, sort_keys=False)
        out = os.path.join(tmp, "sweep.h5")
        t0 = time.time()
        r = subprocess.run([exe, "sweep", sweep, "-q", "--threads", str(a.jobs), "-o", out],
                           capture_output=True, text=True)
        wall = time.time() - t0
        if r.returncode != 0:
            print(f"strategies_report: marketsim sweep failed (exit {r.returncode}): "
                  f"{r.stderr.strip()}", file=sys.stderr)
            return 1
        if a.keep:
            shutil.copyfile(out, a.keep)
        m = measure(out, firm_name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = analyse(m)
    part = a.output + ".partial"    # the page appears whole or not at all
    with open(part, "w", encoding="utf-8") as f:
        f.write(page(m, res, a, cmd, wall, firm_name))
    os.replace(part, a.output)
    print(f"{os.path.relpath(a.output)} written ({int(m['done'].sum())} runs, {wall:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
