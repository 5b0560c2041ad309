#include "sim/config/scenario.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace ts::cfg {

// Every `set` event must name a real key with a valid value, and may not add or remove
// regions or firm entries (the world's are fixed at step 0): check now, not mid-run. Each
// event is applied as Simulation::apply_event will apply it: to the resolved parameters
// (where the default regions are explicit), without the timeline. Problems the scenario
// has anyway are reported once, not again under each event.
static void check_set_events(const Scenario& s, cfg::Diagnostics& d) {
  cfg::Node resolved = model::dump_params(s.params);
  resolved.erase("events");
  cfg::Diagnostics base;
  (void)model::load_params(resolved, base);
  auto already = [&](const cfg::Diagnostic& x) {
    return std::any_of(base.all().begin(), base.all().end(),
                       [&](const cfg::Diagnostic& b) { return b.path == x.path && b.message == x.message; });
  };
  for (std::size_t i = 0; i < s.params.events.size(); ++i) {
    const auto& e = s.params.events[i];
    if (!e.valid || e.type != model::EventType::Set || e.key.empty()) continue;
    cfg::Node copy = resolved;
    cfg::Diagnostics ed;
    if (cfg::apply_override(copy, e.key + "=" + e.value, e.loc, ed)) {
      const model::Params np = model::load_params(copy, ed);
      if (np.regions.size() != s.params.regions.size())
        ed.error(e.loc, "regions",
                 "a set event cannot add or remove regions (" + std::to_string(s.params.regions.size()) +
                     " at the start, " + std::to_string(np.regions.size()) + " after it)");
      if (np.firms.size() != s.params.firms.size())
        ed.error(e.loc, "firms",
                 "a set event cannot add or remove firms (" + std::to_string(s.params.firms.size()) +
                     " entries at the start, " + std::to_string(np.firms.size()) + " after it)");
    }
    for (const auto& x : ed.all())
      if (!already(x))
        d.error(e.loc, cfg::index_path("events", i),
                "set '" + e.key + "': " + (x.path.empty() ? "" : x.path + ": ") + x.message);
  }
}

static bool names_regions(const std::string& assignment) {
  const auto b = assignment.find_first_not_of(" \t");
  return b != std::string::npos && assignment.compare(b, 7, "regions") == 0;
}

void apply_overrides(cfg::Node& tree, const std::vector<std::string>& overrides, const std::vector<cfg::Location>& where,
                     cfg::Diagnostics& d) {
  // `--set regions.US.x=...` on a scenario that keeps the default regions changes that region:
  // make the defaults explicit first, or the override's `regions` would replace all of them.
  if (!tree.find("regions") && std::any_of(overrides.begin(), overrides.end(), names_regions)) {
    model::Params defaults;
    defaults.regions = model::default_regions();
    const cfg::Node dumped = model::dump_params(defaults);
    tree.set("regions", *dumped.find("regions"), tree.loc);
  }
  // Every override is applied or reported: all problems are reported in one run.
  for (std::size_t i = 0; i < overrides.size(); ++i)
    cfg::apply_override(tree, overrides[i], i < where.size() ? where[i] : cfg::Location{"--set", 0, 0}, d);
}

static std::optional<Scenario> finish(Scenario s, cfg::Diagnostics& d) {
  // The parameters are checked even after a problem with an override (a bad --set, a duplicate
  // key): all problems are reported in one run.
  apply_overrides(s.tree, s.overrides, {}, d);
  return check_scenario(std::move(s), d);
}

std::optional<Scenario> check_scenario(Scenario s, cfg::Diagnostics& d) {
  s.params = model::load_params(s.tree, d);
  check_set_events(s, d);
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
  auto loaded = cfg::load_files(path, d);
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

}  // namespace ts::cfg
