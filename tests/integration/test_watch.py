#!/usr/bin/python3
"""A run can be watched while it runs, and a restarted run reports its own
pace and the whole wall time (docs/OUTPUT.md).

- While `marketsim run` works, NAME.h5.partial is read by the Python
  reader (status `running`, steps done so far, firms so far, events) and
  by `marketsim info`, and the steps done grow between two looks.
- Interrupted (SIGINT) with a checkpoint, then continued with --restart:
  the progress lines count the steps done in this process ("K in this
  process", K = steps done - the checkpoint's step, and the rate and ETA
  follow from them), and the run file's wall_seconds adds this process's
  time to the wall time the checkpoint recorded.

The polls wait for the run to get somewhere; no assertion depends on how
fast it goes.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py

SRC = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, SRC)
from analysis import marketsim as ms  # noqa: E402

EXE = os.environ.get("MARKETSIM") or os.path.join(SRC, "build", "marketsim")
SCENARIO = os.path.join(SRC, "scenarios", "default.yaml")
STEPS = 100000
N_CHECKS = 0


def check(cond, msg):
    global N_CHECKS
    N_CHECKS += 1
    if not cond:
        raise AssertionError(msg)


def poll(fn, what, seconds=120):
    """fn() until it returns something true; fail after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            v = fn()
        except (OSError, KeyError, ValueError):
            v = None
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def start(args, err):
    env = dict(os.environ, MARKETSIM_PROGRESS_SECONDS="0")
    return subprocess.Popen([EXE, "run", *args], stdout=subprocess.DEVNULL,
                            stderr=err, env=env)


def main():
    with tempfile.TemporaryDirectory(prefix="ms_watch.") as d:
        out = os.path.join(d, "w.h5")
        partial, ckpt = out + ".partial", out + ".ckpt"
        err1 = open(os.path.join(d, "err1"), "w")
        p = start([SCENARIO, "-o", out, "--set", f"run.steps={STEPS}",
                   "--set", "run.people_per_agent=20000", "--set", "output.every=1",
                   "--checkpoint-every", "5"], err1)
        try:
            # 1. The file being written, through the reader.
            first = poll(lambda: (lambda ds: ds if ds.attrs["steps_done"] >= 2 else None)(
                ms.open_run(partial)), "a first look at the partial file")
            check(first.attrs["status"] == "running", f"status {first.attrs['status']!r}")
            k1 = first.attrs["steps_done"]
            check(first.sizes["time"] == k1 + 1, f"{first.sizes['time']} records, steps {k1}")
            check(int(first.step.values[-1]) == k1, "steps_done is the last record's step")
            names = [str(x) for x in first.firm.values]
            check(names[:2] == ["Alibaba", "Pinduoduo"] and "" not in names, f"firms {names}")
            check(len(set(names)) == len(names), "firm names unique in a partial file")
            ev = ms.events(partial)
            check(list(ev.columns) == list(ms.EVENT_COLUMNS), "events of a partial file")
            second = poll(lambda: (lambda ds: ds if ds.attrs["steps_done"] > k1 else None)(
                ms.open_run(partial)), "the steps done to grow")
            check(second.attrs["steps_done"] > k1, "steps grow")
            # 2. marketsim info on it.
            info = subprocess.run([EXE, "info", partial], capture_output=True, text=True)
            check(info.returncode == 0, f"info on a running file: {info.stderr}")
            check(re.search(r"status\s+running", info.stdout), "info says running")
            m = re.search(r"steps_done\s+(\d+) \(at the last record", info.stdout)
            check(m and int(m.group(1)) >= k1, f"info steps_done: {info.stdout[:400]}")
            # 3. Interrupt it once a checkpoint exists.
            poll(lambda: os.path.exists(ckpt), "a checkpoint")
        finally:
            p.send_signal(signal.SIGINT)
            p.wait(timeout=120)
            err1.close()
        check(p.returncode == 1, f"interrupted run exit {p.returncode}")
        with h5py.File(ckpt, "r") as f:
            at, wall1 = int(f.attrs["step"]), float(f.attrs["wall_seconds"])
        check(at >= 5 and wall1 > 0, f"checkpoint at {at}, wall {wall1}")

        # 4. Restart: progress counts this process's steps; wall time adds up.
        errp = os.path.join(d, "err2")
        with open(errp, "w") as err2:
            p = start(["--restart", ckpt], err2)
            try:
                lines = poll(lambda: [l for l in open(errp) if "in this process" in l][:3]
                             if sum("in this process" in l for l in open(errp)) >= 3 else None,
                             "progress lines after the restart")
            finally:
                p.send_signal(signal.SIGINT)
                p.wait(timeout=120)
        line = re.compile(r"marketsim: (\d+)/(\d+) steps \(\d+%\), (\d+) in this process, "
                          r"([0-9.]+) steps/s, ETA (\S+)")
        for text in lines:
            m = line.match(text)
            check(m, f"progress line {text!r}")
            done, total, here = int(m.group(1)), int(m.group(2)), int(m.group(3))
            check(total == STEPS, f"total {total}")
            check(here == done - at and here >= 1, f"{text!r}: {here} in this process, "
                  f"{done} done, checkpoint at {at}")
        with h5py.File(out, "r") as f:
            status, wall = f.attrs["status"], float(f.attrs["wall_seconds"])
            steps_done = int(f.attrs["steps_done"])
        check(status == "interrupted", f"status {status!r}")
        check(steps_done > at, f"steps_done {steps_done}, checkpoint {at}")
        check(wall > wall1, f"wall_seconds {wall} should add to the checkpoint's {wall1}")
    print(f"watch: {N_CHECKS} checks ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
