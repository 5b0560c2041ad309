// Scale is one knob (docs/model.md): changing population.researchers scales the absolute counts
// a scenario writes (firm headcounts, entrants per month) with it, unless
// population.scale_market is false; and a scenario that extends another may change its
// regions, not add one. Before issue 18 the counts stayed as written (a world of 10⁶
// researchers had 70% unemployment) and a region typo made a new, empty region.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/support/helpers.hpp"

using namespace ts;

namespace {

const std::string kBaseline = test::source_dir() + "/scenarios/baseline.yaml";

cfg::Scenario load(const std::string& path, const std::vector<std::string>& sets) {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(path, sets, d);
  if (!sc) throw std::runtime_error(d.format());
  return std::move(*sc);
}

double size_of(const model::Dist& h) { return h.a; }  // constant value or lognormal median

const model::RegionParams& region(const model::Params& p, const std::string& name) {
  return p.regions[std::size_t(p.region_index(name))];
}

}  // namespace

TEST_CASE("scale: population.researchers scales firm headcounts and entrants; scale_market: false keeps them") {
  const auto at1 = load(kBaseline, {});
  const auto at2 = load(kBaseline, {"population.researchers=600000"});
  const auto only = load(kBaseline, {"population.researchers=600000", "population.scale_market=false"});
  REQUIRE(at1.params.firms.size() == at2.params.firms.size());
  for (std::size_t g = 0; g < at1.params.firms.size(); ++g) {
    const auto &a = at1.params.firms[g], &b = at2.params.firms[g], &c = only.params.firms[g];
    INFO(a.name);
    CHECK(size_of(b.headcount) == doctest::Approx(2 * size_of(a.headcount)));
    CHECK(b.headcount.b == a.headcount.b);  // a lognormal's sigma is not a size
    CHECK(b.count == a.count);              // the same firms, each larger
    CHECK(b.budget_per_head == a.budget_per_head);
    CHECK(b.hiring.scouting_list == a.hiring.scouting_list);
    CHECK(size_of(c.headcount) == size_of(a.headcount));
  }
  for (const auto& r : at1.params.regions) {
    INFO(r.name);
    CHECK(region(at2.params, r.name).entrants_per_month == doctest::Approx(2 * r.entrants_per_month));
    CHECK(region(at2.params, r.name).annual_cap == r.annual_cap);  // a cap of the whole economy
    CHECK(region(only.params, r.name).entrants_per_month == r.entrants_per_month);
  }
  // The resolved counts describe the resolved population; the note says what was scaled.
  CHECK(at2.params.population.reference_researchers == 600000);
  REQUIRE(at2.notes.size() == 1);
  CHECK(at2.notes[0].find("×2 for those of " + kBaseline) != std::string::npos);
  CHECK(at1.notes.empty());
  CHECK(only.notes.empty());
}

TEST_CASE("scale: the resolved configuration loads to itself (no scaling twice)") {
  const auto at2 = load(kBaseline, {"population.researchers=600000"});
  test::TempDir d;
  const std::string text = cfg::to_yaml(model::dump_params(at2.params));
  test::write_file(d / "resolved.yaml", text);
  const auto again = load(d / "resolved.yaml", {});
  CHECK(cfg::to_yaml(model::dump_params(again.params)) == text);
  CHECK(again.notes.empty());
}

TEST_CASE("scale: each file's counts scale from the population that file describes") {
  // The child writes its own population and firms (sized for it): those stay; the base's
  // entrants were written for the base's 10,000 researchers and scale to the child's 2,000.
  test::TempDir d;
  test::write_file(d / "base.yaml",
                   "run: {steps: 3}\n"
                   "population: {researchers: 10000}\n"
                   "regions:\n"
                   "  US: {entrants_per_month: 100}\n"
                   "  CN: {entrants_per_month: 50}\n"
                   "firms:\n"
                   "  - {name: Big, hq: US, headcount: 5000}\n"
                   "events:\n"
                   "  - {type: set, at: 1, key: regions.US.entrants_per_month, value: \"200\"}\n"
                   "  - {type: set, at: 1, key: regions.CN, value: \"{entrants_per_month: 60}\"}\n"
                   "  - {type: set, at: 2, key: firms.Big.headcount, value: \"3000\"}\n");
  test::write_file(d / "child.yaml",
                   "extends: base.yaml\n"
                   "population: {researchers: 2000}\n"
                   "firms:\n"
                   "  - {name: Small, hq: CN, headcount: 800}\n"
                   "  - {name: Default, hq: US}\n"
                   "  - {name: Big, hq: US, headcount: 5000}\n");
  const auto sc = load(d / "child.yaml", {});
  CHECK(size_of(sc.params.firms[0].headcount) == 800);
  CHECK(size_of(sc.params.firms[1].headcount) == 100);  // the default, for this file's population
  CHECK(region(sc.params, "US").entrants_per_month == doctest::Approx(20));
  CHECK(region(sc.params, "CN").entrants_per_month == doctest::Approx(10));
  // `set` events of the base describe the base's world too.
  CHECK(size_of(sc.params.firms[2].headcount) == 5000);
  CHECK(sc.params.events[0].value == "40");
  CHECK(sc.params.events[1].value == "entrants_per_month: 12");
  CHECK(sc.params.events[2].value == "600");
  // --set values are used as given; --set population.reference_researchers says what every
  // file's counts describe.
  const auto given = load(d / "child.yaml", {"firms[0].headcount=700", "population.researchers=4000"});
  CHECK(size_of(given.params.firms[0].headcount) == 700);
  CHECK(size_of(given.params.firms[1].headcount) == 200);
  CHECK(region(given.params, "US").entrants_per_month == doctest::Approx(40));
  const auto ref = load(d / "child.yaml", {"population.reference_researchers=1000"});
  CHECK(size_of(ref.params.firms[0].headcount) == 1600);
  CHECK(region(ref.params, "US").entrants_per_month == doctest::Approx(200));
}

