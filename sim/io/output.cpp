#include "sim/io/output.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "sim/engine/parallel.hpp"
#include "talentsim_version.hpp"

namespace ts::io {

namespace fs = std::filesystem;

static std::string iso_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string new_run_id() {
  std::random_device rd;
  std::string id;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {  // 4 × 32 random bits
    const uint32_t x = rd();
    for (int k = 0; k < 4; ++k) id += hex[(x >> (8 * k + 4)) & 15], id += hex[(x >> (8 * k)) & 15];
  }
  return id;
}

namespace {

/// Renames `from` to `to` unless `to` exists (then errno = EEXIST): renameat2(RENAME_NOREPLACE),
/// or where the file system lacks it, link() then unlink(). Returns 0 or -1 with errno set.
int rename_noreplace(const std::string& from, const std::string& to) {
#if defined(SYS_renameat2)
  constexpr unsigned kNoReplace = 1;  // RENAME_NOREPLACE
  if (::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), kNoReplace) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
  if (::link(from.c_str(), to.c_str()) == 0) {
    ::unlink(from.c_str());
    return 0;
  }
  if (errno != EPERM && errno != EOPNOTSUPP) return -1;
  // No hard links either (e.g. FAT): check, then rename (not atomic; the best this can do).
  if (::access(to.c_str(), F_OK) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

RunWriter::RunWriter(const std::string& out_path, const cfg::Scenario& sc, const model::Simulation& sim, const RunInfo& info)
    : out_(out_path), run_id_(info.run_id.empty() ? new_run_id() : info.run_id), force_(info.force) {
  const fs::path out(out_path);
  if (fs::exists(out) && !info.force)
    throw std::runtime_error("output file '" + out_path + "' already exists (use --force to overwrite it)");
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) throw std::runtime_error("output directory '" + dir.string() + "' does not exist");
  if (access(dir.c_str(), W_OK) != 0) throw std::runtime_error("output directory '" + dir.string() + "' is not writable");
  tmp_ = (dir / ("." + out.filename().string() + ".partial-" + std::to_string(getpid()))).string();
  std::error_code ec;
  fs::remove(tmp_, ec);
  // Any failure from here on (a full disk at creation) removes the temporary file.
  struct Cleanup {
    RunWriter* w;
    bool armed = true;
    ~Cleanup() {
      if (armed) w->abandon();
    }
  } cleanup{this};
  const auto& p = sim.params();
  file_ = h5::File::create(tmp_);
  // Every dataset with data (series, event log, snapshots, end-of-run tables) is compressed:
  // shuffle + deflate at output.compression (docs/hdf5-layout.md, "Chunking and compression").
  file_.set_deflate(p.output.compression);
  root_ = file_.root();
  R_ = sim.regions();
  F_ = sim.world().f.size();
  chunk_ = p.output.chunk_rows;

  root_.attr("creator", std::string("talentsim"));
  root_.attr("version", std::string(TALENTSIM_VERSION));
  root_.attr("git_commit", std::string(TALENTSIM_GIT_COMMIT));
  root_.attr("seed", int64_t(p.run.seed));
  root_.attr("threads", int64_t(info.threads));
  root_.attr("run_id", run_id_);
  root_.attr("start_time", iso_now());
  root_.attr("status", std::string("running"));
  root_.attr("last_step", int64_t(-1));
  root_.attr("steps_planned", int64_t(p.run.steps));
  root_.attr("start_month", p.run.start);
  root_.attr("layout", std::string("docs/hdf5-layout.md"));

  auto meta = root_.group("metadata");
  meta.write_string("scenario_path", sc.path);
  meta.write_string("scenario_yaml", sc.sources.empty() ? std::string() : sc.sources.front().text);
  std::vector<std::string> paths, texts;
  for (const auto& s : sc.sources) paths.push_back(s.path), texts.push_back(s.text);
  meta.write_strings("source_paths", paths);
  meta.write_strings("source_texts", texts);
  meta.write_strings("overrides", sc.overrides);
  meta.write_string("resolved_config", cfg::to_yaml(model::dump_params(p)));
  meta.write_string("command_line", info.command_line);
  meta.write_strings("notes", sc.notes);

  auto dims = root_.group("dims");
  std::vector<std::string> regions;
  for (const auto& r : p.regions) regions.push_back(r.name);
  dims.write_strings("regions", regions);
  dims.write_strings("tiers", {"regular", "top", "elite"});
  dims.write_strings("percentiles", {"p10", "p25", "p50", "p75", "p90"});
  dims.write_strings("visa_stats", std::vector<std::string>(std::begin(model::kVisaStatNames), std::end(model::kVisaStatNames)));
  dims.write_strings("market_stats", std::vector<std::string>(std::begin(model::kMarketStatNames), std::end(model::kMarketStatNames)));
  dims.write_strings("event_kinds", std::vector<std::string>(std::begin(model::kLogKindNames), std::end(model::kLogKindNames)));
  dims.write_strings("statuses", {"citizen", "permanent_resident", "work_visa", "student_visa", "none"});

  auto series = root_.group("series");
  auto ev = root_.group("events");
  datasets_ = step_datasets();
  for (auto& d : datasets_) {
    auto& g = d->infos().front().group == "series" ? series : ev;
    d->create(g, R_, F_, hsize_t(chunk_));
  }
  ev.attr("level", std::string(p.output.event_log == model::EventLogLevel::All ? "all"
                               : p.output.event_log == model::EventLogLevel::Top ? "top" : "none"));
  file_.flush();
  if (info.background) jobs_ = std::make_unique<JobQueue>(2);
  cleanup.armed = false;
}

void RunWriter::write_firms(const model::Simulation& sim) {
  // The values in force during step 0, after its events (a `set` at step 0 is what the run used).
  std::vector<std::string> regions;
  for (const auto& r : sim.params().regions) regions.push_back(r.name);
  const auto& F = sim.world().f;
  auto firms = root_.group("firms");
  firms.write_strings("name", F.name);
  std::vector<std::string> kind, hq, ctrl;
  for (std::size_t f = 0; f < F_; ++f) {
    kind.push_back(model::to_string(model::FirmKind(F.kind[f])));
    hq.push_back(regions[F.hq[f]]);
    ctrl.push_back(regions[F.controlled_by[f]]);
  }
  firms.write_strings("kind", kind);
  firms.write_strings("hq", hq);
  firms.write_strings("controlled_by", ctrl);
  firms.write("group", F.group, {F_});
  firms.write("productivity", F.productivity, {F_});
  firms.write("base_pay", F.base_pay, {F_});
  firms.write("max_package", F.max_package, {F_});
  firms_written_ = true;
}

/// Refuses (RunMismatch) a run file at `path` that does not carry `run_id`, the checkpoint's.
static void check_run_id(const h5::Group& root, const std::string& path, const std::string& run_id) {
  const std::string theirs = root.has_attr("run_id") ? root.attr_string("run_id") : std::string("(none)");
  if (theirs != run_id)
    throw RunMismatch("'" + path + "' belongs to another run (its run id is " + theirs + ", the checkpoint's is " +
                      run_id + "); it was not changed");
}

RunWriter::RunWriter(const std::string& out_path, const std::string& temp_path, const model::Simulation& sim,
                     int64_t event_rows, const RunInfo& info)
    : out_(out_path), tmp_(temp_path), run_id_(info.run_id), force_(info.force) {
  bool moved = false;  // out_ was moved to tmp_: moved back if resuming fails
  if (!fs::exists(tmp_)) {
    // The run was interrupted cleanly: its file was moved into place marked "interrupted".
    if (!fs::exists(out_))
      throw std::runtime_error("cannot resume: neither the partial output '" + tmp_ + "' nor the output '" + out_ + "' exists");
    {
      auto f = h5::File::open_read(out_);
      check_run_id(f.root(), out_, run_id_);
      const auto st = f.root().attr_string("status");
      if (st != "interrupted")
        throw std::runtime_error("cannot resume into '" + out_ + "': its status is '" + st + "', not 'interrupted'");
    }
    if (rename_noreplace(out_, tmp_) != 0)
      throw std::runtime_error("cannot move '" + out_ + "' aside to resume: " + std::strerror(errno));
    moved = true;
  }
  struct Restore {  // a failure leaves the file as it was found
    RunWriter* w;
    bool moved, armed = true;
    ~Restore() {
      if (!armed) return;
      w->abandon(true);
      if (moved) (void)rename_noreplace(w->tmp_, w->out_);
    }
  } restore{this, moved};
  const auto& p = sim.params();
  file_ = h5::File::open_rw(tmp_);
  file_.set_deflate(p.output.compression);  // datasets written again after the checkpoint (snapshots, end tables)
  root_ = file_.root();
  check_run_id(root_, tmp_, run_id_);
  firms_written_ = root_.exists("firms");
  R_ = sim.regions();
  F_ = sim.world().f.size();
  chunk_ = p.output.chunk_rows;
  {
    auto series = root_.open_group("series");
    auto ev = root_.open_group("events");
    datasets_ = step_datasets();
    for (auto& d : datasets_) {
      const bool is_series = d->infos().front().group == "series";
      d->reopen(is_series ? series : ev, is_series ? hsize_t(sim.t()) : hsize_t(event_rows));
    }
  }
  // Snapshots from the steps to be redone, and the end-of-run tables, are written again.
  if (root_.exists("snapshots")) {
    auto snaps = root_.open_group("snapshots");
    for (const auto& name : snaps.children())
      if (std::stoll(name.substr(5)) >= sim.t()) snaps.remove(name);
  }
  root_.remove("poaching");
  root_.remove("cohorts");
  root_.attr("status", std::string("running"));
  root_.attr("threads", int64_t(info.threads));
  root_.attr("resumed_at_step", int64_t(sim.t()));
  last_step_ = sim.t() - 1;
  event_rows_ = event_rows;
  file_.flush();
  if (info.background) jobs_ = std::make_unique<JobQueue>(2);
  restore.armed = false;
}

RunWriter::~RunWriter() {
  if (!closed_) abandon();
}

void RunWriter::release_handles() {
  // Open datasets and groups keep the HDF5 file open: drop them before closing it.
  for (auto& d : datasets_) d->release();
  root_ = {};
}

void RunWriter::abandon(bool keep) {
  if (closed_) return;
  closed_ = true;
  try {
    if (jobs_) jobs_->stop();  // discards rows not yet written: the file is removed anyway
    jobs_.reset();
    release_handles();
    file_.close();
  } catch (...) {
  }
  std::error_code ec;
  if (!keep) fs::remove(tmp_, ec);
}

std::shared_ptr<RunWriter::StepRows> RunWriter::take_rows() {
  std::lock_guard lk(pool_m_);
  if (pool_.empty()) return std::make_shared<StepRows>();
  auto p = std::move(pool_.back());
  pool_.pop_back();
  return p;
}

void RunWriter::give_back(std::shared_ptr<StepRows> rows) {
  std::lock_guard lk(pool_m_);
  pool_.push_back(std::move(rows));
}

void RunWriter::on_step(const model::Simulation& sim) {
  if (!firms_written_) {
    sync();
    write_firms(sim);
  }
  const int t = sim.t();
  auto rows = take_rows();
  StepRows& w = *rows;
  w.step = t;
  w.data.resize(datasets_.size());
  for (std::size_t k = 0; k < datasets_.size(); ++k) datasets_[k]->take(sim, w.data[k]);
  const std::size_t n = sim.stats().log.size();
  event_rows_ += int64_t(n);
  if (t % 12 == 0) write_cohorts(sim, false);  // counts only (no HDF5): written at the end
  last_step_ = t;
  auto job = [this, rows = std::move(rows)]() mutable {
    write_rows(*rows);
    give_back(std::move(rows));
  };
  if (jobs_)
    jobs_->submit(std::move(job));
  else
    job();
  for (auto s : sim.params().output.snapshots)
    if (s == t) {
      sync();  // the snapshot is written from the live columns, on this thread
      write_snapshot(sim);
    }
}

void RunWriter::write_rows(const StepRows& w) {
  for (std::size_t k = 0; k < datasets_.size(); ++k) datasets_[k]->append(w.data[k]);
  root_.attr("last_step", w.step);
}

void RunWriter::write_cohorts(const model::Simulation& sim, bool final) {
  if (!final) {
    // Counts by years continuously in the region (and at the employer) at this yearly mark.
    const auto& r = sim.world().r;
    const int K = sim.params().output.max_cohort_years;
    const int R = R_;
    const std::size_t nreg = std::size_t(R) * R * (K + 1), nfirm = F_ * (K + 1);
    // One parallel pass with per-thread integer counters (exact, so independent of threads).
    auto all = engine::count_chunks(r.size(), nreg + nfirm, [&](int64_t* a, std::size_t b, std::size_t e) {
      int64_t* firm_a = a + nreg;
      for (std::size_t i = b; i < e; ++i) {
        if (!r.alive[i]) continue;
        const int y = std::min(K, int(r.in_region[i]) / 12);
        a[(std::size_t(r.location[i]) * R + r.origin[i]) * (K + 1) + y] += 1;
        if (r.employer[i] != model::kNoFirm) firm_a[std::size_t(r.employer[i]) * (K + 1) + std::min(K, int(r.tenure[i]) / 12)] += 1;
      }
    });
    std::vector<int64_t> reg(all.begin(), all.begin() + std::ptrdiff_t(nreg)), firm(all.begin() + std::ptrdiff_t(nreg), all.end());
    region_years_.push_back(std::move(reg));
    firm_years_.push_back(std::move(firm));
    mark_steps_.push_back(sim.t());
    return;
  }
  const int K = sim.params().output.max_cohort_years;
  const int R = R_;
  const std::size_t M = mark_steps_.size();
  auto g = root_.group("cohorts");
  g.write("mark_step", std::vector<int64_t>(mark_steps_.begin(), mark_steps_.end()), {M});
  // Stay rate: of those in region r (origin o) at mark m, the share still there continuously k years later.
  std::vector<double> stay(M * (K + 1) * R * R, std::nan(""));
  std::vector<int64_t> base(M * R * R, 0);
  for (std::size_t m = 0; m < M; ++m)
    for (int loc = 0; loc < R; ++loc)
      for (int o = 0; o < R; ++o) {
        int64_t b = 0;
        for (int y = 0; y <= K; ++y) b += region_years_[m][(std::size_t(loc) * R + o) * (K + 1) + y];
        base[(m * R + loc) * R + o] = b;
        for (int k = 0; k <= K && m + std::size_t(k) < M; ++k) {
          int64_t still = 0;
          for (int y = k; y <= K; ++y) still += region_years_[m + k][(std::size_t(loc) * R + o) * (K + 1) + y];
          stay[((m * (K + 1) + k) * R + loc) * R + o] = b > 0 ? double(still) / double(b) : std::nan("");
        }
      }
  g.write("region_base", base, {M, hsize_t(R), hsize_t(R)});
  g.write("region_stay_rate", stay, {M, hsize_t(K + 1), hsize_t(R), hsize_t(R)});
  g.attr("dims", std::vector<std::string>{"mark", "years", "region", "origin"}, "region_stay_rate");
  g.attr("dims", std::vector<std::string>{"mark", "region", "origin"}, "region_base");
  g.attr("dims", std::vector<std::string>{"mark"}, "mark_step");
  std::vector<double> ret(M * (K + 1) * F_, std::nan(""));
  std::vector<int64_t> fbase(M * F_, 0);
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t f = 0; f < F_; ++f) {
      int64_t b = 0;
      for (int y = 0; y <= K; ++y) b += firm_years_[m][f * (K + 1) + y];
      fbase[m * F_ + f] = b;
      for (int k = 0; k <= K && m + std::size_t(k) < M; ++k) {
        int64_t still = 0;
        for (int y = k; y <= K; ++y) still += firm_years_[m + k][f * (K + 1) + y];
        ret[(m * (K + 1) + k) * F_ + f] = b > 0 ? double(still) / double(b) : std::nan("");
      }
    }
  g.write("firm_base", fbase, {M, F_});
  g.write("firm_retention", ret, {M, hsize_t(K + 1), F_});
  g.attr("dims", std::vector<std::string>{"mark", "years", "firm"}, "firm_retention");
  g.attr("dims", std::vector<std::string>{"mark", "firm"}, "firm_base");
}

void RunWriter::write_snapshot(const model::Simulation& sim) {
  const auto& r = sim.world().r;
  char name[32];
  std::snprintf(name, sizeof name, "step_%06d", sim.t());
  auto g = root_.group("snapshots").group(name);
  const auto idx = engine::indices_where(r.size(), [&](std::size_t i) { return r.alive[i] != 0; });  // slot order
  const hsize_t n = idx.size();
  auto col = [&](const char* nm, const auto& v) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    std::vector<T> out(n);
    engine::for_each(n, [&](std::size_t k) { out[k] = v[idx[k]]; });
    g.write(nm, out, {n});
  };
  model::for_each_researcher_column(r, [&](const auto& c, const auto& column) {
    if (!c.snapshot) return;
    col(c.snapshot, column);
    if (*c.dictionary) g.attr("dictionary", std::string(c.dictionary), c.snapshot);
  });
}

