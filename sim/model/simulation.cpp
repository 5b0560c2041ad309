#include "sim/model/simulation.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <stdexcept>

#include "sim/engine/compress.hpp"
#include "sim/engine/parallel.hpp"
#include "sim/engine/sort.hpp"

namespace ts::model {

using engine::for_chunks;
using rng::Purpose;

namespace {

constexpr double kSumScale = 16777216.0;  // fixed-point scale for order-independent sums of θ

/// Fixed-point value of a non-negative number (round half up); exact integer sums are
/// order-independent, so reductions over threads are deterministic. (std::llround is a slow libm call.)
inline int64_t fixed(double x, double scale) { return static_cast<int64_t>(x * scale + 0.5); }

double inv_normal(double u) { return -std::sqrt(2.0) * boost::math::erfc_inv(2.0 * u); }

/// A change of one entry of a per-firm table (Simulation::theta_sums_, Firms::elite), collected
/// per chunk in parallel passes and applied in chunk order.
struct Delta {
  uint32_t k;
  int64_t d;
};

/// The sink of the firms' books for a parallel pass over researchers or moves (demography's
/// exits and separations, clearing's moves), one per chunk: changes of headcount, pending hires,
/// wage bill and elite count go to the thread's integer counters, four blocks of `nf` from
/// offset `o` (in that order: add_book_changes() applies them); log entries and Σθ changes to
/// the chunk's lists, appended in chunk order afterwards.
struct BooksChunk {
  int64_t* a;
  std::size_t o, nf;
  std::vector<LogEntry>& logs;
  std::vector<Delta>& thetas;
  void headcount(int32_t f, int d) { a[o + std::size_t(f)] += d; }
  void pending(int32_t f, int d) { a[o + nf + std::size_t(f)] += d; }
  void wage(int32_t f, int64_t d) { a[o + 2 * nf + std::size_t(f)] += d; }
  void elite(int32_t f, int d) { a[o + 3 * nf + std::size_t(f)] += d; }
  void log(const LogEntry& x) { logs.push_back(x); }
  void theta(std::size_t k, int64_t d) { thetas.push_back({uint32_t(k), d}); }
};

/// The sink of book_into() for a parallel pass over executed moves (clearing's, the visa
/// phase's approvals, expiries and departures): the firms' books as BooksChunk, plus flows
/// [from][to] (R × R counters from o_flow), market counters (from o_market), visa counters
/// (from o_visa) and poaching pairs (the chunk's list).
struct MovesChunk : BooksChunk {
  std::size_t R, o_flow, o_market;
  std::vector<uint64_t>& pairs;
  std::size_t o_visa = 0;  ///< visa counters [origin][VisaStat], if the pass keeps them
  void flow(int from, int to) { ++a[o_flow + std::size_t(from) * R + std::size_t(to)]; }
  void pair(uint64_t key) { pairs.push_back(key); }
  void market(MarketStat k) { ++a[o_market + k]; }
  void visa_stat(int origin, VisaStat k) { ++a[o_visa + std::size_t(origin) * kVisaStats + k]; }
};

/// Adds a BooksChunk counter block (four blocks of F.size(): headcount, pending hires, wage
/// bill, elite count) to the firms' books.
void add_book_changes(Firms& F, const int64_t* d) {
  const std::size_t NF = F.size();
  for (std::size_t f = 0; f < NF; ++f) {
    F.headcount[f] += d[f];
    F.pending_in[f] += d[NF + f];
    F.wage_bill[f] += double(d[2 * NF + f]);  // integers below 2^53: exact
    F.elite[f] += d[3 * NF + f];
  }
}

/// Applies per-chunk changes of a per-firm table (Σθ: Simulation::theta_sums_; Firms::elite), in
/// chunk order.
void add_deltas(std::vector<int64_t>& table, const engine::ChunkedBuffer<Delta>& changes) {
  changes.for_each_in_order([&](const Delta& x) { table[x.k] += x.d; });
}

/// θ^e of the pay schedule, called for every offer and counteroffer. Elasticities of 1 (the
/// leading labs) and 0 (the textbook reductions: pay independent of talent) skip pow: pow(θ, 0)
/// is 1 by definition and pow(θ, 1) is θ exactly (glibc's pow errs by < 1 ULP, so a result that
/// is representable comes back exact), so the values are the same as before.
inline double talent_power(double theta, double e) { return e == 1.0 ? theta : e == 0.0 ? 1.0 : std::pow(theta, e); }

// Column loops that should vectorise are free functions with __restrict parameters: GCC ignores
// __restrict on block-scope pointers and then gives up on the aliasing checks of six columns.

/// Monthly clocks of slots [b, e): clears the per-step flags; adds a month to the age (if
/// age_step), the months in the region and, with a job, the tenure of the living (saturating).
void tick_clocks(std::size_t b, std::size_t e, int16_t age_step, uint8_t* __restrict flags,
                 const uint8_t* __restrict alive, const int32_t* __restrict employer, int16_t* __restrict age,
                 int16_t* __restrict in_region, int16_t* __restrict tenure) {
  for (std::size_t i = b; i < e; ++i) {
    flags[i] = 0;
    const int16_t live = int16_t(alive[i] != 0);
    age[i] = int16_t(age[i] + (live & age_step & int16_t(age[i] < 32767)));
    in_region[i] = int16_t(in_region[i] + (live & int16_t(in_region[i] < 32767)));
    tenure[i] = int16_t(tenure[i] + (live & int16_t(employer[i] != kNoFirm) & int16_t(tenure[i] < 32767)));
  }
}

/// The tier of talent t with these cuts (Regular = 0, Top = 1, Elite = 2; the dead are Regular),
/// without branches.
[[gnu::always_inline]] inline uint8_t tier_of(float t, uint8_t alive, float elite_cut, float top_cut) {
  const uint8_t elite = uint8_t(t >= elite_cut), top = uint8_t(t >= top_cut);
  return uint8_t(uint8_t(alive != 0) * uint8_t(2 * elite + (top & (elite ^ 1))));
}

/// The bucket of a (positive) talent in refresh_tiers()' histogram: the high 16 bits of its float.
inline uint32_t talent_bucket(float t) { return std::bit_cast<uint32_t>(t) >> 16; }

/// Tiers of slots [b, e) from the talent cuts: Elite if θ ≥ elite_cut, else Top if θ ≥ top_cut,
/// else Regular; the dead are Regular. Written without branches (Regular = 0, Top = 1, Elite = 2),
/// in blocks of 64 with the old tiers kept aside: `moved(i, old_tier)` is called for each slot
/// whose tier changed (a few hundred a step: the cuts move little), found by rescanning only
/// the blocks where one did.
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

/// Prefetches slot i of each column given. always_inline matters: as a function of its own,
/// GCC deems a body of prefetches alone free of side effects and deletes the calls (the offer
/// scan's prefetches were once missing from the binary), so every wrapper must be always_inline too.
template <class... Columns>
[[gnu::always_inline]] inline void prefetch_slot(std::size_t i, const Columns&... columns) {
  (__builtin_prefetch(columns.data() + i), ...);
}

/// Calls body(k) for every k in [b, e), in order, having issued fetch(k + ahead) first (and
/// fetch(k) for the first `ahead` before the loop): for lists of scattered researchers, so that
/// the cache misses of those ahead overlap the work on the current one. always_inline, and
/// `fetch` must only call always_inline prefetch wrappers: see prefetch_slot.
template <class Fetch, class Body>
[[gnu::always_inline]] inline void with_prefetch(std::size_t b, std::size_t e, std::size_t ahead, Fetch&& fetch,
                                                 Body&& body) {
  for (std::size_t k = b; k < std::min(e, b + ahead); ++k) fetch(k);
  for (std::size_t k = b; k < e; ++k) {
    if (k + ahead < e) fetch(k + ahead);
    body(k);
  }
}

/// with_prefetch with a second, nearer stage: fetch2(k + ahead2) (ahead2 < ahead) runs when item
/// k + ahead2's first columns have arrived, so it can read them to fetch what they point to or
/// what only some items need. always_inline: see prefetch_slot.
template <class Fetch, class Fetch2, class Body>
[[gnu::always_inline]] inline void with_prefetch2(std::size_t b, std::size_t e, std::size_t ahead, Fetch&& fetch,
                                                  std::size_t ahead2, Fetch2&& fetch2, Body&& body) {
  for (std::size_t k = b; k < std::min(e, b + ahead); ++k) fetch(k);
  for (std::size_t k = b; k < std::min(e, b + ahead2); ++k) fetch2(k);
  for (std::size_t k = b; k < e; ++k) {
    if (k + ahead < e) fetch(k + ahead);
    if (k + ahead2 < e) fetch2(k + ahead2);
    body(k);
  }
}

/// The columns the offer path reads for researcher i.
[[gnu::always_inline]] inline void prefetch_offer_columns(const Researchers& r, std::size_t i) {
  prefetch_slot(i, r.employer, r.uid, r.talent, r.comp, r.location, r.origin, r.status, r.visa_left, r.compute_taste,
                r.home_bias);
}

/// Room for a chunk's list of selected slots: engine::compress_indices writes whole groups of 8.
using SlotList = std::array<uint32_t, engine::kChunk + 8>;

/// Writes to `out` the slots in [b, e) of the living who hold a work or student visa, wait for a
/// petition or count down a grace period; returns how many. Without branches: the conditions
/// are column arithmetic into a byte per slot (vectorised), then engine::compress_indices lists
/// the selected (the loop that stored every slot and advanced by the condition did not vectorise:
/// ~2.3 ns a researcher, ~25 ms of thread time a step at 1e7 for this listing).
std::size_t list_visa_work(std::size_t b, std::size_t e, const uint8_t* __restrict alive,
                           const uint8_t* __restrict status, const int32_t* __restrict pending_firm,
                           const int8_t* __restrict grace, uint32_t* __restrict out) {
  std::array<uint8_t, engine::kChunk> keep;
  for (std::size_t i = b; i < e; ++i) {
    const uint8_t st = status[i];
    const bool visa = (st == uint8_t(Status::WorkVisa)) | (st == uint8_t(Status::StudentVisa));
    keep[i - b] = uint8_t((alive[i] != 0) & (visa | (pending_firm[i] != kNoFirm) | (grace[i] >= 0)));
  }
  return engine::compress_indices(keep.data(), e - b, uint32_t(b), out);
}

/// Appends to `out` the slots in [b, e) of the living aged `retire` months or more, in slot order.
/// A few a chunk retire in a month: each block of 64 is tested without branches (vectorised) and
/// only a block with one is scanned slot by slot (perf: the plain branchy loop was ~20% of
/// demography's per-chunk pass at 1e7, stalled on the alive test and on reloading the columns).
void list_retired(std::size_t b, std::size_t e, int retire, const uint8_t* __restrict alive,
                  const int16_t* __restrict age, std::vector<uint32_t>& out) {
  constexpr std::size_t kBlock = 64;
  for (std::size_t s = b; s < e; s += kBlock) {
    const std::size_t n = std::min(kBlock, e - s);
    uint8_t any = 0;
    for (std::size_t k = 0; k < n; ++k) any |= uint8_t((alive[s + k] != 0) & (int(age[s + k]) >= retire));
    if (any)
      for (std::size_t k = 0; k < n; ++k)
        if (alive[s + k] != 0 && int(age[s + k]) >= retire) out.push_back(uint32_t(s + k));
  }
}

/// Writes to `out` the slots in [b, e) of the employed due their annual raise (tenure a whole,
/// non-zero number of years); returns how many. Without branches, like list_visa_work.
std::size_t list_raises(std::size_t b, std::size_t e, const uint8_t* __restrict alive,
                        const int32_t* __restrict employer, const int16_t* __restrict tenure,
                        uint32_t* __restrict out) {
  std::array<uint8_t, engine::kChunk> keep;
  for (std::size_t i = b; i < e; ++i) {
    const int16_t t = tenure[i];
    keep[i - b] = uint8_t((alive[i] != 0) & (employer[i] != kNoFirm) & (t != 0) & (t % 12 == 0));
  }
  return engine::compress_indices(keep.data(), e - b, uint32_t(b), out);
}

/// Writes to `out` the slots in [b, e) of the living who drew a random offer this step and wait
/// for no visa decision; returns how many. Without branches, like list_visa_work (a few percent
/// qualify, scattered over the slots).
std::size_t list_offer_takers(std::size_t b, std::size_t e, const uint8_t* __restrict flags,
                              const uint8_t* __restrict alive, const int32_t* __restrict pending_firm,
                              uint32_t* __restrict out) {
  std::array<uint8_t, engine::kChunk> keep;
  for (std::size_t i = b; i < e; ++i)
    keep[i - b] = uint8_t(((flags[i] & kFlagOffer) != 0) & (alive[i] != 0) & (pending_firm[i] == kNoFirm));
  return engine::compress_indices(keep.data(), e - b, uint32_t(b), out);
}

/// Firms per parallel range in the per-firm loops with transcendental functions (planning's
/// growth, production's output, the offices' compute terms): 13,901 firms make 14 ranges.
constexpr std::size_t kFirmGrain = 1024;

/// Serial bookkeeping passes over lists of scattered researchers (the visa phase's decisions,
/// approvals and expiries) read a dozen columns of each:
/// prefetching the researcher kBookAhead places ahead hides most of the cache misses (visa phase's
/// serial part at 1e7: 52 -> 39 ms/step). always_inline: see prefetch_slot.
constexpr std::size_t kBookAhead = 16;
[[gnu::always_inline]] inline void prefetch_person_columns(const Researchers& r, std::size_t i) {
  prefetch_slot(i, r.uid, r.origin, r.location, r.status, r.tier, r.employer, r.comp, r.renewals, r.grace,
                r.pending_firm, r.pending_region, r.pending_kind, r.pending_comp, r.tenure, r.ref_offer);
}

/// The columns lose_job_into() reads or writes (and the flags a separation sets).
/// always_inline: see prefetch_slot.
[[gnu::always_inline]] inline void prefetch_leaver_columns(const Researchers& r, std::size_t i) {
  prefetch_slot(i, r.employer, r.location, r.comp, r.pending_firm, r.tier, r.talent, r.tenure, r.ref_offer, r.status,
                r.grace, r.flags);
}

/// The columns an entrant's slot is written in, prefetched for writing. always_inline: see
/// prefetch_slot.
[[gnu::always_inline]] inline void prefetch_entrant_columns(Researchers& r, std::size_t i) {
  auto w = [i](auto& column) { __builtin_prefetch(column.data() + i, 1); };
  w(r.uid), w(r.alive), w(r.origin), w(r.talent), w(r.age), w(r.home_bias), w(r.compute_taste), w(r.location);
  w(r.status), w(r.visa_left), w(r.renewals), w(r.grace), w(r.in_region), w(r.tenure), w(r.employer), w(r.comp);
  w(r.ref_offer), w(r.output), w(r.hc_output), w(r.pending_firm), w(r.flags), w(r.tier);
}

}  // namespace

void Researchers::reserve(std::size_t n) {
  if (n <= uid.capacity()) return;
  uid.reserve(n); alive.reserve(n); origin.reserve(n); location.reserve(n); tier.reserve(n); status.reserve(n);
  renewals.reserve(n); flags.reserve(n); grace.reserve(n); age.reserve(n); tenure.reserve(n); in_region.reserve(n);
  visa_left.reserve(n); employer.reserve(n); talent.reserve(n); comp.reserve(n); home_bias.reserve(n);
  compute_taste.reserve(n); ref_offer.reserve(n); output.reserve(n); hc_output.reserve(n);
  pending_firm.reserve(n); pending_region.reserve(n); pending_left.reserve(n); pending_kind.reserve(n);
  pending_comp.reserve(n);
}

void Researchers::resize(std::size_t n) {
  // The columns are resized concurrently: the first resize to 1e7 writes and page-faults ~700 MB
  // (~0.55 s serially). Entrants' growth adds a few thousand a step, which is cheap either way.
  const auto jobs = std::to_array<std::function<void()>>({
      [&] { uid.resize(n); }, [&] { alive.resize(n); }, [&] { origin.resize(n); }, [&] { location.resize(n); },
      [&] { tier.resize(n); }, [&] { status.resize(n); }, [&] { renewals.resize(n); }, [&] { flags.resize(n); },
      [&] { grace.resize(n, -1); }, [&] { age.resize(n); }, [&] { tenure.resize(n); }, [&] { in_region.resize(n); },
      [&] { visa_left.resize(n); }, [&] { employer.resize(n, kNoFirm); }, [&] { talent.resize(n); },
      [&] { comp.resize(n); }, [&] { home_bias.resize(n); }, [&] { compute_taste.resize(n); },
      [&] { ref_offer.resize(n); }, [&] { output.resize(n); }, [&] { hc_output.resize(n); },
      [&] { pending_firm.resize(n, kNoFirm); }, [&] { pending_region.resize(n); }, [&] { pending_left.resize(n); },
      [&] { pending_kind.resize(n); }, [&] { pending_comp.resize(n); }});
  if (n < size() + engine::kChunk || engine::force_serial()) {
    for (const auto& job : jobs) job();
    return;
  }
  tbb::parallel_for(std::size_t(0), jobs.size(), [&](std::size_t k) { jobs[k](); });
}

std::size_t Researchers::bytes_per_researcher() const {
  return sizeof(uint64_t) + 8 * sizeof(uint8_t) + sizeof(int8_t) + 4 * sizeof(int16_t) + sizeof(int32_t) +
         7 * sizeof(float) + sizeof(int32_t) + 3 * sizeof(uint8_t) + sizeof(float);
}

void StepStats::reset(int regions, int firms) {
  R = regions;
  F = firms;
  stocks.assign(std::size_t(R) * R * kTiers, 0);
  flows.assign(std::size_t(R) * R, 0);
  pay_pct.assign(std::size_t(kTiers) * R * kPercentiles, 0.0);
  visa.assign(std::size_t(R) * kVisaStats, 0);
  market.assign(kMarketStats, 0);
  output_region.assign(R, 0.0);
  output_origin.assign(R, 0.0);
  hc_region.assign(R, 0.0);
  hc_origin.assign(R, 0.0);
  entrants_region.assign(R, 0);
  exits_region.assign(R, 0);
  log.clear();
}

// ===================================================================== setup
Simulation::Simulation(Params params) : params_(std::move(params)) {
  start_month_ = params_.start_month_index();
  if (start_month_ < 0) throw std::invalid_argument("run.start is not a month YYYY-MM: " + params_.run.start);
  init_world();
}

rng::Stream Simulation::stream(uint64_t id, Purpose purpose) const {
  return rng::Stream(params_.run.seed, uint32_t(world_.step), id, purpose);
}

const VisaRule& Simulation::visa_rule(int dest, int origin) const { return visa_rules_[dest][origin]; }

int Simulation::firm_index(const std::string& name) const {
  auto it = firm_by_name_.find(name);
  return it == firm_by_name_.end() || it->second.size() != 1 ? -1 : it->second.front();
}

std::vector<int> Simulation::firms_named(const std::string& name) const {
  auto it = firm_by_name_.find(name);
  return it == firm_by_name_.end() ? std::vector<int>{} : it->second;
}

Simulation::Simulation(Params params, RestoreTag) : params_(std::move(params)) {
  start_month_ = params_.start_month_index();
  rebuild_visa_rules();
}

void Simulation::rebuild_visa_rules() {
  const int R = regions();
  visa_rules_.assign(R, std::vector<VisaRule>(R));
  for (int d = 0; d < R; ++d) {
    const auto& reg = params_.regions[d];
    for (int o = 0; o < R; ++o) visa_rules_[d][o] = reg.visa;
    for (const auto& ov : reg.visa_by_origin) {
      const int o = params_.region_index(ov.name);
      if (o >= 0) visa_rules_[d][o] = ov.rule;
    }
  }
}

void Simulation::init_world() {
  const int R = regions();
  rebuild_visa_rules();
  auto& rs = world_.reg;
  rs.cap_used.assign(R, 0);
  rs.cap_applied.assign(R, 0);
  rs.selection_estimate.assign(R, 1.0);
  rs.compute_multiplier.resize(R);
  rs.exempt_abroad.resize(R);
  rs.service_penalty.resize(R);
  for (int r = 0; r < R; ++r) {
    rs.compute_multiplier[r] = params_.regions[r].compute_multiplier;
    rs.exempt_abroad[r] = params_.regions[r].exempt_offices_abroad;
    rs.service_penalty[r] = params_.regions[r].service_penalty;
    rs.selection_estimate[r] = params_.regions[r].lottery_selection;
  }
  init_firms();
  init_researchers();
  stats_.reset(R, int(world_.f.size()));
  prev_stock_.assign(R, 0);
  for (std::size_t i = 0; i < world_.r.size(); ++i)
    if (world_.r.alive[i]) ++prev_stock_[world_.r.location[i]];
}

void Simulation::remember_stocks() {
  const int R = regions();
  prev_stock_.assign(R, 0);
  for (int a = 0; a < R; ++a)
    for (int k = 0; k < R * kTiers; ++k) prev_stock_[a] += stats_.stocks[std::size_t(a) * R * kTiers + k];
}

static double draw(const Dist& d, double u, double bm_r, double lambda1, double delta) {
  u = std::clamp(u, 1e-12, 1.0 - 1e-12);
  switch (d.kind) {
    case Dist::Kind::Constant: return d.a;
    case Dist::Kind::Uniform: return d.a + (d.b - d.a) * u;
    case Dist::Kind::Normal: return d.a + d.b * inv_normal(u);
    case Dist::Kind::LogNormal: return d.a * std::exp(d.b * inv_normal(u));
    case Dist::Kind::BMEquilibrium: {
      // Inverse of F(w) = ((δ+λ1)/λ1)(1 − √((p−w)/(p−R))) (MODEL.md §8).
      const double p = d.a, x = 1.0 - u * lambda1 / (delta + lambda1);
      return p - (p - bm_r) * x * x;
    }
  }
  return d.a;
}

void Simulation::apply_firm_policy(int f, const FirmSpec& s, bool reset_levels) {
  auto& F = world_.f;
  const int member = F.group[f] >= 0 ? f : 0;
  const int64_t n = s.count;
  // index of this firm within its group, for stratified draws
  int64_t j = 0;
  for (int k = f - 1; k >= 0 && F.group[k] == F.group[f]; --k) ++j;
  auto value = [&](const Dist& d, uint32_t which) {
    rng::Stream st(params_.run.seed, 0, uint64_t(member), uint32_t(Purpose::FirmInit));
    double u = 0.5;
    for (uint32_t i = 0; i <= which; ++i) u = rng::uniform01(st);
    if (d.stratified) u = (double(j) + u) / double(n);
    const int hq = F.hq[f];
    return draw(d, u, params_.regions[hq].unemployed_income, params_.market.lambda1, params_.market.separation);
  };
  F.kind[f] = uint8_t(s.kind);
  F.prestige[f] = s.prestige;
  F.productivity[f] = value(s.productivity, 1);
  F.base_pay[f] = value(s.pay.base, 2);
  F.max_package[f] = value(s.pay.max_package, 3);
  F.elasticity[f] = s.pay.elasticity;
  F.premium[f] = s.pay.premium;
  F.annual_raise[f] = s.pay.annual_raise;
  F.unlimited[f] = s.hiring.unlimited;
  F.search_intensity[f] = s.hiring.search_intensity;
  F.growth[f] = s.hiring.growth;
  F.scouting_list[f] = s.hiring.scouting_list;
  F.scouting_rate[f] = s.hiring.scouting_rate;
  F.retention[f] = uint8_t(s.retention.rule);
  F.max_raise[f] = s.retention.max_raise;
  F.sponsors[f] = s.visa.sponsors;
  F.max_fee[f] = s.visa.max_fee;
  F.compute_share[f] = s.compute_share;
  if (reset_levels) {
    F.target[f] = std::max(0.0, std::round(value(s.headcount, 0)));
    F.compute_factor[f] = 1.0;
  }
  F.budget[f] = s.budget_per_head * std::max(1.0, F.target[f]);
}

void Simulation::init_firms() {
  auto& F = world_.f;
  const auto& specs = params_.firms;
  // Offices that events will open later exist from the start, closed.
  std::vector<std::vector<std::pair<int, double>>> extra(specs.size());
  for (const auto& e : params_.events)
    if (e.type == EventType::OfficeOpen)
      for (std::size_t g = 0; g < specs.size(); ++g)
        if (specs[g].name == e.firm) extra[g].push_back({params_.region_index(e.region), 0.0});

  F.office_begin.push_back(0);
  F.rivals_begin.push_back(0);
  for (std::size_t g = 0; g < specs.size(); ++g) {
    const auto& s = specs[g];
    for (int64_t j = 0; j < s.count; ++j) {
      const int f = int(F.name.size());
      F.name.push_back(s.count == 1 ? s.name : s.name + "#" + std::to_string(j + 1));
      firm_by_name_[F.name.back()].push_back(f);
      if (s.count > 1) firm_by_name_[s.name].push_back(f);
      F.group.push_back(int32_t(g));
      F.kind.push_back(0);
      F.hq.push_back(uint8_t(std::max(0, params_.region_index(s.hq))));
      F.controlled_by.push_back(uint8_t(std::max(0, params_.region_index(s.controlled_by.empty() ? s.hq : s.controlled_by))));
      std::vector<std::pair<int, double>> offs;
      for (const auto& o : s.offices) offs.push_back({params_.region_index(o.name), o.value});
      if (offs.empty()) offs.push_back({F.hq.back(), 1.0});
      for (const auto& x : extra[g]) {
        bool have = false;
        for (const auto& o : offs) have |= o.first == x.first;
        if (!have) offs.push_back(x);
      }
      for (const auto& [r, sh] : offs) {
        F.office_region.push_back(uint8_t(r));
        F.office_share.push_back(sh);
        F.office_open.push_back(sh > 0);
      }
      F.office_begin.push_back(uint32_t(F.office_region.size()));
      for (auto* col : {&F.budget, &F.compute_share, &F.compute_factor, &F.productivity, &F.prestige, &F.base_pay,
                        &F.elasticity, &F.premium, &F.max_package, &F.annual_raise, &F.search_intensity, &F.growth,
                        &F.scouting_rate, &F.max_raise, &F.max_fee, &F.target, &F.compute, &F.wage_bill,
                        &F.sum_theta, &F.output, &F.hc_output})
        col->push_back(0.0);
      for (auto* col : {&F.unlimited, &F.retention, &F.sponsors}) col->push_back(0);
      for (auto* col : {&F.scouting_list, &F.headcount, &F.elite, &F.pending_in, &F.vacancies, &F.extra_capacity})
        col->push_back(0);
      apply_firm_policy(f, s, true);
    }
  }
  // Rivals (names of firms or groups) -> firm indices.
  for (std::size_t f = 0; f < F.size(); ++f) {
    for (const auto& rn : specs[F.group[f]].hiring.rivals)
      for (int k : firms_named(rn)) F.rivals.push_back(k);
    F.rivals_begin.push_back(uint32_t(F.rivals.size()));
  }
}

void Simulation::init_researchers() {
  const auto& P = params_.population;
  const int R = regions();
  const std::size_t N = std::size_t(P.researchers);
  auto& r = world_.r;
  r.reserve(Researchers::headroom(N));  // see Researchers::headroom: growth without copying
  r.resize(N);
  // Exact origin counts by largest remainder, assigned in blocks.
  std::vector<double> share(R, 0.0);
  if (P.origin_shares.empty())
    std::fill(share.begin(), share.end(), 1.0 / R);
  else
    for (const auto& s : P.origin_shares) share[params_.region_index(s.name)] = s.value;
  std::vector<int64_t> cnt(R);
  int64_t assigned = 0;
  std::vector<std::pair<double, int>> rem;
  for (int o = 0; o < R; ++o) {
    cnt[o] = int64_t(std::floor(share[o] * double(N)));
    assigned += cnt[o];
    rem.push_back({share[o] * double(N) - double(cnt[o]), o});
  }
  std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; assigned < int64_t(N) && k < rem.size(); ++k, ++assigned) ++cnt[rem[k].second];
  std::vector<double> abroad(R, 0.0), dest_w(R, 0.0);
  for (const auto& s : P.abroad) abroad[params_.region_index(s.name)] = s.value;
  for (const auto& s : P.abroad_destinations) dest_w[params_.region_index(s.name)] = s.value;
  std::vector<uint8_t> origin_of(N);
  {
    std::size_t i = 0;
    for (int o = 0; o < R; ++o)
      for (int64_t k = 0; k < cnt[o]; ++k) origin_of[i++] = uint8_t(o);
  }
  const auto& U = params_.market.utility;
  engine::for_each(N, [&](std::size_t i) {
    const uint8_t o = origin_of[i];
    rng::Stream s(params_.run.seed, 0, i, Purpose::Init);
    r.uid[i] = i;
    r.alive[i] = 1;
    r.origin[i] = o;
    const auto& reg = params_.regions[o];
    r.talent[i] = P.fixed_talent > 0 ? float(P.fixed_talent) : float(std::exp(reg.talent_mu + reg.talent_sigma * rng::normal(s)));
    const int lo = P.min_age * 12, hi = P.retirement_age * 12 - 1;
    r.age[i] = int16_t(lo + int(rng::uniform_int(s, uint32_t(hi - lo + 1))));
    r.home_bias[i] = float(U.home + U.home_sd * rng::normal(s));
    r.compute_taste[i] = float(std::max(0.0, U.compute + U.compute_sd * rng::normal(s)));
    int loc = o;
    if (abroad[o] > 0 && rng::bernoulli(s, abroad[o])) {
      double tot = 0;
      for (int d = 0; d < R; ++d) tot += d == o ? 0.0 : dest_w[d];
      if (tot > 0) {
        double x = rng::uniform01(s) * tot;
        for (int d = 0; d < R; ++d) {
          if (d == o) continue;
          x -= dest_w[d];
          loc = d;
          if (x < 0) break;
        }
      }
    }
    r.location[i] = uint8_t(loc);
    if (loc == o) {
      r.status[i] = uint8_t(Status::Citizen);
      r.in_region[i] = r.age[i];
    } else {
      const auto& dr = params_.regions[loc];
      r.status[i] = uint8_t(rng::bernoulli(s, dr.initial_pr_share) ? Status::Permanent : Status::WorkVisa);
      r.visa_left[i] = int16_t(1 + rng::uniform_int(s, uint32_t(dr.visa_months)));
      r.in_region[i] = int16_t(rng::uniform_int(s, 120));
    }
    r.tenure[i] = int16_t(rng::uniform_int(s, 60));
    r.flags[i] = rng::bernoulli(s, P.employment_rate) ? 1 : 0;  // temporary: wants a job
  });
  world_.next_uid = N;

