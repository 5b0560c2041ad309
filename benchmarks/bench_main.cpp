// talentsim_bench: end-to-end throughput, multicore scaling and memory of a scenario.
//
// For every (researchers N, threads T) it builds the simulation, runs --steps steps and
// reports init time, step time, researcher-steps per second, seconds per step by phase
// (Simulation::phase_seconds), resident memory and the speed-up over one thread. A
// trivially parallel reference loop, chunked like engine::for_chunks, is timed at every
// thread count so the engine's speed-up can be read against what the hardware gives.
//
// Every configuration runs in its own child process (the binary re-executes itself with
// --single N T), so peak RSS belongs to that configuration alone. See BENCHMARKS.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "sim/engine/parallel.hpp"
#include "sim/io/output.hpp"
#include "sim/io/spin_up_cache.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using ts::model::Simulation;
using clk = std::chrono::steady_clock;

namespace {

constexpr int kPhases = Simulation::kPhases;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

// ------------------------------------------------------------------ options
struct Options {
  std::string scenario;
  std::string researchers = "1e5,1e6,1e7";
  std::string threads;  // default 1..nproc
  int64_t steps = 12;
  std::string firms_scale = "1";
  std::string headcount_scale = "1";
  std::vector<std::string> sets;
  std::string with_output;
  std::string spin_up_cache;  ///< io::SpinUpCache folder ("" none): init loads a saved spin-up
  bool keep_output = false;
  bool sync_output = false;
  std::string json;
  bool smoke = false;
  bool in_process = false;
  bool quiet = false;
  double ref_floats = 5e7;
  int ref_passes = 5;
  int ref_fma = 4;
  int repetitions = 1;
  // child modes
  std::vector<std::string> single;  // N THREADS
  bool reference_only = false;
  std::string result_file;
};

// ------------------------------------------------------------------ one configuration
/// All numbers of one (N, threads) run. Doubles throughout so the child -> parent hand-off
/// is one uniform "key value" list.
struct ConfigResult {
  double researchers = 0, threads = 0;
  bool ok = false;
  std::string error;
  double firms_scale = 1, headcount_scale = 1, firms = 0, steps = 0;
  double slots_initial = 0, slots_final = 0, alive_final = 0;
  double load_seconds = 0, init_seconds = 0, run_seconds = 0;
  double cpu_init_seconds = 0, cpu_run_seconds = 0;  ///< process CPU time (all threads)
  double step_first = 0, step_min = 0, step_median = 0, step_max = 0, step_mean = 0;
  double researcher_steps = 0, researcher_steps_per_second = 0;
  std::array<double, kPhases> phase_total{};  ///< seconds over the run
  double output_open_seconds = 0, output_step_seconds = 0, output_finish_seconds = 0, output_bytes = 0;
  /// Writer time (open + per-step writes + finish) over the whole run (init + steps + open + finish).
  double output_share = kNaN;
  /// Seconds the background writer thread spent appending rows (overlapping the steps).
  double output_background_seconds = 0;
  double rss_before_init = 0, rss_after_init = 0, rss_after_run = 0, peak_rss = 0, vm_hwm = 0;
  double model_bytes_per_researcher = 0;
  double wall_seconds = 0;
  double load_before = -1;  ///< 1-minute load average when the run started
  double repetitions = 1, step_mean_worst = 0;  ///< best of `repetitions` runs is kept
  // filled by the parent
  double speedup = kNaN, reference_speedup = kNaN, relative_efficiency = kNaN;

  double bytes_per_researcher_init() const { return (rss_after_init - rss_before_init) / std::max(1.0, researchers); }
  double bytes_per_researcher_run() const { return (rss_after_run - rss_before_init) / std::max(1.0, researchers); }
  double bytes_per_researcher_peak() const {
    const double peak = vm_hwm > 0 ? vm_hwm : peak_rss;
    return (peak - rss_before_init) / std::max(1.0, researchers);
  }

