// The command line for a new user (issue 18): help for every command, the key table,
// inputs that are not scenario files, shortened runs, and the README's claims about `calibrate`
// (`validate`'s exit code: tests/CMakeLists.txt). Each case failed before its fix, except
// those for claims that held but had no test.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "tests/support/helpers.hpp"

using namespace ts;
namespace fs = std::filesystem;

namespace {

std::string tsim(const std::string& args) { return test::binary() + " " + args; }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

const char* kTiny = R"(run: {steps: 3}
population: {researchers: 2000}
firms:
  - {name: A, hq: US, headcount: 900}
  - {name: B, hq: CN, headcount: 900}
)";

}  // namespace

TEST_CASE("cli: every command's --help prints its usage, its options with defaults and an example, exit 0") {
  for (const std::string cmd : {"run", "resume", "summarize", "validate", "calibrate", "config", "keys", "report"}) {
    INFO("talentsim " << cmd << " --help");
    auto r = test::run(tsim(cmd + " --help"));
    CHECK(r.code == 0);
    CHECK(r.out.find("usage: talentsim " + cmd) == 0);
    CHECK(r.out.find("\nexample:\n  talentsim " + cmd) != std::string::npos);
    CHECK(r.out.find("--help") != std::string::npos);
    // -h, and --help among other (even wrong) arguments, print the same.
    CHECK(test::run(tsim(cmd + " -h")).out == r.out);
    CHECK(test::run(tsim(cmd + " --no-such-option --help")).code == 0);
  }
  auto run = test::run(tsim("run --help")).out;
  for (const char* s : {"-o [ --output ] OUT.h5", "--threads N", "(default: all cores)", "--steps T", "--seed S",
                        "--set key.path=value", "--force", "--checkpoint-every K", "--verbose", "(default: refuse)"})
    CHECK_MESSAGE(run.find(s) != std::string::npos, "run --help lacks: " << s);
  CHECK(run.find("--stop-after") == std::string::npos);  // testing aids stay hidden
  CHECK(test::run(tsim("calibrate --help")).out.find("(default: the file's") != std::string::npos);
}

TEST_CASE("cli: `keys PATTERN` filters the key table, and required keys are marked") {
  auto all = test::run(tsim("keys"));
  REQUIRE(all.code == 0);
  auto some = test::run(tsim("keys LAMBDA"));
  REQUIRE(some.code == 0);
  const auto rows = lines(some.out);
  REQUIRE(rows.size() == 4);  // header, rule, lambda0, lambda1
  CHECK(rows[2].find("| `market.lambda0` |") == 0);
  CHECK(rows[3].find("| `market.lambda1` |") == 0);
  CHECK(lines(all.out).size() > 100);
  // Required keys say so in the default column (and omitting one is an error: test_bad_input.cpp).
  for (const auto& key : model::required_keys()) {
    INFO(key);
    auto r = test::run(tsim("keys '" + key + "'"));
    CHECK(r.out.find("| `" + key + "` | ") != std::string::npos);
    CHECK(r.out.find("| **required** |") != std::string::npos);
  }
  CHECK(test::run(tsim("keys market.lambda0")).out.find("**required**") == std::string::npos);
  auto none = test::run(tsim("keys zzzz"));
  CHECK(none.code == 2);
  CHECK(none.out == "talentsim keys: no scenario key contains 'zzzz'\n");
}

TEST_CASE("cli: a scenario that is not a regular file, or is too large, is refused before it is read") {
  test::TempDir d;
  // /dev/zero read until memory ran out; a FIFO waited for a writer forever.
  auto z = test::run("timeout 20 " + tsim("run /dev/zero -o " + d / "z.h5 --quiet"));
  CHECK(z.code == 2);
  CHECK(z.out.find("/dev/zero: cannot read scenario file '/dev/zero': is a character device, not a regular file") !=
        std::string::npos);
  REQUIRE(::mkfifo((d / "fifo.yaml").c_str(), 0600) == 0);
  auto f = test::run("timeout 20 " + tsim("config " + d / "fifo.yaml"));
  CHECK(f.code == 2);
  CHECK(f.out.find("is a FIFO (named pipe), not a regular file") != std::string::npos);
  // A base of 17 MiB (sparse: nothing is written to disk) over the 16 MiB limit.
  { std::ofstream(d / "big.yaml"); }
  fs::resize_file(d / "big.yaml", std::uintmax_t(17) << 20);
  test::write_file(d / "child.yaml", "extends: big.yaml\n");
  auto b = test::run("timeout 20 " + tsim("config " + d / "child.yaml"));
  CHECK(b.code == 2);
  CHECK(b.out.find("child.yaml:1:10: extends: cannot read base scenario '" + d / "big.yaml" +
                   "': is 17825792 bytes; a scenario file may have at most 16 MiB (16777216 bytes)") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "z.h5"));
}

