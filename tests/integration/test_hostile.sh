#!/bin/sh
# test_hostile.sh: hostile but valid-looking values, each either refused
# with a clear message (exit 2, nothing written) or run to the end with
# --check (exit 0, conservation and accounting invariants hold). The table
# of docs/RELIABILITY.md says which and why; refusals that fit one file are
# cases of tests/data/bad/ (test_bad_input.sh), the rest are here:
#
#   runs:     a 1-step run; dt = 1; dt = 1e-300; a 10^7-step run of one
#             agent; a market nobody can enter; the largest population;
#             experiments that cost next to nothing (once a hang); quality
#             that grows without bound; the largest revenues;
#             65000 firms, the most there may be
#   refusals: a million firms (and how long it takes); 65000 firms plus
#             start-ups; 65000 firms x 64 markets x 16 categories under a
#             memory limit; --set values that are not finite numbers; FIFOs
#             and folders as input files; --threads beyond what can start
#
# Every run has a time limit (timeout -k): a hang is a failure, not a
# stuck test. With an ASan build of marketsim the 10^7-step run is cut to
# 10^6 steps (and says so): ASan makes it ten times slower.
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Exit 0 when every check passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"
case $MARKETSIM in /*) ;; *) MARKETSIM=$(pwd)/$MARKETSIM ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

tiny=$MS_SOURCE_DIR/tests/data/tiny.yaml
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
asan=0
ASAN_OPTIONS=help=1 "$MARKETSIM" --version 2>&1 | grep -q AddressSanitizer &&
    asan=1
# make test-asan unwinds the slow way at every malloc (for the leak
# suppressions of Open MPI, which this test does not start): a million
# firms then take 72 s instead of 5. Fast unwinding finds the same errors.
# The hang guard of the larger validations: 60 s, 300 s under ASan
# (65000 firms validate in 8 s of CPU in Release, 27 s under ASan).
guard=60
if [ $asan -eq 1 ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=1"
    export ASAN_OPTIONS
    guard=300
fi

# attr FILE NAME: a root attribute as `marketsim info` prints it.
attr() {
    "$MARKETSIM" info "$1" 2>/dev/null | sed -n "s/^  $2  *//p" | head -n 1
}

# runs NAME LIMIT SCENARIO ARGS...: marketsim run ... --check within LIMIT
# seconds, exit 0, status complete; the file is $tmp/NAME.h5.
runs() {
    name=$1
    limit=$2
    scen=$3
    shift 3
    out=$tmp/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').h5
    timeout -k 5 "$limit" "$MARKETSIM" run "$scen" -o "$out" -q --check \
        "$@" >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "$name: did not finish in $limit s"
        return 1
    elif [ "$rc" -ne 0 ]; then
        bad "$name: exit status $rc, expected 0"
        return 1
    elif [ "$(attr "$out" status)" != complete ]; then
        bad "$name: status '$(attr "$out" status)', expected complete"
        return 1
    fi
    last=$out
    return 0
}

# refuses NAME LIMIT TEXT ARGS...: marketsim validate ARGS exits 2 within
# LIMIT seconds with TEXT in its message.
refuses() {
    name=$1
    limit=$2
    text=$3
    shift 3
    timeout -k 5 "$limit" "$MARKETSIM" validate -q "$@" >/dev/null \
        2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "$name: no answer in $limit s"
    elif [ "$rc" -ne 2 ]; then
        bad "$name: exit status $rc, expected 2"
    elif ! grep -qF -e "$text" "$tmp/err"; then
        bad "$name: the message lacks \"$text\""
    else
        ok "$name: refused: $(grep -m 1 -o 'error: .*' "$tmp/err" | cut -c 8-150)"
    fi
}

# ---- runs ----

if runs "1-step run" 60 "$tiny" --set run.steps=1; then
    if [ "$(attr "$last" steps_done)" = 1 ] &&
       "$MARKETSIM" info "$last" | grep -q '^    time  *2  '; then
        ok "1-step run: 1 step, 2 records (t = 0 and t = dt)"
    else
        bad "1-step run: expected steps_done 1 and 2 time records"
    fi
