// A whole Simulation::step() per iteration, with the per-phase split from
// Simulation::phase_seconds() reported as counters (milliseconds per step).
#include "micro_common.hpp"

namespace ts::micro {

namespace {

void bm_step(benchmark::State& st, int64_t n, int threads) {
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  Simulation& sim = simulation(n);
  // phase_seconds() accumulates since construction (a restore copies it back): sum the deltas.
  std::array<double, Simulation::kPhases> phases{};
  double slots = 0;
  for (auto _ : st) {
    st.PauseTiming();
    iteration_start(n);
    const auto before = sim.phase_seconds();
    slots += double(sim.world().r.size());
    st.ResumeTiming();
    sim.step();
    st.PauseTiming();
    for (int k = 0; k < Simulation::kPhases; ++k)
      phases[std::size_t(k)] += sim.phase_seconds()[std::size_t(k)] - before[std::size_t(k)];
    st.ResumeTiming();
  }
  set_common_counters(st, slots, threads);
  const double it = double(std::max<int64_t>(1, st.iterations()));
  for (int k = 0; k < Simulation::kPhases; ++k)
    st.counters[std::string(Simulation::kPhaseNames[k]) + "_ms"] = phases[std::size_t(k)] / it * 1e3;
  st.counters["step"] = sim.t();
}

}  // namespace

void register_step_benchmarks() {
  const auto& c = config();
  for (int64_t n : c.sizes)
    for (int t : c.threads) {
      auto* b = benchmark::RegisterBenchmark(bench_name("step", "all", n, t).c_str(),
                                             [n, t](benchmark::State& st) { bm_step(st, n, t); });
      decorate(b, n);
    }
}

}  // namespace ts::micro
