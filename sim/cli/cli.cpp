#include "sim/cli/cli.hpp"

#include <hdf5.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "sim/cli/calibrate.hpp"
#include "sim/cli/experiment.hpp"
#include "sim/cli/report.hpp"
#include "sim/cli/summarize.hpp"
#include "sim/config/scenario.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/spin_up_cache.hpp"
#include "sim/io/h5.hpp"
#include "sim/io/output.hpp"
#include "sim/io/series.hpp"
#include "sim/model/simulation.hpp"
#include "sim/model/validation.hpp"
#include "talentsim_version.hpp"

namespace ts::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

void print_help(std::ostream& os, const Help& help, const po::options_description& options) {
  os << "usage: " << help.usage << "\n\n" << help.about << "\n\n" << options << "\nexample:\n" << help.example << "\n";
}

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

void print_error(const std::string& prefix, const std::exception& e, bool verbose) {
  std::cerr << prefix << e.what();
  if (const auto* h = dynamic_cast<const h5::Error*>(&e); h && !h->stack().empty()) {
    if (verbose) std::cerr << "\n" << h->stack();
    else std::cerr << " (--verbose shows HDF5's error stack)";
  }
  std::cerr << "\n";
}

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

const char* kUsage = R"(talentsim — agent-based simulation of the global AI talent market

usage:
  talentsim run SCENARIO.yaml -o OUT.h5 [--threads N] [--seed S] [--steps T]
                [--set key.path=value]... [--force] [--check] [--quiet] [--verbose]
                [--checkpoint-every K] [--checkpoint FILE] [--spin-up-cache DIR]
  talentsim resume CHECKPOINT [--threads N] [--checkpoint-every K] [--quiet] [--verbose]
  talentsim summarize OUT.h5 [--verbose]
  talentsim validate SCENARIO.yaml [--set key.path=value]... [--threads N] [--json FILE]
                                                             textbook check: table of theory vs simulated
  talentsim calibrate CALIBRATION.yaml [--threads N] [--set key.path=value]...
                [--max-evaluations N] [--replications R] [--evaluate] [--no-write]
                [--overlay FILE] [--report FILE] [--quiet]
                                                             fit free parameters to article targets (docs/calibration.md)
  talentsim sweep EXPERIMENT.yaml -o OUT.h5 [--jobs N] [--resume] [--set key=value]...
                                                             run an experiment (docs/experiments.md)
  talentsim compare BASE.yaml SCENARIO.yaml... -o OUT.h5 [--replications R] [--steps T]
                [--outcomes FILE] [--jobs N]                 scenarios against a base, paired by seed
  talentsim export OUT.h5 --csv DIR | --table               a sweep's tables as CSV, or its report
  talentsim merge OUT.h5 SHARD.h5...                         join the shards of a job array (sweep --shard i/N)
  mpirun -np N talentsim sweep ...                           a sweep over MPI ranks (docs/clusters.md)
  talentsim report INPUT... -o DIR [--force]                an HTML report with figures of runs, sweeps,
                                                             comparisons, validation, calibration, benchmarks
  talentsim config SCENARIO.yaml [--set key.path=value]...   print the resolved configuration
  talentsim keys [PATTERN]                                   print the scenario keys (containing PATTERN)
  talentsim layout [--json | --markdown]                     the run file's step datasets, for the layout document
  talentsim COMMAND --help                                   a command's options, defaults and an example
  talentsim --help | --version

exit codes: 0 success, 1 runtime failure, 2 bad input, 130 interrupted
)";

struct Common {
  std::string scenario;
  std::vector<std::string> sets;
  int threads = 0;
  bool quiet = false;
};

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

