// How runs are executed: an Evaluator runs one run of the plan, an Executor decides which runs
// run where and when, a ResultSink receives each finished run (docs/experiments.md,
// "Distributing runs").
//
// The three are independent so that the work can be spread differently without changing the
// file or the results: a run's settings come from the plan alone (RunPlan::run(id)), its result
// depends on nothing else, and the sink writes it into its row by run id. LocalExecutor runs N
// runs at once on this machine; MpiExecutor (mpi_sweep.hpp) has MPI worker ranks run them and
// records their results on rank 0; a `--shard i/N` job array task runs its share of the ids
// (shard.hpp). All of them run each run with run_one().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <tbb/task_arena.h>

#include "sim/experiment/plan.hpp"

namespace ts::exp {

enum class RunStatus : uint8_t { Pending = 0, Done = 1, Failed = 2 };
inline constexpr const char* kRunStatusNames[] = {"pending", "done", "failed"};

struct RunResult {
  int64_t id = 0;
  RunStatus status = RunStatus::Pending;
  double seconds = 0;
  std::string host, error;
  std::vector<double> outcomes;  ///< one per outcome (NaN for a failed run)
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  /// Runs `run` on the calling thread (the executor calls it inside a task arena of `threads`
  /// threads) and returns its outcome values, or nullopt if `stop` was raised before it ended.
  /// Throws std::exception on failure; the message is recorded as the run's error.
  virtual std::optional<std::vector<double>> evaluate(const RunSpec& run, int threads, const std::atomic<bool>& stop) = 0;
  /// Outcomes per run.
  virtual std::size_t outcomes() const = 0;
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  /// Called once per finished (done or failed) run, from any thread, one call at a time.
  virtual void record(const RunResult& r) = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  /// Runs the runs `ids` of `plan` and records each in `sink` as it ends. Returns when all have
  /// run, or soon after `stop` is raised (runs stopped midway are not recorded: still pending).
  virtual void execute(const std::vector<int64_t>& ids, const RunPlan& plan, Evaluator& ev, ResultSink& sink,
                       const std::atomic<bool>& stop) = 0;
};

/// Runs one run in `arena` (of `threads` threads) and times it: Done with its outcome values, or
/// Failed with the evaluator's error (NaN values); nullopt if `stop` ended it midway (the run
/// stays pending). The host is this machine's.
std::optional<RunResult> run_one(const RunSpec& run, Evaluator& ev, tbb::task_arena& arena, int threads,
                                 const std::atomic<bool>& stop);

/// Runs `jobs` runs at once on this machine, each in its own tbb::task_arena of
/// `threads_per_job` threads (the caller keeps jobs × threads_per_job within the cores, and the
/// process-wide tbb::global_control at their total). Runs are taken in id order; which job takes
/// which run, and the order they finish in, do not change any result.
class LocalExecutor : public Executor {
 public:
  LocalExecutor(int jobs, int threads_per_job);
  void execute(const std::vector<int64_t>& ids, const RunPlan& plan, Evaluator& ev, ResultSink& sink,
               const std::atomic<bool>& stop) override;

 private:
  int jobs_, threads_;
};

/// This machine's name (gethostname), recorded with each run.
const std::string& host_name();

}  // namespace ts::exp
