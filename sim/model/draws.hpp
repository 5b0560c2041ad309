// Every random number of the model, by name (MODEL.md §7).
//
// A draw is a pure function of (seed, step, key, purpose): the key is the researcher's id
// (uid), a firm's index, a region's or a chunk's, and the purpose (rng::Purpose) separates
// the streams of different decisions. Each function below says what its random words mean;
// phases call these and never build a key by hand. Changing which words feed which decision
// changes results (announce it in the commit); adding a purpose appends to rng::Purpose.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "sim/engine/rng.hpp"

namespace ts::model {

/// A uniform in [0, 1) from one 32-bit word (2^-32 resolution).
inline double unit(uint32_t word) { return double(word) * 0x1.0p-32; }

/// The words of a random job offer (offers phase): whether it comes from the researcher's region
/// (local search) or from anywhere, the alias table's column and its coin.
struct OfferDraw {
  uint32_t local_word, column_word, coin_word;
};
/// The words of a visa clock's month (visa phase): the pending petition's approval, the work
/// visa holder's permanent residency.
struct VisaDraw {
  double approval, residency;
};
/// A capped petition's place in the cap lottery (visa phase): its order among this month's
/// approvals (64 bits) and whether it wins the economy-wide lottery.
struct LotteryDraw {
  uint64_t order;
  double selection;
};
/// A forced departure's destination (visa phase): whether it goes to a third region rather
/// than home, and which of the open ones.
struct DepartureDraw {
  double third;
  uint32_t which_word;
};

/// The draws of one step.
struct Draws {
  uint64_t seed = 0;
  uint32_t step = 0;

  rng::Stream stream(uint64_t key, rng::Purpose p) const { return rng::Stream(seed, step, key, p); }
  std::array<uint32_t, 4> words(uint64_t key, rng::Purpose p, uint32_t block = 0) const {
    return rng::block(seed, step, key, p, block);
  }

  // ------------------------------------------------------------------ the start (step 0)
  /// The uniform for value `which` of firm `member` of a group (0 headcount, 1 productivity,
  /// 2 base pay, 3 maximum package): the (which + 1)-th uniform of its stream.
  double firm_value(uint64_t member, uint32_t which) const {
    rng::Stream s = stream(member, rng::Purpose::FirmInit);
    double u = 0.5;
    for (uint32_t i = 0; i <= which; ++i) u = rng::uniform01(s);
    return u;
  }
  /// A researcher's start, read in this order: ln-talent z (normal); entry month (uniform
  /// integer) and months in the field (uniform), repeated until they fit the working life
  /// (initial_age); home-bias z, compute-taste z (normals); if the origin has people abroad,
  /// the selection's ε (normal), and if abroad: destination (uniform), permanent resident
  /// (Bernoulli), visa months left and months in the region (uniform integers); tenure (uniform
  /// integer), employed (Bernoulli).
  rng::Stream initial_researcher(uint64_t slot) const { return stream(slot, rng::Purpose::Init); }
  /// The noise on ln θ when the start sorts talent into firms (a standard normal).
  double sorting_noise(uint64_t slot) const {
    rng::Stream s = stream(slot, rng::Purpose::Talent);
    return rng::normal(s);
  }

  // ------------------------------------------------------------------ demography
  /// Which slots of chunk c have an exit or a separation this step: engine::Arrivals' stream.
  rng::Stream chunk_events(uint64_t chunk) const { return stream(chunk, rng::Purpose::ChunkEvents); }
  /// Whether origin o's fractional expected entrant enters (a Bernoulli's stream).
  rng::Stream entrant_count(uint64_t origin) const { return stream(origin, rng::Purpose::Entry); }
  /// An entrant's draws, read in this order: ln-talent z (normal), age (uniform integer),
  /// home-bias z, compute-taste z (normals), and if the origin sends students abroad: the
  /// selection's ε (normal) and, if abroad, the place of study (uniform).
  rng::Stream entrant(uint64_t uid) const { return stream(uid, rng::Purpose::Entry); }

  // ------------------------------------------------------------------ offers
  /// Which slots of chunk c receive a random offer this step: engine::Arrivals' stream.
  rng::Stream offer_candidates(uint64_t chunk) const { return stream(chunk, rng::Purpose::OfferCandidates); }
  /// A random offer: word 0 decides local or worldwide search, word 1 picks the alias table's
  /// column, word 2 is its coin (word 3 is unused).
  OfferDraw random_offer(uint64_t uid) const {
    const auto b = words(uid, rng::Purpose::OfferArrival);
    return {b[0], b[1], b[2]};
  }
  /// Whether firm f scouts this step (a Bernoulli's stream).
  rng::Stream scouting_round(uint64_t firm) const { return stream(firm, rng::Purpose::Scouting); }
  /// The offices of firm f's scouting offers, one uniform each, in the order they are made.
  rng::Stream scouting_offices(uint64_t firm) const { return stream(firm, rng::Purpose::OfferOffice); }
  /// The taste shock ε of option `option` (0 = staying, firm + 1 for an offer of that firm):
  /// a standard Gumbel from word 0 of block `option`.
  double taste_shock(uint64_t uid, uint32_t option) const {
    const auto b = words(uid, rng::Purpose::Noise, option & 0xFFFFu);
    const double x = (double(b[0]) + 0.5) * 0x1.0p-32;
    return -std::log(-std::log(x));
  }

  // ------------------------------------------------------------------ events
  /// The offices of a raid's offers by firm f, one uniform each, in the order they are made.
  rng::Stream raid_offices(uint64_t firm) const { return stream(firm, rng::Purpose::Raid); }
  /// Where a relocation order sends researcher uid (a uniform over the destinations' shares).
  double relocation(uint64_t uid) const {
    rng::Stream s = stream(uid, rng::Purpose::Relocation);
    return rng::uniform01(s);
  }

  // ------------------------------------------------------------------ visa
  VisaDraw visa(uint64_t uid) const {
    const auto b = words(uid, rng::Purpose::Visa);
    return {unit(b[0]), unit(b[1])};
  }
  LotteryDraw visa_lottery(uint64_t uid) const {
    const auto b = words(uid, rng::Purpose::VisaLottery);
    return {(uint64_t(b[0]) << 32) | b[1], unit(b[2])};
  }
  /// Whether an expiring work visa is renewed (a uniform).
  double renewal(uint64_t uid) const { return unit(words(uid, rng::Purpose::Renewal)[0]); }
  DepartureDraw departure(uint64_t uid) const {
    const auto b = words(uid, rng::Purpose::Departure);
    return {unit(b[0]), b[1]};
  }
};

}  // namespace ts::model
