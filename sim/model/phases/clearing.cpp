// 6. clearing (MODEL.md §4.6): firms accept at most their vacancies, most talented first,
// ties by id; accepted moves are executed, or wait for a visa.
#include <tbb/parallel_sort.h>

#include <algorithm>

#include "sim/model/phases/phases.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

void Clearing::run(State& s) {
  auto& r = s.world.r;
  auto& F = s.world.f;
  auto& movers = s.movers;
  // Only a firm with more movers than capacity (vacancies; raids add their own) needs the
  // talent order: its movers are sorted by (talent desc, uid), a total order, so the result
  // does not depend on threads; all others' movers are simply accepted. The movers arrive in
  // slot order from retention, which is also the order moves are executed in.
  const auto by_slot = [](const Mover& a, const Mover& b) { return a.slot < b.slot; };
  if (!std::is_sorted(movers.begin(), movers.end(), by_slot)) tbb::parallel_sort(movers.begin(), movers.end(), by_slot);
  const std::size_t NF = F.size();
  const auto& wanted = s.counters.count(movers.size(), NF, [&](int64_t* a, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) ++a[std::size_t(movers[k].firm)];
  });
  std::vector<int64_t> room(NF, 0);
  bool over = false;  // some firm has more movers than room
  for (std::size_t f = 0; f < NF; ++f) {
    if (wanted[f] == 0) continue;
    const int64_t cap = F.vacancies[f] + F.extra_capacity[f];
    room[f] = std::max<int64_t>(cap, 0);
    const int64_t taken = std::min(wanted[f], room[f]);
    s.stats.market[kRejectedByCapacity] += wanted[f] - taken;
    F.vacancies[f] = std::max<int64_t>(0, cap - taken - F.extra_capacity[f]);
    over |= wanted[f] > room[f];
  }
  std::vector<uint32_t> contested;  // positions in movers of movers to firms over capacity
  if (over)
    for (std::size_t k = 0; k < movers.size(); ++k)
      if (wanted[std::size_t(movers[k].firm)] > room[std::size_t(movers[k].firm)]) contested.push_back(uint32_t(k));
  if (!contested.empty()) {
    rejected.assign(movers.size(), 0);
    tbb::parallel_sort(contested.begin(), contested.end(), [&](uint32_t x, uint32_t y) {
      const Mover& a = movers[x];
      const Mover& b = movers[y];
      if (a.firm != b.firm) return a.firm < b.firm;
      if (a.talent != b.talent) return a.talent > b.talent;
      return a.uid < b.uid;
    });
    for (std::size_t k = 0; k < contested.size();) {
      const int32_t f = movers[contested[k]].firm;
      int64_t left = room[std::size_t(f)];
      for (; k < contested.size() && movers[contested[k]].firm == f; ++k)
        if (left > 0)
          --left;
        else
          rejected[contested[k]] = 1;
    }
  }
  // Without a rejection every mover is accepted as is (no copy of the list).
  if (contested.empty()) {
    accepted.swap(movers);
  } else {
    accepted.clear();
    accepted.reserve(movers.size());
    for (std::size_t k = 0; k < movers.size(); ++k)
      if (!rejected[k]) accepted.push_back(movers[k]);
  }
  // Execute in researcher order; moves that need a visa wait for the visa phase. Each
  // researcher's own columns change in parallel (no two movers are the same researcher).
  done.resize(accepted.size());  // every element is written below
  petition.assign(accepted.size(), 0);
  engine::for_chunks(accepted.size(), [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      const Mover& m = accepted[k];
      const std::size_t i = m.slot;
      if (visa_need(s, i, m.region) == 2) {
        const auto& rule = s.visa_rule(m.region, r.origin[i]);
        done[k] = record_move(s, i, m.firm, m.region, m.comp, LogKind::VisaPetition);
        petition[k] = 1;
        // +1: the visa phase of this same step already counts one month down.
        set_petition(s, i, m.firm, m.region, m.comp, rule.processing_months + 1, 0);
        continue;
      }
      done[k] = move_researcher(s, i, m.firm, m.region, m.comp, r.employer[i] == kNoFirm ? LogKind::Hire : LogKind::Move);
    }
  });
  // Their shared bookkeeping, also in parallel through per-chunk sinks.
  book_in_chunks(s, accepted.size(), [&](auto& sink, std::size_t b, std::size_t e) {
    for (std::size_t k = b; k < e; ++k) {
      if (accepted[k].targeted == 2) sink.market(kRaidHires);
      if (petition[k]) {
        sink.pending(done[k].to, +1);
        sink.visa_stat(done[k].to_region, done[k].origin, kVisaApplications);
        log_move_into(s, done[k], sink);
      } else {
        book_into(s, done[k], sink);
      }
    }
  });
  movers.swap(accepted);
}

}  // namespace ts::model::phase
