// talentsim_microbench: Google Benchmark micro-benchmarks of the hot phases.
//
// Besides the usual --benchmark_* flags it takes:
//   --ts_scenario=FILE        scenario (default scenarios/baseline.yaml)
//   --ts_researchers=1e5,1e6  population sizes (population.researchers=N)
//   --ts_threads=1,2          TBB thread limits (default: 1 and nproc)
//   --ts_set=key.path=value   extra scenario override (repeatable)
//   --ts_firms_scale=X        multiply generated firm counts by X
//   --ts_warmup=3             steps run after construction, before any timing
//   --ts_iterations=K         iterations per benchmark (default: 20 up to 2e5 researchers, 8 up to 2e6, 3 above)
//   --ts_reference_floats=N   size of the reference loop array (default 5e7)
//   --ts_replay=1             1: every iteration replays the same step from a snapshot;
//                             0: iterations advance month by month from the snapshot
// See BENCHMARKS.md.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "micro_common.hpp"

namespace ts::micro {

namespace {
Config g_config;
struct Entry {
  std::unique_ptr<Simulation> snapshot, work;
};
std::map<int64_t, Entry> g_sims;
}  // namespace

const Config& config() { return g_config; }

Simulation& simulation(int64_t n) {
  auto& e = g_sims[n];
  if (!e.snapshot) {
    bench::ScenarioSpec spec;
    spec.path = g_config.scenario;
    spec.researchers = n;
    spec.sets = g_config.sets;
    spec.firms_scale = g_config.firms_scale;
    std::string err;
    auto sc = bench::load(spec, err);
    if (!sc) {
      std::cerr << "talentsim_microbench: cannot load " << spec.path << " with " << n << " researchers:\n" << err;
      std::exit(2);
    }
    e.snapshot = std::make_unique<Simulation>(sc->params);
    for (int s = 0; s < g_config.warmup; ++s) e.snapshot->step();
    e.work = std::make_unique<Simulation>(*e.snapshot);
  } else {
    *e.work = *e.snapshot;
  }
  return *e.work;
}

void restore(int64_t n) {
  auto& e = g_sims[n];
  if (e.snapshot) *e.work = *e.snapshot;
}

int64_t iterations_for(int64_t n) {
  if (g_config.iterations > 0) return g_config.iterations;
  return n <= 200000 ? 20 : n <= 2000000 ? 8 : 3;
}

}  // namespace ts::micro

int main(int argc, char** argv) {
  using ts::micro::g_config;
  const int nproc = std::max(1, int(sysconf(_SC_NPROCESSORS_ONLN)));
  g_config.threads = nproc > 1 ? std::vector<int>{1, nproc} : std::vector<int>{1};
  // Take our flags out of argv before Google Benchmark sees it.
  int out = 1;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const char* flag) -> const char* {
        const std::size_t len = std::strlen(flag);
        return a.compare(0, len, flag) == 0 && a.size() > len && a[len] == '=' ? argv[i] + len + 1 : nullptr;
      };
      const char* v = nullptr;
      if ((v = value("--ts_scenario"))) g_config.scenario = v;
      else if ((v = value("--ts_researchers"))) g_config.sizes = ts::bench::parse_size_list(v);
      else if ((v = value("--ts_threads"))) g_config.threads = ts::bench::parse_int_list(v);
      else if ((v = value("--ts_set"))) g_config.sets.push_back(v);
      else if ((v = value("--ts_firms_scale"))) g_config.firms_scale = std::stod(v);
      else if ((v = value("--ts_warmup"))) g_config.warmup = std::stoi(v);
      else if ((v = value("--ts_iterations"))) g_config.iterations = std::stoll(v);
      else if ((v = value("--ts_reference_floats"))) g_config.reference_floats = std::stod(v);
      else if ((v = value("--ts_replay"))) g_config.replay = std::string(v) != "0" && std::string(v) != "false";
      else if (a.rfind("--ts_", 0) == 0) throw std::invalid_argument("unknown flag " + a);
      else argv[out++] = argv[i];
    }
  } catch (const std::exception& e) {
    std::cerr << "talentsim_microbench: " << e.what() << "\n";
    return 2;
  }
  argc = out;
  if (g_config.scenario.empty()) g_config.scenario = ts::bench::default_scenario();

  ts::micro::register_phase_benchmarks();
  ts::micro::register_step_benchmarks();
  ts::micro::register_reference_benchmarks();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto m = ts::bench::machine_info();
  benchmark::AddCustomContext("talentsim_version", m.talentsim_version);
  benchmark::AddCustomContext("git_commit", m.git_commit);
  benchmark::AddCustomContext("cpu_model", m.cpu_model);
  benchmark::AddCustomContext("compiler", m.compiler);
  benchmark::AddCustomContext("build_type", m.build_type);
  benchmark::AddCustomContext("scenario", g_config.scenario);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
