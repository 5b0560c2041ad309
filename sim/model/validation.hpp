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

/// A distribution a check compares with theory, for plots (`validate --json`): at each point x
/// (or category), the closed form and the simulated value.
struct Distribution {
  std::string name;     ///< what is distributed, e.g. "G: pay of the employed"
  std::string check;    ///< the quantity of the check it belongs to
  std::string x_label;  ///< the x axis, with units
  std::string y_label;  ///< the y axis, with units
  std::vector<std::string> categories;  ///< categorical x (one per point); empty for numeric x
  std::vector<double> x, theory, simulated;
};

struct ValidationReport {
  std::string kind;
  std::vector<Check> checks;
  std::vector<Distribution> distributions;
  int64_t researchers = 0, steps = 0;
  uint64_t seed = 0;
  int64_t burn_in = 0, window = 0;
  double seconds = 0;
  bool pass() const;
  std::string table() const;
  /// The report as a JSON object: `context` (name, value as text) first, then kind, pass, sizes,
  /// every check and every distribution (non-finite numbers as null).
  std::string json(const std::vector<std::pair<std::string, std::string>>& context = {}) const;
};

/// Runs burn-in + window steps of the scenario and checks it against theory.
/// Throws std::invalid_argument if the scenario is not configured as the reduction needs.
ValidationReport run_validation(const Params& p);

/// Two-sided normal tail probability of z (the false-alarm rate shared by every check).
double false_alarm(double z);

}  // namespace ts::model
