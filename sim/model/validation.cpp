#include "sim/model/validation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "sim/model/simulation.hpp"
#include "sim/model/terms.hpp"

namespace ts::model {

double false_alarm(double z) { return std::erfc(z / std::sqrt(2.0)); }

bool ValidationReport::pass() const {
  return std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.pass; });
}

static std::string pad(const std::string& s, std::size_t width) {
  std::size_t cps = 0;  // code points, so UTF-8 names line up
  for (unsigned char ch : s) cps += (ch & 0xC0) != 0x80;
  return s + std::string(width > cps ? width - cps : 0, ' ');
}

std::string ValidationReport::table() const {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, " %14s %14s %12s  %s\n", "theory", "simulated", "tolerance", "result");
  os << pad("quantity", 44) << line;
  for (const auto& c : checks) {
    std::snprintf(line, sizeof line, " %14.6g %14.6g %12.3g  %s\n", c.theory, c.simulated, c.tolerance,
                  c.pass ? "pass" : "FAIL");
    os << pad(c.quantity, 44) << line;
  }
  os << "\n";
  for (const auto& c : checks)
    if (!c.note.empty()) os << "  " << c.quantity << ": " << c.note << "\n";
  return os.str();
}

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += std::string("\\") + char(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += char(c);
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string json_numbers(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v[i]);
  return out + "]";
}

}  // namespace

std::string ValidationReport::json(const std::vector<std::pair<std::string, std::string>>& context) const {
  std::ostringstream os;
  os << "{\n  \"tool\": \"talentsim validate\",\n  \"schema\": 1";
  for (const auto& [k, v] : context) os << ",\n  " << json_string(k) << ": " << json_string(v);
  os << ",\n  \"kind\": " << json_string(kind) << ",\n  \"pass\": " << (pass() ? "true" : "false")
     << ",\n  \"researchers\": " << researchers << ",\n  \"steps\": " << steps << ",\n  \"seed\": " << seed
     << ",\n  \"burn_in\": " << burn_in << ",\n  \"window\": " << window
     << ",\n  \"seconds\": " << json_number(seconds) << ",\n  \"checks\": [";
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const auto& c = checks[i];
    os << (i ? "," : "") << "\n    {\"quantity\": " << json_string(c.quantity) << ", \"theory\": " << json_number(c.theory)
       << ", \"simulated\": " << json_number(c.simulated) << ", \"tolerance\": " << json_number(c.tolerance)
       << ", \"pass\": " << (c.pass ? "true" : "false") << ", \"note\": " << json_string(c.note) << "}";
  }
  os << "\n  ],\n  \"distributions\": [";
  for (std::size_t i = 0; i < distributions.size(); ++i) {
    const auto& d = distributions[i];
    os << (i ? "," : "") << "\n    {\"name\": " << json_string(d.name) << ", \"check\": " << json_string(d.check)
       << ", \"x_label\": " << json_string(d.x_label) << ", \"y_label\": " << json_string(d.y_label)
       << ",\n     \"categories\": [";
    for (std::size_t k = 0; k < d.categories.size(); ++k) os << (k ? ", " : "") << json_string(d.categories[k]);
    os << "],\n     \"x\": " << json_numbers(d.x) << ",\n     \"theory\": " << json_numbers(d.theory)
       << ",\n     \"simulated\": " << json_numbers(d.simulated) << "}";
  }
  os << "\n  ]\n}\n";
  return os.str();
}

