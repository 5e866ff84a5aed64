#!/bin/sh
# test_bad_input.sh: every malformed scenario in tests/data/bad gets a clear
# error that names the file, line and key, exit status 2, and nothing
# half-written.
#
# Each tests/data/bad/NN_name.yaml has exactly one problem. Its expectations
# are header comment lines, read from NN_name.expect instead when that file
# exists (binary and empty cases cannot hold comments):
#   # expect: TEXT       the error message contains TEXT (repeatable)
#   # expect-line: L     the message contains "FILE:L:" (FILE as passed)
#   # reject: TEXT       the message does not contain TEXT (repeatable), e.g.
#                        a follow-on error or a far-fetched "did you mean"
#   # set: KEY=VALUE     passed as --set KEY=VALUE (repeatable)
# For every case:
#   marketsim validate FILE [--set ...]  exits 2, prints "error:" and the
#     expected text to stderr and nothing to stdout;
#   marketsim run FILE -o DIR/out.h5 [--set ...]  exits 2 with the same
#     message and leaves DIR empty (no out.h5, no out.h5.partial).
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
# Usage: MARKETSIM=build/marketsim MS_SOURCE_DIR=. sh tests/integration/test_bad_input.sh
# Exit status 0 when every case passes, 1 otherwise.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"

dir=$MS_SOURCE_DIR/tests/data/bad
if [ ! -d "$dir" ]; then
    echo "test_bad_input: no folder $dir" >&2
    exit 1
fi
if [ ! -x "$MARKETSIM" ]; then
    echo "test_bad_input: $MARKETSIM is not an executable" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_bad_input.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

n_ok=0
n_fail=0
fails=""

# The expectations of a case: sidecar NN_name.expect, else the file itself.
expect_file() {
    side=${1%.yaml}.expect
    if [ -f "$side" ]; then
        printf '%s\n' "$side"
    else
        printf '%s\n' "$1"
    fi
}

# header FILE KEY: the values of "# KEY: value" lines, one per line.
header() {
    sed -n "s/^# $2: //p" "$1" | tr -d '\r'
}

# describe what an exit status means.
status_text() {
    if [ "$1" -ge 128 ]; then
        echo "$1 (killed by signal $(($1 - 128)))"
    else
        echo "$1"
    fi
}

# check_stderr WHAT FILE EXPECTS LINE ERRFILE REJECTS: prints the first
# problem, if any.
check_stderr() {
    if ! grep -q "error:" "$5"; then
        echo "$1: stderr has no 'error:'"
        return
    fi
    if grep -q "(null)" "$5"; then
        echo "$1: stderr contains '(null)'"
        return
    fi
    # Every expected text must appear (one per line in $3).
    problem=$(printf '%s\n' "$3" | while IFS= read -r want; do
        [ -n "$want" ] || continue
        if ! grep -qF -e "$want" "$5"; then
            echo "$1: stderr lacks \"$want\""
            break
        fi
    done)
    if [ -n "$problem" ]; then
        echo "$problem"
        return
    fi
    problem=$(printf '%s\n' "$6" | while IFS= read -r bad; do
        [ -n "$bad" ] || continue
        if grep -qF -e "$bad" "$5"; then
            echo "$1: stderr has \"$bad\", which it should not"
            break
        fi
    done)
    if [ -n "$problem" ]; then
        echo "$problem"
        return
    fi
    if [ -n "$4" ] && ! grep -qF -e "$2:$4:" "$5"; then
        echo "$1: stderr does not point at $2:$4:"
    fi
}

run_case() {
    f=$1
    name=$(basename "$f" .yaml)
    ef=$(expect_file "$f")
    expects=$(header "$ef" expect)
    rejects=$(header "$ef" reject)
    line=$(header "$ef" expect-line | head -n 1)
    if [ -z "$expects" ]; then
        fail_case "$name" "no '# expect:' line in $ef" /dev/null
        return
    fi
    # Build the --set options in the positional parameters.
    set --
    sets=$(header "$ef" set)
    if [ -n "$sets" ]; then
        while IFS= read -r kv; do
            set -- "$@" --set "$kv"
        done <<EOF
$sets
EOF
    fi

    # validate
    "$MARKETSIM" validate "$f" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 2 ]; then
        fail_case "$name" "validate: exit status $(status_text "$rc"), expected 2" "$tmp/err"
        return
    fi
    problem=$(check_stderr validate "$f" "$expects" "$line" "$tmp/err" \
        "$rejects")
    if [ -n "$problem" ]; then
        fail_case "$name" "$problem" "$tmp/err"
        return
    fi
    if [ -s "$tmp/out" ]; then
        fail_case "$name" "validate: printed to stdout on bad input" "$tmp/out"
        return
    fi

    # run: same verdict, and no output file at all
    rm -rf "$tmp/run"
    mkdir "$tmp/run"
    "$MARKETSIM" run "$f" -o "$tmp/run/out.h5" -q "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 2 ]; then
        fail_case "$name" "run: exit status $(status_text "$rc"), expected 2" "$tmp/err"
        return
    fi
    problem=$(check_stderr run "$f" "$expects" "$line" "$tmp/err" "$rejects")
    if [ -n "$problem" ]; then
        fail_case "$name" "$problem" "$tmp/err"
        return
    fi
    left=$(ls -A "$tmp/run")
    if [ -n "$left" ]; then
        fail_case "$name" "run: left files behind: $left" "$tmp/err"
        return
    fi
    n_ok=$((n_ok + 1))
    echo "ok   $name"
}

# fail_case NAME REASON OUTPUT_FILE
fail_case() {
    n_fail=$((n_fail + 1))
    fails="$fails $1"
    echo "FAIL $1: $2"
    sed 's/^/     | /' "$3"
}

found=0
for f in "$dir"/*.yaml; do
    [ -f "$f" ] || continue
    found=$((found + 1))
    run_case "$f"
done
# A sidecar without its case is a mistake in the test data.
for e in "$dir"/*.expect; do
    [ -f "$e" ] || continue
    if [ ! -f "${e%.expect}.yaml" ]; then
        n_fail=$((n_fail + 1))
        fails="$fails $(basename "$e")"
        echo "FAIL $(basename "$e"): no ${e%.expect}.yaml for this sidecar"
    fi
done

if [ "$found" -lt 30 ]; then
    echo "FAIL only $found cases in $dir; expected at least 30"
    n_fail=$((n_fail + 1))
fi
echo "bad input: $n_ok ok, $n_fail failed"
if [ "$n_fail" -ne 0 ]; then
    echo "failed:$fails"
    exit 1
fi
exit 0
