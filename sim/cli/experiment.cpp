#include "sim/cli/experiment.hpp"

#include <hdf5.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "sim/cli/cli.hpp"
#include "sim/config/schema.hpp"
#include "sim/experiment/design.hpp"
#include "sim/experiment/plan.hpp"
#include "sim/experiment/scenario_evaluator.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/io/h5.hpp"

namespace ts::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace ts::exp;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

const char* kSweepHelp = R"TXT(usage: talentsim sweep EXPERIMENT.yaml -o OUT.h5 [options]

Runs an experiment: every run of its design (points × replications × variants), its outcomes
computed as each run ends and written to OUT.h5 as runs finish, then per-point summaries, paired
differences between variants and sensitivity indices (docs/experiments.md).

options:
  -o, --output OUT.h5     the sweep file (written as .OUT.h5.partial, renamed when done)
  --jobs N                runs at once (default 1); each gets --threads / N threads
  --threads T             threads in all (default: all cores); results do not depend on N or T
  --set key=value         override a top-level key of the experiment (replications=2, steps=12, seed=7, ...)
  --resume                continue an interrupted or killed sweep of OUT.h5: run only what is missing
  --retry-failed          with --resume: run the failed runs again too
  --force                 start over: replace OUT.h5, an unfinished sweep of it and its run files
  --dry-run               check everything, print the plan (stderr) and the design (CSV, stdout), run nothing
  -q, --quiet             no progress line and no report
  --help                  this text

exit codes: 0 every run done, 1 some runs failed (listed) or a runtime error, 2 bad input
(nothing runs), 130 interrupted (continue with --resume)
)TXT";

const char* kCompareHelp = R"TXT(usage: talentsim compare BASE.yaml SCENARIO.yaml... -o OUT.h5 [options]

Runs every scenario and the base for R replications with the same seeds (replication k uses the
same seed everywhere: common random numbers) and reports each scenario's paired differences from
the base with 95% t intervals. The same as `talentsim sweep` on an experiment with BASE as its
base and each SCENARIO as a variant named after its file.

options:
  -o, --output OUT.h5     the sweep file
  --replications R        replications (default 10)
  --steps T               horizon (default: the base scenario's run.steps)
  --seed S                experiment seed (default 1): replication k's seed comes from it
  --outcomes FILE         the outcomes: the `outcomes:` map of FILE (e.g. an experiment file);
                          default: the README's four (US top-tier share, net top-tier moves
                          US→CN, US/CN highly cited output, median US top-tier pay)
  --set key.path=value    override a scenario key in every run (base and scenarios alike)
  --keep WHAT             outcomes (default) | series | full: what to keep of each run (as the
                          experiment key `keep`); series keeps each run's file, from which
                          `talentsim report` draws the outcomes over time with bands
  --jobs N, --threads T, --resume, --retry-failed, --force, -q/--quiet   as for `talentsim sweep`
  --help                  this text
)TXT";

const char* kExportHelp = R"TXT(usage: talentsim export OUT.h5 --csv DIR [--force]
       talentsim export OUT.h5 --table

--csv DIR writes a sweep file's tables as CSV files into DIR (created if missing): design.csv (one
row per point), outcomes.csv (one row per run: the runs table, its point's parameter values and
its outcomes), summaries.csv, differences.csv (with variants) and indices.csv (with a saltelli or
morris design). Existing files are not replaced without --force.
--table prints the report `talentsim sweep` printed at the end (Markdown tables) again.
)TXT";

const char* kDefaultOutcomes = R"TXT(outcomes:
  us_top_share: {metric: share, location: US, tier: [top, elite], label: "US share of top tier at end (pp)", scale: 100, digits: 2}
  net_us_cn_top: {metric: net_flow, from: US, to: CN, tier: [top, elite], label: "net top-tier moves US→CN", digits: 0}
  us_cn_hc_ratio: {metric: output_ratio, numerator: US, denominator: CN, highly_cited: true, label: "US/CN highly cited output", digits: 4}
  us_top_pay: {metric: pay_percentile, location: US, tier: [top, elite], percentile: 50, label: "median top-tier pay in US ($k)", scale: 0.001, digits: 1}
)TXT";

struct RunOptions {
  std::string out;
  int jobs = 1, threads = 0;
  bool resume = false, retry_failed = false, force = false, dry_run = false, quiet = false;
  std::vector<int64_t> fail_runs;  ///< testing aid
  bool jobs_given = false, threads_given = false;
};

