#!/bin/sh
# Summary-only sweeps (outputs: summary): the runs are folded into their
# points' summaries as they finish, and no run's arrays are kept.
#  - the /summary of a summary-only sweep equals, bit for bit, the
#    /summary of the same sweep with full outputs; its /runs too;
#  - with two threads, and under mpirun -n 3, the file equals the serial
#    one, every dataset;
#  - the file holds no per-run arrays of /market, /firm, /startups;
#  - killed at chosen moments (kill -9 before the N-th write: killwrite.c;
#    and at the sweep's own kill points between the steps of a fold),
#    then --resume: the same file as an uninterrupted sweep;
#  - `marketsim info` says what it keeps and checks each point's checksum;
#    a damaged point is reported (exit 2) and folded again on --resume;
#  - --shard and merge are refused with a message that says what to do.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
SHIM=${MS_KILLWRITE:?built by tests/CMakeLists.txt}
CMP="$PY $SRC/tests/integration/sweepcmp.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export OMP_NUM_THREADS=1

# The small test sweep (12 runs), with full outputs and summary-only.
sed -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' \
    "$SRC/tests/data/sweeps/small.yaml" > "$T/full.yaml"
sed -e 's|^outputs: \[\(.*\)\]$|outputs: {summary: [\1]}|' "$T/full.yaml" \
    > "$T/sum.yaml"
grep -q '^outputs: {summary: \[adopters, users, cash, weights\]}$' "$T/sum.yaml" ||
  bad "summary sweep file made"
SW=$T/sum.yaml

$MS sweep "$T/full.yaml" -o "$T/full.h5" -q --threads 1 >/dev/null || bad "full sweep"
$MS sweep "$SW" -o "$T/ref.h5" -q --threads 1 >/dev/null || bad "summary sweep"

# /summary and /runs (but wall times) of the two equal, dataset for dataset.
$PY - "$T/full.h5" "$T/ref.h5" <<'PYEOF' && ok "summary-only /summary and /runs = the full sweep's, bit for bit" || bad "summary-only = full sweep's /summary"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
def sets(f, g):
    out = {}
    f[g].visititems(lambda n, o: out.__setitem__(n, o[()])
                    if isinstance(o, h5py.Dataset) else None)
    return out
bad = []
for g in ("summary", "runs"):
    da, db = sets(a, g), sets(b, g)
    if set(da) != set(db):
        bad.append(f"{g}: names differ: {sorted(set(da) ^ set(db))}")
    for k in sorted(set(da) & set(db)):
        if k == "wall_seconds":
            continue
        x, y = da[k], db[k]
        same = x.shape == y.shape and x.dtype == y.dtype and (
            np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
            else np.array_equal(x, y))
        if not same:
            bad.append(f"{g}/{k} differs")
# Real summaries: 3 replications per point, finite means, sds that vary.
s = b["summary"]
if not (s["n"][()] == 3).all() or not (s["folded"][()] == 3).all():
    bad.append("n, folded: expected 3 at every point")
if not np.isfinite(s["adopters_mean"][()]).all():
    bad.append("adopters_mean: not all finite")
if not (s["adopters_sd"][()] > 0).any():
    bad.append("adopters_sd: all zero")
# The mean and sd are those of the full sweep's runs (to rounding).
runs = a["market/adopters"][()].reshape(4, 3, *a["market/adopters"].shape[1:])
if not np.allclose(s["adopters_mean"][()], runs.mean(axis=1), rtol=1e-12, atol=0):
    bad.append("adopters_mean is not the mean of the runs")
if not np.allclose(s["adopters_sd"][()], runs.std(axis=1, ddof=1), rtol=1e-9, atol=1e-6):
    bad.append("adopters_sd is not the sd of the runs")
if not np.allclose(s["adopters_m2"][()], runs.var(axis=1) * 3, rtol=1e-9, atol=1e-3):
    bad.append("adopters_m2 is not the sum of squared deviations")
