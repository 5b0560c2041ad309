// Changes of a researcher's situation that several phases make: taking a job (a move), waiting
// for a visa (a petition), losing a job, leaving a region for lack of status.
//
// Each function changes only researcher i's own columns and hands the shared effects (the
// firms' books, flows, counters, the log entry) to a Sink (ledger.hpp), so that different
// researchers can change in parallel with per-chunk sinks, or one at a time with Immediate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "sim/model/ledger.hpp"
#include "sim/model/terms.hpp"

namespace ts::model {

/// The log entry of researcher i (its id, origin and tier now) for an event of this step.
inline LogEntry log_entry(const State& s, std::size_t i, LogKind kind, int32_t from_firm, int32_t to_firm,
                          int from_region, int to_region, float pay_before, float pay_after) {
  const auto& r = s.world.r;
  return {s.world.step, r.uid[i], uint8_t(kind), from_firm, to_firm, uint8_t(from_region),
          uint8_t(to_region), pay_before, pay_after, r.origin[i], r.tier[i]};
}

/// Hands researcher i's log entry to `to`, if output.event_log admits its tier.
template <class Sink>
void log_into(const State& s, Sink& to, std::size_t i, LogKind kind, int32_t from_firm, int32_t to_firm,
              int from_region, int to_region, float pay_before, float pay_after) {
  if (s.log_enabled_for(s.world.r.tier[i]))
    to.log(log_entry(s, i, kind, from_firm, to_firm, from_region, to_region, pay_before, pay_after));
}

/// What a move of researcher i to (firm, region, comp) will change, captured before it.
inline MoveRecord record_move(const State& s, std::size_t i, int32_t firm, int region, float comp, LogKind kind) {
  const auto& r = s.world.r;
  return {r.uid[i],      r.employer[i],    firm,          r.comp[i],   comp, r.skill[i],
          r.location[i], uint8_t(region), uint8_t(kind), r.origin[i], r.tier[i]};
}

/// The log entry of an executed move, handed to `to` if the mover's tier is logged.
template <class Sink>
void log_move_into(const State& s, const MoveRecord& m, Sink& to) {
  if (s.log_enabled_for(m.tier))
    to.log({s.world.step, m.uid, m.kind, m.from, m.to, m.from_region, m.to_region, m.before, m.after, m.origin, m.tier});
}

/// The researcher's side of a move (no visa step: it was approved or not needed): employer,
/// region and status, pay, and the clocks the job and the region restart. Returns what
/// book_into() needs (captured before the move).
inline MoveRecord move_researcher(State& s, std::size_t i, int32_t firm, int region, float comp, LogKind kind) {
  auto& r = s.world.r;
  const MoveRecord rec = record_move(s, i, firm, region, comp, kind);
  const int from_region = r.location[i];
  const int need = visa_need(s, i, region);
  if (region != from_region) {
    r.in_region[i] = 0;
    if (region == r.origin[i]) {
      r.status[i] = uint8_t(Status::Citizen);
    } else if (need == 2) {
      r.status[i] = uint8_t(Status::WorkVisa);
      r.visa_left[i] = int16_t(s.params.regions[region].visa_months);
      r.renewals[i] = 0;
    }
    r.location[i] = uint8_t(region);
  } else if (need == 2) {  // status change in place (student, or no status) approved
    r.status[i] = uint8_t(Status::WorkVisa);
    r.visa_left[i] = int16_t(s.params.regions[region].visa_months);
    r.renewals[i] = 0;
  }
  r.employer[i] = firm;
  r.comp[i] = comp;
  if (firm != rec.from) {  // relocating with the same employer keeps tenure (retention curves, raise anniversary)
    r.tenure[i] = 0;
    r.ref_offer[i] = 0;
  }
  r.grace[i] = -1;
  return rec;
}

/// The shared side of an executed move — flows, both firms' books (staff_into), the poaching
/// pair, market counters, the log entry — handed to `to`.
template <class Sink>
void book_into(const State& s, const MoveRecord& m, Sink& to) {
  const auto kind = LogKind(m.kind);
  if (m.to_region != m.from_region) to.flow(m.from_region, m.to_region);
  if (m.from != kNoFirm) staff_into(s, m.from, m.from_region, m.tier, m.talent, m.before, -1, to);
  if (m.to != kNoFirm) staff_into(s, m.to, m.to_region, m.tier, m.talent, m.after, +1, to);
  if (kind == LogKind::Move && m.from != kNoFirm && m.to != kNoFirm) to.pair(Ledger::poaching_key(m.from, m.to));
  if (kind == LogKind::Move) to.market(kJobToJob);
  if (kind == LogKind::Hire) to.market(kHires);
  if (kind == LogKind::Relocation) to.market(kRelocations);
  log_move_into(s, m, to);
}

/// Moves researcher i now, booking the shared side at once (serial callers).
inline void execute_move(State& s, std::size_t i, int32_t firm, int region, float comp, LogKind kind) {
  Immediate now{s};
  book_into(s, move_researcher(s, i, firm, region, comp, kind), now);
}

/// A visa petition pending for researcher i (its own columns only): decided when `months`
/// (capped at 127) have counted down; kind 0 = a hire, 1 = change of status with the current
/// employer, 2 = a relocation with the current employer.
inline void set_petition(State& s, std::size_t i, int32_t firm, int region, float comp, int months, uint8_t kind) {
  auto& r = s.world.r;
  r.pending_firm[i] = firm;
  r.pending_region[i] = uint8_t(region);
  r.pending_comp[i] = comp;
  r.pending_left[i] = int8_t(std::min(127, months));
  r.pending_kind[i] = kind;
}

/// Researcher i loses the job (if any), for reason `why`; a work-visa holder starts the grace
/// period. A change-of-status petition or a relocation belongs to the job and ends with it.
template <class Sink>
void lose_job_into(State& s, std::size_t i, LogKind why, Sink& to) {
  auto& r = s.world.r;
  if (r.employer[i] == kNoFirm) return;
  log_into(s, to, i, why, r.employer[i], kNoFirm, r.location[i], r.location[i], r.comp[i], 0.f);
  if (r.pending_firm[i] == r.employer[i] && r.pending_kind[i] != 0) r.pending_firm[i] = kNoFirm;
  staff_into(s, r.employer[i], r.location[i], r.tier[i], r.skill[i], r.comp[i], -1, to);
  r.employer[i] = kNoFirm;
  r.comp[i] = 0.f;
  r.tenure[i] = 0;
  r.ref_offer[i] = 0.f;
  if (Status(r.status[i]) == Status::WorkVisa && r.grace[i] < 0)
    r.grace[i] = int8_t(std::min(127, s.params.regions[r.location[i]].grace_months));
}

inline void lose_job(State& s, std::size_t i, LogKind why) {
  Immediate now{s};
  lose_job_into(s, i, why, now);
}

/// Researcher i, without status where it lives, leaves: home, or with the departure region's
/// third_region_share to a region with open residence other than home and here (uniformly
/// among them), arriving with permanent residence. The job ends; a pending hire lapses.
template <class Sink>
void force_departure_into(State& s, std::size_t i, Sink& sink) {
  auto& r = s.world.r;
  lose_job_into(s, i, LogKind::Separation, sink);
  const int from = r.location[i];
  int to = r.origin[i];
  auto open = [&](int g) { return s.params.regions[g].open_residence && g != from && g != r.origin[i]; };
  int nopen = 0;
  for (int g = 0; g < s.regions(); ++g) nopen += open(g);
  if (nopen > 0 && s.params.regions[from].third_region_share > 0) {
    const DepartureDraw d = s.draws().departure(r.uid[i]);
    if (d.third < s.params.regions[from].third_region_share) {
      int k = int((uint64_t(d.which_word) * uint64_t(nopen)) >> 32);  // the k-th open region
      for (int g = 0; g < s.regions(); ++g)
        if (open(g) && k-- == 0) {
          to = g;
          break;
        }
    }
  }
  log_into(s, sink, i, LogKind::ForcedDeparture, kNoFirm, kNoFirm, from, to, 0.f, 0.f);
  sink.visa_stat(from, r.origin[i], kVisaForcedDepartures);
  sink.flow(from, to);
  r.location[i] = uint8_t(to);
  r.status[i] = uint8_t(to == r.origin[i] ? Status::Citizen : Status::Permanent);
  r.in_region[i] = 0;
  r.grace[i] = -1;
  r.visa_left[i] = 0;
  if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) sink.pending(r.pending_firm[i], -1);
  r.pending_firm[i] = kNoFirm;
}

inline void force_departure(State& s, std::size_t i) {
  Immediate now{s};
  force_departure_into(s, i, now);
}

}  // namespace ts::model
