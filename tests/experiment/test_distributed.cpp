// Sweeps beyond one process (docs/clusters.md): `--shard i/N` job arrays joined by `talentsim
// merge`, and, in MPI builds, `mpirun -np N talentsim sweep`. Every way must give the file a single
// process writes (every dataset but the timings and host names), and a sweep killed mid-way (a
// shard, a worker rank) must resume to that same file.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "sim/experiment/shard.hpp"
#include "sim/experiment/sweep_file.hpp"
#include "tests/experiment/sweep_support.hpp"
#include "tests/support/helpers.hpp"

namespace fs = std::filesystem;
using ts::test::TempDir;
using namespace ts::test::sweep;

namespace {

/// Lines in a file (a journal: its header and one line per recorded run).
int lines_in(const std::string& path) {
  std::ifstream f(path);
  int n = 0;
  for (std::string l; std::getline(f, l);) ++n;
  return n;
}

/// Waits until `path` has at least `n` lines (up to `timeout_s`).
bool wait_for_lines(const std::string& path, int n, double timeout_s = 120) {
  for (int i = 0; i < int(timeout_s * 100); ++i) {
    if (fs::exists(path) && lines_in(path) >= n) return true;
    ::usleep(10000);
  }
  return false;
}

std::string shard_file(const TempDir& dir, const std::string& out, int i, int n) {
  return ts::exp::shard_path(dir / out, ts::exp::Shard{i, n});
}

}  // namespace

TEST_CASE("shards: --shard i/N runs its share into its own file, and merge joins them into the single-process file") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(3));  // 12 runs
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "one.h5") + " --quiet --threads 1").code == 0);
  for (int i = 0; i < 2; ++i) {
    const auto r = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "m.h5") + " --shard " + std::to_string(i) +
                             "/2 --threads 1");
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("shard " + std::to_string(i) + " of 2: 6 runs (r mod 2 = " + std::to_string(i) + ")") != std::string::npos);
    CHECK(r.out.find("talentsim merge") != std::string::npos);
  }
  CHECK(!fs::exists(dir / "m.h5"));
  for (int i = 0; i < 2; ++i) {
    const std::string f = shard_file(dir, "m.h5", i, 2);
    INFO(f);
    REQUIRE(fs::exists(f));
    auto h = ts::h5::File::open_read(f);
    CHECK(h.root().attr_string("status") == "complete");
    CHECK(h.root().attr_int("shard") == i);
    CHECK(h.root().attr_int("shards") == 2);
    CHECK(h.root().attr_int("runs_done") == 6);
    CHECK(h.root().attr_int("runs_pending") == 0);
    CHECK(!h.root().exists("summary"));  // the statistics come with merge
    const auto runs = ts::exp::read_runs(f);
    for (std::size_t r = 0; r < runs.status.size(); ++r) CHECK(runs.status[r] == (int(r % 2) == i ? 1 : 0));
  }
  // the shards' fingerprint is the single sweep's
  CHECK(ts::h5::File::open_read(shard_file(dir, "m.h5", 0, 2)).root().attr_string("fingerprint") ==
        ts::h5::File::open_read(dir / "one.h5").root().attr_string("fingerprint"));
  const auto table = talentsim("export " + q(shard_file(dir, "m.h5", 1, 2)) + " --table");
  CHECK(table.code == 2);
  CHECK(table.out.find("is shard 1 of 2") != std::string::npos);
  // merged in any order: the single process's file
  const auto m = talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 1, 2)) + " " + q(shard_file(dir, "m.h5", 0, 2)));
  INFO(m.out);
  REQUIRE(m.code == 0);
  CHECK(m.out.find("wrote " + dir / "m.h5" + ": 12 runs from 2 shards (12 done, 0 failed)") != std::string::npos);
  CHECK(m.out.find("| point |") != std::string::npos);  // the report, as the sweep prints it
  check_same(dir / "one.h5", dir / "m.h5");
  {
    auto h = ts::h5::File::open_read(dir / "m.h5");
    CHECK(h.root().attr_int("merged_shards") == 2);
    CHECK(!h.root().has_attr("shard"));
  }
  CHECK(talentsim("export " + q(dir / "m.h5") + " --table").code == 0);
  // an existing output is not replaced without --force
  const auto again = talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 0, 2)) + " " + q(shard_file(dir, "m.h5", 1, 2)));
  CHECK(again.code == 2);
  CHECK(again.out.find("already exists") != std::string::npos);
  CHECK(talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 0, 2)) + " " + q(shard_file(dir, "m.h5", 1, 2)) +
                  " --force --quiet")
            .code == 0);
  check_same(dir / "one.h5", dir / "m.h5");
  // bad --shard values
  for (const char* bad : {"2/2", "1", "a/2", "0/0", "-1/2"}) {
    INFO(bad);
    const auto r = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "x.h5") + " --shard=" + bad);
    CHECK(r.code == 2);
    CHECK(r.out.find("--shard") != std::string::npos);
  }
}

