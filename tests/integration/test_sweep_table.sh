#!/bin/sh
# design: table. The points of a CSV file (one column per parameter, one
# row per point, path relative to the sweep file) give the same file, bit
# for bit, as the same points given as a grid; a table is checked like any
# other design, each problem at its line and column of the CSV.
set -u
MS=${MARKETSIM:?}
SRC=${MS_SOURCE_DIR:?}
PY=${MS_PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# The grid of tests/data/sweeps/small.yaml, and its 4 points as a table in
# the grid's order (first parameter slowest), written in several spellings.
sed -e 's|^scenario: .*|scenario: '"$SRC"'/scenarios/default.yaml|' \
    "$SRC/tests/data/sweeps/small.yaml" > "$T/grid.yaml"
mkdir "$T/sub"
cat > "$T/sub/points.csv" <<'CSV'
# the points of the grid
markets.CN.openness, firms.Alibaba.strategy
0.2, {acquire: 1}
0.2, "{experiment: 0.5, localize: 0.5}"

0.9, {acquire:   1}
0.90, {experiment: 0.5, localize: 0.5}
CSV
sed -e '/^parameters:/,/^outputs:/{/^outputs:/!d}' \
    -e 's|^replications: 3|replications: 3\ndesign: table\ntable: sub/points.csv|' \
    "$T/grid.yaml" > "$T/table.yaml"
grep -q "^table: sub/points.csv" "$T/table.yaml" && ! grep -q "^parameters" "$T/table.yaml" ||
  bad "the table sweep file was not made as meant"
$MS sweep "$T/table.yaml" --dry-run > "$T/dry" 2>&1 &&
  grep -q "design  *table: 4 points x 3 replications = 12 runs" "$T/dry" &&
  grep -q "markets.CN.openness  *2 values" "$T/dry" &&
  ok "dry run: table of 4 points (0.9 and 0.90 are one value)" ||
  { bad "dry run of the table"; cat "$T/dry"; }
$MS sweep "$T/grid.yaml" -o "$T/grid.h5" -q >/dev/null || bad "grid sweep"
$MS sweep "$T/table.yaml" -o "$T/table.h5" -q >/dev/null || bad "table sweep"
$PY "$SRC/tests/integration/sweepcmp.py" "$T/grid.h5" "$T/table.h5" &&
  ok "table sweep = grid sweep, bit for bit" || bad "table sweep differs from the grid sweep"

# Bad tables: exit 2, the CSV's line and column, the expected text, no file.
# case NAME CSV-TEXT EXPECTED-POSITION EXPECTED-TEXT [SWEEP-EXTRA]
case_() {
  name=$1; csv=$2; pos=$3; want=$4
  printf '%s\n' "$csv" > "$T/sub/bad.csv"
  sed -e "s|sub/points.csv|${5:-sub/bad.csv}|" "$T/table.yaml" > "$T/bad.yaml"
  [ -n "${6:-}" ] && printf '%s\n' "$6" >> "$T/bad.yaml"
  rm -f "$T/bad.h5"
  $MS sweep "$T/bad.yaml" -o "$T/bad.h5" -q > /dev/null 2> "$T/err"
  rc=$?
  if [ $rc -eq 2 ] && grep -qF "$pos: error:" "$T/err" && grep -qF "$want" "$T/err" &&
     [ ! -e "$T/bad.h5" ]; then
    ok "$name: $(grep -m1 -o 'error: .*' "$T/err" | cut -c 8-100)"
  else
    bad "$name (exit $rc; wanted '$pos: error:' and '$want')"; cat "$T/err"
  fi
}
C="$T/sub/bad.csv"
case_ "unknown key" "markets.CN.openness,markets.XX.openness
0.2,0.5" "$C:1:21" "table column markets.XX.openness: a run with this parameter would not start"
case_ "bad value" "markets.CN.openness
0.2

7" "$C:4:1" "a run of this sweep would not start"
case_ "cells short" "markets.CN.openness, model.lambda
0.2, 1
0.3" "$C:3:1" "1 cells, but the header has 2 columns"
case_ "empty cell" "markets.CN.openness, model.lambda
0.2, 1
, 2" "$C:3:1" "column 'markets.CN.openness' is empty in this row"
case_ "shape key" "run.steps
12" "$C:1:1" "column run.steps fixes the shape of the outputs"
case_ "column twice" "model.lambda, model.lambda
1, 2" "$C:1:15" "column 'model.lambda' is also column 1"
case_ "overlaps set" "run.people_per_agent
1000" "$C:1:1" "column run.people_per_agent overlaps the key of set at"
L=$(grep -n "^table:" "$T/table.yaml" | cut -d: -f1)
case_ "no rows" "model.lambda" "$T/bad.yaml:$L:8" "has a header but no rows"
case_ "no file" "" "$T/bad.yaml:$L:8" "table: cannot read $T/sub/nowhere.csv" sub/nowhere.csv
case_ "with parameters" "model.lambda
1" "$T/bad.yaml:$(( $(wc -l < "$T/table.yaml") + 1 )):13" "with design: table the parameters are the columns" "" "parameters: {model.lambda: [1, 2]}"

# The CSV edited between shards or before --resume: the sweep text is the
# same, its points are not; both joins are refused, nothing written.
$MS sweep "$T/table.yaml" -o "$T/s1.h5" --shard 1/2 -q >/dev/null || bad "shard 1 of the table"
cp "$T/sub/points.csv" "$T/points.orig"
sed -i 's/^0.9, {acquire:   1}/0.8, {acquire: 1}/' "$T/sub/points.csv"
$MS sweep "$T/table.yaml" -o "$T/s2.h5" --shard 2/2 -q >/dev/null || bad "shard 2 of the edited table"
rm -f "$T/m.h5"
$MS merge "$T/s1.h5" "$T/s2.h5" -o "$T/m.h5" 2> "$T/err" >/dev/null
rc=$?
[ $rc -eq 2 ] && grep -q "the sweep texts are the same but their points differ" "$T/err" &&
  [ ! -e "$T/m.h5" ] && ok "merge of shards of an edited table refused" ||
  { bad "merge of shards of an edited table (exit $rc)"; cat "$T/err"; }
cp "$T/s1.h5" "$T/s1.before"
$MS sweep "$T/table.yaml" -o "$T/s1.h5" --shard 1/2 --resume -q 2> "$T/err" >/dev/null
rc=$?
[ $rc -eq 2 ] && grep -q "their points differ" "$T/err" && cmp -s "$T/s1.h5" "$T/s1.before" &&
  ok "--resume after the table was edited refused, file unchanged" ||
  { bad "--resume after the table was edited (exit $rc)"; cat "$T/err"; }
cp "$T/points.orig" "$T/sub/points.csv"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
