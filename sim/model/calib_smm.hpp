// The simulated method of moments, independent of what is simulated (docs/calibration.md).
//
// An Evaluator returns the moments of one replication at parameter values x with a given
// seed (the simulator, or a synthetic model in the tests). The Smm class fits the
// parameters to the targets and computes what an econometrician expects of the fit:
//
//   objective   J(x) = g(x)' W g(x),   g_k(x) = m̄_k(x) − t_k,
//               m̄(x) the mean over S replications with the fit's seeds (common random numbers)
//   Ω           = Σ_source + Σ_sim / S    (Σ_source = diag(source_sd²), fixed before fitting;
//                                          Σ_sim = covariance of one replication's moments)
//   W           = Ω⁻¹ (efficient), diag(Ω)⁻¹ (diagonal) or I, with Σ_sim from a pilot at the start
//   G           = ∂m̄/∂x by central differences with the fit's seeds (common random numbers)
//   V           = (G'WG)⁻¹ G'W Ω W G (G'WG)⁻¹          (sandwich; with Σ_source = Σ_sim it is
//                                                       the textbook (1 + 1/S)·(G'WG)⁻¹G'WΣWG(G'WG)⁻¹)
//   J test      = ĝ'Ω⁻¹ĝ at the estimate with W = Ω⁻¹ (Hansen); with other weights, or at values
//                 that were not fitted, ĝ'(MΩM')⁺ĝ, M = I − G(G'WG)⁻¹G'W; ~ χ²(K − P)
//   tolerance   = z · √(source_sd² + sd²/R) for a mean over R replications
//   validation  = R_v fresh replications (seeds the fit never used), R_v the smallest number
//                 with SE ≤ c · tolerance for every target
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace ts::model::calib {

// ------------------------------------------------------------------ optimiser

struct NelderMeadOptions {
  int64_t max_evaluations = 200;  ///< distinct calls of f
  double initial_step = 0.2;      ///< fraction of each bound range
  double ftol = 1e-8;             ///< converged when the simplex's objective spread (max − min f) ≤ ftol ...
  double xtol = 1e-6;             ///< ... and every vertex is within xtol (fraction of each range) of the best
  int64_t restarts = 0;           ///< at most this many restarts from the best after convergence (until one gains ≤ ftol)
};

struct NelderMeadResult {
  std::vector<double> x;
  double f = 0.0;
  int64_t evaluations = 0;  ///< distinct evaluations of f
  int64_t iterations = 0;
  bool converged = false;   ///< both tolerances met at the end (after the restarts)
  int64_t restarts = 0;     ///< restarts performed
  double f_spread = std::nan("");  ///< max − min objective over the last simplex
  double x_spread = std::nan("");  ///< largest distance of a vertex from the best, in fractions of the ranges
  double last_restart_gain = std::nan("");  ///< objective decrease achieved by the last restart
  std::string stop;  ///< "converged", "evaluation budget" or "iteration limit"
};

/// Minimises f over the box [lo, hi] (deterministic). Each coordinate is searched as
/// z = logit((x − lo)/(hi − lo)) (or of ln x when log_scale[i]), so every trial point
/// lies strictly inside the box. Uses the dimension-adaptive coefficients of Gao & Han
/// (2012). Identical trial points (after `canonical`, e.g. rounding) are evaluated once.
/// After convergence it restarts from the best point (up to opt.restarts times) until a
/// restart gains nothing.
NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& f, const std::vector<double>& lo,
                             const std::vector<double>& hi, const std::vector<double>& x0, const NelderMeadOptions& opt,
                             const std::vector<bool>& log_scale = {},
                             const std::function<std::vector<double>(const std::vector<double>&)>& canonical = {});

// ------------------------------------------------------------------ the model seen by the fit

/// The moments of one replication: every target's moment, then every untargeted one.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const = 0;
};

enum class Weighting : uint8_t { Efficient, Diagonal, Identity };
const char* to_string(Weighting w);

