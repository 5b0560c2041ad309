// engine::Arrivals: candidates by geometric gaps, thinned to each slot's own probabilities,
// give every event its probability; a probability above the bound is refused.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sim/engine/arrivals.hpp"

using namespace ts;

TEST_CASE("arrivals: thinning gives each event its own probability per slot (seed 5, 4 standard errors)") {
  // Slots alternate between two kinds with events (0.02, 0.05) and (0.01, 0.0) under a bound of
  // 0.1; over 400 chunks of 16,384 slots each count is binomial, so |count − n·p| < 4·√(n·p(1−p)).
  const engine::Arrivals arrivals(0.1);
  const std::size_t chunk = 16384, chunks = 400;
  std::vector<int64_t> count(4, 0);
  for (std::size_t c = 0; c < chunks; ++c) {
    rng::Stream s(5, 0, c, rng::Purpose::Test);
    arrivals.for_each(s, 0, chunk, [&](std::size_t i, double u) {
      REQUIRE(u >= 0.0);
      REQUIRE(u < 0.1);
      const bool a = i % 2 == 0;
      const int k = a ? arrivals.which(u, {0.02, 0.07}) : arrivals.which(u, {0.01, 0.01});
      if (k >= 0) ++count[std::size_t((a ? 0 : 2) + k)];
    });
  }
  const double n = double(chunk * chunks / 2);
  const double p[] = {0.02, 0.05, 0.01, 0.0};
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    const double sd = std::sqrt(n * p[k] * (1 - p[k]));
    CHECK(std::abs(double(count[std::size_t(k)]) - n * p[k]) <= 4 * sd + 1e-9);
  }
}

TEST_CASE("arrivals: the candidates of a chunk depend only on its stream") {
  const engine::Arrivals arrivals(0.03);
  auto list = [&](uint64_t key) {
    std::vector<std::size_t> out;
    rng::Stream s(9, 3, key, rng::Purpose::Test);
    arrivals.for_each(s, 100, 20000, [&](std::size_t i, double) { out.push_back(i); });
    return out;
  };
  CHECK(list(1) == list(1));
  CHECK(list(1) != list(2));
  const auto l = list(1);
  REQUIRE(!l.empty());
  CHECK(l.front() >= 100);
  CHECK(l.back() < 20000);
}

TEST_CASE("arrivals: bounds 0 and 1 give no candidate and every slot") {
  rng::Stream s(1, 0, 0, rng::Purpose::Test);
  std::size_t n = 0;
  engine::Arrivals(0.0).for_each(s, 0, 1000, [&](std::size_t, double) { ++n; });
  CHECK(n == 0);
  std::vector<std::size_t> all;
  engine::Arrivals(1.0).for_each(s, 10, 20, [&](std::size_t i, double) { all.push_back(i); });
  CHECK(all == std::vector<std::size_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
}

TEST_CASE("arrivals: a slot whose probabilities exceed the bound is refused, not drawn too rarely") {
  const engine::Arrivals arrivals(0.05);
  CHECK(arrivals.which(0.01, {0.02, 0.05}) == 0);
  CHECK(arrivals.which(0.03, {0.02, 0.05}) == 1);
  CHECK(arrivals.which(0.049, {0.02, 0.04}) == -1);
  CHECK_THROWS_AS((void)arrivals.which(0.01, {0.02, 0.06}), std::logic_error);
  CHECK_THROWS_AS((void)arrivals.which(0.01, {0.2}), std::logic_error);
}

TEST_CASE("arrivals: the batched walk gives the plain loop's candidates and draws, at every bound and range") {
  // for_each draws the gaps and u's of 16 candidates ahead; for_each_plain one at a time.
  // Both must visit the same slots with the same u, bit for bit, including ranges that end
  // inside a batch, empty and one-slot ranges, and the bounds 0 and 1.
  for (const double q : {0.0, 1e-4, 0.003, 0.05, 0.2, 0.5, 0.97, 1.0}) {
    const engine::Arrivals arrivals(q);
    for (const auto& [b, e] : std::vector<std::pair<std::size_t, std::size_t>>{
             {0, 16384}, {100, 20000}, {7, 8}, {5, 5}, {0, 33}, {3, 200000}}) {
      CAPTURE(q);
      CAPTURE(b);
      CAPTURE(e);
      std::vector<std::pair<std::size_t, double>> batched, plain;
      rng::Stream s1(11, 2, b * 7 + e, rng::Purpose::Test), s2 = s1;
      arrivals.for_each(s1, b, e, [&](std::size_t i, double u) { batched.emplace_back(i, u); });
      arrivals.for_each_plain(s2, b, e, [&](std::size_t i, double u) { plain.emplace_back(i, u); });
      CHECK(batched == plain);
      if (q > 0.01 && e - b > 1000) CHECK(batched.size() > 10);  // the comparison compared something
    }
  }
}
