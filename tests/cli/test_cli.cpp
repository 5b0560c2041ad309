// The command line: exit codes, output safety, interruption, checkpoints and resume.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

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
  CHECK(r.out.find("write") != std::string::npos);
  CHECK(r.out.find("File too large") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "big.h5"));
  CHECK_FALSE(leftovers(d));
  CHECK(test::read_file(d / "keep.txt") == "the user's file");
}