TEST_CASE("merge: missing, duplicated, foreign and unfinished shards are reported, never guessed, and nothing is written") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(2));  // 8 runs
  ts::test::write_file(dir / "other.yaml", experiment(2, "# another experiment\n"));
  for (int i = 0; i < 3; ++i)
    REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "s.h5") + " --shard " + std::to_string(i) + "/3 --quiet --threads 1")
                .code == 0);
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "t.h5") + " --shard 0/2 --quiet --threads 1").code == 0);
  REQUIRE(talentsim("sweep " + q(dir / "other.yaml") + " -o " + q(dir / "o.h5") + " --shard 1/3 --quiet --threads 1").code == 0);
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "whole.h5") + " --quiet --threads 1").code == 0);
  const std::string s0 = shard_file(dir, "s.h5", 0, 3), s1 = shard_file(dir, "s.h5", 1, 3), s2 = shard_file(dir, "s.h5", 2, 3);
  auto merge = [&](const std::string& shards) { return talentsim("merge " + q(dir / "out.h5") + " " + shards); };
  struct Case {
    std::string shards, expect;
  };
  const std::vector<Case> cases{
      {q(s0) + " " + q(s2), "shard 1 of 3 is missing (e.g. " + shard_file(dir, "out.h5", 1, 3)},
      {q(s0), "shards 1, 2 of 3 are missing"},
      {q(s0) + " " + q(s1) + " " + q(s1) + " " + q(s2), "shard 1 of 3 is given 2 times: " + s1 + ", " + s1},
      {q(s0) + " " + q(dir / "o.shard-1-of-3.h5") + " " + q(s2), "is a shard of another sweep than"},
      {q(s0) + " " + q(s1) + " " + q(s2) + " " + q(dir / "t.shard-0-of-2.h5"), "all shards must be of one split"},
      {q(s0) + " " + q(s1) + " " + q(dir / "whole.h5"), "is a whole sweep, not a shard"},
      {q(s0) + " " + q(s1) + " " + q(dir / "s.shard-2-of-3.h5.typo"), "does not exist"},
      {q(s0) + " " + q(s1) + " " + q(dir / "exp.yaml"), "cannot read"},
  };
  for (const auto& c : cases) {
    INFO(c.shards);
    const auto r = merge(c.shards);
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK(r.out.find(c.expect) != std::string::npos);
    CHECK(r.out.find("nothing was written") != std::string::npos);
    CHECK(!fs::exists(dir / "out.h5"));
  }
  CHECK(merge(q(s0) + " " + q(s1) + " " + q(s2) + " --quiet").code == 0);
  check_same(dir / "whole.h5", dir / "out.h5");
}