# No per-run arrays: /market, /firm and /startups hold coordinates only.
for g in ("market", "firm", "startups"):
    for k, v in b[g].items():
        if "sweep_run_axis" in v.attrs or (v.ndim and "run" in
                                          [d.label for d in v.dims]):
            bad.append(f"{g}/{k}: a per-run array in a summary-only file")
if "run" in b["market"] or "adopters" in b["market"] or "users" in b["firm"]:
    bad.append("per-run datasets in a summary-only file")
if b.attrs["outputs"] != "summary" or a.attrs["outputs"] != "runs":
    bad.append("root attribute outputs")
for x in bad:
    print(x)
sys.exit(1 if bad else 0)
PYEOF

# The Python reader: sweep_summary reads it; open_sweep says why it cannot.
PYTHONPATH="$SRC/analysis" $PY - "$T/ref.h5" "$T/full.h5" <<'PYEOF' && ok "reader: sweep_summary reads it, open_sweep says to use it" || bad "reader on a summary-only file"
import sys
import numpy as np
import marketsim as ms
s, f = ms.sweep_summary(sys.argv[1]), ms.sweep_summary(sys.argv[2])
assert s.adopters_mean.dims == ("point", "time", "market", "category"), s.adopters_mean.dims
assert np.array_equal(s.adopters_sd.values, f.adopters_sd.values, equal_nan=True)
try:
    ms.open_sweep(sys.argv[1])
except ValueError as e:
    assert "summary-only sweep (outputs: summary)" in str(e) and "sweep_summary" in str(e), e
else:
    raise SystemExit("open_sweep read a summary-only file")
PYEOF

# Threads and ranks: the same file.
$MS sweep "$SW" -o "$T/t2.h5" -q --threads 2 >/dev/null || bad "2 threads"
$CMP "$T/ref.h5" "$T/t2.h5" && ok "2 threads = 1 thread" || bad "2 threads = 1 thread"
if command -v mpirun >/dev/null 2>&1; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --mca mpi_yield_when_idle 1 --mca btl self,vader \
    -n 3 $MS sweep "$SW" -o "$T/m3.h5" -q >/dev/null || bad "mpirun -n 3"
  $CMP "$T/ref.h5" "$T/m3.h5" && ok "mpirun -n 3 = serial, every dataset" ||
    bad "mpirun -n 3 = serial"
else
  echo "skip mpirun -n 3 (no mpirun)"
fi

# info: what is kept, and every point's checksum.
$MS info "$T/ref.h5" >"$T/info" 2>&1 || { bad "info"; cat "$T/info"; }
grep -q "outputs *summary" "$T/info" &&
  grep -q "Kept: the summaries only (outputs: summary): 12 runs folded" "$T/info" &&
  grep -q "Checksums: the summaries of all 4 points match" "$T/info" &&
  grep -q "adopters_mean *4 x 5 x 3 x 2" "$T/info" &&
  ok "info describes the summary-only sweep" || { bad "info describes it"; cat "$T/info"; }

# Kills, then --resume: the same file as the uninterrupted sweep.
MS_KILL_COUNT=$T/count LD_PRELOAD=$SHIM $MS sweep "$SW" -o "$T/count.h5" -q \
  --threads 1 >/dev/null || bad "counting sweep"
N=$(cat "$T/count")
[ "$N" -gt 40 ] && ok "a summary sweep of 12 runs makes $N writes" || bad "writes counted ($N)"
files=""
kills=0
check_one() { # FILE RC-OF-KILLED-SWEEP
  if [ "$2" -ne 137 ]; then
    bad "$1: the sweep was killed (exit $2)"
    return
  fi
  kills=$((kills + 1))
  if [ -f "$1" ]; then
    $MS sweep "$SW" -o "$1" --resume -q --threads 1 >/dev/null 2>>"$T/resume.err" ||
      bad "$1: resume"
  else
    $MS sweep "$SW" -o "$1" -q --threads 1 >/dev/null 2>>"$T/resume.err" ||
      bad "$1: start again"
  fi
  $MS info "$1" >"$T/info" 2>&1 || { bad "$1: info after resume"; cat "$T/info"; }
  grep -q "Checksums: the summaries of all 4 points match" "$T/info" ||
    bad "$1: info finds every point's checksum matching"
  files="$files $1"
}
i=0
while [ $i -le 11 ]; do
  at=$((1 + i * (N - 5) / 11))
  f=$T/w$at.h5
  MS_KILL_AT_WRITE=$at LD_PRELOAD=$SHIM $MS sweep "$SW" -o "$f" -q \
    --threads 1 >/dev/null 2>&1
  check_one "$f" $?
  i=$((i + 1))
