// Designs: the points of an experiment, in the unit cube and in the user's units.
//
// Every design is a list of points; point i gives each parameter j a unit coordinate
// u[i][j] in [0, 1] that the parameter maps to its value (ParameterSpec::value_at: the
// inverse CDF of its range or distribution, or the index of one of its values):
//   grid      every combination of the parameters' levels; the first parameter varies slowest
//   list      point i takes the i-th value of every parameter
//   random    n independent uniform points (Philox, keyed by the design seed and the point)
//   lhs       Latin hypercube: for each parameter, each of the n strata [s/n, (s+1)/n) holds
//             exactly one point (the strata permuted independently per parameter)
//   sobol     n points of the Sobol' sequence (Joe–Kuo direction numbers), from index `skip`
//   saltelli  for base samples j < N: A_j, A_B^1_j, ..., A_B^k_j, B_j (k + 2 points each), with
//             A_j and B_j the first and last k coordinates of point skip + j of the 2k-dimensional
//             Sobol' sequence, and A_B^i_j = A_j with coordinate i taken from B_j (Saltelli 2010)
//   morris    r trajectories of k + 1 points on a p-level grid {0, 1/(p-1), ..., 1}: a random
//             start, then each parameter in a random order moved once by Δ = p / (2(p-1))
//             (Morris 1991), up where that stays in [0, 1], else down
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/experiment/spec.hpp"

namespace ts::exp {

struct Design {
  DesignKind kind = DesignKind::Grid;
  std::size_t k = 0;       ///< parameters
  std::size_t n = 0;       ///< points
  std::vector<double> unit;        ///< [point][parameter] unit coordinates
  std::vector<double> value;       ///< [point][parameter] values in the user's units (text values: their index)
  std::vector<std::string> text;   ///< [point][parameter] the override text of the value
  int64_t base_samples = 0;        ///< saltelli: N
  int64_t trajectories = 0;        ///< morris: r
  int64_t levels = 0;              ///< morris: p
  double delta = 0;                ///< morris: Δ
  int64_t skip = 0;                ///< sobol, saltelli: first index of the sequence used
  std::vector<int32_t> moved;      ///< morris: [trajectory][step] the parameter moved at that step

  std::size_t points() const { return n; }
  double u(std::size_t point, std::size_t j) const { return unit[point * k + j]; }
  double v(std::size_t point, std::size_t j) const { return value[point * k + j]; }
  const std::string& t(std::size_t point, std::size_t j) const { return text[point * k + j]; }
};

/// The design's points. Deterministic: the same spec and seed give the same points.
Design make_design(const std::vector<ParameterSpec>& params, const DesignSpec& spec);

/// The default `skip` of the sobol and saltelli designs: the smallest power of two >= n (so
/// that n = 2^m points are one complete block of the sequence, and the all-zero point 0 is skipped).
int64_t default_skip(int64_t n);

}  // namespace ts::exp