TEST_CASE("cli: arguments that are not UTF-8 are refused (they would go into the file's UTF-8 strings)") {
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  auto r = test::run(tsim("run " + d / "tiny.yaml -o " + d / "x.h5 --quiet --set \"$(printf 'firms[0].name=Caf\\351')\""));
  CHECK(r.code == 2);
  CHECK(r.out.find("talentsim: argument 7 ('firms[0].name=Caf\\xe9') is not valid UTF-8 text") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "x.h5"));
  // Valid UTF-8 names are kept as they are.
  auto ok = test::run(tsim("run " + d / "tiny.yaml -o " + d / "ok.h5 --quiet --set 'firms[0].name=Café 北京'"));
  REQUIRE_MESSAGE(ok.code == 0, ok.out);
  CHECK(h5::File::open_read(d / "ok.h5").root().open_group("firms").read_strings("name")[0] == "Café 北京");
}

TEST_CASE("cli: a long value in an error is quoted by a short prefix and its size") {
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  const std::string big(100000, '7');
  auto r = test::run(tsim("config " + d / "tiny.yaml --set market.lambda0=" + big));
  CHECK(r.code == 2);
  CHECK(r.out.size() < 1000);
  CHECK(r.out.find("got '" + std::string(60, '7') + "…' (100000 bytes)") != std::string::npos);
}

TEST_CASE("cli: a shortened run drops the events and snapshots after its horizon with one note, kept in the file") {
  // scenarios/meta_raid.yaml: a `set` at 2026-07 (step 12) and the baseline's snapshot at step 119.
  test::TempDir d;
  const std::string raid = test::source_dir() + "/scenarios/meta_raid.yaml";
  auto r = test::run(tsim("run " + raid + " -o " + d / "raid.h5 --steps 12"));
  INFO(r.out);
  REQUIRE(r.code == 0);
  std::vector<std::string> notes;
  for (const auto& l : lines(r.out))
    if (l.starts_with("talentsim: note: ")) notes.push_back(l);
  REQUIRE(notes.size() == 1);
  const std::string note = notes[0].substr(std::string("talentsim: note: ").size());
  CHECK(note == "the horizon is 12 steps (2025-07 .. 2026-06); dropped after it: events[2] (set at step 12, " + raid +
                    ":27:21); output.snapshots at step 119");
  auto f = h5::File::open_read(d / "raid.h5");
  auto meta = f.root().open_group("metadata");
  CHECK(meta.read_strings("notes") == std::vector<std::string>{note});
  cfg::Diagnostics pd;
  const auto resolved = cfg::parse_string(meta.read_string("resolved_config"), "resolved", pd);
  REQUIRE(resolved.has_value());
  CHECK(cfg::get_path(*resolved, "events")->seq.size() == 2);  // the raid and the set at step 0
  CHECK(cfg::get_path(*resolved, "output.snapshots")->seq.size() == 1);
  CHECK(f.root().attr_int("last_step") == 11);
  // --quiet: no note on stderr (the file keeps it); an event before the start stays an error.
  auto q = test::run(tsim("run " + raid + " -o " + d / "q.h5 --steps 12 --quiet"));
  CHECK(q.code == 0);
  CHECK(q.out.empty());
  CHECK(h5::File::open_read(d / "q.h5").root().open_group("metadata").read_strings("notes").size() == 1);
  auto early = test::run(tsim("run " + raid + " -o " + d / "e.h5 --set run.start=2025-08 --quiet"));
  CHECK(early.code == 2);
  CHECK(early.out.find("events[0].at: event dated before the start of the run (2025-08)") != std::string::npos);
}

