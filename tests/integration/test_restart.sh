#!/bin/sh
# Checkpoint and restart: a run killed with SIGKILL at several points and
# continued with --restart writes the same data, bit for bit, as a run
# never stopped; SIGINT and SIGTERM write a final checkpoint; a run that
# completes leaves no checkpoint behind. The default scenario has every
# strategy, entries, exits and events at work.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
SC=$SRC/scenarios/default.yaml
ARGS="--set run.people_per_agent=3000 --threads 1 -q"

same() { # same A B: every dataset of /market, /firm, /events equal
  for g in /market /firm /events; do
    h5diff "$1" "$2" $g $g >/dev/null 2>&1 || return 1
  done
}

$MS run "$SC" $ARGS -o "$T/ref.h5" || bad "reference run"
[ ! -e "$T/ref.h5.ckpt" ] && ok "a completed run leaves no checkpoint" || bad "a completed run leaves no checkpoint"

for delay in 0.1 0.3 0.6; do
  rm -f "$T/k.h5" "$T/k.h5".*
  $MS run "$SC" $ARGS -o "$T/k.h5" --checkpoint-every 7 &
  pid=$!
  # Wait for the first checkpoint (up to 60 s: sanitizer builds on a busy
  # machine are slow to start), then let it run a little more.
  i=0
  while [ ! -e "$T/k.h5.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  sleep $delay
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [ ! -e "$T/k.h5.ckpt" ]; then bad "checkpoint present after SIGKILL ($delay s)"; continue; fi
  $MS run --restart "$T/k.h5.ckpt" -q --threads 2 || { bad "restart after SIGKILL ($delay s)"; continue; }
  same "$T/ref.h5" "$T/k.h5" && ok "SIGKILL after ${delay}s + restart = uninterrupted" \
    || bad "SIGKILL after ${delay}s + restart = uninterrupted"
  [ ! -e "$T/k.h5.ckpt" ] && [ ! -e "$T/k.h5.ckpt.partial" ] || bad "checkpoint removed after the restarted run completed"
done

for sig in INT TERM; do
  rm -f "$T/s.h5" "$T/s.h5".*
  $MS run "$SC" $ARGS -o "$T/s.h5" &
  pid=$!
  i=0
  while [ ! -e "$T/s.h5.partial" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  sleep 0.3
  kill -$sig $pid
  wait $pid
  rc=$?
  [ $rc -eq 1 ] && [ -e "$T/s.h5.ckpt" ] && [ -e "$T/s.h5" ] \
    && ok "SIG$sig: exit 1, file kept, final checkpoint" || bad "SIG$sig: exit $rc, final checkpoint"
  $MS run --restart "$T/s.h5.ckpt" -q || bad "restart after SIG$sig"
  same "$T/ref.h5" "$T/s.h5" && ok "SIG$sig + restart = uninterrupted" || bad "SIG$sig + restart = uninterrupted"
done

$MS run --restart "$SC" -q 2>/dev/null; [ $? -eq 2 ] && ok "--restart of a non-checkpoint: exit 2" || bad "--restart of a non-checkpoint"
$MS run "$SC" --restart "$T/x.ckpt" 2>/dev/null; [ $? -eq 2 ] && ok "--restart with a scenario: exit 2" || bad "--restart with a scenario"
echo "$fails failure(s)"
[ $fails -eq 0 ]
