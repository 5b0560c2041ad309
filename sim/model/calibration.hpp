// Calibration by the simulated method of moments (MODEL.md §6).
//
// A calibration file names a scenario, free parameters with bounds (scenario keys, set
// through the same "key.path=value" overrides as `--set`), and targets: named moments
// of a run with the value an article gives ([A#] tags of FIGURES.md). Every evaluation
// runs the scenario in-process `replications` times with run.seed = seed + r (common
// random numbers: the same seeds at every evaluation, so the objective is a
// deterministic function of the parameters), averages each moment over the
// replications and scores
//
//     J(x) = g' W g,   g_k = (mean_k(x) − target_k) / scale_k
//
// with W the inverse of the (diagonal or full, regularised) covariance of the scaled
// moment means, estimated once at the start values from a larger pilot of runs (Eigen),
// or the identity. A
// Nelder–Mead search over the box-constrained parameters (logistic transform of each
// bound range, deterministic) minimises J. The result is written as an overlay and a
// Markdown report. The overlay is a scenario fragment holding only the fitted scenario
// keys (no `extends`, no events): the calibrated scenario uses the values by extending it
// (scenarios/baseline.yaml: `extends: calibration/fitted.yaml`) and not setting those keys
// itself. Parameters of the calibration's own events (e.g. the package of a raid added by
// the calibration file) are part of the experiment, not of the scenario: they are listed
// in the overlay's header and the report only.
//
// Moments (all computed from the Simulation's per-step statistics):
//   cn_share_all           share of CN origin among alive researchers at step `at`
//   cn_share_top           share of CN origin among top + elite tier at step `at`
//   us_cn_hc_output_ratio  Σ highly cited output located in US / Σ in CN, steps first..last
//   raid_hires             job-to-job moves from firm `from` to firm `to` executed within
//                          `window` steps of the first raid by `to` on `from` (moves that
//                          wait for a visa count in the step the visa is approved)
//   raid_hires_cn          the same, researchers of CN origin only
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/config/diagnostics.hpp"
#include "sim/config/yaml_tree.hpp"
#include "sim/config/params.hpp"

namespace ts::model {
class Simulation;
struct StepStats;
struct LogEntry;
}  // namespace ts::model

namespace ts::model::calib {

// ------------------------------------------------------------------ specification

enum class MomentKind : uint8_t { CnShareAll, CnShareTop, UsCnHcOutputRatio, RaidHires, RaidHiresCn };
inline constexpr int kMomentKinds = 5;
const char* to_string(MomentKind k);
/// Names accepted in `moment:`, in the order of MomentKind.
const std::vector<std::string>& moment_names();

struct Target {
  std::string name;
  cfg::Location loc;
  MomentKind moment = MomentKind::CnShareAll;
  double value = 0.0;
  double tolerance = 0.0;  ///< |simulated mean − value| ≤ tolerance is reported as "within tolerance"
  double scale = 0.0;      ///< g_k divides by this; 0 = |value| (or 1 if value is 0)
  std::string source;      ///< citation, e.g. "[A2] CTOL, 2025"
  // cn_share_all, cn_share_top: the step measured (negative: from the end, -1 = last)
  int64_t at = -1;
  // us_cn_hc_output_ratio: steps summed, inclusive (negative: from the end)
  int64_t first = 0, last = -1;
  // raid_hires, raid_hires_cn
  std::string from = "OpenAI", to = "Meta";
  int64_t window = 1;  ///< steps from the raid's step in which a move counts as landed

