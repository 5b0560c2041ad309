// Calibration by the simulated method of moments (sim/model/calibration.hpp): the
// optimiser on functions with a known minimum, the moments on hand-built worlds, the
// strict calibration file, and a tiny end-to-end fit that recovers the parameter value
// that generated its own target.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/model/calibration.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;
using model::kNoFirm;
using model::Simulation;
using model::Status;
namespace calib = model::calib;

namespace {

// ------------------------------------------------------------------ helpers

/// A hand-driven world: no noise, pay-only utility, no random search, ageing, exits or
/// separations; the columns are then overwritten researcher by researcher.
std::string world(const std::string& firms, const std::string& extra = "", int steps = 3) {
  return "run: {seed: 5, start: 2025-07, steps: " + std::to_string(steps) +
         "}\n"
         "regions:\n"
         "  US: {pay_level: 1}\n"
         "  CN: {pay_level: 1}\n"
         "population: {researchers: 10, scale_market: false, employment_rate: 0, ageing: false, exit_rate: 0}\n"
         "market:\n"
         "  lambda0: 0\n"
         "  lambda1: 0\n"
         "  separation: 0\n"
         "  elite_share: 0.1\n"
         "  top_share: 0.3\n"
         "  utility: {pay: 1, compute: 0, compute_sd: 0, prestige: 0, home: 0, home_sd: 0,\n"
         "            visa_risk: 0, wait_cost: 0, move_cost: 0, noise: 0}\n"
         "firms:\n" +
         firms + extra;
}

void put(Simulation& sim, std::size_t i, int origin, int location, float talent, int32_t employer, float comp) {
  auto& r = sim.edit_world().r;
  r.alive[i] = 1;
  r.origin[i] = uint8_t(origin);
  r.location[i] = uint8_t(location);
  r.status[i] = uint8_t(origin == location ? Status::Citizen : Status::Permanent);
  r.talent[i] = talent;
  r.skill[i] = talent;  // realised talent (experience is off here)
  r.employer[i] = employer;
  r.comp[i] = comp;
  r.visa_left[i] = 0;
  r.tenure[i] = 6;
  r.renewals[i] = 0;
  r.flags[i] = 0;
  r.grace[i] = -1;
  r.age[i] = 30 * 12;
  r.in_region[i] = 12;
  r.home_bias[i] = 0.f;
  r.compute_taste[i] = 0.f;
  r.ref_offer[i] = 0.f;
  r.output[i] = 0.f;
  r.hc_output[i] = 0.f;
  r.pending_firm[i] = kNoFirm;
}

calib::Target target(const std::string& name, calib::MomentKind k) {
  calib::Target t;
  t.name = name;
  t.moment = k;
  return t;
}

/// A calibration spec parsed from text as if it were the file `path`.
std::optional<calib::CalibrationSpec> spec_from(const std::string& text, const std::string& path, cfg::Diagnostics& d) {
  auto root = cfg::parse_string(text, path, d);
  if (!root) return std::nullopt;
  return calib::parse_calibration(*root, path, d);
}

}  // namespace

// ====================================================================== Nelder–Mead

