// The simulated method of moments (sim/model/calib_smm.hpp) on synthetic models whose true
// parameters, Jacobian and sampling distribution are known: recovery, the sandwich standard
// errors against the Monte-Carlo spread of the estimator, the over-identification statistic
// against χ²(K − P), the identification check on a parameter no moment depends on, tolerances
// and weights from source_sd, and fresh seeds for the verdict. Every random draw comes from a
// counter-based generator keyed by (seed, moment), so each test is deterministic; the seeds
// are stated where they are chosen.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

#include "sim/model/calib_smm.hpp"

using namespace ts::model::calib;

namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
/// A standard normal keyed by (seed, k): Box–Muller on two uniforms.
double normal(uint64_t seed, uint64_t k) {
  const uint64_t a = mix(seed * 0x100000001b3ull + 2 * k), b = mix(seed * 0x100000001b3ull + 2 * k + 1);
  const double u1 = (double(a >> 11) + 0.5) / 9007199254740992.0, u2 = double(b >> 11) / 9007199254740992.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

/// m(x; seed) = b + A x + L ε(seed), ε ~ N(0, I): linear, so G = A, and with common random
/// numbers the simulated objective is an exact quadratic. Records every seed it is asked for.
struct LinearModel : Evaluator {
  Eigen::MatrixXd A, L;
  Eigen::VectorXd b;
  mutable std::vector<uint64_t> seeds;
  std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const override {
    seeds.push_back(seed);
    Eigen::VectorXd e(L.cols());
    for (Eigen::Index k = 0; k < e.size(); ++k) e(k) = normal(seed, uint64_t(k));
    const Eigen::VectorXd m = b + A * Eigen::Map<const Eigen::VectorXd>(x.data(), Eigen::Index(x.size())) + L * e;
    return std::vector<double>(m.data(), m.data() + m.size());
  }
};

/// The linear model of the Monte-Carlo tests: K = 4 moments, P = 2 parameters, correlated
/// simulation noise, source uncertainty of the same order.
LinearModel linear4() {
  LinearModel m;
  m.A.resize(4, 2);
  m.A << 1.0, 0.2, 0.3, 1.0, 1.0, 1.0, 0.5, -0.8;
  m.b.resize(4);
  m.b << 1.0, 2.0, 0.0, 0.5;
  Eigen::MatrixXd C(4, 4);  // Σ_sim: sds 0.20, 0.25, 0.15, 0.10; corr(m0, m2) = 0.5
  const double sd[4] = {0.20, 0.25, 0.15, 0.10};
  C.setZero();
  for (int i = 0; i < 4; ++i) C(i, i) = sd[i] * sd[i];
  C(0, 2) = C(2, 0) = 0.5 * sd[0] * sd[2];
  m.L = C.llt().matrixL();
  return m;
}

/// |a/b − 1|: a relative difference (doctest's Approx adds an absolute scale of 1).
double rel(double a, double b) { return std::fabs(a / b - 1.0); }

std::vector<SmmParameter> params2() { return {{"a", -5, 5, 0.0, false}, {"b", -5, 5, 0.0, false}}; }

SmmOptions precise(int64_t S, uint64_t seed, uint64_t vseed) {
  SmmOptions o;
  o.replications = S;
  o.seed = seed;
  o.pilot_replications = 200;
  o.validation_seed = vseed;
  o.validation_min = 10;
  o.validation_max = 50;
  o.jacobian_step = 0.01;
  o.optimizer.max_evaluations = 3000;
  o.optimizer.initial_step = 0.05;
  o.optimizer.ftol = 1e-14;
  o.optimizer.xtol = 1e-9;
  o.optimizer.restarts = 2;
  return o;
}

}  // namespace

TEST_CASE("calibration SMM: chi2 survival function at known quantiles") {
  CHECK(rel(chi2_sf(3.841458820694124, 1), 0.05) <= 1e-9);
  CHECK(rel(chi2_sf(5.991464547107979, 2), 0.05) <= 1e-9);
  CHECK(rel(chi2_sf(2.0, 2), std::exp(-1.0)) <= 1e-12);  // χ²(2) is exponential with mean 2
  CHECK(std::isnan(chi2_sf(1.0, 0)));
}