/// Parses args against `od` (plus `hidden`), with the first positional argument bound to
/// option `positional`. Returns nullopt after printing the help when it was asked for.
std::optional<po::variables_map> parse_args(const std::vector<std::string>& args, const po::options_description& od,
                                            const char* positional, const Help& help,
                                            const po::options_description* hidden = nullptr) {
  if (wants_help(args)) {
    print_help(std::cout, help, od);
    return std::nullopt;
  }
  po::options_description all;
  all.add(od);
  if (hidden) all.add(*hidden);
  po::positional_options_description pos;
  if (positional) pos.add(positional, 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

/// Worker threads TBB will actually use under the current global_control: the request caps
/// them, and so does what the machine (or the process's CPU affinity) offers.
int effective_threads() {
  return int(std::min<std::size_t>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism),
                                   std::size_t(std::max(1, tbb::this_task_arena::max_concurrency()))));
}

int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

/// Loads the scenario with its overrides, or prints every problem and returns nullopt.
/// Prints the loader's notes (dropped events, scaled counts) unless quiet.
std::optional<cfg::Scenario> load_or_report(const Common& c) {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(c.scenario, c.sets, d);
  if (!sc) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the scenario; nothing was run\n";
    return sc;
  }
  if (!c.quiet)
    for (const auto& n : sc->notes) std::cerr << "talentsim: note: " << n << "\n";
  return sc;
}

/// A problem with a path given on the command line, found before anything is computed.
struct PathProblem {
  int code = kOk;  ///< kInputError (the argument is wrong) or kRuntimeError (the file system says no)
  std::string message;
};

/// Checks that a file can be created at `path`: `what` names it in messages ("output file").
PathProblem check_new_file(const std::string& path, const std::string& what, bool force) {
  if (path.empty()) return {kInputError, what + ": an empty path was given"};
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec) || path.back() == '/')
    return {kInputError, what + " '" + path + "' is a directory; give a file name (e.g. '" +
                             (fs::path(path) / "run.h5").lexically_normal().string() + "')"};
  if (fs::exists(p, ec) && !force) return {kRuntimeError, what + " '" + path + "' already exists (use --force to overwrite it)"};
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::exists(dir, ec)) return {kRuntimeError, "the directory of the " + what + ", '" + dir.string() + "', does not exist"};
  if (!fs::is_directory(dir, ec)) return {kRuntimeError, "the directory of the " + what + ", '" + dir.string() + "', is not a directory"};
  if (access(dir.c_str(), W_OK) != 0) return {kRuntimeError, "the directory of the " + what + ", '" + dir.string() + "', is not writable"};
  return {};
}

class Progress {
 public:
  Progress(bool enabled, int64_t total) : on_(enabled && isatty(2)), total_(total), t0_(clock::now()) {}
  void update(int64_t done, const std::string& month) {
    if (!on_) return;
    const auto now = clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - t0_).count();
    const double rate = el > 0 ? double(done) / el : 0;
    const double eta = rate > 0 ? double(total_ - done) / rate : 0;
    std::fprintf(stderr, "\r  step %lld/%lld  %s  %.1f steps/s  ETA %.0fs   ", (long long)done, (long long)total_,
                 month.c_str(), rate, eta);
    if (done >= total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }
  void done() {
    if (on_) std::fprintf(stderr, "\n");
  }

 private:
  using clock = std::chrono::steady_clock;
  bool on_;
  int64_t total_;
  clock::time_point t0_, last_{};
};

struct Checkpointing {
  int64_t every = 0;        ///< save every K steps (0 = never)
  std::string path;         ///< where
  int64_t abort_after = -1; ///< testing aid: _exit after this step, as a crash would
  int64_t stop_after = -1;  ///< testing aid: act as if SIGINT arrived after this step
};

