// Deterministic parallel loops over agents.
//
// Work is cut into fixed-size chunks whose boundaries depend only on the number of
// agents, never on the thread count. Per-chunk partial results are combined in chunk
// order, so sums, histograms and emitted event lists are bit-identical whether one
// thread or sixty-four run the loop (MODEL.md §7).
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/engine/modes.hpp"

namespace ts::engine {

/// Agents per chunk. Large enough to amortise scheduling, small enough to balance.
inline constexpr std::size_t kChunk = 16384;

inline std::size_t chunk_count(std::size_t n) { return (n + kChunk - 1) / kChunk; }

/// Calls fn(chunk, begin, end) for every chunk of [0, n), in parallel.
template <class Fn>
void for_chunks(std::size_t n, Fn&& fn) {
  const std::size_t nc = chunk_count(n);
  auto body = [&](std::size_t c) {
    const std::size_t b = c * kChunk;
    fn(c, b, std::min(n, b + kChunk));
  };
  if (force_serial() || nc <= 1) {
    for (std::size_t c = 0; c < nc; ++c) body(c);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nc, 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      for (std::size_t c = r.begin(); c != r.end(); ++c) body(c);
                    },
                    tbb::simple_partitioner());
}

/// Calls fn(i) for every i in [0, n), in parallel.
template <class Fn>
void for_each(std::size_t n, Fn&& fn) {
  for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) fn(i);
  });
}

/// Calls fn(begin, end) over [0, n) in ranges of at most `grain`, in parallel: for short lists
/// of independent items that each write only their own data (entrants), where kChunk would
/// leave threads idle. The split depends on scheduling, so fn must not emit anything whose
/// order matters.
template <class Fn>
void for_ranges(std::size_t n, std::size_t grain, Fn&& fn) {
  if (force_serial() || n <= grain) {
    if (n > 0) fn(std::size_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, grain),
                    [&](const tbb::blocked_range<std::size_t>& r) { fn(r.begin(), r.end()); });
}

/// Deterministic reduction: each chunk fills its own accumulator (fn(acc, begin, end)),
/// then accumulators are merged in chunk order with merge(into, from).
template <class Acc, class Fn, class Merge>
Acc reduce_chunks(std::size_t n, const Acc& identity, Fn&& fn, Merge&& merge) {
  const std::size_t nc = chunk_count(n);
  std::vector<Acc> parts(nc, identity);
  for_chunks(n, [&](std::size_t c, std::size_t b, std::size_t e) { fn(parts[c], b, e); });
  Acc total = identity;
  for (auto& p : parts) merge(total, p);
  return total;
}

/// Order-independent integer sums over agents: each thread accumulates into its own array
/// of `size` counters (fn(acc, begin, end), one lookup per chunk), then the arrays are added.
/// Integer addition is exact, so the result does not depend on the thread count or scheduling.
template <class Fn>
std::vector<int64_t> count_chunks(std::size_t n, std::size_t size, Fn&& fn) {
  tbb::enumerable_thread_specific<std::vector<int64_t>> ets([size] { return std::vector<int64_t>(size, 0); });
  for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) { fn(ets.local().data(), b, e); });
  std::vector<int64_t> t(size, 0);
  for (auto& v : ets)
    for (std::size_t i = 0; i < size; ++i) t[i] += v[i];
  return t;
}

/// count_chunks with per-thread counters kept between calls: a simulation counts several times
/// a step, and fresh arrays of these sizes (up to 0.5 MiB a thread) come from mmap, so every
/// call would page-fault them in again (at small populations that dominates a step). Each call
/// clears only the arrays of the threads it runs on; the sums are the same integers as
/// count_chunks'. The returned totals are valid until the next count() on the same object, and
/// one object must not count from two threads at once (each Simulation has its own; the
/// writer's yearly cohort count uses count_chunks).
class Counters {
 public:
  template <class Fn>
  const std::vector<int64_t>& count(std::size_t n, std::size_t size, Fn&& fn) {
    const uint64_t g = ++generation_;
    for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) {
      Slot& s = slots_.local();
      if (s.generation != g) {  // this thread's first chunk of this call
        s.generation = g;
        s.counts.assign(size, 0);  // keeps the capacity of earlier calls
      }
      fn(s.counts.data(), b, e);
    });
    // The totals are summed into the first array this call used (no third array to keep).
    Slot* into = nullptr;
    for (Slot& s : slots_) {
      if (s.generation != g) continue;
      if (!into) {
        into = &s;
        continue;
      }
      for (std::size_t i = 0; i < size; ++i) into->counts[i] += s.counts[i];
    }
    if (into) return into->counts;
    empty_.assign(size, 0);  // no chunk (n == 0)
    return empty_;
  }

 private:
  struct Slot {
    std::vector<int64_t> counts;
    uint64_t generation = 0;
  };
  tbb::enumerable_thread_specific<Slot> slots_;
  std::vector<int64_t> empty_;
  uint64_t generation_ = 0;
};

/// Per-chunk output buffers concatenated in chunk order: deterministic event emission.
template <class T>
class ChunkedBuffer {
 public:
  void reset(std::size_t n) {
    parts_.resize(chunk_count(n));
    for (auto& p : parts_) p.clear();
  }
  std::vector<T>& part(std::size_t chunk) { return parts_[chunk]; }
  template <class Fn>
  void for_each_in_order(Fn&& fn) const {
    for (const auto& p : parts_)
      for (const auto& x : p) fn(x);
  }
  std::size_t size() const {
    std::size_t s = 0;
    for (const auto& p : parts_) s += p.size();
    return s;
  }
  void gather(std::vector<T>& out) const {
    out.clear();
    append_to(out);
  }
  /// Appends every part, in chunk order, to `out`.
  void append_to(std::vector<T>& out) const {
    out.reserve(out.size() + size());
    for (const auto& p : parts_) out.insert(out.end(), p.begin(), p.end());
  }

 private:
  std::vector<std::vector<T>> parts_;
};

/// The indices i in [0, n) with pred(i), in increasing order (a parallel scan whose per-chunk
/// lists are concatenated in chunk order).
template <class Pred>
std::vector<uint32_t> indices_where(std::size_t n, Pred&& pred) {
  ChunkedBuffer<uint32_t> parts;
  parts.reset(n);
  for_chunks(n, [&](std::size_t c, std::size_t b, std::size_t e) {
    auto& out = parts.part(c);
    for (std::size_t i = b; i < e; ++i)
      if (pred(i)) out.push_back(uint32_t(i));
  });
  std::vector<uint32_t> out;
  parts.gather(out);
  return out;
}

}  // namespace ts::engine
