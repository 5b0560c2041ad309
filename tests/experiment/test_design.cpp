// Designs (sim/experiment/design.cpp): sizes, structure and the mapping to the user's units.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "sim/experiment/design.hpp"
#include "sim/experiment/sobol.hpp"
#include "sim/experiment/spec.hpp"

using namespace ts::exp;

namespace {

ExperimentSpec spec_of(const std::string& params_and_design) {
  ts::cfg::Diagnostics d;
  auto s = parse_experiment_text("base: x.yaml\noutcomes: {o: {metric: stock}}\n" + params_and_design, "test.yaml", {}, d);
  INFO(d.format());
  REQUIRE(s);
  return *s;
}

Design design_of(const std::string& text) {
  const auto s = spec_of(text);
  return make_design(s.parameters, s.design);
}

}  // namespace

TEST_CASE("design grid: every combination once, the first parameter slowest, levels exact") {
  const Design d = design_of(R"Y(parameters:
  a: {values: [1, 2, 3]}
  b: {range: [1e6, 1e8], scale: log, levels: 3}
  c: {values: [none, match]}
)Y");
  CHECK(d.kind == DesignKind::Grid);
  REQUIRE(d.points() == 3 * 3 * 2);
  std::set<std::vector<std::string>> seen;
  for (std::size_t i = 0; i < d.points(); ++i) seen.insert({d.t(i, 0), d.t(i, 1), d.t(i, 2)});
  CHECK(seen.size() == 18);
  CHECK(d.t(0, 0) == "1");
  CHECK(d.t(5, 0) == "1");
  CHECK(d.t(6, 0) == "2");  // a changes every 3 * 2 points
  CHECK(d.t(0, 2) == "none");
  CHECK(d.t(1, 2) == "match");  // the last parameter fastest
  // log levels: the ends exactly, the middle the geometric mean
  CHECK(d.v(0, 1) == 1e6);
  CHECK(d.v(4, 1) == 1e8);
  CHECK(d.v(2, 1) == doctest::Approx(1e7).epsilon(1e-12));
  CHECK(d.v(1, 2) == 1);  // a text value's number is its index
  const Design none = design_of("");
  CHECK(none.points() == 1);
  CHECK(none.k == 0);
}

TEST_CASE("design list: the i-th point takes the i-th value of every parameter") {
  const Design d = design_of(R"Y(design: {kind: list}
parameters:
  a: {values: [10, 20, 30]}
  b: {values: [x, y, z]}
)Y");
  REQUIRE(d.points() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(d.v(i, 0) == 10.0 * double(i + 1));
    CHECK(d.t(i, 1) == std::string(1, char('x' + i)));
  }
}

TEST_CASE("design lhs: each parameter has exactly one point in each of the n strata") {
  const Design d = design_of(R"Y(design: {kind: lhs, n: 50, seed: 11}
parameters:
  a: {range: [0, 1]}
  b: {range: [-5, 5]}
  c: {dist: normal, mean: 0, sd: 1}
)Y");
  REQUIRE(d.points() == 50);
  for (std::size_t j = 0; j < 3; ++j) {
    std::vector<int> count(50, 0);
    for (std::size_t i = 0; i < 50; ++i) {
      const double u = d.u(i, j);
      REQUIRE(u >= 0.0);
      REQUIRE(u < 1.0);
      ++count[std::size_t(u * 50)];
    }
    CHECK(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  }
  for (std::size_t i = 0; i < 50; ++i) CHECK(d.v(i, 1) == doctest::Approx(-5 + 10 * d.u(i, 1)));
  // deterministic in the seed; another seed, other points
  const Design again = design_of("design: {kind: lhs, n: 50, seed: 11}\nparameters: {a: {range: [0, 1]}, b: {range: [-5, 5]}, c: {dist: normal, mean: 0, sd: 1}}\n");
  CHECK(again.unit == d.unit);
  const Design other = design_of("design: {kind: lhs, n: 50, seed: 12}\nparameters: {a: {range: [0, 1]}, b: {range: [-5, 5]}, c: {dist: normal, mean: 0, sd: 1}}\n");
  CHECK(other.unit != d.unit);
}

TEST_CASE("design random: n points in the unit cube, fixed by the seed") {
  const Design d = design_of("design: {kind: random, n: 200, seed: 5}\nparameters: {a: {range: [2, 3]}, b: {range: [2, 3]}}\n");
  REQUIRE(d.points() == 200);
  double mean = 0;
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(d.v(i, j) >= 2.0);
      CHECK(d.v(i, j) <= 3.0);
      mean += d.u(i, j) / 400;
    }
  // 400 uniforms: mean 0.5, sd 1/sqrt(12 * 400) = 0.0144; 5 sd = 0.072 (seed 5)
  CHECK(std::fabs(mean - 0.5) < 0.072);
  CHECK(design_of("design: {kind: random, n: 200, seed: 5}\nparameters: {a: {range: [2, 3]}, b: {range: [2, 3]}}\n").unit == d.unit);
}