/// Steps until `total`, checkpointing and honouring SIGINT/SIGTERM; finishes the file. A failure
/// removes the partial file (after a write error it is damaged anyway: HDF5 records more than it
/// could write).
int step_loop(model::Simulation& sim, io::RunWriter& writer, int64_t total, const Checkpointing& ck, bool quiet,
              bool verbose, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  sim.set_observer(&writer);
  Progress prog(!quiet, total);
  std::string status = "complete";
  try {
    while (sim.t() < total) {
      sim.step();
      const int64_t done = sim.t();
      prog.update(done, model::format_month(sim.calendar_month(int(done - 1))));
      const bool stop = g_signal.load() != 0 || done - 1 == ck.stop_after;
      if (!ck.path.empty() && ((ck.every > 0 && done % ck.every == 0 && done < total) || (stop && done < total))) {
        writer.flush();
        io::CheckpointIO::save(ck.path, sim, writer);
      }
      if (done - 1 == ck.abort_after) std::_Exit(kRuntimeError);
      if (stop && done < total) {
        status = "interrupted";
        prog.done();
        std::cerr << "talentsim: interrupted after step " << done - 1 << "; the file is marked interrupted";
        if (!ck.path.empty()) std::cerr << "; continue with: talentsim resume " << ck.path;
        std::cerr << "\n";
        break;
      }
    }
    writer.finish(sim, status);
  } catch (const std::exception& e) {
    prog.done();
    writer.abandon();
    print_error("talentsim: run failed: ", e, verbose);
    return kRuntimeError;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::cout << "wrote " << writer.final_path() << " (" << sim.t() << " steps, " << sim.world().r.size()
              << " researcher slots, " << sim.world().f.size() << " firms, " << threads << " threads, " << secs << " s)\n";
  return status == "complete" ? kOk : kInterrupted;
}

const Help kRunHelp{
    "talentsim run SCENARIO.yaml -o OUT.h5 [options]",
    "Runs the scenario and writes one HDF5 file (docs/hdf5-layout.md). The file is written under a\n"
    "hidden temporary name next to OUT.h5 and renamed to OUT.h5 when the run ends; an existing OUT.h5\n"
    "(or one that appears while the run goes) is never replaced without --force. SIGINT or SIGTERM\n"
    "ends the run after the current step with the file marked interrupted (exit 130).",
    "  talentsim run scenarios/baseline.yaml -o out/baseline.h5\n"
    "  talentsim run scenarios/meta_raid.yaml -o out/raid.h5 --steps 24 --seed 7 --set population.researchers=100000"};

int cmd_run(const std::vector<std::string>& args, const std::string& cmdline) {
  Common c;
  std::string out;
  int64_t seed = 0, steps = 0;
  bool force = false, check = false, verbose = false;
  std::string spin_up_cache;
  Checkpointing ck;
  po::options_description od("options");
  od.add_options()("output,o", po::value(&out)->required()->value_name("OUT.h5"), "output HDF5 file (required)")(
      "threads", po::value(&c.threads)->value_name("N"), "worker threads (default: all cores)")(
      "seed", po::value(&seed)->value_name("S"), "random seed, same as --set run.seed=S (default: the scenario's)")(
      "steps", po::value(&steps)->value_name("T"),
      "number of steps, same as --set run.steps=T (default: the scenario's); events and snapshots after it are dropped "
      "with a note")("set", po::value(&c.sets)->composing()->value_name("key.path=value"),
                     "override a scenario key (repeatable; see `talentsim keys`)")(
      "force", po::bool_switch(&force), "replace OUT.h5 (and the checkpoint file) if they exist (default: refuse)")(
      "check", po::bool_switch(&check), "check the model's invariants after every step (default: off; on in debug builds)")(
      "checkpoint-every", po::value(&ck.every)->value_name("K"),
      "save the full state every K steps, and when interrupted (default: never)")(
      "checkpoint", po::value(&ck.path)->value_name("FILE"),
      "checkpoint file (default with --checkpoint-every: OUT.h5.ckpt); alone: saved only when interrupted")(
      "spin-up-cache", po::value(&spin_up_cache)->value_name("DIR"),
      "keep spin-ups in DIR: a run whose spin-up is there (same scenario before its start, seed and program) loads it "
      "instead of simulating it, with the same results; one that is not saves it (default: no cache)")(
      "quiet,q", po::bool_switch(&c.quiet), "no progress line, notes or summary line (default: shown on a terminal)")(
      "verbose,v", po::bool_switch(&verbose), "print HDF5's error stack with an HDF5 error")("help,h", "print this help");
  po::options_description hidden;
  hidden.add_options()("scenario", po::value(&c.scenario)->required(), "scenario YAML")(
      "abort-after", po::value(&ck.abort_after), "testing aid: exit abruptly after this step")(
      "stop-after", po::value(&ck.stop_after), "testing aid: behave as if interrupted after this step");
  const auto vm = parse_args(args, od, "scenario", kRunHelp, &hidden);
  if (!vm) return kOk;
  // --seed and --steps are --set shorthands: the schema checks their values (a negative seed or
  // step count is refused there, with the other problems).
  if (vm->count("seed")) c.sets.push_back("run.seed=" + std::to_string(seed));
  if (vm->count("steps")) c.sets.push_back("run.steps=" + std::to_string(steps));
  if (vm->count("threads") && c.threads < 1) {
    std::cerr << "talentsim: --threads must be at least 1\n";
    return kInputError;
  }
  if (vm->count("checkpoint-every") && ck.every < 1) {
    std::cerr << "talentsim: --checkpoint-every must be at least 1\n";
    return kInputError;
  }
  // The output and the checkpoint must be writable before anything is computed.
  if (ck.path.empty() && ck.every > 0) ck.path = out + ".ckpt";
  for (const auto& [path, what] : {std::pair{out, std::string("output file")}, {ck.path, std::string("checkpoint file")}}) {
    if (what == "checkpoint file" && !vm->count("checkpoint") && ck.every == 0) continue;
    if (const auto p = check_new_file(path, what, force); p.code != kOk) {
      std::cerr << "talentsim: " << p.message << "; nothing was run\n";
      return p.code;
    }
  }
  if (!ck.path.empty() && fs::absolute(ck.path).lexically_normal() == fs::absolute(out).lexically_normal()) {
    std::cerr << "talentsim: the checkpoint file and the output file are both '" << out << "'; nothing was run\n";
    return kInputError;
  }

  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(resolve_threads(c.threads)));
  const int threads = effective_threads();

  // The spin-up (run.spin_up months before step 0) shows its own progress line on a terminal.
  const bool show = !c.quiet && isatty(2);
  const model::Simulation::SpinUpProgress progress = [show](int64_t done, int64_t total) {
    if (!show) return;
    std::fprintf(stderr, "\r  spin-up %lld/%lld months   ", (long long)done, (long long)total);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
  std::unique_ptr<model::Simulation> started;
  if (spin_up_cache.empty()) {
    started = std::make_unique<model::Simulation>(sc->params, progress);
  } else {
    auto st = io::SpinUpCache(spin_up_cache).start(sc->tree, sc->params, progress);
    if (!c.quiet && !st.note.empty()) std::cerr << "talentsim: " << st.note << "\n";
    started = std::move(st.sim);
  }
  model::Simulation& sim = *started;
  if (check) sim.set_checking(true);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::unique_ptr<io::RunWriter> writer;
  try {
    writer = std::make_unique<io::RunWriter>(out, *sc, sim, io::RunInfo{threads, cmdline, force, true, ""});
  } catch (const std::exception& e) {
    print_error("talentsim: ", e, verbose);
    return kRuntimeError;
  }
  return step_loop(sim, *writer, sc->params.run.steps, ck, c.quiet, verbose, threads);
}

const Help kResumeHelp{
    "talentsim resume CHECKPOINT [options]",
    "Continues an interrupted or crashed run from its checkpoint (saved by run --checkpoint-every or\n"
    "--checkpoint) into the same output file; the result equals an uninterrupted run. The checkpoint\n"
    "names its output by absolute path and run id: a file of another run is refused (exit 2).",
    "  talentsim resume out/baseline.h5.ckpt --threads 2"};

int cmd_resume(const std::vector<std::string>& args) {
  std::string path;
  int threads = 0;
  bool quiet = false, check = false, verbose = false;
  Checkpointing ck;
  po::options_description od("options");
  od.add_options()("threads", po::value(&threads)->value_name("N"), "worker threads (default: all cores)")(
      "checkpoint-every", po::value(&ck.every)->value_name("K"),
      "save a checkpoint (to CHECKPOINT) every K steps, and when interrupted (default: only when interrupted)")(
      "check", po::bool_switch(&check), "check the model's invariants after every step (default: off)")(
      "quiet,q", po::bool_switch(&quiet), "no progress line or summary line (default: shown on a terminal)")(
      "verbose,v", po::bool_switch(&verbose), "print HDF5's error stack with an HDF5 error")("help,h", "print this help");
  po::options_description hidden;
  hidden.add_options()("checkpoint", po::value(&path)->required(), "checkpoint file")(
      "abort-after", po::value(&ck.abort_after), "testing aid: exit abruptly after this step")(
      "stop-after", po::value(&ck.stop_after), "testing aid: behave as if interrupted after this step");
  const auto vm = parse_args(args, od, "checkpoint", kResumeHelp, &hidden);
  if (!vm) return kOk;
  if (vm->count("threads") && threads < 1) {
    std::cerr << "talentsim resume: --threads must be at least 1\n";
    return kInputError;
  }
  if (vm->count("checkpoint-every") && ck.every < 1) {
    std::cerr << "talentsim resume: --checkpoint-every must be at least 1\n";
    return kInputError;
  }
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(resolve_threads(threads)));
  threads = effective_threads();
  io::Resumed res;
  try {
    res = io::CheckpointIO::load(path);
  } catch (const io::CheckpointError& e) {
    std::cerr << "talentsim resume: " << e.what() << "\n";
    return kInputError;
  }
  if (!res.key.empty()) {
    std::cerr << "talentsim resume: '" << path << "' holds a kept spin-up (--spin-up-cache), not a run's checkpoint: "
              << "there is no run to resume\n";
    return kInputError;
  }
  auto& sim = *res.sim;
  if (check) sim.set_checking(true);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::unique_ptr<io::RunWriter> writer;
  try {
    writer = std::make_unique<io::RunWriter>(res.output, res.output_temp, sim, res.event_rows,
                                             io::RunInfo{threads, "resume " + path, false, true, res.run_id});
  } catch (const io::RunMismatch& e) {
    std::cerr << "talentsim resume: " << e.what() << "\n";
    return kInputError;
  } catch (const std::exception& e) {
    print_error("talentsim resume: ", e, verbose);
    return kRuntimeError;
  }
  io::CheckpointIO::restore_writer(*writer, res);
  sim.set_observer(writer.get());
  ck.path = path;
  if (!quiet) std::cerr << "resuming " << res.output << " at step " << sim.t() << " of " << sim.params().run.steps << "\n";
  return step_loop(sim, *writer, sim.params().run.steps, ck, quiet, verbose, threads);
}

