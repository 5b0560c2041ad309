// The calibration's moments on hand-set step statistics and hand-built researcher columns:
// each kind measures what sim/model/calibration.hpp says, over the steps asked.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sim/model/calibration.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;
using model::kNoFirm;
using model::Simulation;
namespace calib = model::calib;

namespace {

/// Two regions, two single firms, 10 researcher slots, nothing moving by itself.
Simulation small_world(int steps) {
  return Simulation(test::params_from(
      "run: {seed: 5, start: 2025-07, steps: " + std::to_string(steps) +
      "}\n"
      "regions:\n"
      "  US: {pay_level: 1}\n"
      "  CN: {pay_level: 1}\n"
      "  IN: {pay_level: 1}\n"
      "population: {researchers: 10, scale_market: false, employment_rate: 0, ageing: false, exit_rate: 0}\n"
      "market: {lambda0: 0, lambda1: 0, separation: 0}\n"
      "firms:\n"
      "  - {name: Lab, hq: US, headcount: 10}\n"
      "  - {name: Other, hq: US, headcount: 10}\n"));
}

calib::Target moment(const std::string& name, calib::MomentKind k) {
  calib::Target t;
  t.name = name;
  t.moment = k;
  return t;
}

/// Sets researcher i's columns that the cohort moments read.
void put(Simulation& sim, std::size_t i, bool alive, int origin, int location, int32_t employer, int in_region, int tenure) {
  auto& r = sim.edit_world().r;
  r.alive[i] = alive;
  r.origin[i] = uint8_t(origin);
  r.location[i] = uint8_t(location);
  r.employer[i] = employer;
  r.in_region[i] = int16_t(in_region);
  r.tenure[i] = int16_t(tenure);
}

}  // namespace

TEST_CASE("calibration moments: top-tier location, unemployment, output shares, pay percentile, job-to-job rate") {
  // Two steps of hand-set statistics (R = 3: US, CN, IN).
  //   top + elite: step 0 US 3 (2 top, 1 elite) of 4, step 1 US 1 of 4       -> horizon 0.5, at 0: 0.75
  //   living in US 10 with 2 / 4 unemployed; in CN 5 with 1 / 1               -> US 0.3; all (3/15 + 5/15)/2 = 4/15
  //   output by location US 3, CN 1 then US 1, CN 3                           -> CN share 4/8 = 0.5 (ratio of sums)
  //   output by origin   US 2, CN 2 then US 2, CN 0                           -> CN share 2/6
  //   pay p75 of the top tier in US: 100 then 300                             -> 200
  //   job-to-job moves 2 then 4 with 100 employed each step                   -> 0.03
  auto sim = small_world(2);
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  const int R = sim.regions();
  std::vector<calib::Target> ts;
  ts.push_back(moment("US top", calib::MomentKind::TopTierLocationShare));
  ts.back().region = "US";
  ts.push_back(ts.back());
  ts.back().name = "US top at 0";
  ts.back().timing = calib::Timing::At;
  ts.back().at = 0;
  ts.push_back(moment("US unemployment", calib::MomentKind::UnemploymentRate));
  ts.back().region = "US";
  ts.push_back(moment("unemployment", calib::MomentKind::UnemploymentRate));
  ts.push_back(moment("CN output", calib::MomentKind::OutputShare));
  ts.back().region = "CN";
  ts.push_back(ts.back());
  ts.back().name = "CN-origin output";
  ts.back().by_origin = true;
  ts.push_back(moment("US top p75", calib::MomentKind::PayPercentile));
  ts.back().region = "US";
  ts.back().tier = model::Top;
  ts.back().percentile = 0.75;
  ts.push_back(moment("job to job", calib::MomentKind::JobToJobRate));
  ts.push_back(moment("US top p90, nobody at step 1", calib::MomentKind::PayPercentile));
  ts.back().region = "US";
  ts.back().percentile = 0.9;
  calib::MomentRecorder rec(sim, ts);
  auto stock = [&](model::StepStats& st, int loc, int origin, int tier) -> int64_t& {
    return st.stocks[(std::size_t(loc) * R + origin) * model::kTiers + tier];
  };
  for (int t = 0; t < 2; ++t) {
    auto& st = sim.stats();
    st.reset(R, int(sim.world().f.size()));
    stock(st, US, US, model::Regular) = t == 0 ? 7 : 9;
    stock(st, US, CN, model::Top) = t == 0 ? 2 : 1;
    stock(st, US, CN, model::Elite) = t == 0 ? 1 : 0;
    stock(st, CN, CN, model::Top) = t == 0 ? 1 : 3;
    stock(st, CN, CN, model::Regular) = t == 0 ? 4 : 2;
    st.unemployed_region[std::size_t(US)] = t == 0 ? 2 : 4;
    st.unemployed_region[std::size_t(CN)] = 1;
    st.output_region[std::size_t(US)] = t == 0 ? 3 : 1;
    st.output_region[std::size_t(CN)] = t == 0 ? 1 : 3;
    st.output_origin[std::size_t(US)] = 2;
    st.output_origin[std::size_t(CN)] = t == 0 ? 2 : 0;
    const std::size_t p75 = (std::size_t(model::Top) * R + std::size_t(US)) * model::kPercentiles + 3;
    st.pay_pct[p75] = t == 0 ? 100 : 300;
    st.pay_pct[p75 + 1] = t == 0 ? 500 : std::nan("");
    st.market[model::kJobToJob] = t == 0 ? 2 : 4;
    st.market[model::kEmployed] = 100;
    ++sim.edit_world().step;
    rec.observe(sim);
  }
  const auto v = rec.values();
  CHECK(v[0] == doctest::Approx(0.5));
  CHECK(v[1] == doctest::Approx(0.75));
  CHECK(v[2] == doctest::Approx(0.3));
  CHECK(v[3] == doctest::Approx(4.0 / 15.0));
  CHECK(v[4] == doctest::Approx(0.5));
  CHECK(v[5] == doctest::Approx(2.0 / 6.0));
  CHECK(v[6] == doctest::Approx(200));
  CHECK(v[7] == doctest::Approx(0.03));
  CHECK(std::isnan(v[8]));  // a step without a value makes the moment undefined, not a smaller mean
  // The free functions agree with the last step.
  CHECK(calib::top_tier_location_share(sim.stats(), US) == doctest::Approx(0.25));
  CHECK(calib::unemployment_rate(sim.stats(), CN) == doctest::Approx(0.2));
}

