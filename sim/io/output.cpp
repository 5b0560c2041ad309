#include "sim/io/output.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "sim/engine/parallel.hpp"
#include "talentsim_version.hpp"

namespace ts::io {

namespace fs = std::filesystem;
using model::kTiers;

static std::string iso_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

RunWriter::RunWriter(const std::string& out_path, const cfg::Scenario& sc, const model::Simulation& sim, const RunInfo& info)
    : out_(out_path) {
  const fs::path out(out_path);
  if (fs::exists(out) && !info.force)
    throw std::runtime_error("output file '" + out_path + "' already exists (use --force to overwrite it)");
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) throw std::runtime_error("output directory '" + dir.string() + "' does not exist");
  if (access(dir.c_str(), W_OK) != 0) throw std::runtime_error("output directory '" + dir.string() + "' is not writable");
  tmp_ = (dir / ("." + out.filename().string() + ".partial-" + std::to_string(getpid()))).string();
  std::error_code ec;
  fs::remove(tmp_, ec);
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

  auto s = root_.group("series");
  const hsize_t R = hsize_t(R_), NF = hsize_t(F_);
  const hsize_t ch = hsize_t(chunk_);
  step_ = s.series<int64_t>("step", {}, ch);
  month_ = s.series<int64_t>("month", {}, ch);
  stocks_ = s.series<int64_t>("stocks", {R, R, kTiers}, ch);
  flows_ = s.series<int64_t>("flows", {R, R}, ch);
  pay_ = s.series<double>("pay_percentiles", {kTiers, R, model::kPercentiles}, ch);
  visa_ = s.series<int64_t>("visa", {R, model::kVisaStats}, ch);
  market_ = s.series<int64_t>("market", {model::kMarketStats}, ch);
  out_region_ = s.series<double>("output_by_region", {R}, ch);
  out_origin_ = s.series<double>("output_by_origin", {R}, ch);
  hc_region_ = s.series<double>("hc_output_by_region", {R}, ch);
  hc_origin_ = s.series<double>("hc_output_by_origin", {R}, ch);
  f_head_ = s.series<int64_t>("firm_headcount", {NF}, ch);
  f_elite_ = s.series<int64_t>("firm_elite", {NF}, ch);
  f_vac_ = s.series<int64_t>("firm_vacancies", {NF}, ch);
  f_wage_ = s.series<double>("firm_wage_bill", {NF}, ch);
  f_cpr_ = s.series<double>("firm_compute_per_researcher", {NF}, ch);
  f_out_ = s.series<double>("firm_output", {NF}, ch);
  f_hc_ = s.series<double>("firm_hc_output", {NF}, ch);
  s.attr("dims", std::vector<std::string>{"step", "location", "origin", "tier"}, "stocks");
  s.attr("dims", std::vector<std::string>{"step", "from_region", "to_region"}, "flows");
  s.attr("dims", std::vector<std::string>{"step", "tier", "region", "percentile"}, "pay_percentiles");
  s.attr("units", std::string("USD per year"), "pay_percentiles");
  s.attr("dims", std::vector<std::string>{"step", "origin", "visa_stat"}, "visa");
  s.attr("dims", std::vector<std::string>{"step", "market_stat"}, "market");
  s.attr("units", std::string("papers per month"), "output_by_region");
  using Names = std::vector<std::string>;
  s.attr("dims", Names{"step"}, "step");
  s.attr("dims", Names{"step"}, "month");
  s.attr("units", std::string("YYYYMM"), "month");
  s.attr("units", std::string("researchers"), "stocks");
  s.attr("units", std::string("researchers per month"), "flows");
  s.attr("units", std::string("events per month"), "visa");
  for (const char* n : {"output_by_region", "hc_output_by_region"}) s.attr("dims", Names{"step", "region"}, n);
  for (const char* n : {"output_by_origin", "hc_output_by_origin"}) s.attr("dims", Names{"step", "origin"}, n);
  for (const char* n : {"output_by_origin", "hc_output_by_region", "hc_output_by_origin", "firm_output", "firm_hc_output"})
    s.attr("units", std::string("papers per month"), n);
  for (const char* n : {"firm_headcount", "firm_elite", "firm_vacancies", "firm_wage_bill", "firm_compute_per_researcher",
                        "firm_output", "firm_hc_output"})
    s.attr("dims", Names{"step", "firm"}, n);
  s.attr("units", std::string("researchers"), "firm_headcount");
  s.attr("units", std::string("researchers"), "firm_elite");
  s.attr("units", std::string("positions (-1 = unlimited)"), "firm_vacancies");
  s.attr("units", std::string("USD per year"), "firm_wage_bill");
  s.attr("units", std::string("GPU-equivalents per researcher"), "firm_compute_per_researcher");

