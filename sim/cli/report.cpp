#include "sim/cli/report.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "sim/cli/cli.hpp"

#ifndef TALENTSIM_ANALYSIS_DIR
#define TALENTSIM_ANALYSIS_DIR ""
#endif

namespace ts::cli {

namespace fs = std::filesystem;

namespace {

bool has_report_package(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "talentsim_analysis" / "report" / "__init__.py", ec);
}

/// The folder holding the talentsim_analysis package: $TALENTSIM_ANALYSIS_DIR, else next to the
/// binary (build/talentsim → analysis/; an installed bin/talentsim → share/talentsim/analysis),
/// else the source tree the binary was built from.
fs::path find_analysis_dir(std::string& tried) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("TALENTSIM_ANALYSIS_DIR"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "analysis");
    candidates.push_back(exe.parent_path().parent_path() / "share" / "talentsim" / "analysis");
  }
  candidates.emplace_back(TALENTSIM_ANALYSIS_DIR);
  for (const auto& c : candidates) {
    if (has_report_package(c)) return c;
    if (!c.empty()) tried += (tried.empty() ? "" : ", ") + c.string();
  }
  return {};
}

/// Debian's interpreter (its python3-matplotlib, -jinja2, -h5py are what the report needs; a
/// python3 earlier on PATH may lack them): $TALENTSIM_PYTHON, else /usr/bin/python3.
std::string find_python() {
  if (const char* env = std::getenv("TALENTSIM_PYTHON"); env && *env) return env;
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (access(p, X_OK) == 0) return p;
  return {};
}

}  // namespace

std::string write_file_atomically(const std::string& path, const std::string& text) {
  const fs::path p(path);
  const fs::path tmp = (p.has_parent_path() ? p.parent_path() : fs::path(".")) /
                       ("." + p.filename().string() + ".partial-" + std::to_string(getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return "cannot write '" + path + "'";
    }
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return "cannot rename the temporary file to '" + path + "': " + ec.message();
  }
  return {};
}

int report_main(const std::vector<std::string>& args) {
  std::string tried;
  const fs::path dir = find_analysis_dir(tried);
  if (dir.empty()) {
    std::cerr << "talentsim report: cannot find the Python package analysis/talentsim_analysis/report (looked in "
              << tried << "); set TALENTSIM_ANALYSIS_DIR to the repository's analysis folder\n";
    return kRuntimeError;
  }
  const std::string python = find_python();
  if (python.empty()) {
    std::cerr << "talentsim report: needs Debian's /usr/bin/python3 with python3-matplotlib, python3-jinja2 and "
                 "python3-h5py (scripts/install-deps.sh installs them), or TALENTSIM_PYTHON\n";
    return kRuntimeError;
  }
  std::string path = dir.string();
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += ":" + std::string(old);
  setenv("PYTHONPATH", path.c_str(), 1);
  setenv("PYTHONDONTWRITEBYTECODE", "1", 1);  // nothing written into the source tree
  setenv("MPLBACKEND", "Agg", 1);             // no display needed
  std::vector<std::string> argv_s = {python, "-m", "talentsim_analysis.report"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  execv(python.c_str(), argv.data());
  std::cerr << "talentsim report: cannot start " << python << ": " << std::strerror(errno) << "\n";
  return kRuntimeError;
}

}  // namespace ts::cli
