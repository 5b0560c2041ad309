// 4. offers (MODEL.md §4.4): targeted search (scouting lists, raids) and random search; each
// researcher keeps the best offer by utility.
#include <algorithm>

#include "sim/engine/arrivals.hpp"
#include "sim/engine/compress.hpp"
#include "sim/engine/pipeline.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/tiers.hpp"

namespace ts::model::phase {

namespace {

/// Evaluates offer o to researcher o.slot and keeps it in `out` if the firm can make it: a move
/// that needs a visa only from a sponsor, and a new petition only if the firm pays the
/// destination's fee. Utilities of staying and of the offer, taste shocks included.
void consider(const State& s, const OfferTerms& terms, const Offer& o, std::vector<Offer>& out) {
  const auto& r = s.world.r;
  const std::size_t i = o.slot;
  const OfferCard& card = terms.cards[std::size_t(o.firm)];
  const int need = visa_need(s, i, o.region);
  if (need >= 1 && !card.sponsors) return;
  if (need == 2 && petition_fee(s, i, o.region) > card.max_fee) return;
  Offer x = o;
  const bool employed = r.employer[i] != kNoFirm;
  const double stay_comp = employed ? double(r.comp[i]) : s.params.regions[r.location[i]].unemployed_income;
  x.u_stay = float(utility(s, &terms, i, r.employer[i], r.location[i], stay_comp, false, 0));
  x.u_offer = float(utility(s, &terms, i, o.firm, o.region, o.comp, true, uint32_t(o.firm) + 1));
  out.push_back(x);
}

/// Scouting: each firm with a scouting list scouts this step with its scouting rate, and offers
/// to the most talented researchers of the top tiers it can see (everyone, or the staff of its
/// rivals) who are not its own staff, not waiting for a visa and not just separated, until
/// `scouting_list` offers are made [A10].
void scouting(State& s, const OfferTerms& terms, std::vector<Offer>& targeted) {
  const auto& F = s.world.f;
  const auto& r = s.world.r;
  const Draws draws = s.draws();
  std::vector<int> scouts;
  for (std::size_t f = 0; f < F.size(); ++f) {
    if (F.scouting_list[f] <= 0 || F.scouting_rate[f] <= 0) continue;
    rng::Stream round = draws.scouting_round(f);
    if (rng::bernoulli(round, F.scouting_rate[f])) scouts.push_back(int(f));
  }
  if (scouts.empty()) return;
  const std::vector<uint32_t>& order = top_in_scouting_order(s);
  for (int f : scouts) {
    const auto rb = F.rivals.begin() + F.rivals_begin[f], re = F.rivals.begin() + F.rivals_begin[f + 1];
    int64_t sent = 0;
    rng::Stream offices = draws.scouting_offices(uint64_t(f));
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k == s.tiers.top_sorted_prefix) sort_scouting_order_from(s, k);  // first scout to look this deep
      const uint32_t i = order[k];
      if (sent >= F.scouting_list[f]) break;
      if (r.employer[i] == f || r.pending_firm[i] != kNoFirm || (r.flags[i] & kFlagSeparated)) continue;
      if (rb != re && std::find(rb, re, r.employer[i]) == re) continue;
      const int region = pick_office(F, f, rng::uniform01(offices));
      const bool employed = r.employer[i] != kNoFirm;
      Offer o{i, int32_t(f), uint8_t(region), 1, float(offer_comp(s, f, region, r.skill[i], employed)), 0.f, 0.f};
      const std::size_t before = targeted.size();
      consider(s, terms, o, targeted);
      sent += targeted.size() > before;
    }
  }
}

/// The columns the evaluation of a random offer reads of researcher i.
[[gnu::always_inline]] inline void prefetch_offer_taker(const Researchers& r, std::size_t i) {
  engine::prefetch_slot(i, r.employer, r.uid, r.skill, r.comp, r.location, r.origin, r.status, r.visa_left,
                        r.compute_taste, r.home_bias);
}