TEST_CASE("scale: a larger population meets proportionally larger firms (employment stays the scenario's)") {
  // One region, 2,000 researchers, firms with room for 1,800 (employment_rate 0.9), run at
  // 20,000. With the firms scaled, the start employs 90% of the researchers in 18,000 places;
  // without, 1,800 places hold at most 9%. Tolerance: each researcher is employed at the start
  // with probability 0.9 (binomial, sd 0.0067 at n = 2,000): ±2% relative (±0.018) is 2.7 sd.
  const std::string yaml =
      "run: {steps: 1, seed: 3}\n"
      "regions: {ONE: {}}\n"
      "population: {researchers: 2000, employment_rate: 0.9, origin_shares: {ONE: 1}}\n"
      "firms:\n"
      "  - {name: A, hq: ONE, headcount: 1000}\n"
      "  - {name: B, hq: ONE, headcount: 800}\n";
  auto employed_share = [&](const std::vector<std::string>& sets) {
    model::Simulation sim(test::params_from(yaml, sets));
    int64_t employed = 0, alive = 0;
    const auto& r = sim.world().r;
    for (std::size_t i = 0; i < r.size(); ++i)
      if (r.alive[i]) ++alive, employed += r.employer[i] != model::kNoFirm;
    return double(employed) / double(alive);
  };
  CHECK(employed_share({}) == doctest::Approx(0.9).epsilon(0.02));
  CHECK(employed_share({"population.researchers=20000"}) == doctest::Approx(0.9).epsilon(0.02));
  CHECK(employed_share({"population.researchers=20000", "population.scale_market=false"}) <= 0.09 + 1e-9);
}

TEST_CASE("regions: an extending scenario may change the base's regions, make the default ones explicit, not add one") {
  test::TempDir d;
  test::write_file(d / "base.yaml", "run: {steps: 3}\npopulation: {researchers: 1000}\nfirms: [{name: A, hq: US}]\n");
  // A partial regions map on a base with the default regions changes one of them: the world
  // keeps all seven (before: it replaced them, leaving a world of one region).
  test::write_file(d / "fee.yaml", "extends: base.yaml\nregions: {US: {petition_fee: 100000}}\n");
  const auto fee = load(d / "fee.yaml", {});
  REQUIRE(fee.params.regions.size() == 7);
  CHECK(region(fee.params, "US").petition_fee == 100000);
  CHECK(region(fee.params, "EU").petition_fee == 0);
  // A typo is refused with its location, and so is a new region.
  test::write_file(d / "typo.yaml", "extends: base.yaml\nregions: {Us: {petition_fee: 1}, Atlantis: {}}\n");
  cfg::Diagnostics diag;
  CHECK_FALSE(cfg::load_scenario(d / "typo.yaml", {}, diag).has_value());
  const std::string msg = diag.format();
  CHECK(msg.find(d / "typo.yaml" + ":2:11: regions.Us: unknown region 'Us' (did you mean 'US'?)") != std::string::npos);
  CHECK(msg.find("regions.Atlantis: unknown region 'Atlantis' (regions: US, CN, EU, UK, CA, IN, ROW)") != std::string::npos);
  // A scenario without a base defines its own world; --set changes a region, never adds one.
  test::write_file(d / "world.yaml", "regions: {North: {}, South: {}}\nfirms: [{name: A, hq: North}]\n");
  CHECK(load(d / "world.yaml", {"regions.South.pay_level=0.5"}).params.regions.size() == 2);
  cfg::Diagnostics sd;
  CHECK_FALSE(cfg::load_scenario(d / "world.yaml", {"regions.Sout.pay_level=0.5"}, sd).has_value());
  CHECK(sd.format() == "--set regions.Sout.pay_level=0.5: regions.Sout: unknown region 'Sout' (did you mean 'South'?): "
                       "--set cannot add a region\n");
  // The baseline extends its calibration overlay, which names only the fitted regions (US, CN):
  // the other default regions come from the baseline, as before.
  CHECK(load(kBaseline, {}).params.regions.size() == 7);
}
