// 10. record (MODEL.md §4.10): this step's stocks by location × origin × tier, employment, and
// pay percentiles by tier and region; then the observer (the HDF5 writer) takes the step.
#include <algorithm>
#include <bit>
#include <cmath>

#include "sim/model/ledger.hpp"
#include "sim/model/phases/phases.hpp"

namespace ts::model::phase {

namespace {

// The pay histogram is log-spaced, straight from the float bits (exponent + top 7 mantissa
// bits: 128 bins per doubling, 0.54% wide), from $1k to $1B; percentiles interpolate inside a bin.
const uint32_t kLoBits = std::bit_cast<uint32_t>(1000.0f) >> 16, kHiBits = std::bit_cast<uint32_t>(1.0e9f) >> 16;
const int kBins = int(kHiBits - kLoBits) + 1;

/// Pay at a fractional bin position (log-linear inside a bin).
double bin_edge(double bin) {
  const int b = int(bin);
  const double lo = double(std::bit_cast<float>((kLoBits + uint32_t(b)) << 16));
  const double hi = double(std::bit_cast<float>((kLoBits + uint32_t(b) + 1) << 16));
  return lo * std::pow(hi / lo, bin - b);
}

/// Counts slots [b, e) into a: stocks [location][origin][tier] in kCopies copies (consecutive
/// researchers count into different copies, so the increments of a run of equal keys do not
/// wait on each other), the dead into a spare slot after each copy; and everyone into the pay
/// histogram [tier][region][bin] of their tier and location from o_hist, the employed with 1,
/// everyone else with 0 (into the bin their pay of 0 clamps to), so no count waits on a
/// branch. Per block of 512: the counters' indices as column arithmetic (vectorised), then the
/// increments alone.
constexpr std::size_t kCopies = 4;
void count_stocks_and_pay(std::size_t b, std::size_t e, uint32_t nR, uint32_t nstock, const uint8_t* __restrict alive,
                          const uint8_t* __restrict loc, const uint8_t* __restrict org, const uint8_t* __restrict tier,
                          const int32_t* __restrict emp, const float* __restrict comp, int64_t* __restrict a) {
  const uint32_t dead = nstock, copy = nstock + 1, hist = uint32_t(kCopies) * copy, bins = uint32_t(kBins),
                 lo = kLoBits, hi = kHiBits;
  constexpr std::size_t kBlock = 512;
  alignas(64) uint32_t stock_at[kBlock], hist_at[kBlock];
  alignas(64) uint8_t ev[kBlock];
  for (std::size_t i0 = b; i0 < e; i0 += kBlock) {
    const uint32_t m = uint32_t(std::min(kBlock, e - i0));
    for (uint32_t k = 0; k < m; ++k) {
      const std::size_t i = i0 + k;
      const uint32_t lv = alive[i] != 0;
      ev[k] = uint8_t(lv & uint32_t(emp[i] != kNoFirm));
      const uint32_t st = (uint32_t(loc[i]) * nR + org[i]) * uint32_t(kTiers) + tier[i];
      stock_at[k] = (uint32_t(i) % uint32_t(kCopies)) * copy + (lv ? st : dead);
      const int32_t bits = std::bit_cast<int32_t>(comp[i]);
      const uint32_t hb = uint32_t(bits & ~(bits >> 31)) >> 16;  // negative pay counts as 0
      hist_at[k] = hist + (uint32_t(tier[i]) * nR + loc[i]) * bins + (std::min(std::max(hb, lo), hi) - lo);
    }
    for (uint32_t k = 0; k < m; ++k) {
      a[stock_at[k]] += 1;
      a[hist_at[k]] += ev[k];
    }
  }
}

}  // namespace

void Record::run(State& s) {
  auto& r = s.world.r;
  const int R = s.regions();
  const std::size_t N = r.size();
  const std::size_t nstock = std::size_t(R) * R * kTiers, nhist = std::size_t(kTiers) * R * std::size_t(kBins);
  // The firms' elite counts and wage bills are kept up to date; counted here only after a hand
  // edit since planning.
  if (s.books.recount) count_firm_books(s);
  const std::size_t stride = nstock + 1, o_hist = kCopies * stride;
  const auto& tot = s.counters.count(N, o_hist + nhist, [&](int64_t* a, std::size_t b, std::size_t e) {
    count_stocks_and_pay(b, e, uint32_t(R), uint32_t(nstock), r.alive.data(), r.location.data(), r.origin.data(),
                         r.tier.data(), r.employer.data(), r.comp.data(), a);
  });
  int64_t living = 0, employed = 0;
  for (std::size_t k = 0; k < nstock; ++k) {
    s.stats.stocks[k] = 0;
    for (std::size_t c = 0; c < kCopies; ++c) s.stats.stocks[k] += tot[c * stride + k];
    living += s.stats.stocks[k];
  }
  for (std::size_t k = o_hist; k < o_hist + nhist; ++k) employed += tot[k];
  s.stats.market[kEmployed] = employed;
  s.stats.market[kUnemployed] = living - employed;
  // By location: the living there less the employed there (the pay histograms' totals).
  for (int loc = 0; loc < R; ++loc) {
    int64_t here = 0, working = 0;
    for (std::size_t k = 0; k < std::size_t(R) * kTiers; ++k) here += s.stats.stocks[std::size_t(loc) * R * kTiers + k];
    for (int t = 0; t < kTiers; ++t)
      for (int b = 0; b < kBins; ++b) working += tot[o_hist + (std::size_t(t) * R + std::size_t(loc)) * std::size_t(kBins) + std::size_t(b)];
    s.stats.unemployed_region[std::size_t(loc)] = here - working;
  }
  for (int t = 0; t < kTiers; ++t)
    for (int reg = 0; reg < R; ++reg) {
      const int64_t* h = &tot[o_hist + (std::size_t(t) * R + reg) * std::size_t(kBins)];
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
              v = bin_edge(double(b) + frac);
              break;
            }
            c += h[b];
          }
        }
        s.stats.pay_pct[(std::size_t(t) * R + reg) * kPercentiles + p] = v;
      }
    }
}

}  // namespace ts::model::phase
