// 9. pay (MODEL.md §4.9): annual raises on tenure anniversaries, up to the maximum package.
#include <algorithm>

#include "sim/engine/compress.hpp"
#include "sim/engine/pipeline.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

void Pay::run(State& s) {
  auto& r = s.world.r;
  auto& F = s.world.f;
  if (std::all_of(F.annual_raise.begin(), F.annual_raise.end(), [](double x) { return x == 0.0; })) return;
  // Log entries are built inside the parallel pass (each chunk its own list) and appended in
  // chunk order, i.e. slot order: the same log for any thread count.
  auto& raised = s.log_parts;
  raised.reset(r.size());
  const bool logging = s.recorded() && s.params.output.event_log != EventLogLevel::None;
  // The wage bills change by the raises (per-thread integer sums, as a recount would round).
  const auto& raises = s.counters.count(r.size(), F.size(), [&](int64_t* a, std::size_t b, std::size_t e) {
    const std::size_t c = b / engine::kChunk;
    // Those due a raise: the employed at a whole, non-zero number of years of tenure (one in ~13).
    engine::SlotList due;
    const std::size_t n = engine::select_slots(
        b, e,
        [alive = r.alive.data(), employer = r.employer.data(), tenure = r.tenure.data()](std::size_t i) {
          const int16_t t = tenure[i];
          return uint8_t((alive[i] != 0) & (employer[i] != kNoFirm) & (t != 0) & (t % 12 == 0));
        },
        due.data());
    auto fetch = [&](std::size_t k) {
      engine::prefetch_slot(due[k], r.employer, r.comp);
      if (logging) engine::prefetch_slot(due[k], r.uid, r.tier, r.location);
    };
    engine::for_each_prefetched(0, n, engine::kFetchAhead, fetch, [&](std::size_t k) {
      const std::size_t i = due[k];
      const int32_t f = r.employer[i];
      const float before = r.comp[i];
      r.comp[i] = float(std::min(double(r.comp[i]) * (1.0 + F.annual_raise[f]), std::max(F.max_package[f], double(r.comp[i]))));
      a[std::size_t(f)] += fixed(double(r.comp[i]), 1.0) - fixed(double(before), 1.0);
      if (r.comp[i] != before && s.log_enabled_for(r.tier[i]))
        raised.part(c).push_back(log_entry(s, i, LogKind::AnnualRaise, f, f, r.location[i], r.location[i], before, r.comp[i]));
    });
  });
  for (std::size_t f = 0; f < F.size(); ++f) F.wage_bill[f] += double(raises[f]);
  raised.append_to(s.stats.log);
}

}  // namespace ts::model::phase
