#!/bin/sh
# run --dry-run sizes a run without running it: the agents it prints are
# the run's, a slice shrinks with the ranks, memory per rank follows the
# layout, it says how it estimated, writes nothing, and the load-time
# memory check counts a rank's share (a run too big for one process can
# be sized for many ranks).
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
SC=$SRC/scenarios/default.yaml
field() { # field FILE KEY WORD: the WORD-th word after KEY at a line start
  awk -v k="$2" -v n="$3" '$1 == k {print $(n + 1); exit}' "$1"
}

cd "$T" || exit 1
$MS run "$SC" --dry-run --threads 1 >d1.txt 2>d1.err || { bad "dry-run"; cat d1.err; }
$MS run "$SC" --dry-run --ranks 4 --threads 1 >d4.txt 2>&1 || bad "dry-run --ranks 4"
[ -z "$(ls -A "$T" | grep -v '^d[14]\.')" ] && ok "a dry run writes no file" || { bad "a dry run writes no file"; ls "$T"; }
$MS run "$SC" --threads 1 -q -o "$T/r.h5" || bad "the real run"
n=$(h5dump -a /consumers "$T/r.h5" | awk '/\(0\)/ {print $2}')
a1=$(field d1.txt agents 1)
[ -n "$n" ] && awk -v a="$a1" -v n="$n" 'BEGIN {exit !(a == n)}' &&
  ok "agents $a1 = the run's $n" || bad "agents $a1 = the run's $n"
rm -f "$T/r.h5"
s1=$(awk '$1 == "agents" {print $7}' d1.txt)
s4=$(awk '$1 == "agents" {print $7}' d4.txt)
awk -v s1="$s1" -v s4="$s4" -v n="$n" 'BEGIN {exit !(s1 == n && s4 >= n / 4 && s4 <= n / 4 + 512)}' &&
  ok "largest slice: $s1 on 1 rank, $s4 on 4 (N/4 to N/4 + a block)" ||
  bad "largest slice: $s1 on 1 rank, $s4 on 4"
grep -q "^memory/rank .* = 3 B per agent of the slice" d1.txt &&
  ok "memory per rank: 3 B per agent with 2 categories (1 + C)" || { bad "memory per rank line"; cat d1.txt; }
grep -q "^time/step" d4.txt && grep -q "^how .*measured here: a sample of" d4.txt &&
  grep -q "M\*C\*(F+1)" d4.txt && ok "time per step, and how it was estimated" ||
  { bad "time per step, and how it was estimated"; cat d4.txt; }
# 8e9 agents: too many for this process (31 GB), fine for 512 ranks.
$MS run "$SC" --dry-run --set run.people_per_agent=0.25 --threads 1 >big1.txt 2>big1.err
rc=$?
[ $rc -eq 2 ] && grep -q "raise run.people_per_agent" big1.err &&
  ok "8e9 agents in one process: refused (exit 2)" || { bad "8e9 agents in one process: refused (got $rc)"; cat big1.err; }
$MS run "$SC" --dry-run --ranks 512 --set run.people_per_agent=0.25 --threads 1 >big.txt 2>&1 &&
  grep -q "^agents *8076000000 " big.txt && ok "8e9 agents on 512 ranks: sized" ||
  { bad "8e9 agents on 512 ranks: sized"; cat big.txt; }
$MS run "$SC" --ranks 4 -q -o "$T/x.h5" 2>ranks.err
rc=$?
[ $rc -eq 2 ] && grep -q "with --dry-run" ranks.err && [ ! -e "$T/x.h5" ] &&
  ok "--ranks without --dry-run: usage error" || bad "--ranks without --dry-run: usage error (got $rc)"
echo "$fails failed"
[ $fails -eq 0 ]
