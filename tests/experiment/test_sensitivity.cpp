// Statistics of a sweep (sim/experiment/statistics.cpp) against analytic answers, run through
// the whole sweep machinery (plan, executor, journal, sweep file) with a test-only evaluator.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "sim/experiment/sweep.hpp"
#include "sim/io/h5.hpp"
#include "tests/experiment/function_evaluator.hpp"
#include "tests/support/helpers.hpp"

using namespace ts::exp;
using ts::test::FunctionEvaluator;
using ts::test::TempDir;

namespace {

struct Swept {
  ExperimentSpec spec;
  Design design;
  SweepResult result;
  std::string path;
};

/// Runs the experiment `text` (with the test evaluator `f`) into dir/out.h5.
Swept sweep(const std::string& text, const FunctionEvaluator::Fn& f, const TempDir& dir, int jobs = 1,
            const std::set<int64_t>& fail = {}) {
  Swept s;
  ts::cfg::Diagnostics d;
  auto spec = parse_experiment_text(text, dir / "exp.yaml", {}, d);
  INFO(d.format());
  REQUIRE(spec);
  s.spec = *spec;
  s.design = make_design(s.spec.parameters, s.spec.design);
  FunctionEvaluator ev(s.design, s.spec.outcomes.size(), f);
  ev.fail_ = fail;
  SweepInfo info;
  info.spec = &s.spec;
  info.design = &s.design;
  info.plan = RunPlan(int64_t(s.design.points()), s.spec.replications, 1, s.spec.seed, s.spec.seeds);
  info.variant_names = {"base"};
  info.variant_scenarios = {"(function)"};
  info.variant_overrides = {""};
  info.steps = 1;
  LocalExecutor ex(jobs, 1);
  SweepOptions o;
  o.out = s.path = dir / "out.h5";
  std::atomic<bool> stop{false};
  std::ostringstream err;
  s.result = run_sweep(info, ev, ex, o, stop, err);
  INFO(err.str());
  return s;
}

std::vector<double> read(const std::string& path, const std::string& name) {
  auto f = ts::h5::File::open_read(path);
  return f.root().read<double>(name);
}

}  // namespace

TEST_CASE("statistics: Student t quantiles and the t interval of a mean") {
  CHECK(t_quantile(0.975, 9) == doctest::Approx(2.2621571627982).epsilon(1e-10));
  CHECK(t_quantile(0.975, 1) == doctest::Approx(12.706204736174).epsilon(1e-10));
  const Summary s = summarize({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, std::nan("")});
  CHECK(s.n == 10);
  CHECK(s.mean == doctest::Approx(5.5));
  CHECK(s.sd == doctest::Approx(std::sqrt(55.0 / 6.0)));  // sum of squares 82.5 over 9
  const double half = 2.2621571627982 * std::sqrt(55.0 / 6.0) / std::sqrt(10.0);
  CHECK(s.lo == doctest::Approx(5.5 - half));
  CHECK(s.hi == doctest::Approx(5.5 + half));
  CHECK(std::isnan(summarize({3.0}).sd));
  CHECK(summarize({}).n == 0);
}