void add_run_options(po::options_description& od, RunOptions& o) {
  od.add_options()("output,o", po::value(&o.out), "output file")("jobs", po::value(&o.jobs), "runs at once")(
      "threads", po::value(&o.threads), "threads in all")("resume", po::bool_switch(&o.resume), "continue")(
      "retry-failed", po::bool_switch(&o.retry_failed), "rerun failed runs")("force", po::bool_switch(&o.force), "start over")(
      "quiet,q", po::bool_switch(&o.quiet), "no progress, no report")(
      "fail-run", po::value(&o.fail_runs)->composing(), "testing aid: this run fails instead of running")(
      "help,h", "help");
}

/// A failing evaluator for testing aids: the listed runs throw, the others run normally.
class FailSome : public Evaluator {
 public:
  FailSome(Evaluator& inner, std::set<int64_t> ids) : inner_(inner), ids_(std::move(ids)) {}
  std::optional<std::vector<double>> evaluate(const RunSpec& r, int threads, const std::atomic<bool>& stop) override {
    if (ids_.count(r.id)) throw std::runtime_error("testing aid --fail-run " + std::to_string(r.id) + ": this run fails");
    return inner_.evaluate(r, threads, stop);
  }
  std::size_t outcomes() const override { return inner_.outcomes(); }

 private:
  Evaluator& inner_;
  std::set<int64_t> ids_;
};

// ------------------------------------------------------------------ report

