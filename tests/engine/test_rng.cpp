// Tests for sim/engine/rng.hpp (Philox4x32-10 and keyed streams).
#include "sim/engine/rng.hpp"

#include <doctest/doctest.h>

#include <boost/random/bernoulli_distribution.hpp>
#include <boost/random/exponential_distribution.hpp>
#include <boost/random/gamma_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/poisson_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

namespace {

using ts::rng::Counter;
using ts::rng::Key;
using ts::rng::Purpose;
using ts::rng::Stream;

// Fixed seed for the statistical tests (deterministic pass/fail).
constexpr std::uint64_t kStatSeed = 0x5EED'2024'0611'0001ull;

// Random123 kat_vectors, "philox4x32 10" lines: counter[4] key[2] -> output[4].
struct Kat {
  Counter ctr;
  Key key;
  Counter expected;
};
constexpr std::array<Kat, 3> kKats{{
    {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u},
     {0x00000000u, 0x00000000u},
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
}};

// The KATs also hold at compile time (philox4x32_10 is constexpr).
static_assert(ts::rng::philox4x32_10(kKats[0].ctr, kKats[0].key) == kKats[0].expected);
static_assert(ts::rng::philox4x32_10(kKats[1].ctr, kKats[1].key) == kKats[1].expected);
static_assert(ts::rng::philox4x32_10(kKats[2].ctr, kKats[2].key) == kKats[2].expected);
// ... and so does a Stream: its first word is the first KAT output word.
static_assert([] {
  Stream s(0, 0, 0, 0u);
  return s();
}() == 0x6627e8d5u);

std::array<std::uint32_t, 8> first8(Stream s) {
  std::array<std::uint32_t, 8> out{};
  for (auto& w : out) w = s();
  return out;
}

struct Moments {
  double mean;
  double var;  // unbiased sample variance
};
template <class F>
Moments moments(int n, F&& draw) {
  // Welford's algorithm.
  double mean = 0.0;
  double m2 = 0.0;
  for (int i = 1; i <= n; ++i) {
    const double x = draw();
    const double d = x - mean;
    mean += d / i;
    m2 += d * (x - mean);
  }
  return {mean, m2 / (n - 1)};
}

}  // namespace

TEST_CASE("rng: Philox4x32-10 known-answer tests (Random123 kat_vectors)") {
  for (const auto& k : kKats) {
    const Counter out = ts::rng::philox4x32_10(k.ctr, k.key);
    for (std::size_t i = 0; i < 4; ++i) CHECK(out[i] == k.expected[i]);
  }
}

TEST_CASE("rng: Stream layout is key={seed lo, seed hi}, ctr={step, purpose<<16|block, agent lo, agent hi}") {
  const std::uint64_t seed = 0x0123456789ABCDEFull;
  const std::uint32_t step = 77;
  const std::uint64_t agent = 0xFEDCBA9876543210ull;
  const auto purpose = ts::rng::to_u32(Purpose::Talent);
  Stream s(seed, step, agent, purpose);
  const Key key{0x89ABCDEFu, 0x01234567u};
  for (std::uint32_t b = 0; b < 3; ++b) {
    const Counter ctr{step, (purpose << 16) | b, 0x76543210u, 0xFEDCBA98u};
    const Counter expect = ts::rng::philox4x32_10(ctr, key);
    CHECK(ts::rng::block(seed, step, agent, Purpose::Talent, b) == expect);
    for (std::size_t i = 0; i < 4; ++i) CHECK(s() == expect[i]);
  }
  // Pin the first words of a fixed stream so accidental layout changes are loud.
  Stream z(0, 0, 0, 0u);
  CHECK(z() == 0x6627e8d5u);
  CHECK(z() == 0xe169c58du);
  CHECK(z() == 0xbc57ac4cu);
  CHECK(z() == 0x9b00dbd8u);
}