namespace {

Check make(std::string q, double theory, double sim, double tol, std::string note) {
  return Check{std::move(q), theory, sim, tol, std::fabs(sim - theory) <= tol, std::move(note)};
}

/// KS distance between the employed researchers' distribution over firm values and the
/// BM/PVR closed form δF/(δ+(1−δ)λ1(1−F)), F = the offer distribution (uniform over firms).
struct KsResult {
  double ks = 0;
  double jj_theory = 0;  ///< (1−δ)λ1 Σ g(v)(1−F(v)): per-step job-to-job rate
  int64_t n = 0;
  std::vector<double> x, theory, simulated;  ///< at each distinct firm value: closed form and empirical CDF
};

KsResult ladder_ks(const std::vector<double>& firm_value, const std::vector<double>& worker_value, double delta,
                   double lambda1) {
  std::vector<double> fv = firm_value;
  std::sort(fv.begin(), fv.end());
  std::vector<double> wv = worker_value;
  std::sort(wv.begin(), wv.end());
  KsResult res;
  res.n = int64_t(wv.size());
  const double nf = double(fv.size());
  double prev_g = 0;
  std::size_t k = 0;
  for (std::size_t j = 0; j < fv.size(); ++j) {
    // all firms with value <= fv[j]
    while (j + 1 < fv.size() && fv[j + 1] == fv[j]) ++j;
    const double F = double(j + 1) / nf;
    const double G = delta * F / (delta + (1.0 - delta) * lambda1 * (1.0 - F));
    while (k < wv.size() && wv[k] <= fv[j]) ++k;
    const double Ge = wv.empty() ? 0.0 : double(k) / double(wv.size());
    res.ks = std::max(res.ks, std::fabs(Ge - G));
    res.x.push_back(fv[j]);
    res.theory.push_back(G);
    res.simulated.push_back(Ge);
    res.jj_theory += (G - prev_g) * (1.0 - F);
    prev_g = G;
  }
  res.jj_theory *= (1.0 - delta) * lambda1;
  return res;
}

double dkw(double alpha, double n) { return n > 0 ? std::sqrt(std::log(2.0 / alpha) / (2.0 * n)) : 1.0; }

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("this scenario is not a valid reduction: " + what);
}

void check_ladder_setup(const Params& p) {
  const auto& U = p.market.utility;
  require(p.regions.size() == 1 || p.validation.kind == ValidationKind::Markov, "needs exactly one region");
  require(U.noise == 0 && U.compute == 0 && U.prestige == 0 && U.move_cost == 0 && U.home == 0 && U.home_sd == 0 &&
              U.compute_sd == 0,
          "utility must be pay only without noise (market.utility)");
  require(p.population.fixed_talent > 0, "population.fixed_talent must be set (identical researchers)");
  require(!p.population.ageing && p.population.exit_rate == 0, "no ageing and no exits");
  require(!p.population.experience.enabled,
          "realised talent must not grow with experience (population.experience.enabled: false): identical researchers");
  for (const auto& f : p.firms) require(f.hiring.unlimited, "firms must have hiring.unlimited: true");
  require(p.market.lambda1 > 0 && p.market.separation > 0 && p.market.lambda0 > 0, "λ0, λ1, δ must be > 0");
}

/// The migration chain (validation.kind markov): regions whose only link is the random search of
/// the unemployed. Identical researchers with pay-only utility and no noise; only the unemployed
/// search (λ1 = 0), every offer is taken (each firm's pay above every region's unemployment
/// income, unlimited firms) and moving abroad costs nothing and lasts: visas approved at once
/// without cap, not expiring within the run, and a grace period no jobless researcher outlasts.
void check_markov_setup(const Params& p) {
  const auto& U = p.market.utility;
  require(p.regions.size() >= 2, "needs at least two regions");
  require(U.noise == 0 && U.compute == 0 && U.prestige == 0 && U.move_cost == 0 && U.home == 0 && U.home_sd == 0 &&
              U.compute_sd == 0 && U.visa_risk == 0,
          "utility must be pay only without noise (market.utility)");
  require(p.population.fixed_talent > 0, "population.fixed_talent must be set (identical researchers)");
  require(!p.population.ageing && p.population.exit_rate == 0, "no ageing and no exits");
  require(!p.population.experience.enabled, "realised talent must not grow with experience");
  for (const auto& f : p.firms) require(f.hiring.unlimited, "firms must have hiring.unlimited: true");
  require(p.market.lambda1 == 0, "only the unemployed search (market.lambda1: 0)");
  require(p.market.separation > 0 && p.market.lambda0 > 0, "λ0 and δ must be > 0");
  const int64_t steps = p.validation.burn_in + p.validation.window;
  for (const auto& reg : p.regions) {
    require(reg.home_pull == 0, "region " + reg.name + ": home_pull must be 0 (no pull home)");
    auto frictionless = [&](const VisaRule& v) { return v.approval == 1 && v.processing_months == 0 && !v.capped; };
    require(frictionless(reg.visa), "region " + reg.name + ": visas must be approved at once without cap");
    for (const auto& o : reg.visa_by_origin) require(frictionless(o.rule), "region " + reg.name + ": visa_by_origin " + o.name);
    require(reg.visa_months > steps, "region " + reg.name + ": visa_months must exceed the run (" + std::to_string(steps) +
                                         " steps)");
    // A forced departure needs grace_months without an offer: (1 − λ0)^grace of the jobless.
    require(std::pow(1.0 - p.market.lambda0, double(reg.grace_months)) < 1e-9,
            "region " + reg.name + ": grace_months too short for λ0 (a researcher may run out of grace)");
  }
}

}  // namespace

