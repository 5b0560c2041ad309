// Demography (MODEL.md §4.2): entrants; and the tiers it refreshes (§2).
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

// ================================================================ demography (§4.2)

TEST_CASE("model: entrants are floor(expected) plus a Bernoulli for the fraction, students abroad hold student visas") {
  // CN: 10 graduates a month × propensity 0.5 = exactly 5 entrants per month (fraction 0).
  // study_abroad {US: 1} ⇒ all located in the US on a student visa of student_visa_months 12.
  auto sim = make(scenario("  US: {student_visa_months: 12}\n"
                           "  CN: {entrants_per_month: 10, ai_propensity: 0.5, study_abroad: {US: 1}}\n",
                           "  - {name: Lab, hq: US, headcount: 1}\n"),
                  {"population.researchers=2"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = US, .location = US});
  put(sim, 1, {.origin = US, .location = US});
  for (int t = 0; t < 3; ++t) {
    const std::size_t before = sim.world().r.size();
    sim.edit_world().step = t;
    begin(sim);
    sim.demography();
    const auto& r = sim.world().r;
    CHECK(market(sim, model::kEntrants) == 5);
    CHECK(count_kind(sim, LogKind::Entry) == 5);
    REQUIRE(r.size() == before + 5);
    std::set<uint64_t> uids;
    for (std::size_t i = before; i < r.size(); ++i) {
      CHECK(r.alive[i] == 1);
      CHECK(r.origin[i] == CN);
      CHECK(r.location[i] == US);
      CHECK(Status(r.status[i]) == Status::StudentVisa);
      CHECK(r.visa_left[i] == 12);
      CHECK(r.employer[i] == kNoFirm);
      CHECK(r.age[i] >= 22 * 12);
      CHECK(r.age[i] <= 30 * 12);
      uids.insert(r.uid[i]);
    }
    CHECK(uids.size() == 5);
  }
}

TEST_CASE("model: a fractional expected number of entrants adds one entrant with that probability") {
  // 25 origin regions with 10 × 0.45 = 4.5 expected entrants each ⇒ 4 or 5 entrants per
  // region and month, 5 with probability 0.5, drawn independently per (step, region).
  // Over 8 months × 25 regions = 200 draws the count of 5s is Binomial(200, 0.5):
  // 100 ± 5·√50 ≈ 100 ± 35 (seed 11). Without study abroad entrants are citizens at home.
  std::string regions;
  for (int k = 0; k < 25; ++k) regions += "  R" + std::to_string(k) + ": {entrants_per_month: 10, ai_propensity: 0.45}\n";
  auto sim = make(scenario(regions, "  - {name: Lab, hq: R0, headcount: 1}\n"), {"population.researchers=1"});
  const auto& r = sim.world().r;
  int fives = 0;
  for (int t = 0; t < 8; ++t) {
    sim.edit_world().step = t;
    const std::size_t before = r.size();
    begin(sim);
    sim.demography();
    std::vector<int> per_origin(25, 0);
    for (std::size_t i = before; i < r.size(); ++i) {
      ++per_origin[r.origin[i]];
      CHECK(r.location[i] == r.origin[i]);
      CHECK(Status(r.status[i]) == Status::Citizen);
    }
    for (int n : per_origin) {
      CHECK((n == 4 || n == 5));
      fives += n == 5;
    }
  }
  CAPTURE(fives);
  CHECK(std::abs(fives - 100) < 35);
}

TEST_CASE("model: tiers - 1000 researchers, elite_share 0.01 gives exactly the 10 most talented") {
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 1}\n"),
                  {"population.researchers=1000", "market.elite_share=0.01", "market.top_share=0.05"});
  const auto& r = sim.world().r;
  std::vector<float> th(r.talent.begin(), r.talent.end());
  std::sort(th.begin(), th.end(), std::greater<>());
  REQUIRE(std::adjacent_find(th.begin(), th.end()) == th.end());  // distinct talents
  int64_t elite = 0, top = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    elite += r.tier[i] == model::Elite;
    top += r.tier[i] == model::Top;
    CHECK((r.tier[i] == model::Elite) == (r.talent[i] >= th[9]));
    CHECK((r.tier[i] != model::Regular) == (r.talent[i] >= th[49]));
  }
  CHECK(elite == 10);
  CHECK(top == 40);  // top share 5% = 50 including the 10 elite
}

TEST_CASE("model: realised talent grows with experience, and tiers rank realised talent") {
  // Experience on: e rises linearly from 0.5 at entry to 1 after 24 months. Researcher 0 has
  // θ = 2 and starts her career now (0 months); researcher 1 has θ = 1.5 and is fully
  // experienced. top_share 0.5 ⇒ the top tier is the one with the higher realised talent.
  // Demography adds a month each step first: after step t, researcher 0 has t + 1 months and
  // θ(t) = 2·(0.5 + 0.5·(t + 1)/24), below 1.5 until t + 1 > 12, above after; 2 from t + 1 = 24.
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 5}\n"),
                  {"population.researchers=2", "population.experience={enabled: true, start: 0.5, months: 24}",
                   "market.top_share=0.5", "market.elite_share=0"});
  put(sim, 0, {.talent = 2.0f, .employer = 0, .comp = 1e5});
  put(sim, 1, {.talent = 1.5f, .employer = 0, .comp = 1e5});
  auto& r = sim.edit_world().r;
  r.career[0] = 0;
  r.skill[0] = 1.0f;
  const auto& w = sim.world().r;
  for (int t = 0; t < 30; ++t) {
    sim.step();
    CAPTURE(t);
    const double e = std::min(1.0, 0.5 + 0.5 * double(t + 1) / 24.0);
    CHECK(w.career[0] == t + 1);
    CHECK(w.skill[0] == doctest::Approx(2.0 * e));
    CHECK(w.skill[1] == doctest::Approx(1.5));
    CHECK(w.talent[0] == 2.0f);  // innate talent does not change
    // Production sums realised talent (Y = scale·A·(Σθ(t))^α·C^β).
    CHECK(sim.world().f.sum_theta[0] == doctest::Approx(double(w.skill[0]) + double(w.skill[1])).epsilon(1e-6));
    if (2.0 * e == 1.5) {  // t + 1 = 12: equal realised talents, both at the cut
      CHECK(w.tier[0] == model::Top);
      CHECK(w.tier[1] == model::Top);
      continue;
    }
    const bool zero_ahead = 2.0 * e > 1.5;
    CHECK(w.tier[0] == (zero_ahead ? model::Top : model::Regular));
    CHECK(w.tier[1] == (zero_ahead ? model::Regular : model::Top));
  }
}
