// The command line: exit codes, output safety, interruption, checkpoints and resume.
#include <doctest/doctest.h>

#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "sim/engine/parallel.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;
namespace fs = std::filesystem;

namespace {

const std::string kSmall = test::source_dir() + "/tests/data/scenarios/small.yaml";

std::string tsim(const std::string& args) { return test::binary() + " " + args; }

bool same_data(const std::string& a, const std::string& b, std::string& first_diff) {
  auto da = test::datasets(a), db = test::datasets(b);
  for (const auto& [name, v] : da) {
    if (name == "/metadata/command_line") continue;
    auto it = db.find(name);
    if (it == db.end() || it->second.size() != v.size() ||
        (!v.empty() && std::memcmp(v.data(), it->second.data(), v.size() * sizeof(double)) != 0)) {
      first_diff = name;
      return false;
    }
  }
  if (da.size() != db.size()) {
    first_diff = "(different dataset sets)";
    return false;
  }
  return true;
}

bool leftovers(const test::TempDir& d) {
  for (const auto& e : fs::directory_iterator(d.path))
    if (e.path().filename().string().find(".partial") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("cli: --help, --version and misuse") {
  auto h = test::run(tsim("--help"));
  CHECK(h.code == 0);
  CHECK(h.out.find("talentsim run SCENARIO.yaml -o OUT.h5") != std::string::npos);
  auto v = test::run(tsim("--version"));
  CHECK(v.code == 0);
  CHECK(v.out.find("talentsim 0.") != std::string::npos);
  CHECK(test::run(tsim("frobnicate")).code == 2);
  CHECK(test::run(tsim("run " + kSmall + " --no-such-option")).code == 2);
  CHECK(test::run(tsim("run " + kSmall)).code == 2);  // -o missing
}

TEST_CASE("cli: a run writes a complete file, refuses to overwrite it without --force, and summarize reads it") {
  test::TempDir d;
  const std::string out = d / "run.h5";
  auto r = test::run(tsim("run " + kSmall + " -o " + out + " --steps 12 --quiet"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.empty());  // --quiet and not a terminal: nothing printed
  auto f = h5::File::open_read(out);
  CHECK(f.root().attr_string("status") == "complete");
  CHECK(f.root().attr_int("last_step") == 11);
  f.close();
  const auto before = fs::last_write_time(out);
  auto again = test::run(tsim("run " + kSmall + " -o " + out + " --steps 12 --quiet"));
  CHECK(again.code == 1);
  CHECK(again.out.find("already exists") != std::string::npos);
  CHECK(fs::last_write_time(out) == before);
  CHECK(test::run(tsim("run " + kSmall + " -o " + out + " --steps 12 --quiet --force")).code == 0);
  auto s = test::run(tsim("summarize " + out));
  CHECK(s.code == 0);
  CHECK(s.out.find("Firms ranked by elite researchers") != std::string::npos);
  CHECK(s.out.find("Visa outcomes") != std::string::npos);
  CHECK(test::run(tsim("summarize " + d / "missing.h5")).code == 2);
  CHECK_FALSE(leftovers(d));
}

TEST_CASE("cli: an unwritable or missing output directory is a clear error and leaves nothing behind") {
  test::TempDir d;
  auto r = test::run(tsim("run " + kSmall + " -o " + d / "no/such/dir/out.h5 --quiet --steps 12"));
  CHECK(r.code == 1);
  CHECK(r.out.find("does not exist") != std::string::npos);
  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::create_directory(d / "ro");
    fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    auto w = test::run(tsim("run " + kSmall + " -o " + d / "ro/out.h5 --quiet --steps 12"));
    CHECK(w.code == 1);
    CHECK(w.out.find("not writable") != std::string::npos);
  }
}

TEST_CASE("cli: an interrupted run is marked interrupted with its last step and exits non-zero") {
  test::TempDir d;
  const std::string out = d / "int.h5";
  auto r = test::run(tsim("run " + kSmall + " -o " + out + " --quiet --stop-after 4"));
  CHECK(r.code == 130);
  auto f = h5::File::open_read(out);
  CHECK(f.root().attr_string("status") == "interrupted");
  CHECK(f.root().attr_int("last_step") == 4);
  CHECK(f.root().open_group("series").shape("stocks")[0] == 5);
  CHECK_FALSE(leftovers(d));
}

TEST_CASE("cli: a run resumed from a checkpoint after a crash equals an uninterrupted run") {
  test::TempDir d;
  const std::string full = d / "full.h5", crashed = d / "crashed.h5";
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + full + " --quiet --threads 2")).code == 0);
  // Checkpoints at steps 8 and 16; the process dies after step 12 leaving a partial file.
  auto c = test::run(tsim("run " + kSmall + " -o " + crashed + " --quiet --checkpoint-every 8 --abort-after 12"));
  REQUIRE(c.code == 1);
  CHECK_FALSE(fs::exists(crashed));
  CHECK(leftovers(d));
  auto r = test::run(tsim("resume " + crashed + ".ckpt --quiet --threads 1"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  std::string diff;
  CHECK_MESSAGE(same_data(full, crashed, diff), "first difference: " << diff);
  CHECK_FALSE(leftovers(d));
}

TEST_CASE("cli: an interrupted run with checkpoints resumes where it stopped and equals an uninterrupted run") {
  test::TempDir d;
  const std::string full = d / "full.h5", part = d / "part.h5";
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + full + " --quiet")).code == 0);
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + part + " --quiet --checkpoint-every 100 --checkpoint " + d / "ck.h5" +
                         " --stop-after 9")).code == 130);
  auto r = test::run(tsim("resume " + d / "ck.h5 --quiet --threads 2"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  std::string diff;
  CHECK_MESSAGE(same_data(full, part, diff), "first difference: " << diff);
}

TEST_CASE("cli: spin-up cache: a run that loads its spin-up equals one that simulates it, and the key decides who shares") {
  // --spin-up-cache DIR: the first run saves its spin-up, the next ones with the same scenario
  // before its start (any horizon, any timeline after it), seed and program load it. Results
  // must be exactly those of a run without the cache; a damaged file is ignored and replaced.
  test::TempDir d;
  const std::string cache = d / "cache", base = " --quiet --threads 2 --set run.spin_up=36";
  auto files = [&] {
    std::set<std::string> out;
    if (fs::exists(cache))
      for (const auto& e : fs::directory_iterator(cache)) out.insert(e.path().filename().string());
    return out;
  };
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + d / "plain.h5" + base)).code == 0);
  CHECK(files().empty());
  auto miss = test::run(tsim("run " + kSmall + " -o " + d / "miss.h5 --threads 2 --set run.spin_up=36 --spin-up-cache " + cache));
  REQUIRE_MESSAGE(miss.code == 0, miss.out);
  CHECK(miss.out.find("spin-up saved to the cache") != std::string::npos);
  REQUIRE(files().size() == 1);
  // A kept spin-up is not a run's checkpoint: resume refuses it.
  auto resume = test::run(tsim("resume " + (fs::path(cache) / *files().begin()).string() + " --quiet"));
  CHECK(resume.code == 2);
  CHECK_MESSAGE(resume.out.find("kept spin-up") != std::string::npos, resume.out);
  auto hit = test::run(tsim("run " + kSmall + " -o " + d / "hit.h5 --threads 1 --set run.spin_up=36 --spin-up-cache " + cache));
  REQUIRE_MESSAGE(hit.code == 0, hit.out);
  CHECK(hit.out.find("spin-up of 36 months from the cache") != std::string::npos);
  std::string diff;
  CHECK_MESSAGE(same_data(d / "plain.h5", d / "miss.h5", diff), "first difference: " << diff);
  CHECK_MESSAGE(same_data(d / "plain.h5", d / "hit.h5", diff), "first difference: " << diff);
  // Another horizon and a timeline after the start share the spin-up (and still equal a run
  // without the cache); another seed or a setting before the start does not.
  const std::string later = " --steps 10 --set 'events[1].value=200000'";  // the petition fee set at step 3
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + d / "later_plain.h5" + base + later)).code == 0);
  auto shared = test::run(tsim("run " + kSmall + " -o " + d / "later.h5" + base + later + " --spin-up-cache " + cache));
  REQUIRE_MESSAGE(shared.code == 0, shared.out);
  CHECK(files().size() == 1);
  CHECK_MESSAGE(same_data(d / "later_plain.h5", d / "later.h5", diff), "first difference: " << diff);
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + d / "seed.h5" + base + " --seed 5 --spin-up-cache " + cache)).code == 0);
  CHECK(files().size() == 2);
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + d / "lambda.h5" + base + " --set market.lambda1=0.05 --spin-up-cache " + cache)).code == 0);
  CHECK(files().size() == 3);
  // A damaged file is ignored (the run spins up and equals the plain run) and replaced.
  for (const auto& name : files()) {
    const std::string f = (fs::path(cache) / name).string();
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(std::streamoff(fs::file_size(f) / 2));
    const char junk[64] = "this is not what was written here, not at all, no it is not!!";
    io.write(junk, sizeof junk);
  }
  auto damaged = test::run(tsim("run " + kSmall + " -o " + d / "damaged.h5 --threads 2 --set run.spin_up=36 --spin-up-cache " + cache));
  REQUIRE_MESSAGE(damaged.code == 0, damaged.out);
  CHECK(damaged.out.find("ignored") != std::string::npos);
  CHECK(damaged.out.find("spin-up saved to the cache") != std::string::npos);
  CHECK_MESSAGE(same_data(d / "plain.h5", d / "damaged.h5", diff), "first difference: " << diff);
  auto again = test::run(tsim("run " + kSmall + " -o " + d / "again.h5 --threads 2 --set run.spin_up=36 --spin-up-cache " + cache));
  CHECK(again.out.find("from the cache") != std::string::npos);
  CHECK_MESSAGE(same_data(d / "plain.h5", d / "again.h5", diff), "first difference: " << diff);
  // Without a spin-up there is nothing to keep.
  test::TempDir e;
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + e / "none.h5 --quiet --set run.spin_up=0 --spin-up-cache " + e / "c")).code == 0);
  CHECK_FALSE(fs::exists(e / "c"));
}

