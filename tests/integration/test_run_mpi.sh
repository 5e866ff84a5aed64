#!/bin/sh
# One run over several MPI ranks (each holds a slice of the consumers):
# with 1, 2 and 3 ranks, and more ranks than consumer blocks, every
# dataset of the run file equals the one-process run, on the default
# scenario and on bench/strategies.yaml (every strategy, learning and
# entry). A rank killed mid-run ends the job in bounded time with a
# message and a valid checkpoint; the run continues from it on 2 ranks,
# on 1 process, and a one-process checkpoint on 3 ranks, each ending equal
# to the run never stopped. A rank that hangs makes the others stop
# after MARKETSIM_MPI_TIMEOUT seconds with exit status 1.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
CMP="$PY $SRC/tests/integration/runcmp.py"
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun"; exit 77; }
$MS --version | grep -q "MPI sweeps: yes" || { echo "SKIP: marketsim built without MPI"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1
# 3 ranks share 2 cores here: let idle ranks yield instead of spinning.
MPI="mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 --mca btl self,vader"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { # check NAME REF OUT: OUT equals REF dataset for dataset
  $CMP "$2" "$3" && ok "$1" || bad "$1"
}

DEF="$SRC/scenarios/default.yaml --set run.people_per_agent=20000 --set run.steps=48"
STR="$SRC/bench/strategies.yaml --set run.people_per_agent=20 --set run.steps=48 --set output.every=12"
$MS run $DEF -q -o "$T/def.h5" || bad "default: one process"
$MS run $STR -q -o "$T/str.h5" || bad "strategies: one process"
for k in 1 2 3; do
  $MPI -n $k $MS run $DEF -q -o "$T/def$k.h5" || bad "default: mpirun -n $k"
  check "default: $k ranks = one process" "$T/def.h5" "$T/def$k.h5"
  $MPI -n $k $MS run $STR -q -o "$T/str$k.h5" || bad "strategies: mpirun -n $k"
  check "strategies: $k ranks = one process" "$T/str.h5" "$T/str$k.h5"
done
$MPI -n 2 $MS run $STR -q --threads 2 -o "$T/str2t.h5" || bad "strategies: 2 ranks of 2 threads"
check "strategies: 2 ranks of 2 threads = one process" "$T/str.h5" "$T/str2t.h5"
[ ! -e "$T/str3.h5.ckpt" ] && [ -z "$(ls "$T" | grep slice)" ] &&
  ok "a finished run leaves no checkpoint" || bad "a finished run leaves no checkpoint"

# More ranks than blocks: 5 consumers in 3 markets, one block each at
# most, so some ranks hold none.
FEW="$SRC/scenarios/default.yaml --set run.people_per_agent=5e8"
$MS run $FEW -q --check -o "$T/few.h5" || bad "5 consumers: one process"
$MPI -n 3 $MS run $FEW -q --check -o "$T/few3.h5" || bad "5 consumers: mpirun -n 3 --check"
check "ranks without consumers: 3 ranks = one process" "$T/few.h5" "$T/few3.h5"

# Kill one of 3 ranks after the first checkpoint.
MID="$SRC/scenarios/default.yaml --set run.people_per_agent=20000"
$MS run $MID -q -o "$T/mid.h5" || bad "checkpointed scenario: one process"
$MPI -n 3 $MS run $MID -q --checkpoint-every 3 -o "$T/k.h5" 2>"$T/k.err" &
mp=$!
i=0
while [ ! -e "$T/k.h5.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
victim=$(pgrep -P $mp | sed -n 2p)
t0=$(date +%s)
kill -9 "$victim" 2>/dev/null
# Bounded: the job must be over within 60 s of the kill.
i=0
while kill -0 $mp 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $mp 2>/dev/null; then
  bad "the job ends within 60 s of a killed rank"
  kill -9 $mp 2>/dev/null
fi
wait $mp
rc=$?
[ $rc -ne 0 ] && ok "killed rank: the job ended ($(( $(date +%s) - t0 )) s, status $rc)" ||
  bad "killed rank: the job ended with a failure status (got $rc)"
grep -q "rank 1.*signal 9" "$T/k.err" && ok "killed rank: the message names it" ||
  { bad "killed rank: the message names it"; cat "$T/k.err"; }
[ -e "$T/k.h5.ckpt" ] || bad "killed rank: the checkpoint is kept"
# Copies to continue on one process too (the slices follow the manifest's name).
for f in "$T"/k.h5.ckpt "$T"/k.h5.ckpt.step*; do
  case $f in *.partial) continue ;; esac
  cp "$f" "$T/c${f#$T/k}"
done
$MPI -n 2 $MS run --restart "$T/k.h5.ckpt" -q --checkpoint-every 3 ||
  bad "restart of a 3-rank checkpoint on 2 ranks"
check "checkpoint at 3 ranks, restarted at 2 = uninterrupted" "$T/mid.h5" "$T/k.h5"
$MS run --restart "$T/c.h5.ckpt" -q -o "$T/c.h5" || bad "restart of a 3-rank checkpoint in one process"
check "checkpoint at 3 ranks, restarted in one process = uninterrupted" "$T/mid.h5" "$T/c.h5"

# A rank that hangs (stopped): the others give up after
# MARKETSIM_MPI_TIMEOUT seconds with exit status 1 and say why.
rm -f "$T"/k.h5*
MARKETSIM_MPI_TIMEOUT=2 $MPI -n 3 $MS run $MID -q --checkpoint-every 3 -o "$T/k.h5" 2>"$T/h.err" &
mp=$!
i=0
while [ ! -e "$T/k.h5.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
hung=$(pgrep -P $mp | sed -n 2p)
kill -STOP "$hung" 2>/dev/null
i=0
while kill -0 $mp 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $mp 2>/dev/null; then
  bad "the job ends within 60 s of a hung rank"
  kill -9 "$hung" $mp 2>/dev/null
fi
wait $mp
rc=$?
[ $rc -eq 1 ] && ok "hung rank: the others stop with status 1" ||
  bad "hung rank: the others stop with status 1 (got $rc)"
grep -q "waited too long for the others" "$T/h.err" && ok "hung rank: the message says so" ||
  { bad "hung rank: the message says so"; cat "$T/h.err"; }
$MPI -n 2 $MS run --restart "$T/k.h5.ckpt" -q || bad "restart after a hung rank on 2 ranks"
check "after a hung rank, restarted at 2 = uninterrupted" "$T/mid.h5" "$T/k.h5"

# SIGTERM to every rank (what Slurm does at the time limit): all stop at
# the same step, write a checkpoint and the file (status 'interrupted'),
# exit 1; the run continues from it on 2 ranks.
$MPI -n 3 $MS run $MID -q --checkpoint-every 3 -o "$T/t.h5" 2>"$T/t.err" &
mp=$!
i=0
while [ ! -e "$T/t.h5.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $(pgrep -P $mp) 2>/dev/null
wait $mp
rc=$?
[ $rc -eq 1 ] && grep -q "interrupted after" "$T/t.err" &&
  ok "SIGTERM to every rank: interrupted, status 1" ||
  { bad "SIGTERM to every rank: interrupted, status 1 (got $rc)"; cat "$T/t.err"; }
$MPI -n 2 $MS run --restart "$T/t.h5.ckpt" -q || bad "restart after SIGTERM on 2 ranks"
check "after SIGTERM at 3 ranks, restarted at 2 = uninterrupted" "$T/mid.h5" "$T/t.h5"

# One rank cannot write its checkpoint slice (a folder where its file
# goes): every rank stops at that step with status 1, the rank says why.
rm -rf "$T"/w.h5*
mkdir -p "$T/w.h5.ckpt.step3.slice2of3.partial"
$MPI -n 3 $MS run $MID -q --checkpoint-every 3 -o "$T/w.h5" 2>"$T/w.err"
rc=$?
[ $rc -eq 1 ] && grep -q "rank 1: error: .*slice2of3" "$T/w.err" &&
  grep -q "another rank could not write its checkpoint slice" "$T/w.err" &&
  ok "a rank's failed slice stops the run with status 1, saying which" ||
  { bad "a rank's failed slice stops the run with status 1, saying which (got $rc)"; cat "$T/w.err"; }

# A one-process checkpoint continued on 3 ranks.
$MS run $MID -q --threads 1 --checkpoint-every 3 -o "$T/s.h5" &
sp=$!
i=0
while [ ! -e "$T/s.h5.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $sp 2>/dev/null
wait $sp 2>/dev/null
$MPI -n 3 $MS run --restart "$T/s.h5.ckpt" -q || bad "restart of a one-process checkpoint on 3 ranks"
check "one-process checkpoint, restarted at 3 ranks = uninterrupted" "$T/mid.h5" "$T/s.h5"

echo "$fails failed"
[ $fails -eq 0 ]
