// A folder of spin-ups kept between processes (`--spin-up-cache DIR`). A run's spin-up (the
// run.spin_up months simulated before step 0, MODEL.md §4 "the start state") depends only on
// the scenario less its horizon, output settings and timeline after the start (spin_up_key),
// and on the program. Runs of the same baseline and seed with different policies, horizons or
// outputs therefore start from the same state: the first run saves it (a checkpoint, written
// atomically), the next ones load it instead of simulating the months again. A run from the
// cache gives exactly the results of a run without it (tests/cli: "spin-up cache").
#pragma once

#include <memory>
#include <string>

#include "sim/config/yaml_tree.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

/// What a run's spin-up depends on: its scenario tree without the horizon, the output
/// settings and the timeline, except the events that shape the start (office_open: offices
/// that open later exist, closed, from the start). Runs with the same key have the same state
/// at step 0 (the sweeps' shared spin-ups use it too).
std::string spin_up_key(const cfg::Node& tree);

class SpinUpCache {
 public:
  explicit SpinUpCache(std::string dir) : dir_(std::move(dir)) {}

  struct Started {
    std::unique_ptr<model::Simulation> sim;  ///< at step 0, with the run's own parameters
    std::string note;                        ///< what the cache did (loaded, saved, ignored a file and why)
  };

  /// The simulation of scenario `tree` (parameters `params`) at step 0: loaded when the folder
  /// holds this spin-up (same key, same program), else spun up (`progress` as the Simulation
  /// constructor) and saved there. A damaged or foreign file is ignored and replaced, and a
  /// spin-up that cannot be saved is still used: the cache never changes a result or stops a run.
  /// Without a spin-up (run.spin_up 0) the cache is not used.
  Started start(const cfg::Node& tree, model::Params params, const model::Simulation::SpinUpProgress& progress = {}) const;

  /// The file that holds the spin-up with this key (whether or not it exists yet).
  std::string file_for(const std::string& key) const;
  /// The full key: spin_up_key(tree) and the program's identity (version, commit and a digest of
  /// the executable, so that a rebuilt binary never reads another build's spin-ups).
  static std::string full_key(const cfg::Node& tree);

 private:
  std::string dir_;
};

}  // namespace ts::io
