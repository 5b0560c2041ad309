// Same scenario + seed => identical results at any thread count, and every speed technique
// identical to its plain loop (MODEL.md §7).
//
// The populations are large enough for many chunks (engine::kChunk = 16,384 slots): 120,000
// researchers make 8, so the order in which threads finish chunks varies from run to run and
// a result that depended on it (a per-chunk sum merged in completion order, a list appended
// as chunks finish) would differ between the runs compared here.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>

#include "sim/engine/modes.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;

namespace {

/// A fingerprint of a run: every step's statistics and log, then every researcher and firm
/// column and the poaching table at the end, as raw bytes.
struct Trace {
  std::vector<std::pair<std::string, std::string>> parts;  // (what, bytes)
  template <class T>
  void put(const std::string& what, const std::vector<T>& v) {
    std::string bytes(v.size() * sizeof(T), '\0');
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    parts.emplace_back(what, std::move(bytes));
  }
  void put(const std::string& what, const std::vector<std::string>& v) {
    std::string all;
    for (const auto& x : v) all += x + '\n';
    parts.emplace_back(what, all);
  }
};

model::Params params_at(int64_t researchers, const std::vector<std::string>& extra = {}) {
  cfg::Diagnostics d;
  std::vector<std::string> sets = {"population.researchers=" + std::to_string(researchers)};
  sets.insert(sets.end(), extra.begin(), extra.end());
  auto sc = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", sets, d);
  if (!sc) throw std::runtime_error(d.format());
  return sc->params;
}

Trace trace(const model::Params& p, int steps) {
  model::Simulation sim(p);
  sim.set_checking(true);
  Trace tr;
  for (int t = 0; t < steps; ++t) {
    sim.step();
    const auto& s = sim.stats();
    const std::string at = "step " + std::to_string(t) + ": ";
    tr.put(at + "stocks", s.stocks);
    tr.put(at + "flows", s.flows);
    tr.put(at + "visa", s.visa);
    tr.put(at + "market", s.market);
    tr.put(at + "pay_pct", s.pay_pct);
    tr.put(at + "output_region", s.output_region);
    tr.put(at + "output_origin", s.output_origin);
    tr.put(at + "hc_region", s.hc_region);
    tr.put(at + "hc_origin", s.hc_origin);
    std::vector<double> log;
    for (const auto& e : s.log)
      log.insert(log.end(), {double(e.step), double(e.uid), double(e.kind), double(e.from_firm), double(e.to_firm),
                             double(e.from_region), double(e.to_region), double(e.pay_before), double(e.pay_after),
                             double(e.origin), double(e.tier)});
    tr.put(at + "log", log);
    tr.put(at + "offers (count)", std::vector<std::size_t>{sim.pending_offers().size(), sim.movers().size()});
  }
  model::for_each_researcher_column(sim.world().r, [&](const auto& c, const auto& column) {
    tr.put(std::string("researchers.") + c.name, column);
  });
  model::for_each_firm_column(sim.world().f, [&](const char* name, const auto& column) { tr.put(std::string("firms.") + name, column); });
  const auto pt = sim.poaching_table();
  tr.put("poaching.from", pt.from);
  tr.put("poaching.to", pt.to);
  tr.put("poaching.count", pt.count);
  return tr;
}

void require_same(const Trace& a, const Trace& b) {
  REQUIRE(a.parts.size() == b.parts.size());
  for (std::size_t k = 0; k < a.parts.size(); ++k) {
    CAPTURE(a.parts[k].first);
    REQUIRE(a.parts[k].first == b.parts[k].first);
    CHECK(a.parts[k].second == b.parts[k].second);
  }
}

struct Variant {
  const char* name;
  bool serial, small_lists_serial, plain;
  int threads;
};

}  // namespace

TEST_CASE("determinism: every speed technique equals its plain loop, at 1, 2 and 4 threads, over many chunks") {
  // The reference is the plainest way to run the model: one thread, chunk after chunk, every
  // pipeline and selection as its plain loop. Each variant switches one technique on.
  const auto p = params_at(120000);
  constexpr int kSteps = 12;
  Trace ref;
  {
    engine::Mode plain(true, true, true);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 1);
    ref = trace(p, kSteps);
  }
  REQUIRE(ref.parts.size() > 100);
  const Variant variants[] = {
      {"parallel chunks, fast loops (production)", false, true, false, 1},
      {"parallel chunks, fast loops (production)", false, true, false, 2},
      {"parallel chunks, fast loops (production)", false, true, false, 4},
      {"parallel chunks, plain loops", false, true, true, 2},
      {"parallel chunks, plain loops", false, true, true, 4},
      {"serial chunks, fast loops", true, true, false, 1},
      {"per-chunk sinks for short visa lists too", false, false, false, 2},
      {"per-chunk sinks for short visa lists too", false, false, false, 4},
  };
  for (const auto& v : variants) {
    CAPTURE(v.name);
    CAPTURE(v.threads);
    engine::Mode mode(v.serial, v.small_lists_serial, v.plain);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(v.threads));
    require_same(trace(p, kSteps), ref);
  }
}

TEST_CASE("determinism: a different seed gives different results") {
  const Trace a = trace(params_at(20000), 6), b = trace(params_at(20000, {"run.seed=8"}), 6);
  REQUIRE(a.parts.size() == b.parts.size());
  std::size_t differ = 0;
  for (std::size_t k = 0; k < a.parts.size(); ++k) differ += a.parts[k].second != b.parts[k].second;
  CHECK(differ > a.parts.size() / 2);
}

TEST_CASE("determinism: talentsim run at 1, 2 and 4 threads writes identical datasets") {
  test::TempDir dir;
  std::map<std::string, std::vector<double>> ref;
  for (int threads : {1, 2, 4}) {
    const std::string out = dir / ("t" + std::to_string(threads) + ".h5");
    const auto r = test::run(test::binary() + " run " + test::source_dir() + "/tests/data/scenarios/small.yaml -o " + out +
                             " --threads " + std::to_string(threads) +
                             " --steps 12 --quiet --set population.researchers=120000 --set output.snapshots=[11]");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    auto data = test::datasets(out);
    REQUIRE(data.count("/series/stocks"));
    REQUIRE(data.count("/events/researcher"));
    REQUIRE(data["/events/researcher"].size() > 0);
    if (threads == 1) {
      ref = std::move(data);
      continue;
    }
    CAPTURE(threads);
    REQUIRE(data.size() == ref.size());
    for (const auto& [name, v] : ref) {
      if (name == "/metadata/command_line") continue;  // differs by --threads, like the timestamps
      CAPTURE(name);
      REQUIRE(data.count(name));
      CHECK((data[name].size() == v.size() && std::memcmp(data[name].data(), v.data(), v.size() * sizeof(double)) == 0));
    }
  }
}