  // Sort talent into firms: within each region, candidates by ln θ + noise (desc), offices by prestige.
  // Each key's draws are keyed by the slot and (key desc, slot) is a total order, so neither the
  // keys nor the order depend on the thread count. Two parallel passes list every region's
  // candidates (each chunk counts its own by region, then writes them with their keys at its
  // offsets), each as one integer: the key's bits mapped to an unsigned integer that orders them
  // descending, above the slot, so sorting the integers orders by key descending, then slot.
  // (Init at 1e7 had spent ~0.5 s scanning once per region and ~0.6 s sorting (key, slot) pairs
  // with a comparator.)
  auto& F = world_.f;
  std::vector<std::vector<uint64_t>> cands(R);
  {
    const std::size_t nc = engine::chunk_count(N);
    std::vector<std::size_t> at(nc * std::size_t(R), 0);  // by chunk and region: count, then offset
    engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      std::size_t* n = &at[c * std::size_t(R)];
      for (std::size_t i = b; i < e; ++i) n[r.location[i]] += r.flags[i];
    });
    for (int reg = 0; reg < R; ++reg) {
      std::size_t total = 0;
      for (std::size_t c = 0; c < nc; ++c) total += std::exchange(at[c * std::size_t(R) + std::size_t(reg)], total);
      cands[std::size_t(reg)].resize(total);
    }
    engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      std::size_t* o = &at[c * std::size_t(R)];
      for (std::size_t i = b; i < e; ++i) {
        if (!r.flags[i]) continue;
        rng::Stream s(params_.run.seed, 0, i, Purpose::Talent);
        const float key = float(std::log(r.talent[i]) + P.sorting_noise * rng::normal(s));
        cands[r.location[i]][o[r.location[i]]++] = engine::descending_key(key, uint32_t(i));
      }
    });
    tbb::parallel_for(0, R, [&](int reg) { engine::radix_sort(cands[std::size_t(reg)]); });
  }
  for (int reg = 0; reg < R; ++reg) {
    std::vector<uint64_t> cand = std::move(cands[std::size_t(reg)]);
    struct Slot { double key; int firm; int64_t cap; };
    std::vector<Slot> slots;
    for (std::size_t f = 0; f < F.size(); ++f) {
      double tot = 0;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) tot += F.office_open[k] ? F.office_share[k] : 0;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
        if (F.office_region[k] == reg && F.office_open[k] && tot > 0)
          slots.push_back({F.prestige[f], int(f), int64_t(std::llround(F.target[f] * F.office_share[k] / tot))});
    }
    std::stable_sort(slots.begin(), slots.end(), [](auto& a, auto& b) { return a.key > b.key; });
    // Round-robin among equal-prestige firms keeps sizes balanced; higher prestige fills first.
    std::size_t c = 0;
    for (std::size_t a = 0; a < slots.size() && c < cand.size();) {
      std::size_t b = a;
      while (b < slots.size() && slots[b].key == slots[a].key) ++b;
      bool any = true;
      while (any && c < cand.size()) {
        any = false;
        for (std::size_t k = a; k < b && c < cand.size(); ++k)
          if (slots[k].cap > 0) {
            --slots[k].cap;
            // the candidates' slots are scattered: their employer entries are prefetched
            if (c + 32 < cand.size()) __builtin_prefetch(r.employer.data() + uint32_t(cand[c + 32]), 1);
            const uint32_t i = uint32_t(cand[c++]);  // the slot: the low 32 bits
            r.employer[i] = slots[k].firm;
            any = true;
          }
      }
      a = b;
    }
  }
  engine::for_each(N, [&](std::size_t i) {
    r.flags[i] = 0;
    if (r.employer[i] != kNoFirm)
      r.comp[i] = float(offer_comp(r.employer[i], r.location[i], r.talent[i], false));
    else
      r.tenure[i] = 0;
  });
  refresh_tiers();
}

