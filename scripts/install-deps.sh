#!/bin/sh
# install-deps.sh: install the Debian packages marketsim needs, and only the
# missing ones. Safe to run again: when everything is present it installs
# nothing and does not touch the network.
#
#   scripts/install-deps.sh          build, run and test dependencies
#   scripts/install-deps.sh --check  list what is missing, install nothing
#
# On other systems, install the equivalents by hand (see README.md):
#   Fedora:  gcc cmake make pkgconf gsl-devel hdf5-devel openmpi-devel
#            libyaml-devel CUnit-devel python3-h5py python3-pandas
#            python3-xarray python3-matplotlib python3-nbconvert
#            python3-pyyaml python3-pip
#            clang compiler-rt libomp-devel valgrind
#            (Random123 is header-only: copy its include/ folder)
#   macOS:   brew install cmake gsl hdf5 open-mpi libyaml cunit libomp
#            (Random123 from https://github.com/DEShawResearch/random123)
set -eu

# python3-pip, -setuptools, -wheel and -venv install the Python package
# (pyproject.toml) into a virtual environment without downloading
# anything (tests/integration/test_python_package.py). The last line is
# for the reliability tests: clang with libFuzzer and its
# OpenMP (tests/fuzz/run-fuzz.sh builds the whole project with clang), and
# valgrind (tests/integration/test_valgrind.sh).
PKGS="build-essential cmake pkg-config
libgsl-dev librandom123-dev libhdf5-dev hdf5-tools
libopenmpi-dev openmpi-bin libyaml-dev libcunit1-dev
python3 python3-h5py python3-numpy python3-pandas python3-xarray
python3-h5netcdf python3-matplotlib python3-yaml jupyter-nbconvert python3-ipykernel
python3-pip python3-setuptools python3-wheel python3-venv
clang libclang-rt-14-dev libomp-14-dev valgrind"

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: this is not a Debian-like system; install these" \
         "(or their equivalents, listed at the top of $0) by hand:" >&2
    echo "$PKGS" | tr '\n' ' ' >&2; echo >&2
    exit 1
fi

missing=""
for p in $PKGS; do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$s" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all dependencies present"
    exit 0
fi
echo "install-deps: missing:$missing"
[ $check_only -eq 1 ] && exit 1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-deps: not root and no sudo; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: installed:$missing"
