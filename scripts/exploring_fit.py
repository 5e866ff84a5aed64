"""The "How sure is this fit" section of docs/EXPLORING.md.

`section(marketsim_path, workdir)` runs a worked example of a calibration
with intervals and identification diagnostics on a seed scenario
(scenarios/pinduoduo.yaml) by calling marketsim, and returns the section's
Markdown. It takes a few minutes on two cores: one diagnosis of the
calibrated values (`--no-fit --intervals wald`) and one small fit with a
profile interval. Files go to `workdir`; the text names no path of it.
"""
import json
import math
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = "scenarios/pinduoduo.yaml"
P = "categories.group_buying.p"
Q = "categories.group_buying.q"


def _fmt(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "∞"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5:
        return f"{v:.4g}"
    return f"{v:.3e}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _run(marketsim_path, args, json_out):
    cmd = [marketsim_path, "calibrate", SCENARIO] + args + ["--json", json_out]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    with open(json_out, encoding="utf-8") as f:
        return json.load(f), r.stderr


def _param_table(rec):
    lvl = f"{100 * rec['level']:g}%"
    out = [f"| parameter | unit | value | {lvl} interval ({rec['interval_method']}) | sd "
           "(Jacobian) | range | pinned down |", "|---|---|---|---|---|---|---|"]
    for p in rec["parameters"]:
        lo, hi = p["interval"]
        blo, bhi = p["interval_at_bound"]
        out.append(f"| `{p['key']}` | {p['unit']} | {_fmt(p['fitted'])} | "
                   f"[{'≤ ' if blo else ''}{_fmt(lo)}, {'≥ ' if bhi else ''}{_fmt(hi)}] | "
                   f"{_fmt(p['sd'])} | [{_fmt(p['lo'])}, {_fmt(p['hi'])}] | "
                   f"{'yes' if p['identified'] else '**no**'} |")
    return out


def _target_table(rec):
    out = ["| target | unit | expected | simulated mean | sd across replications | "
           "miss in sqrt(v) |", "|---|---|---|---|---|---|"]
    for t in rec["targets"]:
        out.append(f"| `{t['figure']}` | {t['unit']} | {_fmt(t['expected'])} | "
                   f"{_fmt(t['mean'])} | {_fmt(t['sd'])} | {t['residual']:.3g} |")
    return out


def _ident(rec):
    idf = rec["identification"]
    n = len(rec["parameters"])
    sv = ", ".join(_fmt(s) for s in idf["singular_values"])
    return (f"rank {idf['rank']} of {n}, condition number "
            f"{_fmt(idf['condition_number'])}, singular values {sv} (standard "
            "deviations of the targets per whole range)")


def section(marketsim_path: str, workdir: str) -> str:
    """The Markdown of the "How sure is this fit" section."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(ROOT, SCENARIO), encoding="utf-8") as f:
        head = [line[len("# calibrated:"):].strip() for line in f
                if line.startswith("# calibrated:")]
    vals = {}
    for h in head:
        for key in (P, Q):
            if h.startswith(key + " = "):
                vals[key] = float(h.split(" = ")[1].split()[0])
    p_val = vals[P]
    diag_args = ["--no-fit", "--intervals", "wald", "--reps", "4",
                 "--free", f"{P}=0.002:0.1", "--free", f"{Q}=0.3:2.5", "-q"]
    diag, diag_err = _run(marketsim_path, diag_args, os.path.join(workdir, "diag.json"))
    fixed = os.path.join(workdir, "pinduoduo_p_fixed.yaml")
    # Only q is fitted; p stays at the calibrated value written in the file.
    fit_args = ["--free", f"{Q}=0.3:2.5", "--reps", "4", "--starts", "4",
                "--refine", "1", "--iters", "20", "-o", fixed, "-q"]
    fit, _ = _run(marketsim_path, fit_args, os.path.join(workdir, "fit.json"))
    warn = [w.strip() for w in diag_err.splitlines() if "not pinned down" in w]
    qrec = fit["parameters"][0]
    out = ["## How sure is this fit", "",
           "A calibration (docs/CALIBRATION.md) gives more than a point: each free "
           "parameter with a confidence interval, and the Jacobian of the targets by "
           "the parameters at the fit, whose rank and condition number say whether "
           "the targets pin the parameters down at all. The worked example is "
           f"`{SCENARIO}`: its Bass p and q of group buying were calibrated to one "
           "target, Pinduoduo's active buyers in 2021.", "",
           "### 1. Diagnose the calibrated values", "",
           "`--no-fit` takes the values in the file and computes the intervals and "
           "the diagnostics there, without a search:", "",
           "```sh", "marketsim calibrate " + SCENARIO + " " + " ".join(diag_args), "```", ""]
    out += _param_table(diag) + [""]
    out += _target_table(diag) + [""]
    out += [f"Identification: {_ident(diag)}.", ""]
    if warn:
        out += ["marketsim warns:", "", "```"] + warn + ["```", ""]
    out += ["Two parameters and one target: the Jacobian has one row, so its rank is "
            "at most 1. A higher p with a lower q gives the same number of buyers in "
            "2021; the target fixes one combination of the two, not each. The Wald "
            "interval of each is the whole range (its sd is infinite), and both are "
            "flagged. The calibrated values are one point of a curve of equally good "
            "fits, not an estimate of either parameter. To say more, add a target "
            "that separates them (adoption at another date: p sets the start, q the "
            "speed), or fix one from other evidence.", "",
           "### 2. Fix p, fit q with a profile interval", "",
           f"Holding p at its calibrated value ({_fmt(p_val)} per year) and fitting q "
           "alone from Sobol starting points:", "",
           "```sh", "marketsim calibrate " + SCENARIO + " --free " + f"{Q}=0.3:2.5 "
           "--reps 4 --starts 4 --refine 1 --iters 20 -o pinduoduo_p_fixed.yaml "
           "--json fit.json", "```", ""]
    out += _param_table(fit) + [""]
    out += _target_table(fit) + [""]
    out += [f"Identification: {_ident(fit)}. Objective (the method of simulated "
            f"moments, {fit['replications']} replications, {fit['evaluations']} "
            f"evaluations): {_fmt(fit['objective_start'])} at the start, "
            f"{_fmt(fit['objective_fit'])} at the fit.", "",
            ]
    lo, hi = qrec["interval"]
    blo, bhi = qrec["interval_at_bound"]
    ends = (f"[{_fmt(lo)}, {_fmt(hi)}]" +
            (", its upper end at the range's bound" if bhi else "") +
            (", its lower end at the range's bound" if blo else ""))
    tol = fit["targets"][0]["tolerance"]
    out.append(f"{'Now q is pinned down' if qrec['identified'] else 'q is still not pinned down'}"
               f": {_fmt(qrec['fitted'])} per year, with a {100 * fit['level']:g}% profile "
               f"interval {ends} (the values of q at which the objective, the method of "
               "simulated moments, rises by the chi-square(1) quantile above its "
               f"minimum at the {100 * fit['level']:g}% level). The target's tolerance, "
               f"{_fmt(tol)} {fit['targets'][0]['unit']}, makes up "
               f"{100 * tol ** 2 / fit['targets'][0]['weight_sd'] ** 2:.0f}% of the variance "
               "the objective divides its miss by; the rest is the model's own noise "
               "across replications (times 1 + 1/R). Both widen the interval: a figure "
               "known only that well, from a model that noisy, cannot fix q more "
               "tightly. The interval is conditional on p: with p "
               "free, step 1 shows there is no interval to give.")
    out.append("")
    return "\n".join(out)
