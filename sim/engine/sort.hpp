// Integer sort keys and a radix sort for them (init's sorting of talent into firms).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ts::engine {

/// A sort key for "x descending, then slot ascending" as one unsigned integer: x's bits mapped
/// to an unsigned integer in reverse order of x, above the slot. Sorting the keys ascending
/// orders as the comparator `a.x != b.x ? a.x > b.x : a.slot < b.slot` does: −0 counts as +0
/// (they compare equal). x must not be NaN.
inline uint64_t descending_key(float x, uint32_t slot) {
  const uint32_t u = std::bit_cast<uint32_t>(x + 0.0f);  // −0 + 0 = +0
  const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (uint64_t(~ascending) << 32) | slot;
}

/// Sorts unsigned 64-bit integers ascending: least-significant digit first, 11-bit digits (a
/// counting pass and a stable scatter each), skipping digits all of them share (e.g. the high
/// bits of slots).
inline void radix_sort(std::vector<uint64_t>& v) {
  if (v.size() < 2) return;
  constexpr int kBits = 11;
  constexpr std::size_t kBuckets = std::size_t(1) << kBits;
  std::vector<uint64_t> tmp(v.size());
  std::vector<std::size_t> at(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    std::fill(at.begin(), at.end(), 0);
    for (const uint64_t x : v) ++at[(x >> shift) & (kBuckets - 1)];
    if (at[(v[0] >> shift) & (kBuckets - 1)] == v.size()) continue;
    std::size_t sum = 0;
    for (auto& c : at) sum += std::exchange(c, sum);
    for (const uint64_t x : v) tmp[at[(x >> shift) & (kBuckets - 1)]++] = x;
    v.swap(tmp);
  }
}

}  // namespace ts::engine
