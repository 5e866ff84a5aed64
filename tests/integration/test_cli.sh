#!/bin/sh
# test_cli.sh: the marketsim command line: help texts, exit statuses
# (0 done, 1 failure at run time, 2 bad usage or input), where results go,
# and that a result file is only ever replaced by a complete one.
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Exit status 0 when every check passes, 1 otherwise.
#
# PENDING copy: the committed test plus checks of two known CLI bugs at the
# end; when they are fixed, replace test_cli.sh with this file.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"
case $MARKETSIM in /*) ;; *) MARKETSIM=$(pwd)/$MARKETSIM ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

scen=$MS_SOURCE_DIR/scenarios/default.yaml
n_ok=0
n_fail=0

ok() {
    n_ok=$((n_ok + 1))
    echo "ok   $1"
}

bad() {
    n_fail=$((n_fail + 1))
    echo "FAIL $1"
    [ -s "$tmp/err" ] && sed 's/^/     | /' "$tmp/err" | head -n 20
}

# run_ms EXPECTED_STATUS NAME ARGS...: run marketsim with stdout in
# $tmp/out and stderr in $tmp/err; check the exit status.
run_ms() {
    want=$1
    name=$2
    shift 2
    "$MARKETSIM" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        return 0
    fi
    bad "$name: exit status $rc, expected $want"
    return 1
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
    grep -qF -e "$2" "$1"
}

# check NAME FILE TEXT...: every TEXT is in FILE.
check() {
    name=$1
    file=$2
    shift 2
    for want in "$@"; do
        if ! has "$file" "$want"; then
            bad "$name: $(basename "$file") lacks \"$want\""
            return 1
        fi
    done
    ok "$name"
}

# ---- help and version ----

run_ms 0 "--help" --help && check "--help" "$tmp/out" "usage: marketsim" \
    "run SCENARIO" "validate" "info FILE" "params"
run_ms 0 "-h" -h && check "-h" "$tmp/out" "usage: marketsim"
run_ms 0 "--version" --version &&
    if grep -Eq '^marketsim [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-zA-Z-]+; MPI sweeps: (yes|no)\)$' "$tmp/out"; then
        ok "--version"
    else
        bad "--version: unexpected text: $(cat "$tmp/out")"
    fi
for cmd in run validate info params; do
    run_ms 0 "$cmd --help" "$cmd" --help &&
        check "$cmd --help" "$tmp/out" "usage: marketsim $cmd"
done
run_ms 0 "run -h" run -h && check "run -h" "$tmp/out" "--set KEY=VALUE" \
    "--threads" "--check" "-o, --output"

# ---- bad usage: status 2, a message on stderr, nothing on stdout ----

run_ms 2 "no arguments" && check "no arguments" "$tmp/err" "usage: marketsim"
run_ms 2 "unknown command" frobnicate &&
    check "unknown command" "$tmp/err" "unknown command 'frobnicate'"
run_ms 2 "run without scenario" run -q &&
    check "run without scenario" "$tmp/err" "which scenario"
run_ms 2 "run with unknown option" run "$scen" --frob &&
    check "run with unknown option" "$tmp/err" "unknown option --frob"
run_ms 2 "--threads not a number" run "$scen" --threads many &&
    check "--threads not a number" "$tmp/err" "--threads needs a whole number"
run_ms 2 "--set without value" run "$scen" --set &&
    check "--set without value" "$tmp/err" "--set needs KEY=VALUE"
run_ms 2 "info with two files" info a.h5 b.h5 &&
    check "info with two files" "$tmp/err" "one result file"
run_ms 2 "params with junk" params --frob &&
    check "params with junk" "$tmp/err" "unknown argument"
run_ms 2 "validate without files" validate &&
    check "validate without files" "$tmp/err" "which scenario files"

# ---- params ----

if run_ms 0 "params" params; then
    if grep -Eq '^ +population +people ' "$tmp/out"; then
        ok "params lists population in people"
    else
        bad "params: no line 'population  people ...'"
    fi
    check "params sections" "$tmp/out" "markets.<name>" "categories.<name>" \
        "firms.<name>" "sigma_nu"
fi
if [ -f "$MS_SOURCE_DIR/docs/PARAMETERS.md" ]; then
    if run_ms 0 "params --markdown" params --markdown; then
        if cmp -s "$tmp/out" "$MS_SOURCE_DIR/docs/PARAMETERS.md"; then
            ok "docs/PARAMETERS.md is current"
        else
            diff "$MS_SOURCE_DIR/docs/PARAMETERS.md" "$tmp/out" | head -n 10 >"$tmp/err"
            bad "docs/PARAMETERS.md differs from 'marketsim params --markdown' (run make docs)"
        fi
    fi
else
    run_ms 0 "params --markdown" params --markdown &&
        check "params --markdown" "$tmp/out" "| key | type | default" \
            "| \`population\` |"
    echo "skip docs/PARAMETERS.md does not exist yet"
fi

# ---- validate ----

if run_ms 0 "validate" validate "$scen"; then
    check "validate prints the resolved scenario" "$tmp/out" "run:" \
        "  steps: " "  sigma_nu: " "markets:" "  CN:" "firms:"
    check "validate says ok" "$tmp/err" "default.yaml: ok"
    # The printed scenario is itself a valid scenario that prints the same
    # (up to the header comment naming the file read).
    cp "$tmp/out" "$tmp/resolved.yaml"
    if run_ms 0 "validate the resolved copy" validate "$tmp/resolved.yaml"; then
        grep -v '^#' "$tmp/resolved.yaml" >"$tmp/a"
        grep -v '^#' "$tmp/out" >"$tmp/b"
        if cmp -s "$tmp/a" "$tmp/b"; then
            ok "resolved scenario reads back to itself"
        else
            diff "$tmp/a" "$tmp/b" | head -n 10 >"$tmp/err"
            bad "resolved scenario does not read back to itself"
        fi
    fi
fi
run_ms 0 "validate -q" validate -q "$scen" &&
    if [ -s "$tmp/out" ]; then bad "validate -q printed to stdout"; else ok "validate -q"; fi
run_ms 0 "validate --set" validate "$scen" --set run.steps=7 &&
    check "validate --set" "$tmp/out" "  steps: 7"
run_ms 2 "validate bad --set" validate "$scen" --set run.steps=0 &&
    check "validate bad --set" "$tmp/err" "--set run.steps=0: error: run.steps"

# ---- run ----

out=$tmp/x.h5
if run_ms 0 "run -o" run "$scen" --set run.steps=12 -o "$out" -q; then
    if [ -f "$out" ] && [ ! -e "$out.partial" ]; then
        ok "run -o writes the file and no .partial"
    else
        bad "run -o: file missing or .partial left: $(ls "$tmp")"
    fi
    if [ -s "$tmp/out" ]; then bad "run -q printed to stdout"; else ok "run -q is quiet"; fi
fi

if run_ms 0 "info" info "$out"; then
    if grep -Eq '^ +status +complete$' "$tmp/out"; then
        ok "info: status complete"
    else
        bad "info: no 'status complete' line"
    fi
    if grep -Eq '^ +steps_done +12$' "$tmp/out"; then
        ok "info: steps_done 12"
    else
        bad "info: no 'steps_done 12' line"
    fi
    check "info lists the datasets" "$tmp/out" "/market" "/firm" "adopters" \
        "users" "cash" "revenue" "13 x "
fi
echo "not a result" >"$tmp/text.txt"
run_ms 2 "info on a text file" info "$tmp/text.txt" &&
    check "info on a text file" "$tmp/err" "text.txt" "error:"
run_ms 2 "info on a missing file" info "$tmp/none.h5" &&
    check "info on a missing file" "$tmp/err" "none.h5"

# Without -o: results/NAME.h5 under the current directory (created).
mkdir "$tmp/cwd"
if (cd "$tmp/cwd" && "$MARKETSIM" run "$scen" --set run.steps=2 -q \
        >"$tmp/out" 2>"$tmp/err"); then
    if [ -f "$tmp/cwd/results/default.h5" ] &&
        [ -z "$(ls -A "$tmp/cwd/results" | grep -v '^default.h5$')" ]; then
        ok "run without -o writes results/default.h5"
    else
        bad "run without -o: results/default.h5 missing: $(ls -R "$tmp/cwd")"
    fi
else
    bad "run without -o failed"
fi

# Without -q: a summary on stdout, progress and timing on stderr.
run_ms 0 "run (not quiet)" run "$scen" --set run.steps=2 -o "$tmp/y.h5" &&
    check "run summary" "$tmp/out" "results: $tmp/y.h5" "At the last record" &&
    check "run timing" "$tmp/err" "2 steps" "consumer agents" "phases:"

run_ms 0 "run --check" run "$scen" --set run.steps=6 -o "$tmp/c.h5" -q --check &&
    ok "run --check passes"
run_ms 0 "run --threads 1 --seed 5" run "$scen" --set run.steps=2 \
    -o "$tmp/s.h5" -q --threads 1 --seed 5 && ok "run --threads --seed"

# Unwritable places: status 1, a clear message, no file left.
if run_ms 1 "run into a folder that cannot be made" run "$scen" \
        --set run.steps=2 -o /proc/ms_no_such/y.h5 -q; then
    check "message for an uncreatable folder" "$tmp/err" \
        "/proc/ms_no_such/y.h5" "cannot create the folder"
    if [ -e /proc/ms_no_such ]; then
        bad "a folder was left in /proc"
    else
        ok "no folder left"
    fi
fi
if run_ms 1 "run into an unwritable folder" run "$scen" \
        --set run.steps=2 -o /proc/ms_y.h5 -q; then
    check "message for an unwritable folder" "$tmp/err" "/proc/ms_y.h5" \
        "cannot create the result file"
    if [ -e /proc/ms_y.h5 ] || [ -e /proc/ms_y.h5.partial ]; then
        bad "a file was left in /proc"
    else
        ok "no file left"
    fi
fi

# An existing result is replaced only by a run that succeeds.
cp "$out" "$tmp/x.copy"
run_ms 2 "run with a bad --set over an existing file" run "$scen" \
    --set run.steps=0 -o "$out" -q &&
    if cmp -s "$out" "$tmp/x.copy" && [ ! -e "$out.partial" ]; then
        ok "failed run leaves the existing file as it was"
    else
        bad "failed run changed or removed the existing file"
    fi
run_ms 2 "run with an unknown key over an existing file" run "$scen" \
    --set run.stepz=3 -o "$out" -q &&
    if cmp -s "$out" "$tmp/x.copy"; then
        ok "existing file kept (unknown key)"
    else
        bad "existing file changed by a run with an unknown key"
    fi
# Failures at run time: out of memory injected at allocation N
# (MARKETSIM_FAIL_ALLOC). Find the number of allocations T of the whole
# run by bisection, then fail the last ones, made while the new file is
# being written, and some in setup: status 1, old file intact.
oom_run() {
    MARKETSIM_FAIL_ALLOC=$1 "$MARKETSIM" run "$scen" --set run.steps=3 \
        --set run.people_per_agent=100000 \
        -o "$out" -q >"$tmp/out" 2>"$tmp/err"
}
lo=1
hi=16384
if oom_run $hi; then
    cp "$out" "$tmp/x.copy"
    while [ $((hi - lo)) -gt 1 ]; do
        mid=$(((lo + hi) / 2))
        if oom_run $mid; then
            cp "$out" "$tmp/x.copy"
            hi=$mid
        else
            lo=$mid
        fi
    done
    echo "     a 3-step run makes $lo allocations"
    n_oom=0
    for n in $lo $((lo - 1)) $((lo - 3)) $((lo - 10)) $((lo - 30)) \
        $((lo - 100)) $((lo / 2)) 1; do
        oom_run "$n"
        rc=$?
        if [ "$rc" -ne 1 ] || ! has "$tmp/err" "out of memory"; then
            bad "MARKETSIM_FAIL_ALLOC=$n: exit status $rc, expected 1 and 'out of memory'"
        elif ! cmp -s "$out" "$tmp/x.copy" || [ -e "$out.partial" ]; then
            bad "MARKETSIM_FAIL_ALLOC=$n: the existing file was changed or a .partial left"
        else
            n_oom=$((n_oom + 1))
        fi
    done
    [ "$n_oom" -eq 8 ] &&
        ok "out of memory at 8 points: status 1, existing file kept"
else
    bad "MARKETSIM_FAIL_ALLOC=$hi: the run failed"
fi
if run_ms 0 "run over an existing file" run "$scen" --set run.steps=3 \
        -o "$out" -q; then
    if cmp -s "$out" "$tmp/x.copy"; then
        bad "a successful run did not replace the file"
    elif run_ms 0 "info on the new file" info "$out" &&
        grep -Eq '^ +steps_done +3$' "$tmp/out"; then
        ok "successful run replaces the file"
    else
        bad "replaced file does not hold the new run"
    fi
fi

# ---- PENDING: known engine bugs (see the report) ----
# cmd_run (sim/cli/main.c) counts --seed against no limit: after 255
# --set options each --seed is stored past the end of sets[MAX_SETS]
# (UBSan: "index 256 out of bounds"). It should refuse, like --set.
set --
i=0
while [ $i -lt 255 ]; do
    set -- "$@" --set run.steps=1
    i=$((i + 1))
done
run_ms 2 "255 --set and two --seed" run "$scen" "$@" --seed 1 --seed 2 \
    -o "$tmp/many.h5" -q &&
    check "255 --set and two --seed" "$tmp/err" "too many"
# --seed takes every seed run.seed takes (0 .. 2^64-1); take_int reads a
# long, so seeds from 2^63 on are refused as "not a whole number".
run_ms 0 "--seed 2^64-1" run "$scen" --set run.steps=1 \
    --seed 18446744073709551615 -o "$tmp/big.h5" -q &&
    run_ms 0 "info on the big-seed run" info "$tmp/big.h5" &&
    check "--seed 2^64-1 recorded" "$tmp/out" "18446744073709551615"

echo "cli: $n_ok ok, $n_fail failed"
[ "$n_fail" -eq 0 ]
