// Reliability: bad input. Runs the real binary on every scenario in tests/data/bad/ and checks
// the exit code, the messages and that nothing was written.
//
// Each case NAME.yaml starts with comment lines (the first non-comment line ends them):
//   # expect-exit: 2                exit code (2 = bad input)
//   # expect: TEXT                  TEXT must appear in the output (stdout + stderr); repeatable
//   # expect-not: TEXT              TEXT must not appear; repeatable
//   # expect-problems: N            exactly N diagnostic lines, and "talentsim: N problem(s)"
//   # args: ARG...                  extra command-line arguments (split at spaces)
//   # known-bug: WHY                the loader does not behave as expected yet (one line): every
//                                   check of the case is only a warning until it is fixed
// The case is run from tests/data/bad as
//   talentsim run NAME.yaml -o TMP/out.h5 --quiet ARGS
// so messages read "NAME.yaml:LINE:COL: key.path: message" (Diagnostics::format()).
// Files in subdirectories (parts/) are helpers, not cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/helpers.hpp"

namespace fs = std::filesystem;
using ts::test::TempDir;

namespace {

const int kInputError = 2;

std::string bad_dir() { return ts::test::source_dir() + "/tests/data/bad"; }

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Case {
  std::string name;  // file name, e.g. bad_unknown_key.yaml
  int exit_code = -1;
  std::vector<std::string> expect, expect_not, args;
  int problems = -1;
  std::string known_bug;
  std::vector<std::string> errors;  // malformed header lines
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

Case parse_case(const fs::path& file) {
  Case c;
  c.name = file.filename().string();
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line) && line.starts_with("#")) {
    const std::string body = trim(line.substr(1));
    const auto colon = body.find(':');
    if (colon == std::string::npos) continue;  // free text
    const std::string key = body.substr(0, colon);
    const std::string value = trim(body.substr(colon + 1));
    if (key == "expect-exit") {
      try {
        c.exit_code = std::stoi(value);
      } catch (...) {
        c.errors.push_back(line);
      }
    } else if (key == "expect") {
      if (value.empty()) c.errors.push_back(line);
      else c.expect.push_back(value);
    } else if (key == "expect-not") {
      if (value.empty()) c.errors.push_back(line);
      else c.expect_not.push_back(value);
    } else if (key == "expect-problems") {
      try {
        c.problems = std::stoi(value);
      } catch (...) {
        c.errors.push_back(line);
      }
    } else if (key == "args") {
      std::istringstream ss(value);
      for (std::string a; ss >> a;) c.args.push_back(a);
    } else if (key == "known-bug") {
      c.known_bug = value.empty() ? "(no reason given)" : value;
    } else if (key.starts_with("expect")) {
      c.errors.push_back(line);  // a misspelt directive would silently check nothing
    }
  }
  return c;
}

std::vector<Case> cases() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(bad_dir()))
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Case> out;
  for (const auto& f : files) out.push_back(parse_case(f));
  return out;
}

/// Everything left in a directory (including hidden .partial files).
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// Diagnostic lines: every non-empty output line except talentsim's own summary lines.
int count_diagnostics(const std::string& out) {
  std::istringstream ss(out);
  int n = 0;
  for (std::string line; std::getline(ss, line);)
    if (!trim(line).empty() && !line.starts_with("talentsim")) ++n;
  return n;
}

std::string problems_line(int n) {
  return "talentsim: " + std::to_string(n) + " problem" + (n == 1 ? "" : "s") + " in the scenario; nothing was run";
}

ts::test::CommandResult run_in_bad_dir(const std::string& subcommand, const Case& c, const std::string& out_h5) {
  std::string cmd = "cd " + quote(bad_dir()) + " && " + quote(ts::test::binary()) + " " + subcommand + " " + quote(c.name);
  if (!out_h5.empty()) cmd += " -o " + quote(out_h5) + " --quiet";
  for (const auto& a : c.args) cmd += " " + quote(a);
  return ts::test::run(cmd);
}

}  // namespace

TEST_CASE("bad input: the corpus in tests/data/bad is well-formed") {
  const auto all = cases();
  CHECK(all.size() >= 30);
  for (const auto& c : all) {
    INFO("case: " << c.name);
    CHECK_MESSAGE(c.errors.empty(), "malformed header lines: " << join(c.errors));
    CHECK_MESSAGE(c.exit_code >= 0, "no '# expect-exit: N' line");
    CHECK_MESSAGE(!c.expect.empty(), "no '# expect: TEXT' line");
  }
}

