// One background thread that runs submitted jobs in submission order.
//
// Used by the run writer so that HDF5 writes overlap with the next step's computation.
// Jobs run one at a time on the same thread, so a library that is not thread-safe (the
// serial HDF5 build) is safe as long as the submitting thread makes no such call itself
// without first calling drain(). The queue is bounded: submit() waits while `max_pending`
// jobs are waiting, so a slow disk slows the run instead of growing memory.
//
// A job that throws stops the queue: later jobs are discarded, and the error is rethrown
// to the submitting thread by the next submit() or drain().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace ts::io {

class JobQueue {
 public:
  explicit JobQueue(std::size_t max_pending = 2) : max_pending_(max_pending < 1 ? 1 : max_pending) {
    thread_ = std::thread([this] { run(); });
  }
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;
  /// Discards jobs not yet started, waits for the running one, and joins the thread.
  ~JobQueue() { stop(); }

  /// Queues `job`; waits while the queue is full. Rethrows the error of an earlier job.
  void submit(std::function<void()> job) {
    std::unique_lock lk(m_);
    space_.wait(lk, [&] { return q_.size() < max_pending_ || failed_ || stop_; });
    rethrow_locked();
    if (stop_) throw std::logic_error("job submitted to a stopped background writer");
    q_.push_back(std::move(job));
    work_.notify_one();
  }

  /// Waits until every submitted job has run. Rethrows the error of a failed job.
  void drain() {
    std::unique_lock lk(m_);
    idle_.wait(lk, [&] { return (q_.empty() && !busy_) || failed_; });
    rethrow_locked();
  }

  /// Discards waiting jobs and joins the thread (idempotent; never throws).
  void stop() noexcept {
    {
      std::lock_guard lk(m_);
      if (!thread_.joinable()) return;
      stop_ = true;
      q_.clear();
    }
    work_.notify_all();
    space_.notify_all();
    thread_.join();
  }

  /// Seconds the background thread spent running jobs so far.
  double busy_seconds() const {
    std::lock_guard lk(m_);
    return busy_seconds_;
  }

 private:
  void rethrow_locked() {
    if (error_) {
      auto e = error_;
      error_ = nullptr;  // the error itself is reported once; later calls say the queue failed
      std::rethrow_exception(e);
    }
    if (failed_) throw std::runtime_error("background writer stopped after an earlier error");
  }

  void run() {
    std::unique_lock lk(m_);
    for (;;) {
      work_.wait(lk, [&] { return !q_.empty() || stop_; });
      if (stop_) break;
      auto job = std::move(q_.front());
      q_.pop_front();
      busy_ = true;
      space_.notify_one();
      lk.unlock();
      std::exception_ptr err;
      const auto t0 = std::chrono::steady_clock::now();
      try {
        job();
      } catch (...) {
        err = std::current_exception();
      }
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      lk.lock();
      busy_seconds_ += dt;
      busy_ = false;
      if (err) {
        error_ = err;
        failed_ = true;
        q_.clear();
      }
      idle_.notify_all();
      space_.notify_all();
    }
    busy_ = false;
    idle_.notify_all();
  }

  const std::size_t max_pending_;
  mutable std::mutex m_;
  std::condition_variable work_, space_, idle_;
  std::deque<std::function<void()>> q_;
  bool busy_ = false, stop_ = false, failed_ = false;
  std::exception_ptr error_;
  double busy_seconds_ = 0;
  std::thread thread_;
};

}  // namespace ts::io