TEST_CASE("cli: a damaged checkpoint is refused clearly") {
  test::TempDir d;
  const std::string out = d / "x.h5", ck = d / "x.ckpt";
  REQUIRE(test::run(tsim("run " + kSmall + " -o " + out + " --quiet --checkpoint-every 4 --checkpoint " + ck +
                         " --abort-after 5")).code == 1);
  REQUIRE(fs::exists(ck));
  // 1. flip bytes in the middle of the file
  const std::string flipped = d / "flipped.ckpt";
  fs::copy_file(ck, flipped);
  {
    std::fstream f(flipped, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(fs::file_size(flipped) * 2 / 3));
    const char junk[64] = "this is not what was written here, not at all, no it is not!!";
    f.write(junk, sizeof junk);
  }
  auto r1 = test::run(tsim("resume " + flipped + " --quiet"));
  CHECK(r1.code == 2);
  CHECK(r1.out.find("damaged") != std::string::npos);
  // 2. truncated
  const std::string cut = d / "cut.ckpt";
  fs::copy_file(ck, cut);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  auto r2 = test::run(tsim("resume " + cut + " --quiet"));
  CHECK(r2.code == 2);
  CHECK(r2.out.find("damaged") != std::string::npos);
  // 3. not a checkpoint at all
  test::write_file(d / "text.ckpt", "hello");
  auto r3 = test::run(tsim("resume " + d / "text.ckpt --quiet"));
  CHECK(r3.code == 2);
  auto r4 = test::run(tsim("resume " + d / "absent.ckpt --quiet"));
  CHECK(r4.code == 2);
  CHECK(r4.out.find("no checkpoint file") != std::string::npos);
}

