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
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "sim/cli/cli.hpp"
#include "sim/cli/sweep_report.hpp"
#include "sim/config/schema.hpp"
#include "sim/experiment/design.hpp"
#include "sim/experiment/plan.hpp"
#include "sim/experiment/scenario_evaluator.hpp"
#include "sim/experiment/shard.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/io/h5.hpp"
#ifdef TALENTSIM_HAVE_MPI
#include "sim/experiment/mpi_sweep.hpp"
#endif

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
  --threads T             threads in all (default: all cores); results do not depend on N or T.
                          Under mpirun: the threads of each worker rank (default: its share of
                          the cores mpirun gave it)
  --shard i/N             job arrays: run only shard i of N (0 <= i < N: the runs r with r mod N = i)
                          into OUT.shard-i-of-N.h5; `talentsim merge OUT.h5 SHARD...` joins them
  --set key=value         override a top-level key of the experiment (replications=2, steps=12, seed=7, ...)
  --resume                continue an interrupted or killed sweep of OUT.h5: run only what is missing
  --retry-failed          with --resume: run the failed runs again too
  --force                 start over: replace OUT.h5, an unfinished sweep of it and its run files
  --spin-up-cache DIR     keep spin-ups in DIR across processes (shards, ranks, later sweeps and
                          `talentsim run --spin-up-cache`): a run whose spin-up is there loads it,
                          with the same results (runs in one process share theirs anyway)
  --dry-run               check everything, print the plan (stderr) and the design (CSV, stdout), run nothing
  -q, --quiet             no progress line and no report
  --help                  this text

exit codes: 0 every run done, 1 some runs failed (listed) or a runtime error, 2 bad input
(nothing runs), 130 interrupted (continue with --resume)

On a cluster (docs/clusters.md): `mpirun -np N talentsim sweep ...` makes rank 0 the manager (it
writes OUT.h5) and the other ranks workers that run one run at a time each; the file is the same
as a single process's.
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
  --jobs N, --threads T, --shard i/N, --resume, --retry-failed, --force, --spin-up-cache DIR,
  -q/--quiet              as for `talentsim sweep` (also under mpirun)
  --help                  this text
)TXT";

const char* kMergeHelp = R"TXT(usage: talentsim merge OUT.h5 SHARD.h5... [--force] [-q]

Joins the shard files of a job array (`talentsim sweep EXPERIMENT.yaml -o OUT.h5 --shard i/N`
writes OUT.shard-i-of-N.h5) into OUT.h5: the same file a single-process sweep of the experiment
writes, with its statistics (docs/clusters.md). Every shard 0 … N−1 must be given once and be
complete; a missing, duplicated, unfinished or foreign shard is reported and nothing is written.
The experiment is read from the shards (its scenario files need not be here), but the talentsim
build must be the one that ran them.

options:
  --force                 replace an existing OUT.h5
  -q, --quiet             no report
  --help                  this text

exit codes: 0 merged, 1 merged with failed runs (listed; rerun them in their shard with --resume
--retry-failed and merge again) or a write error, 2 bad input (nothing written)
)TXT";

const char* kDefaultOutcomes = R"TXT(outcomes:
  us_top_share: {metric: share, location: US, tier: [top, elite], label: "US share of top tier at end (pp)", scale: 100, digits: 2}
  net_us_cn_top: {metric: net_flow, from: US, to: CN, tier: [top, elite], label: "net top-tier moves US→CN", digits: 0}
  us_cn_hc_ratio: {metric: output_ratio, numerator: US, denominator: CN, highly_cited: true, label: "US/CN highly cited output", digits: 4}
  us_top_pay: {metric: pay_percentile, location: US, tier: [top, elite], percentile: 50, label: "median top-tier pay in US ($k)", scale: 0.001, digits: 1}
)TXT";

struct RunOptions {
  std::string out, shard, spin_up_cache;
  int jobs = 1, threads = 0;
  bool resume = false, retry_failed = false, force = false, dry_run = false, quiet = false;
  std::vector<int64_t> fail_runs;  ///< testing aid
  bool jobs_given = false, threads_given = false;
};