namespace {

/// BM, PVR and the migration chain: a window of steps after a burn-in.
ValidationReport validate_ladder_or_markov(const Params& params) {
  const auto& V = params.validation;
  if (V.kind == ValidationKind::Markov)
    check_markov_setup(params);
  else
    check_ladder_setup(params);
  Params p = params;
  p.run.steps = V.burn_in + V.window;
  p.events.clear();
  Simulation sim(p);
  const int R = sim.regions();
  if (V.kind == ValidationKind::Markov) {
    // Every offer is taken from unemployment, wherever the researcher is: pay above every b.
    const auto& F = sim.world().f;
    double b = 0;
    for (const auto& reg : p.regions) b = std::max(b, reg.unemployed_income);
    for (std::size_t f = 0; f < F.size(); ++f)
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) {
        const double v = offer_comp(sim.state(), int(f), F.office_region[k], 1.0f, false);
        require(v > b, "firm " + F.name[f] + " offers " + std::to_string(v) + " <= the largest unemployment income " +
                           std::to_string(b) + " (the chain needs every offer taken)");
      }
  }
  if (V.kind == ValidationKind::PostelVinayRobin || V.kind == ValidationKind::BurdettMortensen) {
    // The closed forms assume every offer is acceptable from unemployment: firm values above b.
    const auto& F = sim.world().f;
    const double b = p.regions[0].unemployed_income;
    for (std::size_t f = 0; f < F.size(); ++f) {
      const double v = V.kind == ValidationKind::PostelVinayRobin ? max_comp(sim.state(), int(f), F.hq[f], 1.0f)
                                                                  : offer_comp(sim.state(), int(f), F.hq[f], 1.0f, false);
      require(v > b, "firm " + F.name[f] + " has value " + std::to_string(v) + " <= b = " + std::to_string(b) +
                         " (the theory needs every firm type above the unemployment income)");
    }
  }
  const double z = V.z, alpha = false_alarm(z);
  const double delta = p.market.separation, l0 = p.market.lambda0, l1 = p.market.lambda1;
  for (int64_t t = 0; t < V.burn_in; ++t) sim.step();

  double u_sum = 0, moves = 0, exposure = 0;
  int64_t prev_employed = sim.stats().market[kEmployed];
  constexpr int kBatches = 20;
  std::vector<double> raises(kBatches, 0.0), poach(kBatches, 0.0);
  std::vector<double> flows(std::size_t(R) * R, 0.0), stock_prev_sum(R, 0.0), share_sum(R, 0.0);
  auto stock_of = [&](int reg) {
    int64_t n = 0;
    for (int o = 0; o < R; ++o)
      for (int k = 0; k < kTiers; ++k) n += sim.stats().stocks[(std::size_t(reg) * R + o) * kTiers + k];
    return n;
  };
  std::vector<int64_t> stock_prev(R);
  for (int reg = 0; reg < R; ++reg) stock_prev[reg] = stock_of(reg);
  for (int64_t t = 0; t < V.window; ++t) {
    sim.step();
    const auto& st = sim.stats();
    const double E = double(st.market[kEmployed]), Un = double(st.market[kUnemployed]);
    u_sum += Un / (E + Un);
    moves += double(st.market[kJobToJob]);
    exposure += double(prev_employed);
    prev_employed = st.market[kEmployed];
    for (const auto& e : st.log) {
      if (e.kind == uint8_t(LogKind::CounterRaise)) raises[e.uid % kBatches] += 1;
      if (e.kind == uint8_t(LogKind::Move)) poach[e.uid % kBatches] += 1;
    }
    double total = 0;
    for (int reg = 0; reg < R; ++reg) total += double(stock_of(reg));
    for (int a = 0; a < R; ++a) {
      stock_prev_sum[a] += double(stock_prev[a]);
      share_sum[a] += double(stock_of(a)) / total;
      for (int b = 0; b < R; ++b) flows[std::size_t(a) * R + b] += double(st.flows[std::size_t(a) * R + b]);
    }
    for (int reg = 0; reg < R; ++reg) stock_prev[reg] = stock_of(reg);
  }

