#!/bin/sh
# install-deps.sh: what marketsim needs, in three groups, and only the
# missing packages. Safe to run again: when everything is present it
# installs nothing and does not touch the network.
#
#   scripts/install-deps.sh [--check] [GROUP...]
#
# GROUP (default: all):
#   build   compile and run marketsim (make build, make run, make install)
#   python  the Python reader and notebooks (analysis/, python3 -m marketsim)
#   test    only the tests: CUnit, notebook execution, the Python package
#           install test, clang/libFuzzer and valgrind (make test)
#   all     the three
# --check: report what is missing, install nothing (exit 1 if anything is).
#
# On Debian as root it installs what is missing with apt-get. Otherwise
# (not root, or not Debian) it installs nothing: it lists exactly what is
# missing with the command that installs it, and exits 1 when a build
# dependency is missing, 0 when only other groups are (so `make build`
# goes on). On a cluster with environment modules, load the compilers and
# libraries and run plain cmake, which says what it cannot find:
#
#   module load gcc cmake gsl hdf5 openmpi libyaml    # names vary by site
#   cmake -S . -B build -DRANDOM123_INCLUDE_DIR=$HOME/random123/include
#   cmake --build build -j && cmake --install build --prefix $HOME/.local
#
# Equivalents elsewhere:
#   Fedora build:  gcc make cmake pkgconf gsl-devel hdf5-devel hdf5
#                  openmpi-devel libyaml-devel (Random123 is header-only:
#                  https://github.com/DEShawResearch/random123, include/)
#   Fedora python: python3-h5py python3-numpy python3-pandas python3-xarray
#                  python3-matplotlib python3-pyyaml (h5netcdf: pip)
#   Fedora test:   CUnit-devel python3-nbconvert python3-ipykernel
#                  python3-pip clang compiler-rt libomp-devel valgrind
#   macOS build:   brew install cmake gsl hdf5 open-mpi libyaml libomp
#   macOS test:    brew install cunit
set -eu

BUILD_PKGS="build-essential cmake pkg-config libgsl-dev librandom123-dev
libhdf5-dev hdf5-tools libopenmpi-dev openmpi-bin libyaml-dev"
PYTHON_PKGS="python3 python3-h5py python3-numpy python3-pandas python3-xarray
python3-h5netcdf python3-matplotlib python3-yaml"
# libcunit1-dev: unit tests; jupyter-nbconvert, python3-ipykernel: the
# notebooks run as tests; python3-pip, -setuptools, -wheel, -venv: the
# Python package installed into a virtual environment without download
# (tests/integration/test_python_package.py); clang with libFuzzer and its
# OpenMP (tests/fuzz/run-fuzz.sh) and valgrind (test_valgrind.sh).
TEST_PKGS="libcunit1-dev jupyter-nbconvert python3-ipykernel
python3-pip python3-setuptools python3-wheel python3-venv
clang libclang-rt-14-dev libomp-14-dev valgrind"
# Tools and pkg-config modules that stand for the build group off Debian.
BUILD_TOOLS="cc make cmake pkg-config"
BUILD_PC="gsl yaml-0.1"

check_only=0
groups=""
for a in "$@"; do
    case "$a" in
        --check) check_only=1 ;;
        build|python|test) groups="$groups $a" ;;
        all) groups="$groups build python test" ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps: unknown argument '$a' (groups: build, python, test, all; or --check)" >&2
           exit 2 ;;
    esac
done
[ -n "$groups" ] || groups="build python test"

pkgs_of() {
    case "$1" in
        build) echo $BUILD_PKGS ;;
        python) echo $PYTHON_PKGS ;;
        test) echo $TEST_PKGS ;;
    esac
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: look for what the build needs; cmake has the last word.
    miss=""
    for t in $BUILD_TOOLS; do
        command -v "$t" >/dev/null 2>&1 || miss="$miss $t"
    done
    if command -v pkg-config >/dev/null 2>&1; then
        for m in $BUILD_PC; do
            pkg-config --exists "$m" 2>/dev/null || miss="$miss $m(pkg-config)"
        done
    fi
    command -v h5cc >/dev/null 2>&1 || command -v h5pcc >/dev/null 2>&1 ||
        pkg-config --exists hdf5 2>/dev/null || miss="$miss hdf5"
    if [ -n "$miss" ]; then
        echo "install-deps: not a Debian system; not found:$miss." >&2
        echo "  Load them (e.g. module load gcc cmake gsl hdf5 openmpi libyaml) or install" >&2
        echo "  the equivalents listed at the top of $0; cmake says what it still cannot find." >&2
    else
        echo "install-deps: not a Debian system; compiler, cmake and the libraries found" \
             "(cmake checks the rest)"
    fi
    exit 0
fi

missing_of() {
    m=""
    for p in $(pkgs_of "$1"); do
        s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$s" in
            *"install ok installed"*) ;;
            *) m="$m $p" ;;
        esac
    done
    echo "$m"
}

missing=""
build_missing=""
for g in $groups; do
    m=$(missing_of "$g")
    [ -n "$m" ] || continue
    echo "install-deps: missing ($g):$m"
    missing="$missing$m"
    [ "$g" = build ] && build_missing=$m
done
if [ -z "$missing" ]; then
    echo "install-deps: all dependencies present ($(echo $groups | tr ' ' ,))"
    exit 0
fi
[ $check_only -eq 1 ] && exit 1

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: not root, so nothing installed; as root (or with sudo) run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    if [ -n "$build_missing" ]; then
        echo "install-deps: the build cannot go on without:$build_missing" >&2
        exit 1
    fi
    echo "install-deps: the build dependencies are present; going on without the rest" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: installed:$missing"
