#include "sim/experiment/sweep_file.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>

#include "sim/experiment/journal.hpp"
#include "talentsim_version.hpp"

namespace ts::exp {

namespace fs = std::filesystem;

std::string resolve_beside(const std::string& file, const std::string& path) {
  const fs::path p(path);
  if (p.empty() || p.is_absolute()) return path;
  return (fs::path(file).parent_path() / p).lexically_normal().string();
}

std::string relative_to_folder_of(const std::string& file, const std::string& path) {
  const fs::path abs = fs::absolute(path).lexically_normal();
  const fs::path rel = abs.lexically_relative(fs::absolute(file).parent_path().lexically_normal());
  return rel.empty() ? abs.string() : rel.string();
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string iso_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string yaml_of(const cfg::Node& root, const char* section, const std::string& key) {
  const cfg::Node* s = root.find(section);
  const cfg::Node* n = s ? s->find(key) : nullptr;
  if (!n) return "";
  std::string y = cfg::to_yaml(*n);
  while (!y.empty() && y.back() == '\n') y.pop_back();
  return y;
}

}  // namespace

std::string SweepInfo::fingerprint() const {
  uint64_t h = fnv1a("talentsim sweep");
  auto add = [&](const std::string& s) { h = fnv1a(s + '\x1f', h); };
  add(spec->text);
  for (const auto& o : spec->cli_overrides) add(o);
  for (const auto& s : sources) add(s.path), add(s.text);
  for (const auto& t : design->text) add(t);
  add(std::to_string(plan.size()) + " " + std::to_string(plan.points()) + " " + std::to_string(plan.replications()) + " " +
      std::to_string(plan.variants()) + " " + std::to_string(plan.seed()));
  for (const auto& o : spec->outcomes) add(o.name);
  add(runs_dir);
  add(TALENTSIM_VERSION);
  add(TALENTSIM_GIT_COMMIT);
  char b[32];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)h);
  return b;
}

std::string SweepInfo::run_file(int64_t id) const {
  const int width = std::max<int>(6, int(std::to_string(plan.size() - 1).size()));
  char b[64];
  std::snprintf(b, sizeof b, "run_%0*lld.h5", width, (long long)id);
  return b;
}

