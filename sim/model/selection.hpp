// Selection on talent of who goes abroad (MODEL.md v2 §2, §4.2: study abroad and working abroad
// at the start rise with talent).
#pragma once

#include <boost/math/special_functions/erf.hpp>
#include <cmath>

#include "sim/engine/rng.hpp"

namespace ts::model {

/// The probit cut for a share p going: Φ⁻¹(1 − p) (−∞ for p ≥ 1, +∞ for p ≤ 0).
inline double selection_cut(double p) {
  if (p <= 0) return INFINITY;
  if (p >= 1) return -INFINITY;
  return -std::sqrt(2.0) * boost::math::erfc_inv(2.0 * (1.0 - p));
}

/// Whether a researcher of standardised ln-talent z goes (a share p, cut = selection_cut(p)):
/// ρ·z + √(1 − ρ²)·ε > cut with ε ~ N(0, 1) drawn from `st` (4 words). With z ~ N(0, 1) the
/// share going is p whatever ρ; ρ > 0 sends the more talented more often.
inline bool selected(double z, double rho, double cut, rng::Stream& st) {
  const double eps = rng::normal(st);
  return rho * z + std::sqrt(std::max(0.0, 1.0 - rho * rho)) * eps > cut;
}

}  // namespace ts::model
