// The invariant checker (--check, and every step in debug builds) reports a corrupted state:
// each kind of corruption below is made by hand after a few valid steps and must be named.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "sim/model/invariants.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;
using model::kNoFirm;
using model::Status;

namespace {

model::Simulation stepped() {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", {"population.researchers=3000"}, d);
  REQUIRE_MESSAGE(sc, d.format());
  model::Simulation sim(sc->params);
  sim.set_checking(true);
  for (int t = 0; t < 3; ++t) sim.step();
  // A fourth step up to the check: the checker compares this step's stocks with the last
  // step's and this step's flows, as finish_step() does before it moves on.
  sim.stats().reset(sim.regions(), int(sim.world().f.size()));
  sim.events(), sim.demography(), sim.firm_planning(), sim.offers(), sim.retention();
  sim.clearing(), sim.visa(), sim.production(), sim.pay(), sim.record();
  return sim;
}

/// The first employed researcher (slot) for which pred(slot) holds.
std::size_t employed_where(const model::Simulation& sim, const std::function<bool(std::size_t)>& pred) {
  const auto& r = sim.world().r;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r.alive[i] && r.employer[i] != kNoFirm && pred(i)) return i;
  FAIL("no such researcher");
  return 0;
}

bool reports(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("invariants: a valid run reports nothing, and every kind of corruption is reported") {
  const model::Simulation base = stepped();
  REQUIRE(base.check_invariants().empty());
  const auto& r0 = base.world().r;
  const std::size_t home = employed_where(base, [&](std::size_t i) { return r0.location[i] == r0.origin[i]; });
  const std::size_t visa = employed_where(base, [&](std::size_t i) { return Status(r0.status[i]) == Status::WorkVisa; });
  const int32_t f = r0.employer[home];
  struct Case {
    const char* what;           ///< the corruption
    const char* message;        ///< what the report must say
    std::function<void(model::State&)> corrupt;
  };
  const Case cases[] = {
      {"a headcount off by one", "headcount", [&](model::State& s) { s.world.f.headcount[f] += 1; }},
      {"an elite count off by one", "elite count", [&](model::State& s) { s.world.f.elite[f] += 1; }},
      {"a wage bill off by a dollar", "wage bill", [&](model::State& s) { s.world.f.wage_bill[f] += 1; }},
      {"a pending hire that nobody is", "pending hires", [&](model::State& s) { s.world.f.pending_in[f] += 1; }},
      {"staff beyond the planned capacity", "exceed its capacity", [&](model::State& s) { s.plan_capacity[f] = 0; }},
      {"work without status", "without status", [&](model::State& s) { s.world.r.visa_left[visa] = 0; }},
      {"a citizen abroad", "citizen exactly when at home",
       [&](model::State& s) { s.world.r.status[visa] = uint8_t(Status::Citizen); }},
      {"an employer out of range", "out of range", [&](model::State& s) { s.world.r.employer[home] = 1 << 30; }},
      {"the dead still employed", "left the field", [&](model::State& s) { s.world.r.alive[home] = 0; }},
      {"a move without a flow", "flows imply", [&](model::State& s) {
         auto& r = s.world.r;
         r.location[home] = uint8_t((r.location[home] + 1) % s.regions());
       }},
      {"work where the firm has no office", "has no office", [&](model::State& s) {
         auto& r = s.world.r;
         const auto& F = s.world.f;
         for (int reg = 0; reg < s.regions(); ++reg) {
           bool office = false;
           for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) office |= F.office_region[k] == reg;
           if (!office) {
             r.location[home] = uint8_t(reg);
             return;
           }
         }
       }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    model::Simulation sim = base;
    c.corrupt(sim.edit_state());
    const auto lines = sim.check_invariants();
    CHECK(reports(lines, c.message));
    // finish_step() refuses to go on.
    CHECK_THROWS_AS(sim.finish_step(), std::logic_error);
  }
}