// Ishigami: f = sin x1 + a sin² x2 + b x3⁴ sin x1, x_i ~ U(-π, π), a = 7, b = 0.1 (Ishigami and
// Homma 1990). V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2; V1 = (1 + bπ⁴/5)²/2, V2 = a²/8, V13 = b²π⁸(1/18 − 1/50);
// S1 = V1/V = 0.3139, S2 = V2/V = 0.4424, S3 = 0; ST1 = (V1 + V13)/V = 0.5576, ST2 = 0.4424, ST3 = V13/V = 0.2437.
TEST_CASE("sensitivity: Sobol indices of the Ishigami function (saltelli design, N = 8192, seed 1)") {
  const double pi = 3.14159265358979323846, a = 7, b = 0.1;
  const double V = a * a / 8 + b * std::pow(pi, 4) / 5 + b * b * std::pow(pi, 8) / 18 + 0.5;
  const double V1 = 0.5 * std::pow(1 + b * std::pow(pi, 4) / 5, 2), V2 = a * a / 8;
  const double V13 = b * b * std::pow(pi, 8) * (1.0 / 18 - 1.0 / 50);
  const double S1[3] = {V1 / V, V2 / V, 0}, ST[3] = {(V1 + V13) / V, V2 / V, V13 / V};
  CHECK(S1[0] == doctest::Approx(0.3139).epsilon(1e-3));
  CHECK(ST[2] == doctest::Approx(0.2437).epsilon(1e-3));
  TempDir dir;
  const auto s = sweep(R"Y(base: none.yaml
seed: 1
parameters:
  x1: {range: [-3.141592653589793, 3.141592653589793]}
  x2: {range: [-3.141592653589793, 3.141592653589793]}
  x3: {range: [-3.141592653589793, 3.141592653589793]}
design: {kind: saltelli, n: 8192, bootstrap: 200}
outcomes:
  y: {metric: stock}
  y_plus_1e4: {metric: stock}
)Y",
                       [&](const std::vector<double>& x, const RunSpec&) {
                         const double y = std::sin(x[0]) + a * std::pow(std::sin(x[1]), 2) + b * std::pow(x[2], 4) * std::sin(x[0]);
                         return std::vector<double>{y, y + 1e4};
                       },
                       dir, 2);
  REQUIRE(s.result.exit_code == 0);
  CHECK(s.result.done == 8192 * 5);
  // Read back from the file: [variant][outcome][parameter]
  const auto s1 = read(s.path, "sensitivity/sobol/S1"), st = read(s.path, "sensitivity/sobol/ST");
  const auto s1lo = read(s.path, "sensitivity/sobol/S1_lo"), s1hi = read(s.path, "sensitivity/sobol/S1_hi");
  const auto stlo = read(s.path, "sensitivity/sobol/ST_lo"), sthi = read(s.path, "sensitivity/sobol/ST_hi");
  // Tolerance 0.02 absolute at N = 8192 (the estimators' errors at this N are below 0.01 for
  // quasi-random samples), and each 95% bootstrap interval is shorter than 0.1 and within 0.02
  // of the true value.
  // The same function plus 10^4: the indices do not depend on the mean (the first-order estimator
  // centres f(B); uncentred, its standard error here would be about 10^4 · 3 / (V √N) ≈ 20).
  for (int i = 0; i < 3; ++i) {
    CHECK(s1[3 + i] == doctest::Approx(s1[i]).epsilon(1e-6));
    CHECK(st[3 + i] == doctest::Approx(st[i]).epsilon(1e-6));
  }
  for (int i = 0; i < 3; ++i)
    MESSAGE("Ishigami x" << i + 1 << ": S1 " << s1[i] << " [" << s1lo[i] << ", " << s1hi[i] << "] (exact " << S1[i] << "), ST "
                         << st[i] << " [" << stlo[i] << ", " << sthi[i] << "] (exact " << ST[i] << ")");
  for (int i = 0; i < 3; ++i) {
    INFO("x" << i + 1 << ": S1 " << s1[i] << " [" << s1lo[i] << ", " << s1hi[i] << "], ST " << st[i] << " [" << stlo[i] << ", "
             << sthi[i] << "]");
    CHECK(std::fabs(s1[i] - S1[i]) < 0.02);
    CHECK(std::fabs(st[i] - ST[i]) < 0.02);
    CHECK(s1hi[i] - s1lo[i] < 0.1);
    CHECK(sthi[i] - stlo[i] < 0.1);
    CHECK(s1lo[i] - 0.02 < S1[i]);
    CHECK(S1[i] < s1hi[i] + 0.02);
    CHECK(stlo[i] - 0.02 < ST[i]);
    CHECK(ST[i] < sthi[i] + 0.02);
  }
}

