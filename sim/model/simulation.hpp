// One simulation run: the world, the phases of MODEL.md §4, and per-step statistics.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/engine/flat_counter.hpp"
#include "sim/engine/parallel.hpp"
#include "sim/engine/rng.hpp"
#include "sim/config/params.hpp"
#include "sim/model/world.hpp"

namespace ts::io {
struct CheckpointIO;
}

namespace ts::model {

/// Kinds of entries in the event log.
enum class LogKind : uint8_t {
  Hire = 0,            ///< job from unemployment
  Move = 1,            ///< job-to-job move (poaching)
  CounterRaise = 2,    ///< counteroffer raise (retention)
  VisaApproved = 3,
  VisaDenied = 4,
  VisaLotteryLost = 5,
  VisaExpired = 6,
  VisaRenewed = 7,
  PermanentResidency = 8,
  ForcedDeparture = 9,
  Separation = 10,     ///< job lost (δ, office closure, visa loss)
  Relocation = 11,     ///< moved with the employer (relocation order)
  Exit = 12,           ///< left the field
  Entry = 13,          ///< entered the field
  VisaPetition = 14,   ///< a move waits for a visa decision
  AnnualRaise = 15,    ///< yearly raise at the employment anniversary (pay phase)
};
inline constexpr const char* kLogKindNames[] = {
    "hire", "move", "counter_raise", "visa_approved", "visa_denied", "visa_lottery_lost", "visa_expired",
    "visa_renewed", "permanent_residency", "forced_departure", "separation", "relocation", "exit", "entry",
    "visa_petition", "annual_raise"};

struct LogEntry {
  int32_t step;
  uint64_t uid;
  uint8_t kind;
  int32_t from_firm, to_firm;
  uint8_t from_region, to_region;
  float pay_before, pay_after;
  uint8_t origin, tier;  ///< of the researcher, at the time of the event
};

/// Visa statistics columns (per origin).
enum VisaStat : int {
  kVisaApplications, kVisaApprovals, kVisaDenials, kVisaLotteryLosses, kVisaExpiries, kVisaRenewals,
  kVisaPermanent, kVisaForcedDepartures, kVisaStats
};
inline constexpr const char* kVisaStatNames[] = {"applications", "approvals", "denials", "lottery_losses",
                                                 "expiries", "renewals", "permanent_residency",
                                                 "forced_departures"};
/// Market statistics columns.
enum MarketStat : int {
  kEntrants, kExits, kSeparations, kHires, kJobToJob, kCounterRaises, kRaidHires, kRelocations,
  kOffers, kTargetedOffers, kRejectedByCapacity, kEmployed, kUnemployed, kMarketStats
};
inline constexpr const char* kMarketStatNames[] = {
    "entrants", "exits", "separations", "hires_from_unemployment", "job_to_job_moves", "counteroffer_raises",
    "raid_hires", "relocations", "offers", "targeted_offers", "rejected_by_capacity", "employed", "unemployed"};

inline constexpr int kPercentiles = 5;
inline constexpr double kPercentileLevels[kPercentiles] = {0.10, 0.25, 0.50, 0.75, 0.90};

/// Everything recorded for one step (MODEL.md §5); filled by the phases.
struct StepStats {
  int R = 0, F = 0;
  std::vector<int64_t> stocks;       ///< [region][origin][tier]
  std::vector<int64_t> flows;        ///< [from region][to region] moves this step
  std::vector<double> pay_pct;       ///< [tier][region][percentile] among the employed, USD
  std::vector<int64_t> visa;         ///< [origin][VisaStat]
  std::vector<int64_t> market;       ///< [MarketStat]
  std::vector<double> output_region, output_origin, hc_region, hc_origin;  ///< papers this step
  std::vector<int64_t> entrants_region, exits_region;  ///< by location, for conservation checks
  std::vector<LogEntry> log;         ///< this step's log entries, in deterministic order
  void reset(int regions, int firms);
};

/// A move as executed: what the shared bookkeeping and the log need, captured before it.
struct MoveRecord {
  uint64_t uid;
  int32_t from, to;
  float before, after;
  float talent;
  uint8_t from_region, to_region, kind, origin, tier;
};

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

/// A researcher who decided to move (after retention), waiting for clearing.
struct Mover {
  uint32_t slot;
  int32_t firm;
  uint8_t region;
  uint8_t targeted;
  float comp;
  float talent;
  uint64_t uid;
};

class Observer;

class Simulation {
 public:
  explicit Simulation(Params params);

