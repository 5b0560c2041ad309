#include "sim/model/ledger.hpp"

#include <algorithm>

namespace ts::model {

void add_book_changes(Firms& F, const int64_t* d) {
  const std::size_t NF = F.size();
  for (std::size_t f = 0; f < NF; ++f) {
    F.headcount[f] += d[f];
    F.pending_in[f] += d[NF + f];
    F.wage_bill[f] += double(d[2 * NF + f]);  // integers below 2^53: exact
    F.elite[f] += d[3 * NF + f];
  }
}

void count_firm_books(State& s) {
  auto& F = s.world.f;
  const auto& r = s.world.r;
  const std::size_t NF = F.size();
  // Per-firm integer sums: headcount, pending, wage bill (USD, rounded per head), elite.
  const auto& tot = s.counters.count(r.size(), NF * 4, [&](int64_t* a, std::size_t b, std::size_t e) {
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
  // production counts it should it be switched on by hand.
  if (s.params.production.scale > 0)
    count_staff_theta(s);
  else
    s.books.theta_sums.clear();
}

void count_staff_theta(State& s) {
  const auto& r = s.world.r;
  const std::size_t NF = s.world.f.size(), W = std::size_t(s.regions()) + 1;
  s.books.theta_sums = s.counters.count(r.size(), NF * W, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const int32_t f = r.employer[i];
      if (!r.alive[i] || f == kNoFirm) continue;
      const int64_t th = fixed(double(r.skill[i]), kSumScale);
      a[std::size_t(f) * W + r.location[i]] += th;
      if (r.tier[i] != Regular) a[std::size_t(f) * W + W - 1] += th;
    }
  });
  s.books.theta_counted_step = s.world.step;
}

PoachingTable poaching_table(const Ledger& books) {
  auto kv = books.poaching.items();
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

}  // namespace ts::model