TEST_CASE("calibration SMM: sandwich standard errors match the Monte-Carlo spread; J is chi2(K - P)") {
  // 500 synthetic datasets (dataset d: source noise keyed by seed 7,000,000 + d, fit seeds
  // 1000·d + 1 .., fresh seeds 10⁹ + 1000·d ..). True θ0 = (0.3, −0.2), S = 2 replications per
  // evaluation, so the simulation's share of Ω = Σ_source + Σ_sim/S is large. Theory:
  //   θ̂ − θ0 ≈ (A'WA)⁻¹A'W (source noise − mean simulation noise), Var = (A'Ω⁻¹A)⁻¹ for W = Ω⁻¹;
  //   J ~ χ²(K − P = 2): mean 2, 5% of p-values below 0.05.
  // Tolerances: the Monte-Carlo sd of θ̂ has relative sampling error 1/√(2·500) = 3.2%, so it
  // must lie within 10% of the theoretical SE (3 sampling sd); the mean SE reported by the
  // estimator (its W and Ω from a 200-run pilot) within 5% of theory; mean J within 0.35 of 2
  // (4 sampling sd: √(2·2/500) = 0.089); the 5% rejection rate within [0.02, 0.085] (binomial
  // sd 0.0097). The same spread is NOT within 10% of √(1 + 1/S)·SE: applying the textbook
  // factor on top of Ω = Σ_source + Σ_sim/S would count the simulation twice.
  const LinearModel model = linear4();
  const Eigen::Vector2d theta0(0.3, -0.2);
  const double src[4] = {0.10, 0.15, 0.12, 0.08};
  const int64_t S = 2;
  Eigen::MatrixXd Omega = model.L * model.L.transpose() / double(S);
  for (int k = 0; k < 4; ++k) Omega(k, k) += src[k] * src[k];
  const Eigen::MatrixXd V = (model.A.transpose() * Omega.inverse() * model.A).inverse();
  const Eigen::Vector2d se_true(std::sqrt(V(0, 0)), std::sqrt(V(1, 1)));

  const int N = 500;
  std::vector<Eigen::Vector2d> est;
  Eigen::Vector2d se_sum = Eigen::Vector2d::Zero();
  double j_sum = 0;
  int rejected = 0, converged = 0;
  for (int d = 0; d < N; ++d) {
    const Eigen::VectorXd clean = model.b + model.A * theta0;
    std::vector<SmmMoment> targets;
    for (int k = 0; k < 4; ++k)
      targets.push_back({"m" + std::to_string(k), clean(k) + src[k] * normal(7000000 + uint64_t(d), uint64_t(k)), src[k]});
    const Smm smm(params2(), targets, {}, precise(S, 1000 * uint64_t(d) + 1, 1000000000ull + 1000 * uint64_t(d)), model);
    const auto r = smm.fit();
    converged += r.search.converged;
    est.emplace_back(r.best.x[0], r.best.x[1]);
    se_sum += Eigen::Vector2d(r.inf.se[0], r.inf.se[1]);
    j_sum += r.inf.j_stat;
    rejected += r.inf.p_value < 0.05;
    REQUIRE(r.inf.df == 2);
  }
  CHECK(converged == N);
  Eigen::Vector2d mean = Eigen::Vector2d::Zero();
  for (const auto& e : est) mean += e / N;
  Eigen::Vector2d var = Eigen::Vector2d::Zero();
  for (const auto& e : est) var += (e - mean).cwiseProduct(e - mean) / (N - 1);
  const Eigen::Vector2d sd_mc = var.cwiseSqrt(), se_mean = se_sum / N;
  for (int j = 0; j < 2; ++j) {
    CAPTURE(j);
    INFO("theory SE " << se_true(j) << ", estimator's mean SE " << se_mean(j) << ", Monte-Carlo sd " << sd_mc(j)
                      << ", mean estimate " << mean(j) << " (true " << theta0(j) << ")");
    CHECK(std::fabs(mean(j) - theta0(j)) <= 4 * se_true(j) / std::sqrt(double(N)));  // unbiased (linear model)
    CHECK(rel(se_mean(j), se_true(j)) <= 0.05);
    CHECK(rel(sd_mc(j), se_true(j)) <= 0.10);
    CHECK(rel(sd_mc(j), std::sqrt(1.0 + 1.0 / double(S)) * se_true(j)) > 0.10);
  }
  INFO("mean J " << j_sum / N << ", rejected at 5%: " << rejected << " of " << N);
  CHECK(std::fabs(j_sum / N - 2.0) <= 0.35);
  CHECK(rejected >= int(0.02 * N));
  CHECK(rejected <= int(0.085 * N));
}

