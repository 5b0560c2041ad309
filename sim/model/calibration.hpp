// Calibration of a scenario by the simulated method of moments (MODEL.md §6; the method
// in plain words: docs/calibration.md).
//
// A calibration file names a scenario, free parameters with bounds (scenario keys, set
// through the same "key.path=value" overrides as `--set`), `targets:` (moments fitted to a
// figure of FIGURES.md, each with the source's own uncertainty `source_sd` and its `basis`)
// and `untargeted:` moments (only reported, beside the targets). Each evaluation runs the
// scenario in-process S = `replications` times with run.seed = seed + r (common random
// numbers); the estimator, its diagnostics and the verdict on fresh seeds are those of
// calib_smm.hpp, with this file's simulation as the Evaluator. The result is written as an
// overlay (only the fitted scenario keys: the calibrated scenario extends it), a Markdown
// report and a YAML file of every number (for plots). Parameters of the calibration's own
// events (e.g. the package of a raid added by the calibration file) are part of the
// experiment, not of the scenario: they are listed in the overlay's header and the report only.
//
// Moments (MomentRecorder, from each step's statistics and, for cohorts, the researcher
// columns). Step-based moments are measured over the whole horizon (default), at one step
// (`at: s`) or over a window (`window: [a, b]`, inclusive; negative steps count from the
// end): shares, rates and pay levels are averaged over the steps, flow ratios are ratios of
// the sums over the steps.
//   cn_share_all            CN origin among the living                                (mean)
//   cn_share_top            CN origin among top + elite                               (mean)
//   top_tier_location_share top + elite working in `region`, of all top + elite       (mean)
//   pay_percentile          `percentile` of pay of the employed of `tier` in `region` (mean)
//   unemployment_rate       without an employer among the living in `region` (all)    (mean)
//   us_cn_hc_output_ratio   highly cited output located in US / in CN                 (ratio of sums)
//   output_share            output of `region` (`by: location` of work, or `origin`)
//                           / all output                                              (ratio of sums)
//   job_to_job_rate         job-to-job moves / employed, per month                    (ratio of sums)
//   raid_hires              job-to-job moves from firm `from` to firm `to` within `within` steps
//                           of the first raid by `to` on `from` (moves that wait for a visa count
//                           in the step the visa is approved)
//   raid_hires_cn           the same, researchers of CN origin only
//   stay_rate               of those of `origin` (a region, or `foreign`: every origin but
//                           `region`) living in `region` at step `cohort`, the share living there
//                           continuously `after` steps later (as /cohorts/region_stay_rate)
//   firm_retention          of those employed at step `cohort` (at `firm`, or anywhere), the share
//                           still at the same employer `after` steps later (as /cohorts/firm_retention)
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
#include "sim/config/params.hpp"
#include "sim/config/yaml_tree.hpp"
#include "sim/model/calib_smm.hpp"

namespace ts::model {
class Simulation;
struct StepStats;
struct LogEntry;
}  // namespace ts::model

namespace ts::model::calib {

// ------------------------------------------------------------------ specification

enum class MomentKind : uint8_t {
  CnShareAll, CnShareTop, UsCnHcOutputRatio, RaidHires, RaidHiresCn, OutputShare, TopTierLocationShare,
  PayPercentile, UnemploymentRate, JobToJobRate, StayRate, FirmRetention
};
inline constexpr int kMomentKinds = 12;
const char* to_string(MomentKind k);
/// Names accepted in `moment:`, in the order of MomentKind.
const std::vector<std::string>& moment_names();

/// When a step-based moment is measured.
enum class Timing : uint8_t { Horizon, At, Window };

/// A moment of the model: a target (fitted) or an untargeted moment (reported only).
struct Target {
  std::string name;
  cfg::Location loc;
  MomentKind moment = MomentKind::CnShareAll;
  bool targeted = true;
  double value = std::nan("");  ///< the figure (untargeted: optional, an outside figure to compare with)
  double source_sd = 0.0;       ///< the source's own uncertainty, fixed before fitting (targets: > 0)
  std::string basis;            ///< how source_sd was read from the source
  std::string source;           ///< citation, e.g. "[A2] CTOL, 2025"
  // step-based kinds: the whole horizon, one step, or steps first..last (negative: from the end)
  Timing timing = Timing::Horizon;
  int64_t at = -1, first = 0, last = -1;
  std::string region;          ///< output_share, top_tier_location_share, pay_percentile, stay_rate, unemployment_rate
  std::string origin;          ///< stay_rate: an origin region or "foreign"
  bool by_origin = false;      ///< output_share: `by: origin` (default `by: location`)
  int tier = 1;                ///< pay_percentile: 0 regular, 1 top, 2 elite
  double percentile = 0.5;     ///< pay_percentile: one of the recorded levels (0.1, 0.25, 0.5, 0.75, 0.9)
  std::string firm;            ///< firm_retention: one firm ("" = every employer)
  int64_t cohort = 0, after = 12;  ///< stay_rate, firm_retention: the cohort's step and the steps after it
  std::string from = "OpenAI", to = "Meta";  ///< raid kinds
  int64_t within = 1;          ///< raid kinds: steps from the raid's step in which a move counts as landed