TEST_CASE("rng: Stream is a pure function of (seed, step, agent, purpose)") {
  const std::uint64_t seed = 42;
  const std::uint32_t step = 10;
  const std::uint64_t agent = 12345;
  const Purpose p = Purpose::OfferArrival;
  const auto base = first8(Stream(seed, step, agent, p));

  CHECK(first8(Stream(seed, step, agent, p)) == base);
  CHECK(first8(Stream(seed, step, agent, ts::rng::to_u32(p))) == base);

  CHECK(first8(Stream(seed + 1, step, agent, p)) != base);
  CHECK(first8(Stream(seed + (1ull << 32), step, agent, p)) != base);  // high seed word matters
  CHECK(first8(Stream(seed, step + 1, agent, p)) != base);
  CHECK(first8(Stream(seed, step, agent + 1, p)) != base);
  CHECK(first8(Stream(seed, step, agent + (1ull << 32), p)) != base);  // high agent word matters
  CHECK(first8(Stream(seed, step, agent, Purpose::OfferFirm)) != base);

  // Adjacent purposes do not alias: block 1 of purpose p != block 0 of p + 1.
  Stream a(seed, step, agent, p);
  for (int i = 0; i < 4; ++i) (void)a();
  std::array<std::uint32_t, 4> a_block1{};
  for (auto& w : a_block1) w = a();
  const Counter next = ts::rng::block(seed, step, agent, ts::rng::to_u32(p) + 1, 0);
  CHECK(a_block1 != next);

  // A copy continues identically from the same position; the original is unaffected.
  Stream s(seed, step, agent, p);
  (void)s();
  (void)s();
  (void)s();
  Stream c = s;
  CHECK(c == s);
  for (int i = 0; i < 10; ++i) CHECK(c() == s());
  CHECK(c == s);

  // Interleaving unrelated streams does not perturb each other (no shared state).
  Stream x(seed, step, 1, p), y(seed, step, 2, p);
  std::vector<std::uint32_t> xs, ys;
  for (int i = 0; i < 9; ++i) {
    xs.push_back(x());
    ys.push_back(y());
    ys.push_back(y());
  }
  Stream x2(seed, step, 1, p);
  for (const auto w : xs) CHECK(x2() == w);
}

TEST_CASE("rng: Stream is unbounded past 2^16 blocks and stays deterministic") {
  Stream s(7, 3, 99, Purpose::Test);
  Stream t(7, 3, 99, Purpose::Test);
  std::vector<std::uint32_t> head(8);
  for (auto& w : head) w = s();
  for (std::uint32_t i = 8; i < ts::rng::kWordsPerEpoch; ++i) (void)s();
  for (std::uint32_t i = 0; i < ts::rng::kWordsPerEpoch; ++i) (void)t();
  // Next epoch must not replay the first block (no silent wrap-around).
  std::vector<std::uint32_t> after(8);
  for (auto& w : after) w = s();
  CHECK(after != head);
  for (const auto w : after) CHECK(t() == w);
  // Not equal to the neighbouring purpose's stream either.
  CHECK(first8(Stream(7, 3, 99, ts::rng::to_u32(Purpose::Test) + 1)) != std::array<std::uint32_t, 8>{
      after[0], after[1], after[2], after[3], after[4], after[5], after[6], after[7]});
}

TEST_CASE("rng: Stream works with Boost.Random and <random> distributions") {
  Stream s(kStatSeed, 1, 2, Purpose::Test);
  boost::random::normal_distribution<double> bn(1.0, 2.0);
  boost::random::lognormal_distribution<double> bln(0.0, 0.5);
  boost::random::gamma_distribution<double> bg(2.0, 3.0);
  boost::random::uniform_real_distribution<double> bu(-1.0, 1.0);
  boost::random::bernoulli_distribution<double> bb(0.25);
  boost::random::exponential_distribution<double> be(2.0);
  boost::random::poisson_distribution<int, double> bp(3.5);
  boost::random::uniform_int_distribution<int> bi(1, 6);
  std::normal_distribution<double> sn(0.0, 1.0);
  std::uniform_int_distribution<int> si(0, 9);

  const int n = 200000;
  double sum_bg = 0.0, sum_bp = 0.0, sum_bu = 0.0;
  int hits_bb = 0;
  for (int i = 0; i < n; ++i) {
    (void)bn(s);
    CHECK_UNARY(bln(s) > 0.0);
    sum_bg += bg(s);
    const double u = bu(s);
    REQUIRE(u >= -1.0);
    REQUIRE(u < 1.0);
    sum_bu += u;
    hits_bb += bb(s) ? 1 : 0;
    REQUIRE(be(s) >= 0.0);
    sum_bp += bp(s);
    const int die = bi(s);
    REQUIRE(die >= 1);
    REQUIRE(die <= 6);
    (void)sn(s);
    const int d = si(s);
    REQUIRE(d >= 0);
    REQUIRE(d <= 9);
  }
  // Loose sanity (5 standard errors): gamma(k=2, theta=3) mean 6, sd sqrt(18);
  // poisson(3.5) mean 3.5, sd sqrt(3.5); U(-1,1) mean 0, sd 1/sqrt(3); bernoulli 0.25.
  CHECK(std::abs(sum_bg / n - 6.0) < 5.0 * std::sqrt(18.0 / n));
  CHECK(std::abs(sum_bp / n - 3.5) < 5.0 * std::sqrt(3.5 / n));
  CHECK(std::abs(sum_bu / n) < 5.0 * std::sqrt(1.0 / 3.0 / n));
  CHECK(std::abs(hits_bb / double(n) - 0.25) < 5.0 * std::sqrt(0.25 * 0.75 / n));

  // Same key => same Boost output.
  Stream a(kStatSeed, 5, 6, Purpose::Noise), b(kStatSeed, 5, 6, Purpose::Noise);
  boost::random::normal_distribution<double> na, nb;
  for (int i = 0; i < 100; ++i) CHECK(na(a) == nb(b));
}

