#include "sim/model/terms.hpp"

namespace ts::model {

OfferCard offer_card(const State& s, int f) {
  const auto& F = s.world.f;
  OfferCard c{};
  c.base_pay = F.base_pay[f];
  c.elasticity = F.elasticity[f];
  c.premium = F.premium[f];
  c.max_package = F.max_package[f];
  c.prestige_term = s.params.market.utility.prestige * F.prestige[f];
  c.max_fee = F.max_fee[f];
  c.office_begin = F.office_begin[f];
  c.office_end = F.office_begin[f + 1];
  c.hq = F.hq[f];
  c.sponsors = F.sponsors[f];
  return c;
}

void OfferTerms::build(const State& s) {
  const auto& F = s.world.f;
  office_term.resize(F.office_region.size());
  cards.resize(F.size());
  engine::for_ranges(F.size(), kFirmGrain, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f) {
      cards[f] = offer_card(s, int(f));
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
        office_term[k] = std::log1p(compute_per_researcher(s, int(f), F.office_region[k]));
    }
  });
}

}  // namespace ts::model
