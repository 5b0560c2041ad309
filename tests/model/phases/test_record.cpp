// The record phase (MODEL.md §4.10, §5): stocks by location × origin × tier, employment, and
// pay percentiles among the employed by tier and region.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

TEST_CASE("model: record counts stocks by location, origin and tier, and pay percentiles among the employed") {
  // Ten researchers with θ = 1 … 10, everything else switched off, one step. Tiers by rank:
  // elite_share 0.1 ⇒ round(0.1 · 10) = 1 elite (θ 10); top_share 0.3 ⇒ the top 3 are top or
  // elite, so θ 8 and 9 are top; θ 1 … 7 regular. Slots 0–6 (θ 1 … 7, regular) work in the US
  // for USLab at 100k … 700k; θ 8 works in the US, θ 9 and 10 are unemployed; slots 0–3 and 9
  // are of CN origin (CN-born abroad on a work visa), the rest US citizens.
  auto sim = make(scenario(kTwoRegions, "  - {name: USLab, hq: US, headcount: 10}\n"),
                  {"population.researchers=10", "market.elite_share=0.1", "market.top_share=0.3"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (int i = 0; i < 10; ++i) {
    const bool cn = i <= 3 || i == 9;
    const bool employed = i <= 7;
    put(sim, std::size_t(i),
        {.origin = cn ? CN : US, .location = US, .status = cn ? Status::WorkVisa : Status::Citizen,
         .talent = float(i + 1), .employer = employed ? 0 : kNoFirm, .comp = employed ? 100000.f * float(i + 1) : 0.f,
         .visa_left = cn ? 24 : 0});
  }
  sim.step();
  const auto& st = sim.stats();
  const int R = sim.regions();
  auto stock = [&](int loc, int origin, int tier) {
    return st.stocks[(std::size_t(loc) * std::size_t(R) + std::size_t(origin)) * model::kTiers + std::size_t(tier)];
  };
  CHECK(stock(US, CN, model::Regular) == 4);  // slots 0–3
  CHECK(stock(US, US, model::Regular) == 3);  // slots 4–6
  CHECK(stock(US, US, model::Top) == 2);      // θ 8, 9
  CHECK(stock(US, CN, model::Elite) == 1);    // θ 10
  int64_t all = 0;
  for (const auto x : st.stocks) all += x;
  CHECK(all == 10);
  CHECK(market(sim, model::kEmployed) == 8);
  CHECK(market(sim, model::kUnemployed) == 2);
  CHECK(st.unemployed_region[std::size_t(US)] == 2);  // θ 9 and 10 live in the US without a job
  CHECK(st.unemployed_region[std::size_t(CN)] == 0);
  // Pay percentiles of the 7 employed regular researchers in the US (100k … 700k): the p-th
  // percentile is the value at rank p·7 counted from the bottom, interpolated log-linearly
  // inside its histogram bin (0.54% wide): p10 at rank 0.7 (inside 100k's bin), p50 at rank 3.5
  // (inside 400k's), p90 at 6.3 (inside 700k's).
  auto pct = [&](int tier, int region, int p) {
    return st.pay_pct[(std::size_t(tier) * std::size_t(R) + std::size_t(region)) * model::kPercentiles + std::size_t(p)];
  };
  CHECK(pct(model::Regular, US, 0) == doctest::Approx(100000).epsilon(0.006));
  CHECK(pct(model::Regular, US, 2) == doctest::Approx(400000).epsilon(0.006));
  CHECK(pct(model::Regular, US, 4) == doctest::Approx(700000).epsilon(0.006));
  // The top tier in the US: one employed (θ 8 at 800k); nobody employed in CN: NaN.
  CHECK(pct(model::Top, US, 2) == doctest::Approx(800000).epsilon(0.006));
  CHECK(std::isnan(pct(model::Regular, CN, 2)));
}
