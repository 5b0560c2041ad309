// Experiment files with mistakes (tests/data/bad_experiments): refused before any run with every
// problem located (file:line:column and key path), exit 2, and nothing written.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/helpers.hpp"

namespace fs = std::filesystem;

namespace {

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Case {
  std::string name;
  int exit_code = -1, problems = -1;
  std::vector<std::string> expect, args;
};

Case parse(const fs::path& file) {
  Case c;
  c.name = file.filename().string();
  std::ifstream in(file);
  for (std::string line; std::getline(in, line) && line.rfind("#", 0) == 0;) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(2, colon - 2), value = line.substr(std::min(line.size(), colon + 2));
    if (key == "expect-exit") c.exit_code = std::stoi(value);
    if (key == "expect") c.expect.push_back(value);
    if (key == "expect-problems") c.problems = std::stoi(value);
    if (key == "args") {
      std::istringstream ss(value);
      for (std::string a; ss >> a;) c.args.push_back(a);
    }
  }
  return c;
}

}  // namespace

TEST_CASE("bad experiments: every case is refused with its problems located, exit 2, nothing written") {
  const fs::path dir = ts::test::source_dir() + "/tests/data/bad_experiments";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  CHECK(files.size() >= 12);
  for (const auto& f : files) {
    const Case c = parse(f);
    INFO("case: tests/data/bad_experiments/" << c.name);
    REQUIRE(c.exit_code == 2);
    REQUIRE(!c.expect.empty());
    ts::test::TempDir tmp;
    std::string cmd = "cd " + q(dir.string()) + " && " + q(ts::test::binary()) + " sweep " + q(c.name) + " -o " + q(tmp / "out.h5") + " --quiet";
    for (const auto& a : c.args) cmd += " " + q(a);
    const auto r = ts::test::run(cmd);
    INFO("output:\n" << r.out);
    CHECK(r.code == c.exit_code);
    for (const auto& e : c.expect) CHECK_MESSAGE(r.out.find(e) != std::string::npos, "missing expected text: " << e);
    if (c.problems >= 0) {
      int n = 0;
      std::istringstream ss(r.out);
      for (std::string line; std::getline(ss, line);) n += !line.empty() && line.rfind("talentsim", 0) != 0;
      CHECK(n == c.problems);
      CHECK(r.out.find("talentsim: " + std::to_string(c.problems) + " problem" + (c.problems == 1 ? "" : "s") +
                       " in the experiment; nothing was run") != std::string::npos);
    }
    CHECK(fs::is_empty(tmp.path));
  }
}
