// Runs of an experiment as talentsim simulations: the base scenario or a variant, with the
// point's parameter values, the replication's seed and the experiment's horizon.
//
// Settings of run (point p, replication k, variant v), applied in this order to the variant's
// scenario tree (the same mechanism as `--set`, so every value is checked like a scenario's):
//   the variant's scenario file (or the base's) → the experiment's `set` → the variant's `set`
//   → the point's parameter values → run.steps, run.seed (seed(k)) → output settings
// The output settings depend on `keep`: with `outcomes` and `series` the event log is reduced to
// what the outcomes need (none, top or all; it does not change any result, only what is
// recorded) and no snapshots are taken; with `full` the scenario's own output settings are kept
// and the event log raised where an outcome needs more. Each change is listed in the sweep
// file's /metadata/notes.
//
// Shared spin-ups: runs that differ only in their timeline (not in `office_open` events), horizon
// or output — a comparison of policy scenarios with common random numbers, the same replication's
// variants — start from one spin-up, simulated once and copied (model::Simulation's shared
// spin-up constructor); the results are the same as with a spin-up of their own. At most as many
// spin-ups are kept as runs go at once (fewer if memory is short); TALENTSIM_SHARED_SPIN_UP=0
// turns the sharing off.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/experiment/design.hpp"
#include "sim/experiment/executor.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/model/simulation.hpp"

namespace ts::exp {

class ScenarioEvaluator : public Evaluator {
 public:
  /// Loads the base and every variant, and checks the experiment against them before anything
  /// runs: every variant loads with the experiment's overrides, every parameter key takes its
  /// values (up to 16 of each parameter's distinct values, the extremes included, in every
  /// variant; and the first point whole), the outcomes name regions, firms and steps that exist,
  /// and `jobs` runs at once fit in memory. Problems go to `d`; nullptr if there was any.
  static std::unique_ptr<ScenarioEvaluator> create(const ExperimentSpec& spec, const Design& design, int jobs,
                                                   cfg::Diagnostics& d);

  std::optional<std::vector<double>> evaluate(const RunSpec& run, int threads, const std::atomic<bool>& stop) override;
  std::size_t outcomes() const override { return spec_->outcomes.size(); }

  /// Spin-ups are also kept in (and loaded from) this folder across processes (io::SpinUpCache).
  void set_spin_up_cache(std::string dir) { spin_up_cache_ = std::move(dir); }

  /// Per-run files: written as dir/name_of(id) (keep: series or full).
  void set_run_files(std::string dir, std::function<std::string(int64_t)> name_of, std::string command_line);

  int64_t steps() const { return steps_; }
  std::size_t variants() const { return variants_.size(); }
  const std::vector<std::string>& variant_names() const { return names_; }
  std::vector<std::string> variant_scenarios() const;
  std::vector<std::string> variant_overrides() const;  ///< the experiment's and the variant's `set`, one per line
  const std::vector<cfg::Source>& sources() const { return sources_; }
  const std::vector<std::string>& notes() const { return notes_; }
  /// The override texts of run `run` (without the run file settings), as `talentsim run --set` takes them.
  std::vector<std::string> overrides_of(const RunSpec& run) const;

 private:
  struct Variant {
    std::string name, scenario;
    std::vector<cfg::Source> sources;
    cfg::Node tree;  ///< after the experiment's and the variant's `set`
    std::vector<std::string> overrides;
    std::vector<std::string> settings;  ///< run.steps and the output settings
  };
  ScenarioEvaluator() = default;
  /// The run's simulation at step 0: from a shared spin-up when one can be shared.
  std::unique_ptr<model::Simulation> start(const cfg::Node& tree, model::Params params);

  using Spun = std::shared_future<std::shared_ptr<const model::Simulation>>;
  struct SharedSpinUp {
    std::string key;  ///< the run's scenario tree without what the spin-up does not read
    Spun sim;
  };
  std::mutex spin_up_mutex_;
  std::list<SharedSpinUp> spin_ups_;  ///< most recently used first
  std::size_t spin_up_capacity_ = 0;
  std::string spin_up_cache_;  ///< a folder of spin-ups shared between processes ("" none)
  const ExperimentSpec* spec_ = nullptr;
  const Design* design_ = nullptr;
  std::vector<Variant> variants_;
  std::vector<std::string> names_;
  std::vector<cfg::Source> sources_;
  std::vector<std::string> notes_;
  int64_t steps_ = 0;
  std::string runs_dir_, command_line_;
  std::function<std::string(int64_t)> run_name_;
};

}  // namespace ts::exp
