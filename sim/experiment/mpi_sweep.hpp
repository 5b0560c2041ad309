// Distributed sweeps with MPI: `mpirun -np N talentsim sweep EXPERIMENT.yaml -o OUT.h5`
// (docs/clusters.md). Compiled only with TALENTSIM_MPI; this header needs no MPI header.
//
// Rank 0 is the manager. It checks the experiment, owns the journal and the sweep file exactly as
// a single process does (run_sweep), and hands run ids to the other ranks, the workers, as each
// becomes free, so long and short runs balance themselves (a worker also holds the next run while
// many wait, so it never waits for rank 0 between runs). Every worker loads the same
// experiment and scenario files itself, runs each run it is given with run_one() in a task arena of
// its threads, and sends the RunResult back; the manager records it as LocalExecutor's jobs do. Ids
// go out in ascending order, a run's settings and seed come from its id alone (the plan) and its
// row is written by id, so the file does not depend on the number of ranks or on which rank ran
// what. Resuming is unchanged: rank 0 reads the journal and hands out only the missing ids.
//
// Messages are point to point between rank 0 and each worker (no collective call after the start,
// so ranks that stop early, e.g. on bad input, cannot hang the others). Every worker sends exactly
// one READY, ends on exactly one STOP, and answers it with BYE:
//   worker → manager  READY   ok, exit code, threads, fingerprint, host, message   (after its checks)
//   manager → worker  WORK    a run id                                               (one at a time)
//   worker → manager  RESULT  the RunResult, and the seconds it waited for this run
//   worker → manager  GONE    signalled (SIGINT/SIGTERM): it takes no more runs; its run goes to another
//   manager → worker  STOP    the exit code
//   worker → manager  BYE
// A rank that dies (kill -9, a lost node) ends the job: Open MPI's mpirun then stops every rank.
// Every result recorded before is in rank 0's journal, and the same command with --resume runs the
// rest (tests/experiment/test_distributed.cpp kills a worker mid-sweep and compares).
// Waiting is polling with short sleeps (at most 2 ms), so an idle manager or worker does not keep a
// core busy the way a blocking MPI receive does (Open MPI's spins).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sim/experiment/executor.hpp"

namespace ts::exp::mpi {

/// What a worker reported when it was ready.
struct WorkerInfo {
  bool reported = false, ok = false;
  int code = 0, threads = 0;
  std::string fingerprint, host, message, note;
  bool gone = false, stopped = false, bye = false;
  std::deque<int64_t> assigned;  ///< the runs it has, in order: the one running and at most one more (manager's view)
};

/// The manager's costs, for the closing note and docs/clusters.md's measurements.
struct ManagerStats {
  int64_t results = 0;
  double busy_seconds = 0;         ///< receiving, recording (journal + file) and handing out the next run
  double worker_wait_seconds = 0;  ///< summed over workers: from sending a result to the next run's arrival
  int64_t waits = 0;               ///< those waits (a worker's first run, after its start, is not one)
  double elapsed_seconds = 0;      ///< of execute()
};

class Session {
 public:
  /// MPI_Init_thread (funneled: only the main thread calls MPI), then, collectively, the cores of
  /// this node: every rank's CPU mask, to give each worker its share.
  Session();
  ~Session();  ///< MPI_Finalize
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool manager() const { return rank_ == 0; }
  int workers() const { return size_ - 1; }
  /// Worker ranks on this node.
  int local_workers() const { return local_workers_; }
  /// This worker's share of the cores it may use: Σ over the CPUs of its mask of 1 / (the worker
  /// ranks whose masks hold that CPU), rounded down, at least 1. With no binding, a node's cores
  /// divided by its worker ranks; bound to k cores of its own, k.
  int fair_threads() const { return fair_threads_; }
  /// A note when this node has more worker ranks than cores ("" otherwise).
  const std::string& placement_note() const { return note_; }

  // ---- worker
  /// Reports this worker's checks: ok, or failed with its exit code and message.
  void ready(bool ok, int code, int threads, const std::string& fingerprint, const std::string& message);
  /// Whether ready() was called.
  bool reported() const { return ready_sent_; }
  /// Runs the runs the manager sends until it says STOP; returns the exit code STOP carries.
  /// `signal` (SIGINT/SIGTERM) stops the current run after its step and sends GONE.
  int serve(const RunPlan& plan, Evaluator& ev, int threads, const std::atomic<bool>& signal);

  // ---- manager
  /// Receives every worker's READY. Returns one line per worker that failed its checks or runs
  /// another experiment, files or build (fingerprint), "" if all are ready; `code` gets the exit
  /// code to end with (2 if any differs).
  std::string gather(const std::string& fingerprint, const std::atomic<bool>& stop, int& code);
  const std::vector<WorkerInfo>& worker_info() const { return workers_; }

  /// Ends the job: a worker sends READY if it has not (with `captured`, its output) and waits for
  /// STOP; the manager sends STOP(code) to every worker and waits for their BYE (at most 10 s
  /// once `stop` is raised). Returns the exit code this rank ends with.
  int conclude(int code, const std::string& captured, const std::atomic<bool>& stop);

 private:
  friend class MpiExecutor;
  int rank_ = 0, size_ = 1, local_workers_ = 0, fair_threads_ = 1;
  std::string note_;
  bool ready_sent_ = false, stop_received_ = false;
  int stop_code_ = 0;
  std::vector<WorkerInfo> workers_;  ///< manager: index = rank (0 unused)
};

/// The manager's executor: hands the ids to the workers of `session` (which gather() found ready)
/// and records their results in the sink.
class MpiExecutor : public Executor {
 public:
  explicit MpiExecutor(Session& session) : s_(session) {}
  void execute(const std::vector<int64_t>& ids, const RunPlan& plan, Evaluator& ev, ResultSink& sink,
               const std::atomic<bool>& stop) override;
  const ManagerStats& stats() const { return stats_; }

 private:
  Session& s_;
  ManagerStats stats_;
};

}  // namespace ts::exp::mpi
