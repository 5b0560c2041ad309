// Shared helpers for the test suite.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/io/h5.hpp"
#include "sim/config/scenario.hpp"
#include "sim/model/simulation.hpp"
#include "sim/model/terms.hpp"
#include "sim/model/tiers.hpp"
#include "sim/model/transitions.hpp"

namespace ts::test {

inline std::string source_dir() { return TALENTSIM_SOURCE_DIR; }
inline std::string binary() { return TALENTSIM_BINARY; }

/// A fresh temporary directory, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("talentsim-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct CommandResult {
  int code;
  std::string out;  ///< stdout and stderr together
};

/// Runs a shell command, capturing its output and exit code.
inline CommandResult run(const std::string& cmd) {
  TempDir d;
  const std::string log = d / "out.txt";
  const int rc = std::system((cmd + " > '" + log + "' 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_file(log)};
}

/// A process started in the background (stdout and stderr to `log`), for tests that act on a
/// run while it goes (signals, files appearing meanwhile).
struct Child {
  pid_t pid = -1;
  std::string log;
  /// Waits up to `timeout_s` seconds; the exit code, 128 + signal if killed, or -1 on timeout
  /// (the process is then killed).
  int wait(double timeout_s = 120) {
    for (int i = 0; i < int(timeout_s * 100); ++i) {
      int st = 0;
      const pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
      if (r < 0) return -1;
      ::usleep(10000);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  std::string output() const { return read_file(log); }
};

/// Starts `argv` (argv[0] = the program path) with its output going to `log`.
inline Child spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& cwd = "") {
  Child c;
  c.log = log;
  c.pid = ::fork();
  if (c.pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return c;
}

/// Waits (up to `timeout_s`) until a file whose name contains `part` exists in `dir`.
inline bool wait_for_file(const std::string& dir, const std::string& part, double timeout_s = 60) {
  for (int i = 0; i < int(timeout_s * 100); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().find(part) != std::string::npos) return true;
    ::usleep(10000);
  }
  return false;
}

/// Parameters from a YAML text; fails the test with the diagnostics if it does not load.
inline model::Params params_from(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario_text(yaml, "test.yaml", sets, d);
  if (!sc) throw std::runtime_error("test scenario did not load:\n" + d.format());
  return sc->params;
}

/// Every dataset in a file (recursively), converted to double, keyed by path.
inline void collect(const h5::Group& g, const std::string& prefix, std::map<std::string, std::vector<double>>& out) {
  for (const auto& name : g.children()) {
    const std::string p = prefix + "/" + name;
    bool is_group = true;
    try {
      auto sub = g.open_group(name);
      collect(sub, p, out);
    } catch (const h5::Error&) {
      is_group = false;
    }
    if (!is_group) {
      try {
        out[p] = g.read<double>(name);
      } catch (const h5::Error&) {
        std::string s;
        for (const auto& x : g.read_strings(name)) s += x + "\n";
        std::vector<double> v(s.begin(), s.end());
        out[p] = v;
      }
    }
  }
}

inline std::map<std::string, std::vector<double>> datasets(const std::string& path) {
  auto f = h5::File::open_read(path);
  std::map<std::string, std::vector<double>> out;
  collect(f.root(), "", out);
  return out;
}

}  // namespace ts::test
