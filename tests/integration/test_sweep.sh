#!/bin/sh
# Sweeps on one machine: the data do not depend on threads or shards,
# a sweep killed with SIGKILL keeps its finished runs and --resume ends
# where an uninterrupted sweep does; bad sweep files get clear errors.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
CMP="$PY $SRC/tests/integration/sweepcmp.py"
SW=$SRC/tests/data/sweeps/small.yaml
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# Reference: two threads (threads take whole runs).
$MS sweep "$SW" -o "$T/ref.h5" -q --threads 2 >/dev/null && ok "sweep, 2 threads" || bad "sweep, 2 threads"
$MS sweep "$SW" -o "$T/one.h5" -q --threads 1 >/dev/null && ok "sweep, 1 thread" || bad "sweep, 1 thread"
$CMP "$T/ref.h5" "$T/one.h5" && ok "1 thread = 2 threads" || bad "1 thread = 2 threads"

# Three shards, merged.
for i in 1 2 3; do
  $MS sweep "$SW" -o "$T/s$i.h5" --shard $i/3 -q >/dev/null || bad "shard $i"
done
$MS merge "$T/s1.h5" "$T/s2.h5" "$T/s3.h5" -o "$T/merged.h5" >/dev/null && ok "merge" || bad "merge"
$CMP "$T/ref.h5" "$T/merged.h5" && ok "3 shards merged = unsharded" || bad "3 shards merged = unsharded"

# The stored seed repeats a run alone with marketsim run: run 4 is point 1
# (openness 0.2, the second mix), replicate 1.
seed=$($PY -c "import h5py; print(h5py.File('$T/ref.h5')['runs/seed'][4])")
$MS run "$SRC/scenarios/default.yaml" -o "$T/run4.h5" -q --seed "$seed" \
   --set run.steps=24 --set run.people_per_agent=200000 --set output.every=6 \
   --set markets.CN.openness=0.2 \
   --set "firms.Alibaba.strategy={experiment: 0.5, localize: 0.5}" || bad "run 4 alone"
$PY - "$T/ref.h5" "$T/run4.h5" <<'PYEOF' && ok "run 4 repeats alone from its seed" || bad "run 4 repeats alone from its seed"
import sys, h5py, numpy as np
sw, run = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
assert sw["runs/point"][4] == 1 and sw["runs/replicate"][4] == 1
assert np.array_equal(sw["market/adopters"][4], run["market/adopters"][()])
# The sweep keeps the scenario's firms, by name; start-ups are aggregated.
n = sw["firm/firm"].shape[0]
names = [x.decode() if isinstance(x, bytes) else x for x in sw["firm/firm"][()]]
assert names == [x.decode() for x in run["firm/firm"][:n]], names
assert np.array_equal(sw["firm/cash"][4], run["firm/cash"][:, :n], equal_nan=True)
assert sw["startups/entered"][4][-1].sum() == run["firm/firm"].shape[0] - n
cash = run["firm/cash"][-1, n:]
assert np.isclose(sw["startups/cash"][4][-1].sum(), np.nansum(cash), rtol=1e-12, atol=0)
PYEOF

# SIGKILL partway: finished runs read back; --resume completes; equal.
# (About 0.35 s a run, so that the poll below sees the sweep at work.)
BIG=$T/big.yaml
sed -e 's|run.people_per_agent: 200000|run.people_per_agent: 2000|' \
    -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' "$SW" > "$BIG"
$MS sweep "$BIG" -o "$T/full.h5" -q >/dev/null || bad "full sweep"
$MS sweep "$BIG" -o "$T/killed.h5" -q --threads 1 >/dev/null 2>&1 &
pid=$!
# Wait until some but not all runs are done, then kill -9.
$PY "$SRC/tests/integration/sweepwait.py" "$T/killed.h5" 3 >/dev/null ||
  bad "the sweep to be killed did 3 runs"
