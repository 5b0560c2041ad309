// The events phase (MODEL.md §4.1): set events, office changes, shocks.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ==================================================================== events (§4.1)

// BUG (see report): a `set` event reloads every region's compute_multiplier,
// exempt_offices_abroad and service_penalty from the parameters, silently undoing earlier
// export_control and service_restriction events even when it changes an unrelated key.
TEST_CASE("model: a set event does not undo an earlier export control or service restriction") {
  const std::string events =
      "events:\n"
      "  - {type: export_control, at: 0, region: CN, multiplier: 0.5, exempt_offices_abroad: false}\n"
      "  - {type: service_restriction, at: 0, region: CN, penalty: 0.2}\n"
      "  - {type: set, at: 1, key: market.lambda0, value: \"0.1\"}\n";
  auto sim = make(scenario(kTwoRegions, "  - {name: CNLab, hq: CN, headcount: 1}\n", events), {"population.researchers=1"});
  const int CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN});
  sim.step();
  REQUIRE(sim.world().reg.compute_multiplier[CN] == doctest::Approx(0.5));
  sim.step();  // the set event: only market.lambda0 changes
  CHECK(sim.params().market.lambda0 == doctest::Approx(0.1));
  CHECK(sim.world().reg.compute_multiplier[CN] == doctest::Approx(0.5));
  CHECK(sim.world().reg.exempt_abroad[CN] == 0);
  CHECK(sim.world().reg.service_penalty[CN] == doctest::Approx(0.2));
}

TEST_CASE("model: a set event changes a parameter from its step on") {
  // market.lambda0 0 → 1 at step 2: the unemployed get no offers in steps 0 and 1 and
  // all get one in step 2.
  const std::string events = "events:\n  - {type: set, at: 2, key: market.lambda0, value: \"1\"}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 1, hiring: {unlimited: true}}\n",
                           events),
                  {"population.researchers=3"});
  for (std::size_t i = 0; i < 3; ++i) put(sim, i, {});
  for (int t = 0; t < 2; ++t) {
    sim.step();
    CHECK(sim.params().market.lambda0 == 0.0);
    CHECK(sim.pending_offers().empty());
  }
  sim.step();
  CHECK(sim.params().market.lambda0 == 1.0);
  CHECK(sim.pending_offers().size() == 3);
  CHECK(market(sim, model::kHires) == 3);
}

TEST_CASE("model: office_close makes the office's staff lose their jobs") {
  // Lab has offices US and CN; closing CN at step 0 separates the 2 CN staff, keeps the
  // 2 US staff, and the closed office no longer receives random-search hires (office_open 0).
  const std::string events = "events:\n  - {type: office_close, at: 0, firm: Lab, region: CN}\n";
  auto sim = make(scenario(kTwoRegions, "  - {name: Lab, hq: US, offices: {US: 0.5, CN: 0.5}, headcount: 4}\n", events),
                  {"population.researchers=4"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (std::size_t i = 0; i < 4; ++i) {
    const int loc = i < 2 ? CN : US;
    put(sim, i, {.origin = loc, .location = loc, .employer = 0, .comp = 1e5});
  }
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == kNoFirm);
  CHECK(r.employer[1] == kNoFirm);
  CHECK(r.employer[2] == 0);
  CHECK(r.employer[3] == 0);
  CHECK(count_kind(sim, LogKind::Separation) == 2);
  const auto& F = sim.world().f;
  for (uint32_t o = F.office_begin[0]; o < F.office_begin[1]; ++o)
    CHECK(F.office_open[o] == (F.office_region[o] == CN ? 0 : 1));
  CHECK(F.headcount[0] == 2);
}

TEST_CASE("model: budget_shock scales budget and target, compute_shock scales compute, service_restriction sets the penalty") {
  // Lab: budget 1e6 × 10 = 1e7, target 10, compute 1e7·0.5/25000 = 200.
  // budget_shock ×1.5 at step 0 ⇒ budget 1.5e7, target 15, compute 300;
  // compute_shock ×0.5 at step 1 ⇒ compute 150; service_restriction 0.3 on US at step 1.
  const std::string events =
      "events:\n"
      "  - {type: budget_shock, at: 0, firm: Lab, factor: 1.5}\n"
      "  - {type: compute_shock, at: 1, firm: Lab, factor: 0.5}\n"
      "  - {type: service_restriction, at: 1, region: US, penalty: 0.3}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n",
                           "  - {name: Lab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n", events),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US");
  put(sim, 0, {});
  const auto& F = sim.world().f;
  CHECK(F.budget[0] == doctest::Approx(1e7));
  sim.step();
  CHECK(F.budget[0] == doctest::Approx(1.5e7));
  CHECK(F.target[0] == doctest::Approx(15));
  CHECK(F.compute[0] == doctest::Approx(300));
  CHECK(F.vacancies[0] == 15);
  CHECK(sim.world().reg.service_penalty[US] == 0.0);
  sim.step();
  CHECK(F.compute[0] == doctest::Approx(150));
  CHECK(sim.world().reg.service_penalty[US] == doctest::Approx(0.3));
}