TEST_CASE("calibration SMM: with diagonal weights the full sandwich and the projected J hold") {
  // The linear model with strongly correlated simulation noise (sds 0.5, 0.1, 0.3, 0.3,
  // corr(m0, m3) = −0.95), source sd 0.03 each, S = 2; dataset d: source noise seed
  // 8,000,000 + d. With W = diag(Ω)⁻¹ the sandwich V = (A'WA)⁻¹A'WΩWA(A'WA)⁻¹ is 1.8 and 1.2
  // times the efficient (A'Ω⁻¹A)⁻¹ in SE, and J is the projected ĝ'(MΩM')⁺ĝ. Tolerances as
  // above: the Monte-Carlo sd within 10% of the sandwich SE (and not of the efficient one),
  // the mean J within 0.35 of 2.
  LinearModel model = linear4();
  Eigen::MatrixXd C = Eigen::MatrixXd::Zero(4, 4);
  const double sd[4] = {0.5, 0.1, 0.3, 0.3};
  for (int i = 0; i < 4; ++i) C(i, i) = sd[i] * sd[i];
  C(0, 3) = C(3, 0) = -0.95 * sd[0] * sd[3];
  model.L = C.llt().matrixL();
  const Eigen::Vector2d theta0(0.3, -0.2);
  const double src[4] = {0.03, 0.03, 0.03, 0.03};
  const int64_t S = 2;
  Eigen::MatrixXd Omega = C / double(S);
  for (int k = 0; k < 4; ++k) Omega(k, k) += src[k] * src[k];
  const Eigen::MatrixXd W = Omega.diagonal().cwiseInverse().asDiagonal();
  const Eigen::MatrixXd Ai = (model.A.transpose() * W * model.A).inverse();
  const Eigen::MatrixXd V = Ai * model.A.transpose() * W * Omega * W * model.A * Ai;
  const Eigen::MatrixXd V_eff = (model.A.transpose() * Omega.inverse() * model.A).inverse();
  const int N = 500;
  std::vector<Eigen::Vector2d> est;
  double j_sum = 0;
  for (int d = 0; d < N; ++d) {
    const Eigen::VectorXd clean = model.b + model.A * theta0;
    std::vector<SmmMoment> targets;
    for (int k = 0; k < 4; ++k)
      targets.push_back({"m" + std::to_string(k), clean(k) + src[k] * normal(8000000 + uint64_t(d), uint64_t(k)), src[k]});
    SmmOptions o = precise(S, 1000 * uint64_t(d) + 1, 1000000000ull + 1000 * uint64_t(d));
    o.weighting = Weighting::Diagonal;
    const Smm smm(params2(), targets, {}, o, model);
    const auto r = smm.fit();
    REQUIRE(r.inf.projected);
    est.emplace_back(r.best.x[0], r.best.x[1]);
    j_sum += r.inf.j_stat;
  }
  Eigen::Vector2d mean = Eigen::Vector2d::Zero(), var = Eigen::Vector2d::Zero();
  for (const auto& e : est) mean += e / N;
  for (const auto& e : est) var += (e - mean).cwiseProduct(e - mean) / (N - 1);
  for (int j = 0; j < 2; ++j) {
    CAPTURE(j);
    INFO("sandwich SE " << std::sqrt(V(j, j)) << ", efficient SE " << std::sqrt(V_eff(j, j)) << ", Monte-Carlo sd "
                        << std::sqrt(var(j)));
    CHECK(rel(std::sqrt(var(j)), std::sqrt(V(j, j))) <= 0.10);
    CHECK(rel(std::sqrt(var(j)), std::sqrt(V_eff(j, j))) > 0.10);
  }
  INFO("mean J " << j_sum / N);
  CHECK(std::fabs(j_sum / N - 2.0) <= 0.35);
}