TEST_CASE("cli: --check runs the invariants after every step") {
  test::TempDir d;
  auto r = test::run(tsim("run " + kSmall + " -o " + d / "c.h5 --quiet --check"));
  CHECK_MESSAGE(r.code == 0, r.out);
}

TEST_CASE("cli: a full disk gives a clear error, exit 1, no partial file, and other files untouched") {
  // A file-size limit with SIGXFSZ ignored makes writes fail with EFBIG, as a full disk would.
  test::TempDir d;
  test::write_file(d / "keep.txt", "the user's file");
  auto r = test::run("bash -c \"trap '' XFSZ; ulimit -f 1000; " + tsim("run " + kSmall + " -o " + d / "big.h5 --quiet") + "\"");
  CHECK(r.code == 1);
  CHECK(r.out.find("big.h5") != std::string::npos);  // one line naming the file and the cause
  CHECK(r.out.find("File too large") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "big.h5"));
  CHECK_FALSE(leftovers(d));
  CHECK(test::read_file(d / "keep.txt") == "the user's file");
}

// ---------------------------------------------------------------------------------------------
// Nothing lost, nothing overwritten (issue 18): each case failed before its fix.

namespace {

/// A valid scenario of 2,000 researchers (a step takes well under a millisecond).
const char* kTiny = R"(run: {steps: 3}
population: {researchers: 2000}
firms:
  - {name: A, hq: US, headcount: 900}
  - {name: B, hq: CN, headcount: 900}
)";

