// The state the phases share: the world, the parameters, this step's statistics, and the
// bookkeeping handed from phase to phase or kept from step to step.
//
// Simulation owns one State and runs the phases (phases/*.cpp) on it in the order of
// MODEL.md §4. The types here are data; the mechanisms that keep them are in their own files:
// ledger.* (the firms' books), tiers.* (the talent cuts), terms.* (pay, compute, visas,
// utility), transitions.hpp (moves, job losses, departures), init.* (the start).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "sim/config/params.hpp"
#include "sim/engine/flat_counter.hpp"
#include "sim/engine/parallel.hpp"
#include "sim/model/draws.hpp"
#include "sim/model/stats.hpp"
#include "sim/model/world.hpp"

namespace ts::model {

/// Firms per parallel range in the per-firm loops with transcendental functions (planning's
/// growth, production's output, the offices' compute terms): 13,901 firms make 14 ranges.
inline constexpr std::size_t kFirmGrain = 1024;

/// Offer waiting for a decision (one per researcher: the best by utility).
struct Offer {
  uint32_t slot;
  int32_t firm;
  uint8_t region;
  uint8_t targeted;  ///< 0 random search, 1 scouting, 2 raid
  float comp;
  float u_offer;     ///< utility of the offer at its comp (noise included)
  float u_stay;      ///< utility of staying (noise included)
};

/// A raid's offer, made at events to a researcher identified by slot and id: by the offers
/// phase the slot may hold an entrant (its holder left the field in demography).
struct RaidOffer {
  Offer offer;
  uint64_t uid;
};

/// A researcher who decided to move (after retention), waiting for clearing.
struct Mover {
  uint32_t slot;
  int32_t firm;
  uint8_t region;
  uint8_t targeted;
  float comp;
  float talent;  ///< realised talent θ(t) (clearing's order)
  uint64_t uid;
};

/// A move as executed: what the shared bookkeeping and the log need, captured before it.
struct MoveRecord {
  uint64_t uid;
  int32_t from, to;
  float before, after;
  float talent;  ///< realised talent θ(t) (the firms' Σθ)
  uint8_t from_region, to_region, kind, origin, tier;
};

/// A change of one entry of a per-firm table (Ledger::theta_sums, Firms::elite), collected
/// per chunk in parallel passes and applied in chunk order.
struct Delta {
  uint32_t k;
  int64_t d;
};

/// The firms' books beyond the Firms columns. Headcount, pending hires, wage bill and elite
/// count live in Firms and, like Σθ here, are kept up to date at every change (moves, job
/// losses, raises, tier changes: ledger.hpp) instead of being recounted every step.
struct Ledger {
  /// The books must be counted afresh from the researchers (count_firm_books(), at planning):
  /// on the first step, after a restore, after events, after a hand edit.
  bool recount = true;
  /// Σθ (fixed point, kSumScale) of each firm's staff by office region, and in a last column
  /// its top tiers' (regions + 1 columns per firm): production's inputs. Empty (not kept)
  /// while production is off.
  std::vector<int64_t> theta_sums;
  /// The step whose Σθ count_staff_theta() last counted afresh (a cache: when planning counted
  /// this step's, production uses it carried forward through the moves in between).
  int64_t theta_counted_step = std::numeric_limits<int64_t>::min();
  /// Firm-to-firm poaching counts over the run, key poaching_key(from, to).
  engine::FlatCounter poaching;
  /// (from << 32) | to: with both >= 0, sorting keys sorts by from, then to.
  static uint64_t poaching_key(int32_t from, int32_t to) { return (uint64_t(uint32_t(from)) << 32) | uint32_t(to); }
};

/// The talent cuts of the tiers and the caches that keep them cheap (tiers.cpp). The cuts are
/// state; everything else is a cache that a restored or hand-edited simulation starts without.
struct TierIndex {
  float elite_cut = 0.f, top_cut = 0.f;
  // Caches. The living's talent histogram by the high 16 bits of θ, kept current by
  // demography's exits and entrants (empty: count it); the living in the buckets of the last
  // cuts (near_cuts_valid: complete) and those buckets; the slots whose occupant died or
  // entered since the last refresh.
  std::vector<uint32_t> talent_hist;  ///< 32 bits: a bucket holds fewer than 2^32 slots
  std::vector<uint32_t> near_cuts;
  bool near_cuts_valid = false;
  int elite_bucket = -1, top_bucket = -1;
  std::vector<uint32_t> dirty;
  // The top tiers in scouting order (talent desc, then uid): [0, sorted_prefix) is sorted.
  std::vector<uint32_t> top_sorted;
  std::size_t top_sorted_prefix = 0;
  bool top_sorted_valid = false;
  /// Forgets every cache (after a hand edit of the world).
  void invalidate() {
    talent_hist.clear();
    near_cuts_valid = false;
    top_sorted_valid = false;
  }
};

/// An alias table (Vose's method): a draw in O(1) from a discrete distribution over entries.
struct AliasTable {
  std::vector<double> prob;
  std::vector<int32_t> alias;  ///< the other entry of each column
  std::vector<int32_t> entry;  ///< the entry a column stands for (column k: entry[k])
  double total = 0.0;          ///< sum of the weights (0: nothing to draw)
  /// The column a word picks.
  uint32_t column(uint32_t word) const { return uint32_t((uint64_t(word) * prob.size()) >> 32); }
  /// The entry of a column, by its coin.
  int32_t pick(uint32_t col, uint32_t coin_word) const {
    return unit(coin_word) < prob[col] ? entry[col] : entry[std::size_t(alias[col])];
  }
};

/// Where random search draws an offer from (MODEL.md §4.4): the firms' open offices, weighted by
/// the firm's vacancies × search intensity (unlimited firms: the intensity) split by the offices'
/// hiring shares; worldwide, and among the offices in each region (local search). Built by
/// planning.
struct OfficeSampler {
  AliasTable worldwide;
  std::vector<AliasTable> in_region;  ///< [region]
  std::vector<int32_t> office_firm;   ///< the firm of each office (Firms' office index)
};

struct State {
  Params params;
  World world;
  StepStats stats;
  int start_month = 0;  ///< year * 12 + month − 1 of run.start
  int first_step = 0;   ///< the first simulated step: −run.spin_up (spin-up steps are negative)