  auto ev = root_.group("events");
  const hsize_t ech = 65536;
  ev_step_ = ev.series<int32_t>("step", {}, ech);
  ev_uid_ = ev.series<uint64_t>("researcher", {}, ech);
  ev_kind_ = ev.series<uint8_t>("kind", {}, ech);
  ev_from_firm_ = ev.series<int32_t>("from_firm", {}, ech);
  ev_to_firm_ = ev.series<int32_t>("to_firm", {}, ech);
  ev_from_region_ = ev.series<uint8_t>("from_region", {}, ech);
  ev_to_region_ = ev.series<uint8_t>("to_region", {}, ech);
  ev_pay_before_ = ev.series<float>("pay_before", {}, ech);
  ev_pay_after_ = ev.series<float>("pay_after", {}, ech);
  ev_origin_ = ev.series<uint8_t>("origin", {}, ech);
  ev_tier_ = ev.series<uint8_t>("tier", {}, ech);
  ev.attr("level", std::string(p.output.event_log == model::EventLogLevel::All ? "all"
                               : p.output.event_log == model::EventLogLevel::Top ? "top" : "none"));
  file_.flush();
  if (info.background) jobs_ = std::make_unique<JobQueue>(2);
}

RunWriter::RunWriter(const std::string& out_path, const std::string& temp_path, const model::Simulation& sim,
                     int64_t event_rows, const RunInfo& info)
    : out_(out_path), tmp_(temp_path) {
  std::error_code ec;
  if (!fs::exists(tmp_)) {
    // The run was interrupted cleanly: its file was moved into place marked "interrupted".
    if (!fs::exists(out_))
      throw std::runtime_error("cannot resume: neither the partial output '" + tmp_ + "' nor the output '" + out_ + "' exists");
    {
      auto f = h5::File::open_read(out_);
      const auto st = f.root().attr_string("status");
      if (st != "interrupted")
        throw std::runtime_error("cannot resume into '" + out_ + "': its status is '" + st + "', not 'interrupted'");
    }
    fs::rename(out_, tmp_, ec);
    if (ec) throw std::runtime_error("cannot move '" + out_ + "' aside to resume: " + ec.message());
  }
  const auto& p = sim.params();
  file_ = h5::File::open_rw(tmp_);
  file_.set_deflate(p.output.compression);  // datasets written again after the checkpoint (snapshots, end tables)
  root_ = file_.root();
  R_ = sim.regions();
  F_ = sim.world().f.size();
  chunk_ = p.output.chunk_rows;
  auto s = root_.open_group("series");
  step_ = s.open_series<int64_t>("step");
  month_ = s.open_series<int64_t>("month");
  stocks_ = s.open_series<int64_t>("stocks");
  flows_ = s.open_series<int64_t>("flows");
  pay_ = s.open_series<double>("pay_percentiles");
  visa_ = s.open_series<int64_t>("visa");
  market_ = s.open_series<int64_t>("market");
  out_region_ = s.open_series<double>("output_by_region");
  out_origin_ = s.open_series<double>("output_by_origin");
  hc_region_ = s.open_series<double>("hc_output_by_region");
  hc_origin_ = s.open_series<double>("hc_output_by_origin");
  f_head_ = s.open_series<int64_t>("firm_headcount");
  f_elite_ = s.open_series<int64_t>("firm_elite");
  f_vac_ = s.open_series<int64_t>("firm_vacancies");
  f_wage_ = s.open_series<double>("firm_wage_bill");
  f_cpr_ = s.open_series<double>("firm_compute_per_researcher");
  f_out_ = s.open_series<double>("firm_output");
  f_hc_ = s.open_series<double>("firm_hc_output");
  const hsize_t rows = hsize_t(sim.t());
  for (auto* x : {&step_, &month_, &stocks_, &flows_, &visa_, &market_, &f_head_, &f_elite_, &f_vac_}) x->truncate(rows);
  for (auto* x : {&pay_, &out_region_, &out_origin_, &hc_region_, &hc_origin_, &f_wage_, &f_cpr_, &f_out_, &f_hc_})
    x->truncate(rows);
  auto ev = root_.open_group("events");
  ev_step_ = ev.open_series<int32_t>("step");
  ev_uid_ = ev.open_series<uint64_t>("researcher");
  ev_kind_ = ev.open_series<uint8_t>("kind");
  ev_from_firm_ = ev.open_series<int32_t>("from_firm");
  ev_to_firm_ = ev.open_series<int32_t>("to_firm");
  ev_from_region_ = ev.open_series<uint8_t>("from_region");
  ev_to_region_ = ev.open_series<uint8_t>("to_region");
  ev_pay_before_ = ev.open_series<float>("pay_before");
  ev_pay_after_ = ev.open_series<float>("pay_after");
  ev_origin_ = ev.open_series<uint8_t>("origin");
  ev_tier_ = ev.open_series<uint8_t>("tier");
  const hsize_t er = hsize_t(event_rows);
  ev_step_.truncate(er), ev_uid_.truncate(er), ev_kind_.truncate(er), ev_from_firm_.truncate(er);
  ev_to_firm_.truncate(er), ev_from_region_.truncate(er), ev_to_region_.truncate(er);
  ev_pay_before_.truncate(er), ev_pay_after_.truncate(er), ev_origin_.truncate(er), ev_tier_.truncate(er);
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
}

