// The offers phase (MODEL.md §4.4): random search, targeted search, raids.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ================================================================= offers (§4.4)

TEST_CASE("model: random search reaches only those with a positive arrival rate, from firms with vacancies") {
  // Firm Full (target 2, 2 employees) has no vacancies; Open (target 10) has 10. λ0 = 1,
  // λ1 = 0 ⇒ each of the 3 unemployed gets exactly one offer, from Open (weight 0 for Full),
  // at Open's pay base × θ; the 2 employed get none.
  const std::string firms =
      "  - {name: Full, hq: US, headcount: 2}\n"
      "  - {name: Open, hq: US, headcount: 10, pay: {base: 120000}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=5", "market.lambda0=1"});
  for (std::size_t i = 0; i < 5; ++i)
    put(sim, i, {.talent = 1.f + float(i), .employer = i < 2 ? 0 : kNoFirm, .comp = i < 2 ? 150000.f : 0.f});
  up_to_offers(sim);
  CHECK(sim.world().f.vacancies[0] == 0);
  CHECK(sim.world().f.vacancies[1] == 10);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(offers[k].slot == 2 + k);
    CHECK(offers[k].firm == 1);
    CHECK(offers[k].targeted == 0);
    CHECK(offers[k].comp == doctest::Approx(120000.0 * (3.0 + double(k))));
  }
  CHECK(market(sim, model::kOffers) == 3);
}

TEST_CASE("model: random search draws firms in proportion to vacancies") {
  // Two firms with 100 and 300 vacancies (no staff), 20000 unemployed, λ0 = 1: every
  // researcher gets one offer; P(firm B) = 300/400 = 0.75, sd of the share
  // √(0.75·0.25/20000) ≈ 0.00306; tolerance 5 sd (seed 11).
  const std::string firms =
      "  - {name: A, hq: US, headcount: 100}\n"
      "  - {name: B, hq: US, headcount: 300}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=20000", "market.lambda0=1"});
  up_to_offers(sim);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 20000);
  const auto nb = std::count_if(offers.begin(), offers.end(), [](auto& o) { return o.firm == 1; });
  const double share = double(nb) / 20000.0, se = std::sqrt(0.75 * 0.25 / 20000.0);
  CAPTURE(share);
  CHECK(std::abs(share - 0.75) < 5 * se);
}

TEST_CASE("model: random search is local first: local_share of offers come from offices in the researcher's region") {
  // Offices and vacancies: USLab 10 (US), CNLab 30 (CN), Both 20 split US 0.5 / CN 0.5, so 20 of
  // the 60 vacancies are in the US. 20000 unemployed US citizens in the US, λ0 = 1: one offer
  // each (a move to CN needs a visa; every firm sponsors and there is no fee). With local share
  // s, P(a US office) = s + (1 − s)·20/60, and by firm: USLab s/2 + (1 − s)/6, Both s/2 + (1 − s)/3,
  // CNLab (1 − s)/2. Tolerance 5 sd of a binomial share over 20000 (seed 11).
  const std::string regions = "  US: {pay_level: 1}\n  CN: {pay_level: 1}\n";
  const std::string firms =
      "  - {name: USLab, hq: US, headcount: 10}\n"
      "  - {name: CNLab, hq: CN, headcount: 30}\n"
      "  - {name: Both, hq: US, offices: {US: 0.5, CN: 0.5}, headcount: 20}\n";
  for (const double local : {0.0, 0.6, 1.0}) {
    CAPTURE(local);
    auto sim = make(scenario(regions, firms), {"population.researchers=20000", "population.origin_shares={US: 1}",
                                               "market.lambda0=1", "market.local_share=" + std::to_string(local)});
    up_to_offers(sim);
    const auto& offers = sim.pending_offers();
    REQUIRE(offers.size() == 20000);
    const int US = sim.params().region_index("US");
    auto share = [&](auto pred) { return double(std::count_if(offers.begin(), offers.end(), pred)) / 20000.0; };
    auto near = [](double x, double p) { return std::abs(x - p) <= 5 * std::sqrt(p * (1 - p) / 20000.0) + 1e-12; };
    const double in_us = share([&](const model::Offer& o) { return o.region == US; });
    CHECK(near(in_us, local + (1 - local) / 3));
    CHECK(near(share([](const model::Offer& o) { return o.firm == 0; }), local / 2 + (1 - local) / 6));
    CHECK(near(share([](const model::Offer& o) { return o.firm == 2; }), local / 2 + (1 - local) / 3));
    CHECK(near(share([](const model::Offer& o) { return o.firm == 1; }), (1 - local) / 2));
  }
}

TEST_CASE("model: the offer arrival rate for the unemployed is λ0") {
  // λ0 = 0.3, 20000 unemployed, one firm with ample vacancies (unlimited): the share with an
  // offer is 0.3 ± 5·√(0.3·0.7/20000) ≈ 0.3 ± 0.0162 (seed 11).
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: A, hq: US, headcount: 10, hiring: {unlimited: true}}\n"),
                  {"population.researchers=20000", "market.lambda0=0.3"});
  up_to_offers(sim);
  const double share = double(sim.pending_offers().size()) / 20000.0;
  CAPTURE(share);
  CHECK(std::abs(share - 0.3) < 5 * std::sqrt(0.3 * 0.7 / 20000.0));
}

