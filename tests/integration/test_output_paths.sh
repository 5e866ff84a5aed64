#!/bin/sh
# Safe output paths (docs/OUTPUT.md, "Where results are written"):
# - -o that is the input (also by a symbolic or hard link), a folder, an
#   empty path, a device, a FIFO, or where OUT.partial / OUT.ckpt would be
#   a folder, is refused with exit 2 and a FILE: error: message before
#   anything is created; the same for sweep, merge, export and calibrate;
# - one writer per output: a second run, --restart, sweep or merge with the
#   same -o while the first writes is refused with exit 2, naming the
#   first one's pid, and the first one's file ends complete and right;
# - a re-run that is interrupted (SIGINT) or killed (SIGKILL) leaves the
#   earlier complete file bit for bit as it was; SIGINT leaves its own
#   progress beside it (OUT.partial, OUT.ckpt).
# A first writer is held still with SIGSTOP while the second one tries,
# so no case depends on timing.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/ms_paths.XXXXXX") || exit 1
pids=
trap 'for p in $pids; do kill -KILL $p 2>/dev/null; done; rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  fails=$((fails + 1))
  [ -s "$T/err" ] && sed 's/^/     | /' "$T/err" | head -n 5
}
SC=$T/scen.yaml
cp "$SRC/scenarios/default.yaml" "$SC"
cp "$SC" "$T/scen.orig"
ARGS="--set run.people_per_agent=3000 --set run.steps=48 --threads 1 -q"
LONG="--set run.people_per_agent=200000 --set run.steps=1000000 --threads 1 -q"