TEST_CASE("calibration: Nelder–Mead finds the minimum of a quadratic inside the box") {
  // f = (x − 0.3)² + 10 (y + 0.7)² + (x − 0.3)(y + 0.7): positive definite, minimum 0 at (0.3, −0.7).
  int calls = 0;
  auto f = [&](const std::vector<double>& v) {
    ++calls;
    const double a = v[0] - 0.3, b = v[1] + 0.7;
    return a * a + 10 * b * b + a * b;
  };
  calib::NelderMeadOptions o;
  o.max_evaluations = 400;
  o.xtol = 1e-7;
  o.ftol = 1e-14;
  const auto r = calib::nelder_mead(f, {-2, -2}, {2, 2}, {1.5, 1.0}, o);
  CHECK(r.converged);
  CHECK(r.x[0] == doctest::Approx(0.3).epsilon(1e-4));
  CHECK(r.x[1] == doctest::Approx(-0.7).epsilon(1e-4));
  CHECK(r.f < 1e-8);
  CHECK(r.evaluations == calls);  // every distinct point once
  CHECK(r.evaluations <= 400);
  // The convergence report: both tolerances met on the last simplex, after a restart that gained nothing.
  CHECK(r.stop == "converged");
  CHECK(r.f_spread <= o.ftol);
  CHECK(r.x_spread <= o.xtol);
  // Deterministic: the same search twice gives the same point.
  const auto r2 = calib::nelder_mead(f, {-2, -2}, {2, 2}, {1.5, 1.0}, o);
  CHECK(r2.x == r.x);
  CHECK(r2.evaluations == r.evaluations);
}

