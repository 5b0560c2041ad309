#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, run every test (C++ and Python).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900 -j "$(nproc)"
