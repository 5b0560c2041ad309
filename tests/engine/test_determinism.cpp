// Same scenario + seed => identical results at any thread count (MODEL.md §7).
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>

#include "sim/engine/parallel.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;

namespace {

/// Runs `steps` steps and returns a fingerprint of every researcher column and step statistic.
struct Trace {
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<double>> reals;
};

template <class T>
void put(Trace& tr, const std::vector<T>& v) {
  if constexpr (std::is_floating_point_v<T>) {
    tr.reals.emplace_back(v.begin(), v.end());
  } else {
    tr.ints.emplace_back(v.begin(), v.end());
  }
}

Trace trace(const model::Params& p, int steps) {
  model::Simulation sim(p);
  Trace tr;
  for (int t = 0; t < steps; ++t) {
    sim.step();
    const auto& s = sim.stats();
    put(tr, s.stocks);
    put(tr, s.flows);
    put(tr, s.visa);
    put(tr, s.market);
    put(tr, s.pay_pct);
    put(tr, s.output_region);
    put(tr, s.hc_origin);
    std::vector<int64_t> log;
    for (const auto& e : s.log) log.insert(log.end(), {e.step, int64_t(e.uid), e.kind, e.from_firm, e.to_firm});
    put(tr, log);
  }
  const auto& r = sim.world().r;
  put(tr, r.uid);
  put(tr, r.employer);
  put(tr, r.location);
  put(tr, r.status);
  put(tr, r.comp);
  put(tr, r.output);
  put(tr, r.talent);
  put(tr, sim.world().f.headcount);
  put(tr, sim.world().f.output);
  return tr;
}

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("determinism: serial twin and parallel phases agree bit for bit at 1, 2 and 4 threads") {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", {"run.steps=12"}, d);
  REQUIRE_MESSAGE(sc, d.format());
  engine::force_serial() = true;
  const Trace serial = trace(sc->params, 12);
  engine::force_serial() = false;
  for (int threads : {1, 2, 4}) {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
    const Trace par = trace(sc->params, 12);
    CAPTURE(threads);
    REQUIRE(par.ints.size() == serial.ints.size());
    REQUIRE(par.reals.size() == serial.reals.size());
    for (std::size_t k = 0; k < serial.ints.size(); ++k) CHECK(par.ints[k] == serial.ints[k]);
    for (std::size_t k = 0; k < serial.reals.size(); ++k) CHECK(same(par.reals[k], serial.reals[k]));
  }
}

TEST_CASE("determinism: a different seed gives different results") {
  cfg::Diagnostics d;
  auto a = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", {"run.steps=12"}, d);
  auto b = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", {"run.steps=12", "run.seed=8"}, d);
  REQUIRE(a);
  REQUIRE(b);
  const Trace ta = trace(a->params, 12), tb = trace(b->params, 12);
  bool differ = false;
  for (std::size_t k = 0; k < ta.ints.size(); ++k) differ |= ta.ints[k] != tb.ints[k];
  CHECK(differ);
}

TEST_CASE("determinism: talentsim run at 1, 2 and 4 threads writes identical datasets") {
  test::TempDir dir;
  std::map<std::string, std::vector<double>> ref;
  for (int threads : {1, 2, 4}) {
    const std::string out = dir / ("t" + std::to_string(threads) + ".h5");
    const auto r = test::run(test::binary() + " run " + test::source_dir() + "/tests/data/scenarios/small.yaml -o " + out +
                             " --threads " + std::to_string(threads) + " --steps 12 --quiet");
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
      CHECK(same(data[name], v));
    }
  }
}
