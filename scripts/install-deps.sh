#!/usr/bin/env bash
# Installs every Debian package talentsim needs (build, tests, analysis; chromium: the report's
# browser test renders its page headless). Idempotent and
# non-interactive; run as root on Debian 12. Skips apt entirely when all are present.
set -euo pipefail
PKGS=(
  g++ cmake ninja-build git pkg-config make clang-14 libclang-rt-14-dev
  libboost-random-dev libboost-program-options-dev libboost-math-dev
  libtbb-dev libeigen3-dev libhdf5-dev hdf5-tools libyaml-cpp-dev doctest-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib python3-scipy python3-pytest
  python3-yaml python3-jinja2
  chromium
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
  exit 1
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
