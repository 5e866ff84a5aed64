#!/usr/bin/python3
"""Write docs/SCENARIOS.md: what each shipped scenario reproduces, measured.

Usage: scripts/scenarios_report.py [--reps N] [--jobs J] [-o FILE] [SCENARIO ...]

For each shipped scenario (scenarios/*.yaml except default.yaml, or the
files given), run N replications (default 20) with seeds 1..N
(`marketsim run SCENARIO --seed k -q -o TMP`), read each run's /targets
(figure, measure, expected, simulated, tolerance) and write a Markdown
page with, per scenario: the question it asks (the `Question:` paragraph
of its header comment), the seed figures it cites (value, unit and source
document from seeds/figures.yaml), the calibrated parameters (its
`# calibrated:` lines), each calibrated parameter with its 95% interval
and identification diagnostics (`marketsim calibrate SCENARIO --no-fit
--intervals wald` over the ranges and with the replications of those
lines: the Jacobian of the targets at the calibrated values), a table of
its targets (expected, mean, sd,
min-max and tolerance over the replications, and whether the mean is
within the tolerance), and the firms' group revenue and abroad share at
the end. `make scenarios-report` runs it.

The binary is $MARKETSIM, else build/marketsim. Runs go to a temporary
folder that is removed afterwards. Exit status: 0 when the page is
written, 1 when a run fails, 2 on usage errors. It does not fail when a
target's mean misses (the page says so; tests/integration/test_scenarios.py
is the check).
"""
import argparse
import concurrent.futures as cf
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_])seed:([A-Za-z_][A-Za-z0-9_]*)")
FIGURE_KEY_RE = re.compile(r"^\s*(?:-\s+)?figure:\s*([A-Za-z0-9_]+)")
# `# calibrated: KEY = VALUE [UNIT] ([...; ]fitted in [LO, HI], ...)`
CAL_FREE_RE = re.compile(r"^(\S+) = (\S+)(?: [^(]*)? \((?:.*; )?fitted in \[([^,\]]+), ([^\]]+)\]")
CAL_REPS_RE = re.compile(r"(\d+) replications")


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def shipped(root):
    d = os.path.join(root, "scenarios")
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.endswith(".yaml") and f != "default.yaml")


def header(path):
    """The scenario file's leading comment block: (calibrated, question, title).

    `calibrated` are the `# calibrated:` lines (without the prefix),
    `question` the `Question:` paragraph joined into one line, `title` the
    first other comment line.
    """
    calibrated, block = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            body = line[1:].strip()
            if body.startswith("calibrated:"):
                calibrated.append(body[len("calibrated:"):].strip())
            else:
                block.append(body)
    title = next((b for b in block if b), "")
    question, on = [], False
    for b in block:
        if b.startswith("Question:"):
            on = True
            b = b[len("Question:"):].strip()
        elif on and not b:
            break
        if on:
            question.append(b)
    return calibrated, " ".join(question).strip(), title


