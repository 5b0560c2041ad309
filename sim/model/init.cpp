#include "sim/model/init.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <utility>

#include "sim/engine/sort.hpp"
#include "sim/model/ledger.hpp"
#include "sim/model/selection.hpp"
#include "sim/model/terms.hpp"
#include "sim/model/tiers.hpp"

namespace ts::model {

namespace {

double inv_normal(double u) { return -std::sqrt(2.0) * boost::math::erfc_inv(2.0 * u); }

/// Age and career months of a researcher at the start, from the steady state of entry and exit
/// (population.steady_entry, with ageing): entry month u as entrants draw it, months in the
/// field c with the monthly exit probability x (geometric), kept if c < retirement − u (a
/// rejection draw: the joint density of the steady state is ∝ (1 − x)^c on c < retirement − u).
std::pair<int, int> steady_state_age(const PopulationParams& P, rng::Stream& st) {
  const int lo = P.min_age * 12, hi = std::max(lo, P.max_entry_age * 12), retire = P.retirement_age * 12;
  const double x = std::clamp(P.exit_rate, 0.0, 1.0);
  const double log_stay = x > 0 && x < 1 ? std::log1p(-x) : 0.0;
  int u = lo, c = 0;
  for (int tries = 0; tries < 1000; ++tries) {
    u = lo + int(rng::uniform_int(st, uint32_t(hi - lo + 1)));
    const double draw = rng::uniform_open01(st);
    c = x >= 1 ? 0 : x > 0 ? int(std::min(1e6, std::floor(std::log(draw) / log_stay))) : int(draw * double(retire - lo));
    if (c < retire - u) break;
    c = std::max(0, retire - u - 1);
  }
  return {u + c, c};
}

/// The value of distribution d at quantile u (R, λ1, δ for the Burdett–Mortensen offer
/// distribution).
double quantile(const Dist& d, double u, double bm_r, double lambda1, double delta) {
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

void init_regions(State& s) {
  const int R = s.regions();
  auto& rs = s.world.reg;
  rs.cap_used.assign(R, 0);
  rs.cap_applied.assign(R, 0);
  rs.selection_estimate.assign(R, 1.0);
  rs.compute_multiplier.resize(R);
  rs.exempt_abroad.resize(R);
  rs.service_penalty.resize(R);
  for (int r = 0; r < R; ++r) {
    rs.compute_multiplier[r] = s.params.regions[r].compute_multiplier;
    rs.exempt_abroad[r] = s.params.regions[r].exempt_offices_abroad;
    rs.service_penalty[r] = s.params.regions[r].service_penalty;
    rs.selection_estimate[r] = s.params.regions[r].lottery_selection;
  }
}

void init_firms(State& s) {
  auto& F = s.world.f;
  const auto& specs = s.params.firms;
  // Offices that events will open later exist from the start, closed.
  std::vector<std::vector<std::pair<int, double>>> extra(specs.size());
  for (const auto& e : s.params.events)
    if (e.type == EventType::OfficeOpen)
      for (std::size_t g = 0; g < specs.size(); ++g)
        if (specs[g].name == e.firm) extra[g].push_back({s.params.region_index(e.region), 0.0});

  F.office_begin.push_back(0);
  for (std::size_t g = 0; g < specs.size(); ++g) {
    const auto& spec = specs[g];
    for (int64_t j = 0; j < spec.count; ++j) {
      const int f = int(F.name.size());
      F.name.push_back(spec.count == 1 ? spec.name : spec.name + "#" + std::to_string(j + 1));
      F.group.push_back(int32_t(g));
      F.kind.push_back(0);
      F.hq.push_back(uint8_t(std::max(0, s.params.region_index(spec.hq))));
      F.controlled_by.push_back(
          uint8_t(std::max(0, s.params.region_index(spec.controlled_by.empty() ? spec.hq : spec.controlled_by))));
      std::vector<std::pair<int, double>> offs;
      for (const auto& o : spec.offices) offs.push_back({s.params.region_index(o.name), o.value});
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
                        &F.elasticity, &F.premium, &F.max_package, &F.annual_raise, &F.search_intensity, &F.budget_growth,
                        &F.scouting_rate, &F.max_raise, &F.max_fee, &F.target, &F.compute, &F.wage_bill,
                        &F.sum_theta, &F.output, &F.hc_output, &F.valuation_share, &F.value_per_theta, &F.wage_budget})
        col->push_back(0.0);
      for (auto* col : {&F.unlimited, &F.retention, &F.sponsors, &F.pay_rule}) col->push_back(0);
      for (auto* col : {&F.scouting_list, &F.headcount, &F.elite, &F.pending_in, &F.vacancies, &F.extra_capacity})
        col->push_back(0);
      apply_firm_policy(s, f, spec, true);
    }
  }
  index_firm_names(s);
  build_rivals(s);
}

void init_researchers(State& s) {
  const auto& P = s.params.population;
  const int R = s.regions();
  const std::size_t N = std::size_t(P.researchers);
  const Draws draws = s.draws();
  auto& r = s.world.r;
  r.reserve(Researchers::headroom(N));  // see Researchers::headroom: growth without copying
  r.resize(N);
  // Exact origin counts by largest remainder, assigned in blocks.
  std::vector<double> share(R, 0.0);
  if (P.origin_shares.empty())
    std::fill(share.begin(), share.end(), 1.0 / R);
  else
    for (const auto& sh : P.origin_shares) share[s.params.region_index(sh.name)] = sh.value;
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
  std::vector<double> abroad(R, 0.0), dest_w(R, 0.0), abroad_cut(R, 0.0);
  for (const auto& sh : P.abroad) abroad[s.params.region_index(sh.name)] = sh.value;
  for (int o = 0; o < R; ++o) abroad_cut[o] = selection_cut(abroad[o]);
  for (const auto& sh : P.abroad_destinations) dest_w[s.params.region_index(sh.name)] = sh.value;
  std::vector<uint8_t> origin_of(N);
  {
    std::size_t i = 0;
    for (int o = 0; o < R; ++o)
      for (int64_t k = 0; k < cnt[o]; ++k) origin_of[i++] = uint8_t(o);
  }
  const auto& U = s.params.market.utility;
  engine::for_each(N, [&](std::size_t i) {
    const uint8_t o = origin_of[i];
    rng::Stream st = draws.initial_researcher(i);
    r.uid[i] = i;
    r.alive[i] = 1;
    r.residency[i] = -1;
    r.origin[i] = o;
    const auto& reg = s.params.regions[o];
    const double z = P.fixed_talent > 0 ? 0.0 : rng::normal(st);  // standardised ln θ
    r.talent[i] = P.fixed_talent > 0 ? float(P.fixed_talent) : float(std::exp(reg.talent_mu + reg.talent_sigma * z));
    // Ages: from the steady state of entry and exit, or (without steady entry) uniform over the
    // working life, with careers since an entry month drawn last.
    const bool steady = P.steady_entry && P.ageing;
    int age = 0, career = -1;
    if (steady) {
      std::tie(age, career) = steady_state_age(P, st);
    } else {
      const int lo = P.min_age * 12, hi = P.retirement_age * 12 - 1;
      age = lo + int(rng::uniform_int(st, uint32_t(hi - lo + 1)));
    }
    r.age[i] = int16_t(age);
    r.home_bias[i] = float(U.home + U.home_sd * rng::normal(st));
    r.compute_taste[i] = float(std::max(0.0, U.compute + U.compute_sd * rng::normal(st)));
    int loc = o;
    // Who works abroad: a share abroad[o] of each origin, selected on talent (abroad_selection).
    const bool away = abroad[o] > 0 && (P.abroad_selection != 0 ? selected(z, P.abroad_selection, abroad_cut[o], st)
                                                                : rng::bernoulli(st, abroad[o]));
    if (away) {
      double tot = 0;
      for (int d = 0; d < R; ++d) tot += d == o ? 0.0 : dest_w[d];
      if (tot > 0) {
        double x = rng::uniform01(st) * tot;
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
      const auto& dr = s.params.regions[loc];
      r.status[i] = uint8_t(rng::bernoulli(st, dr.initial_pr_share) ? Status::Permanent : Status::WorkVisa);
      r.visa_left[i] = int16_t(1 + rng::uniform_int(st, uint32_t(dr.visa_months)));
      r.in_region[i] = int16_t(rng::uniform_int(st, 120));
    }
    r.tenure[i] = int16_t(rng::uniform_int(st, 60));
    r.flags[i] = rng::bernoulli(st, P.employment_rate) ? 1 : 0;  // temporary: wants a job
    if (!steady) {
      const int entry = P.min_age * 12 + int(rng::uniform_int(st, uint32_t((P.max_entry_age - P.min_age) * 12 + 1)));
      career = std::clamp(int(r.age[i]) - entry, 0, 32767);
    }
    if (steady) r.tenure[i] = int16_t(std::min<int>(r.tenure[i], career));  // no longer at the employer than in the field
    r.career[i] = int16_t(career);
    r.skill[i] = realised_talent(r.talent[i], r.career[i], P.experience);
  });
  s.world.next_uid = N;

  // Sort talent into firms: within each region, candidates by ln θ + noise (desc), offices by prestige.
  // Each key's draws are keyed by the slot and (key desc, slot) is a total order, so neither the
  // keys nor the order depend on the thread count. Two parallel passes list every region's
  // candidates (each chunk counts its own by region, then writes them with their keys at its
  // offsets), each as one integer: the key's bits mapped to an unsigned integer that orders them
  // descending, above the slot, so sorting the integers orders by key descending, then slot.
  auto& F = s.world.f;
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
        const float key = float(std::log(r.skill[i]) + P.sorting_noise * draws.sorting_noise(i));
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
  // Valuation pay needs each firm's value of a researcher, from the staff just placed.
  if (s.params.production.output_value > 0 && s.params.production.scale > 0) {
    count_staff_theta(s);
    update_firm_values(s);
  }
  engine::for_each(N, [&](std::size_t i) {
    r.flags[i] = 0;
    if (r.employer[i] != kNoFirm)
      r.comp[i] = float(offer_comp(s, r.employer[i], r.location[i], r.skill[i], false));
    else
      r.tenure[i] = 0;
  });
  refresh_tiers(s);
  // Each firm's wage budget: what its planned headcount costs at its pay (MODEL.md §2: every
  // firm can pay its own pay scale), so the plan starts at the planned headcount.
  count_firm_books(s);
  for (std::size_t f = 0; f < F.size(); ++f) F.wage_budget[f] = F.target[f] * expected_pay(s, int(f));
  s.planned_headcount = F.target;
}

}  // namespace

void rebuild_visa_rules(State& s) {
  const int R = s.regions();
  s.visa_rules.assign(R, std::vector<VisaRule>(R));
  for (int d = 0; d < R; ++d) {
    const auto& reg = s.params.regions[d];
    for (int o = 0; o < R; ++o) s.visa_rules[d][o] = reg.visa;
    for (const auto& ov : reg.visa_by_origin) {
      const int o = s.params.region_index(ov.name);
      if (o >= 0) s.visa_rules[d][o] = ov.rule;
    }
  }
}

void index_firm_names(State& s) {
  const auto& F = s.world.f;
  s.firm_by_name.clear();
  for (std::size_t f = 0; f < F.size(); ++f) {
    s.firm_by_name[F.name[f]].push_back(int(f));
    const auto g = std::size_t(F.group[f]);
    if (g < s.params.firms.size() && s.params.firms[g].count > 1) s.firm_by_name[s.params.firms[g].name].push_back(int(f));
  }
}

void build_rivals(State& s) {
  auto& F = s.world.f;
  F.rivals.clear();
  F.rivals_begin.assign(1, 0);
  for (std::size_t f = 0; f < F.size(); ++f) {
    for (const auto& rn : s.params.firms[F.group[f]].hiring.rivals)
      for (int k : s.firms_named(rn)) F.rivals.push_back(k);
    F.rivals_begin.push_back(uint32_t(F.rivals.size()));
  }
}

void apply_firm_policy(State& s, int f, const FirmSpec& spec, bool reset_levels) {
  auto& F = s.world.f;
  const int member = F.group[f] >= 0 ? f : 0;
  const int64_t n = spec.count;
  // index of this firm within its group, for stratified draws
  int64_t j = 0;
  for (int k = f - 1; k >= 0 && F.group[k] == F.group[f]; --k) ++j;
  const Draws init{s.params.run.seed, 0};  // firms' values are drawn at the start, whatever the step
  auto value = [&](const Dist& d, uint32_t which) {
    double u = init.firm_value(uint64_t(member), which);
    if (d.stratified) u = (double(j) + u) / double(n);
    const int hq = F.hq[f];
    return quantile(d, u, s.params.regions[hq].unemployed_income, s.params.market.lambda1, s.params.market.separation);
  };
  F.kind[f] = uint8_t(spec.kind);
  F.prestige[f] = spec.prestige;
  F.productivity[f] = value(spec.productivity, 1);
  F.base_pay[f] = value(spec.pay.base, 2);
  F.max_package[f] = value(spec.pay.max_package, 3);
  F.elasticity[f] = spec.pay.elasticity;
  F.premium[f] = spec.pay.premium;
  F.annual_raise[f] = spec.pay.annual_raise;
  F.unlimited[f] = spec.hiring.unlimited;
  F.search_intensity[f] = spec.hiring.search_intensity;
  F.budget_growth[f] = spec.budget_growth;
  F.scouting_list[f] = spec.hiring.scouting_list;
  F.scouting_rate[f] = spec.hiring.scouting_rate;
  F.retention[f] = uint8_t(spec.retention.rule);
  F.pay_rule[f] = uint8_t(spec.pay.rule);
  F.valuation_share[f] = spec.pay.valuation_share;
  F.max_raise[f] = spec.retention.max_raise;
  F.sponsors[f] = spec.visa.sponsors;
  F.max_fee[f] = spec.visa.max_fee;
  F.compute_share[f] = spec.compute_share;
  // The levels (plan, budget, compute factor) are set at the start only: a `set` event changes
  // policies, and the budget only by the ratio of a changed budget_per_head (events.cpp), so a
  // trend's growth or a budget shock survives a `set` of another key.
  if (reset_levels) {
    F.target[f] = std::max(0.0, std::round(value(spec.headcount, 0)));
    F.compute_factor[f] = 1.0;
    F.budget[f] = spec.budget_per_head * std::max(1.0, F.target[f]);
  }
}

void init_world(State& s) {
  s.start_month = s.params.start_month_index();
  if (s.start_month < 0) throw std::invalid_argument("run.start is not a month YYYY-MM: " + s.params.run.start);
  rebuild_visa_rules(s);
  init_regions(s);
  init_firms(s);
  init_researchers(s);
  s.stats.reset(s.regions(), int(s.world.f.size()));
  s.prev_stock.assign(s.regions(), 0);
  for (std::size_t i = 0; i < s.world.r.size(); ++i)
    if (s.world.r.alive[i]) ++s.prev_stock[s.world.r.location[i]];
}

}  // namespace ts::model