std::string fixed(double x, int digits, bool plus) {
  if (std::isnan(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, plus ? "%+.*f" : "%.*f", digits, x);
  std::string s = b;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {  // "-0.00" reads as a sign: print it as 0
    bool zero = true;
    for (char c : s) zero = zero && (c == '-' || c == '0' || c == '.');
    if (zero) s = plus ? "+" + s.substr(1) : s.substr(1);
  }
  return s;
}

std::string general(double x, bool plus = false) {
  if (std::isnan(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, plus ? "%+.4g" : "%.4g", x);
  return b;
}

/// What a report shows: from a finished sweep, or read back from its file (`export --table`).
struct Report {
  std::vector<std::string> labels, params, variants, text;  ///< text: [point][parameter]
  std::vector<double> scale;
  std::vector<int64_t> digits;
  std::size_t P = 0, V = 0, K = 0, k = 0;
  Analysis a;
};

Report report_of(const ExperimentSpec& s, const Design& d, const RunPlan& plan, const std::vector<std::string>& variants,
                 const Analysis& a) {
  Report r;
  for (const auto& o : s.outcomes) {
    r.labels.push_back(o.label.empty() ? o.name : o.label);
    r.scale.push_back(o.scale);
    r.digits.push_back(o.digits);
  }
  for (const auto& p : s.parameters) r.params.push_back(p.key);
  r.variants = variants;
  r.text = d.text;
  r.P = std::size_t(plan.points()), r.V = std::size_t(plan.variants()), r.K = s.outcomes.size(), r.k = d.k;
  r.a = a;
  return r;
}

/// The report of a complete sweep file; throws if the file has no statistics.
Report report_of(const h5::Group& root) {
  Report r;
  auto o = root.open_group("outcomes");
  r.labels = o.read_strings("labels");
  r.scale = o.read<double>("scale");
  r.digits = o.read<int64_t>("digits");
  auto d = root.open_group("design");
  r.params = d.read_strings("parameters");
  r.text = d.read_strings("text");
  r.variants = root.open_group("variants").read_strings("name");
  r.P = std::size_t(root.attr_int("points")), r.V = r.variants.size(), r.K = r.labels.size(), r.k = r.params.size();
  Analysis& a = r.a;
  a.variants = r.V, a.points = r.P, a.outcomes = r.K, a.params = r.k;
  if (!root.exists("summary")) throw std::runtime_error("the sweep has no statistics yet (status " + root.attr_string("status") + ")");
  auto sum = root.open_group("summary");
  a.n = sum.read<int64_t>("n"), a.mean = sum.read<double>("mean"), a.sd = sum.read<double>("sd");
  a.lo = sum.read<double>("lo"), a.hi = sum.read<double>("hi");
  if (root.exists("differences")) {
    auto g = root.open_group("differences");
    a.d_n = g.read<int64_t>("n"), a.d_mean = g.read<double>("mean"), a.d_sd = g.read<double>("sd");
    a.d_lo = g.read<double>("lo"), a.d_hi = g.read<double>("hi");
  }
  if (root.exists("sensitivity/sobol")) {
    auto g = root.open_group("sensitivity/sobol");
    a.sobol = true;
    a.S1 = g.read<double>("S1"), a.S1_lo = g.read<double>("S1_lo"), a.S1_hi = g.read<double>("S1_hi");
    a.ST = g.read<double>("ST"), a.ST_lo = g.read<double>("ST_lo"), a.ST_hi = g.read<double>("ST_hi");
    a.sobol_n = g.read<int64_t>("n");
  }
  if (root.exists("sensitivity/morris")) {
    auto g = root.open_group("sensitivity/morris");
    a.morris = true;
    a.mu = g.read<double>("mu"), a.mu_star = g.read<double>("mu_star"), a.sigma = g.read<double>("sigma");
    a.mu_star_lo = g.read<double>("mu_star_lo"), a.mu_star_hi = g.read<double>("mu_star_hi");
    a.morris_n = g.read<int64_t>("n");
  }
  return r;
}

std::string num(const Report& c, std::size_t o, double x, bool plus = false) {
  x *= c.scale[o];
  return c.digits[o] >= 0 ? fixed(x, int(c.digits[o]), plus) : general(x, plus);
}

std::string interval(const Report& c, std::size_t o, double mean, double lo, double hi, bool plus, bool bold_if_excludes_zero) {
  std::string s = num(c, o, mean, plus);
  if (!std::isnan(lo)) s += " [" + num(c, o, lo, plus) + ", " + num(c, o, hi, plus) + "]";
  const bool bold = bold_if_excludes_zero && !std::isnan(lo) && (lo > 0 || hi < 0);
  return bold ? "**" + s + "**" : s;
}

std::string md_cell(std::string s) {
  for (std::size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

void print_report(std::ostream& os, const Report& c) {
  const Analysis& a = c.a;
  const std::size_t K = c.K, P = c.P, V = c.V, k = c.k;
  const auto& variants = c.variants;
  auto cell = [&](std::size_t v, std::size_t p, std::size_t o) { return (v * P + p) * K + o; };
  auto text = [&](std::size_t p, std::size_t j) -> const std::string& { return c.text[p * k + j]; };
  if (V > 1 && P == 1) {
    os << "\n| scenario |";
    for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
    os << "\n|---|";
    for (std::size_t o = 0; o < K; ++o) os << "---:|";
    os << "\n| " << variants[0] << " (level, mean over seeds) |";
    for (std::size_t o = 0; o < K; ++o) {
      const std::size_t i = cell(0, 0, o);
      char sd[64];
      std::snprintf(sd, sizeof sd, " (sd %.3g)", std::fabs(a.sd[i] * c.scale[o]));
      os << " " << num(c, o, a.mean[i]) << (std::isnan(a.sd[i]) ? "" : sd) << " |";
    }
    os << "\n";
    for (std::size_t v = 1; v < V; ++v) {
      os << "| `" << variants[v] << "` (difference) |";
      for (std::size_t o = 0; o < K; ++o) {
        const std::size_t i = ((v - 1) * P) * K + o;
        os << " " << interval(c, o, a.d_mean[i], a.d_lo[i], a.d_hi[i], true, true) << " |";
      }
      os << "\n";
    }
    os << "\nDifferences are scenario − " << variants[0]
       << ", paired by seed; mean [95% t interval]; **bold**: the interval excludes 0.\n";
    return;
  }
  if (P <= 60) {
    for (std::size_t v = 0; v < V; ++v) {
      os << "\n" << (V > 1 ? "`" + variants[v] + "`: " : std::string()) << "mean [95% t interval] over replications\n\n| point |";
      for (const auto& p : c.params) os << " " << md_cell(p) << " |";
      for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
      os << "\n|---:|";
      for (std::size_t j = 0; j < k + K; ++j) os << (j < k ? "---|" : "---:|");
      os << "\n";
      for (std::size_t p = 0; p < P; ++p) {
        os << "| " << p << " |";
        for (std::size_t j = 0; j < k; ++j) os << " " << md_cell(text(p, j)) << " |";
        for (std::size_t o = 0; o < K; ++o) {
          const std::size_t i = cell(v, p, o);
          os << " " << interval(c, o, a.mean[i], a.lo[i], a.hi[i], false, false) << " |";
        }
        os << "\n";
      }
      if (v > 0) {
        os << "\n`" << variants[v] << "` − " << variants[0] << ", paired by seed (**bold**: the interval excludes 0)\n\n| point |";
        for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
        os << "\n|---:|";
        for (std::size_t o = 0; o < K; ++o) os << "---:|";
        os << "\n";
        for (std::size_t p = 0; p < P; ++p) {
          os << "| " << p << " |";
          for (std::size_t o = 0; o < K; ++o) {
            const std::size_t i = ((v - 1) * P + p) * K + o;
            os << " " << interval(c, o, a.d_mean[i], a.d_lo[i], a.d_hi[i], true, true) << " |";
          }
          os << "\n";
        }
      }
    }
  } else {
    os << "\n" << P << " points: the per-point summaries are in the file (/summary; `talentsim export`).\n";
  }
  auto indices = [&](const char* title, const std::vector<std::string>& heads, auto&& row) {
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t o = 0; o < K; ++o) {
        os << "\n" << title << ": " << md_cell(c.labels[o]) << (V > 1 ? " (`" + variants[v] + "`)" : std::string()) << "\n\n| parameter |";
        for (const auto& h : heads) os << " " << h << " |";
        os << "\n|---|";
        for (std::size_t h = 0; h < heads.size(); ++h) os << "---:|";
        os << "\n";
        for (std::size_t j = 0; j < k; ++j) os << "| " << md_cell(c.params[j]) << " |" << row((v * K + o) * k + j) << "\n";
      }
  };
  if (a.sobol)
    indices("Sobol indices (95% bootstrap intervals)", {"first order S1", "total ST"}, [&](std::size_t i) {
      char b[256];
      std::snprintf(b, sizeof b, " %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |", a.S1[i], a.S1_lo[i], a.S1_hi[i], a.ST[i], a.ST_lo[i],
                    a.ST_hi[i]);
      return std::string(b);
    });
  if (a.morris)
    indices("Morris elementary effects (per whole range; 95% bootstrap interval of μ*)", {"μ*", "μ", "σ"}, [&](std::size_t i) {
      return " " + general(a.mu_star[i]) + " [" + general(a.mu_star_lo[i]) + ", " + general(a.mu_star_hi[i]) + "] | " +
             general(a.mu[i]) + " | " + general(a.sigma[i]) + " |";
    });
}

// ------------------------------------------------------------------ CSV

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string csv_num(double x) { return std::isnan(x) ? std::string() : model::schema::fmt_num(x); }

// ------------------------------------------------------------------ running

int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

/// Checks, runs and reports an experiment: the common part of sweep and compare.
int run_experiment(const ExperimentSpec& spec, const RunOptions& o, const std::string& command_line, const char* cmd) {
  if (o.jobs < 1) {
    std::cerr << "talentsim " << cmd << ": --jobs must be at least 1\n";
    return kInputError;
  }
  if (o.threads_given && o.threads < 1) {
    std::cerr << "talentsim " << cmd << ": --threads must be at least 1\n";
    return kInputError;
  }
  const int threads = resolve_threads(o.threads);
  if (o.jobs > threads) {
    std::cerr << "talentsim " << cmd << ": --jobs " << o.jobs << " is more than the " << threads << " thread"
              << (threads == 1 ? "" : "s") << (o.threads_given ? " of --threads" : " (cores) of this machine")
              << ": every run needs a thread of its own (raise --threads only if there are more cores)\n";
    return kInputError;
  }
  if (!o.dry_run && o.out.empty()) {
    std::cerr << "talentsim " << cmd << ": the option '--output' is required\n";
    return kInputError;
  }
  if (o.retry_failed && !o.resume) {
    std::cerr << "talentsim " << cmd << ": --retry-failed goes with --resume\n";
    return kInputError;
  }
  const int per_job = threads / o.jobs;
  Design design;
  try {
    design = make_design(spec.parameters, spec.design);
  } catch (const std::exception& e) {
    std::cerr << "talentsim " << cmd << ": " << e.what() << "\n";
    return kInputError;
  }
  cfg::Diagnostics d;
  auto ev = ScenarioEvaluator::create(spec, design, o.jobs, d);
  if (!ev) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the experiment; nothing was run\n";
    return kInputError;
  }
  SweepInfo info;
  info.spec = &spec;
  info.design = &design;
  info.plan = RunPlan(int64_t(design.points()), spec.replications, int64_t(ev->variants()), spec.seed, spec.seeds);
  info.variant_names = ev->variant_names();
  info.variant_scenarios = ev->variant_scenarios();
  info.variant_overrides = ev->variant_overrides();
  info.sources = ev->sources();
  info.notes = ev->notes();
  info.steps = ev->steps();
  info.jobs = o.jobs;
  info.threads_per_job = per_job;
  info.command_line = command_line;
  if (spec.keep != Keep::Outcomes) {
    if (!spec.runs_dir.empty()) {
      const fs::path rd(spec.runs_dir);
      info.runs_dir = rd.is_absolute() ? rd.string() : (fs::path(o.out).parent_path() / rd).lexically_normal().string();
    } else {
      fs::path rd(o.out);
      rd.replace_extension(".runs");
      info.runs_dir = rd.string();
    }
    if (info.runs_dir.empty()) info.runs_dir = ".";
  }
  const auto& plan = info.plan;
  const std::string summary = std::to_string(plan.points()) + " point" + (plan.points() == 1 ? "" : "s") + " × " +
                              std::to_string(plan.replications()) + " replication" + (plan.replications() == 1 ? "" : "s") +
                              " × " + std::to_string(plan.variants()) + " variant" + (plan.variants() == 1 ? "" : "s") +
                              " = " + std::to_string(plan.size()) + " runs of " + std::to_string(info.steps) +
                              " steps; design " + to_string(design.kind) + ", seeds " + to_string(spec.seeds) +
                              " (experiment seed " + std::to_string(spec.seed) + "), keep " + to_string(spec.keep);
  if (o.dry_run) {
    std::cerr << spec.path << ": " << summary << "\n";
    for (const auto& n : info.notes) std::cerr << "note: " << n << "\n";
    std::cout << "point";
    for (const auto& p : spec.parameters) std::cout << "," << csv_field(p.key);
    std::cout << "\n";
    for (std::size_t p = 0; p < design.points(); ++p) {
      std::cout << p;
      for (std::size_t j = 0; j < design.k; ++j) std::cout << "," << csv_field(design.t(p, j));
      std::cout << "\n";
    }
    return kOk;
  }
  if (info.runs_dir.size() && o.jobs > 1) {
    hbool_t safe = 0;
    if (H5is_library_threadsafe(&safe) < 0 || !safe) {
      std::cerr << "talentsim " << cmd << ": this HDF5 library is not thread-safe, so runs that write files (keep: "
                << to_string(spec.keep) << ") cannot run " << o.jobs << " at a time: use --jobs 1\n";
      return kInputError;
    }
  }
  ev->set_run_files(info.runs_dir, [&info](int64_t id) { return info.run_file(id); }, command_line);
  std::unique_ptr<Evaluator> failing;
  Evaluator* evaluator = ev.get();
  if (!o.fail_runs.empty()) {
    failing = std::make_unique<FailSome>(*ev, std::set<int64_t>(o.fail_runs.begin(), o.fail_runs.end()));
    evaluator = failing.get();
  }
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  LocalExecutor executor(o.jobs, per_job);
  SweepOptions so;
  so.command = cmd;
  so.out = o.out;
  so.jobs = o.jobs;
  so.threads_per_job = per_job;
  so.resume = o.resume;
  so.retry_failed = o.retry_failed;
  so.force = o.force;
  so.progress = !o.quiet && isatty(2);
  if (!o.quiet) {
    std::cerr << cmd << ": " << spec.path << ": " << summary << "; " << o.jobs << " job" << (o.jobs == 1 ? "" : "s") << " × "
              << per_job << " thread" << (per_job == 1 ? "" : "s") << "\n";
    for (const auto& n : info.notes) std::cerr << "note: " << n << "\n";
  }
  g_stop = false;
  auto old_int = std::signal(SIGINT, on_stop_signal);
  auto old_term = std::signal(SIGTERM, on_stop_signal);
  const SweepResult r = run_sweep(info, *evaluator, executor, so, g_stop, std::cerr);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (r.exit_code == kInputError) return kInputError;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", r.seconds);
  if (r.pending > 0) {  // interrupted, or stopped by an error (the message is above)
    std::cerr << "talentsim " << cmd << ": " << (r.exit_code == kInterrupted ? "interrupted" : "stopped") << ": " << r.done
              << " runs done, " << r.failed << " failed, " << r.pending << " pending; " << o.out
              << " is marked interrupted. Continue with the same command and --resume\n";
    return r.exit_code;
  }
  if (!o.quiet) {
    std::cout << "wrote " << o.out << ": " << r.done + r.failed << " runs (" << r.done << " done, " << r.failed << " failed; "
              << r.ran << " run now in " << secs << " s)\n";
    print_report(std::cout, report_of(spec, design, plan, info.variant_names, r.analysis));
  }
  if (!r.failures.empty()) {
    std::cerr << "talentsim " << cmd << ": " << r.failures.size() << " run" << (r.failures.size() == 1 ? "" : "s")
              << " failed (their rows in " << o.out << " hold the errors; `talentsim " << cmd << " ... --resume --retry-failed` runs them again):\n";
    for (std::size_t i = 0; i < r.failures.size() && i < 20; ++i) {
      const RunSpec rs = plan.run(r.failures[i].id);
      std::cerr << "  run " << rs.id << " (point " << rs.point << ", replication " << rs.replication << ", variant "
                << info.variant_names[std::size_t(rs.variant)] << ", seed " << rs.seed << "): " << r.failures[i].error << "\n";
    }
    if (r.failures.size() > 20) std::cerr << "  … and " << r.failures.size() - 20 << " more\n";
  }
  return r.exit_code;
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& od,
                        const po::positional_options_description& pos) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

}  // namespace

int sweep_main(const std::vector<std::string>& args, const std::string& command_line) {
  std::string file;
  std::vector<std::string> sets;
  RunOptions o;
  po::options_description od("sweep options");
  od.add_options()("experiment", po::value(&file), "experiment YAML")("set", po::value(&sets)->composing(), "override")(
      "dry-run", po::bool_switch(&o.dry_run), "check and print the plan");
  add_run_options(od, o);
  po::positional_options_description pos;
  pos.add("experiment", 1);
  po::variables_map vm;
  try {
    vm = parse(args, od, pos);
  } catch (const po::error& e) {
    std::cerr << "talentsim sweep: " << e.what() << "\n\n" << kSweepHelp;
    return kInputError;
  }
  if (vm.count("help")) {
    std::cout << kSweepHelp;
    return kOk;
  }
  if (file.empty()) {
    std::cerr << "talentsim sweep: no experiment file given\n\n" << kSweepHelp;
    return kInputError;
  }
  o.jobs_given = vm.count("jobs") > 0;
  o.threads_given = vm.count("threads") > 0;
  cfg::Diagnostics d;
  auto spec = load_experiment(file, sets, d);
  if (!spec) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the experiment; nothing was run\n";
    return kInputError;
  }
  return run_experiment(*spec, o, command_line, "sweep");
}

