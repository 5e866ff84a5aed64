#!/bin/sh
# test_interrupt.sh: SIGINT or SIGTERM stops a run after the current step
# and keeps what it computed: exit status 1, a message that says so, the
# file under its final name (no .partial) with status "interrupted", the
# steps done, and every dataset holding exactly the records written
# (output.every = 7, so the last, off-grid state is an extra record).
#
# Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root),
# MS_PYTHON (a python3 that imports h5py). Exit 0 when all checks pass.

: "${MARKETSIM:?set MARKETSIM to the marketsim binary}"
: "${MS_SOURCE_DIR:?set MS_SOURCE_DIR to the repository root}"
: "${MS_PYTHON:=python3}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms_interrupt.XXXXXX") || exit 1
pid=
trap 'rm -rf "$tmp"' EXIT
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; exit 1' INT TERM HUP

scen=$MS_SOURCE_DIR/scenarios/default.yaml
n_fail=0

fail() {
    n_fail=$((n_fail + 1))
    echo "FAIL $1"
    [ -s "$tmp/err" ] && sed 's/^/     | /' "$tmp/err" | head -n 10
}

# interrupt SIGNAL: start a run of 100000 steps (hours), signal it once it
# has been stepping for a second, and check what it leaves.
interrupt() {
    sig=$1
    out=$tmp/$sig.h5
    "$MARKETSIM" run "$scen" --set run.steps=100000 --set output.every=7 \
        -q -o "$out" 2>"$tmp/err" &
    pid=$!
    # Setup done once the .partial file exists; give it 1 s of steps.
    i=0
    while [ ! -e "$out.partial" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ ! -e "$out.partial" ]; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid"
        pid=
        fail "$sig: no $out.partial after 10 s"
        return
    fi
    sleep 1
    if ! kill -s "$sig" "$pid" 2>/dev/null; then
        wait "$pid"
        pid=
        fail "$sig: the run ended before the signal"
        return
    fi
    wait "$pid"
    rc=$?
    pid=
    if [ "$rc" -ne 1 ]; then
        fail "$sig: exit status $rc, expected 1"
        return
    fi
    echo "ok   $sig: exit status 1"
    if grep -q "interrupted after [0-9]* steps" "$tmp/err"; then
        echo "ok   $sig: message says interrupted"
    else
        fail "$sig: no 'interrupted after N steps' message"
    fi
    if [ ! -f "$out" ] || [ -e "$out.partial" ]; then
        fail "$sig: expected $out and no .partial: $(ls "$tmp")"
        return
    fi
    said=$(sed -n 's/.*interrupted after \([0-9]*\) steps.*/\1/p' "$tmp/err")
    if "$MS_PYTHON" - "$out" "$said" <<'EOF'; then
import sys
import h5py
import numpy as np

path, said = sys.argv[1], int(sys.argv[2])
with h5py.File(path, "r") as f:
    a = f.attrs
    status = a["status"]
    status = status.decode() if isinstance(status, bytes) else str(status)
    assert status == "interrupted", f"status is {status!r}"
    done = int(a["steps_done"])
    assert 1 <= done <= 99999, f"steps_done = {done}"
    assert done == said, f"steps_done {done} but the message says {said}"
    assert int(a["steps"]) == 100000, f"steps = {a['steps']}"
    # Records at steps 0, 7, 14, ... and the last step done.
    want = list(range(0, done + 1, 7))
    if want[-1] != done:
        want.append(done)
    for g in ("market", "firm"):
        step = f[g]["step"][...]
        assert list(step) == want, f"/{g}/step = {list(step)[:5]}..{list(step)[-3:]}, expected ..{want[-3:]}"
        t = f[g]["time"][...]
        dt = float(a["dt"])
        assert np.allclose(np.diff(t), np.diff(step) * dt, rtol=0, atol=1e-9), f"/{g}/time steps"
        n = 0
        for name, d in f[g].items():
            if not isinstance(d, h5py.Dataset) or d.maxshape[0] is not None:
                continue  # fixed-size coordinates and facts
            if name in ("firm", "home"):
                continue  # the firm coordinate grows with start-ups, not records
            assert d.shape[0] == len(want), f"/{g}/{name} has {d.shape[0]} records, expected {len(want)}"
            n += 1
        assert n >= 4, f"/{g}: only {n} record datasets"
    # The last record holds real data, not the fill value.
    last = f["market"]["adopters"][-1]
    assert np.all(np.isfinite(last)) and last.sum() > 0, "last adopters record is empty"
print(f"     steps_done {done}, {len(want)} records")
EOF
        echo "ok   $sig: file holds the interrupted run"
    else
        fail "$sig: the file does not hold the interrupted run"
    fi
}

interrupt INT
interrupt TERM

[ "$n_fail" -eq 0 ]
