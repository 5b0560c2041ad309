// Nelder–Mead simplex search within bounds (the calibration's optimiser).
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "sim/model/calibration.hpp"

namespace ts::model::calib {

namespace {
struct BudgetExhausted {};
}  // namespace

NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& f, const std::vector<double>& lo,
                             const std::vector<double>& hi, const std::vector<double>& x0, const NelderMeadOptions& opt,
                             const std::vector<bool>& log_scale,
                             const std::function<std::vector<double>(const std::vector<double>&)>& canonical) {
  const std::size_t n = x0.size();
  if (n == 0 || lo.size() != n || hi.size() != n) throw std::invalid_argument("nelder_mead: bounds and start differ in size");
  auto is_log = [&](std::size_t i) { return i < log_scale.size() && log_scale[i]; };
  constexpr double kEps = 1e-12;
  auto to_u = [&](std::size_t i, double x) {
    const double u = is_log(i) ? (std::log(x) - std::log(lo[i])) / (std::log(hi[i]) - std::log(lo[i]))
                               : (x - lo[i]) / (hi[i] - lo[i]);
    return std::clamp(u, kEps, 1.0 - kEps);
  };
  auto from_u = [&](std::size_t i, double u) {
    const double x = is_log(i) ? std::exp(std::log(lo[i]) + u * (std::log(hi[i]) - std::log(lo[i]))) : lo[i] + u * (hi[i] - lo[i]);
    return std::clamp(x, lo[i], hi[i]);
  };
  auto logistic = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  auto logit = [](double u) { return std::log(u / (1.0 - u)); };
  using Vec = std::vector<double>;
  auto to_x = [&](const Vec& z) {
    Vec x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = from_u(i, logistic(z[i]));
    return canonical ? canonical(x) : x;
  };

  NelderMeadResult res;
  res.f = std::numeric_limits<double>::infinity();
  std::map<Vec, double> cache;
  auto eval = [&](const Vec& z) {
    const Vec x = to_x(z);
    if (auto it = cache.find(x); it != cache.end()) return it->second;
    if (res.evaluations >= opt.max_evaluations) throw BudgetExhausted{};
    double v = f(x);
    if (!std::isfinite(v)) v = std::numeric_limits<double>::max();
    ++res.evaluations;
    cache.emplace(x, v);
    if (v < res.f) {
      res.f = v;
      res.x = x;
    }
    return v;
  };

  // Gao & Han (2012) adaptive coefficients; the standard ones for n = 1.
  const double dn = double(n);
  const double alpha = 1.0, beta = n >= 2 ? 1.0 + 2.0 / dn : 2.0, gamma = n >= 2 ? 0.75 - 0.5 / dn : 0.5,
               delta = n >= 2 ? 1.0 - 1.0 / dn : 0.5;

  std::vector<Vec> zs(n + 1, Vec(n));
  Vec fs(n + 1);
  auto build = [&](const Vec& xc) {  // simplex around xc: one step of initial_step (in u) per coordinate
    for (std::size_t i = 0; i < n; ++i) zs[0][i] = logit(to_u(i, xc[i]));
    for (std::size_t k = 1; k <= n; ++k) {
      zs[k] = zs[0];
      const std::size_t i = k - 1;
      const double u0 = to_u(i, xc[i]);
      double u = u0 + opt.initial_step;
      if (u > 1.0 - 1e-6) u = u0 - opt.initial_step;
      zs[k][i] = logit(std::clamp(u, 1e-6, 1.0 - 1e-6));
    }
    for (std::size_t k = 0; k <= n; ++k) fs[k] = eval(zs[k]);
  };
  auto u_of = [&](const Vec& z) {
    Vec u(n);
    for (std::size_t i = 0; i < n; ++i) u[i] = logistic(z[i]);
    return u;
  };

  try {
    Vec start(n);
    for (std::size_t i = 0; i < n; ++i) start[i] = std::clamp(x0[i], lo[i], hi[i]);
    build(start);
    constexpr double kInfF = std::numeric_limits<double>::infinity();
    double restart_from = kInfF;  // the best objective when the last restart began
    const int64_t max_iter = 50 * std::max<int64_t>(opt.max_evaluations, 1) + 100;
    while (res.iterations < max_iter) {
      ++res.iterations;
      // Order the vertices (stable: ties keep their order, so the search is deterministic).
      std::vector<std::size_t> idx(n + 1);
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return fs[a] < fs[b]; });
      {
        std::vector<Vec> z2;
        Vec f2;
        for (auto k : idx) {
          z2.push_back(zs[k]);
          f2.push_back(fs[k]);
        }
        zs.swap(z2);
        fs.swap(f2);
      }
      // Convergence: objective spread and simplex size (in fractions of the ranges).
      double size = 0;
      const Vec ub = u_of(zs[0]);
      for (std::size_t k = 1; k <= n; ++k) {
        const Vec uk = u_of(zs[k]);
        for (std::size_t i = 0; i < n; ++i) size = std::max(size, std::fabs(uk[i] - ub[i]));
      }
      res.f_spread = fs[n] - fs[0];
      res.x_spread = size;
      if (fs[n] - fs[0] <= opt.ftol && size <= opt.xtol) {
        // Converged. A fresh full-size simplex around the best guards against a collapsed one;
        // once a restart gains nothing (within ftol), another would not either.
        if (restart_from < kInfF) res.last_restart_gain = restart_from - res.f;
        const bool gained = restart_from < kInfF && res.last_restart_gain > opt.ftol;
        if (res.restarts < opt.restarts && (res.restarts == 0 || gained)) {
          ++res.restarts;
          restart_from = res.f;
          build(res.x);
          continue;
        }
        res.converged = true;
        res.stop = "converged";
        break;
      }
      Vec c(n, 0.0);
      for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < n; ++i) c[i] += zs[k][i] / dn;
      auto along = [&](const Vec& from, double t) {  // c + t (from − c)
        Vec z(n);
        for (std::size_t i = 0; i < n; ++i) z[i] = c[i] + t * (from[i] - c[i]);
        return z;
      };
      const Vec zr = along(zs[n], -alpha);
      const double fr = eval(zr);
      if (fr < fs[0]) {
        const Vec ze = along(zs[n], -alpha * beta);
        const double fe = eval(ze);
        if (fe < fr) {
          zs[n] = ze;
          fs[n] = fe;
        } else {
          zs[n] = zr;
          fs[n] = fr;
        }
        continue;
      }
      if (fr < fs[n - 1]) {
        zs[n] = zr;
        fs[n] = fr;
        continue;
      }
      bool shrink = false;
      if (fr < fs[n]) {  // outside contraction
        const Vec zc = along(zs[n], -alpha * gamma);
        const double fc = eval(zc);
        if (fc <= fr) {
          zs[n] = zc;
          fs[n] = fc;
        } else {
          shrink = true;
        }
      } else {  // inside contraction
        const Vec zc = along(zs[n], gamma);
        const double fc = eval(zc);
        if (fc < fs[n]) {
          zs[n] = zc;
          fs[n] = fc;
        } else {
          shrink = true;
        }
      }
      if (shrink) {
        for (std::size_t k = 1; k <= n; ++k) {
          for (std::size_t i = 0; i < n; ++i) zs[k][i] = zs[0][i] + delta * (zs[k][i] - zs[0][i]);
          fs[k] = eval(zs[k]);
        }
      }
    }
    if (!res.converged) res.stop = "iteration limit";
  } catch (const BudgetExhausted&) {
    res.converged = false;
    res.stop = "evaluation budget";
  }
  return res;
}

}  // namespace ts::model::calib