void add_run_options(po::options_description& od, RunOptions& o) {
  od.add_options()("output,o", po::value(&o.out), "output file")("jobs", po::value(&o.jobs), "runs at once")(
      "threads", po::value(&o.threads), "threads in all")("resume", po::bool_switch(&o.resume), "continue")(
      "retry-failed", po::bool_switch(&o.retry_failed), "rerun failed runs")("shard", po::value(&o.shard), "i/N")(
      "force", po::bool_switch(&o.force), "start over")("spin-up-cache", po::value(&o.spin_up_cache), "DIR")(
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

// ------------------------------------------------------------------ running

int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    return 0;
  }
}

/// The number of processes an MPI launcher started (mpirun / mpiexec, or srun --mpi=pmix|pmi2), from
/// the environment it gives them; 0 when this process was not started by one.
int launcher_size() {
  if (int n = env_int("OMPI_COMM_WORLD_SIZE")) return n;
  if (int n = env_int("PMI_SIZE")) return n;
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK")) return std::max(1, env_int("SLURM_STEP_NUM_TASKS"));
  return 0;
}

#ifdef TALENTSIM_HAVE_MPI
/// This process's part in an MPI job of several ranks (sweep_main / compare_main set it); null otherwise.
mpi::Session* g_mpi = nullptr;
#endif

bool distributed() {
#ifdef TALENTSIM_HAVE_MPI
  return g_mpi != nullptr;
#else
  return false;
#endif
}

