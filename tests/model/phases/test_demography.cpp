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

TEST_CASE("model: who studies abroad is selected on talent, keeping the share abroad") {
  // 20000 CN entrants in one month (ln θ ~ N(0, 1)), study_abroad {US: 0.3}. With
  // abroad_selection ρ, an entrant goes when ρz + √(1 − ρ²)ε > c, c = Φ⁻¹(0.7) = 0.5244: the
  // share going is 0.3 whatever ρ, and the mean z of those who go is ρ·φ(c)/0.3 (the mean of a
  // normal truncated at c, times ρ): 0 for ρ = 0, 0.8·0.3477/0.3 = 0.9272 for ρ = 0.8.
  // Tolerances 5 sd: the share's √(0.21/20000) and the mean's 1/√6000 (sd of z ≤ 1 among
  // ~6000; seed 11).
  const std::string regions =
      "  US: {pay_level: 1}\n"
      "  CN: {entrants_per_month: 20000, ai_propensity: 1, talent_mu: 0, talent_sigma: 1, study_abroad: {US: 0.3}}\n";
  const double phi_c = std::exp(-0.5 * 0.5244 * 0.5244) / std::sqrt(2 * M_PI);
  for (const double rho : {0.0, 0.8}) {
    CAPTURE(rho);
    auto sim = make(scenario(regions, "  - {name: Lab, hq: US, headcount: 1}\n"),
                    {"population.researchers=0", "population.abroad_selection=" + std::to_string(rho)});
    sim.step();
    const auto& r = sim.world().r;
    int64_t n = 0, away = 0;
    double zsum = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (!r.alive[i]) continue;
      ++n;
      if (r.location[i] == 0) {  // US
        ++away;
        zsum += std::log(double(r.talent[i]));
        CHECK(model::Status(r.status[i]) == model::Status::StudentVisa);
      }
    }
    REQUIRE(n == 20000);
    CHECK(std::abs(double(away) / double(n) - 0.3) < 5 * std::sqrt(0.21 / 20000));
    CHECK(std::abs(zsum / double(away) - rho * phi_c / 0.3) < 5 / std::sqrt(double(away)));
  }
}

TEST_CASE("model: with steady entry the start is the steady state of entry, exit and retirement") {
  // Monthly exit probability x = 0.004, retirement at 65, entry ages 22–30 (months, uniform).
  // Steady entry derives entrants = N / D, D = mean months in the field = mean over entry month u
  // of (1 − (1 − x)^(780 − u)) / x, and the start draws (entry month, months in the field) from
  // the steady state. So the population neither drifts nor ages: over 24 months its size stays
  // N ± 5 sd (the size's sd over 24 months is about √(2 · 24 · N/D)), and the mean age at the start
  // equals the steady state's, computed here by summation (to ±0.5 month).
  const int64_t N = 100000;
  const double x = 0.004;
  auto sim = make(scenario(kTwoRegions, "  - {name: Lab, hq: US, headcount: 100}\n"),
                  {"population.researchers=100000", "population.ageing=true", "population.exit_rate=0.004",
                   "population.steady_entry=true", "population.origin_shares={US: 0.5, CN: 0.5}",
                   "regions.US.ai_propensity=1", "regions.CN.ai_propensity=0.5"});
  // D and the steady state's mean age.
  double D = 0, mass = 0, age_mass = 0;
  for (int u = 22 * 12; u <= 30 * 12; ++u) {
    const int L = 65 * 12 - u;
    D += (1 - std::pow(1 - x, L)) / x;
    for (int c = 0; c < L; ++c) {
      const double w = std::pow(1 - x, c);
      mass += w;
      age_mass += w * (u + c);
    }
  }
  D /= (30 * 12 - 22 * 12 + 1);
  CHECK(model::mean_career_months(sim.params().population) == doctest::Approx(D).epsilon(1e-9));
  const auto& regs = sim.params().regions;
  CHECK(regs[0].entrants_per_month * regs[0].ai_propensity == doctest::Approx(N * 0.5 / D));
  CHECK(regs[1].entrants_per_month * regs[1].ai_propensity == doctest::Approx(N * 0.5 / D));
  const auto& r = sim.world().r;
  double ages = 0;
  for (std::size_t i = 0; i < r.size(); ++i) ages += r.age[i];
  CHECK(ages / double(N) == doctest::Approx(age_mass / mass).epsilon(0.5 / (age_mass / mass)));
  for (int t = 0; t < 24; ++t) sim.step();
  int64_t alive = 0;
  for (std::size_t i = 0; i < r.size(); ++i) alive += r.alive[i];
  CHECK(std::abs(double(alive - N)) < 5 * std::sqrt(2.0 * 24 * double(N) / D));
}

TEST_CASE("model: who works abroad at the start is selected on talent, keeping the share abroad") {
  // As for study abroad: 20000 CN-origin researchers at the start, population.abroad {CN: 0.3},
  // all abroad in the US; ρ = 0.8 ⇒ 30% abroad (± 5 sd) with mean ln θ 0.9272 (± 5/√6000).
  const std::string regions =
      "  US: {pay_level: 1}\n"
      "  CN: {talent_mu: 0, talent_sigma: 1}\n";
  auto sim = make(scenario(regions, "  - {name: Lab, hq: US, headcount: 1}\n"),
                  {"population.researchers=20000", "population.origin_shares={CN: 1}", "population.abroad={CN: 0.3}",
                   "population.abroad_destinations={US: 1}", "population.abroad_selection=0.8"});
  const auto& r = sim.world().r;
  int64_t away = 0;
  double zsum = 0;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r.location[i] == 0) ++away, zsum += std::log(double(r.talent[i]));
  const double phi_c = std::exp(-0.5 * 0.5244 * 0.5244) / std::sqrt(2 * M_PI);
  CHECK(std::abs(double(away) / 20000.0 - 0.3) < 5 * std::sqrt(0.21 / 20000));
  CHECK(std::abs(zsum / double(away) - 0.8 * phi_c / 0.3) < 5 / std::sqrt(double(away)));
}
