// One simulation run: the state (state.hpp) and the step, the phases of MODEL.md §4 in order.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/config/params.hpp"
#include "sim/model/ledger.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/state.hpp"

namespace ts::io {
struct CheckpointIO;
}

namespace ts::model {

class Observer;

class Simulation {
 public:
  /// Called after each spin-up month with (months done, months in all).
  using SpinUpProgress = std::function<void(int64_t, int64_t)>;

  /// Builds the start state (init.hpp), then simulates run.spin_up months before step 0 (steps
  /// −spin_up … −1, at the start month's policies, no timeline, no observer), so step 0 starts
  /// from the model's own steady state (MODEL.md §4, "The start state"). What the run counts
  /// (poaching pairs, phase times) starts at step 0.
  explicit Simulation(Params params, const SpinUpProgress& progress = {});

  /// Shared spin-up: a copy of `spun`, a simulation at step 0 (just constructed), that runs
  /// `params` from there. Exact when `params` differs from spun.params() only in what the
  /// spin-up does not read: the timeline (events take effect from step 0; only an
  /// `office_open` event shapes the start, so those must be the same), the horizon
  /// (run.steps) and the output settings (the spin-up records and logs nothing). The caller
  /// guarantees that (ScenarioEvaluator keys its shared spin-ups by everything else).
  Simulation(const Simulation& spun, Params params);
  /// The same, taking `spun`'s state instead of copying it (a spin-up loaded for one run).
  Simulation(Simulation&& spun, Params params);

  /// Runs phases 1–10 for the current step and advances the clock.
  void step();
  int t() const { return s_.world.step; }
  int calendar_month(int step) const { return s_.start_month + step; }

  // The phases, in order (MODEL.md §4). Public so tests and benchmarks can drive them one by one.
  void events() { events_.run(s_); }
  void demography() { demography_.run(s_); }
  void firm_planning() { planning_.run(s_); }
  void offers() { offers_.run(s_); }
  void retention() { retention_.run(s_); }
  void clearing() { clearing_.run(s_); }
  void visa() { visa_.run(s_); }
  void production() { production_.run(s_); }
  void pay() { pay_.run(s_); }
  void record();  ///< the record phase, then the observer
  /// What step() does after the last phase: the invariant check (if on), remembering the
  /// stocks, advancing the step counter. For callers that run the phases one by one.
  void finish_step();

  /// Seconds spent in each phase since construction (events … record), for benchmarks.
  static constexpr int kPhases = 10;
  static constexpr const char* kPhaseNames[kPhases] = {"events",     "demography", "firm_planning", "offers",
                                                       "retention",  "clearing",   "visa",          "production",
                                                       "pay",        "record"};
  const std::array<double, kPhases>& phase_seconds() const { return phase_seconds_; }

  /// Everything the phases share, for the model's functions (terms.hpp, ledger.hpp, …).
  const State& state() const { return s_; }
  /// The state, to change by hand (tests, tools): the firms' books are then counted afresh from
  /// the researchers by the next phase that needs them, and the tier index's caches rebuilt.
  State& edit_state() {
    s_.books.recount = true;
    s_.tiers.invalidate();
    return s_;
  }
  const World& world() const { return s_.world; }
  World& edit_world() { return edit_state().world; }
  Params& params() { return s_.params; }
  const Params& params() const { return s_.params; }
  const StepStats& stats() const { return s_.stats; }
  StepStats& stats() { return s_.stats; }
  const std::vector<Offer>& pending_offers() const { return s_.offers; }
  std::vector<Offer>& pending_offers() { return s_.offers; }
  const std::vector<Mover>& movers() const { return s_.movers; }
  /// Cumulative firm-to-firm poaching counts over the run, as columns sorted by (from, to).
  PoachingTable poaching_table() const { return model::poaching_table(s_.books); }
  /// The same counts as a map (from, to) -> moves, for lookups in tests and tools.
  std::map<std::pair<int32_t, int32_t>, int64_t> poaching() const;
  void set_observer(Observer* o) { observer_ = o; }
  int regions() const { return s_.regions(); }
  int firm_index(const std::string& name) const { return s_.firm_index(name); }  ///< -1 if unknown
  std::vector<int> firms_named(const std::string& name_or_group) const { return s_.firms_named(name_or_group); }

  /// Checks the model's invariants after a step; returns one line per violation (empty = fine).
  std::vector<std::string> check_invariants() const;
  /// Check invariants after every step and throw on a violation (always on in debug builds).
  void set_checking(bool on) { checking_ = on; }

 private:
  friend struct ::ts::io::CheckpointIO;
  struct RestoreTag {};
  Simulation(Params params, RestoreTag);  ///< empty world, filled from a checkpoint

  State s_;
  phase::Events events_;
  phase::Demography demography_;
  phase::FirmPlanning planning_;
  phase::Offers offers_;
  phase::Retention retention_;
  phase::Clearing clearing_;
  phase::Visa visa_;
  phase::Production production_;
  phase::Pay pay_;
  phase::Record record_;
  Observer* observer_ = nullptr;
  std::array<double, kPhases> phase_seconds_{};
#ifdef NDEBUG
  bool checking_ = false;
#else
  bool checking_ = true;
#endif
};

/// Receives the state after each step (HDF5 writer, validation, benchmarks).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_step(const Simulation& sim) = 0;
};

}  // namespace ts::model
