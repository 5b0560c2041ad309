#include "sim/experiment/design.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "sim/engine/rng.hpp"
#include "sim/experiment/sobol.hpp"

namespace ts::exp {

namespace {

// Streams of the design seed (Purpose::Design), by the step field: what is drawn.
constexpr uint32_t kRandomPoints = 0, kLhsJitter = 1, kLhsStrata = 2, kMorrisTrajectory = 3;

void fill_values(Design& d, const std::vector<ParameterSpec>& params) {
  d.value.resize(d.n * d.k);
  d.text.resize(d.n * d.k);
  for (std::size_t i = 0; i < d.n; ++i)
    for (std::size_t j = 0; j < d.k; ++j) {
      const double x = params[j].value_at(d.unit[i * d.k + j]);
      d.value[i * d.k + j] = x;
      d.text[i * d.k + j] = params[j].text_of(x);
    }
}

/// A uniformly random permutation of 0..n-1 (Fisher–Yates) from one stream.
std::vector<uint32_t> permutation(std::size_t n, rng::Stream s) {
  std::vector<uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0u);
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng::uniform_int(s, uint32_t(i))]);
  return p;
}

}  // namespace

int64_t default_skip(int64_t n) {
  int64_t s = 1;
  while (s < n) s <<= 1;
  return s;
}

Design make_design(const std::vector<ParameterSpec>& params, const DesignSpec& spec) {
  Design d;
  d.kind = spec.kind;
  d.k = params.size();
  const std::size_t k = d.k;
  const uint64_t seed = spec.seed;
  switch (spec.kind) {
    case DesignKind::Grid: {
      std::vector<int64_t> levels(k);
      std::size_t n = 1;
      for (std::size_t j = 0; j < k; ++j) {
        levels[j] = params[j].grid_levels();
        if (levels[j] < 1) throw std::invalid_argument("grid: parameter " + params[j].key + " has no levels");
        n *= std::size_t(levels[j]);
      }
      d.n = n;
      d.unit.resize(n * k);
      for (std::size_t i = 0; i < n; ++i) {
        std::size_t rest = i;
        for (std::size_t j = k; j-- > 0;) {  // the last parameter varies fastest
          const auto level = int64_t(rest % std::size_t(levels[j]));
          rest /= std::size_t(levels[j]);
          d.unit[i * k + j] = params[j].grid_unit(level);
        }
      }
      break;
    }
    case DesignKind::List: {
      d.n = k ? params[0].values.size() : 1;
      d.unit.resize(d.n * k);
      for (std::size_t i = 0; i < d.n; ++i)
        for (std::size_t j = 0; j < k; ++j) d.unit[i * k + j] = (double(i) + 0.5) / double(params[j].values.size());
      break;
    }
    case DesignKind::Random: {
      d.n = std::size_t(spec.n);
      d.unit.resize(d.n * k);
      for (std::size_t i = 0; i < d.n; ++i) {
        rng::Stream s(seed, kRandomPoints, i, rng::Purpose::Design);
        for (std::size_t j = 0; j < k; ++j) d.unit[i * k + j] = rng::uniform01(s);
      }
      break;
    }
    case DesignKind::Lhs: {
      d.n = std::size_t(spec.n);
      d.unit.resize(d.n * k);
      for (std::size_t j = 0; j < k; ++j) {
        const auto strata = permutation(d.n, rng::Stream(seed, kLhsStrata, j, rng::Purpose::Design));
        for (std::size_t i = 0; i < d.n; ++i) {
          rng::Stream s(seed, kLhsJitter, i * k + j, rng::Purpose::Design);
          d.unit[i * k + j] = (double(strata[i]) + rng::uniform01(s)) / double(d.n);
        }
      }
      break;
    }
    case DesignKind::Sobol: {
      d.n = std::size_t(spec.n);
      d.skip = spec.skip >= 0 ? spec.skip : default_skip(spec.n);
      const Sobol sob{int(k)};
      d.unit.resize(d.n * k);
      for (std::size_t i = 0; i < d.n; ++i) {
        const auto p = sob.point(uint64_t(d.skip) + i);
        std::copy(p.begin(), p.end(), d.unit.begin() + std::ptrdiff_t(i * k));
      }
      break;
    }
    case DesignKind::Saltelli: {
      const std::size_t N = std::size_t(spec.n);
      d.base_samples = spec.n;
      d.skip = spec.skip >= 0 ? spec.skip : default_skip(spec.n);
      d.n = N * (k + 2);
      d.unit.resize(d.n * k);
      const Sobol sob{int(2 * k)};
      for (std::size_t j = 0; j < N; ++j) {
        const auto p = sob.point(uint64_t(d.skip) + j);
        const std::size_t base = j * (k + 2);
        for (std::size_t c = 0; c < k; ++c) {
          const double a = p[c], b = p[k + c];
          d.unit[base * k + c] = a;                     // A_j
          d.unit[(base + k + 1) * k + c] = b;           // B_j
          for (std::size_t i = 0; i < k; ++i)           // A_B^i_j: A_j with column i from B_j
            d.unit[(base + 1 + i) * k + c] = c == i ? b : a;
        }
      }
      break;
    }
    case DesignKind::Morris: {
      const int64_t p = spec.levels;
      const std::size_t r = std::size_t(spec.trajectories);
      d.trajectories = spec.trajectories;
      d.levels = p;
      d.delta = double(p) / (2.0 * double(p - 1));
      d.n = r * (k + 1);
      d.unit.resize(d.n * k);
      d.moved.resize(r * k);
      const int64_t step = p / 2;  // Δ in grid steps: Δ (p - 1) = p / 2
      for (std::size_t t = 0; t < r; ++t) {
        rng::Stream s(seed, kMorrisTrajectory, t, rng::Purpose::Design);
        std::vector<int64_t> level(k);
        for (std::size_t j = 0; j < k; ++j) level[j] = int64_t(rng::uniform_int(s, uint32_t(p)));
        const auto order = permutation(k, s);
        const std::size_t first = t * (k + 1);
        for (std::size_t j = 0; j < k; ++j) d.unit[first * k + j] = double(level[j]) / double(p - 1);
        for (std::size_t m = 0; m < k; ++m) {
          const std::size_t j = order[m];
          level[j] += (level[j] + step <= p - 1) ? step : -step;
          d.moved[t * k + m] = int32_t(j);
          for (std::size_t c = 0; c < k; ++c) d.unit[(first + m + 1) * k + c] = double(level[c]) / double(p - 1);
        }
      }
      break;
    }
  }
  if (k == 0) d.n = std::max<std::size_t>(d.n, 1);
  fill_values(d, params);
  return d;
}

}  // namespace ts::exp
