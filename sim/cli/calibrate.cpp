#include "sim/cli/calibrate.hpp"

#include <tbb/global_control.h>
#include <unistd.h>

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

/// Writes `text` to a hidden temporary file beside `path` and renames it into place, so a
/// half-written file never carries the name (the previous file stays until the new one is whole).
bool write_text(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  const fs::path dir = target.parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  const fs::path tmp = dir / ("." + target.filename().string() + ".partial-" + std::to_string(getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      fs::remove(tmp, ec);
      std::cerr << "talentsim calibrate: cannot write " << path << "\n";
      return false;
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    std::cerr << "talentsim calibrate: cannot write " << path << "\n";
    return false;
  }
  return true;
}

/// Whether `path` can be written later (checked before a long fit): not a directory, and its
/// nearest existing ancestor a writable directory. Says why not on stderr.
bool can_write(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  std::string why;
  if (fs::is_directory(p, ec)) {
    why = "it is a directory";
  } else {
    fs::path dir = p.parent_path();
    if (dir.empty()) dir = ".";
    while (!fs::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) dir = dir.parent_path();
    if (!fs::is_directory(dir, ec))
      why = dir.string() + " is not a directory";
    else if (::access(dir.c_str(), W_OK) != 0)
      why = dir.string() + " is not writable";
  }
  if (why.empty()) return true;
  std::cerr << "talentsim calibrate: cannot write " << path << " (" << why << "); nothing was run\n";
  return false;
}

}  // namespace