void RunWriter::finish(const model::Simulation& sim, const std::string& status) {
  sync();
  if (jobs_) bg_seconds_ = jobs_->busy_seconds();
  jobs_.reset();
  if (!firms_written_) write_firms(sim);  // no step was run
  auto g = root_.group("poaching");
  const auto pt = sim.poaching_table();
  const hsize_t np = pt.count.size();
  g.write("from_firm", pt.from, {np});
  g.write("to_firm", pt.to, {np});
  g.write("count", pt.count, {np});
  write_cohorts(sim, true);
  root_.attr("status", status);
  root_.attr("last_step", int64_t(last_step_));
  root_.attr("end_time", iso_now());
  file_.flush();
  release_handles();
  file_.close();
  closed_ = true;
  // Never replace a file that appeared while the run was going (another run with the same -o)
  // unless --force; and never lose the finished file: if it cannot go to OUT, it stays where it is.
  std::error_code ec;
  if (force_) {
    fs::rename(tmp_, out_, ec);
    if (!ec) return;
  } else if (rename_noreplace(tmp_, out_) == 0) {
    return;
  } else if (errno == EEXIST) {
    const fs::path o(out_);
    const std::string kept = (o.parent_path() / (o.stem().string() + "." + run_id_.substr(0, 8) + o.extension().string())).string();
    const bool moved = rename_noreplace(tmp_, kept) == 0;
    throw std::runtime_error("'" + out_ + "' appeared while this run was going (another run with the same output?) and " +
                             "was left as it is; this run's finished file is '" + (moved ? kept : tmp_) + "'");
  } else {
    ec = std::error_code(errno, std::generic_category());
  }
  throw std::runtime_error("could not move the finished file into place as '" + out_ + "': " + ec.message() +
                           "; it is kept as '" + tmp_ + "'");
}

}  // namespace ts::io
