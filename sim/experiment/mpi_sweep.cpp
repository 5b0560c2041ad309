#include "sim/experiment/mpi_sweep.hpp"

// MPI's C interface only (the C++ bindings are deprecated and need their own library).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <sched.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

namespace ts::exp::mpi {

namespace {

enum Tag : int { kReady = 1, kWork, kResult, kGone, kStop, kBye };

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

/// Sleeps a little longer each time nothing arrived: from 20 µs, doubling, to `most` µs. A
/// message then waits at most `most` µs to be seen, and an idle rank wakes up 1e6 / most times a
/// second. Rank 0 waits up to 2 ms (its workers hold their next run, so they do not wait for it);
/// a worker without a run, up to 0.2 ms.
struct Backoff {
  int most = 2000, idle = 0;
  void reset() { idle = 0; }
  void wait() {
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(most, 20 << std::min(idle, 10))));
    ++idle;
  }
};

/// A message body: numbers as their bytes, texts with their length (every rank runs the same binary
/// on the same kind of machine: the fingerprint includes the build).
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::vector<char> b) : b_(std::move(b)) {}
  template <class T>
  void put(T x) {
    const char* p = reinterpret_cast<const char*>(&x);
    b_.insert(b_.end(), p, p + sizeof x);
  }
  void put(const std::string& s) {
    put(uint64_t(s.size()));
    b_.insert(b_.end(), s.begin(), s.end());
  }
  template <class T>
  T get() {
    T x{};
    if (at_ + sizeof x > b_.size()) throw std::runtime_error("MPI: a message from another rank is cut short");
    std::memcpy(&x, b_.data() + at_, sizeof x);
    at_ += sizeof x;
    return x;
  }
  std::string text() {
    const auto n = get<uint64_t>();
    if (at_ + n > b_.size()) throw std::runtime_error("MPI: a message from another rank is cut short");
    std::string s(b_.data() + at_, n);
    at_ += n;
    return s;
  }
  const std::vector<char>& bytes() const { return b_; }

 private:
  std::vector<char> b_;
  std::size_t at_ = 0;
};

void send(int to, Tag tag, const Buffer& b) {
  MPI_Send(b.bytes().data(), int(b.bytes().size()), MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

struct Message {
  int from = 0, tag = 0;
  Buffer body;
};

/// A waiting message from `from` (MPI_ANY_SOURCE: anyone), received; nullopt if none.
std::optional<Message> poll(int from) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(from, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return std::nullopt;
  int n = 0;
  MPI_Get_count(&st, MPI_BYTE, &n);
  std::vector<char> bytes(std::size_t(std::max(n, 0)));
  MPI_Recv(bytes.data(), n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return Message{st.MPI_SOURCE, st.MPI_TAG, Buffer(std::move(bytes))};
}

void put_result(Buffer& b, const RunResult& r) {
  b.put(r.id);
  b.put(uint8_t(r.status));
  b.put(r.seconds);
  b.put(r.host);
  b.put(r.error);
  b.put(uint64_t(r.outcomes.size()));
  for (double v : r.outcomes) b.put(v);
}

RunResult get_result(Buffer& b) {
  RunResult r;
  r.id = b.get<int64_t>();
  r.status = RunStatus(b.get<uint8_t>());
  r.seconds = b.get<double>();
  r.host = b.text();
  r.error = b.text();
  const auto n = b.get<uint64_t>();
  if (n > (uint64_t(1) << 20)) throw std::runtime_error("MPI: a result with " + std::to_string(n) + " outcomes");
  for (uint64_t i = 0; i < n; ++i) r.outcomes.push_back(b.get<double>());
  return r;
}

}  // namespace

Session::Session() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  // This node's ranks and their CPU masks (the one collective exchange, before anything can fail).
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  int local = 1;
  MPI_Comm_size(node, &local);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) CPU_SET(0, &mine);
  struct Entry {
    cpu_set_t mask;
    int worker;
  } me{mine, rank_ != 0 ? 1 : 0};
  std::vector<Entry> all(static_cast<std::size_t>(local));
  MPI_Allgather(&me, int(sizeof me), MPI_BYTE, all.data(), int(sizeof me), MPI_BYTE, node);
  MPI_Comm_free(&node);
  cpu_set_t used;
  CPU_ZERO(&used);
  for (const auto& e : all)
    if (e.worker) {
      ++local_workers_;
      CPU_OR(&used, &used, &e.mask);
    }
  double share = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &mine)) continue;
    int sharing = 0;
    for (const auto& e : all) sharing += e.worker && CPU_ISSET(c, &e.mask);
    if (sharing > 0) share += 1.0 / sharing;
  }
  fair_threads_ = std::max(1, int(std::floor(share + 1e-9)));
  const int cores = CPU_COUNT(&used);
  if (local_workers_ > cores)
    note_ = std::to_string(local_workers_) + " worker ranks share " + std::to_string(cores) + " core" + (cores == 1 ? "" : "s") +
            " here: they are oversubscribed (one thread each)";
  if (rank_ == 0) workers_.resize(std::size_t(size_));
}

Session::~Session() { MPI_Finalize(); }