same() { # same A B: every dataset of /market, /firm, /events equal
  for g in /market /firm /events; do
    h5diff "$1" "$2" $g $g >/dev/null 2>&1 || return 1
  done
}
listing() { (cd "$T" && ls -A | grep -v '^err' | sort); }
status() { # status FILE: the status attribute, "" if unreadable
  "$PY" -c "
import sys, h5py
with h5py.File(sys.argv[1], 'r') as f:
    s = f.attrs['status']
    print(s.decode() if isinstance(s, bytes) else s, len(f['scenario'][()]) > 0)
" "$1" 2>/dev/null
}
# wait_for FILE: until FILE exists with content (at most 20 s)
wait_for() {
  i=0
  while [ ! -s "$1" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$1" ]
}

# refused WHAT CMD...: exit 2, "error:" naming the path, no new file.
refused() {
  what=$1
  shift
  before=$(listing)
  "$@" >/dev/null 2>"$T/err"
  rc=$?
  after=$(listing)
  if [ $rc -ne 2 ]; then
    bad "$what: exit $rc, expected 2"
  elif ! grep -q ": error: " "$T/err"; then
    bad "$what: no FILE: error: message"
  elif [ "$before" != "$after" ]; then
    bad "$what: files appeared: $(echo "$after" | tr '\n' ' ')"
  else
    ok "$what: exit 2, nothing written ($(head -c 90 "$T/err"))"
  fi
}

# ---- refused before anything is created ----
ln -s scen.yaml "$T/link.yaml"
ln "$SC" "$T/hard.yaml"
mkdir "$T/folder"
mkfifo "$T/fifo"
refused "-o the scenario" $MS run "$SC" $ARGS -o "$SC"
refused "-o the scenario by another name" $MS run "$SC" $ARGS -o "$T/./scen.yaml"
refused "-o a symbolic link to the scenario" $MS run "$SC" $ARGS -o "$T/link.yaml"
refused "-o a hard link to the scenario" $MS run "$SC" $ARGS -o "$T/hard.yaml"
refused "run through a link, -o the scenario" $MS run "$T/link.yaml" $ARGS -o "$SC"
refused "-o ''" $MS run "$SC" $ARGS -o ''
refused "-o a folder" $MS run "$SC" $ARGS -o "$T/folder"
refused "-o a name ending in /" $MS run "$SC" $ARGS -o "$T/new/"
refused "-o /dev/null" $MS run "$SC" $ARGS -o /dev/null
refused "-o a FIFO" $MS run "$SC" $ARGS -o "$T/fifo"
mkdir "$T/o.h5.partial"
refused "OUT.partial is a folder" $MS run "$SC" $ARGS -o "$T/o.h5"
rmdir "$T/o.h5.partial"
mkdir "$T/o.h5.ckpt"
refused "OUT.ckpt is a folder" $MS run "$SC" $ARGS -o "$T/o.h5"
rmdir "$T/o.h5.ckpt"
ln -s scen.yaml "$T/o.h5.partial"
refused "OUT.partial is a link to the scenario" $MS run "$SC" $ARGS -o "$T/o.h5"
rm "$T/o.h5.partial"
cmp -s "$SC" "$T/scen.orig" && ok "the scenario is untouched" || bad "the scenario changed"

# sweep, merge, export, calibrate
SW=$T/sweep.yaml
sed "s|^scenario: .*|scenario: $SC|" "$SRC/tests/data/sweeps/small.yaml" >"$SW"
refused "sweep -o the sweep file" $MS sweep "$SW" -q -o "$SW"
refused "sweep -o its scenario" $MS sweep "$SW" -q -o "$T/link.yaml"
refused "sweep -o a folder" $MS sweep "$SW" -q -o "$T/folder"
refused "sweep -o ''" $MS sweep "$SW" -q -o ''
refused "sweep --resume -o /dev/null" $MS sweep "$SW" -q --resume -o /dev/null
mkdir "$T/s.h5.partial"
refused "sweep: OUT.partial is a folder" $MS sweep "$SW" -q -o "$T/s.h5"
rmdir "$T/s.h5.partial"
$MS sweep "$SW" -q -o "$T/sw.h5" >/dev/null 2>"$T/err" && ok "a sweep" || bad "a sweep"
refused "merge -o a shard" $MS merge "$T/sw.h5" -q -o "$T/sw.h5"
refused "merge -o a folder" $MS merge "$T/sw.h5" -q -o "$T/folder"
refused "merge -o /dev/null" $MS merge "$T/sw.h5" -q -o /dev/null
refused "export --csv a file" $MS export "$T/sw.h5" --csv "$SC"
refused "export --csv ''" $MS export "$T/sw.h5" --csv ''
refused "calibrate -o the scenario" $MS calibrate "$SC" --free markets.CN.openness=0:1 -o "$T/hard.yaml"
cmp -s "$SC" "$T/scen.orig" && ok "the scenario is still untouched" || bad "the scenario changed"

# ---- one writer per output ----
# A reference run, uninterrupted and alone.
$MS run "$SC" $ARGS -o "$T/ref.h5" 2>"$T/err" || bad "reference run"

# hold_first OUT CMD...: start CMD, wait until it holds OUT's lock (its pid
# is in OUT.lock: a killed run may have left the file with its own), stop
# it there; sets $first.
hold_first() {
  out=$1
  shift
  "$@" >/dev/null 2>"$T/err1" &
  first=$!
  pids="$pids $first"
  i=0
  while ! grep -qx "$first" "$out.lock" 2>/dev/null && [ $i -lt 400 ]; do
    sleep 0.05
    i=$((i + 1))
  done
  if grep -qx "$first" "$out.lock" 2>/dev/null; then
    kill -STOP $first
    return 0
  fi
  kill -KILL $first 2>/dev/null
  wait $first 2>/dev/null
  return 1
}
# second_refused WHAT OUT CMD...: CMD exits 2 saying OUT is being written
# by pid $first.
second_refused() {
  what=$1
  out=$2
  shift 2
  "$@" >/dev/null 2>"$T/err"
  rc=$?
  if [ $rc -eq 2 ] && grep -q "is being written by another marketsim (pid $first)" "$T/err"; then
    ok "$what: the second writer is refused with the first's pid"
  else
    bad "$what: the second writer: exit $rc"
  fi
}
# first_finishes WHAT: let the first one go on; it must end with exit 0.
first_finishes() {
  kill -CONT $first
  wait $first
  rc=$?
  [ $rc -eq 0 ] && ok "$1: the first writer completes" || { cp "$T/err1" "$T/err"; bad "$1: the first writer: exit $rc"; }
}

# With HDF5's own file locking off: the lock does not depend on it.
if hold_first "$T/two.h5" env HDF5_USE_FILE_LOCKING=FALSE $MS run "$SC" $ARGS -o "$T/two.h5"; then
  second_refused "two runs, one -o" "$T/two.h5" env HDF5_USE_FILE_LOCKING=FALSE $MS run "$SC" $ARGS -o "$T/two.h5"
  first_finishes "two runs, one -o"
  [ "$(status "$T/two.h5")" = "complete True" ] && same "$T/ref.h5" "$T/two.h5" \
    && ok "two runs, one -o: the file is complete, with its scenario, and right" \
    || bad "two runs, one -o: the file is '$(status "$T/two.h5")' or differs"
  [ ! -e "$T/two.h5.partial" ] && [ ! -e "$T/two.h5.lock" ] \
    && ok "no .partial or .lock left" || bad "left: $(listing | tr '\n' ' ')"
else
  bad "two runs, one -o: the first never took the lock"
fi

# A checkpoint to restart: killed after its first checkpoint.
$MS run "$SC" $ARGS -o "$T/k.h5" --checkpoint-every 4 2>/dev/null &
k=$!
pids="$pids $k"
wait_for "$T/k.h5.ckpt"
kill -KILL $k 2>/dev/null
wait $k 2>/dev/null
if [ -e "$T/k.h5.ckpt" ] && hold_first "$T/k.h5" $MS run --restart "$T/k.h5.ckpt" -q --threads 1; then
  second_refused "two --restart of one checkpoint" "$T/k.h5" $MS run --restart "$T/k.h5.ckpt" -q
  first_finishes "two --restart of one checkpoint"
  [ "$(status "$T/k.h5")" = "complete True" ] && same "$T/ref.h5" "$T/k.h5" \
    && ok "two --restart: the file is complete and equals the uninterrupted run" \
    || bad "two --restart: the file is '$(status "$T/k.h5")' or differs"
else
  bad "two --restart: no checkpoint, or the first never took the lock"
fi

if hold_first "$T/sw2.h5" $MS sweep "$SW" -q -o "$T/sw2.h5"; then
  second_refused "two sweeps, one -o" "$T/sw2.h5" $MS sweep "$SW" -q -o "$T/sw2.h5"
  second_refused "a --resume while the sweep runs" "$T/sw2.h5" $MS sweep "$SW" -q --resume -o "$T/sw2.h5"
  first_finishes "two sweeps, one -o"
  "$PY" "$SRC/tests/integration/sweepcmp.py" "$T/sw.h5" "$T/sw2.h5" >/dev/null 2>"$T/err" \
    && ok "two sweeps: the first one's file equals a sweep alone" || bad "two sweeps: the file differs"
else
  bad "two sweeps: the first never took the lock"
fi

# ---- an interrupted re-run keeps the earlier result ----
cp "$T/ref.h5" "$T/ref.copy"
$MS run "$SC" $LONG -o "$T/ref.h5" 2>"$T/err" &
r=$!
pids="$pids $r"
wait_for "$T/ref.h5.partial"
kill -INT $r
wait $r
rc=$?
if [ $rc -eq 1 ] && cmp -s "$T/ref.h5" "$T/ref.copy"; then
  ok "SIGINT of a re-run: exit 1, the earlier file bit for bit as it was"
else
  bad "SIGINT of a re-run: exit $rc, or the earlier file changed"
fi
[ "$(status "$T/ref.h5.partial")" = "interrupted True" ] && [ -s "$T/ref.h5.ckpt" ] \
  && grep -q "ref.h5.partial holds them" "$T/err" && [ ! -e "$T/ref.h5.lock" ] \
  && ok "SIGINT of a re-run: its progress is beside it (OUT.partial, OUT.ckpt), and the message says so" \
  || bad "SIGINT of a re-run: OUT.partial '$(status "$T/ref.h5.partial")', $(listing | tr '\n' ' ')"
ln "$T/ref.h5.ckpt" "$T/ckpt.link"
refused "--restart CKPT -o CKPT" $MS run --restart "$T/ref.h5.ckpt" -q -o "$T/ref.h5.ckpt"
refused "--restart CKPT -o a link to CKPT" $MS run --restart "$T/ref.h5.ckpt" -q -o "$T/ckpt.link"
rm -f "$T/ref.h5.partial" "$T/ref.h5.ckpt"
$MS run "$SC" $LONG -o "$T/ref.h5" 2>"$T/err" &
r=$!
pids="$pids $r"
wait_for "$T/ref.h5.partial"
kill -KILL $r
wait $r 2>/dev/null
cmp -s "$T/ref.h5" "$T/ref.copy" && ok "SIGKILL of a re-run: the earlier file bit for bit as it was" \
  || bad "SIGKILL of a re-run: the earlier file changed"
# The lock file a killed run leaves locks nothing.
$MS run "$SC" $ARGS -o "$T/ref.h5" 2>"$T/err" && same "$T/ref.h5" "$T/ref.copy" \
  && [ ! -e "$T/ref.h5.lock" ] && ok "a run after the killed one writes its file" \
  || bad "a run after the killed one"

[ $fails -eq 0 ]
