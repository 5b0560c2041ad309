// 2. demography (MODEL.md §4.2): ageing and the clocks; exits from the field; separations to
// unemployment; entrants through the education pipeline.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "sim/engine/arrivals.hpp"
#include "sim/engine/compress.hpp"
#include "sim/engine/pipeline.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/selection.hpp"
#include "sim/model/tiers.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

namespace {

/// Monthly clocks of slots [b, e): clears the per-step flags; adds a month to the age (if
/// age_step), the career, the months in the region and, with a job, the tenure of the living
/// (saturating). Plain column arithmetic (a free function with __restrict parameters, so that it
/// vectorises).
void tick_clocks(std::size_t b, std::size_t e, int16_t age_step, uint8_t* __restrict flags,
                 const uint8_t* __restrict alive, const int32_t* __restrict employer, int16_t* __restrict age,
                 int16_t* __restrict career, int16_t* __restrict in_region, int16_t* __restrict tenure) {
  for (std::size_t i = b; i < e; ++i) {
    flags[i] = 0;
    const int16_t live = int16_t(alive[i] != 0);
    age[i] = int16_t(age[i] + (live & age_step & int16_t(age[i] < 32767)));
    career[i] = int16_t(career[i] + (live & int16_t(career[i] < 32767)));
    in_region[i] = int16_t(in_region[i] + (live & int16_t(in_region[i] < 32767)));
    tenure[i] = int16_t(tenure[i] + (live & int16_t(employer[i] != kNoFirm) & int16_t(tenure[i] < 32767)));
  }
}

/// Realised talent of slots [b, e) after this month's experience: θ · e(career), e rising
/// linearly from `start` to 1 over `months` (realised_talent, as column arithmetic).
void ripen(std::size_t b, std::size_t e, double start, int months, const float* __restrict talent,
           const int16_t* __restrict career, float* __restrict skill) {
  const double slope = (1.0 - start) / double(months);
  for (std::size_t i = b; i < e; ++i) {
    const double m = std::min(double(career[i]), double(months));
    skill[i] = m >= double(months) ? talent[i] : float(double(talent[i]) * (start + slope * m));
  }
}

/// Who leaves the field this step, chunk by chunk (slot order).
struct Leavers {
  std::vector<uint32_t> exits, separations;
};

/// The columns a job loss reads or writes (lose_job_into) and the flag a separation sets.
[[gnu::always_inline]] inline void prefetch_leaver(const Researchers& r, std::size_t i) {
  engine::prefetch_slot(i, r.employer, r.location, r.comp, r.pending_firm, r.tier, r.skill, r.tenure, r.ref_offer,
                        r.status, r.grace, r.flags);
}

/// The columns an entrant's slot is written in.
[[gnu::always_inline]] inline void prefetch_entrant(Researchers& r, std::size_t i) {
  engine::prefetch_slot_for_write(i, r.uid, r.alive, r.origin, r.talent, r.skill, r.career, r.age, r.home_bias, r.compute_taste,
                                  r.location, r.status, r.visa_left, r.renewals, r.grace, r.residency, r.in_region, r.tenure,
                                  r.employer, r.comp, r.ref_offer, r.output, r.hc_output, r.pending_firm, r.flags,
                                  r.tier);
}

/// Exits and separations are exclusive, exit first: researcher i leaves the field with
/// probability e (exit_rate) and otherwise, with a job, loses it with δ. Drawn by thinning
/// candidates of the common bound e + (1 − e)·δ (engine::Arrivals). Retirements come from age.
std::vector<Leavers> draw_leavers(State& s) {
  auto& r = s.world.r;
  const auto& P = s.params.population;
  const auto& M = s.params.market;
  const std::size_t N = r.size();
  const int retire = P.retirement_age * 12;
  const double e_rate = std::clamp(P.exit_rate, 0.0, 1.0), delta = std::clamp(M.separation, 0.0, 1.0);
  const engine::Arrivals arrivals(e_rate + (1 - e_rate) * delta);
  const Draws draws = s.draws();
  std::vector<Leavers> parts(engine::chunk_count(N));
  engine::for_chunks(N, [&](std::size_t c, std::size_t b, std::size_t e) {
    auto& part = parts[c];
    tick_clocks(b, e, int16_t(P.ageing ? 1 : 0), r.flags.data(), r.alive.data(), r.employer.data(), r.age.data(),
                r.career.data(), r.in_region.data(), r.tenure.data());
    if (P.experience.enabled)
      ripen(b, e, P.experience.start, int(P.experience.months), r.talent.data(), r.career.data(), r.skill.data());
    std::vector<uint32_t> retired;
    if (P.ageing)
      engine::select_rare_slots(
          b, e, [alive = r.alive.data(), age = r.age.data(), retire](std::size_t i) {
            return uint8_t((alive[i] != 0) & (int(age[i]) >= retire));
          },
          retired);
    std::vector<uint32_t> quits;
    rng::Stream stream = draws.chunk_events(c);
    arrivals.for_each(stream, b, e, [&](std::size_t i, double u) {
      if (!r.alive[i] || (P.ageing && r.age[i] >= retire)) return;
      const double d_i = r.employer[i] != kNoFirm ? delta : 0.0;
      switch (arrivals.which(u, {e_rate, e_rate + (1 - e_rate) * d_i})) {
        case 0: quits.push_back(uint32_t(i)); break;
        case 1: part.separations.push_back(uint32_t(i)); break;
        default: break;
      }
    });
    part.exits.resize(retired.size() + quits.size());
    std::merge(retired.begin(), retired.end(), quits.begin(), quits.end(), part.exits.begin());
  });
  return parts;
}

/// Exits and separations, chunk by chunk in parallel: a researcher's own columns change in
/// place; the firms' books and counters go to per-chunk sinks, applied in chunk order (the log
/// in slot order, as a serial pass would). Returns the freed slots, in slot order.
std::vector<uint32_t> apply_leavers(State& s, const std::vector<Leavers>& parts) {
  auto& r = s.world.r;
  const std::size_t N = r.size();
  const std::size_t NF = s.world.f.size(), nreg = std::size_t(s.regions());
  // Counters: the firms' books (BooksChunk, from 0); exits, separations; exits by region.
  const std::size_t o_exits = 4 * NF, o_seps = o_exits + 1, o_region = o_seps + 1;
  auto& logs = s.log_parts;
  engine::ChunkedBuffer<Delta> thetas;
  logs.reset(N);
  thetas.reset(N);
  const auto& applied = s.counters.count(N, o_region + nreg, [&](int64_t* a, std::size_t b, std::size_t) {
    const std::size_t c = b / engine::kChunk;
    BooksChunk sink{a, 0, NF, logs.part(c), thetas.part(c)};
    const Leavers& part = parts[c];
    for (const uint32_t i : part.exits) {
      lose_job_into(s, i, LogKind::Separation, sink);
      log_into(s, sink, i, LogKind::Exit, kNoFirm, kNoFirm, r.location[i], r.location[i], 0.f, 0.f);
      if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) sink.pending(r.pending_firm[i], -1);
      r.alive[i] = 0;
      r.pending_firm[i] = kNoFirm;
      r.employer[i] = kNoFirm;
      ++a[o_exits];
      ++a[o_region + r.location[i]];
    }
    const auto& seps = part.separations;  // scattered: their columns are fetched ahead
    engine::for_each_prefetched(
        0, seps.size(), engine::kFetchAhead, [&](std::size_t k) { prefetch_leaver(r, seps[k]); },
        [&](std::size_t k) {
          const uint32_t i = seps[k];
          lose_job_into(s, i, LogKind::Separation, sink);
          r.flags[i] |= kFlagSeparated;
          ++a[o_seps];
        });
  });
  add_book_changes(s.world.f, applied.data());
  s.stats.market[kExits] += applied[o_exits];
  s.stats.market[kSeparations] += applied[o_seps];
  for (std::size_t x = 0; x < nreg; ++x) s.stats.exits_region[x] += applied[o_region + x];
  logs.append_to(s.stats.log);
  add_deltas(s.books.theta_sums, thetas);
  std::vector<uint32_t> freed;
  for (const auto& part : parts) freed.insert(freed.end(), part.exits.begin(), part.exits.end());
  return freed;
}