const Help kValidateHelp{
    "talentsim validate SCENARIO.yaml [options]",
    "Runs a scenario configured down to a textbook model (validation.kind) and prints quantity,\n"
    "theory, simulated value, tolerance and pass/fail for each check. Exit 1 if a check fails.\n"
    "--json FILE also writes the table and the distributions the checks compare (the simulated\n"
    "CDF against the closed form, or the regions' shares against the stationary distribution)\n"
    "for `talentsim report`.",
    "  talentsim validate scenarios/validation/burdett_mortensen.yaml --threads 2\n"
    "  talentsim validate scenarios/validation/burdett_mortensen.yaml --json out/bm.json\n"
    "  talentsim validate scenarios/validation/postel_vinay_robin.yaml --set firms[0].retention.rule=none"};

int cmd_validate(const std::vector<std::string>& args) {
  Common c;
  std::string json;
  bool force = false;
  po::options_description od("options");
  od.add_options()("set", po::value(&c.sets)->composing()->value_name("key.path=value"),
                   "override a scenario key (repeatable)")(
      "threads", po::value(&c.threads)->value_name("N"), "worker threads (default: all cores)")(
      "json", po::value(&json)->value_name("FILE"),
      "also write the checks and the distributions they compare as JSON to FILE (default: none)")(
      "force", po::bool_switch(&force), "replace FILE if it exists (default: refuse)")(
      "quiet,q", po::bool_switch(&c.quiet), "no notes (default: shown)")("help,h", "print this help");
  po::options_description hidden;
  hidden.add_options()("scenario", po::value(&c.scenario)->required(), "validation scenario YAML");
  const auto vm = parse_args(args, od, "scenario", kValidateHelp, &hidden);
  if (!vm) return kOk;
  if (vm->count("threads") && c.threads < 1) {
    std::cerr << "talentsim validate: --threads must be at least 1\n";
    return kInputError;
  }
  if (vm->count("json"))
    if (const auto p = check_new_file(json, "JSON file", force); p.code != kOk) {
      std::cerr << "talentsim validate: " << p.message << "; nothing was run\n";
      return p.code;
    }
  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(resolve_threads(c.threads)));
  model::ValidationReport rep;
  try {
    rep = model::run_validation(sc->params);
  } catch (const std::invalid_argument& e) {
    std::cerr << "talentsim validate: " << c.scenario << ": " << e.what() << "\n";
    return kInputError;
  }
  std::cout << "validation: " << rep.kind << " (" << c.scenario << "), " << rep.researchers << " researchers, "
            << rep.steps << " steps (burn-in " << sc->params.validation.burn_in << ", window "
            << sc->params.validation.window << "), seed " << sc->params.run.seed << ", " << rep.seconds << " s\n\n"
            << rep.table() << "\n" << (rep.pass() ? "PASS" : "FAIL") << "\n";
  if (!json.empty()) {
    std::string overrides;
    for (const auto& s : c.sets) overrides += (overrides.empty() ? "" : "\n") + s;
    const std::string err = write_file_atomically(
        json, rep.json({{"scenario", c.scenario}, {"overrides", overrides}, {"version", TALENTSIM_VERSION},
                        {"git_commit", TALENTSIM_GIT_COMMIT}}));
    if (!err.empty()) {
      std::cerr << "talentsim validate: " << err << "\n";
      return kRuntimeError;
    }
    if (!c.quiet) std::cerr << "wrote " << json << "\n";
  }
  return rep.pass() ? kOk : kRuntimeError;
}

