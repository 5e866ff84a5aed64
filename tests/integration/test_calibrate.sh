#!/bin/sh
# marketsim calibrate: bad input fails before any run (exit 2, naming the
# file, line and key); the fit recovers known parameters inside its
# reported intervals: targets are generated from runs with known Bass
# p = 0.03, q = 0.45 (the mean of 4 runs with other seeds, so the figures
# carry less noise than the one draw the method assumes and the 95%
# intervals hold the truth with room), the fit starts far away (p = 0.01,
# q = 0.2); a parameter no target depends on (arpu, with share targets) is
# flagged as not pinned down; the result does not depend on --threads.
set -u
MS=${MARKETSIM:?}
PY=${MS_PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Checks made before the first run: bad --free keys, ranges and targets
# fail at once (exit 2, nothing written), and more free parameters than
# targets get a warning.
check_early() {
  what=$1; want=$2; shift 2
  "$MS" calibrate "$@" -o "$T/early.yaml" -q --reps 2 --iters 1 > "$T/eout" 2>&1
  rc=$?
  if [ $rc -ne 2 ] || ! grep -q "$want" "$T/eout" || [ -e "$T/early.yaml" ] ||
     grep -q "iter " "$T/eout"; then
    echo "FAIL: $what: exit $rc, expected 2 with '$want' before any run"; cat "$T/eout"; exit 1
  fi
  echo "ok   $what: $(head -n 1 "$T/eout")"
}
cat > "$T/one.yaml" <<'YAML'
run: {steps: 12, dt: 1/12, seed: 5, people_per_agent: 1, start_year: 2020}
markets: {A: {population: 2000}}
categories:
  x: {p: 0.03, q: 0.45}
firms: {f: {home: A, quality: {x: 0}}}
targets:
  - {figure: t1, measure: share, market: A, category: x, time: 2021, expected: 0.1, tolerance: 0.01}
YAML
check_early "a key not written in the file" "not written in the file as a plain number" \
  "$T/one.yaml" --free categories.x.q=0.1:0.9 --free categories.x.churn=0:0.1
check_early "a range outside the parameter's bounds" "categories.x.p" \
  "$T/one.yaml" --free categories.x.p=-0.5:0.1
check_early "a key given twice" "given twice" \
  "$T/one.yaml" --free categories.x.p=0.01:0.1 --free categories.x.p=0.01:0.2
sed 's/time: 2021,/time: 2030,/' "$T/one.yaml" > "$T/late.yaml"
check_early "a target after the end of the run" "is outside the run" \
  "$T/late.yaml" --free categories.x.p=0.01:0.1
"$MS" calibrate "$T/one.yaml" --free categories.x.p=0.01:0.1 --free categories.x.q=0.1:0.9 \
  -o "$T/under.yaml" -q --reps 2 --iters 1 --starts 1 --refine 1 --intervals none > "$T/eout" 2>&1 || { cat "$T/eout"; exit 1; }
grep -q "warning: 2 free parameters for 1 target" "$T/eout" ||
  { echo "FAIL: no warning for 2 free parameters and 1 target"; cat "$T/eout"; exit 1; }
echo "ok   warns when free parameters outnumber targets"

check_early "a key that holds a mapping (file:line:col)" "one.yaml:4:6: error: --free categories.x:" \
  "$T/one.yaml" --free categories.x=0.1:0.9
"$MS" calibrate "$T/one.yaml" --free categories.x.p=0.05:0.1 --no-fit --json "$T/no.json" \
  -q --reps 2 > "$T/eout" 2>&1
rc=$?
if [ $rc -ne 2 ] || [ -e "$T/no.json" ] ||
   ! grep -q "one.yaml:4:10: error: --free categories.x.p=0.05:0.1 --no-fit: the file's value 0.03 is outside" "$T/eout"; then
  echo "FAIL: --no-fit outside the range: exit $rc"; cat "$T/eout"; exit 1
fi
echo "ok   --no-fit with the file's value outside the range: $(head -n 1 "$T/eout")"
check_early "one replication (no variance to weigh by)" "give 2 or more" \
  "$T/one.yaml" --free categories.x.p=0.01:0.1 --reps 1
check_early "a confidence level outside (0, 1)" "confidence level between 0 and 1" \
  "$T/one.yaml" --free categories.x.p=0.01:0.1 --level 1.5
check_early "an unknown interval method" "give profile, wald or none" \
  "$T/one.yaml" --free categories.x.p=0.01:0.1 --intervals bootstrap

cat > "$T/bass.yaml" <<'YAML'
# A one-category Bass world for calibration.
run: {steps: 48, dt: 1/12, seed: 5, people_per_agent: 1, start_year: 2020}
model: {sigma_nu: 0}
markets: {A: {population: 2000}}
categories:
  x: {p: 0.03, q: 0.45, gamma: 0, churn: 0, arpu: 10}
firms: {f: {home: A, quality: {x: 0}}}
targets:
  - {figure: t1, measure: share, market: A, category: x, time: 2021, expected: 0.5, tolerance: 0.00001}
  - {figure: t2, measure: share, market: A, category: x, time: 2022, expected: 0.5, tolerance: 0.00001}
  - {figure: t3, measure: share, market: A, category: x, time: 2023, expected: 0.5, tolerance: 0.00001}
  - {figure: t4, measure: share, market: A, category: x, time: 2024, expected: 0.5, tolerance: 0.00001}
YAML
for k in 1 2 3 4; do
  "$MS" run "$T/bass.yaml" --seed $((100 + k)) -o "$T/r$k.h5" -q || exit 1
done
$PY - "$T" <<'PYEOF' || exit 1
import sys, h5py, numpy as np
d = sys.argv[1]
v = np.mean([h5py.File(f"{d}/r{k}.h5")["targets/simulated"][:] for k in range(1, 5)], axis=0)
t = open(f"{d}/bass.yaml").read()
for i, x in enumerate(v):
    t = t.replace(f"time: {2021 + i}, expected: 0.5", f"time: {2021 + i}, expected: {x:.6f}")
assert t.count("expected: 0.5,") == 0
t = t.replace("p: 0.03, q: 0.45", "p: 0.01, q: 0.2")
open(f"{d}/start.yaml", "w").write(t)
PYEOF
"$MS" calibrate "$T/start.yaml" --free categories.x.p=0.001:0.2 \
   --free categories.x.q=0.01:2 --starts 8 --refine 1 --iters 40 \
   -o "$T/fit.yaml" --json "$T/fit.json" > "$T/out" 2> "$T/err" || { cat "$T/out" "$T/err"; exit 1; }
cat "$T/out"
grep -q "Nelder-Mead from the best 1" "$T/out" || { echo "FAIL: no search summary"; exit 1; }
grep -q "^\[1/1\] iter\|  \[1/1\] iter" "$T/err" || { echo "FAIL: no progress on stderr"; cat "$T/err"; exit 1; }
"$MS" validate -q "$T/fit.yaml" || exit 1
grep -q "^# calibrated: categories.x.p = .* (95% interval \[" "$T/fit.yaml" ||
  { echo "FAIL: no interval in the header"; head -5 "$T/fit.yaml"; exit 1; }
$PY - "$T" <<'PYEOF' || exit 1
import json, re, sys
d = sys.argv[1]
r = json.load(open(f"{d}/fit.json"))
assert r["replications"] == 4 and r["interval_method"] == "profile" and r["level"] == 0.95, r
t = open(f"{d}/fit.yaml").read()
m = re.search(r"x: \{p: ([0-9.e-]+), q: ([0-9.e-]+),", t)
par = {p["key"]: p for p in r["parameters"]}
for key, true, fitted in (("categories.x.p", 0.03, float(m.group(1))),
                          ("categories.x.q", 0.45, float(m.group(2)))):
    p = par[key]
    lo, hi = p["interval"]
    print(f"{key}: fitted {p['fitted']:.4g} {p['unit']} (true {true}), 95% interval "
          f"[{lo:.4g}, {hi:.4g}], sd {p['sd']:.3g}")
    assert abs(fitted - p["fitted"]) <= 1e-5 * abs(fitted), (fitted, p["fitted"])
    assert lo < true < hi, (key, lo, hi)
    assert lo < p["fitted"] < hi and not any(p["interval_at_bound"]), p
    assert hi - lo < (p["hi"] - p["lo"]) / 3, ("interval as wide as the range", p)
    assert p["identified"] and p["unit"] == "1/year", p
idf = r["identification"]
assert idf["rank"] == 2 and idf["not_pinned_down"] == [], idf
assert len(idf["jacobian"]) == 4 and all(len(row) == 2 for row in idf["jacobian"])
# a larger p or q means more adopters at every time
assert all(v > 0 for row in idf["jacobian"] for v in row), idf["jacobian"]
assert r["objective_fit"] < r["objective_start"]
PYEOF
echo "ok   recovers p and q inside its 95% profile intervals"

# arpu moves no share target: flagged, and its interval is the whole range.
for th in 1 2; do
  "$MS" calibrate "$T/fit.yaml" --free categories.x.p=0.001:0.2 --free categories.x.q=0.01:2 \
     --free categories.x.arpu=1:100 --no-fit --intervals wald --json "$T/id$th.json" \
     --threads $th -q > "$T/idout" 2> "$T/iderr" || { cat "$T/idout" "$T/iderr"; exit 1; }
done
cat "$T/idout" "$T/iderr"
grep -q "warning: categories.x.arpu is not pinned down by the targets" "$T/iderr" ||
  { echo "FAIL: no warning for arpu"; exit 1; }
grep -q "warning: categories.x.[pq] " "$T/iderr" && { echo "FAIL: p or q flagged"; exit 1; }
cmp -s "$T/id1.json" "$T/id2.json" || { echo "FAIL: the record depends on --threads"; diff "$T/id1.json" "$T/id2.json"; exit 1; }
$PY - "$T/id1.json" <<'PYEOF' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
idf = r["identification"]
assert idf["not_pinned_down"] == ["categories.x.arpu"], idf
assert idf["rank"] == 2 and idf["condition_number"] is None, idf   # singular: infinite
arpu = r["parameters"][2]
assert arpu["sensitivity"] == 0 and arpu["interval"] == [1, 100], arpu
assert r["fitted"] is False and r["interval_method"] == "wald"
PYEOF
echo "ok   flags arpu, which no target depends on, and the record is the same with 1 and 2 threads"
