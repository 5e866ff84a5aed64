"""Crafted and damaged HDF5 input: run files for `info`, shards for `merge`,
checkpoints for `run --restart`.

Every HDF5 read goes through the checked reader (sim/io/h5read.c), and a
checkpoint's values are range-checked and checksummed
(sim/core/checkpoint.c). So each crafted file below (wrong ranks, shapes,
types and element sizes, absurd counts, out-of-range owners, homes and
choices in a checkpoint whose checksums were recomputed to match) must give
exit status 2 and a `FILE: error:` message naming the dataset, write
nothing, and never crash. Then a deterministic byte-flip campaign (a fixed
random seed picks the bytes) against `info` and `--restart`: every flip
gives status 0 (a harmless flip) or 2 with such a message, never a signal.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

MS = os.environ["MARKETSIM"]
SRC = os.environ["MS_SOURCE_DIR"]
TINY = os.path.join(SRC, "tests", "data", "tiny.yaml")
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def ms(*args, timeout=60):
    p = subprocess.run([MS, *args], capture_output=True, text=True,
                       errors="replace",
                       timeout=timeout)
    return p.returncode, p.stderr


def fnv1a64(data):
    """The checksum of sim/core/checkpoint.c (FNV-1a, 64 bits)."""
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def refused(rc, err, path, what, expect=None):
    """Status 2, a `FILE: error:` message naming path (and `expect`)."""
    good = rc == 2 and (path + ": error:") in err
    if expect:
        good = good and expect in err
    check(good, what + (" -> " + err.strip().splitlines()[-1][:150]
                        if err.strip() else " (rc %d, no message)" % rc))


def make_checkpoint(d):
    """A checkpoint of tiny.yaml taken mid-run (the run killed with SIGKILL
    once the first checkpoint exists; a run that completes removes it)."""
    out = os.path.join(d, "k.h5")
    p = subprocess.Popen([MS, "run", TINY, "-q", "--threads", "1", "-o", out,
                          "--set", "run.steps=400", "--checkpoint-every", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = out + ".ckpt"
    for _ in range(600):
        if os.path.exists(ck) or p.poll() is not None:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    if not os.path.exists(ck):
        sys.exit("no checkpoint was written")
    keep = os.path.join(d, "base.ckpt")
    shutil.copy(ck, keep)
    # The run it continues is shortened to 3 more steps (a valid change:
    # the scenario's checksum is recomputed), so that every restart of the
    # campaign below that is accepted finishes at once.
    with h5py.File(keep, "r+") as f:
        step = int(np.frombuffer(f["/counters"][()].tobytes(), "<i8")[6])
        text = f["/scenario"][()]
        short = text.replace(b"\n  steps: 400\n", b"\n  steps: %d\n" % (step + 3))
        assert short != text
        replace(f, "/scenario", short, dtype=h5py.string_dtype())
        f["/scenario"].attrs["fnv1a64"] = fnv1a64(short)
    return keep


# ---- crafting helpers ----

def replace(f, path, data, **kw):
    """Replace dataset path by data, keeping its attributes."""
    attrs = dict(f[path].attrs)
    del f[path]
    f.create_dataset(path, data=data, **kw)
    for k, v in attrs.items():
        f[path].attrs[k] = v


def ckpt_path(name):
    return name if name.startswith("/") else "/state/" + name


def ckpt_array(f, name, dtype):
    return np.frombuffer(f[ckpt_path(name)][()].tobytes(), dtype=dtype).copy()


def ckpt_put(f, name, arr, fix_sum=True):
    raw = np.frombuffer(arr.tobytes(), dtype=np.uint8)
    path = ckpt_path(name)
    f[path][...] = raw
    if fix_sum:
        f[path].attrs["fnv1a64"] = fnv1a64(raw.tobytes())


def main():
    d = tempfile.mkdtemp(prefix="ms_crafted_")
    try:
        run_file_cases(d)
        merge_cases(d)
        checkpoint_cases(d)
        flips(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("%d failure(s)" % fails)
    sys.exit(1 if fails else 0)


def run_file_cases(d):
    base = os.path.join(d, "run.h5")
    rc, err = ms("run", TINY, "-q", "-o", base)
    assert rc == 0, err
    rc, err = ms("info", base)
    check(rc == 0, "info of the untouched run file")

    def case(what, edit, expect):
        p = os.path.join(d, "crafted.h5")
        shutil.copy(base, p)
        with h5py.File(p, "r+") as f:
            edit(f)
        rc, err = ms("info", p)
        refused(rc, err, p, "info: " + what, expect)

    case("adopters of rank 2",
         lambda f: replace(f, "/market/adopters", np.zeros((4, 4))),
         "/market/adopters: expected rank 3")
    case("adopters wider than the markets",
         lambda f: replace(f, "/market/adopters", np.zeros((4, 7, 2))),
         "/market/adopters: expected shape")
    case("adopters with no record",
         lambda f: replace(f, "/market/adopters", np.zeros((0, 2, 2))),
         "/market/adopters: expected shape")
    case("more market names than the data have",
         lambda f: replace(f, "/market/market",
                           np.array([b"m%d" % i for i in range(50)])),
         "expected shape")
    case("firm names of rank 2",
         lambda f: replace(f, "/firm/firm", np.array([[b"a", b"b"]] * 2)),
         "/firm/firm: expected rank 1")
    case("users stored as strings",
         lambda f: replace(f, "/firm/users", np.array([b"x"] * 4)),
         "/firm/users")
    case("users of rank 9",
         lambda f: replace(f, "/firm/users", np.zeros((1,) * 9)),
         "/firm/users: expected rank 4")
    case("potential of another shape",
         lambda f: replace(f, "/market/potential", np.zeros((3, 3))),
         "/market/potential: expected shape 2 x 2")
    case("time as a compound",
         lambda f: replace(f, "/market/time",
                           np.zeros(4, dtype=[("a", "f8"), ("b", "i4")])),
         "/market/time: expected a numeric dataset")
    case("title attribute of 1000 values",
         lambda f: f.attrs.__setitem__("title", np.arange(1000)),
         "attribute title of /: expected one value")
    case("units attribute of 10^5 values",
         lambda f: f["/market/hhi"].attrs.__setitem__(
             "units", np.zeros(100000)),
         "attribute units of hhi: expected one value")
    case("events coordinate of rank 2",
         lambda f: replace(f, "/events/event", np.zeros((5, 5), "i8")),
         "/events/event: expected rank 1")
    case("event kinds of 100000-byte strings",
         lambda f: replace(f, "/events/kind",
                           np.array([b"x"] * 5, dtype="S100000")),
         "/events/kind: expected strings of at most 65536 bytes")


def merge_cases(d):
    sw = os.path.join(d, "sw.yaml")
    with open(sw, "w") as fh:
        fh.write("scenario: %s\nseed: 3\nreplications: 2\n"
                 "parameters:\n  markets.CN.openness: [0.2, 0.8]\n"
                 "outputs: [adopters, users]\n"
                 "set: {run.steps: 3}\n" % TINY)
    shards = []
    for i in (1, 2):
        p = os.path.join(d, "s%d.h5" % i)
        rc, err = ms("sweep", sw, "-q", "--shard", "%d/2" % i, "-o", p)
        assert rc == 0, err
        shards.append(p)
    out = os.path.join(d, "merged.h5")
    rc, err = ms("merge", *shards, "-o", out)
    check(rc == 0, "merge of the untouched shards")
    os.remove(out)

    def case(what, which, edit, expect):
        ps = []
        for i, s in enumerate(shards):
            p = os.path.join(d, "c%d.h5" % i)
            shutil.copy(s, p)
            ps.append(p)
        with h5py.File(ps[which], "r+") as f:
            edit(f)
        rc, err = ms("merge", *ps, "-o", out)
        refused(rc, err, ps[which], "merge: " + what, expect)
        check(not os.path.exists(out) and not os.path.exists(out + ".partial"),
              "merge: " + what + ": nothing written")

    case("a run count of 2^40", 0,
         lambda f: f.attrs.__setitem__("runs", np.int64(1 << 40)),
         "attribute runs of /: expected 1..4294967296, found 1099511627776")
    case("a run count beyond the status", 0,
         lambda f: f.attrs.__setitem__("runs", np.int64(9)),
         "/runs/status: expected shape 9")
    case("a second shard with more runs", 1,
         lambda f: replace(f, "/runs/status", np.ones(40, "i1")),
         "/runs/status: expected shape 4")
    case("a run status of 7", 1,
         lambda f: replace(f, "/runs/status", np.full(4, 7, "i1")),
         "/runs/status: expected 0, 1 or 2")
    case("per-run data of another shape", 1,
         lambda f: (f["/runs/status"].__setitem__(Ellipsis, 1),
                    replace(f, "/market/adopters",
                            np.zeros((4, 9, 2, 2)))),
         "/market/adopters: expected the type and shape")


def checkpoint_cases(d):
    base = make_checkpoint(d)
    out = os.path.join(d, "restarted.h5")
    rc, err = ms("run", "--restart", base, "-q", "-o", out)
    check(rc == 0, "restart from the untouched checkpoint")
    os.remove(out)
    with h5py.File(base, "r") as f:
        nf = int(np.frombuffer(f["/counters"][()].tobytes(), "<i8")[0])
        F = int(f.attrs["firm_slots"])
        cap_partners = f["/state/pa"].shape[0] // 4

    def case(what, edit, expect):
        p = os.path.join(d, "crafted.ckpt")
        shutil.copy(base, p)
        with h5py.File(p, "r+") as f:
            edit(f)
        rc, err = ms("run", "--restart", p, "-q", "-o", out)
        refused(rc, err, p, "restart: " + what, expect)
        check(not os.path.exists(out) and not os.path.exists(out + ".partial"),
              "restart: " + what + ": nothing written")

    def setv(name, dtype, idx, value, fix=True):
        def edit(f):
            a = ckpt_array(f, name, dtype)
            a[idx] = value
            ckpt_put(f, name, a, fix)
        return edit

    case("an owner beyond the firms", setv("owner", "i4", 0, 1000),
         "/state/owner: expected a firm that exists")
    case("a negative owner", setv("owner", "i4", 1, -5),
         "/state/owner: expected")
    case("an owner of a firm not created yet", setv("owner", "i4", 0, nf),
         "/state/owner: expected")
    case("a home beyond the markets", setv("home", "i4", 1, 99),
         "/state/home: expected markets 0..1")
    case("a choice of a firm that does not exist",
         setv("choice", "u2", 0, nf + 7), "/state/choice: expected firms")
    case("one user too many", setv("users", "i8", 0, 10 ** 6),
         "/state/users: expected")
    if cap_partners:
        case("a partner index beyond the firms",
             lambda f: (setv("pa", "i4", 0, 10 ** 6)(f),
                        setv("/counters", "i8", 4, 1)(f)),
             "/state/pa, pb: expected firms")
    case("a partnership count beyond the room for them",
         setv("/counters", "i8", 4, cap_partners + 1),
         "/counters: expected partnerships")
    case("a firm count beyond the slots", setv("/counters", "i8", 0, F + 1),
         "/counters: expected firms")
    case("a step beyond the run", setv("/counters", "i8", 6, 10 ** 9),
         "/counters: expected step")
    case("a stake count of 2^40", setv("/counters", "i8", 5, 1 << 40),
         "/counters: expected stakes")
    case("bytes changed but not their checksum",
         setv("cash", "f8", 0, 1e300, fix=False),
         "/state/cash: expected bytes with checksum")
    case("no checksum",
         lambda f: f["/state/mu"].attrs.__delitem__("fnv1a64"),
         "no attribute fnv1a64")
    case("owners stored with 2-byte elements",
         lambda f: replace(f, "/state/owner",
                           f["/state/owner"][()].astype("u2")),
         "/state/owner: expected integer elements of 1 bytes, found 2")
    case("owners one byte short",
         lambda f: replace(f, "/state/owner", f["/state/owner"][()][:-1]),
         "/state/owner: expected shape")
    case("alive of rank 2",
         lambda f: replace(f, "/state/alive",
                           f["/state/alive"][()].reshape(2, -1)),
         "/state/alive: expected rank 1")
    case("counters as floats",
         lambda f: replace(f, "/counters",
                           f["/counters"][()].astype("f8")),
         "/counters: expected a integer dataset")
    case("an older checkpoint version",
         lambda f: f.attrs.__setitem__("checkpoint_version", np.int64(2)),
         "checkpoint_version of /: expected 3, found 2")
    case("another consumer count",
         lambda f: f.attrs.__setitem__("consumers", np.int64(10 ** 9)),
         "attribute consumers of /: expected")
    case("an output attribute of 1000 values",
         lambda f: f.attrs.__setitem__("output", np.arange(1000)),
         "attribute output of /: expected one value")
    case("a scenario changed but not its checksum",
         lambda f: replace(f, "/scenario",
                           f["/scenario"][()].replace(b"seed: 11",
                                                      b"seed: 12"),
                           dtype=h5py.string_dtype()),
         "/scenario: expected text with checksum")
    case("a scenario of rank 2",
         lambda f: replace(f, "/scenario", np.array([[b"a"]])),
         "/scenario: expected rank 0")


def named(err, path):
    """A `FILE: error:` or `FILE:LINE:COL: error:` message about path."""
    return any(line.startswith(path + ":") and ": error:" in line
               for line in err.splitlines())


def flips(d):
    """Single-byte changes at positions a fixed seed picks."""
    rng = random.Random(20261201)
    run = os.path.join(d, "run.h5")
    data = open(run, "rb").read()
    p = os.path.join(d, "flip.h5")
    counts = {}
    bad = []
    for k in range(250):
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= rng.randrange(1, 256)
        open(p, "wb").write(b)
        rc, err = ms("info", p, timeout=30)
        counts[rc] = counts.get(rc, 0) + 1
        if rc not in (0, 2) or (rc == 2 and p + ": error:" not in err):
            bad.append((i, rc, err.strip()[-200:]))
    print("info, 250 flips: exit statuses %s" % counts)
    for x in bad[:5]:
        print("  byte %d: exit %d: %s" % x)
    check(not bad, "info: every flip of a run file gives 0 or 2 + message")

    ck = os.path.join(d, "base.ckpt")
    data = open(ck, "rb").read()
    p = os.path.join(d, "flip.ckpt")
    out = os.path.join(d, "flip-out.h5")
    counts = {}
    bad = []
    for k in range(40):
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= rng.randrange(1, 256)
        open(p, "wb").write(b)
        for f in (out, out + ".partial"):
            if os.path.exists(f):
                os.remove(f)
        rc, err = ms("run", "--restart", p, "-q", "--threads", "1", "-o", out,
                     timeout=60)
        counts[rc] = counts.get(rc, 0) + 1
        if rc not in (0, 2) or (rc == 2 and not named(err, p)):
            bad.append((i, rc, err.strip()[-200:]))
        elif rc == 2 and (os.path.exists(out) or
                          os.path.exists(out + ".partial")):
            bad.append((i, rc, "refused, but wrote " + out))
    print("restart, 40 flips: exit statuses %s" % counts)
    for x in bad[:5]:
        print("  byte %d: exit %d: %s" % x)
    check(not bad, "restart: every flip of a checkpoint gives 0 or 2 + "
          "message, and a refused one writes nothing")


if __name__ == "__main__":
    main()
