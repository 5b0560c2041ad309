// The calibrated baseline (MODEL.md §6): scenarios/baseline.yaml, as `talentsim run` loads it,
// takes every fitted key from the overlay scenarios/calibration/fitted.yaml and reproduces
// every target of scenarios/calibration/baseline_calibration.yaml within its stated
// tolerance, with the calibration's own evaluation (its reduced size, replications and seeds
// 123.., common random numbers). The raid package is a parameter of the calibration's raid
// experiment, not of the baseline: it is read from the overlay's header ("# fitted:").
//
// The test fails if the baseline does not extend the overlay, sets a fitted key itself, or
// the overlay holds values that do not reproduce the targets (a stale fit, e.g. after the
// engine's random streams changed: rerun the calibration). A negative control checks that the
// old hand-set values miss a target, so the check has power. About 12 runs of 12 steps at
// 300,000 researchers: 10–30 s on 2 cores.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sim/model/calibration.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;
namespace calib = model::calib;

namespace {

std::string canonical(const std::string& p) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(std::filesystem::absolute(p), ec).string();
}

/// "key = value" lines of the overlay's "# fitted:" header block.
std::map<std::string, std::string> header_values(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) != 0) break;
    if (line == "# fitted:") {
      in_block = true;
      continue;
    }
    if (!in_block || line.rfind("#   ", 0) != 0) continue;
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(4, eq - 4);
    std::string value = line.substr(eq + 3);
    value = value.substr(0, value.find(' '));
    out[key] = value;
  }
  return out;
}

std::string table(const calib::Calibrator& cal, const calib::Evaluation& e) { return "\n" + cal.table(e); }

}  // namespace

TEST_CASE("calibration: the calibrated baseline reproduces every target within its tolerance") {
  const std::string src = test::source_dir();
  cfg::Diagnostics d;
  auto spec = calib::load_calibration(src + "/scenarios/calibration/baseline_calibration.yaml", d);
  REQUIRE_MESSAGE(spec.has_value(), d.format());
  REQUIRE(!spec->overlay.empty());
  auto cal = calib::Calibrator::create(*spec, d);
  REQUIRE_MESSAGE(cal.has_value(), d.format());
  const auto& S = cal->spec();

  // The baseline as `talentsim run scenarios/baseline.yaml` loads it extends the overlay ...
  auto base = cfg::load_scenario(src + "/scenarios/baseline.yaml", {}, d);
  REQUIRE_MESSAGE(base.has_value(), d.format());
  const std::string overlay = canonical(S.overlay);
  bool extends = false;
  for (const auto& s : base->sources) extends |= canonical(s.path) == overlay;
  REQUIRE_MESSAGE(extends, "scenarios/baseline.yaml does not extend " << S.overlay);

  // ... and takes every fitted scenario key from it (not from a value of its own).
  const std::string overlay_text = test::read_file(S.overlay);
  const auto header = header_values(overlay_text);
  auto overlay_tree = cfg::parse_file(S.overlay, d);
  REQUIRE_MESSAGE((overlay_tree.has_value() && d.empty()), d.format());
  CHECK_MESSAGE(!overlay_tree->find("events"), "the overlay must not carry the calibration's events");
  CHECK_MESSAGE(!overlay_tree->find("extends"), "the overlay must not extend anything (the baseline extends it)");
  std::vector<double> x(S.parameters.size());
  for (std::size_t i = 0; i < S.parameters.size(); ++i) {
    const auto& key = S.parameters[i].key;
    CAPTURE(key);
    REQUIRE_MESSAGE(header.count(key), "the overlay's header has no fitted value of " << key);
    if (cal->is_experiment(i)) {
      x[i] = std::strtod(header.at(key).c_str(), nullptr);
      continue;
    }
    const cfg::Node* in_base = cfg::get_path(base->tree, key);
    const cfg::Node* in_overlay = cfg::get_path(*overlay_tree, key);
    REQUIRE(in_base);
    REQUIRE(in_overlay);
    REQUIRE(in_base->is_scalar());
    CHECK_MESSAGE(canonical(in_base->loc.file) == overlay,
                  "baseline.yaml takes " << key << " from " << in_base->loc.file << ":" << in_base->loc.line
                                         << ", not from the overlay");
    CHECK(in_base->scalar == in_overlay->scalar);
    CHECK(in_base->scalar == header.at(key));
    x[i] = std::strtod(in_base->scalar.c_str(), nullptr);
  }

  // Every target within its tolerance, at the calibration's seeds.
  const auto e = cal->simulate(x);
  INFO("at the baseline's values:" << table(*cal, e));
  REQUIRE(e.mean.size() == S.targets.size());
  for (std::size_t k = 0; k < S.targets.size(); ++k) {
    const auto& t = S.targets[k];
    CAPTURE(t.name);
    CHECK(std::isfinite(e.mean[k]));
    CHECK(std::fabs(e.mean[k] - t.value) <= t.tolerance);
  }

  // Negative control: the hand-set values of the baseline before it was calibrated (CN μ 0.12,
  // US μ 0, 650 CN entrants a month, 25% of CN-origin abroad) miss at least one target.
  std::vector<double> old = x;
  const std::map<std::string, double> hand = {{"regions.CN.talent_mu", 0.12},
                                              {"regions.US.talent_mu", 0.0},
                                              {"regions.CN.entrants_per_month", 650},
                                              {"population.abroad.CN", 0.25}};
  for (std::size_t i = 0; i < S.parameters.size(); ++i)
    if (auto it = hand.find(S.parameters[i].key); it != hand.end()) old[i] = it->second;
  const auto e_old = cal->simulate(old);
  INFO("at the hand-set values:" << table(*cal, e_old));
  bool missed = false;
  for (std::size_t k = 0; k < S.targets.size(); ++k)
    missed |= !(std::fabs(e_old.mean[k] - S.targets[k].value) <= S.targets[k].tolerance);
  CHECK(missed);
}
