// The sweep's HDF5 file (layout: docs/experiments.md, "The sweep file").
//
// Created with every table at its final size, every run pending; each finished run is written
// into its own rows by run id (runs table, outcome values), so the file's contents do not depend
// on the order runs finish in, on --jobs, or on how the runs were split between processes. The
// statistics (summaries, paired differences, sensitivity indices) are written when the sweep
// ends, from the values in the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/config/yaml_tree.hpp"
#include "sim/experiment/design.hpp"
#include "sim/experiment/executor.hpp"
#include "sim/experiment/plan.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/experiment/statistics.hpp"
#include "sim/io/h5.hpp"

namespace ts::exp {

/// A path written in a file (an experiment's runs_dir, a sweep file's runs_dir attribute) is
/// relative to that file's folder: `path` as the process opens it (absolute, or relative to
/// its working directory). Absolute paths are returned as they are.
std::string resolve_beside(const std::string& file, const std::string& path);
/// The inverse for writing into `file`: `path` (as the process opens it) relative to the file's
/// folder, so that file and folder can move together; absolute where no relative path exists.
std::string relative_to_folder_of(const std::string& file, const std::string& path);

/// Everything the file records besides the runs' results.
struct SweepInfo {
  const ExperimentSpec* spec = nullptr;
  const Design* design = nullptr;
  RunPlan plan;
  std::vector<std::string> variant_names, variant_scenarios, variant_overrides;
  std::vector<cfg::Source> sources;  ///< every scenario file read
  std::vector<std::string> notes;    ///< settings the sweep changed in every run, and why
  std::string runs_dir;              ///< where per-run files go ("" with keep: outcomes)
  int64_t steps = 0;                 ///< the horizon of every run
  int jobs = 1, threads_per_job = 1;
  int mpi_ranks = 0;                 ///< run under MPI: the ranks (rank 0 the manager, the others workers)
  Shard shard;                       ///< --shard i/N: the file holds this share of the runs
  int64_t merged_shards = 0;         ///< written by `talentsim merge` from this many shards
  std::string command_line;
  /// Identifies the sweep: the experiment text and overrides, every scenario file, the design,
  /// the plan, the engine version and commit. A journal or file of another sweep is refused.
  std::string fingerprint() const;
  /// The name of run `id`'s file in runs_dir.
  std::string run_file(int64_t id) const;
};

class SweepFile {
 public:
  /// Creates the file (which must not exist) with the plan, the design and the metadata.
  SweepFile(const std::string& path, const SweepInfo& info);
  SweepFile(SweepFile&&) = default;
  ~SweepFile();
  /// Writes run r's rows (status, seconds, host, error, outcome values): held until commit()
  /// (or until 4096 are held), which writes runs with consecutive ids together; run_sweep commits
  /// at least every half second (the journal has every run at once).
  void write(const RunResult& r);
  /// Writes what write() holds back.
  void commit();
  /// Commits, writes the counts of done, failed and pending runs and flushes the file to disk.
  void flush(int64_t done, int64_t failed, int64_t pending);
  void write_analysis(const Analysis& a);
  /// Marks the status ("complete" or "interrupted") and closes the file.
  void close(const std::string& status);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  h5::File file_;
  std::size_t K_ = 0;
  std::vector<std::string> variant_names_, outcome_names_, param_keys_;
  std::vector<RunResult> held_;  ///< written by the next commit()
  bool closed_ = false;
};

/// The runs table and outcome values of a sweep file (tests, export, merge).
struct SweepRuns {
  std::vector<int64_t> id, point, replication, variant;
  std::vector<uint64_t> seed;
  std::vector<uint8_t> status;
  std::vector<double> seconds;
  std::vector<std::string> host, error, file;
  std::vector<std::string> outcome_names;
  std::vector<double> values;  ///< [run][outcome]
};
SweepRuns read_runs(const std::string& path);

}  // namespace ts::exp