  /// One line saying what is measured and when, e.g. "top_tier_location_share region US, mean over steps 0..119".
  std::string describe(int64_t steps) const;
};

struct Parameter {
  std::string key;  ///< override path, e.g. "regions.CN.talent_mu", "firms[Meta].prestige", "events[0].package"
  cfg::Location loc;
  double min = 0.0, max = 1.0, start = 0.0;
  bool has_start = false;  ///< no `start:` = the scenario's own value of the key
  bool log = false;        ///< search ln(value) (bounds must be > 0)
  bool integer = false;    ///< round to a whole number before use
};

struct OptimizerOptions {
  int64_t max_evaluations = 400;  ///< simulated evaluations (each = `replications` runs)
  double initial_step = 0.1;      ///< initial simplex edge, as a fraction of each bound range
  double ftol = 0.01;             ///< converged when the simplex's objective spread ≤ ftol (J units: χ² when W = Ω⁻¹) ...
  double xtol = 1e-3;             ///< ... and every vertex is within xtol (fraction of the range) of the best
  int64_t restarts = 2;           ///< restarts from the best point after convergence, until one gains nothing
};

struct CalibrationSpec {
  std::string path;          ///< calibration file as given
  std::string scenario;      ///< scenario file, resolved against the calibration file's directory
  std::string scenario_ref;  ///< as written in the file
  cfg::Location scenario_loc;
  std::vector<std::string> overrides;  ///< fit-only overrides (run size); not written to the overlay
  std::vector<cfg::Location> override_locs;
  cfg::Node events;  ///< events appended to the scenario's (fit and overlay); Null if none
  int64_t replications = 4;
  uint64_t seed = 123;
  int64_t pilot_replications = 0;  ///< 0 = max(4S, 2K + 2)
  Weighting weighting = Weighting::Efficient;
  double tolerance_z = 2.0;
  double jacobian_step = 0.02;
  uint64_t validation_seed = 1000000;
  int64_t validation_replications = 0;  ///< 0 = as many as needed (validation_se_fraction)
  int64_t validation_min_replications = 10, validation_max_replications = 400;
  double validation_se_fraction = 0.25;
  std::vector<Parameter> parameters;
  std::vector<Target> targets, untargeted;
  OptimizerOptions optimizer;
  std::string overlay, report, results;  ///< resolved output paths ("" = not written)
  std::string overlay_ref, report_ref, results_ref;

  SmmOptions smm_options() const;
  /// Every moment, targets first.
  std::vector<Target> moments() const;
  /// A digest of what the fit depends on (scenario, overrides, events, seeds, parameters,
  /// targets): the overlay records it, so a test can tell a stale overlay.
  std::string digest() const;
};

/// Reads and checks a calibration file (unknown keys, types, ranges, moment names and the
/// keys each moment takes, bounds); every problem goes to `d` with file:line. nullopt if there was any.
std::optional<CalibrationSpec> load_calibration(const std::string& path, cfg::Diagnostics& d);
/// The same from a parsed tree; `path` names the file (relative paths resolve against its directory).
std::optional<CalibrationSpec> parse_calibration(const cfg::Node& root, const std::string& path, cfg::Diagnostics& d);

// ------------------------------------------------------------------ moments

/// Share of researchers of `origin` among those counted in stocks [location][origin][tier]
/// (all tiers, or top + elite only). NaN if nobody is counted.
double origin_share(const StepStats& s, int origin, bool top_only);
/// Share of the top + elite tiers working in `location`. NaN if nobody is counted.
double top_tier_location_share(const StepStats& s, int location);
/// Unemployed share of the living in `location` (< 0: everywhere). NaN if nobody lives there.
double unemployment_rate(const StepStats& s, int location);
/// Job-to-job moves (LogKind::Move) from firm `from` to firm `to` in a step's log.
std::vector<uint64_t> moves_between(const std::vector<LogEntry>& log, int32_t from, int32_t to);

/// Collects every moment while a Simulation runs: construct before the first step, call
/// observe() after every step(), read values() at the end.
class MomentRecorder {
 public:
  /// Throws std::invalid_argument if a moment names an unknown region or firm, a step
  /// outside the run, or a raid moment without a matching raid event.
  MomentRecorder(const Simulation& sim, const std::vector<Target>& moments);
  void observe(const Simulation& sim);  ///< after step(): the statistics of step sim.t() − 1
  std::vector<double> values() const;

