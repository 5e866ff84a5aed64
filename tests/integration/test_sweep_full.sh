#!/bin/sh
# A sweep that runs out of room: a file-size limit (ulimit -f) with
# SIGXFSZ ignored (the write fails) and with it left alone (the process
# dies), and a full disk (a 2 MB tmpfs, where this test may mount one).
# Each time the file must open, its done runs match their checksums, and
# --resume, with room again, must give the uninterrupted sweep.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
SW=$SRC/tests/data/sweeps/small.yaml
T=$(mktemp -d)
MNT=
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

$MS sweep "$SW" -o "$T/ref.h5" -q >/dev/null || bad "reference sweep"
# Limits from the finished file's size B (ulimit -f counts 512-byte
# blocks in sh; the room taken before each run is about 0.8 B here), so
# that they fall before the first run and among the runs.
B=$(( $(wc -c <"$T/ref.h5") / 512 ))
resumed=""
after() { # FILE WHAT
  $MS info "$1" >"$T/info" 2>&1 && grep -q "Checksums: the data of all" "$T/info" &&
    ok "$2: the file opens, its done runs match ($(grep '^Runs' "$T/info"))" ||
    { bad "$2: the file opens and checks"; cat "$T/info"; }
  $MS sweep "$SW" -o "$1" --resume -q >/dev/null 2>"$T/err" &&
    ok "$2: --resume completes it" || { bad "$2: --resume"; cat "$T/err"; }
  resumed="$resumed $1"
}
for lim in $((B * 3 / 10)) $((B * 11 / 10)) $((B * 13 / 10)); do
  f=$T/lim$lim.h5
  sh -c "trap '' XFSZ; ulimit -f $lim; exec $MS sweep '$SW' -o '$f' -q --threads 1" \
    >/dev/null 2>"$T/err"
  rc=$?
  [ $rc -eq 1 ] && grep -q "the file exceeds a size limit" "$T/err" &&
    grep -q -- "--resume" "$T/err" &&
    ok "ulimit -f $lim: exit 1, says the size limit and --resume" ||
    { bad "ulimit -f $lim (exit $rc)"; cat "$T/err"; }
  after "$f" "ulimit -f $lim"
done
f=$T/xfsz.h5
sh -c "ulimit -f $((B * 13 / 10)); exec $MS sweep '$SW' -o '$f' -q --threads 1" >/dev/null 2>&1
rc=$?
[ $rc -gt 128 ] && ok "ulimit -f $((B * 13 / 10)), SIGXFSZ not ignored: killed by it (exit $rc)" ||
  bad "ulimit -f $((B * 13 / 10)), SIGXFSZ: exit $rc"
after "$f" "killed by SIGXFSZ"

# A full disk: a 2 MB tmpfs, filled but for about 0.4 B and 1.2 B (the
# end of a sweep copies its file: see finish() in sim/sweep/farm.c).
MNT=$T/mnt
mkdir "$MNT"
if mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null; then
  for free in $((B * 2 / 10)) $((B * 6 / 10)); do
    dd if=/dev/zero of="$MNT/fill" bs=1k count=$((2048 - free)) 2>/dev/null
    f=$MNT/full$free.h5
    $MS sweep "$SW" -o "$f" -q --threads 1 >/dev/null 2>"$T/err"
    rc=$?
    [ $rc -eq 1 ] && grep -q "disk.* is full" "$T/err" &&
      ok "full disk ($free kB free): exit 1, says the disk is full" ||
      { bad "full disk ($free kB free), exit $rc"; cat "$T/err"; }
    rm -f "$MNT/fill"
    after "$f" "full disk ($free kB free)"
    mv "$f" "$T/" && resumed="$(echo "$resumed" | sed "s|$f|$T/full$free.h5|")"
  done
  umount "$MNT" && MNT=
else
  echo "skip full disk: cannot mount a tmpfs here (not root, or no permission); the size limit above takes the same path"
  MNT=
fi
$PY "$SRC/tests/integration/sweepcmp.py" "$T/ref.h5" $resumed &&
  ok "every resumed file equals the uninterrupted sweep" || bad "resumed files equal the sweep"

[ $fails -eq 0 ] && echo "all sweep room tests passed" || echo "$fails failed"
[ $fails -eq 0 ]