struct SmmParameter {
  std::string name;
  double lo = 0.0, hi = 1.0, start = 0.0;
  bool log = false;  ///< searched (and differentiated) in ln x
};

struct SmmMoment {
  std::string name;
  double value = std::nan("");  ///< target value (untargeted: an outside figure to compare with, or NaN)
  double source_sd = 0.0;       ///< the source's own uncertainty (targets: > 0)
};

struct SmmOptions {
  int64_t replications = 4;        ///< S: replications per evaluation, seeds seed .. seed + S − 1
  uint64_t seed = 123;
  int64_t pilot_replications = 0;  ///< runs that estimate Σ_sim (seeds seed ..); 0 = max(4S, 2K + 2)
  Weighting weighting = Weighting::Efficient;
  double z = 2.0;                  ///< tolerance = z · √(source_sd² + sd²/R)
  uint64_t validation_seed = 1000000;
  int64_t validation_replications = 0;  ///< 0 = the number needed (see validation_se_fraction)
  int64_t validation_min = 10;          ///< at least this many fresh runs (the SE needs a few)
  int64_t validation_max = 400;         ///< at most this many (the report says if fewer than needed)
  double validation_se_fraction = 0.25; ///< c: fresh-seed SE ≤ c · tolerance for every target
  double jacobian_step = 0.02;          ///< h: fraction of each bound range (of ln range for log parameters)
  NelderMeadOptions optimizer;

  int64_t pilot(std::size_t K) const;
  /// Seeds the fit uses (pilot, evaluations, Jacobian): [seed, seed + n).
  uint64_t fit_seed_count(std::size_t K) const { return uint64_t(std::max(pilot(K), replications)); }
};

/// Replications at one point: [replication][moment], with mean, sd (R − 1) and se = sd/√R.
struct Evaluation {
  std::vector<double> x;
  uint64_t seed = 0;  ///< replication r used seed + r
  std::vector<std::vector<double>> reps;
  std::vector<double> mean, sd, se;
  double objective = std::nan("");
  /// Sample covariance of one replication's moments (the first `n` moments).
  Eigen::MatrixXd covariance(std::size_t n) const;
};
void summarize(Evaluation& e);

struct Identification {
  Eigen::MatrixXd jacobian;    ///< [moment][parameter], all moments (targets first), natural units
  Eigen::MatrixXd elasticity;  ///< ∂ln m/∂ln x; NaN where m or x is 0
  std::vector<double> lo, hi;  ///< the two points of each difference (canonical values)
  /// Ω^{-1/2} G_targets D, D = each parameter's bound range (ln range for log ones):
  /// targets in units of their Ω standard deviation per full range of each parameter.
  Eigen::MatrixXd standardized;
  Eigen::VectorXd singular_values;
  int rank = 0;
  double condition = std::numeric_limits<double>::infinity();
  std::vector<double> column_norm;  ///< per parameter: norm of its standardised column
  Eigen::VectorXd weakest;          ///< right singular vector of the smallest singular value
  bool identified() const { return rank == int(column_norm.size()) && rank > 0; }
};

struct Inference {
  Eigen::MatrixXd omega;  ///< Ω at the point (targets)
  Eigen::MatrixXd V;      ///< parameter covariance (empty if not identified)
  std::vector<double> se; ///< NaN if not identified
  double j_stat = std::nan("");  ///< over-identification statistic
  bool projected = false;        ///< computed as ĝ'(MΩM')⁺ĝ (see calib_smm.hpp) rather than ĝ'Ω⁻¹ĝ
  int df = 0;                    ///< K − P
  double p_value = std::nan("");
  std::vector<bool> at_bound;    ///< within 1e-3 of the range from a bound: the asymptotics do not hold there
};

struct Validation {
  uint64_t seed = 0;
  int64_t replications = 0;             ///< fresh runs made
  int64_t needed = 0;                   ///< fresh runs needed for SE ≤ c·tolerance on every target
  std::vector<int64_t> needed_by_target;
  Evaluation fresh;
  std::vector<double> tolerance;        ///< z·√(source_sd² + sd²/R_v), targets
  std::vector<bool> within;
};

