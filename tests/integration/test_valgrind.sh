#!/bin/sh
# test_valgrind.sh: a small run, and reading its result back, under
# valgrind's memcheck: no invalid read or write, no use of uninitialised
# memory, no definite or indirect leak.
#
#   valgrind --error-exitcode=9 --leak-check=full
#            --errors-for-leak-kinds=definite,indirect
#            --suppressions=tests/valgrind.supp
#
# on `marketsim run tests/data/tiny.yaml --threads 2` (174 consumer agents,
# 3 steps, every dataset, two OpenMP threads), then `marketsim info` and
# `marketsim validate` on the same files. Each must exit 0. The suppression
# file hides only memory the libraries keep for the process's life
# (libgomp's thread pool, HDF5's global state), never a leak of ours.
#
# valgrind cannot run an ASan build: with one, this test fails and says so
# (`make test-asan` leaves it out; ASan does the same job there).
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Exit 0 when every check passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "FAIL no valgrind on PATH: scripts/install-deps.sh installs it"
    exit 1
fi
if ASAN_OPTIONS=help=1 "$MARKETSIM" --version 2>&1 | grep -q AddressSanitizer
then
    echo "FAIL $MARKETSIM is an ASan build, which valgrind cannot run; use a normal build"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_valgrind.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

scen=$MS_SOURCE_DIR/tests/data/tiny.yaml
supp=$MS_SOURCE_DIR/tests/valgrind.supp
n_fail=0

# vg NAME ARGS...: marketsim ARGS under memcheck.
vg() {
    name=$1
    shift
    valgrind --error-exitcode=9 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --suppressions="$supp" --log-file="$tmp/$name.log" \
        "$MARKETSIM" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    summary=$(grep -h 'ERROR SUMMARY' "$tmp/$name.log" | tail -n 1 |
              sed 's/^==[0-9]*== //')
    if [ -z "$summary" ]; then
        n_fail=$((n_fail + 1))
        echo "FAIL $name: valgrind wrote no report (exit $rc)"
        sed 's/^/     | /' "$tmp/$name.err" "$tmp/$name.log" | head -n 20
    elif [ "$rc" -ne 0 ]; then
        n_fail=$((n_fail + 1))
        echo "FAIL $name: exit status $rc ($summary)"
        sed 's/^==[0-9]*== /     | /' "$tmp/$name.log" | head -n 80
        sed 's/^/     | /' "$tmp/$name.err" | head -n 10
    else
        lost=$(grep -h 'definitely lost:' "$tmp/$name.log" |
               sed 's/^==[0-9]*== *//')
        echo "ok   $name: $summary; ${lost:-no leak summary}"
    fi
}

vg run run "$scen" -o "$tmp/out.h5" -q --threads 2
vg info info "$tmp/out.h5"
vg validate validate -q "$scen"

if [ "$n_fail" -ne 0 ]; then
    echo "valgrind: $n_fail failed"
    exit 1
fi
echo "valgrind: all clean"
exit 0
