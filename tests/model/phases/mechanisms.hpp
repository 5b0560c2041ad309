// Shared fixtures of the mechanism tests (tests/model/phases/): each mechanism of MODEL.md
// §3–§4 on a tiny hand-built population whose outcome is worked out by hand. Every scenario
// switches off what the test is not about: no noise (utility.noise 0), pay-only utility
// (utility.pay 1, every other weight 0), no ageing, exits, separations or random offers
// unless the test turns them on. The world columns are then overwritten to build the
// situation, and the phases are driven one at a time (or with step()). Each assertion says
// how its expected value follows from the rules.
#pragma once

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "tests/support/helpers.hpp"

namespace ts::test::mech {

using model::kNoFirm;
using model::LogKind;
using model::Simulation;
using model::Status;


/// A scenario with the regions and firms given (YAML block text, already indented),
/// everything random or not under test switched off. Overrides (`key=value`) turn
/// single mechanisms back on.
inline std::string scenario(const std::string& regions, const std::string& firms, const std::string& extra = "") {
  return "run: {seed: 11, start: 2025-07, steps: 60}\n"
         "regions:\n" +
         regions +
         // A hand-built world: the tests size it with --set population.researchers and keep their firms.
         "population: {researchers: 4, scale_market: false, employment_rate: 0, ageing: false, exit_rate: 0}\n"
         "market:\n"
         "  lambda0: 0\n"
         "  lambda1: 0\n"
         "  separation: 0\n"
         "  utility: {pay: 1, compute: 0, compute_sd: 0, prestige: 0, home: 0, home_sd: 0,\n"
         "            visa_risk: 0, wait_cost: 0, move_cost: 0, noise: 0}\n"
         "firms:\n" +
         firms + extra;
}

/// The tests overwrite world columns after construction, which breaks the step-to-step
/// stock bookkeeping that the invariant checker (if this build has one, e.g. on in debug
/// builds) compares against; switch it off when it exists.
template <class S>
void no_invariant_checks(S& sim) {
  if constexpr (requires(S& s) { s.set_checking(false); }) sim.set_checking(false);
}

inline Simulation make(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  Simulation sim(test::params_from(yaml, sets));
  no_invariant_checks(sim);
  return sim;
}

/// Hand-built researcher state.
struct Person {
  int origin = 0;
  int location = 0;
  Status status = Status::Citizen;
  float talent = 1.f;
  int32_t employer = kNoFirm;
  float comp = 0.f;
  int visa_left = 0;
  int tenure = 0;
};

/// Overwrites every column of slot i (alive, no pending move, no grace clock, neutral tastes).
inline void put(Simulation& sim, std::size_t i, const Person& p) {
  auto& r = sim.edit_world().r;
  r.alive[i] = 1;
  r.origin[i] = uint8_t(p.origin);
  r.location[i] = uint8_t(p.location);
  r.status[i] = uint8_t(p.status);
  r.talent[i] = p.talent;
  r.skill[i] = p.talent;  // realised talent: experience is off in these worlds
  r.career[i] = 120;
  r.employer[i] = p.employer;
  r.comp[i] = p.comp;
  r.visa_left[i] = int16_t(p.visa_left);
  r.tenure[i] = int16_t(p.tenure);
  r.renewals[i] = 0;
  r.flags[i] = 0;
  r.grace[i] = -1;
  r.age[i] = 30 * 12;
  r.in_region[i] = 12;
  r.home_bias[i] = 0.f;
  r.compute_taste[i] = 0.f;
  r.ref_offer[i] = 0.f;
  r.output[i] = 0.f;
  r.hc_output[i] = 0.f;
  r.pending_firm[i] = kNoFirm;
  r.pending_region[i] = 0;
  r.pending_left[i] = 0;
  r.pending_kind[i] = 0;
  r.pending_comp[i] = 0.f;
}

/// Starts a hand-driven step: StepStats are reset by step() only.
inline void begin(Simulation& sim) { sim.stats().reset(sim.regions(), int(sim.world().f.size())); }

/// Phases 1–4 (events, demography, firm planning, offers).
inline void up_to_offers(Simulation& sim) {
  begin(sim);
  sim.events();
  sim.demography();
  sim.firm_planning();
  sim.offers();
}

/// Phases 5–10 and the clock, as step() would do them.
inline void finish_step(Simulation& sim) {
  sim.retention();
  sim.clearing();
  sim.visa();
  sim.production();
  sim.pay();
  sim.record();
  ++sim.edit_world().step;
}

inline int64_t market(const Simulation& sim, model::MarketStat k) { return sim.stats().market[std::size_t(k)]; }
/// A visa statistic of one origin, all destinations together.
inline int64_t visa_stat(const Simulation& sim, int origin, model::VisaStat k) {
  int64_t n = 0;
  for (int d = 0; d < sim.regions(); ++d) n += sim.stats().visa[sim.stats().visa_at(d, origin, k)];
  return n;
}
inline int64_t flow(const Simulation& sim, int from, int to) {
  return sim.stats().flows[std::size_t(from) * sim.regions() + to];
}
inline std::vector<model::LogEntry> logged(const Simulation& sim, LogKind k, uint64_t uid) {
  std::vector<model::LogEntry> out;
  for (const auto& e : sim.stats().log)
    if (e.kind == uint8_t(k) && e.uid == uid) out.push_back(e);
  return out;
}
inline int64_t count_kind(const Simulation& sim, LogKind k) {
  return std::count_if(sim.stats().log.begin(), sim.stats().log.end(), [&](auto& e) { return e.kind == uint8_t(k); });
}

inline const char* kTwoRegions =
    "  US: {pay_level: 1}\n"
    "  CN: {pay_level: 1}\n";


}  // namespace ts::test::mech