SweepFile::SweepFile(const std::string& path, const SweepInfo& info) : path_(path) {
  const ExperimentSpec& s = *info.spec;
  const Design& d = *info.design;
  const RunPlan& plan = info.plan;
  const auto n = hsize_t(plan.size());
  const auto P = hsize_t(plan.points()), V = hsize_t(plan.variants()), k = hsize_t(d.k);
  K_ = s.outcomes.size();
  const auto K = hsize_t(K_);
  variant_names_ = info.variant_names;
  for (const auto& o : s.outcomes) outcome_names_.push_back(o.name);
  for (const auto& p : s.parameters) param_keys_.push_back(p.key);

  file_ = h5::File::create(path);
  auto root = file_.root();
  root.attr("creator", std::string("talentsim"));
  root.attr("kind", std::string("sweep"));
  root.attr("version", std::string(TALENTSIM_VERSION));
  root.attr("git_commit", std::string(TALENTSIM_GIT_COMMIT));
  root.attr("layout", std::string("docs/experiments.md"));
  root.attr("status", std::string("running"));
  root.attr("fingerprint", info.fingerprint());
  root.attr("start_time", iso_now());
  root.attr("host", host_name());
  root.attr("jobs", int64_t(info.jobs));
  root.attr("threads_per_job", int64_t(info.threads_per_job));
  root.attr("runs", int64_t(n));
  root.attr("runs_done", int64_t(0));
  root.attr("runs_failed", int64_t(0));
  root.attr("runs_pending", info.shard.share(int64_t(n)));  // a shard counts its share
  if (info.shard.sharded()) {
    root.attr("shard", info.shard.index);
    root.attr("shards", info.shard.count);
  }
  if (info.merged_shards > 0) root.attr("merged_shards", info.merged_shards);
  if (info.mpi_ranks > 0) root.attr("mpi_ranks", int64_t(info.mpi_ranks));
  root.attr("points", int64_t(P));
  root.attr("replications", plan.replications());
  root.attr("variants", int64_t(V));
  root.attr("seed", int64_t(s.seed));
  root.attr("seeds", std::string(to_string(s.seeds)));
  root.attr("steps", info.steps);
  root.attr("design", std::string(to_string(d.kind)));
  root.attr("keep", std::string(to_string(s.keep)));
  // Stored relative to this file's folder (where readers resolve it); info.runs_dir is the
  // process's path (relative to its working directory, or absolute).
  root.attr("runs_dir", info.runs_dir.empty() ? std::string() : relative_to_folder_of(path, info.runs_dir));

  auto meta = root.group("metadata");
  meta.write_string("experiment_path", s.path);
  meta.write_string("experiment_yaml", s.text);
  meta.write_strings("overrides", s.cli_overrides);
  std::vector<std::string> paths, texts;
  for (const auto& src : info.sources) paths.push_back(src.path), texts.push_back(src.text);
  meta.write_strings("source_paths", paths);
  meta.write_strings("source_texts", texts);
  meta.write_string("command_line", info.command_line);
  meta.write_strings("notes", info.notes);

  root.group("dims").write_strings("run_statuses", {"pending", "done", "failed"});

  auto var = root.group("variants");
  var.write_strings("name", info.variant_names);
  var.write_strings("scenario", info.variant_scenarios);
  var.write_strings("overrides", info.variant_overrides);
  var.attr("base", info.variant_names.front());

  auto des = root.group("design");
  des.attr("kind", std::string(to_string(d.kind)));
  des.write_strings("parameters", param_keys_);
  std::vector<std::string> pspecs;
  std::vector<uint8_t> numeric;
  for (const auto& p : s.parameters) {
    pspecs.push_back(yaml_of(s.tree, "parameters", p.key));
    numeric.push_back(p.kind != ParameterSpec::Kind::Values || p.numeric);
  }
  des.write_strings("specs", pspecs);
  des.write("numeric", numeric, {k});
  des.write("unit", d.unit, {P, k});
  des.write("values", d.value, {P, k});
  if (k > 0)
    des.write_strings("text", d.text, {P, k});
  else
    des.write_strings("text", {});
  if (d.kind == DesignKind::Saltelli) des.attr("base_samples", d.base_samples);
  if (d.kind == DesignKind::Saltelli || d.kind == DesignKind::Sobol) des.attr("skip", d.skip);
  if (d.kind == DesignKind::Morris) {
    des.attr("trajectories", d.trajectories);
    des.attr("levels", d.levels);
    des.attr("delta", d.delta);
    des.write("moved", d.moved, {hsize_t(d.trajectories), k});
  }
  if (d.kind != DesignKind::Grid && d.kind != DesignKind::List) des.attr("seed", int64_t(s.design.seed));

  auto runs = root.group("runs");
  std::vector<int64_t> id(n), point(n), rep(n), variant(n);
  std::vector<uint64_t> seed(n);
  std::vector<std::string> files(n);
  for (hsize_t i = 0; i < n; ++i) {
    const RunSpec r = plan.run(int64_t(i));
    id[i] = r.id, point[i] = r.point, rep[i] = r.replication, variant[i] = r.variant, seed[i] = r.seed;
    if (!info.runs_dir.empty()) files[i] = info.run_file(r.id);
  }
  runs.write("id", id, {n});
  runs.write("point", point, {n});
  runs.write("replication", rep, {n});
  runs.write("variant", variant, {n});
  runs.write("seed", seed, {n});
  runs.write("status", std::vector<uint8_t>(n, 0), {n});
  runs.write("seconds", std::vector<double>(n, kNaN), {n});
  runs.write_strings("host", std::vector<std::string>(n));
  runs.write_strings("error", std::vector<std::string>(n));
  runs.write_strings("file", files);

  auto out = root.group("outcomes");
  out.write_strings("names", outcome_names_);
  std::vector<std::string> ospecs, labels;
  std::vector<double> scale;
  std::vector<int64_t> digits;
  for (const auto& o : s.outcomes) {
    ospecs.push_back(yaml_of(s.tree, "outcomes", o.name));
    labels.push_back(o.label.empty() ? o.name : o.label);
    scale.push_back(o.scale);
    digits.push_back(o.digits);
  }
  out.write_strings("specs", ospecs);
  out.write_strings("labels", labels);
  out.write("scale", scale, {K});
  out.write("digits", digits, {K});
  out.write("values", std::vector<double>(n * K, kNaN), {n, K});
  file_.flush();
}

SweepFile::~SweepFile() {
  if (!closed_) {
    try {
      file_.close();
    } catch (...) {
    }
  }
}

void SweepFile::write(const RunResult& r) {
  held_.push_back(r);
  if (held_.size() >= 4096) commit();
}