TEST_CASE("calibration SMM: a nonlinear model: the fit converges, recovers the parameters within 3 SE, and the Jacobian is the analytic one") {
  // m = (e^a, a·b, b² + a/2, sin b) + noise (sd 0.02 each, independent); data = m(θ0) + source
  // noise (sd 0.02) keyed by seed 99; θ0 = (0.5, 1.2); fit seeds 1.., fresh seeds 10⁶...
  struct Nonlinear : Evaluator {
    std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const override {
      const double a = x[0], b = x[1];
      std::vector<double> m = {std::exp(a), a * b, b * b + 0.5 * a, std::sin(b), a - b};
      for (std::size_t k = 0; k < m.size(); ++k) m[k] += 0.02 * normal(seed, k);
      return m;
    }
  } model;
  const double a0 = 0.5, b0 = 1.2;
  const std::vector<double> clean = {std::exp(a0), a0 * b0, b0 * b0 + 0.5 * a0, std::sin(b0)};
  std::vector<SmmMoment> targets;
  for (std::size_t k = 0; k < 4; ++k) targets.push_back({"m" + std::to_string(k), clean[k] + 0.02 * normal(99, k), 0.02});
  std::vector<SmmParameter> ps = {{"a", -2, 3, 0.0, false}, {"b", 0.1, 3, 2.0, true}};  // b searched on the log scale
  SmmOptions o = precise(4, 1, 1000000);
  o.jacobian_step = 0.002;
  o.optimizer.initial_step = 0.1;
  const Smm smm(ps, targets, {{"a - b (untargeted)", std::nan(""), 0.0}}, o, model);
  const auto r = smm.fit();
  CHECK(r.search.converged);
  CHECK(r.search.stop == "converged");
  CHECK(r.search.restarts >= 1);
  CHECK(r.search.f_spread <= o.optimizer.ftol);
  CHECK(r.search.x_spread <= o.optimizer.xtol);
  CHECK(r.best.objective <= r.start.objective);
  const double a = r.best.x[0], b = r.best.x[1];
  INFO("estimate (" << a << ", " << b << "), SE (" << r.inf.se[0] << ", " << r.inf.se[1] << ")");
  CHECK(std::fabs(a - a0) <= 3 * r.inf.se[0]);
  CHECK(std::fabs(b - b0) <= 3 * r.inf.se[1]);
  // Central differences with common random numbers: the noise cancels, the error is O(h²).
  const double G[5][2] = {{std::exp(a), 0}, {b, a}, {0.5, 2 * b}, {0, std::cos(b)}, {1, -1}};
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 2; ++j) {
      CAPTURE(k);
      CAPTURE(j);
      CHECK(std::fabs(r.id.jacobian(k, j) - G[k][j]) <= 1e-3 * std::max(1.0, std::fabs(G[k][j])));
    }
  CHECK(r.id.rank == 2);
  CHECK(r.id.identified());
  CHECK(std::isfinite(r.id.condition));
  // The elasticity of e^a with respect to a is a.
  CHECK(rel(r.id.elasticity(0, 0), a) <= 2e-3);
}