TEST_CASE("bad input: every case in tests/data/bad exits as expected, says what it must and writes nothing") {
  int checked = 0, known = 0;
  for (const auto& c : cases()) {
    if (c.exit_code < 0 || c.expect.empty()) continue;  // reported by the well-formedness test
    INFO("case: tests/data/bad/" << c.name);
    TempDir tmp;
    const auto r = run_in_bad_dir("run", c, tmp / "out.h5");
    INFO("exit code " << r.code << ", output:\n" << r.out);
    const auto left = leftovers(tmp.path);
    if (!c.known_bug.empty()) {
      // Not fixed yet (reported with a proposed patch): a warning, not a failure, so that the
      // suite stays green until the loader is fixed; a fixed case says so.
      ++known;
      const bool crashed = r.code < 0 || r.code > 2;
      bool ok = r.code == c.exit_code && left.empty();
      for (const auto& e : c.expect) ok = ok && r.out.find(e) != std::string::npos;
      for (const auto& e : c.expect_not) ok = ok && r.out.find(e) == std::string::npos;
      if (c.problems >= 0) ok = ok && count_diagnostics(r.out) == c.problems;
      if (ok) MESSAGE(c.name << ": the known bug looks fixed; turn its '# known-bug:' line into '# fixed:' (keeps line numbers)");
      const std::string why = c.name + (crashed ? ": CRASHED: " : ": known bug: ") + c.known_bug;
      if (!ok) WARN_MESSAGE(false, why);
      continue;
    }
    ++checked;
    CHECK(r.code == c.exit_code);
    for (const auto& e : c.expect) CHECK_MESSAGE(r.out.find(e) != std::string::npos, "missing expected text: " << e);
    for (const auto& e : c.expect_not) CHECK_MESSAGE(r.out.find(e) == std::string::npos, "unexpected text: " << e);
    if (c.problems >= 0) {
      CHECK(count_diagnostics(r.out) == c.problems);
      CHECK_MESSAGE(r.out.find(problems_line(c.problems)) != std::string::npos, "missing: " << problems_line(c.problems));
    }
    CHECK_MESSAGE(left.empty(), "files left behind: " << join(left));
  }
  CHECK(checked >= 25);
  MESSAGE(checked << " cases checked, " << known << " known bugs");
}

TEST_CASE("bad input: `talentsim config` reports the same problems with exit code 2") {
  for (const auto& c : cases()) {
    if (!c.known_bug.empty() || c.exit_code != kInputError) continue;
    INFO("case: tests/data/bad/" << c.name);
    const auto r = run_in_bad_dir("config", c, "");
    INFO("output:\n" << r.out);
    CHECK(r.code == kInputError);
    // `config` accepts --set but not run's --steps/--seed: compare only when the args are all --set.
    bool only_set = true;
    for (std::size_t i = 0; i < c.args.size(); i += 2) only_set = only_set && c.args[i] == "--set";
    if (!only_set) continue;
    for (const auto& e : c.expect) CHECK_MESSAGE(r.out.find(e) != std::string::npos, "missing expected text: " << e);
  }
}

namespace {

// A valid small scenario (runs in well under a second) for the command-line tests.
const char* kValid = R"(run: {steps: 3}
population: {researchers: 2000}
firms:
  - {name: A, hq: US, headcount: 50}
  - {name: B, hq: CN, headcount: 50}
)";

struct Cli {
  TempDir dir;
  std::string scenario = dir / "valid.yaml";
  std::string out = (dir.path / "out" / "run.h5").string();
  Cli() {
    ts::test::write_file(scenario, kValid);
    fs::create_directories(dir.path / "out");
  }
  ts::test::CommandResult run(const std::string& args) const {
    return ts::test::run(quote(ts::test::binary()) + " " + args);
  }
  std::vector<std::string> left() const { return leftovers(dir.path / "out"); }
};

}  // namespace

TEST_CASE("bad input: the harness itself: a valid scenario runs and writes its output") {
  Cli cli;
  const auto r = cli.run("run " + quote(cli.scenario) + " -o " + quote(cli.out) + " --quiet");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(fs::exists(cli.out));
  CHECK(cli.left().size() == 1);  // no .partial left either
}

