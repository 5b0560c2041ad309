// 7. visa (MODEL.md §4.7): petitions decided after their processing months (approval, then
// the destination's cap and lottery); visa clocks, expiries and renewals; permanent residency;
// departures after the grace period.
#include <algorithm>

#include "sim/engine/compress.hpp"
#include "sim/engine/pipeline.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

namespace {

/// The columns the visa phase's bookkeeping reads or writes of a scattered researcher.
[[gnu::always_inline]] inline void prefetch_visa_holder(const Researchers& r, std::size_t i) {
  engine::prefetch_slot(i, r.uid, r.origin, r.location, r.status, r.tier, r.employer, r.comp, r.renewals, r.grace,
                        r.pending_firm, r.pending_region, r.pending_kind, r.pending_comp, r.tenure, r.ref_offer,
                        r.residency, r.visa_left);
}

/// What this month's clocks bring, listed by a parallel scan (slot order within each list).
struct Due {
  uint32_t slot;
  uint8_t approved;
};
struct ClockResults {
  std::vector<Due> decided;  ///< petitions decided this month, approved or not
  std::vector<uint32_t> expiring, permanent, filing, departing;
};

/// New cap year (not at the first simulated step, whose counters are new): last year's
/// selection rate is remembered, the counters start again.
void new_cap_year(State& s) {
  auto& rs = s.world.reg;
  const int month = (s.start_month + s.world.step) % 12 + 1;
  for (int d = 0; d < s.regions(); ++d)
    if (month == s.params.regions[d].cap_year_start && s.world.step > s.first_step) {
      if (rs.cap_applied[d] > 0) rs.selection_estimate[d] = std::min(1.0, double(rs.cap_used[d]) / double(rs.cap_applied[d]));
      rs.cap_used[d] = 0;
      rs.cap_applied[d] = 0;
    }
}

/// The month's clocks of everyone with a visa, a pending petition or a grace period: pending
/// petitions count down and are decided (approval draw) at zero; visas count down and expire
/// at zero; a work-visa holder's residency application waits in the queue and is granted with
/// pr_rate / 12 a month (by destination and origin), and a sponsoring employer files one after
/// residency_after_months on its staff; a grace period ends when a job with status is found,
/// else counts down to a departure.
ClockResults tick_visa_clocks(State& s) {
  auto& r = s.world.r;
  const std::size_t N = r.size();
  const Draws draws = s.draws();
  engine::ChunkedBuffer<Due> due;
  engine::ChunkedBuffer<uint32_t> expiring, permanent, filing, departing;
  due.reset(N);
  expiring.reset(N);
  permanent.reset(N);
  filing.reset(N);
  departing.reset(N);
  const auto& F = s.world.f;
  engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
    engine::SlotList todo;
    const std::size_t n = engine::select_slots(
        b, e,
        [alive = r.alive.data(), status = r.status.data(), pending = r.pending_firm.data(),
         grace = r.grace.data()](std::size_t i) {
          const uint8_t st = status[i];
          const bool visa = (st == uint8_t(Status::WorkVisa)) | (st == uint8_t(Status::StudentVisa));
          return uint8_t((alive[i] != 0) & (visa | (pending[i] != kNoFirm) | (grace[i] >= 0)));
        },
        todo.data());
    // The listed are scattered: their columns are fetched 16 ahead, and 8 ahead, once those
    // have arrived, the columns only some need (a petition's clock and destination, the
    // employer of those in a grace period).
    auto fetch = [&](std::size_t k) {
      engine::prefetch_slot(todo[k], r.uid, r.status, r.visa_left, r.pending_firm, r.grace, r.location, r.origin);
    };
    auto fetch_some = [&](std::size_t k) {
      const std::size_t i = todo[k];
      if (r.pending_firm[i] != kNoFirm) engine::prefetch_slot(i, r.pending_left, r.pending_region);
      if (r.grace[i] >= 0 || r.status[i] == uint8_t(Status::WorkVisa)) engine::prefetch_slot(i, r.employer, r.tenure);
      if (r.status[i] == uint8_t(Status::WorkVisa)) engine::prefetch_slot(i, r.residency);
    };
    auto tick = [&](std::size_t k) {
      const std::size_t i = todo[k];
      const auto st = Status(r.status[i]);
      const bool has_visa = st == Status::WorkVisa || st == Status::StudentVisa;
      if (r.pending_firm[i] != kNoFirm) {
        if (r.pending_left[i] > 0) --r.pending_left[i];
        if (r.pending_left[i] == 0) {
          const auto& rule = s.visa_rule(r.pending_region[i], r.origin[i]);
          due.part(c).push_back({uint32_t(i), uint8_t(draws.visa(r.uid[i]).approval < rule.approval)});
        }
      }
      if (has_visa) {
        if (r.visa_left[i] > 0) --r.visa_left[i];
        bool expires = r.visa_left[i] == 0;
        if (st == Status::WorkVisa && r.residency[i] >= 0) {  // waiting in the queue
          if (r.residency[i] < 32767) ++r.residency[i];
          // The queue's hazard is the same every month, the visa's last one included: a grant
          // then replaces the extension.
          if (draws.visa(r.uid[i]).residency < s.visa_rule(r.location[i], r.origin[i]).pr_rate / 12.0) {
            permanent.part(c).push_back(uint32_t(i));
            expires = false;
          }
        } else if (!expires && st == Status::WorkVisa && r.employer[i] != kNoFirm &&
                   F.sponsors[std::size_t(r.employer[i])]) {
          const int after = s.params.regions[r.location[i]].residency_after_months;
          if (after >= 0 && r.tenure[i] >= after) filing.part(c).push_back(uint32_t(i));
        }
        if (expires) expiring.part(c).push_back(uint32_t(i));
      }
      if (r.grace[i] >= 0) {
        if (r.employer[i] != kNoFirm && st != Status::None) {
          r.grace[i] = -1;
        } else {
          if (r.grace[i] > 0) --r.grace[i];
          if (r.grace[i] == 0) departing.part(c).push_back(uint32_t(i));
        }
      }
    };
    engine::pipeline(0, n, tick, engine::stage(engine::kFetchAhead, fetch), engine::stage(engine::kFetchAhead / 2, fetch_some));
  });
  ClockResults out;
  due.gather(out.decided);
  expiring.gather(out.expiring);
  permanent.gather(out.permanent);
  filing.gather(out.filing);
  departing.gather(out.departing);
  return out;
}