// ===================================================================== helpers
double Simulation::standard_pay(int f, int region, float talent) const {
  const auto& F = world_.f;
  return F.base_pay[f] * params_.regions[region].pay_level * talent_power(double(talent), F.elasticity[f]);
}

double Simulation::offer_comp(int f, int region, float talent, bool employed) const {
  return offer_pay(offer_card(f), params_.regions[region].pay_level, talent, employed);
}

/// The same products, in the same order, as standard_pay() with the premium and cap of offer_comp().
double Simulation::offer_pay(const OfferCard& c, double pay_level, float talent, bool employed) {
  const double p = c.base_pay * pay_level * talent_power(double(talent), c.elasticity);
  return std::min(p * (employed ? 1.0 + c.premium : 1.0), c.max_package);
}

Simulation::OfferCard Simulation::offer_card(int f) const {
  const auto& F = world_.f;
  OfferCard c{};
  c.base_pay = F.base_pay[f];
  c.elasticity = F.elasticity[f];
  c.premium = F.premium[f];
  c.max_package = F.max_package[f];
  c.prestige_term = params_.market.utility.prestige * F.prestige[f];
  c.max_fee = F.max_fee[f];
  c.office_begin = F.office_begin[f];
  c.office_end = F.office_begin[f + 1];
  c.hq = F.hq[f];
  c.sponsors = F.sponsors[f];
  return c;
}

double Simulation::max_comp(int f, int region, float talent) const {
  const auto& F = world_.f;
  return std::min(standard_pay(f, region, talent) * (1.0 + F.max_raise[f]), F.max_package[f]);
}

double Simulation::compute_per_researcher(int f, int region) const {
  const auto& F = world_.f;
  const int ctrl = F.controlled_by[f];
  double m = world_.reg.compute_multiplier[ctrl];
  if (region != ctrl && world_.reg.exempt_abroad[ctrl]) m = 1.0;
  return F.compute[f] * m / std::max<double>(1.0, double(F.headcount[f]));
}

int Simulation::visa_need(std::size_t i, int dest) const {
  const auto& r = world_.r;
  if (dest == r.origin[i]) return 0;
  if (dest == r.location[i]) {
    const auto st = Status(r.status[i]);
    if (st == Status::Citizen || st == Status::Permanent) return 0;
    if (st == Status::StudentVisa && r.visa_left[i] > 0) return 0;
    if (st == Status::WorkVisa && r.visa_left[i] > 0) return 1;
  }
  return 2;
}

double Simulation::visa_risk(std::size_t i, int dest) const {
  if (visa_need(i, dest) < 2) return 0.0;
  const auto& rule = visa_rule(dest, world_.r.origin[i]);
  const double sel = rule.capped ? world_.reg.selection_estimate[dest] : 1.0;
  return (1.0 - rule.approval * sel) + params_.market.utility.wait_cost * rule.processing_months;
}

double Simulation::utility(std::size_t i, int f, int region, double comp, bool move, uint32_t noise_block) const {
  const auto& U = params_.market.utility;
  const auto& r = world_.r;
  double u = U.pay * std::log(std::max(comp, 1.0));
  if (f != kNoFirm) {
    double lc = std::numeric_limits<double>::quiet_NaN(), prestige = 0.0;
    if (offer_terms_ready_) {  // from f's card: the prestige term and the term of its office in `region`
      const OfferCard& c = offer_cards_[std::size_t(f)];
      prestige = c.prestige_term;
      for (uint32_t k = c.office_begin; k < c.office_end; ++k)
        if (world_.f.office_region[k] == region) {
          lc = office_term_[k];
          break;
        }
    } else {
      prestige = U.prestige * world_.f.prestige[f];
    }
    if (std::isnan(lc)) lc = std::log1p(compute_per_researcher(f, region));  // not an office of f
    u += double(r.compute_taste[i]) * lc;
    u += prestige;
  }
  if (region == r.origin[i]) u += r.home_bias[i] + params_.regions[region].home_pull;
  if (move) u -= U.visa_risk * visa_risk(i, region) + U.move_cost;
  if (U.noise > 0) {
    auto b = rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::Noise, noise_block & 0xFFFFu);
    const double x = (double(b[0]) + 0.5) * 0x1.0p-32;
    u += U.noise * -std::log(-std::log(x));
  }
  return u;
}

bool Simulation::log_enabled(std::size_t i) const { return log_enabled_for(world_.r.tier[i]); }

bool Simulation::log_enabled_for(uint8_t tier) const {
  switch (params_.output.event_log) {
    case EventLogLevel::None: return false;
    case EventLogLevel::Top: return tier != Regular;
    case EventLogLevel::All: return true;
  }
  return false;
}

LogEntry Simulation::log_entry(std::size_t i, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region,
                               int to_region, float pay_before, float pay_after) const {
  return {world_.step, world_.r.uid[i], uint8_t(kind), from_firm, to_firm, uint8_t(from_region),
          uint8_t(to_region), pay_before, pay_after, world_.r.origin[i], world_.r.tier[i]};
}

/// The sink of log_into(), book_into() and lose_job_into() for serial callers: applies each
/// effect at once.
struct Simulation::Immediate {
  Simulation& sim;
  void flow(int from, int to) { sim.count_flow(from, to); }
  void headcount(int32_t f, int d) { sim.world_.f.headcount[std::size_t(f)] += d; }
  void pair(uint64_t key) { sim.poaching_.add(key); }
  void market(MarketStat k) { ++sim.stats_.market[k]; }
  void log(const LogEntry& e) { sim.stats_.log.push_back(e); }
  void wage(int32_t f, int64_t d) { sim.world_.f.wage_bill[std::size_t(f)] += double(d); }  // integers < 2^53: exact
  void elite(int32_t f, int d) { sim.world_.f.elite[std::size_t(f)] += d; }
  void theta(std::size_t k, int64_t d) { sim.theta_sums_[k] += d; }
  void pending(int32_t f, int d) { sim.world_.f.pending_in[std::size_t(f)] += d; }
  void visa_stat(int origin, VisaStat k) { sim.stats_.visa[std::size_t(origin) * kVisaStats + k] += 1; }
};

/// A staff member joins (sign +1) or leaves (−1) firm f at an office region with pay `comp`: the
/// firm's headcount, wage bill (USD, rounded per head as a recount would), elite count and Σθ
/// by region and top tiers (theta_sums_) change, handed to `to`. Σθ not while a recount is due,
/// nor while production is off (theta_sums_ is then empty, see count_firm_books()).
template <class Sink>
void Simulation::staff_into(int32_t f, int region, uint8_t tier, float talent, float comp, int sign, Sink& to) const {
  to.headcount(f, sign);
  to.wage(f, sign * fixed(double(comp), 1.0));
  if (tier == Elite) to.elite(f, sign);
  if (recount_firms_ || theta_sums_.empty()) return;
  const std::size_t W = std::size_t(regions()) + 1;
  const int64_t th = sign * fixed(double(talent), kSumScale);
  to.theta(std::size_t(f) * W + std::size_t(region), th);
  if (tier != Regular) to.theta(std::size_t(f) * W + W - 1, th);
}

void Simulation::log(std::size_t i, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region, int to_region,
                     float pay_before, float pay_after) {
  Immediate now{*this};
  log_into(now, i, kind, from_firm, to_firm, from_region, to_region, pay_before, pay_after);
}

/// log() with the entry handed to a sink (for passes that collect entries per chunk).
template <class Sink>
void Simulation::log_into(Sink& to, std::size_t i, LogKind kind, int32_t from_firm, int32_t to_firm, int from_region,
                          int to_region, float pay_before, float pay_after) const {
  if (log_enabled(i)) to.log(log_entry(i, kind, from_firm, to_firm, from_region, to_region, pay_before, pay_after));
}

void Simulation::count_flow(int from, int to) { stats_.flows[std::size_t(from) * regions() + to] += 1; }

void Simulation::execute_move(std::size_t i, int32_t firm, int region, float comp, LogKind kind) {
  book_move(move_researcher(i, firm, region, comp, kind));
}

/// The researcher's side of a move: only researcher i's columns change, so moves of different
/// researchers can run in parallel. Returns what book_move() needs (captured before the move).
MoveRecord Simulation::move_researcher(std::size_t i, int32_t firm, int region, float comp, LogKind kind) {
  auto& r = world_.r;
  const MoveRecord rec = record_move(i, firm, region, comp, kind);
  const int from_region = r.location[i];
  const int need = visa_need(i, region);
  if (region != from_region) {
    r.in_region[i] = 0;
    if (region == r.origin[i]) {
      r.status[i] = uint8_t(Status::Citizen);
    } else if (need == 2) {
      r.status[i] = uint8_t(Status::WorkVisa);
      r.visa_left[i] = int16_t(params_.regions[region].visa_months);
      r.renewals[i] = 0;
    }
    r.location[i] = uint8_t(region);
  } else if (need == 2) {  // status change in place (student, or no status) approved
    r.status[i] = uint8_t(Status::WorkVisa);
    r.visa_left[i] = int16_t(params_.regions[region].visa_months);
    r.renewals[i] = 0;
  }
  r.employer[i] = firm;
  r.comp[i] = comp;
  if (firm != rec.from) {  // relocating with the same employer keeps tenure (retention curves, raise anniversary)
    r.tenure[i] = 0;
    r.ref_offer[i] = 0;
  }
  r.grace[i] = -1;
  return rec;
}

/// What booking one executed move changes — flows, both firms' books (staff_into: headcount,
/// wage bill, elite count, Σθ), the poaching pair, market counters, the log entry — handed to
/// `to` (flow, headcount, wage, elite, theta, pair, market, log). book_move() applies each at
/// once; clearing() collects them per chunk of moves in parallel. One list of effects for both.
template <class Sink>
void Simulation::book_into(const MoveRecord& m, Sink& to) const {
  const auto kind = LogKind(m.kind);
  if (m.to_region != m.from_region) to.flow(m.from_region, m.to_region);
  if (m.from != kNoFirm) staff_into(m.from, m.from_region, m.tier, m.talent, m.before, -1, to);
  if (m.to != kNoFirm) staff_into(m.to, m.to_region, m.tier, m.talent, m.after, +1, to);
  if (kind == LogKind::Move && m.from != kNoFirm && m.to != kNoFirm) to.pair(poaching_key(m.from, m.to));
  if (kind == LogKind::Move) to.market(kJobToJob);
  if (kind == LogKind::Hire) to.market(kHires);
  if (kind == LogKind::Relocation) to.market(kRelocations);
  log_move_into(m, to);
}

/// The shared side of a move (headcounts, flows, poaching pairs, counters, the log): serial,
/// in the order of the moves.
void Simulation::book_move(const MoveRecord& m) {
  Immediate now{*this};
  book_into(m, now);
}

MoveRecord Simulation::record_move(std::size_t i, int32_t firm, int region, float comp, LogKind kind) const {
  const auto& r = world_.r;
  return {r.uid[i],      r.employer[i],    firm,          r.comp[i],   comp, r.talent[i],
          r.location[i], uint8_t(region), uint8_t(kind), r.origin[i], r.tier[i]};
}

LogEntry Simulation::log_entry_of(const MoveRecord& m) const {
  return {world_.step, m.uid, m.kind, m.from, m.to, m.from_region, m.to_region, m.before, m.after, m.origin, m.tier};
}

/// The log entry of an executed move, handed to `to` if the mover's tier is logged.
template <class Sink>
void Simulation::log_move_into(const MoveRecord& m, Sink& to) const {
  if (log_enabled_for(m.tier)) to.log(log_entry_of(m));
}

void Simulation::set_petition(std::size_t i, int32_t firm, int region, float comp, int months, uint8_t kind) {
  auto& r = world_.r;
  r.pending_firm[i] = firm;
  r.pending_region[i] = uint8_t(region);
  r.pending_comp[i] = comp;
  r.pending_left[i] = int8_t(std::min(127, months));
  r.pending_kind[i] = kind;
}

void Simulation::lose_job(std::size_t i, LogKind why) {
  Immediate now{*this};
  lose_job_into(i, why, now);
}

/// lose_job() with its shared effects (the log entry, the employer's books: staff_into) handed to `to`;
/// only researcher i's own columns change here, so different researchers may run in parallel.
template <class Sink>
void Simulation::lose_job_into(std::size_t i, LogKind why, Sink& to) {
  auto& r = world_.r;
  if (r.employer[i] == kNoFirm) return;
  log_into(to, i, why, r.employer[i], kNoFirm, r.location[i], r.location[i], r.comp[i], 0.f);
  // A change-of-status petition or a relocation belongs to this job: it ends with it.
  if (r.pending_firm[i] == r.employer[i] && r.pending_kind[i] != 0) r.pending_firm[i] = kNoFirm;
  staff_into(r.employer[i], r.location[i], r.tier[i], r.talent[i], r.comp[i], -1, to);
  r.employer[i] = kNoFirm;
  r.comp[i] = 0.f;
  r.tenure[i] = 0;
  r.ref_offer[i] = 0.f;
  if (Status(r.status[i]) == Status::WorkVisa && r.grace[i] < 0)
    r.grace[i] = int8_t(std::min(127, params_.regions[r.location[i]].grace_months));
}

void Simulation::force_departure(std::size_t i) {
  Immediate now{*this};
  force_departure_into(i, now);
}

/// force_departure() with its shared effects (the job's books, the log, the flow, the visa
/// counter, a pending hire's count) handed to `to`; only researcher i's own columns change.
template <class Sink>
void Simulation::force_departure_into(std::size_t i, Sink& sink) {
  auto& r = world_.r;
  lose_job_into(i, LogKind::Separation, sink);
  const int from = r.location[i];
  int to = r.origin[i];
  // Home, or with the departure region's third_region_share a region with open residence
  // other than home and here (chosen uniformly among them).
  auto open = [&](int g) { return params_.regions[g].open_residence && g != from && g != r.origin[i]; };
  int nopen = 0;
  for (int g = 0; g < regions(); ++g) nopen += open(g);
  if (nopen > 0 && params_.regions[from].third_region_share > 0) {
    auto blk = rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::Departure);
    if (double(blk[0]) * 0x1.0p-32 < params_.regions[from].third_region_share) {
      int k = int((uint64_t(blk[1]) * uint64_t(nopen)) >> 32);  // the k-th open region
      for (int g = 0; g < regions(); ++g)
        if (open(g) && k-- == 0) {
          to = g;
          break;
        }
    }
  }
  log_into(sink, i, LogKind::ForcedDeparture, kNoFirm, kNoFirm, from, to, 0.f, 0.f);
  sink.visa_stat(r.origin[i], kVisaForcedDepartures);
  sink.flow(from, to);
  r.location[i] = uint8_t(to);
  r.status[i] = uint8_t(to == r.origin[i] ? Status::Citizen : Status::Permanent);
  r.in_region[i] = 0;
  r.grace[i] = -1;
  r.visa_left[i] = 0;
  if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) sink.pending(r.pending_firm[i], -1);
  r.pending_firm[i] = kNoFirm;
}

