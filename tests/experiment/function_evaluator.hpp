// A test-only evaluator: each run's outcomes are a function of its point's parameter values
// (and its seed), so the sweep machinery (plan, executor, sink, file, statistics) can be
// checked against functions with known answers.
#pragma once

#include <functional>
#include <set>
#include <stdexcept>
#include <vector>

#include "sim/experiment/design.hpp"
#include "sim/experiment/executor.hpp"

namespace ts::test {

class FunctionEvaluator : public exp::Evaluator {
 public:
  using Fn = std::function<std::vector<double>(const std::vector<double>& x, const exp::RunSpec& run)>;
  FunctionEvaluator(const exp::Design& d, std::size_t outcomes, Fn f) : d_(d), k_(outcomes), f_(std::move(f)) {}
  std::optional<std::vector<double>> evaluate(const exp::RunSpec& run, int, const std::atomic<bool>& stop) override {
    if (stop.load()) return std::nullopt;
    if (fail_.count(run.id)) throw std::runtime_error("run " + std::to_string(run.id) + " fails on purpose");
    std::vector<double> x(d_.k);
    for (std::size_t j = 0; j < d_.k; ++j) x[j] = d_.v(std::size_t(run.point), j);
    return f_(x, run);
  }
  std::size_t outcomes() const override { return k_; }
  std::set<int64_t> fail_;  ///< runs that throw

 private:
  const exp::Design& d_;
  std::size_t k_;
  Fn f_;
};

}  // namespace ts::test
