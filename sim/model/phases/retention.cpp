// 5. retention (MODEL.md §4.5): before a researcher leaves, the employer may counter.
#include <algorithm>
#include <cmath>

#include "sim/model/phases/phases.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

void Retention::run(State& s) {
  auto& r = s.world.r;
  auto& F = s.world.f;
  const double a = s.params.market.utility.pay;
  s.movers.clear();
  struct Raise {
    uint32_t slot;
    float comp, ref;
  };
  engine::ChunkedBuffer<Mover> mv;
  engine::ChunkedBuffer<Raise> rs;
  mv.reset(s.offers.size());
  rs.reset(s.offers.size());
  engine::for_chunks(s.offers.size(), [&](std::size_t c, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      const Offer& o = s.offers[k];
      const std::size_t i = o.slot;
      const int32_t j = r.employer[i];
      auto move = [&](float comp) { mv.part(c).push_back({o.slot, o.firm, o.region, o.targeted, comp, r.skill[i], r.uid[i]}); };
      if (j == kNoFirm) {  // no employer to counter; an offer that leaves one no worse off is taken
        if (o.u_offer >= o.u_stay) move(o.comp);
        continue;
      }
      const auto rule = RetentionRule(F.retention[j]);
      if (rule == RetentionRule::None || a <= 0) {  // Burdett–Mortensen: a strictly better offer is taken
        if (o.u_offer > o.u_stay) move(o.comp);
        continue;
      }
      const double cur = r.comp[i];
      const double vmax_j = std::max(cur, max_comp(s, j, r.location[i], r.skill[i]));
      const double u_jmax = o.u_stay + a * (std::log(vmax_j) - std::log(std::max(cur, 1.0)));
      if (rule == RetentionRule::Match) {
        if (o.u_offer <= o.u_stay) continue;
        if (u_jmax >= o.u_offer) {  // matched: raise to the offer's utility
          const double c2 = std::min(vmax_j, cur * std::exp((o.u_offer - o.u_stay) / a));
          rs.part(c).push_back({o.slot, float(c2), o.comp});
        } else {
          move(o.comp);
        }
        continue;
      }
      // Bertrand (Postel-Vinay–Robin): both bid up to their maximum; the one the researcher
      // values more wins and pays what matches the loser's maximum; a losing poacher still
      // raises the stayer's pay.
      const double vmax_k = std::max<double>(o.comp, max_comp(s, o.firm, o.region, r.skill[i]));
      const double u_kmax = o.u_offer + a * (std::log(vmax_k) - std::log(std::max<double>(o.comp, 1.0)));
      if (u_kmax <= o.u_stay) continue;
      if (u_kmax > u_jmax) {
        const double c2 = std::clamp(double(o.comp) * std::exp((u_jmax - o.u_offer) / a), double(o.comp), vmax_k);
        move(float(c2));
      } else {
        const double c2 = std::clamp(cur * std::exp((u_kmax - o.u_stay) / a), cur, vmax_j);
        rs.part(c).push_back({o.slot, float(c2), float(vmax_k)});
      }
    }
  });
  Immediate now{s};
  rs.for_each_in_order([&](const Raise& x) {
    const float before = r.comp[x.slot];
    r.comp[x.slot] = x.comp;
    r.ref_offer[x.slot] = x.ref;
    F.wage_bill[std::size_t(r.employer[x.slot])] += double(fixed(double(x.comp), 1.0) - fixed(double(before), 1.0));
    ++s.stats.market[kCounterRaises];
    log_into(s, now, x.slot, LogKind::CounterRaise, r.employer[x.slot], r.employer[x.slot], r.location[x.slot],
             r.location[x.slot], before, x.comp);
  });
  mv.gather(s.movers);
}

}  // namespace ts::model::phase