// ------------------------------------------------------------------ worker

void Session::ready(bool ok, int code, int threads, const std::string& fingerprint, const std::string& message) {
  Buffer b;
  b.put(int32_t(ok));
  b.put(int32_t(code));
  b.put(int32_t(threads));
  b.put(fingerprint);
  b.put(host_name());
  b.put(message);
  b.put(note_);
  send(0, kReady, b);
  ready_sent_ = true;
}

int Session::serve(const RunPlan& plan, Evaluator& ev, int threads, const std::atomic<bool>& signal) {
  // One thread runs the runs (in a task arena of `threads`); this one talks to rank 0.
  tbb::task_arena arena(threads);
  std::atomic<bool> cancel{false};
  std::mutex run_m;
  std::condition_variable cv;
  std::optional<int64_t> job;             // under run_m: the run to start
  std::optional<RunResult> result;        // under run_m: the last run's result (nullopt: stopped midway)
  bool finished = false, quit = false;    // under run_m
  std::thread runner([&] {
    std::unique_lock lk(run_m);
    for (;;) {
      cv.wait(lk, [&] { return job.has_value() || quit; });
      if (quit) return;
      const int64_t id = *job;
      job.reset();
      lk.unlock();
      auto r = run_one(plan.run(id), ev, arena, threads, cancel);
      lk.lock();
      result = std::move(r);
      finished = true;
      cv.notify_all();
    }
  });
  auto end_runner = [&] {
    {
      std::lock_guard lk(run_m);
      quit = true;
    }
    cv.notify_all();
    runner.join();
  };
  std::deque<int64_t> queued;  // runs handed out, not started (rank 0 sends one ahead)
  bool running = false, gone = false, first = true;
  double waited = 0;
  auto wait_start = clock_type::now();
  Backoff backoff{200};  // waiting for the next run
  auto say_gone = [&] {
    if (gone) return;
    send(0, kGone, Buffer());
    gone = true;
  };
  auto start_next = [&] {
    if (running || queued.empty() || cancel.load()) return;
    waited = first ? std::nan("") : since(wait_start);  // the first wait is the start, not a run's cost
    first = false;
    running = true;
    {
      std::lock_guard lk(run_m);
      job = queued.front();
      finished = false;
    }
    queued.pop_front();
    cv.notify_all();
  };
  try {
    for (;;) {
      if (signal.load()) cancel = true;
      if (running) {  // woken when the run ends, or every 2 ms to look for STOP and signals
        std::unique_lock lk(run_m);
        if (cv.wait_for(lk, std::chrono::milliseconds(2), [&] { return finished; })) {
          std::optional<RunResult> r = std::move(result);
          lk.unlock();
          running = false;
          wait_start = clock_type::now();
          if (r) {
            const double w = waited;
            start_next();  // the next run starts before this result is sent
            Buffer b;
            put_result(b, *r);
            b.put(w);
            send(0, kResult, b);
          } else {
            say_gone();  // stopped midway by a signal: the run stays pending, for another worker or --resume
          }
          backoff.reset();
          continue;
        }
      }
      if (!running && cancel) say_gone();
      if (auto m = poll(0)) {
        backoff.reset();
        if (m->tag == kStop) {
          stop_code_ = m->body.get<int32_t>();
          stop_received_ = true;
          cancel = true;
          end_runner();
          send(0, kBye, Buffer());
          return stop_code_;
        }
        if (m->tag == kWork && !gone) {
          queued.push_back(m->body.get<int64_t>());
          start_next();
        }
        continue;
      }
      if (!running) backoff.wait();
    }
  } catch (...) {  // rank 0 hands this worker's runs to the others
    cancel = true;
    end_runner();
    say_gone();
    throw;
  }
}

// ------------------------------------------------------------------ manager

std::string Session::gather(const std::string& fingerprint, const std::atomic<bool>& stop, int& code) {
  int left = 0;
  for (int r = 1; r < size_; ++r) left += !workers_[std::size_t(r)].reported;
  Backoff backoff;
  while (left > 0 && !stop.load()) {
    auto m = poll(MPI_ANY_SOURCE);
    if (!m) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    WorkerInfo& w = workers_[std::size_t(m->from)];
    if (m->tag == kReady && !w.reported) {
      w.reported = true;
      w.ok = m->body.get<int32_t>() != 0;
      w.code = m->body.get<int32_t>();
      w.threads = m->body.get<int32_t>();
      w.fingerprint = m->body.text();
      w.host = m->body.text();
      w.message = m->body.text();
      w.note = m->body.text();
      --left;
    }
  }
  if (left > 0) {
    code = 130;
    return "interrupted while the worker ranks got ready\n";
  }
  std::string problems;
  code = 0;
  int shown = 0, more = 0;
  for (int r = 1; r < size_; ++r) {
    const WorkerInfo& w = workers_[std::size_t(r)];
    std::string why;
    if (!w.ok) {
      why = w.message.empty() ? "stopped with exit code " + std::to_string(w.code) : w.message;
      code = std::max(code, w.code == 0 ? 2 : w.code);
    } else if (w.fingerprint != fingerprint) {
      why = "runs another experiment, other scenario files or another talentsim build than rank 0 (fingerprints " +
            w.fingerprint + " and " + fingerprint + "): every rank needs the same binary and the same files\n";
      code = std::max(code, 2);
    }
    if (why.empty()) continue;
    if (shown >= 8) {
      ++more;
      continue;
    }
    ++shown;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    problems += "rank " + std::to_string(r) + " (" + w.host + "): " + why + "\n";
  }
  if (more > 0) problems += "… and " + std::to_string(more) + " more ranks\n";
  return problems;
}