TEST_CASE("Sobol sequence: the first points, and each block of 2^m points stratifies every coordinate") {
  const Sobol s(2);
  const double want[8][2] = {{0, 0}, {0.5, 0.5}, {0.75, 0.25}, {0.25, 0.75}, {0.375, 0.375}, {0.875, 0.875}, {0.625, 0.125}, {0.125, 0.625}};
  for (int i = 0; i < 8; ++i) {
    const auto p = s.point(uint64_t(i));
    CHECK(p[0] == want[i][0]);
    CHECK(p[1] == want[i][1]);
  }
  // Points [2^m, 2^(m+1)) of every one of the 100 coordinates: each interval [q/2^m, (q+1)/2^m) once.
  const Sobol all(kSobolMaxDims);
  for (int m : {4, 8}) {
    const uint64_t n = uint64_t(1) << m;
    for (int j = 0; j < kSobolMaxDims; ++j) {
      std::vector<int> seen(n, 0);
      for (uint64_t i = n; i < 2 * n; ++i) ++seen[all.bits(i, j) >> (32 - m)];
      INFO("dimension " << j + 1 << ", m = " << m);
      CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
    }
  }
  CHECK_THROWS(Sobol(kSobolMaxDims + 1));
}

TEST_CASE("design sobol: n points from the default skip (the smallest power of two >= n)") {
  const Design d = design_of("design: {kind: sobol, n: 16}\nparameters: {a: {range: [0, 1]}, b: {range: [0, 1]}}\n");
  CHECK(d.skip == 16);
  const Sobol s(2);
  for (std::size_t i = 0; i < 16; ++i) {
    const auto p = s.point(16 + i);
    CHECK(d.u(i, 0) == p[0]);
    CHECK(d.u(i, 1) == p[1]);
  }
  CHECK(default_skip(1) == 1);
  CHECK(default_skip(100) == 128);
}

TEST_CASE("design saltelli: N blocks of A, A_B^1..A_B^k, B from the 2k-dimensional Sobol sequence") {
  const Design d = design_of(R"Y(design: {kind: saltelli, n: 8}
parameters:
  a: {range: [0, 1]}
  b: {range: [0, 1]}
  c: {range: [-3.14159, 3.14159]}
)Y");
  const std::size_t k = 3, N = 8;
  REQUIRE(d.points() == N * (k + 2));
  CHECK(d.base_samples == 8);
  const Sobol s(6);
  for (std::size_t j = 0; j < N; ++j) {
    const auto p = s.point(d.skip + j);
    const std::size_t base = j * (k + 2);
    for (std::size_t c = 0; c < k; ++c) {
      CHECK(d.u(base, c) == p[c]);              // A
      CHECK(d.u(base + k + 1, c) == p[k + c]);  // B
      for (std::size_t i = 0; i < k; ++i) CHECK(d.u(base + 1 + i, c) == (c == i ? p[k + c] : p[c]));  // A_B^i
    }
  }
}

TEST_CASE("design morris: trajectories move each parameter once by ±Δ on the p-level grid") {
  const Design d = design_of(R"Y(design: {kind: morris, trajectories: 20, levels: 4, seed: 3}
parameters:
  a: {range: [0, 1]}
  b: {range: [10, 20]}
  c: {values: [x, y, z]}
  e: {range: [1, 100], scale: log}
)Y");
  const std::size_t k = 4, r = 20;
  REQUIRE(d.points() == r * (k + 1));
  CHECK(d.delta == doctest::Approx(2.0 / 3.0));
  for (std::size_t t = 0; t < r; ++t) {
    std::set<int> moved;
    for (std::size_t m = 0; m < k; ++m) {
      const std::size_t a = t * (k + 1) + m;
      int changed = 0;
      for (std::size_t j = 0; j < k; ++j) {
        const double du = d.u(a + 1, j) - d.u(a, j);
        for (std::size_t q : {a, a + 1}) {
          const double level = d.u(q, j) * 3;
          CHECK(level == doctest::Approx(std::round(level)));  // on the grid {0, 1/3, 2/3, 1}
        }
        if (du != 0) {
          ++changed;
          CHECK(std::fabs(du) == doctest::Approx(d.delta));
          CHECK(int(j) == d.moved[t * k + m]);
        }
      }
      CHECK(changed == 1);
      moved.insert(d.moved[t * k + m]);
    }
    CHECK(moved.size() == k);
  }
}

TEST_CASE("parameters map unit coordinates to their values in the user's units") {
  const auto s = spec_of(R"Y(design: {kind: random, n: 1}
parameters:
  lin: {range: [2, 6]}
  lg: {range: [1, 100], scale: log}
  int: {range: [1, 4], integer: true}
  nrm: {dist: normal, mean: 10, sd: 2}
  lnm: {dist: lognormal, median: 5, sigma: 0.5}
  tri: {dist: triangular, min: 0, mode: 1, max: 4}
  val: {values: [a, b, c, d]}
)Y");
  const auto& p = s.parameters;
  CHECK(p[0].value_at(0.25) == doctest::Approx(3));
  CHECK(p[1].value_at(0.5) == doctest::Approx(10));
  // integer range: each of 1, 2, 3, 4 on a quarter of [0, 1)
  CHECK(p[2].value_at(0.0) == 1);
  CHECK(p[2].value_at(0.249) == 1);
  CHECK(p[2].value_at(0.26) == 2);
  CHECK(p[2].value_at(0.99) == 4);
  CHECK(p[2].text_of(3) == "3");
  CHECK(p[3].value_at(0.5) == doctest::Approx(10));
  CHECK(p[3].value_at(0.8413447460685429) == doctest::Approx(12).epsilon(1e-9));  // Φ(1)
  CHECK(p[4].value_at(0.5) == doctest::Approx(5));
  CHECK(p[5].value_at(0.25) == doctest::Approx(1));  // F(mode) = (mode - min) / (max - min)
  CHECK(p[5].value_at(1.0) == doctest::Approx(4));
  CHECK(p[6].value_at(0.6) == 2);
  CHECK(p[6].text_of(2) == "c");
  CHECK(p[0].text_of(0.1) == "0.1");
}
