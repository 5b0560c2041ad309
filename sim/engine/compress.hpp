// Listing the positions of a chunk's selected agents (stream compaction) without a branch or a
// store per agent.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sim/engine/modes.hpp"
#include "sim/engine/parallel.hpp"

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
    // would be a libgcc call without -mpopcnt.
    c += std::size_t((w * 0x0101010101010101ull) >> 56);
  }
  for (; k < n; ++k) {
    out[c] = base + uint32_t(k);
    c += keep[k];
  }
  return c;
}

/// Room for a chunk's list of selected slots: compress_indices writes whole groups of 8.
using SlotList = std::array<uint32_t, kChunk + 8>;

/// Writes to `out` the slots i in [b, e) (at most one chunk) with keep(i), in increasing order;
/// returns how many. keep(i) returns 0 or 1 and should be column arithmetic without branches
/// (read columns through pointers captured by value): the conditions are then computed for a
/// chunk at a time into a byte per slot, which vectorises, and compress_indices lists the
/// selected. A loop that branches on the condition is mispredicted whenever the selected
/// follow no pattern over the slots, and one that stores every slot and advances by the
/// condition does not vectorise. With plain_loops(): the plain
/// branching loop.
template <class Keep>
[[gnu::always_inline]] inline std::size_t select_slots(std::size_t b, std::size_t e, Keep&& keep, uint32_t* out) {
  if (plain_loops()) {
    std::size_t c = 0;
    for (std::size_t i = b; i < e; ++i)
      if (keep(i)) out[c++] = uint32_t(i);
    return c;
  }
  std::array<uint8_t, kChunk> bytes;
  for (std::size_t i = b; i < e; ++i) bytes[i - b] = uint8_t(keep(i));
  return compress_indices(bytes.data(), e - b, uint32_t(b), out);
}

/// Appends to `out` the slots i in [b, e) with keep(i), in increasing order, for selections so
/// rare that a few blocks of a chunk hold one (retirements: a few a chunk a month): each block of
/// 64 is tested without branches (vectorised) and only a block with a selected slot is scanned
/// slot by slot. With plain_loops(): the plain branching loop.
template <class Keep>
[[gnu::always_inline]] inline void select_rare_slots(std::size_t b, std::size_t e, Keep&& keep, std::vector<uint32_t>& out) {
  if (plain_loops()) {
    for (std::size_t i = b; i < e; ++i)
      if (keep(i)) out.push_back(uint32_t(i));
    return;
  }
  constexpr std::size_t kBlock = 64;
  for (std::size_t s = b; s < e; s += kBlock) {
    const std::size_t n = std::min(kBlock, e - s);
    uint8_t any = 0;
    for (std::size_t k = 0; k < n; ++k) any |= uint8_t(keep(s + k));
    if (any)
      for (std::size_t k = 0; k < n; ++k)
        if (keep(s + k)) out.push_back(uint32_t(s + k));
  }
}

}  // namespace ts::engine
