#include "sim/io/spin_up_cache.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "sim/engine/hash.hpp"
#include "sim/io/checkpoint.hpp"
#include "talentsim_version.hpp"

namespace ts::io {

namespace fs = std::filesystem;

namespace {

std::string hex16(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

/// The program's identity: version, commit and a digest of the running executable (a build
/// from a modified tree carries the commit it started from, so the commit alone is not enough).
const std::string& program_identity() {
  static const std::string id = [] {
    std::string s = std::string("talentsim ") + TALENTSIM_VERSION + " " + TALENTSIM_GIT_COMMIT;
    std::ifstream exe("/proc/self/exe", std::ios::binary);
    if (exe) {
      uint64_t h = engine::kFnvBasisShort;
      std::vector<char> buf(1 << 20);
      while (exe.read(buf.data(), std::streamsize(buf.size())) || exe.gcount() > 0) h = engine::fnv1a(buf.data(), std::size_t(exe.gcount()), h);
      s += " executable " + hex16(h);
    }
    return s;
  }();
  return id;
}

}  // namespace

std::string spin_up_key(const cfg::Node& tree) {
  cfg::Node t = tree;
  t.erase("output");
  if (cfg::Node* run = t.find("run")) run->erase("steps");
  if (cfg::Node* events = t.find("events"); events && events->is_seq()) {
    std::vector<cfg::Node> kept;
    for (const auto& e : events->seq) {
      const cfg::Node* type = e.find("type");
      if (type && type->is_scalar() && type->scalar == "office_open") kept.push_back(e);
    }
    events->seq = std::move(kept);
    if (events->seq.empty()) t.erase("events");  // no events and a timeline that starts later: the same start
  }
  return cfg::to_yaml(t);
}

std::string SpinUpCache::full_key(const cfg::Node& tree) { return program_identity() + "\n" + spin_up_key(tree); }

std::string SpinUpCache::file_for(const std::string& key) const {
  return (fs::path(dir_) / ("spin-up-" + hex16(engine::fnv1a(key, engine::kFnvBasisShort)) + ".ckpt")).string();
}

SpinUpCache::Started SpinUpCache::start(const cfg::Node& tree, model::Params params,
                                        const model::Simulation::SpinUpProgress& progress) const {
  Started out;
  if (params.run.spin_up <= 0) {
    out.sim = std::make_unique<model::Simulation>(std::move(params));
    return out;
  }
  const std::string key = full_key(tree);
  const std::string file = file_for(key);
  std::error_code ec;
  if (fs::exists(file, ec)) {
    try {
      Resumed r = CheckpointIO::load(file);
      if (r.key != key) throw CheckpointError("it holds another spin-up (a different scenario, seed or program)");
      if (r.sim->t() != 0) throw CheckpointError("it is not at step 0");
      out.sim = std::make_unique<model::Simulation>(std::move(*r.sim), std::move(params));
      out.note = "spin-up of " + std::to_string(out.sim->params().run.spin_up) + " months from the cache: " + file;
      return out;
    } catch (const std::exception& e) {
      out.note = "spin-up cache file " + file + " ignored (" + std::string(e.what()).substr(0, 300) + "); ";
    }
  }
  out.sim = std::make_unique<model::Simulation>(std::move(params), progress);
  try {
    fs::create_directories(dir_);
    CheckpointIO::save_state(file, *out.sim, key);
    out.note += "spin-up saved to the cache: " + file;
  } catch (const std::exception& e) {
    out.note += "spin-up not saved to the cache (" + std::string(e.what()).substr(0, 300) + ")";
  }
  return out;
}

}  // namespace ts::io
