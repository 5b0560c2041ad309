#include "sim/cli/calibrate.hpp"

#include <tbb/global_control.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "sim/cli/cli.hpp"
#include "sim/config/scenario.hpp"
#include "sim/model/calibration.hpp"

namespace ts::cli {

namespace po = boost::program_options;
namespace calib = model::calib;

namespace {

bool write_text(const std::string& path, const std::string& text) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "talentsim calibrate: cannot write " << path << "\n";
    return false;
  }
  return true;
}

}  // namespace

int calibrate_main(const std::vector<std::string>& args) {
  std::string file, overlay, report;
  std::vector<std::string> sets;
  int threads = 0;
  int64_t max_evals = -1, reps = -1;
  bool evaluate = false, no_write = false, quiet = false;
  po::options_description od("options");
  od.add_options()("threads", po::value(&threads)->value_name("N"), "worker threads (default: all cores)")(
      "set", po::value(&sets)->composing()->value_name("key.path=value"),
      "extra fit-only override of a scenario key (of a fitted key: its start value); repeatable")(
      "max-evaluations", po::value(&max_evals)->value_name("N"),
      "evaluation budget (default: the file's optimizer.max_evaluations)")(
      "replications", po::value(&reps)->value_name("R"), "replications per evaluation (default: the file's replications)")(
      "evaluate", po::bool_switch(&evaluate), "only simulate the targets at the start values (with the pilot for W); write nothing")(
      "no-write", po::bool_switch(&no_write), "fit, but do not write the overlay and the report")(
      "overlay", po::value(&overlay)->value_name("FILE"), "overlay file (default: the file's output.overlay)")(
      "report", po::value(&report)->value_name("FILE"), "report file (default: the file's output.report)")(
      "quiet,q", po::bool_switch(&quiet), "no progress lines (default: one per evaluation on stderr)")(
      "help,h", "print this help");
  if (wants_help(args)) {
    print_help(std::cout,
               Help{"talentsim calibrate CALIBRATION.yaml [options]",
                    "Fits the free parameters of a calibration file to its targets by the simulated method of\n"
                    "moments and writes the overlay (the fitted scenario keys) and a Markdown report. Exit 2\n"
                    "for a bad calibration file, 1 if the overlay or report cannot be written or the scenario\n"
                    "does not take the fitted values from the overlay.",
                    "  talentsim calibrate scenarios/calibration/baseline_calibration.yaml\n"
                    "  talentsim calibrate scenarios/calibration/baseline_calibration.yaml --evaluate --set regions.CN.talent_mu=0.25"},
               od);
    return kOk;
  }
  po::options_description all;
  all.add(od).add_options()("calibration", po::value(&file)->required(), "calibration YAML");
  po::positional_options_description pos;
  pos.add("calibration", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "talentsim calibrate: " << e.what() << "\n\nusage:\n" << kCalibrateUsage
              << "(talentsim calibrate --help lists the options)\n";
    return kInputError;
  }
  if (vm.count("threads") && threads < 1) {
    std::cerr << "talentsim calibrate: --threads must be at least 1\n";
    return kInputError;
  }
  if (vm.count("max-evaluations") && max_evals < 1) {
    std::cerr << "talentsim calibrate: --max-evaluations must be at least 1\n";
    return kInputError;
  }
  if (vm.count("replications") && reps < 1) {
    std::cerr << "talentsim calibrate: --replications must be at least 1\n";
    return kInputError;
  }

  cfg::Diagnostics d;
  auto spec = calib::load_calibration(file, d);
  if (spec) {
    if (max_evals > 0) spec->optimizer.max_evaluations = max_evals;
    if (reps > 0) spec->replications = reps;
    if (!overlay.empty()) spec->overlay = spec->overlay_ref = overlay;
    if (!report.empty()) spec->report = spec->report_ref = report;
  }
  std::optional<calib::Calibrator> cal;
  if (spec) cal = calib::Calibrator::create(*spec, d, sets);
  if (!cal) {
    std::cerr << d.format();
    std::cerr << "talentsim calibrate: " << d.size() << " problem" << (d.size() == 1 ? "" : "s")
              << " in the calibration; nothing was run\n";
    return kInputError;
  }
  const int nthreads = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(nthreads));
  const auto& S = cal->spec();
  std::cout << "calibrate: " << file << " — " << S.parameters.size() << " parameters, " << S.targets.size()
            << " targets, " << S.replications << " replications per evaluation (seeds " << S.seed << ".."
            << S.seed + uint64_t(S.replications) - 1 << "), " << cal->params().population.researchers
            << " researchers, " << cal->params().run.steps << " steps, " << nthreads << " threads\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  try {
    if (evaluate) {
      std::vector<double> x;
      for (const auto& p : S.parameters) x.push_back(p.start);
      const auto e = cal->pilot(x).first;  // J with W from the pilot, as the fit computes it
      std::cout << "\nat the start values (" << seconds() << " s):\n";
      for (std::size_t i = 0; i < S.parameters.size(); ++i)
        std::cout << "  " << S.parameters[i].key << " = " << cal->format_value(i, e.x[i]) << "\n";
      std::cout << "\n" << cal->table(e) << "\nobjective J = " << e.objective << "\n";
      return kOk;
    }
    auto progress = [&](const std::string& line) {
      if (!quiet) std::cerr << "  [" << int(seconds()) << " s] " << line << "\n";
    };
    const auto res = cal->run(progress);
    std::cout << "\n" << res.evaluations << " evaluations, " << (res.converged ? "converged" : "stopped at the budget")
              << ", " << seconds() << " s\n\nfitted:\n";
    for (std::size_t i = 0; i < S.parameters.size(); ++i)
      std::cout << "  " << S.parameters[i].key << " = " << cal->format_value(i, res.best.x[i]) << "   (start "
                << cal->format_value(i, S.parameters[i].start) << ")\n";
    std::cout << "\n" << cal->table(res.best) << "\nobjective J = " << res.best.objective << " (start "
              << res.start.objective << ")\n";
    if (no_write) return kOk;
    if (!S.overlay.empty()) {
      if (!write_text(S.overlay, res.overlay_yaml)) return kRuntimeError;
      std::cout << "wrote " << S.overlay << "\n";
      // The calibrated scenario must take the fitted values from the overlay it extends.
      const auto check = cal->check_overlay(S.overlay, res.best.x);
      for (const auto& n : check.notes) std::cerr << "talentsim calibrate: note: " << n << "\n";
      for (const auto& e : check.errors) std::cerr << "talentsim calibrate: " << e << "\n";
      if (!check.errors.empty()) return kRuntimeError;
    }
    if (!S.report.empty()) {
      if (!write_text(S.report, res.report_md)) return kRuntimeError;
      std::cout << "wrote " << S.report << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "talentsim calibrate: " << e.what() << "\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace ts::cli
