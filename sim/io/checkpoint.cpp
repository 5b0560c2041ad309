#include "sim/io/checkpoint.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include "sim/engine/hash.hpp"
#include "sim/io/h5.hpp"
#include "sim/config/yaml_tree.hpp"
#include "sim/model/init.hpp"
#include "talentsim_version.hpp"

namespace ts::io {

namespace fs = std::filesystem;
constexpr int64_t kFormat = 2;  // 2: absolute output paths and the run id

namespace {

/// FNV-1a over every byte saved, to refuse damaged checkpoints (from the short basis, as
/// every checkpoint so far: engine/hash.hpp).
struct Hash {
  uint64_t h = engine::kFnvBasisShort;
  void add(const void* p, std::size_t n) { h = engine::fnv1a(p, n, h); }
};

struct Saver {
  h5::Group& g;
  Hash& hash;
  template <class T>
  void operator()(const char* name, const std::vector<T>& v) {
    g.write(name, v, {hsize_t(v.size())});
    hash.add(v.data(), v.size() * sizeof(T));
  }
  void operator()(const char* name, const std::vector<std::string>& v) {
    g.write_strings(name, v);
    for (const auto& s : v) hash.add(s.data(), s.size() + 1);
  }
};

struct Loader {
  h5::Group g;
  Hash& hash;
  template <class T>
  void operator()(const char* name, std::vector<T>& v) {
    v = g.read<T>(name);
    hash.add(v.data(), v.size() * sizeof(T));
  }
  void operator()(const char* name, std::vector<std::string>& v) {
    v = g.read_strings(name);
    for (const auto& s : v) hash.add(s.data(), s.size() + 1);
  }
};

}  // namespace

void CheckpointIO::save(const std::string& path, const model::Simulation& sim, const RunWriter& writer) {
  save_impl(path, sim, &writer, "");
}

void CheckpointIO::save_state(const std::string& path, const model::Simulation& sim, const std::string& key) {
  save_impl(path, sim, nullptr, key);
}

void CheckpointIO::save_impl(const std::string& path, const model::Simulation& sim, const RunWriter* writer,
                             const std::string& key) {
  const fs::path out(path);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  // Unique to this process and call: runs of a sweep may save the same spin-up at once (SpinUpCache).
  static std::atomic<uint64_t> calls{0};
  const std::string tmp = (dir / ("." + out.filename().string() + ".partial-" + std::to_string(getpid()) + "-" +
                                  std::to_string(calls.fetch_add(1)))).string();
  std::error_code ec;
  fs::remove(tmp, ec);
  try {
    Hash hash;
    {
      auto file = h5::File::create(tmp);
      auto root = file.root();
      root.attr("creator", std::string("talentsim checkpoint"));
      root.attr("format", kFormat);
      root.attr("version", std::string(TALENTSIM_VERSION));
      root.attr("git_commit", std::string(TALENTSIM_GIT_COMMIT));
      root.attr("step", int64_t(sim.t()));
      if (writer) {
        // Absolute: `resume` may run from another directory.
        root.attr("output", fs::absolute(writer->final_path()).lexically_normal().string());
        root.attr("output_temp", fs::absolute(writer->temp_path()).lexically_normal().string());
        root.attr("run_id", writer->run_id());
        root.attr("event_rows", writer->event_rows());
      } else {
        root.attr("output", std::string());
        root.attr("output_temp", std::string());
        root.attr("run_id", std::string());
        root.attr("event_rows", int64_t(0));
      }
      root.attr("state_key", key);
      hash.add(key.data(), key.size());
      const std::string params = cfg::to_yaml(model::dump_params(sim.params()));
      root.write_string("params_yaml", params);
      hash.add(params.data(), params.size());
      {
        auto g = root.group("researchers");
        model::for_each_researcher_column(sim.s_.world.r, [&, save = Saver{g, hash}](const auto& c, const auto& column) mutable { save(c.name, column); });
      }
      {
        auto g = root.group("firms");
        model::for_each_firm_column(sim.s_.world.f, Saver{g, hash});
      }
      {
        auto g = root.group("regions");
        model::for_each_region_column(sim.s_.world.reg, Saver{g, hash});
      }
      {
        auto g = root.group("simulation");
        Saver s{g, hash};
        s("free_slots", sim.s_.free_slots);
        s("prev_stock", sim.s_.prev_stock);
        const auto pt = sim.poaching_table();
        s("poaching_from", pt.from);
        s("poaching_to", pt.to);
        s("poaching_count", pt.count);
        s("scalars", std::vector<uint64_t>{sim.s_.world.next_uid, uint64_t(sim.s_.world.step)});
        s("cuts", std::vector<float>{sim.s_.tiers.elite_cut, sim.s_.tiers.top_cut});
      }
      {
        auto g = root.group("writer");
        Saver s{g, hash};
        std::vector<int64_t> marks, reg, firm;
        if (writer) {
          marks.assign(writer->mark_steps_.begin(), writer->mark_steps_.end());
          for (const auto& x : writer->region_years_) reg.insert(reg.end(), x.begin(), x.end());
          for (const auto& x : writer->firm_years_) firm.insert(firm.end(), x.begin(), x.end());
        }
        s("mark_steps", marks);
        s("region_years", reg);
        s("firm_years", firm);
      }
      root.attr("checksum", std::to_string(hash.h));
      file.flush();
      file.close();
    }
    fs::rename(tmp, out, ec);
    if (ec) throw std::runtime_error("cannot move the checkpoint into place as '" + path + "': " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

Resumed CheckpointIO::load(const std::string& path) {
  if (!fs::exists(path)) throw CheckpointError("no checkpoint file '" + path + "'");
  Resumed res;
  try {
    auto file = h5::File::open_read(path);
    auto root = file.root();
    if (!root.has_attr("creator") || root.attr_string("creator") != "talentsim checkpoint")
      throw CheckpointError("'" + path + "' is not a talentsim checkpoint");
    if (root.attr_int("format") != kFormat)
      throw CheckpointError("'" + path + "' has checkpoint format " + std::to_string(root.attr_int("format")) +
                            "; this talentsim reads format " + std::to_string(kFormat));
    Hash hash;
    // A run's checkpoint has an empty key (files saved before save_state() existed have none).
    if (root.has_attr("state_key")) res.key = root.attr_string("state_key");
    hash.add(res.key.data(), res.key.size());
    const std::string params_yaml = root.read_string("params_yaml");
    hash.add(params_yaml.data(), params_yaml.size());
    cfg::Diagnostics d;
    auto tree = cfg::parse_string(params_yaml, path + ":params_yaml", d);
    model::Params params;
    if (tree) params = model::load_params(*tree, d);
    if (!d.empty()) throw CheckpointError("the configuration saved in '" + path + "' does not load:\n" + d.format());
    res.sim.reset(new model::Simulation(std::move(params), model::Simulation::RestoreTag{}));
    auto& sim = *res.sim;
    model::for_each_researcher_column(sim.s_.world.r, [&, load = Loader{root.open_group("researchers"), hash}](const auto& c, auto& column) mutable { load(c.name, column); });
    model::for_each_firm_column(sim.s_.world.f, Loader{root.open_group("firms"), hash});
    model::for_each_region_column(sim.s_.world.reg, Loader{root.open_group("regions"), hash});
    {
      Loader l{root.open_group("simulation"), hash};
      l("free_slots", sim.s_.free_slots);
      l("prev_stock", sim.s_.prev_stock);
      std::vector<int32_t> from, to;
      std::vector<int64_t> count;
      l("poaching_from", from);
      l("poaching_to", to);
      l("poaching_count", count);
      sim.s_.books.poaching.clear();
      for (std::size_t k = 0; k < from.size() && k < to.size() && k < count.size(); ++k) sim.s_.books.poaching.add(model::Ledger::poaching_key(from[k], to[k]), count[k]);
      std::vector<uint64_t> scalars;
      std::vector<float> cuts;
      l("scalars", scalars);
      l("cuts", cuts);
      if (scalars.size() != 2 || cuts.size() != 2) throw CheckpointError("'" + path + "' is damaged: bad simulation scalars");
      sim.s_.world.next_uid = scalars[0];
      sim.s_.world.step = int(scalars[1]);
      sim.s_.tiers.elite_cut = cuts[0];
      sim.s_.tiers.top_cut = cuts[1];
    }
    {
      Loader l{root.open_group("writer"), hash};
      std::vector<int64_t> marks, reg, firm;
      l("mark_steps", marks);
      l("region_years", reg);
      l("firm_years", firm);
      const std::size_t M = marks.size();
      res.mark_steps.assign(marks.begin(), marks.end());
      if (M > 0) {
        const std::size_t rs = reg.size() / M, fsz = firm.size() / M;
        for (std::size_t m = 0; m < M; ++m) {
          res.region_years.emplace_back(reg.begin() + std::ptrdiff_t(m * rs), reg.begin() + std::ptrdiff_t((m + 1) * rs));
          res.firm_years.emplace_back(firm.begin() + std::ptrdiff_t(m * fsz), firm.begin() + std::ptrdiff_t((m + 1) * fsz));
        }
      }
    }
    if (root.attr_string("checksum") != std::to_string(hash.h))
      throw CheckpointError("'" + path + "' is damaged: its checksum does not match its contents");
    // Consistency of the column lengths.
    const auto& r = sim.s_.world.r;
    const std::size_t n = r.uid.size();
    for (std::size_t len : {r.alive.size(), r.employer.size(), r.talent.size(), r.pending_comp.size()})
      if (len != n) throw CheckpointError("'" + path + "' is damaged: researcher columns differ in length");
    if (sim.s_.world.f.office_begin.size() != sim.s_.world.f.name.size() + 1)
      throw CheckpointError("'" + path + "' is damaged: firm offices do not match the firms");
    // Derived lookups.
    model::index_firm_names(sim.s_);
    sim.s_.stats.reset(sim.regions(), int(sim.s_.world.f.size()));
    res.output = root.attr_string("output");
    res.output_temp = root.attr_string("output_temp");
    res.run_id = root.attr_string("run_id");
    res.event_rows = root.attr_int("event_rows");
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("'" + path + "' is damaged or not a checkpoint: " + std::string(e.what()).substr(0, 400));
  }
  return res;
}

void CheckpointIO::restore_writer(RunWriter& w, Resumed& r) {
  w.region_years_ = std::move(r.region_years);
  w.firm_years_ = std::move(r.firm_years);
  w.mark_steps_ = std::move(r.mark_steps);
  // Keep only marks taken before the checkpoint (later ones are recomputed).
  while (!w.mark_steps_.empty() && w.mark_steps_.back() >= r.sim->t()) {
    w.mark_steps_.pop_back();
    w.region_years_.pop_back();
    w.firm_years_.pop_back();
  }
}

}  // namespace ts::io
