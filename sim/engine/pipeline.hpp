// Loops over lists of scattered agents that hide memory latency: prefetching and software
// pipelines.
//
// A phase that visits a few percent of the researchers (those with an offer, a visa decision,
// a raise) touches one cache line per column per researcher: too sparse for the hardware
// prefetcher, so each visit would wait for memory. These loops let the phase say *what* it
// does to item k (the body) and *what it will read* (stages), and run the stages some items
// ahead, so that the misses of the items ahead overlap the work on the current one:
//
//   engine::pipeline(0, n, body,
//                    engine::stage(16, [&](std::size_t k) { engine::prefetch_slot(list[k], r.uid, r.comp); }),
//                    engine::stage(8,  [&](std::size_t k) { ring[k % 16] = draw(list[k]); }));
//
// Stage j runs on item k exactly once, `ahead_j` iterations before body(k); stages are given
// in order of decreasing distance, so a later stage may read what an earlier one computed for
// the same item (kept in a ring of the caller's, larger than the largest distance that writes
// it). With engine::plain_loops() the same stages and body run as the plain loop: every stage
// of item k, in order, then body(k), item after item. A stage that only prefetches makes no
// difference to the result; a stage that computes gives the same values either way as long as
// it reads nothing a body changes (the caller's contract, checked by the tests that run both).
//
// Everything here is always_inline: GCC deems a function whose body is only prefetches free of
// side effects and deletes calls to it (the offer scan's prefetches were once missing from the
// binary), so prefetches must be issued from inlined code. tests/engine/codegen_check.sh counts
// the prefetch instructions in the built phases so that a regression is noticed.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "sim/engine/modes.hpp"

namespace ts::engine {

/// Prefetches slot i of each column given (for reading).
template <class... Columns>
[[gnu::always_inline]] inline void prefetch_slot(std::size_t i, const Columns&... columns) {
  (__builtin_prefetch(columns.data() + i), ...);
}

/// Prefetches slot i of each column given, for writing.
template <class... Columns>
[[gnu::always_inline]] inline void prefetch_slot_for_write(std::size_t i, Columns&... columns) {
  (__builtin_prefetch(columns.data() + i, 1), ...);
}

/// One stage of a pipeline: fn(k) runs `ahead` items before the body of item k.
template <class Fn>
struct Stage {
  std::size_t ahead;
  Fn fn;
};

template <class Fn>
[[gnu::always_inline]] inline Stage<Fn> stage(std::size_t ahead, Fn fn) {
  return {ahead, std::move(fn)};
}

/// The number of items each of the caller's per-item rings must hold: a power of two above
/// the largest stage distance.
template <std::size_t N>
struct Ring {
  static_assert(N > 0 && (N & (N - 1)) == 0, "a ring's size is a power of two");
  template <class T>
  using of = std::array<T, N>;
  static constexpr std::size_t at(std::size_t k) { return k & (N - 1); }
};

namespace detail {
template <class S>
[[gnu::always_inline]] inline void prologue(std::size_t b, std::size_t e, S& s) {
  for (std::size_t k = b; k < std::min(e, b + s.ahead); ++k) s.fn(k);
}
template <class S>
[[gnu::always_inline]] inline void ahead(std::size_t k, std::size_t e, S& s) {
  if (k + s.ahead < e) s.fn(k + s.ahead);
}
}  // namespace detail

/// Calls body(k) for every k in [b, e), in order, each stage having run on item k `ahead`
/// iterations earlier (see the top of this file). Stages must be given with strictly
/// decreasing `ahead`.
template <class Body, class... Stages>
[[gnu::always_inline]] inline void pipeline(std::size_t b, std::size_t e, Body&& body, Stage<Stages>... stages) {
  if (plain_loops()) {
    for (std::size_t k = b; k < e; ++k) {
      (stages.fn(k), ...);
      body(k);
    }
    return;
  }
  (detail::prologue(b, e, stages), ...);
  for (std::size_t k = b; k < e; ++k) {
    (detail::ahead(k, e, stages), ...);
    body(k);
  }
}

/// The common case: a list of scattered items whose columns are fetched `ahead` items early.
/// fetch(k) must only issue prefetches (prefetch_slot) of item k.
template <class Fetch, class Body>
[[gnu::always_inline]] inline void for_each_prefetched(std::size_t b, std::size_t e, std::size_t ahead, Fetch&& fetch,
                                                       Body&& body) {
  pipeline(b, e, body, stage(ahead, fetch));
}

/// How far ahead the columns of a scattered researcher are fetched in a pass over a list: far
/// enough that a fetch arrives before its item's turn (BENCHMARKS.md has the measurements).
inline constexpr std::size_t kFetchAhead = 16;

}  // namespace ts::engine
