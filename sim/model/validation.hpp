// Textbook reductions (MODEL.md §8): run a scenario configured down to Burdett–Mortensen,
// Postel-Vinay–Robin or a two-region Markov chain, and compare with the closed forms.
#pragma once

#include <string>
#include <vector>

#include "sim/config/params.hpp"

namespace ts::model {

struct Check {
  std::string quantity;
  double theory = 0, simulated = 0, tolerance = 0;
  bool pass = false;
  std::string note;  ///< how the tolerance was derived
};

struct ValidationReport {
  std::string kind;
  std::vector<Check> checks;
  int64_t researchers = 0, steps = 0;
  double seconds = 0;
  bool pass() const;
  std::string table() const;
};

/// Runs burn-in + window steps of the scenario and checks it against theory.
/// Throws std::invalid_argument if the scenario is not configured as the reduction needs.
ValidationReport run_validation(const Params& p);

/// Two-sided normal tail probability of z (the false-alarm rate shared by every check).
double false_alarm(double z);

}  // namespace ts::model
