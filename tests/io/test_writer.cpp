// The run writer's background thread: job order, errors, back-pressure, and that writing in
// the background produces the same file contents as writing on the stepping thread.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "sim/io/job_queue.hpp"
#include "sim/io/output.hpp"
#include "sim/config/scenario.hpp"
#include "tests/support/helpers.hpp"

using namespace ts;

TEST_CASE("job queue: jobs run one at a time in submission order, and drain waits for all of them") {
  io::JobQueue q(2);
  std::vector<int> seen;  // touched only by the background thread until drain() returns
  std::atomic<int> running{0}, overlap{0};
  for (int i = 0; i < 200; ++i)
    q.submit([&, i] {
      if (running.fetch_add(1) != 0) overlap.fetch_add(1);
      seen.push_back(i);
      running.fetch_sub(1);
    });
  q.drain();
  REQUIRE(seen.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(seen[std::size_t(i)] == i);
  CHECK(overlap.load() == 0);
  CHECK(q.busy_seconds() >= 0.0);
}

TEST_CASE("job queue: a failed job's error reaches the submitter, and later jobs are not run") {
  io::JobQueue q(4);
  std::atomic<int> after{0};
  q.submit([] { throw std::runtime_error("disk full (test)"); });
  // Submits racing with the failure are either refused (the error surfaces here) or discarded.
  bool surfaced = false;
  try {
    for (int i = 0; i < 3; ++i) q.submit([&] { after.fetch_add(1); });
  } catch (const std::runtime_error& e) {
    surfaced = true;
    CHECK(std::string(e.what()) == "disk full (test)");
  }
  if (!surfaced) CHECK_THROWS_WITH_AS(q.drain(), "disk full (test)", std::runtime_error);
  CHECK(after.load() == 0);
  // Once reported, the queue stays failed: nothing is silently written after a lost row.
  CHECK_THROWS_AS(q.submit([] {}), std::runtime_error);
  CHECK_THROWS_AS(q.drain(), std::runtime_error);
}

TEST_CASE("job queue: submit waits while max_pending jobs wait (memory stays bounded)") {
  io::JobQueue q(1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  q.submit([&started, gate] {
    started.set_value();
    gate.wait();
  });
  started.get_future().wait();  // job 1 is running, the queue is empty
  q.submit([] {});               // job 2 waits in the queue: it is now full
  std::atomic<bool> third_queued{false};
  std::thread t([&] {
    q.submit([] {});
    third_queued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(third_queued.load());  // still blocked while job 1 holds the thread
  release.set_value();
  t.join();
  CHECK(third_queued.load());
  q.drain();
}

TEST_CASE("job queue: stop discards waiting jobs and joins; stop twice is harmless") {
  std::atomic<int> ran{0};
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  io::JobQueue q(8);
  q.submit([&started, gate, &ran] {
    started.set_value();
    gate.wait();
    ran.fetch_add(1);
  });
  started.get_future().wait();
  for (int i = 0; i < 5; ++i) q.submit([&] { ran.fetch_add(1); });
  std::thread t([&] { q.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.set_value();
  t.join();
  CHECK(ran.load() == 1);  // the running job finished; the five waiting ones were dropped
  q.stop();
  CHECK_THROWS_AS(q.submit([] {}), std::logic_error);
}

TEST_CASE("run writer: rows written in the background give the same file as rows written on the stepping thread") {
  test::TempDir dir;
  std::map<std::string, std::vector<double>> files[2];
  for (int background = 0; background < 2; ++background) {
    cfg::Diagnostics d;
    // Snapshots mid-run make the stepping thread wait for the queue and write in between.
    auto sc = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml",
                                {"run.steps=14", "output.snapshots=[0, 5, 13]"}, d);
    REQUIRE_MESSAGE(sc, d.format());
    model::Simulation sim(sc->params);
    io::RunInfo info{2, "test", false};
    info.background = background == 1;
    const std::string out = dir / (background ? "bg.h5" : "sync.h5");
    io::RunWriter w(out, *sc, sim, info);
    sim.set_observer(&w);
    for (int t = 0; t < 14; ++t) sim.step();
    if (background) CHECK(w.background_seconds() > 0.0);
    w.finish(sim, "complete");
    files[background] = test::datasets(out);
  }
  const auto& a = files[0];
  const auto& b = files[1];
  REQUIRE(a.size() == b.size());
  REQUIRE(a.count("/events/researcher"));
  REQUIRE(a.at("/events/researcher").size() > 0);
  REQUIRE(a.count("/snapshots/step_000005/researcher"));
  CHECK(a.at("/series/step").size() == 14);
  for (const auto& [name, v] : a) {
    CAPTURE(name);
    REQUIRE(b.count(name));
    const auto& u = b.at(name);
    REQUIRE(u.size() == v.size());
    bool same = true;
    for (std::size_t i = 0; i < v.size(); ++i)
      same &= (v[i] == u[i]) || (v[i] != v[i] && u[i] != u[i]);  // NaN == NaN here
    CHECK(same);
  }
}

TEST_CASE("run writer: a failing step leaves no file behind, with rows still queued") {
  test::TempDir dir;
  cfg::Diagnostics d;
  auto sc = cfg::load_scenario(test::source_dir() + "/tests/data/scenarios/small.yaml", {}, d);
  REQUIRE_MESSAGE(sc, d.format());
  model::Simulation sim(sc->params);
  const std::string out = dir / "x.h5";
  std::string temp;
  {
    io::RunWriter w(out, *sc, sim, io::RunInfo{1, "test", false});
    temp = w.temp_path();
    sim.set_observer(&w);
    for (int t = 0; t < 3; ++t) sim.step();
    CHECK(std::filesystem::exists(temp));
    w.abandon();  // as the CLI does when a step throws
  }
  CHECK_FALSE(std::filesystem::exists(temp));
  CHECK_FALSE(std::filesystem::exists(out));
}
