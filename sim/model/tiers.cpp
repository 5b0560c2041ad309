#include "sim/model/tiers.hpp"

#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include "sim/model/ledger.hpp"

namespace ts::model {

namespace {

/// Tiers of slots [b, e) from the talent cuts: Elite if θ ≥ elite_cut, else Top if θ ≥ top_cut,
/// else Regular; the dead are Regular. Written without branches (Regular = 0, Top = 1, Elite = 2),
/// in blocks of 64 with the old tiers kept aside: `moved(i, old_tier)` is called for each slot
/// whose tier changed (a few hundred a step: the cuts move little), found by rescanning only
/// the blocks where one did. (A free function with __restrict parameters: GCC ignores
/// __restrict on block-scope pointers and would not vectorise.)
template <class Moved>
void assign_tiers(std::size_t b, std::size_t e, float elite_cut, float top_cut, const float* __restrict talent,
                  const uint8_t* __restrict alive, uint8_t* __restrict tier, Moved&& moved) {
  static_assert(Regular == 0 && Top == 1 && Elite == 2);
  constexpr std::size_t kBlock = 64;
  for (std::size_t s = b; s < e; s += kBlock) {
    const std::size_t n = std::min(kBlock, e - s);
    uint8_t old[kBlock];
    std::memcpy(old, tier + s, n);
    uint8_t changed = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const uint8_t now = tier_of(talent[s + k], alive[s + k], elite_cut, top_cut);
      tier[s + k] = now;
      changed |= uint8_t(now ^ old[k]);
    }
    if (changed)
      for (std::size_t k = 0; k < n; ++k)
        if (tier[s + k] != old[k]) moved(s + k, old[k]);
  }
}

/// The living's talent histogram by bucket (the dead count into a spare bucket, 65536, rather
/// than behind a branch). Per block of 512: the buckets as column arithmetic (vectorised), then
/// the increments. Counted with per-thread arrays of its own (engine::count_chunks), freed
/// after: the simulation's kept counters would otherwise keep 0.5 MiB a thread for a count
/// made once.
std::vector<uint32_t> count_talent_histogram(const Researchers& r) {
  const auto hi = engine::count_chunks(r.size(), 65537, [&](int64_t* __restrict a, std::size_t b, std::size_t e) {
    const float* __restrict talent = r.skill.data();  // realised talent
    const uint8_t* __restrict alive = r.alive.data();
    constexpr std::size_t kBlock = 512;
    alignas(64) uint32_t bkt[kBlock];
    for (std::size_t i0 = b; i0 < e; i0 += kBlock) {
      const std::size_t m = std::min(kBlock, e - i0);
      for (std::size_t k = 0; k < m; ++k) bkt[k] = alive[i0 + k] != 0 ? talent_bucket(talent[i0 + k]) : 65536u;
      for (std::size_t k = 0; k < m; ++k) ++a[bkt[k]];
    }
  });
  return std::vector<uint32_t>(hi.begin(), hi.begin() + 65536);
}

}  // namespace

