#include "sim/model/validation.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

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
  for (const auto& f : p.firms) require(f.hiring.unlimited, "firms must have hiring.unlimited: true");
  require(p.market.lambda1 > 0 && p.market.separation > 0 && p.market.lambda0 > 0, "λ0, λ1, δ must be > 0");
}

}  // namespace

ValidationReport run_validation(const Params& params) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& V = params.validation;
  require(V.kind != ValidationKind::None, "validation.kind is none");
  if (V.kind != ValidationKind::Markov) check_ladder_setup(params);
  Params p = params;
  p.run.steps = V.burn_in + V.window;
  p.events.clear();
  Simulation sim(p);
  const int R = sim.regions();
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

  if (V.kind == ValidationKind::BurdettMortensen || V.kind == ValidationKind::PostelVinayRobin) {
    rep.kind = V.kind == ValidationKind::BurdettMortensen ? "burdett_mortensen" : "postel_vinay_robin";
    const double u_th = delta / (delta + l0), rho = 1.0 - delta - l0;
    const double u_se = std::sqrt(u_th * (1 - u_th) / (N * W) * (1 + rho) / (1 - rho));
    std::snprintf(note, sizeof note,
                  "z·SE; SE of a window mean of N two-state chains (persistence 1−δ−λ0): √(u(1−u)/(N·W)·(1+ρ)/(1−ρ)), "
                  "N=%.0f, W=%.0f", N, W);
    rep.checks.push_back(make("unemployment u = δ/(δ+λ0)", u_th, u_sum / W, z * u_se, note));
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
    Eigen::MatrixXd P = Eigen::MatrixXd::Zero(R, R);
    for (int a = 0; a < R; ++a) {
      double out = 0;
      for (int b = 0; b < R; ++b)
        if (a != b && stock_prev_sum[a] > 0) {
          P(a, b) = flows[std::size_t(a) * R + b] / stock_prev_sum[a];
          out += P(a, b);
        }
      P(a, a) = 1.0 - out;
    }
    // Stationary π: πP = π, Σπ = 1.
    Eigen::MatrixXd A = P.transpose() - Eigen::MatrixXd::Identity(R, R);
    A.row(R - 1).setOnes();
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(R);
    rhs(R - 1) = 1.0;
    const Eigen::VectorXd pi = A.colPivHouseholderQr().solve(rhs);
    for (int a = 0; a < R; ++a) {
      double n_out = 0, n_in = 0;
      for (int b = 0; b < R; ++b)
        if (b != a) n_out += flows[std::size_t(a) * R + b], n_in += flows[std::size_t(b) * R + a];
      const double se = pi(a) * (1 - pi(a)) * std::sqrt(1.0 / std::max(1.0, n_out) + 1.0 / std::max(1.0, n_in));
      std::snprintf(note, sizeof note, "z·π(1−π)·√(1/n_out+1/n_in), %.0f moves out and %.0f in over the window", n_out, n_in);
      rep.checks.push_back(make("stock share of " + p.regions[a].name + " = stationary π", pi(a), share_sum[a] / W, z * se, note));
    }
    Distribution d{"stock shares of the regions", "stock share of each region = stationary π", "region",
                   "share of all researchers (mean over the window)", {}, {}, {}, {}};
    for (int a = 0; a < R; ++a) {
      d.categories.push_back(p.regions[a].name);
      d.x.push_back(double(a));
      d.theory.push_back(pi(a));
      d.simulated.push_back(share_sum[a] / W);
    }
    rep.distributions.push_back(std::move(d));
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace ts::model