/// Entrants through the education pipeline: each origin's expected number this month
/// (entrants_per_month × ai_propensity [A4]), its fraction by a Bernoulli draw. They fill the
/// lowest free slots, study at home or abroad (study_abroad shares: abroad on a student visa),
/// and start without a job.
void enter(State& s) {
  auto& r = s.world.r;
  const auto& P = s.params.population;
  const auto& M = s.params.market;
  const auto& U = M.utility;
  const int R = s.regions();
  const Draws draws = s.draws();
  std::vector<int64_t> entering(R, 0);
  std::vector<double> abroad(R, 0.0), abroad_cut(R, 0.0);  // share studying abroad, by origin; its probit cut
  for (int o = 0; o < R; ++o) {
    for (const auto& sa : s.params.regions[o].study_abroad) abroad[o] += sa.value;
    abroad_cut[o] = selection_cut(abroad[o]);
  }
  int64_t all_entering = 0;
  for (int o = 0; o < R; ++o) {
    const auto& reg = s.params.regions[o];
    const double expected = reg.entrants_per_month * reg.ai_propensity;
    if (expected <= 0) continue;
    rng::Stream st = draws.entrant_count(uint64_t(o));
    entering[o] = int64_t(std::floor(expected));
    if (rng::bernoulli(st, expected - double(entering[o]))) ++entering[o];
    all_entering += entering[o];
  }
  // Columns grow by a year of this month's net entry or by Researchers::headroom, whichever is
  // more (a year of a quiet month's entry alone would re-copy all columns about once a year).
  const int64_t growth = all_entering - int64_t(s.free_slots.size());
  if (growth > 0 && r.size() + std::size_t(growth) > r.uid.capacity())
    r.reserve(std::max(r.size() + 12 * std::size_t(growth), Researchers::headroom(r.size())));
  // Slots and ids are handed out serially, in region order (the lowest free slots first);
  // each entrant's columns are then drawn in parallel (its draws are keyed by its own id and
  // it writes only its own slot); counts and the log follow serially in the same order.
  struct Entrant {
    uint32_t slot;
    uint8_t origin;
    uint64_t uid;
  };
  std::vector<Entrant> ents;
  ents.reserve(std::size_t(all_entering));
  std::size_t next_free = 0, new_size = r.size();
  for (int o = 0; o < R; ++o)
    for (int64_t k = 0; k < entering[o]; ++k) {
      const std::size_t i = next_free < s.free_slots.size() ? std::size_t(s.free_slots[next_free++]) : new_size++;
      ents.push_back({uint32_t(i), uint8_t(o), s.world.next_uid++});
    }
  if (new_size > r.size()) r.resize(new_size);
  // The entrants fill freed slots scattered over the columns: the slots 8 entrants ahead are
  // prefetched for writing, and the entrants are split finer than kChunk (a month's entrants
  // make only a few chunks). Each location (and the slot's tier) is kept per entrant for
  // the counts and the log, which follow in entrant order.
  std::vector<uint8_t> ent_loc(ents.size()), ent_tier(ents.size());
  engine::for_ranges(ents.size(), 1024, [&](std::size_t kb, std::size_t ke) {
    engine::for_each_prefetched(kb, ke, 8, [&](std::size_t k) { prefetch_entrant(r, ents[k].slot); }, [&](std::size_t k) {
      const std::size_t i = ents[k].slot;
      const int o = ents[k].origin;
      const auto& reg = s.params.regions[o];
      const uint64_t uid = ents[k].uid;
      rng::Stream t = draws.entrant(uid);
      r.uid[i] = uid;
      r.alive[i] = 1;
      r.origin[i] = uint8_t(o);
      const double z = P.fixed_talent > 0 ? 0.0 : rng::normal(t);  // standardised ln θ
      r.talent[i] = P.fixed_talent > 0 ? float(P.fixed_talent) : float(std::exp(reg.talent_mu + reg.talent_sigma * z));
      r.career[i] = 0;
      r.skill[i] = realised_talent(r.talent[i], 0, P.experience);
      r.age[i] = int16_t(P.min_age * 12 + int(rng::uniform_int(t, uint32_t((P.max_entry_age - P.min_age) * 12 + 1))));
      r.home_bias[i] = float(U.home + U.home_sd * rng::normal(t));
      r.compute_taste[i] = float(std::max(0.0, U.compute + U.compute_sd * rng::normal(t)));
      // Studied abroad (the more talented more often, abroad_selection), where by the shares;
      // without selection one uniform decides both, x < share of the first place, then the next.
      int loc = o;
      if (abroad[o] > 0) {
        double x = 0;
        bool away = true;
        if (P.abroad_selection != 0) {
          away = selected(z, P.abroad_selection, abroad_cut[o], t);
          x = rng::uniform01(t) * abroad[o];
        } else {
          x = rng::uniform01(t);
          away = x < abroad[o];
        }
        if (away)
          for (const auto& sa : reg.study_abroad) {
            loc = s.params.region_index(sa.name);
            x -= sa.value;
            if (x < 0) break;
          }
      }
      r.location[i] = uint8_t(loc);
      r.status[i] = uint8_t(loc == o ? Status::Citizen : Status::StudentVisa);
      r.visa_left[i] = int16_t(loc == o ? 0 : s.params.regions[loc].student_visa_months);
      r.renewals[i] = 0;
      r.grace[i] = -1;
      r.residency[i] = -1;
      r.in_region[i] = 0;
      r.tenure[i] = 0;
      r.employer[i] = kNoFirm;
      r.comp[i] = 0.f;
      r.ref_offer[i] = 0.f;
      r.output[i] = 0.f;
      r.hc_output[i] = 0.f;
      r.pending_firm[i] = kNoFirm;
      r.flags[i] = kFlagEntered;
      ent_loc[k] = uint8_t(loc);
      ent_tier[k] = r.tier[i];
    });
  });
  s.stats.market[kEntrants] += int64_t(ents.size());
  for (const uint8_t loc : ent_loc) ++s.stats.entrants_region[loc];
  std::vector<uint32_t> slots(ents.size());
  for (std::size_t k = 0; k < ents.size(); ++k) slots[k] = ents[k].slot;
  tiers_on_entrants(s, slots);
  // The log entry without re-reading the scattered slots (the tier is the slot's: the tiers
  // are refreshed after this).
  for (std::size_t k = 0; k < ents.size(); ++k)
    if (s.log_enabled_for(ent_tier[k]))
      s.stats.log.push_back({s.world.step, ents[k].uid, uint8_t(LogKind::Entry), kNoFirm, kNoFirm, ent_loc[k],
                             ent_loc[k], 0.f, 0.f, ents[k].origin, ent_tier[k]});
  s.free_slots.erase(s.free_slots.begin(), s.free_slots.begin() + std::ptrdiff_t(next_free));
}

}  // namespace

void Demography::run(State& s) {
  const std::vector<uint32_t> freed = apply_leavers(s, draw_leavers(s));
  tiers_on_exits(s, freed);
  // Free slots stay sorted so entrants fill the lowest first.
  std::vector<uint32_t> merged;
  merged.reserve(s.free_slots.size() + freed.size());
  std::merge(s.free_slots.begin(), s.free_slots.end(), freed.begin(), freed.end(), std::back_inserter(merged));
  s.free_slots.swap(merged);
  enter(s);
  const auto& m = s.stats.market;
  if (s.params.population.ageing || s.params.population.experience.enabled || m[kEntrants] > 0 || m[kExits] > 0 ||
      s.world.step == s.first_step)
    refresh_tiers(s);
}

}  // namespace ts::model::phase