 private:
  struct Slot {
    const Target* t = nullptr;
    int64_t first = 0, last = 0;  ///< steps measured (step-based kinds)
    int64_t raid_step = 0;
    int32_t from = -1, to = -1, firm = -1;
    int region = -1, origin = -1;  ///< origin −1 with stay_rate: foreign
    double num = 0, den = 0;       ///< sums (ratio kinds, counts), or sum of values and steps (mean kinds)
    bool nan = false;              ///< a step's value was not finite
  };
  std::vector<Slot> slots_;
  int cn_ = -1, us_ = -1;
};

/// Checks the moments against loaded scenario parameters (regions, firms, raid events,
/// steps), reporting at each moment's location under `list` ("targets" or "untargeted").
void check_targets(const Params& p, const std::vector<Target>& targets, cfg::Diagnostics& d,
                   const std::string& list = "targets");

// ------------------------------------------------------------------ calibration run

struct CalibrationResult {
  SmmResult smm;
  std::string overlay_yaml, report_md, results_yaml;
};

/// Prepares the fit: the scenario with the calibration's events and fit-only overrides
/// (checked like `talentsim run` does), the bounds and moments checked against it.
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
  std::vector<double> starts() const;
  /// Every moment (targets, then untargeted) of one run at x with run.seed = seed.
  std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const;
  /// n runs at x with seeds seed0, seed0 + 1, ... (default: the spec's replications and seed).
  Evaluation simulate(const std::vector<double>& x, int64_t n = -1, uint64_t seed0 = 0) const;

  /// The full fit from the starts (search, diagnostics, fresh seeds); `progress` gets one line per step.
  CalibrationResult run(const Progress& progress = {}) const;
  /// Diagnostics and fresh-seed verdict at x, no search (the overlay is left empty).
  CalibrationResult evaluate(const std::vector<double>& x, const Progress& progress = {}) const;
  /// The verdict at x from R runs with seeds seed0.. (tolerance z·√(source_sd² + sd²/R)).
  Validation check(const std::vector<double>& x, uint64_t seed0, int64_t R) const;

  /// Overlay YAML for parameter values x (with the header describing the fit): the fitted
  /// scenario keys only, no `extends`; experiment parameters appear in the header only.
  std::string overlay_yaml(const SmmResult& r) const;
  /// After the overlay was written to `path`: loads the calibrated scenario afresh and checks
  /// that it takes every fitted key from the overlay. `errors`: the overlay does not merge into
  /// a loadable scenario, or the scenario extends it but sets a fitted key itself (or to
  /// another value); `notes`: the scenario does not extend the overlay at all.
  struct OverlayCheck {
    std::vector<std::string> errors, notes;
  };
  OverlayCheck check_overlay(const std::string& path, const std::vector<double>& x) const;
  std::string report_markdown(const SmmResult& r) const;
  /// Every number of the result as YAML (for plots; docs/calibration.md describes the keys).
  std::string results_yaml(const SmmResult& r) const;
  /// Plain-text table of the moments (for the terminal).
  std::string table(const SmmResult& r) const;

 private:
  Calibrator() = default;
  Params params_at(const std::vector<double>& x, uint64_t seed) const;
  std::vector<SmmParameter> smm_parameters() const;
  CalibrationResult finish(SmmResult r) const;
  CalibrationSpec spec_;
  cfg::Node fit_tree_;      ///< scenario + events + fit-only overrides
  cfg::Node overlay_tree_;  ///< the scenario alone (no calibration events, no fit-only overrides)
  std::size_t scenario_events_ = 0;  ///< events of the scenario itself; the calibration's follow
  Params fit_params_;
  std::vector<std::string> extra_overrides_;
};

}  // namespace ts::model::calib