  Ledger books;
  TierIndex tiers;
  OfficeSampler sampler;
  std::vector<std::vector<VisaRule>> visa_rules;  ///< [destination][origin], from params
  std::map<std::string, std::vector<int>> firm_by_name;  ///< firm or group name -> firm indices
  std::vector<uint32_t> free_slots;     ///< slots of those who left, sorted: entrants fill the lowest first
  /// The scenario's planned headcount of each firm, kept for the spin-up (steps < 0), whose
  /// wage budgets keep it affordable at the firm's settling pay (FirmPlanning).
  std::vector<double> planned_headcount;
  std::vector<int64_t> plan_capacity;   ///< max(headcount + pending, target) at planning (invariants)
  std::vector<int64_t> prev_stock;      ///< stock by region after the previous step (invariants)

  // Handed from phase to phase within a step.
  std::vector<RaidOffer> raid_offers;  ///< events → offers
  std::vector<Offer> offers;       ///< offers → retention: each researcher's best offer
  std::vector<Mover> movers;       ///< retention → clearing: who accepted

  // Scratch kept between steps for its capacity (not state).
  engine::Counters counters;                   ///< the phases' per-thread integer counters
  engine::ChunkedBuffer<LogEntry> log_parts;   ///< per-chunk log entries; one phase at a time uses it

  int regions() const { return int(params.regions.size()); }
  Draws draws() const { return Draws{params.run.seed, uint32_t(world.step)}; }
  const VisaRule& visa_rule(int dest, int origin) const { return visa_rules[std::size_t(dest)][std::size_t(origin)]; }
  int firm_index(const std::string& name) const {  ///< -1 if unknown or a group
    auto it = firm_by_name.find(name);
    return it == firm_by_name.end() || it->second.size() != 1 ? -1 : it->second.front();
  }
  std::vector<int> firms_named(const std::string& name_or_group) const {
    auto it = firm_by_name.find(name_or_group);
    return it == firm_by_name.end() ? std::vector<int>{} : it->second;
  }
  /// This step is recorded: a step of the run (>= 0), not a month of the spin-up before it.
  bool recorded() const { return world.step >= 0; }
  /// output.event_log admits an entry of a researcher of this tier (never in the spin-up,
  /// whose months are not recorded).
  bool log_enabled_for(uint8_t tier) const {
    if (!recorded()) return false;
    switch (params.output.event_log) {
      case EventLogLevel::None: return false;
      case EventLogLevel::Top: return tier != Regular;
      case EventLogLevel::All: return true;
    }
    return false;
  }
};

}  // namespace ts::model
