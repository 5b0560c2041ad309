// One phase per iteration: every iteration runs a whole step (so the state stays valid)
// but only the chosen phase is timed; the others run between PauseTiming/ResumeTiming.
// With replay (the default) each iteration first restores the warmed-up snapshot, so every
// iteration times the same step; the phases before the timed one then run as usual, so the
// timed phase sees the caches as it would inside Simulation::step().
//
//   phase/<name>           each of the ten phases of Simulation::step()
//   phase/offers.random    offer arrival by random search only (scouting switched off while timed)
//   phase/offers.targeted  targeted search only (scouting lists and raids; λ0 = λ1 = 0 while timed)
//
// For the two offers variants the full offers() is then run again, untimed, so the rest of
// the step sees exactly the offers it would have seen.
#include <functional>

#include "micro_common.hpp"

namespace ts::micro {

namespace {

/// Temporarily changes the model for a timed call; restores it afterwards.
struct Variant {
  std::function<void(Simulation&)> apply, restore;
};

void bm_phase(benchmark::State& st, int64_t n, int threads, int phase, const Variant* variant) {
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  Simulation& sim = simulation(n);
  double slots = 0, produced = 0;
  for (auto _ : st) {
    st.PauseTiming();
    iteration_start(n);
    slots += double(sim.world().r.size());
    begin_step(sim);
    run_phases(sim, 0, phase);
    if (variant) variant->apply(sim);
    st.ResumeTiming();
    (sim.*kPhaseFns[std::size_t(phase)])();
    st.PauseTiming();
    if (phase == 3) produced += double(sim.pending_offers().size());
    if (phase == 4) produced += double(sim.movers().size());
    if (variant) {
      variant->restore(sim);
      (sim.*kPhaseFns[std::size_t(phase)])();  // the real phase, untimed
    }
    run_phases(sim, phase + 1, Simulation::kPhases);
    end_step(sim);
    st.ResumeTiming();
  }
  set_common_counters(st, slots, threads);
  const double it = double(std::max<int64_t>(1, st.iterations()));
  if (phase == 3) st.counters["offers"] = produced / it;
  if (phase == 4) st.counters["movers"] = produced / it;
  st.counters["step"] = sim.t();
}

// offers.random: no scouting while timed (raids stay; they only exist on raid steps).
std::vector<double> g_saved_scouting;
const Variant kRandomOnly{[](Simulation& sim) {
                            auto& rate = sim.edit_world().f.scouting_rate;
                            g_saved_scouting = rate;
                            std::fill(rate.begin(), rate.end(), 0.0);
                          },
                          [](Simulation& sim) { sim.edit_world().f.scouting_rate = g_saved_scouting; }};

// offers.targeted: no random offer arrival while timed.
double g_saved_lambda0 = 0, g_saved_lambda1 = 0;
const Variant kTargetedOnly{[](Simulation& sim) {
                              auto& m = sim.params().market;
                              g_saved_lambda0 = m.lambda0;
                              g_saved_lambda1 = m.lambda1;
                              m.lambda0 = m.lambda1 = 0.0;
                            },
                            [](Simulation& sim) {
                              auto& m = sim.params().market;
                              m.lambda0 = g_saved_lambda0;
                              m.lambda1 = g_saved_lambda1;
                            }};

}  // namespace

void register_phase_benchmarks() {
  const auto& c = config();
  struct Item {
    std::string name;
    int phase;
    const Variant* variant;
  };
  std::vector<Item> items;
  for (int k = 0; k < Simulation::kPhases; ++k) {
    items.push_back({Simulation::kPhaseNames[k], k, nullptr});
    if (k == 3) {
      items.push_back({"offers.random", k, &kRandomOnly});
      items.push_back({"offers.targeted", k, &kTargetedOnly});
    }
  }
  for (int64_t n : c.sizes)
    for (const auto& it : items)
      for (int t : c.threads) {
        auto* b = benchmark::RegisterBenchmark(bench_name("phase", it.name, n, t).c_str(),
                                               [n, t, it](benchmark::State& st) { bm_phase(st, n, t, it.phase, it.variant); });
        decorate(b, n);
      }
}

}  // namespace ts::micro