TEST_CASE("cli: calibrate writes the overlay, the report and the results, exit 0; a bad file exits 2; an unwritable report exits 1") {
  // A tiny calibration (600 researchers, 3 steps, 2 replications, 3 evaluations): seconds.
  test::TempDir d;
  test::write_file(d / "tiny.yaml",
                   "run: {seed: 1, start: 2025-07, steps: 3}\n"
                   "regions:\n"
                   "  US: {pay_level: 1, talent_sigma: 0.6}\n"
                   "  CN: {pay_level: 0.5, talent_sigma: 0.6}\n"
                   "population: {researchers: 600, origin_shares: {US: 0.5, CN: 0.5}}\n"
                   "market: {top_share: 0.2, elite_share: 0.01}\n"
                   "firms:\n"
                   "  - {name: Lab, hq: US, headcount: 250}\n"
                   "  - {name: CN Lab, hq: CN, headcount: 250}\n");
  const std::string cal =
      "scenario: tiny.yaml\n"
      "replications: 2\n"
      "seed: 42\n"
      "parameters:\n"
      "  - {key: regions.CN.talent_mu, min: -1, max: 1, start: 0}\n"
      "targets:\n"
      "  - {name: CN top share, moment: cn_share_top, at: -1, value: 0.6, source_sd: 0.025, basis: test, source: test}\n"
      "validation_max_replications: 12\n"
      "optimizer: {max_evaluations: 3, initial_step: 0.2}\n"
      "output: {overlay: out/fitted.yaml, report: out/report.md, results: out/results.yaml}\n";
  test::write_file(d / "cal.yaml", cal);
  auto r = test::run(tsim("calibrate " + d / "cal.yaml --quiet --threads 1"));
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("wrote " + d / "out/fitted.yaml") != std::string::npos);
  const std::string overlay = test::read_file(d / "out/fitted.yaml");
  CHECK(overlay.find("# Fitted values: generated by `talentsim calibrate") == 0);
  CHECK(overlay.find("regions:\n  US: {}\n  CN:\n    talent_mu: ") != std::string::npos);
  CHECK(test::read_file(d / "out/report.md").find("| CN top share | `cn_share_top, at step 2` |") != std::string::npos);
  CHECK(test::read_file(d / "out/results.yaml").find("\nmoments:\n") != std::string::npos);
  // The budget of 3 evaluations stops the search: said, not hidden.
  CHECK(r.out.find("did NOT converge (stopped at the evaluation budget)") != std::string::npos);
  // No temporary file is left beside the outputs.
  for (const auto& e : fs::directory_iterator(d / "out")) CHECK(e.path().filename().string().find(".partial-") == std::string::npos);
  // --no-write and --evaluate write nothing (--evaluate only what the command line names).
  fs::remove_all(d / "out");
  CHECK(test::run(tsim("calibrate " + d / "cal.yaml --quiet --threads 1 --no-write")).code == 0);
  auto ev = test::run(tsim("calibrate " + d / "cal.yaml --quiet --threads 1 --evaluate"));
  CHECK(ev.code == 0);
  CHECK(ev.out.find("evaluated (no search)") != std::string::npos);
  CHECK(ev.out.find("verdict on ") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "out"));
  CHECK(test::run(tsim("calibrate " + d / "cal.yaml --quiet --threads 1 --evaluate --report " + d / "ev.md")).code == 0);
  CHECK(test::read_file(d / "ev.md").find("**An evaluation, not a fit:**") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "out"));
  // A bad calibration file, a bad option: exit 2, nothing run or written.
  test::write_file(d / "bad.yaml", cal + "replicashuns: 3\n");
  auto b = test::run(tsim("calibrate " + d / "bad.yaml --quiet"));
  CHECK(b.code == 2);
  CHECK(b.out.find(d / "bad.yaml" + ":11:1: replicashuns: unknown key 'replicashuns' (did you mean 'replications'?)") !=
        std::string::npos);
  CHECK(test::run(tsim("calibrate " + d / "cal.yaml --replications 0")).code == 2);
  // More replications than the fresh seeds leave room for (the file's validation_seed defaults to 10⁶).
  auto many = test::run(tsim("calibrate " + d / "cal.yaml --replications 2000000"));
  CHECK(many.code == 2);
  CHECK(many.out.find("would overlap the fresh seeds") != std::string::npos);
  CHECK(test::run(tsim("calibrate")).code == 2);
  CHECK_FALSE(fs::exists(d / "out"));
  // A report that cannot be written (its directory is a file): exit 1.
  test::write_file(d / "file", "x");
  auto w = test::run(tsim("calibrate " + d / "cal.yaml --quiet --threads 1 --overlay " + d / "ov.yaml --report " + d / "file/r.md"));
  CHECK(w.code == 1);
  CHECK(w.out.find("cannot write " + d / "file/r.md") != std::string::npos);
  CHECK(w.out.find("nothing was run") != std::string::npos);  // checked before the fit, not after it
  CHECK_FALSE(fs::exists(d / "ov.yaml"));
}
