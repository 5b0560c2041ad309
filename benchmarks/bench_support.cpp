#include "bench_support.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <tbb/version.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sim/engine/parallel.hpp"
#include "sim/config/yaml_tree.hpp"
#include "talentsim_version.hpp"

#ifndef TALENTSIM_SOURCE_DIR
#define TALENTSIM_SOURCE_DIR "."
#endif
#ifndef TALENTSIM_BUILD_TYPE
#define TALENTSIM_BUILD_TYPE "unknown"
#endif

namespace ts::bench {

namespace {

std::optional<cfg::Scenario> try_load(const std::string& path, const std::vector<std::string>& sets, std::string& error) {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(path, sets, d);
  if (!sc) {
    error = d.format();
    if (error.empty()) error = "could not load scenario " + path;
  }
  return sc;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// Value of "key : value" lines (first match) in a /proc file.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return {};
}

int64_t kb_field(const char* file, const std::string& key) {
  const std::string v = proc_field(file, key);
  if (v.empty()) return -1;
  try {
    return int64_t(std::stoll(v)) * 1024;  // "123456 kB"
  } catch (...) {
    return -1;
  }
}

}  // namespace

namespace {
std::string num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

/// A headcount distribution scaled by x, as YAML for a `--set` override.
std::string scaled_dist(const model::Dist& d, double x) {
  using K = model::Dist::Kind;
  const std::string st = d.stratified ? ", stratified: true" : "";
  switch (d.kind) {
    case K::Constant: return num(d.a * x);
    case K::Uniform: return "{dist: uniform, min: " + num(d.a * x) + ", max: " + num(d.b * x) + st + "}";
    case K::Normal: return "{dist: normal, mean: " + num(d.a * x) + ", sd: " + num(d.b * x) + st + "}";
    case K::LogNormal: return "{dist: lognormal, median: " + num(d.a * x) + ", sigma: " + num(d.b) + st + "}";
    case K::BMEquilibrium: break;
  }
  throw std::invalid_argument("a bm_equilibrium headcount cannot be scaled");
}
}  // namespace

std::optional<cfg::Scenario> load(const ScenarioSpec& spec, std::string& error, double* applied_firms_scale,
                                 double* applied_headcount_scale) {
  std::vector<std::string> sets = spec.sets;
  const bool scale_firms = spec.firms_scale_auto || spec.firms_scale != 1.0;
  const bool scale_heads = spec.headcount_scale_auto || spec.headcount_scale != 1.0;
  double scale = spec.firms_scale, heads = spec.headcount_scale;
  std::vector<std::string> extra;
  if (scale_firms || scale_heads) {
    // First pass: the scenario as written (plus the user's overrides, counts unscaled) to find
    // firm groups and regions.
    std::vector<std::string> as_written = sets;
    as_written.push_back("population.scale_market=false");
    auto base = try_load(spec.path, as_written, error);
    if (!base) return std::nullopt;
    const double n0 = double(base->params.population.researchers);
    const double auto_scale = spec.researchers > 0 && n0 > 0 ? double(spec.researchers) / n0 : 1.0;
    if (spec.firms_scale_auto) scale = auto_scale;
    if (spec.headcount_scale_auto) heads = auto_scale;
    for (std::size_t g = 0; g < base->params.firms.size(); ++g) {
      const auto& firm = base->params.firms[g];
      const std::string key = "firms[" + std::to_string(g) + "]";
      if (scale_firms && cfg::get_path(base->tree, key + ".count")) {  // named firm (no `count`): unchanged
        const int64_t scaled = std::max<int64_t>(1, std::llround(double(firm.count) * scale));
        extra.push_back(key + ".count=" + std::to_string(scaled));
      }
      if (scale_heads && !spec.headcount_scale_auto) {
        try {
          extra.push_back(key + ".headcount=" + scaled_dist(firm.headcount, heads));
        } catch (const std::exception& e) {
          error = key + ".headcount: " + e.what();
          return std::nullopt;
        }
      }
    }
    if (scale_heads && !spec.headcount_scale_auto)
      for (const auto& reg : base->params.regions)
        extra.push_back("regions." + reg.name + ".entrants_per_month=" + num(reg.entrants_per_month * heads));
    // 'auto' is the scenario loader's own scaling (population.scale_market): every headcount and
    // entrants count the scenario writes describes its population n0, and is scaled to N.
    if (spec.headcount_scale_auto) extra.push_back("population.reference_researchers=" + std::to_string(int64_t(n0)));
  }
  // A fixed scale (1 included: the scenario's firms as written) is applied here, by hand.
  if (!spec.headcount_scale_auto) sets.push_back("population.scale_market=false");
  if (applied_firms_scale) *applied_firms_scale = scale_firms ? scale : 1.0;
  if (applied_headcount_scale) *applied_headcount_scale = scale_heads ? heads : 1.0;
  if (spec.researchers > 0) sets.push_back("population.researchers=" + std::to_string(spec.researchers));
  if (spec.steps > 0) sets.push_back("run.steps=" + std::to_string(spec.steps));
  sets.insert(sets.end(), extra.begin(), extra.end());
  return try_load(spec.path, sets, error);
}

std::string default_scenario() {
  const std::string rel = "scenarios/baseline.yaml";
  if (std::filesystem::exists(rel)) return rel;
  return std::string(TALENTSIM_SOURCE_DIR) + "/" + rel;
}

int64_t current_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(in >> size >> resident)) return -1;
  return int64_t(resident) * int64_t(sysconf(_SC_PAGESIZE));
}

int64_t peak_rss_bytes() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return int64_t(ru.ru_maxrss) * 1024;  // Linux: kilobytes
}