TEST_CASE("calibration SMM: a parameter no moment depends on is reported: rank deficient, no standard errors") {
  LinearModel model = linear4();
  model.A.conservativeResize(4, 3);
  model.A.col(2).setZero();  // the third parameter moves nothing
  std::vector<SmmMoment> targets;
  for (int k = 0; k < 4; ++k) targets.push_back({"m" + std::to_string(k), model.b(k) + 0.1 * k, 0.1});
  auto ps = params2();
  ps.push_back({"unused", 0, 1, 0.5, false});
  const Smm smm(ps, targets, {}, precise(2, 1, 1000000), model);
  const auto r = smm.evaluate({0.1, 0.1, 0.5});
  CHECK(r.id.rank == 2);
  CHECK_FALSE(r.id.identified());
  CHECK(std::isinf(r.id.condition));
  CHECK(r.id.column_norm[2] == 0.0);
  CHECK(r.id.column_norm[0] > 0.0);
  CHECK(rel(std::fabs(r.id.weakest(2)), 1.0) <= 1e-9);  // the null direction is the unused parameter
  for (double se : r.inf.se) CHECK(std::isnan(se));
  CHECK(std::isnan(r.inf.j_stat));

  // Nearly collinear columns: identified, but the condition number says how weakly.
  LinearModel coll = linear4();
  coll.A.col(1) = coll.A.col(0) + 1e-3 * Eigen::Vector4d(1, -1, 0.5, 0);
  const LinearModel well = linear4();
  const Smm weak(params2(), targets, {}, precise(2, 1, 1000000), coll);
  const Smm good(params2(), targets, {}, precise(2, 1, 1000000), well);
  const auto rw = weak.evaluate({0.1, 0.1}), rg = good.evaluate({0.1, 0.1});
  INFO("condition: collinear " << rw.id.condition << ", well posed " << rg.id.condition);
  CHECK(rw.id.rank == 2);
  CHECK(rw.id.condition > 1000);
  CHECK(rg.id.condition < 10);
}

TEST_CASE("calibration SMM: tolerances and weights follow from source_sd and the simulation noise") {
  // m0 = x exactly (no simulation noise), m1 = x + 0.5 ε. source_sd 0.1 and 0.2; S = 4, pilot 400.
  struct Two : Evaluator {
    std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const override {
      return {x[0], x[0] + 0.5 * normal(seed, 1)};
    }
  } model;
  SmmOptions o = precise(4, 1, 1000000);
  o.pilot_replications = 400;
  o.z = 2.0;
  o.validation_se_fraction = 0.25;
  o.validation_min = 10;
  o.validation_max = 1000;
  const Smm smm({{"x", -1, 1, 0.0, false}}, {{"exact", 0.0, 0.1}, {"noisy", 0.0, 0.2}}, {}, o, model);
  const auto r = smm.evaluate({0.0});
  // A deterministic moment: Ω = source_sd², W = 1/source_sd² = 100, tolerance z·source_sd.
  CHECK(rel(r.W(0, 0), 100.0) <= 1e-12);
  CHECK(std::fabs(r.W(0, 1)) <= 1e-9);
  CHECK(rel(r.tolerance_fit[0], 0.2) <= 1e-12);
  CHECK(rel(r.val.tolerance[0], 0.2) <= 1e-12);
  // A noisy one: W = 1/(0.2² + 0.5²/4) = 9.756 (the pilot's variance has relative sd √(2/399) = 7%: 15% tolerance);
  // tolerance z·√(0.2² + sd²/R) with the runs' own sd.
  CHECK(rel(r.W(1, 1), 1.0 / (0.04 + 0.25 / 4)) <= 0.15);
  CHECK(rel(r.tolerance_fit[1], 2 * std::sqrt(0.04 + r.pilot_best.sd[1] * r.pilot_best.sd[1] / 4)) <= 1e-12);
  const double sd = r.val.fresh.sd[1];
  CHECK(rel(r.val.tolerance[1], 2 * std::sqrt(0.04 + sd * sd / double(r.val.replications))) <= 1e-12);
  // Fresh runs needed for SE ≤ c·tolerance: R ≥ sd²(1 − c²z²)/(c²z²·src²) = 0.75 sd²/(0.25·src²).
  CHECK(smm.replications_needed(1.0, 0.1) == 300);
  CHECK(smm.replications_needed(0.5, 0.2) == 19);   // 18.75
  CHECK(smm.replications_needed(0.0, 0.2) == 1);
  CHECK(r.val.needed_by_target[1] == smm.replications_needed(r.pilot_best.sd[1], 0.2));
  CHECK(r.val.replications == std::max<int64_t>(10, r.val.needed_by_target[1]));
  // A source twice as uncertain gets a quarter of the weight (the simulation's share aside).
  const Smm loose({{"x", -1, 1, 0.0, false}}, {{"exact", 0.0, 0.2}, {"noisy", 0.0, 0.2}}, {}, o, model);
  CHECK(rel(loose.evaluate({0.0}).W(0, 0), 25.0) <= 1e-12);
  // A target without a positive source_sd is refused.
  CHECK_THROWS_AS(Smm({{"x", -1, 1, 0.0, false}}, {{"exact", 0.0, 0.0}}, {}, o, model), std::invalid_argument);
}