fi

runs "dt = 1" 60 "$tiny" --set run.dt=1 --set run.steps=12 &&
    ok "dt = 1: 12 yearly steps, invariants hold"

# A step of 1e-300 years: every rate times dt is 0, so nothing happens,
# but nothing breaks either.
runs "dt = 1e-300" 60 "$tiny" --set run.dt=1e-300 --set run.steps=12 &&
    ok "dt = 1e-300: 12 steps in which nothing can happen, invariants hold"

steps=10000000
[ "$asan" -eq 1 ] && steps=1000000 &&
    echo "note: ASan build: the 10^7-step run is cut to 10^6 steps"
cat >"$tmp/one_agent.yaml" <<EOF
run: {steps: $steps, people_per_agent: 1000}
output: {every: $steps, datasets: [adopters]}
markets: {A: {population: 1000}}
categories: {c: {}}
firms: {F: {home: A, quality: {c: 0}}}
EOF
if runs "$steps steps" 300 "$tmp/one_agent.yaml" --threads 1; then
    if [ "$(attr "$last" steps_done)" = "$steps" ]; then
        ok "$steps steps of one consumer agent: done, 2 records"
    else
        bad "$steps steps: steps_done is $(attr "$last" steps_done)"
    fi
fi

# Market B: closed to foreign firms (openness 0), no firm of its own, no
# start-ups. Nobody can serve it, so nobody there adopts.
cat >"$tmp/closed.yaml" <<'EOF'
run: {steps: 24, people_per_agent: 1.0e5}
model: {entry_rate: 0}
markets:
  A: {population: 1.0e7, distance: {B: 1}}
  B: {population: 1.0e7, openness: 0}
categories: {c: {p: 0.5, q: 0.5}}
firms:
  F: {home: A, cash: 1.0e12, quality: {c: 0}, beta: 1,
      strategy: {localize: 0.5, acquire: 0.5}}
EOF
if runs "market nobody can enter" 60 "$tmp/closed.yaml"; then
    line=$("$MARKETSIM" info "$last" | grep -E '^  B +c ')
    if echo "$line" | grep -qE '^  B +c +0 +0\.0%$' &&
       "$MARKETSIM" info "$last" | grep -qE '^  A +c +[1-9]'; then
        ok "market nobody can enter: no adopters in B, adopters in A"
    else
        bad "market nobody can enter: expected 0 adopters in B: '$line'"
    fi
fi

runs "largest population" 60 "$tiny" --set markets.CN.population=1e11 \
    --set markets.US.population=1e11 &&
    ok "two markets of 1e11 people (the upper bound) at 1e7 people per agent"

# Once a hang: a budget of billions at a cost of 1e-300 USD per experiment
# asked GSL for a Poisson draw of mean 1e310.
runs "experiments for free" 60 "$tiny" --set model.cost_experiment=1e-300 \
    --set firms.Ali.beta=100 --set run.steps=24 &&
    ok "experiments at 1e-300 USD each, budget rate 100/year: done"

runs "unbounded quality" 60 "$tiny" --set run.steps=200 --set model.w0=50 \
    --set firms.Ali.boldness=100 --set firms.Ali.beta=100 \
    --set model.cost_experiment=1 --set 'firms.Ali.strategy={experiment: 1}' &&
    ok "quality growing by up to 5000 utils a step for 200 steps: done"

runs "largest revenues" 60 "$tiny" --set 'categories.shop.arpu=1e9' \
    --set markets.CN.population=1e11 --set markets.US.population=1e11 \
    --set model.revenue_multiple=1000 --set model.premium=100 \
    --set firms.Ali.beta=100 --set run.steps=24 &&
    ok "arpu 1e9 USD (the bound) over 2e11 people, multiple 1000: finite accounts"

# ---- many firms ----

