// sim/engine/rng.hpp — counter-based random numbers for talentsim.
//
// Every random number in the simulation is a pure function of
//     (seed, step, agent id, purpose, draw index)
// evaluated with the Random123 Philox4x32-10 block cipher. There are no
// per-thread or global generator states, so results are bit-identical at any
// thread count and in any iteration order: whichever thread handles agent 17 at
// step 42 asks for Stream(seed, 42, 17, Purpose::X) and gets the same numbers.
//
// Stream layout (changing any of this changes every simulation result):
//   key     = { low32(seed), high32(seed) }
//   counter = { step,
//               (purpose << 16) | block,      // purpose < 2^16, block < 2^16
//               low32(agent_id),
//               high32(agent_id) }
//   Each Philox call yields one block of four 32-bit words; words are handed out
//   in order ctr-block 0 words 0..3, block 1 words 0..3, ...
//
// Limits:
//   * seed: any 64-bit value; step: any 32-bit value; agent_id: any 64-bit value
//     (use a reserved id, e.g. a firm/office id offset or kGlobalAgent, for
//     draws that are not tied to one agent).
//   * purpose < 2^16 (asserted in debug builds; higher bits would be dropped).
//   * Streams for distinct (seed, step, agent, purpose) are structurally disjoint
//     (different Philox inputs) for their first kWordsPerEpoch = 2^18 words
//     (2^16 blocks x 4 words). The stream is nevertheless unbounded: when the
//     16-bit block index wraps, the stream derives a fresh key from its current
//     key and base counter (a Philox evaluation) and restarts the block index.
//     Beyond 2^18 words the streams stay deterministic and distinct with
//     overwhelming probability (64-bit key collision ~2^-64), but no longer by
//     construction. Design purposes so that one stream needs far fewer words.
//
// Floating-point helpers use std::log/std::sqrt/std::cos; results are therefore
// identical for a given binary/libm at any thread count, but the last ulp of a
// transcendental may differ across platforms/libm versions. The integer words
// and uniform01/uniform_open01/uniform_float/bernoulli/uniform_int are exact.
#pragma once

#include <array>
#include <cassert>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <type_traits>
#include <utility>

namespace ts::rng {

// ---------------------------------------------------------------------------
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11; Random123 reference).
// ---------------------------------------------------------------------------
using Counter = std::array<std::uint32_t, 4>;
using Key = std::array<std::uint32_t, 2>;

inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

namespace detail {

[[gnu::always_inline]] constexpr Counter philox_round(const Counter& c, const Key& k) noexcept {
  const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * c[0];
  const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * c[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32);
  const auto lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32);
  const auto lo1 = static_cast<std::uint32_t>(p1);
  return Counter{hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
}

}  // namespace detail

// Philox4x32 with R rounds (R = 10 is the standard, crush-resistant variant).
template <int R>
constexpr Counter philox4x32_R(Counter ctr, Key key) noexcept {
  static_assert(R >= 1 && R <= 16);
  ctr = detail::philox_round(ctr, key);
  for (int r = 1; r < R; ++r) {
    key[0] += kPhiloxW0;
    key[1] += kPhiloxW1;
    ctr = detail::philox_round(ctr, key);
  }
  return ctr;
}

constexpr Counter philox4x32_10(const Counter& ctr, const Key& key) noexcept {
  return philox4x32_R<10>(ctr, key);
}

// ---------------------------------------------------------------------------
// Named purposes. APPEND NEW PURPOSES AT THE END WITH THE NEXT VALUE; NEVER
// REORDER, RENUMBER OR REUSE A VALUE — the value is part of the Philox counter,
// so changing it changes every result that depends on it. Values must be < 2^16.
// ---------------------------------------------------------------------------
enum class Purpose : std::uint16_t {
  Init = 0,
  Talent = 1,
  Age = 2,
  HomeBias = 3,
  ComputeTaste = 4,
  Separation = 5,
  Exit = 6,
  Entry = 7,
  OfferArrival = 8,
  OfferFirm = 9,
  OfferOffice = 10,
  Noise = 11,
  Retention = 12,
  Clearing = 13,
  Visa = 14,
  VisaLottery = 15,
  Renewal = 16,
  PermanentResidency = 17,
  Departure = 18,
  Scouting = 19,
  Raid = 20,
  Relocation = 21,
  Production = 22,
  Pay = 23,
  FirmInit = 24,
  Calibration = 25,
  Replication = 26,
  Test = 27,
  ChunkEvents = 28,  // agent id = chunk index: which researchers of a chunk have an event this step
  OfferCandidates = 29,  // agent id = chunk index: which researchers of a chunk receive a random offer
  Design = 30,       // experiment designs (sim/experiment): random, LHS and Morris points; seed = the design seed
  Bootstrap = 31,    // experiment statistics: bootstrap resamples of sensitivity indices
  // next: 32
};

