// Tiers by rank of talent (MODEL.md §2): elite (top elite_share of the living), top (top
// top_share), regular. The cuts are exact rank thresholds, refreshed each step that the
// population changes, and the firms' elite counts and top-tier Σθ follow every tier change.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "sim/model/state.hpp"

namespace ts::model {

/// The tier of talent t with these cuts (Regular = 0, Top = 1, Elite = 2; the dead are Regular),
/// without branches.
[[gnu::always_inline]] inline uint8_t tier_of(float t, uint8_t alive, float elite_cut, float top_cut) {
  const uint8_t elite = uint8_t(t >= elite_cut), top = uint8_t(t >= top_cut);
  return uint8_t(uint8_t(alive != 0) * uint8_t(2 * elite + (top & (elite ^ 1))));
}

/// The bucket of a (positive) talent in the tier index's histogram: the high 16 bits of its float.
inline uint32_t talent_bucket(float t) { return std::bit_cast<uint32_t>(t) >> 16; }

/// Sets the cuts from the living's talent and every researcher's tier from the cuts; changes
/// of tier change their firm's elite count and top-tier Σθ.
void refresh_tiers(State& s);

/// The index's caches follow demography: the slots of those who left (slot order) and of the
/// entrants, whose tiers refresh_tiers() must set.
void tiers_on_exits(State& s, const std::vector<uint32_t>& freed);
void tiers_on_entrants(State& s, const std::vector<uint32_t>& slots);

/// The top tiers in scouting order (talent descending, then uid), sorted up to position k at
/// least: scouts look at the first few thousand, so the rest is sorted the first time one
/// looks further.
const std::vector<uint32_t>& top_in_scouting_order(State& s);
void sort_scouting_order_from(State& s, std::size_t k);

}  // namespace ts::model
