#!/bin/sh
# test_bad_sweep.sh: sweep files that would run with a meaning other than
# the one they state are refused before any work, and designs are sized
# from their counts alone.
#
# Each tests/data/bad/sweeps/NN_name.yaml has one problem, with the same
# header lines as the scenarios of test_bad_input.sh (# expect: TEXT,
# # expect-line: L). For every case, within a time limit (a hang or a
# per-run loop over a huge design is a failure):
#   marketsim sweep FILE -o DIR/out.h5  exits 2 with "FILE:L:COL: error:"
#     and the expected text, and leaves DIR empty;
#   marketsim sweep FILE --dry-run  exits 2 the same way, nothing on stdout.
# Then what --dry-run says about the points it checked.
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Exit 0 when every check passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"

case $MS_SOURCE_DIR in /*) ;; *) MS_SOURCE_DIR=$(pwd)/$MS_SOURCE_DIR ;; esac
dir=$MS_SOURCE_DIR/tests/data/bad/sweeps
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_bad_sweep.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

n_ok=0
n_fail=0
ok() {
    n_ok=$((n_ok + 1))
    echo "ok   $1"
}
bad() {
    n_fail=$((n_fail + 1))
    echo "FAIL $1"
    [ -s "$tmp/err" ] && sed 's/^/     | /' "$tmp/err" | head -n 12
}

header() {
    sed -n "s/^# $2: //p" "$1" | tr -d '\r'
}

# check NAME FILE: the message in $tmp/err has the file's position and
# every expected text; prints the first problem.
check() {
    line=$(header "$2" expect-line | head -n 1)
    if ! grep -qF -e "$2:$line:" "$tmp/err" ||
       ! grep -qF -e "error:" "$tmp/err"; then
        echo "no '$2:$line:COL: error:' in the message"
        return
    fi
    header "$2" expect | while IFS= read -r want; do
        if ! grep -qF -e "$want" "$tmp/err"; then
            echo "the message lacks \"$want\""
            break
        fi
    done
}

found=0
for f in "$dir"/*.yaml; do
    [ -f "$f" ] || continue
    found=$((found + 1))
    name=$(basename "$f" .yaml)
    rm -rf "$tmp/run"
    mkdir "$tmp/run"
    timeout -k 5 30 "$MARKETSIM" sweep "$f" -o "$tmp/run/out.h5" -q \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    problem=$(check "$name" "$f")
    if [ "$rc" -ne 2 ]; then
        bad "$name: sweep: exit status $rc, expected 2"
        continue
    elif [ -n "$problem" ]; then
        bad "$name: sweep: $problem"
        continue
    elif [ -n "$(ls -A "$tmp/run")" ]; then
        bad "$name: sweep: left files behind: $(ls -A "$tmp/run")"
        continue
    fi
    timeout -k 5 30 "$MARKETSIM" sweep "$f" --dry-run >"$tmp/out" 2>"$tmp/err"
    rc=$?
    problem=$(check "$name" "$f")
    if [ "$rc" -ne 2 ]; then
        bad "$name: --dry-run: exit status $rc, expected 2"
    elif [ -n "$problem" ]; then
        bad "$name: --dry-run: $problem"
    elif [ -s "$tmp/out" ]; then
        bad "$name: --dry-run: printed to stdout on bad input"
    else
        ok "$name: $(grep -m 1 -o 'error: .*' "$tmp/err" | cut -c 8-120)"
    fi
done
[ "$found" -ge 12 ] || bad "only $found cases in $dir"

# --dry-run says which points were checked: all of a small design ...
cat >"$tmp/small.yaml" <<YAML
scenario: $MS_SOURCE_DIR/tests/data/tiny.yaml
replications: 2
parameters:
  model.lambda: [0.5, 1, 2]
YAML
"$MARKETSIM" sweep "$tmp/small.yaml" --dry-run >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q "^checked  *all 3 points start" "$tmp/out" &&
   grep -q "3 points x 2 replications = 6 runs" "$tmp/out"; then
    ok "dry run: all 3 points checked"
else
    cat "$tmp/out" >>"$tmp/err"
    bad "dry run: all 3 points checked"
fi
# ... and exactly which of a large one; shards are counted exactly. (The
# 10000 checks take a few seconds; the limit, a guard against a hang,
# leaves room for sanitizer builds, which are many times slower.)
cat >"$tmp/large.yaml" <<YAML
scenario: $MS_SOURCE_DIR/tests/data/tiny.yaml
design: lhs
samples: 10003
parameters:
  model.lambda: {low: 0.1, high: 2}
YAML
timeout -k 5 600 "$MARKETSIM" sweep "$tmp/large.yaml" --dry-run --shard 2/4 \
    >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] &&
   grep -q "^checked  *points 0 to 9999 of 10003 (the first 10000)" "$tmp/out" &&
   grep -q "^this shard  *2/4: 2501 runs" "$tmp/out"; then
    ok "dry run: points 0 to 9999 of 10003 checked, shard 2/4 has 2501 runs"
else
    cat "$tmp/out" >>"$tmp/err"
    bad "dry run: points 0 to 9999 of 10003 checked, shard 2/4 has 2501 runs"
fi

echo "bad sweeps: $n_ok ok, $n_fail failed"
[ "$n_fail" -eq 0 ]
