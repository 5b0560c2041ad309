#include "sim/config/scenario.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "sim/config/schema.hpp"

namespace ts::cfg {

namespace {

// ------------------------------------------------------------------ regions

std::vector<std::string> default_region_names() {
  std::vector<std::string> out;
  for (const auto& r : model::default_regions()) out.push_back(r.name);
  return out;
}

/// The default regions, every field explicit, as a `regions:` map.
Node default_regions_node() {
  model::Params defaults;
  defaults.regions = model::default_regions();
  return *model::dump_params(defaults).find("regions");
}

/// Names of the regions a tree has: its `regions:` map, or the defaults without one.
std::vector<std::string> region_names(const Node& tree) {
  const Node* r = tree.find("regions");
  if (!r) return default_region_names();
  std::vector<std::string> out;
  for (const auto& [k, v] : r->map) out.push_back(k);
  return out;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// "unknown region 'us' (did you mean 'US'?)" or "unknown region 'Mars' (regions: US, CN, ...)":
/// the hint comes from `candidates`, the list shows `known`.
std::string unknown_region(const std::string& name, const std::vector<std::string>& candidates,
                           const std::vector<std::string>& known) {
  const std::string hint = did_you_mean(name, candidates);
  return "unknown region " + cfg::quoted(name) +
         (hint.empty() ? " (regions: " + join(known) + ")" : " (did you mean '" + hint + "'?)");
}
std::string unknown_region(const std::string& name, const std::vector<std::string>& known) {
  return unknown_region(name, known, known);
}

void check_child_regions(Node& base, const Node& child, Diagnostics& d) {
  const Node* cr = child.find("regions");
  if (!cr || !cr->is_map()) return;  // absent, or not a map (load_params reports that)
  Node* br = base.find("regions");
  if (!br) {
    base.set("regions", default_regions_node(), base.loc);
    br = base.find("regions");
  }
  if (!br->is_map()) return;
  std::vector<std::string> known;
  for (const auto& [k, v] : br->map) known.push_back(k);
  const auto defaults = default_region_names();
  const auto is_default = [&](const std::string& n) { return std::find(defaults.begin(), defaults.end(), n) != defaults.end(); };
  const bool only_defaults = std::all_of(known.begin(), known.end(), is_default);
  for (const auto& [k, v] : cr->map) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    if (only_defaults && is_default(k)) continue;
    std::vector<std::string> allowed = known;
    if (only_defaults)
      for (const auto& n : defaults)
        if (!std::count(allowed.begin(), allowed.end(), n)) allowed.push_back(n);
    d.error(v.key_loc, "regions." + k,
            unknown_region(k, allowed, known) +
                ": a scenario that extends another can change its regions, not add one; a new region needs a "
                "full `regions:` map in a scenario without `extends`");
  }
}

bool names_regions(const std::string& assignment) {
  const auto b = assignment.find_first_not_of(" \t");
  return b != std::string::npos && assignment.compare(b, 7, "regions") == 0;
}

// ------------------------------------------------------------------ scale is one knob

// The absolute counts that describe the size of the world (MODEL.md §1, "scale is one knob"):
// with population.scale_market they are multiplied by researchers / reference_researchers, so
// a world of N researchers is the same world at another size. Budgets follow headcounts
// (budget_per_head). Not scaled, by decision: the number of firms (`count`: the same firms,
// each larger), visa caps (`annual_cap`: the cap of the whole economy, of which AI researchers
// are a small part; the lottery odds carry the competition for it), scouting lists and raid
// offers (a number of individuals, the most talented ones, who stay as few in a larger world),
// and every rate, share and amount per head.
struct ScaledCount {
  const char* list;  ///< "firms" (a list of firm entries) or "regions" (a map of regions)
  const char* key;   ///< the key in each entry
};
constexpr ScaledCount kScaledCounts[] = {{"firms", "headcount"}, {"regions", "entrants_per_month"}};

/// Multiplies a number or a distribution node by f. Returns false for a distribution that
/// cannot be scaled (bm_equilibrium); a malformed node is left for load_params to report.
bool scale_number(Node& n, double f) {
  auto mul = [&](Node* x) {
    double v = 0;
    if (x && x->is_scalar() && model::schema::parse_double(x->scalar, v)) x->scalar = model::schema::fmt_num(v * f);
  };
  if (n.is_scalar()) {
    mul(&n);
    return true;
  }
  if (!n.is_map()) return true;
  const Node* kind = n.find("dist");
  const std::string k = kind && kind->is_scalar() ? kind->scalar : "";
  if (k == "constant") mul(n.find("value"));
  else if (k == "uniform") mul(n.find("min")), mul(n.find("max"));
  else if (k == "normal") mul(n.find("mean")), mul(n.find("sd"));
  else if (k == "lognormal") mul(n.find("median"));
  else if (k == "bm_equilibrium") return false;
  return true;
}

/// Scales the counts of one entry (a firm map or a region map). `whole`: the entry is complete,
/// so an absent count has its default, which is scaled too (a firm's headcount: 100).
void scale_entry(Node& entry, const char* list, double f, bool whole, const std::string& path, Diagnostics& d) {
  if (!entry.is_map()) return;
  for (const auto& c : kScaledCounts) {
    if (std::string(c.list) != list) continue;
    Node* n = entry.find(c.key);
    if (!n) {
      if (!whole || std::string(c.key) != "headcount") continue;  // the only count with a non-zero default
      entry.set(c.key, Node::make_scalar(model::schema::fmt_num(model::FirmSpec{}.headcount.a), entry.loc), entry.loc);
      n = entry.find(c.key);
    }
    if (!scale_number(*n, f))
      d.error(n->loc, join_path(path, c.key),
              "a bm_equilibrium distribution cannot be scaled with the population (population.scale_market); "
              "give a number or another distribution, or set population.scale_market: false");
  }
}

/// The population that the counts of each scenario file describe: the file's own
/// population.reference_researchers, else its population.researchers, else its (last) base's,
/// else the default population (300000, [P1]).
class References {
 public:
  explicit References(const std::vector<Source>& sources) {
    for (const auto& s : sources) by_path_[s.path] = &s;
  }
  /// 0 when the file is not a scenario file (a --set, a calibration file): its counts are as given.
  double of(const std::string& file) {
    if (!by_path_.count(file)) return 0;
    if (auto it = memo_.find(file); it != memo_.end()) return it->second;
    memo_[file] = model::PopulationParams{}.researchers;  // guards against cycles (reported elsewhere)
    const Source& s = *by_path_[file];
    Diagnostics scratch;
    const auto root = parse_string(s.text, s.path, scratch);
    double ref = 0;
    for (const char* key : {"population.reference_researchers", "population.researchers"}) {
      int64_t v = 0;
      const Node* n = root ? get_path(*root, key) : nullptr;
      if (ref == 0 && n && n->is_scalar() && model::schema::parse_int(n->scalar, v) && v > 0) ref = double(v);
    }
    if (ref == 0 && !s.bases.empty()) ref = of(s.bases.back());
    if (ref == 0) ref = double(model::PopulationParams{}.researchers);
    return memo_[file] = ref;
  }

