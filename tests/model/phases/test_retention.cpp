// The retention phase (MODEL.md §4.5): no counteroffer, match, Bertrand.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ============================================================== retention (§4.5)

namespace {
std::string bertrand_firms(double inc_max_package, double poach_max_package) {
  // Incumbent: standard pay 100000·θ, Bertrand, max_raise 10 (so its maximum is its max_package).
  // Poacher: offer 200000·θ, premium 0, max_raise 10 (its maximum is its max_package).
  return "  - {name: Inc, hq: US, headcount: 1, pay: {base: 100000, max_package: " + std::to_string(inc_max_package) +
         "}, retention: {rule: bertrand, max_raise: 10}}\n"
         "  - {name: Poach, hq: US, headcount: 5, pay: {base: 200000, premium: 0, max_package: " +
         std::to_string(poach_max_package) + "}, retention: {rule: none, max_raise: 10}}\n";
}
}  // namespace

TEST_CASE("model: Bertrand - the incumbent that values the researcher more keeps them and pays the poacher's maximum") {
  // θ = 1, comp 100000 at Inc. Inc's maximum: min(100000·11, 1e6) = 1e6. Poacher's offer
  // 200000, its maximum min(200000·11, 400000) = 400000. Pay-only utility: U = ln(pay).
  // Inc values more (1e6 > 400000) ⇒ stays, paid the loser's maximum 400000; the losing
  // poacher raised the stayer's pay (counteroffer_raises 1, ref_offer = 400000).
  auto sim = make(scenario("  US: {pay_level: 1}\n", bertrand_firms(1e6, 4e5)),
                  {"population.researchers=1", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  const uint64_t uid = sim.world().r.uid[0];
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 0);
  CHECK(r.comp[0] == doctest::Approx(400000).epsilon(1e-6));
  CHECK(r.ref_offer[0] == doctest::Approx(400000).epsilon(1e-6));
  CHECK(market(sim, model::kCounterRaises) == 1);
  CHECK(market(sim, model::kJobToJob) == 0);
  const auto raise = logged(sim, LogKind::CounterRaise, uid);
  REQUIRE(raise.size() == 1);
  CHECK(raise[0].pay_before == doctest::Approx(100000));
  CHECK(raise[0].pay_after == doctest::Approx(400000).epsilon(1e-6));
}

TEST_CASE("model: Bertrand - the poacher that values the researcher more wins and pays the incumbent's maximum") {
  // Inc's maximum: min(100000·11, 300000) = 300000; poacher's: min(200000·11, 1e6) = 1e6.
  // Poacher values more ⇒ moves, paid the incumbent's maximum 300000 (> the 200000 offer).
  auto sim = make(scenario("  US: {pay_level: 1}\n", bertrand_firms(3e5, 1e6)),
                  {"population.researchers=1", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 1);
  CHECK(r.comp[0] == doctest::Approx(300000).epsilon(1e-6));
  CHECK(market(sim, model::kJobToJob) == 1);
  CHECK(market(sim, model::kCounterRaises) == 0);
  CHECK(sim.poaching().at({0, 1}) == 1);
}

TEST_CASE("model: match - an offer up to the maximum is matched, one above it takes the researcher away") {
  // Inc: standard pay 100000·θ, match, max_raise 1 ⇒ maximum 200000·θ. Poacher offers
  // 150000 to everyone (elasticity 0). Slot 0: θ 1, comp 100000, max 200000 ≥ 150000 ⇒
  // stays, raised to exactly the offer (150000). Slot 1: θ 0.5, comp 50000, max 100000 <
  // 150000 ⇒ leaves, paid the offer 150000.
  const std::string firms =
      "  - {name: Inc, hq: US, headcount: 2, pay: {base: 100000, max_package: 10000000},"
      " retention: {rule: match, max_raise: 1}}\n"
      "  - {name: Poach, hq: US, headcount: 5, pay: {base: 150000, elasticity: 0, max_package: 10000000}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=2", "market.lambda1=1"});
  put(sim, 0, {.talent = 1.f, .employer = 0, .comp = 100000});
  put(sim, 1, {.talent = 0.5f, .employer = 0, .comp = 50000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 0);
  CHECK(r.comp[0] == doctest::Approx(150000).epsilon(1e-6));
  CHECK(r.ref_offer[0] == doctest::Approx(150000));
  CHECK(r.employer[1] == 1);
  CHECK(r.comp[1] == doctest::Approx(150000));
  CHECK(market(sim, model::kCounterRaises) == 1);
  CHECK(market(sim, model::kJobToJob) == 1);
}

TEST_CASE("model: without counteroffers a better offer moves the researcher at the offer's pay, a worse one is declined") {
  // Retention none (Burdett–Mortensen): slot 0 earns 100000 < 150000 offer ⇒ moves at
  // 150000; slot 1 earns 200000 > 150000 ⇒ stays at 200000, no raise.
  const std::string firms =
      "  - {name: Inc, hq: US, headcount: 2}\n"
      "  - {name: Poach, hq: US, headcount: 5, pay: {base: 150000, elasticity: 0}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=2", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  put(sim, 1, {.employer = 0, .comp = 200000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 1);
  CHECK(r.comp[0] == doctest::Approx(150000));
  CHECK(r.employer[1] == 0);
  CHECK(r.comp[1] == doctest::Approx(200000));
  CHECK(market(sim, model::kCounterRaises) == 0);
}