void Simulation::refresh_tiers() {
  auto& r = world_.r;
  const std::size_t N = r.size();
  // Exact rank thresholds by radix select on the float bits (θ > 0, so bit patterns are ordered):
  // a histogram of the living's high 16 bits locates the buckets that hold the cuts; the low 16
  // bits of those buckets' members then give the cuts (nth_element). Talent never changes, so
  // the histogram is kept up to date by demography's exits and entrants (talent_hist_) instead
  // of being recounted over all N every step; the members of the last cuts' buckets are kept too
  // (near_cuts_). The cuts move little from one step to the next: when they stay in the same
  // buckets (almost always), only those members, the dead and the entrants can change tier, and
  // only they are re-tiered; otherwise the members are listed and everyone re-tiered in a pass
  // over all. (Each step had spent two passes over all N here: ~25 ms of thread time at 1e7.)
  if (talent_hist_.empty()) {
    // The dead count into a spare bucket (65536) rather than behind a branch. Per block of 512:
    // the buckets as column arithmetic (vectorised), then the increments. Counted with
    // per-thread arrays of its own (engine::count_chunks), freed after: the simulation's kept
    // counters would otherwise keep 0.5 MiB a thread for a count made once.
    const auto hi = engine::count_chunks(N, 65537, [&](int64_t* __restrict a, std::size_t b, std::size_t e) {
      const float* __restrict talent = r.talent.data();
      const uint8_t* __restrict alive = r.alive.data();
      constexpr std::size_t kBlock = 512;
      alignas(64) uint32_t bkt[kBlock];
      for (std::size_t i0 = b; i0 < e; i0 += kBlock) {
        const std::size_t m = std::min(kBlock, e - i0);
        for (std::size_t k = 0; k < m; ++k) bkt[k] = alive[i0 + k] != 0 ? talent_bucket(talent[i0 + k]) : 65536u;
        for (std::size_t k = 0; k < m; ++k) ++a[bkt[k]];
      }
    });
    talent_hist_.assign(hi.begin(), hi.begin() + 65536);
    near_cuts_valid_ = false;
  }
  const auto& hi = talent_hist_;
  const int64_t nalive = std::accumulate(hi.begin(), hi.end(), int64_t{0});  // (uint32 counts summed in int64)
  const auto& M = params_.market;
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
  const bool same_buckets = near_cuts_valid_ && be == elite_bucket_ && bt == top_bucket_;
  if (!same_buckets) {  // list the living in the cuts' buckets, in slot order
    engine::ChunkedBuffer<uint32_t> near;
    near.reset(N);
    for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        const int bkt = int(talent_bucket(r.talent[i]));
        if (r.alive[i] && (bkt == be || bkt == bt)) near.part(c).push_back(uint32_t(i));
      }
    });
    near.gather(near_cuts_);
    near_cuts_valid_ = true;
  }
  elite_bucket_ = be;
  top_bucket_ = bt;
  // The bucket's members' low halves, selected (nth_element) rather than histogrammed (2 × 65536
  // counters to clear and scan every step were most of a step's fixed cost at small populations).
  std::vector<uint16_t> lo_e, lo_t;
  for (const uint32_t i : near_cuts_) {
    const uint32_t x = std::bit_cast<uint32_t>(r.talent[i]);
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
  elite_cut_ = cut(be, above_e, k_elite, lo_e);
  top_cut_ = cut(bt, above_t, k_top, lo_t);
  const float ec = elite_cut_, tc = top_cut_;
  // Staff whose tier changes change their firm's elite count and, joining or leaving the top
  // tiers, its top-tier Σθ (theta_sums_, if kept).
  const bool track = !recount_firms_ && !theta_sums_.empty();
  const std::size_t W = std::size_t(regions()) + 1;
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
        const int64_t th = fixed(double(r.talent[i]), kSumScale);
        thetas.part(c).push_back({uint32_t(std::size_t(f) * W + W - 1), old == Regular ? th : -th});
      }
    };
  };
  if (same_buckets) {
    // Everyone else's θ lies above or below both the old and the new cut of each bucket: their
    // tier stands. (A slot on both lists is re-tiered twice; the second time changes nothing.)
    auto moved = moved_into(0);
    auto retier = [&](uint32_t i) {
      const uint8_t old = r.tier[i], now = tier_of(r.talent[i], r.alive[i], ec, tc);
      if (now == old) return;
      r.tier[i] = now;
      moved(i, old);
    };
    for (const uint32_t i : near_cuts_) retier(i);
    for (const uint32_t i : tier_dirty_) retier(i);
  } else {
    for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      assign_tiers(b, e, ec, tc, r.talent.data(), r.alive.data(), r.tier.data(), moved_into(c));
    });
  }
  tier_dirty_.clear();
  add_deltas(theta_sums_, thetas);
  add_deltas(world_.f.elite, elites);
  top_sorted_valid_ = false;
}

// ===================================================================== the step
void Simulation::step() {
  stats_.reset(regions(), int(world_.f.size()));
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  int k = 0;
  auto timed = [&](auto&& phase) {
    phase();
    const auto t1 = clock::now();
    phase_seconds_[k++] += std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
  };
  timed([&] { events(); });
  timed([&] { demography(); });
  timed([&] { firm_planning(); });
  timed([&] { offers(); });
  timed([&] { retention(); });
  timed([&] { clearing(); });
  timed([&] { visa(); });
  timed([&] { production(); });
  timed([&] { pay(); });
  timed([&] { record(); });
  finish_step();
}

void Simulation::finish_step() {
  if (checking_) {
    const auto problems = check_invariants();
    if (!problems.empty()) {
      std::string msg = "invariant violated after step " + std::to_string(world_.step) + ":";
      for (std::size_t k = 0; k < problems.size() && k < 20; ++k) msg += "\n  " + problems[k];
      if (problems.size() > 20) msg += "\n  … and " + std::to_string(problems.size() - 20) + " more";
      throw std::logic_error(msg);
    }
  }
  remember_stocks();
  ++world_.step;
}

// 1. events ------------------------------------------------------------------
void Simulation::events() {
  raid_offers_.clear();
  std::fill(world_.f.extra_capacity.begin(), world_.f.extra_capacity.end(), 0);  // raids below add to it
  // Copy this step's events first: a `set` event replaces params_ (and its event list).
  std::vector<Event> due;
  for (const auto& e : params_.events)
    if (e.at.step == world_.step) due.push_back(e);
  for (const auto& e : due) apply_event(e);
  if (!due.empty()) recount_firms_ = true;
}

// 2. demography ----------------------------------------------------------------
void Simulation::demography() {
  auto& r = world_.r;
  const auto& P = params_.population;
  const auto& M = params_.market;
  const std::size_t N = r.size();
  const int retire = P.retirement_age * 12;
  struct Part {
    std::vector<uint32_t> exits, separations;
  };
  std::vector<Part> parts(engine::chunk_count(N));
  // Exit, separation and random-offer arrival are exclusive (exit first, then separation, then
  // an offer: "separate first, then offers", MODEL.md §8): researcher i has one of them with
  // probability p_i = e + (1−e)·δ_i + (1−e)(1−δ_i)·λ_i (δ_i = 0 without a job, λ_i = 0 while a visa
  // petition is pending). Instead of a uniform per researcher, each chunk draws the researchers
  // that are *candidates* for an event, with the common probability q = max p_i, as a Bernoulli
  // process by geometric gaps; a candidate then draws u ~ U(0, q) and has the event whose
  // interval [0, e), [e, e + (1−e)δ_i), … contains u. So P(event k) = q · P_k/q = P_k exactly, as
  // before, but the cost is O(q·N) random numbers instead of O(N). The draws come from one
  // stream per (seed, step, chunk); chunks are fixed slot ranges, so the result does not depend
  // on the thread count.
  const double e_rate = std::clamp(P.exit_rate, 0.0, 1.0), delta = std::clamp(M.separation, 0.0, 1.0);
  const double lam0 = std::clamp(M.lambda0, 0.0, 1.0), lam1 = std::clamp(M.lambda1, 0.0, 1.0);
  const double q = std::max(e_rate + (1 - e_rate) * lam0, e_rate + (1 - e_rate) * (delta + (1 - delta) * lam1));
  const double log_skip = q < 1.0 ? std::log1p(-q) : 0.0;  // gaps: floor(ln U / ln(1−q))
  for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
    auto& part = parts[c];
    rng::Stream s(params_.run.seed, uint32_t(world_.step), uint64_t(c), Purpose::ChunkEvents);
    auto next_after = [&](std::size_t i) -> std::size_t {  // next candidate at or after slot i
      if (q <= 0.0) return e;
      if (q >= 1.0) return i;
      const double g = std::floor(std::log(rng::uniform_open01(s)) / log_skip);
      return g >= double(e - i) ? e : i + std::size_t(g);
    };
    // Clocks, as plain column arithmetic (vectorised): age, months in the region, tenure.
    tick_clocks(b, e, int16_t(P.ageing ? 1 : 0), r.flags.data(), r.alive.data(), r.employer.data(), r.age.data(),
                r.in_region.data(), r.tenure.data());
    std::vector<uint32_t> retired;
    if (P.ageing) list_retired(b, e, retire, r.alive.data(), r.age.data(), retired);
    // Candidates for a random event.
    std::vector<uint32_t> quits;
    for (std::size_t i = next_after(b); i < e; i = next_after(i + 1)) {
      const double u = rng::uniform01(s) * q;  // drawn for every candidate, alive or not
      if (!r.alive[i] || (P.ageing && r.age[i] >= retire)) continue;
      if (u < e_rate) {
        quits.push_back(uint32_t(i));
        continue;
      }
      const bool employed = r.employer[i] != kNoFirm;
      const double d_i = employed ? delta : 0.0;
      const double sep_end = e_rate + (1 - e_rate) * d_i;
      if (u < sep_end) {
        part.separations.push_back(uint32_t(i));
      } else if (r.pending_firm[i] == kNoFirm &&
                 u < sep_end + (1 - e_rate) * (1 - d_i) * (employed ? lam1 : lam0)) {
        r.flags[i] = kFlagOffer;
      }
    }
    part.exits.resize(retired.size() + quits.size());
    std::merge(retired.begin(), retired.end(), quits.begin(), quits.end(), part.exits.begin());
  });
  // Apply exits and separations chunk by chunk, in parallel: a researcher's own columns change
  // in place; headcounts, pending hires and counters are integer totals per thread; each chunk's
  // log entries are appended in chunk order, i.e. in slot order, as a serial pass would (the BM
  // reduction at 1e7 has ~0.4M separations a month).
  const std::size_t NF = world_.f.size(), nreg = std::size_t(regions());
  // Slots: the firms' books (BooksChunk, from 0); exits, separations; exits by region.
  const std::size_t o_exits = 4 * NF, o_seps = o_exits + 1, o_region = o_seps + 1;
  auto& logs = log_parts_;
  engine::ChunkedBuffer<Delta> thetas;
  logs.reset(N);
  thetas.reset(N);
  const auto& applied = count_chunks(N, o_region + nreg, [&](int64_t* a, std::size_t b, std::size_t) {
    const std::size_t c = b / engine::kChunk;
    BooksChunk sink{a, 0, NF, logs.part(c), thetas.part(c)};
    const Part& part = parts[c];
    for (const uint32_t i : part.exits) {
      lose_job_into(i, LogKind::Separation, sink);
      log_into(sink, i, LogKind::Exit, kNoFirm, kNoFirm, r.location[i], r.location[i], 0.f, 0.f);
      if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) sink.pending(r.pending_firm[i], -1);
      r.alive[i] = 0;
      r.pending_firm[i] = kNoFirm;
      r.employer[i] = kNoFirm;
      ++a[o_exits];
      ++a[o_region + r.location[i]];
    }
    // The separated are scattered (one in ~20 of the employed a month in the BM reduction) and
    // each reads and writes a dozen columns: fetched kBookAhead places ahead.
    const auto& seps = part.separations;
    with_prefetch(
        0, seps.size(), kBookAhead, [&](std::size_t k) { prefetch_leaver_columns(r, seps[k]); },
        [&](std::size_t k) {
          const uint32_t i = seps[k];
          lose_job_into(i, LogKind::Separation, sink);
          r.flags[i] |= kFlagSeparated;
          ++a[o_seps];
        });
  });
  add_book_changes(world_.f, applied.data());
  stats_.market[kExits] += applied[o_exits];
  stats_.market[kSeparations] += applied[o_seps];
  for (std::size_t x = 0; x < nreg; ++x) stats_.exits_region[x] += applied[o_region + x];
  logs.append_to(stats_.log);
  add_deltas(theta_sums_, thetas);
  std::vector<uint32_t> freed;  // slot order
  for (const auto& part : parts) freed.insert(freed.end(), part.exits.begin(), part.exits.end());
  // refresh_tiers()' caches: the dead leave the talent histogram and the list near the cuts.
  if (!talent_hist_.empty())
    for (const uint32_t i : freed) --talent_hist_[talent_bucket(r.talent[i])];
  if (near_cuts_valid_ && !freed.empty())
    std::erase_if(near_cuts_, [&](uint32_t i) { return r.alive[i] == 0; });
  tier_dirty_.insert(tier_dirty_.end(), freed.begin(), freed.end());
  // Free slots stay sorted so entrants fill the lowest first.
  std::vector<uint32_t> merged;
  merged.reserve(free_slots_.size() + freed.size());
  std::merge(free_slots_.begin(), free_slots_.end(), freed.begin(), freed.end(), std::back_inserter(merged));
  free_slots_.swap(merged);

  // Entrants through the education pipeline.
  const int R = regions();
  const auto& U = params_.market.utility;
  std::size_t next_free = 0;
  std::vector<int64_t> entering(R, 0);
  int64_t all_entering = 0;
  for (int o = 0; o < R; ++o) {
    const auto& reg = params_.regions[o];
    const double expected = reg.entrants_per_month * reg.ai_propensity;
    if (expected <= 0) continue;
    rng::Stream s(params_.run.seed, uint32_t(world_.step), uint64_t(o), Purpose::Entry);
    entering[o] = int64_t(std::floor(expected));
    if (rng::bernoulli(s, expected - double(entering[o]))) ++entering[o];
    all_entering += entering[o];
  }
  // Columns grow by a year of this month's net entry or by Researchers::headroom, whichever is
  // more (growing by a year of a quiet month's entry alone re-copied all columns every ~11
  // months: 0.5 s a time at 10M researchers).
  const int64_t growth = all_entering - int64_t(free_slots_.size());
  if (growth > 0 && r.size() + std::size_t(growth) > r.uid.capacity())
    r.reserve(std::max(r.size() + 12 * std::size_t(growth), Researchers::headroom(r.size())));
  // Slots and ids are handed out serially, in region order (the lowest free slots first);
  // each entrant's columns are then drawn in parallel (its draws are keyed by its own id and
  // it writes only its own slot); counts and the log follow serially in the same order.
  struct Entrant {
    uint32_t slot;
    uint8_t origin;
    uint64_t uid;
  };
  std::vector<Entrant> ents;
  ents.reserve(std::size_t(all_entering));
  std::size_t new_size = r.size();
  for (int o = 0; o < R; ++o)
    for (int64_t k = 0; k < entering[o]; ++k) {
      const std::size_t i = next_free < free_slots_.size() ? std::size_t(free_slots_[next_free++]) : new_size++;
      ents.push_back({uint32_t(i), uint8_t(o), world_.next_uid++});
    }
  if (new_size > r.size()) r.resize(new_size);
  // The entrants fill freed slots scattered over the columns, so each of their ~20 column writes
  // would miss the cache: the slots kEntryAhead entrants ahead are prefetched for writing, and
  // the entrants are split finer than kChunk (~40k a month at 1e7 make fewer than three chunks).
  // Each location (and the slot's tier) is kept per entrant for the counts and the log, which
  // follow in entrant order.
  constexpr std::size_t kEntryAhead = 8;
  std::vector<uint8_t> ent_loc(ents.size()), ent_tier(ents.size());
  engine::for_ranges(ents.size(), 1024, [&](std::size_t kb, std::size_t ke) {
    with_prefetch(kb, ke, kEntryAhead, [&](std::size_t k) { prefetch_entrant_columns(r, ents[k].slot); }, [&](std::size_t k) {
      const std::size_t i = ents[k].slot;
      const int o = ents[k].origin;
      const auto& reg = params_.regions[o];
      const uint64_t uid = ents[k].uid;
      rng::Stream t(params_.run.seed, uint32_t(world_.step), uid, Purpose::Entry);
      r.uid[i] = uid;
      r.alive[i] = 1;
      r.origin[i] = uint8_t(o);
      r.talent[i] = P.fixed_talent > 0 ? float(P.fixed_talent) : float(std::exp(reg.talent_mu + reg.talent_sigma * rng::normal(t)));
      r.age[i] = int16_t(P.min_age * 12 + int(rng::uniform_int(t, uint32_t((P.max_entry_age - P.min_age) * 12 + 1))));
      r.home_bias[i] = float(U.home + U.home_sd * rng::normal(t));
      r.compute_taste[i] = float(std::max(0.0, U.compute + U.compute_sd * rng::normal(t)));
      int loc = o;
      double x = rng::uniform01(t);
      for (const auto& sa : reg.study_abroad) {
        x -= sa.value;
        if (x < 0) {
          loc = params_.region_index(sa.name);
          break;
        }
      }
      r.location[i] = uint8_t(loc);
      r.status[i] = uint8_t(loc == o ? Status::Citizen : Status::StudentVisa);
      r.visa_left[i] = int16_t(loc == o ? 0 : params_.regions[loc].student_visa_months);
      r.renewals[i] = 0;
      r.grace[i] = -1;
      r.in_region[i] = 0;
      r.tenure[i] = 0;
      r.employer[i] = kNoFirm;
      r.comp[i] = 0.f;
      r.ref_offer[i] = 0.f;
      r.output[i] = 0.f;
      r.hc_output[i] = 0.f;
      r.pending_firm[i] = kNoFirm;
      r.flags[i] = kFlagEntered | (rng::uniform01(t) < M.lambda0 ? kFlagOffer : 0);
      ent_loc[k] = uint8_t(loc);
      ent_tier[k] = r.tier[i];
    });
  });
  stats_.market[kEntrants] += int64_t(ents.size());
  for (const uint8_t loc : ent_loc) ++stats_.entrants_region[loc];
  // refresh_tiers()' caches: the entrants join the talent histogram and, in the buckets of the
  // last cuts, the list near them.
  for (const auto& en : ents) {
    const uint32_t bkt = talent_bucket(r.talent[en.slot]);
    if (!talent_hist_.empty()) ++talent_hist_[bkt];
    if (near_cuts_valid_ && (int64_t(bkt) == elite_bucket_ || int64_t(bkt) == top_bucket_)) near_cuts_.push_back(en.slot);
    tier_dirty_.push_back(en.slot);
  }
  // log_entry() without re-reading the scattered slots (the tier is the slot's: refresh_tiers
  // below has not run yet).
  for (std::size_t k = 0; k < ents.size(); ++k)
    if (log_enabled_for(ent_tier[k]))
      stats_.log.push_back({world_.step, ents[k].uid, uint8_t(LogKind::Entry), kNoFirm, kNoFirm, ent_loc[k], ent_loc[k],
                            0.f, 0.f, ents[k].origin, ent_tier[k]});
  free_slots_.erase(free_slots_.begin(), free_slots_.begin() + std::ptrdiff_t(next_free));
  if (P.ageing || stats_.market[kEntrants] > 0 || stats_.market[kExits] > 0 || world_.step == 0) refresh_tiers();
}

