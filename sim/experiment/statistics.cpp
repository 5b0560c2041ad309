#include "sim/experiment/statistics.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>

#include "sim/engine/rng.hpp"

namespace ts::exp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double quantile_sorted(const std::vector<double>& xs, double q) {  // linear interpolation, xs sorted
  if (xs.empty()) return kNaN;
  const double h = (double(xs.size()) - 1.0) * q;
  const auto lo = std::size_t(std::floor(h));
  if (lo + 1 >= xs.size()) return xs.back();
  return xs[lo] + (h - double(lo)) * (xs[lo + 1] - xs[lo]);
}

/// 2.5% and 97.5% quantiles of the finite values of xs.
std::pair<double, double> interval95(std::vector<double> xs) {
  xs.erase(std::remove_if(xs.begin(), xs.end(), [](double x) { return !std::isfinite(x); }), xs.end());
  std::sort(xs.begin(), xs.end());
  return {quantile_sorted(xs, 0.025), quantile_sorted(xs, 0.975)};
}

/// Resample b of n indices (with replacement), from Philox keyed by the seed.
std::vector<std::size_t> resample(uint64_t seed, int64_t b, std::size_t n, uint64_t stream) {
  rng::Stream s(seed, uint32_t(b), stream, rng::Purpose::Bootstrap);
  std::vector<std::size_t> idx(n);
  for (auto& i : idx) i = rng::uniform_int(s, uint32_t(n));
  return idx;
}

}  // namespace

double t_quantile(double q, double df) {
  if (!(df > 0)) return kNaN;
  return boost::math::quantile(boost::math::students_t_distribution<double>(df), q);
}

Summary summarize(const std::vector<double>& xs) {
  Summary s;
  double sum = 0;
  for (double x : xs)
    if (std::isfinite(x)) sum += x, ++s.n;
  if (s.n == 0) {
    s.mean = s.sd = s.lo = s.hi = kNaN;
    return s;
  }
  s.mean = sum / double(s.n);
  if (s.n < 2) {
    s.sd = s.lo = s.hi = kNaN;
    return s;
  }
  double ss = 0;
  for (double x : xs)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(ss / double(s.n - 1));
  const double half = t_quantile(0.975, double(s.n - 1)) * s.sd / std::sqrt(double(s.n));
  s.lo = s.mean - half;
  s.hi = s.mean + half;
  return s;
}

SobolIndices sobol_indices(const std::vector<double>& fA, const std::vector<double>& fB,
                           const std::vector<std::vector<double>>& fAB) {
  SobolIndices out;
  const std::size_t N = fA.size(), k = fAB.size();
  out.S1.assign(k, kNaN);
  out.ST.assign(k, kNaN);
  if (N < 2) return out;
  double mean = 0;
  for (std::size_t j = 0; j < N; ++j) mean += fA[j] + fB[j];
  mean /= double(2 * N);
  double var = 0;
  for (std::size_t j = 0; j < N; ++j) var += (fA[j] - mean) * (fA[j] - mean) + (fB[j] - mean) * (fB[j] - mean);
  var /= double(2 * N);
  out.variance = var;
  if (!(var > 0)) return out;
  for (std::size_t i = 0; i < k; ++i) {
    double s1 = 0, st = 0;
    for (std::size_t j = 0; j < N; ++j) {
      s1 += (fB[j] - mean) * (fAB[i][j] - fA[j]);  // centred: see statistics.hpp
      st += (fA[j] - fAB[i][j]) * (fA[j] - fAB[i][j]);
    }
    out.S1[i] = s1 / double(N) / var;
    out.ST[i] = st / double(2 * N) / var;
  }
  return out;
}

