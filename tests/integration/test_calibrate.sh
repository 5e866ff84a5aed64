#!/bin/sh
# marketsim calibrate recovers known parameters: targets are generated from
# runs with known Bass p = 0.03, q = 0.45 (the mean of 8 runs with other
# seeds), then calibration starts far away (p = 0.01, q = 0.2) and must
# come back within 15% (p) and 10% (q): with 50000 consumers the sampling
# error of the adoption shares moves the optimum by a few percent.
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
  "$MS" calibrate "$@" -o "$T/early.yaml" -q --reps 1 --iters 1 > "$T/eout" 2>&1
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
  -o "$T/under.yaml" -q --reps 1 --iters 1 > "$T/eout" 2>&1 || { cat "$T/eout"; exit 1; }
grep -q "warning: 2 free parameters for 1 target" "$T/eout" ||
  { echo "FAIL: no warning for 2 free parameters and 1 target"; cat "$T/eout"; exit 1; }
echo "ok   warns when free parameters outnumber targets"

cat > "$T/bass.yaml" <<'YAML'
# A one-category Bass world for calibration.
run: {steps: 72, dt: 1/12, seed: 5, people_per_agent: 1, start_year: 2020}
model: {sigma_nu: 0}
markets: {A: {population: 50000}}
categories:
  x: {p: 0.03, q: 0.45, gamma: 0, churn: 0}
firms: {f: {home: A, quality: {x: 0}}}
targets:
  - {figure: t1, measure: share, market: A, category: x, time: 2021, expected: 0.5, tolerance: 0.01}
  - {figure: t2, measure: share, market: A, category: x, time: 2023, expected: 0.5, tolerance: 0.01}
  - {figure: t3, measure: share, market: A, category: x, time: 2025, expected: 0.5, tolerance: 0.01}
YAML
for k in 1 2 3 4 5 6 7 8; do
  "$MS" run "$T/bass.yaml" --seed $((100 + k)) -o "$T/r$k.h5" -q || exit 1
done
$PY - "$T" <<'PYEOF' || exit 1
import sys, h5py, numpy as np
d = sys.argv[1]
v = np.mean([h5py.File(f"{d}/r{k}.h5")["targets/simulated"][:] for k in range(1, 9)], axis=0)
t = open(f"{d}/bass.yaml").read()
for i, x in enumerate(v):
    t = t.replace(f"time: {2021 + 2 * i}, expected: 0.5", f"time: {2021 + 2 * i}, expected: {x:.6f}")
assert t.count("expected: 0.5,") == 0
t = t.replace("p: 0.03, q: 0.45", "p: 0.01, q: 0.2")
open(f"{d}/start.yaml", "w").write(t)
PYEOF
"$MS" calibrate "$T/start.yaml" --free categories.x.p=0.001:0.2 \
   --free categories.x.q=0.01:2 -o "$T/fit.yaml" -q > "$T/out" || { cat "$T/out"; exit 1; }
cat "$T/out"
"$MS" validate -q "$T/fit.yaml" || exit 1
grep -q "^# calibrated: categories.x.p = " "$T/fit.yaml" || { echo "FAIL: no header"; exit 1; }
$PY - "$T/fit.yaml" <<'PYEOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"x: \{p: ([0-9.e-]+), q: ([0-9.e-]+),", t)
p, q = float(m.group(1)), float(m.group(2))
print(f"fitted p = {p:.4g} (true 0.03), q = {q:.4g} (true 0.45)")
assert abs(p - 0.03) / 0.03 < 0.15, p
assert abs(q - 0.45) / 0.45 < 0.10, q
PYEOF
