// Shared helpers of the benchmark binaries (talentsim_bench and talentsim_microbench):
// building a scenario at a given population, memory probes, the parallel reference
// loop and a description of the machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/model/simulation.hpp"

namespace ts::bench {

/// How to turn a scenario file into the benchmarked configuration.
struct ScenarioSpec {
  std::string path;                  ///< scenario YAML
  int64_t researchers = 0;           ///< population.researchers (0: as in the scenario)
  int64_t steps = 0;                 ///< run.steps (0: as in the scenario)
  double firms_scale = 1.0;          ///< multiplies every generated firm group's `count`
  bool firms_scale_auto = false;     ///< firms_scale = researchers / scenario's population
  double headcount_scale = 1.0;      ///< multiplies every firm's headcount and every region's entrants
  bool headcount_scale_auto = false; ///< headcount_scale = researchers / scenario's population
  std::vector<std::string> sets;     ///< extra `--set` overrides, applied first
};

/// Loads the scenario with `population.researchers=N`, `run.steps=T` and, if asked, scaled
/// generated-firm counts (as `firms[i].count=...` overrides so the run metadata shows them).
/// Returns nullopt and fills `error` on any problem.
/// With a headcount scale, every firm's `headcount` (constant or distribution: its location and,
/// for uniform, its range) and every region's `entrants_per_month` are multiplied, so a larger
/// population meets proportionally larger firms: the same number of firms, the same
/// employment rate and turnover as the scenario at its own size. 'auto' is the scenario
/// loader's population.scale_market with population.reference_researchers = the scenario's
/// population; a fixed scale (1 = the firms as written) is applied by overrides, with
/// population.scale_market=false.
std::optional<cfg::Scenario> load(const ScenarioSpec& spec, std::string& error, double* applied_firms_scale = nullptr,
                                 double* applied_headcount_scale = nullptr);

/// The scenario to use when none is given: scenarios/baseline.yaml relative to the working
/// directory if it exists, else the one in the source tree.
std::string default_scenario();

/// Resident set size now (from /proc/self/statm), bytes.
int64_t current_rss_bytes();
/// Peak resident set size of this process (getrusage ru_maxrss), bytes.
int64_t peak_rss_bytes();
/// VmHWM from /proc/self/status (the current address space's peak), bytes; -1 if unknown.
int64_t vm_hwm_bytes();
/// Resets VmHWM (writes 5 to /proc/self/clear_refs); false if not permitted.
bool reset_vm_hwm();
/// CPU time (user + system) this process has used, seconds.
double process_cpu_seconds();
/// 1-minute load average (/proc/loadavg); -1 if unknown.
double load_average();

/// A trivially parallel loop: `fma_per_element` (1, 2, 4, ..., 64) multiply-adds on each of n floats,
/// cut into chunks exactly as engine::for_chunks does. Returns the best of `passes`
/// timings, seconds, under the current TBB parallelism limit.
struct ReferenceLoop {
  explicit ReferenceLoop(std::size_t n);
  double run(int passes, int fma_per_element = 4);
  double checksum() const;
  std::size_t size() const { return x_.size(); }

 private:
  std::vector<float> x_;
};

/// Everything about the machine and build that a benchmark report should carry.
struct MachineInfo {
  int nproc = 0;                 ///< online CPUs (sysconf)
  unsigned hardware_threads = 0; ///< std::thread::hardware_concurrency
  std::string cpu_model;         ///< /proc/cpuinfo "model name"
  int cpu_cores = 0, cpu_siblings = 0;  ///< /proc/cpuinfo "cpu cores" / "siblings" (first package)
  int64_t mem_total_bytes = 0, mem_available_bytes = 0;  ///< /proc/meminfo
  std::string kernel;            ///< uname -sr
  std::string compiler;          ///< compiler and version
  std::string build_type;        ///< CMAKE_BUILD_TYPE at configure time
  std::string tbb_version;
  std::string talentsim_version, git_commit;
  std::string hostname;
  std::string date_utc;          ///< ISO 8601 when the report was made
  double load_average = -1;      ///< 1-minute load average when the report was made
};
MachineInfo machine_info();

/// Minimal JSON string escaping.
std::string json_escape(const std::string& s);
/// A number as JSON (non-finite values become null).
std::string json_number(double v);

/// "1e5,1e6,1e7" or "100000" -> integers (rounded); throws std::invalid_argument.
std::vector<int64_t> parse_size_list(const std::string& s);
/// "1,2,4" or "1-4" or "1..4" (mixed, comma separated) -> integers >= 1; throws std::invalid_argument.
std::vector<int> parse_int_list(const std::string& s);
/// 100000 -> "1e5", 1200000 -> "1.2e6", 12345 -> "12345".
std::string short_count(int64_t n);

}  // namespace ts::bench
