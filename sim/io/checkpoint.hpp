// Checkpoints: the full state of a run (researchers, firms, regions, the simulation's own
// bookkeeping and the output writer's), so that a resumed run's results are identical to
// an uninterrupted one. Random numbers need no state: they are keyed by (seed, step, uid,
// purpose), so the step and the uids are the generator's counters.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "sim/io/output.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Resumed {
  std::unique_ptr<model::Simulation> sim;
  std::string output, output_temp;  ///< absolute paths
  std::string run_id;               ///< the run's identity; its output must carry the same
  std::string key;                  ///< save_state()'s key ("" for a run's checkpoint)
  int64_t event_rows = 0;
  std::vector<std::vector<int64_t>> region_years, firm_years;
  std::vector<int> mark_steps;
};

struct CheckpointIO {
  /// Writes the state after sim.t() steps to `path` atomically (temporary name, then rename).
  static void save(const std::string& path, const model::Simulation& sim, const RunWriter& writer);
  /// Writes a simulation that no run's output belongs to (a spin-up: SpinUpCache) the same way,
  /// with `key` saying what it is; load() reads it (Resumed::key, no output paths).
  static void save_state(const std::string& path, const model::Simulation& sim, const std::string& key);
  /// Reads a checkpoint; a damaged or foreign file gives a CheckpointError saying so.
  static Resumed load(const std::string& path);
  /// Gives a resumed writer the cohort bookkeeping saved with the checkpoint.
  static void restore_writer(RunWriter& w, Resumed& r);

 private:
  static void save_impl(const std::string& path, const model::Simulation& sim, const RunWriter* writer, const std::string& key);
};

}  // namespace ts::io