TEST_CASE("calibration: Nelder–Mead minimises the Rosenbrock function within bounds") {
  // Rosenbrock (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1), from the classic start (−1.2, 1).
  auto f = [](const std::vector<double>& v) {
    return (1 - v[0]) * (1 - v[0]) + 100 * (v[1] - v[0] * v[0]) * (v[1] - v[0] * v[0]);
  };
  calib::NelderMeadOptions o;
  o.max_evaluations = 2000;
  o.xtol = 1e-8;
  o.ftol = 1e-16;
  o.restarts = 3;
  const auto r = calib::nelder_mead(f, {-2, -2}, {2, 3}, {-1.2, 1.0}, o);
  CHECK(r.converged);
  CHECK(r.restarts >= 1);                             // restarted at least once ...
  CHECK(r.last_restart_gain <= o.ftol);               // ... until a restart gained nothing
  CHECK(r.x[0] == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(r.x[1] == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(r.f < 1e-6);
}

TEST_CASE("calibration: Nelder–Mead respects the box: a minimum outside it ends at the bound") {
  // f = (x − 3)² on [0, 2]: the constrained minimum is x = 2; every trial point stays in the box.
  bool inside = true;
  auto f = [&](const std::vector<double>& v) {
    inside &= v[0] >= 0 && v[0] <= 2;
    return (v[0] - 3) * (v[0] - 3);
  };
  calib::NelderMeadOptions o;
  o.max_evaluations = 200;
  const auto r = calib::nelder_mead(f, {0}, {2}, {0.5}, o);
  CHECK(inside);
  CHECK(r.x[0] > 1.99);
  // Log scale: f = (ln x − ln 50)² on [1, 1000] from 2: minimum at 50.
  auto g = [](const std::vector<double>& v) { return std::pow(std::log(v[0]) - std::log(50.0), 2); };
  o.xtol = 1e-8;
  o.ftol = 1e-14;
  const auto rl = calib::nelder_mead(g, {1}, {1000}, {2}, o, {true});
  CHECK(rl.x[0] == doctest::Approx(50).epsilon(1e-4));
  // The evaluation budget is a hard limit.
  o.max_evaluations = 7;
  const auto rb = calib::nelder_mead(g, {1}, {1000}, {2}, o, {true});
  CHECK(rb.evaluations == 7);
  CHECK_FALSE(rb.converged);
  CHECK(rb.stop == "evaluation budget");
}

// ====================================================================== moments

TEST_CASE("calibration: CN shares of all researchers and of the top tier on a hand-built world") {
  // 10 researchers, talents 1..10; top share 0.3 ⇒ top + elite = the 3 most talented (10, 9, 8).
  // CN origin: talents 10, 9, 5, 4, 3 ⇒ 5 of 10 overall, 2 of the top 3. Location does not
  // matter (the CN-origin θ 9 works in the US, the US-origin θ 2 in CN).
  auto sim = Simulation(test::params_from(world("  - {name: Lab, hq: US, headcount: 10}\n")));
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  const int origin[10] = {US, US, CN, CN, CN, US, US, US, CN, CN};  // talent i + 1
  const int where[10] = {CN, US, CN, CN, CN, US, US, US, US, CN};
  for (std::size_t i = 0; i < 10; ++i) put(sim, i, origin[i], where[i], float(i + 1), 0, 100000.f);
  model::refresh_tiers(sim.edit_state());
  sim.stats().reset(sim.regions(), int(sim.world().f.size()));
  sim.record();
  CHECK(calib::origin_share(sim.stats(), CN, false) == doctest::Approx(0.5));
  CHECK(calib::origin_share(sim.stats(), CN, true) == doctest::Approx(2.0 / 3.0));
  CHECK(calib::origin_share(sim.stats(), US, true) == doctest::Approx(1.0 / 3.0));
  // A dead researcher is not counted: CN θ 3 leaves ⇒ 4 of 9.
  sim.edit_world().r.alive[2] = 0;
  sim.record();
  CHECK(calib::origin_share(sim.stats(), CN, false) == doctest::Approx(4.0 / 9.0));
}

TEST_CASE("calibration: the recorder measures shares at the step asked and sums output over the steps asked") {
  // Three steps with hand-set statistics: CN share of all researchers 0.2, 0.4, 0.6 (stocks
  // 1,2,3 CN of 5); highly cited output US 1, 2, 4 and CN 1, 1, 2.
  //   cn_share_all at −1 (last step 2) = 0.6; at 0 = 0.2
  //   us_cn_hc_output_ratio first 1..last −1 = (2 + 4)/(1 + 2) = 2; whole run = 7/4
  //   cn_share_all over the horizon = mean(0.2, 0.4, 0.6) = 0.4
  auto sim = Simulation(test::params_from(world("  - {name: Lab, hq: US, headcount: 10}\n")));
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  std::vector<calib::Target> ts;
  ts.push_back(target("last", calib::MomentKind::CnShareAll));
  ts.back().timing = calib::Timing::At;
  ts.push_back(target("first", calib::MomentKind::CnShareAll));
  ts.back().timing = calib::Timing::At;
  ts.back().at = 0;
  ts.push_back(target("ratio tail", calib::MomentKind::UsCnHcOutputRatio));
  ts.back().timing = calib::Timing::Window;
  ts.back().first = 1;
  ts.push_back(target("ratio all", calib::MomentKind::UsCnHcOutputRatio));
  ts.push_back(target("share over the horizon", calib::MomentKind::CnShareAll));
  calib::MomentRecorder rec(sim, ts);
  const double us_hc[3] = {1, 2, 4}, cn_hc[3] = {1, 1, 2};
  const int R = sim.regions();
  for (int t = 0; t < 3; ++t) {
    auto& st = sim.stats();
    st.reset(R, int(sim.world().f.size()));
    st.stocks[(std::size_t(US) * R + CN) * model::kTiers + 0] = t + 1;  // CN origin in the US
    st.stocks[(std::size_t(US) * R + US) * model::kTiers + 0] = 4 - t;  // US origin
    st.hc_region[std::size_t(US)] = us_hc[t];
    st.hc_region[std::size_t(CN)] = cn_hc[t];
    ++sim.edit_world().step;
    rec.observe(sim);
  }
  const auto v = rec.values();
  CHECK(v[0] == doctest::Approx(0.6));
  CHECK(v[1] == doctest::Approx(0.2));
  CHECK(v[2] == doctest::Approx(2.0));
  CHECK(v[3] == doctest::Approx(7.0 / 4.0));
  CHECK(v[4] == doctest::Approx(0.4));
}

TEST_CASE("calibration: raid hires count the raider's moves from the rival in the raid's window, by origin") {
  // OpenAI staff θ = {1, 5, 3, 4, 2} (slots 0–4); CN origin: slots 1 (θ 5) and 3 (θ 4), both
  // permanent residents in the US; slot 5 (CN, θ 6) works at Other. Raid(Meta, [OpenAI, Other],
  // offers 4, 5e6) at step 0 ⇒ offers to θ 6, 5, 4, 3; pay-only utility, no counteroffers,
  // Meta has 10 vacancies ⇒ all four move in step 0. From OpenAI: θ 5, 4, 3 ⇒ raid_hires = 3,
  // raid_hires_cn = 2; θ 6 came from Other and is not counted. Step 1 (still in the 2-step
  // window) has no moves: the counts stay.
  const std::string firms =
      "  - {name: OpenAI, hq: US, headcount: 5}\n"
      "  - {name: Meta, hq: US, headcount: 10}\n"
      "  - {name: Other, hq: US, headcount: 1}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Meta, rivals: [OpenAI, Other], offers: 4, package: 5000000}\n";
  auto sim = Simulation(test::params_from(world(firms, events), {"population.researchers=6"}));
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  const float th[] = {1, 5, 3, 4, 2};
  const int org[] = {US, CN, US, CN, US};
  for (std::size_t i = 0; i < 5; ++i) put(sim, i, org[i], US, th[i], 0, 150000.f * th[i]);
  put(sim, 5, CN, US, 6, 2, 150000.f * 6);
  std::vector<calib::Target> ts{target("hires", calib::MomentKind::RaidHires),
                                target("hires cn", calib::MomentKind::RaidHiresCn)};
  for (auto& t : ts) t.within = 2;
  calib::MomentRecorder rec(sim, ts);
  sim.step();
  rec.observe(sim);
  const auto& r = sim.world().r;
  REQUIRE(r.employer[1] == 1);  // the move happened as worked out
  REQUIRE(r.employer[5] == 1);
  CHECK(calib::moves_between(sim.stats().log, 0, 1).size() == 3);
  CHECK(calib::moves_between(sim.stats().log, 2, 1).size() == 1);
  sim.step();
  rec.observe(sim);
  const auto v = rec.values();
  CHECK(v[0] == 3);
  CHECK(v[1] == 2);
  // A target whose raid does not exist is refused.
  std::vector<calib::Target> bad{target("hires", calib::MomentKind::RaidHires)};
  bad[0].to = "Other";
  CHECK_THROWS_AS(calib::MomentRecorder(sim, bad), std::invalid_argument);
}

TEST_CASE("calibration: moves_between counts job-to-job moves only, between the two firms named") {
  std::vector<model::LogEntry> log = {
      {0, 1, uint8_t(model::LogKind::Move), 0, 1, 0, 0, 1.f, 2.f, 0, 0},
      {0, 2, uint8_t(model::LogKind::Move), 1, 0, 0, 0, 1.f, 2.f, 0, 0},           // other direction
      {0, 3, uint8_t(model::LogKind::VisaPetition), 0, 1, 0, 0, 1.f, 2.f, 0, 0},   // not executed yet
      {0, 4, uint8_t(model::LogKind::CounterRaise), 0, 0, 0, 0, 1.f, 2.f, 0, 0},
      {0, 5, uint8_t(model::LogKind::Move), 0, 1, 0, 1, 1.f, 2.f, 0, 0}};
  CHECK(calib::moves_between(log, 0, 1) == std::vector<uint64_t>{1, 5});
  CHECK(calib::moves_between(log, 1, 0) == std::vector<uint64_t>{2});
}

// ====================================================================== the file

TEST_CASE("calibration: the calibration file is read strictly, with file:line") {
  const std::string text =
      "scenario: s.yaml\n"
      "replicatons: 4\n"
      "parameters:\n"
      "  - {key: regions.CN.talent_mu, min: 1, max: 0}\n"
      "  - {key: regions.US.talent_mu, min: 0, max: 1, start: 2}\n"
      "targets:\n"
      "  - {name: a, moment: cn_share_everything, value: 1, source_sd: 0.1, basis: x, source: y}\n"
      "  - {name: b, moment: raid_hires, value: 8, at: 3, source_sd: 2, basis: x, source: y}\n"
      "  - {name: c, moment: cn_share_top}\n"
      "  - {name: d, moment: cn_share_all, value: 0.5, tolerance: 0.01, source_sd: 0, basis: x, source: y}\n"
      "  - {name: e, moment: pay_percentile, region: US, tier: senior, percentile: 0.6, value: 1, source_sd: 1, basis: x, source: y}\n"
      "  - {name: f, moment: output_share, by: firm, value: 0.5, source_sd: 0.1, basis: x, source: y}\n"
      "  - {name: g, moment: cn_share_all, at: 0, window: [0, 5], value: 0.5, source_sd: 0.1, basis: x, source: y}\n"
      "  - {name: h, moment: raid_hires, window: [0, 5], value: 8, source_sd: 2, basis: x, source: y}\n"
      "  - {name: i, moment: stay_rate, region: US, value: 0.8, source_sd: 0.1, basis: x, source: y}\n"
      "untargeted:\n"
      "  - {name: a, moment: job_to_job_rate, window: 3}\n"
      "validation_seed: 125\n"
      "optimizer: {max_evaluations: 0}\n";
  cfg::Diagnostics d;
  CHECK_FALSE(spec_from(text, "cal.yaml", d).has_value());
  const std::string msg = d.format();
  INFO(msg);
  CHECK(msg.find("cal.yaml:2:1: replicatons: unknown key 'replicatons' (did you mean 'replications'?)") != std::string::npos);
  CHECK(msg.find("cal.yaml:4:5: parameters[0]: needs min < max") != std::string::npos);
  CHECK(msg.find("cal.yaml:5:5: parameters[1]: start must lie within [min, max]") != std::string::npos);
  CHECK(msg.find("cal.yaml:7:") != std::string::npos);
  CHECK(msg.find("one of cn_share_all, cn_share_top, us_cn_hc_output_ratio, raid_hires, raid_hires_cn, output_share, "
                 "top_tier_location_share, pay_percentile, unemployment_rate, job_to_job_rate, stay_rate, firm_retention") !=
        std::string::npos);
  CHECK(msg.find("cal.yaml:8:49: targets[1].at: 'at' applies only to moments measured step by step") != std::string::npos);
  // a target needs its figure, the source's uncertainty, its basis and its source
  CHECK(msg.find("cal.yaml:9:5: targets[2]: missing required key 'value'") != std::string::npos);
  CHECK(msg.find("cal.yaml:9:5: targets[2]: missing required key 'source_sd' (the source's own uncertainty") != std::string::npos);
  CHECK(msg.find("cal.yaml:9:5: targets[2]: missing required key 'basis'") != std::string::npos);
  // hand-set tolerances are gone; a source figure is never exact
  CHECK(msg.find("cal.yaml:10:49: targets[3].tolerance: 'tolerance' is no longer given") != std::string::npos);
  CHECK(msg.find("targets[3].source_sd: a target's source_sd must be > 0") != std::string::npos);
  CHECK(msg.find("targets[4].tier: expected one of regular, top, elite, got 'senior'") != std::string::npos);
  CHECK(msg.find("targets[4].percentile: expected one of the recorded levels 0.1, 0.25, 0.5, 0.75, 0.9, got 0.6") !=
        std::string::npos);
  CHECK(msg.find("targets[5].by: expected location or origin, got 'firm'") != std::string::npos);
  CHECK(msg.find("targets[5]: missing required key 'region' (a region) for output_share") != std::string::npos);
  CHECK(msg.find("targets[6].window: give 'at' or 'window', not both") != std::string::npos);
  CHECK(msg.find("targets[7].window: 'window' applies only to moments measured step by step") != std::string::npos);
  CHECK(msg.find("targets[8]: missing required key 'origin'") != std::string::npos);
  CHECK(msg.find("targets[8]: missing required key 'after'") != std::string::npos);
  CHECK(msg.find("cal.yaml:17:5: untargeted: moment name 'a' is used twice") != std::string::npos);
  CHECK(msg.find("untargeted[0].window: expected [first, last]") != std::string::npos);
  CHECK(msg.find("cal.yaml:18:1: validation_seed: the fresh seeds 125..524 overlap the fit's seeds 123..") != std::string::npos);
  CHECK(msg.find("optimizer.max_evaluations") != std::string::npos);
}

TEST_CASE("calibration: parameters and targets are checked against the scenario") {
  test::TempDir dir;
  test::write_file(dir / "s.yaml", world("  - {name: Lab, hq: US, headcount: 10}\n"));
  const std::string text =
      "scenario: s.yaml\n"
      "parameters:\n"
      "  - {key: regions.CN.talent_muu, min: 0, max: 1}\n"
      "  - {key: market.lambda0, min: 0, max: 2, start: 0.5}\n"
      "targets:\n"
      "  - {name: raid, moment: raid_hires, value: 8, source_sd: 2, basis: b, source: s}\n"
      "  - {name: late, moment: cn_share_all, value: 0.5, at: 7, source_sd: 0.1, basis: b, source: s}\n"
      "untargeted:\n"
      "  - {name: stay, moment: stay_rate, region: US, origin: foreign, cohort: 1, after: 12}\n"
      "  - {name: where, moment: top_tier_location_share, region: XX}\n";
  cfg::Diagnostics d;
  auto spec = spec_from(text, dir / "cal.yaml", d);
  REQUIRE(spec.has_value());
  CHECK_FALSE(calib::Calibrator::create(*spec, d).has_value());
  const std::string msg = d.format();
  // no such key: the scenario has no value to start from
  CHECK(msg.find("cal.yaml:3:5: parameters[0]: the scenario has no number at 'regions.CN.talent_muu'") != std::string::npos);
  // λ0 = 2 is outside the key's range
  CHECK(msg.find("cal.yaml:4:5: parameters[1]: 'market.lambda0' = 2:") != std::string::npos);
  CHECK(msg.find("cal.yaml:6:5: targets[0]: moment 'raid': no single firm named 'OpenAI'") != std::string::npos);
  CHECK(msg.find("needs a raid event by Meta on OpenAI") != std::string::npos);
  CHECK(msg.find("cal.yaml:7:5: targets[1]: moment 'late': step at=7 is outside the run") != std::string::npos);
  CHECK(msg.find("cal.yaml:9:5: untargeted[0]: moment 'stay': cohort step 1 + after 12 is past the run's last step 2") !=
        std::string::npos);
  CHECK(msg.find("cal.yaml:10:5: untargeted[1]: moment 'where': the scenario has no region XX") != std::string::npos);
}

// ====================================================================== end to end

TEST_CASE("calibration: a tiny fit recovers the parameter that generated its target, and writes an overlay the scenario uses") {
  // 600 researchers (half CN), 3 steps, top share 0.2. Generate the target by simulating
  // cn_share_top at regions.CN.talent_mu = 0.3 with the fit's own seeds (42.., common random
  // numbers), then fit from −0.5 with source_sd 0.005. The fitted μ must be within 3 sandwich
  // SEs of 0.3. As in the baseline, the scenario extends an older overlay (μ = −0.2) that the
  // fit replaces. The verdict on fresh seeds (10⁶..) passes at the fit and fails at the start.
  test::TempDir dir;
  const std::string tiny =
      "run: {seed: 1, start: 2025-07, steps: 3}\n"
      "regions:\n"
      "  US: {pay_level: 1, talent_sigma: 0.6}\n"
      "  CN: {pay_level: 0.5, talent_sigma: 0.6}\n"
      "population: {researchers: 600, origin_shares: {US: 0.5, CN: 0.5}}\n"
      "market: {top_share: 0.2, elite_share: 0.01}\n"
      "firms:\n"
      "  - {name: Lab, hq: US, headcount: 250}\n"
      "  - {name: CN Lab, hq: CN, headcount: 250}\n";
  std::filesystem::create_directories(dir / "out");
  test::write_file(dir / "out/tiny_fitted.yaml", "regions: {US: {}, CN: {talent_mu: -0.2}}\n");
  test::write_file(dir / "tiny.yaml", "extends: out/tiny_fitted.yaml\n" + tiny);
  auto text = [](double value) {
    return "scenario: tiny.yaml\n"
           "replications: 3\n"
           "seed: 42\n"
           "validation_max_replications: 30\n"
           "parameters:\n"
           "  - {key: regions.CN.talent_mu, min: -1, max: 1, start: -0.5}\n"
           "targets:\n"
           "  - {name: CN top share, moment: cn_share_top, at: -1, value: " +
           std::to_string(value) +
           ", source_sd: 0.005, basis: generated by the model, source: test}\n"
           "untargeted:\n"
           "  - {name: US unemployment, moment: unemployment_rate, region: US}\n"
           "  - {name: CN output share, moment: output_share, region: CN}\n"
           "optimizer: {max_evaluations: 60, initial_step: 0.2}\n"
           "output: {overlay: out/tiny_fitted.yaml, report: out/report.md, results: out/results.yaml}\n";
  };
  cfg::Diagnostics d;
  auto gen_spec = spec_from(text(0.5), dir / "cal.yaml", d);
  REQUIRE_MESSAGE(gen_spec.has_value(), d.format());
  auto gen = calib::Calibrator::create(*gen_spec, d);
  REQUIRE_MESSAGE(gen.has_value(), d.format());
  const auto truth = gen->simulate({0.3});
  const double m_star = truth.mean[0];
  REQUIRE(truth.se[0] > 0);
  // The same seeds every time: a second simulation is identical.
  CHECK(gen->simulate({0.3}).reps == truth.reps);

  auto spec = spec_from(text(m_star), dir / "cal.yaml", d);
  REQUIRE(spec.has_value());
  auto cal = calib::Calibrator::create(*spec, d);
  REQUIRE_MESSAGE(cal.has_value(), d.format());
  const auto res = cal->run();
  const auto& r = res.smm;
  const double mu = r.best.x[0];
  INFO("fitted mu = " << mu << " (SE " << r.inf.se[0] << "), target " << m_star);
  REQUIRE(std::isfinite(r.inf.se[0]));
  CHECK(std::fabs(mu - 0.3) <= 3.0 * r.inf.se[0]);
  CHECK(r.search.converged);
  CHECK(r.best.objective <= r.start.objective);
  CHECK(r.history.size() <= 60);
  CHECK(r.inf.df == 0);  // one target, one parameter
  CHECK(r.id.rank == 1);
  REQUIRE(r.val.within.size() == 1);
  CHECK(r.val.within[0]);
  CHECK(r.val.seed == 1000000);

  // The overlay holds only the fitted key (regions in the scenario's order, no `extends`)
  // and the calibration's digest; the scenario that extends it now runs with the fitted value.
  test::write_file(spec->overlay, res.overlay_yaml);
  CHECK(res.overlay_yaml.find("# Fitted values: generated by `talentsim calibrate") == 0);
  CHECK(res.overlay_yaml.find("# calibration digest: " + spec->digest()) != std::string::npos);
  CHECK(res.overlay_yaml.find("\nextends:") == std::string::npos);
  CHECK(res.overlay_yaml.find("regions:\n  US: {}\n  CN:\n    talent_mu: " + cal->format_value(0, mu) + "\n") !=
        std::string::npos);
  const auto check = cal->check_overlay(spec->overlay, r.best.x);
  CHECK(check.errors.empty());
  CHECK(check.notes.empty());
  cfg::Diagnostics od;
  auto sc = cfg::load_scenario(dir / "tiny.yaml", {}, od);
  REQUIRE_MESSAGE(sc.has_value(), od.format());
  CHECK(sc->params.regions[std::size_t(sc->params.region_index("CN"))].talent_mu ==
        doctest::Approx(std::strtod(cal->format_value(0, mu).c_str(), nullptr)));
  CHECK(sc->params.region_index("US") == 0);        // the regions keep their order
  CHECK(sc->params.population.researchers == 600);  // everything else from the scenario
  // The check the calibrated-baseline test makes, on fresh seeds: passes at the fit, fails at the start.
  const auto ok = cal->check(r.best.x, 2000000, 6);
  const auto off = cal->check({-0.5}, 2000000, 6);
  CHECK(ok.within[0]);
  CHECK_FALSE(off.within[0]);
  CHECK(ok.tolerance[0] == doctest::Approx(2.0 * std::sqrt(0.005 * 0.005 + ok.fresh.sd[0] * ok.fresh.sd[0] / 6)));
  // A scenario that sets a fitted key itself would silently replace the fitted value: an error.
  std::string redefining = tiny;
  const std::string cn_line = "CN: {pay_level: 0.5, talent_sigma: 0.6}";
  redefining.replace(redefining.find(cn_line), cn_line.size(), "CN: {pay_level: 0.5, talent_sigma: 0.6, talent_mu: 0.1}");
  test::write_file(dir / "tiny.yaml", "extends: out/tiny_fitted.yaml\n" + redefining);
  const auto redefined = cal->check_overlay(spec->overlay, r.best.x);
  REQUIRE(redefined.errors.size() == 1);
  CHECK(redefined.errors[0].find("does not take regions.CN.talent_mu") != std::string::npos);
  // A scenario that does not extend the overlay does not use it: a note.
  test::write_file(dir / "tiny.yaml", tiny);
  const auto unused = cal->check_overlay(spec->overlay, r.best.x);
  CHECK(unused.errors.empty());
  REQUIRE(unused.notes.size() == 1);
  CHECK(unused.notes[0].find("does not extend the overlay") != std::string::npos);
  // The report: targets and untargeted moments side by side, parameters with SEs, J, identification.
  INFO(res.report_md);
  CHECK(res.report_md.find("| target | what and when | value | source_sd: basis | tolerance |") != std::string::npos);
  CHECK(res.report_md.find("| CN top share | `cn_share_top, at step 2` | " ) != std::string::npos);
  CHECK(res.report_md.find("0.005: generated by the model |") != std::string::npos);
  CHECK(res.report_md.find("Every target within its tolerance on fresh seeds.") != std::string::npos);
  CHECK(res.report_md.find("| CN top share | yes | `cn_share_top, at step 2` |") != std::string::npos);
  CHECK(res.report_md.find("| US unemployment | no | `unemployment_rate region US, over the horizon (steps 0..2)` |") !=
        std::string::npos);
  CHECK(res.report_md.find("Exactly identified: 1 targets, 1 parameters") != std::string::npos);
  CHECK(res.report_md.find("- Rank **1 of 1**") != std::string::npos);
  CHECK(res.report_md.find("**Converged.**") != std::string::npos);
  // The YAML of every number reads back.
  cfg::Diagnostics yd;
  auto y = cfg::parse_string(res.results_yaml, "results.yaml", yd);
  REQUIRE_MESSAGE(y.has_value(), yd.format());
  const cfg::Node* ms = y->find("moments");
  REQUIRE((ms && ms->is_seq() && ms->seq.size() == 3));
  CHECK(ms->seq[0].find("within")->scalar == "true");
  CHECK(ms->seq[1].find("targeted")->scalar == "false");
  CHECK(y->find("parameters")->seq[0].find("value")->scalar == cal->format_value(0, mu));
  CHECK(y->find("search")->find("converged")->scalar == "true");
  CHECK(y->find("identification")->find("rank")->scalar == "1");
}