TEST_CASE("bad input: --set errors name --set and the assignment, exit 2, write nothing") {
  Cli cli;
  struct Bad {
    std::string args, expect;
  };
  const std::vector<Bad> bad = {
      {"--set market.lambda0=abc", "--set market.lambda0=abc: market.lambda0: expected a number in [0, 1], got 'abc'"},
      {"--set market.lamda0=0.1", "--set market.lamda0=0.1: market.lamda0: unknown key 'lamda0' (did you mean 'lambda0'?)"},
      {"--set market.lambda0", "--set market.lambda0: expected 'path=value'; there is no '='"},
      {"--set 'run.steps=[1'", "--set run.steps=[1: run.steps: invalid value: invalid YAML"},
      {"--set run.steps=1e12", "--set run.steps=1e12: run.steps: expected a whole number in [0, 1000000], got '1e12'"},
      {"--set population.researchers=-5", "--set population.researchers=-5: population.researchers: expected a whole number"},
      {"--set firms.Nope.count=2", "--set firms.Nope.count=2: firms.Nope: no element of 'firms' has name 'Nope'"},
      {"--set firms.7.count=2", "--set firms.7.count=2: firms[7]: index 7 is out of range: 'firms' has 2 elements"},
      {"--set firms.A.hq=Mars", "--set firms.A.hq=Mars: firms[0].hq: unknown region 'Mars'"},
      {"--set =3", "--set =3: empty path"},
      {"--steps 2000000", "run.steps: expected a whole number in [0, 1000000], got '2000000'"},
  };
  for (const auto& b : bad) {
    INFO("args: " << b.args);
    const auto r = cli.run("run " + quote(cli.scenario) + " -o " + quote(cli.out) + " --quiet " + b.args);
    INFO("output:\n" << r.out);
    CHECK(r.code == kInputError);
    CHECK_MESSAGE(r.out.find(b.expect) != std::string::npos, "missing expected text: " << b.expect);
    CHECK(r.out.find("--set") != std::string::npos);
    CHECK_MESSAGE(cli.left().empty(), "files left behind: " << join(cli.left()));
    // `config` takes the same --set.
    if (b.args.starts_with("--set")) {
      const auto rc = cli.run("config " + quote(cli.scenario) + " " + b.args);
      CHECK(rc.code == kInputError);
      CHECK(rc.out.find(b.expect) != std::string::npos);
    }
  }
  SUBCASE("several bad --set are all reported") {
    const auto r = cli.run("run " + quote(cli.scenario) + " -o " + quote(cli.out) +
                           " --quiet --set market.lambda0=abc --set market.lamda1=0.1 --set run.steps=-1");
    INFO("output:\n" << r.out);
    CHECK(r.code == kInputError);
    CHECK(count_diagnostics(r.out) == 3);
    CHECK(r.out.find(problems_line(3)) != std::string::npos);
  }
}

TEST_CASE("bad input: command-line misuse exits 2 and writes nothing") {
  Cli cli;
  const std::string sc = quote(cli.scenario), out = quote(cli.out);
  struct Bad {
    std::string args, expect;
  };
  const std::vector<Bad> bad = {
      {"", "usage:"},
      {"frobnicate", "unknown command 'frobnicate'"},
      {"run " + sc + " -o " + out + " --bogus", "unrecognised option '--bogus'"},
      {"run " + sc + " --quiet", "'--output' is required"},
      {"run -o " + out, "'--scenario' is required"},
      {"run " + sc + " " + sc + " -o " + out, "too many positional options"},
      {"run " + sc + " -o " + out + " --threads 0", "--threads must be at least 1"},
      {"run " + sc + " -o " + out + " --threads many", "--threads"},
      {"run " + sc + " -o " + out + " --steps ten", "--steps"},
      {"run " + sc + " -o " + out + " --set", "--set"},
      {"run " + quote(cli.dir / "no_such.yaml") + " -o " + out, "cannot read scenario file"},
      {"run " + quote(cli.dir.path.string()) + " -o " + out, "is a directory"},
      {"config", "'--scenario' is required"},
      {"config " + sc + " --bogus", "unrecognised option '--bogus'"},
      {"config " + quote(cli.dir / "no_such.yaml"), "cannot read scenario file"},
      {"summarize", "usage: talentsim summarize"},
  };
  for (const auto& b : bad) {
    INFO("talentsim " << b.args);
    const auto r = cli.run(b.args);
    INFO("output:\n" << r.out);
    CHECK(r.code == kInputError);
    CHECK_MESSAGE(r.out.find(b.expect) != std::string::npos, "missing expected text: " << b.expect);
    CHECK_MESSAGE(cli.left().empty(), "files left behind: " << join(cli.left()));
  }
}
