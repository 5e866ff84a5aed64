#!/bin/sh
# The Slurm path, for real: install Debian's Slurm and munge if missing,
# start munge, slurmctld and slurmd on this machine (a one-node cluster;
# docs/CLUSTER.md) and use the shipped templates as a researcher would:
# submit a 3-shard sweep with scripts/slurm/submit.sh, kill shard 2 while
# it runs, check the merge job (which runs anyway) refuses and prints the
# command that resubmits shard 2, run that command, and check shard 2
# resumed its file and the merged file equals the uninterrupted sweep bit
# for bit. Skipped (77) when not root or Slurm cannot be installed. Takes
# about 30 s plus the install (~15 s) on a fresh machine.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start slurmd"; exit 77; }
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1 \
   || ! command -v munged >/dev/null 2>&1 && [ ! -x /usr/sbin/munged ]; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
     >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
      >/dev/null 2>&1; }) || { echo "SKIP: cannot install slurm"; exit 77; }
fi
D=$(mktemp -d /tmp/ms-slurm.XXXXXX)
chmod 755 "$D"
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  [ -s "$D/munged.pid" ] && kill "$(cat "$D/munged.pid")" 2>/dev/null
  sleep 0.5
  [ -n "${MS_KEEP_SLURM:-}" ] && echo "kept $D" || rm -rf "$D"
}
trap cleanup EXIT
t0=$(date +%s)

# munge: a daemon of our own (own key, socket, pid and log in $D), so that
# another Slurm test on this machine neither uses nor stops it.
mkdir -p "$D/munge"; chown munge:munge "$D/munge"; chmod 0755 "$D/munge"
/usr/sbin/mungekey --create --keyfile="$D/munge/munge.key" >/dev/null 2>&1 \
  || dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 2>/dev/null
chown munge:munge "$D/munge/munge.key"; chmod 0400 "$D/munge/munge.key"
MUNGE_SOCKET=$D/munge/munge.sock
runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" \
  --key-file="$D/munge/munge.key" --pid-file="$D/munge/munged.pid" \
  --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed" \
  || { echo "FAIL: munged"; cat "$D/munge/munged.log" 2>/dev/null; exit 1; }
cp "$D/munge/munged.pid" "$D/munged.pid"