TEST_CASE("sensitivity: Sobol indices of a linear function are c_i² var_i / Σ c_j² var_j, first order = total") {
  TempDir dir;
  const auto s = sweep(R"Y(base: none.yaml
parameters:
  a: {range: [0, 1]}
  b: {range: [0, 2]}
  c: {range: [0, 1]}
design: {kind: saltelli, n: 4096, bootstrap: 0}
outcomes:
  y: {metric: stock}
)Y",
                       [](const std::vector<double>& x, const RunSpec&) { return std::vector<double>{3 * x[0] + 1 * x[1] + 0 * x[2]}; },
                       dir);
  REQUIRE(s.result.exit_code == 0);
  // variances: 9/12, 4/12, 0 -> shares 9/13, 4/13, 0
  const double want[3] = {9.0 / 13, 4.0 / 13, 0};
  const auto& a = s.result.analysis;
  for (int i = 0; i < 3; ++i) {
    CHECK(a.S1[i] == doctest::Approx(want[i]).epsilon(0.01));
    CHECK(a.ST[i] == doctest::Approx(want[i]).epsilon(0.01));
  }
  CHECK(a.ST[2] == 0.0);  // x3 has no effect: f(A) = f(A_B^3) exactly
}

TEST_CASE("sensitivity: Morris μ* of a linear function is |c_i| times the range, σ is 0") {
  TempDir dir;
  const double c[4] = {2.0, -3.0, 0.5, 0.0};
  const auto s = sweep(R"Y(base: none.yaml
parameters:
  a: {range: [0, 1]}
  b: {range: [10, 12]}
  c: {range: [-1, 1]}
  d: {range: [0, 5]}
design: {kind: morris, trajectories: 12, levels: 4, seed: 9}
outcomes:
  y: {metric: stock}
)Y",
                       [&](const std::vector<double>& x, const RunSpec&) {
                         double y = 1;
                         for (int i = 0; i < 4; ++i) y += c[i] * x[i];
                         return std::vector<double>{y};
                       },
                       dir);
  REQUIRE(s.result.exit_code == 0);
  const double range[4] = {1, 2, 2, 5};
  const auto mu_star = read(s.path, "sensitivity/morris/mu_star"), mu = read(s.path, "sensitivity/morris/mu");
  const auto sigma = read(s.path, "sensitivity/morris/sigma");
  for (int i = 0; i < 4; ++i) {
    CHECK(mu_star[i] == doctest::Approx(std::fabs(c[i]) * range[i]).epsilon(1e-9));
    CHECK(mu[i] == doctest::Approx(c[i] * range[i]).epsilon(1e-9));
    CHECK(sigma[i] == doctest::Approx(0).epsilon(1e-9));
  }
}

TEST_CASE("sweep: a failing run is recorded with its error, the others run, and the sweep exits 1") {
  TempDir dir;
  const auto s = sweep(R"Y(base: none.yaml
replications: 3
parameters:
  a: {values: [1, 2]}
outcomes:
  y: {metric: stock}
)Y",
                       [](const std::vector<double>& x, const RunSpec& r) { return std::vector<double>{x[0] * 10 + double(r.replication)}; },
                       dir, 2, {3});
  CHECK(s.result.exit_code == 1);
  CHECK(s.result.done == 5);
  CHECK(s.result.failed == 1);
  REQUIRE(s.result.failures.size() == 1);
  CHECK(s.result.failures[0].id == 3);
  const SweepRuns runs = read_runs(s.path);
  CHECK(runs.status[3] == uint8_t(RunStatus::Failed));
  CHECK(runs.error[3] == "run 3 fails on purpose");
  CHECK(std::isnan(runs.values[3]));
  for (int i : {0, 1, 2, 4, 5}) {
    CHECK(runs.status[std::size_t(i)] == uint8_t(RunStatus::Done));
    CHECK(runs.error[std::size_t(i)].empty());
  }
  // run 3 = replication 1 of point 1: the summary of point 1 has n = 2, mean of 20 and 22
  const auto n = read(s.path, "summary/n"), mean = read(s.path, "summary/mean");
  CHECK(n[0] == 3);
  CHECK(n[1] == 2);
  CHECK(mean[0] == doctest::Approx(11));
  CHECK(mean[1] == doctest::Approx(21));
  auto f = ts::h5::File::open_read(s.path);
  CHECK(f.root().attr_string("status") == "complete");
  CHECK(f.root().attr_int("runs_failed") == 1);
}