[[nodiscard]] constexpr std::uint32_t to_u32(Purpose p) noexcept { return static_cast<std::uint32_t>(p); }

// Agent id to use for draws that belong to no particular agent (market-level).
inline constexpr std::uint64_t kGlobalAgent = ~std::uint64_t{0};

inline constexpr std::uint32_t kPurposeLimit = 1u << 16;       // purpose < this
inline constexpr std::uint32_t kBlocksPerEpoch = 1u << 16;     // structural blocks per stream
inline constexpr std::uint32_t kWordsPerEpoch = 4u * kBlocksPerEpoch;

// Counter/key of block `block` (< 2^16) of stream (seed, step, agent, purpose).
[[nodiscard]] constexpr Key make_key(std::uint64_t seed) noexcept {
  return Key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}
[[nodiscard]] constexpr Counter make_counter(std::uint32_t step, std::uint64_t agent_id, std::uint32_t purpose,
                                             std::uint32_t block = 0) noexcept {
  assert(purpose < kPurposeLimit && "ts::rng: purpose must be < 2^16");
  assert(block < kBlocksPerEpoch);
  return Counter{step, (purpose << 16) | (block & 0xFFFFu), static_cast<std::uint32_t>(agent_id),
                 static_cast<std::uint32_t>(agent_id >> 32)};
}

// One-shot: block `block` of the stream, i.e. words 4*block .. 4*block+3 of
// Stream(seed, step, agent, purpose). Handy when a hot loop needs <= 4 words.
[[nodiscard]] constexpr Counter block(std::uint64_t seed, std::uint32_t step, std::uint64_t agent_id,
                                      std::uint32_t purpose, std::uint32_t block_index = 0) noexcept {
  return philox4x32_10(make_counter(step, agent_id, purpose, block_index), make_key(seed));
}
[[nodiscard]] constexpr Counter block(std::uint64_t seed, std::uint32_t step, std::uint64_t agent_id,
                                      Purpose purpose, std::uint32_t block_index = 0) noexcept {
  return block(seed, step, agent_id, to_u32(purpose), block_index);
}

// ---------------------------------------------------------------------------
// Stream: an unbounded sequence of 32-bit words keyed by (seed, step, agent,
// purpose). Satisfies std::uniform_random_bit_generator, so it works with
// Boost.Random and <random> distributions. No heap, trivially copyable,
// construction does no Philox work (the first block is computed lazily).
// A copy continues the sequence independently from the same position.
// ---------------------------------------------------------------------------
class Stream {
 public:
  using result_type = std::uint32_t;

  constexpr Stream(std::uint64_t seed, std::uint32_t step, std::uint64_t agent_id, std::uint32_t purpose) noexcept
      : key_(make_key(seed)), ctr_(make_counter(step, agent_id, purpose)) {}
  constexpr Stream(std::uint64_t seed, std::uint32_t step, std::uint64_t agent_id, Purpose purpose) noexcept
      : Stream(seed, step, agent_id, to_u32(purpose)) {}

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    if (idx_ >= 4) refill();
    return buf_[idx_++];
  }

  // Equal iff same key, same base counter and same position in the sequence.
  friend constexpr bool operator==(const Stream&, const Stream&) noexcept = default;

 private:
  constexpr void refill() noexcept {
    buf_ = philox4x32_10(ctr_, key_);
    idx_ = 0;
    ++ctr_[1];  // low 16 bits: block index
    if ((ctr_[1] & 0xFFFFu) == 0) [[unlikely]] {
      ctr_[1] -= 0x10000u;  // undo the carry into the purpose field (block index back to 0)
      rekey();
    }
  }
  // New epoch: key' = mix of Philox(base counter, key). Deterministic, chained.
  constexpr void rekey() noexcept {
    const Counter k = philox4x32_10(ctr_, Key{key_[0] ^ 0x243F6A88u, key_[1] ^ 0x85A308D3u});
    key_ = Key{k[0] ^ k[2], k[1] ^ k[3]};
  }

  Key key_;
  Counter ctr_;
  Counter buf_{};
  std::uint32_t idx_ = 4;  // 4 = buffer empty
};

static_assert(std::uniform_random_bit_generator<Stream>);
static_assert(std::is_trivially_copyable_v<Stream>);
static_assert(std::is_trivially_destructible_v<Stream>);