TEST_CASE("calibration SMM: the verdict uses fresh seeds only; the fit never sees them") {
  const LinearModel model = linear4();
  std::vector<SmmMoment> targets;
  for (int k = 0; k < 4; ++k) targets.push_back({"m" + std::to_string(k), model.b(k), 0.1});
  SmmOptions o = precise(3, 500, 1000000);
  o.pilot_replications = 12;
  o.optimizer.max_evaluations = 60;
  const Smm smm(params2(), targets, {}, o, model);
  const auto r = smm.fit();
  const uint64_t fit_lo = 500, fit_hi = 500 + 12, val_lo = 1000000, val_hi = val_lo + uint64_t(r.val.replications);
  int64_t in_val = 0, in_fit = 0, elsewhere = 0;
  for (uint64_t s : model.seeds) {
    if (s >= val_lo && s < val_hi)
      ++in_val;
    else if (s >= fit_lo && s < fit_hi)
      ++in_fit;
    else
      ++elsewhere;
  }
  CHECK(in_val == r.val.replications);  // only the verdict, once per fresh seed
  CHECK(elsewhere == 0);
  CHECK(in_fit == int64_t(model.seeds.size()) - r.val.replications);
  CHECK(r.val.fresh.reps.size() == std::size_t(r.val.replications));
  // Overlapping seed ranges are refused.
  SmmOptions bad = o;
  bad.validation_seed = 505;
  CHECK_THROWS_AS(Smm(params2(), targets, {}, bad, model), std::invalid_argument);
}

TEST_CASE("calibration SMM: exactly identified: the fit solves the targets, nothing to test") {
  // K = P = 2: m = (x0 + x1, x0 − x1) + noise; the estimate solves g = 0 (J ≈ 0), df = 0.
  LinearModel model;
  model.A.resize(2, 2);
  model.A << 1, 1, 1, -1;
  model.b = Eigen::Vector2d(0, 0);
  model.L = 0.1 * Eigen::Matrix2d::Identity();
  const Smm smm(params2(), {{"sum", 0.4, 0.05}, {"diff", 0.2, 0.05}}, {}, precise(4, 1, 1000000), model);
  const auto r = smm.fit();
  CHECK(r.inf.df == 0);
  CHECK(std::isnan(r.inf.j_stat));
  CHECK(r.best.objective < 1e-10);
  CHECK(std::isfinite(r.inf.se[0]));
  // With G invertible the sandwich is G⁻¹ΩG⁻ᵀ whatever W.
  const Eigen::Matrix2d Ginv = model.A.inverse();
  const Eigen::Matrix2d Vt = Ginv * r.inf.omega * Ginv.transpose();
  CHECK(rel(r.inf.se[0], std::sqrt(Vt(0, 0))) <= 1e-6);
  CHECK(rel(r.inf.se[1], std::sqrt(Vt(1, 1))) <= 1e-6);
}