// 3. firm planning -------------------------------------------------------------
void Simulation::firm_planning() {
  auto& F = world_.f;
  const std::size_t NF = F.size();
  // The firms' books are kept up to date at every change, so planning needs no pass over the
  // researchers (at 1e7: ~40 ms a step) unless that chain was broken (recount_firms_): the first
  // step, a restored run, an event this step (events may change anything), a hand edit.
  if (recount_firms_) {
    count_firm_books();
    recount_firms_ = false;
  }
  const double month_growth = 1.0 / 12.0;
  plan_capacity_.assign(NF, 0);
  // Firms in parallel ranges (a pow per growing firm: ~0.5 ms a step at 13,901 firms, a fixed
  // cost that dominated small populations' steps when serial).
  engine::for_ranges(NF, kFirmGrain, [&](std::size_t fb, std::size_t fe) {
    for (std::size_t f = fb; f < fe; ++f) {
      if (F.growth[f] != 0 && world_.step > 0) F.target[f] *= std::pow(1.0 + F.growth[f], month_growth);
      F.compute[f] = F.budget[f] * F.compute_share[f] / params_.production.gpu_cost * F.compute_factor[f];
      const bool broke = F.wage_bill[f] >= F.budget[f] * (1.0 - F.compute_share[f]) && F.budget[f] > 0 && !F.unlimited[f];
      F.vacancies[f] = F.unlimited[f] ? std::numeric_limits<int64_t>::max() / 4
                       : broke ? 0
                               : std::max<int64_t>(0, std::llround(F.target[f]) - F.headcount[f] - F.pending_in[f]);
      plan_capacity_[f] = std::max<int64_t>(F.headcount[f] + F.pending_in[f], std::llround(F.target[f]));
    }
  });
  build_firm_sampler();
}

void Simulation::count_firm_books() {
  auto& F = world_.f;
  auto& r = world_.r;
  const std::size_t NF = F.size();
  // Per-firm integer sums: headcount, pending, wage bill (USD, rounded per head), elite.
  const auto& tot = count_chunks(r.size(), NF * 4, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      if (!r.alive[i]) continue;
      if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) ++a[std::size_t(r.pending_firm[i]) * 4 + 1];
      const int32_t f = r.employer[i];
      if (f == kNoFirm) continue;
      int64_t* x = &a[std::size_t(f) * 4];
      x[0] += 1;
      x[2] += fixed(double(r.comp[i]), 1.0);
      x[3] += r.tier[i] == Elite;
    }
  });
  for (std::size_t f = 0; f < NF; ++f) {
    F.headcount[f] = tot[f * 4];
    F.pending_in[f] = tot[f * 4 + 1];
    F.wage_bill[f] = double(tot[f * 4 + 2]);
    F.elite[f] = tot[f * 4 + 3];
  }
  // Σθ for production; with production off (the textbook reductions) nothing tracks it, and
  // production() counts it should it be switched on by hand.
  if (params_.production.scale > 0)
    count_staff_theta();
  else
    theta_sums_.clear();
}

void Simulation::build_firm_sampler() {
  // Vose's alias method over weights vacancies × search intensity (unlimited firms: intensity).
  const auto& F = world_.f;
  const std::size_t n = F.size();
  std::vector<double> w(n);
  double total = 0;
  for (std::size_t f = 0; f < n; ++f) {
    double open = 0;
    for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) open += F.office_open[k] ? F.office_share[k] : 0;
    w[f] = open <= 0 ? 0.0 : F.unlimited[f] ? F.search_intensity[f] : double(F.vacancies[f]) * F.search_intensity[f];
    total += w[f];
  }
  alias_total_ = total;
  alias_prob_.assign(n, 0.0);
  alias_idx_.assign(n, 0);
  if (total <= 0 || n == 0) return;
  std::vector<int32_t> small, large;
  std::vector<double> p(n);
  for (std::size_t f = 0; f < n; ++f) {
    p[f] = w[f] * double(n) / total;
    (p[f] < 1.0 ? small : large).push_back(int32_t(f));
  }
  while (!small.empty() && !large.empty()) {
    const int32_t s = small.back(), l = large.back();
    small.pop_back();
    alias_prob_[s] = p[s];
    alias_idx_[s] = l;
    p[l] = (p[l] + p[s]) - 1.0;
    if (p[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (int32_t f : large) alias_prob_[f] = 1.0, alias_idx_[f] = f;
  for (int32_t f : small) alias_prob_[f] = 1.0, alias_idx_[f] = f;
}

// 4. offers ------------------------------------------------------------------------
/// The office [begin, end) of a firm with headquarters hq that u ∈ [0, 1) picks, by open share.
static int pick_office(const Firms& F, uint32_t begin, uint32_t end, int hq, double u) {
  double tot = 0;
  for (uint32_t k = begin; k < end; ++k) tot += F.office_open[k] ? F.office_share[k] : 0;
  double x = u * tot;
  int last = hq;
  for (uint32_t k = begin; k < end; ++k) {
    if (!F.office_open[k]) continue;
    last = F.office_region[k];
    x -= F.office_share[k];
    if (x < 0) break;
  }
  return last;
}

static int pick_office(const Firms& F, int f, double u) {
  return pick_office(F, F.office_begin[f], F.office_begin[f + 1], F.hq[f], u);
}

/// Evaluates one offer for researcher o.slot; keeps it in `out` if the firm can make it.
void Simulation::consider(const Offer& o, std::vector<Offer>& out) const {
  const auto& r = world_.r;
  const auto& F = world_.f;
  const std::size_t i = o.slot;
  const int need = visa_need(i, o.region);
  const bool sponsors = offer_terms_ready_ ? offer_cards_[std::size_t(o.firm)].sponsors != 0 : F.sponsors[o.firm] != 0;
  if (need >= 1 && !sponsors) return;
  const double max_fee = offer_terms_ready_ ? offer_cards_[std::size_t(o.firm)].max_fee : F.max_fee[o.firm];
  if (need == 2 && params_.regions[o.region].petition_fee > max_fee) return;
  Offer x = o;
  const bool employed = r.employer[i] != kNoFirm;
  const double stay_comp = employed ? double(r.comp[i]) : params_.regions[r.location[i]].unemployed_income;
  x.u_stay = float(utility(i, r.employer[i], r.location[i], stay_comp, false, 0));
  x.u_offer = float(utility(i, o.firm, o.region, o.comp, true, uint32_t(o.firm) + 1));
  out.push_back(x);
}

void Simulation::offers() {
  auto& r = world_.r;
  const auto& F = world_.f;
  const auto& M = params_.market;
  const std::size_t N = r.size();
  // ln(1 + compute per researcher) of every office, once per step: utility() needs it for
  // both sides of every offer, and headcounts do not change while offers are made. By office,
  // not by firm × region (0.8 MB at 13,901 firms and 7 regions, mostly empty). Each firm's
  // OfferCard is copied in the same pass.
  {
    office_term_.resize(F.office_region.size());
    offer_cards_.resize(F.size());
    engine::for_ranges(F.size(), kFirmGrain, [&](std::size_t b, std::size_t e) {
      for (std::size_t f = b; f < e; ++f) {
        offer_cards_[f] = offer_card(int(f));
        for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
          office_term_[k] = std::log1p(compute_per_researcher(int(f), F.office_region[k]));
      }
    });
    offer_terms_ready_ = true;
  }
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{offer_terms_ready_};
  // Targeted search first (scouting lists and raids), sorted by researcher.
  std::vector<Offer> targeted;
  scouting(targeted);
  for (const auto& o : raid_offers_) consider(o, targeted);
  std::sort(targeted.begin(), targeted.end(), [](const Offer& a, const Offer& b) {
    return a.slot != b.slot ? a.slot < b.slot : a.firm < b.firm;
  });
  stats_.market[kTargetedOffers] += int64_t(targeted.size());
  // Random search (Burdett–Mortensen channel).
  auto& buf = offer_parts_;
  buf.reset(N);
  const std::size_t nf = F.size();
  if (alias_total_ > 0 && nf > 0 && (M.lambda0 > 0 || M.lambda1 > 0)) {
    for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
      auto& out = buf.part(c);
      // The few researchers with an offer this step (a few percent) are scattered over the chunk,
      // so each touches a cache line per column it reads: list them first, then fetch the columns
      // of the researcher kAhead places ahead while evaluating the current one.
      SlotList who;
      const std::size_t nwho = list_offer_takers(b, e, r.flags.data(), r.alive.data(), r.pending_firm.data(), who.data());
      // A software pipeline over the list (perf at 1e7: the offer path waited on the drawn
      // firm's alias entry, its pay and office columns and its compute term, and on the current
      // employer's, more than on the researcher's own columns): the researcher's columns are
      // fetched kAhead places ahead; kDraw ahead, their Philox block is drawn (it is keyed by the
      // id, now arrived) and the alias entry it picks fetched, with the employer's firm data;
      // kFirm ahead the firm is read from the alias table and its card (OfferCard: one line
      // instead of ten columns) fetched, with the employer's offices; kOffice ahead the firm's
      // first office. Same draws, same order, so the same offers.
      constexpr std::size_t kAhead = 16, kDraw = 8, kFirm = 4, kOffice = 2, kRing = 16;
      static_assert(kAhead > kDraw && kDraw > kFirm && kFirm > kOffice && kDraw < kRing && (kRing & (kRing - 1)) == 0);
      struct Drawn {
        std::array<uint32_t, 4> blk;
        int32_t firm;
      };
      std::array<Drawn, kRing> ring;
      auto draw = [&](std::size_t k) {
        const std::size_t i = who[k];
        auto& d = ring[k & (kRing - 1)];
        d.blk = rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::OfferArrival);
        const uint32_t col = uint32_t((uint64_t(d.blk[1]) * nf) >> 32);
        __builtin_prefetch(alias_prob_.data() + col);
        __builtin_prefetch(alias_idx_.data() + col);
        const int32_t now = r.employer[i];
        if (now != kNoFirm) __builtin_prefetch(offer_cards_.data() + now);
      };
      auto pick = [&](std::size_t k) {
        auto& d = ring[k & (kRing - 1)];
        const uint32_t col = uint32_t((uint64_t(d.blk[1]) * nf) >> 32);
        const int32_t f = (double(d.blk[2]) * 0x1.0p-32 < alias_prob_[col]) ? int32_t(col) : alias_idx_[col];
        d.firm = f;
        __builtin_prefetch(offer_cards_.data() + f);
        const int32_t now = r.employer[who[k]];  // its card has arrived: fetch its offices' terms
        if (now != kNoFirm) {
          const uint32_t o = offer_cards_[std::size_t(now)].office_begin;
          prefetch_slot(o, F.office_region, office_term_);
        }
      };
      auto offices = [&](std::size_t k) {  // the firm's card has arrived: fetch its first office
        const uint32_t o = offer_cards_[std::size_t(ring[k & (kRing - 1)].firm)].office_begin;
        prefetch_slot(o, F.office_open, F.office_share, F.office_region, office_term_);
      };
      for (std::size_t k = 0; k < std::min(nwho, kAhead); ++k) prefetch_offer_columns(r, who[k]);
      for (std::size_t k = 0; k < std::min(nwho, kDraw); ++k) draw(k);
      for (std::size_t k = 0; k < std::min(nwho, kFirm); ++k) pick(k);
      for (std::size_t k = 0; k < std::min(nwho, kOffice); ++k) offices(k);
      for (std::size_t k = 0; k < nwho; ++k) {
        if (k + kAhead < nwho) prefetch_offer_columns(r, who[k + kAhead]);
        if (k + kDraw < nwho) draw(k + kDraw);
        if (k + kFirm < nwho) pick(k + kFirm);
        if (k + kOffice < nwho) offices(k + kOffice);
        const std::size_t i = who[k];
        const bool employed = r.employer[i] != kNoFirm;
        const auto& blk = ring[k & (kRing - 1)].blk;
        const int32_t f = ring[k & (kRing - 1)].firm;
        if (f == r.employer[i]) continue;
        const OfferCard& card = offer_cards_[std::size_t(f)];
        const int region = pick_office(F, card.office_begin, card.office_end, card.hq, double(blk[3]) * 0x1.0p-32);
        Offer o{uint32_t(i), f, uint8_t(region), 0,
                float(offer_pay(card, params_.regions[region].pay_level, r.talent[i], employed)), 0.f, 0.f};
        consider(o, out);
      }
    });
  }
  const std::size_t nrandom = buf.size();
  stats_.market[kOffers] += int64_t(nrandom);
  // Merge: per researcher keep the offer with the highest utility (ties: random first, then firm
  // id). Read straight from the chunks (in slot order; at most one random offer per researcher),
  // not from a gathered copy (2M offers, 48 MB a step in the BM reduction at 1e7).
  offers_.clear();
  offers_.reserve(nrandom + targeted.size());
  std::size_t t = 0;
  auto targeted_only_before = [&](uint32_t slot) {  // researchers before `slot` with targeted offers only
    while (t < targeted.size() && targeted[t].slot < slot) {
      const Offer* best = &targeted[t];
      for (++t; t < targeted.size() && targeted[t].slot == best->slot; ++t)
        if (targeted[t].u_offer > best->u_offer) best = &targeted[t];
      offers_.push_back(*best);
    }
  };
  buf.for_each_in_order([&](const Offer& o) {
    targeted_only_before(o.slot);
    const Offer* best = &o;
    for (; t < targeted.size() && targeted[t].slot == o.slot; ++t)
      if (targeted[t].u_offer > best->u_offer) best = &targeted[t];
    offers_.push_back(*best);
  });
  targeted_only_before(UINT32_MAX);
}

