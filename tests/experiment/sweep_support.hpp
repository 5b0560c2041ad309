// Helpers of the sweep tests that run the real binary (test_sweep_cli.cpp, test_distributed.cpp):
// the small experiment, the command, and the comparison of two sweep files.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tests/support/helpers.hpp"

namespace ts::test::sweep {

inline std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string small() { return ts::test::source_dir() + "/tests/data/scenarios/small.yaml"; }

/// An experiment on the small test scenario: 12 steps, a 2 × 2 grid, `reps` replications.
inline std::string experiment(int reps, const std::string& extra = "") {
  return "base: " + q(small()) + "\nseed: 5\nreplications: " + std::to_string(reps) + R"Y(
steps: 12
parameters:
  firms.Meta.pay.max_package: {values: [1e6, 1e8]}
  firms.OpenAI.retention.rule: {values: [none, bertrand]}
outcomes:
  meta_elite: {metric: firm_count, firm: Meta, tier: elite}
  us_top_share: {metric: share, location: US, tier: [top, elite]}
  net_us_cn_top: {metric: net_flow, from: US, to: CN, tier: [top, elite]}
  us_top_pay: {metric: pay_percentile, location: US, tier: [top, elite], percentile: 50}
  hc_ratio: {metric: output_ratio, numerator: US, denominator: CN, highly_cited: true}
)Y" + extra;
}

inline ts::test::CommandResult talentsim(const std::string& args) { return ts::test::run(q(ts::test::binary()) + " " + args); }

/// Every dataset of a sweep file, without the ones that record timing and machines.
inline std::map<std::string, std::vector<double>> contents(const std::string& path) {
  auto all = ts::test::datasets(path);
  all.erase("/runs/seconds");
  all.erase("/runs/host");
  all.erase("/metadata/command_line");
  return all;
}

/// Equal values, NaN equal to NaN (empty cells).
inline bool same_values(const std::vector<double>& v, const std::vector<double>& w) {
  if (v.size() != w.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!(v[i] == w[i] || (std::isnan(v[i]) && std::isnan(w[i])))) return false;
  return true;
}

inline void check_same(const std::string& a, const std::string& b) {
  const auto x = contents(a), y = contents(b);
  REQUIRE(x.size() == y.size());
  for (const auto& [name, v] : x) {
    INFO("dataset " << name);
    REQUIRE(y.count(name));
    CHECK(same_values(v, y.at(name)));
  }
  auto fa = ts::h5::File::open_read(a), fb = ts::h5::File::open_read(b);
  for (const char* attr : {"status", "fingerprint", "git_commit"})
    CHECK(fa.root().attr_string(attr) == fb.root().attr_string(attr));
  for (const char* attr : {"runs", "runs_done", "runs_failed", "runs_pending", "steps", "seed"})
    CHECK(fa.root().attr_int(attr) == fb.root().attr_int(attr));
}

}  // namespace ts::test::sweep
