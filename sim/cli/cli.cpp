#include "sim/cli/cli.hpp"

#include <tbb/global_control.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "sim/cli/summarize.hpp"
#include "sim/io/output.hpp"
#include "sim/io/scenario.hpp"
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
  talentsim summarize OUT.h5
  talentsim validate SCENARIO.yaml [--set key.path=value]... [--threads N]
                                                             textbook check: table of theory vs simulated
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

int cmd_run(const std::vector<std::string>& args, const std::string& cmdline) {
  Common c;
  std::string out;
  int64_t seed = -1, steps = -1;
  bool force = false, check = false;
  po::options_description od("run options");
  od.add_options()("scenario", po::value(&c.scenario)->required(), "scenario YAML")(
      "output,o", po::value(&out)->required(), "output HDF5 file")("threads", po::value(&c.threads), "worker threads (default: all cores)")(
      "seed", po::value(&seed), "random seed (overrides run.seed)")("steps", po::value(&steps), "number of steps (overrides run.steps)")(
      "set", po::value(&c.sets)->composing(), "override a scenario key: key.path=value")(
      "force", po::bool_switch(&force), "overwrite OUT if it exists")(
      "check", po::bool_switch(&check), "check the model's invariants after every step (always on in debug builds)")("quiet,q", po::bool_switch(&c.quiet), "no progress output");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  if (seed >= 0) c.sets.push_back("run.seed=" + std::to_string(seed));
  if (steps >= 0) c.sets.push_back("run.steps=" + std::to_string(steps));
  if (vm.count("threads") && c.threads < 1) {
    std::cerr << "talentsim: --threads must be at least 1\n";
    return kInputError;
  }

  cfg::Diagnostics d;
  auto sc = io::load_scenario(c.scenario, c.sets, d);
  if (!sc) {
    std::cerr << d.format();
    std::cerr << "talentsim: " << d.size() << " problem" << (d.size() == 1 ? "" : "s") << " in the scenario; nothing was run\n";
    return kInputError;
  }
  const int threads = c.threads > 0 ? c.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));

  const auto t0 = std::chrono::steady_clock::now();
  model::Simulation sim(sc->params);
  if (check) sim.set_checking(true);
  std::unique_ptr<io::RunWriter> writer;
  try {
    writer = std::make_unique<io::RunWriter>(out, *sc, sim, io::RunInfo{threads, cmdline, force});
  } catch (const std::exception& e) {
    std::cerr << "talentsim: " << e.what() << "\n";
    return kRuntimeError;
  }
  sim.set_observer(writer.get());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const int64_t T = sc->params.run.steps;
  Progress prog(!c.quiet, T);
  std::string status = "complete";
  try {
    for (int64_t t = 0; t < T; ++t) {
      sim.step();
      prog.update(t + 1, model::format_month(sim.calendar_month(int(t))));
      if (g_signal.load()) {
        status = "interrupted";
        prog.done();
        std::cerr << "talentsim: interrupted by signal " << g_signal.load() << " after step " << t << "; writing what was done\n";
        break;
      }
    }
    writer->finish(sim, status);
  } catch (const std::exception& e) {
    prog.done();
    writer->abandon();
    std::cerr << "talentsim: run failed: " << e.what() << "\n";
    return kRuntimeError;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!c.quiet) {
    std::cout << "wrote " << out << " (" << sim.t() << " steps, " << sim.world().r.size() << " researcher slots, "
              << sim.world().f.size() << " firms, " << threads << " threads, " << secs << " s)\n";
  }
  return status == "complete" ? kOk : kInterrupted;
}

int cmd_validate(const std::vector<std::string>& args) {
  Common c;
  po::options_description od("validate options");
  od.add_options()("scenario", po::value(&c.scenario)->required(), "validation scenario YAML")(
      "set", po::value(&c.sets)->composing(), "override a scenario key")("threads", po::value(&c.threads), "worker threads");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  cfg::Diagnostics d;
  auto sc = io::load_scenario(c.scenario, c.sets, d);
  if (!sc) {
    std::cerr << d.format();
    return kInputError;
  }
  const int threads = c.threads > 0 ? c.threads : int(std::max(1u, std::thread::hardware_concurrency()));
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
  po::positional_options_description pos;
  pos.add("scenario", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  cfg::Diagnostics d;
  auto sc = io::load_scenario(c.scenario, c.sets, d);
  if (!sc) {
    std::cerr << d.format();
    return kInputError;
  }
  std::cout << cfg::to_yaml(model::dump_params(sc->params));
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
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
    if (cmd == "validate") return cmd_validate(args);
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
