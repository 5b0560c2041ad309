// The run plan (sim/experiment/plan.cpp): run numbering, and seeds that pair runs.
#include <doctest/doctest.h>

#include <set>

#include "sim/experiment/plan.hpp"

using namespace ts::exp;

TEST_CASE("plan: run ids count variants fastest, then points, then replications, and run(id) inverts id()") {
  const RunPlan plan(4, 3, 2, 99, SeedMode::Common);
  CHECK(plan.size() == 24);
  int64_t id = 0;
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t p = 0; p < 4; ++p)
      for (int64_t v = 0; v < 2; ++v, ++id) {
        CHECK(plan.id(p, r, v) == id);
        const RunSpec s = plan.run(id);
        CHECK(s.id == id);
        CHECK(s.point == p);
        CHECK(s.replication == r);
        CHECK(s.variant == v);
      }
  CHECK_THROWS(plan.run(24));
  CHECK_THROWS(plan.run(-1));
}

TEST_CASE("seeds: common random numbers: replication k has one seed at every point and in every variant") {
  const RunPlan plan(5, 4, 3, 2024, SeedMode::Common);
  std::set<uint64_t> seeds;
  for (int64_t r = 0; r < 4; ++r) {
    const uint64_t s = plan.run(plan.id(0, r, 0)).seed;
    seeds.insert(s);
    CHECK(s < (uint64_t(1) << 53));
    for (int64_t p = 0; p < 5; ++p)
      for (int64_t v = 0; v < 3; ++v) CHECK(plan.run(plan.id(p, r, v)).seed == s);
    CHECK(RunPlan::replication_seed(2024, r, 17, SeedMode::Common) == s);  // the point does not matter
  }
  CHECK(seeds.size() == 4);  // replications differ
  // another experiment seed, other seeds
  CHECK(RunPlan(5, 4, 3, 2025, SeedMode::Common).run(0).seed != plan.run(0).seed);
  // the seed depends on the experiment seed and k only: a larger plan has the same seeds
  const RunPlan bigger(50, 8, 1, 2024, SeedMode::Common);
  for (int64_t r = 0; r < 4; ++r) CHECK(bigger.run(bigger.id(7, r, 0)).seed == plan.run(plan.id(0, r, 0)).seed);
}

TEST_CASE("seeds: independent: every point has its own seeds; the variants of a point still share them") {
  const RunPlan plan(6, 3, 2, 2024, SeedMode::Independent);
  std::set<uint64_t> seeds;
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t p = 0; p < 6; ++p) {
      const uint64_t s = plan.run(plan.id(p, r, 0)).seed;
      CHECK(plan.run(plan.id(p, r, 1)).seed == s);
      seeds.insert(s);
    }
  CHECK(seeds.size() == 18);  // all (point, replication) pairs differ
  const RunPlan common(6, 3, 2, 2024, SeedMode::Common);
  CHECK(common.run(0).seed != plan.run(0).seed);
}
