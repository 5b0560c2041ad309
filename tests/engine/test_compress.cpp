// engine::compress_indices lists exactly the selected positions, in order.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "sim/engine/compress.hpp"

using namespace ts;

TEST_CASE("compress_indices lists base + k for every selected byte, in order, for any length and density") {
  std::mt19937 g(11);
  for (const std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(8), std::size_t(9),
                              std::size_t(63), std::size_t(64), std::size_t(65), std::size_t(16384)}) {
    for (const double density : {0.0, 0.03, 0.2, 0.5, 0.97, 1.0}) {
      std::vector<uint8_t> keep(n);
      std::bernoulli_distribution pick(density);
      for (auto& k : keep) k = pick(g) ? 1 : 0;
      std::vector<uint32_t> expected;
      for (std::size_t k = 0; k < n; ++k)
        if (keep[k]) expected.push_back(uint32_t(1000 + k));
      std::vector<uint32_t> out(n + 8, 0xdeadbeef);
      const std::size_t c = engine::compress_indices(keep.data(), n, 1000, out.data());
      INFO("n = " << n << ", density = " << density);
      REQUIRE(c == expected.size());
      CHECK(std::vector<uint32_t>(out.begin(), out.begin() + std::ptrdiff_t(c)) == expected);
    }
  }
}

TEST_CASE("compress_indices: every 8-bit pattern of a group maps to its set positions") {
  for (unsigned m = 0; m < 256; ++m) {
    uint8_t keep[8];
    std::vector<uint32_t> expected;
    for (unsigned j = 0; j < 8; ++j) {
      keep[j] = uint8_t((m >> j) & 1u);
      if (keep[j]) expected.push_back(5 + j);
    }
    uint32_t out[16];
    const std::size_t c = engine::compress_indices(keep, 8, 5, out);
    INFO("pattern " << m);
    REQUIRE(c == expected.size());
    CHECK(std::vector<uint32_t>(out, out + c) == expected);
  }
}

TEST_CASE("select_slots and select_rare_slots list the slots a predicate keeps, fast and plain alike") {
  std::mt19937 g(12);
  for (const std::size_t b : {std::size_t(0), std::size_t(5), std::size_t(16384)}) {
    for (const std::size_t len : {std::size_t(0), std::size_t(1), std::size_t(63), std::size_t(64), std::size_t(100),
                                  std::size_t(16384)}) {
      for (const double density : {0.0, 0.001, 0.1, 0.9, 1.0}) {
        const std::size_t e = b + len;
        std::vector<uint8_t> col(e);
        std::bernoulli_distribution pick(density);
        for (auto& x : col) x = pick(g) ? 3 : 0;
        const auto keep = [c = col.data()](std::size_t i) { return uint8_t(c[i] == 3); };
        std::vector<uint32_t> expected;
        for (std::size_t i = b; i < e; ++i)
          if (col[i] == 3) expected.push_back(uint32_t(i));
        INFO("b = " << b << ", len = " << len << ", density = " << density);
        for (const bool plain : {false, true}) {
          CAPTURE(plain);
          engine::Mode mode(false, true, plain);
          engine::SlotList out;
          const std::size_t n = engine::select_slots(b, e, keep, out.data());
          CHECK(std::vector<uint32_t>(out.begin(), out.begin() + std::ptrdiff_t(n)) == expected);
          std::vector<uint32_t> rare = {7};  // appended to, not replaced
          engine::select_rare_slots(b, e, keep, rare);
          REQUIRE(!rare.empty());
          CHECK(rare.front() == 7);
          CHECK(std::vector<uint32_t>(rare.begin() + 1, rare.end()) == expected);
        }
      }
    }
  }
}
