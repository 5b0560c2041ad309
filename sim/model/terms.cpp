#include "sim/model/terms.hpp"

#include "sim/model/ledger.hpp"

namespace ts::model {

OfferCard offer_card(const State& s, int f) {
  const auto& F = s.world.f;
  OfferCard c{};
  c.base_pay = F.base_pay[f];
  c.rule = F.pay_rule[f];
  c.slope = c.rule == uint8_t(PayRule::Valuation) ? F.valuation_share[f] * F.value_per_theta[f] : F.elasticity[f];
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

FirmOutput firm_output(const State& s, std::size_t f) {
  const auto& F = s.world.f;
  const auto& Pp = s.params.production;
  const int R = s.regions();
  const std::size_t W = std::size_t(R) + 1;
  const auto& sums = s.books.theta_sums;
  FirmOutput y;
  if (sums.empty()) return y;
  const int ctrl = F.controlled_by[f];
  double sum = 0, mult = 0;
  for (int loc = 0; loc < R; ++loc) {
    const double th = double(sums[f * W + std::size_t(loc)]) / kSumScale;
    double m = s.world.reg.compute_multiplier[ctrl];
    if (loc != ctrl && s.world.reg.exempt_abroad[ctrl]) m = 1.0;
    sum += th;
    mult += m * th;
  }
  y.sum_theta = sum;
  if (sum <= 0) return y;
  const double c = F.compute[f] * mult / sum;
  const double A = F.productivity[f] * (1.0 - s.world.reg.service_penalty[ctrl]);
  y.output = Pp.scale * A * std::pow(sum, Pp.alpha) * std::pow(std::max(c, 0.0), Pp.beta);
  y.hc_output = y.output * (double(sums[f * W + std::size_t(R)]) / kSumScale) / sum;
  return y;
}

double value_per_theta(const State& s, std::size_t f, const FirmOutput& y) {
  const auto& Pp = s.params.production;
  if (Pp.output_value <= 0 || Pp.scale <= 0) return 0.0;
  if (y.sum_theta > 0) return 12.0 * Pp.output_value * Pp.alpha * y.output / y.sum_theta;
  // No staff: the value of a first unit of talent at the headquarters' office.
  const auto& F = s.world.f;
  const int ctrl = F.controlled_by[f];
  double m = s.world.reg.compute_multiplier[ctrl];
  if (F.hq[f] != ctrl && s.world.reg.exempt_abroad[ctrl]) m = 1.0;
  const double A = F.productivity[f] * (1.0 - s.world.reg.service_penalty[ctrl]);
  return 12.0 * Pp.output_value * Pp.alpha * Pp.scale * A * std::pow(std::max(F.compute[f] * m, 0.0), Pp.beta);
}

void update_firm_values(State& s) {
  auto& F = s.world.f;
  engine::for_ranges(F.size(), kFirmGrain, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f) F.value_per_theta[f] = value_per_theta(s, f, firm_output(s, f));
  });
}

}  // namespace ts::model