  std::vector<std::pair<std::string, double*>> fields() {
    std::vector<std::pair<std::string, double*>> f = {
        {"researchers", &researchers}, {"threads", &threads}, {"firms_scale", &firms_scale},
        {"headcount_scale", &headcount_scale}, {"firms", &firms},
        {"steps", &steps}, {"slots_initial", &slots_initial}, {"slots_final", &slots_final},
        {"alive_final", &alive_final}, {"load_seconds", &load_seconds}, {"init_seconds", &init_seconds},
        {"run_seconds", &run_seconds}, {"cpu_init_seconds", &cpu_init_seconds}, {"cpu_run_seconds", &cpu_run_seconds}, {"step_first", &step_first}, {"step_min", &step_min},
        {"step_median", &step_median}, {"step_max", &step_max}, {"step_mean", &step_mean},
        {"researcher_steps", &researcher_steps}, {"researcher_steps_per_second", &researcher_steps_per_second},
        {"output_open_seconds", &output_open_seconds}, {"output_step_seconds", &output_step_seconds},
        {"output_finish_seconds", &output_finish_seconds}, {"output_bytes", &output_bytes},
        {"output_share", &output_share}, {"output_background_seconds", &output_background_seconds},
        {"rss_before_init", &rss_before_init}, {"rss_after_init", &rss_after_init},
        {"rss_after_run", &rss_after_run}, {"peak_rss", &peak_rss}, {"vm_hwm", &vm_hwm},
        {"model_bytes_per_researcher", &model_bytes_per_researcher}, {"wall_seconds", &wall_seconds},
        {"load_before", &load_before}, {"repetitions", &repetitions}, {"step_mean_worst", &step_mean_worst}};
    for (int k = 0; k < kPhases; ++k) f.push_back({std::string("phase.") + Simulation::kPhaseNames[k], &phase_total[k]});
    return f;
  }

  void save(const std::string& path) {
    std::ofstream out(path);
    out << std::setprecision(17);
    out << "ok " << (ok ? 1 : 0) << "\n";
    for (auto& [k, v] : fields()) out << k << " " << *v << "\n";
    if (!error.empty()) {
      std::string e = error;
      std::replace(e.begin(), e.end(), '\n', '\x1f');
      out << "error " << e << "\n";
    }
  }

  bool load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return false;
    std::map<std::string, double*> by_name;
    for (auto& [k, v] : fields()) by_name[k] = v;
    std::string line;
    bool any = false;
    while (std::getline(in, line)) {
      const auto sp = line.find(' ');
      if (sp == std::string::npos) continue;
      const std::string k = line.substr(0, sp), v = line.substr(sp + 1);
      if (k == "ok") {
        ok = v == "1";
        any = true;
      } else if (k == "error") {
        error = v;
        std::replace(error.begin(), error.end(), '\x1f', '\n');
      } else if (auto it = by_name.find(k); it != by_name.end()) {
        *it->second = std::strtod(v.c_str(), nullptr);
      }
    }
    return any;
  }
};

/// Forwards to the HDF5 writer and times it (the writer runs inside the record phase).
class TimedWriter : public ts::model::Observer {
 public:
  explicit TimedWriter(ts::io::RunWriter& w) : w_(w) {}
  void on_step(const Simulation& sim) override {
    const auto t0 = clk::now();
    w_.on_step(sim);
    seconds += seconds_since(t0);
  }
  double seconds = 0;

 private:
  ts::io::RunWriter& w_;
};

ts::bench::ScenarioSpec make_spec(const Options& o, int64_t n) {
  ts::bench::ScenarioSpec s;
  s.path = o.scenario;
  s.researchers = n;
  s.steps = o.steps;
  s.sets = o.sets;
  if (o.firms_scale == "auto") {
    s.firms_scale_auto = true;
  } else {
    s.firms_scale = std::stod(o.firms_scale);
  }
  if (o.headcount_scale == "auto") {
    s.headcount_scale_auto = true;
  } else {
    s.headcount_scale = std::stod(o.headcount_scale);
  }
  return s;
}

