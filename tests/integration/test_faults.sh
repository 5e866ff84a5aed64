#!/bin/sh
# test_faults.sh: running out of memory, or out of room for the output,
# ends a run cleanly.
#
# 1. Allocation walk. A run of tests/data/tiny.yaml (3 steps, 174 consumer
#    agents, every dataset) with MARKETSIM_ALLOC_REPORT=1 says how many
#    allocations N it makes through sim/base/alloc.c. Then for every n in
#    1..N, MARKETSIM_FAIL_ALLOC=n fails the n-th one, and the run must end
#    with exit status 1 (not a signal, not 0 or 2), a message containing
#    "out of memory", no output file (neither OUT.h5 nor OUT.h5.partial)
#    unless the failure came after the file was complete (then
#    `marketsim info` must read it), and no leak. The same walk is done
#    over `marketsim info FILE`, which allocates on its own.
#    Leaks: with an ASan build (MARKETSIM itself, or MARKETSIM_ASAN pointing
#    to build-asan/marketsim) LeakSanitizer checks every byte, libraries
#    included; otherwise the allocation report must say "0 bytes live at
#    exit", which covers the engine's own memory (sim/base/alloc.c).
#    The walk reports N and how many distinct places raised the error
#    (MARKETSIM_TRACE=1 prints where; the innermost frame is the place).
# 2. Output failures. The result file cannot be written:
#    a. the file-size limit (ulimit -f, SIGXFSZ ignored) is reached at the
#       start, while writing records and when closing the file: exit 1, a
#       message naming the file and the limit, no OUT.h5.partial, and an
#       OUT.h5 from before byte-identical;
#    b. the folder is read-only (chmod 555, run as user nobody through
#       setpriv or runuser when this script is root; skipped, with a
#       message, when neither can switch user): exit 1 and a message
#       naming the path.
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
# MARKETSIM_ASAN (optional: an ASan build of marketsim), MS_FAULT_JOBS
# (parallel runs, default 2). Exit 0 when every check passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"
case $MARKETSIM in /*) ;; *) MARKETSIM=$(pwd)/$MARKETSIM ;; esac

scen=$MS_SOURCE_DIR/tests/data/tiny.yaml
jobs=${MS_FAULT_JOBS:-2}

# ---- one case of the walk: test_faults.sh --one BIN KIND DIR N... ----
# KIND run: fail the n-th allocation of a run; KIND info: of `info DIR/ref.h5`.
# Prints "ok N SITE" or "FAIL N: reason" for each N.
if [ "${1:-}" = "--one" ]; then
    bin=$2
    kind=$3
    dir=$4
    shift 4
    ulimit -c 0
    for n in "$@"; do
        d=$dir/$kind-$n
        mkdir -p "$d"
        if [ "$kind" = run ]; then
            MARKETSIM_FAIL_ALLOC=$n MARKETSIM_ALLOC_REPORT=1 \
            MARKETSIM_TRACE=1 "$bin" run "$scen" -o "$d/out.h5" -q \
                --threads 2 >"$d/stdout" 2>"$d/err"
        else
            MARKETSIM_FAIL_ALLOC=$n MARKETSIM_ALLOC_REPORT=1 \
            MARKETSIM_TRACE=1 "$bin" info "$dir/ref.h5" \
                >"$d/stdout" 2>"$d/err"
        fi
        rc=$?
        why=""
        if [ "$rc" -ge 128 ]; then
            why="killed by signal $((rc - 128))"
        elif grep -q -e 'Sanitizer' -e 'runtime error' "$d/err"; then
            why="sanitizer report (exit $rc)"
        elif [ "$rc" -ne 1 ]; then
            why="exit status $rc, expected 1"
        elif ! grep -q "out of memory" "$d/err"; then
            why="no 'out of memory' in the message"
        elif grep -q "(null)" "$d/err"; then
            why="'(null)' in the message"
        elif ! grep -q " 0 bytes live at exit" "$d/err"; then
            why="leak: $(grep 'bytes live at exit' "$d/err")"
        elif [ -e "$d/out.h5.partial" ]; then
            why="left out.h5.partial behind"
        elif [ -e "$d/out.h5" ] &&
             ! "$bin" info "$d/out.h5" >/dev/null 2>"$d/info-err"; then
            why="left out.h5 that marketsim info cannot read"
        fi
        if [ -n "$why" ]; then
            echo "FAIL $kind $n: $why"
            sed 's/^/     | /' "$d/err" | head -n 12
        else
            site=$(sed -n '/^raised at:/{n;p;q;}' "$d/err" | sed 's/^ *//')
            echo "ok $kind $n ${site:-?}"
            rm -rf "$d"
        fi
    done
    exit 0