  /// Runs phases 1–10 for the current step and advances the clock.
  void step();
  int t() const { return world_.step; }
  int calendar_month(int step) const { return start_month_ + step; }

  // The phases, in order (MODEL.md §4). Public so tests can drive them one by one.
  void events();
  void demography();
  void firm_planning();
  void offers();
  void retention();
  void clearing();
  void visa();
  void production();
  void pay();
  void record();
  /// What step() does after the last phase: the invariant check (if on), remembering the
  /// stocks, advancing the step counter. For callers that run the phases one by one.
  void finish_step();

  /// Seconds spent in each phase since construction (events … record), for benchmarks.
  static constexpr int kPhases = 10;
  static constexpr const char* kPhaseNames[kPhases] = {"events",     "demography", "firm_planning", "offers",
                                                       "retention",  "clearing",   "visa",          "production",
                                                       "pay",        "record"};
  const std::array<double, kPhases>& phase_seconds() const { return phase_seconds_; }

  const World& world() const { return world_; }
  /// The state, to change by hand (tests, tools): the firms' books (headcount, pending hires,
  /// wage bill, elite count, Σθ) are then counted afresh from the researchers by the next phase
  /// that needs them instead of being carried forward (see recount_firms_), and the talent
  /// histogram behind the tiers is recounted.
  World& edit_world() {
    recount_firms_ = true;
    talent_hist_.clear();
    near_cuts_valid_ = false;
    return world_;
  }
  Params& params() { return params_; }
  const Params& params() const { return params_; }
  const StepStats& stats() const { return stats_; }
  StepStats& stats() { return stats_; }
  const std::vector<Offer>& pending_offers() const { return offers_; }
  std::vector<Offer>& pending_offers() { return offers_; }
  const std::vector<Mover>& movers() const { return movers_; }
  /// Cumulative firm-to-firm poaching counts over the run, as columns sorted by (from, to).
  struct PoachingTable {
    std::vector<int32_t> from, to;
    std::vector<int64_t> count;
  };
  /// Built on demand by sorting the keys (O(P log P) for P pairs; a std::map of 2.3e5 pairs
  /// took 0.2 s to build at the end of a 1e6-researcher run).
  PoachingTable poaching_table() const;
  /// The same counts as a map (from, to) -> moves, for lookups in tests and tools.
  std::map<std::pair<int32_t, int32_t>, int64_t> poaching() const;
  void set_observer(Observer* o) { observer_ = o; }
  int regions() const { return int(params_.regions.size()); }
  int firm_index(const std::string& name) const;  ///< -1 if unknown
  std::vector<int> firms_named(const std::string& name_or_group) const;

  // Helpers used by phases and tests
  double standard_pay(int firm, int region, float talent) const;  ///< before premium and cap
  double offer_comp(int firm, int region, float talent, bool employed) const;
  double max_comp(int firm, int region, float talent) const;      ///< the most a counteroffer pays
  double compute_per_researcher(int firm, int region) const;
  const VisaRule& visa_rule(int dest, int origin) const;
  /// 0: no visa needed; 1: transfer (sponsor needed, no cap or wait); 2: new petition.
  int visa_need(std::size_t slot, int dest) const;
  double visa_risk(std::size_t slot, int dest) const;
  double utility(std::size_t slot, int firm, int region, double comp, bool move, uint32_t purpose_index) const;
  uint64_t seed() const { return params_.run.seed; }
  rng::Stream stream(uint64_t id, rng::Purpose purpose) const;