  double effective_scale() const;
};

struct Parameter {
  std::string key;  ///< override path, e.g. "regions.CN.talent_mu", "firms[Meta].prestige", "events[0].package"
  cfg::Location loc;
  double min = 0.0, max = 1.0, start = 0.0;
  bool has_start = false;  ///< no `start:` = the scenario's own value of the key
  bool log = false;      ///< search ln(value) (bounds must be > 0)
  bool integer = false;  ///< round to a whole number before use
};

enum class Weighting : uint8_t { Diagonal, Full, Identity };
const char* to_string(Weighting w);

struct OptimizerOptions {
  int64_t max_evaluations = 60;  ///< simulated evaluations (each = `replications` runs)
  double initial_step = 0.2;     ///< initial simplex edge, as a fraction of each bound range
  double ftol = 1e-6;            ///< stop when the simplex's objective spread is below ftol·(1 + |J_best|) ...
  double xtol = 1e-3;            ///< ... and every vertex is within xtol (fraction of the range) of the best
  int64_t restarts = 1;          ///< restarts from the best point after convergence (budget permitting)
};

struct CalibrationSpec {
  std::string path;          ///< calibration file as given
  std::string scenario;      ///< scenario file, resolved against the calibration file's directory
  std::string scenario_ref;  ///< as written in the file
  cfg::Location scenario_loc;
  std::vector<std::string> overrides;          ///< fit-only overrides (run size); not written to the overlay
  std::vector<cfg::Location> override_locs;
  cfg::Node events;                            ///< events appended to the scenario's (fit and overlay); Null if none
  int64_t replications = 4;
  uint64_t seed = 123;
  std::vector<Parameter> parameters;
  std::vector<Target> targets;
  Weighting weighting = Weighting::Diagonal;
  double weight_floor = 1e-3;  ///< SE floor (scaled units) so that a deterministic moment gets a finite weight
  int64_t weight_replications = 0;  ///< pilot runs at the start values that estimate W (0 = 4 × replications)
  OptimizerOptions optimizer;
  std::string overlay, report;  ///< resolved output paths ("" = not written)
  std::string overlay_ref, report_ref;
};

/// Reads and checks a calibration file (unknown keys, types, ranges, moment names,
/// bounds); every problem goes to `d` with file:line. nullopt if there was any.
std::optional<CalibrationSpec> load_calibration(const std::string& path, cfg::Diagnostics& d);
/// The same from a parsed tree; `path` names the file (relative paths resolve against its directory).
std::optional<CalibrationSpec> parse_calibration(const cfg::Node& root, const std::string& path, cfg::Diagnostics& d);

// ------------------------------------------------------------------ moments

/// Share of researchers of `origin` among those counted in stocks [location][origin][tier]
/// (all tiers, or top + elite only). NaN if nobody is counted.
double origin_share(const StepStats& s, int origin, bool top_only);
/// Job-to-job moves (LogKind::Move) from firm `from` to firm `to` in a step's log.
std::vector<uint64_t> moves_between(const std::vector<LogEntry>& log, int32_t from, int32_t to);

/// Collects every target's moment while a Simulation runs: construct before the first
/// step, call observe() after every step(), read values() at the end.
class MomentRecorder {
 public:
  /// Throws std::invalid_argument if a target names an unknown region or firm, a step
  /// outside the run, or a raid moment without a matching raid event.
  MomentRecorder(const Simulation& sim, const std::vector<Target>& targets);
  void observe(const Simulation& sim);  ///< after step(): the statistics of step sim.t() − 1
  std::vector<double> values() const;

 private:
  struct Slot {
    MomentKind kind;
    int64_t at = 0, first = 0, last = 0, raid_step = 0, window = 1;
    int32_t from = -1, to = -1;
    double num = 0, den = 0;
    double value = std::nan("");
  };
  std::vector<Slot> slots_;
  int cn_ = -1, us_ = -1;
};

/// Checks the targets against loaded scenario parameters (regions, firms, raid events,
/// steps), reporting at each target's location.
void check_targets(const Params& p, const std::vector<Target>& targets, cfg::Diagnostics& d);

// ------------------------------------------------------------------ optimiser

struct NelderMeadOptions {
  int64_t max_evaluations = 200;  ///< distinct calls of f
  double initial_step = 0.2;      ///< fraction of each bound range
  double ftol = 1e-8;
  double xtol = 1e-6;
  int64_t restarts = 0;
};

struct NelderMeadResult {
  std::vector<double> x;
  double f = 0.0;
  int64_t evaluations = 0;  ///< distinct evaluations of f
  int64_t iterations = 0;
  bool converged = false;
};

/// Minimises f over the box [lo, hi] (deterministic). Each coordinate is searched as
/// z = logit((x − lo)/(hi − lo)) (or of ln x when log_scale[i]), so every trial point
/// lies strictly inside the box. Uses the dimension-adaptive coefficients of Gao & Han
/// (2012). Identical trial points (after `canonical`, e.g. rounding) are evaluated once.
NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& f, const std::vector<double>& lo,
                             const std::vector<double>& hi, const std::vector<double>& x0, const NelderMeadOptions& opt,
                             const std::vector<bool>& log_scale = {},
                             const std::function<std::vector<double>(const std::vector<double>&)>& canonical = {});

