// The spin-up (MODEL.md §4, "The start state"; run.spin_up): months simulated before step 0
// and not recorded, at the start month's policies. Each assertion follows from that rule, on
// hand-sized worlds (tests/model/phases/mechanisms.hpp) or the small test scenario.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

namespace {

// 50 researchers who age and leave only at the retirement age (150: the start's ages reach it,
// so some retire), no exits or entrants, one lab.
const std::string kWorld = scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 20}\n");
const std::vector<std::string> kAgeing = {"population.researchers=50", "population.ageing=true",
                                          "population.retirement_age=150", "population.employment_rate=0.4"};

std::vector<std::string> with(std::vector<std::string> sets, const std::string& more) {
  sets.push_back(more);
  return sets;
}

}  // namespace

TEST_CASE("spin-up: the run starts at step 0 with everyone older by the spin-up's months") {
  // The same seed builds the same start population; the spin-up then ages it 24 months.
  Simulation none(test::params_from(kWorld, kAgeing));
  Simulation spun(test::params_from(kWorld, with(kAgeing, "run.spin_up=24")));
  CHECK(none.t() == 0);
  CHECK(spun.t() == 0);
  const auto &a = none.world().r, &b = spun.world().r;
  REQUIRE(a.size() == 50);
  REQUIRE(b.size() == a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(b.uid[i] == a.uid[i]);
    if (a.age[i] + 24 < 150 * 12)
      CHECK(b.age[i] == a.age[i] + 24);
    else
      CHECK(b.alive[i] == 0);  // reached the retirement age in the spin-up
  }
  // Nothing the run counts carries over from the spin-up: the poaching table starts empty.
  CHECK(spun.poaching().empty());
}

TEST_CASE("spin-up: no timeline event happens in it; an event at the start month happens once, at step 0") {
  // A budget shock that empties the lab's budget at the start month (step 0).
  const std::string events = "events:\n  - {type: budget_shock, at: 2025-07, firm: Lab, factor: 0}\n";
  const std::string yaml = scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 20, budget_per_head: 500000}\n", events);
  Simulation spun(test::params_from(yaml, with(kAgeing, "run.spin_up=12")));
  no_invariant_checks(spun);
  const double budget = spun.world().f.budget[0];
  CHECK(budget == doctest::Approx(20 * 500000.0));  // the spin-up's 12 months passed step 0's event by
  spun.step();                                      // step 0: the event
  CHECK(spun.world().f.budget[0] == 0.0);
}

TEST_CASE("spin-up: budget trends start at step 0, not in the spin-up") {
  const std::string yaml =
      scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 20, budget_per_head: 500000, budget_growth: 0.1}\n");
  Simulation spun(test::params_from(yaml, with(kAgeing, "run.spin_up=36")));
  CHECK(spun.world().f.budget[0] == doctest::Approx(20 * 500000.0));
  spun.step();  // step 0: no growth yet (growth from step 1)
  spun.step();  // step 1: one month of 10% a year
  CHECK(spun.world().f.budget[0] == doctest::Approx(20 * 500000.0 * std::pow(1.1, 1.0 / 12.0)));
}

TEST_CASE("spin-up: in its first half the wage budget pays the planned headcount at the firm's pay; then it is held") {
  // Pay rises by 50% on every work anniversary. Months −48 … −25 track the plan (the budget
  // follows the pay up), months −24 … −1 hold the budget (the pay goes on rising).
  const std::string yaml = scenario(
      "  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 20, pay: {base: 100000, annual_raise: 0.5, max_package: 1e12}}\n");
  const auto sets = with(kAgeing, "market.lambda0=0.5");
  Simulation start(test::params_from(yaml, sets));
  Simulation spun(test::params_from(yaml, with(sets, "run.spin_up=48")));
  const auto &F0 = start.world().f, &F = spun.world().f;
  REQUIRE(F.headcount[0] > 0);
  // Two years of tracking: everyone employed then had one or two raises of 50%, so the budget
  // grew by well over 20% from the start's (20 at the start's pay).
  CHECK(F.wage_budget[0] > 1.2 * F0.wage_budget[0]);
  // Held since: the raises of the last two years are not in it, so it pays fewer than 20 now.
  const double pay_now = F.wage_bill[0] / double(F.headcount[0]);
  CHECK(F.wage_budget[0] < 20.0 * pay_now / 1.2);
}

TEST_CASE("spin-up: its months credit no output and log nothing, and leave the state as a logged run's") {
  // Production on, every event logged, people moving (offers, separations): after 12 months of
  // spin-up nobody has output and the step's log is empty; the state is the same as with no
  // log (logging draws nothing); step 0 then credits output and logs.
  const std::vector<std::string> sets = with(with(with(kAgeing, "run.spin_up=12"), "production.scale=0.001"),
                                             "market.separation=0.05");
  Simulation logged(test::params_from(kWorld, with(sets, "output.event_log=all")));
  Simulation quiet(test::params_from(kWorld, with(sets, "output.event_log=none")));
  const auto &a = logged.world().r, &b = quiet.world().r;
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a.output[i] == 0.f);
    CHECK(a.hc_output[i] == 0.f);
    CHECK(a.employer[i] == b.employer[i]);
    CHECK(a.comp[i] == b.comp[i]);
    CHECK(a.age[i] == b.age[i]);
  }
  CHECK(logged.state().stats.log.empty());
  no_invariant_checks(logged);
  logged.step();  // step 0: recorded
  double credited = 0;
  for (std::size_t i = 0; i < a.size(); ++i) credited += a.output[i];
  CHECK(credited > 0);
  CHECK(credited == doctest::Approx(logged.world().f.output[0]).epsilon(1e-4));
}
