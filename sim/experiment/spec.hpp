// The experiment file: what to vary, how to sample it, what to measure (docs/experiments.md).
//
// An experiment names a base scenario, optional scenario variants, the parameters to vary
// (any scenario key path, with value lists, ranges or distributions in the user's units), a
// design, replications, the horizon, the outcomes and what to keep of each run. It is read
// with the scenario loader's YAML tree and checked as strictly: unknown keys (with a "did you
// mean"), wrong types and values out of range are all reported at once with file:line:column
// and key path, before anything runs. Top-level keys can be overridden with `--set` like a
// scenario's. This file checks the experiment on its own; whether its keys, regions and firms
// exist in the scenarios is checked when it is bound to them (SimulationEvaluator::create).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "sim/config/diagnostics.hpp"
#include "sim/config/yaml_tree.hpp"

namespace ts::exp {

enum class DesignKind : uint8_t { Grid, List, Random, Lhs, Sobol, Saltelli, Morris };
enum class Keep : uint8_t { Outcomes, Series, Full };
enum class SeedMode : uint8_t { Common, Independent };

const char* to_string(DesignKind k);
const char* to_string(Keep k);
const char* to_string(SeedMode m);

/// One varied scenario key and the values it may take, in the user's units.
struct ParameterSpec {
  enum class Kind : uint8_t { Values, Range, Dist };
  enum class Dist : uint8_t { Uniform, Normal, LogNormal, Triangular };
  std::string key;  ///< override path, e.g. "firms.Meta.pay.max_package"
  cfg::Location loc;
  Kind kind = Kind::Values;
  // values
  std::vector<std::string> values;  ///< as written (YAML scalars)
  std::vector<double> numbers;      ///< the values as numbers, when every value is one
  bool numeric = true;              ///< every value is a number (else: text levels, e.g. rule names)
  // range
  double lo = 0, hi = 0;
  bool log = false;  ///< range on a log scale (log-uniform when sampled)
  // dist
  Dist dist = Dist::Uniform;
  double a = 0, b = 0, c = 0;  ///< uniform min, max | normal mean, sd | lognormal median, sigma | triangular min, mode, max
  int64_t levels = 0;          ///< grid levels of a range or distribution (0 = not given)
  bool integer = false;        ///< round to a whole number (ranges: every integer in [lo, hi] equally likely)
  bool valid = true;           ///< read without problems (the design checks skip it otherwise)

  /// Values cover a bounded interval (values, ranges, uniform and triangular distributions).
  bool bounded() const;
  /// Number of distinct levels the parameter takes in a grid (values, or `levels`); 0 if none.
  int64_t grid_levels() const;
  /// The value at unit coordinate u in [0, 1] (inverse CDF; u is clamped): a number in the
  /// user's units, or for text values the index of the value.
  double value_at(double u) const;
  /// Grid level i of grid_levels(): its unit coordinate.
  double grid_unit(int64_t i) const;
  /// The override text of a value returned by value_at (exact round trip for numbers).
  std::string text_of(double value) const;
};

/// Which researchers or regions an outcome counts: empty = all.
struct Filter {
  std::vector<std::string> location, origin, tier;
};

enum class Metric : uint8_t {
  Stock, Share, Flow, NetFlow, PayPercentile, FirmCount, Output, OutputRatio, Visa, Market
};
const char* to_string(Metric m);
const std::vector<std::string>& metric_names();

/// One declared outcome: a metric with its parameters and the steps it reads.
struct OutcomeSpec {
  std::string name;
  cfg::Location loc;
  Metric metric = Metric::Stock;
  Filter filter;         ///< stock, share (numerator), flow (tier, origin), pay_percentile, firm_count (tier, origin)
  Filter of;             ///< share: the denominator (default: the tier filter alone)
  bool has_of = false;
  std::vector<std::string> from, to;  ///< flow, net_flow: regions (empty = all)
  std::string firm;                   ///< firm_count: a firm or group name
  double percentile = 50;             ///< pay_percentile, in [0, 100]
  std::string stat;                   ///< visa, market: the statistic's name
  bool by_origin = false;             ///< output, output_ratio: credit the researchers' origin, not the region of work
  std::vector<std::string> regions;   ///< output: regions summed (empty = all)
  std::vector<std::string> numerator, denominator;  ///< output_ratio
  bool highly_cited = false;          ///< output, output_ratio
  // steps read: `at` one step, or `window` [first, last] (negative: from the end; -1 = last)
  bool has_at = false, has_window = false;
  int64_t at = -1;
  int64_t first = 0, last = -1;
  // display only (the printed report; values are stored unscaled)
  std::string label;
  double scale = 1.0;
  int64_t digits = -1;  ///< decimals in the report (-1: automatic)