std::vector<std::string> names_in(const test::TempDir& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d.path)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("cli: -o '' and -o DIR are refused before the run starts, and DIR is left alone") {
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  auto e = test::run(tsim("run " + d / "tiny.yaml -o '' --quiet"));
  CHECK(e.code == 2);
  CHECK(e.out.find("output file: an empty path was given; nothing was run") != std::string::npos);
  fs::create_directory(d / "dir");
  test::write_file(d / "dir/keep.txt", "kept");
  for (const std::string flags : {"", " --force"}) {
    auto r = test::run(tsim("run " + d / "tiny.yaml -o " + d / "dir" + flags + " --quiet"));
    CHECK(r.code == 2);
    CHECK(r.out.find("is a directory; give a file name") != std::string::npos);
    CHECK(test::read_file(d / "dir/keep.txt") == "kept");
  }
  CHECK(names_in(d) == std::vector<std::string>{"dir", "tiny.yaml"});
}

TEST_CASE("cli: an output file that appears while the run goes is not replaced without --force") {
  // Run 1 writes out.h5 while this run is going (another run with the same -o): at the end the
  // rename must not replace it. The run is ended by SIGINT, so no timing is involved: finishing
  // an interrupted run renames its file the same way.
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  const std::string out = d / "out.h5";
  auto c = test::spawn({test::binary(), "run", d / "tiny.yaml", "-o", out, "--steps", "1000000", "--quiet"}, d / "log.txt");
  REQUIRE(test::wait_for_file(d.path.string(), ".partial-"));
  test::write_file(out, "the other run's file");
  ::usleep(200000);
  ::kill(c.pid, SIGINT);
  const int code = c.wait();
  const std::string log = c.output();
  INFO(log);
  CHECK(code == 1);
  CHECK(test::read_file(out) == "the other run's file");
  CHECK(log.find("appeared while this run was going") != std::string::npos);
  // This run's file is kept next to it, under its run id, marked as it ended.
  std::string kept;
  for (const auto& n : names_in(d))
    if (n.starts_with("out.") && n.ends_with(".h5") && n != "out.h5") kept = n;
  REQUIRE_FALSE(kept.empty());
  CHECK(log.find(kept) != std::string::npos);
  auto f = h5::File::open_read(d / kept);
  CHECK(f.root().attr_string("status") == "interrupted");
  CHECK(kept == "out." + f.root().attr_string("run_id").substr(0, 8) + ".h5");
  f.close();
  CHECK_FALSE(leftovers(d));

  SUBCASE("with --force it is replaced") {
    auto c2 = test::spawn({test::binary(), "run", d / "tiny.yaml", "-o", out, "--steps", "1000000", "--quiet", "--force"},
                          d / "log2.txt");
    REQUIRE(test::wait_for_file(d.path.string(), ".partial-"));
    test::write_file(out, "the other run's file");
    ::usleep(200000);
    ::kill(c2.pid, SIGINT);
    CHECK(c2.wait() == 130);
    auto g = h5::File::open_read(out);
    CHECK(g.root().attr_string("status") == "interrupted");
  }
}

