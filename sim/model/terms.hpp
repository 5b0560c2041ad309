// The terms of the market: what a firm pays (MODEL.md §2 pay rule), the compute a researcher
// would have at an office, what a move needs in visas, and the utility of an option (§3).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <cstdint>
#include <vector>

#include "sim/model/state.hpp"

namespace ts::model {

// ------------------------------------------------------------------------------ pay
/// θ^e of the pay schedule, called for every offer and counteroffer. Elasticities of 1 (the
/// leading labs) and 0 (the textbook reductions: pay independent of talent) skip pow: pow(θ, 0)
/// is 1 by definition and pow(θ, 1) is θ exactly (glibc's pow errs by < 1 ULP, so a result that
/// is representable comes back exact), so the values are the same as with pow.
inline double talent_power(double theta, double e) { return e == 1.0 ? theta : e == 0.0 ? 1.0 : std::pow(theta, e); }

/// Firm f's standard pay for talent θ at an office in `region`: base × pay level × θ^elasticity
/// (before the poaching premium and the cap).
inline double standard_pay(const State& s, int f, int region, float talent) {
  const auto& F = s.world.f;
  return F.base_pay[f] * s.params.regions[region].pay_level * talent_power(double(talent), F.elasticity[f]);
}
/// The most firm f pays researcher of realised talent θ at an office in `region` (its
/// counteroffer ceiling): posted, min(standard pay × (1 + max_raise), maximum package);
/// valuation, min(the researcher's value to it, maximum package).
inline double max_comp(const State& s, int f, int region, float talent) {
  const auto& F = s.world.f;
  if (F.pay_rule[f] == uint8_t(PayRule::Valuation))
    return std::min(F.value_per_theta[f] * s.params.regions[region].pay_level * double(talent), F.max_package[f]);
  return std::min(standard_pay(s, f, region, talent) * (1.0 + F.max_raise[f]), F.max_package[f]);
}

/// What evaluating an offer reads of firm f, in one cache line (the firms' columns are ~10
/// lines a firm): built once a step by OfferTerms.
struct alignas(64) OfferCard {
  double base_pay, premium, max_package;
  double slope;          ///< posted: the elasticity of pay in θ; valuation: valuation share × value per unit θ
  double prestige_term;  ///< utility.prestige × prestige, the product utility() adds
  double max_fee;
  uint32_t office_begin, office_end;
  uint8_t hq, sponsors, rule;
};
static_assert(sizeof(OfferCard) == 64);
OfferCard offer_card(const State& s, int f);

/// What firm (card c) offers for realised talent θ at an office with this pay level:
///   posted     base × level × θ^elasticity, × (1 + premium) for the employed, capped by the maximum package;
///   valuation  valuation share × level × value per unit θ × θ, never below base × level, capped alike.
inline double offer_pay(const OfferCard& c, double pay_level, float talent, bool employed) {
  if (c.rule == uint8_t(PayRule::Valuation))
    return std::min(std::max(c.slope * pay_level * double(talent), c.base_pay * pay_level), c.max_package);
  const double p = c.base_pay * pay_level * talent_power(double(talent), c.slope);
  return std::min(p * (employed ? 1.0 + c.premium : 1.0), c.max_package);
}
/// What a firm offers: standard pay, with the premium if the researcher is employed, capped
/// by the maximum package.
inline double offer_comp(const State& s, int f, int region, float talent, bool employed) {
  return offer_pay(offer_card(s, f), s.params.regions[region].pay_level, talent, employed);
}

/// What firm f expects to pay a researcher (its plan divides the wage budget by it): the average
/// pay of its staff, or, without staff, its offer to θ = 1 at its headquarters.
inline double expected_pay(const State& s, int f) {
  const auto& F = s.world.f;
  if (F.headcount[f] > 0) return F.wage_bill[f] / double(F.headcount[f]);
  return offer_comp(s, f, F.hq[f], 1.0f, false);
}

// ------------------------------------------------------------------------------ visas
/// The chance that a capped petition offering `pay` (USD a year) is selected in the destination's
/// cap lottery: 1 − (1 − lottery_selection)^entries, with one entry (uniform) or, under the
/// wage-weighted rule [P7], 1 to 4 entries for wage levels I to IV of the offered pay.
inline double lottery_chance(const RegionParams& dest, double pay) {
  const double q = dest.lottery_selection;
  if (dest.lottery != LotteryRule::WageWeighted) return q;
  const auto& w = dest.wage_levels;
  const int entries = 1 + int(pay >= w.level_2) + int(pay >= w.level_3) + int(pay >= w.level_4);
  return 1.0 - std::pow(1.0 - q, entries);
}

// ------------------------------------------------------------------------------ production
/// Firm f's monthly output from its staff's Σθ by office region (Ledger::theta_sums, fixed
/// point): Y = scale·A·(Σθ)^α·C^β (MODEL.md §4.8), with A after service restrictions and C the
/// firm's compute after export controls, weighted by where its talent sits.
struct FirmOutput {
  double sum_theta = 0, output = 0, hc_output = 0;
};
FirmOutput firm_output(const State& s, std::size_t f);
/// The annual value to firm f of a unit of realised talent, 12 × output_value × ∂Y/∂(Σθ) =
/// 12 × P × α × Y / Σθ (for a firm without staff, at Σθ = 1), before the region's pay level.
double value_per_theta(const State& s, std::size_t f, const FirmOutput& y);
/// Every firm's value_per_theta from the ledger's Σθ (0 while production or output_value is 0).
void update_firm_values(State& s);

// ------------------------------------------------------------------------------ compute
/// Compute per researcher of firm f at its office in `region`, after export controls.
inline double compute_per_researcher(const State& s, int f, int region) {
  const auto& F = s.world.f;
  const int ctrl = F.controlled_by[f];
  double m = s.world.reg.compute_multiplier[ctrl];
  if (region != ctrl && s.world.reg.exempt_abroad[ctrl]) m = 1.0;
  return F.compute[f] * m / std::max<double>(1.0, double(F.headcount[f]));
}

/// A step's cache of the firms' terms (a speed technique: the values are those the functions
/// above compute): each firm's OfferCard and ln(1 + compute per researcher) of every office.
/// Valid while firms' data does not change, i.e. inside the offers phase, which builds it.
struct OfferTerms {
  std::vector<OfferCard> cards;
  std::vector<double> office_term;  ///< by office (Firms::office_region's index)
  void build(const State& s);
};

/// The office region of a firm (offices [begin, end), headquarters hq) that u ∈ [0, 1) picks by
/// the open offices' shares.
inline int pick_office(const Firms& F, uint32_t begin, uint32_t end, int hq, double u) {
  double tot = 0;
  for (uint32_t k = begin; k < end; ++k) tot += F.office_open[k] ? F.office_share[k] : 0;
  double x = u * tot;
  int last = hq;
  for (uint32_t k = begin; k < end; ++k) {
    if (!F.office_open[k]) continue;
    last = F.office_region[k];
    x -= F.office_share[k];
    if (x < 0) break;
  }
  return last;
}
inline int pick_office(const Firms& F, int f, double u) {
  return pick_office(F, F.office_begin[f], F.office_begin[f + 1], F.hq[f], u);
}

// ------------------------------------------------------------------------------ visas
/// What researcher i needs to work in `dest`: 0 nothing, 1 a transfer (a sponsor, but no cap
/// or wait), 2 a new petition.
inline int visa_need(const State& s, std::size_t i, int dest) {
  const auto& r = s.world.r;
  if (dest == r.origin[i]) return 0;
  if (dest == r.location[i]) {
    const auto st = Status(r.status[i]);
    if (st == Status::Citizen || st == Status::Permanent) return 0;
    if (st == Status::StudentVisa && r.visa_left[i] > 0) return 0;
    if (st == Status::WorkVisa && r.visa_left[i] > 0) return 1;
  }
  return 2;
}
/// Whether researcher i's petitions to `dest` skip its cap and lottery by talent (the tier the
/// destination's cap_exempt_talent names, or a higher one).
inline bool cap_exempt_by_talent(const State& s, std::size_t i, int dest) {
  const auto x = s.params.regions[dest].cap_exempt_talent;
  return x != CapExemptTalent::None && s.world.r.tier[i] >= uint8_t(x);
}
/// What a new petition of researcher i to `dest` costs the sponsor: the destination's
/// petition_fee, or its talent_petition_fee (when set) for a researcher exempt by talent.
inline double petition_fee(const State& s, std::size_t i, int dest) {
  const auto& d = s.params.regions[dest];
  return d.talent_petition_fee >= 0 && cap_exempt_by_talent(s, i, dest) ? d.talent_petition_fee : d.petition_fee;
}
/// visa_risk of MODEL.md §3: the chance a move to `dest` fails for lack of a visa, plus a
/// cost per month of waiting (0 without a new petition).
inline double visa_risk(const State& s, std::size_t i, int dest) {
  if (visa_need(s, i, dest) < 2) return 0.0;
  const auto& rule = s.visa_rule(dest, s.world.r.origin[i]);
  const double sel = rule.capped && !cap_exempt_by_talent(s, i, dest) ? s.world.reg.selection_estimate[dest] : 1.0;
  return (1.0 - rule.approval * sel) + s.params.market.utility.wait_cost * rule.processing_months;
}

// ------------------------------------------------------------------------------ utility
/// U(o) = a·ln(comp) + c_i·ln(1 + compute per researcher) + g·prestige + h_i·[region = origin]
///        − v·visa_risk − m·[move] + ε      (MODEL.md §3)
/// of researcher i working for firm f (kNoFirm: no job) in `region` at pay `comp`. ε is the
/// taste shock of option `noise_block` (0 for staying, firm + 1 for an offer). `terms`, if
/// given, supplies firm f's card and office term (same values, fewer cache misses).
inline double utility(const State& s, const OfferTerms* terms, std::size_t i, int f, int region, double comp,
                      bool move, uint32_t noise_block) {
  const auto& U = s.params.market.utility;
  const auto& r = s.world.r;
  double u = U.pay * std::log(std::max(comp, 1.0));
  if (f != kNoFirm) {
    double lc = std::numeric_limits<double>::quiet_NaN(), prestige = 0.0;
    if (terms) {  // from f's card: the prestige term and the term of its office in `region`
      const OfferCard& c = terms->cards[std::size_t(f)];
      prestige = c.prestige_term;
      for (uint32_t k = c.office_begin; k < c.office_end; ++k)
        if (s.world.f.office_region[k] == region) {
          lc = terms->office_term[k];
          break;
        }
    } else {
      prestige = U.prestige * s.world.f.prestige[f];
    }
    if (std::isnan(lc)) lc = std::log1p(compute_per_researcher(s, f, region));  // not an office of f
    u += double(r.compute_taste[i]) * lc;
    u += prestige;
  }
  if (region == r.origin[i]) u += double(r.home_bias[i]) + s.params.regions[region].home_pull;
  if (move) u -= U.visa_risk * visa_risk(s, i, region) + U.move_cost;
  if (U.noise > 0) u += U.noise * s.draws().taste_shock(r.uid[i], noise_block);
  return u;
}

}  // namespace ts::model