# firms FILE N MAX_ENTRANTS: a scenario with N firms.
firms() {
    {
        echo "run: {steps: 1}"
        echo "model: {max_entrants: $3}"
        echo "markets: {A: {population: 1.0e6}}"
        echo "categories: {c: {}}"
        echo "firms:"
        awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
            printf "  f%d: {home: A, quality: {c: 0}}\n", i }'
    } >"$1"
}
firms "$tmp/f65000.yaml" 65000 0
if timeout -k 5 "$guard" "$MARKETSIM" validate -q "$tmp/f65000.yaml" \
        >/dev/null 2>"$tmp/err"; then
    ok "65000 firms (the limit) without start-ups: valid"
else
    bad "65000 firms: refused or too slow (before the key index: 24 s)"
fi
refuses "65000 firms plus start-ups" 60 \
    "model.max_entrants: 65000 firms plus 200 start-ups exceed the limit of 65000 firms" \
    "$tmp/f65000.yaml" --set model.max_entrants=200
# 65000 firms in 64 markets with 16 categories: 8.7 GB of firm state
# (128 bytes per firm, market and category), refused under a 6 GB limit
# on the process before anything is allocated (the memory check once
# counted consumers only). Not under ASan, which needs far more address
# space than a ulimit -v of 6 GB leaves it.
{
    echo "run: {steps: 1, people_per_agent: 1.0e6}"
    echo "model: {max_entrants: 0}"
    echo "markets:"
    awk 'BEGIN { for (m = 0; m < 64; m++)
        printf "  m%d: {population: 1.0e6, distance: 1}\n", m }'
    echo "categories:"
    awk 'BEGIN { for (c = 0; c < 16; c++) printf "  c%d: {}\n", c }'
    echo "firms:"
    awk 'BEGIN { for (i = 0; i < 65000; i++)
        printf "  f%d: {home: m%d, quality: {c0: 0}}\n", i, i % 64 }'
} >"$tmp/fmc.yaml"
if [ $asan -eq 0 ]; then
    ( ulimit -v 6000000 &&
      timeout -k 5 60 "$MARKETSIM" validate -q "$tmp/fmc.yaml" ) \
        >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -qF "fmc.yaml:" "$tmp/err" &&
       grep -qF "firms: 65000 firms and 0 start-ups x 64 markets x 16 categories need 8.7 GB of state" "$tmp/err"; then
        ok "65000 firms x 64 markets x 16 categories under a 6 GB limit: refused"
    else
        bad "65000 firms x 64 markets x 16 categories under a 6 GB limit: exit $rc, expected 2 with the firms' memory"
    fi
fi
# A million firms, as short as YAML allows (12 MB). Refused by count; the
# time limit guards the reader against going quadratic again (it took
# 24 s for 65000 firms, and would have taken hours for a million).
{
    echo "markets: {A: {population: 1.0e6}}"
    echo "categories: {c: {}}"
    echo "firms:"
    awk 'BEGIN { for (i = 0; i < 1000000; i++) printf " f%d: ~\n", i }'
} >"$tmp/million.yaml"
refuses "a million firms" 60 "firms: 1000000 entries; at most 65000 are supported" \
    "$tmp/million.yaml"
rm -f "$tmp/million.yaml" "$tmp/f65000.yaml"

# ---- values that are not finite numbers, through --set ----
for v in .nan NaN .inf -.inf inf 1e999 -1e999 0x1p3 1/0; do
    refuses "--set firms.Ali.cash=$v" 30 \
        "firms.Ali.cash: expected a finite number in [-1e+15, 1e+15] (USD), got '$v'" \
        "$tiny" --set "firms.Ali.cash=$v"
done