int calibrate_main(const std::vector<std::string>& args) {
  std::string file, overlay, report, results;
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
      "evaluate", po::bool_switch(&evaluate),
      "no search: the moments, diagnostics and fresh-seed verdict at the start values (the scenario's own, or --set); "
      "writes only the --report and --results named on the command line")(
      "no-write", po::bool_switch(&no_write), "fit, but do not write the overlay and the report")(
      "overlay", po::value(&overlay)->value_name("FILE"), "overlay file (default: the file's output.overlay)")(
      "report", po::value(&report)->value_name("FILE"), "report file (default: the file's output.report)")(
      "results", po::value(&results)->value_name("FILE"), "YAML of every number (default: the file's output.results)")(
      "quiet,q", po::bool_switch(&quiet), "no progress lines (default on a terminal: one per evaluation on stderr)")(
      "help,h", "print this help");
  if (wants_help(args)) {
    print_help(std::cout,
               Help{"talentsim calibrate CALIBRATION.yaml [options]",
                    "Fits the free parameters of a calibration file to its targets by the simulated method of\n"
                    "moments (docs/calibration.md): a pilot, a Nelder-Mead search to convergence, standard errors,\n"
                    "the over-identification test, the identification check and a verdict on fresh seeds. Writes\n"
                    "the overlay (the fitted scenario keys), a Markdown report and a YAML file of every number.\n"
                    "Exit 2 for a bad calibration file, 1 if an output cannot be written or the scenario does not\n"
                    "take the fitted values from the overlay.",
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
    if (!results.empty()) spec->results = spec->results_ref = results;
    // More replications use more fit seeds: they must still stay clear of the fresh ones.
    const uint64_t fit_end = spec->seed + spec->smm_options().fit_seed_count(spec->targets.size());
    const uint64_t val_end = spec->validation_seed + uint64_t(std::max(spec->validation_max_replications,
                                                                        spec->validation_replications));
    if (spec->validation_seed < fit_end && spec->seed < val_end) {
      std::cerr << "talentsim calibrate: --replications " << reps << ": the fit's seeds " << spec->seed << ".."
                << fit_end - 1 << " would overlap the fresh seeds " << spec->validation_seed << ".." << val_end - 1
                << " (validation_seed in " << file << "); nothing was run\n";
      return kInputError;
    }
  }
  std::optional<calib::Calibrator> cal;
  if (spec) cal = calib::Calibrator::create(*spec, d, sets);
  if (!cal) {
    std::cerr << d.format();
    std::cerr << "talentsim calibrate: " << d.size() << " problem" << (d.size() == 1 ? "" : "s")
              << " in the calibration; nothing was run\n";
    return kInputError;
  }
  {  // the outputs this run will write, checked before anything is computed
    const auto& S = cal->spec();
    std::vector<std::string> outs;
    if (evaluate) {
      if (!report.empty()) outs.push_back(S.report);
      if (!results.empty()) outs.push_back(S.results);
    } else if (!no_write) {
      outs = {S.overlay, S.report, S.results};
    }
    for (const auto& o : outs)
      if (!o.empty() && !can_write(o)) return kRuntimeError;
  }
  const int nthreads = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(nthreads));
  const auto& S = cal->spec();
  std::cout << "calibrate: " << file << " — " << S.parameters.size() << " parameters, " << S.targets.size() << " targets, "
            << S.untargeted.size() << " untargeted moments, " << S.replications << " replications per evaluation (seeds "
            << S.seed << ".." << S.seed + uint64_t(S.replications) - 1 << "), " << cal->params().population.researchers
            << " researchers, " << cal->params().run.steps << " steps, " << nthreads << " threads\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const bool show = !quiet && isatty(2);
  auto progress = [&](const std::string& line) {
    if (show) std::cerr << "  [" << int(seconds()) << " s] " << line << "\n";
  };
  try {
    const auto res = evaluate ? cal->evaluate(cal->starts(), progress) : cal->run(progress);
    const auto& r = res.smm;
    if (evaluate) {
      std::cout << "\nevaluated (no search) in " << int(seconds()) << " s at:\n";
    } else {
      std::cout << "\n" << r.history.size() << " evaluations, "
                << (r.search.converged ? "converged" : "did NOT converge (stopped at the " + r.search.stop + ")")
                << " (objective spread " << r.search.f_spread << ", parameter spread " << r.search.x_spread << " of the range, "
                << r.search.restarts << " restarts), " << int(seconds()) << " s\n\nfitted:\n";
    }
    for (std::size_t i = 0; i < S.parameters.size(); ++i)
      std::cout << "  " << S.parameters[i].key << " = " << cal->format_value(i, r.best.x[i]) << "   (SE " << r.inf.se[i]
                << ")\n";
    std::cout << "\n" << cal->table(r) << "\nobjective J = " << r.best.objective;
    if (r.inf.df > 0)
      std::cout << "; over-identification J = " << r.inf.j_stat << ", " << r.inf.df << " df, p = " << r.inf.p_value;
    else if (r.inf.df == 0)
      std::cout << "; exactly identified";
    std::cout << "\nidentification: rank " << r.id.rank << " of " << S.parameters.size() << ", condition number "
              << r.id.condition << "\nverdict on " << r.val.replications << " fresh seeds (" << r.val.needed
              << " needed for SE <= " << S.validation_se_fraction << " x tolerance)\n";
    if (evaluate) {  // only what the command line names explicitly
      if (!report.empty()) {
        if (!write_text(S.report, res.report_md)) return kRuntimeError;
        std::cout << "wrote " << S.report << "\n";
      }
      if (!results.empty()) {
        if (!write_text(S.results, res.results_yaml)) return kRuntimeError;
        std::cout << "wrote " << S.results << "\n";
      }
      return kOk;
    }
    if (no_write) return kOk;
    if (!S.overlay.empty()) {
      if (!write_text(S.overlay, res.overlay_yaml)) return kRuntimeError;
      std::cout << "wrote " << S.overlay << "\n";
      // The calibrated scenario must take the fitted values from the overlay it extends.
      const auto check = cal->check_overlay(S.overlay, r.best.x);
      for (const auto& n : check.notes) std::cerr << "talentsim calibrate: note: " << n << "\n";
      for (const auto& e : check.errors) std::cerr << "talentsim calibrate: " << e << "\n";
      if (!check.errors.empty()) return kRuntimeError;
    }
    if (!S.report.empty()) {
      if (!write_text(S.report, res.report_md)) return kRuntimeError;
      std::cout << "wrote " << S.report << "\n";
    }
    if (!S.results.empty()) {
      if (!write_text(S.results, res.results_yaml)) return kRuntimeError;
      std::cout << "wrote " << S.results << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "talentsim calibrate: " << e.what() << "\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace ts::cli
