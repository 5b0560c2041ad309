#include "sim/io/scenario.hpp"

#include <unistd.h>

#include <cmath>
#include <set>

namespace ts::io {

static std::optional<Scenario> finish(Scenario s, cfg::Diagnostics& d) {
  for (const auto& o : s.overrides) cfg::apply_override(s.tree, o, cfg::Location{"--set", 0, 0}, d);
  if (!d.empty()) return std::nullopt;
  const std::size_t before = d.size();
  s.params = model::load_params(s.tree, d);
  std::set<std::string> known;  // problems the file has anyway: not the set events' fault
  for (std::size_t k = before; k < d.size(); ++k) known.insert(d.all()[k].path + ": " + d.all()[k].message);
  // Every `set` event must name a real key with a valid value: check now, not mid-run.
  for (std::size_t i = 0; i < s.params.events.size(); ++i) {
    const auto& e = s.params.events[i];
    if (e.type != model::EventType::Set || e.key.empty()) continue;
    cfg::Node copy = s.tree;
    cfg::Diagnostics ed;
    if (cfg::apply_override(copy, e.key + "=" + e.value, e.loc, ed)) (void)model::load_params(copy, ed);
    for (const auto& x : ed.all())
      if (!known.count(x.path + ": " + x.message))
        d.error(e.loc, cfg::index_path("events", i), "set '" + e.key + "': " + x.path + ": " + x.message);
  }
  const double need = estimate_memory_bytes(s.params);
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (have > 0 && need > 0.8 * have) {
    const cfg::Node* n = cfg::get_path(s.tree, "population.researchers");
    d.error(n ? n->loc : s.tree.loc, "population.researchers",
            "this population needs about " + std::to_string(int64_t(need / 1e9)) + " GB, more than 80% of the " +
                std::to_string(int64_t(have / 1e9)) + " GB this machine has");
  }
  if (!d.empty()) return std::nullopt;
  return s;
}

std::optional<Scenario> load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                                      cfg::Diagnostics& d) {
  auto loaded = cfg::load_scenario(path, d);
  if (!loaded) return std::nullopt;
  Scenario s;
  s.path = path;
  s.sources = loaded->sources;
  s.overrides = overrides;
  s.tree = std::move(loaded->root);
  if (s.tree.kind == cfg::Node::Kind::Null) s.tree.kind = cfg::Node::Kind::Map;
  return finish(std::move(s), d);
}

std::optional<Scenario> load_scenario_text(const std::string& text, const std::string& name,
                                           const std::vector<std::string>& overrides, cfg::Diagnostics& d) {
  auto root = cfg::parse_string(text, name, d);
  if (!root) return std::nullopt;
  Scenario s;
  s.path = name;
  s.sources = {{name, text}};
  s.overrides = overrides;
  s.tree = std::move(*root);
  if (s.tree.kind == cfg::Node::Kind::Null) s.tree.kind = cfg::Node::Kind::Map;
  if (s.tree.find("extends")) {
    d.error(s.tree.find("extends")->loc, "extends", "'extends' needs a scenario file, not a text");
    return std::nullopt;
  }
  return finish(std::move(s), d);
}

double estimate_memory_bytes(const model::Params& p) {
  // Researcher columns plus per-step scratch (offers, movers, chunk buffers), with entrants
  // over the horizon; firms are small in comparison.
  double entrants = 0;
  for (const auto& r : p.regions) entrants += r.entrants_per_month * r.ai_propensity;
  const double n = double(p.population.researchers) + entrants * double(p.run.steps);
  int64_t firms = 0;
  for (const auto& f : p.firms) firms += f.count;
  return n * 120.0 + double(firms) * (8.0 * p.run.steps * 6 + 400.0);
}

}  // namespace ts::io