/// Runs a command's `body`: alone, or under an MPI launcher as one of its ranks (rank 0 reports,
/// the workers' output is kept for rank 0 should their checks fail).
int with_ranks(const char* cmd, const std::function<int()>& body) {
  const int launched = launcher_size();
#ifdef TALENTSIM_HAVE_MPI
  if (launched > 0) {
    mpi::Session session;
    if (session.size() < 2) return body();  // one rank: a single-process sweep
    g_mpi = &session;
    int code = 0;
    std::string captured;
    if (session.manager()) {
      try {
        code = body();
      } catch (...) {  // main() reports it; the workers are stopped first
        session.conclude(kRuntimeError, "", g_stop);
        g_mpi = nullptr;
        throw;
      }
    } else {  // a worker's output goes to rank 0 if its checks fail, else nowhere
      std::ostringstream out;
      auto* err_buf = std::cerr.rdbuf(out.rdbuf());
      auto* out_buf = std::cout.rdbuf(out.rdbuf());
      std::string error;
      try {
        code = body();
      } catch (const std::exception& e) {
        error = std::string("talentsim ") + cmd + ": " + e.what() + "\n";
        code = kRuntimeError;
      }
      std::cerr.rdbuf(err_buf);
      std::cout.rdbuf(out_buf);
      captured = out.str() + error;
      if (!error.empty() && session.reported()) std::cerr << "rank " << session.rank() << ": " << error;  // else rank 0 prints it
    }
    code = session.conclude(code, captured, g_stop);
    g_mpi = nullptr;
    return code;
  }
#else
  if (launched > 1) {
    std::cerr << "talentsim " << cmd << ": started by an MPI launcher with " << launched
              << " processes, but this talentsim was built without MPI (every process would run the whole sweep): "
                 "build it with libopenmpi-dev installed (cmake -DTALENTSIM_MPI=ON), or run a job array of single "
                 "processes with --shard i/N (docs/clusters.md)\n";
    return kInputError;
  }
#endif
  (void)cmd;
  return body();
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
  const bool dist = distributed();
  if (dist && o.jobs_given && o.jobs != 1) {
    std::cerr << "talentsim " << cmd << ": --jobs " << o.jobs
              << ": under mpirun every worker rank runs one run at a time: start more ranks instead (docs/clusters.md)\n";
    return kInputError;
  }
  Shard shard;
  if (!o.shard.empty()) {
    std::string why;
    auto sh = parse_shard(o.shard, why);
    if (!sh) {
      std::cerr << "talentsim " << cmd << ": " << why << "\n";
      return kInputError;
    }
    shard = *sh;
  }
  if (!dist && o.shard.empty() && env_int("SLURM_STEP_NUM_TASKS") > 1 && launcher_size() == 0) {
    std::cerr << "talentsim " << cmd << ": srun started " << env_int("SLURM_STEP_NUM_TASKS")
              << " tasks without MPI, and each would run the whole sweep: use `srun --mpi=pmix` (or mpirun), or give each "
                 "task its share with --shard $SLURM_PROCID/$SLURM_NTASKS (docs/clusters.md)\n";
    return kInputError;
  }
  int threads = resolve_threads(o.threads);
#ifdef TALENTSIM_HAVE_MPI
  if (dist) {
    threads = o.threads_given ? o.threads : g_mpi->fair_threads();
    if (!g_mpi->manager() && o.threads_given && o.threads > g_mpi->fair_threads()) {
      std::cerr << "--threads " << o.threads << " is more than this worker's share of its cores: " << g_mpi->local_workers()
                << " worker rank" << (g_mpi->local_workers() == 1 ? "" : "s") << " share the cores mpirun gave them here, "
                << g_mpi->fair_threads() << " thread" << (g_mpi->fair_threads() == 1 ? "" : "s")
                << " each; bind each rank to its own cores (mpirun --map-by slot:PE=" << o.threads
                << " --bind-to core) or start fewer ranks per node (docs/clusters.md)\n";
      return kInputError;
    }
  }
#endif
  if (!dist && o.jobs > threads) {
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
  const int per_job = dist ? threads : threads / o.jobs;
  Design design;
  try {
    design = make_design(spec.parameters, spec.design);
  } catch (const std::exception& e) {
    std::cerr << "talentsim " << cmd << ": " << e.what() << "\n";
    return kInputError;
  }
  cfg::Diagnostics d;
  // Memory: every run at once on this machine (under MPI, the worker ranks of this node).
  int at_once = o.jobs;
#ifdef TALENTSIM_HAVE_MPI
  if (dist) at_once = std::max(1, g_mpi->local_workers());
#endif
  auto ev = ScenarioEvaluator::create(spec, design, at_once, d);
  if (ev && !o.spin_up_cache.empty()) ev->set_spin_up_cache(o.spin_up_cache);
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
  info.shard = shard;
  info.command_line = command_line;
  if (spec.keep != Keep::Outcomes) {
    if (!spec.runs_dir.empty()) {
      info.runs_dir = resolve_beside(o.out, spec.runs_dir);  // runs_dir is relative to the sweep file
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
                              " (experiment seed " + std::to_string(spec.seed) + "), keep " + to_string(spec.keep) +
                              (shard.sharded() ? "; shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) +
                                                     ": " + std::to_string(shard.share(plan.size())) + " runs (r mod " +
                                                     std::to_string(shard.count) + " = " + std::to_string(shard.index) + ")"
                                               : std::string());
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
  // Files written by runs beside this thread's writes to the sweep file need a thread-safe HDF5.
  hbool_t safe = 0;
  const bool threadsafe = H5is_library_threadsafe(&safe) >= 0 && safe;
  if (!threadsafe && info.runs_dir.size() && o.jobs > 1 && !dist) {
    std::cerr << "talentsim " << cmd << ": this HDF5 library is not thread-safe, so runs that write files (keep: "
              << to_string(spec.keep) << ") cannot run " << o.jobs << " at a time: use --jobs 1\n";
    return kInputError;
  }
  if (!threadsafe && !o.spin_up_cache.empty()) {  // runs read and write spin-ups while this thread writes the sweep file
    std::cerr << "talentsim " << cmd << ": this HDF5 library is not thread-safe, so a sweep cannot keep its spin-ups in "
              << "files: leave out --spin-up-cache\n";
    return kInputError;
  }
  ev->set_run_files(info.runs_dir, [&info](int64_t id) { return info.run_file(id); }, command_line);
  std::unique_ptr<Evaluator> failing;
  Evaluator* evaluator = ev.get();
  if (!o.fail_runs.empty()) {
    failing = std::make_unique<FailSome>(*ev, std::set<int64_t>(o.fail_runs.begin(), o.fail_runs.end()));
    evaluator = failing.get();
  }
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  SweepOptions so;
  so.command = cmd;
  so.out = shard.sharded() ? shard_path(o.out, shard) : o.out;
  so.jobs = o.jobs;
  so.threads_per_job = per_job;
  so.resume = o.resume;
  so.retry_failed = o.retry_failed;
  so.force = o.force;
  so.progress = !o.quiet && isatty(2);
  g_stop = false;
  auto old_int = std::signal(SIGINT, on_stop_signal);
  auto old_term = std::signal(SIGTERM, on_stop_signal);
  struct Restore {
    void (*i)(int), (*t)(int);
    ~Restore() {
      std::signal(SIGINT, i);
      std::signal(SIGTERM, t);
    }
  } restore{old_int, old_term};
  std::string how = std::to_string(o.jobs) + " job" + (o.jobs == 1 ? "" : "s") + " × " + std::to_string(per_job) + " thread" +
                    (per_job == 1 ? "" : "s");
  std::unique_ptr<Executor> executor;
#ifdef TALENTSIM_HAVE_MPI
  std::unique_ptr<mpi::MpiExecutor> mpi_executor;
  if (dist) {
    if (!g_mpi->manager()) {  // a worker: run what rank 0 hands out until it says stop
      g_mpi->ready(true, 0, threads, info.fingerprint(), "");
      return g_mpi->serve(info.plan, *evaluator, threads, g_stop);
    }
    int code = 0;
    const std::string problems = g_mpi->gather(info.fingerprint(), g_stop, code);
    if (!problems.empty()) {
      std::istringstream lines(problems);
      for (std::string line; std::getline(lines, line);) std::cerr << "talentsim " << cmd << ": " << line << "\n";
      std::cerr << "talentsim " << cmd << ": nothing was run\n";
      return code;
    }
    int lo = 0, hi = 0;
    std::set<std::string> notes;
    for (int r = 1; r < g_mpi->size(); ++r) {
      const auto& w = g_mpi->worker_info()[std::size_t(r)];
      lo = r == 1 ? w.threads : std::min(lo, w.threads);
      hi = std::max(hi, w.threads);
      if (!w.note.empty()) notes.insert(w.host + ": " + w.note);
    }
    info.jobs = g_mpi->workers();
    info.threads_per_job = lo;
    info.mpi_ranks = g_mpi->size();
    how = "MPI: " + std::to_string(g_mpi->size()) + " ranks, rank 0 the manager, " + std::to_string(g_mpi->workers()) +
          " worker" + (g_mpi->workers() == 1 ? "" : "s") + " × " + std::to_string(lo) + (hi > lo ? "–" + std::to_string(hi) : "") +
          " thread" + (hi == 1 ? "" : "s");
    if (!o.quiet)
      for (const auto& n : notes) std::cerr << "note: " << n << "\n";
    mpi_executor = std::make_unique<mpi::MpiExecutor>(*g_mpi);
  }
#endif
  if (!dist) executor = std::make_unique<LocalExecutor>(o.jobs, per_job);
  if (!o.quiet) {
    std::cerr << cmd << ": " << spec.path << ": " << summary << "; " << how << "\n";
    for (const auto& n : info.notes) std::cerr << "note: " << n << "\n";
  }
  Executor* ex = executor.get();
#ifdef TALENTSIM_HAVE_MPI
  if (mpi_executor) ex = mpi_executor.get();
#endif
  const SweepResult r = run_sweep(info, *evaluator, *ex, so, g_stop, std::cerr);
#ifdef TALENTSIM_HAVE_MPI
  if (mpi_executor && !o.quiet && mpi_executor->stats().results > 0) {
    const auto& st = mpi_executor->stats();
    char b[256];
    std::snprintf(b, sizeof b,
                  "mpi: %lld results; the manager spent %.3f ms per run (receive, journal, file, next run), a worker "
                  "waited %.3f ms per run for its next run\n",
                  (long long)st.results, 1e3 * st.busy_seconds / double(st.results),
                  st.waits > 0 ? 1e3 * st.worker_wait_seconds / double(st.waits) : 0.0);
    std::cerr << b;
  }
#endif
  if (r.exit_code == kInputError) return kInputError;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", r.seconds);
  if (r.pending > 0) {  // interrupted, or stopped by an error (the message is above)
    std::cerr << "talentsim " << cmd << ": " << (r.exit_code == kInterrupted ? "interrupted" : "stopped") << ": " << r.done
              << " runs done, " << r.failed << " failed, " << r.pending << " pending; " << so.out
              << " is marked interrupted. Continue with the same command and --resume\n";
    return r.exit_code;
  }
  if (shard.sharded()) {
    fs::path all(o.out);  // the shell pattern of every shard's file
    all.replace_filename(all.stem().string() + ".shard-*-of-" + std::to_string(shard.count) + all.extension().string());
    if (!o.quiet)
      std::cout << "wrote " << so.out << ": shard " << shard.index << " of " << shard.count << ", " << r.done + r.failed
                << " runs (" << r.done << " done, " << r.failed << " failed; " << r.ran << " run now in " << secs
                << " s). When all " << shard.count << " shards are complete: talentsim merge " << o.out << " "
                << all.string() << "\n";
    if (!r.failures.empty())
      std::cerr << "talentsim " << cmd << ": " << r.failures.size() << " run" << (r.failures.size() == 1 ? "" : "s")
                << " failed (their rows in " << so.out << " hold the errors; --resume --retry-failed with this --shard runs them again)\n";
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

namespace {

int sweep_command(const std::vector<std::string>& args, const std::string& command_line) {
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

int compare_command(const std::vector<std::string>& args, const std::string& command_line) {
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

}  // namespace

int sweep_main(const std::vector<std::string>& args, const std::string& command_line) {
  return with_ranks("sweep", [&] { return sweep_command(args, command_line); });
}

int compare_main(const std::vector<std::string>& args, const std::string& command_line) {
  return with_ranks("compare", [&] { return compare_command(args, command_line); });
}

int merge_main(const std::vector<std::string>& args, const std::string& command_line) {
  std::vector<std::string> files;
  bool force = false, quiet = false;
  po::options_description od("merge options");
  od.add_options()("files", po::value(&files)->composing(), "OUT.h5 and the shards")("force", po::bool_switch(&force), "replace")(
      "quiet,q", po::bool_switch(&quiet), "no report")("help,h", "help");
  po::positional_options_description pos;
  pos.add("files", -1);
  po::variables_map vm;
  try {
    vm = parse(args, od, pos);
  } catch (const po::error& e) {
    std::cerr << "talentsim merge: " << e.what() << "\n\n" << kMergeHelp;
    return kInputError;
  }
  if (vm.count("help")) {
    std::cout << kMergeHelp;
    return kOk;
  }
  if (files.size() < 2) {
    std::cerr << "talentsim merge: needs the output file and the shard files\n\n" << kMergeHelp;
    return kInputError;
  }
  if (launcher_size() > 1) {
    std::cerr << "talentsim merge: run it as one process, not under mpirun or srun with several tasks\n";
    return kInputError;
  }
  const std::string out = files.front();
  const std::vector<std::string> shards(files.begin() + 1, files.end());
  for (const auto& sh : shards)
    if (fs::exists(out) && fs::exists(sh) && fs::equivalent(out, sh)) {
      std::cerr << "talentsim merge: the output " << out << " is one of the shards: name the merged file first\n";
      return kInputError;
    }
  MergeResult m = merge_shards(out, shards, force, command_line, std::cerr);
  if (m.exit_code == kInputError || !m.spec) return m.exit_code;
  if (!quiet) {
    std::cout << "wrote " << out << ": " << m.done + m.failed << " runs from " << shards.size() << " shards (" << m.done
              << " done, " << m.failed << " failed)\n";
    print_report(std::cout, report_of(*m.spec, *m.design, m.info.plan, m.info.variant_names, m.analysis));
  }
  if (!m.failures.empty()) {
    std::cerr << "talentsim merge: " << m.failures.size() << " run" << (m.failures.size() == 1 ? "" : "s")
              << " failed (rerun them in their shard with --resume --retry-failed, then merge again):\n";
    for (std::size_t i = 0; i < m.failures.size() && i < 20; ++i) {
      const RunSpec rs = m.info.plan.run(m.failures[i].id);
      std::cerr << "  run " << rs.id << " (shard " << rs.id % m.info.merged_shards << ", point " << rs.point << ", replication "
                << rs.replication << ", variant " << m.info.variant_names[std::size_t(rs.variant)] << "): " << m.failures[i].error
                << "\n";
    }
    if (m.failures.size() > 20) std::cerr << "  … and " << m.failures.size() - 20 << " more\n";
  }
  return m.exit_code;
}

}  // namespace ts::cli
