// `talentsim sweep`, `compare` and `export` through the real binary: results that do not depend
// on --jobs or --threads, resuming after a kill or an interrupt, per-run files, and the tables.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "sim/experiment/sweep_file.hpp"
#include "tests/experiment/sweep_support.hpp"
#include "tests/support/helpers.hpp"

namespace fs = std::filesystem;
using ts::test::TempDir;

using namespace ts::test::sweep;

namespace {

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("sweep: the file is the same with --jobs 1 and --jobs 2, and at any thread count") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(3));
  const auto a = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "a.h5") + " --jobs 1 --threads 1 --quiet");
  INFO(a.out);
  REQUIRE(a.code == 0);
  const auto b = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "b.h5") + " --jobs 2 --threads 2 --quiet");
  INFO(b.out);
  REQUIRE(b.code == 0);
  const auto c = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "c.h5") + " --jobs 1 --threads 2 --quiet");
  REQUIRE(c.code == 0);
  check_same(dir / "a.h5", dir / "b.h5");
  check_same(dir / "a.h5", dir / "c.h5");
  const auto runs = ts::exp::read_runs(dir / "a.h5");
  CHECK(runs.id.size() == 12);
  for (auto s : runs.status) CHECK(s == 1);
  // nothing but the sweep files is left behind: no journal, no partial file
  CHECK(files_in(dir.path) == std::vector<std::string>{"a.h5", "b.h5", "c.h5", "exp.yaml"});
  // more jobs than threads is refused
  const auto bad = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "d.h5") + " --jobs 3 --threads 2");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--jobs 3 is more than the 2 threads of --threads") != std::string::npos);
  // an existing output is not overwritten
  const auto again = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "a.h5") + " --quiet");
  CHECK(again.code == 2);
  CHECK(again.out.find("already exists") != std::string::npos);
}

TEST_CASE("sweep: killed at a random moment, --resume gives the same file as an uninterrupted sweep") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(16));
  const auto whole = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "whole.h5") + " --quiet --threads 1");
  REQUIRE(whole.code == 0);
  std::random_device rd;
  const unsigned seed = rd();
  std::mt19937 gen(seed);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const double delay = std::uniform_real_distribution<double>(0.3, 1.6)(gen);
    INFO("kill after " << delay << " s (random seed " << seed << ", attempt " << attempt << ")");
    const std::string out = dir / ("killed" + std::to_string(attempt) + ".h5");
    const std::string cmd = "(" + q(ts::test::binary()) + " sweep " + q(dir / "exp.yaml") + " -o " + q(out) +
                            " --quiet --threads 1 --jobs 1 & pid=$!; sleep " + std::to_string(delay) +
                            "; kill -9 $pid 2>/dev/null; wait $pid; echo exit=$?)";
    const auto killed = ts::test::run(cmd);
    INFO(killed.out);
    const std::string journal = dir / ("." + fs::path(out).filename().string() + ".journal");
    if (killed.out.find("exit=0") != std::string::npos) {
      MESSAGE("the sweep finished before the kill; nothing to resume in this attempt");
      continue;
    }
    CHECK(!fs::exists(out));  // a killed sweep leaves no file that looks finished
    REQUIRE(fs::exists(journal));
    const auto resumed = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(out) + " --resume --quiet --threads 2 --jobs 2");
    INFO(resumed.out);
    REQUIRE(resumed.code == 0);
    CHECK(!fs::exists(journal));
    check_same(dir / "whole.h5", out);
    // a second resume has nothing to do
    const auto twice = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(out) + " --resume --quiet");
    CHECK(twice.code == 2);
    CHECK(twice.out.find("nothing to resume") != std::string::npos);
  }
}

TEST_CASE("sweep: SIGINT marks the file interrupted (exit 130); --resume finishes it; a changed experiment is refused") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(16));
  const auto whole = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "whole.h5") + " --quiet --threads 1");
  REQUIRE(whole.code == 0);
  const std::string out = dir / "int.h5";
  const auto interrupted = ts::test::run("(" + q(ts::test::binary()) + " sweep " + q(dir / "exp.yaml") + " -o " + q(out) +
                                         " --threads 1 & pid=$!; sleep 0.6; kill -INT $pid; wait $pid; echo exit=$?)");
  INFO(interrupted.out);
  REQUIRE(interrupted.out.find("exit=130") != std::string::npos);
  CHECK(interrupted.out.find("--resume") != std::string::npos);
  {
    auto f = ts::h5::File::open_read(out);
    CHECK(f.root().attr_string("status") == "interrupted");
    CHECK(f.root().attr_int("runs_pending") > 0);
  }
  // the experiment changed: refused, nothing touched
  ts::test::write_file(dir / "exp2.yaml", experiment(16, "\n# an edit\n"));
  const auto other = talentsim("sweep " + q(dir / "exp2.yaml") + " -o " + q(out) + " --resume --quiet");
  CHECK(other.code == 2);
  CHECK(other.out.find("was started with another experiment") != std::string::npos);
  CHECK(fs::exists(out));
  // a fresh sweep onto an unfinished one is refused too
  const auto fresh = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(out) + " --quiet");
  CHECK(fresh.code == 2);
  CHECK(fresh.out.find("--resume") != std::string::npos);
  const auto resumed = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(out) + " --resume --quiet --jobs 2 --threads 2");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  check_same(dir / "whole.h5", out);
}