void Simulation::scouting(std::vector<Offer>& targeted) {
  auto& F = world_.f;
  auto& r = world_.r;
  std::vector<int> scouts;
  for (std::size_t f = 0; f < F.size(); ++f) {
    if (F.scouting_list[f] <= 0 || F.scouting_rate[f] <= 0) continue;
    rng::Stream s(params_.run.seed, uint32_t(world_.step), f, Purpose::Scouting);
    if (rng::bernoulli(s, F.scouting_rate[f])) scouts.push_back(int(f));
  }
  if (scouts.empty()) return;
  // Researchers of the top tiers in scouting order (talent, then id). Scouts rarely look past the
  // first few thousand, so only a prefix is sorted; the rest is sorted the first time a scout
  // reaches it. The order seen by the scouts is the same total order either way.
  auto scout_order = [&](uint32_t a, uint32_t b) { return r.talent[a] != r.talent[b] ? r.talent[a] > r.talent[b] : r.uid[a] < r.uid[b]; };
  if (!top_sorted_valid_) {
    top_sorted_ = engine::indices_where(r.size(), [&](std::size_t i) { return r.alive[i] && r.tier[i] != Regular; });
    top_sorted_prefix_ = std::min<std::size_t>(top_sorted_.size(), 4096);
    std::partial_sort(top_sorted_.begin(), top_sorted_.begin() + std::ptrdiff_t(top_sorted_prefix_), top_sorted_.end(), scout_order);
    top_sorted_valid_ = true;
  }
  for (int f : scouts) {
    const auto rb = F.rivals.begin() + F.rivals_begin[f], re = F.rivals.begin() + F.rivals_begin[f + 1];
    int64_t sent = 0;
    rng::Stream s(params_.run.seed, uint32_t(world_.step), uint64_t(f), Purpose::OfferOffice);
    for (std::size_t k = 0; k < top_sorted_.size(); ++k) {
      if (k == top_sorted_prefix_) {  // first scout to look this deep: sort the rest
        tbb::parallel_sort(top_sorted_.begin() + std::ptrdiff_t(k), top_sorted_.end(), scout_order);
        top_sorted_prefix_ = top_sorted_.size();
      }
      const uint32_t i = top_sorted_[k];
      if (sent >= F.scouting_list[f]) break;
      if (r.employer[i] == f || r.pending_firm[i] != kNoFirm || (r.flags[i] & kFlagSeparated)) continue;
      if (rb != re && std::find(rb, re, r.employer[i]) == re) continue;
      const int region = pick_office(F, f, rng::uniform01(s));
      const bool employed = r.employer[i] != kNoFirm;
      Offer o{i, int32_t(f), uint8_t(region), 1, float(offer_comp(f, region, r.talent[i], employed)), 0.f, 0.f};
      const std::size_t before = targeted.size();
      consider(o, targeted);
      sent += targeted.size() > before;
    }
  }
}

// 5. retention -------------------------------------------------------------------
void Simulation::retention() {
  auto& r = world_.r;
  auto& F = world_.f;
  const double a = params_.market.utility.pay;
  movers_.clear();
  struct Raise {
    uint32_t slot;
    float comp, ref;
  };
  engine::ChunkedBuffer<Mover> mv;
  engine::ChunkedBuffer<Raise> rs;
  mv.reset(offers_.size());
  rs.reset(offers_.size());
  for_chunks(offers_.size(), [&](std::size_t c, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      const Offer& o = offers_[k];
      const std::size_t i = o.slot;
      const int32_t j = r.employer[i];
      auto move = [&](float comp) { mv.part(c).push_back({o.slot, o.firm, o.region, o.targeted, comp, r.talent[i], r.uid[i]}); };
      if (j == kNoFirm) {  // no employer to counter; an offer that leaves one no worse off is taken
        if (o.u_offer >= o.u_stay) move(o.comp);
        continue;
      }
      const auto rule = RetentionRule(F.retention[j]);
      if (rule == RetentionRule::None || a <= 0) {
        if (o.u_offer > o.u_stay) move(o.comp);
        continue;
      }
      const double cur = r.comp[i];
      const double vmax_j = std::max(cur, max_comp(j, r.location[i], r.talent[i]));
      const double u_jmax = o.u_stay + a * (std::log(vmax_j) - std::log(std::max(cur, 1.0)));
      if (rule == RetentionRule::Match) {
        if (o.u_offer <= o.u_stay) continue;
        if (u_jmax >= o.u_offer) {  // matched: raise to the offer's utility
          const double c2 = std::min(vmax_j, cur * std::exp((o.u_offer - o.u_stay) / a));
          rs.part(c).push_back({o.slot, float(c2), o.comp});
        } else {
          move(o.comp);
        }
        continue;
      }
      // Bertrand (Postel-Vinay–Robin): both bid up to their maximum; the one the researcher
      // values more wins and pays what matches the loser's maximum.
      const double vmax_k = std::max<double>(o.comp, max_comp(o.firm, o.region, r.talent[i]));
      const double u_kmax = o.u_offer + a * (std::log(vmax_k) - std::log(std::max<double>(o.comp, 1.0)));
      if (u_kmax <= o.u_stay) continue;
      if (u_kmax > u_jmax) {
        const double c2 = std::clamp(double(o.comp) * std::exp((u_jmax - o.u_offer) / a), double(o.comp), vmax_k);
        move(float(c2));
      } else {
        const double c2 = std::clamp(cur * std::exp((u_kmax - o.u_stay) / a), cur, vmax_j);
        rs.part(c).push_back({o.slot, float(c2), float(vmax_k)});
      }
    }
  });
  rs.for_each_in_order([&](const Raise& x) {
    const float before = r.comp[x.slot];
    r.comp[x.slot] = x.comp;
    r.ref_offer[x.slot] = x.ref;
    F.wage_bill[std::size_t(r.employer[x.slot])] += double(fixed(double(x.comp), 1.0) - fixed(double(before), 1.0));
    ++stats_.market[kCounterRaises];
    log(x.slot, LogKind::CounterRaise, r.employer[x.slot], r.employer[x.slot], r.location[x.slot], r.location[x.slot], before, x.comp);
  });
  mv.gather(movers_);
}

// 6. clearing ----------------------------------------------------------------------
void Simulation::clearing() {
  auto& r = world_.r;
  auto& F = world_.f;
  // Firms accept at most their vacancies (raids add their own capacity), most talented first,
  // ties by id. Only a firm with more movers than capacity needs that order: its movers are
  // sorted by (talent desc, uid) — a total order, so the result does not depend on threads —
  // and all others' movers are simply accepted. The movers arrive in researcher (slot) order
  // from retention(), which is also the order moves are executed in, so filtering keeps it.
  const auto by_slot = [](const Mover& a, const Mover& b) { return a.slot < b.slot; };
  if (!std::is_sorted(movers_.begin(), movers_.end(), by_slot)) tbb::parallel_sort(movers_.begin(), movers_.end(), by_slot);
  const std::size_t NF = F.size();
  // Movers per firm: integer counts per thread (~1M movers a step in the BM reduction at 1e7).
  const auto& wanted = count_chunks(movers_.size(), NF, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) ++a[std::size_t(movers_[k].firm)];
  });
  std::vector<int64_t> room(NF, 0);
  bool over = false;  // some firm has more movers than room
  for (std::size_t f = 0; f < NF; ++f) {
    if (wanted[f] == 0) continue;
    const int64_t cap = F.vacancies[f] + F.extra_capacity[f];
    room[f] = std::max<int64_t>(cap, 0);
    const int64_t taken = std::min(wanted[f], room[f]);
    stats_.market[kRejectedByCapacity] += wanted[f] - taken;
    F.vacancies[f] = std::max<int64_t>(0, cap - taken - F.extra_capacity[f]);
    over |= wanted[f] > room[f];
  }
  std::vector<uint32_t> contested;  // positions in movers_ of movers to firms over capacity
  if (over)
    for (std::size_t k = 0; k < movers_.size(); ++k)
      if (wanted[std::size_t(movers_[k].firm)] > room[std::size_t(movers_[k].firm)]) contested.push_back(uint32_t(k));
  std::vector<uint8_t>& rejected = scratch_.rejected;
  if (!contested.empty()) {
    rejected.assign(movers_.size(), 0);
    tbb::parallel_sort(contested.begin(), contested.end(), [&](uint32_t x, uint32_t y) {
      const Mover& a = movers_[x];
      const Mover& b = movers_[y];
      if (a.firm != b.firm) return a.firm < b.firm;
      if (a.talent != b.talent) return a.talent > b.talent;
      return a.uid < b.uid;
    });
    for (std::size_t k = 0; k < contested.size();) {
      const int32_t f = movers_[contested[k]].firm;
      int64_t left = room[std::size_t(f)];
      for (; k < contested.size() && movers_[contested[k]].firm == f; ++k)
        if (left > 0)
          --left;
        else
          rejected[contested[k]] = 1;
    }
  }
  // Without a rejection every mover is accepted as is (no copy of the list).
  std::vector<Mover>& accepted = scratch_.accepted;
  if (contested.empty()) {
    accepted.swap(movers_);
  } else {
    accepted.clear();
    accepted.reserve(movers_.size());
    for (std::size_t k = 0; k < movers_.size(); ++k)
      if (!rejected[k]) accepted.push_back(movers_[k]);
  }
  // Execute in researcher order; moves that need a visa wait for the visa phase. Each
  // researcher's own columns change in parallel (no two movers are the same researcher).
  std::vector<MoveRecord>& done = scratch_.done;
  std::vector<uint8_t>& petition = scratch_.petition;
  done.resize(accepted.size());  // every element is written below
  petition.assign(accepted.size(), 0);
  for_chunks(accepted.size(), [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      const Mover& m = accepted[k];
      const std::size_t i = m.slot;
      if (visa_need(i, m.region) == 2) {
        const auto& rule = visa_rule(m.region, r.origin[i]);
        done[k] = record_move(i, m.firm, m.region, m.comp, LogKind::VisaPetition);
        petition[k] = 1;
        // +1: the visa phase of this same step already counts one month down.
        set_petition(i, m.firm, m.region, m.comp, rule.processing_months + 1, 0);
        continue;
      }
      done[k] = move_researcher(i, m.firm, m.region, m.comp, r.employer[i] == kNoFirm ? LogKind::Hire : LogKind::Move);
    }
  });
  // Their shared bookkeeping, also in parallel (book_in_chunks; before: ~0.8M moves a step
  // booked one by one in the BM reduction at 1e7).
  book_in_chunks(accepted.size(), [&](auto& sink, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      if (accepted[k].targeted == 2) sink.market(kRaidHires);
      if (petition[k]) {
        sink.pending(done[k].to, +1);
        sink.visa_stat(done[k].origin, kVisaApplications);
        log_move_into(done[k], sink);
      } else {
        book_into(done[k], sink);
      }
    }
  });
  movers_.swap(accepted);
}

/// The shared effects of many researchers' changes in parallel: each chunk of [0, n) books into
/// its own MovesChunk (the firms' books, flows, market and visa counters: integer sums per
/// thread, the same for any thread count; log entries, poaching pairs and Σθ changes: lists
/// per chunk), and all are then applied in chunk order, i.e. in the order of the items, as a
/// serial pass would. Used by clearing's moves and the visa phase's bookkeeping.
template <class Body>
void Simulation::book_in_chunks(std::size_t n, Body&& body) {
  auto& F = world_.f;
  const std::size_t NF = F.size(), R = std::size_t(regions());
  const std::size_t o_visa = 0, o_flow = R * kVisaStats, o_books = o_flow + R * R, o_market = o_books + 4 * NF;
  auto& logs = log_parts_;
  engine::ChunkedBuffer<uint64_t> pairs;
  engine::ChunkedBuffer<Delta> thetas;
  logs.reset(n);
  pairs.reset(n);
  thetas.reset(n);
  const auto& tot = count_chunks(n, o_market + kMarketStats, [&](int64_t* a, std::size_t b, std::size_t e) {
    const std::size_t c = b / engine::kChunk;
    MovesChunk sink{{a, o_books, NF, logs.part(c), thetas.part(c)}, R, o_flow, o_market, pairs.part(c), o_visa};
    body(sink, b, e);
  });
  for (std::size_t x = 0; x < R * kVisaStats; ++x) stats_.visa[x] += tot[o_visa + x];
  for (std::size_t x = 0; x < R * R; ++x) stats_.flows[x] += tot[o_flow + x];
  for (int k = 0; k < kMarketStats; ++k) stats_.market[std::size_t(k)] += tot[o_market + std::size_t(k)];
  add_book_changes(F, tot.data() + o_books);
  // The pairs are added in order; each add's slot is fetched 16 pairs ahead (the BM reduction at
  // 1e7 adds ~0.8M a step, serially, into a table of several MB).
  std::vector<uint64_t> pair_list;
  pairs.gather(pair_list);
  for (std::size_t k = 0; k < pair_list.size(); ++k) {
    if (k + 16 < pair_list.size()) poaching_.prefetch(pair_list[k + 16]);
    poaching_.add(pair_list[k]);
  }
  logs.append_to(stats_.log);
  add_deltas(theta_sums_, thetas);
}

