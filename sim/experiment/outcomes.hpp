// The outcome library: each declared outcome (spec.hpp) computed from a run as it goes, by an
// Observer that reads the simulation's per-step statistics (Simulation::stats()) and, where
// they do not suffice, the researchers' and firms' columns (Simulation::world()).
//
//   stock           researchers by location × origin × tier (stats.stocks)
//   share           stock(filters ∩ of) / stock(of); `of` defaults to the same tiers everywhere
//   flow            moves from regions `from` to regions `to` (stats.flows; with a tier or
//                   origin filter: the step's event log, entries hire, move, relocation and
//                   forced_departure between two different regions, which add up to the flows)
//   net_flow        flow(from → to) − flow(to → from)
//   pay_percentile  the p-th percentile (linear interpolation between order statistics, numpy's
//                   default) of the annual pay of the employed researchers matching the filters,
//                   from the researchers' columns (exact; not the binned /series/pay_percentiles)
//   firm_count      a firm's or group's headcount, or its staff of the given tiers / origins
//   output          research output (papers, or highly cited papers) by region of work or origin
//   output_ratio    Σ output of the numerator regions / Σ of the denominator regions
//   visa            visa statistics by origin (stats.visa)
//   market          market statistics (stats.market)
// Steps: a level (stock, share, pay_percentile, firm_count, market employed/unemployed) is
// taken `at` one step (default: the last) or averaged over a `window`; a count (flows,
// output, visa and other market events) is summed over the `window` (default: the whole run)
// or taken `at` one step; output_ratio is the ratio of the sums over its window.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/config/params.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/model/simulation.hpp"

namespace ts::exp {

/// Problems of the outcomes against a scenario (unknown regions or firms, steps outside the
/// run of `steps` steps): (index of the outcome, message).
std::vector<std::pair<std::size_t, std::string>> check_outcomes(const model::Params& p,
                                                                const std::vector<OutcomeSpec>& outcomes);

/// The event-log level (model::EventLogLevel) the outcomes need: None, Top or All.
model::EventLogLevel log_level_needed(const std::vector<OutcomeSpec>& outcomes);

/// Collects every outcome of one run: construct before the first step, observe every step
/// (it is a model::Observer), read values() at the end.
class OutcomeRecorder : public model::Observer {
 public:
  /// Throws std::invalid_argument with check_outcomes()' first problem, or if the run does not
  /// log the events an outcome needs.
  OutcomeRecorder(const model::Simulation& sim, const std::vector<OutcomeSpec>& outcomes);
  ~OutcomeRecorder() override;
  OutcomeRecorder(const OutcomeRecorder&) = delete;
  OutcomeRecorder& operator=(const OutcomeRecorder&) = delete;
  void on_step(const model::Simulation& sim) override;
  /// One value per outcome (NaN where undefined: a share or ratio of nothing, a percentile of nobody).
  std::vector<double> values() const;

 private:
  struct Slot;
  std::vector<Slot> slots_;
  int R_ = 0;
};

/// Passes every step to several observers, in order.
class Observers : public model::Observer {
 public:
  void add(model::Observer* o) { list_.push_back(o); }
  void on_step(const model::Simulation& sim) override {
    for (auto* o : list_) o->on_step(sim);
  }

 private:
  std::vector<model::Observer*> list_;
};

/// The p-th percentile (0..100) of xs by linear interpolation between order statistics
/// (numpy's default); NaN if xs is empty. Reorders xs.
double percentile(std::vector<float>& xs, double p);

}  // namespace ts::exp
