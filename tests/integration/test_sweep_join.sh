#!/bin/sh
# --resume and merge join only files of one sweep: the same sweep text,
# resolved scenario and layout (hashes in the root attributes). A
# difference exits 2 with "FILE: error:" saying what differs, where and
# how to fix it, and writes nothing. (Editing model.max_entrants between
# shards, or before --resume, used to give garbage or heap overflows.)
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

cp "$SRC/scenarios/default.yaml" "$T/sc.yaml"
sed -e "s|^scenario: .*|scenario: sc.yaml|" "$SRC/tests/data/sweeps/small.yaml" >"$T/sw.yaml"
$MS sweep "$T/sw.yaml" -o "$T/s1.h5" --shard 1/2 -q >/dev/null || bad "shard 1"
$MS sweep "$T/sw.yaml" -o "$T/s2.h5" --shard 2/2 -q >/dev/null || bad "shard 2"
$MS merge "$T/s1.h5" "$T/s2.h5" -o "$T/good.h5" >/dev/null && ok "merge of matching shards" || bad "merge of matching shards"
# Half a sweep, to resume later.
MARKETSIM_TEST_KILL_AFTER=60 $MS sweep "$T/sw.yaml" -o "$T/half.h5" -q --threads 1 >/dev/null 2>&1
cp "$T/half.h5" "$T/half.orig"

# The scenario edited: model.max_entrants 200 -> 3.
cp "$T/sc.yaml" "$T/sc.orig"
sed -i 's|^model:|model:\n  max_entrants: 3|' "$T/sc.yaml"
$MS sweep "$T/sw.yaml" -o "$T/s2x.h5" --shard 2/2 -q >/dev/null || bad "shard 2 of the edited scenario"
$MS merge "$T/s1.h5" "$T/s2x.h5" -o "$T/m.h5" 2>"$T/err" >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "s2x.h5: error: a different scenario" "$T/err" &&
  grep -q "max_entrants: 3" "$T/err" && grep -q "max_entrants: 200" "$T/err" &&
  grep -q "make every shard with the same sweep and scenario files" "$T/err" &&
  ok "merge of shards of two scenarios: exit 2, says what differs and how to fix it" ||
  { bad "merge of shards of two scenarios (exit $rc)"; cat "$T/err"; }
[ ! -e "$T/m.h5" ] && [ ! -e "$T/m.h5.partial" ] && ok "... and writes nothing" || bad "merge refused wrote a file"
$MS sweep "$T/sw.yaml" -o "$T/half.h5" --resume -q >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "half.h5: error: a different scenario" "$T/err" &&
  grep -q "the file has '  max_entrants: 200', now '  max_entrants: 3'" "$T/err" &&
  grep -q "restore them" "$T/err" &&
  ok "--resume with the scenario edited: exit 2, says what differs and how to fix it" ||
  { bad "--resume with the scenario edited (exit $rc)"; cat "$T/err"; }
cmp -s "$T/half.h5" "$T/half.orig" && ok "... and leaves the file as it was, byte for byte" ||
  bad "a refused --resume changed the file"
cp "$T/sc.orig" "$T/sc.yaml"

# The sweep edited (another output kept).
sed -e "s|^outputs: .*|outputs: [adopters, users]|" "$T/sw.yaml" >"$T/sw2.yaml"
$MS sweep "$T/sw2.yaml" -o "$T/half.h5" --resume -q >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "half.h5: error: a different sweep file" "$T/err" &&
  grep -q "outputs: \[adopters, users\]" "$T/err" &&
  ok "--resume with another sweep file: exit 2, names the line" ||
  { bad "--resume with another sweep file (exit $rc)"; cat "$T/err"; }

# A shard whose layout differs (its recorded layout and a dataset's shape
# changed, as a crafted or foreign file could), and one with no hashes.
cp "$T/s2.h5" "$T/s2l.h5"
cp "$T/s2.h5" "$T/s2old.h5"
$PY - "$T/s2l.h5" "$T/s2old.h5" <<'PYEOF' || bad "craft shards"
import sys, h5py
from hashlib import sha1
with h5py.File(sys.argv[1], "r+") as f:
    lay = f.attrs["layout"]
    lay = lay.decode() if isinstance(lay, bytes) else lay
    f.attrs["layout"] = lay.replace("/firm/cash f64 [12, 5, 8]", "/firm/cash f64 [12, 5, 9]")
    f.attrs["layout_hash"] = sha1(b"x").hexdigest()[:16]
with h5py.File(sys.argv[2], "r+") as f:
    for k in ("scenario_hash", "sweep_hash", "layout_hash", "layout"):
        del f.attrs[k]
PYEOF
$MS merge "$T/s1.h5" "$T/s2l.h5" -o "$T/m.h5" 2>"$T/err" >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "s2l.h5: error: a different layout" "$T/err" &&
  grep -q "firm/cash f64 \[12, 5, 9\]" "$T/err" &&
  ok "merge of shards of two layouts: exit 2, names the dataset" ||
  { bad "merge of shards of two layouts (exit $rc)"; cat "$T/err"; }
$MS merge "$T/s1.h5" "$T/s2old.h5" -o "$T/m.h5" 2>"$T/err" >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "s2old.h5: error: the file records no hashes" "$T/err" &&
  ok "merge of a shard without hashes: exit 2" ||
  { bad "merge of a shard without hashes (exit $rc)"; cat "$T/err"; }
[ ! -e "$T/m.h5" ] && [ ! -e "$T/m.h5.partial" ] && ok "refused merges write nothing" || bad "refused merge wrote a file"

# Restored, the resume goes on and equals the merged shards.
$MS sweep "$T/sw.yaml" -o "$T/half.h5" --resume -q >/dev/null && ok "--resume with the files restored" || bad "--resume restored"
$PY "$SRC/tests/integration/sweepcmp.py" "$T/good.h5" "$T/half.h5" &&
  ok "the resumed sweep equals the merged shards" || bad "resumed = merged"

[ $fails -eq 0 ] && echo "all sweep join tests passed" || echo "$fails failed"
[ $fails -eq 0 ]
