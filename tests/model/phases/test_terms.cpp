// The terms of the market: the utility of an option (MODEL.md §3) and the pay schedule (§2).
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ============================================================== decision rule (§3)

TEST_CASE("model: utility is a ln pay + c ln(1 + compute) + g prestige + h home - v visa_risk - m move") {
  // Weights a = 2, g = 0.5, v = 3, wait_cost 0.01, m = 0.2, noise 0; the researcher's own
  // c_i = 0.4, h_i = 0.7 are set by hand. US rule for CN: approval 0.8, processing 5 ⇒
  // visa_risk = (1 − 0.8) + 0.01·5 = 0.25 for a CN citizen in CN moving to the US.
  // Lab (prestige 2): compute 1e6·10·0.5/25000 = 200 GPUs over 4 staff = 50 per researcher.
  const std::string regions =
      "  US: {visa: {approval: 0.8, processing_months: 5}}\n"
      "  CN: {pay_level: 1}\n";
  const std::string firms =
      "  - {name: Lab, hq: US, offices: {US: 1, CN: 1}, headcount: 10, budget_per_head: 1000000, compute_share: 0.5,"
      " prestige: 2}\n";
  auto sim = make(scenario(regions, firms),
                  {"population.researchers=5", "market.utility.pay=2", "market.utility.prestige=0.5",
                   "market.utility.visa_risk=3", "market.utility.wait_cost=0.01", "market.utility.move_cost=0.2"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (std::size_t i = 1; i < 5; ++i) put(sim, i, {.origin = US, .location = US, .employer = 0, .comp = 1e5});
  put(sim, 0, {.origin = CN, .location = CN});
  sim.edit_world().r.compute_taste[0] = 0.4f;
  sim.edit_world().r.home_bias[0] = 0.7f;
  begin(sim);
  sim.firm_planning();
  REQUIRE(model::compute_per_researcher(sim.state(), 0, US) == doctest::Approx(50));
  CHECK(model::visa_risk(sim.state(), 0, US) == doctest::Approx(0.25));
  CHECK(model::visa_risk(sim.state(), 0, CN) == 0.0);
  const double c = double(0.4f), h = double(0.7f);
  // Move to the US office: no home bias, visa risk and move cost apply.
  CHECK(model::utility(sim.state(), nullptr, 0, 0, US, 200000, true, 1) ==
        doctest::Approx(2 * std::log(200000.0) + c * std::log1p(50.0) + 0.5 * 2 - 3 * 0.25 - 0.2));
  // Move to the CN office: home bias, no visa risk.
  CHECK(model::utility(sim.state(), nullptr, 0, 0, CN, 200000, true, 1) ==
        doctest::Approx(2 * std::log(200000.0) + c * std::log1p(50.0) + 0.5 * 2 + h - 0.2));
  // Staying unemployed at home: pay term and home bias only.
  CHECK(model::utility(sim.state(), nullptr, 0, kNoFirm, CN, 30000, false, 0) == doctest::Approx(2 * std::log(30000.0) + h));
}

TEST_CASE("model: visa_risk counts the cap lottery, except for the tiers the destination exempts by talent") {
  // US rule for CN: approval 0.8, processing 0, capped, lottery selection 0.3 (the estimate at
  // the start) ⇒ risk 1 − 0.8·0.3 = 0.76; a researcher of an exempt tier ⇒ 1 − 0.8 = 0.2.
  // Researcher 0 regular (θ 1), 1 top (θ 50), 2 elite (θ 1000): top_share 0.4, elite_share 0.2 of 5.
  for (const std::string exempt : {"none", "top", "elite"}) {
    CAPTURE(exempt);
    const std::string regions = "  US: {lottery_selection: 0.3, cap_exempt_talent: " + exempt +
                                ", visa: {approval: 0.8, processing_months: 0, capped: true}}\n"
                                "  CN: {pay_level: 1}\n";
    auto sim = make(scenario(regions, "  - {name: Lab, hq: US, headcount: 10}\n"),
                    {"population.researchers=5", "market.top_share=0.4", "market.elite_share=0.2"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    const float talent[] = {1.f, 50.f, 1000.f, 0.5f, 0.6f};
    for (std::size_t i = 0; i < 5; ++i) put(sim, i, {.origin = CN, .location = CN, .talent = talent[i]});
    begin(sim);
    sim.events();
    sim.demography();  // the tiers of this step
    REQUIRE(sim.world().r.tier[0] == model::Regular);
    REQUIRE(sim.world().r.tier[1] == model::Top);
    REQUIRE(sim.world().r.tier[2] == model::Elite);
    const double capped = 1 - 0.8 * 0.3, uncapped = 1 - 0.8;
    CHECK(model::visa_risk(sim.state(), 0, US) == doctest::Approx(capped));
    CHECK(model::visa_risk(sim.state(), 1, US) == doctest::Approx(exempt == "top" ? uncapped : capped));
    CHECK(model::visa_risk(sim.state(), 2, US) == doctest::Approx(exempt == "none" ? capped : uncapped));
    CHECK(model::visa_risk(sim.state(), 2, CN) == 0.0);
  }
}

TEST_CASE("model: the pay schedule is base · regional pay level · θ^elasticity, for every elasticity") {
  // MODEL.md's standard pay w = base · level_region · θ^e, evaluated for offers and counteroffers.
  // Elasticities 0 and 1 (the textbook reductions and the leading labs) take a shortcut past
  // pow; the values must still be exactly base · level · pow(θ, e), as for any other e.
  const std::string regions = "  US: {pay_level: 1.0}\n  EU: {pay_level: 0.8}\n";
  const std::string firms =
      "  - {name: Flat, hq: US, headcount: 1, pay: {base: 120000, elasticity: 0.0}}\n"
      "  - {name: Linear, hq: US, headcount: 1, pay: {base: 300000, elasticity: 1.0}}\n"
      "  - {name: Concave, hq: US, headcount: 1, pay: {base: 250000, elasticity: 0.85}}\n"
      "  - {name: Steep, hq: US, headcount: 1, pay: {base: 90000, elasticity: 2.5}}\n";
  auto sim = make(scenario(regions, firms));
  const auto& F = sim.world().f;
  for (const char* name : {"Flat", "Linear", "Concave", "Steep"})
    for (const char* region : {"US", "EU"})
      for (const float theta : {0.013f, 0.37f, 1.0f, 1.7f, 2.5f, 13.7f, 420.0f}) {
        CAPTURE(name);
        CAPTURE(region);
        CAPTURE(theta);
        const int f = sim.firm_index(name), g = sim.params().region_index(region);
        const double expected =
            F.base_pay[f] * sim.params().regions[std::size_t(g)].pay_level * std::pow(double(theta), F.elasticity[f]);
        CHECK(model::standard_pay(sim.state(), f, g, theta) == expected);  // exact: same value, not merely close
      }
}

// ============================================================== valuation pay (§4.4, §4.5)

TEST_CASE("model: valuation pay bids a share of the researcher's value to the firm, floored by base pay, capped by the maximum package") {
  // Lab's output Y = scale·A·(Σθ)^α·C^β with A = 2, α = 0.5, β = 0, scale = 1/12; its staff are
  // four researchers of θ = 1 in the US, so Σθ = 4 and Y = (1/12)·2·2 = 1/3 paper a month. With
  // output_value P = 3e6 a paper, a unit of talent is worth 12·P·α·Y/Σθ = 12·3e6·0.5·(1/3)/4 =
  // 1.5e6 a year to Lab, before the region's pay level (US 1, CN 0.4). Lab offers a share 0.6 of
  // the value: 0.6·1.5e6·θ·level, never below base·level = 200k·level, never above 5e6.
  const std::string regions = "  US: {pay_level: 1}\n  CN: {pay_level: 0.4}\n";
  const std::string firms =
      "  - {name: Lab, hq: US, offices: {US: 1, CN: 1}, headcount: 10, productivity: 2,"
      " pay: {rule: valuation, valuation_share: 0.6, base: 200000, max_package: 5000000}}\n";
  auto sim = make(scenario(regions, firms), {"population.researchers=6", "production.alpha=0.5", "production.beta=0",
                                             "production.scale=0.0833333333333333333", "production.output_value=3e6"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (std::size_t i = 0; i < 4; ++i) put(sim, i, {.origin = US, .location = US, .employer = 0, .comp = 3e5});
  put(sim, 4, {.origin = US, .location = US});
  put(sim, 5, {.origin = CN, .location = CN});
  begin(sim);
  sim.events();
  sim.demography();
  sim.firm_planning();
  const auto& s = sim.state();
  REQUIRE(s.world.f.value_per_theta[0] == doctest::Approx(1.5e6));
  CHECK(model::offer_comp(s, 0, US, 1.0f, false) == doctest::Approx(0.6 * 1.5e6));
  CHECK(model::offer_comp(s, 0, US, 2.0f, true) == doctest::Approx(0.6 * 1.5e6 * 2));  // no premium under valuation
  CHECK(model::offer_comp(s, 0, CN, 1.0f, false) == doctest::Approx(0.6 * 1.5e6 * 0.4));
  CHECK(model::offer_comp(s, 0, US, 0.1f, false) == doctest::Approx(200000));   // the floor: base × level
  CHECK(model::offer_comp(s, 0, CN, 0.1f, false) == doctest::Approx(80000));
  CHECK(model::offer_comp(s, 0, US, 10.0f, false) == doctest::Approx(5e6));     // the cap binds for the most valued
  // The counteroffer ceiling is the whole value, capped alike.
  CHECK(model::max_comp(s, 0, US, 1.0f) == doctest::Approx(1.5e6));
  CHECK(model::max_comp(s, 0, CN, 2.0f) == doctest::Approx(1.5e6 * 0.4 * 2));
  CHECK(model::max_comp(s, 0, US, 4.0f) == doctest::Approx(5e6));
  // Raising the cap raises exactly the offers and ceilings it bound.
  sim.edit_world().f.max_package[0] = 1e8;
  CHECK(model::offer_comp(sim.state(), 0, US, 10.0f, false) == doctest::Approx(0.6 * 1.5e6 * 10));
  CHECK(model::max_comp(sim.state(), 0, US, 4.0f) == doctest::Approx(6e6));
  CHECK(model::offer_comp(sim.state(), 0, US, 1.0f, false) == doctest::Approx(0.6 * 1.5e6));
}

TEST_CASE("model: under valuation a firm with a higher value wins a Bertrand contest and the cap decides who can bid") {
  // Two valuation firms, Bertrand counteroffers, everything deterministic (no noise, pay-only).
  // Inc (A = 1) holds researcher 0 (θ = 1); Rich (A = 4) makes the only offer. Values per unit θ:
  // Inc 12·P·α·Y/Σθ with Σθ = 1 ⇒ 12·P·(1/12)·1 = P (α = 1, β = 0); Rich, without staff, at Σθ =
  // 1: 4P. With P = 1e6: Inc values the researcher at 1e6, Rich at 4e6. Rich offers a share 0.2,
  // 0.8e6 < 1e6, and bids up: Rich wins and pays Inc's maximum, 1e6. With Rich's cap at 0.5e6 <
  // Inc's value, Inc keeps the researcher and matches Rich's maximum.
  const std::string regions = "  US: {pay_level: 1}\n";
  for (const double cap : {1e8, 5e5}) {
    CAPTURE(cap);
    const std::string firms =
        "  - {name: Inc, hq: US, headcount: 1, productivity: 1, pay: {rule: valuation, valuation_share: 0.5, base: 100000},"
        " retention: {rule: bertrand}}\n"
        "  - {name: Rich, hq: US, headcount: 5, productivity: 4, pay: {rule: valuation, valuation_share: 0.2, base: 100000,"
        " max_package: " + std::to_string(cap) + "}}\n";
    auto sim = make(scenario(regions, firms), {"population.researchers=1", "market.lambda1=1", "production.alpha=1",
                                               "production.beta=0", "production.scale=0.0833333333333333333",
                                               "production.output_value=1e6"});
    put(sim, 0, {.employer = 0, .comp = 3e5});
    up_to_offers(sim);
    REQUIRE(sim.pending_offers().size() == 1);
    CHECK(sim.pending_offers()[0].firm == 1);
    finish_step(sim);
    const auto& r = sim.world().r;
    if (cap > 1e6) {
      CHECK(r.employer[0] == 1);
      CHECK(r.comp[0] == doctest::Approx(1e6));
    } else {
      CHECK(r.employer[0] == 0);
      CHECK(r.comp[0] == doctest::Approx(5e5));  // Inc matched the best Rich could bid
    }
  }
}