# ---- inputs that are not regular files ----
# A FIFO with no writer: opening it to read would wait forever. Every
# command that reads a file refuses it at once (exit 2, "FILE: error:")
# and writes nothing; the time limit turns a hang into a failure.
mkfifo "$tmp/fifo" || bad "mkfifo"
mkdir "$tmp/out"
sweep=$MS_SOURCE_DIR/tests/data/sweeps/small.yaml
for cmd in "validate -q $tmp/fifo" "run -q $tmp/fifo -o $tmp/out/r.h5" \
           "info $tmp/fifo" "merge -q $tmp/fifo -o $tmp/out/m.h5" \
           "run -q --restart $tmp/fifo -o $tmp/out/r.h5" \
           "sweep -q $tmp/fifo -o $tmp/out/s.h5" \
           "sweep -q $sweep --resume -o $tmp/fifo"; do
    # shellcheck disable=SC2086
    timeout -k 5 20 "$MARKETSIM" $cmd >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] &&
       grep -qF "$tmp/fifo: error: not a regular file but a FIFO" "$tmp/err" &&
       [ -z "$(ls -A "$tmp/out")" ]; then
        ok "FIFO: marketsim ${cmd%% *} refuses it at once"
    else
        bad "FIFO: marketsim $cmd: exit $rc, expected 2 with FILE: error: and nothing written"
    fi
done
refuses "a folder as the scenario" 20 "$tmp/out: error: not a regular file but a folder" \
    "$tmp/out"

# ---- the figure catalogue targets are checked against ----
# bad/88 cites an id seeds/figures.yaml lacks: found above the file, the
# catalogue refuses it; MARKETSIM_FIGURES names another catalogue, or
# (empty) none.
fig=$MS_SOURCE_DIR/tests/data/bad/88_target_unknown_figure.yaml
MARKETSIM_FIGURES="" "$MARKETSIM" validate -q "$fig" >/dev/null 2>"$tmp/err" &&
    ok "MARKETSIM_FIGURES=\"\": ids not checked" ||
    bad "MARKETSIM_FIGURES=\"\": ids not checked"
MARKETSIM_FIGURES=$tmp/none.yaml "$MARKETSIM" validate -q "$fig" \
    >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -qF "$tmp/none.yaml: error: cannot open" "$tmp/err" &&
    ok "MARKETSIM_FIGURES naming no file: refused" ||
    bad "MARKETSIM_FIGURES naming no file: refused"
printf 'figures:\n  - id: no_such_figure\n' >"$tmp/figs.yaml"
MARKETSIM_FIGURES=$tmp/figs.yaml "$MARKETSIM" validate -q "$fig" \
    >/dev/null 2>"$tmp/err" &&
    ok "MARKETSIM_FIGURES: the id is in that catalogue" ||
    bad "MARKETSIM_FIGURES: the id is in that catalogue"

# ---- control characters in a result file reach the terminal escaped ----
PY=${MS_PYTHON:-/usr/bin/python3}
"$MARKETSIM" run "$tiny" -o "$tmp/esc.h5" -q --set run.steps=1 2>"$tmp/err" &&
"$PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f.attrs['scenario_file'] = 'x\x1b[2J\x1b]0;title\x07y'" "$tmp/esc.h5" 2>"$tmp/err"
"$MARKETSIM" info "$tmp/esc.h5" >"$tmp/info.txt" 2>"$tmp/err"
if grep -qF 'x\x1b[2J\x1b]0;title\x07y' "$tmp/info.txt" &&
   ! grep -q "$(printf '\033')" "$tmp/info.txt"; then
    ok "info: control characters in a file's texts are shown escaped"
else
    bad "info: control characters in a file's texts are shown escaped"
fi

# ---- thread counts OpenMP cannot start, or that do not fit an int ----
for n in 100000 4294967297 99999999999999999999; do
    timeout -k 5 60 "$MARKETSIM" run "$tiny" -o "$tmp/out/t.h5" -q \
        --threads "$n" >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && [ ! -e "$tmp/out/t.h5" ] &&
       { grep -qF -- "--threads $n: at most 1024 threads" "$tmp/err" ||
         grep -qF -- "--threads needs a whole number" "$tmp/err"; }; then
        ok "--threads $n: refused: $(head -n 1 "$tmp/err" | cut -c 12-90)"
    else
        bad "--threads $n: exit $rc, expected 2 and a bound"
    fi
done

echo "hostile values: $n_ok passed, $n_fail failed"
[ "$n_fail" -eq 0 ]