TEST_CASE("shards: a killed shard resumes alone, and merge refuses it until then") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(16));  // 64 runs
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "one.h5") + " --quiet --threads 1").code == 0);
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "m.h5") + " --shard 0/2 --quiet --threads 1").code == 0);
  const std::string s1 = shard_file(dir, "m.h5", 1, 2), journal = dir / ("." + fs::path(s1).filename().string() + ".journal");
  auto child = ts::test::spawn({ts::test::binary(), "sweep", dir / "exp.yaml", "-o", dir / "m.h5", "--shard", "1/2", "--quiet",
                                "--threads", "1"},
                               dir / "shard1.log");
  REQUIRE(wait_for_lines(journal, 1 + 3));  // the header and three runs
  ::kill(child.pid, SIGKILL);
  CHECK(child.wait() == 128 + SIGKILL);
  REQUIRE(lines_in(journal) < 1 + 32);  // killed mid-way
  CHECK(!fs::exists(s1));
  const auto early = talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 0, 2)) + " " + q(s1));
  CHECK(early.code == 2);
  CHECK(early.out.find("finish it with the same command and --resume") != std::string::npos);
  const auto resumed = talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "m.h5") + " --shard 1/2 --resume --quiet --threads 1");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  REQUIRE(talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 0, 2)) + " " + q(s1) + " --quiet").code == 0);
  check_same(dir / "one.h5", dir / "m.h5");
}

TEST_CASE("shards with per-run files: every shard writes into the sweep's runs folder") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(1, "keep: series\n"));  // 4 runs, folder m.runs
  for (int i = 0; i < 2; ++i)
    REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "m.h5") + " --shard " + std::to_string(i) + "/2 --quiet --threads 1")
                .code == 0);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path / "m.runs")) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"run_000000.h5", "run_000001.h5", "run_000002.h5", "run_000003.h5"});
  // a shard started again with --force removes only its own run files
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "m.h5") + " --shard 1/2 --quiet --threads 1 --force").code == 0);
  CHECK(fs::exists(dir.path / "m.runs" / "run_000000.h5"));
  REQUIRE(talentsim("merge " + q(dir / "m.h5") + " " + q(shard_file(dir, "m.h5", 0, 2)) + " " + q(shard_file(dir, "m.h5", 1, 2)) +
                    " --quiet")
              .code == 0);
  const auto runs = ts::exp::read_runs(dir / "m.h5");
  CHECK(runs.file == std::vector<std::string>{"run_000000.h5", "run_000001.h5", "run_000002.h5", "run_000003.h5"});
  CHECK(ts::h5::File::open_read(dir / "m.h5").root().attr_string("runs_dir") == "m.runs");  // beside the file
}

TEST_CASE("slurm: scripts/slurm/sweep_array.sbatch's tasks, merged, give the single-process file (Slurm's variables set by hand)") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(2));
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "one.h5") + " --quiet --threads 1").code == 0);
  const std::string script = ts::test::source_dir() + "/scripts/slurm/sweep_array.sbatch";
  auto task = [&](int id) {
    return ts::test::run("env SLURM_ARRAY_TASK_ID=" + std::to_string(id + 4) +
                         " SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 TALENTSIM=" + q(ts::test::binary()) +
                         " bash " + q(script) + " " + q(dir / "exp.yaml") + " " + q(dir / "a.h5") + " --quiet");
  };
  for (int i = 0; i < 3; ++i) {
    const auto r = task(i);
    INFO(r.out);
    REQUIRE(r.code == 0);
  }
  const auto again = task(1);  // the array submitted again: a complete shard is skipped
  CHECK(again.code == 0);
  CHECK(again.out.find("shard 1 of 3: " + dir / "a.shard-1-of-3.h5" + " is complete") != std::string::npos);
  REQUIRE(talentsim("merge " + q(dir / "a.h5") + " " + q(dir / "a.shard-0-of-3.h5") + " " + q(dir / "a.shard-1-of-3.h5") + " " +
                    q(dir / "a.shard-2-of-3.h5") + " --quiet")
              .code == 0);
  check_same(dir / "one.h5", dir / "a.h5");
}

#ifdef TALENTSIM_TEST_MPI

