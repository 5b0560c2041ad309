// Listing the positions of a chunk's selected agents (stream compaction) without a branch or a
// store per agent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ts::engine {

namespace detail {
/// For every 8-bit mask, the positions of its set bits in increasing order (the rest 0).
inline constexpr auto kSetBits = [] {
  std::array<std::array<uint8_t, 8>, 256> t{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned c = 0;
    for (unsigned j = 0; j < 8; ++j)
      if (m & (1u << j)) t[m][c++] = uint8_t(j);
  }
  return t;
}();
}  // namespace detail

/// Writes to `out` base + k for every k < n with keep[k] != 0, in increasing order; returns how
/// many. keep[k] must be 0 or 1. `out` must have room for n + 8 entries (whole groups of eight
/// are written; the entries past the returned count are scratch). A selection loop that stores
/// an index per agent and advances by the condition (`out[c] = i; c += keep`) runs a store and
/// a dependent add per agent and does not vectorise; here the conditions are a byte array the
/// caller can fill with vectorised column arithmetic, and each group of eight costs one
/// multiply (the bytes' packed mask), one table row and eight stores.
inline std::size_t compress_indices(const uint8_t* keep, std::size_t n, uint32_t base, uint32_t* out) {
  std::size_t c = 0, k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t w;
    std::memcpy(&w, keep + k, 8);
    const unsigned m = unsigned((w * 0x0102040810204080ull) >> 56);  // bit j = byte j (0 or 1)
    const auto& at = detail::kSetBits[m];
    for (unsigned j = 0; j < 8; ++j) out[c + j] = base + uint32_t(k) + at[j];
    // How many are kept: the bytes' sum (each 0 or 1) gathered in the top byte; std::popcount
    // would be a libgcc call without -mpopcnt (perf: __popcountdi2 at 0.7% of the BM run).
    c += std::size_t((w * 0x0101010101010101ull) >> 56);
  }
  for (; k < n; ++k) {
    out[c] = base + uint32_t(k);
    c += keep[k];
  }
  return c;
}

}  // namespace ts::engine