done
# Between the steps of a fold (per-run records, accumulators, sync,
# statuses, flush: 5 kill points a run folded alone).
for at in 1 2 3 4 5 7 9 13 24; do
  f=$T/k$at.h5
  MARKETSIM_TEST_KILL_AFTER=$at $MS sweep "$SW" -o "$f" -q --threads 1 \
    >/dev/null 2>&1
  check_one "$f" $?
done
# Two threads: runs of a point finish out of order and wait to be folded.
f=$T/t.h5
MS_KILL_AT_WRITE=$((N / 2)) LD_PRELOAD=$SHIM $MS sweep "$SW" -o "$f" -q \
  --threads 2 >/dev/null 2>&1
check_one "$f" $?
$CMP "$T/ref.h5" $files &&
  ok "$kills kills at chosen moments, each resumed: all equal the uninterrupted sweep" ||
  bad "killed and resumed summary sweeps equal the uninterrupted sweep"

# A damaged point: info reports it (exit 2); --resume folds it again.
cp "$T/ref.h5" "$T/dmg.h5"
$PY - "$T/dmg.h5" <<'PYEOF' || bad "damage a point"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    x = f["summary/cash_mean"]
    y = x[2]
    y[-1, 0] += 1
    x[2] = y
PYEOF
$MS info "$T/dmg.h5" >"$T/info" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "Checksums: 1 of 4 points' summaries do NOT match: points 2" "$T/info" &&
  grep -q "dmg.h5: error: points whose summary does not match its checksum: 1 (points 2)" "$T/err" &&
  ok "info reports the damaged point (exit 2)" || { bad "info reports the damaged point (exit $rc)"; cat "$T/info" "$T/err"; }
$MS sweep "$SW" -o "$T/dmg.h5" --resume -q >/dev/null 2>"$T/err" || bad "resume the damaged file"
grep -q "the summary of point 2 does not match its checksum" "$T/err" &&
  ok "resume says which point it folds again" || { bad "resume names the damaged point"; cat "$T/err"; }
$CMP "$T/ref.h5" "$T/dmg.h5" && ok "the damaged point, folded again, equals the reference" ||
  bad "damaged point repaired"

# Refused: --shard, and merge.
$MS sweep "$SW" -o "$T/sh.h5" --shard 1/2 -q >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/sh.h5" ] &&
  grep -q "sum.yaml: error: --shard: a summary-only sweep (outputs: summary) cannot be split into shards" "$T/err" &&
  ok "--shard refused (exit 2, nothing written)" || { bad "--shard refused (exit $rc)"; cat "$T/err"; }
$MS sweep "$SW" --dry-run --shard 1/2 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && [ ! -s "$T/out" ] && grep -q "cannot be split into shards" "$T/err" &&
  ok "--dry-run --shard refused too" || { bad "--dry-run --shard refused (exit $rc)"; cat "$T/err"; }
$MS merge "$T/ref.h5" "$T/t2.h5" -o "$T/mm.h5" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/mm.h5" ] &&
  grep -q "ref.h5: error: a summary-only sweep (outputs: summary) keeps no runs to merge" "$T/err" &&
  ok "merge refused (exit 2, nothing written)" || { bad "merge refused (exit $rc)"; cat "$T/err"; }

[ $fails -eq 0 ] && echo "all summary sweep tests passed" || echo "$fails failed"
[ $fails -eq 0 ]