const Help kConfigHelp{
    "talentsim config SCENARIO.yaml [--set key.path=value]...",
    "Prints the fully resolved configuration (defaults + extends + overrides, counts scaled with the\n"
    "population) as YAML: what `run` would use, and what the run file stores as resolved_config.",
    "  talentsim config scenarios/baseline.yaml --set population.researchers=1000000"};

int cmd_config(const std::vector<std::string>& args) {
  Common c;
  po::options_description od("options");
  od.add_options()("set", po::value(&c.sets)->composing()->value_name("key.path=value"),
                   "override a scenario key (repeatable)")("quiet,q", po::bool_switch(&c.quiet),
                                                          "no notes on stderr (default: shown)")("help,h",
                                                                                                  "print this help");
  po::options_description hidden;
  hidden.add_options()("scenario", po::value(&c.scenario)->required(), "scenario YAML");
  const auto vm = parse_args(args, od, "scenario", kConfigHelp, &hidden);
  if (!vm) return kOk;
  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  std::cout << cfg::to_yaml(model::dump_params(sc->params));
  return kOk;
}

const Help kSummarizeHelp{"talentsim summarize OUT.h5 [--verbose]",
                          "Prints the headline results of a run file: stocks by region and tier, pay, visa\n"
                          "outcomes, and the firms ranked by elite researchers.",
                          "  talentsim summarize out/baseline.h5"};