fi

# ---- the test ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_faults.XXXXXX") || exit 1
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
n_fail=0
fail() {
    n_fail=$((n_fail + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && [ -s "$2" ] && sed 's/^/     | /' "$2" | head -n 12
}
ok() { echo "ok   $1"; }

if [ ! -x "$MARKETSIM" ] || [ ! -f "$scen" ]; then
    echo "test_faults: need $MARKETSIM and $scen" >&2
    exit 1
fi

# Which binary walks: an ASan one finds leaks anywhere.
is_asan() {
    ASAN_OPTIONS=help=1 "$1" --version 2>&1 | grep -q AddressSanitizer
}
bin=$MARKETSIM
how="the allocation report (0 bytes live at exit)"
if [ -n "${MARKETSIM_ASAN:-}" ]; then
    if [ ! -x "$MARKETSIM_ASAN" ] || ! is_asan "$MARKETSIM_ASAN"; then
        echo "test_faults: MARKETSIM_ASAN=$MARKETSIM_ASAN is not an ASan build of marketsim" >&2
        exit 1
    fi
    bin=$MARKETSIM_ASAN
fi
if is_asan "$bin"; then
    how="LeakSanitizer and the allocation report"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
fi
echo "walking with $bin; leaks checked by $how"

# ---- 1. allocation walk ----
walk() {
    kind=$1
    total=$2
    seq 1 "$total" | xargs -n 8 -P "$jobs" sh "$0" --one "$bin" "$kind" \
        "$tmp/walk" >"$tmp/walk-$kind.txt" 2>&1
    n_ok=$(grep -c '^ok ' "$tmp/walk-$kind.txt")
    sites=$(sed -n 's/^ok [a-z]* [0-9]* //p' "$tmp/walk-$kind.txt" |
            sort -u | grep -vc '^?$')
    if [ "$n_ok" -ne "$total" ]; then
        n_fail=$((n_fail + 1))
        echo "FAIL $kind walk: $((total - n_ok)) of $total failed allocations misbehaved:"
        grep -v '^ok ' "$tmp/walk-$kind.txt" | head -n 60
    else
        ok "$kind walk: each of the $total allocations failed in turn, all clean; $sites distinct places raised the error"
    fi
}

mkdir -p "$tmp/walk"
MARKETSIM_ALLOC_REPORT=1 "$bin" run "$scen" -o "$tmp/walk/ref.h5" -q \
    --threads 2 >/dev/null 2>"$tmp/count-run"
rc=$?
N=$(sed -n 's/^marketsim: \([0-9]*\) allocations, .*/\1/p' "$tmp/count-run")
if [ "$rc" -ne 0 ] || [ -z "$N" ] || [ "$N" -lt 100 ]; then
    fail "counting the allocations of a run (exit $rc, count '${N:-none}')" \
        "$tmp/count-run"
else
    echo "a run of tiny.yaml makes $N allocations"
    walk run "$N"
fi
MARKETSIM_ALLOC_REPORT=1 "$bin" info "$tmp/walk/ref.h5" >/dev/null \
    2>"$tmp/count-info"
rc=$?
NI=$(sed -n 's/^marketsim: \([0-9]*\) allocations, .*/\1/p' "$tmp/count-info")
if [ "$rc" -ne 0 ] || [ -z "$NI" ] || [ "$NI" -lt 1 ]; then
    fail "counting the allocations of info (exit $rc, count '${NI:-none}')" \
        "$tmp/count-info"
else
    echo "marketsim info makes $NI allocations"
    walk info "$NI"
fi

# ---- 2a. the file-size limit ----
# A result from before must survive a run that cannot write its own.
out=$tmp/limit/out.h5
mkdir -p "$tmp/limit"
"$MARKETSIM" run "$scen" -o "$out" -q >/dev/null 2>"$tmp/err" ||
    fail "file-size limit: the first run failed" "$tmp/err"
size=$(wc -c <"$out")
cp "$out" "$tmp/before.h5"
# ulimit -f counts 512-byte blocks in dash, 1024 in bash: find out.
unit=$( (trap '' XFSZ; ulimit -f 1 && head -c 700 /dev/zero >"$tmp/unit") \
        2>/dev/null; [ "$(wc -c <"$tmp/unit")" -ge 700 ] && echo 1024 || echo 512)
# limit_case WHAT BLOCKS ARGS...: run with the limit; exit 1, a message
# naming the file, no .partial, the earlier file intact. Sets $msg.
limit_case() {
    what=$1
    blocks=$2
    shift 2
    (
        trap '' XFSZ
        ulimit -c 0
        ulimit -f "$blocks" || exit 99
        exec "$MARKETSIM" run "$scen" -o "$out" -q "$@"
    ) >/dev/null 2>"$tmp/err"
    rc=$?
    msg=$(head -n 1 "$tmp/err")
    what="$what (limit $((blocks * unit)) bytes)"
    if [ "$rc" -eq 99 ]; then
        fail "$what: ulimit -f $blocks refused"
    elif [ "$rc" -ne 1 ]; then
        fail "$what: exit status $rc, expected 1" "$tmp/err"
    elif ! grep -q "error:" "$tmp/err" || ! grep -qF "$out" "$tmp/err"; then
        fail "$what: no error message naming $out" "$tmp/err"
    elif ! grep -q "size limit" "$tmp/err"; then
        fail "$what: the message does not say a size limit was hit" "$tmp/err"
    elif [ -e "$out.partial" ]; then
        fail "$what: left $out.partial behind" "$tmp/err"
    elif ! cmp -s "$out" "$tmp/before.h5"; then
        fail "$what: the earlier $out was changed" "$tmp/err"
    else
        ok "$what: exit 1, earlier file intact: $msg"
        return 0
    fi
    return 1
}
# The file cannot even start; then it fails when closed (HDF5 caches a
# small file until then).
limit_case "file-size limit at the start" 1 --set run.seed=99
limit_case "file-size limit at close" $((size / 2 / unit)) --set run.seed=99
# A file with a few hundred firms (start-ups at 6 a year per market and
# category) and 150 records (about 4 MB) outgrows HDF5's caches, so the
# limit is hit while records are written, whatever the timing of the
# periodic flushes.
big_sets="--set run.steps=150 --set model.max_entrants=2000 --set model.entry_rate=6"
# shellcheck disable=SC2086
"$MARKETSIM" run "$scen" -o "$tmp/limit/big.h5" -q $big_sets >/dev/null 2>"$tmp/err" ||
    fail "file-size limit: the large run failed" "$tmp/err"
big=$(wc -c <"$tmp/limit/big.h5")
# shellcheck disable=SC2086
if limit_case "file-size limit while writing records" \
        $((big / 2 / unit)) $big_sets &&
   ! printf '%s\n' "$msg" | grep -q "cannot write a record"; then
    fail "file-size limit while writing records: failed, but not while writing a record: $msg"
fi

# ---- 2b. a read-only folder ----
ro=$tmp/ro
mkdir -p "$ro"
cp "$scen" "$tmp/tiny.yaml"
chmod 755 "$tmp"
chmod 644 "$tmp/tiny.yaml"
chmod 555 "$ro"
as_user=""
if [ "$(id -u)" -ne 0 ]; then
    as_user="none"            # permissions hold for us already
elif command -v setpriv >/dev/null 2>&1 &&
     setpriv --reuid=65534 --regid=65534 --clear-groups \
         "$MARKETSIM" --version >/dev/null 2>&1; then
    as_user="setpriv"
elif command -v runuser >/dev/null 2>&1 &&
     runuser -u nobody -- "$MARKETSIM" --version >/dev/null 2>&1; then
    as_user="runuser"
fi
run_as() {
    case $as_user in
        none) "$@" ;;
        setpriv) setpriv --reuid=65534 --regid=65534 --clear-groups "$@" ;;
        runuser) runuser -u nobody -- "$@" ;;
    esac
}
if [ -z "$as_user" ]; then
    echo "SKIP read-only folder: running as root and neither setpriv nor runuser can run $MARKETSIM as user nobody (root ignores permissions)"
else
    for target in "$ro/out.h5" "$ro/sub/out.h5"; do
        run_as "$MARKETSIM" run "$tmp/tiny.yaml" -o "$target" -q \
            >/dev/null 2>"$tmp/err"
        rc=$?
        what="read-only folder ($target, as ${as_user#none})"
        if [ "$rc" -ne 1 ]; then
            fail "$what: exit status $rc, expected 1" "$tmp/err"
        elif ! grep -qF "$target" "$tmp/err" &&
             ! grep -qF "$ro/sub" "$tmp/err"; then
            fail "$what: the message does not name the path" "$tmp/err"
        elif [ -n "$(ls -A "$ro")" ]; then
            fail "$what: files appeared in the read-only folder" "$tmp/err"
        else
            ok "$what: $(head -n 1 "$tmp/err")"
        fi
    done
fi

if [ "$n_fail" -ne 0 ]; then
    echo "faults: $n_fail checks failed"
    exit 1
fi
echo "faults: all checks passed"
exit 0
