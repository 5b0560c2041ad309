// Integer sort keys and the radix sort (init's sorting of talent into firms) order exactly as
// the comparator they replace.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "sim/engine/sort.hpp"

using namespace ts;

namespace {

using Pair = std::pair<float, uint32_t>;
bool before(const Pair& a, const Pair& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; }

/// Sorts `pairs` with the comparator and through descending_key + radix_sort; both orders of
/// slots must be equal.
void check_same_order(std::vector<Pair> pairs) {
  std::vector<uint64_t> keys;
  for (const auto& p : pairs) keys.push_back(engine::descending_key(p.first, p.second));
  std::sort(pairs.begin(), pairs.end(), before);
  engine::radix_sort(keys);
  REQUIRE(keys.size() == pairs.size());
  for (std::size_t k = 0; k < keys.size(); ++k) {
    INFO("position " << k);
    CHECK(uint32_t(keys[k]) == pairs[k].second);
  }
}

}  // namespace

TEST_CASE("descending_key + radix_sort order by value descending, then slot, as the comparator") {
  SUBCASE("edge values: signed zeros tie, negatives, subnormals, infinities, extremes") {
    const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, std::numeric_limits<float>::denorm_min(),
                       -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                       std::numeric_limits<float>::lowest(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), 1e-30f, -1e-30f, 3.5f, 3.5f};
    std::vector<Pair> pairs;
    uint32_t slot = 1000;
    for (float x : v) pairs.push_back({x, slot--});  // slots descending, so ties must be reordered
    check_same_order(pairs);
  }
  SUBCASE("many random values with repeats, slots up to 2^32 - 1") {
    std::mt19937_64 g(20261130);
    std::normal_distribution<float> z(0.0f, 3.0f);
    std::vector<Pair> pairs;
    for (uint32_t k = 0; k < 200000; ++k) {
      const float x = k % 7 == 0 ? float(int(z(g))) : z(g);  // every 7th an integer: many ties
      pairs.push_back({x, k % 11 == 0 ? 0xffffffffu - k : uint32_t(g())});
    }
    check_same_order(pairs);
  }
  SUBCASE("all equal values: slot order") { check_same_order({{2.0f, 9}, {2.0f, 3}, {2.0f, 7}, {-0.0f, 1}, {0.0f, 0}}); }
}

TEST_CASE("radix_sort sorts any 64-bit integers, including ones that share digits") {
  std::mt19937_64 g(7);
  std::vector<uint64_t> v;
  for (int k = 0; k < 50000; ++k) v.push_back(k % 3 == 0 ? (g() & 0xff00000000ffull) : g());
  v.push_back(0);
  v.push_back(~uint64_t(0));
  auto expected = v;
  std::sort(expected.begin(), expected.end());
  engine::radix_sort(v);
  CHECK(v == expected);
  std::vector<uint64_t> one{5}, none;
  engine::radix_sort(one);
  engine::radix_sort(none);
  CHECK(one == std::vector<uint64_t>{5});
  CHECK(none.empty());
}