// 7. visa --------------------------------------------------------------------------
void Simulation::visa() {
  auto& r = world_.r;
  auto& F = world_.f;
  auto& rs = world_.reg;
  const int R = regions();
  const int month = calendar_month(world_.step) % 12 + 1;
  // New cap year: remember last year's selection rate, reset the counters.
  for (int d = 0; d < R; ++d)
    if (month == params_.regions[d].cap_year_start && world_.step > 0) {
      if (rs.cap_applied[d] > 0) rs.selection_estimate[d] = std::min(1.0, double(rs.cap_used[d]) / double(rs.cap_applied[d]));
      rs.cap_used[d] = 0;
      rs.cap_applied[d] = 0;
    }
  const std::size_t N = r.size();
  // Collect decisions due, visa clocks and PR draws (parallel scan, applied in slot order).
  struct Due { uint32_t slot; uint8_t approved; };
  engine::ChunkedBuffer<Due> due;
  engine::ChunkedBuffer<uint32_t> expiring, permanent, departing;
  due.reset(N); expiring.reset(N); permanent.reset(N); departing.reset(N);
  for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
    // The living with a visa, a pending petition or a grace period are listed first, without
    // branches (whether a researcher holds a visa follows no pattern over the slots, so a branch
    // on it is mispredicted often), then handled one by one.
    SlotList todo;
    const std::size_t n = list_visa_work(b, e, r.alive.data(), r.status.data(), r.pending_firm.data(), r.grace.data(),
                                         todo.data());
    // The listed are scattered (perf: the pass waited on their ids, the Philox key): their
    // columns are fetched kBookAhead places ahead, and half as far ahead, once those have
    // arrived, the columns only some need: a petition's clock and destination, and the
    // employer of those in a grace period (perf: misses on these were ~20% of the pass).
    auto fetch = [&](std::size_t k) {
      prefetch_slot(todo[k], r.uid, r.status, r.visa_left, r.pending_firm, r.grace, r.location, r.origin);
    };
    auto fetch2 = [&](std::size_t k) {
      const std::size_t i = todo[k];
      if (r.pending_firm[i] != kNoFirm) prefetch_slot(i, r.pending_left, r.pending_region);
      if (r.grace[i] >= 0) prefetch_slot(i, r.employer);
    };
    with_prefetch2(0, n, kBookAhead, fetch, kBookAhead / 2, fetch2, [&](std::size_t k) {
      const std::size_t i = todo[k];
      const auto st = Status(r.status[i]);
      const bool has_visa = st == Status::WorkVisa || st == Status::StudentVisa;
      // The draws (one Philox block) only for those who use them: a decision due, or a work
      // visa that runs on (its permanent-residency draw).
      auto draws = [&] { return rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::Visa); };
      if (r.pending_firm[i] != kNoFirm) {
        if (r.pending_left[i] > 0) --r.pending_left[i];
        if (r.pending_left[i] == 0) {
          const auto& rule = visa_rule(r.pending_region[i], r.origin[i]);
          due.part(c).push_back({uint32_t(i), uint8_t(double(draws()[0]) * 0x1.0p-32 < rule.approval)});
        }
      }
      if (has_visa) {
        if (r.visa_left[i] > 0) --r.visa_left[i];
        if (r.visa_left[i] == 0) expiring.part(c).push_back(uint32_t(i));
        else if (st == Status::WorkVisa &&
                 double(draws()[1]) * 0x1.0p-32 < visa_rule(r.location[i], r.origin[i]).pr_rate / 12.0)
          permanent.part(c).push_back(uint32_t(i));
      }
      if (r.grace[i] >= 0) {
        if (r.employer[i] != kNoFirm && st != Status::None) {
          r.grace[i] = -1;
        } else {
          if (r.grace[i] > 0) --r.grace[i];
          if (r.grace[i] == 0) departing.part(c).push_back(uint32_t(i));
        }
      }
    });
  });
  // Decisions: approval, then the destination's cap with a lottery among this month's approvals.
  std::vector<Due> decided;
  due.gather(decided);
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> capped(R);
  auto vstat = [&](std::size_t i, int k) { stats_.visa[std::size_t(r.origin[i]) * kVisaStats + k] += 1; };
  auto deny = [&](std::size_t i, LogKind why) {
    if (r.pending_kind[i] == 0) --F.pending_in[r.pending_firm[i]];
    log(i, why, r.employer[i], r.pending_firm[i], r.location[i], r.pending_region[i], r.comp[i], r.pending_comp[i]);
    r.pending_firm[i] = kNoFirm;
    if (Status(r.status[i]) == Status::StudentVisa && r.visa_left[i] == 0) {
      r.status[i] = uint8_t(Status::None);
      lose_job(i, LogKind::Separation);
      if (r.grace[i] < 0) r.grace[i] = int8_t(std::min(127, params_.regions[r.location[i]].grace_months));
    }
  };
  std::vector<uint32_t> approved;
  auto fetch = [&](std::size_t k) { prefetch_person_columns(r, decided[k].slot); };
  with_prefetch(0, decided.size(), kBookAhead, fetch, [&](std::size_t k) {
    const Due& d = decided[k];
    const std::size_t i = d.slot;
    if (!d.approved) {
      vstat(i, kVisaDenials);
      deny(i, LogKind::VisaDenied);
      return;
    }
    const int dest = r.pending_region[i];
    const auto& rule = visa_rule(dest, r.origin[i]);
    // Universities are cap-exempt [P2]; so are relocations with the same employer
    // (intra-company transfers use an uncapped visa, the L-1 in the US).
    const bool exempt = FirmKind(F.kind[r.pending_firm[i]]) == FirmKind::Academia || r.pending_kind[i] == 2;
    if (rule.capped && !exempt) {
      auto blk = rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::VisaLottery);
      ++rs.cap_applied[dest];
      if (double(blk[2]) * 0x1.0p-32 >= params_.regions[dest].lottery_selection) {
        vstat(i, kVisaLotteryLosses);
        deny(i, LogKind::VisaLotteryLost);
        return;
      }
      if (params_.regions[dest].annual_cap < 0) {
        ++rs.cap_used[dest];
        approved.push_back(uint32_t(i));
        return;
      }
      capped[dest].push_back({(uint64_t(blk[0]) << 32) | blk[1], uint32_t(i)});
    } else {
      approved.push_back(uint32_t(i));
    }
  });
  for (int d = 0; d < R; ++d) {
    auto& c = capped[d];
    if (c.empty()) continue;
    std::sort(c.begin(), c.end());
    const int64_t room = std::max<int64_t>(0, params_.regions[d].annual_cap - rs.cap_used[d]);
    for (std::size_t k = 0; k < c.size(); ++k) {
      if (int64_t(k) < room) {
        approved.push_back(c[k].second);
        ++rs.cap_used[d];
      } else {
        vstat(c[k].second, kVisaLotteryLosses);
        deny(c[k].second, LogKind::VisaLotteryLost);
      }
    }
  }
  std::sort(approved.begin(), approved.end());
  // The bookkeeping of approvals, expiries and departures runs in parallel as clearing's moves
  // do (book_in_chunks): each item changes its researcher's own columns; the books, flows,
  // visa and market counters, poaching pairs and log entries go to per-chunk sinks, added in
  // chunk order, i.e. in slot order, as the serial loops did. Over 120 steps at 1e7 these loops
  // averaged ~55 ms a step on one thread (40–60k approvals, 33–60k expiries, 15–28k departures a
  // month). A list within one chunk runs serially with the Immediate sink (same effects, no
  // per-thread counters to clear and add).
  auto for_each_booked = [&](const std::vector<uint32_t>& list, auto&& body) {
    auto run = [&](auto& sink, std::size_t b, std::size_t e) {
      with_prefetch(
          b, e, kBookAhead, [&](std::size_t k) { prefetch_person_columns(r, list[k]); },
          [&](std::size_t k) { body(list[k], sink); });
    };
    if (list.size() <= engine::kChunk && engine::small_lists_serial()) {
      Immediate now{*this};
      run(now, 0, list.size());
    } else {
      book_in_chunks(list.size(), run);
    }
  };
  for_each_booked(approved, [&](uint32_t i, auto& sink) {
    sink.visa_stat(r.origin[i], kVisaApprovals);
    const int32_t f = r.pending_firm[i];
    if (r.pending_kind[i] == 0) sink.pending(f, -1);
    r.pending_firm[i] = kNoFirm;
    log_into(sink, i, LogKind::VisaApproved, r.employer[i], f, r.location[i], r.pending_region[i], r.comp[i],
             r.pending_comp[i]);
    if (r.pending_kind[i] == 1 && r.employer[i] == f) {  // change of status at the same employer
      r.status[i] = uint8_t(Status::WorkVisa);
      r.visa_left[i] = int16_t(params_.regions[r.location[i]].visa_months);
      r.renewals[i] = 0;
      return;
    }
    const LogKind kind =
        r.pending_kind[i] == 2 ? LogKind::Relocation : r.employer[i] == kNoFirm ? LogKind::Hire : LogKind::Move;
    book_into(move_researcher(i, f, r.pending_region[i], r.pending_comp[i], kind), sink);
  });
  // Expiring visas: renewal, change of status for employed students, or loss of status.
  std::vector<uint32_t> list;
  expiring.gather(list);
  for_each_booked(list, [&](uint32_t i, auto& sink) {
    const int loc = r.location[i];
    const auto& rule = visa_rule(loc, r.origin[i]);
    const int32_t f = r.employer[i];
    auto blk = rng::block(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::Renewal);
    if (Status(r.status[i]) == Status::StudentVisa) {
      if (f != kNoFirm && F.sponsors[f] && r.pending_firm[i] == kNoFirm &&
          params_.regions[loc].petition_fee <= F.max_fee[f]) {
        // The employer files a petition; the graduate keeps working while it is processed.
        set_petition(i, f, loc, r.comp[i], rule.processing_months, 1);  // already on staff: not an incoming hire
        sink.visa_stat(r.origin[i], kVisaApplications);
        log_into(sink, i, LogKind::VisaPetition, f, f, loc, loc, r.comp[i], r.comp[i]);
        return;
      }
      if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 1) return;  // decision pending
    } else if (f != kNoFirm && F.sponsors[f] && r.renewals[i] < params_.regions[loc].max_renewals) {
      if (double(blk[0]) * 0x1.0p-32 < rule.renewal) {
        ++r.renewals[i];
        r.visa_left[i] = int16_t(params_.regions[loc].visa_months);
        sink.visa_stat(r.origin[i], kVisaRenewals);
        log_into(sink, i, LogKind::VisaRenewed, f, f, loc, loc, r.comp[i], r.comp[i]);
        return;
      }
    }
    sink.visa_stat(r.origin[i], kVisaExpiries);
    log_into(sink, i, LogKind::VisaExpired, f, f, loc, loc, r.comp[i], r.comp[i]);
    r.status[i] = uint8_t(Status::None);
    lose_job_into(i, LogKind::Separation, sink);
    if (r.grace[i] < 0) r.grace[i] = int8_t(std::min(127, params_.regions[loc].grace_months));
    if (r.grace[i] == 0) force_departure_into(i, sink);
  });
  permanent.gather(list);
  for_each_booked(list, [&](uint32_t i, auto& sink) {
    if (Status(r.status[i]) != Status::WorkVisa) return;
    r.status[i] = uint8_t(Status::Permanent);
    r.grace[i] = -1;
    sink.visa_stat(r.origin[i], kVisaPermanent);
    log_into(sink, i, LogKind::PermanentResidency, r.employer[i], r.employer[i], r.location[i], r.location[i], r.comp[i],
             r.comp[i]);
  });
  departing.gather(list);
  for_each_booked(list, [&](uint32_t i, auto& sink) {
    if (r.grace[i] == 0 && r.location[i] != r.origin[i]) force_departure_into(i, sink);
  });
}

// 8. production --------------------------------------------------------------------
void Simulation::production() {
  auto& F = world_.f;
  auto& r = world_.r;
  const auto& Pp = params_.production;
  const int R = regions();
  const std::size_t NF = F.size(), N = r.size();
  if (Pp.scale <= 0) return;
  // Σθ by firm × office region and the top tiers' Σθ by firm (fixed point, exact): carried
  // forward (theta_sums_), counted here only after a hand edit since planning.
  const std::size_t W = std::size_t(R) + 1;
  if (recount_firms_ || theta_sums_.empty()) count_staff_theta();
  const auto& sums = theta_sums_;
  // Firm output Y = scale·A·(Σθ)^α·C^β; export controls act per office (headcount-weighted).
  std::vector<double> per_theta(NF, 0.0);
  engine::for_ranges(NF, kFirmGrain, [&](std::size_t fb, std::size_t fe) {  // two pows a firm
    for (std::size_t f = fb; f < fe; ++f) {
      const int ctrl = F.controlled_by[f];
      double s = 0, mult = 0;
      for (int loc = 0; loc < R; ++loc) {
        const double th = double(sums[f * W + loc]) / kSumScale;
        double m = world_.reg.compute_multiplier[ctrl];
        if (loc != ctrl && world_.reg.exempt_abroad[ctrl]) m = 1.0;
        s += th;
        mult += m * th;
      }
      F.sum_theta[f] = s;
      if (s <= 0) {
        F.output[f] = F.hc_output[f] = 0.0;
        continue;
      }
      const double c = F.compute[f] * mult / s;
      const double A = F.productivity[f] * (1.0 - world_.reg.service_penalty[ctrl]);
      F.output[f] = Pp.scale * A * std::pow(s, Pp.alpha) * std::pow(std::max(c, 0.0), Pp.beta);
      F.hc_output[f] = F.output[f] * (double(sums[f * W + R]) / kSumScale) / s;
      per_theta[f] = F.output[f] / s;
    }
  });
  // Pass 2: credit each researcher ∝ θ (the top tier's share is highly cited) and total by
  // region and origin with fixed-point sums (deterministic).
  constexpr double kOut = 1048576.0;  // 2^20 units per paper
  // The columns and constants in locals: through the captured references GCC reloaded every
  // column pointer and R after each store (perf).
  const auto& tot = count_chunks(N, 4 * std::size_t(R), [&](int64_t* __restrict a, std::size_t b, std::size_t e) {
    const int32_t* __restrict employer = r.employer.data();
    const uint8_t* __restrict alive = r.alive.data();
    const uint8_t* __restrict location = r.location.data();
    const uint8_t* __restrict origin = r.origin.data();
    const uint8_t* __restrict tier = r.tier.data();
    const float* __restrict talent = r.talent.data();
    float* __restrict output = r.output.data();
    float* __restrict hc_output = r.hc_output.data();
    const double* __restrict per = per_theta.data();
    int64_t* __restrict by_origin = a + R;
    int64_t* __restrict hc_loc = a + 2 * R;
    int64_t* __restrict hc_origin = a + 3 * R;
    for (std::size_t i = b; i < e; ++i) {
      const int32_t f = employer[i];
      if (!alive[i] || f == kNoFirm) continue;
      const double y = per[f] * double(talent[i]);
      const int64_t q = fixed(y, kOut);
      output[i] += float(y);
      a[location[i]] += q;
      by_origin[origin[i]] += q;
      if (tier[i] != Regular) {
        hc_output[i] += float(y);
        hc_loc[location[i]] += q;
        hc_origin[origin[i]] += q;
      }
    }
  });
  for (int x = 0; x < R; ++x) {
    stats_.output_region[x] = double(tot[x]) / kOut;
    stats_.output_origin[x] = double(tot[R + x]) / kOut;
    stats_.hc_region[x] = double(tot[2 * R + x]) / kOut;
    stats_.hc_origin[x] = double(tot[3 * R + x]) / kOut;
  }
}

void Simulation::count_staff_theta() {
  auto& r = world_.r;
  const std::size_t NF = world_.f.size(), W = std::size_t(regions()) + 1;
  theta_sums_ = count_chunks(r.size(), NF * W, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const int32_t f = r.employer[i];
      if (!r.alive[i] || f == kNoFirm) continue;
      const int64_t th = fixed(double(r.talent[i]), kSumScale);
      a[std::size_t(f) * W + r.location[i]] += th;
      if (r.tier[i] != Regular) a[std::size_t(f) * W + W - 1] += th;
    }
  });
}

// 9. pay ---------------------------------------------------------------------------
void Simulation::pay() {
  auto& r = world_.r;
  auto& F = world_.f;
  if (std::all_of(F.annual_raise.begin(), F.annual_raise.end(), [](double x) { return x == 0.0; })) return;
  // Log entries are built inside the parallel pass (each chunk its own list) and appended in
  // chunk order, i.e. slot order: the same log for any thread count, without a serial pass
  // over the ~1/12 of the employed who get their raise this month.
  auto& raised = log_parts_;
  raised.reset(r.size());
  // Those due a raise (one in ~13: the employed at a whole number of years of tenure) are listed
  // first, without branches, then raised one by one (perf: the single pass had stalled on the
  // mispredicted test and reloaded every column pointer after each store).
  const bool logging = params_.output.event_log != EventLogLevel::None;
  // The wage bills change by the raises (per-thread integer sums, as a recount would round).
  const auto& raises = count_chunks(r.size(), F.size(), [&](int64_t* a, std::size_t b, std::size_t e) {
    const std::size_t c = b / engine::kChunk;
    SlotList due;
    const std::size_t n = list_raises(b, e, r.alive.data(), r.employer.data(), r.tenure.data(), due.data());
    // One in ~13 researchers, a cache line of each column apiece: too sparse for the hardware
    // prefetcher, so their columns are fetched 16 ahead (perf: the pass waited on the id for
    // the log entry, then, with that fetched, on the employer and the pay).
    auto fetch = [&](std::size_t k) {
      prefetch_slot(due[k], r.employer, r.comp);
      if (logging) prefetch_slot(due[k], r.uid, r.tier, r.location);
    };
    with_prefetch(0, n, 16, fetch, [&](std::size_t k) {
      const std::size_t i = due[k];
      const int32_t f = r.employer[i];
      const float before = r.comp[i];
      r.comp[i] = float(std::min(double(r.comp[i]) * (1.0 + F.annual_raise[f]), std::max(F.max_package[f], double(r.comp[i]))));
      a[std::size_t(f)] += fixed(double(r.comp[i]), 1.0) - fixed(double(before), 1.0);
      if (r.comp[i] != before && log_enabled(i))
        raised.part(c).push_back(log_entry(i, LogKind::AnnualRaise, f, f, r.location[i], r.location[i], before, r.comp[i]));
    });
  });
  for (std::size_t f = 0; f < F.size(); ++f) F.wage_bill[f] += double(raises[f]);
  raised.append_to(stats_.log);
}