ConfigResult run_config(const Options& o, int64_t n, int threads, const std::string& cmdline) {
  ConfigResult r;
  r.researchers = double(n);
  r.threads = threads;
  r.steps = double(o.steps);
  const auto wall0 = clk::now();
  r.load_before = ts::bench::load_average();
  try {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
    auto t0 = clk::now();
    std::string err;
    double fs_applied = 1, hs_applied = 1;
    auto sc = ts::bench::load(make_spec(o, n), err, &fs_applied, &hs_applied);
    if (!sc) {
      r.error = "scenario: " + err;
      return r;
    }
    r.firms_scale = fs_applied;
    r.headcount_scale = hs_applied;
    r.load_seconds = seconds_since(t0);

    r.rss_before_init = double(ts::bench::current_rss_bytes());
    t0 = clk::now();
    double c0 = ts::bench::process_cpu_seconds();
    auto sim = o.spin_up_cache.empty() ? std::make_unique<Simulation>(sc->params)
                                       : ts::io::SpinUpCache(o.spin_up_cache).start(sc->tree, sc->params).sim;
    r.init_seconds = seconds_since(t0);
    r.cpu_init_seconds = ts::bench::process_cpu_seconds() - c0;
    r.rss_after_init = double(ts::bench::current_rss_bytes());
    r.slots_initial = double(sim->world().r.size());
    r.firms = double(sim->world().f.size());
    r.model_bytes_per_researcher = double(sim->world().r.bytes_per_researcher());

    const bool writer_used = !o.with_output.empty();
    std::unique_ptr<ts::io::RunWriter> writer;
    std::unique_ptr<TimedWriter> timed;
    std::string out_path;
    if (!o.with_output.empty()) {
      fs::create_directories(o.with_output);
      out_path = (fs::path(o.with_output) / ("bench_N" + std::to_string(n) + "_T" + std::to_string(threads) + ".h5")).string();
      t0 = clk::now();
      ts::io::RunInfo info{threads, cmdline, true};
      info.background = !o.sync_output;
      writer = std::make_unique<ts::io::RunWriter>(out_path, *sc, *sim, info);
      r.output_open_seconds = seconds_since(t0);
      timed = std::make_unique<TimedWriter>(*writer);
      sim->set_observer(timed.get());
    }

    std::vector<double> steps;
    steps.reserve(std::size_t(o.steps));
    c0 = ts::bench::process_cpu_seconds();
    for (int64_t s = 0; s < o.steps; ++s) {
      r.researcher_steps += double(sim->world().r.size());
      t0 = clk::now();
      sim->step();
      steps.push_back(seconds_since(t0));
    }
    r.cpu_run_seconds = ts::bench::process_cpu_seconds() - c0;
    if (writer) {
      t0 = clk::now();
      writer->finish(*sim, "complete");
      r.output_finish_seconds = seconds_since(t0);
      r.output_step_seconds = timed->seconds;
      r.output_background_seconds = writer->background_seconds();
      std::error_code ec;
      r.output_bytes = double(fs::file_size(out_path, ec));
      writer.reset();
      if (!o.keep_output) fs::remove(out_path, ec);
    }
    r.run_seconds = std::accumulate(steps.begin(), steps.end(), 0.0);
    if (!steps.empty()) {
      r.step_first = steps.front();
      r.step_mean = r.run_seconds / double(steps.size());
      auto sorted = steps;
      std::sort(sorted.begin(), sorted.end());
      r.step_min = sorted.front();
      r.step_max = sorted.back();
      const std::size_t m = sorted.size();
      r.step_median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    }
    r.researcher_steps_per_second = r.run_seconds > 0 ? r.researcher_steps / r.run_seconds : kNaN;
    if (writer_used) {
      const double writer_s = r.output_open_seconds + r.output_step_seconds + r.output_finish_seconds;
      r.output_share = writer_s / (r.init_seconds + r.run_seconds + r.output_open_seconds + r.output_finish_seconds);
    }
    for (int k = 0; k < kPhases; ++k) r.phase_total[k] = sim->phase_seconds()[k];
    r.slots_final = double(sim->world().r.size());
    r.alive_final = double(std::count(sim->world().r.alive.begin(), sim->world().r.alive.end(), uint8_t(1)));
    r.rss_after_run = double(ts::bench::current_rss_bytes());
    r.peak_rss = double(ts::bench::peak_rss_bytes());
    r.vm_hwm = double(ts::bench::vm_hwm_bytes());
    r.ok = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.wall_seconds = seconds_since(wall0);
  return r;
}

// ------------------------------------------------------------------ reference loop
struct RefResult {
  int threads = 0;
  double seconds = 0;
};

std::vector<RefResult> run_reference(const Options& o, const std::vector<int>& threads) {
  std::vector<RefResult> out;
  ts::bench::ReferenceLoop loop(std::size_t(o.ref_floats));
  for (int t : threads) {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(t));
    loop.run(1, o.ref_fma);  // wake the workers
    out.push_back({t, loop.run(o.ref_passes, o.ref_fma)});
  }
  if (loop.checksum() == 12345.678) std::cerr << "";  // keep the work observable
  return out;
}

void save_reference(const std::string& path, const std::vector<RefResult>& v) {
  std::ofstream out(path);
  out << std::setprecision(17);
  for (const auto& x : v) out << x.threads << " " << x.seconds << "\n";
}

std::vector<RefResult> load_reference(const std::string& path) {
  std::vector<RefResult> v;
  std::ifstream in(path);
  RefResult x;
  while (in >> x.threads >> x.seconds) v.push_back(x);
  return v;
}

// ------------------------------------------------------------------ child processes
/// Runs this binary again with `args`; returns the exit status description ("" if 0).
std::string run_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  static std::string exe = "/proc/self/exe";
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid failed";
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 0 ? "" : "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) +
                                  (WTERMSIG(status) == 9 ? " (out of memory?)" : "");
  return "unknown child status";
}

