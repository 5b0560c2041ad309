#include "sim/experiment/shard.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "sim/experiment/sweep.hpp"
#include "sim/io/h5.hpp"

namespace ts::exp {

namespace fs = std::filesystem;

std::optional<Shard> parse_shard(const std::string& text, std::string& why) {
  const auto slash = text.find('/');
  auto number = [](const std::string& s, int64_t& x) {
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    x = std::stoll(s);
    return true;
  };
  Shard s;
  if (slash == std::string::npos || !number(text.substr(0, slash), s.index) || !number(text.substr(slash + 1), s.count)) {
    why = "--shard takes i/N, shard i of N (e.g. --shard 0/8 … --shard 7/8), not '" + text + "'";
    return std::nullopt;
  }
  if (s.count < 1 || s.index >= s.count) {
    why = "--shard " + text + ": shards are numbered 0 to N − 1 (as Slurm's --array=0-" +
          std::to_string(std::max<int64_t>(s.count, 1) - 1) + "), and N is at least 1";
    return std::nullopt;
  }
  return s;
}

std::string shard_path(const std::string& out, const Shard& s) {
  fs::path p(out);
  const std::string ext = p.extension().string();
  p.replace_filename(p.stem().string() + ".shard-" + std::to_string(s.index) + "-of-" + std::to_string(s.count) + ext);
  return p.string();
}

namespace {

struct ShardFile {
  std::string path, fingerprint, status, git_commit;
  Shard shard;
  int64_t runs = 0;
};

}  // namespace

MergeResult merge_shards(const std::string& out, const std::vector<std::string>& paths, bool force,
                         const std::string& command_line, std::ostream& err) {
  MergeResult res;
  const std::string me = "talentsim merge: ";
  std::vector<std::string> problems;

  // 1. What each file is.
  std::vector<ShardFile> files;
  for (const auto& p : paths) {
    ShardFile f;
    f.path = p;
    try {
      auto h = h5::File::open_read(p);
      auto root = h.root();
      if (!root.has_attr("kind") || root.attr_string("kind") != "sweep") {
        problems.push_back(p + " is not a sweep file");
        continue;
      }
      if (!root.has_attr("shards")) {
        problems.push_back(p + " is a whole sweep, not a shard (`talentsim sweep ... --shard i/N` writes shards)");
        continue;
      }
      f.shard = Shard{root.attr_int("shard"), root.attr_int("shards")};
      f.fingerprint = root.attr_string("fingerprint");
      f.status = root.attr_string("status");
      f.git_commit = root.attr_string("git_commit");
      f.runs = root.attr_int("runs");
    } catch (const std::exception&) {
      problems.push_back(fs::exists(p) ? "cannot read " + p + " as an HDF5 file"
                                       : p + " does not exist (a shard that is still running or was killed: finish it with "
                                             "the same command and --resume)");
      continue;
    }
    files.push_back(f);
  }
  // 2. One sweep, every shard exactly once, each complete.
  if (!files.empty()) {
    const ShardFile& first = files.front();
    for (const auto& f : files) {
      if (f.fingerprint != first.fingerprint || f.runs != first.runs)
        problems.push_back(f.path + " is a shard of another sweep than " + first.path +
                           " (another experiment, other scenario files or another talentsim build: fingerprints " +
                           f.fingerprint + " and " + first.fingerprint + ")");
      else if (f.shard.count != first.shard.count)
        problems.push_back(f.path + " is shard " + std::to_string(f.shard.index) + " of " + std::to_string(f.shard.count) +
                           ", " + first.path + " one of " + std::to_string(first.shard.count) + ": all shards must be of one split");
    }
    const int64_t n = first.shard.count;
    std::map<int64_t, std::vector<std::string>> by_index;
    for (const auto& f : files)
      if (f.shard.count == n) by_index[f.shard.index].push_back(f.path);
    for (const auto& [i, ps] : by_index)
      if (ps.size() > 1) {
        std::string list;
        for (const auto& p : ps) list += (list.empty() ? "" : ", ") + p;
        problems.push_back("shard " + std::to_string(i) + " of " + std::to_string(n) + " is given " + std::to_string(ps.size()) +
                           " times: " + list);
      }
    std::vector<int64_t> missing;
    for (int64_t i = 0; i < n; ++i)
      if (!by_index.count(i)) missing.push_back(i);
    if (!missing.empty()) {
      std::string list;
      for (std::size_t j = 0; j < missing.size() && j < 20; ++j) list += (j ? ", " : "") + std::to_string(missing[j]);
      if (missing.size() > 20) list += ", … (" + std::to_string(missing.size()) + " in all)";
      problems.push_back(std::string(missing.size() == 1 ? "shard " : "shards ") + list + " of " + std::to_string(n) +
                         (missing.size() == 1 ? " is" : " are") + " missing (e.g. " +
                         shard_path(out, Shard{missing[0], n}) + ", written by `talentsim sweep ... --shard " +
                         std::to_string(missing[0]) + "/" + std::to_string(n) + "`)");
    }
    for (const auto& f : files)
      if (f.status != "complete")
        problems.push_back(f.path + " (shard " + std::to_string(f.shard.index) + " of " + std::to_string(f.shard.count) + ") is " +
                           f.status + ": finish it with the same command and --resume");
  } else if (problems.empty()) {
    problems.push_back("no shard files given");
  }
  if (problems.empty() && fs::exists(out) && !force)
    problems.push_back("output file '" + out + "' already exists (use --force to overwrite it)");
  const fs::path outp(out);
  const fs::path dir = outp.has_parent_path() ? outp.parent_path() : fs::path(".");
  std::error_code ec;
  if (problems.empty() && !fs::is_directory(dir, ec)) problems.push_back("output directory '" + dir.string() + "' does not exist");
  if (problems.empty() && access(dir.c_str(), W_OK) != 0)
    problems.push_back("output directory '" + dir.string() + "' is not writable");
  auto refuse = [&] {
    for (const auto& p : problems) err << me << p << "\n";
    err << me << "nothing was written\n";
    res.exit_code = 2;
    return std::move(res);
  };
  if (!problems.empty()) return refuse();

  // 3. The sweep's description, rebuilt from the first shard's file.
  std::sort(files.begin(), files.end(), [](const ShardFile& a, const ShardFile& b) { return a.shard.index < b.shard.index; });
  SweepInfo& info = res.info;
  try {
    auto h = h5::File::open_read(files.front().path);
    auto root = h.root();
    auto meta = root.open_group("metadata");
    const std::string text = meta.read_string("experiment_yaml"), path = meta.read_string("experiment_path");
    const auto overrides = meta.read_strings("overrides");
    cfg::Diagnostics d;
    auto spec = parse_experiment_text(text, path, overrides, d);
    if (!spec) {
      problems.push_back("the experiment stored in " + files.front().path + " does not parse with this talentsim build:\n" + d.format());
      return refuse();
    }
    res.spec = std::make_unique<ExperimentSpec>(std::move(*spec));
    res.design = std::make_unique<Design>(make_design(res.spec->parameters, res.spec->design));
    info.spec = res.spec.get();
    info.design = res.design.get();
    auto var = root.open_group("variants");
    info.variant_names = var.read_strings("name");
    info.variant_scenarios = var.read_strings("scenario");
    info.variant_overrides = var.read_strings("overrides");
    info.plan = RunPlan(int64_t(res.design->points()), res.spec->replications, int64_t(info.variant_names.size()), res.spec->seed,
                        res.spec->seeds);
    const auto sp = meta.read_strings("source_paths"), st = meta.read_strings("source_texts");
    for (std::size_t i = 0; i < sp.size() && i < st.size(); ++i) info.sources.push_back(cfg::Source{sp[i], st[i], {}});
    info.notes = meta.read_strings("notes");
    // The shard's runs folder is relative to the shard file's folder (SweepFile).
    const std::string rd = root.attr_string("runs_dir");
    info.runs_dir = resolve_beside(files.front().path, rd);
    info.steps = root.attr_int("steps");
    info.jobs = int(root.attr_int("jobs"));
    info.threads_per_job = int(root.attr_int("threads_per_job"));
    info.merged_shards = files.front().shard.count;
    info.command_line = command_line;
    for (const auto& f : files) info.command_line += "\n" + h5::File::open_read(f.path).root().open_group("metadata").read_string("command_line");
  } catch (const std::exception& e) {
    problems.push_back("cannot read the sweep's description from " + files.front().path + ": " + e.what());
    return refuse();
  }
  if (info.fingerprint() != files.front().fingerprint) {
    problems.push_back("the shards were written by another talentsim build (commit " + files.front().git_commit +
                       "): merge them with that build");
    return refuse();
  }

  // 4. Every shard holds exactly its share, each run done or failed.
  const int64_t N = info.plan.size();
  const std::size_t K = res.spec->outcomes.size();
  std::vector<RunResult> records;
  records.reserve(std::size_t(N));
  for (const auto& f : files) {
    SweepRuns runs;
    try {
      runs = read_runs(f.path);
    } catch (const std::exception& e) {
      problems.push_back("cannot read the runs of " + f.path + ": " + e.what());
      continue;
    }
    if (int64_t(runs.id.size()) != N || runs.values.size() != std::size_t(N) * K) {
      problems.push_back(f.path + " does not have the sweep's " + std::to_string(N) + " runs");
      continue;
    }
    int64_t wrong = 0;
    for (int64_t r = 0; r < N; ++r) {
      const auto st = runs.status[std::size_t(r)];
      const bool has = f.shard.has(r), recorded = st == uint8_t(RunStatus::Done) || st == uint8_t(RunStatus::Failed);
      if (has != recorded) {
        ++wrong;
        continue;
      }
      if (!has) continue;
      RunResult rr;
      rr.id = r;
      rr.status = RunStatus(st);
      rr.seconds = runs.seconds[std::size_t(r)];
      rr.host = runs.host[std::size_t(r)];
      rr.error = runs.error[std::size_t(r)];
      rr.outcomes.assign(runs.values.begin() + r * int64_t(K), runs.values.begin() + (r + 1) * int64_t(K));
      records.push_back(std::move(rr));
    }
    if (wrong > 0)
      problems.push_back(f.path + " does not hold exactly its share (runs r with r mod " + std::to_string(f.shard.count) +
                         " = " + std::to_string(f.shard.index) + "): " + std::to_string(wrong) + " run" +
                         (wrong == 1 ? " is" : "s are") + " out of place");
  }
  if (!problems.empty()) return refuse();

  // 5. The file, as a single sweep writes it: a partial file renamed when complete.
  const std::string partial = (dir / ("." + outp.filename().string() + ".partial-" + std::to_string(::getpid()))).string();
  try {
    SweepFile file(partial, info);
    std::vector<uint8_t> status(std::size_t(N), uint8_t(RunStatus::Pending));
    std::vector<double> values(std::size_t(N) * K, std::numeric_limits<double>::quiet_NaN());
    for (const auto& r : records) {
      file.write(r);
      status[std::size_t(r.id)] = uint8_t(r.status);
      std::copy(r.outcomes.begin(), r.outcomes.end(), values.begin() + r.id * int64_t(K));
      (r.status == RunStatus::Done ? res.done : res.failed) += 1;
      if (r.status == RunStatus::Failed) res.failures.push_back(r);
    }
    file.flush(res.done, res.failed, 0);
    res.analysis = analyze(*res.design, info.plan, status, values, K, res.spec->design.bootstrap, res.spec->design.seed);
    file.write_analysis(res.analysis);
    file.close("complete");
  } catch (const std::exception& e) {
    fs::remove(partial, ec);
    err << me << "cannot write " << out << ": " << e.what() << "\n";
    res.exit_code = 1;
    return res;
  }
  fs::rename(partial, out, ec);
  if (ec) {
    fs::remove(partial, ec);
    err << me << "cannot write " << out << "\n";
    res.exit_code = 1;
    return res;
  }
  res.exit_code = res.failed > 0 ? 1 : 0;
  return res;
}

}  // namespace ts::exp