  /// Levels (stocks, shares, pay, headcounts, employment) default to the last step and average
  /// over a window; counts (flows, output, visa and market events) default to the whole run and
  /// sum over a window.
  bool is_level() const;
  /// Needs the event log at least at this level: 0 none, 1 top (top and elite tiers), 2 all.
  int log_level_needed() const;
};

/// A named scenario variant: another scenario file, overrides, or both.
struct VariantSpec {
  std::string name;
  cfg::Location loc;
  std::string scenario;      ///< resolved path ("" = the base scenario)
  std::string scenario_ref;  ///< as written
  std::vector<std::string> overrides;
  std::vector<cfg::Location> override_locs;
};

struct DesignSpec {
  DesignKind kind = DesignKind::Grid;
  cfg::Location loc;
  bool given = false;
  int64_t n = 0;             ///< random, lhs, sobol: points; saltelli: base samples N (N·(k+2) points)
  int64_t trajectories = 0;  ///< morris
  int64_t levels = 4;        ///< morris grid levels p (even)
  int64_t skip = -1;         ///< sobol, saltelli: points of the sequence skipped (-1: the default)
  uint64_t seed = 0;
  bool has_seed = false;     ///< default: the experiment's seed
  int64_t bootstrap = 1000;  ///< saltelli, morris: resamples for the 95% intervals
};

struct ExperimentSpec {
  std::string path;  ///< the experiment file as given
  std::string text;  ///< verbatim
  std::vector<std::string> cli_overrides;  ///< --set on the experiment
  cfg::Node tree;    ///< after --set
  std::string base, base_ref;  ///< resolved path, as written
  cfg::Location base_loc;
  std::string base_name;       ///< the base's variant name: its file name without .yaml
  uint64_t seed = 1;
  SeedMode seeds = SeedMode::Common;
  int64_t replications = 1;
  int64_t steps = -1;          ///< -1: the base scenario's run.steps
  cfg::Location steps_loc;
  std::vector<std::string> overrides;  ///< `set:` applied to every run
  std::vector<cfg::Location> override_locs;
  std::vector<VariantSpec> variants;   ///< besides the base
  std::vector<ParameterSpec> parameters;
  DesignSpec design;
  std::vector<OutcomeSpec> outcomes;
  Keep keep = Keep::Outcomes;
  std::string runs_dir;        ///< as written ("" = OUT without .h5, plus ".runs")
  cfg::Location runs_dir_loc;
};

/// Reads and checks an experiment file with `--set` overrides of its top-level keys; every
/// problem goes to `d` (file:line:column, key path). nullopt if there was any.
std::optional<ExperimentSpec> load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                              cfg::Diagnostics& d);
/// The same from a text (tests; `talentsim compare` builds its experiment as a text).
std::optional<ExperimentSpec> parse_experiment_text(const std::string& text, const std::string& path,
                                                    const std::vector<std::string>& overrides, cfg::Diagnostics& d);
/// Reads the `outcomes:` map of any YAML file (an experiment file, or a file of outcomes only);
/// other top-level keys are ignored.
std::optional<std::vector<OutcomeSpec>> load_outcomes(const std::string& path, cfg::Diagnostics& d);

/// Names accepted for tiers, visa statistics and market statistics in outcomes.
const std::vector<std::string>& tier_names();
const std::vector<std::string>& visa_stat_names();
const std::vector<std::string>& market_stat_names();

}  // namespace ts::exp
