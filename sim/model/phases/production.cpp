// 8. production (MODEL.md §4.8): firm output Y = scale·A·(Σθ)^α·C^β per month, credited to its
// researchers in proportion to θ (the top tiers' share is highly cited), and totalled by
// region of work and by origin.
#include <algorithm>
#include <cmath>

#include "sim/model/ledger.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/terms.hpp"

namespace ts::model::phase {

namespace {

/// Credits each employed researcher of slots [b, e) with per[f]·θ papers (highly cited if in
/// the top tiers) and adds them, in fixed point (kOut), to the counters a: by location, by
/// origin, highly cited by location, highly cited by origin (R each). A free function with
/// __restrict parameters: through captured references GCC reloaded every column pointer
/// after each store.
constexpr double kOut = 1048576.0;  // 2^20 units per paper
void credit_output(std::size_t b, std::size_t e, std::size_t R, const int32_t* __restrict employer,
                   const uint8_t* __restrict alive, const uint8_t* __restrict location, const uint8_t* __restrict origin,
                   const uint8_t* __restrict tier, const float* __restrict talent, float* __restrict output,
                   float* __restrict hc_output, const double* __restrict per, int64_t* __restrict a) {
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
}

}  // namespace

void Production::run(State& s) {
  auto& F = s.world.f;
  auto& r = s.world.r;
  const auto& Pp = s.params.production;
  const int R = s.regions();
  const std::size_t NF = F.size(), N = r.size();
  if (Pp.scale <= 0) return;
  // Σθ by firm × office region and the top tiers' Σθ by firm (fixed point, exact): carried
  // forward in the ledger, counted here only after a hand edit since planning, and when realised
  // talent grows with experience (demography changes every θ(t)) unless planning counted this
  // step's already (pay rule valuation): the moves since are carried forward.
  const bool stale = s.params.population.experience.enabled && s.books.theta_counted_step != s.world.step;
  if (s.books.recount || s.books.theta_sums.empty() || stale) count_staff_theta(s);
  std::vector<double> per_theta(NF, 0.0);
  engine::for_ranges(NF, kFirmGrain, [&](std::size_t fb, std::size_t fe) {  // two pows a firm
    for (std::size_t f = fb; f < fe; ++f) {
      const FirmOutput y = firm_output(s, f);
      F.sum_theta[f] = y.sum_theta;
      F.output[f] = y.output;
      F.hc_output[f] = y.hc_output;
      if (y.sum_theta > 0) per_theta[f] = y.output / y.sum_theta;
    }
  });
  const auto& tot = s.counters.count(N, 4 * std::size_t(R), [&](int64_t* a, std::size_t b, std::size_t e) {
    credit_output(b, e, std::size_t(R), r.employer.data(), r.alive.data(), r.location.data(), r.origin.data(),
                  r.tier.data(), r.skill.data(), r.output.data(), r.hc_output.data(), per_theta.data(), a);
  });
  for (int x = 0; x < R; ++x) {
    s.stats.output_region[x] = double(tot[x]) / kOut;
    s.stats.output_origin[x] = double(tot[R + x]) / kOut;
    s.stats.hc_region[x] = double(tot[2 * R + x]) / kOut;
    s.stats.hc_origin[x] = double(tot[3 * R + x]) / kOut;
  }
}

}  // namespace ts::model::phase