TEST_CASE("cli: a real SIGINT or SIGTERM ends the run after the current step: exit 130, file marked interrupted") {
  for (const int sig : {SIGINT, SIGTERM}) {
    INFO("signal " << sig);
    test::TempDir d;
    test::write_file(d / "tiny.yaml", kTiny);
    const std::string out = d / "sig.h5";
    auto c = test::spawn({test::binary(), "run", d / "tiny.yaml", "-o", out, "--steps", "1000000", "--quiet"}, d / "log.txt");
    REQUIRE(test::wait_for_file(d.path.string(), ".partial-"));
    ::usleep(300000);  // some steps run (the handler is installed before the file is created)
    ::kill(c.pid, sig);
    const int code = c.wait();
    INFO(c.output());
    CHECK(code == 130);
    CHECK(c.output().find("interrupted after step") != std::string::npos);
    auto f = h5::File::open_read(out);
    CHECK(f.root().attr_string("status") == "interrupted");
    const int64_t last = f.root().attr_int("last_step");
    CHECK(last >= 0);
    CHECK(last < 1000000 - 1);
    CHECK(f.root().open_group("series").shape("step")[0] == hsize_t(last + 1));
    f.close();
    CHECK_FALSE(leftovers(d));
  }
}

TEST_CASE("cli: --checkpoint refuses to overwrite a file without --force and checks its directory before the run") {
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  test::write_file(d / "notes.txt", "the user's notes");
  const std::string run = "run " + d / "tiny.yaml -o " + d / "out.h5 --quiet --checkpoint-every 1 ";
  auto r = test::run(tsim(run + "--checkpoint " + d / "notes.txt"));
  CHECK(r.code == 1);
  CHECK(r.out.find("checkpoint file '" + d / "notes.txt" + "' already exists (use --force to overwrite it); nothing was run") !=
        std::string::npos);
  CHECK(test::read_file(d / "notes.txt") == "the user's notes");
  CHECK(names_in(d) == std::vector<std::string>{"notes.txt", "tiny.yaml"});
  // The default checkpoint OUT.h5.ckpt is protected the same way.
  test::write_file(d / "out.h5.ckpt", "an older checkpoint");
  CHECK(test::run(tsim(run)).code == 1);
  CHECK(test::read_file(d / "out.h5.ckpt") == "an older checkpoint");
  // A checkpoint directory that does not exist (or is a file): refused before the run.
  auto m = test::run(tsim(run + "--checkpoint " + d / "no/such/dir/ck"));
  CHECK(m.code == 1);
  CHECK(m.out.find("the directory of the checkpoint file, '" + d / "no/such/dir" + "', does not exist") != std::string::npos);
  auto f = test::run(tsim(run + "--checkpoint " + d / "notes.txt/ck"));
  CHECK(f.code == 1);
  CHECK(f.out.find("is not a directory") != std::string::npos);
  CHECK(test::run(tsim(run + "--checkpoint " + d / "out.h5")).code == 2);  // the output itself
  CHECK(test::run(tsim(run + "--checkpoint-every 0")).code == 2);
  CHECK(names_in(d) == std::vector<std::string>{"notes.txt", "out.h5.ckpt", "tiny.yaml"});
  // With --force both are replaced.
  CHECK(test::run(tsim(run + "--checkpoint " + d / "notes.txt --stop-after 1 --force")).code == 130);
  CHECK(h5::File::open_read(d / "notes.txt").root().attr_string("creator") == "talentsim checkpoint");
}

