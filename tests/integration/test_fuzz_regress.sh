#!/bin/sh
# test_fuzz_regress.sh: every input the fuzzers ever found trouble with
# (tests/data/fuzz/) goes through `marketsim validate`, which must accept it
# (exit 0) or refuse it (exit 2) with a message, and never crash, hang or
# exit otherwise. This runs in every build, also without clang; in a fuzz
# build the fuzzers replay the same files under ASan and UBSan
# (ctest -L fuzz, tests/fuzz/CMakeLists.txt).
#
#   scenario-*.yaml  (fuzz_scenario) a scenario file: validate FILE
#   set-*.txt        (fuzz_set) a --set argument on its first line:
#                    validate tests/fuzz/set_base.yaml --set LINE,
#                    and the file itself as a scenario as well
#   sweep-*.yaml     (fuzz_sweep) a sweep file, read as if it were in
#                    scenarios/sweeps/ (its `scenario: ../default.yaml`
#                    is found): marketsim sweep FILE --dry-run, which must
#                    also exit 0 or 2
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Exit 0 when every case passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"

dir=$MS_SOURCE_DIR/tests/data/fuzz
base=$MS_SOURCE_DIR/tests/fuzz/set_base.yaml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_fuzzreg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

n_ok=0
n_fail=0

# check NAME ARGS...: marketsim ARGS exits 0, or 2 with an "error:"
# message; at most 60 s.
check() {
    name=$1
    shift
    timeout -k 5 60 "$MARKETSIM" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    why=""
    if [ "$rc" -eq 124 ]; then
        why="did not finish in 60 s"
    elif [ "$rc" -eq 137 ]; then
        why="did not stop in 60 s, killed"
    elif [ "$rc" -ge 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ "$rc" -eq 2 ] && ! grep -q "error:" "$tmp/err"; then
        why="exit 2 without an error message"
    elif [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        why="exit status $rc, expected 0 or 2"
    fi
    if [ -n "$why" ]; then
        n_fail=$((n_fail + 1))
        echo "FAIL $name: $why"
        sed 's/^/     | /' "$tmp/err" | head -n 10
    else
        n_ok=$((n_ok + 1))
        echo "ok   $name (exit $rc)"
    fi
}

found=0
for f in "$dir"/*; do
    [ -f "$f" ] || continue
    found=$((found + 1))
    name=$(basename "$f")
    case $name in
        scenario-*.yaml)
            check "$name" validate -q "$f" ;;
        set-*.txt)
            check "$name as --set" validate -q "$base" --set "$(head -n 1 "$f")"
            check "$name as a file" validate -q "$f" ;;
        sweep-*.yaml)
            mkdir -p "$tmp/sweeps"
            ln -sf "$MS_SOURCE_DIR/scenarios/default.yaml" "$tmp/default.yaml"
            cp "$f" "$tmp/sweeps/$name"
            check "$name" sweep "$tmp/sweeps/$name" --dry-run
            rm -f "$tmp/sweeps/$name" ;;
        *)
            n_fail=$((n_fail + 1))
            echo "FAIL $name: name it scenario-*.yaml, set-*.txt or sweep-*.yaml" ;;
    esac
done
if [ "$found" -eq 0 ]; then
    n_fail=$((n_fail + 1))
    echo "FAIL no regression inputs in $dir"
fi
echo "fuzz regressions: $n_ok passed, $n_fail failed"
[ "$n_fail" -eq 0 ]