TEST_CASE("rng: uniform01 / uniform_open01 / uniform_float ranges and exact values") {
  // uniform01 uses the first word as the high half: first block of Stream(0,0,0,0)
  // is 6627e8d5 e169c58d ... -> ((0x6627e8d5e169c58d >> 11) * 2^-53).
  Stream z(0, 0, 0, 0u);
  CHECK(ts::rng::uniform01(z) == static_cast<double>(0x6627e8d5e169c58dull >> 11) * 0x1.0p-53);
  Stream zo(0, 0, 0, 0u);
  CHECK(ts::rng::uniform_open01(zo) == (static_cast<double>(0x6627e8d5e169c58dull >> 12) + 0.5) * 0x1.0p-52);
  Stream zf(0, 0, 0, 0u);
  CHECK(ts::rng::uniform_float(zf) == static_cast<float>(0x6627e8d5u >> 8) * 0x1.0p-24f);

  // Extremes of the open variant are strictly inside (0, 1).
  CHECK((0.0 + 0.5) * 0x1.0p-52 > 0.0);
  CHECK((static_cast<double>((1ull << 52) - 1) + 0.5) * 0x1.0p-52 < 1.0);
  CHECK(static_cast<double>((1ull << 53) - 1) * 0x1.0p-53 < 1.0);
  CHECK(static_cast<float>((1u << 24) - 1) * 0x1.0p-24f < 1.0f);

  Stream s(kStatSeed, 0, 0, Purpose::Test);
  for (int i = 0; i < 100000; ++i) {
    const double u = ts::rng::uniform01(s);
    const double v = ts::rng::uniform_open01(s);
    const float f = ts::rng::uniform_float(s);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    REQUIRE(v > 0.0);
    REQUIRE(v < 1.0);
    REQUIRE(f >= 0.0f);
    REQUIRE(f < 1.0f);
  }
}

