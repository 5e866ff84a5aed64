#!/usr/bin/python3
"""sweepwait.py FILE N [SECONDS]: wait until a sweep being written to FILE
has at least N runs done (reading it in single-writer mode, as a live
sweep must be read), then print how many are done and exit 0; exit 1 if
that does not happen within SECONDS (default 60). One process polling
every 20 ms, so the caller can act while the sweep is still at work."""
import sys
import time

import h5py


def done(path):
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return int((f["runs/status"][()] == 1).sum())
    except (OSError, KeyError):
        return 0  # not created yet, or not yet readable


def main(path, n, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        k = done(path)
        if k >= n:
            print(k)
            return 0
        time.sleep(0.02)
    print(done(path))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]),
                  float(sys.argv[3]) if len(sys.argv) > 3 else 60.0))