// ---------------------------------------------------------------------------
// Hot-loop helpers. Word consumption is fixed and documented for each helper
// (except the rejection loop in uniform_int, which is deterministic anyway), so
// call sequences are reproducible. Multiple draws are sequenced explicitly.
// ---------------------------------------------------------------------------
inline constexpr double kTwoPow53Inv = 0x1.0p-53;
inline constexpr double kTwoPow52Inv = 0x1.0p-52;

// 64 random bits from two words (first word = high half). 2 words.
[[nodiscard]] constexpr std::uint64_t bits64(Stream& s) noexcept {
  const std::uint64_t hi = s();
  const std::uint64_t lo = s();
  return (hi << 32) | lo;
}

// Uniform double in [0, 1) with 53 random bits (multiples of 2^-53). 2 words.
[[nodiscard]] constexpr double uniform01(Stream& s) noexcept {
  return static_cast<double>(bits64(s) >> 11) * kTwoPow53Inv;
}

// Uniform double in the open interval (0, 1): (k + 1/2) * 2^-52, k < 2^52, so the
// range is [2^-53, 1 - 2^-53], symmetric and never 0 or 1. Safe for log(). 2 words.
[[nodiscard]] constexpr double uniform_open01(Stream& s) noexcept {
  return (static_cast<double>(bits64(s) >> 12) + 0.5) * kTwoPow52Inv;
}

// Uniform float in [0, 1) with 24 random bits. 1 word.
[[nodiscard]] constexpr float uniform_float(Stream& s) noexcept {
  return static_cast<float>(s() >> 8) * 0x1.0p-24f;
}

// Uniform double in [lo, hi). 2 words.
[[nodiscard]] constexpr double uniform(Stream& s, double lo, double hi) noexcept {
  return lo + (hi - lo) * uniform01(s);
}

// true with probability p (p <= 0 -> never, p >= 1 -> always; 53-bit resolution). 2 words.
[[nodiscard]] constexpr bool bernoulli(Stream& s, double p) noexcept {
  return uniform01(s) < p;
}

// Uniform integer in [0, n), n >= 1, exactly unbiased (Lemire 2019,
// "Fast random integer generation in an interval"). 1 word, plus rarely more
// (rejection probability (2^32 mod n) / 2^32).
[[nodiscard]] constexpr std::uint32_t uniform_int(Stream& s, std::uint32_t n) noexcept {
  assert(n > 0 && "ts::rng::uniform_int: n must be >= 1");
  std::uint64_t m = std::uint64_t{s()} * n;
  auto l = static_cast<std::uint32_t>(m);
  if (l < n) [[unlikely]] {
    const std::uint32_t t = static_cast<std::uint32_t>(-n) % n;  // 2^32 mod n
    while (l < t) {
      m = std::uint64_t{s()} * n;
      l = static_cast<std::uint32_t>(m);
    }
  }
  return static_cast<std::uint32_t>(m >> 32);
}

// Standard exponential (rate 1), -ln U with U in (0,1); values in (0, 36.8]. 2 words.
[[nodiscard]] inline double exponential(Stream& s) noexcept { return -std::log(uniform_open01(s)); }
// Exponential with the given rate (> 0). 2 words.
[[nodiscard]] inline double exponential(Stream& s, double rate) noexcept { return exponential(s) / rate; }

// Standard Gumbel (location 0, scale 1): -ln(-ln U), U in (0,1). Mean = Euler–
// Mascheroni 0.5772..., sd = pi/sqrt(6). Range about [-3.6, 36.7]. 2 words.
[[nodiscard]] inline double gumbel(Stream& s) noexcept { return -std::log(-std::log(uniform_open01(s))); }

// Two independent standard normals by the Box–Muller transform (exact). 4 words
// (= one Philox block when the stream is block-aligned, e.g. freshly constructed).
[[nodiscard]] inline std::pair<double, double> normal_pair(Stream& s) noexcept {
  const double u1 = uniform_open01(s);  // radius: needs u1 > 0
  const double u2 = uniform01(s);       // angle
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * std::numbers::pi * u2;
  return {r * std::cos(theta), r * std::sin(theta)};
}

// One standard normal (Box–Muller, cosine branch; the sine partner is discarded
// so that word consumption is fixed and the Stream carries no cached state). 4 words.
[[nodiscard]] inline double normal(Stream& s) noexcept {
  const double u1 = uniform_open01(s);
  const double u2 = uniform01(s);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}
// Normal with mean mu and standard deviation sigma. 4 words.
[[nodiscard]] inline double normal(Stream& s, double mu, double sigma) noexcept { return mu + sigma * normal(s); }

}  // namespace ts::rng
