#!/bin/sh
# run-fuzz.sh SECONDS: build the libFuzzer targets and fuzz each of them for
# an equal share of SECONDS (fuzz_scenario, fuzz_set, fuzz_sweep, fuzz_h5).
# run-fuzz.sh --runs N: instead, N inputs per target from a fresh corpus
# with a fixed random seed, so that the same tree always tries the same
# inputs (what `make test` runs: a test must not pass or fail by chance).
#
#   tests/fuzz/run-fuzz.sh --runs 40000   what `make test` runs (ctest fuzz.run)
#   tests/fuzz/run-fuzz.sh 1800           a longer hunt: 10 minutes per target
#
# Steps: configure build-fuzz/ with clang and -DMARKETSIM_FUZZ=ON,
# build the targets, then run each with -max_total_time=SECONDS/TARGETS,
# -max_len=65536 and the dictionary tests/fuzz/yaml.dict, on a writable
# corpus in build-fuzz/corpus/TARGET/ (kept between runs, so coverage
# accumulates) seeded from scenarios/, bench/ and tests/data/ (read, never
# copied). fuzz_set is seeded with --set lines made from the `# set:`
# headers of tests/data/bad/ and from tests/fuzz/set-seeds.txt; fuzz_sweep
# with scenarios/sweeps/; fuzz_h5 with the run file, shard and checkpoint
# it writes itself (MS_FUZZ_H5_SEEDS, see fuzz_h5.c), with the dictionary
# tests/fuzz/h5.dict, and, with --runs N, N/100 inputs (each opens an HDF5
# image, and a checkpoint builds a world: some milliseconds an input).
#
# A crash, leak, sanitizer report, time-out or broken round trip stops that
# target; the input is saved as build-fuzz/artifacts/TARGET-crash-*
# (or leak-, timeout-, oom-) and the script exits 1. Fix the bug, then keep
# the input as a regression case: tests/data/fuzz/scenario-WHAT.yaml for
# fuzz_scenario, set-WHAT.txt for fuzz_set, sweep-WHAT.yaml for fuzz_sweep
# (tests/integration/test_fuzz_regress.sh replays them through the CLI),
# tests/fuzz/corpus/h5/READER-WHAT.bin for fuzz_h5 (replayed by the fuzz
# build's ctest fuzz.replay.fuzz_h5.images, and a seed of every run).
#
# Exit status: 0 nothing found; 1 something found or the build failed;
# 77 clang or libFuzzer missing (install them with scripts/install-deps.sh).
#
# Environment: MS_FUZZ_BUILD (default: build-fuzz/ in the repository),
# MS_FUZZ_JOBS (build jobs, default 2), MS_FUZZ_TARGETS (the targets to run,
# default "fuzz_scenario fuzz_set fuzz_sweep fuzz_h5").

set -u
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
runs=""
if [ "${1:-}" = "--runs" ]; then
    runs=${2:-}
    secs=0
else
    secs=${1:-}
fi
case ${runs:-$secs} in
    ''|*[!0-9]*) echo "usage: $0 SECONDS (total, split over the targets)" >&2
                 echo "       $0 --runs N (inputs per target, fixed seed)" >&2
                 exit 2 ;;
esac
build=${MS_FUZZ_BUILD:-$root/build-fuzz}
jobs=${MS_FUZZ_JOBS:-2}
TARGETS=${MS_FUZZ_TARGETS:-"fuzz_scenario fuzz_set fuzz_sweep fuzz_h5"}
n_targets=$(echo $TARGETS | wc -w)
per=$((secs / n_targets))
[ "$per" -ge 1 ] || per=1
if [ -n "$runs" ]; then
    budget="-runs=$runs -seed=1"
    shown="$runs inputs"
else
    budget="-max_total_time=$per"
    shown="$per s"
fi

# ---- clang and libFuzzer, or skip ----
cc=$(command -v clang 2>/dev/null)
if [ -z "$cc" ]; then
    echo "run-fuzz: SKIP: no clang on PATH (scripts/install-deps.sh installs clang and libclang-rt-14-dev)"
    exit 77
fi
probe=$(mktemp -d "${TMPDIR:-/tmp}/ms_fuzzprobe.XXXXXX") || exit 1
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" \
        >"$probe/log" 2>&1; then
    echo "run-fuzz: SKIP: $cc cannot link a libFuzzer program (libclang-rt-14-dev missing?):"
    sed 's/^/  | /' "$probe/log" | head -n 5
    rm -rf "$probe"
    exit 77
fi
rm -rf "$probe"

# ---- the dictionary knows every parameter ----
missing=""
for k in $(grep -oE '\{MS_SEC_[A-Z]+, "[a-zA-Z_0-9]+"' \
               "$root/sim/scenario/params.c" | sed -E 's/.*"(.*)"/\1/'); do
    grep -qx "\"$k\"" "$root/tests/fuzz/yaml.dict" || missing="$missing $k"