int cmd_summarize(const std::vector<std::string>& args) {
  std::string path;
  bool verbose = false;
  po::options_description od("options");
  od.add_options()("verbose,v", po::bool_switch(&verbose), "print HDF5's error stack with an HDF5 error")(
      "help,h", "print this help");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&path), "run file");
  const auto vm = parse_args(args, od, "file", kSummarizeHelp, &hidden);
  if (!vm) return kOk;
  if (!vm->count("file")) {
    std::cerr << "usage: " << kSummarizeHelp.usage << "\n";
    return kInputError;
  }
  return summarize(path, std::cout, verbose);
}

const Help kKeysHelp{"talentsim keys [PATTERN]",
                     "Prints every scenario key (or those whose path contains PATTERN, any case) as a Markdown\n"
                     "table: type, default (**required** for keys a scenario must give), allowed values, meaning.\n"
                     "docs/keys.md is this table.",
                     "  talentsim keys\n  talentsim keys visa"};

int cmd_keys(const std::vector<std::string>& args) {
  std::string pattern;
  po::options_description od("options");
  od.add_options()("help,h", "print this help");
  po::options_description hidden;
  hidden.add_options()("pattern", po::value(&pattern), "filter");
  const auto vm = parse_args(args, od, "pattern", kKeysHelp, &hidden);
  if (!vm) return kOk;
  const std::string table = model::describe_keys(pattern);
  if (table.empty()) {
    std::cerr << "talentsim keys: no scenario key contains " << cfg::quoted(pattern) << "\n";
    return kInputError;
  }
  std::cout << table;
  return kOk;
}