// 10. record -----------------------------------------------------------------------
void Simulation::record() {
  auto& r = world_.r;
  const int R = regions();
  const std::size_t N = r.size();
  // Stocks [location][origin][tier], employment, and log-pay histograms [tier][region][bin].
  // Log-spaced pay histogram straight from the float bits (exponent + top 7 mantissa bits:
  // 128 bins per doubling, 0.54% wide), $1k .. $1B; percentiles interpolate inside a bin.
  const uint32_t lo_bits = std::bit_cast<uint32_t>(1000.0f) >> 16, hi_bits = std::bit_cast<uint32_t>(1.0e9f) >> 16;
  const int kBins = int(hi_bits - lo_bits) + 1;
  const std::size_t nstock = std::size_t(R) * R * kTiers, nhist = std::size_t(kTiers) * R * kBins;
  // The firms' elite counts and wage bills are kept up to date (recount_firms_); counted here
  // only after a hand edit since planning.
  if (recount_firms_) count_firm_books();
  // One branch-free pass: a dead researcher counts into a spare stock slot, and everyone counts
  // into the pay histogram of their tier and location — the employed with 1, everyone else with 0
  // (into the bin their pay of 0 clamps to) — so neither count waits on a branch (perf: the pass
  // had stalled on the branches and, in the BM reduction, on the 80/20 employment test).
  // Consecutive researchers count into four copies of the stocks, so the increments of a run of
  // equal keys do not wait on each other. The employed are the pay histograms' total, the
  // unemployed the rest of the living. The constants are copied into locals: captured by
  // reference they were re-read from memory for every researcher.
  constexpr std::size_t kCopies = 4;
  const std::size_t stride = nstock + 1, o_hist = kCopies * stride;
  const auto& tot = count_chunks(N, o_hist + nhist, [&](int64_t* __restrict a, std::size_t b, std::size_t e) {
    const uint8_t* __restrict alive = r.alive.data();
    const uint8_t* __restrict loc = r.location.data();
    const uint8_t* __restrict org = r.origin.data();
    const uint8_t* __restrict tier = r.tier.data();
    const int32_t* __restrict emp = r.employer.data();
    const float* __restrict comp = r.comp.data();
    const uint32_t nR = uint32_t(R), dead = uint32_t(nstock), copy = uint32_t(stride), hist = uint32_t(o_hist),
                   bins = uint32_t(kBins), lo = lo_bits, hi = hi_bits;
    // Two passes per block: the counters' indices as plain column arithmetic (vectorised), then
    // the increments alone.
    constexpr std::size_t kBlock = 512;
    alignas(64) uint32_t stock_at[kBlock], hist_at[kBlock];
    alignas(64) uint8_t ev[kBlock];
    for (std::size_t i0 = b; i0 < e; i0 += kBlock) {
      const uint32_t m = uint32_t(std::min(kBlock, e - i0));
      for (uint32_t k = 0; k < m; ++k) {
        const std::size_t i = i0 + k;
        const uint32_t lv = alive[i] != 0;
        ev[k] = uint8_t(lv & uint32_t(emp[i] != kNoFirm));
        const uint32_t s = (uint32_t(loc[i]) * nR + org[i]) * uint32_t(kTiers) + tier[i];
        stock_at[k] = (uint32_t(i) % uint32_t(kCopies)) * copy + (lv ? s : dead);
        const int32_t bits = std::bit_cast<int32_t>(comp[i]);
        const uint32_t hb = uint32_t(bits & ~(bits >> 31)) >> 16;  // negative pay counts as 0
        hist_at[k] = hist + (uint32_t(tier[i]) * nR + loc[i]) * bins + (std::min(std::max(hb, lo), hi) - lo);
      }
      for (uint32_t k = 0; k < m; ++k) {
        a[stock_at[k]] += 1;
        a[hist_at[k]] += ev[k];
      }
    }
  });
  int64_t living = 0, employed = 0;
  for (std::size_t k = 0; k < nstock; ++k) {
    stats_.stocks[k] = 0;
    for (std::size_t c = 0; c < kCopies; ++c) stats_.stocks[k] += tot[c * stride + k];
    living += stats_.stocks[k];
  }
  for (std::size_t k = o_hist; k < o_hist + nhist; ++k) employed += tot[k];
  stats_.market[kEmployed] = employed;
  stats_.market[kUnemployed] = living - employed;
  auto edge = [&](double bin) {  // pay at a fractional bin position (log-linear inside a bin)
    const int b = int(bin);
    const double lo = double(std::bit_cast<float>((lo_bits + uint32_t(b)) << 16));
    const double hi = double(std::bit_cast<float>((lo_bits + uint32_t(b) + 1) << 16));
    return lo * std::pow(hi / lo, bin - b);
  };
  for (int t = 0; t < kTiers; ++t)
    for (int reg = 0; reg < R; ++reg) {
      const int64_t* h = &tot[o_hist + (std::size_t(t) * R + reg) * kBins];
      int64_t n = 0;
      for (int b = 0; b < kBins; ++b) n += h[b];
      for (int p = 0; p < kPercentiles; ++p) {
        double v = std::nan("");
        if (n > 0) {
          const double target = kPercentileLevels[p] * double(n);
          int64_t c = 0;
          for (int b = 0; b < kBins; ++b) {
            if (double(c + h[b]) >= target) {
              const double frac = h[b] > 0 ? (target - double(c)) / double(h[b]) : 0.5;
              v = edge(double(b) + frac);
              break;
            }
            c += h[b];
          }
        }
        stats_.pay_pct[(std::size_t(t) * R + reg) * kPercentiles + p] = v;
      }
    }
  if (observer_) observer_->on_step(*this);
}

// events ------------------------------------------------------------------------
void Simulation::apply_event(const Event& e) {
  auto& F = world_.f;
  auto& r = world_.r;
  const int reg = params_.region_index(e.region);
  switch (e.type) {
    case EventType::Set: {
      cfg::Diagnostics d;
      cfg::Node tree = dump_params(params_);
      cfg::Node value;
      if (!cfg::apply_override(tree, e.key + "=" + e.value, e.loc, d)) throw std::runtime_error(d.format());
      Params np = load_params(tree, d);
      if (!d.empty()) throw std::runtime_error(d.format());
      // The world's regions and firms are fixed at step 0 (visa rules, world_.reg and F.group index them).
      if (np.regions.size() != params_.regions.size() || np.firms.size() != params_.firms.size())
        throw std::runtime_error("set '" + e.key + "': a set event cannot add or remove regions or firms");
      np.events = params_.events;
      const std::vector<RegionParams> old_regions = params_.regions;
      const std::vector<FirmSpec> old_firms = params_.firms;
      params_ = std::move(np);
      for (std::size_t f = 0; f < F.size(); ++f) apply_firm_policy(int(f), params_.firms[F.group[f]], false);
      // Offices and rivals are tables built at the start: bring a changed spec's into line
      // (a `set` of firms.X.offices or firms.X.hiring.rivals was accepted and ignored before).
      bool rivals_changed = false;
      for (std::size_t g = 0; g < params_.firms.size(); ++g) {
        const auto &was = old_firms[g], &now = params_.firms[g];
        rivals_changed |= was.hiring.rivals != now.hiring.rivals;
        bool same = was.offices.size() == now.offices.size();
        for (std::size_t k = 0; same && k < now.offices.size(); ++k)
          same = was.offices[k].name == now.offices[k].name && was.offices[k].value == now.offices[k].value;
        if (same) continue;
        for (std::size_t f = 0; f < F.size(); ++f) {
          if (F.group[f] != int32_t(g)) continue;
          for (const auto& o : now.offices) {
            bool have = false;
            for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
              have |= F.office_region[k] == params_.region_index(o.name);
            if (!have && o.value > 0)
              throw std::runtime_error(e.key + ": firm '" + F.name[f] + "' has no office in " + o.name +
                                       " to change; open it with an office_open event");
          }
          for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) {
            double share = now.offices.empty() && F.office_region[k] == F.hq[f] ? 1.0 : 0.0;
            for (const auto& o : now.offices)
              if (params_.region_index(o.name) == F.office_region[k]) share = o.value;
            F.office_share[k] = share;
            F.office_open[k] = share > 0;
          }
        }
      }
      if (rivals_changed) {
        F.rivals.clear();
        F.rivals_begin.assign(1, 0);
        for (std::size_t f = 0; f < F.size(); ++f) {
          for (const auto& rn : params_.firms[F.group[f]].hiring.rivals)
            for (int k : firms_named(rn)) F.rivals.push_back(k);
          F.rivals_begin.push_back(uint32_t(F.rivals.size()));
        }
      }
      const int R = regions();
      rebuild_visa_rules();
      for (int dd = 0; dd < R; ++dd) {
        // Policy changed by export_control / service_restriction events stays in force
        // unless this `set` changes that very key.
        const auto &was = old_regions[dd], &now = params_.regions[dd];
        if (now.compute_multiplier != was.compute_multiplier) world_.reg.compute_multiplier[dd] = now.compute_multiplier;
        if (now.exempt_offices_abroad != was.exempt_offices_abroad) world_.reg.exempt_abroad[dd] = now.exempt_offices_abroad;
        if (now.service_penalty != was.service_penalty) world_.reg.service_penalty[dd] = now.service_penalty;
      }
      break;
    }
    case EventType::Raid: {
      const int f = firm_index(e.firm);
      if (f < 0) break;
      std::vector<int> rivals;
      for (const auto& n : e.rivals)
        for (int k : firms_named(n)) rivals.push_back(k);
      // The rivals' most talented staff, by talent (ties by id).
      std::vector<uint32_t> staff;
      for (std::size_t i = 0; i < r.size(); ++i)
        if (r.alive[i] && r.employer[i] != kNoFirm && r.employer[i] != f && r.pending_firm[i] == kNoFirm &&
            (rivals.empty() || std::find(rivals.begin(), rivals.end(), r.employer[i]) != rivals.end()))
          staff.push_back(uint32_t(i));
      const std::size_t n = std::min<std::size_t>(staff.size(), std::size_t(e.offers));
      std::partial_sort(staff.begin(), staff.begin() + std::ptrdiff_t(n), staff.end(), [&](uint32_t a, uint32_t b) {
        return r.talent[a] != r.talent[b] ? r.talent[a] > r.talent[b] : r.uid[a] < r.uid[b];
      });
      rng::Stream s(params_.run.seed, uint32_t(world_.step), uint64_t(f), Purpose::Raid);
      for (std::size_t k = 0; k < n; ++k) {
        const uint32_t i = staff[k];
        // A raid hires where the target already works if the firm has an office there.
        int region = -1;
        for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
          if (F.office_region[o] == r.location[i] && F.office_open[o]) region = r.location[i];
        if (region < 0) region = pick_office(F, f, rng::uniform01(s));
        raid_offers_.push_back({i, int32_t(f), uint8_t(region), 2, float(e.package), 0.f, 0.f});
      }
      F.extra_capacity[f] += int64_t(n);
      break;
    }
    case EventType::BudgetShock:
      for (int f : firms_named(e.firm)) {
        F.budget[f] *= e.factor;
        F.target[f] *= e.factor;
      }
      break;
    case EventType::ComputeShock:
      for (int f : firms_named(e.firm)) F.compute_factor[f] *= e.factor;
      break;
    case EventType::OfficeOpen:
      for (int f : firms_named(e.firm))
        for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
          if (F.office_region[o] == reg) {
            F.office_open[o] = 1;
            F.office_share[o] = e.share;
          }
      break;
    case EventType::OfficeClose: {
      const auto fs = firms_named(e.firm);
      for (int f : fs)
        for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
          if (F.office_region[o] == reg) F.office_open[o] = 0;
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (!r.alive[i]) continue;
        if (r.location[i] == reg && std::find(fs.begin(), fs.end(), r.employer[i]) != fs.end())
          lose_job(i, LogKind::Separation);
        // Petitions for a job in the closed office lapse (they would hire into it otherwise).
        if (r.pending_firm[i] != kNoFirm && r.pending_region[i] == reg &&
            std::find(fs.begin(), fs.end(), r.pending_firm[i]) != fs.end()) {
          if (r.pending_kind[i] == 0) --F.pending_in[r.pending_firm[i]];
          r.pending_firm[i] = kNoFirm;
        }
      }
      break;
    }
    case EventType::ServiceRestriction: world_.reg.service_penalty[reg] = e.penalty; break;
    case EventType::ExportControl:
      world_.reg.compute_multiplier[reg] = e.multiplier;
      world_.reg.exempt_abroad[reg] = e.exempt_offices_abroad;
      break;
    case EventType::RelocationOrder: {
      const auto fs = firms_named(e.firm);
      double tot = 0;
      for (const auto& s : e.to) tot += s.value;
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (!r.alive[i] || r.location[i] != reg || std::find(fs.begin(), fs.end(), r.employer[i]) == fs.end()) continue;
        if (r.pending_firm[i] != kNoFirm) continue;
        rng::Stream s(params_.run.seed, uint32_t(world_.step), r.uid[i], Purpose::Relocation);
        double x = rng::uniform01(s) * tot;
        int dest = reg;
        for (const auto& sh : e.to) {
          dest = params_.region_index(sh.name);
          x -= sh.value;
          if (x < 0) break;
        }
        const int f = r.employer[i];
        // Relocate if the job abroad beats quitting at home (home bias makes many reluctant [A22]).
        const double u_go = utility(i, f, dest, r.comp[i], true, uint32_t(f) + 1);
        const double u_quit = utility(i, kNoFirm, reg, params_.regions[reg].unemployed_income, false, 0);
        if (u_go <= u_quit) {
          lose_job(i, LogKind::Separation);
          continue;
        }
        if (visa_need(i, dest) == 2) {
          const auto& rule = visa_rule(dest, r.origin[i]);
          // +1: counted down this step; kind 2: already on staff, not an incoming hire
          set_petition(i, f, dest, r.comp[i], rule.processing_months + 1, 2);
          stats_.visa[std::size_t(r.origin[i]) * kVisaStats + kVisaApplications] += 1;
          log(i, LogKind::VisaPetition, f, f, reg, dest, r.comp[i], r.comp[i]);
        } else {
          execute_move(i, f, dest, r.comp[i], LogKind::Relocation);
        }
      }
      break;
    }
  }
}

}  // namespace ts::model

namespace ts::model {

Simulation::PoachingTable Simulation::poaching_table() const {
  auto kv = poaching_.items();
  std::sort(kv.begin(), kv.end());  // by poaching_key: by from, then to
  PoachingTable t;
  t.from.reserve(kv.size()), t.to.reserve(kv.size()), t.count.reserve(kv.size());
  for (const auto& [k, n] : kv) {
    t.from.push_back(int32_t(k >> 32));
    t.to.push_back(int32_t(k & 0xFFFFFFFFu));
    t.count.push_back(n);
  }
  return t;
}

std::map<std::pair<int32_t, int32_t>, int64_t> Simulation::poaching() const {
  std::map<std::pair<int32_t, int32_t>, int64_t> out;
  const auto t = poaching_table();
  for (std::size_t i = 0; i < t.count.size(); ++i) out.emplace_hint(out.end(), std::pair{t.from[i], t.to[i]}, t.count[i]);
  return out;
}

std::vector<std::string> Simulation::check_invariants() const {
  std::vector<std::string> bad;
  const auto& r = world_.r;
  const auto& F = world_.f;
  const int R = regions();
  const std::size_t NF = F.size();
  std::vector<int64_t> head(NF, 0), pend(NF, 0), elite(NF, 0), wage(NF, 0), stock(R, 0);
  auto who = [&](std::size_t i) { return "researcher " + std::to_string(r.uid[i]) + " (slot " + std::to_string(i) + ")"; };
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!r.alive[i]) {
      if (r.employer[i] != kNoFirm) bad.push_back(who(i) + " left the field but has an employer");
      continue;
    }
    ++stock[r.location[i]];
    const int32_t f = r.employer[i];
    if (f != kNoFirm) {
      if (f < 0 || std::size_t(f) >= NF) {
        bad.push_back(who(i) + " has employer index " + std::to_string(f) + " out of range");
        continue;
      }
      ++head[f];
      elite[f] += r.tier[i] == Elite;
      wage[f] += fixed(double(r.comp[i]), 1.0);
      const auto st = Status(r.status[i]);
      const bool cap_gap = st == Status::StudentVisa && r.pending_firm[i] == f && r.pending_kind[i] == 1;
      const bool ok = st == Status::Citizen || st == Status::Permanent ||
                      (st == Status::WorkVisa && r.visa_left[i] > 0) ||
                      (st == Status::StudentVisa && (r.visa_left[i] > 0 || cap_gap));
      if (!ok) bad.push_back(who(i) + " works in " + params_.regions[r.location[i]].name + " without status");
      bool office = false;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) office |= F.office_region[k] == r.location[i];
      if (!office) bad.push_back(who(i) + " works for " + F.name[f] + " in a region where it has no office");
    }
    if ((r.location[i] == r.origin[i]) != (Status(r.status[i]) == Status::Citizen))
      bad.push_back(who(i) + " is a citizen exactly when at home: violated");
    if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) ++pend[r.pending_firm[i]];
  }
  for (std::size_t f = 0; f < NF; ++f) {
    if (head[f] != F.headcount[f])
      bad.push_back(F.name[f] + ": headcount " + std::to_string(F.headcount[f]) + " but " + std::to_string(head[f]) + " employees");
    if (elite[f] != F.elite[f])
      bad.push_back(F.name[f] + ": elite count " + std::to_string(F.elite[f]) + " but " + std::to_string(elite[f]) + " elite employees");
    if (double(wage[f]) != F.wage_bill[f])
      bad.push_back(F.name[f] + ": wage bill " + std::to_string(F.wage_bill[f]) + " but its staff's pay sums to " +
                    std::to_string(wage[f]));
    if (pend[f] != F.pending_in[f])
      bad.push_back(F.name[f] + ": " + std::to_string(F.pending_in[f]) + " pending hires on record but " +
                    std::to_string(pend[f]) + " researchers waiting to join");
    if (!F.unlimited[f] && f < plan_capacity_.size() && head[f] + pend[f] > plan_capacity_[f] + F.extra_capacity[f])
      bad.push_back(F.name[f] + ": " + std::to_string(head[f] + pend[f]) + " staff and pending hires exceed its capacity " +
                    std::to_string(plan_capacity_[f] + F.extra_capacity[f]));
  }
  // Conservation: stock change = inflows − outflows + entrants − exits, per region.
  if (prev_stock_.size() == std::size_t(R)) {
    for (int a = 0; a < R; ++a) {
      int64_t in = 0, out = 0;
      for (int b = 0; b < R; ++b)
        if (b != a) in += stats_.flows[std::size_t(b) * R + a], out += stats_.flows[std::size_t(a) * R + b];
      const int64_t expect = prev_stock_[a] + in - out + stats_.entrants_region[a] - stats_.exits_region[a];
      if (stock[a] != expect)
        bad.push_back(params_.regions[a].name + ": stock " + std::to_string(stock[a]) + " but flows imply " + std::to_string(expect));
    }
  }
  return bad;
}

}  // namespace ts::model