int compare_main(const std::vector<std::string>& args, const std::string& command_line) {
  std::vector<std::string> files, sets;
  std::string outcomes_file, keep;
  int64_t replications = 10, steps = -1;
  uint64_t seed = 1;
  RunOptions o;
  po::options_description od("compare options");
  od.add_options()("scenarios", po::value(&files)->composing(), "base and scenarios")(
      "replications", po::value(&replications), "replications")("steps", po::value(&steps), "horizon")(
      "seed", po::value(&seed), "experiment seed")("outcomes", po::value(&outcomes_file), "outcomes file")(
      "keep", po::value(&keep), "what to keep of each run")(
      "set", po::value(&sets)->composing(), "scenario override for every run");
  add_run_options(od, o);
  po::positional_options_description pos;
  pos.add("scenarios", -1);
  po::variables_map vm;
  try {
    vm = parse(args, od, pos);
  } catch (const po::error& e) {
    std::cerr << "talentsim compare: " << e.what() << "\n\n" << kCompareHelp;
    return kInputError;
  }
  if (vm.count("help")) {
    std::cout << kCompareHelp;
    return kOk;
  }
  if (files.size() < 2) {
    std::cerr << "talentsim compare: needs a base scenario and at least one scenario to compare with it\n\n" << kCompareHelp;
    return kInputError;
  }
  if (replications < 1 || (vm.count("steps") && steps < 1)) {
    std::cerr << "talentsim compare: --replications and --steps must be at least 1\n";
    return kInputError;
  }
  o.jobs_given = vm.count("jobs") > 0;
  o.threads_given = vm.count("threads") > 0;
  // The experiment as a text: stored verbatim in the sweep file, like an experiment file.
  auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return q + "\"";
  };
  cfg::Diagnostics d;
  std::string outcomes_yaml = kDefaultOutcomes;
  if (!outcomes_file.empty()) {
    auto outs = load_outcomes(outcomes_file, d);
    if (!outs) {
      std::cerr << d.format() << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s")
                << " in the outcomes; nothing was run\n";
      return kInputError;
    }
    auto root = cfg::parse_file(outcomes_file, d);
    cfg::Node only = cfg::Node::make_map();
    only.set("outcomes", *root->find("outcomes"), {});
    outcomes_yaml = cfg::to_yaml(only);
  }
  std::ostringstream text;
  text << "# talentsim compare: " << files[0] << " and " << files.size() - 1 << " scenario"
       << (files.size() == 2 ? "" : "s") << ", from the command line:\n# " << command_line << "\n";
  text << "base: " << quoted(files[0]) << "\nseed: " << seed << "\nreplications: " << replications << "\n";
  if (steps > 0) text << "steps: " << steps << "\n";
  if (!keep.empty()) text << "keep: " << quoted(keep) << "\n";  // the experiment's checks name a wrong value
  if (!sets.empty()) {
    text << "set:\n";
    for (const auto& s : sets) text << "  - " << quoted(s) << "\n";
  }
  std::set<std::string> names{fs::path(files[0]).stem().string()};
  text << "variants:\n";
  for (std::size_t i = 1; i < files.size(); ++i) {
    const std::string name = fs::path(files[i]).stem().string();
    if (!names.insert(name).second) {
      std::cerr << "talentsim compare: two scenarios are named '" << name
                << "' (a variant is named after its file): copy one under another name\n";
      return kInputError;
    }
    text << "  " << quoted(name) << ": {scenario: " << quoted(files[i]) << "}\n";
  }
  text << outcomes_yaml;
  auto spec = parse_experiment_text(text.str(), "compare", {}, d);
  if (!spec) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the comparison; nothing was run\n";
    return kInputError;
  }
  return run_experiment(*spec, o, command_line, "compare");
}