  /// Moves a researcher now (no visa step): updates employer, region, status, counts, log.
  void execute_move(std::size_t slot, int32_t firm, int region, float comp, LogKind kind);
  MoveRecord move_researcher(std::size_t slot, int32_t firm, int region, float comp, LogKind kind);
  MoveRecord record_move(std::size_t slot, int32_t firm, int region, float comp, LogKind kind) const;
  void book_move(const MoveRecord& m);
  LogEntry log_entry_of(const MoveRecord& m) const;  ///< the log entry of an executed move
  /// A visa petition pending for researcher `slot` (its own columns only, so safe in parallel):
  /// decided when `months` (capped at 127) have counted down; kind 0 = a hire, 1 = change of
  /// status with the current employer, 2 = a relocation with the current employer.
  void set_petition(std::size_t slot, int32_t firm, int region, float comp, int months, uint8_t kind);
  void lose_job(std::size_t slot, LogKind why);
  void force_departure(std::size_t slot);
  template <class Sink>
  void force_departure_into(std::size_t slot, Sink& to);  ///< force_departure, shared effects to a sink
  void refresh_tiers();
  void build_firm_sampler();
  /// Checks the model's invariants after a step; returns one line per violation (empty = fine).
  std::vector<std::string> check_invariants() const;
  /// Check invariants after every step and throw on a violation (always on in debug builds).
  void set_checking(bool on) { checking_ = on; }

 private:
  friend struct ::ts::io::CheckpointIO;
  struct RestoreTag {};
  Simulation(Params params, RestoreTag);  ///< empty world, filled from a checkpoint
  void rebuild_visa_rules();
  void init_world();
  void init_firms();
  void init_researchers();
  void apply_event(const Event& e);
  void apply_firm_policy(int f, const FirmSpec& s, bool reset_levels);
  void scouting(std::vector<Offer>& targeted);
  void raid(const Event& e, std::vector<Offer>& targeted);
  void consider(const Offer& o, std::vector<Offer>& out) const;
  void log(std::size_t slot, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region, int to_region,
           float pay_before, float pay_after);
  /// The log entry of researcher `slot` (its id, origin and tier now) for an event of this step.
  LogEntry log_entry(std::size_t slot, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region, int to_region,
                     float pay_before, float pay_after) const;
  bool log_enabled(std::size_t slot) const;
  bool log_enabled_for(uint8_t tier) const;  ///< output.event_log admits an entry of a researcher of this tier
  void count_flow(int from, int to);
  template <class Sink>
  void log_into(Sink& to, std::size_t slot, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region,
                int to_region, float pay_before, float pay_after) const;  ///< log(), entry to a sink
  template <class Sink>
  void log_move_into(const MoveRecord& m, Sink& to) const;  ///< an executed move's log entry, to a sink
  template <class Sink>
  void book_into(const MoveRecord& m, Sink& to) const;  ///< book_move's effects, handed to a sink
  template <class Sink>
  void lose_job_into(std::size_t slot, LogKind why, Sink& to);  ///< lose_job, shared effects to a sink
  /// Runs body(sink, begin, end) over the chunks of [0, n) in parallel, each with its own sink of
  /// moves' shared effects, then applies them all in chunk order.
  template <class Body>
  void book_in_chunks(std::size_t n, Body&& body);
  struct Immediate;  ///< the sink that applies shared effects at once (serial callers)
  void remember_stocks();