// ------------------------------------------------------------------ calibration run

/// One evaluation: the moments of every replication at parameter values x.
struct Evaluation {
  std::vector<double> x;
  std::vector<std::vector<double>> reps;  ///< [replication][target]
  std::vector<double> mean, sd, se;       ///< over replications (sd with R − 1; se = sd/√R)
  double objective = 0.0;
};

struct CalibrationResult {
  Evaluation start, best;
  Eigen::MatrixXd W;  ///< weighting matrix on the scaled moment means
  int64_t evaluations = 0;
  bool converged = false;
  std::vector<std::pair<std::vector<double>, double>> history;  ///< (x, J) of each evaluation, in order
  std::string overlay_yaml, report_md;
};

/// Prepares the fit: the scenario with the calibration's events and fit-only overrides
/// (checked like `talentsim run` does), the bounds and targets checked against it.
class Calibrator {
 public:
  /// Returns nullopt (problems in `d`) if the scenario does not load or the spec does not fit it.
  static std::optional<Calibrator> create(CalibrationSpec spec, cfg::Diagnostics& d,
                                          const std::vector<std::string>& extra_overrides = {});

  const CalibrationSpec& spec() const { return spec_; }
  const Params& params() const { return fit_params_; }
  /// The override text for parameter i at value x (the exact text the fit uses and the overlay writes).
  std::string format_value(std::size_t i, double x) const;
  /// Parameter i sets a key of one of the calibration file's own events (`events[k]` with k at
  /// or past the scenario's events): an experiment parameter, not written to the overlay.
  bool is_experiment(std::size_t i) const;
  /// Parameter values as used: rounded like format_value().
  std::vector<double> canonical(const std::vector<double>& x) const;
  /// Runs `replications` runs (default: the spec's) at x with seeds seed, seed + 1, ...;
  /// moments only (objective left 0).
  Evaluation simulate(const std::vector<double>& x, int64_t replications = -1) const;
  /// Weighting matrix from an evaluation's runs (any number of them): the inverse covariance
  /// of the scaled moment means over the spec's `replications` (see CalibrationSpec::weighting).
  Eigen::MatrixXd weighting(const Evaluation& e) const;
  int64_t weight_replications() const;
  /// The pilot at x: weight_replications() runs estimate W; the first `replications` of
  /// them (the seeds every evaluation uses) are returned as the evaluation at x, with J.
  std::pair<Evaluation, Eigen::MatrixXd> pilot(const std::vector<double>& x) const;
  double objective(const std::vector<double>& mean, const Eigen::MatrixXd& W) const;
  /// The full fit; `progress` (may be empty) gets one line per evaluation.
  CalibrationResult run(const std::function<void(const std::string&)>& progress = {}) const;
  /// Overlay YAML for parameter values x (with the header describing `e`): the fitted
  /// scenario keys only, no `extends`; experiment parameters appear in the header only.
  std::string overlay_yaml(const std::vector<double>& x, const Evaluation& e, double objective) const;
  /// After the overlay was written to `path`: loads the calibrated scenario afresh and checks
  /// that it takes every fitted key from the overlay. `errors`: the overlay does not merge into
  /// a loadable scenario, or the scenario extends it but sets a fitted key itself (or to
  /// another value); `notes`: the scenario does not extend the overlay at all.
  struct OverlayCheck {
    std::vector<std::string> errors, notes;
  };
  OverlayCheck check_overlay(const std::string& path, const std::vector<double>& x) const;
  std::string report_markdown(const CalibrationResult& r) const;
  /// Plain-text table of targets vs an evaluation (for the terminal).
  std::string table(const Evaluation& e) const;

 private:
  Calibrator() = default;
  Params params_at(const std::vector<double>& x, uint64_t seed) const;
  CalibrationSpec spec_;
  cfg::Node fit_tree_;      ///< scenario + events + fit-only overrides
  cfg::Node overlay_tree_;  ///< the scenario alone (no calibration events, no fit-only overrides)
  std::size_t scenario_events_ = 0;  ///< events of the scenario itself; the calibration's follow
  Params fit_params_;
  std::vector<std::string> extra_overrides_;
};

}  // namespace ts::model::calib