  ValidationReport rep;
  rep.researchers = int64_t(sim.world().r.size());
  rep.steps = p.run.steps;
  rep.seed = p.run.seed;
  rep.burn_in = V.burn_in;
  rep.window = V.window;
  const double N = double(rep.researchers), W = double(V.window);
  char note[512];
  const auto& r = sim.world().r;
  const auto& F = sim.world().f;

  // Every kind here: the unemployed share u = δ/(δ+λ0) (in the migration chain, in every region).
  const double u_th = delta / (delta + l0), rho = 1.0 - delta - l0;
  const double u_se = std::sqrt(u_th * (1 - u_th) / (N * W) * (1 + rho) / (1 - rho));
  std::snprintf(note, sizeof note,
                "z·SE; SE of a window mean of N two-state chains (persistence 1−δ−λ0): √(u(1−u)/(N·W)·(1+ρ)/(1−ρ)), "
                "N=%.0f, W=%.0f", N, W);
  rep.checks.push_back(make("unemployment u = δ/(δ+λ0)", u_th, u_sum / W, z * u_se, note));

  if (V.kind == ValidationKind::BurdettMortensen || V.kind == ValidationKind::PostelVinayRobin) {
    rep.kind = V.kind == ValidationKind::BurdettMortensen ? "burdett_mortensen" : "postel_vinay_robin";
    std::vector<double> firm_value(F.size()), worker_value;
    const bool bm = V.kind == ValidationKind::BurdettMortensen;
    for (std::size_t f = 0; f < F.size(); ++f)
      // Pay is stored as float: compare workers with their firm's wage in the same precision,
      // or a wage rounded up would be counted at the next firm's point.
      firm_value[f] = bm ? double(float(offer_comp(sim.state(), int(f), F.hq[f], 1.0f, false)))
                         : max_comp(sim.state(), int(f), F.hq[f], 1.0f);
    for (std::size_t i = 0; i < r.size(); ++i)
      if (r.alive[i] && r.employer[i] != kNoFirm) worker_value.push_back(bm ? double(r.comp[i]) : firm_value[r.employer[i]]);
    const auto ks = ladder_ks(firm_value, worker_value, delta, l1);
    std::snprintf(note, sizeof note,
                  "DKW bound √(ln(2/α)/(2n)) at α=%.2g (the two-sided tail of z), n=%lld employed at the last step; "
                  "F = offer distribution over the %zu firms", alpha, (long long)ks.n, F.size());
    rep.checks.push_back(make(bm ? "KS(G, δF/(δ+(1−δ)λ1(1−F)))" : "KS(L, δF/(δ+(1−δ)λ1(1−F)))", 0.0, ks.ks,
                              dkw(alpha, double(ks.n)), note));
    rep.distributions.push_back(Distribution{
        bm ? "G: pay of the employed (CDF)" : "L: employers' maximum packages among the employed (CDF)",
        rep.checks.back().quantity,
        bm ? "annual pay (USD per year)" : "employer's maximum package (USD per year)",
        "share of employed researchers at or below x", {}, ks.x, ks.theory, ks.simulated});
    const double jj = moves / exposure;
    std::snprintf(note, sizeof note, "z·√(q(1−q)/E), E=%.0f employed researcher-steps in the window", exposure);
    rep.checks.push_back(make("job-to-job rate (1−δ)λ1·E_G[1−F]", ks.jj_theory, jj,
                              z * std::sqrt(ks.jj_theory * (1 - ks.jj_theory) / exposure), note));
    if (!bm) {
      std::vector<double> ratio(kBatches);
      double R_ = 0, P_ = 0;
      for (int b = 0; b < kBatches; ++b) {
        ratio[b] = poach[b] > 0 ? raises[b] / poach[b] : 0.0;
        R_ += raises[b];
        P_ += poach[b];
      }
      const double mean = std::accumulate(ratio.begin(), ratio.end(), 0.0) / kBatches;
      double var = 0;
      for (double x : ratio) var += (x - mean) * (x - mean);
      const double se = std::sqrt(var / (kBatches - 1) / kBatches);
      std::snprintf(note, sizeof note,
                    "z·SE over %d independent batches of researchers (uid mod %d); %.0f raises, %.0f poaching moves",
                    kBatches, kBatches, R_, P_);
      rep.checks.push_back(make("counteroffer raises / poaching moves", 1.0, P_ > 0 ? R_ / P_ : 0.0, z * se, note));
    }
  } else {
    rep.kind = "markov";
    // The chain from the parameters alone. A researcher's region changes only when, unemployed
    // at the end of the last step (not just separated), it receives an offer (λ0) from an
    // office in another region b: from the own region with local_share ℓ, else from anywhere
    // with b's share w_b of the offices' search weights (firm intensity × office share, as random
    // search draws them). Separations (δ) and offers have the same rates everywhere, so the
    // unemployed share is u = δ/(δ+λ0) in every region, and
    //   P(a → b) per month = u·λ0·(1−ℓ)·w_b,  stationary stock shares π_a = w_a
    // (detailed balance: π_a·P(a→b) = π_b·P(b→a)). A wrong sampling of offices, a home bias or a
    // wrong acceptance rule moves both.
    const double ls = p.market.local_share;
    std::vector<double> w(R, 0.0);
    double wsum = 0;
    for (std::size_t f = 0; f < F.size(); ++f) {
      double open = 0;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) open += F.office_open[k] ? F.office_share[k] : 0;
      if (open <= 0) continue;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
        if (F.office_open[k]) w[F.office_region[k]] += F.search_intensity[f] * F.office_share[k] / open;
    }
    for (const double x : w) wsum += x;
    for (auto& x : w) x /= wsum;
    for (int a = 0; a < R; ++a)
      for (int b = 0; b < R; ++b) {
        if (a == b) continue;
        const double q = l0 * (1 - ls) * w[b], P_th = u_th * q, n = stock_prev_sum[a];
        // Moves a → b in the window: binomial given the unemployed, whose number persists from
        // month to month (ρ): Var ≈ n·P·[(1 − q) + q·(1 − u)·(1 + ρ)/(1 − ρ)].
        const double se = n > 0 ? std::sqrt(P_th * ((1 - q) + q * (1 - u_th) * (1 + rho) / (1 - rho)) / n) : 1.0;
        std::snprintf(note, sizeof note,
                      "z·SE; SE of a binomial count given the unemployed, widened for their persistence; %.0f moves "
                      "in %.0f researcher-months",
                      flows[std::size_t(a) * R + b], n);
        rep.checks.push_back(make("monthly moves " + p.regions[a].name + " → " + p.regions[b].name + " = u·λ0·(1−ℓ)·w_" +
                                      p.regions[b].name,
                                  P_th, n > 0 ? flows[std::size_t(a) * R + b] / n : 0.0, z * se, note));
      }
    for (int a = 0; a < R; ++a) {
      double n_out = 0, n_in = 0;
      for (int b = 0; b < R; ++b)
        if (b != a) n_out += flows[std::size_t(a) * R + b], n_in += flows[std::size_t(b) * R + a];
      const double se = w[a] * (1 - w[a]) * std::sqrt(1.0 / std::max(1.0, n_out) + 1.0 / std::max(1.0, n_in));
      std::snprintf(note, sizeof note, "z·π(1−π)·√(1/n_out+1/n_in), %.0f moves out and %.0f in over the window", n_out, n_in);
      rep.checks.push_back(make("stock share of " + p.regions[a].name + " = w_" + p.regions[a].name, w[a], share_sum[a] / W,
                                z * se, note));
    }
    Distribution d{"stock shares of the regions", "stock share of each region = its share w of the search weights", "region",
                   "share of all researchers (mean over the window)", {}, {}, {}, {}};
    for (int a = 0; a < R; ++a) {
      d.categories.push_back(p.regions[a].name);
      d.x.push_back(double(a));
      d.theory.push_back(w[a]);
      d.simulated.push_back(share_sum[a] / W);
    }
    rep.distributions.push_back(std::move(d));
  }
  return rep;
}