RunWriter::~RunWriter() {
  if (!closed_) abandon();
}

void RunWriter::release_handles() {
  // Open datasets and groups keep the HDF5 file open: drop them before closing it.
  step_ = {}; month_ = {}; stocks_ = {}; flows_ = {}; visa_ = {}; market_ = {};
  pay_ = {}; out_region_ = {}; out_origin_ = {}; hc_region_ = {}; hc_origin_ = {};
  f_head_ = {}; f_elite_ = {}; f_vac_ = {}; f_wage_ = {}; f_cpr_ = {}; f_out_ = {}; f_hc_ = {};
  ev_step_ = {}; ev_from_firm_ = {}; ev_to_firm_ = {}; ev_uid_ = {}; ev_kind_ = {};
  ev_from_region_ = {}; ev_to_region_ = {}; ev_pay_before_ = {}; ev_pay_after_ = {}; ev_origin_ = {}; ev_tier_ = {};
  root_ = {};
}

void RunWriter::abandon() {
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
  fs::remove(tmp_, ec);
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
  const auto& st = sim.stats();
  const auto& F = sim.world().f;
  const int t = sim.t();
  auto rows = take_rows();
  StepRows& w = *rows;
  w.step = t;
  w.month = sim.calendar_month(t) / 12 * 100 + sim.calendar_month(t) % 12 + 1;
  w.stocks = st.stocks, w.flows = st.flows, w.pay = st.pay_pct, w.visa = st.visa, w.market = st.market;
  w.out_region = st.output_region, w.out_origin = st.output_origin, w.hc_region = st.hc_region, w.hc_origin = st.hc_origin;
  w.head = F.headcount, w.elite = F.elite, w.wage = F.wage_bill, w.out = F.output, w.hc = F.hc_output;
  w.vac.resize(F_), w.cpr.resize(F_);
  for (std::size_t f = 0; f < F_; ++f) {
    w.vac[f] = F.unlimited[f] ? -1 : F.vacancies[f];
    w.cpr[f] = sim.compute_per_researcher(int(f), F.hq[f]);
  }
  const std::size_t n = st.log.size();
  for (auto* v : {&w.ev_step, &w.ev_from_firm, &w.ev_to_firm}) v->resize(n);
  for (auto* v : {&w.ev_kind, &w.ev_from_region, &w.ev_to_region, &w.ev_origin, &w.ev_tier}) v->resize(n);
  w.ev_uid.resize(n), w.ev_pay_before.resize(n), w.ev_pay_after.resize(n);
  engine::for_chunks(n, [&](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const auto& x = st.log[i];
      w.ev_step[i] = x.step, w.ev_uid[i] = x.uid, w.ev_kind[i] = x.kind, w.ev_from_firm[i] = x.from_firm;
      w.ev_to_firm[i] = x.to_firm, w.ev_from_region[i] = x.from_region, w.ev_to_region[i] = x.to_region;
      w.ev_pay_before[i] = x.pay_before, w.ev_pay_after[i] = x.pay_after, w.ev_origin[i] = x.origin, w.ev_tier[i] = x.tier;
    }
  });
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
  step_.append(&w.step);
  month_.append(&w.month);
  stocks_.append(w.stocks);
  flows_.append(w.flows);
  pay_.append(w.pay);
  visa_.append(w.visa);
  market_.append(w.market);
  out_region_.append(w.out_region);
  out_origin_.append(w.out_origin);
  hc_region_.append(w.hc_region);
  hc_origin_.append(w.hc_origin);
  f_head_.append(w.head);
  f_elite_.append(w.elite);
  f_vac_.append(w.vac);
  f_wage_.append(w.wage);
  f_cpr_.append(w.cpr);
  f_out_.append(w.out);
  f_hc_.append(w.hc);
  ev_step_.append(w.ev_step);  // an empty step appends nothing
  ev_uid_.append(w.ev_uid);
  ev_kind_.append(w.ev_kind);
  ev_from_firm_.append(w.ev_from_firm);
  ev_to_firm_.append(w.ev_to_firm);
  ev_from_region_.append(w.ev_from_region);
  ev_to_region_.append(w.ev_to_region);
  ev_pay_before_.append(w.ev_pay_before);
  ev_pay_after_.append(w.ev_pay_after);
  ev_origin_.append(w.ev_origin);
  ev_tier_.append(w.ev_tier);
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
  col("researcher", r.uid);
  col("origin", r.origin);
  col("location", r.location);
  col("tier", r.tier);
  col("status", r.status);
  col("employer", r.employer);
  col("talent", r.talent);
  col("comp", r.comp);
  col("age_months", r.age);
  col("tenure", r.tenure);
  col("months_in_region", r.in_region);
  col("visa_months_left", r.visa_left);
  col("home_bias", r.home_bias);
  col("compute_taste", r.compute_taste);
  col("reference_offer", r.ref_offer);
  col("output", r.output);
  col("hc_output", r.hc_output);
  col("pending_firm", r.pending_firm);
}

void RunWriter::finish(const model::Simulation& sim, const std::string& status) {
  sync();
  if (jobs_) bg_seconds_ = jobs_->busy_seconds();
  jobs_.reset();
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
  std::error_code ec;
  fs::rename(tmp_, out_, ec);
  if (ec) {
    fs::remove(tmp_, ec);
    throw std::runtime_error("could not move the finished file into place as '" + out_ + "': " + ec.message());
  }
}

}  // namespace ts::io
