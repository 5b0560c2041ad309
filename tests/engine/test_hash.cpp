// The one FNV-1a: the published 64-bit test vectors, and continuing a hash over pieces is the
// hash of the whole (how checkpoints and the executable digest hash in parts).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace std::string_literals;

#include "sim/engine/hash.hpp"

using namespace ts::engine;

TEST_CASE("fnv1a: the published FNV-1a 64 test vectors") {
  CHECK(fnv1a("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("fnv1a: a hash continued over pieces equals the hash of the whole, from either basis") {
  const std::string whole = "talentsim checkpoint \x00 with a NUL"s;
  for (const uint64_t basis : {kFnvBasis, kFnvBasisShort}) {
    uint64_t h = basis;
    for (std::size_t at = 0; at < whole.size(); at += 5)
      h = fnv1a(whole.data() + at, std::min<std::size_t>(5, whole.size() - at), h);
    CHECK(h == fnv1a(whole, basis));
  }
  CHECK(fnv1a(whole, kFnvBasis) != fnv1a(whole, kFnvBasisShort));
}