/// Residency queue (MODEL.md §8): a cohort of work-visa holders waiting for residency, with
/// nothing else changing but two constant hazards. Each month the exit phase (demography)
/// comes before the visa phase, so a waiting researcher leaves the field with x (exit_rate)
/// and, still there, is granted residency with g (pr_rate / 12): after t months
/// S(t) = ((1−x)(1−g))^t still wait, and of those who stopped waiting a share
/// (1−x)g / (x + (1−x)g) was granted. (MODEL.md writes (1−g−x)^t and g : x, the same law for
/// competing hazards within a month; sequential phases give the exact forms above.)
ValidationReport validate_residency_queue(const Params& params) {
  const auto& V = params.validation;
  const auto& M = params.market;
  const auto& P = params.population;
  require(M.lambda0 == 0 && M.lambda1 == 0 && M.separation == 0, "λ0, λ1 and δ must be 0 (nobody changes jobs)");
  require(!P.ageing && !P.steady_entry, "no ageing and no steady entry");
  for (const auto& reg : params.regions) require(reg.entrants_per_month == 0, "no entrants (regions.*.entrants_per_month: 0)");
  for (const auto& f : params.firms) require(f.hiring.scouting_rate == 0, "no scouting (firms[*].scouting_rate: 0)");
  require(V.burn_in >= 1, "validation.burn_in >= 1: the cohort is who waits after the burn-in");
  Params p = params;
  p.run.steps = V.burn_in + V.window;
  p.events.clear();
  Simulation sim(p);
  for (int64_t t = 0; t < V.burn_in; ++t) sim.step();

  // The cohort: everyone waiting in a residency queue after the burn-in, with one grant rate.
  const auto& r = sim.world().r;
  std::vector<uint32_t> slot;
  std::vector<uint64_t> uid;
  double g = -1;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r.alive[i] && Status(r.status[i]) == Status::WorkVisa && r.residency[i] >= 0) {
      const double gi = sim.state().visa_rule(r.location[i], r.origin[i]).pr_rate / 12.0;
      require(g < 0 || gi == g, "one grant rate for the whole cohort (one destination × origin rule)");
      g = gi;
      slot.push_back(uint32_t(i));
      uid.push_back(r.uid[i]);
    }
  require(!slot.empty(), "nobody waits for residency after the burn-in (work visas at sponsoring firms, "
                         "regions.*.residency_after_months)");
  const double x = P.exit_rate, n0 = double(slot.size());
  std::vector<double> waiting(std::size_t(V.window) + 1, n0);
  // How each wait ended, the first time it did (a researcher granted residency may exit later).
  enum Outcome : uint8_t { Waiting, Granted, Exited, Other };
  std::vector<uint8_t> outcome(slot.size(), Waiting);
  double granted = 0, exited = 0, other = 0;
  for (int64_t t = 1; t <= V.window; ++t) {
    sim.step();
    double wait = 0;
    for (std::size_t k = 0; k < slot.size(); ++k) {
      if (outcome[k] != Waiting) continue;
      const std::size_t i = slot[k];
      if (!r.alive[i] || r.uid[i] != uid[k]) outcome[k] = Exited, exited += 1;
      else if (Status(r.status[i]) == Status::Permanent) outcome[k] = Granted, granted += 1;
      else if (Status(r.status[i]) == Status::WorkVisa && r.residency[i] >= 0) wait += 1;
      else outcome[k] = Other, other += 1;
    }
    waiting[std::size_t(t)] = wait;
  }

  ValidationReport rep;
  rep.kind = "residency_queue";
  rep.researchers = int64_t(r.size());
  rep.steps = p.run.steps;
  rep.seed = p.run.seed;
  rep.burn_in = V.burn_in;
  rep.window = V.window;
  const double z = V.z, q = (1 - x) * (1 - g);
  char note[512];
  Distribution d{"share of the cohort still waiting", "", "months since the cohort was formed",
                 "share still waiting for residency", {}, {}, {}, {}};
  for (int64_t t = 0; t <= V.window; ++t) {
    d.x.push_back(double(t));
    d.theory.push_back(std::pow(q, double(t)));
    d.simulated.push_back(waiting[std::size_t(t)] / n0);
  }
  // Survival at a quarter, half and the whole window: binomial tolerances on n0 researchers.
  for (int64_t t : {std::max<int64_t>(1, V.window / 4), std::max<int64_t>(1, V.window / 2), V.window}) {
    const double S = std::pow(q, double(t));
    std::snprintf(note, sizeof note, "z·√(S(1−S)/n), n=%.0f in the cohort; x=%.4g, g=%.4g a month", n0, x, g);
    rep.checks.push_back(make("still waiting after " + std::to_string(t) + " months ((1−x)(1−g))^t", S,
                              waiting[std::size_t(t)] / n0, z * std::sqrt(S * (1 - S) / n0), note));
  }
  d.check = rep.checks.back().quantity;
  rep.distributions.push_back(std::move(d));
  const double resolved = granted + exited, share = (1 - x) * g / (x + (1 - x) * g);
  std::snprintf(note, sizeof note, "z·√(p(1−p)/m), m=%.0f who stopped waiting (%.0f granted, %.0f exits)", resolved,
                granted, exited);
  rep.checks.push_back(make("granted / stopped waiting = (1−x)g/(x+(1−x)g)", share,
                            resolved > 0 ? granted / resolved : 0.0,
                            z * std::sqrt(share * (1 - share) / std::max(1.0, resolved)), note));
  rep.checks.push_back(make("left the queue another way (job, visa, departure)", 0.0, other, 0.0,
                            "exact: nothing but exit and grant ends a wait here"));
  return rep;
}