TEST_CASE("cli: resume finds its output by absolute path and run id, from any directory, and refuses another run's file") {
  test::TempDir d;
  fs::create_directories(d / "a");
  fs::create_directories(d / "b");
  test::write_file(d / "a/tiny.yaml", kTiny);
  const auto in = [&](const std::string& dir, const std::string& cmd) { return test::run("cd " + dir + " && " + tsim(cmd)); };
  // A run with a relative -o in a/, interrupted with a checkpoint.
  REQUIRE(in(d / "a", "run tiny.yaml -o out.h5 --steps 12 --quiet --checkpoint ck.h5 --stop-after 4").code == 130);
  REQUIRE(in(d / "a", "run tiny.yaml -o full.h5 --steps 12 --quiet").code == 0);
  {
    auto ck = h5::File::open_read(d / "a/ck.h5");
    auto out = h5::File::open_read(d / "a/out.h5");
    CHECK(ck.root().attr_string("output") == d / "a/out.h5");  // absolute
    CHECK(ck.root().attr_string("run_id").size() == 32);
    CHECK(ck.root().attr_string("run_id") == out.root().attr_string("run_id"));
  }
  SUBCASE("resumed from another directory, it completes the same file") {
    auto r = in(d / "b", "resume " + d / "a/ck.h5 --quiet");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    std::string diff;
    CHECK_MESSAGE(same_data(d / "a/full.h5", d / "a/out.h5", diff), "first difference: " << diff);
    CHECK_FALSE(fs::exists(d / "b/out.h5"));
  }
  SUBCASE("another interrupted run's file at that path is refused and left as it was") {
    fs::rename(d / "a/out.h5", d / "a/mine.h5");
    REQUIRE(in(d / "a", "run tiny.yaml -o out.h5 --steps 12 --quiet --seed 9 --stop-after 2").code == 130);
    const std::string before = test::read_file(d / "a/out.h5");
    auto r = in(d / "b", "resume " + d / "a/ck.h5 --quiet");
    CHECK(r.code == 2);
    CHECK(r.out.find("belongs to another run") != std::string::npos);
    CHECK(test::read_file(d / "a/out.h5") == before);
    CHECK(h5::File::open_read(d / "a/out.h5").root().attr_string("status") == "interrupted");
    // Its own file back in place, it resumes.
    fs::rename(d / "a/out.h5", d / "a/other.h5");
    fs::rename(d / "a/mine.h5", d / "a/out.h5");
    CHECK(in(d / "b", "resume " + d / "a/ck.h5 --quiet").code == 0);
  }
}

TEST_CASE("cli: a full disk at file creation leaves no partial file, and the error is one line (the stack with --verbose)") {
  // A 1 KiB file-size limit (SIGXFSZ ignored): HDF5's first writes fit, the metadata does not,
  // so the writer fails while creating the file, as on a full disk. The output goes through a
  // pipe to `cat` outside the limit.
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  const auto limited = [&](const std::string& flags) {
    return test::run("(bash -c \"trap '' XFSZ; ulimit -f 1; exec " + tsim("run " + d / "tiny.yaml -o " + d / "x.h5 --quiet" + flags) +
                     "\"; echo rc=$?) 2>&1 | cat");
  };
  auto r = limited("");
  INFO(r.out);
  CHECK(r.out.find("rc=1") != std::string::npos);
  CHECK(r.out.find("File too large (--verbose shows HDF5's error stack)") != std::string::npos);
  CHECK(r.out.find("HDF5 error stack") == std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);  // the message and rc=1
  CHECK(names_in(d) == std::vector<std::string>{"tiny.yaml"});
  auto v = limited(" --verbose");
  CHECK(v.out.find("HDF5 error stack:") != std::string::npos);
  CHECK(names_in(d) == std::vector<std::string>{"tiny.yaml"});
}

