// The production phase (MODEL.md §4.8).
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ================================================================ production (§4.8)

TEST_CASE("model: production Y = scale·A·(sum theta)^alpha·C^beta, split over researchers in proportion to theta") {
  // Lab: A = 2, budget 1e6 × 10, compute share 0.25, gpu_cost 25000 ⇒ C = 100;
  // α = β = 0.5, scale 0.01. Staff θ: 1 (in US, CN origin), 3 (in CN, CN origin),
  // 5 (in US, US origin) ⇒ Σθ = 9, Y = 0.01·2·√9·√100 = 0.6, i.e. 0.6/9 per unit θ.
  // By region: US 6/9·0.6 = 0.4, CN 0.2. By origin: CN 4/9·0.6, US 5/9·0.6.
  const std::string firms =
      "  - {name: Lab, hq: US, offices: {US: 0.5, CN: 0.5}, headcount: 10, budget_per_head: 1000000,"
      " compute_share: 0.25, productivity: 2}\n";
  const std::string prod = "production: {alpha: 0.5, beta: 0.5, scale: 0.01, gpu_cost: 25000}\n";
  auto sim = make(scenario(kTwoRegions, firms, prod), {"population.researchers=4"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::Permanent, .talent = 1, .employer = 0, .comp = 1e5});
  put(sim, 1, {.origin = CN, .location = CN, .talent = 3, .employer = 0, .comp = 1e5});
  put(sim, 2, {.origin = US, .location = US, .talent = 5, .employer = 0, .comp = 1e5});
  put(sim, 3, {.origin = US, .location = US, .talent = 7});  // unemployed: produces nothing
  model::refresh_tiers(sim.edit_state());
  begin(sim);
  sim.firm_planning();
  CHECK(sim.world().f.compute[0] == doctest::Approx(100));
  sim.production();
  const auto& r = sim.world().r;
  const auto& st = sim.stats();
  CHECK(sim.world().f.output[0] == doctest::Approx(0.6));
  CHECK(sim.world().f.sum_theta[0] == doctest::Approx(9));
  CHECK(r.output[0] == doctest::Approx(0.6 / 9));
  CHECK(r.output[1] == doctest::Approx(0.2));
  CHECK(r.output[2] == doctest::Approx(3.0 / 9));
  CHECK(r.output[3] == 0.f);
  CHECK(st.output_region[US] == doctest::Approx(0.4));
  CHECK(st.output_region[CN] == doctest::Approx(0.2));
  CHECK(st.output_origin[CN] == doctest::Approx(0.6 * 4 / 9));
  CHECK(st.output_origin[US] == doctest::Approx(0.6 * 5 / 9));
  CHECK(st.output_region[US] + st.output_region[CN] == doctest::Approx(0.6));
  CHECK(st.output_origin[US] + st.output_origin[CN] == doctest::Approx(0.6));

  SUBCASE("a service restriction on the controlling region lowers A") {
    // penalty 0.25 on US-controlled firms ⇒ A = 2·0.75 ⇒ Y = 0.45.
    sim.edit_world().reg.service_penalty[US] = 0.25;
    begin(sim);
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(0.45));
    CHECK(st.output_region[US] + st.output_region[CN] == doctest::Approx(0.45));
    CHECK(r.output[1] == doctest::Approx(0.2 + 0.15));  // accumulated over the two calls
  }
  SUBCASE("a service restriction on another region does not") {
    sim.edit_world().reg.service_penalty[CN] = 0.25;
    begin(sim);
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(0.6));
  }
}

TEST_CASE("model: export controls reduce the compute that enters production") {
  // CN-controlled Lab, C = 100 before controls, A = 1, α = β = 0.5, scale 0.01, staff θ 2 in
  // CN and θ 2 in US (Σθ = 4). Multiplier 0.25, not exempt ⇒ C = 25 ⇒ Y = 0.01·2·5 = 0.1.
  // Exempt ⇒ the US half keeps 1: C = 100·(0.25·2 + 1·2)/4 = 62.5 ⇒ Y = 0.01·2·√62.5.
  // (Both offices have the same Σθ and headcount, so θ- and headcount-weighting agree.)
  const std::string firms =
      "  - {name: Lab, hq: CN, offices: {US: 0.5, CN: 0.5}, headcount: 10, budget_per_head: 1000000,"
      " compute_share: 0.25}\n";
  const std::string prod = "production: {alpha: 0.5, beta: 0.5, scale: 0.01, gpu_cost: 25000}\n";
  for (const bool exempt : {false, true}) {
    CAPTURE(exempt);
    auto sim = make(scenario(kTwoRegions, firms, prod), {"population.researchers=2"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = CN, .talent = 2, .employer = 0, .comp = 1e5});
    put(sim, 1, {.origin = CN, .location = US, .status = Status::Permanent, .talent = 2, .employer = 0, .comp = 1e5});
    sim.edit_world().reg.compute_multiplier[CN] = 0.25;
    sim.edit_world().reg.exempt_abroad[CN] = exempt;
    begin(sim);
    sim.firm_planning();
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(exempt ? 0.02 * std::sqrt(62.5) : 0.1));
  }
}
