#include "sim/experiment/executor.hpp"

#include <tbb/task_arena.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

namespace ts::exp {

const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return std::string("unknown");
    return std::string(buf);
  }();
  return name;
}

std::optional<RunResult> run_one(const RunSpec& run, Evaluator& ev, tbb::task_arena& arena, int threads,
                                 const std::atomic<bool>& stop) {
  RunResult res;
  res.id = run.id;
  res.host = host_name();
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<std::vector<double>> out;
  try {
    arena.execute([&] { out = ev.evaluate(run, threads, stop); });
    if (!out) return std::nullopt;
    res.status = RunStatus::Done;
    res.outcomes = std::move(*out);
  } catch (const std::exception& e) {
    res.status = RunStatus::Failed;
    res.error = e.what();
  } catch (...) {
    res.status = RunStatus::Failed;
    res.error = "unknown error";
  }
  if (res.outcomes.size() != ev.outcomes()) {
    if (res.status == RunStatus::Done) {
      res.status = RunStatus::Failed;
      res.error = "the evaluator returned " + std::to_string(res.outcomes.size()) + " outcomes, not " +
                  std::to_string(ev.outcomes());
    }
    res.outcomes.assign(ev.outcomes(), std::numeric_limits<double>::quiet_NaN());
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

LocalExecutor::LocalExecutor(int jobs, int threads_per_job)
    : jobs_(jobs < 1 ? 1 : jobs), threads_(threads_per_job < 1 ? 1 : threads_per_job) {}

void LocalExecutor::execute(const std::vector<int64_t>& ids, const RunPlan& plan, Evaluator& ev, ResultSink& sink,
                            const std::atomic<bool>& stop) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> broken{false};  // the sink failed (e.g. a full disk): every job stops
  std::exception_ptr sink_error;
  std::mutex sink_m;
  auto loop = [&] {
    tbb::task_arena arena(threads_);
    for (;;) {
      if (stop.load() || broken.load()) return;
      const std::size_t k = next.fetch_add(1);
      if (k >= ids.size()) return;
      auto res = run_one(plan.run(ids[k]), ev, arena, threads_, stop);
      if (!res) continue;  // stopped midway: the run stays pending
      std::lock_guard lk(sink_m);
      if (broken.load()) return;
      try {
        sink.record(*res);
      } catch (...) {
        sink_error = std::current_exception();
        broken = true;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int j = 1; j < jobs_; ++j) pool.emplace_back(loop);
  loop();
  for (auto& t : pool) t.join();
  if (sink_error) std::rethrow_exception(sink_error);
}

}  // namespace ts::exp
