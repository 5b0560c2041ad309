// 3. firm planning (MODEL.md §4.3): budgets → compute and target headcount → vacancies; the
// offices random search draws from.
#include <cmath>
#include <limits>

#include "sim/model/ledger.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/terms.hpp"

namespace ts::model::phase {

namespace {

/// Vose's alias method over `weights` (entry k of the table stands for `entries[k]`).
void build_alias(AliasTable& t, const std::vector<double>& weights, std::vector<int32_t> entries) {
  const std::size_t n = weights.size();
  double total = 0;
  for (const double w : weights) total += w;
  t.total = total;
  t.entry = std::move(entries);
  t.prob.assign(n, 0.0);
  t.alias.assign(n, 0);
  if (total <= 0 || n == 0) return;
  std::vector<int32_t> small, large;
  std::vector<double> p(n);
  for (std::size_t k = 0; k < n; ++k) {
    p[k] = weights[k] * double(n) / total;
    (p[k] < 1.0 ? small : large).push_back(int32_t(k));
  }
  while (!small.empty() && !large.empty()) {
    const int32_t sm = small.back(), l = large.back();
    small.pop_back();
    t.prob[sm] = p[sm];
    t.alias[sm] = l;
    p[l] = (p[l] + p[sm]) - 1.0;
    if (p[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (int32_t k : large) t.prob[k] = 1.0, t.alias[k] = k;
  for (int32_t k : small) t.prob[k] = 1.0, t.alias[k] = k;
}

/// The offices random search draws from: each open office weighted by its firm's vacancies ×
/// search intensity (unlimited firms: the intensity alone) times its share of the firm's open
/// hiring shares; one table worldwide and one per region.
void build_office_sampler(State& s) {
  const auto& F = s.world.f;
  auto& S = s.sampler;
  const std::size_t NO = F.office_region.size();
  std::vector<double> w(NO, 0.0);
  S.office_firm.assign(NO, 0);
  for (std::size_t f = 0; f < F.size(); ++f) {
    double open = 0;
    for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) open += F.office_open[k] ? F.office_share[k] : 0;
    const double firm_w = open <= 0 ? 0.0 : F.unlimited[f] ? F.search_intensity[f] : double(F.vacancies[f]) * F.search_intensity[f];
    for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) {
      S.office_firm[k] = int32_t(f);
      if (F.office_open[k] && open > 0) w[k] = firm_w * (F.office_share[k] / open);
    }
  }
  std::vector<int32_t> all(NO);
  for (std::size_t k = 0; k < NO; ++k) all[k] = int32_t(k);
  build_alias(S.worldwide, w, all);
  const int R = s.regions();
  S.in_region.resize(std::size_t(R));
  if (s.params.market.local_share <= 0) {
    for (auto& t : S.in_region) t = AliasTable{};
    return;
  }
  for (int r = 0; r < R; ++r) {
    std::vector<double> wr;
    std::vector<int32_t> er;
    for (std::size_t k = 0; k < NO; ++k)
      if (F.office_region[k] == r) wr.push_back(w[k]), er.push_back(int32_t(k));
    build_alias(S.in_region[std::size_t(r)], wr, std::move(er));
  }
}

}  // namespace

void FirmPlanning::run(State& s) {
  auto& F = s.world.f;
  const std::size_t NF = F.size();
  // The firms' books are kept up to date at every change, so planning needs no pass over the
  // researchers unless that chain was broken: the first step, a restored run, an event this
  // step, a hand edit.
  if (s.books.recount) {
    count_firm_books(s);
    s.books.recount = false;
  }
  // Budgets follow their trend from step 1 on (not in the spin-up: the start's budgets are the
  // scenario's), and the budget's compute share buys compute.
  const double month_growth = 1.0 / 12.0;
  engine::for_ranges(NF, kFirmGrain, [&](std::size_t fb, std::size_t fe) {
    for (std::size_t f = fb; f < fe; ++f) {
      if (F.budget_growth[f] != 0 && s.world.step > 0) {
        const double g = std::pow(1.0 + F.budget_growth[f], month_growth);
        F.budget[f] *= g;
        F.wage_budget[f] *= g;
      }
      F.compute[f] = F.budget[f] * F.compute_share[f] / s.params.production.gpu_cost * F.compute_factor[f];
    }
  });
  // The value of a researcher to each firm (pay rule valuation), from its staff and compute now
  // (Σθ(t) counted afresh when realised talent grows with experience).
  if (s.params.production.output_value > 0) {
    if (s.params.population.experience.enabled && s.params.production.scale > 0) count_staff_theta(s);
    update_firm_values(s);
  }
  // In the first half of the spin-up each wage budget keeps the scenario's planned headcount
  // affordable at the firm's pay as the pay settles (raises, premiums, counteroffers): every firm
  // can pay its own pay scale (MODEL.md §2). In the second half the budgets are held, as they are
  // from step 0 on (trends and events aside), so the start is the steady state of the model's own
  // dynamics (MODEL.md §4, the start state): a held budget's firm that hires from unemployment
  // at lower pay can afford more staff, and that adjustment takes years.
  if (s.world.step < s.first_step / 2 && s.planned_headcount.size() == NF)
    for (std::size_t f = 0; f < NF; ++f)
      if (!F.unlimited[f]) F.wage_budget[f] = s.planned_headcount[f] * expected_pay(s, int(f));
  // The headcount plan is what the wage budget pays at the expected pay; vacancies fill it.
  s.plan_capacity.assign(NF, 0);
  engine::for_ranges(NF, kFirmGrain, [&](std::size_t fb, std::size_t fe) {
    for (std::size_t f = fb; f < fe; ++f) {
      if (F.unlimited[f]) {
        F.vacancies[f] = std::numeric_limits<int64_t>::max() / 4;
        continue;
      }
      const double pay = expected_pay(s, int(f));
      F.target[f] = pay > 0 ? F.wage_budget[f] / pay : 0.0;
      F.vacancies[f] = std::max<int64_t>(0, std::llround(F.target[f]) - F.headcount[f] - F.pending_in[f]);
      s.plan_capacity[f] = std::max<int64_t>(F.headcount[f] + F.pending_in[f], std::llround(F.target[f]));
    }
  });
  build_office_sampler(s);
}

}  // namespace ts::model::phase
