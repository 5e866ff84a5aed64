"""The layering of DESIGN.md, checked on the include lines of the sources.

Dependencies point one way: cli -> sweep -> core -> models, with io,
scenario and rng as leaves used by core and sweep, and base (allocation,
errors) under everything, depending on nothing of the project. A source
file may include the headers of its own layer and of the layers below it;
anything else is a dependency pointing the wrong way and is reported with
the file and line.
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# layer -> the layers it may use (itself included)
ALLOWED = {
    "base": {"base"},
    "rng": {"rng", "base"},
    "scenario": {"scenario", "rng", "base"},
    "io": {"io", "scenario", "base"},
    "par": {"par", "base"},
    "models": {"models", "rng", "base"},
    "core": {"core", "models", "io", "scenario", "rng", "par", "base"},
    "sweep": {"sweep", "core", "models", "io", "scenario", "rng", "par", "base"},
    "cli": {"cli", "sweep", "core", "io", "scenario", "rng", "par", "base"},
}

# The one include that crosses upward, on purpose: the phase functions of
# models/ act on the world's state, whose layout core owns. world_int.h
# holds that state, the phase table's declarations and the few core
# services the phases call (the event log, group lookup).
EXCEPTIONS = {("models", "core/world_int.h")}

# Libraries a layer must not touch (DESIGN.md: models never touch HDF5,
# YAML or MPI; only par includes mpi.h; base depends on nothing).
FORBIDDEN_SYSTEM = {
    "models": ("hdf5", "H5", "yaml", "mpi"),
    "base": ("hdf5", "H5", "yaml", "mpi", "omp"),
    "rng": ("hdf5", "H5", "yaml", "mpi"),
}
MPI_ONLY_IN = "par"

# The public headers of sim/include/marketsim, by the layer that defines them.
PUBLIC = {
    "ms_alloc.h": "base", "ms_error.h": "base", "ms_paths.h": "base",
    "ms_scenario.h": "scenario",
    "ms_info.h": "io", "ms_export.h": "io",
    "ms_world.h": "core", "ms_run.h": "core",
    "ms_sweep.h": "sweep", "ms_calibrate.h": "sweep",
    "ms_sensitivity.h": "sweep",
}


def layer_of_header(inc, src_dir):
    """The layer of an included project header, or None for system ones."""
    name = os.path.basename(inc)
    if inc.startswith("marketsim/"):
        return PUBLIC.get(name, "unknown public header " + inc)
    first = inc.split("/")[0]
    if first in ALLOWED and "/" in inc:
        return first
    if inc.startswith("models/"):
        return "models"
    # a header beside the source: same layer
    if os.path.exists(os.path.join(src_dir, inc)):
        return None
    return None


def layer_of_source(path):
    rel = os.path.relpath(path, ROOT).split(os.sep)
    if rel[0] == "models":
        return "models"
    if rel[0] == "sim" and rel[1] in ALLOWED:
        return rel[1]
    return None


def main():
    bad = []
    checked = 0
    for top in ("sim", "models"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, f)
                layer = layer_of_source(path)
                if layer is None:
                    continue
                checked += 1
                with open(path, encoding="utf-8") as fh:
                    for no, line in enumerate(fh, 1):
                        sm = re.match(r'\s*#\s*include\s+<([^>]+)>', line)
                        if sm:
                            sysinc = sm.group(1)
                            low = sysinc.lower()
                            if ((layer != MPI_ONLY_IN and low.startswith("mpi"))
                                    or any(low.startswith(x.lower()) for x in
                                           FORBIDDEN_SYSTEM.get(layer, ()))):
                                bad.append("%s:%d: layer %s includes <%s>"
                                           % (os.path.relpath(path, ROOT), no,
                                              layer, sysinc))
                            continue
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if not m:
                            continue
                        if (layer, m.group(1)) in EXCEPTIONS:
                            continue
                        dep = layer_of_header(m.group(1), d)
                        if dep is None:
                            continue
                        if dep not in ALLOWED[layer]:
                            bad.append("%s:%d: %s (layer %s) includes %s (layer %s)"
                                       % (os.path.relpath(path, ROOT), no, f,
                                          layer, m.group(1), dep))
    for b in bad:
        print(b)
    if checked < 30:
        print("only %d sources found under %s: wrong root?" % (checked, ROOT))
        return 1
    if bad:
        print("%d include(s) break the layering of DESIGN.md" % len(bad))
        return 1
    print("layering: %d sources, no dependency points the wrong way" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
