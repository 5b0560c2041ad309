#include "sim/experiment/sweep.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include "sim/experiment/journal.hpp"
#include "sim/io/h5.hpp"

namespace ts::exp {

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

std::string hms(double s) {
  char b[32];
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = int64_t(s + 0.5);
  if (t >= 3600)
    std::snprintf(b, sizeof b, "%lldh%02lldm", (long long)(t / 3600), (long long)(t / 60 % 60));
  else if (t >= 60)
    std::snprintf(b, sizeof b, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  else
    std::snprintf(b, sizeof b, "%llds", (long long)t);
  return b;
}

/// Journal first (the record that survives a kill), then the sweep file, then the counts; keeps
/// the values in memory for the statistics at the end (they are in both files already). A
/// flusher thread writes the rows the sweep file holds back at least every half second, and its
/// counts every two seconds, however long the runs take.
class Sink : public ResultSink {
 public:
  Sink(Journal& j, SweepFile& f, std::vector<uint8_t>& status, std::vector<double>& values, std::size_t K, bool progress,
       int64_t total)
      : j_(j), f_(f), status_(status), values_(values), K_(K), progress_(progress), total_(total), t0_(clock_type::now()) {
    for (auto s : status_) {
      done_ += s == uint8_t(RunStatus::Done);
      failed_ += s == uint8_t(RunStatus::Failed);
    }
    at_start_ = done_ + failed_;
    flusher_ = std::thread([this] { flush_loop(); });
  }
  ~Sink() override { stop_flusher(); }
  void record(const RunResult& r) override {
    std::lock_guard lk(m_);
    j_.append(r);
    f_.write(r);
    status_[std::size_t(r.id)] = uint8_t(r.status);
    for (std::size_t o = 0; o < K_; ++o) values_[std::size_t(r.id) * K_ + o] = r.outcomes[o];
    (r.status == RunStatus::Done ? done_ : failed_) += 1;
    if (r.status == RunStatus::Failed) failures.push_back(r);
    show_locked(false);
  }
  /// Stops the flusher (rethrowing its error, if any) and shows the last progress line.
  void finish() {
    stop_flusher();
    {
      std::lock_guard lk(m_);
      show_locked(true);
    }
    if (auto e = std::exchange(flush_error_, nullptr)) std::rethrow_exception(e);
  }
  int64_t done() const { return done_; }
  int64_t failed() const { return failed_; }
  int64_t ran() const { return done_ + failed_ - at_start_; }
  std::vector<RunResult> failures;

 private:
  void flush_loop() {
    std::unique_lock lk(m_);
    auto last_counts = clock_type::now();
    while (!stopping_) {
      wake_.wait_for(lk, std::chrono::milliseconds(500));
      if (stopping_ || flush_error_) break;
      try {
        if (clock_type::now() - last_counts >= std::chrono::seconds(2)) {
          f_.flush(done_, failed_, total_ - done_ - failed_);
          last_counts = clock_type::now();
        } else {
          f_.commit();
        }
      } catch (...) {
        flush_error_ = std::current_exception();
      }
    }
  }
  void stop_flusher() {
    {
      std::lock_guard lk(m_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  }
  void show_locked(bool final) {
    if (!progress_) return;
    const auto now = clock_type::now();
    if (!final && now - last_show_ < std::chrono::milliseconds(200)) return;
    last_show_ = now;
    const double el = std::chrono::duration<double>(now - t0_).count();
    const int64_t ran = done_ + failed_ - at_start_, left = total_ - done_ - failed_;
    const double eta = ran > 0 ? el / double(ran) * double(left) : std::nan("");
    std::fprintf(stderr, "\r  runs %lld/%lld done, %lld failed, %s elapsed, ETA %s   ", (long long)(done_ + failed_),
                 (long long)total_, (long long)failed_, hms(el).c_str(), ran > 0 ? hms(eta).c_str() : "?");
    if (final) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

  Journal& j_;
  SweepFile& f_;
  std::vector<uint8_t>& status_;
  std::vector<double>& values_;
  std::size_t K_;
  bool progress_;
  int64_t total_, done_ = 0, failed_ = 0, at_start_ = 0;
  clock_type::time_point t0_, last_show_{};
  std::mutex m_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::exception_ptr flush_error_;
  std::thread flusher_;
};

std::string status_of(const std::string& path) {
  try {
    auto f = h5::File::open_read(path);
    return f.root().attr_string("status");
  } catch (const std::exception&) {
    return "unreadable";
  }
}

}  // namespace

int64_t run_file_id(const std::string& name) {
  std::size_t i = name.rfind(".run_", 0) == 0 ? 5 : name.rfind("run_", 0) == 0 ? 4 : std::string::npos;
  if (i == std::string::npos || i >= name.size()) return -1;
  int64_t id = 0;
  const std::size_t first = i;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && i - first < 18; ++i) id = id * 10 + (name[i] - '0');
  return i > first && name.compare(i, 3, ".h5") == 0 ? id : -1;
}

void remove_stale_run_files(const std::string& dir, const Shard& shard) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const int64_t id = run_file_id(name);
    if (name.rfind(".run_", 0) == 0 && name.find(".h5.partial-") != std::string::npos && id >= 0 && shard.has(id))
      fs::remove(e.path(), ec);
  }
}

SweepResult run_sweep(const SweepInfo& info, Evaluator& ev, Executor& executor, const SweepOptions& opt,
                      const std::atomic<bool>& stop, std::ostream& err) {
  SweepResult res;
  const auto t0 = clock_type::now();
  const fs::path out(opt.out);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  const std::string partial = (dir / ("." + out.filename().string() + ".partial")).string();
  const std::string journal_path = (dir / ("." + out.filename().string() + ".journal")).string();
  std::error_code ec;
  const std::string me = "talentsim " + opt.command + ": ";
  auto fail = [&](int code, const std::string& msg) {
    err << me << msg << "\n";
    res.exit_code = code;
    return res;
  };
  if (!fs::is_directory(dir, ec)) return fail(2, "output directory '" + dir.string() + "' does not exist");
  if (access(dir.c_str(), W_OK) != 0) return fail(2, "output directory '" + dir.string() + "' is not writable");
  const int64_t N = info.plan.size();
  const Shard& shard = info.shard;
  const int64_t share = shard.share(N);  // the runs of this sweep (of this shard with --shard)
  const std::size_t K = info.spec->outcomes.size();
  // The journal's header names the shard too: a shard's journal is never taken for another's.
  const std::string journal_id =
      info.fingerprint() + (shard.sharded() ? "/shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) : "");
  // Run files of this sweep (of this shard) in the runs folder, which the shards share.
  auto mine = [&](const std::string& name) {
    const int64_t id = run_file_id(name);
    return id >= 0 && id < N && shard.has(id);
  };
  std::vector<uint8_t> status(std::size_t(N), uint8_t(RunStatus::Pending));
  std::vector<double> values(std::size_t(N) * K, std::numeric_limits<double>::quiet_NaN());
  std::vector<RunResult> previous;

  std::optional<Journal> journal;
  try {
    if (opt.resume) {
      if (!fs::exists(journal_path)) {
        if (fs::exists(out) && status_of(opt.out) == "complete")
          return fail(2, "nothing to resume: " + opt.out + " is complete");
        return fail(2, "nothing to resume: no unfinished sweep of " + opt.out + " (its journal " + journal_path +
                           " does not exist)");
      }
      journal.emplace(Journal::reopen(journal_path));
      const Journal::Contents c = Journal::read(journal_path);
      if (c.fingerprint != journal_id || c.runs != N || c.outcomes != int64_t(K))
        return fail(2, "the unfinished sweep of " + opt.out +
                           " was started with another experiment, other scenario files or another talentsim build; "
                           "rerun it with the same ones, or start over with --force");
      // A complete sweep keeps its journal only when runs failed: --retry-failed runs them again.
      if (fs::exists(out) && status_of(opt.out) == "complete" && !opt.retry_failed) {
        int64_t failed = 0;
        for (const auto& r : c.records) failed += r.status == RunStatus::Failed;
        return fail(2, "nothing to resume: " + opt.out + " is complete" +
                           (failed ? " (" + std::to_string(failed) + " run" + (failed == 1 ? "" : "s") +
                                         " failed: add --retry-failed to run them again)"
                                   : std::string()));
      }
      journal->truncate(c.good_bytes);
      if (c.dropped > 0)
        err << me << c.dropped << " damaged journal line" << (c.dropped == 1 ? "" : "s")
            << " left out (a run cut short by a kill); those runs run again\n";
      for (const auto& r : c.records)
        if (!(opt.retry_failed && r.status == RunStatus::Failed)) previous.push_back(r);
      fs::remove(partial, ec);
      fs::remove(opt.out, ec);  // superseded: the journal holds every run it had, and the file is rebuilt
      remove_stale_run_files(info.runs_dir, shard);
    } else {
      const bool exists = fs::exists(out), unfinished = fs::exists(journal_path) || fs::exists(partial);
      if (!opt.force && unfinished)
        return fail(2, exists && status_of(opt.out) == "complete"
                           ? opt.out + " exists, with failed runs (" + journal_path +
                                 "): run them again with --resume --retry-failed, or start over with --force"
                           : "an unfinished sweep of " + opt.out + " exists (" + journal_path +
                                 "): continue it with --resume, or start over with --force");
      if (!opt.force && exists) return fail(2, "output file '" + opt.out + "' already exists (use --force to overwrite it)");
      // A shard looks only at its own run files: the other shards' share the folder.
      bool stale_runs = false;
      if (!info.runs_dir.empty() && fs::is_directory(info.runs_dir))
        for (const auto& e : fs::directory_iterator(info.runs_dir)) {
          const std::string name = e.path().filename().string();
          stale_runs = stale_runs || (shard.sharded() ? mine(name) : true);
        }
      if (stale_runs && !opt.force)
        return fail(2, "the runs directory '" + info.runs_dir + "' is not empty" +
                           (shard.sharded() ? " (it has run files of this shard)" : "") + " (use --force to start over)");
      if (opt.force) {
        for (const std::string& p : {partial, journal_path, opt.out}) fs::remove(p, ec);
        if (!info.runs_dir.empty() && fs::is_directory(info.runs_dir))
          for (const auto& e : fs::directory_iterator(info.runs_dir)) {
            const std::string name = e.path().filename().string();
            if (shard.sharded() ? mine(name) : (name.rfind("run_", 0) == 0 || name.rfind(".run_", 0) == 0))
              fs::remove(e.path(), ec);
          }
      }
      journal.emplace(Journal::create(journal_path, journal_id, N, int64_t(K)));
    }
    if (!info.runs_dir.empty()) fs::create_directories(info.runs_dir);
  } catch (const std::exception& e) {
    return fail(2, e.what());
  }

  std::optional<SweepFile> file;
  std::vector<int64_t> todo;
  try {
    file.emplace(partial, info);
    for (const auto& r : previous) {
      file->write(r);
      status[std::size_t(r.id)] = uint8_t(r.status);
      for (std::size_t o = 0; o < K; ++o) values[std::size_t(r.id) * K + o] = r.outcomes[o];
      if (r.status == RunStatus::Failed) res.failures.push_back(r);
    }
    for (int64_t i = shard.index; i < N; i += shard.count)
      if (status[std::size_t(i)] == uint8_t(RunStatus::Pending)) todo.push_back(i);
  } catch (const std::exception& e) {
    fs::remove(partial, ec);
    return fail(1, std::string("cannot write the sweep file: ") + e.what());
  }
  Sink sink(*journal, *file, status, values, K, opt.progress, share);
  bool broken = false;
  try {
    executor.execute(todo, info.plan, ev, sink, stop);
  } catch (const std::exception& e) {
    err << (opt.progress ? "\n" : "") << me << e.what() << "\n";
    broken = true;
  }
  try {
    sink.finish();  // the flusher stops before anything else touches the file
  } catch (const std::exception& e) {
    err << me << e.what() << "\n";
    broken = true;
  }
  res.done = sink.done();
  res.failed = sink.failed();
  res.pending = share - res.done - res.failed;
  res.ran = sink.ran();
  res.failures.insert(res.failures.end(), sink.failures.begin(), sink.failures.end());
  try {
    file->flush(res.done, res.failed, res.pending);
    if (res.pending > 0 || broken) {
      file->close("interrupted");
      file.reset();
      fs::rename(partial, opt.out);
      res.exit_code = broken ? 1 : 130;
    } else if (shard.sharded()) {  // a shard's share is done: the statistics come with `talentsim merge`
      file->close("complete");
      file.reset();
      fs::rename(partial, opt.out);
      journal.reset();
      if (res.failed == 0) fs::remove(journal_path, ec);
      res.exit_code = res.failed > 0 ? 1 : 0;
    } else {
      res.analysis = analyze(*info.design, info.plan, status, values, K, info.spec->design.bootstrap, info.spec->design.seed);
      file->write_analysis(res.analysis);
      file->close("complete");
      file.reset();
      fs::rename(partial, opt.out);
      journal.reset();
      if (res.failed == 0) fs::remove(journal_path, ec);  // kept with failed runs, for --retry-failed
      res.exit_code = res.failed > 0 ? 1 : 0;
    }
  } catch (const std::exception& e) {
    err << me << "cannot finish the sweep file: " << e.what() << "\n";
    res.exit_code = 1;
  }
  res.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return res;
}

}  // namespace ts::exp