def cited(path):
    """Figure ids the file cites, in order of first appearance, and which are targets."""
    ids, targets = [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            for m in SEED_TOKEN_RE.finditer(line):
                if m.group(1) not in ids:
                    ids.append(m.group(1))
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            m = FIGURE_KEY_RE.match(code)
            if m:
                targets.add(m.group(1))
                if m.group(1) not in ids:
                    ids.append(m.group(1))
    return ids, targets


def run_one(exe, scenario, seed, out):
    cmd = [exe, "run", scenario, "--seed", str(seed), "-q", "-o", out, "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    with h5py.File(out, "r") as f:
        g = f["targets"]
        tg = {k: [text(x) for x in g[k][()]] for k in ("target", "measure", "description", "unit")}
        for k in ("expected", "simulated", "tolerance", "min", "max"):
            tg[k] = np.asarray(g[k][()], dtype=float)
        firms = [text(x) for x in f["firm/firm"][()]]
        rev = f["firm/group_revenue"][-1, :]
        abroad = f["firm/abroad_share"][-1, :]
        end = float(f["firm/time"][-1])
        info = {"version": text(f.attrs.get("marketsim_version", "")),
                "commit": text(f.attrs.get("git_commit", "")),
                "wall": float(f.attrs.get("wall_seconds", 0.0)),
                "consumers": int(f.attrs.get("consumers", 0))}
    os.unlink(out)
    return tg, dict(zip(firms, zip(rev, abroad))), end, info


def calibrated_frees(calibrated):
    """The free parameters of `# calibrated:` lines: ([(key, lo, hi)], replications)."""
    frees, reps = [], 4
    for c in calibrated:
        m = CAL_FREE_RE.match(c)
        if m:
            frees.append((m.group(1), m.group(3), m.group(4)))
        elif c.startswith("by marketsim calibrate"):
            r = CAL_REPS_RE.search(c)
            # at most 4 (calibrate's default): the diagnosis costs (1 + 2n) R runs
            reps = min(4, max(2, int(r.group(1)))) if r else reps
    return frees, reps


def fit_diagnostics(exe, scenario, out):
    """Intervals and identification of the calibrated values: the record of
    `marketsim calibrate --no-fit --intervals wald` (None: not calibrated)."""
    frees, reps = calibrated_frees(header(scenario)[0])
    if not frees:
        return None
    cmd = [exe, "calibrate", scenario, "--no-fit", "--intervals", "wald", "--reps",
           str(reps), "--json", out, "-q", "--threads", "1"]
    for key, lo, hi in frees:
        cmd += ["--free", f"{key}={lo}:{hi}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    with open(out, encoding="utf-8") as f:
        rec = json.load(f)
    os.unlink(out)
    return rec


def fit_table(rec):
    """Markdown lines: each calibrated parameter with its interval."""
    if rec is None:
        return []
    lvl = f"{100 * rec['level']:g}%"
    out = ["", f"**How sure** (`marketsim calibrate --no-fit --intervals wald --reps "
           f"{rec['replications']}` at the calibrated values: {lvl} Wald intervals, "
           "value -+ z sd with sd from the Jacobian of the targets by the parameters, "
           "weights 1 / (variance across replications x (1 + 1/R) + tolerance^2); "
           "an end at the range's bound is marked ≤ / ≥; docs/CALIBRATION.md):", "",
           f"| parameter | unit | value | {lvl} interval | sd | range | pinned down |",
           "|---|---|---|---|---|---|---|"]
    for p in rec["parameters"]:
        lo, hi = p["interval"]
        blo, bhi = p["interval_at_bound"]
        sd = "∞" if p["sd"] is None else fmt(p["sd"])
        out.append(f"| `{p['key']}` | {p['unit']} | {fmt(p['fitted'])} | "
                   f"[{'≤ ' if blo else ''}{fmt(lo)}, {'≥ ' if bhi else ''}{fmt(hi)}] | "
                   f"{sd} | [{fmt(p['lo'])}, {fmt(p['hi'])}] | "
                   f"{'yes' if p['identified'] else '**no**'} |")
    idf = rec["identification"]
    cond = "∞" if idf["condition_number"] is None else f"{idf['condition_number']:.3g}"
    n = len(rec["parameters"])
    line = (f"Identification: the Jacobian of the {len(rec['targets'])} targets by the "
            f"{n} parameters has rank {idf['rank']} of {n}, condition number {cond}")
    if idf["not_pinned_down"]:
        line += ("; not pinned down by the targets: " +
                 ", ".join(f"`{k}`" for k in idf["not_pinned_down"]) +
                 " (moving it across its range moves the targets by less than one "
                 "standard deviation, or it trades off against another parameter)")
    out += ["", line + "."]
    return out


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5:
        return f"{v:.4g}"
    return f"{v:.3e}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def year(x):
    return f"{x:.4f}".rstrip("0").rstrip(".")


def scenario_section(path, results, figures, reps, scenario_firms, spec_targets, fit=None):
    name = os.path.splitext(os.path.basename(path))[0]
    calibrated, question, title = header(path)
    question = question[:1].upper() + question[1:]
    ids, target_ids = cited(path)
    tgs = [r[0] for r in results]
    out = [f"## {name}", "", f"`scenarios/{name}.yaml`: {title}", ""]
    out += [f"**Question.** {question or '(no Question: paragraph in the header comment)'}", ""]
    out += ["**Figures used** (seeds/figures.yaml; *target* marks the ones the "
            "`targets` list reproduces, the others inform parameters):", ""]
    out += ["| figure | value | unit | period | source | use |", "|---|---|---|---|---|---|"]
    for fid in ids:
        fg = figures.get(fid)
        if fg is None:
            out.append(f"| `{fid}` | ? | ? | ? | not in the catalogue | |")
            continue
        val = fg["value"]
        if fg.get("bound"):
            val = {"lower": "at least ", "upper": "at most ", "approx": "about "}[fg["bound"]] + str(val)
        if "low" in fg:
            val = f"{val} ({fg['low']}–{fg['high']})"
        use = "target" if fid in target_ids else "parameter"
        out.append(f"| `{fid}` | {val} | {fg['unit']} | {fg['period']} | "
                   f"{fg['source']} | {use} |")
    out += ["", "**Calibrated** (`# calibrated:` lines of the file, written by "
            "`marketsim calibrate`):", ""]
    out += [f"- {c}" for c in calibrated] or ["- (not calibrated)"]
    out += fit_table(fit)
    out += ["", f"**Targets** over {reps} replications (seeds 1..{reps}); within = "
            "|mean - expected| <= tolerance, or the mean inside the bound of a "
            "figure stated as one:", ""]
    out += ["| target (figure) | measure | unit | expected | simulated mean | sd | "
            "min–max | tolerance | mean within tolerance |",
            "|---|---|---|---|---|---|---|---|---|"]
    n = len(tgs[0]["target"])
    for i in range(n):
        sim = np.array([t["simulated"][i] for t in tgs])
        exp, tol = tgs[0]["expected"][i], tgs[0]["tolerance"][i]
        lo, hi = tgs[0]["min"][i], tgs[0]["max"][i]
        mean = float(np.mean(sim))
        sd = float(np.std(sim, ddof=1)) if len(sim) > 1 else float("nan")
        ok = math.isfinite(mean) and lo <= mean <= hi
        if not math.isfinite(exp):  # a bound: show it where expected goes
            parts = ([f"≥ {fmt(lo)}"] if math.isfinite(lo) else []) + \
                    ([f"≤ {fmt(hi)}"] if math.isfinite(hi) else [])
            exp_txt, tol_txt = ", ".join(parts), "bound"
        else:
            exp_txt, tol_txt = fmt(exp), fmt(tol)
        measure = tgs[0]["measure"][i]
        spec = spec_targets[i] if i < len(spec_targets) else {}
        if spec.get("measure") == "ratio" and "time" in spec:
            measure += f", at {year(float(spec['time']))}"   # the run file's text omits it
        out.append(f"| `{tgs[0]['target'][i]}` | {measure} | {tgs[0]['unit'][i]} | "
                   f"{exp_txt} | {fmt(mean)} | {fmt(sd)} | {fmt(float(sim.min()))}–"
                   f"{fmt(float(sim.max()))} | {tol_txt} | {'yes' if ok else 'no'} |")
    descs = [(tgs[0]["target"][i], tgs[0]["description"][i]) for i in range(n)
             if tgs[0]["description"][i]]
    if descs:
        out += ["", "How the figures are read:", ""]
        out += [f"- `{t}`: {d}" for t, d in descs]
    end = results[0][2]
    out += ["", f"**Firms at the end** ({end:g}; mean over the replications; "
            "group revenue includes owned firms, abroad share is the part of it earned "
            "outside the head's home market; owned firms have none):", "",
            "| firm | group revenue (USD/year) | abroad share |", "|---|---|---|"]
    for fm in scenario_firms:
        rev = [r[1][fm][0] for r in results if fm in r[1]]
        ab = [r[1][fm][1] for r in results if fm in r[1]]
        rev_ok = [x for x in rev if math.isfinite(x)]
        ab_ok = [x for x in ab if math.isfinite(x)]
        if not rev_ok:
            out.append(f"| {fm} | owned | |")
            continue
        owned = len(rev_ok) < len(rev)
        out.append(f"| {fm} | {fmt(float(np.mean(rev_ok)))}"
                   f"{' (owned in %d runs)' % (len(rev) - len(rev_ok)) if owned else ''} | "
                   f"{fmt(float(np.mean(ab_ok))) if ab_ok else 'NaN'} |")
    out.append("")
    return out, [(tgs[0]["target"][i], bool(tgs[0]["min"][i] <= float(np.mean(
                  [t['simulated'][i] for t in tgs])) <= tgs[0]["max"][i])) for i in range(n)]


VOCABULARY = """\
## The targets vocabulary

A scenario's `targets` list names seed figures (`figure: <id>` from
seeds/figures.yaml) and says how to measure each in a run; every run
writes the result to `/targets` (docs/OUTPUT.md) and `marketsim run
--check-targets` fails when one is missed. Values are in base units:
people, USD/year, fractions.

```yaml
targets:
  - figure: cn_live_commerce_share_of_ecommerce   # an id of seeds/figures.yaml
    description: live commerce, share of e-commerce GMV in China, 2020
    measure: ratio
    numerator: {measure: gmv, market: CN, category: live_commerce}
    denominator: {measure: gmv, market: CN, category: ecommerce}
    time: 2020             # calendar year; default: the end of the run
    expected: 0.10
    tolerance: 0.03        # absolute, in the measure's unit
  - figure: us_live_commerce_gmv
    measure: gmv
    market: US
    category: live_commerce
    time: 2021
    max: 1.0e9             # a bound ("under 1 billion USD"): min and/or max
```

### Keys of a target

| key | what | needed |
|---|---|---|
| `figure` | the id of the figure in seeds/figures.yaml | always |
| `description` | free text, written to `/targets` | no |
| `measure` | what is measured, one of the measures below | always |
| `market` | a market of the scenario: measure in that market only | no (all markets) |
| `category` | a category of the scenario: that category only | no (all), except `share` without `firm` |
| `firm` | a firm of the scenario: its group (the firm and what it acquired) | `abroad_share`; optional for `count`, `share`, `revenue`, `gmv` |
| `time` | the calendar year the measure is taken at, inside the run (`run.start_year` to `run.start_year + run.steps x run.dt`); the step nearest to it | no (end of the run) |
| `from`, `to` | the two calendar years of a `growth`, inside the run, `from` before `to` | `growth` |
| `of` | the measure a `growth` is of (a mapping with its own `measure`, ...) | `growth` |
| `numerator`, `denominator` | the two measures of a `ratio` | `ratio` |
| `expected`, `tolerance` | the figure and how far from it the run may be, absolute, in the measure's unit; the tolerance at most half of `expected` | one of the two goals |
| `min`, `max` | a figure the documents give as a bound: met when the value lies in [min, max]; either may be left out | one of the two goals |

The measures inside `of`, `numerator` and `denominator` take `measure`,
`market`, `category`, `firm` and `time` (and, nested, `of`, `from`, `to`,
`numerator`, `denominator`), but not `figure`, `description` or a goal.
A growth of a growth is refused. Any other key is an error naming the
allowed ones.

### Measures

| measure | what it is | unit |
|---|---|---|
| `count` | people using a category (`market`, `category` optional: all); with `firm`, the users of the firm's group | people |
| `share` | with `firm`: the group's share of the users; without: adopters / population (`category` required) | fraction |
| `revenue` | revenue per year of the firm's group (of all firms without `firm`); `market`, `category` restrict it | USD/year |
| `gmv` | merchandise value per year of the users (of the firm's group) | USD/year |
| `abroad_share` | share of the group's revenue earned outside its home market (`firm` required) | fraction |
| `growth` | `(x(to) - x(from)) / x(from)` of the measure in `of`, `from` and `to` in calendar years | fraction |
| `ratio` | `numerator / denominator`, two measures | unit of the ratio |

A basic measure is taken at the step nearest to its `time` (default: the
end of the run). A target whose figure is not in the catalogue, or whose
time lies outside the run, is an error when the scenario loads (a
shortened run can drop its targets with `--set targets=[]`).
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", help="scenario files (default: the shipped ones)")
    ap.add_argument("--reps", type=int, default=20, help="replications, seeds 1..N (default 20)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                    help="runs at the same time (default: the number of CPUs)")
    ap.add_argument("-o", "--output", default=os.path.join(ROOT, "docs", "SCENARIOS.md"))
    a = ap.parse_args(argv)
    if a.reps < 1 or a.jobs < 1:
        ap.error("--reps and --jobs must be at least 1")
    exe = os.environ.get("MARKETSIM") or os.path.join(ROOT, "build", "marketsim")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        print(f"scenarios_report: {exe}: no marketsim binary (build it, or set MARKETSIM)",
              file=sys.stderr)
        return 2
    scenarios = a.scenarios or shipped(ROOT)
    with open(os.path.join(ROOT, "seeds", "figures.yaml"), encoding="utf-8") as f:
        figures = {fg["id"]: fg for fg in yaml.safe_load(f)["figures"]}
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="ms_scenarios_report.")
    sections, summary, info = [], [], None
    try:
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            for sc in scenarios:
                name = os.path.splitext(os.path.basename(sc))[0]
                futs = [ex.submit(run_one, exe, sc, k, os.path.join(tmp, f"{name}_{k}.h5"))
                        for k in range(1, a.reps + 1)]
                fit_fut = ex.submit(fit_diagnostics, exe, sc, os.path.join(tmp, f"{name}.json"))
                results = [fu.result() for fu in futs]
                fit = fit_fut.result()
                info = info or results[0][3]
                with open(sc, encoding="utf-8") as f:
                    spec = yaml.safe_load(f)
                firms = list((spec.get("firms") or {}).keys())
                sec, passes = scenario_section(sc, results, figures, a.reps, firms,
                                               spec.get("targets") or [], fit)
                sections += sec
                walls = [r[3]["wall"] for r in results]
                summary.append((name, passes, float(np.mean(walls)), results[0][3]["consumers"]))
                print(f"scenarios_report: {name}: {sum(p for _, p in passes)}/{len(passes)} "
                      f"targets within tolerance, {np.mean(walls):.2f} s per run",
                      file=sys.stderr)
    except RuntimeError as e:
        print(f"scenarios_report: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rel = os.path.relpath(os.path.abspath(a.output), ROOT)
    lines = ["# Seed scenarios: what they reproduce", "",
             f"Generated by `make scenarios-report` (`scripts/scenarios_report.py "
             f"--reps {a.reps}`), which runs each shipped scenario {a.reps} times "
             f"(`marketsim run SCENARIO --seed k -q`, k = 1..{a.reps}), reads "
             "`/targets` of every run, and diagnoses each calibration at its values "
             "(`marketsim calibrate SCENARIO --no-fit --intervals wald`, "
             "docs/CALIBRATION.md). Not typed by hand: edit the scenarios or the "
             f"script and regenerate. marketsim {info['version']}, commit {info['commit']}, "
             f"{datetime.date.today().isoformat()}.", "",
             "Each scenario in `scenarios/` (all but `default.yaml`) asks one question "
             "of the four seed documents (catalogued in "
             "`seeds/figures.yaml`), cites the figures its parameters and targets come "
             "from (`seed:<id>` comments, `figure: <id>` targets) and was fitted with "
             "`marketsim calibrate`. Its header comment says what was calibrated and "
             "what was changed by hand and why.", "",
             "| scenario | targets | mean within tolerance | consumer agents | s per run |",
             "|---|---|---|---|---|"]
    for name, passes, wall, consumers in summary:
        lines.append(f"| [{name}](#{name}) | {len(passes)} | {sum(p for _, p in passes)} | "
                     f"{consumers:,} | {wall:.2f} |")
    lines += ["", VOCABULARY] + sections
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    print(f"scenarios_report: wrote {rel} ({len(scenarios)} scenarios, {a.reps} "
          f"replications each) in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
