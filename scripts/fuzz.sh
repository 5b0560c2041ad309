#!/usr/bin/env bash
# Fuzzes the scenario loader (tests/fuzz/fuzz_scenario.cpp) with libFuzzer + ASan + UBSan.
#
#   scripts/fuzz.sh [SECONDS]      run for SECONDS (default 60)
#
# Builds build-fuzz/tests/fuzz/fuzz_scenario with clang-14 through CMake
# (-DTALENTSIM_BUILD_FUZZERS=ON). New inputs go to build-fuzz/fuzz-corpus/ (tests/fuzz/corpus/ holds the
# seeds and is only read). Exits non-zero when the fuzzer finds a crash, a leak, an
# uncaught exception, a timeout (> 10 s for one input) or an out-of-memory (> 4 GB); the
# input is then in build-fuzz/fuzz-artifacts/ and is replayed with
#   build-fuzz/tests/fuzz/fuzz_scenario build-fuzz/fuzz-artifacts/crash-...
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_CC (clang-14), FUZZ_CXX (clang++-14),
# FUZZ_JOBS (1 fuzzing process), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-60}
case "$DURATION" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
CC=${FUZZ_CC:-clang-14}
CXX=${FUZZ_CXX:-clang++-14}
JOBS=${FUZZ_JOBS:-1}
command -v "$CXX" >/dev/null || { echo "fuzz.sh: $CXX not found (apt-get install clang-14)" >&2; exit 2; }
mkdir -p "$BUILD"
CC=$CC CXX=$CXX cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTALENTSIM_BUILD_FUZZERS=ON -DTALENTSIM_BUILD_TESTS=OFF -DTALENTSIM_BUILD_BENCHMARKS=OFF -DTALENTSIM_MPI=OFF >/dev/null
cmake --build "$BUILD" --target fuzz_scenario
FUZZER="$BUILD/tests/fuzz/fuzz_scenario"

CORPUS="$BUILD/fuzz-corpus"
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
echo "fuzz.sh: fuzzing for ${DURATION}s (seeds: tests/fuzz/corpus, corpus: $CORPUS)"
PARALLEL=()
[ "$JOBS" -gt 1 ] && PARALLEL=(-jobs="$JOBS" -workers="$JOBS")  # logs go to ./fuzz-N.log then
touch "$BUILD/.fuzz-start"
status=0
# shellcheck disable=SC2086
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
"$FUZZER" "$CORPUS" tests/fuzz/corpus \
  -dict=tests/fuzz/scenario.dict -max_total_time="$DURATION" -timeout=10 -rss_limit_mb=4096 \
  -malloc_limit_mb=4096 -max_len=16384 -print_final_stats=1 "${PARALLEL[@]}" \
  -artifact_prefix="$ARTIFACTS/" ${FUZZ_ARGS:-} || status=$?
found=$(find "$ARTIFACTS" -type f -newer "$BUILD/.fuzz-start" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
  echo "fuzz.sh: the fuzzer found a problem (exit $status). Inputs:" >&2
  for f in $found; do echo "  $f" >&2; done
  exit 1
fi
echo "fuzz.sh: no crash, leak, timeout or OOM in ${DURATION}s"