# A second writer while the first is still at work is refused.
$MS sweep "$BIG" -o "$T/killed.h5" --resume -q >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -qE "another marketsim process is writing|is being written by another marketsim \(pid $pid\)" "$T/err" \
  && ok "a second writer is refused" || { bad "a second writer is refused"; cat "$T/err"; }
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
$PY - "$T/killed.h5" <<'PYEOF' && ok "killed sweep: finished runs read back" || bad "killed sweep: finished runs read back"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
s = f["runs/status"][()]
done = np.flatnonzero(s == 1)
assert 0 < len(done) < len(s), f"{len(done)} of {len(s)} done"
a = f["market/adopters"][()]
assert np.isfinite(a[done]).all()
# A pending run holds no data, but for the one being written when the kill
# came (one worker): its data go first and its status last.
written = [r for r in np.flatnonzero(s == 0) if not np.isnan(a[r]).all()]
assert len(written) <= 1, written
print(f"     {len(done)} of {len(s)} runs were done when killed")
PYEOF
$MS info "$T/killed.h5" | grep -q "pending" && ok "info reads the killed file" || bad "info reads the killed file"
$MS sweep "$BIG" -o "$T/killed.h5" -q >/dev/null 2>&1 && bad "a new sweep onto an existing file is refused" || ok "a new sweep onto an existing file is refused"
$MS sweep "$BIG" -o "$T/killed.h5" --resume -q >/dev/null && ok "resume" || bad "resume"
$CMP "$T/full.h5" "$T/killed.h5" && ok "killed + resumed = uninterrupted" || bad "killed + resumed = uninterrupted"
$PY -c "import h5py; f=h5py.File('$T/killed.h5'); assert f.attrs['status']=='complete'" && ok "status complete after resume" || bad "status complete after resume"

# Resume with another sweep file is refused.
$MS sweep "$SW" -o "$T/killed.h5" --resume -q >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "different sweep" "$T/err" && ok "resume with another sweep refused" || bad "resume with another sweep refused"

# Latin hypercube: one point in each slice of every range.
$MS sweep "$SRC/tests/data/sweeps/lhs.yaml" -o "$T/lhs.h5" -q >/dev/null || bad "lhs sweep"
$PY - "$T/lhs.h5" <<'PYEOF' && ok "lhs design" || bad "lhs design"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1])
lam = f["summary/model.lambda"][()]
beta = f["summary/firms.Alibaba.beta"][()]
S = len(lam)
slices = np.floor((lam - 0.2) / (2.0 - 0.2) * S).astype(int)
assert sorted(slices) == list(range(S)), slices
lb = np.floor((np.log(beta) - np.log(0.01)) / (np.log(1.0) - np.log(0.01)) * S).astype(int)
assert sorted(lb) == list(range(S)), lb
assert (f["runs/status"][()] == 1).all()
PYEOF

# Dry run and bad sweep files.
$MS sweep "$SW" --dry-run | grep -q "12 runs" && ok "dry run counts runs" || bad "dry run counts runs"
cat > "$T/bad1.yaml" <<YAML
scenario: $SRC/scenarios/default.yaml
parameters:
  markets.CN.opennes: [0.1, 0.2]
YAML
$MS sweep "$T/bad1.yaml" -o "$T/x.h5" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad1.yaml:3:3: error" "$T/err" && grep -q "opennes" "$T/err" && [ ! -e "$T/x.h5" ] \
  && ok "unknown parameter key: file, line, key; nothing written" || { bad "unknown parameter key"; cat "$T/err"; }
cat > "$T/bad2.yaml" <<YAML
scenario: $SRC/scenarios/default.yaml
parameters:
  run.steps: [10, 20]
YAML
$MS sweep "$T/bad2.yaml" -o "$T/x.h5" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "run.steps" "$T/err" && ok "varying run.steps refused" || { bad "varying run.steps refused"; cat "$T/err"; }
cat > "$T/bad3.yaml" <<YAML
scenario: $SRC/scenarios/default.yaml
design: lhs
samples: 4
parameters:
  markets.CN.openness: {low: 0.5, high: 0.1}
YAML
$MS sweep "$T/bad3.yaml" -o "$T/x.h5" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad3.yaml:5:" "$T/err" && grep -q "low (0.5) must be below high" "$T/err" && ok "bad range" || { bad "bad range"; cat "$T/err"; }
$MS sweep "$SW" -o "$T/y.h5" --shard 4/3 2>/dev/null; [ $? -eq 2 ] && ok "bad --shard" || bad "bad --shard"

echo "$fails failure(s)"
[ $fails -eq 0 ]
