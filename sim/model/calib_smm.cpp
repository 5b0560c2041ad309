// The simulated method of moments (sim/model/calib_smm.hpp): pilot, weighting, search,
// Jacobian, sandwich standard errors, over-identification test, identification check and
// the verdict on fresh seeds.
#include "sim/model/calib_smm.hpp"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

namespace ts::model::calib {

namespace {

constexpr double kBad = 1e300;  ///< objective of a point whose target moments are not finite
const double kNaN = std::nan("");

std::string num(double x) {
  char b[64];
  std::snprintf(b, sizeof b, "%.4g", x);
  return b;
}

/// Position of x in its bound range, in [0, 1] (of the ln range for log parameters).
double unit(const SmmParameter& p, double x) {
  if (p.log) return (std::log(x) - std::log(p.lo)) / (std::log(p.hi) - std::log(p.lo));
  return (x - p.lo) / (p.hi - p.lo);
}

}  // namespace

const char* to_string(Weighting w) {
  switch (w) {
    case Weighting::Efficient: return "efficient";
    case Weighting::Diagonal: return "diagonal";
    case Weighting::Identity: return "identity";
  }
  return "?";
}

int64_t SmmOptions::pilot(std::size_t K) const {
  if (pilot_replications > 0) return std::max(pilot_replications, replications);
  return std::max<int64_t>(4 * replications, 2 * int64_t(K) + 2);
}

double chi2_sf(double x, int df) {
  if (df <= 0 || !std::isfinite(x)) return kNaN;
  if (x <= 0) return 1.0;
  boost::math::chi_squared_distribution<double> d(df);
  return boost::math::cdf(boost::math::complement(d, x));
}

Eigen::MatrixXd Evaluation::covariance(std::size_t n) const {
  const Eigen::Index K = Eigen::Index(n), R = Eigen::Index(reps.size());
  Eigen::MatrixXd C = Eigen::MatrixXd::Zero(K, K);
  if (R < 2) return C;
  Eigen::MatrixXd Y(R, K);
  for (Eigen::Index r = 0; r < R; ++r)
    for (Eigen::Index k = 0; k < K; ++k) Y(r, k) = reps[std::size_t(r)][std::size_t(k)];
  const Eigen::RowVectorXd mu = Y.colwise().mean();
  const Eigen::MatrixXd D = Y.rowwise() - mu;
  return (D.transpose() * D) / double(R - 1);
}

void summarize(Evaluation& e) {
  const std::size_t K = e.reps.empty() ? 0 : e.reps.front().size();
  const double R = double(e.reps.size());
  e.mean.assign(K, 0.0);
  e.sd.assign(K, 0.0);
  e.se.assign(K, 0.0);
  for (std::size_t k = 0; k < K; ++k) {
    for (const auto& rep : e.reps) e.mean[k] += rep[k] / R;
    double ss = 0;
    for (const auto& rep : e.reps) ss += (rep[k] - e.mean[k]) * (rep[k] - e.mean[k]);
    e.sd[k] = R > 1 ? std::sqrt(ss / (R - 1)) : 0.0;
    e.se[k] = e.sd[k] / std::sqrt(R);
  }
}

// ====================================================================== Smm

Smm::Smm(std::vector<SmmParameter> params, std::vector<SmmMoment> targets, std::vector<SmmMoment> untargeted,
         SmmOptions opt, const Evaluator& model, std::function<std::vector<double>(const std::vector<double>&)> canonical)
    : params_(std::move(params)),
      targets_(std::move(targets)),
      untargeted_(std::move(untargeted)),
      opt_(opt),
      model_(model),
      canonical_(std::move(canonical)) {
  if (params_.empty()) throw std::invalid_argument("Smm: no parameters");
  if (targets_.empty()) throw std::invalid_argument("Smm: no targets");
  for (const auto& p : params_)
    if (!(p.lo < p.hi) || (p.log && p.lo <= 0)) throw std::invalid_argument("Smm: bad bounds for " + p.name);
  for (const auto& t : targets_)
    if (!(t.source_sd > 0) || !std::isfinite(t.value))
      throw std::invalid_argument("Smm: target " + t.name + " needs a finite value and source_sd > 0");
  if (opt_.replications < 1) throw std::invalid_argument("Smm: replications < 1");
  const uint64_t fit_end = opt_.seed + opt_.fit_seed_count(K());
  const uint64_t val_end = opt_.validation_seed + uint64_t(std::max(opt_.validation_max, opt_.validation_replications));
  if (opt_.validation_seed < fit_end && opt_.seed < val_end)
    throw std::invalid_argument("Smm: the validation seeds overlap the fit's seeds");
}

Evaluation Smm::simulate(const std::vector<double>& x, uint64_t seed0, int64_t n) const {
  Evaluation e;
  e.x = canon(x);
  e.seed = seed0;
  const std::size_t M = K() + U();
  for (int64_t r = 0; r < n; ++r) {
    auto m = model_.moments(e.x, seed0 + uint64_t(r));
    if (m.size() != M)
      throw std::logic_error("Smm: the model returned " + std::to_string(m.size()) + " moments, expected " +
                             std::to_string(M));
    e.reps.push_back(std::move(m));
  }
  summarize(e);
  return e;
}

Eigen::MatrixXd Smm::omega(const Evaluation& e) const {
  const Eigen::Index k = Eigen::Index(K());
  for (std::size_t i = 0; i < K(); ++i)
    for (const auto& rep : e.reps)
      if (!std::isfinite(rep[i]))
        throw std::runtime_error("target '" + targets_[i].name + "' is not finite in a replication (seed " +
                                 std::to_string(e.seed) + " ..): it cannot be fitted at these values");
  Eigen::MatrixXd O = e.covariance(K()) / double(opt_.replications);
  for (Eigen::Index i = 0; i < k; ++i) O(i, i) += targets_[std::size_t(i)].source_sd * targets_[std::size_t(i)].source_sd;
  return O;
}

Eigen::MatrixXd Smm::weighting(const Eigen::MatrixXd& O) const {
  const Eigen::Index k = O.rows();
  switch (opt_.weighting) {
    case Weighting::Identity: return Eigen::MatrixXd::Identity(k, k);
    case Weighting::Diagonal: {
      Eigen::MatrixXd W = Eigen::MatrixXd::Zero(k, k);
      for (Eigen::Index i = 0; i < k; ++i) W(i, i) = 1.0 / O(i, i);
      return W;
    }
    case Weighting::Efficient: break;
  }
  // Ω is positive definite: a positive diagonal (Σ_source) plus a covariance.
  Eigen::MatrixXd W = O.ldlt().solve(Eigen::MatrixXd::Identity(k, k));
  return 0.5 * (W + W.transpose());
}

double Smm::objective(const std::vector<double>& mean, const Eigen::MatrixXd& W) const {
  Eigen::VectorXd g = Eigen::VectorXd::Zero(Eigen::Index(K()));
  for (std::size_t k = 0; k < K(); ++k) {
    g(Eigen::Index(k)) = mean[k] - targets_[k].value;
    if (!std::isfinite(g(Eigen::Index(k)))) return kBad;
  }
  return g.dot(W * g);
}

std::vector<double> Smm::tolerance(const std::vector<double>& sd, int64_t R) const {
  std::vector<double> out(K());
  for (std::size_t k = 0; k < K(); ++k)
    out[k] = opt_.z * std::sqrt(targets_[k].source_sd * targets_[k].source_sd + sd[k] * sd[k] / double(std::max<int64_t>(R, 1)));
  return out;
}

int64_t Smm::replications_needed(double sd, double source_sd) const {
  // SE ≤ c·z·√(src² + SE²)  ⇔  SE² ≤ src²·c²z²/(1 − c²z²)  ⇔  R ≥ sd²(1 − c²z²)/(c²z²·src²).
  const double cz2 = opt_.validation_se_fraction * opt_.validation_se_fraction * opt_.z * opt_.z;
  if (!(sd > 0) || cz2 >= 1.0) return 1;
  if (!(source_sd > 0)) return std::numeric_limits<int64_t>::max();
  const double r = std::ceil(sd * sd * (1.0 - cz2) / (cz2 * source_sd * source_sd) - 1e-9);
  return r > 1e15 ? std::numeric_limits<int64_t>::max() : std::max<int64_t>(1, int64_t(r));
}

// ---------------------------------------------------------------------- diagnostics

Identification Smm::identify(const std::vector<double>& x_in, const Evaluation& pilot, const Progress& progress) const {
  Identification id;
  const std::vector<double> x = canon(x_in);
  const std::size_t M = K() + U(), n = P();
  id.jacobian = Eigen::MatrixXd::Zero(Eigen::Index(M), Eigen::Index(n));
  id.elasticity = Eigen::MatrixXd::Constant(Eigen::Index(M), Eigen::Index(n), kNaN);
  id.lo.assign(n, kNaN);
  id.hi.assign(n, kNaN);
  for (std::size_t j = 0; j < n; ++j) {
    const auto& p = params_[j];
    std::vector<double> up = x, dn = x;
    // The step; doubled while rounding (canonical values, e.g. whole numbers) makes the two points one.
    for (double mult = 1; mult <= 1024 && up[j] == dn[j]; mult *= 2) {
      up = x;
      dn = x;
      if (p.log) {
        const double h = mult * opt_.jacobian_step * (std::log(p.hi) - std::log(p.lo));
        up[j] = std::min(p.hi, x[j] * std::exp(h));
        dn[j] = std::max(p.lo, x[j] * std::exp(-h));
      } else {
        const double h = mult * opt_.jacobian_step * (p.hi - p.lo);
        up[j] = std::min(p.hi, x[j] + h);
        dn[j] = std::max(p.lo, x[j] - h);
      }
      up = canon(up);
      dn = canon(dn);
    }
    if (progress) progress("Jacobian: " + p.name + " at " + num(dn[j]) + " and " + num(up[j]));
    const Evaluation eu = simulate(up, opt_.seed, opt_.replications);
    const Evaluation ed = simulate(dn, opt_.seed, opt_.replications);
    id.lo[j] = ed.x[j];
    id.hi[j] = eu.x[j];
    const double dx = eu.x[j] - ed.x[j];
    if (!(dx > 0)) throw std::runtime_error("Jacobian: the difference step of " + p.name + " rounds to zero");
    for (std::size_t k = 0; k < M; ++k) {
      const double g = (eu.mean[k] - ed.mean[k]) / dx;
      id.jacobian(Eigen::Index(k), Eigen::Index(j)) = g;
      const double m = pilot.mean[k];
      if (std::isfinite(g) && m != 0 && x[j] != 0) id.elasticity(Eigen::Index(k), Eigen::Index(j)) = g * x[j] / m;
    }
    for (std::size_t k = 0; k < K(); ++k)
      if (!std::isfinite(id.jacobian(Eigen::Index(k), Eigen::Index(j))))
        throw std::runtime_error("the derivative of target '" + targets_[k].name + "' with respect to " + p.name +
                                 " is not finite");
  }
  // Standardised Jacobian of the targets: rows in units of Ω's standard deviations (Ω^{-1/2}),
  // columns per full bound range, so that its singular values compare like with like.
  const Eigen::MatrixXd O = omega(pilot);
  const Eigen::MatrixXd L = O.llt().matrixL();
  Eigen::MatrixXd GD = id.jacobian.topRows(Eigen::Index(K()));
  for (std::size_t j = 0; j < n; ++j) {
    const auto& p = params_[j];
    const double range = p.log ? x[j] * (std::log(p.hi) - std::log(p.lo)) : p.hi - p.lo;
    GD.col(Eigen::Index(j)) *= range;
  }
  id.standardized = L.triangularView<Eigen::Lower>().solve(GD);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(id.standardized, Eigen::ComputeFullV);
  id.singular_values = svd.singularValues();
  const double smax = id.singular_values.size() ? id.singular_values(0) : 0.0;
  id.rank = 0;
  for (Eigen::Index i = 0; i < id.singular_values.size(); ++i)
    if (id.singular_values(i) > 1e-9 * smax && id.singular_values(i) > 0) ++id.rank;
  if (id.rank == int(n))
    id.condition = smax / id.singular_values(Eigen::Index(n) - 1);
  id.weakest = svd.matrixV().col(Eigen::Index(n) - 1);
  if (id.weakest.cwiseAbs().maxCoeff() > 0) {  // sign: largest component positive (deterministic output)
    Eigen::Index imax = 0;
    id.weakest.cwiseAbs().maxCoeff(&imax);
    if (id.weakest(imax) < 0) id.weakest = -id.weakest;
  }
  id.column_norm.resize(n);
  for (std::size_t j = 0; j < n; ++j) id.column_norm[j] = id.standardized.col(Eigen::Index(j)).norm();
  return id;
}

Inference Smm::infer(const Evaluation& at, const Evaluation& pilot, const Eigen::MatrixXd& W, const Identification& id,
                     bool minimum) const {
  Inference inf;
  const Eigen::Index k = Eigen::Index(K()), n = Eigen::Index(P());
  inf.omega = omega(pilot);
  inf.df = int(k - n);
  inf.se.assign(std::size_t(n), kNaN);
  inf.at_bound.resize(std::size_t(n));
  for (std::size_t j = 0; j < P(); ++j) {
    const double u = unit(params_[j], at.x[j]);
    inf.at_bound[j] = u < 1e-3 || u > 1.0 - 1e-3;
  }
  if (!id.identified()) return inf;
  const Eigen::MatrixXd G = id.jacobian.topRows(k);
  const Eigen::MatrixXd A = (G.transpose() * W * G).inverse();
  inf.V = A * G.transpose() * W * inf.omega * W * G * A;
  inf.V = 0.5 * (inf.V + inf.V.transpose());
  for (Eigen::Index j = 0; j < n; ++j) inf.se[std::size_t(j)] = std::sqrt(std::max(0.0, inf.V(j, j)));
  if (inf.df <= 0) return inf;  // exactly identified: nothing to test
  Eigen::VectorXd g(k);
  for (Eigen::Index i = 0; i < k; ++i) g(i) = at.mean[std::size_t(i)] - targets_[std::size_t(i)].value;
  if (minimum && opt_.weighting == Weighting::Efficient) {  // Hansen's J with Ω at the estimate
    inf.j_stat = g.dot(inf.omega.ldlt().solve(g));
    inf.p_value = chi2_sf(inf.j_stat, inf.df);
    return inf;
  }
  inf.projected = true;
  // Variance of ĝ at the estimate: M Ω M' with M = I − G(G'WG)⁻¹G'W, of rank K − P.
  const Eigen::MatrixXd Mm = Eigen::MatrixXd::Identity(k, k) - G * A * G.transpose() * W;
  Eigen::MatrixXd Vg = Mm * inf.omega * Mm.transpose();
  Vg = 0.5 * (Vg + Vg.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Vg);
  double J = 0;
  for (Eigen::Index i = k - Eigen::Index(inf.df); i < k; ++i) {  // eigenvalues ascend: the K − P largest
    const double lam = es.eigenvalues()(i);
    if (!(lam > 0)) return inf;
    const double c = es.eigenvectors().col(i).dot(g);
    J += c * c / lam;
  }
  inf.j_stat = J;
  inf.p_value = chi2_sf(J, inf.df);
  return inf;
}

Validation Smm::validate(const std::vector<double>& x, const Evaluation& pilot, const Progress& progress) const {
  Validation v;
  v.seed = opt_.validation_seed;
  v.needed = opt_.validation_min;
  for (std::size_t k = 0; k < K(); ++k) {
    v.needed_by_target.push_back(replications_needed(pilot.sd[k], targets_[k].source_sd));
    v.needed = std::max(v.needed, v.needed_by_target.back());
  }
  v.replications = opt_.validation_replications > 0 ? opt_.validation_replications : std::min(v.needed, opt_.validation_max);
  if (progress)
    progress("validation: " + std::to_string(v.replications) + " runs with fresh seeds " + std::to_string(v.seed) + ".. (" +
             std::to_string(v.needed) + " needed)");
  v.fresh = simulate(x, v.seed, v.replications);
  v.tolerance = tolerance(v.fresh.sd, v.replications);
  for (std::size_t k = 0; k < K(); ++k)
    v.within.push_back(std::isfinite(v.fresh.mean[k]) && std::fabs(v.fresh.mean[k] - targets_[k].value) <= v.tolerance[k]);
  return v;
}

Validation Smm::check(const std::vector<double>& x, uint64_t seed0, int64_t R) const {
  Validation v;
  v.seed = seed0;
  v.replications = R;
  v.fresh = simulate(x, seed0, R);
  v.tolerance = tolerance(v.fresh.sd, R);
  v.needed = opt_.validation_min;
  for (std::size_t k = 0; k < K(); ++k) {
    v.needed_by_target.push_back(replications_needed(v.fresh.sd[k], targets_[k].source_sd));
    v.needed = std::max(v.needed, v.needed_by_target.back());
    v.within.push_back(std::isfinite(v.fresh.mean[k]) && std::fabs(v.fresh.mean[k] - targets_[k].value) <= v.tolerance[k]);
  }
  return v;
}

void Smm::diagnose(SmmResult& r, const Progress& progress) const {
  const int64_t S = opt_.replications, NP = opt_.pilot(K());
  if (r.fitted) {  // Σ_sim at the best point: the fit's S runs plus the rest of the pilot's seeds
    r.pilot_best = r.best;
    if (NP > S) {
      if (progress) progress("pilot at the best point: " + std::to_string(NP - S) + " more runs");
      const Evaluation more = simulate(r.best.x, opt_.seed + uint64_t(S), NP - S);
      r.pilot_best.reps.insert(r.pilot_best.reps.end(), more.reps.begin(), more.reps.end());
      summarize(r.pilot_best);
    }
  } else {
    r.pilot_best = r.pilot_start;
  }
  r.tolerance_fit = tolerance(r.pilot_best.sd, S);
  r.id = identify(r.best.x, r.pilot_best, progress);
  r.inf = infer(r.best, r.pilot_best, r.W, r.id, r.fitted);
  r.val = validate(r.best.x, r.pilot_best, progress);
}

SmmResult Smm::evaluate(const std::vector<double>& x, const Progress& progress) const {
  SmmResult r;
  const int64_t S = opt_.replications, NP = opt_.pilot(K());
  if (progress) progress("pilot: " + std::to_string(NP) + " runs (seeds " + std::to_string(opt_.seed) + "..)");
  r.pilot_start = simulate(x, opt_.seed, NP);
  r.W = weighting(omega(r.pilot_start));
  r.start.x = r.pilot_start.x;
  r.start.seed = opt_.seed;
  r.start.reps.assign(r.pilot_start.reps.begin(), r.pilot_start.reps.begin() + std::ptrdiff_t(S));
  summarize(r.start);
  r.start.objective = objective(r.start.mean, r.W);
  r.best = r.start;
  r.history.push_back({r.start.x, r.start.objective});
  diagnose(r, progress);
  return r;
}

SmmResult Smm::fit(const Progress& progress) const {
  std::vector<double> x0(P()), lo(P()), hi(P());
  std::vector<bool> logs(P());
  for (std::size_t j = 0; j < P(); ++j) {
    x0[j] = params_[j].start;
    lo[j] = params_[j].lo;
    hi[j] = params_[j].hi;
    logs[j] = params_[j].log;
  }
  const int64_t S = opt_.replications, NP = opt_.pilot(K());
  SmmResult r;
  r.fitted = true;
  if (progress) progress("pilot: " + std::to_string(NP) + " runs at the start (seeds " + std::to_string(opt_.seed) + "..)");
  r.pilot_start = simulate(x0, opt_.seed, NP);
  r.W = weighting(omega(r.pilot_start));
  r.start.x = r.pilot_start.x;
  r.start.seed = opt_.seed;
  r.start.reps.assign(r.pilot_start.reps.begin(), r.pilot_start.reps.begin() + std::ptrdiff_t(S));
  summarize(r.start);
  r.start.objective = objective(r.start.mean, r.W);
  r.best = r.start;
  r.history.push_back({r.start.x, r.start.objective});
  if (progress) progress("evaluation 1 (start): J = " + num(r.start.objective));
  std::map<std::vector<double>, double> seen{{r.start.x, r.start.objective}};
  auto f = [&](const std::vector<double>& x) {
    const auto cx = canon(x);
    if (auto it = seen.find(cx); it != seen.end()) return it->second;
    Evaluation e = simulate(cx, opt_.seed, S);
    e.objective = objective(e.mean, r.W);
    seen.emplace(cx, e.objective);
    r.history.push_back({e.x, e.objective});
    if (progress) progress("evaluation " + std::to_string(r.history.size()) + ": J = " + num(e.objective));
    if (e.objective < r.best.objective) r.best = std::move(e);
    return seen.at(cx);
  };
  r.search = nelder_mead(f, lo, hi, x0, opt_.optimizer, logs, [&](const std::vector<double>& x) { return canon(x); });
  diagnose(r, progress);
  return r;
}

}  // namespace ts::model::calib