TEST_CASE("cli: a full file system (a 256 KiB tmpfs) fails the run with one line and leaves nothing behind") {
  test::TempDir d;
  fs::create_directories(d / "mnt");
  if (test::run("mount -t tmpfs -o size=256k tmpfs " + d / "mnt").code != 0) {
    MESSAGE("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN); the ulimit case covers the code path");
    return;
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)test::run("umount " + dir); }
  } unmount{d / "mnt"};
  test::write_file(d / "mnt/keep.txt", "the user's file");
  auto r = test::run(tsim("run " + test::source_dir() + "/tests/data/scenarios/small.yaml -o " + d / "mnt/x.h5 --quiet"));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("No space left on device (--verbose shows HDF5's error stack)") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d / "mnt")) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"keep.txt"});
  CHECK(test::read_file(d / "mnt/keep.txt") == "the user's file");
}

TEST_CASE("cli: a step listed twice in output.snapshots is written once") {
  test::TempDir d;
  test::write_file(d / "s.yaml", std::string(kTiny) + "output: {snapshots: [1, 1, 1, 0]}\n");
  auto r = test::run(tsim("run " + d / "s.yaml -o " + d / "s.h5 --quiet"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  auto f = h5::File::open_read(d / "s.h5");
  CHECK(f.root().open_group("snapshots").children() == std::vector<std::string>{"step_000000", "step_000001"});
}

TEST_CASE("cli: /firms holds the values of step 0 after its events, and threads the threads used") {
  test::TempDir d;
  test::write_file(d / "e.yaml", std::string(kTiny) +
                                     "events:\n"
                                     "  - {type: set, at: 0, key: firms.A.pay.max_package, value: \"5000000\"}\n"
                                     "  - {type: set, at: 2, key: firms.B.pay.max_package, value: \"7000000\"}\n");
  auto r = test::run(tsim("run " + d / "e.yaml -o " + d / "e.h5 --quiet --threads 1"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  auto f = h5::File::open_read(d / "e.h5");
  const auto pkg = f.root().open_group("firms").read<double>("max_package");
  REQUIRE(pkg.size() == 2);
  CHECK(pkg[0] == 5e6);  // set at step 0: what the run used from the start
  CHECK(pkg[1] == 1e8);  // set at step 2: later, in the events (the default until then)
  CHECK(f.root().attr_int("threads") == 1);
}

TEST_CASE("cli: --threads caps the worker threads and the file records the threads used") {
  test::TempDir d;
  test::write_file(d / "tiny.yaml", kTiny);
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  int k = 0;
  for (const auto& [flag, expect] : std::vector<std::pair<std::string, int64_t>>{
           {"--threads 1", 1}, {"--threads 2", std::min<int64_t>(2, cores)}, {"--threads 512", cores}, {"", cores}}) {
    INFO(flag);
    const std::string out = d / ("t" + std::to_string(k++) + ".h5");
    auto r = test::run(tsim("run " + d / "tiny.yaml -o " + out + " " + flag));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK(r.out.find(std::to_string(expect) + " threads") != std::string::npos);
    CHECK(h5::File::open_read(out).root().attr_int("threads") == expect);
  }
  // What --threads sets (tbb::global_control) caps the threads that run the parallel loops.
  for (const std::size_t cap : {std::size_t(1), std::size_t(2)}) {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, cap);
    std::mutex m;
    std::set<std::thread::id> seen;
    engine::for_chunks(std::size_t(1) << 22, [&](std::size_t, std::size_t, std::size_t) {
      std::lock_guard lk(m);
      seen.insert(std::this_thread::get_id());
    });
    CHECK(seen.size() <= cap);
  }
}
