// Shared state of the Google Benchmark micro-benchmarks (talentsim_microbench).
//
// Every benchmark gets a Simulation of the requested size from a cache: each size is built
// once from the scenario (plus `population.researchers=N`) and warmed up a few steps; that
// state is kept as a snapshot. By default every iteration starts from a copy of the snapshot
// (`replay`, copied while the timer is paused), so each iteration simulates the same step on
// the same population: identical work, stable N (the baseline adds ~1,000 entrants a month
// whatever N is). With --ts_replay=0 the copy is taken only when a benchmark starts and the
// iterations advance month by month. Phases are always called in the order of
// Simulation::step(), so the state stays valid whichever phase is timed.
#pragma once

#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace ts::micro {

using model::Simulation;

struct Config {
  std::string scenario;                        ///< --ts_scenario
  std::vector<int64_t> sizes{100000, 1000000};  ///< --ts_researchers
  std::vector<int> threads;                    ///< --ts_threads (default 1 and nproc)
  std::vector<std::string> sets;               ///< --ts_set (repeatable)
  double firms_scale = 1.0;                    ///< --ts_firms_scale
  int warmup = 3;                              ///< --ts_warmup steps after construction
  int64_t iterations = 0;                      ///< --ts_iterations (0: by size)
  double reference_floats = 5e7;               ///< --ts_reference_floats
  bool replay = true;                          ///< --ts_replay: restore the snapshot every iteration
};
const Config& config();

/// The working simulation of size n, reset to the warmed-up snapshot (built on first use).
Simulation& simulation(int64_t n);
/// Resets the working simulation of size n to the snapshot.
void restore(int64_t n);
/// Called at the top of every iteration (timer paused): restores the snapshot when replaying.
inline void iteration_start(int64_t n) {
  if (config().replay) restore(n);
}

/// Iterations for a benchmark on n researchers (each iteration runs a whole step).
int64_t iterations_for(int64_t n);

/// Member-function pointers of the phases, in Simulation::kPhaseNames order.
using PhaseFn = void (Simulation::*)();
inline constexpr std::array<PhaseFn, Simulation::kPhases> kPhaseFns = {
    &Simulation::events,  &Simulation::demography, &Simulation::firm_planning, &Simulation::offers,
    &Simulation::retention, &Simulation::clearing, &Simulation::visa,          &Simulation::production,
    &Simulation::pay,     &Simulation::record};

/// What Simulation::step() does before the first phase.
inline void begin_step(Simulation& sim) { sim.stats().reset(sim.regions(), int(sim.world().f.size())); }
/// What Simulation::step() does after the last phase.
inline void end_step(Simulation& sim) { sim.finish_step(); }
inline void run_phases(Simulation& sim, int from, int to) {
  for (int k = from; k < to; ++k) (sim.*kPhaseFns[std::size_t(k)])();
}

/// Common decoration of every registered benchmark.
inline benchmark::internal::Benchmark* decorate(benchmark::internal::Benchmark* b, int64_t n) {
  b->UseRealTime()->Unit(benchmark::kMillisecond);
  if (const int64_t it = iterations_for(n); it > 0) b->Iterations(it);
  return b;
}

/// "phase/offers/researchers:1e5/threads:2"
inline std::string bench_name(const std::string& group, const std::string& what, int64_t n, int threads) {
  return group + "/" + what + "/researchers:" + bench::short_count(n) + "/threads:" + std::to_string(threads);
}

inline void set_common_counters(benchmark::State& st, double slots_total, int threads) {
  st.SetItemsProcessed(int64_t(slots_total));
  st.counters["researchers"] = benchmark::Counter(slots_total / double(std::max<int64_t>(1, st.iterations())));
  st.counters["threads"] = threads;
}

// Registration hooks, one per micro_*.cpp.
void register_phase_benchmarks();
void register_step_benchmarks();
void register_reference_benchmarks();

}  // namespace ts::micro
