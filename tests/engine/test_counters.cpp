// engine::Counters: the same integer totals as a serial count, call after call, whatever the
// sizes of earlier calls and the thread count.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <random>
#include <vector>

#include "sim/engine/parallel.hpp"

using namespace ts;

namespace {

/// Counts key[i] for i in [0, n) (the keys are < size).
template <class Count>
std::vector<int64_t> histogram(Count&& count, const std::vector<uint32_t>& key, std::size_t size) {
  return count(key.size(), size, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) a[key[i]] += 1;
  });
}

std::vector<int64_t> serial_histogram(const std::vector<uint32_t>& key, std::size_t size) {
  std::vector<int64_t> h(size, 0);
  for (const uint32_t k : key) ++h[k];
  return h;
}

}  // namespace

TEST_CASE("Counters: each call's totals are that call's counts alone, at 1, 2 and 4 threads") {
  std::mt19937 g(5);
  // Sizes grow and shrink between calls (arrays kept from a larger call must be cleared, not
  // re-used with their old counts); populations cover no chunk, one chunk, a partial chunk and
  // many chunks.
  const std::vector<std::pair<std::size_t, std::size_t>> calls = {
      {100000, 5000}, {10, 3}, {0, 7}, {engine::kChunk, 65537}, {3 * engine::kChunk + 17, 11}, {250000, 5000}, {1, 1}};
  for (const int threads : {1, 2, 4}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
    engine::Counters counters;
    for (const auto& [n, size] : calls) {
      std::uniform_int_distribution<uint32_t> pick(0, uint32_t(size - 1));
      std::vector<uint32_t> key(n);
      for (auto& k : key) k = pick(g);
      INFO("threads " << threads << ", n = " << n << ", size = " << size);
      const auto& got = histogram(
          [&](std::size_t nn, std::size_t sz, auto&& fn) { return counters.count(nn, sz, fn); }, key, size);
      CHECK(got == serial_histogram(key, size));
      // The free function gives the same totals.
      CHECK(histogram([](std::size_t nn, std::size_t sz, auto&& fn) { return engine::count_chunks(nn, sz, fn); }, key,
                      size) == got);
    }
  }
}