std::vector<std::string> child_common_args(const Options& o, const std::string& result) {
  std::vector<std::string> a = {"--scenario", o.scenario, "--steps", std::to_string(o.steps), "--firms-scale",
                                o.firms_scale, "--headcount-scale", o.headcount_scale, "--result", result, "--quiet"};
  for (const auto& s : o.sets) a.insert(a.end(), {"--set", s});
  if (!o.with_output.empty()) a.insert(a.end(), {"--with-output", o.with_output});
  if (!o.spin_up_cache.empty()) a.insert(a.end(), {"--spin-up-cache", o.spin_up_cache});
  if (o.keep_output) a.push_back("--keep-output");
  if (o.sync_output) a.push_back("--sync-output");
  a.insert(a.end(), {"--reference-floats", std::to_string(int64_t(o.ref_floats)), "--reference-passes",
                     std::to_string(o.ref_passes), "--reference-fma", std::to_string(o.ref_fma)});
  return a;
}

// ------------------------------------------------------------------ report
std::string fmt(double v, int prec = 3) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

std::string fmt_sig(double v, int sig = 3) {
  if (!std::isfinite(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*g", sig, v);
  return b;
}

void print_report(const ts::bench::MachineInfo& m, const Options& o, const std::vector<int64_t>& sizes,
                  const std::vector<int>& threads, const std::vector<RefResult>& ref,
                  const std::vector<ConfigResult>& runs) {
  std::ostream& out = std::cout;
  out << "talentsim_bench " << m.talentsim_version << " (" << m.git_commit << "), " << m.compiler << ", "
      << m.build_type << ", oneTBB " << m.tbb_version << "\n";
  out << "machine: " << m.cpu_model << "; " << m.nproc << " online CPUs (cpu cores " << m.cpu_cores << ", siblings "
      << m.cpu_siblings << "); " << fmt(double(m.mem_total_bytes) / 1073741824.0, 1) << " GiB RAM; " << m.kernel << "\n";
  out << "load average at start: " << fmt(m.load_average, 2) << (m.load_average > 0.5 * m.nproc ? " (busy machine: timings are noisy)" : "") << "\n";
  out << "scenario: " << o.scenario << "; steps " << o.steps << "; firms scale " << o.firms_scale << "; headcount scale " << o.headcount_scale;
  for (const auto& s : o.sets) out << "; --set " << s;
  out << (o.with_output.empty() ? "; no HDF5 output" : "; HDF5 output to " + o.with_output) << "\n\n";

  if (!ref.empty()) {
    out << "reference loop: " << ts::bench::short_count(int64_t(o.ref_floats)) << " floats x " << o.ref_fma
        << " FMA, chunks of " << ts::engine::kChunk << " (best of " << o.ref_passes << ")\n";
    out << "  threads  seconds   GB/s    speed-up\n";
    const double t1 = ref.front().threads == 1 ? ref.front().seconds : kNaN;
    for (const auto& x : ref) {
      const double gbs = 2.0 * 4.0 * o.ref_floats / x.seconds / 1e9;
      out << "  " << std::setw(7) << x.threads << "  " << std::setw(7) << fmt(x.seconds, 4) << "  " << std::setw(6)
          << fmt(gbs, 2) << "  " << std::setw(8) << fmt(t1 / x.seconds, 2) << "\n";
    }
    out << "\n";
  }

  out << "researchers threads  init s  step s  cpu s/step  res-steps/s  speed-up  ref s-u  rel.eff  RSS init  RSS peak  "
         "B/res init  B/res peak  load\n";
  for (const auto& r : runs) {
    out << std::setw(11) << ts::bench::short_count(int64_t(r.researchers)) << " " << std::setw(7) << int(r.threads);
    if (!r.ok) {
      std::string e = r.error;
      std::replace(e.begin(), e.end(), '\n', ' ');
      if (e.size() > 90) e = e.substr(0, 87) + "...";
      out << "  FAILED: " << e << "\n";
      continue;
    }
    out << " " << std::setw(7) << fmt(r.init_seconds, 2) << " " << std::setw(7) << fmt(r.step_mean, 3) << " " << std::setw(11)
        << fmt(r.cpu_run_seconds / std::max(1.0, r.steps), 3) << " " << std::setw(12) << fmt_sig(r.researcher_steps_per_second, 4) << " " << std::setw(9) << fmt(r.speedup, 2) << " "
        << std::setw(8) << fmt(r.reference_speedup, 2) << " " << std::setw(8) << fmt(r.relative_efficiency, 2) << " "
        << std::setw(7) << fmt((r.rss_after_init) / 1048576.0, 0) << "M" << " " << std::setw(8)
        << fmt(r.peak_rss / 1048576.0, 0) << "M" << " " << std::setw(11) << fmt(r.bytes_per_researcher_init(), 0)
        << " " << std::setw(11) << fmt(r.bytes_per_researcher_peak(), 0) << " " << std::setw(5)
        << fmt(r.load_before, 1) << "\n";
  }
  out << "\nseconds per step by phase (ms/step; share of the step in brackets)\n";
  out << "researchers threads";
  for (int k = 0; k < kPhases; ++k) out << " " << std::setw(14) << Simulation::kPhaseNames[k];
  out << "\n";
  for (const auto& r : runs) {
    if (!r.ok) continue;
    out << std::setw(11) << ts::bench::short_count(int64_t(r.researchers)) << " " << std::setw(7) << int(r.threads);
    const double tot = std::accumulate(r.phase_total.begin(), r.phase_total.end(), 0.0);
    for (int k = 0; k < kPhases; ++k) {
      const double ms = r.phase_total[k] / std::max(1.0, r.steps) * 1e3;
      const std::string cell = fmt(ms, ms < 10 ? 2 : 1) + " (" + fmt(tot > 0 ? 100.0 * r.phase_total[k] / tot : 0, 0) + "%)";
      out << " " << std::setw(14) << cell;
    }
    out << "\n";
  }
  bool any_output = false;
  for (const auto& r : runs) any_output |= r.ok && !o.with_output.empty();
  if (any_output) {
    out << "\nHDF5 output cost on the stepping thread (inside the record phase above; share = that time / (init + "
           "steps + open + finish);\nbg s = time the background writer thread spent appending rows, overlapping the steps)\n"
           "researchers threads  open s  ms/step  finish s  file MB  share   bg s\n";
    for (const auto& r : runs) {
      if (!r.ok) continue;
      out << std::setw(11) << ts::bench::short_count(int64_t(r.researchers)) << " " << std::setw(7) << int(r.threads)
          << " " << std::setw(7) << fmt(r.output_open_seconds, 3) << " " << std::setw(8)
          << fmt(r.output_step_seconds / std::max(1.0, r.steps) * 1e3, 2) << " " << std::setw(9)
          << fmt(r.output_finish_seconds, 3) << " " << std::setw(8) << fmt(r.output_bytes / 1048576.0, 1) << " "
          << std::setw(5) << fmt(100.0 * r.output_share, 1) << "% " << std::setw(6) << fmt(r.output_background_seconds, 2)
          << "\n";
    }
  }
  (void)sizes;
  (void)threads;
}


void write_json(const std::string& path, const ts::bench::MachineInfo& m, const Options& o,
                const std::vector<int64_t>& sizes, const std::vector<int>& threads, const std::vector<RefResult>& ref,
                const std::vector<ConfigResult>& runs, const std::string& cmdline) {
  using ts::bench::json_escape;
  using ts::bench::json_number;
  auto q = [](const std::string& s) { return "\"" + json_escape(s) + "\""; };
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "{\n  \"tool\": \"talentsim_bench\",\n  \"schema\": 1,\n  \"command_line\": " << q(cmdline) << ",\n";
  out << "  \"machine\": {\n"
      << "    \"nproc\": " << m.nproc << ",\n    \"hardware_concurrency\": " << m.hardware_threads << ",\n"
      << "    \"cpu_model\": " << q(m.cpu_model) << ",\n    \"cpu_cores\": " << m.cpu_cores
      << ",\n    \"cpu_siblings\": " << m.cpu_siblings << ",\n    \"mem_total_bytes\": " << m.mem_total_bytes
      << ",\n    \"mem_available_bytes\": " << m.mem_available_bytes << ",\n    \"kernel\": " << q(m.kernel)
      << ",\n    \"hostname\": " << q(m.hostname) << ",\n    \"compiler\": " << q(m.compiler)
      << ",\n    \"build_type\": " << q(m.build_type) << ",\n    \"tbb_version\": " << q(m.tbb_version)
      << ",\n    \"talentsim_version\": " << q(m.talentsim_version) << ",\n    \"git_commit\": " << q(m.git_commit)
      << ",\n    \"date_utc\": " << q(m.date_utc) << ",\n    \"load_average\": " << json_number(m.load_average)
      << "\n  },\n";
  out << "  \"settings\": {\n    \"scenario\": " << q(o.scenario) << ",\n    \"researchers\": [";
  for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << "],\n    \"threads\": [";
  for (std::size_t i = 0; i < threads.size(); ++i) out << (i ? ", " : "") << threads[i];
  out << "],\n    \"steps\": " << o.steps << ",\n    \"firms_scale\": " << q(o.firms_scale) << ",\n    \"headcount_scale\": " << q(o.headcount_scale) << ",\n    \"sets\": [";
  for (std::size_t i = 0; i < o.sets.size(); ++i) out << (i ? ", " : "") << q(o.sets[i]);
  out << "],\n    \"with_output\": " << (o.with_output.empty() ? "null" : q(o.with_output))
      << ",\n    \"sync_output\": " << (o.sync_output ? "true" : "false")
      << ",\n    \"smoke\": " << (o.smoke ? "true" : "false")
      << ",\n    \"process_per_configuration\": " << (o.in_process ? "false" : "true")
      << ",\n    \"repetitions\": " << o.repetitions << ",\n    \"chunk\": " << ts::engine::kChunk << "\n  },\n";
  out << "  \"reference\": {\n    \"floats\": " << json_number(o.ref_floats) << ",\n    \"fma_per_element\": "
      << o.ref_fma << ",\n    \"passes\": " << o.ref_passes << ",\n    \"results\": [";
  const double r1 = !ref.empty() && ref.front().threads == 1 ? ref.front().seconds : kNaN;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const auto& x = ref[i];
    out << (i ? "," : "") << "\n      {\"threads\": " << x.threads << ", \"seconds\": " << json_number(x.seconds)
        << ", \"gflops\": " << json_number(2.0 * o.ref_fma * o.ref_floats / x.seconds / 1e9)
        << ", \"gbytes_per_second\": " << json_number(8.0 * o.ref_floats / x.seconds / 1e9)
        << ", \"speedup\": " << json_number(r1 / x.seconds) << "}";
  }
  out << "\n    ]\n  },\n  \"runs\": [";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto r = runs[i];
    out << (i ? "," : "") << "\n    {\n      \"ok\": " << (r.ok ? "true" : "false");
    if (!r.error.empty()) out << ",\n      \"error\": " << q(r.error);
    for (auto& [k, v] : r.fields()) {
      if (k.rfind("phase.", 0) == 0) continue;
      out << ",\n      \"" << k << "\": " << json_number(*v);
    }
    out << ",\n      \"bytes_per_researcher_init\": " << json_number(r.bytes_per_researcher_init())
        << ",\n      \"bytes_per_researcher_after_run\": " << json_number(r.bytes_per_researcher_run())
        << ",\n      \"bytes_per_researcher_peak\": " << json_number(r.bytes_per_researcher_peak())
        << ",\n      \"speedup\": " << json_number(r.speedup)
        << ",\n      \"reference_speedup\": " << json_number(r.reference_speedup)
        << ",\n      \"relative_efficiency\": " << json_number(r.relative_efficiency)
        << ",\n      \"phase_seconds_per_step\": {";
    for (int k = 0; k < kPhases; ++k)
      out << (k ? ", " : "") << "\"" << Simulation::kPhaseNames[k]
          << "\": " << json_number(r.phase_total[k] / std::max(1.0, r.steps));
    out << "},\n      \"phase_seconds_total\": {";
    for (int k = 0; k < kPhases; ++k)
      out << (k ? ", " : "") << "\"" << Simulation::kPhaseNames[k] << "\": " << json_number(r.phase_total[k]);
    out << "}\n    }";
  }
  out << "\n  ]\n}\n";
}

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  po::options_description od(
      "talentsim_bench: end-to-end throughput, scaling and memory (see BENCHMARKS.md)\n\n"
      "usage: talentsim_bench [--scenario FILE] [--researchers 1e5,1e6,1e7] [--threads 1-N] [--steps 12]\n"
      "                       [--json FILE] [--with-output DIR] [--smoke]\n\noptions");
  od.add_options()("help,h", "show this help")(
      "scenario", po::value(&o.scenario), "scenario YAML (default: scenarios/baseline.yaml)")(
      "researchers,n", po::value(&o.researchers)->default_value(o.researchers),
      "population sizes, comma separated (each run sets population.researchers=N)")(
      "threads,t", po::value(&o.threads), "thread counts: list and/or ranges, e.g. 1,2,4 or 1-8 (default 1..nproc)")(
      "steps", po::value(&o.steps)->default_value(o.steps), "steps per run")(
      "firms-scale", po::value(&o.firms_scale)->default_value(o.firms_scale),
      "multiply the count of every generated firm group (entries with `count:`) by X; "
      "'auto' = N / the scenario's population. Named firms are unchanged.")(
      "headcount-scale", po::value(&o.headcount_scale)->default_value(o.headcount_scale),
      "multiply every firm's headcount (and budget, which is per head) and every region's entrants by X; "
      "'auto' = N / the scenario's population (the scenario loader's population.scale_market): the same firms, "
      "each proportionally larger, so the employment rate stays the scenario's; 1 = the firms as written")(
      "set", po::value(&o.sets)->composing(), "extra scenario override key.path=value (repeatable)")(
      "with-output", po::value(&o.with_output), "also write the HDF5 run file (io::RunWriter) into DIR and time it")(
      "keep-output", po::bool_switch(&o.keep_output), "keep the HDF5 files written with --with-output")(
      "spin-up-cache", po::value(&o.spin_up_cache),
      "keep spin-ups in DIR (as `talentsim run --spin-up-cache`): init loads the configuration's spin-up when DIR "
      "has it, else simulates and saves it")(
      "sync-output", po::bool_switch(&o.sync_output),
      "with --with-output: append each step's rows on the stepping thread instead of a background thread")(
      "json", po::value(&o.json), "write every number and the machine description to FILE")(
      "smoke", po::bool_switch(&o.smoke), "quick CI run: 1e4 researchers, threads 1,2, 3 steps, small reference loop")(
      "in-process", po::bool_switch(&o.in_process),
      "run every configuration in this process (faster to debug; peak RSS is then cumulative)")(
      "repetitions", po::value(&o.repetitions)->default_value(o.repetitions),
      "run every configuration K times (fresh process each) and keep the fastest")(
      "quiet,q", po::bool_switch(&o.quiet), "no progress lines on stderr")(
      "reference-floats", po::value(&o.ref_floats)->default_value(o.ref_floats), "size of the reference loop array")(
      "reference-passes", po::value(&o.ref_passes)->default_value(o.ref_passes), "reference loop: best of K passes")(
      "reference-fma", po::value(&o.ref_fma)->default_value(o.ref_fma), "reference loop: FMAs per element and pass");
  po::options_description hidden;
  hidden.add_options()("single", po::value(&o.single)->multitoken(), "internal: run one configuration N THREADS")(
      "reference-only", po::bool_switch(&o.reference_only), "internal: run the reference loop only")(
      "result", po::value(&o.result_file), "internal: where a child writes its result");
  po::options_description all;
  all.add(od).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "talentsim_bench: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << od << "\n";
    return 0;
  }
  const int nproc = std::max(1, int(sysconf(_SC_NPROCESSORS_ONLN)));
  if (o.smoke) {
    if (vm["researchers"].defaulted()) o.researchers = "1e4";
    if (o.threads.empty()) o.threads = "1,2";
    if (vm["steps"].defaulted()) o.steps = 3;
    if (vm["reference-floats"].defaulted()) o.ref_floats = 4e6;
    if (vm["reference-passes"].defaulted()) o.ref_passes = 3;
  }
  if (o.threads.empty()) o.threads = "1-" + std::to_string(nproc);
  if (o.scenario.empty()) o.scenario = ts::bench::default_scenario();
  if (o.steps < 1) {
    std::cerr << "talentsim_bench: --steps must be at least 1\n";
    return 2;
  }
  for (const auto& [name, value] : {std::pair{"--firms-scale", o.firms_scale}, {"--headcount-scale", o.headcount_scale}}) {
    if (value == "auto") continue;
    try {
      if (!(std::stod(value) > 0)) throw std::invalid_argument("");
    } catch (...) {
      std::cerr << "talentsim_bench: " << name << " must be a positive number or 'auto'\n";
      return 2;
    }
  }
  std::vector<int64_t> sizes;
  std::vector<int> threads;
  try {
    sizes = ts::bench::parse_size_list(o.researchers);
    threads = ts::bench::parse_int_list(o.threads);
  } catch (const std::exception& e) {
    std::cerr << "talentsim_bench: " << e.what() << "\n";
    return 2;
  }
  const std::string cmdline = join_args(argc, argv);

  // ---- child modes
  if (o.reference_only) {
    const auto ref = run_reference(o, threads);
    if (!o.result_file.empty()) save_reference(o.result_file, ref);
    return 0;
  }
  if (!o.single.empty()) {
    if (o.single.size() != 2) {
      std::cerr << "talentsim_bench: --single takes N THREADS\n";
      return 2;
    }
    int64_t n = 0;
    int t = 0;
    try {
      n = ts::bench::parse_size_list(o.single[0]).at(0);
      t = ts::bench::parse_int_list(o.single[1]).at(0);
    } catch (const std::exception& e) {
      std::cerr << "talentsim_bench: --single: " << e.what() << "\n";
      return 2;
    }
    auto r = run_config(o, n, t, cmdline);
    if (!o.result_file.empty()) {
      r.save(o.result_file);
    } else {
      std::vector<ConfigResult> one{r};
      print_report(ts::bench::machine_info(), o, {n}, {t}, {}, one);
    }
    if (!r.ok) std::cerr << "talentsim_bench: N=" << n << " threads=" << t << ": " << r.error << "\n";
    return r.ok ? 0 : 1;
  }

  // ---- parent: sweep
  if (!fs::exists(o.scenario)) {
    std::cerr << "talentsim_bench: scenario not found: " << o.scenario << "\n";
    return 2;
  }
  const auto machine = ts::bench::machine_info();
  std::string tmpl = (fs::temp_directory_path() / "talentsim_bench.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    std::cerr << "talentsim_bench: cannot create a temporary directory\n";
    return 1;
  }
  const fs::path tmp = tmpl;
  auto note = [&](const std::string& s) {
    if (!o.quiet) std::cerr << "talentsim_bench: " << s << std::endl;
  };

  // Repetitions go round the whole set of configurations (rep 1 of all, then rep 2 of all, ...)
  // so that a change in machine load hits every configuration alike; the fastest run is kept.
  const int reps = std::max(1, o.repetitions);
  std::vector<RefResult> ref;
  auto run_reference_child = [&] {
    const std::string file = (tmp / "reference.txt").string();
    auto args = child_common_args(o, file);
    args.insert(args.end(), {"--reference-only", "--threads", o.threads});
    const std::string st = run_child(args);
    if (!st.empty()) note("reference loop failed: " + st);
    for (const auto& x : load_reference(file)) {
      bool found = false;
      for (auto& y : ref)
        if (y.threads == x.threads) y.seconds = std::min(y.seconds, x.seconds), found = true;
      if (!found) ref.push_back(x);
    }
  };
  std::vector<std::pair<int64_t, int>> configs;
  for (int64_t n : sizes)
    for (int t : threads) configs.push_back({n, t});
  std::vector<ConfigResult> runs(configs.size());
  std::vector<double> worst(configs.size(), 0.0);
  std::vector<bool> failed(configs.size(), false);
  for (int rep = 0; rep < reps; ++rep) {
    if (!o.in_process) {
      note("reference loop (" + ts::bench::short_count(int64_t(o.ref_floats)) + " floats) at threads " + o.threads +
           (reps > 1 ? ", round " + std::to_string(rep + 1) : ""));
      run_reference_child();
    }
    for (std::size_t c = 0; c < configs.size(); ++c) {
      if (failed[c]) continue;
      const auto [n, t] = configs[c];
      note("[" + std::to_string(c + 1) + "/" + std::to_string(configs.size()) + (reps > 1 ? ", round " + std::to_string(rep + 1) : "") +
           "] researchers " + ts::bench::short_count(n) + ", threads " + std::to_string(t) + ", " +
           std::to_string(o.steps) + " steps");
      ConfigResult x;
      if (o.in_process) {
        ts::bench::reset_vm_hwm();
        x = run_config(o, n, t, cmdline);
      } else {
        const std::string file = (tmp / ("run_" + std::to_string(c) + ".txt")).string();
        auto args = child_common_args(o, file);
        args.insert(args.end(), {"--single", std::to_string(n), std::to_string(t)});
        const std::string st = run_child(args);
        if (!x.load(file)) {
          x.researchers = double(n);
          x.threads = t;
          x.steps = double(o.steps);
          x.error = st.empty() ? "the child wrote no result" : st;
        } else if (!st.empty() && x.error.empty()) {
          x.error = st;
        }
      }
      if (!x.ok) {
        note("    failed: " + x.error);
        runs[c] = x;
        failed[c] = true;
        continue;
      }
      note("    init " + fmt(x.init_seconds, 2) + " s, " + fmt(x.step_mean, 3) + " s/step (cpu " +
           fmt(x.cpu_run_seconds / std::max(1.0, x.steps), 3) + "), peak RSS " + fmt(x.peak_rss / 1048576.0, 0) + " MiB");
      worst[c] = std::max(worst[c], x.step_mean);
      if (rep == 0 || x.run_seconds < runs[c].run_seconds) runs[c] = x;
      runs[c].repetitions = rep + 1;
      runs[c].step_mean_worst = worst[c];
    }
  }
  if (o.in_process) ref = run_reference(o, threads);
  std::error_code ec;
  fs::remove_all(tmp, ec);

  // Speed-ups against the smallest thread count of the same N (1 thread when it was run).
  auto ref_seconds = [&](int t) {
    for (const auto& x : ref)
      if (x.threads == t) return x.seconds;
    return kNaN;
  };
  const int tmin = *std::min_element(threads.begin(), threads.end());
  for (auto& r : runs) {
    if (!r.ok) continue;
    for (const auto& b : runs)
      if (b.ok && b.researchers == r.researchers && int(b.threads) == tmin && b.step_mean > 0) r.speedup = b.step_mean / r.step_mean;
    r.reference_speedup = ref_seconds(tmin) / ref_seconds(int(r.threads));
    r.relative_efficiency = r.speedup / r.reference_speedup;
  }

  print_report(machine, o, sizes, threads, ref, runs);
  if (tmin != 1) std::cout << "(speed-ups are relative to " << tmin << " threads)\n";
  if (!o.json.empty()) {
    try {
      write_json(o.json, machine, o, sizes, threads, ref, runs, cmdline);
      note("wrote " + o.json);
    } catch (const std::exception& e) {
      std::cerr << "talentsim_bench: " << e.what() << "\n";
      return 1;
    }
  }
  bool all_ok = true;
  for (const auto& r : runs) all_ok &= r.ok;
  return all_ok ? 0 : 1;
}
