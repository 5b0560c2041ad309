// Statistics of a finished sweep: per-point summaries, paired differences between variants,
// and the sensitivity indices the design supports (docs/experiments.md, "Statistics").
//
//   summaries    per variant, point and outcome, over the replications that finished with a
//                finite value: n, mean, sd (n − 1), and the 95% t interval of the mean,
//                mean ± t(0.975, n − 1) · sd / √n
//   differences  per variant (but the base), point and outcome: d_r = variant_r − base_r over
//                the replications where both are finite (paired: same point, same seed); the
//                same statistics of d
//   sobol        (saltelli designs) on the per-point means over replications, per variant and
//                outcome: first-order S_i = mean_j (f(B)_j − f0)(f(A_B^i)_j − f(A)_j) / V (Saltelli
//                et al. 2010) and total ST_i = mean_j (f(A)_j − f(A_B^i)_j)² / (2V) (Jansen 1999),
//                f0 and V the mean and variance of f(A) and f(B) together; 95% intervals from the
//                2.5% and 97.5% quantiles of `bootstrap` resamples of the base samples j. Centring
//                f(B) by f0 leaves the first-order estimator's expectation unchanged (E f(A_B^i) =
//                E f(A)) but removes the variance a large mean adds: uncentred, a median pay of
//                $1M that varies by a few percent gave estimates like −12 [−46, 21] at N = 64.
//   morris       (morris designs) elementary effects EE_i = (f(x + Δe_i) − f(x)) / ±Δ, in unit
//                coordinates (the change over the parameter's whole range), per trajectory:
//                μ = mean EE, μ* = mean |EE|, σ = sd EE (n − 1); a 95% bootstrap interval of μ*
//                over trajectories
// Samples with a missing value (a failed run, a NaN outcome) are left out: a base sample of
// the saltelli design needs all its k + 2 points, a trajectory all its k + 1.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/experiment/design.hpp"
#include "sim/experiment/plan.hpp"

namespace ts::exp {

/// The q-quantile of Student's t distribution with df degrees of freedom.
double t_quantile(double q, double df);

struct Summary {
  int64_t n = 0;
  double mean = 0, sd = 0, lo = 0, hi = 0;  ///< NaN where undefined (n = 0; sd, lo, hi need n >= 2)
};
/// n, mean, sd and the 95% t interval of the mean of the finite values of xs.
Summary summarize(const std::vector<double>& xs);

struct SobolIndices {
  std::vector<double> S1, ST;  ///< per parameter
  double variance = 0;
};
/// Saltelli (2010) first-order (with f(B) centred) and Jansen total indices from f(A) and f(B)
/// (N values each) and f(A_B^i) (k vectors of N).
SobolIndices sobol_indices(const std::vector<double>& fA, const std::vector<double>& fB,
                           const std::vector<std::vector<double>>& fAB);

struct MorrisIndices {
  std::vector<double> mu, mu_star, sigma;  ///< per parameter
};
/// ee[t][i]: the elementary effect of parameter i in trajectory t.
MorrisIndices morris_indices(const std::vector<std::vector<double>>& ee);

struct Analysis {
  std::size_t variants = 0, points = 0, outcomes = 0, params = 0;
  // [variant][point][outcome]
  std::vector<int64_t> n;
  std::vector<double> mean, sd, lo, hi;
  // [variant − 1][point][outcome]: variant − base
  std::vector<int64_t> d_n;
  std::vector<double> d_mean, d_sd, d_lo, d_hi;
  // saltelli: [variant][outcome][parameter]; sobol_n [variant][outcome]: base samples used
  bool sobol = false;
  std::vector<double> S1, S1_lo, S1_hi, ST, ST_lo, ST_hi;
  std::vector<int64_t> sobol_n;
  // morris: [variant][outcome][parameter]; morris_n [variant][outcome]: trajectories used
  bool morris = false;
  std::vector<double> mu, mu_star, sigma, mu_star_lo, mu_star_hi;
  std::vector<int64_t> morris_n;
};

/// Everything above from the runs' statuses (1 = done) and outcome values ([run][outcome]).
/// Bootstrap resamples are drawn from Philox keyed by `seed` (Purpose::Bootstrap).
Analysis analyze(const Design& design, const RunPlan& plan, const std::vector<uint8_t>& status,
                 const std::vector<double>& values, std::size_t outcomes, int64_t bootstrap, uint64_t seed);

}  // namespace ts::exp