namespace {

/// mpirun as this project's CI needs it: as root (the two variables Open MPI asks for), ranks on
/// this machine only (plm isolated: no ssh), shared memory between them (btl self,vader: no
/// network; vader's single-copy mechanism off, which containers often forbid), and more ranks than
/// cores allowed (--oversubscribe). TALENTSIM_TEST_MARK tags the ranks of this test.
std::string mpi_env(const std::string& mark = "") {
  return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated OMPI_MCA_btl=self,vader "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1 TALENTSIM_TEST_MARK=" +
         q(mark) + " ";
}

std::string mpirun(int ranks, const std::string& args, const std::string& mark = "") {
  return mpi_env(mark) + q(TALENTSIM_MPIEXEC) + " --oversubscribe -np " + std::to_string(ranks) + " " + q(ts::test::binary()) + " " +
         args;
}

/// The pid of the process of MPI rank `rank` tagged with `mark`; -1 if there is none.
pid_t rank_pid(int rank, const std::string& mark) {
  const std::string want_rank = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank), want_mark = "TALENTSIM_TEST_MARK=" + mark;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    bool r = false, m = false;
    for (std::size_t at = 0; at < env.size();) {
      const std::size_t end = env.find('\0', at);
      const std::string var = env.substr(at, end == std::string::npos ? std::string::npos : end - at);
      r = r || var == want_rank;
      m = m || var == want_mark;
      if (end == std::string::npos) break;
      at = end + 1;
    }
    if (r && m) return pid_t(std::stol(name));
  }
  return -1;
}

}  // namespace

TEST_CASE("mpi: one process, --jobs 2, mpirun -np 3 and two merged shards give the same file") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(3));  // 12 runs
  const std::string exp = q(dir / "exp.yaml");
  REQUIRE(talentsim("sweep " + exp + " -o " + q(dir / "one.h5") + " --quiet --jobs 1 --threads 1").code == 0);
  REQUIRE(talentsim("sweep " + exp + " -o " + q(dir / "jobs2.h5") + " --quiet --jobs 2 --threads 2").code == 0);
  const auto m = ts::test::run(mpirun(3, "sweep " + exp + " -o " + q(dir / "mpi.h5") + " --threads 1"));
  INFO(m.out);
  REQUIRE(m.code == 0);
  CHECK(m.out.find("MPI: 3 ranks, rank 0 the manager, 2 workers × 1 thread") != std::string::npos);
  CHECK(m.out.find("mpi: 12 results; the manager spent") != std::string::npos);
  for (int i = 0; i < 2; ++i)
    REQUIRE(talentsim("sweep " + exp + " -o " + q(dir / "sh.h5") + " --shard " + std::to_string(i) + "/2 --quiet --threads 1").code == 0);
  REQUIRE(talentsim("merge " + q(dir / "sh.h5") + " " + q(shard_file(dir, "sh.h5", 0, 2)) + " " + q(shard_file(dir, "sh.h5", 1, 2)) +
                    " --quiet")
              .code == 0);
  for (const char* other : {"jobs2.h5", "mpi.h5", "sh.h5"}) {
    INFO(other);
    check_same(dir / "one.h5", dir / other);
    CHECK(ts::exp::read_runs(dir / "one.h5").values == ts::exp::read_runs(dir / other).values);  // the outcome table, bit for bit
  }
  auto h = ts::h5::File::open_read(dir / "mpi.h5");
  CHECK(h.root().attr_int("mpi_ranks") == 3);
  CHECK(h.root().attr_int("jobs") == 2);
  for (const auto& host : ts::exp::read_runs(dir / "mpi.h5").host) CHECK(!host.empty());
  // nothing but the files: no journal, no partial file
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path)) names.insert(e.path().filename().string());
  CHECK(names.count(".mpi.h5.journal") == 0);
  CHECK(names.count(".mpi.h5.partial") == 0);
}

TEST_CASE("slurm: scripts/slurm/sweep_mpi.sbatch (mpirun as its launcher) writes the single-process file") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(2));
  REQUIRE(talentsim("sweep " + q(dir / "exp.yaml") + " -o " + q(dir / "one.h5") + " --quiet --threads 1").code == 0);
  const std::string script = ts::test::source_dir() + "/scripts/slurm/sweep_mpi.sbatch";
  const auto r = ts::test::run(mpi_env() + "SLURM_CPUS_PER_TASK=1 TALENTSIM=" + q(ts::test::binary()) + " LAUNCH=" +
                               q(std::string(TALENTSIM_MPIEXEC) + " --oversubscribe -np 3") + " bash " + q(script) + " " +
                               q(dir / "exp.yaml") + " " + q(dir / "m.h5") + " --quiet");
  INFO(r.out);
  REQUIRE(r.code == 0);
  check_same(dir / "one.h5", dir / "m.h5");
}