/// Stationarity (MODEL.md §6, §8): the scenario with its trends off (budget growth 0, no
/// timeline) moves its stocks by region × tier by less than 5% and each region's unemployment
/// rate by less than 1 percentage point over the window. A month's count is noisy (an elite
/// cell may hold ten people), so what is compared is a 12-month mean with the first 12
/// months' mean, averaged over `replicates` runs (seeds run.seed + k): the statistic is the
/// largest such change over the window, and the tolerance MODEL.md's bound plus z standard
/// errors of that mean across the replicates (none with one replicate). The standard error is
/// never taken below counting noise: a cell whose first-year mean holds N researchers, each
/// there or not as in a Poisson count, has a relative sd of 1/√N in each 12-month mean, so
/// √(2/N)/√replicates in their difference's mean (a rate u among N: √(2u(1−u)/N)/√replicates).
/// Below that a drift cannot be told from chance (an elite cell of one researcher).
ValidationReport validate_stationarity(const Params& params) {
  const auto& V = params.validation;
  constexpr int64_t kYear = 12;
  require(V.window >= 2 * kYear, "validation.window >= 24 (a 12-month mean at the start and at the end)");
  static const char* kTierNames[kTiers] = {"regular", "top", "elite"};
  const int R = int(params.regions.size());
  const std::size_t cells = std::size_t(R) * kTiers, series = cells + std::size_t(R) + 1;  // stocks, u by region, u
  const int64_t T = V.window, n_rep = V.replicates;
  // change[rep][t][series]: the trailing 12-month mean at month t (t >= 12) against the first 12
  // months' mean (relative for stocks, in shares for unemployment).
  std::vector<double> change(std::size_t(n_rep) * std::size_t(T) * series, 0.0), first(series, 0.0);
  int64_t researchers = 0;
  for (int64_t k = 0; k < n_rep; ++k) {
    Params p = params;
    p.run.steps = V.burn_in + V.window;
    p.run.seed = params.run.seed + uint64_t(k);
    p.events.clear();
    for (auto& f : p.firms) f.budget_growth = 0.0;
    Simulation sim(p);
    for (int64_t t = 0; t < V.burn_in; ++t) sim.step();
    std::vector<double> y(std::size_t(T) * series, 0.0);  // the monthly values
    for (int64_t t = 0; t < T; ++t) {
      sim.step();
      const auto& st = sim.stats();
      double* row = &y[std::size_t(t) * series];
      std::vector<double> n(R + 1, 0.0);
      for (int a = 0; a < R; ++a)
        for (int o = 0; o < R; ++o)
          for (int j = 0; j < kTiers; ++j) {
            const double c = double(st.stocks[(std::size_t(a) * R + o) * kTiers + j]);
            row[std::size_t(a) * kTiers + j] += c;
            n[a] += c;
          }
      double u_all = 0;
      for (int a = 0; a < R; ++a) {
        row[cells + a] = n[a] > 0 ? double(st.unemployed_region[a]) / n[a] : 0.0;
        u_all += double(st.unemployed_region[a]);
        n[R] += n[a];
      }
      row[cells + R] = n[R] > 0 ? u_all / n[R] : 0.0;
    }
    researchers = int64_t(sim.world().r.size());
    for (std::size_t q = 0; q < series; ++q) {
      auto mean12 = [&](int64_t end) {  // months end-11 … end
        double m = 0;
        for (int64_t t = end - kYear + 1; t <= end; ++t) m += y[std::size_t(t) * series + q];
        return m / kYear;
      };
      const double m0 = mean12(kYear - 1);
      first[q] += m0 / double(n_rep);
      for (int64_t t = kYear; t < T; ++t) {
        const double m = mean12(t);
        change[(std::size_t(k) * std::size_t(T) + std::size_t(t)) * series + q] =
            q < cells ? (m0 > 0 ? m / m0 - 1 : (m > 0 ? 1.0 : 0.0)) : m - m0;
      }
    }
  }
  ValidationReport rep;
  rep.kind = "stationarity";
  rep.researchers = researchers;
  rep.steps = V.burn_in + V.window;
  rep.seed = params.run.seed;
  rep.burn_in = V.burn_in;
  rep.window = V.window;
  char note[512];
  Distribution d{"stocks by region × tier: the last 12 months' mean over the first 12 months'", "", "region × tier",
                 "ratio of the 12-month means (mean over replicates)", {}, {}, {}, {}};
  // For series q: the largest |mean change| over t, and the standard error of the mean there.
  auto worst = [&](std::size_t q) {
    double best = -1, se = 0, at_end = 0;
    for (int64_t t = kYear; t < T; ++t) {
      double m = 0, v = 0;
      for (int64_t k = 0; k < n_rep; ++k) m += change[(std::size_t(k) * std::size_t(T) + std::size_t(t)) * series + q];
      m /= double(n_rep);
      for (int64_t k = 0; k < n_rep; ++k) {
        const double e = change[(std::size_t(k) * std::size_t(T) + std::size_t(t)) * series + q] - m;
        v += e * e;
      }
      if (t == T - 1) at_end = m;
      if (std::fabs(m) > best) best = std::fabs(m), se = n_rep > 1 ? std::sqrt(v / double(n_rep - 1) / double(n_rep)) : 0.0;
    }
    return std::tuple{best, se, at_end};
  };
  for (int a = 0; a < R; ++a)
    for (int j = kTiers - 1; j >= 0; --j) {
      const std::size_t q = std::size_t(a) * kTiers + std::size_t(j);
      const std::string cell = params.regions[a].name + " " + kTierNames[j];
      const auto [dev, se_rep, end] = worst(q);
      const double se_count = first[q] > 0 ? std::sqrt(2.0 / (first[q] * double(n_rep))) : 1.0;
      const double se = std::max(se_rep, se_count);
      std::snprintf(note, sizeof note,
                    "5%% (MODEL.md §6) + z·SE over %lld replicates (SE %.3g: across replicates %.3g, counting noise %.3g); "
                    "the first year's mean stock %.0f",
                    (long long)n_rep, se, se_rep, se_count, first[q]);
      rep.checks.push_back(make("stock " + cell + " (12-month mean, rel.)", 0.0, dev,
                                0.05 + V.z * se, note));
      d.categories.push_back(cell);
      d.x.push_back(double(d.x.size()));
      d.theory.push_back(1.0);
      d.simulated.push_back(1.0 + end);
    }
  for (int a = 0; a <= R; ++a) {
    const std::size_t q = cells + std::size_t(a);
    const std::string where = a < R ? params.regions[a].name : std::string("all regions");
    const auto [dev, se_rep, end] = worst(q);
    double n = 0;  // researchers in the region (all regions): the first year's mean stock
    for (int a2 = 0; a2 < R; ++a2)
      if (a2 == a || a == R)
        for (int j = 0; j < kTiers; ++j) n += first[std::size_t(a2) * kTiers + std::size_t(j)];
    const double u = first[q];
    const double se_count = n > 0 ? std::sqrt(2.0 * u * (1.0 - u) / (n * double(n_rep))) : 1.0;
    const double se = std::max(se_rep, se_count);
    std::snprintf(note, sizeof note,
                  "1 pp (MODEL.md §6) + z·SE over %lld replicates (SE %.3g: across replicates %.3g, counting noise %.3g); "
                  "the first year's mean rate %.4f",
                  (long long)n_rep, se, se_rep, se_count, u);
    rep.checks.push_back(
        make("unemployment " + where + " (12-month mean)", 0.0, dev, 0.01 + V.z * se, note));
    (void)end;
  }
  d.check = rep.checks.front().quantity;
  rep.distributions.push_back(std::move(d));
  return rep;
}

}  // namespace

ValidationReport run_validation(const Params& params) {
  const auto t0 = std::chrono::steady_clock::now();
  require(params.validation.kind != ValidationKind::None, "validation.kind is none");
  ValidationReport rep;
  switch (params.validation.kind) {
    case ValidationKind::ResidencyQueue: rep = validate_residency_queue(params); break;
    case ValidationKind::Stationarity: rep = validate_stationarity(params); break;
    default: rep = validate_ladder_or_markov(params); break;
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace ts::model
