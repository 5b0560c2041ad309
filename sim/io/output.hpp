// The HDF5 file of one run (layout documented in docs/hdf5-layout.md).
//
// Written to a temporary name in the target directory and renamed into place when the
// run ends, so a half-written file never looks complete. Each step's rows are copied on
// the stepping thread and appended by one background thread (RunInfo::background) while
// the next step runs; every other HDF5 call (metadata, snapshots, end-of-run tables,
// checkpoints) first waits for that thread to finish, so the (not thread-safe) HDF5
// library is never entered by two threads at once. Same calls in the same order either
// way: the file does not depend on whether the writes ran in the background.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sim/io/h5.hpp"
#include "sim/io/job_queue.hpp"
#include "sim/io/series.hpp"
#include "sim/config/scenario.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

struct RunInfo {
  int threads = 1;         ///< worker threads the run uses (TBB's effective concurrency, not the request)
  std::string command_line;
  bool force = false;      ///< overwrite an existing output file (else one that appears meanwhile is kept)
  bool background = true;  ///< append each step's rows from a background thread
  std::string run_id;      ///< identity of the run in the file and its checkpoints; new_run_id() if empty
};

/// 32 random hex digits: the identity that ties a run file to its checkpoints.
std::string new_run_id();

/// Resuming into a file of another run (its run id differs from the checkpoint's).
class RunMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CheckpointIO;

class RunWriter : public model::Observer {
 public:
  /// Reopens the output of a run resumed from a checkpoint taken after `sim.t()` steps:
  /// later rows, snapshots and end-of-run tables are dropped, and writing continues. The file
  /// must carry info.run_id (else RunMismatch, and nothing is changed); on any failure the
  /// file is left as it was found.
  RunWriter(const std::string& out_path, const std::string& temp_path, const model::Simulation& sim,
            int64_t event_rows, const RunInfo& info);
  /// Rows in the event log so far, submitted (saved in checkpoints, after flush()).
  int64_t event_rows() const { return event_rows_; }
  /// Waits for the background writes, then flushes the file to disk.
  void flush() {
    sync();
    file_.flush();
  }
  /// Seconds the background thread has spent appending rows (0 when writing synchronously).
  double background_seconds() const { return jobs_ ? jobs_->busy_seconds() : bg_seconds_; }

  /// Creates OUT's temporary sibling and writes the metadata (with the scenario's notes).
  /// Throws std::runtime_error if OUT exists (and !force) or the directory is not writable;
  /// a failure removes the temporary file.
  RunWriter(const std::string& out_path, const cfg::Scenario& scenario, const model::Simulation& sim, const RunInfo& info);
  ~RunWriter() override;

  void on_step(const model::Simulation& sim) override;
  /// Writes end-of-run tables, marks the status ("complete" or "interrupted"), closes and renames.
  /// Without RunInfo::force the rename never replaces a file: if OUT appeared while the run was
  /// going, it is left alone, the finished file is kept as OUT.<run id>.EXT, and this throws.
  void finish(const model::Simulation& sim, const std::string& status);
  /// Closes the file after a failure and removes it, unless `keep` (a file being resumed that
  /// could not be reopened is left as it was found).
  void abandon(bool keep = false);
  const std::string& temp_path() const { return tmp_; }
  const std::string& final_path() const { return out_; }
  const std::string& run_id() const { return run_id_; }

 private:
  friend struct CheckpointIO;
  void write_firms(const model::Simulation& sim);
  void write_cohorts(const model::Simulation& sim, bool final);
  void write_snapshot(const model::Simulation& sim);
  void release_handles();

  /// One step's rows, copied from the simulation (which moves on while they are written):
  /// one buffer per step dataset (series.hpp), in declaration order.
  struct StepRows {
    int64_t step = 0;
    std::vector<std::vector<std::byte>> data;
  };
  void write_rows(const StepRows& w);
  std::shared_ptr<StepRows> take_rows();              ///< a recycled buffer (keeps its capacity)
  void give_back(std::shared_ptr<StepRows> rows);
  void sync() {  ///< waits until the background thread has written everything submitted
    if (jobs_) jobs_->drain();
  }

  std::string out_, tmp_, run_id_;
  bool force_ = false;
  bool firms_written_ = false;  ///< /firms is written with the values of step 0 (after its events)
  h5::File file_;
  h5::Group root_;
  int R_ = 0;
  std::size_t F_ = 0;
  int chunk_ = 64;
  int last_step_ = -1;
  std::vector<std::unique_ptr<StepDataset>> datasets_;  ///< /series and /events (series.hpp)
  int64_t event_rows_ = 0;
  double bg_seconds_ = 0;  ///< background thread's busy time, kept when it stops
  // cohort counts at yearly marks
  std::vector<std::vector<int64_t>> region_years_;  ///< per mark: [location][origin][years]
  std::vector<std::vector<int64_t>> firm_years_;    ///< per mark: [firm][years]
  std::vector<int> mark_steps_;
  bool closed_ = false;
  std::mutex pool_m_;
  std::vector<std::shared_ptr<StepRows>> pool_;
  std::unique_ptr<JobQueue> jobs_;  ///< last member: stopped before the handles it writes to go
};

}  // namespace ts::io