TEST_CASE("sweep: a failing run is isolated: recorded with its error, the rest done, exit 1 with a summary; --retry-failed reruns it") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(2));
  const auto r = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "f.h5") + " --fail-run 5");
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("1 run failed") != std::string::npos);
  CHECK(r.out.find("run 5 (point 1, replication 1, variant small, seed") != std::string::npos);
  const auto runs = ts::exp::read_runs(dir / "f.h5");
  for (std::size_t i = 0; i < runs.id.size(); ++i) {
    INFO("run " << i);
    CHECK(runs.status[i] == (i == 5 ? 2 : 1));
    CHECK(runs.error[i].empty() == (i != 5));
  }
  CHECK(runs.error[5].find("this run fails") != std::string::npos);
  {
    auto f = ts::h5::File::open_read(dir / "f.h5");
    CHECK(f.root().attr_string("status") == "complete");
    CHECK(f.root().open_group("summary").read<int64_t>("n")[1 * 5] == 1);  // point 1: one replication left
  }
  // The journal is kept for the failed run: --resume alone has nothing to do, --retry-failed reruns it.
  const auto plain = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "f.h5") + " --resume --quiet");
  CHECK(plain.code == 2);
  CHECK(plain.out.find("1 run failed: add --retry-failed") != std::string::npos);
  const auto retried = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "f.h5") + " --resume --retry-failed --quiet");
  INFO(retried.out);
  REQUIRE(retried.code == 0);
  CHECK(!fs::exists(dir / ".f.h5.journal"));
  const auto clean = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "clean.h5") + " --quiet");
  REQUIRE(clean.code == 0);
  check_same(dir / "clean.h5", dir / "f.h5");
}

TEST_CASE("sweep keep: series records its runs folder relative to the sweep file, wherever it was run from") {
  // `-o out/s.h5` from the parent folder: the process writes out/s.runs; the file must say
  // "s.runs" (its readers resolve it beside the file), not "out/s.runs" (read as out/out/s.runs).
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(1, "keep: series\n"));
  fs::create_directories(dir.path / "out");
  const auto r = ts::test::run("cd " + q(dir.path.string()) + " && " + q(ts::test::binary()) +
                               " sweep exp.yaml -o out/s.h5 --quiet --threads 1");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string rd = ts::h5::File::open_read(dir / "out/s.h5").root().attr_string("runs_dir");
  CHECK(rd == "s.runs");
  const auto runs = ts::exp::read_runs(dir / "out/s.h5");
  REQUIRE(!runs.file.empty());
  for (const auto& f : runs.file) CHECK(fs::exists(dir.path / "out" / rd / f));
}

TEST_CASE("sweep keep: series writes one compressed run file per run into the runs folder; talentsim run reproduces it") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(1, "keep: series\nruns_dir: per_run\n"));
  const auto r = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "s.h5") + " --quiet --jobs 2 --threads 2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto runs = ts::exp::read_runs(dir / "s.h5");
  REQUIRE(runs.file.size() == 4);
  CHECK(files_in(dir.path / "per_run") == std::vector<std::string>{"run_000000.h5", "run_000001.h5", "run_000002.h5", "run_000003.h5"});
  CHECK(runs.file[3] == "run_000003.h5");
  // Run 3 again with `talentsim run` and the overrides its file records: the same series.
  const std::string run3 = (dir.path / "per_run" / "run_000003.h5").string();
  auto f = ts::h5::File::open_read(run3);
  CHECK(f.root().attr_string("status") == "complete");
  const auto overrides = f.root().open_group("metadata").read_strings("overrides");
  CHECK(std::find(overrides.begin(), overrides.end(), "firms.OpenAI.retention.rule=bertrand") != overrides.end());
  std::string args = "run " + q(small()) + " -o " + q(dir / "again.h5") + " --quiet";
  for (const auto& o : overrides) args += " --set " + q(o);
  const auto again = talentsim(args);
  INFO(again.out);
  REQUIRE(again.code == 0);
  const auto x = ts::test::datasets(run3), y = ts::test::datasets(dir / "again.h5");
  int compared = 0;
  for (const auto& [name, v] : x)
    if (name.rfind("/series/", 0) == 0 || name.rfind("/firms/", 0) == 0 || name.rfind("/poaching/", 0) == 0) {
      INFO(name);
      CHECK(same_values(y.at(name), v));
      ++compared;
    }
  CHECK(compared > 20);
  CHECK(x.count("/events/step") == 1);
}