const Help kLayoutHelp{"talentsim layout [--json | --markdown]",
                       "Prints the layout document's entries for the datasets a run appends every step (/series\n"
                       "and /events), from their declarations (sim/io/series.cpp): JSON object members for\n"
                       "docs/hdf5-layout.json (default) or the Markdown tables of docs/hdf5-layout.md.\n"
                       "scripts/update-docs.sh puts them into the documents.",
                       "  talentsim layout --json\n  talentsim layout --markdown"};

int cmd_layout(const std::vector<std::string>& args) {
  bool json = false, markdown = false;
  po::options_description od("options");
  od.add_options()("json", po::bool_switch(&json), "JSON object members (the default)")(
      "markdown", po::bool_switch(&markdown), "Markdown tables")("help,h", "print this help");
  const auto vm = parse_args(args, od, nullptr, kLayoutHelp);
  if (!vm) return kOk;
  if (json && markdown) {
    std::cerr << "talentsim layout: --json or --markdown, not both\n";
    return kInputError;
  }
  std::cout << (markdown ? io::step_datasets_layout_markdown() : io::step_datasets_layout_json());
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  // Every HDF5 file is closed explicitly. HDF5's own atexit cleanup would retry closing a
  // file whose close already failed (a full disk) and crash in the library (HDF5 1.10).
  H5dont_atexit();
  // Every argument may end up in a UTF-8 string of the run file (the command line, paths, --set).
  for (int i = 1; i < argc; ++i)
    if (!cfg::valid_utf8(argv[i])) {
      std::cerr << "talentsim: argument " << i << " (" << cfg::quoted(argv[i]) << ") is not valid UTF-8 text\n";
      return kInputError;
    }
  const std::string cmdline = join_args(argc, argv);
  if (argc < 2) {
    std::cerr << kUsage;
    return kInputError;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::cout << kUsage;
      return kOk;
    }
    if (cmd == "--version" || cmd == "version") {
      std::cout << "talentsim " << TALENTSIM_VERSION << " (commit " << TALENTSIM_GIT_COMMIT << ")\n";
      return kOk;
    }
    if (cmd == "run") return cmd_run(args, cmdline);
    if (cmd == "summarize") return cmd_summarize(args);
    if (cmd == "config") return cmd_config(args);
    if (cmd == "resume") return cmd_resume(args);
    if (cmd == "calibrate") return calibrate_main(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "sweep") return sweep_main(args, cmdline);
    if (cmd == "compare") return compare_main(args, cmdline);
    if (cmd == "export") return export_main(args);
    if (cmd == "merge") return merge_main(args, cmdline);
    if (cmd == "report") return report_main(args);
    if (cmd == "keys") return cmd_keys(args);
    if (cmd == "layout") return cmd_layout(args);
    std::cerr << "talentsim: unknown command " << cfg::quoted(cmd) << "\n\n" << kUsage;
    return kInputError;
  } catch (const po::error& e) {
    std::cerr << "talentsim " << cmd << ": " << e.what() << " (talentsim " << cmd << " --help lists the options)\n";
    return kInputError;
  } catch (const std::exception& e) {
    print_error("talentsim: ", e, false);
    return kRuntimeError;
  }
}

}  // namespace ts::cli
