// The firms' books: headcount, pending hires, wage bill, elite count (Firms columns) and Σθ by
// office (Ledger::theta_sums), kept up to date exactly at every change instead of recounted
// every step; and the sinks through which the phases hand those changes over.
//
// A change of a researcher's job (a move, a job loss, a tier change) has *shared effects*:
// both firms' books, the flow between regions, the poaching pair, market and visa counters,
// the log entry. The functions that make a change (transitions.hpp) hand these to a Sink:
//   Immediate   applies each at once (serial callers);
//   BooksChunk  collects them per chunk in a parallel pass (integer counts per thread, lists
//   MovesChunk  per chunk), applied afterwards in chunk order: the same result for any
//               thread count (MODEL.md §7). book_in_chunks() runs such a pass.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/engine/parallel.hpp"
#include "sim/model/state.hpp"

namespace ts::model {

/// Fixed-point scale for order-independent sums of θ.
inline constexpr double kSumScale = 16777216.0;

/// Fixed-point value of a non-negative number (round half up); exact integer sums are
/// order-independent, so reductions over threads are deterministic. (std::llround is a slow libm call.)
inline int64_t fixed(double x, double scale) { return static_cast<int64_t>(x * scale + 0.5); }

/// The sink that applies every effect at once (serial callers).
struct Immediate {
  State& s;
  void flow(int from, int to) { s.stats.flows[std::size_t(from) * std::size_t(s.regions()) + std::size_t(to)] += 1; }
  void headcount(int32_t f, int d) { s.world.f.headcount[std::size_t(f)] += d; }
  void pair(uint64_t key) { s.books.poaching.add(key); }
  void market(MarketStat k) { ++s.stats.market[k]; }
  void log(const LogEntry& e) { s.stats.log.push_back(e); }
  void wage(int32_t f, int64_t d) { s.world.f.wage_bill[std::size_t(f)] += double(d); }  // integers < 2^53: exact
  void elite(int32_t f, int d) { s.world.f.elite[std::size_t(f)] += d; }
  void theta(std::size_t k, int64_t d) { s.books.theta_sums[k] += d; }
  void pending(int32_t f, int d) { s.world.f.pending_in[std::size_t(f)] += d; }
  void visa_stat(int dest, int origin, VisaStat k) { s.stats.visa[s.stats.visa_at(dest, origin, k)] += 1; }
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
  std::size_t o_visa = 0;  ///< visa counters [destination][origin][VisaStat], if the pass keeps them
  void flow(int from, int to) { ++a[o_flow + std::size_t(from) * R + std::size_t(to)]; }
  void pair(uint64_t key) { pairs.push_back(key); }
  void market(MarketStat k) { ++a[o_market + k]; }
  void visa_stat(int dest, int origin, VisaStat k) {
    ++a[o_visa + (std::size_t(dest) * R + std::size_t(origin)) * kVisaStats + std::size_t(k)];
  }
};

/// Adds a BooksChunk counter block (four blocks of F.size(): headcount, pending hires, wage
/// bill, elite count) to the firms' books.
void add_book_changes(Firms& F, const int64_t* d);

/// Applies per-chunk changes of a per-firm table (Σθ: Ledger::theta_sums; Firms::elite), in
/// chunk order.
inline void add_deltas(std::vector<int64_t>& table, const engine::ChunkedBuffer<Delta>& changes) {
  changes.for_each_in_order([&](const Delta& x) { table[x.k] += x.d; });
}

/// A staff member joins (sign +1) or leaves (−1) firm f at an office region with pay `comp`: the
/// firm's headcount, wage bill (USD, rounded per head as a recount would), elite count and Σθ
/// by region and top tiers change, handed to `to`. Σθ not while a recount is due, nor while
/// production is off (theta_sums is then empty, see count_firm_books()).
template <class Sink>
void staff_into(const State& s, int32_t f, int region, uint8_t tier, float talent, float comp, int sign, Sink& to) {
  to.headcount(f, sign);
  to.wage(f, sign * fixed(double(comp), 1.0));
  if (tier == Elite) to.elite(f, sign);
  if (s.books.recount || s.books.theta_sums.empty()) return;
  const std::size_t W = std::size_t(s.regions()) + 1;
  const int64_t th = sign * fixed(double(talent), kSumScale);
  to.theta(std::size_t(f) * W + std::size_t(region), th);
  if (tier != Regular) to.theta(std::size_t(f) * W + W - 1, th);
}

/// Headcount, pending hires, wage bill and elite count (and Σθ, while production is on) of
/// every firm, counted from the researchers.
void count_firm_books(State& s);
/// Σθ by firm × office region and of the top tiers, counted from the researchers.
void count_staff_theta(State& s);

/// Runs body(sink, begin, end) over the chunks of [0, n) in parallel, each chunk with its own
/// MovesChunk (the firms' books, flows, market and visa counters: integer sums per thread, the
/// same for any thread count; log entries, poaching pairs and Σθ changes: lists per chunk),
/// then applies them all in chunk order, i.e. in the order of the items, as a serial pass
/// would. Used by clearing's moves and the visa phase's bookkeeping.
template <class Body>
void book_in_chunks(State& s, std::size_t n, Body&& body) {
  auto& F = s.world.f;
  const std::size_t NF = F.size(), R = std::size_t(s.regions());
  const std::size_t o_visa = 0, o_flow = R * R * kVisaStats, o_books = o_flow + R * R, o_market = o_books + 4 * NF;
  auto& logs = s.log_parts;
  engine::ChunkedBuffer<uint64_t> pairs;
  engine::ChunkedBuffer<Delta> thetas;
  logs.reset(n);
  pairs.reset(n);
  thetas.reset(n);
  const auto& tot = s.counters.count(n, o_market + kMarketStats, [&](int64_t* a, std::size_t b, std::size_t e) {
    const std::size_t c = b / engine::kChunk;
    MovesChunk sink{{a, o_books, NF, logs.part(c), thetas.part(c)}, R, o_flow, o_market, pairs.part(c), o_visa};
    body(sink, b, e);
  });
  for (std::size_t x = 0; x < R * R * kVisaStats; ++x) s.stats.visa[x] += tot[o_visa + x];
  for (std::size_t x = 0; x < R * R; ++x) s.stats.flows[x] += tot[o_flow + x];
  for (int k = 0; k < kMarketStats; ++k) s.stats.market[std::size_t(k)] += tot[o_market + std::size_t(k)];
  add_book_changes(F, tot.data() + o_books);
  // The pairs are added in order; each add's slot is fetched 16 pairs ahead (the table
  // outgrows the caches).
  std::vector<uint64_t> pair_list;
  pairs.gather(pair_list);
  for (std::size_t k = 0; k < pair_list.size(); ++k) {
    if (k + 16 < pair_list.size()) s.books.poaching.prefetch(pair_list[k + 16]);
    s.books.poaching.add(pair_list[k]);
  }
  logs.append_to(s.stats.log);
  add_deltas(s.books.theta_sums, thetas);
}

/// The cumulative poaching counts as columns sorted by (from, to).
struct PoachingTable {
  std::vector<int32_t> from, to;
  std::vector<int64_t> count;
};
PoachingTable poaching_table(const Ledger& books);

}  // namespace ts::model
