#!/bin/sh
# The Slurm path, for real: install Debian's Slurm and munge if missing,
# start munge, slurmctld and slurmd on this machine (a one-node cluster;
# docs/CLUSTER.md), submit the shipped job-array template with
# scripts/slurm/submit.sh, wait, and check the merged file equals the plain
# sweep. Skipped (77) when not root or Slurm cannot be installed. Takes
# about 20 s plus the install (~15 s) on a fresh machine.
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
  rm -rf "$D"
}
trap cleanup EXIT
t0=$(date +%s)

# munge
[ -s /etc/munge/munge.key ] || /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 \
  || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge "$D/munge"; chown munge:munge /run/munge "$D/munge"
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged --pid-file="$D/munge/munged.pid" \
    || { echo "FAIL: munged"; exit 1; }
  cp "$D/munge/munged.pid" "$D/munged.pid" 2>/dev/null
fi

# slurm.conf for this host
HOST=$(hostname -s)
MEM=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
mkdir -p "$D/state" "$D/spool"
cat > "$D/slurm.conf" <<CONF
ClusterName=test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
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
  [ $i -gt 300 ] && { echo "FAIL: slurm did not come up"; tail -5 "$D/slurmctld.log" "$D/slurmd.log"; exit 1; }
  sleep 0.2
done
echo "ok   slurm up in $(( $(date +%s) - t0 )) s"

# The sweep: plain, and as a 3-task job array + merge job.
SW=$D/sw.yaml
sed -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' \
    "$SRC/tests/data/sweeps/small.yaml" > "$SW"
"$MS" sweep "$SW" -o "$D/plain.h5" -q >/dev/null || { echo "FAIL: plain sweep"; exit 1; }
t1=$(date +%s)
MARKETSIM=$MS SBATCH_CPUS_PER_TASK=1 "$SRC/scripts/slurm/submit.sh" "$SW" "$D/out" 3 "$D/out/merged.h5" \
  || { echo "FAIL: submit"; exit 1; }
i=0
while [ -n "$(squeue -h 2>/dev/null)" ]; do
  i=$((i + 1))
  [ $i -gt 600 ] && { echo "FAIL: jobs still queued after 120 s"; squeue; exit 1; }
  sleep 0.2
done
echo "ok   job array and merge finished in $(( $(date +%s) - t1 )) s"
[ -e "$D/out/merged.h5" ] || { echo "FAIL: no merged file"; cat "$D"/out/*.out; exit 1; }
$PY "$SRC/tests/integration/sweepcmp.py" "$D/plain.h5" "$D/out/merged.h5" \
  || { echo "FAIL: merged file differs from the plain sweep"; exit 1; }
echo "ok   merged job-array output = plain sweep (total $(( $(date +%s) - t0 )) s)"
