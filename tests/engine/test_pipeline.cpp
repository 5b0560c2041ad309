// engine::pipeline runs every stage on every item exactly once, the given distance ahead of
// its body, and computes what its plain loop computes.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "sim/engine/pipeline.hpp"

using namespace ts;

namespace {

/// One call as the pipeline made it: which function (0 = body, j = stage j) on which item.
struct Call {
  int fn;
  std::size_t item;
};

std::vector<Call> calls_of(std::size_t b, std::size_t e, bool plain) {
  engine::Mode mode(false, true, plain);
  std::vector<Call> calls;
  engine::pipeline(
      b, e, [&](std::size_t k) { calls.push_back({0, k}); },
      engine::stage(16, [&](std::size_t k) { calls.push_back({1, k}); }),
      engine::stage(8, [&](std::size_t k) { calls.push_back({2, k}); }),
      engine::stage(2, [&](std::size_t k) { calls.push_back({3, k}); }));
  return calls;
}

}  // namespace

TEST_CASE("pipeline: each stage runs once per item, `ahead` bodies before the item's body, after the earlier stages") {
  const std::size_t ahead[] = {0, 16, 8, 2};
  for (const std::size_t b : {std::size_t(0), std::size_t(3)}) {
    for (const std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(16),
                                std::size_t(17), std::size_t(100)}) {
      CAPTURE(b);
      CAPTURE(n);
      const std::size_t e = b + n;
      const auto calls = calls_of(b, e, false);
      REQUIRE(calls.size() == 4 * n);
      // position of each (fn, item) call, and bodies completed before it
      std::vector<std::array<long, 4>> at(e, {-1, -1, -1, -1});
      std::vector<std::array<std::size_t, 4>> bodies_before(e);
      std::size_t bodies = 0;
      for (std::size_t p = 0; p < calls.size(); ++p) {
        const auto& c = calls[p];
        REQUIRE(c.item >= b);
        REQUIRE(c.item < e);
        CHECK(at[c.item][std::size_t(c.fn)] == -1);  // once
        at[c.item][std::size_t(c.fn)] = long(p);
        bodies_before[c.item][std::size_t(c.fn)] = bodies;
        if (c.fn == 0) {
          CHECK(c.item == b + bodies);  // bodies in order
          ++bodies;
        }
      }
      for (std::size_t k = b; k < e; ++k) {
        CAPTURE(k);
        for (int j = 1; j <= 3; ++j) {
          REQUIRE(at[k][std::size_t(j)] >= 0);
          CHECK(at[k][std::size_t(j)] < at[k][0]);                        // before the item's body
          if (j > 1) CHECK(at[k][std::size_t(j)] > at[k][std::size_t(j - 1)]);  // after the earlier stage
          // exactly `ahead` bodies earlier (or at the start, for the first `ahead` items)
          const std::size_t want = k - b >= ahead[j] ? k - b - ahead[j] : 0;
          CHECK(bodies_before[k][std::size_t(j)] == want);
        }
      }
    }
  }
}

TEST_CASE("pipeline: plain mode runs the stages of each item, then its body, item after item") {
  const auto calls = calls_of(4, 9, true);
  std::string seq;
  for (const auto& c : calls) seq += std::to_string(c.fn) + ":" + std::to_string(c.item) + " ";
  CHECK(seq == "1:4 2:4 3:4 0:4 1:5 2:5 3:5 0:5 1:6 2:6 3:6 0:6 1:7 2:7 3:7 0:7 1:8 2:8 3:8 0:8 ");
}

TEST_CASE("pipeline: a computation carried through a ring gives the plain loop's result") {
  // Stage 1 (8 ahead) computes a value into a ring of 16; stage 2 (4 ahead) transforms it;
  // the body accumulates. A ring smaller than the largest distance would corrupt the values.
  std::vector<uint64_t> in(1000);
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = k * 2654435761u % 1000003u;
  auto run = [&](bool plain) {
    engine::Mode mode(false, true, plain);
    using Ring = engine::Ring<16>;
    Ring::of<uint64_t> ring{};
    uint64_t acc = 0;
    engine::pipeline(
        0, in.size(), [&](std::size_t k) { acc = acc * 31 + ring[Ring::at(k)]; },
        engine::stage(8, [&](std::size_t k) { ring[Ring::at(k)] = in[k] * 7 + 1; }),
        engine::stage(4, [&](std::size_t k) { ring[Ring::at(k)] ^= k; }));
    return acc;
  };
  CHECK(run(false) == run(true));
}
