"""scripts/scenarios_report.py shows each calibrated parameter with its interval.

- the `# calibrated:` lines are read in both forms marketsim calibrate has
  written (`KEY = VALUE (fitted in [LO, HI], ...)` and `KEY = VALUE UNIT
  (95% interval [A, B] by ...; fitted in [LO, HI], ...)`), with the
  replications of the first line;
- on a tiny calibrated Bass scenario (two share targets, p, q and arpu
  "calibrated"), the page has a "How sure" table with one row per
  parameter: p and q with finite intervals around their values, arpu (which
  moves no share target) not pinned down with the whole range, and an
  identification line with the Jacobian's rank.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
"""
import os
import subprocess
import sys
import tempfile

MS = os.environ["MARKETSIM"]
SRC = os.environ["MS_SOURCE_DIR"]
sys.path.insert(0, os.path.join(SRC, "scripts"))
import scenarios_report  # noqa: E402

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


lines = ["by marketsim calibrate on 2026-11-23 (commit x): objective 1 -> 0.1 (mean of "
         "((simulated - expected) / tolerance)^2 over 2 targets, 8 replications, 40 "
         "evaluations)",
         "categories.x.p = 0.03 (fitted in [0.001, 0.2], started at 0.01)",
         "categories.x.q = 0.45 1/year (95% interval [0.3, 0.6] by profile of the "
         "objective; fitted in [0.01, 2], started at 0.2)",
         "identification: Jacobian rank 2 of 2, condition number 3"]
frees, reps = scenarios_report.calibrated_frees(lines)
check(frees == [("categories.x.p", "0.001", "0.2"), ("categories.x.q", "0.01", "2")],
      f"parsed frees {frees}")
check(reps == 4, f"replications {reps}: 8 in the header, at most 4 for the diagnosis")

SCENARIO = """\
# calibrated: by marketsim calibrate on 2026-11-23 (commit x): objective 1 -> 0.1 (2 targets, 2 replications, 40 evaluations)
# calibrated: categories.x.p = 0.03 (fitted in [0.001, 0.2], started at 0.01)
# calibrated: categories.x.q = 0.45 1/year (95% interval [0.3, 0.6] by profile of the objective; fitted in [0.01, 2], started at 0.2)
# calibrated: categories.x.arpu = 10 USD/user/year (fitted in [1, 100], started at 10)
# A one-category Bass world.
#
# Question: does the report show intervals?
run: {steps: 36, dt: 1/12, seed: 5, people_per_agent: 1, start_year: 2020}
model: {sigma_nu: 0}
markets: {A: {population: 2000}}
categories:
  x: {p: 0.03, q: 0.45, gamma: 0, churn: 0, arpu: 10}
firms: {f: {home: A, quality: {x: 0}}}
targets:
  - {figure: t1, measure: share, market: A, category: x, time: 2021, expected: 0.04, tolerance: 0.005}
  - {figure: t2, measure: share, market: A, category: x, time: 2023, expected: 0.17, tolerance: 0.01}
"""

with tempfile.TemporaryDirectory() as tmp:
    sc = os.path.join(tmp, "tiny.yaml")
    with open(sc, "w", encoding="utf-8") as f:
        f.write(SCENARIO)
    page = os.path.join(tmp, "S.md")
    r = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "scenarios_report.py"),
                        "--reps", "2", "--jobs", "2", "-o", page, sc],
                       capture_output=True, text=True, env=dict(os.environ, MARKETSIM=MS))
    check(r.returncode == 0, f"scenarios_report.py exited {r.returncode}: {r.stderr}")
    text = open(page, encoding="utf-8").read() if os.path.exists(page) else ""
    part = text[text.find("**How sure**"):]
    check("**How sure**" in text and "--no-fit --intervals wald --reps 2" in part,
          "no How sure paragraph with its command")
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    rows = rows[2:]
    check([r[0] for r in rows] == ["`categories.x.p`", "`categories.x.q`",
                                   "`categories.x.arpu`"], f"rows {rows}")
    for row in rows[:2]:
        value = float(row[2])
        lo, hi = (float(v.strip("≤≥ ")) for v in row[3].strip("[]").split(","))
        check(lo < value < hi and "≤" not in row[3] and "≥" not in row[3],
              f"{row[0]}: interval {row[3]} around {value}")
        check(row[1] == "1/year" and row[6] == "yes", f"{row[0]}: {row}")
    if len(rows) == 3:
        check(rows[2][3] == "[≤ 1, ≥ 100]" and rows[2][6] == "**no**" and rows[2][4] == "∞",
              f"arpu: {rows[2]}")
    check("has rank 2 of 3" in part and "not pinned down by the targets: `categories.x.arpu`"
          in part, "no identification line naming arpu")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")