int export_main(const std::vector<std::string>& args) {
  std::string in, dir;
  bool force = false, table = false;
  po::options_description od("export options");
  od.add_options()("input", po::value(&in), "sweep file")("csv", po::value(&dir), "directory")(
      "table", po::bool_switch(&table), "print the report")("force", po::bool_switch(&force), "replace")("help,h", "help");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  try {
    vm = parse(args, od, pos);
  } catch (const po::error& e) {
    std::cerr << "talentsim export: " << e.what() << "\n\n" << kExportHelp;
    return kInputError;
  }
  if (vm.count("help")) {
    std::cout << kExportHelp;
    return kOk;
  }
  if (in.empty() || (dir.empty() == !table)) {
    std::cerr << "talentsim export: needs a sweep file and either --csv DIR or --table\n\n" << kExportHelp;
    return kInputError;
  }
  try {
    h5::File f;
    try {
      f = h5::File::open_read(in);
    } catch (const h5::Error&) {
      std::cerr << "talentsim export: cannot open '" << in << "' as an HDF5 file\n";
      return kInputError;
    }
    auto root = f.root();
    if (!root.has_attr("kind") || root.attr_string("kind") != "sweep") {
      std::cerr << "talentsim export: '" << in << "' is not a sweep file (talentsim sweep / compare write those)\n";
      return kInputError;
    }
    const std::string status = root.attr_string("status");
    if (table) {
      if (status != "complete") {
        std::cerr << "talentsim export: " << in << " is " << status << ": its statistics are written when the sweep completes\n";
        return kInputError;
      }
      print_report(std::cout, report_of(root));
      return kOk;
    }
    const auto params = root.open_group("design").read_strings("parameters");
    std::vector<hsize_t> ddims;
    const auto values = root.open_group("design").read<double>("values", &ddims);
    const auto text = root.open_group("design").read_strings("text");
    const auto numeric = root.open_group("design").read<uint8_t>("numeric");
    const std::size_t P = std::size_t(root.attr_int("points")), k = params.size();
    const auto variants = root.open_group("variants").read_strings("name");
    const SweepRuns runs = read_runs(in);
    const std::size_t K = runs.outcome_names.size(), N = runs.id.size();
    std::vector<std::string> written;
    std::vector<std::pair<std::string, std::string>> files;
    auto param_value = [&](std::size_t p, std::size_t j) {
      return numeric[j] ? csv_num(values[p * k + j]) : csv_field(text[p * k + j]);
    };
    {
      std::ostringstream os;
      os << "point";
      for (const auto& p : params) os << "," << csv_field(p);
      os << "\n";
      for (std::size_t p = 0; p < P; ++p) {
        os << p;
        for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
        os << "\n";
      }
      files.emplace_back("design.csv", os.str());
    }
    {
      std::ostringstream os;
      os << "run,point,replication,variant,seed,status,seconds,host,error";
      for (const auto& p : params) os << "," << csv_field(p);
      for (const auto& n : runs.outcome_names) os << "," << csv_field(n);
      os << "\n";
      const char* st[] = {"pending", "done", "failed"};
      for (std::size_t i = 0; i < N; ++i) {
        const auto p = std::size_t(runs.point[i]);
        os << runs.id[i] << "," << runs.point[i] << "," << runs.replication[i] << ","
           << csv_field(variants[std::size_t(runs.variant[i])]) << "," << runs.seed[i] << "," << st[std::min<int>(runs.status[i], 2)]
           << "," << csv_num(runs.seconds[i]) << "," << csv_field(runs.host[i]) << "," << csv_field(runs.error[i]);
        for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
        for (std::size_t o = 0; o < K; ++o) os << "," << csv_num(runs.values[i * K + o]);
        os << "\n";
      }
      files.emplace_back("outcomes.csv", os.str());
    }
    auto table = [&](const char* group, const std::vector<std::string>& var_names, const char* file) {
      if (!root.exists(group)) return;
      auto g = root.open_group(group);
      const auto n = g.read<int64_t>("n");
      const auto mean = g.read<double>("mean"), sd = g.read<double>("sd"), lo = g.read<double>("lo"), hi = g.read<double>("hi");
      std::ostringstream os;
      os << "variant,point";
      for (const auto& p : params) os << "," << csv_field(p);
      os << ",outcome,n,mean,sd,lo,hi\n";
      for (std::size_t v = 0; v < var_names.size(); ++v)
        for (std::size_t p = 0; p < P; ++p)
          for (std::size_t o = 0; o < K; ++o) {
            const std::size_t c = (v * P + p) * K + o;
            os << csv_field(var_names[v]) << "," << p;
            for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
            os << "," << csv_field(runs.outcome_names[o]) << "," << n[c] << "," << csv_num(mean[c]) << "," << csv_num(sd[c])
               << "," << csv_num(lo[c]) << "," << csv_num(hi[c]) << "\n";
          }
      files.emplace_back(file, os.str());
    };
    table("summary", variants, "summaries.csv");
    if (variants.size() > 1) table("differences", std::vector<std::string>(variants.begin() + 1, variants.end()), "differences.csv");
    if (root.exists("sensitivity")) {
      std::ostringstream os;
      os << "method,variant,outcome,parameter,index,value,lo,hi,n\n";
      auto emit = [&](const char* method, const char* index, const std::vector<double>& v, const std::vector<double>* lo,
                      const std::vector<double>* hi, const std::vector<int64_t>& n) {
        for (std::size_t a = 0; a < variants.size(); ++a)
          for (std::size_t o = 0; o < K; ++o)
            for (std::size_t j = 0; j < k; ++j) {
              const std::size_t c = (a * K + o) * k + j;
              os << method << "," << csv_field(variants[a]) << "," << csv_field(runs.outcome_names[o]) << "," << csv_field(params[j])
                 << "," << index << "," << csv_num(v[c]) << "," << (lo ? csv_num((*lo)[c]) : "") << ","
                 << (hi ? csv_num((*hi)[c]) : "") << "," << n[a * K + o] << "\n";
            }
      };
      if (root.exists("sensitivity/sobol")) {
        auto g = root.open_group("sensitivity/sobol");
        const auto n = g.read<int64_t>("n");
        const auto S1 = g.read<double>("S1"), S1l = g.read<double>("S1_lo"), S1h = g.read<double>("S1_hi");
        const auto ST = g.read<double>("ST"), STl = g.read<double>("ST_lo"), STh = g.read<double>("ST_hi");
        emit("sobol", "S1", S1, &S1l, &S1h, n);
        emit("sobol", "ST", ST, &STl, &STh, n);
      }
      if (root.exists("sensitivity/morris")) {
        auto g = root.open_group("sensitivity/morris");
        const auto n = g.read<int64_t>("n");
        const auto ms = g.read<double>("mu_star"), msl = g.read<double>("mu_star_lo"), msh = g.read<double>("mu_star_hi");
        const auto mu = g.read<double>("mu"), sg = g.read<double>("sigma");
        emit("morris", "mu_star", ms, &msl, &msh, n);
        emit("morris", "mu", mu, nullptr, nullptr, n);
        emit("morris", "sigma", sg, nullptr, nullptr, n);
      }
      files.emplace_back("indices.csv", os.str());
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) {
      std::cerr << "talentsim export: cannot create the directory '" << dir << "'\n";
      return kRuntimeError;
    }
    if (!force)
      for (const auto& [name, body] : files)
        if (fs::exists(fs::path(dir) / name)) {
          std::cerr << "talentsim export: " << (fs::path(dir) / name).string() << " already exists (use --force to replace it)\n";
          return kInputError;
        }
    for (const auto& [name, body] : files) {
      const fs::path target = fs::path(dir) / name, tmp = fs::path(dir) / ("." + name + ".partial");
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << body;
        out.close();
        if (!out) {
          fs::remove(tmp, ec);
          std::cerr << "talentsim export: cannot write " << target.string() << "\n";
          return kRuntimeError;
        }
      }
      fs::rename(tmp, target, ec);
      if (ec) {
        fs::remove(tmp, ec);
        std::cerr << "talentsim export: cannot write " << target.string() << "\n";
        return kRuntimeError;
      }
      written.push_back(target.string());
    }
    std::cout << "wrote";
    for (const auto& w : written) std::cout << " " << w;
    std::cout << (status == "complete" ? "" : " (the sweep is " + status + ": its statistics are missing)") << "\n";
  } catch (const std::exception& e) {
    std::cerr << "talentsim export: " << in << ": " << e.what() << "\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace ts::cli
