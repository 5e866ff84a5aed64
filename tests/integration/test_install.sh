#!/bin/sh
# `cmake --install` into a prefix of a user without root, then a scenario,
# a sweep, the Python package and the Slurm template's binary lookup, all
# with the installed files only (no source tree, no build folder on any
# path). As root the install and everything after it run as `nobody`.
set -u
MS=${MARKETSIM:?}
BUILD=$(dirname "$MS")
PY=${MS_PYTHON:-/usr/bin/python3}
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

T=$(mktemp -d /tmp/ms-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
AS=""
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1 ||
    { echo "SKIP: root, but no setpriv or no user nobody to install as"; exit 77; }
  AS="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups --"
  chown nobody "$T"
  # cmake --install records what it installed in BUILD/install_manifest.txt;
  # here the build folder is root's (a user installs from their own).
  touch "$BUILD/install_manifest.txt"; chown nobody "$BUILD/install_manifest.txt"
fi
P=$T/prefix
W=$T/work
$AS mkdir -p "$W" "$T/home" || { echo "FAIL: cannot create folders as $AS"; exit 1; }
# Only the system's own folders on PATH, and nothing of the checkout.
clean() { env -i HOME="$T/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }

if clean $AS cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1; then
  ok "cmake --install as $(clean $AS id -un) into a fresh prefix"
else
  bad "cmake --install"; cat "$T/install.log"; exit 1
fi
for f in bin/marketsim share/marketsim/slurm/submit.sh \
         share/marketsim/slurm/sweep-array.sbatch share/marketsim/slurm/merge.sbatch \
         share/marketsim/slurm/run-mpi.sbatch \
         share/marketsim/scenarios/default.yaml share/marketsim/seeds/figures.yaml \
         share/doc/marketsim/CLUSTER.md share/doc/marketsim/SWEEPS.md; do
  [ -e "$P/$f" ] || bad "not installed: $f"
done
PYDIR=$(cd "$P" && ls -d lib/python3*/site-packages 2>/dev/null | head -1)
[ -n "$PYDIR" ] && [ -e "$P/$PYDIR/marketsim/__init__.py" ] ||
  bad "the Python package is not in PREFIX/lib/pythonX.Y/site-packages"
if grep -q "$(dirname "$BUILD")" "$P/share/marketsim/slurm/submit.sh"; then
  bad "the installed template names the source tree"
fi

# A scenario and a sweep with the installed binary and scenario.
cd "$W" || exit 1
IP="env -i HOME=$T/home PATH=$P/bin:/usr/bin:/bin LANG=C.UTF-8"
if $IP $AS marketsim run "$P/share/marketsim/scenarios/default.yaml" \
     --set run.steps=12 --set run.people_per_agent=200000 -o "$W/run.h5" \
     >"$T/run.log" 2>&1 && [ -s "$W/run.h5" ]; then
  ok "installed marketsim ran the installed default scenario"
else
  bad "scenario run"; cat "$T/run.log"
fi
$AS sh -c "cat > '$W/sw.yaml'" <<EOF
scenario: $P/share/marketsim/scenarios/default.yaml
seed: 7
replications: 2
parameters:
  markets.CN.openness: [0.2, 0.9]
outputs: [adopters, cash]
every: 6
set: {run.steps: 12, run.people_per_agent: 200000}
EOF
if $IP $AS marketsim sweep "$W/sw.yaml" -o "$W/sw.h5" >"$T/sweep.log" 2>&1 &&
   $IP $AS marketsim info "$W/sw.h5" | grep -q "Runs: 4 done, 0 failed"; then
  ok "installed marketsim ran a sweep (4 runs done)"
else
  bad "sweep"; cat "$T/sweep.log"
fi

# The Python package from the prefix: imports from there, finds the
# installed binary without PATH, reads the sweep.
if clean $AS env PYTHONPATH="$P/$PYDIR" "$PY" - "$P" "$W/sw.h5" >"$T/py.log" 2>&1 <<'EOF'
import os, sys
import marketsim
prefix, sweep = sys.argv[1], sys.argv[2]
assert marketsim.__file__.startswith(prefix), marketsim.__file__
exe = marketsim.find_binary()
assert exe == os.path.join(prefix, "bin", "marketsim"), exe
ds = marketsim.open_sweep(sweep)
assert ds.sizes["run"] == 4, ds.sizes
print("python ok", exe)
EOF
then
  ok "the installed Python package imports, finds PREFIX/bin/marketsim, reads the sweep"
else
  bad "Python package"; cat "$T/py.log"
fi

# The installed submit.sh finds the installed binary by itself (PATH holds
# neither it nor the checkout); sbatch is stood in for by a script that
# records what it was given.
$AS mkdir -p "$T/fake"
$AS sh -c "cat > '$T/fake/sbatch'" <<'EOF'
#!/bin/sh
echo "MARKETSIM=$MARKETSIM $*" >> "$SBATCH_LOG"
echo 42
EOF
$AS chmod +x "$T/fake/sbatch"
if env -i HOME="$T/home" PATH="$T/fake:/usr/bin:/bin" SBATCH_LOG="$T/sbatch.log" \
     $AS "$P/share/marketsim/slurm/submit.sh" --mem 1G --time 30 --partition short \
     "$W/sw.yaml" "$W/slurm" 2 >"$T/submit.log" 2>&1; then
  if grep -q "^MARKETSIM=$P/bin/marketsim .*--mem=1G --partition=short --array=1-2 --cpus-per-task=1 --time=30 $P/share/marketsim/slurm/sweep-array.sbatch $W/sw.yaml $W/slurm 2\$" "$T/sbatch.log" &&
     grep -q "^MARKETSIM=$P/bin/marketsim .*--dependency=afterany:42 $P/share/marketsim/slurm/merge.sbatch $W/sw.yaml $W/slurm 2 $W/slurm/sweep.h5\$" "$T/sbatch.log"; then
    ok "the installed submit.sh passes PREFIX/bin/marketsim and the options to sbatch"
  else
    bad "submit.sh called sbatch with"; cat "$T/sbatch.log"
  fi
else
  bad "installed submit.sh"; cat "$T/submit.log"
fi
[ "$(id -u)" -eq 0 ] && rm -f "$BUILD/install_manifest.txt"
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
