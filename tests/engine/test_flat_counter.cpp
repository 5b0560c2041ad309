// The flat poaching-pair counter agrees with std::map on random keys, through many resizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "sim/engine/flat_counter.hpp"

TEST_CASE("flat counter: counts equal std::map's for 200,000 increments over colliding keys (seed 11)") {
  ts::engine::FlatCounter c;
  std::map<uint64_t, int64_t> ref;
  std::mt19937_64 g(11);
  for (int k = 0; k < 200000; ++k) {
    // (from << 32) | to with few distinct firms, plus keys whose low bits collide
    const uint64_t key = k % 3 == 0 ? (uint64_t(g() % 50) << 32) | (g() % 50) : (g() % 20000) << 20;
    const int64_t n = int64_t(g() % 3) + 1;
    c.add(key, n);
    ref[key] += n;
  }
  CHECK(c.size() == ref.size());
  for (const auto& [k, n] : ref) CHECK(c.get(k) == n);
  CHECK(c.get(uint64_t(1) << 62) == 0);
  auto items = c.items();
  std::sort(items.begin(), items.end());
  REQUIRE(items.size() == ref.size());
  CHECK(std::equal(items.begin(), items.end(), ref.begin(), [](const auto& a, const auto& b) { return a.first == b.first && a.second == b.second; }));
  c.clear();
  CHECK(c.size() == 0);
  CHECK(c.get(items.front().first) == 0);
  c.add(0);  // key 0 is a valid key ((0 << 32) | 0)
  CHECK(c.get(0) == 1);
}
