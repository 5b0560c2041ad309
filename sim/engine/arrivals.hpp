// Rare per-agent events drawn without a random number per agent (Bernoulli thinning).
//
// A monthly event that befalls a few percent of the agents (an exit, a separation, a random
// job offer) would cost a random number per agent if drawn agent by agent. Instead, each fixed
// chunk of slots draws its *candidates* as a Bernoulli process with a common bound q on every
// slot's probability, by geometric gaps (the gap to the next candidate is
// floor(ln U / ln(1 − q))), and each candidate draws u ~ U(0, q). The caller then thins: a
// slot whose events have probabilities p_1, p_2, … (summing to at most q) has event k when u
// falls into the k-th of the intervals [0, p_1), [p_1, p_1 + p_2), …, so
//   P(slot has event k) = q · p_k / q = p_k
// exactly, as with one uniform per slot, at a cost of O(q·N) random numbers instead of O(N).
// The draws come from one stream per (seed, step, chunk, purpose): chunks are fixed slot
// ranges (engine::kChunk), so the result does not depend on the thread count, and candidates
// sit at fixed slot positions, so two scenarios run with one seed share them (common random
// numbers).
//
// The bound is part of the correctness: a slot whose probabilities sum above q would have its
// events drawn too rarely, silently. Arrivals::which() checks it and throws.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "sim/engine/rng.hpp"

namespace ts::engine {

class Arrivals {
 public:
  /// Candidates drawn ahead at a time by for_each.
  static constexpr std::size_t kBatch = 16;

  /// Candidates with probability q (clamped to [0, 1]) at every slot.
  explicit Arrivals(double q) : q_(std::clamp(q, 0.0, 1.0)), log_skip_(q_ < 1.0 ? std::log1p(-q_) : 0.0) {}

  double bound() const { return q_; }

  /// Calls fn(i, u) for every candidate slot i in [b, e), in increasing order, with its
  /// u ~ U(0, q). Draws from `s` only, in the order gap, u, gap, u, … (two words each); `s`
  /// belongs to the walk: it is left past words the walk drew ahead and did not use, so it must
  /// not be drawn from afterwards.
  ///
  /// Speed technique, *drawn ahead in batches*: the gaps and u's of kBatch candidates are
  /// drawn first (a loop of Philox blocks and logs with no data-dependent branch), then walked.
  /// Drawn one candidate at a time, every mispredicted branch of the caller's fn (alive?
  /// employed?) also threw away the next candidate's log in flight. The candidates and u's are
  /// exactly those of for_each_plain (the same words in the same order; the test compares).
  template <class Fn>
  void for_each(rng::Stream& s, std::size_t b, std::size_t e, Fn&& fn) const {
    if (q_ <= 0.0 || b >= e) return;
    if (q_ >= 1.0) {  // every slot is a candidate: no gaps
      for (std::size_t i = b; i < e; ++i) fn(i, rng::uniform01(s) * q_);
      return;
    }
    double gap[kBatch], u[kBatch];
    for (std::size_t i = b;;) {
      for (std::size_t k = 0; k < kBatch; ++k) {
        gap[k] = std::floor(std::log(rng::uniform_open01(s)) / log_skip_);
        u[k] = rng::uniform01(s) * q_;
      }
      for (std::size_t k = 0; k < kBatch; ++k) {
        if (gap[k] >= double(e - i)) return;
        i += std::size_t(gap[k]);
        fn(i, u[k]);
        ++i;
      }
    }
  }

  /// The plain loop for_each is tested against: one candidate at a time, drawing no word
  /// beyond the last gap.
  template <class Fn>
  void for_each_plain(rng::Stream& s, std::size_t b, std::size_t e, Fn&& fn) const {
    for (std::size_t i = next_at_or_after(s, b, e); i < e; i = next_at_or_after(s, i + 1, e))
      fn(i, rng::uniform01(s) * q_);  // drawn for every candidate, whether the caller uses it or not
  }

  /// The event of a candidate with draw u whose events end at the cumulative probabilities
  /// `ends` (p_1, p_1 + p_2, …; non-decreasing): the first k with u < ends[k], or -1 for none.
  /// Throws std::logic_error if the last end exceeds the bound (beyond rounding): the
  /// candidates were drawn too rarely for this slot.
  int which(double u, std::initializer_list<double> ends) const {
    if (ends.size() > 0 && *(ends.end() - 1) > q_ * (1.0 + 1e-12) + 1e-300)
      throw std::logic_error("engine::Arrivals: a slot's event probabilities sum to " +
                             std::to_string(*(ends.end() - 1)) + ", above the candidates' bound " +
                             std::to_string(q_));
    int k = 0;
    for (const double end : ends) {
      if (u < end) return k;
      ++k;
    }
    return -1;
  }

 private:
  std::size_t next_at_or_after(rng::Stream& s, std::size_t i, std::size_t e) const {
    if (q_ <= 0.0) return e;
    if (q_ >= 1.0) return i;
    const double g = std::floor(std::log(rng::uniform_open01(s)) / log_skip_);
    return g >= double(e - i) ? e : i + std::size_t(g);
  }

  double q_, log_skip_;
};

}  // namespace ts::engine