void refresh_tiers(State& s) {
  auto& r = s.world.r;
  auto& T = s.tiers;
  const std::size_t N = r.size();
  // Exact rank thresholds by radix select on the float bits (θ > 0, so bit patterns are ordered):
  // a histogram of the living's high 16 bits locates the buckets that hold the cuts; the low 16
  // bits of those buckets' members then give the cuts (nth_element). Talent never changes, so
  // the histogram is kept up to date by demography's exits and entrants instead of being
  // recounted over all N every step; the members of the last cuts' buckets are kept too. The
  // cuts move little from one step to the next: when they stay in the same buckets (almost
  // always), only those members, the dead and the entrants can change tier, and only they are
  // re-tiered; otherwise the members are listed and everyone re-tiered in a pass over all.
  // Realised talent that grows with experience changes every month: recount everything.
  if (s.params.population.experience.enabled) T.invalidate();
  if (T.talent_hist.empty()) {
    T.talent_hist = count_talent_histogram(r);
    T.near_cuts_valid = false;
  }
  const auto& hi = T.talent_hist;
  const int64_t nalive = std::accumulate(hi.begin(), hi.end(), int64_t{0});  // (uint32 counts summed in int64)
  const auto& M = s.params.market;
  const int64_t k_elite = std::llround(M.elite_share * double(nalive)), k_top = std::llround(M.top_share * double(nalive));
  auto bucket_of = [&](int64_t k, int64_t& above) {
    above = 0;
    if (k <= 0) return -1;
    for (int bkt = 65535; bkt >= 0; --bkt) {
      if (above + hi[std::size_t(bkt)] >= k) return bkt;
      above += hi[std::size_t(bkt)];
    }
    return -1;
  };
  int64_t above_e = 0, above_t = 0;
  const int be = bucket_of(k_elite, above_e), bt = bucket_of(k_top, above_t);
  const bool same_buckets = T.near_cuts_valid && be == T.elite_bucket && bt == T.top_bucket;
  if (!same_buckets) {  // list the living in the cuts' buckets, in slot order
    T.near_cuts = engine::indices_where(N, [&](std::size_t i) {
      const int bkt = int(talent_bucket(r.skill[i]));
      return r.alive[i] && (bkt == be || bkt == bt);
    });
    T.near_cuts_valid = true;
  }
  T.elite_bucket = be;
  T.top_bucket = bt;
  // The bucket's members' low halves, selected (nth_element) rather than histogrammed (2 × 65536
  // counters to clear and scan every step were most of a step's fixed cost at small populations).
  std::vector<uint16_t> lo_e, lo_t;
  for (const uint32_t i : T.near_cuts) {
    const uint32_t x = std::bit_cast<uint32_t>(r.skill[i]);
    const int bkt = int(x >> 16);
    if (bkt == be) lo_e.push_back(uint16_t(x & 0xFFFFu));
    if (bkt == bt) lo_t.push_back(uint16_t(x & 0xFFFFu));
  }
  auto cut = [&](int bkt, int64_t above, int64_t k, std::vector<uint16_t>& low) {
    if (bkt < 0 || k - above < 1 || k - above > int64_t(low.size())) return std::numeric_limits<float>::infinity();
    const auto nth = low.begin() + (k - above - 1);
    std::nth_element(low.begin(), nth, low.end(), std::greater<>());
    return std::bit_cast<float>((uint32_t(bkt) << 16) | uint32_t(*nth));
  };
  T.elite_cut = cut(be, above_e, k_elite, lo_e);
  T.top_cut = cut(bt, above_t, k_top, lo_t);
  const float ec = T.elite_cut, tc = T.top_cut;
  // Staff whose tier changes change their firm's elite count and, joining or leaving the top
  // tiers, its top-tier Σθ (theta_sums, if kept).
  const bool track = !s.books.recount && !s.books.theta_sums.empty();
  const std::size_t W = std::size_t(s.regions()) + 1;
  engine::ChunkedBuffer<Delta> thetas, elites;
  thetas.reset(N);
  elites.reset(N);
  auto moved_into = [&](std::size_t c) {
    return [&, c](std::size_t i, uint8_t old) {
      const int32_t f = r.employer[i];
      if (f == kNoFirm) return;
      const uint8_t now = r.tier[i];
      if ((now == Elite) != (old == Elite)) elites.part(c).push_back({uint32_t(f), now == Elite ? 1 : -1});
      if (track && (now != Regular) != (old != Regular)) {
        const int64_t th = fixed(double(r.skill[i]), kSumScale);
        thetas.part(c).push_back({uint32_t(std::size_t(f) * W + W - 1), old == Regular ? th : -th});
      }
    };
  };
  if (same_buckets) {
    // Everyone else's θ lies above or below both the old and the new cut of each bucket: their
    // tier stands. (A slot on both lists is re-tiered twice; the second time changes nothing.)
    auto moved = moved_into(0);
    auto retier = [&](uint32_t i) {
      const uint8_t old = r.tier[i], now = tier_of(r.skill[i], r.alive[i], ec, tc);
      if (now == old) return;
      r.tier[i] = now;
      moved(i, old);
    };
    for (const uint32_t i : T.near_cuts) retier(i);
    for (const uint32_t i : T.dirty) retier(i);
  } else {
    engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      assign_tiers(b, e, ec, tc, r.skill.data(), r.alive.data(), r.tier.data(), moved_into(c));
    });
  }
  T.dirty.clear();
  add_deltas(s.books.theta_sums, thetas);
  add_deltas(s.world.f.elite, elites);
  T.top_sorted_valid = false;
}

void tiers_on_exits(State& s, const std::vector<uint32_t>& freed) {
  auto& T = s.tiers;
  const auto& r = s.world.r;
  if (!T.talent_hist.empty())
    for (const uint32_t i : freed) --T.talent_hist[talent_bucket(r.skill[i])];
  if (T.near_cuts_valid && !freed.empty()) std::erase_if(T.near_cuts, [&](uint32_t i) { return r.alive[i] == 0; });
  T.dirty.insert(T.dirty.end(), freed.begin(), freed.end());
}

void tiers_on_entrants(State& s, const std::vector<uint32_t>& slots) {
  auto& T = s.tiers;
  const auto& r = s.world.r;
  for (const uint32_t i : slots) {
    const uint32_t bkt = talent_bucket(r.skill[i]);
    if (!T.talent_hist.empty()) ++T.talent_hist[bkt];
    if (T.near_cuts_valid && (int64_t(bkt) == T.elite_bucket || int64_t(bkt) == T.top_bucket)) T.near_cuts.push_back(i);
    T.dirty.push_back(i);
  }
}

namespace {
auto scout_order(const Researchers& r) {
  return [&r](uint32_t a, uint32_t b) { return r.skill[a] != r.skill[b] ? r.skill[a] > r.skill[b] : r.uid[a] < r.uid[b]; };
}
}  // namespace

const std::vector<uint32_t>& top_in_scouting_order(State& s) {
  auto& T = s.tiers;
  const auto& r = s.world.r;
  if (!T.top_sorted_valid) {
    T.top_sorted = engine::indices_where(r.size(), [&](std::size_t i) { return r.alive[i] && r.tier[i] != Regular; });
    T.top_sorted_prefix = std::min<std::size_t>(T.top_sorted.size(), 4096);
    std::partial_sort(T.top_sorted.begin(), T.top_sorted.begin() + std::ptrdiff_t(T.top_sorted_prefix), T.top_sorted.end(),
                      scout_order(r));
    T.top_sorted_valid = true;
  }
  return T.top_sorted;
}

void sort_scouting_order_from(State& s, std::size_t k) {
  auto& T = s.tiers;
  if (k < T.top_sorted_prefix) return;
  tbb::parallel_sort(T.top_sorted.begin() + std::ptrdiff_t(k), T.top_sorted.end(), scout_order(s.world.r));
  T.top_sorted_prefix = T.top_sorted.size();
}

}  // namespace ts::model
