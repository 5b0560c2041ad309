// Sobol' low-discrepancy sequence (Sobol' 1967) with the direction numbers of Joe and Kuo
// (2008), "new-joe-kuo-6.21201", for up to kSobolMaxDims dimensions.
//
// Point i is computed directly in Gray-code order (Antonov and Saleev 1979): with g = i ^ (i >> 1),
// coordinate j of point i is the XOR of the direction numbers V_j,k of the set bits k of g,
// divided by 2^32. This is the order scipy.stats.qmc.Sobol(scramble=False) produces; the first
// 2^m points of every coordinate are the multiples of 2^-m, each once.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace ts::exp {

inline constexpr int kSobolMaxDims = 100;

class Sobol {
 public:
  /// The first `dims` coordinates (1 <= dims <= kSobolMaxDims); throws std::invalid_argument otherwise.
  explicit Sobol(int dims);
  int dims() const { return dims_; }
  /// Point i (i < 2^32), coordinates in [0, 1).
  std::vector<double> point(uint64_t i) const;
  /// Coordinate j of point i as a 32-bit fraction (exact).
  uint32_t bits(uint64_t i, int j) const;

 private:
  int dims_;
  std::vector<std::array<uint32_t, 32>> v_;  ///< direction numbers V_j,k scaled by 2^32
};

}  // namespace ts::exp