TEST_CASE("compare: the same runs and outcomes as the equivalent sweep; the table of paired differences") {
  TempDir dir;
  ts::test::write_file(dir / "fee.yaml", "extends: " + q(small()) + "\nregions: {US: {petition_fee: 200000}}\n");
  ts::test::write_file(dir / "outcomes.yaml", R"Y(outcomes:
  us_top_share: {metric: share, location: US, tier: [top, elite], label: "US top share (pp)", scale: 100, digits: 2}
  cn_approvals: {metric: visa, stat: approvals, origin: CN, digits: 0}
)Y");
  const auto c = talentsim("compare " + q(small()) + " " + q(dir / "fee.yaml") + " -o " + q(dir / "c.h5") +
                           " --replications 3 --steps 12 --seed 4 --outcomes " + q(dir / "outcomes.yaml") + " --jobs 2 --threads 2");
  INFO(c.out);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("| small (level, mean over seeds) |") != std::string::npos);
  CHECK(c.out.find("| `fee` (difference) |") != std::string::npos);
  CHECK(c.out.find("US top share (pp)") != std::string::npos);
  ts::test::write_file(dir / "exp.yaml", "base: " + q(small()) + "\nseed: 4\nreplications: 3\nsteps: 12\nvariants:\n  fee: {scenario: fee.yaml}\n" +
                                             ts::test::read_file(dir / "outcomes.yaml"));
  const auto s = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "s.h5") + " --quiet");
  REQUIRE(s.code == 0);
  const auto a = ts::exp::read_runs(dir / "c.h5"), b = ts::exp::read_runs(dir / "s.h5");
  CHECK(a.values == b.values);
  CHECK(a.seed == b.seed);
  // replication k has one seed in both variants (paired), differing between replications
  REQUIRE(a.seed.size() == 6);
  CHECK(a.seed[0] == a.seed[1]);
  CHECK(a.seed[2] == a.seed[3]);
  CHECK(a.seed[0] != a.seed[2]);
  // a scenario named like the base is refused
  const auto dup = talentsim("compare " + q(small()) + " " + q(small()) + " -o " + q(dir / "d.h5"));
  CHECK(dup.code == 2);
}

TEST_CASE("export: design, outcomes, summaries, differences as CSV; existing files are kept without --force") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(2, "variants:\n  fee: {set: [regions.US.petition_fee=200000]}\n"));
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "s.h5") + " --quiet").code == 0);
  const auto e = talentsim("export " + q(dir / "s.h5") + " --csv " + q(dir / "csv"));
  INFO(e.out);
  REQUIRE(e.code == 0);
  CHECK(files_in(dir.path / "csv") == std::vector<std::string>{"design.csv", "differences.csv", "outcomes.csv", "summaries.csv"});
  auto lines = [&](const std::string& f) {
    std::ifstream in(dir.path / "csv" / f);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  const auto design = lines("design.csv"), outcomes = lines("outcomes.csv");
  CHECK(design.size() == 1 + 4);
  CHECK(design[0] == "point,firms.Meta.pay.max_package,firms.OpenAI.retention.rule");
  CHECK(design[4] == "3,100000000,bertrand");
  CHECK(outcomes.size() == 1 + 16);
  CHECK(outcomes[0].rfind("run,point,replication,variant,seed,status,seconds,host,error,", 0) == 0);
  CHECK(lines("summaries.csv").size() == 1 + 2 * 4 * 5);
  CHECK(lines("differences.csv").size() == 1 + 4 * 5);
  const auto again = talentsim("export " + q(dir / "s.h5") + " --csv " + q(dir / "csv"));
  CHECK(again.code == 2);
  CHECK(again.out.find("already exists") != std::string::npos);
  CHECK(talentsim("export " + q(dir / "s.h5") + " --csv " + q(dir / "csv") + " --force").code == 0);
  CHECK(talentsim("export " + q(dir / "exp.yaml") + " --csv " + q(dir / "x")).code == 2);
}

