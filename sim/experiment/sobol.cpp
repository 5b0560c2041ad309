#include "sim/experiment/sobol.hpp"

#include <stdexcept>
#include <string>

namespace ts::exp {

namespace {

// Direction numbers for dimensions 2..101: {a, m_1, ..., m_s} (s = the degree of the primitive
// polynomial; a its interior coefficients), from S. Joe and F. Y. Kuo, "Constructing Sobol
// sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654,
// file new-joe-kuo-6.21201, https://web.maths.unsw.edu.au/~fkuo/sobol/ .
// Copyright (c) 2008, Frances Y. Kuo and Stephen Joe. All rights reserved. Redistribution and use
// in source and binary forms, with or without modification, are permitted provided that the
// following conditions are met: redistributions of source code must retain the above copyright
// notice, this list of conditions and the following disclaimer; redistributions in binary form
// must reproduce it in the documentation and/or other materials provided with the distribution;
// neither the names of the copyright holders nor the names of the University of New South Wales
// and the University of Waikato and its contributors may be used to endorse or promote products
// derived from this software without specific prior written permission. THIS SOFTWARE IS
// PROVIDED BY THE COPYRIGHT HOLDERS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES ARE DISCLAIMED.
struct Row {
  uint32_t a;
  uint32_t m[10];
  int s;
};
#define R1(a, m1) {a, {m1}, 1}
#define R2(a, m1, m2) {a, {m1, m2}, 2}
#define R3(a, m1, m2, m3) {a, {m1, m2, m3}, 3}
#define R4(a, m1, m2, m3, m4) {a, {m1, m2, m3, m4}, 4}
#define R5(a, m1, m2, m3, m4, m5) {a, {m1, m2, m3, m4, m5}, 5}
#define R6(a, m1, m2, m3, m4, m5, m6) {a, {m1, m2, m3, m4, m5, m6}, 6}
#define R7(a, m1, m2, m3, m4, m5, m6, m7) {a, {m1, m2, m3, m4, m5, m6, m7}, 7}
#define R8(a, m1, m2, m3, m4, m5, m6, m7, m8) {a, {m1, m2, m3, m4, m5, m6, m7, m8}, 8}
#define R9(a, m1, m2, m3, m4, m5, m6, m7, m8, m9) {a, {m1, m2, m3, m4, m5, m6, m7, m8, m9}, 9}
const Row kRows[] = {
    R1(0, 1),
    R2(1, 1, 3),
    R3(1, 1, 3, 1), R3(2, 1, 1, 1),
    R4(1, 1, 1, 3, 3), R4(4, 1, 3, 5, 13),
    R5(2, 1, 1, 5, 5, 17), R5(4, 1, 1, 5, 5, 5), R5(7, 1, 1, 7, 11, 19), R5(11, 1, 1, 5, 1, 1),
    R5(13, 1, 1, 1, 3, 11), R5(14, 1, 3, 5, 5, 31),
    R6(1, 1, 3, 3, 9, 7, 49), R6(13, 1, 1, 1, 15, 21, 21), R6(16, 1, 3, 1, 13, 27, 49),
    R6(19, 1, 1, 1, 15, 7, 5), R6(22, 1, 3, 1, 15, 13, 25), R6(25, 1, 1, 5, 5, 19, 61),
    R7(1, 1, 3, 7, 11, 23, 15, 103), R7(4, 1, 3, 7, 13, 13, 15, 69), R7(7, 1, 1, 3, 13, 7, 35, 63),
    R7(8, 1, 3, 5, 9, 1, 25, 53), R7(14, 1, 3, 1, 13, 9, 35, 107), R7(19, 1, 3, 1, 5, 27, 61, 31),
    R7(21, 1, 1, 5, 11, 19, 41, 61), R7(28, 1, 3, 5, 3, 3, 13, 69), R7(31, 1, 1, 7, 13, 1, 19, 1),
    R7(32, 1, 3, 7, 5, 13, 19, 59), R7(37, 1, 1, 3, 9, 25, 29, 41), R7(41, 1, 3, 5, 13, 23, 1, 55),
    R7(42, 1, 3, 7, 3, 13, 59, 17), R7(50, 1, 3, 1, 3, 5, 53, 69), R7(55, 1, 1, 5, 5, 23, 33, 13),
    R7(56, 1, 1, 7, 7, 1, 61, 123), R7(59, 1, 1, 7, 9, 13, 61, 49), R7(62, 1, 3, 3, 5, 3, 55, 33),
    R8(14, 1, 3, 1, 15, 31, 13, 49, 245), R8(21, 1, 3, 5, 15, 31, 59, 63, 97),
    R8(22, 1, 3, 1, 11, 11, 11, 77, 249), R8(38, 1, 3, 1, 11, 27, 43, 71, 9),
    R8(47, 1, 1, 7, 15, 21, 11, 81, 45), R8(49, 1, 3, 7, 3, 25, 31, 65, 79),
    R8(50, 1, 3, 1, 1, 19, 11, 3, 205), R8(52, 1, 1, 5, 9, 19, 21, 29, 157),
    R8(56, 1, 3, 7, 11, 1, 33, 89, 185), R8(67, 1, 3, 3, 3, 15, 9, 79, 71),
    R8(70, 1, 3, 7, 11, 15, 39, 119, 27), R8(84, 1, 1, 3, 1, 11, 31, 97, 225),
    R8(97, 1, 1, 1, 3, 23, 43, 57, 177), R8(103, 1, 3, 7, 7, 17, 17, 37, 71),
    R8(115, 1, 3, 1, 5, 27, 63, 123, 213), R8(122, 1, 1, 3, 5, 11, 43, 53, 133),
    R9(8, 1, 3, 5, 5, 29, 17, 47, 173, 479), R9(13, 1, 3, 3, 11, 3, 1, 109, 9, 69),
    R9(16, 1, 1, 1, 5, 17, 39, 23, 5, 343), R9(22, 1, 3, 1, 5, 25, 15, 31, 103, 499),
    R9(25, 1, 1, 1, 11, 11, 17, 63, 105, 183), R9(44, 1, 1, 5, 11, 9, 29, 97, 231, 363),
    R9(47, 1, 1, 5, 15, 19, 45, 41, 7, 383), R9(52, 1, 3, 7, 7, 31, 19, 83, 137, 221),
    R9(55, 1, 1, 1, 3, 23, 15, 111, 223, 83), R9(59, 1, 1, 5, 13, 31, 15, 55, 25, 161),
    R9(62, 1, 1, 3, 13, 25, 47, 39, 87, 257), R9(67, 1, 1, 1, 11, 21, 53, 125, 249, 293),
    R9(74, 1, 1, 7, 11, 11, 7, 57, 79, 323), R9(81, 1, 1, 5, 5, 17, 13, 81, 3, 131),
    R9(82, 1, 1, 7, 13, 23, 7, 65, 251, 475), R9(87, 1, 3, 5, 1, 9, 43, 3, 149, 11),
    R9(91, 1, 1, 3, 13, 31, 13, 13, 255, 487), R9(94, 1, 3, 3, 1, 5, 63, 89, 91, 127),
    R9(103, 1, 1, 3, 3, 1, 19, 123, 127, 237), R9(104, 1, 1, 5, 7, 23, 31, 37, 243, 289),
    R9(109, 1, 1, 5, 11, 17, 53, 117, 183, 491), R9(122, 1, 1, 1, 5, 1, 13, 13, 209, 345),
    R9(124, 1, 1, 3, 15, 1, 57, 115, 7, 33), R9(137, 1, 3, 1, 11, 7, 43, 81, 207, 175),
    R9(138, 1, 3, 1, 1, 15, 27, 63, 255, 49), R9(143, 1, 3, 5, 3, 27, 61, 105, 171, 305),
    R9(145, 1, 1, 5, 3, 1, 3, 57, 249, 149), R9(152, 1, 1, 3, 5, 5, 57, 15, 13, 159),
    R9(157, 1, 1, 1, 11, 7, 11, 105, 141, 225), R9(167, 1, 3, 3, 5, 27, 59, 121, 101, 271),
    R9(173, 1, 3, 5, 9, 11, 49, 51, 59, 115), R9(176, 1, 1, 7, 1, 23, 45, 125, 71, 419),
    R9(181, 1, 1, 3, 5, 23, 5, 105, 109, 75), R9(182, 1, 1, 7, 15, 7, 11, 67, 121, 453),
    R9(185, 1, 3, 7, 3, 9, 13, 31, 27, 449), R9(191, 1, 3, 1, 15, 19, 39, 39, 89, 15),
    R9(194, 1, 1, 1, 1, 1, 33, 73, 145, 379), R9(199, 1, 3, 1, 15, 15, 43, 29, 13, 483),
    R9(218, 1, 1, 7, 3, 19, 27, 85, 131, 431), R9(220, 1, 3, 3, 3, 5, 35, 23, 195, 349),
    R9(227, 1, 3, 3, 7, 9, 27, 39, 59, 297), R9(229, 1, 1, 3, 9, 11, 17, 13, 241, 157),
    R9(230, 1, 3, 7, 15, 25, 57, 33, 189, 213), R9(234, 1, 1, 7, 1, 9, 55, 73, 83, 217),
    R9(236, 1, 3, 3, 13, 19, 27, 23, 113, 249), R9(241, 1, 3, 5, 3, 23, 43, 3, 253, 479),
    R9(244, 1, 1, 5, 5, 11, 5, 45, 117, 217),
};
#undef R1
#undef R2
#undef R3
#undef R4
#undef R5
#undef R6
#undef R7
#undef R8
#undef R9
static_assert(sizeof(kRows) / sizeof(kRows[0]) == kSobolMaxDims - 1);

}  // namespace

Sobol::Sobol(int dims) : dims_(dims) {
  if (dims < 1 || dims > kSobolMaxDims)
    throw std::invalid_argument("Sobol: " + std::to_string(dims) + " dimensions (1.." + std::to_string(kSobolMaxDims) + " supported)");
  v_.resize(std::size_t(dims));
  for (int k = 1; k <= 32; ++k) v_[0][std::size_t(k - 1)] = uint32_t(1) << (32 - k);
  for (int j = 1; j < dims; ++j) {
    const Row& r = kRows[j - 1];
    auto& v = v_[std::size_t(j)];
    const int s = r.s;
    for (int k = 1; k <= 32; ++k) {
      if (k <= s) {
        v[std::size_t(k - 1)] = r.m[k - 1] << (32 - k);
        continue;
      }
      uint32_t x = v[std::size_t(k - s - 1)] ^ (v[std::size_t(k - s - 1)] >> s);
      for (int l = 1; l < s; ++l)
        if ((r.a >> (s - 1 - l)) & 1u) x ^= v[std::size_t(k - l - 1)];
      v[std::size_t(k - 1)] = x;
    }
  }
}

uint32_t Sobol::bits(uint64_t i, int j) const {
  const uint64_t g = i ^ (i >> 1);
  uint32_t x = 0;
  const auto& v = v_[std::size_t(j)];
  for (int k = 0; k < 32 && (g >> k) != 0; ++k)
    if ((g >> k) & 1u) x ^= v[std::size_t(k)];
  return x;
}

std::vector<double> Sobol::point(uint64_t i) const {
  if (i >> 32) throw std::invalid_argument("Sobol: point index beyond 2^32");
  std::vector<double> p(static_cast<std::size_t>(dims_));
  for (int j = 0; j < dims_; ++j) p[std::size_t(j)] = double(bits(i, j)) * 0x1.0p-32;
  return p;
}

}  // namespace ts::exp