TEST_CASE("mpi: a worker rank killed mid-sweep, and the resumed sweep completes with the same file") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(16));  // 64 runs
  const std::string exp = q(dir / "exp.yaml"), out = dir / "k.h5", journal = dir / ".k.h5.journal";
  REQUIRE(talentsim("sweep " + exp + " -o " + q(dir / "one.h5") + " --quiet --threads 1").code == 0);
  const std::string mark = dir.path.filename().string();
  auto job = ts::test::spawn({"/bin/sh", "-c", mpirun(3, "sweep " + exp + " -o " + q(out) + " --quiet", mark)}, dir / "job.log");
  REQUIRE(wait_for_lines(journal, 1 + 4));  // the header and four runs
  const pid_t worker = rank_pid(1, mark);
  REQUIRE(worker > 0);
  CHECK(rank_pid(0, mark) != worker);
  ::kill(worker, SIGKILL);
  const int code = job.wait(120);
  INFO("mpirun's output:\n" << job.output());
  CHECK(code != 0);
  CHECK(code != -1);  // mpirun ended the job (no hang)
  const int recorded = lines_in(journal) - 1;
  INFO(recorded << " runs recorded before the job ended");
  REQUIRE(recorded < 64);  // the kill came mid-sweep
  if (fs::exists(out)) CHECK(ts::h5::File::open_read(out).root().attr_string("status") == "interrupted");
  CHECK(rank_pid(0, mark) == -1);  // no rank left behind
  CHECK(rank_pid(2, mark) == -1);
  const auto resumed = ts::test::run(mpirun(3, "sweep " + exp + " -o " + q(out) + " --resume --quiet", mark));
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK(!fs::exists(journal));
  check_same(dir / "one.h5", out);
}

TEST_CASE("mpi: problems on rank 0 or on a worker end every rank with exit 2 and write nothing") {
  TempDir dir;
  ts::test::write_file(dir / "exp.yaml", experiment(1));
  const std::string exp = q(dir / "exp.yaml");
  // rank 0's check: the output exists
  ts::test::write_file(dir / "exists.h5", "keep me");
  const auto exists = ts::test::run(mpirun(3, "sweep " + exp + " -o " + q(dir / "exists.h5")));
  INFO(exists.out);
  CHECK(exists.code == 2);
  CHECK(exists.out.find("already exists") != std::string::npos);
  CHECK(ts::test::read_file(dir / "exists.h5") == "keep me");
  // a worker's check: more threads than its share of the cores
  const auto threads = ts::test::run(mpirun(3, "sweep " + exp + " -o " + q(dir / "t.h5") + " --threads 100000"));
  INFO(threads.out);
  CHECK(threads.code == 2);
  CHECK(threads.out.find("rank 1 (") != std::string::npos);
  CHECK(threads.out.find("--threads 100000 is more than this worker's share of its cores") != std::string::npos);
  CHECK(threads.out.find("nothing was run") != std::string::npos);
  CHECK(!fs::exists(dir / "t.h5"));
  CHECK(!fs::exists(dir / ".t.h5.journal"));
  // --jobs under mpirun
  const auto jobs = ts::test::run(mpirun(2, "sweep " + exp + " -o " + q(dir / "j.h5") + " --jobs 2"));
  CHECK(jobs.code == 2);
  CHECK(jobs.out.find("start more ranks instead") != std::string::npos);
  // a bad experiment: reported once (by rank 0), not by every rank
  ts::test::write_file(dir / "bad.yaml", experiment(1, "replicationz: 3\n"));
  const auto bad = ts::test::run(mpirun(3, "sweep " + q(dir / "bad.yaml") + " -o " + q(dir / "b.h5")));
  INFO(bad.out);
  CHECK(bad.code == 2);
  CHECK(bad.out.find("replicationz") != std::string::npos);
  std::size_t count = 0;
  for (std::size_t at = 0; (at = bad.out.find("nothing was run", at)) != std::string::npos; ++at) ++count;
  CHECK(count == 1);
}

#endif  // TALENTSIM_TEST_MPI
