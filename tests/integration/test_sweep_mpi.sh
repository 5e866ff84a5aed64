#!/bin/sh
# The cluster path on this machine: mpirun with 1 and 3 ranks gives the
# same data as one process; killing one rank with SIGKILL keeps the
# finished runs, and --resume (with 2 ranks) completes the same sweep.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
CMP="$PY $SRC/tests/integration/sweepcmp.py"
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1
# 3 ranks share 2 cores here: let idle ranks yield instead of spinning.
MPI="mpirun --oversubscribe --mca mpi_yield_when_idle 1 --mca btl self,vader"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
SW=$T/sw.yaml
sed -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' \
    "$SRC/tests/data/sweeps/small.yaml" > "$SW"

$MS sweep "$SW" -o "$T/ref.h5" -q >/dev/null || bad "reference sweep"
$MPI -n 1 $MS sweep "$SW" -o "$T/r1.h5" -q >/dev/null && ok "mpirun -n 1" || bad "mpirun -n 1"
$MPI -n 3 $MS sweep "$SW" -o "$T/r3.h5" -q >/dev/null && ok "mpirun -n 3" || bad "mpirun -n 3"
$CMP "$T/ref.h5" "$T/r1.h5" && ok "1 rank = one process" || bad "1 rank = one process"

# The binding warning: mpirun -n 2 binds each rank to one core. Without
# OMP_NUM_THREADS (the OpenMP default is then the bound cores: 1) and with
# more threads than that core, the rank says so; with --bind-to none not.
if [ "$(nproc)" -gt 1 ]; then
  for how in "unset" "2"; do
    rm -f "$T/w.h5"
    if [ "$how" = unset ]; then
      (unset OMP_NUM_THREADS; $MPI --bind-to core -n 2 $MS sweep "$SW" -o "$T/w.h5" >/dev/null 2>"$T/w.err")
      want="may run on only 1 of the"
    else
      OMP_NUM_THREADS=2 $MPI --bind-to core -n 2 $MS sweep "$SW" -o "$T/w.h5" >/dev/null 2>"$T/w.err"
      want="2 threads, but this process may run on only 1 core"
    fi
    grep -q "$want" "$T/w.err" && ok "binding warning (OMP_NUM_THREADS $how)" ||
      { bad "binding warning (OMP_NUM_THREADS $how)"; cat "$T/w.err"; }
  done
  rm -f "$T/w.h5"
  (unset OMP_NUM_THREADS; $MPI --bind-to none -n 2 $MS sweep "$SW" -o "$T/w.h5" >/dev/null 2>"$T/w.err")
  grep -q "warning:.*core" "$T/w.err" && { bad "no binding warning with --bind-to none"; cat "$T/w.err"; } ||
    ok "no binding warning with --bind-to none"
fi
$CMP "$T/ref.h5" "$T/r3.h5" && ok "3 ranks = one process" || bad "3 ranks = one process"

# Kill one worker rank partway.
BIG=$T/big.yaml
sed -e 's|run.people_per_agent: 200000|run.people_per_agent: 2000|' \
    -e 's|run.steps: 24|run.steps: 60|' "$SW" > "$BIG"
$MS sweep "$BIG" -o "$T/full.h5" -q >/dev/null || bad "full sweep"
$MPI -n 3 $MS sweep "$BIG" -o "$T/killed.h5" -q >/dev/null 2>&1 &
mp=$!
$PY "$SRC/tests/integration/sweepwait.py" "$T/killed.h5" 2 >/dev/null ||
  bad "the sweep to be killed did 2 runs"
# The worker ranks are the marketsim processes that do not hold the file
# (match the command from its start: mpirun's own command line names it too).
ranks() { pgrep -f "^$MS sweep $BIG"; }
victim=""
for p in $(ranks); do
  [ -e /proc/$p/fd ] || continue
  if ! ls -l /proc/$p/fd 2>/dev/null | grep -q killed.h5; then victim=$p; break; fi
done
if [ -n "$victim" ]; then
  kill -9 "$victim"
  ok "killed worker rank (pid $victim)"
else
  bad "found a worker rank to kill"
fi
wait $mp 2>/dev/null
# mpirun returns once it has signalled the others: wait until they are gone.
i=0
while [ -n "$(ranks)" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(ranks)" ] || bad "the other ranks ended after the kill"
$PY - "$T/killed.h5" <<'PYEOF' && ok "finished runs read back after the rank died" || bad "finished runs read back after the rank died"
import sys, h5py, numpy as np
try:
    f = h5py.File(sys.argv[1], "r")
except OSError:
    f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
s = f["runs/status"][()]
done = np.flatnonzero(s == 1)
assert 0 < len(done) < len(s), f"{len(done)} of {len(s)} done"
assert np.isfinite(f["market/adopters"][done]).all()
print(f"     {len(done)} of {len(s)} runs were done")
PYEOF
$MPI -n 2 $MS sweep "$BIG" -o "$T/killed.h5" --resume -q >/dev/null && ok "resume with 2 ranks" || bad "resume with 2 ranks"
$CMP "$T/full.h5" "$T/killed.h5" && ok "killed + resumed = uninterrupted" || bad "killed + resumed = uninterrupted"

echo "$fails failure(s)"
[ $fails -eq 0 ]
