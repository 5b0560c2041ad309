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

TEST_CASE("model: the headcount plan is the wage budget over the expected pay, and follows the budget's trend") {
  // Lab plans 10 researchers at base 100k: its wage budget is what they cost, 10·100k = 1e6 a
  // year (no staff at the start: the expected pay is its offer to θ = 1, 100k). Five staff at
  // 200k then make the expected pay 200k: the plan is 1e6 / 200k = 5, no vacancies. With a
  // budget trend of 20% a year, the budget and the wage budget grow by 1.2^(1/12) each month
  // from step 1: at step 12 by 1.2, and the plan is 1.2e6 / 200k = 6 (one vacancy). Compute
  // is the budget's compute share: 10·1e6·0.5 / 25000 = 200 GPU-equivalents, × 1.2 at step 12.
  const std::string firms =
      "  - {name: Lab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5, budget_growth: 0.2,"
      " pay: {base: 100000, annual_raise: 0}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=5"});
  const auto& F = sim.world().f;
  CHECK(F.wage_budget[0] == doctest::Approx(1e6));
  for (std::size_t i = 0; i < 5; ++i) put(sim, i, {.employer = 0, .comp = 200000});
  begin(sim);
  sim.events();
  sim.demography();
  sim.firm_planning();
  CHECK(F.target[0] == doctest::Approx(5));
  CHECK(F.vacancies[0] == 0);
  CHECK(F.compute[0] == doctest::Approx(200));
  finish_step(sim);
  for (int t = 1; t <= 12; ++t) {
    begin(sim);
    sim.events();
    sim.demography();
    sim.firm_planning();
    if (t < 12) finish_step(sim);
  }
  CHECK(F.budget[0] == doctest::Approx(1.2e7));
  CHECK(F.wage_budget[0] == doctest::Approx(1.2e6));
  CHECK(F.target[0] == doctest::Approx(6));
  CHECK(F.vacancies[0] == 1);
  CHECK(F.compute[0] == doctest::Approx(240));
}