TEST_CASE("calibration moments: stay rates and firm retention follow a cohort") {
  // Cohort at step 0, measured 2 steps later (steps 0..2). Slots:
  //   0 CN-origin in US at Lab, stays (in_region 10 -> 12, tenure 5 -> 7)
  //   1 CN-origin in US at Lab, goes home to CN (in_region 0 at step 2)
  //   2 IN-origin in US at Other, stays (in_region 3 -> 5, tenure 2 -> 4)
  //   3 US-origin in US at Lab, stays (in_region 30 -> 32) but moved to Other (tenure 0)
  //   4 US-origin in US at Lab, left Lab and came back (tenure 1)
  //   5 CN-origin in CN, unemployed (not in the US cohort, not employed)
  //   6 CN-origin arriving in the US at step 1 (in_region 1 at step 2): not in the cohort
  //   7 IN-origin in US at Lab, dies before step 2
  // foreign-origin in the US at 0: slots 0, 1, 2, 7 -> still there at 2: 0, 2          = 2/4
  // CN-origin in the US at 0: slots 0, 1             -> still there: 0                  = 1/2
  // employed at 0: 0, 1, 2, 3, 4, 7 -> same employer since: 0 (Lab), 2 (Other)         = 2/6
  // at Lab at 0: 0, 1, 3, 4, 7      -> still at Lab since: 0                            = 1/5
  auto sim = small_world(3);
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN"), IN = sim.params().region_index("IN");
  const int32_t lab = sim.firm_index("Lab"), other = sim.firm_index("Other");
  for (std::size_t i = 0; i < sim.world().r.size(); ++i) put(sim, i, false, US, US, kNoFirm, 0, 0);
  put(sim, 0, true, CN, US, lab, 10, 5);
  put(sim, 1, true, CN, US, lab, 4, 4);
  put(sim, 2, true, IN, US, other, 3, 2);
  put(sim, 3, true, US, US, lab, 30, 9);
  put(sim, 4, true, US, US, lab, 30, 9);
  put(sim, 5, true, CN, CN, kNoFirm, 50, 0);
  put(sim, 7, true, IN, US, lab, 8, 8);
  std::vector<calib::Target> ts;
  for (const char* origin : {"foreign", "CN"}) {
    ts.push_back(moment(std::string("stay ") + origin, calib::MomentKind::StayRate));
    ts.back().region = "US";
    ts.back().origin = origin;
    ts.back().cohort = 0;
    ts.back().after = 2;
  }
  ts.push_back(moment("retention", calib::MomentKind::FirmRetention));
  ts.back().after = 2;
  ts.push_back(ts.back());
  ts.back().name = "Lab retention";
  ts.back().firm = "Lab";
  calib::MomentRecorder rec(sim, ts);
  sim.edit_world().step = 1;
  rec.observe(sim);  // step 0: the cohort
  sim.edit_world().step = 2;
  put(sim, 6, true, CN, US, lab, 0, 0);
  rec.observe(sim);  // step 1: nothing counted
  sim.edit_world().step = 3;
  put(sim, 0, true, CN, US, lab, 12, 7);
  put(sim, 1, true, CN, CN, kNoFirm, 0, 0);
  put(sim, 2, true, IN, US, other, 5, 4);
  put(sim, 3, true, US, US, other, 32, 0);
  put(sim, 4, true, US, US, lab, 32, 1);
  put(sim, 6, true, CN, US, lab, 1, 1);
  put(sim, 7, false, IN, US, lab, 10, 10);
  rec.observe(sim);  // step 2
  const auto v = rec.values();
  CHECK(v[0] == doctest::Approx(2.0 / 4.0));
  CHECK(v[1] == doctest::Approx(1.0 / 2.0));
  CHECK(v[2] == doctest::Approx(2.0 / 6.0));
  CHECK(v[3] == doctest::Approx(1.0 / 5.0));
}
