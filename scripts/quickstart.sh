#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, run the baseline, summarize.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p out
./build/talentsim run scenarios/baseline.yaml -o out/baseline.h5 --force
./build/talentsim summarize out/baseline.h5