TEST_CASE("rng: statistical sanity of the helpers (fixed seed, 5 standard errors)") {
  static bool printed = false;  // the body re-runs once per SUBCASE; print once
  if (!printed) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(kStatSeed));
    MESSAGE("rng statistical tests: seed = " << hex);
    printed = true;
  }
  const int n = 1000000;
  const double rn = std::sqrt(static_cast<double>(n));

  SUBCASE("uniform01: mean 1/2, variance 1/12") {
    Stream s(kStatSeed, 1, 0, Purpose::Test);
    const auto m = moments(n, [&] { return ts::rng::uniform01(s); });
    // sd = sqrt(1/12); Var[(U-1/2)^2] = 1/80 - 1/144 = 1/180.
    CHECK(std::abs(m.mean - 0.5) < 5.0 * std::sqrt(1.0 / 12.0) / rn);
    CHECK(std::abs(m.var - 1.0 / 12.0) < 5.0 * std::sqrt(1.0 / 180.0) / rn);
  }
  SUBCASE("uniform_float: mean 1/2") {
    Stream s(kStatSeed, 2, 0, Purpose::Test);
    const auto m = moments(n, [&] { return static_cast<double>(ts::rng::uniform_float(s)); });
    CHECK(std::abs(m.mean - 0.5) < 5.0 * std::sqrt(1.0 / 12.0) / rn);
  }
  SUBCASE("gumbel: mean = Euler-Mascheroni, sd = pi/sqrt(6)") {
    Stream s(kStatSeed, 3, 0, Purpose::Test);
    const double sd = std::numbers::pi / std::sqrt(6.0);
    const auto m = moments(n, [&] { return ts::rng::gumbel(s); });
    CHECK(std::abs(m.mean - std::numbers::egamma) < 5.0 * sd / rn);
    CHECK(std::abs(std::sqrt(m.var) - sd) < 0.01);
  }
  SUBCASE("normal: mean 0, variance 1") {
    Stream s(kStatSeed, 4, 0, Purpose::Test);
    const auto m = moments(n, [&] { return ts::rng::normal(s); });
    CHECK(std::abs(m.mean) < 5.0 / rn);
    CHECK(std::abs(m.var - 1.0) < 5.0 * std::sqrt(2.0) / rn);  // Var[Z^2] = 2
  }
  SUBCASE("normal_pair: both components standard normal, uncorrelated") {
    Stream s(kStatSeed, 5, 0, Purpose::Test);
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    const int np = n / 2;
    for (int i = 0; i < np; ++i) {
      const auto [x, y] = ts::rng::normal_pair(s);
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    const double r = std::sqrt(static_cast<double>(np));
    CHECK(std::abs(sx / np) < 5.0 / r);
    CHECK(std::abs(sy / np) < 5.0 / r);
    CHECK(std::abs(sxx / np - 1.0) < 5.0 * std::sqrt(2.0) / r);
    CHECK(std::abs(syy / np - 1.0) < 5.0 * std::sqrt(2.0) / r);
    CHECK(std::abs(sxy / np) < 5.0 / r);  // Var[XY] = 1
  }
  SUBCASE("exponential: mean 1, variance 1") {
    Stream s(kStatSeed, 6, 0, Purpose::Test);
    const auto m = moments(n, [&] { return ts::rng::exponential(s); });
    CHECK(std::abs(m.mean - 1.0) < 5.0 / rn);
    CHECK(std::abs(m.var - 1.0) < 5.0 * std::sqrt(8.0) / rn);  // Var[(X-1)^2] = 9 - 1 = 8
  }
  SUBCASE("bernoulli(0.3): frequency within 5 SE") {
    Stream s(kStatSeed, 7, 0, Purpose::Test);
    int hits = 0;
    for (int i = 0; i < n; ++i) hits += ts::rng::bernoulli(s, 0.3) ? 1 : 0;
    CHECK(std::abs(hits / static_cast<double>(n) - 0.3) < 5.0 * std::sqrt(0.3 * 0.7) / rn);
    Stream e(kStatSeed, 8, 0, Purpose::Test);
    for (int i = 0; i < 1000; ++i) {
      REQUIRE_FALSE(ts::rng::bernoulli(e, 0.0));
      REQUIRE(ts::rng::bernoulli(e, 1.0));
    }
  }
  SUBCASE("uniform_int(s, 7): chi-square over 7 bins < 22.46 (0.999 quantile, 6 dof)") {
    Stream s(kStatSeed, 9, 0, Purpose::Test);
    std::array<double, 7> bins{};
    for (int i = 0; i < n; ++i) {
      const auto k = ts::rng::uniform_int(s, 7);
      REQUIRE(k < 7u);
      bins[k] += 1.0;
    }
    const double expect = n / 7.0;
    double chi2 = 0.0;
    for (const double b : bins) chi2 += (b - expect) * (b - expect) / expect;
    MESSAGE("uniform_int(7) chi-square = " << chi2);
    CHECK(chi2 < 22.46);
  }
}

TEST_CASE("rng: uniform_int edge cases and the rejection path") {
  Stream s(kStatSeed, 10, 0, Purpose::Test);
  for (int i = 0; i < 1000; ++i) REQUIRE(ts::rng::uniform_int(s, 1) == 0u);
  for (int i = 0; i < 1000; ++i) REQUIRE(ts::rng::uniform_int(s, 0xFFFFFFFFu) < 0xFFFFFFFFu);
  // n = 3 * 2^30: 2^32 mod n = 2^30, so ~1/4 of first words are rejected. The three
  // thirds [0, 2^30), [2^30, 2^31), [2^31, 3*2^30) must be equally likely.
  const std::uint32_t n3 = 3u << 30;
  std::array<double, 3> bins{};
  const int n = 300000;
  for (int i = 0; i < n; ++i) {
    const auto k = ts::rng::uniform_int(s, n3);
    REQUIRE(k < n3);
    bins[k >> 30] += 1.0;
  }
  double chi2 = 0.0;
  for (const double b : bins) chi2 += (b - n / 3.0) * (b - n / 3.0) / (n / 3.0);
  CHECK(chi2 < 13.82);  // 0.999 quantile, 2 dof
  // Small n exhaustive coverage.
  std::array<int, 5> seen{};
  for (int i = 0; i < 1000; ++i) ++seen[ts::rng::uniform_int(s, 5)];
  for (const int c : seen) CHECK(c > 0);
}

TEST_CASE("rng: Purpose values are stable and < 2^16") {
  // Renumbering changes every simulation result: these are pinned on purpose.
  CHECK(ts::rng::to_u32(Purpose::Init) == 0u);
  CHECK(ts::rng::to_u32(Purpose::Talent) == 1u);
  CHECK(ts::rng::to_u32(Purpose::OfferArrival) == 8u);
  CHECK(ts::rng::to_u32(Purpose::VisaLottery) == 15u);
  CHECK(ts::rng::to_u32(Purpose::Production) == 22u);
  CHECK(ts::rng::to_u32(Purpose::Test) == 27u);
  CHECK(ts::rng::to_u32(Purpose::Test) < ts::rng::kPurposeLimit);
}