void MpiExecutor::execute(const std::vector<int64_t>& ids, const RunPlan&, Evaluator&, ResultSink& sink,
                          const std::atomic<bool>& stop) {
  const auto t0 = clock_type::now();
  std::deque<int64_t> queue(ids.begin(), ids.end());
  auto& ws = s_.workers_;
  int outstanding = 0, alive = 0;
  for (int r = 1; r < s_.size_; ++r) alive += ws[std::size_t(r)].ok && !ws[std::size_t(r)].gone;
  // A worker has its run and, while more runs wait than there are workers, the next one: it starts
  // that one as soon as it sends a result, without waiting for rank 0. Near the end each worker has
  // one run at a time, so the last runs go to whichever worker is free.
  auto hand_out = [&](int r) {
    WorkerInfo& w = ws[std::size_t(r)];
    if (w.gone || !w.ok) return;
    while (!queue.empty() && w.assigned.size() < (queue.size() > std::size_t(alive) ? 2u : 1u)) {
      Buffer b;
      b.put(queue.front());
      send(r, kWork, b);
      w.assigned.push_back(queue.front());
      queue.pop_front();
      ++outstanding;
    }
  };
  for (int r = 1; r < s_.size_; ++r) hand_out(r);
  std::exception_ptr sink_error;
  Backoff backoff;
  while (outstanding > 0 && !stop.load()) {
    auto m = poll(MPI_ANY_SOURCE);
    if (!m) {
      backoff.wait();
      continue;
    }
    const auto busy0 = clock_type::now();
    backoff.reset();
    WorkerInfo& w = ws[std::size_t(m->from)];
    if (m->tag == kResult) {
      RunResult r = get_result(m->body);
      if (const double waited = m->body.get<double>(); !std::isnan(waited)) {
        stats_.worker_wait_seconds += waited;
        ++stats_.waits;
      }
      if (w.assigned.empty() || r.id != w.assigned.front())  // a worker runs its runs in the order given
        throw std::runtime_error("MPI: rank " + std::to_string(m->from) + " sent the result of run " + std::to_string(r.id) +
                                 ", which it was not running");
      w.assigned.pop_front();
      --outstanding;
      try {
        sink.record(r);
      } catch (...) {
        sink_error = std::current_exception();  // e.g. a full disk: no more runs are handed out
        break;
      }
      ++stats_.results;
      hand_out(m->from);
    } else if (m->tag == kGone && !w.gone) {
      w.gone = true;
      --alive;
      outstanding -= int(w.assigned.size());  // its runs go to the next free workers, first in line
      queue.insert(queue.begin(), w.assigned.begin(), w.assigned.end());
      w.assigned.clear();
      if (alive == 0) break;
      for (int r = 1; r < s_.size_ && !queue.empty(); ++r) hand_out(r);
    }
    stats_.busy_seconds += since(busy0);
  }
  stats_.elapsed_seconds += since(t0);
  if (sink_error) std::rethrow_exception(sink_error);
}

// ------------------------------------------------------------------ the end

int Session::conclude(int code, const std::string& captured, const std::atomic<bool>& stop) {
  if (size_ < 2) return code;
  if (!manager()) {
    if (!ready_sent_) ready(false, code, 0, "", captured);
    Backoff backoff;
    while (!stop_received_) {
      if (auto m = poll(0)) {
        if (m->tag == kStop) {
          stop_code_ = m->body.get<int32_t>();
          stop_received_ = true;
          send(0, kBye, Buffer());
        }
        continue;  // a run handed out meanwhile is not started
      }
      backoff.wait();
    }
    return stop_code_;
  }
  Buffer b;
  b.put(int32_t(code));
  for (int r = 1; r < size_; ++r) {
    WorkerInfo& w = workers_[std::size_t(r)];
    if (!w.stopped) send(r, kStop, b);
    w.stopped = true;
  }
  // Every message a worker sent is received before MPI_Finalize: its READY, a last RESULT of an
  // interrupted sweep, GONE, and BYE.
  int left = size_ - 1;
  Backoff backoff;
  std::optional<clock_type::time_point> since_stop;
  while (left > 0) {
    if (stop.load() && !since_stop) since_stop = clock_type::now();
    if (since_stop && since(*since_stop) > 10) break;
    auto m = poll(MPI_ANY_SOURCE);
    if (!m) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    WorkerInfo& w = workers_[std::size_t(m->from)];
    if (m->tag == kReady) w.reported = true;
    if (m->tag == kBye && !w.bye) {
      w.bye = true;
      --left;
    }
  }
  return code;
}

}  // namespace ts::exp::mpi
