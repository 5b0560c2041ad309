// Firm planning (MODEL.md §4.3): compute per researcher after export controls.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ============================================================= firm planning (§4.3)

TEST_CASE("model: an export control lowers compute per researcher, except at an exempt office abroad") {
  // CNLab (CN-controlled, offices CN and US) and USLab: budget 1e6 × 10, compute share 0.5,
  // gpu_cost 25000 ⇒ compute 200 GPUs; 4 staff each ⇒ 50 per researcher. Export control on
  // CN, multiplier 0.5: (CNLab, CN) = 25; (CNLab, US) = 50 if exempt, 25 if not; USLab 50.
  const std::string firms =
      "  - {name: CNLab, hq: CN, offices: {CN: 0.5, US: 0.5}, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n"
      "  - {name: USLab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n";
  for (const bool exempt : {true, false}) {
    CAPTURE(exempt);
    const std::string events = std::string("events:\n  - {type: export_control, at: 0, region: CN, multiplier: 0.5, "
                                           "exempt_offices_abroad: ") + (exempt ? "true" : "false") + "}\n";
    auto sim = make(scenario(kTwoRegions, firms, events), {"population.researchers=8"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 8; ++i)
      put(sim, i, {.origin = CN, .location = i % 2 ? US : CN, .status = i % 2 ? Status::Permanent : Status::Citizen,
                   .employer = int32_t(i / 4), .comp = 150000});
    begin(sim);
    sim.firm_planning();  // before the event
    CHECK(sim.world().f.compute[0] == doctest::Approx(200));
    CHECK(model::compute_per_researcher(sim.state(), 0, CN) == doctest::Approx(50));
    CHECK(model::compute_per_researcher(sim.state(), 0, US) == doctest::Approx(50));
    sim.events();
    sim.firm_planning();
    CHECK(model::compute_per_researcher(sim.state(), 0, CN) == doctest::Approx(25));
    CHECK(model::compute_per_researcher(sim.state(), 0, US) == doctest::Approx(exempt ? 50 : 25));
    CHECK(model::compute_per_researcher(sim.state(), 1, US) == doctest::Approx(50));
    CHECK(model::compute_per_researcher(sim.state(), 1, CN) == doctest::Approx(50));
  }
}

TEST_CASE("model: regions.CN.compute_multiplier acts like an export control from the start") {
  auto sim = make(scenario("  US: {pay_level: 1}\n  CN: {compute_multiplier: 0.25, exempt_offices_abroad: true}\n",
                           "  - {name: CNLab, hq: CN, offices: {CN: 0.5, US: 0.5}, headcount: 1, budget_per_head: 1000000,"
                           " compute_share: 0.5}\n"),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN, .employer = 0, .comp = 150000});
  begin(sim);
  sim.firm_planning();
  // compute = 1e6 · 0.5 / 25000 = 20 GPUs, 1 researcher.
  CHECK(model::compute_per_researcher(sim.state(), 0, CN) == doctest::Approx(5));
  CHECK(model::compute_per_researcher(sim.state(), 0, US) == doctest::Approx(20));
}