void SweepFile::commit() {
  if (held_.empty()) return;
  std::sort(held_.begin(), held_.end(), [](const RunResult& a, const RunResult& b) { return a.id < b.id; });
  auto root = file_.root();
  auto runs = root.open_group("runs");
  auto out = root.open_group("outcomes");
  for (std::size_t b = 0; b < held_.size();) {
    std::size_t e = b + 1;  // a block of consecutive run ids: one write per dataset
    while (e < held_.size() && held_[e].id == held_[e - 1].id + 1) ++e;
    const auto first = hsize_t(held_[b].id), n = hsize_t(e - b);
    std::vector<uint8_t> status;
    std::vector<double> seconds, values;
    std::vector<std::string> host, error;
    for (std::size_t i = b; i < e; ++i) {
      const RunResult& r = held_[i];
      status.push_back(uint8_t(r.status));
      seconds.push_back(r.seconds);
      host.push_back(r.host);
      error.push_back(r.error);
      if (r.outcomes.size() == K_)
        values.insert(values.end(), r.outcomes.begin(), r.outcomes.end());
      else
        values.insert(values.end(), K_, kNaN);
    }
    runs.write_rows("status", first, status.data(), n);
    runs.write_rows("seconds", first, seconds.data(), n);
    runs.write_strings_at("host", first, host);
    runs.write_strings_at("error", first, error);
    if (K_ > 0) out.write_rows("values", first, values.data(), n);
    b = e;
  }
  held_.clear();
}

void SweepFile::flush(int64_t done, int64_t failed, int64_t pending) {
  commit();
  auto root = file_.root();
  root.attr("runs_done", done);
  root.attr("runs_failed", failed);
  root.attr("runs_pending", pending);
  file_.flush();
}

void SweepFile::write_analysis(const Analysis& a) {
  auto root = file_.root();
  const auto V = hsize_t(a.variants), P = hsize_t(a.points), K = hsize_t(a.outcomes), k = hsize_t(a.params);
  auto sum = root.group("summary");
  sum.attr("dims", std::vector<std::string>{"variant", "point", "outcome"});
  sum.write("n", a.n, {V, P, K});
  sum.write("mean", a.mean, {V, P, K});
  sum.write("sd", a.sd, {V, P, K});
  sum.write("lo", a.lo, {V, P, K});
  sum.write("hi", a.hi, {V, P, K});
  if (V > 1) {
    auto dif = root.group("differences");
    dif.attr("dims", std::vector<std::string>{"variant", "point", "outcome"});
    dif.attr("base", variant_names_.front());
    dif.write_strings("variants", std::vector<std::string>(variant_names_.begin() + 1, variant_names_.end()));
    dif.write("n", a.d_n, {V - 1, P, K});
    dif.write("mean", a.d_mean, {V - 1, P, K});
    dif.write("sd", a.d_sd, {V - 1, P, K});
    dif.write("lo", a.d_lo, {V - 1, P, K});
    dif.write("hi", a.d_hi, {V - 1, P, K});
  }
  if (a.sobol) {
    auto g = root.group("sensitivity/sobol");
    g.attr("dims", std::vector<std::string>{"variant", "outcome", "parameter"});
    g.write("S1", a.S1, {V, K, k});
    g.write("S1_lo", a.S1_lo, {V, K, k});
    g.write("S1_hi", a.S1_hi, {V, K, k});
    g.write("ST", a.ST, {V, K, k});
    g.write("ST_lo", a.ST_lo, {V, K, k});
    g.write("ST_hi", a.ST_hi, {V, K, k});
    g.write("n", a.sobol_n, {V, K});
  }
  if (a.morris) {
    auto g = root.group("sensitivity/morris");
    g.attr("dims", std::vector<std::string>{"variant", "outcome", "parameter"});
    g.write("mu", a.mu, {V, K, k});
    g.write("mu_star", a.mu_star, {V, K, k});
    g.write("sigma", a.sigma, {V, K, k});
    g.write("mu_star_lo", a.mu_star_lo, {V, K, k});
    g.write("mu_star_hi", a.mu_star_hi, {V, K, k});
    g.write("n", a.morris_n, {V, K});
  }
}

void SweepFile::close(const std::string& status) {
  commit();
  {
    auto root = file_.root();
    root.attr("status", status);
    root.attr("end_time", iso_now());
  }
  file_.flush();
  file_.close();
  closed_ = true;
}

SweepRuns read_runs(const std::string& path) {
  auto f = h5::File::open_read(path);
  auto root = f.root();
  SweepRuns r;
  auto runs = root.open_group("runs");
  r.id = runs.read<int64_t>("id");
  r.point = runs.read<int64_t>("point");
  r.replication = runs.read<int64_t>("replication");
  r.variant = runs.read<int64_t>("variant");
  r.seed = runs.read<uint64_t>("seed");
  r.status = runs.read<uint8_t>("status");
  r.seconds = runs.read<double>("seconds");
  r.host = runs.read_strings("host");
  r.error = runs.read_strings("error");
  r.file = runs.read_strings("file");
  auto out = root.open_group("outcomes");
  r.outcome_names = out.read_strings("names");
  r.values = out.read<double>("values");
  return r;
}

}  // namespace ts::exp
