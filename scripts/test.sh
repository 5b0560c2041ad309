#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, run every test.
#  1. Release build with MPI (TALENTSIM_MPI=ON: Open MPI from install-deps.sh): the C++ suite
#     (doctest via CTest, the mpirun sweeps included), the Python analysis tests, the textbook
#     validations, CLI and benchmark smoke tests.
#  2. The C++ suite again under AddressSanitizer + UndefinedBehaviorSanitizer, built without MPI
#     (so the build without MPI is tested too; LeakSanitizer would report Open MPI's own
#     allocations in every rank). The long validation runs are left to step 1.
#  3. The scenario-loader fuzzer for a bounded time (TALENTSIM_FUZZ_SECONDS, default 60).
# Set TALENTSIM_QUICK=1 to run step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh

echo "== release build (with MPI) and tests"
scripts/build.sh -DTALENTSIM_MPI=ON
ctest --test-dir build --output-on-failure --timeout 900 -j "$jobs"

if [ "${TALENTSIM_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== tests under ASan + UBSan"
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo scripts/build.sh \
  -DTALENTSIM_ASAN=ON -DTALENTSIM_UBSAN=ON -DTALENTSIM_BUILD_BENCHMARKS=OFF -DTALENTSIM_MPI=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 1800 -j "$jobs" -E "^validate_|^python_"

echo "== fuzzing the scenario loader for ${TALENTSIM_FUZZ_SECONDS:-60} s"
scripts/fuzz.sh "${TALENTSIM_FUZZ_SECONDS:-60}"