done
if [ -n "$missing" ]; then
    echo "run-fuzz: FAIL: tests/fuzz/yaml.dict lacks parameter keys:$missing"
    exit 1
fi

# ---- configure and build (one run at a time per build folder) ----
mkdir -p "$build" || exit 1
exec 9>"$build/.run-fuzz.lock"
if command -v flock >/dev/null 2>&1 && ! flock -w 1800 9; then
    echo "run-fuzz: FAIL: $build is locked by another run-fuzz.sh for 30 min"
    exit 1
fi
# Configured every time (seconds when nothing changed): a target added to
# tests/fuzz/CMakeLists.txt is not known to an old configuration.
[ -f "$build/CMakeCache.txt" ] || echo "run-fuzz: configuring $build with $cc"
if ! cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMARKETSIM_FUZZ=ON \
        >"$build/configure.log" 2>&1; then
    echo "run-fuzz: FAIL: cmake configure failed (see $build/configure.log):"
    tail -n 20 "$build/configure.log" | sed 's/^/  | /'
    exit 1
fi
# shellcheck disable=SC2086
if ! cmake --build "$build" -j "$jobs" --target $TARGETS \
        >"$build/build.log" 2>&1; then
    echo "run-fuzz: FAIL: build failed (see $build/build.log):"
    grep -E 'error|Error' "$build/build.log" | head -n 20 | sed 's/^/  | /'
    exit 1
fi

# ---- seeds for fuzz_set: --set lines ----
setseeds=$build/corpus/set-seeds
rm -rf "$setseeds"
mkdir -p "$setseeds"
i=0
{ sed -n 's/^# set: //p' "$root"/tests/data/bad/*.yaml
  grep -v '^#' "$root/tests/fuzz/set-seeds.txt"; } |
while IFS= read -r line; do
    [ -n "$line" ] || continue
    i=$((i + 1))
    printf '%s\n' "$line" >"$setseeds/seed-$i"
done

# ---- seeds for fuzz_h5: files of this build ----
h5seeds=$build/corpus/h5-seeds
case " $TARGETS " in *" fuzz_h5 "*)
    rm -rf "$h5seeds"
    mkdir -p "$h5seeds"
    if ! MS_FUZZ_H5_SEEDS=$h5seeds ASAN_OPTIONS=detect_leaks=0 \
            "$build/tests/fuzz/fuzz_h5" >"$build/fuzz_h5-seeds.log" 2>&1; then
        echo "run-fuzz: FAIL: fuzz_h5 could not make its seeds (see $build/fuzz_h5-seeds.log)"
        exit 1
    fi ;;
esac

# ---- fuzz ----
mkdir -p "$build/artifacts"
found=0
summary=""
for t in $TARGETS; do
    corpus=$build/corpus/$t
    # A fixed number of runs starts from the seeds alone, every time.
    [ -n "$runs" ] && { corpus=$build/corpus/fixed-$t; rm -rf "$corpus"; }
    mkdir -p "$corpus"
    tbudget=$budget
    dict=$root/tests/fuzz/yaml.dict
    maxlen=65536
    lsan=${LSAN_OPTIONS:-}
    case $t in
        fuzz_h5) seeds="$h5seeds $root/tests/fuzz/corpus/h5"
                 lsan=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/h5.lsan.supp:print_suppressions=0}
                 dict=$root/tests/fuzz/h5.dict
                 maxlen=1048576
                 [ -n "$runs" ] && tbudget="-runs=$((runs / 100)) -seed=1" ;;
        fuzz_set) seeds="$setseeds $root/tests/data/fuzz" ;;
        fuzz_sweep) seeds="$root/scenarios/sweeps $root/tests/data/fuzz" ;;
        *) seeds="$root/scenarios $root/bench $root/tests/data" ;;
    esac
    log=$build/$t.log
    echo "run-fuzz: $t, $shown (log: $log)"
    # shellcheck disable=SC2086
    LSAN_OPTIONS=$lsan ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$build/tests/fuzz/$t" $tbudget -max_len=$maxlen \
        -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -dict="$dict" \
        -artifact_prefix="$build/artifacts/$t-" \
        "$corpus" $seeds >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$log" | tail -n 1)
    line="$t: ${execs:-?} executions ($shown), $cov (exit $rc)"
    summary="$summary
  $line"
    if [ "$rc" -ne 0 ]; then
        found=1
        echo "run-fuzz: $t FOUND A PROBLEM (exit $rc):"
        grep -E 'ERROR|SUMMARY|runtime error|fuzz_(scenario|set|sweep|h5):|Test unit written' \
            "$log" | head -n 20 | sed 's/^/  | /'
    fi
done
echo "run-fuzz: summary:$summary"
if [ "$found" -ne 0 ]; then
    echo "run-fuzz: FAIL: inputs in $build/artifacts/; fix the bug and keep each as tests/data/fuzz/scenario-*.yaml, set-*.txt or sweep-*.yaml"
    exit 1
fi
echo "run-fuzz: nothing found"
exit 0
