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
#include "sim/config/scenario.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

struct RunInfo {
  int threads = 1;
  std::string command_line;
  bool force = false;  ///< overwrite an existing output file
  bool background = true;  ///< append each step's rows from a background thread
};

struct CheckpointIO;

class RunWriter : public model::Observer {
 public:
  /// Reopens the output of a run resumed from a checkpoint taken after `sim.t()` steps:
  /// later rows, snapshots and end-of-run tables are dropped, and writing continues.
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

  /// Creates OUT's temporary sibling and writes the metadata. Throws std::runtime_error
  /// if OUT exists (and !force) or the directory is not writable.
  RunWriter(const std::string& out_path, const cfg::Scenario& scenario, const model::Simulation& sim, const RunInfo& info);
  ~RunWriter() override;

  void on_step(const model::Simulation& sim) override;
  /// Writes end-of-run tables, marks the status ("complete" or "interrupted"), closes and renames.
  void finish(const model::Simulation& sim, const std::string& status);
  /// Removes the temporary file (after a failure).
  void abandon();
  const std::string& temp_path() const { return tmp_; }
  const std::string& final_path() const { return out_; }

 private:
  friend struct CheckpointIO;
  void open_series();
  void write_cohorts(const model::Simulation& sim, bool final);
  void write_snapshot(const model::Simulation& sim);
  void release_handles();

  /// One step's rows, copied from the simulation (which moves on while they are written).
  struct StepRows {
    int64_t step = 0, month = 0;
    std::vector<int64_t> stocks, flows, visa, market, head, elite, vac;
    std::vector<double> pay, out_region, out_origin, hc_region, hc_origin, wage, cpr, out, hc;
    std::vector<int32_t> ev_step, ev_from_firm, ev_to_firm;
    std::vector<uint64_t> ev_uid;
    std::vector<uint8_t> ev_kind, ev_from_region, ev_to_region, ev_origin, ev_tier;
    std::vector<float> ev_pay_before, ev_pay_after;
  };
  void write_rows(const StepRows& w);
  std::shared_ptr<StepRows> take_rows();              ///< a recycled buffer (keeps its capacity)
  void give_back(std::shared_ptr<StepRows> rows);
  void sync() {  ///< waits until the background thread has written everything submitted
    if (jobs_) jobs_->drain();
  }

  std::string out_, tmp_;
  h5::File file_;
  h5::Group root_;
  int R_ = 0;
  std::size_t F_ = 0;
  int chunk_ = 64;
  int last_step_ = -1;
  // time series
  h5::Series<int64_t> step_, month_, stocks_, flows_, visa_, market_;
  h5::Series<double> pay_, out_region_, out_origin_, hc_region_, hc_origin_;
  h5::Series<int64_t> f_head_, f_elite_, f_vac_;
  h5::Series<double> f_wage_, f_cpr_, f_out_, f_hc_;
  int64_t event_rows_ = 0;
  double bg_seconds_ = 0;  ///< background thread's busy time, kept when it stops
  // event log columns
  h5::Series<int32_t> ev_step_, ev_from_firm_, ev_to_firm_;
  h5::Series<uint64_t> ev_uid_;
  h5::Series<uint8_t> ev_kind_, ev_from_region_, ev_to_region_, ev_origin_, ev_tier_;
  h5::Series<float> ev_pay_before_, ev_pay_after_;
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
