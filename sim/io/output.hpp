// The HDF5 file of one run (layout documented in docs/hdf5-layout.md).
//
// Written to a temporary name in the target directory and renamed into place when the
// run ends, so a half-written file never looks complete. All HDF5 calls happen on the
// thread that steps the simulation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/io/h5.hpp"
#include "sim/io/scenario.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

struct RunInfo {
  int threads = 1;
  std::string command_line;
  bool force = false;  ///< overwrite an existing output file
};

struct CheckpointIO;

class RunWriter : public model::Observer {
 public:
  /// Reopens the output of a run resumed from a checkpoint taken after `sim.t()` steps:
  /// later rows, snapshots and end-of-run tables are dropped, and writing continues.
  RunWriter(const std::string& out_path, const std::string& temp_path, const model::Simulation& sim,
            int64_t event_rows, const RunInfo& info);
  /// Rows in the event log so far (saved in checkpoints).
  int64_t event_rows() const { return int64_t(ev_step_.rows()); }
  void flush() { file_.flush(); }

  /// Creates OUT's temporary sibling and writes the metadata. Throws std::runtime_error
  /// if OUT exists (and !force) or the directory is not writable.
  RunWriter(const std::string& out_path, const Scenario& scenario, const model::Simulation& sim, const RunInfo& info);
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
};

}  // namespace ts::io