MorrisIndices morris_indices(const std::vector<std::vector<double>>& ee) {
  MorrisIndices out;
  const std::size_t r = ee.size(), k = r ? ee[0].size() : 0;
  out.mu.assign(k, kNaN);
  out.mu_star.assign(k, kNaN);
  out.sigma.assign(k, kNaN);
  if (r == 0) return out;
  for (std::size_t i = 0; i < k; ++i) {
    double m = 0, ma = 0;
    for (const auto& t : ee) m += t[i], ma += std::fabs(t[i]);
    m /= double(r);
    ma /= double(r);
    double ss = 0;
    for (const auto& t : ee) ss += (t[i] - m) * (t[i] - m);
    out.mu[i] = m;
    out.mu_star[i] = ma;
    out.sigma[i] = r > 1 ? std::sqrt(ss / double(r - 1)) : kNaN;
  }
  return out;
}

Analysis analyze(const Design& design, const RunPlan& plan, const std::vector<uint8_t>& status,
                 const std::vector<double>& values, std::size_t K, int64_t bootstrap, uint64_t seed) {
  Analysis a;
  const auto V = std::size_t(plan.variants()), P = std::size_t(plan.points()), Rn = std::size_t(plan.replications());
  const std::size_t k = design.k;
  a.variants = V, a.points = P, a.outcomes = K, a.params = k;
  auto y = [&](std::size_t v, std::size_t p, std::size_t r, std::size_t o) {
    const auto id = std::size_t(plan.id(int64_t(p), int64_t(r), int64_t(v)));
    return status[id] == 1 ? values[id * K + o] : kNaN;
  };
  const std::size_t cells = V * P * K;
  a.n.assign(cells, 0);
  a.mean.assign(cells, kNaN), a.sd.assign(cells, kNaN), a.lo.assign(cells, kNaN), a.hi.assign(cells, kNaN);
  std::vector<double> point_mean(cells, kNaN);  // per-point means over replications: the sensitivity inputs
  std::vector<double> xs(Rn);
  for (std::size_t v = 0; v < V; ++v)
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t o = 0; o < K; ++o) {
        for (std::size_t r = 0; r < Rn; ++r) xs[r] = y(v, p, r, o);
        const Summary s = summarize(xs);
        const std::size_t c = (v * P + p) * K + o;
        a.n[c] = s.n, a.mean[c] = s.mean, a.sd[c] = s.sd, a.lo[c] = s.lo, a.hi[c] = s.hi;
        point_mean[c] = s.mean;
      }
  if (V > 1) {
    const std::size_t dcells = (V - 1) * P * K;
    a.d_n.assign(dcells, 0);
    a.d_mean.assign(dcells, kNaN), a.d_sd.assign(dcells, kNaN), a.d_lo.assign(dcells, kNaN), a.d_hi.assign(dcells, kNaN);
    for (std::size_t v = 1; v < V; ++v)
      for (std::size_t p = 0; p < P; ++p)
        for (std::size_t o = 0; o < K; ++o) {
          for (std::size_t r = 0; r < Rn; ++r) xs[r] = y(v, p, r, o) - y(0, p, r, o);
          const Summary s = summarize(xs);
          const std::size_t c = ((v - 1) * P + p) * K + o;
          a.d_n[c] = s.n, a.d_mean[c] = s.mean, a.d_sd[c] = s.sd, a.d_lo[c] = s.lo, a.d_hi[c] = s.hi;
        }
  }
  auto pm = [&](std::size_t v, std::size_t p, std::size_t o) { return point_mean[(v * P + p) * K + o]; };
  if (design.kind == DesignKind::Saltelli && k > 0) {
    a.sobol = true;
    const std::size_t N = std::size_t(design.base_samples), cells3 = V * K * k;
    for (auto* x : {&a.S1, &a.S1_lo, &a.S1_hi, &a.ST, &a.ST_lo, &a.ST_hi}) x->assign(cells3, kNaN);
    a.sobol_n.assign(V * K, 0);
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t o = 0; o < K; ++o) {
        std::vector<double> fA, fB;
        std::vector<std::vector<double>> fAB(k);
        for (std::size_t j = 0; j < N; ++j) {
          const std::size_t base = j * (k + 2);
          bool ok = std::isfinite(pm(v, base, o)) && std::isfinite(pm(v, base + k + 1, o));
          for (std::size_t i = 0; i < k && ok; ++i) ok = std::isfinite(pm(v, base + 1 + i, o));
          if (!ok) continue;
          fA.push_back(pm(v, base, o));
          fB.push_back(pm(v, base + k + 1, o));
          for (std::size_t i = 0; i < k; ++i) fAB[i].push_back(pm(v, base + 1 + i, o));
        }
        const std::size_t n = fA.size();
        a.sobol_n[v * K + o] = int64_t(n);
        const SobolIndices est = sobol_indices(fA, fB, fAB);
        std::vector<std::vector<double>> bs1(k), bst(k);
        for (int64_t b = 0; b < bootstrap && n >= 2; ++b) {
          const auto idx = resample(seed, b, n, 0);  // the same resamples for every variant and outcome
          std::vector<double> rA(n), rB(n);
          std::vector<std::vector<double>> rAB(k, std::vector<double>(n));
          for (std::size_t q = 0; q < n; ++q) {
            rA[q] = fA[idx[q]], rB[q] = fB[idx[q]];
            for (std::size_t i = 0; i < k; ++i) rAB[i][q] = fAB[i][idx[q]];
          }
          const SobolIndices e = sobol_indices(rA, rB, rAB);
          for (std::size_t i = 0; i < k; ++i) bs1[i].push_back(e.S1[i]), bst[i].push_back(e.ST[i]);
        }
        for (std::size_t i = 0; i < k; ++i) {
          const std::size_t c = (v * K + o) * k + i;
          a.S1[c] = est.S1[i], a.ST[c] = est.ST[i];
          if (bootstrap > 0 && n >= 2) {
            std::tie(a.S1_lo[c], a.S1_hi[c]) = interval95(bs1[i]);
            std::tie(a.ST_lo[c], a.ST_hi[c]) = interval95(bst[i]);
          }
        }
      }
  }
  if (design.kind == DesignKind::Morris && k > 0) {
    a.morris = true;
    const std::size_t r = std::size_t(design.trajectories), cells3 = V * K * k;
    for (auto* x : {&a.mu, &a.mu_star, &a.sigma, &a.mu_star_lo, &a.mu_star_hi}) x->assign(cells3, kNaN);
    a.morris_n.assign(V * K, 0);
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t o = 0; o < K; ++o) {
        std::vector<std::vector<double>> ee;
        for (std::size_t t = 0; t < r; ++t) {
          const std::size_t first = t * (k + 1);
          std::vector<double> e(k, kNaN);
          bool ok = std::isfinite(pm(v, first, o));
          for (std::size_t m = 0; m < k && ok; ++m) {
            const std::size_t i = std::size_t(design.moved[t * k + m]);
            const double du = design.u(first + m + 1, i) - design.u(first + m, i);
            const double y0 = pm(v, first + m, o), y1 = pm(v, first + m + 1, o);
            ok = std::isfinite(y1);
            e[i] = (y1 - y0) / du;
          }
          if (ok) ee.push_back(std::move(e));
        }
        a.morris_n[v * K + o] = int64_t(ee.size());
        const MorrisIndices m = morris_indices(ee);
        std::vector<std::vector<double>> bstar(k);
        for (int64_t b = 0; b < bootstrap && ee.size() >= 2; ++b) {
          const auto idx = resample(seed, b, ee.size(), 1);
          std::vector<std::vector<double>> re;
          for (auto q : idx) re.push_back(ee[q]);
          const MorrisIndices e = morris_indices(re);
          for (std::size_t i = 0; i < k; ++i) bstar[i].push_back(e.mu_star[i]);
        }
        for (std::size_t i = 0; i < k; ++i) {
          const std::size_t c = (v * K + o) * k + i;
          a.mu[c] = m.mu[i], a.mu_star[c] = m.mu_star[i], a.sigma[c] = m.sigma[i];
          if (bootstrap > 0 && ee.size() >= 2) std::tie(a.mu_star_lo[c], a.mu_star_hi[c]) = interval95(bstar[i]);
        }
      }
  }
  return a;
}

}  // namespace ts::exp