/// Runs body(i, sink) for every researcher of `list` (slot order), in parallel through
/// book_in_chunks, or, for a list within one chunk, serially with the Immediate sink (same
/// effects, no per-thread counters to clear and add). Each item changes its researcher's own
/// columns only.
template <class Body>
void for_each_booked(State& s, const std::vector<uint32_t>& list, Body&& body) {
  const auto& r = s.world.r;
  auto run = [&](auto& sink, std::size_t b, std::size_t e) {
    engine::for_each_prefetched(
        b, e, engine::kFetchAhead, [&](std::size_t k) { prefetch_visa_holder(r, list[k]); },
        [&](std::size_t k) { body(list[k], sink); });
  };
  if (list.size() <= engine::kChunk && engine::small_lists_serial()) {
    Immediate now{s};
    run(now, 0, list.size());
  } else {
    book_in_chunks(s, list.size(), run);
  }
}

}  // namespace

void Visa::run(State& s) {
  auto& r = s.world.r;
  auto& F = s.world.f;
  auto& rs = s.world.reg;
  const int R = s.regions();
  const Draws draws = s.draws();
  new_cap_year(s);
  const ClockResults clocks = tick_visa_clocks(s);
  // Decisions: approval, then the destination's cap with a lottery among this month's approvals.
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> capped(R);
  Immediate now{s};
  auto vstat = [&](std::size_t i, VisaStat k) { now.visa_stat(r.pending_region[i], r.origin[i], k); };
  auto deny = [&](std::size_t i, LogKind why) {
    if (r.pending_kind[i] == 0) --F.pending_in[r.pending_firm[i]];
    log_into(s, now, i, why, r.employer[i], r.pending_firm[i], r.location[i], r.pending_region[i], r.comp[i],
             r.pending_comp[i]);
    r.pending_firm[i] = kNoFirm;
    if (Status(r.status[i]) == Status::StudentVisa && r.visa_left[i] == 0) {
      r.status[i] = uint8_t(Status::None);
      lose_job(s, i, LogKind::Separation);
      if (r.grace[i] < 0) r.grace[i] = int8_t(std::min(127, s.params.regions[r.location[i]].grace_months));
    }
  };
  std::vector<uint32_t> approved;
  const auto& decided = clocks.decided;
  engine::for_each_prefetched(
      0, decided.size(), engine::kFetchAhead, [&](std::size_t k) { prefetch_visa_holder(r, decided[k].slot); },
      [&](std::size_t k) {
        const Due& d = decided[k];
        const std::size_t i = d.slot;
        if (!d.approved) {
          vstat(i, kVisaDenials);
          deny(i, LogKind::VisaDenied);
          return;
        }
        const int dest = r.pending_region[i];
        const auto& rule = s.visa_rule(dest, r.origin[i]);
        // Universities are cap-exempt [P2]; so are relocations with the same employer
        // (intra-company transfers use an uncapped visa, the L-1 in the US), and, where the
        // destination says so, researchers of its cap_exempt_talent tiers (the O-1 in the US).
        const bool exempt = FirmKind(F.kind[r.pending_firm[i]]) == FirmKind::Academia || r.pending_kind[i] == 2 ||
                            cap_exempt_by_talent(s, i, dest);
        if (rule.capped && !exempt) {
          const LotteryDraw lot = draws.visa_lottery(r.uid[i]);
          ++rs.cap_applied[dest];
          if (lot.selection >= lottery_chance(s.params.regions[dest], double(r.pending_comp[i]))) {
            vstat(i, kVisaLotteryLosses);
            deny(i, LogKind::VisaLotteryLost);
            return;
          }
          if (s.params.regions[dest].annual_cap < 0) {
            ++rs.cap_used[dest];
            approved.push_back(uint32_t(i));
            return;
          }
          capped[dest].push_back({lot.order, uint32_t(i)});
        } else {
          approved.push_back(uint32_t(i));
        }
      });
  for (int d = 0; d < R; ++d) {
    auto& c = capped[d];
    if (c.empty()) continue;
    std::sort(c.begin(), c.end());
    const int64_t room = std::max<int64_t>(0, s.params.regions[d].annual_cap - rs.cap_used[d]);
    for (std::size_t k = 0; k < c.size(); ++k) {
      if (int64_t(k) < room) {
        approved.push_back(c[k].second);
        ++rs.cap_used[d];
      } else {
        vstat(c[k].second, kVisaLotteryLosses);
        deny(c[k].second, LogKind::VisaLotteryLost);
      }
    }
  }
  std::sort(approved.begin(), approved.end());
  // Approvals: the move (or the change of status) takes place.
  for_each_booked(s, approved, [&](uint32_t i, auto& sink) {
    sink.visa_stat(r.pending_region[i], r.origin[i], kVisaApprovals);
    const int32_t f = r.pending_firm[i];
    if (r.pending_kind[i] == 0) sink.pending(f, -1);
    r.pending_firm[i] = kNoFirm;
    log_into(s, sink, i, LogKind::VisaApproved, r.employer[i], f, r.location[i], r.pending_region[i], r.comp[i],
             r.pending_comp[i]);
    if (r.pending_kind[i] == 1 && r.employer[i] == f) {  // change of status at the same employer
      r.status[i] = uint8_t(Status::WorkVisa);
      r.visa_left[i] = int16_t(s.params.regions[r.location[i]].visa_months);
      r.renewals[i] = 0;
      return;
    }
    const LogKind kind =
        r.pending_kind[i] == 2 ? LogKind::Relocation : r.employer[i] == kNoFirm ? LogKind::Hire : LogKind::Move;
    book_into(s, move_researcher(s, i, f, r.pending_region[i], r.pending_comp[i], kind), sink);
  });
  // Expiring visas: renewal, change of status for employed students, or loss of status.
  for_each_booked(s, clocks.expiring, [&](uint32_t i, auto& sink) {
    const int loc = r.location[i];
    const auto& rule = s.visa_rule(loc, r.origin[i]);
    const int32_t f = r.employer[i];
    if (Status(r.status[i]) == Status::StudentVisa) {
      if (f != kNoFirm && F.sponsors[f] && r.pending_firm[i] == kNoFirm && petition_fee(s, i, loc) <= F.max_fee[f]) {
        // The employer files a petition; the graduate keeps working while it is processed.
        set_petition(s, i, f, loc, r.comp[i], rule.processing_months, 1);  // already on staff: not an incoming hire
        sink.visa_stat(loc, r.origin[i], kVisaApplications);
        log_into(s, sink, i, LogKind::VisaPetition, f, f, loc, loc, r.comp[i], r.comp[i]);
        return;
      }
      if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 1) return;  // decision pending
    } else if (f != kNoFirm && r.residency[i] >= 0) {
      // Residency pending: the visa is extended while the queue decides (as US law does).
      r.visa_left[i] = int16_t(s.params.regions[loc].extension_months);
      sink.visa_stat(loc, r.origin[i], kVisaExtensions);
      log_into(s, sink, i, LogKind::VisaExtended, f, f, loc, loc, r.comp[i], r.comp[i]);
      return;
    } else if (f != kNoFirm && F.sponsors[f] && r.renewals[i] < s.params.regions[loc].max_renewals) {
      if (draws.renewal(r.uid[i]) < rule.renewal) {
        ++r.renewals[i];
        r.visa_left[i] = int16_t(s.params.regions[loc].visa_months);
        sink.visa_stat(loc, r.origin[i], kVisaRenewals);
        log_into(s, sink, i, LogKind::VisaRenewed, f, f, loc, loc, r.comp[i], r.comp[i]);
        return;
      }
    }
    sink.visa_stat(loc, r.origin[i], kVisaExpiries);
    log_into(s, sink, i, LogKind::VisaExpired, f, f, loc, loc, r.comp[i], r.comp[i]);
    r.status[i] = uint8_t(Status::None);
    lose_job_into(s, i, LogKind::Separation, sink);
    if (r.grace[i] < 0) r.grace[i] = int8_t(std::min(127, s.params.regions[loc].grace_months));
    if (r.grace[i] == 0) force_departure_into(s, i, sink);
  });
  // Permanent residency.
  for_each_booked(s, clocks.permanent, [&](uint32_t i, auto& sink) {
    if (Status(r.status[i]) != Status::WorkVisa) return;
    r.status[i] = uint8_t(Status::Permanent);
    r.residency[i] = -1;
    r.grace[i] = -1;
    sink.visa_stat(r.location[i], r.origin[i], kVisaPermanent);
    log_into(s, sink, i, LogKind::PermanentResidency, r.employer[i], r.employer[i], r.location[i], r.location[i],
             r.comp[i], r.comp[i]);
  });
  // Residency applications filed by sponsoring employers.
  for_each_booked(s, clocks.filing, [&](uint32_t i, auto& sink) {
    r.residency[i] = 0;
    sink.visa_stat(r.location[i], r.origin[i], kVisaResidencyApplications);
    log_into(s, sink, i, LogKind::ResidencyFiled, r.employer[i], r.employer[i], r.location[i], r.location[i], r.comp[i],
             r.comp[i]);
  });
  // Departures after the grace period.
  for_each_booked(s, clocks.departing, [&](uint32_t i, auto& sink) {
    if (r.grace[i] == 0 && r.location[i] != r.origin[i]) force_departure_into(s, i, sink);
  });
}

}  // namespace ts::model::phase