int64_t vm_hwm_bytes() { return kb_field("/proc/self/status", "VmHWM"); }

bool reset_vm_hwm() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return bool(out);
}

double process_cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double l = -1;
  if (!(in >> l)) return -1;
  return l;
}

// ------------------------------------------------------------------ reference loop
ReferenceLoop::ReferenceLoop(std::size_t n) : x_(n) {
  // First touch in parallel, with the engine's chunking.
  engine::for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) x_[i] = float(i % 1024) * (1.0f / 1024.0f);
  });
}

namespace {
/// One pass; K is a compile-time constant so the per-element chain is unrolled and the loop
/// over elements vectorises (a plain streaming kernel, no latency-bound dependency chain).
template <int K>
void reference_pass(float* x, std::size_t n) {
  engine::for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      float v = x[i];
      for (int k = 0; k < K; ++k) v = v * 0.9999999f + 1.0e-7f;
      x[i] = v;
    }
  });
}
}  // namespace

double ReferenceLoop::run(int passes, int fma_per_element) {
  using clock = std::chrono::steady_clock;
  double best = std::numeric_limits<double>::infinity();
  const std::size_t n = x_.size();
  float* x = x_.data();
  for (int p = 0; p < std::max(1, passes); ++p) {
    const auto t0 = clock::now();
    switch (fma_per_element) {
      case 1: reference_pass<1>(x, n); break;
      case 2: reference_pass<2>(x, n); break;
      case 4: reference_pass<4>(x, n); break;
      case 8: reference_pass<8>(x, n); break;
      case 16: reference_pass<16>(x, n); break;
      case 32: reference_pass<32>(x, n); break;
      case 64: reference_pass<64>(x, n); break;
      default: throw std::invalid_argument("reference loop: FMAs per element must be 1, 2, 4, 8, 16, 32 or 64");
    }
    best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count());
  }
  return best;
}

double ReferenceLoop::checksum() const {
  double s = 0;
  for (std::size_t i = 0; i < x_.size(); i += 4096) s += double(x_[i]);
  return s;
}

// ------------------------------------------------------------------ machine
MachineInfo machine_info() {
  MachineInfo m;
  m.nproc = int(sysconf(_SC_NPROCESSORS_ONLN));
  m.hardware_threads = std::thread::hardware_concurrency();
  m.cpu_model = proc_field("/proc/cpuinfo", "model name");
  try {
    m.cpu_cores = std::stoi(proc_field("/proc/cpuinfo", "cpu cores"));
    m.cpu_siblings = std::stoi(proc_field("/proc/cpuinfo", "siblings"));
  } catch (...) {
  }
  m.mem_total_bytes = kb_field("/proc/meminfo", "MemTotal");
  m.mem_available_bytes = kb_field("/proc/meminfo", "MemAvailable");
  utsname u{};
  if (uname(&u) == 0) {
    m.kernel = std::string(u.sysname) + " " + u.release;
    m.hostname = u.nodename;
  }
#if defined(__clang__)
  m.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  m.compiler = std::string("GCC ") + __VERSION__;
#else
  m.compiler = "unknown";
#endif
  m.build_type = TALENTSIM_BUILD_TYPE;
  m.tbb_version = TBB_VERSION_STRING;
  m.talentsim_version = TALENTSIM_VERSION;
  m.git_commit = TALENTSIM_GIT_COMMIT;
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  m.date_utc = buf;
  m.load_average = load_average();
  return m;
}

// ------------------------------------------------------------------ formatting
std::string json_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (const unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += char(c);
        }
    }
  }
  return o;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 9e15) return std::to_string(int64_t(v));
  char b[40];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

namespace {
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}
}  // namespace

std::vector<int64_t> parse_size_list(const std::string& s) {
  std::vector<int64_t> out;
  for (const auto& item : split_commas(s)) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used != item.size() || !(v >= 1) || v > 4e9) throw std::invalid_argument("not a population size: '" + item + "'");
    out.push_back(std::llround(v));
  }
  if (out.empty()) throw std::invalid_argument("empty list");
  return out;
}

std::vector<int> parse_int_list(const std::string& s) {
  std::vector<int> out;
  auto to_int = [](const std::string& x) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(x, &used);
    } catch (...) {
      used = 0;
    }
    if (used != x.size() || v < 1) throw std::invalid_argument("not a positive integer: '" + x + "'");
    return v;
  };
  for (const auto& item : split_commas(s)) {
    auto dots = item.find("..");
    auto dash = item.find('-');
    if (dots != std::string::npos || (dash != std::string::npos && dash > 0)) {
      const std::size_t cut = dots != std::string::npos ? dots : dash;
      const std::size_t skip = dots != std::string::npos ? 2 : 1;
      const int a = to_int(trim(item.substr(0, cut))), b = to_int(trim(item.substr(cut + skip)));
      if (b < a) throw std::invalid_argument("empty range: '" + item + "'");
      for (int v = a; v <= b; ++v) out.push_back(v);
    } else {
      out.push_back(to_int(item));
    }
  }
  if (out.empty()) throw std::invalid_argument("empty list");
  return out;
}

std::string short_count(int64_t n) {
  if (n < 10000) return std::to_string(n);
  int e = 0;
  double m = double(n);
  while (m >= 10.0) m /= 10.0, ++e;
  char b[32];
  if (std::fabs(m - std::round(m)) < 1e-9)
    std::snprintf(b, sizeof b, "%de%d", int(std::round(m)), e);
  else
    std::snprintf(b, sizeof b, "%.3ge%d", m, e);
  return b;
}

}  // namespace ts::bench