 private:
  std::map<std::string, const Source*> by_path_;
  std::map<std::string, double> memo_;
};

/// Splits "firms[3].pay.base" or "firms.Meta.pay.base" into {firms, 3, pay, base}.
std::vector<std::string> segments(const std::string& key) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : key) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ' && c != '\t') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

/// The value of a `set` event whose key reaches a scaled count, scaled by f (YAML text).
std::string scale_set_value(const std::string& key, const std::string& value, double f, const std::string& path,
                            Diagnostics& d) {
  const auto segs = segments(key);
  if (segs.empty() || (segs[0] != "firms" && segs[0] != "regions")) return value;
  Diagnostics scratch;
  auto v = parse_string(value, "", scratch);
  if (!v || !scratch.empty()) return value;  // reported by the set-event checks
  const char* list = segs[0] == "firms" ? "firms" : "regions";
  if (segs.size() == 1) {  // the whole list (firms) or map (regions)
    for (auto& e : v->seq) scale_entry(e, list, f, true, path, d);
    for (auto& [k, e] : v->map) scale_entry(e, list, f, true, path, d);
  } else {
    // Wrap the value in the entry it belongs to (firms.X.pay.base -> {pay: {base: v}}), scale, unwrap.
    Node entry = std::move(*v);
    for (std::size_t i = segs.size(); i-- > 2;) {
      Node m = Node::make_map();
      m.set(segs[i], std::move(entry), {});
      entry = std::move(m);
    }
    scale_entry(entry, list, f, segs.size() == 2, path, d);
    for (std::size_t i = 2; i < segs.size(); ++i) {
      Node inner = std::move(*entry.find(segs[i]));
      entry = std::move(inner);
    }
    v = std::move(entry);
  }
  std::string text = to_yaml(*v);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

/// Scales the counts of the merged tree from the population each file describes to
/// population.researchers. Returns a note describing what was scaled, or "".
std::string scale_counts(Scenario& s, Diagnostics& d) {
  Node& t = s.tree;
  int64_t n = model::PopulationParams{}.researchers;
  bool on = true;
  if (const Node* x = get_path(t, "population.researchers"); x && !(x->is_scalar() && model::schema::parse_int(x->scalar, n)))
    return "";  // reported by load_params
  if (const Node* x = get_path(t, "population.scale_market"); x && !(x->is_scalar() && model::schema::parse_bool(x->scalar, on)))
    return "";
  if (!on || n <= 0) return "";
  References refs(s.sources);
  double forced = 0;  // --set population.reference_researchers=X: every file's counts describe X researchers
  if (const Node* x = get_path(t, "population.reference_researchers"); x && x->loc.file == "--set") {
    int64_t v = 0;
    if (!(x->is_scalar() && model::schema::parse_int(x->scalar, v) && v >= 0)) return "";
    forced = double(v);
  }
  std::map<double, std::set<std::string>> scaled;  // factor -> files whose counts it scaled
  auto factor = [&](const std::string& file) {
    const double ref = forced > 0 ? (refs.of(file) > 0 ? forced : 0) : refs.of(file);
    return ref > 0 ? double(n) / ref : 1.0;
  };
  auto note = [&](double f, const std::string& file) {
    if (f != 1.0) scaled[f].insert(file);
  };
  if (Node* firms = t.find("firms"); firms && firms->is_seq())
    for (std::size_t i = 0; i < firms->seq.size(); ++i) {
      Node& e = firms->seq[i];
      const Node* hc = e.find("headcount");
      const std::string& file = hc ? hc->loc.file : e.loc.file;
      const double f = factor(file);
      if (f == 1.0) continue;
      scale_entry(e, "firms", f, true, index_path("firms", i), d);
      note(f, file);
    }
  if (Node* regions = t.find("regions"); regions && regions->is_map())
    for (auto& [name, r] : regions->map) {
      Node* x = r.find("entrants_per_month");
      if (!x) continue;
      const double f = factor(x->loc.file);
      if (f == 1.0) continue;
      scale_entry(r, "regions", f, false, "regions." + name, d);
      note(f, x->loc.file);
    }
  if (Node* events = t.find("events"); events && events->is_seq())
    for (std::size_t i = 0; i < events->seq.size(); ++i) {
      Node& e = events->seq[i];
      const Node *type = e.find("type"), *key = e.find("key");
      Node* value = e.find("value");
      if (!type || !key || !value || !type->is_scalar() || type->scalar != "set" || !key->is_scalar() || !value->is_scalar())
        continue;
      const double f = factor(value->loc.file);
      if (f == 1.0) continue;
      const std::string scaled_value = scale_set_value(key->scalar, value->scalar, f, index_path("events", i) + ".value", d);
      if (scaled_value == value->scalar) continue;
      value->scalar = scaled_value;
      value->quoted = true;
      note(f, value->loc.file);
    }
  if (scaled.empty()) return "";
  std::string out = "population.researchers = " + std::to_string(n) +
                    ": firm headcounts and entrants per month are scaled with it (population.scale_market; false keeps "
                    "them as written):";
  bool first = true;
  for (const auto& [f, files] : scaled) {
    out += std::string(first ? "" : ";") + " ×" + model::schema::fmt_num(std::round(f * 1e4) / 1e4) + " for those of " +
           join(std::vector<std::string>(files.begin(), files.end())) + " (written for " +
           model::schema::fmt_num(std::round(double(n) / f)) + " researchers)";
    first = false;
  }
  return out;
}

// ------------------------------------------------------------------ set events

// Every `set` event must name a real key with a valid value, and may not add or remove
// regions or firm entries (the world's are fixed at step 0): check now, not mid-run. Each
// event is applied as Simulation::apply_event will apply it: to the resolved parameters
// (where the default regions are explicit), without the timeline. Problems the scenario
// has anyway are reported once, not again under each event.
void check_set_events(const Scenario& s, Diagnostics& d) {
  Node resolved = model::dump_params(s.params);
  resolved.erase("events");
  Diagnostics base;
  (void)model::load_params(resolved, base);
  auto already = [&](const Diagnostic& x) {
    return std::any_of(base.all().begin(), base.all().end(),
                       [&](const Diagnostic& b) { return b.path == x.path && b.message == x.message; });
  };
  std::vector<std::string> regions;
  for (const auto& r : s.params.regions) regions.push_back(r.name);
  for (std::size_t i = 0; i < s.params.events.size(); ++i) {
    const auto& e = s.params.events[i];
    if (!e.valid || e.type != model::EventType::Set || e.key.empty()) continue;
    Node copy = resolved;
    Diagnostics ed;
    if (apply_override(copy, e.key + "=" + e.value, e.loc, ed)) {
      const model::Params np = model::load_params(copy, ed);
      std::vector<std::string> added;
      for (const auto& r : np.regions)
        if (std::find(regions.begin(), regions.end(), r.name) == regions.end()) added.push_back(r.name);
      if (!added.empty())
        ed.error(e.loc, "regions." + added[0], unknown_region(added[0], regions) + ": a set event cannot add a region");
      else if (np.regions.size() != s.params.regions.size())
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
        d.error(e.loc, index_path("events", i),
                "set " + cfg::quoted(e.key) + ": " + (x.path.empty() ? "" : x.path + ": ") + x.message);
  }
}

// ------------------------------------------------------------------ horizon

/// Drops events and snapshots after the horizon (a shortened run of a longer scenario), with
/// one note naming them. Events before the start are errors (load_params).
std::string drop_after_horizon(model::Params& p) {
  const int64_t T = p.run.steps;
  std::string events, snaps;
  std::vector<model::Event> kept;
  for (std::size_t i = 0; i < p.events.size(); ++i) {
    const auto& e = p.events[i];
    if (e.at.step >= T) {
      events += std::string(events.empty() ? "" : ", ") + index_path("events", i) + " (" + model::to_string(e.type) +
                " at step " + std::to_string(e.at.step) + ", " + format_location(e.at.loc) + ")";
    } else {
      kept.push_back(e);
    }
  }
  std::vector<int64_t> kept_snaps;
  for (auto t : p.output.snapshots) {
    if (t >= T) snaps += std::string(snaps.empty() ? "" : ", ") + std::to_string(t);
    else kept_snaps.push_back(t);
  }
  if (events.empty() && snaps.empty()) return "";
  p.events = std::move(kept);
  p.output.snapshots = std::move(kept_snaps);
  const int start = p.start_month_index();
  std::string out = "the horizon is " + std::to_string(T) + " steps" +
                    (start >= 0 && T > 0 ? " (" + p.run.start + " .. " + model::format_month(start + int(T) - 1) + ")" : "") +
                    "; dropped after it:";
  if (!events.empty()) out += " " + events;
  if (!snaps.empty()) out += std::string(events.empty() ? "" : ";") + " output.snapshots at step" + (snaps.find(',') != std::string::npos ? "s " : " ") + snaps;
  return out;
}

// ------------------------------------------------------------------ all together

}  // namespace

void apply_overrides(Node& tree, const std::vector<std::string>& overrides, const std::vector<Location>& where,
                     Diagnostics& d) {
  // `--set regions.US.x=...` on a scenario that keeps the default regions changes that region:
  // make the defaults explicit first, or the override's `regions` would replace all of them.
  if (!tree.find("regions") && std::any_of(overrides.begin(), overrides.end(), names_regions))
    tree.set("regions", default_regions_node(), tree.loc);
  // Every override is applied or reported: all problems are reported in one run. An override
  // may change regions but not add one (`--set regions.USA.x=1` is a typo, not a new region).
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string& o = overrides[i];
    const Location at_set = i < where.size() ? where[i] : Location{"--set", 0, 0};
    if (!names_regions(o)) {
      apply_override(tree, o, at_set, d);
      continue;
    }
    const auto before = region_names(tree);
    Node backup = tree;
    if (!apply_override(tree, o, at_set, d)) continue;
    for (const auto& name : region_names(tree))
      if (std::find(before.begin(), before.end(), name) == before.end()) {
        Location at = at_set;
        at.snippet = o;
        d.error(at, "regions." + name, unknown_region(name, before) + ": --set cannot add a region");
        tree = std::move(backup);
        break;
      }
  }
}

std::optional<Scenario> check_scenario(Scenario s, Diagnostics& d) {
  const std::string scaled = scale_counts(s, d);
  s.params = model::load_params(s.tree, d);
  if (s.params.population.scale_market) s.params.population.reference_researchers = s.params.population.researchers;
  check_set_events(s, d);
  const double need = estimate_memory_bytes(s.params);
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (have > 0 && need > 0.8 * have) {
    const Node* n = get_path(s.tree, "population.researchers");
    d.error(n ? n->loc : s.tree.loc, "population.researchers",
            "this population needs about " + std::to_string(int64_t(need / 1e9)) + " GB, more than 80% of the " +
                std::to_string(int64_t(have / 1e9)) + " GB this machine has");
  }
  if (!d.empty()) return std::nullopt;
  if (!scaled.empty()) s.notes.push_back(scaled);
  if (auto dropped = drop_after_horizon(s.params); !dropped.empty()) s.notes.push_back(dropped);
  return s;
}

namespace {
/// The overrides, then the checks (all problems are reported, even after a bad --set).
std::optional<Scenario> finish(Scenario s, Diagnostics& d) {
  apply_overrides(s.tree, s.overrides, {}, d);
  return check_scenario(std::move(s), d);
}
}  // namespace

LoadHooks scenario_load_hooks() { return LoadHooks{check_child_regions}; }

std::optional<Scenario> load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                                      Diagnostics& d) {
  auto loaded = load_files(path, d, scenario_load_hooks());
  if (!loaded) return std::nullopt;
  Scenario s;
  s.path = path;
  s.sources = loaded->sources;
  s.overrides = overrides;
  s.tree = std::move(loaded->root);
  if (s.tree.kind == Node::Kind::Null) s.tree.kind = Node::Kind::Map;
  return finish(std::move(s), d);
}

std::optional<Scenario> load_scenario_text(const std::string& text, const std::string& name,
                                           const std::vector<std::string>& overrides, Diagnostics& d) {
  auto root = parse_string(text, name, d);
  if (!root) return std::nullopt;
  Scenario s;
  s.path = name;
  s.sources = {{name, text, {}}};
  s.overrides = overrides;
  s.tree = std::move(*root);
  if (s.tree.kind == Node::Kind::Null) s.tree.kind = Node::Kind::Map;
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