TEST_CASE("model: a set event keeps budgets (a shock, a trend) unless it changes budget_per_head, which scales them") {
  // Lab: budget 1e6 × 10 = 1e7. Step 0: budget_shock ×1.5 ⇒ 1.5e7. Step 1: a set of another key
  // (regression: every set recomputed budget_per_head × plan, undoing the shock) ⇒ still 1.5e7.
  // Step 2: budget_per_head 1e6 → 2e6 ⇒ budget and wage budget × 2.
  const std::string events =
      "events:\n"
      "  - {type: budget_shock, at: 0, firm: Lab, factor: 1.5}\n"
      "  - {type: set, at: 1, key: regions.US.petition_fee, value: \"1234\"}\n"
      "  - {type: set, at: 2, key: firms.Lab.budget_per_head, value: \"2000000\"}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n",
                           "  - {name: Lab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n", events),
                  {"population.researchers=1"});
  // One employee paid 300,000, twice the base pay the wage budget was set at: the plan (wage
  // budget / expected pay) is then 5 × 1.5, not the budget's 10 × 1.5 heads.
  put(sim, 0, {.employer = 0, .comp = 300000.f});
  const auto& F = sim.world().f;
  sim.step();
  CHECK(F.budget[0] == doctest::Approx(1.5e7));
  const double wage_budget = F.wage_budget[0];
  sim.step();
  CHECK(sim.params().regions[0].petition_fee == 1234.0);
  CHECK(F.budget[0] == doctest::Approx(1.5e7));
  CHECK(F.wage_budget[0] == doctest::Approx(wage_budget));
  sim.step();
  CHECK(F.budget[0] == doctest::Approx(3e7));
  CHECK(F.wage_budget[0] == doctest::Approx(2 * wage_budget));
}

TEST_CASE("model: several set events in the same step are all applied (regression: dangling event list)") {
  auto p = test::params_from(R"(
run: {steps: 4}
regions: {A: {}, B: {}}
population: {researchers: 200, origin_shares: {A: 1.0}, ageing: false, exit_rate: 0}
firms: [{name: f, hq: A, headcount: 100}]
events:
  - {type: set, at: 1, key: market.lambda0, value: "0.5"}
  - {type: set, at: 1, key: market.lambda1, value: "0.25"}
  - {type: set, at: 1, key: regions.B.petition_fee, value: "1234"}
  - {type: set, at: 1, key: firms.f.visa.max_fee, value: "99"}
)");
  model::Simulation sim(p);
  sim.set_checking(true);
  for (int t = 0; t < 4; ++t) sim.step();
  CHECK(sim.params().market.lambda0 == 0.5);
  CHECK(sim.params().market.lambda1 == 0.25);
  CHECK(sim.params().regions[1].petition_fee == 1234.0);
  CHECK(sim.world().f.max_fee[0] == 99.0);
  CHECK(sim.params().events.size() == 4);
}
