#!/bin/sh
# scripts/install-deps.sh without root: it installs nothing, lists exactly
# what is missing (by group) with the apt-get line, and lets the build go
# on when the build group is present. dpkg-query is stood in for by a
# script that reports the packages of FAKE_MISSING as not installed; off
# Debian (no dpkg-query on PATH) it looks for the tools and goes on.
set -u
SRC=${MS_SOURCE_DIR:?}
DEPS=$SRC/scripts/install-deps.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); cat "$T/out"; }
AS=""
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1 ||
    { echo "SKIP: root, and no setpriv or user nobody to run as"; exit 77; }
  AS="$(command -v setpriv) --reuid=nobody --regid=$(id -g nobody) --clear-groups --"
fi
mkdir "$T/deb" "$T/other"
cat > "$T/deb/dpkg-query" <<'SH'
#!/bin/sh
# dpkg-query -W -f='${Status}' PKG
for p; do :; done
for m in $FAKE_MISSING; do [ "$m" = "$p" ] && exit 1; done
printf 'install ok installed'
SH
chmod 755 "$T/deb/dpkg-query"
run() {  # run FAKE_MISSING ARGS...: as a user without root, on "Debian"
  miss=$1; shift
  env -i PATH="$T/deb:/usr/bin:/bin" FAKE_MISSING="$miss" $AS sh "$DEPS" "$@" >"$T/out" 2>&1
}

run "valgrind" build
[ $? -eq 0 ] && grep -q "all dependencies present (build)" "$T/out" &&
  ok "build group present, a test package missing: 'build' is satisfied" || bad "build only"
run "valgrind jupyter-nbconvert" all
[ $? -eq 0 ] && grep -q "missing (test): jupyter-nbconvert valgrind" "$T/out" &&
  grep -q "apt-get install -y --no-install-recommends jupyter-nbconvert valgrind" "$T/out" &&
  grep -q "going on without the rest" "$T/out" &&
  ok "test packages missing, not root: listed with the apt-get line, exit 0" || bad "test missing"
run "libgsl-dev valgrind" all
[ $? -eq 1 ] && grep -q "missing (build): libgsl-dev" "$T/out" &&
  grep -q "the build cannot go on without: libgsl-dev" "$T/out" &&
  ok "a build package missing, not root: exit 1, says which" || bad "build missing"
run "python3-xarray" --check
[ $? -eq 1 ] && grep -q "missing (python): python3-xarray" "$T/out" &&
  ok "--check: exit 1 with the missing package" || bad "--check"
run "" bogus
[ $? -eq 2 ] && grep -q "unknown argument 'bogus'" "$T/out" && ok "unknown group: exit 2" || bad "bogus"

# Off Debian: only the tools it needs on PATH, no dpkg-query.
for t in sh sed tr id cat cmake make pkg-config cc; do
  p=$(command -v $t) && ln -s "$p" "$T/other/$t"
done
env -i PATH="$T/other" $AS "$T/other/sh" "$DEPS" build >"$T/out" 2>&1
[ $? -eq 0 ] && grep -q "not a Debian system" "$T/out" &&
  ok "not Debian, tools present: exit 0, cmake decides" || bad "not Debian"
rm "$T/other/cmake"
env -i PATH="$T/other" $AS "$T/other/sh" "$DEPS" build >"$T/out" 2>&1
[ $? -eq 0 ] && grep -q "not found:.* cmake" "$T/out" && grep -q "module load" "$T/out" &&
  ok "not Debian, no cmake: named, with how to get it" || bad "not Debian, no cmake"
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