/// Random search in chunk c = [b, e) (MODEL.md §4.4): each researcher receives an offer with
/// probability λ1 if employed, λ0 if not; not the researchers who lost their job this step
/// ("separate first, then offers", MODEL.md §8), nor those waiting for a visa decision. Arrival
/// is drawn by thinning candidates of the bound max(λ0, λ1) (engine::Arrivals). With
/// probability local_share the offer comes from an office in the researcher's region, else from
/// any office worldwide, drawn in proportion to vacancies (OfficeSampler), at the firm's pay; an
/// offer from the current employer is dropped.
void random_search(const State& s, const OfferTerms& terms, std::size_t c, std::size_t b, std::size_t e,
                   std::vector<Offer>& out) {
  const auto& r = s.world.r;
  const auto& F = s.world.f;
  const auto& M = s.params.market;
  const OfficeSampler& sampler = s.sampler;
  const Draws draws = s.draws();
  const double lam0 = std::clamp(M.lambda0, 0.0, 1.0), lam1 = std::clamp(M.lambda1, 0.0, 1.0);
  const engine::Arrivals arrivals(std::max(lam0, lam1));
  engine::SlotList who;
  std::size_t n = 0;
  rng::Stream candidates = draws.offer_candidates(c);
  arrivals.for_each(candidates, b, e, [&](std::size_t i, double u) {
    if (!r.alive[i] || (r.flags[i] & kFlagSeparated) || r.pending_firm[i] != kNoFirm) return;
    if (arrivals.which(u, {r.employer[i] != kNoFirm ? lam1 : lam0}) == 0) who[n++] = uint32_t(i);
  });
  /// The table a draw uses: the researcher's region's with probability local_share (if it has
  /// vacancies), else the worldwide one.
  auto table_of = [&](std::size_t i, uint32_t local_word) -> const AliasTable& {
    if (M.local_share > 0 && unit(local_word) < M.local_share) {
      const AliasTable& t = sampler.in_region[r.location[i]];
      if (t.total > 0) return t;
    }
    return sampler.worldwide;
  };
  // What the evaluation of an offer waits for, fetched in stages as a software pipeline: the
  // researcher's columns 16 offers ahead; 8 ahead, the offer's draw (keyed by the id, now
  // arrived) and the table entry it picks, with the employer's card; 4 ahead, the office and
  // firm from the table and the firm's card, with the employer's first office; 2 ahead, the
  // offered office. The draws, the office and the firm are kept in a ring.
  using Ring = engine::Ring<16>;
  struct Drawn {
    OfferDraw words;
    const AliasTable* table;
    uint32_t column;
    int32_t office, firm;
  };
  Ring::of<Drawn> ring;
  auto draw = [&](std::size_t k) {
    const std::size_t i = who[k];
    Drawn& d = ring[Ring::at(k)];
    d.words = draws.random_offer(r.uid[i]);
    d.table = &table_of(i, d.words.local_word);
    d.column = d.table->column(d.words.column_word);
    __builtin_prefetch(d.table->prob.data() + d.column);
    __builtin_prefetch(d.table->alias.data() + d.column);
    __builtin_prefetch(d.table->entry.data() + d.column);
    const int32_t now = r.employer[i];
    if (now != kNoFirm) __builtin_prefetch(terms.cards.data() + now);
  };
  auto pick = [&](std::size_t k) {
    Drawn& d = ring[Ring::at(k)];
    d.office = d.table->pick(d.column, d.words.coin_word);
    d.firm = sampler.office_firm[std::size_t(d.office)];
    __builtin_prefetch(terms.cards.data() + d.firm);
    const int32_t now = r.employer[who[k]];
    if (now != kNoFirm) engine::prefetch_slot(terms.cards[std::size_t(now)].office_begin, F.office_region, terms.office_term);
  };
  auto offered_office = [&](std::size_t k) {
    engine::prefetch_slot(std::size_t(ring[Ring::at(k)].office), F.office_region, terms.office_term);
  };
  auto evaluate = [&](std::size_t k) {
    const std::size_t i = who[k];
    const Drawn& d = ring[Ring::at(k)];
    if (d.firm == r.employer[i]) return;
    const bool employed = r.employer[i] != kNoFirm;
    const OfferCard& card = terms.cards[std::size_t(d.firm)];
    const int region = F.office_region[std::size_t(d.office)];
    const Offer o{uint32_t(i), d.firm, uint8_t(region), 0,
                  float(offer_pay(card, s.params.regions[region].pay_level, r.skill[i], employed)), 0.f, 0.f};
    consider(s, terms, o, out);
  };
  engine::pipeline(0, n, evaluate,
                   engine::stage(16, [&](std::size_t k) { prefetch_offer_taker(r, who[k]); }),
                   engine::stage(8, draw), engine::stage(4, pick), engine::stage(2, offered_office));
}

}  // namespace

void Offers::run(State& s) {
  const auto& M = s.params.market;
  const std::size_t N = s.world.r.size();
  terms.build(s);
  // Targeted search first (scouting lists and raids), sorted by researcher.
  std::vector<Offer> targeted;
  scouting(s, terms, targeted);
  // A raid's targets were chosen at events, before demography: one who has since left the
  // field (the slot may now hold an entrant) or lost the job gets no offer this step, as in
  // the other channels.
  const auto& r = s.world.r;
  for (const auto& raid : s.raid_offers) {
    const std::size_t i = raid.offer.slot;
    if (r.alive[i] && r.uid[i] == raid.uid && !(r.flags[i] & kFlagSeparated)) consider(s, terms, raid.offer, targeted);
  }
  std::sort(targeted.begin(), targeted.end(), [](const Offer& a, const Offer& b) {
    return a.slot != b.slot ? a.slot < b.slot : a.firm < b.firm;
  });
  s.stats.market[kTargetedOffers] += int64_t(targeted.size());
  // Random search (the Burdett–Mortensen channel).
  parts.reset(N);
  if (s.sampler.worldwide.total > 0 && (M.lambda0 > 0 || M.lambda1 > 0))
    engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) { random_search(s, terms, c, b, e, parts.part(c)); });
  const std::size_t nrandom = parts.size();
  s.stats.market[kOffers] += int64_t(nrandom);
  // Per researcher the offer with the highest utility (ties: random first, then firm id). Read
  // straight from the chunks (in slot order; at most one random offer per researcher).
  auto& best = s.offers;
  best.clear();
  best.reserve(nrandom + targeted.size());
  std::size_t t = 0;
  auto targeted_only_before = [&](uint32_t slot) {  // researchers before `slot` with targeted offers only
    while (t < targeted.size() && targeted[t].slot < slot) {
      const Offer* b = &targeted[t];
      for (++t; t < targeted.size() && targeted[t].slot == b->slot; ++t)
        if (targeted[t].u_offer > b->u_offer) b = &targeted[t];
      best.push_back(*b);
    }
  };
  parts.for_each_in_order([&](const Offer& o) {
    targeted_only_before(o.slot);
    const Offer* b = &o;
    for (; t < targeted.size() && targeted[t].slot == o.slot; ++t)
      if (targeted[t].u_offer > b->u_offer) b = &targeted[t];
    best.push_back(*b);
  });
  targeted_only_before(UINT32_MAX);
}

}  // namespace ts::model::phase
