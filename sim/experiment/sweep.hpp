// Running a sweep end to end: the output files, the journal, the executor, progress, the
// statistics at the end (docs/experiments.md).
//
// Files, for an output OUT.h5 in directory DIR:
//   DIR/.OUT.h5.partial   the sweep file while the sweep runs (renamed to OUT.h5 at the end)
//   DIR/.OUT.h5.journal   one line per finished run (journal.hpp); removed when the sweep completes
//                         with every run done (kept with failed runs, for --resume --retry-failed)
//   OUT.h5                the finished sweep, status "complete"; or, after SIGINT/SIGTERM, the
//                         runs so far with status "interrupted" (the journal is kept)
// A sweep killed outright leaves the partial file and the journal. `--resume` rebuilds the file
// from the journal and runs only the runs without a record, so the finished file holds the same
// values as a sweep that was never interrupted (only timings and host names differ).
#pragma once

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sim/experiment/executor.hpp"
#include "sim/experiment/statistics.hpp"
#include "sim/experiment/sweep_file.hpp"

namespace ts::exp {

struct SweepOptions {
  std::string command = "sweep";  ///< for messages: talentsim COMMAND: ...
  std::string out;
  int jobs = 1;
  int threads_per_job = 1;
  bool resume = false;        ///< continue an interrupted sweep
  bool retry_failed = false;  ///< with resume: run the failed runs again too
  bool force = false;         ///< start over: remove OUT, an unfinished sweep of OUT and its run files
  bool progress = false;      ///< a progress line on stderr (the caller checks for a terminal)
};

struct SweepResult {
  int exit_code = 0;          ///< 0 complete, 1 complete with failed runs or an error, 2 bad input, 130 interrupted
  int64_t done = 0, failed = 0, pending = 0, ran = 0;
  double seconds = 0;
  Analysis analysis;          ///< when complete
  std::vector<RunResult> failures;  ///< the failed runs (error messages)
};

/// Runs `info`'s plan with `executor` and `ev`; `stop` ends it early (SIGINT/SIGTERM). Problems
/// with the output files are printed to `err` (exit code 2, or 1 for a failure while running).
SweepResult run_sweep(const SweepInfo& info, Evaluator& ev, Executor& executor, const SweepOptions& opt,
                      const std::atomic<bool>& stop, std::ostream& err);

/// The runs directory's stale files: partial run files left by a killed sweep (of `shard`'s runs).
void remove_stale_run_files(const std::string& dir, const Shard& shard = {});
/// The run id of a run file's name (run_000012.h5, or its partial .run_000012.h5.partial-PID); -1 if none.
int64_t run_file_id(const std::string& name);

}  // namespace ts::exp