# slurm.conf for this host
HOST=$(hostname -s)
# Ports of our own, so that this cluster cannot meet another one started
# on the same machine (e.g. by a second build tree's tests).
PORT=$((20000 + ($$ % 10000) * 2))
MEM=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
mkdir -p "$D/state" "$D/spool"
cat > "$D/slurm.conf" <<CONF
ClusterName=test
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
NodeName=$HOST CPUs=$(nproc) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf
slurmctld -D -i >"$D/ctld.out" 2>&1 &
pids="$pids $!"
slurmd -D >"$D/d.out" 2>&1 &
pids="$pids $!"
i=0
until [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; do
  i=$((i + 1))
  [ $i -gt 300 ] && { echo "FAIL: slurm did not come up"; tail -n 5 "$D/slurmctld.log" "$D/slurmd.log"; exit 1; }
  sleep 0.2
done
echo "ok   slurm up in $(( $(date +%s) - t0 )) s"

# The sweep: 4 points x 6 replications = 24 runs of about 0.3 s each, so
# that a shard (8 runs) is still running when it is killed.
SW=$D/sw.yaml
sed -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' \
    -e 's|^replications: .*|replications: 6|' \
    -e 's|^set: .*|set: {run.steps: 48, run.people_per_agent: 8000}|' \
    "$SRC/tests/data/sweeps/small.yaml" > "$SW"
"$MS" sweep "$SW" -o "$D/plain.h5" -q >/dev/null || { echo "FAIL: plain sweep"; exit 1; }

queue_empty() {  # until squeue answers, and with an empty queue
  i=0
  while q=$(squeue -h 2>&1); [ $? -ne 0 ] || [ -n "$q" ]; do
    i=$((i + 1))
    [ $i -gt 900 ] && { echo "FAIL: jobs still queued after 180 s"; echo "$q"; exit 1; }
    sleep 0.2
  done
}
done_runs() {  # runs done in a shard file, 0 while it does not exist
  [ -e "$1" ] || { echo 0; return; }
  "$MS" info "$1" 2>/dev/null | awk '/^Runs:/ {print $2; exit}' | grep . || echo 0
}

t1=$(date +%s)
OUT=$D/out
sub=$(MARKETSIM=$MS "$SRC/scripts/slurm/submit.sh" --cpus 1 --mem 500M --time 10 \
        "$SW" "$OUT" 3 "$OUT/merged.h5") || { echo "FAIL: submit"; exit 1; }
echo "$sub"
job=$(echo "$sub" | awk '{print $3}')
# Kill task 2 (shard 2 of 3) with SIGKILL once it has finished a run.
i=0
while [ "$(done_runs "$OUT/shard-2-of-3.h5")" -lt 1 ]; do
  i=$((i + 1))
  [ $i -gt 1200 ] && { echo "FAIL: shard 2 never finished a run"; squeue; cat "$OUT"/*.out; exit 1; }
  sleep 0.1
done
scancel --full --signal=KILL "${job}_2" || { echo "FAIL: scancel"; exit 1; }
queue_empty
echo "ok   array with a killed task and its merge job ended in $(( $(date +%s) - t1 )) s"
killed=$(done_runs "$OUT/shard-2-of-3.h5")
[ "$killed" -ge 1 ] && [ "$killed" -lt 8 ] ||
  { echo "FAIL: shard 2 was not cut short ($killed of 8 runs done); the machine was too quick for the test"; exit 1; }
[ ! -e "$OUT/merged.h5" ] || { echo "FAIL: merged although shard 2 was killed"; exit 1; }
mlog=$(ls "$OUT"/marketsim-merge-*.out)
grep -q "shard 2 of 3: not finished" "$mlog" ||
  { echo "FAIL: the merge job did not report shard 2"; cat "$mlog"; exit 1; }
if grep -q "shard [13] of 3" "$mlog"; then
  echo "FAIL: the merge job reported complete shards"; cat "$mlog"; exit 1
fi
cmd=$(grep -A1 "Resubmit them" "$mlog" | tail -1)
case "$cmd" in
  *"submit.sh "*"--only 2 "*) ;;
  *) echo "FAIL: no resubmit command for shard 2 in the merge log"; cat "$mlog"; exit 1 ;;
esac
echo "ok   merge job refused: shard 2 ($killed of 8 runs done), printed: $cmd"

# Resubmit exactly as told: shard 2 alone, then a new merge.
t2=$(date +%s)
before=$(ls "$OUT"/marketsim-sweep-*.out | wc -l)
eval "MARKETSIM=$MS $cmd" || { echo "FAIL: resubmit"; exit 1; }
queue_empty
new=$(ls -t "$OUT"/marketsim-sweep-*.out | head -1)
[ $(( $(ls "$OUT"/marketsim-sweep-*.out | wc -l) - before )) -eq 1 ] ||
  { echo "FAIL: the resubmission ran other tasks than shard 2"; ls "$OUT"; exit 1; }
grep -q "shard 2 of 3 -> .*shard-2-of-3.h5 (resuming)" "$new" ||
  { echo "FAIL: the resubmitted task did not resume shard 2"; cat "$new"; exit 1; }
redone=$(sed -n 's/^marketsim: \([0-9]*\) of \([0-9]*\) runs done here.*/\1/p' "$new")
[ "$redone" -eq $((8 - killed)) ] ||
  { echo "FAIL: the resumed shard ran $redone runs, not the $((8 - killed)) left"; cat "$new"; exit 1; }
[ -e "$OUT/merged.h5" ] || { echo "FAIL: no merged file after the resubmission"; cat "$OUT"/marketsim-merge-*.out; exit 1; }
echo "ok   shard 2 resubmitted alone ran its $redone remaining runs, merged in $(( $(date +%s) - t2 )) s"
$PY "$SRC/tests/integration/sweepcmp.py" "$D/plain.h5" "$OUT/merged.h5" \
  || { echo "FAIL: merged file differs from the plain sweep"; exit 1; }
echo "ok   merged job-array output = uninterrupted sweep (total $(( $(date +%s) - t0 )) s)"

# One run over 2 ranks with scripts/slurm/run-mpi.sbatch (nodes x tasks x
# threads, its default mpirun binding): the same file as one process.
if command -v mpirun >/dev/null 2>&1 && "$MS" --version | grep -q "MPI sweeps: yes"; then
  RUN=$SRC/scenarios/default.yaml
  "$MS" run "$RUN" --set run.people_per_agent=20000 --set run.steps=48 -q \
    -o "$D/run1.h5" || { echo "FAIL: one-process run"; exit 1; }
  t3=$(date +%s)
  (cd "$D" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
     OMPI_MCA_btl=self,vader MARKETSIM=$MS \
     sbatch --nodes=1 --ntasks=2 --cpus-per-task=1 --mem=500M --time=10 \
       "$SRC/scripts/slurm/run-mpi.sbatch" "$RUN" "$D/mpi/run.h5" \
       --set run.people_per_agent=20000 --set run.steps=48 -q >/dev/null) ||
    { echo "FAIL: sbatch run-mpi.sbatch"; exit 1; }
  queue_empty
  log=$(ls "$D"/marketsim-run-*.out)
  grep -q "on 2 ranks of 1 thread" "$log" ||
    { echo "FAIL: run-mpi.sbatch did not start 2 ranks"; cat "$log"; exit 1; }
  $PY "$SRC/tests/integration/runcmp.py" "$D/run1.h5" "$D/mpi/run.h5" ||
    { echo "FAIL: the 2-rank Slurm run differs from one process"; cat "$log"; exit 1; }
  echo "ok   run-mpi.sbatch: one run on 2 ranks = one process ($(( $(date +%s) - t3 )) s)"
fi
