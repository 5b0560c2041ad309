// The pay phase (MODEL.md §4.9): annual raises.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ======================================================================= pay (§4.9)

TEST_CASE("model: annual raises fall exactly on tenure multiples of 12 and stop at max_package") {
  // annual_raise 0.1, max_package 100000. Tenure is counted up in demography, raises in pay.
  //   slot 0: tenure 11 → 12: 50000 → 55000; at tenure 24 (12 steps later): 60500.
  //   slot 1: tenure 10 → 11: no raise; raised one step later at tenure 12.
  //   slot 2: tenure 23 → 24: 95000·1.1 = 104500, capped at 100000.
  //   slot 3: comp 150000 above the cap: not raised, not cut.
  //   slot 4: unemployed: nothing.
  auto sim = make(scenario("  US: {pay_level: 1}\n",
                           "  - {name: Lab, hq: US, headcount: 10, pay: {annual_raise: 0.1, max_package: 100000}}\n"),
                  {"population.researchers=5"});
  put(sim, 0, {.employer = 0, .comp = 50000, .tenure = 11});
  put(sim, 1, {.employer = 0, .comp = 50000, .tenure = 10});
  put(sim, 2, {.employer = 0, .comp = 95000, .tenure = 23});
  put(sim, 3, {.employer = 0, .comp = 150000, .tenure = 11});
  put(sim, 4, {});
  const auto& r = sim.world().r;
  sim.step();
  CHECK(r.tenure[0] == 12);
  CHECK(r.comp[0] == doctest::Approx(55000));
  CHECK(r.comp[1] == doctest::Approx(50000));
  CHECK(r.comp[2] == doctest::Approx(100000));
  CHECK(r.comp[3] == doctest::Approx(150000));
  CHECK(r.comp[4] == 0.f);
  sim.step();  // slot 0 at tenure 13: no raise; slot 1 reaches tenure 12: raised now
  CHECK(r.comp[0] == doctest::Approx(55000));
  CHECK(r.tenure[1] == 12);
  CHECK(r.comp[1] == doctest::Approx(55000));
  for (int t = 0; t < 11; ++t) sim.step();
  CHECK(r.tenure[0] == 24);
  CHECK(r.comp[0] == doctest::Approx(60500));
}