  Params params_;
  World world_;
  StepStats stats_;
  int start_month_ = 0;
  Observer* observer_ = nullptr;
  std::array<double, kPhases> phase_seconds_{};
#ifdef NDEBUG
  bool checking_ = false;
#else
  bool checking_ = true;
#endif
  std::vector<int64_t> prev_stock_;   ///< stock by region after the previous step (invariants)
  std::vector<int64_t> plan_capacity_;  ///< max(headcount+pending, target) + raid capacity at planning
  /// The firms' books (headcount, pending hires, wage bill, elite count, Σθ) must be counted from
  /// the researchers (count_firm_books(), at planning): on the first step, after a restore,
  /// after events, after edit_world(). Otherwise they are kept up to date exactly at every
  /// change (moves, job losses, raises, tier changes) and no phase recounts them.
  bool recount_firms_ = true;
  /// Σθ (fixed point, kSumScale) of each firm's staff by office region, and in a last column
  /// its top tiers' (regions + 1 columns per firm): production()'s inputs, kept up to date like
  /// headcount (moves, job losses, tier changes) and recounted with it (count_staff_theta());
  /// empty (not kept) while production is off.
  std::vector<int64_t> theta_sums_;
  void count_staff_theta();
  template <class Sink>
  void staff_into(int32_t firm, int region, uint8_t tier, float talent, float comp, int sign, Sink& to) const;
  void count_firm_books();  ///< headcount, pending hires, wage bill, elite (and Σθ) from the researchers
  std::vector<Offer> offers_;
  std::vector<Offer> raid_offers_;
  std::vector<Mover> movers_;
  /// clearing()'s per-step scratch, kept between steps for its capacity (not state): at 1e7
  /// researchers it holds ~150 MB in the BM reduction, and fresh allocations of that size came
  /// back as page faults every step (perf: ~6% of the run's CPU).
  struct Scratch {
    std::vector<Mover> accepted;        ///< clearing(): movers within capacity (swapped with movers_)
    std::vector<MoveRecord> done;       ///< clearing(): executed moves
    std::vector<uint8_t> petition, rejected;
  } scratch_;
  /// The phases' integer counts (engine::Counters: per-thread arrays kept between steps).
  engine::Counters counters_;
  template <class Fn>
  const std::vector<int64_t>& count_chunks(std::size_t n, std::size_t size, Fn&& fn) {
    return counters_.count(n, size, std::forward<Fn>(fn));
  }
  engine::FlatCounter poaching_;  ///< key poaching_key(from, to): O(1) per move
  /// (from << 32) | to: with both >= 0, sorting keys sorts by from, then to.
  static uint64_t poaching_key(int32_t from, int32_t to) { return (uint64_t(uint32_t(from)) << 32) | uint32_t(to); }
  // Alias table over firms for random search (MODEL.md §4: O(1) per draw)
  std::vector<double> alias_prob_;
  std::vector<int32_t> alias_idx_;
  double alias_total_ = 0.0;
  // Talent thresholds of the current step and the top tier sorted by talent (desc)
  float elite_cut_ = 0.f, top_cut_ = 0.f;
  int elite_bucket_ = -1, top_bucket_ = -1;  ///< high 16 bits of the cuts at the last refresh (a cache, not state)
  // refresh_tiers()' caches (not state; a restored simulation starts without them): the living's
  // talent histogram by the high 16 bits of θ, kept current by demography's exits and entrants
  // (empty: count it); the living in the buckets of the last cuts (near_cuts_valid_: complete);
  // the slots whose occupant died or entered since the last refresh.
  std::vector<uint32_t> talent_hist_;  ///< 32 bits: a bucket holds fewer than 2^32 slots
  std::vector<uint32_t> near_cuts_;
  bool near_cuts_valid_ = false;
  std::vector<uint32_t> tier_dirty_;
  std::vector<uint32_t> top_sorted_;
  std::vector<double> office_term_;  ///< ln(1 + compute per researcher) by office, valid inside offers()
  /// What evaluating an offer reads of firm f, in one cache line (the firms' columns are ~10
  /// lines a firm): copied from Firms at the start of offers() and valid inside it, like
  /// office_term_ (firms' data does not change while offers are made).
  struct alignas(64) OfferCard {
    double base_pay, elasticity, premium, max_package;
    double prestige_term;  ///< utility.prestige × prestige, the product utility() adds
    double max_fee;
    uint32_t office_begin, office_end;
    uint8_t hq, sponsors;
  };
  static_assert(sizeof(OfferCard) == 64);
  OfferCard offer_card(int firm) const;  ///< from the firms' columns
  static double offer_pay(const OfferCard& c, double pay_level, float talent, bool employed);
  std::vector<OfferCard> offer_cards_;
  bool offer_terms_ready_ = false;  ///< office_term_ and offer_cards_ are valid
  // Per-chunk scratch lists, kept between steps for their capacity (as locals, the ~0.4M log
  // entries and ~1M offers a step at 1e7 were re-grown from empty every step: reallocation
  // copies and fresh pages). Each phase resets one before use; none is used by two phases at once.
  engine::ChunkedBuffer<LogEntry> log_parts_;  ///< demography, pay, book_in_chunks
  engine::ChunkedBuffer<Offer> offer_parts_;   ///< offers
  std::size_t top_sorted_prefix_ = 0;  ///< top_sorted_[0, prefix) is in scouting order
  bool top_sorted_valid_ = false;
  std::vector<uint32_t> free_slots_;
  std::vector<std::vector<VisaRule>> visa_rules_;  ///< [dest][origin]
  std::map<std::string, std::vector<int>> firm_by_name_;
};

/// Receives the state after each step (HDF5 writer, validation, benchmarks).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_step(const Simulation& sim) = 0;
};

}  // namespace ts::model