TEST_CASE("model: separation comes before offers within a step (delta = 1)") {
  // δ = 1: the 4 employed lose their jobs in demography and are flagged, so the offers
  // phase skips them even with λ0 = λ1 = 1 (MODEL §8 "separate first, then offers").
  // The 2 who started unemployed get offers and are hired.
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 10}\n"),
                  {"population.researchers=6", "market.lambda0=1", "market.lambda1=1", "market.separation=1"});
  for (std::size_t i = 0; i < 6; ++i) put(sim, i, {.employer = i < 4 ? 0 : kNoFirm, .comp = i < 4 ? 150000.f : 0.f});
  sim.step();
  CHECK(market(sim, model::kSeparations) == 4);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 2);
  CHECK(offers[0].slot == 4);
  CHECK(offers[1].slot == 5);
  const auto& r = sim.world().r;
  for (std::size_t i = 0; i < 4; ++i) CHECK(r.employer[i] == kNoFirm);
  for (std::size_t i = 4; i < 6; ++i) CHECK(r.employer[i] == 0);
  CHECK(market(sim, model::kHires) == 2);
  CHECK(market(sim, model::kEmployed) == 2);
  CHECK(market(sim, model::kUnemployed) == 4);
}

TEST_CASE("model: a raid lands offers on the rival's most talented staff") {
  // Rival staff θ = {1, 5, 3, 4, 2} (slots 0–4); a more talented researcher (θ 10) works at
  // Other, which is not a rival. Raid(Raider, [Rival], offers 2, package 5e6) ⇒ exactly two
  // targeted offers, to slots 1 (θ 5) and 3 (θ 4), at 5e6; both beat staying (pay-only,
  // no counteroffers) and Raider has vacancies ⇒ both move; raid_hires = 2.
  const std::string firms =
      "  - {name: Raider, hq: US, headcount: 10}\n"
      "  - {name: Rival, hq: US, headcount: 5}\n"
      "  - {name: Other, hq: US, headcount: 1}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Raider, rivals: [Rival], offers: 2, package: 5000000}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms, events), {"population.researchers=6"});
  const float th[] = {1, 5, 3, 4, 2};
  for (std::size_t i = 0; i < 5; ++i) put(sim, i, {.talent = th[i], .employer = 1, .comp = 150000.f * th[i]});
  put(sim, 5, {.talent = 10, .employer = 2, .comp = 1500000});
  up_to_offers(sim);
  std::vector<uint32_t> targets;
  for (const auto& o : sim.pending_offers())
    if (o.firm == 0) {
      CHECK(o.targeted == 2);
      CHECK(o.comp == doctest::Approx(5e6));
      targets.push_back(o.slot);
    }
  CHECK(targets == std::vector<uint32_t>{1, 3});
  CHECK(market(sim, model::kTargetedOffers) == 2);
  finish_step(sim);
  const auto& r = sim.world().r;
  CHECK(r.employer[1] == 0);
  CHECK(r.employer[3] == 0);
  CHECK(r.employer[0] == 1);
  CHECK(r.employer[5] == 2);
  CHECK(market(sim, model::kRaidHires) == 2);
  CHECK(sim.poaching().at({1, 0}) == 2);
}

TEST_CASE("model: a raid's target who leaves the field or loses the job before offers gets no offer") {
  // The raid picks its targets at events; demography comes between. Case 1: the target (slot
  // 0, θ 5) retires in demography (age one month short of 65) and an entrant takes the slot in
  // the same step: the entrant must not inherit the raid's offer (it once did: hired at the
  // raid's package). Case 2: separation δ = 1 separates the target in demography ("separate
  // first, then offers"): no offer either. Either way no targeted offer, no raid hire.
  const std::string firms =
      "  - {name: Raider, hq: US, headcount: 10}\n"
      "  - {name: Rival, hq: US, headcount: 5}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Raider, rivals: [Rival], offers: 1, package: 5000000}\n";
  const std::string regions = "  US: {pay_level: 1, entrants_per_month: 1, ai_propensity: 1}\n";
  for (const bool retire : {true, false}) {
    CAPTURE(retire);
    auto sim = make(scenario(regions, firms, events),
                    {"population.researchers=2", retire ? "population.ageing=true" : "market.separation=1"});
    put(sim, 0, {.talent = 5, .employer = 1, .comp = 750000});
    put(sim, 1, {.talent = 1, .employer = 1, .comp = 150000});
    if (retire) sim.edit_world().r.age[0] = int16_t(sim.params().population.retirement_age * 12 - 1);
    up_to_offers(sim);
    const auto& r = sim.world().r;
    if (retire) {
      CHECK(r.uid[0] == 2);  // the entrant holds the retiree's slot
      CHECK(r.alive[0] == 1);
    }
    CHECK(market(sim, model::kTargetedOffers) == 0);
    for (const auto& o : sim.pending_offers()) CHECK(o.targeted != 2);
    finish_step(sim);
    CHECK(market(sim, model::kRaidHires) == 0);
    CHECK(r.employer[0] != 0);
  }
}

// BUG (see report): firm_planning() resets extra_capacity after events() added the raid's
// capacity, so a raiding firm without vacancies loses all its raid hires to clearing.
TEST_CASE("model: raid hires do not need vacancies") {
  // Raider has target 0 ⇒ 0 vacancies; the raid adds capacity for its 2 offers (clearing:
  // "raids add their own capacity") ⇒ both targets move, none rejected by capacity.
  const std::string firms =
      "  - {name: Raider, hq: US, headcount: 0}\n"
      "  - {name: Rival, hq: US, headcount: 5}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Raider, rivals: [Rival], offers: 2, package: 5000000}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms, events), {"population.researchers=3"});
  for (std::size_t i = 0; i < 3; ++i) put(sim, i, {.talent = 1.f + float(i), .employer = 1, .comp = 150000});
  sim.step();
  CHECK(market(sim, model::kRaidHires) == 2);
  CHECK(market(sim, model::kRejectedByCapacity) == 0);
  CHECK(sim.world().r.employer[2] == 0);
  CHECK(sim.world().r.employer[1] == 0);
}