struct SmmResult {
  bool fitted = false;          ///< false: evaluated at given values, no search
  Evaluation start, best;       ///< at the fit's seeds (S replications)
  Evaluation pilot_start, pilot_best;  ///< pilot-size runs (Σ_sim) at the start and at the best point
  Eigen::MatrixXd W;
  NelderMeadResult search;
  std::vector<std::pair<std::vector<double>, double>> history;  ///< (x, objective) of each evaluation
  Identification id;
  Inference inf;
  Validation val;
  std::vector<double> tolerance_fit;  ///< z·√(source_sd² + sd²/S): for the fit-seed means
};

using Progress = std::function<void(const std::string&)>;

class Smm {
 public:
  /// `canonical` maps parameter values to the values actually used (e.g. rounded); may be empty.
  Smm(std::vector<SmmParameter> params, std::vector<SmmMoment> targets, std::vector<SmmMoment> untargeted,
      SmmOptions opt, const Evaluator& model,
      std::function<std::vector<double>(const std::vector<double>&)> canonical = {});
  /// The model is held by reference: a temporary would dangle.
  Smm(std::vector<SmmParameter>, std::vector<SmmMoment>, std::vector<SmmMoment>, SmmOptions, const Evaluator&&,
      std::function<std::vector<double>(const std::vector<double>&)> = {}) = delete;

  std::size_t K() const { return targets_.size(); }
  std::size_t U() const { return untargeted_.size(); }
  std::size_t P() const { return params_.size(); }
  const SmmOptions& options() const { return opt_; }

  /// n replications at x with seeds seed0, seed0 + 1, ...
  Evaluation simulate(const std::vector<double>& x, uint64_t seed0, int64_t n) const;
  /// Ω = Σ_source + Σ_sim/S with Σ_sim from the runs of `e` (targets).
  Eigen::MatrixXd omega(const Evaluation& e) const;
  Eigen::MatrixXd weighting(const Eigen::MatrixXd& omega) const;
  double objective(const std::vector<double>& mean, const Eigen::MatrixXd& W) const;
  /// z · √(source_sd² + sd²/R) for each target.
  std::vector<double> tolerance(const std::vector<double>& sd, int64_t R) const;
  /// Fresh runs needed so that SE ≤ c · tolerance for target k, given one replication's sd.
  int64_t replications_needed(double sd, double source_sd) const;

  Identification identify(const std::vector<double>& x, const Evaluation& pilot, const Progress& progress = {}) const;
  /// `minimum`: `at` is the estimate (the search's minimum); otherwise values that were not fitted.
  Inference infer(const Evaluation& at, const Evaluation& pilot, const Eigen::MatrixXd& W, const Identification& id,
                  bool minimum) const;
  Validation validate(const std::vector<double>& x, const Evaluation& pilot, const Progress& progress = {}) const;
  /// The verdict at x from R runs with seeds seed0 .. seed0 + R − 1 (R fixed by the caller;
  /// `needed` from those runs' own sd).
  Validation check(const std::vector<double>& x, uint64_t seed0, int64_t R) const;

  /// Pilot and search from the starts, then diagnostics and validation at the best point.
  SmmResult fit(const Progress& progress = {}) const;
  /// The same diagnostics and validation at x, without a search.
  SmmResult evaluate(const std::vector<double>& x, const Progress& progress = {}) const;

 private:
  void diagnose(SmmResult& r, const Progress& progress) const;
  std::vector<double> canon(const std::vector<double>& x) const { return canonical_ ? canonical_(x) : x; }

  std::vector<SmmParameter> params_;
  std::vector<SmmMoment> targets_, untargeted_;
  SmmOptions opt_;
  const Evaluator& model_;
  std::function<std::vector<double>(const std::vector<double>&)> canonical_;
};

/// P(χ²(df) > x); NaN for df ≤ 0.
double chi2_sf(double x, int df);

}  // namespace ts::model::calib