TEST_CASE("sweep: runs that share a spin-up give the same results and files as runs with their own") {
  // Variants that differ in their timeline share the replication's spin-up; one whose timeline
  // opens another office (which exists, closed, from the start) must not share it.
  TempDir dir;
  const std::string base = "extends: " + q(small()) + "\nrun: {spin_up: 24}\n";
  ts::test::write_file(dir / "base.yaml", base);
  ts::test::write_file(dir / "raise.yaml", base + "events:\n  - {type: set, at: 2, key: market.lambda1, value: \"0.05\"}\n");
  ts::test::write_file(dir / "office.yaml",
                       base + "events:\n  - {type: office_open, at: 3, firm: Meta, region: CN, share: 0.2}\n");
  ts::test::write_file(dir / "exp.yaml", "base: base.yaml\nseed: 9\nreplications: 2\nsteps: 8\n"
                                         "variants:\n  raise: {scenario: raise.yaml}\n  office: {scenario: office.yaml}\n"
                                         "outcomes:\n  us_top_share: {metric: share, location: US, tier: [top, elite]}\n"
                                         "  meta_elite: {metric: firm_count, firm: Meta, tier: elite}\n"
                                         "keep: full\n");
  fs::create_directories(dir / "shared");
  fs::create_directories(dir / "own");
  const auto shared = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "shared/out.h5") + " --jobs 2 --threads 2 --quiet");
  INFO(shared.out);
  REQUIRE(shared.code == 0);
  const auto own = ts::test::run("TALENTSIM_SHARED_SPIN_UP=0 " + q(ts::test::binary()) + " sweep " + q(dir / "exp.yaml") +
                                 " -o " + q(dir / "own/out.h5") + " --jobs 2 --threads 2 --quiet");
  INFO(own.out);
  REQUIRE(own.code == 0);
  // (check_same() also compares fingerprints, which include the per-run files' folder.)
  const auto x = contents(dir / "shared/out.h5"), y = contents(dir / "own/out.h5");
  REQUIRE(x.size() == y.size());
  for (const auto& [name, v] : x) {
    CAPTURE(name);
    REQUIRE(y.count(name));
    CHECK(same_values(v, y.at(name)));
  }
  // Every run's own file too: series, events, snapshots, firms (not the run's identity and times).
  int compared = 0;
  for (const auto& name : files_in(dir / "shared/out.runs")) {
    CAPTURE(name);
    auto a = ts::test::datasets((fs::path(dir / "shared/out.runs") / name).string());
    auto b = ts::test::datasets((fs::path(dir / "own/out.runs") / name).string());
    a.erase("/metadata/command_line");
    b.erase("/metadata/command_line");
    REQUIRE(a.size() == b.size());
    for (const auto& [ds, v] : a) {
      CAPTURE(ds);
      REQUIRE(b.count(ds));
      CHECK(same_values(v, b.at(ds)));
    }
    ++compared;
  }
  CHECK(compared == 6);
  // Spin-ups kept in a folder between processes (--spin-up-cache): the first sweep saves the six
  // spin-ups it needs (three starts, as the variants replace small.yaml's timeline and its
  // office_open, × two seeds), the second loads them; both give the same file as runs with their
  // own spin-ups.
  const std::string cache = dir / "cache";
  std::map<std::string, fs::file_time_type> saved;  // the warm sweep loads them: nothing is written again
  for (const std::string name : {"cold", "warm"}) {
    CAPTURE(name);
    fs::create_directories(dir / name);
    const auto r = ts::test::run("TALENTSIM_SHARED_SPIN_UP=0 " + q(ts::test::binary()) + " sweep " + q(dir / "exp.yaml") +
                                 " -o " + q(dir / name + "/out.h5") + " --jobs 2 --threads 2 --quiet --spin-up-cache " + q(cache));
    INFO(r.out);
    REQUIRE(r.code == 0);
    const auto z = contents(dir / name + "/out.h5");
    REQUIRE(z.size() == y.size());
    for (const auto& [key, v] : z) {
      CAPTURE(key);
      if (key.find("fingerprint") != std::string::npos || key.find("runs_dir") != std::string::npos) continue;
      REQUIRE(y.count(key));
      CHECK(same_values(v, y.at(key)));
    }
    std::vector<std::string> kept;
    for (const auto& e : fs::directory_iterator(cache)) kept.push_back(e.path().filename().string());
    CHECK_MESSAGE(kept.size() == 6, doctest::toString(kept.size()) << " files: " << [&] {
      std::string all;
      for (const auto& k : kept) all += k + " ";
      return all;
    }());
    for (const auto& k : kept) {
      const auto t = fs::last_write_time(fs::path(cache) / k);
      if (name == std::string("warm")) CHECK(saved[k] == t);
      saved[k] = t;
    }
  }
}
