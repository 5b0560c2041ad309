// FNV-1a (64 bits): the one byte hash behind checksums, digests and cache names.
//
// Not a cryptographic hash: it detects damage and tells inputs apart, nothing more.
// Two starting values are in use, and each must stay what it is, because its hashes are
// stored: kFnvBasis, the standard offset basis (journals, sweep digests), and kFnvBasisShort,
// the value the first checkpoint format started from (the standard basis with its last
// digit missing: 1469598103934665603 instead of 14695981039346656037). Checkpoints, the
// calibration overlay's digest and spin-up cache names start from it; changing it would make
// every saved checkpoint look damaged and every fitted overlay look fitted to another file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ts::engine {

inline constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;   // 14695981039346656037
inline constexpr uint64_t kFnvBasisShort = 1469598103934665603ull;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;         // 1099511628211

/// FNV-1a of n bytes at p, continuing from h.
inline uint64_t fnv1a(const void* p, std::size_t n, uint64_t h = kFnvBasis) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * kFnvPrime;
  return h;
}

inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnvBasis) { return fnv1a(s.data(), s.size(), h); }

}  // namespace ts::engine
