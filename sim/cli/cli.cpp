#include "sim/cli/cli.hpp"

#include <hdf5.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "sim/cli/calibrate.hpp"
#include "sim/cli/experiment.hpp"
#include "sim/cli/summarize.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/output.hpp"
#include "sim/config/scenario.hpp"
#include "sim/model/simulation.hpp"
#include "sim/model/validation.hpp"
#include "talentsim_version.hpp"

namespace ts::cli {

namespace po = boost::program_options;

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

const char* kUsage = R"(talentsim — agent-based simulation of the global AI talent market

usage:
  talentsim run SCENARIO.yaml -o OUT.h5 [--threads N] [--seed S] [--steps T]
                [--set key.path=value]... [--force] [--check] [--quiet]
                [--checkpoint-every K [--checkpoint FILE]]
  talentsim resume CHECKPOINT [--threads N] [--checkpoint-every K] [--quiet]
  talentsim summarize OUT.h5
  talentsim validate SCENARIO.yaml [--set key.path=value]... [--threads N]
                                                             textbook check: table of theory vs simulated
  talentsim calibrate CALIBRATION.yaml [--threads N] [--set key.path=value]...
                [--max-evaluations N] [--replications R] [--evaluate] [--no-write]
                [--overlay FILE] [--report FILE] [--quiet]
                                                             fit free parameters to article targets (MODEL.md §6)
  talentsim sweep EXPERIMENT.yaml -o OUT.h5 [--jobs N] [--resume] [--set key=value]...
                                                             run an experiment (docs/experiments.md)
  talentsim compare BASE.yaml SCENARIO.yaml... -o OUT.h5 [--replications R] [--steps T]
                [--outcomes FILE] [--jobs N]                 scenarios against a base, paired by seed
  talentsim export OUT.h5 --csv DIR | --table               a sweep's tables as CSV, or its report
  talentsim config SCENARIO.yaml [--set key.path=value]...   print the resolved configuration
  talentsim keys                                             print every scenario key with its default
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

/// Parses args against `od`, with the first positional argument bound to option `positional`.
po::variables_map parse_args(const std::vector<std::string>& args, const po::options_description& od,
                             const char* positional) {
  po::positional_options_description pos;
  pos.add(positional, 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

/// Loads the scenario with its overrides, or prints every problem and returns nullopt.
std::optional<cfg::Scenario> load_or_report(const Common& c) {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(c.scenario, c.sets, d);
  if (!sc) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the scenario; nothing was run\n";
  }
  return sc;
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

/// Steps until `total`, checkpointing and honouring SIGINT/SIGTERM; finishes the file.
int step_loop(model::Simulation& sim, io::RunWriter& writer, int64_t total, const Checkpointing& ck, bool quiet, int threads) {
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
    std::cerr << "talentsim: run failed: " << e.what() << "\n";
    return kRuntimeError;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::cout << "wrote " << writer.final_path() << " (" << sim.t() << " steps, " << sim.world().r.size()
              << " researcher slots, " << sim.world().f.size() << " firms, " << threads << " threads, " << secs << " s)\n";
  return status == "complete" ? kOk : kInterrupted;
}

int cmd_run(const std::vector<std::string>& args, const std::string& cmdline) {
  Common c;
  std::string out;
  int64_t seed = -1, steps = -1;
  bool force = false, check = false;
  Checkpointing ck;
  po::options_description od("run options");
  od.add_options()("scenario", po::value(&c.scenario)->required(), "scenario YAML")(
      "output,o", po::value(&out)->required(), "output HDF5 file")("threads", po::value(&c.threads), "worker threads (default: all cores)")(
      "seed", po::value(&seed), "random seed (overrides run.seed)")("steps", po::value(&steps), "number of steps (overrides run.steps)")(
      "set", po::value(&c.sets)->composing(), "override a scenario key: key.path=value")(
      "force", po::bool_switch(&force), "overwrite OUT if it exists")(
      "check", po::bool_switch(&check), "check the model's invariants after every step (always on in debug builds)")(
      "checkpoint-every", po::value(&ck.every), "save the full state every K steps (to OUT.ckpt unless --checkpoint)")(
      "checkpoint", po::value(&ck.path), "checkpoint file")(
      "abort-after", po::value(&ck.abort_after), "testing aid: exit abruptly after this step")(
      "stop-after", po::value(&ck.stop_after), "testing aid: behave as if interrupted after this step")("quiet,q", po::bool_switch(&c.quiet), "no progress output");
  const auto vm = parse_args(args, od, "scenario");
  if (seed >= 0) c.sets.push_back("run.seed=" + std::to_string(seed));
  if (steps >= 0) c.sets.push_back("run.steps=" + std::to_string(steps));
  if (vm.count("threads") && c.threads < 1) {
    std::cerr << "talentsim: --threads must be at least 1\n";
    return kInputError;
  }

  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  const int threads = resolve_threads(c.threads);
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));

  model::Simulation sim(sc->params);
  if (check) sim.set_checking(true);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::unique_ptr<io::RunWriter> writer;
  try {
    writer = std::make_unique<io::RunWriter>(out, *sc, sim, io::RunInfo{threads, cmdline, force});
  } catch (const std::exception& e) {
    std::cerr << "talentsim: " << e.what() << "\n";
    return kRuntimeError;
  }
  if (ck.path.empty() && ck.every > 0) ck.path = out + ".ckpt";
  return step_loop(sim, *writer, sc->params.run.steps, ck, c.quiet, threads);
}

int cmd_resume(const std::vector<std::string>& args) {
  std::string path;
  int threads = 0;
  bool quiet = false, check = false;
  Checkpointing ck;
  po::options_description od("resume options");
  od.add_options()("checkpoint", po::value(&path)->required(), "checkpoint file")(
      "threads", po::value(&threads), "worker threads")("checkpoint-every", po::value(&ck.every), "save a checkpoint every K steps")(
      "check", po::bool_switch(&check), "check invariants after every step")("quiet,q", po::bool_switch(&quiet), "no progress output")(
      "abort-after", po::value(&ck.abort_after), "testing aid: exit abruptly after this step")(
      "stop-after", po::value(&ck.stop_after), "testing aid: behave as if interrupted after this step");
  parse_args(args, od, "checkpoint");
  threads = resolve_threads(threads);
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  io::Resumed res;
  try {
    res = io::CheckpointIO::load(path);
  } catch (const io::CheckpointError& e) {
    std::cerr << "talentsim resume: " << e.what() << "\n";
    return kInputError;
  }
  auto& sim = *res.sim;
  if (check) sim.set_checking(true);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::unique_ptr<io::RunWriter> writer;
  try {
    writer = std::make_unique<io::RunWriter>(res.output, res.output_temp, sim, res.event_rows,
                                             io::RunInfo{threads, "resume " + path, true});
  } catch (const std::exception& e) {
    std::cerr << "talentsim resume: " << e.what() << "\n";
    return kRuntimeError;
  }
  io::CheckpointIO::restore_writer(*writer, res);
  sim.set_observer(writer.get());
  ck.path = path;
  if (!quiet) std::cerr << "resuming " << res.output << " at step " << sim.t() << " of " << sim.params().run.steps << "\n";
  return step_loop(sim, *writer, sim.params().run.steps, ck, quiet, threads);
}

int cmd_validate(const std::vector<std::string>& args) {
  Common c;
  po::options_description od("validate options");
  od.add_options()("scenario", po::value(&c.scenario)->required(), "validation scenario YAML")(
      "set", po::value(&c.sets)->composing(), "override a scenario key")("threads", po::value(&c.threads), "worker threads");
  parse_args(args, od, "scenario");
  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  const int threads = resolve_threads(c.threads);
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
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
  return rep.pass() ? kOk : kRuntimeError;
}

int cmd_config(const std::vector<std::string>& args) {
  Common c;
  po::options_description od("config options");
  od.add_options()("scenario", po::value(&c.scenario)->required(), "scenario YAML")(
      "set", po::value(&c.sets)->composing(), "override a scenario key");
  parse_args(args, od, "scenario");
  auto sc = load_or_report(c);
  if (!sc) return kInputError;
  std::cout << cfg::to_yaml(model::dump_params(sc->params));
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  // Every HDF5 file is closed explicitly. HDF5's own atexit cleanup would retry closing a
  // file whose close already failed (a full disk) and crash in the library (HDF5 1.10).
  H5dont_atexit();
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
    if (cmd == "summarize") {
      if (args.size() != 1) {
        std::cerr << "usage: talentsim summarize OUT.h5\n";
        return kInputError;
      }
      return summarize(args[0], std::cout);
    }
    if (cmd == "config") return cmd_config(args);
    if (cmd == "resume") return cmd_resume(args);
    if (cmd == "calibrate") return calibrate_main(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "sweep") return sweep_main(args, cmdline);
    if (cmd == "compare") return compare_main(args, cmdline);
    if (cmd == "export") return export_main(args);
    if (cmd == "keys") {
      std::cout << model::describe_keys();
      return kOk;
    }
    std::cerr << "talentsim: unknown command '" << cmd << "'\n\n" << kUsage;
    return kInputError;
  } catch (const po::error& e) {
    std::cerr << "talentsim " << cmd << ": " << e.what() << "\n";
    return kInputError;
  } catch (const std::exception& e) {
    std::cerr << "talentsim: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace ts::cli
