// The clearing phase (MODEL.md §4.6): capacity, talent order.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ================================================================ clearing (§4.6)

TEST_CASE("model: clearing accepts at most the vacancies, most talented first, ties by uid") {
  // Lab: target 2, no staff ⇒ 2 vacancies. Four unemployed with θ {1, 3, 2, 2} all accept
  // (λ0 = 1). Slots 2 and 3 tie at θ 2; their uids are set to 10 and 5, so uid order
  // differs from slot order. Accepted: slot 1 (θ 3) and slot 3 (θ 2, uid 5); rejected 2.
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 2}\n"),
                  {"population.researchers=4", "market.lambda0=1"});
  const float th[] = {1, 3, 2, 2};
  for (std::size_t i = 0; i < 4; ++i) put(sim, i, {.talent = th[i]});
  sim.edit_world().r.uid[2] = 10;
  sim.edit_world().r.uid[3] = 5;
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == kNoFirm);
  CHECK(r.employer[1] == 0);
  CHECK(r.employer[2] == kNoFirm);
  CHECK(r.employer[3] == 0);
  CHECK(market(sim, model::kRejectedByCapacity) == 2);
  CHECK(market(sim, model::kHires) == 2);
  CHECK(sim.world().f.vacancies[0] == 0);
  CHECK(sim.world().f.headcount[0] == 2);
}
