// The calibration run (sim/model/calibration.hpp): the scenario with the calibration's events
// and overrides, the simulation as the estimator's Evaluator, and the overlay.
#include "sim/model/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "sim/config/scenario.hpp"
#include "sim/config/schema.hpp"
#include "sim/model/simulation.hpp"
#include "sim/model/stats.hpp"

namespace ts::model::calib {

namespace fs = std::filesystem;

namespace {

std::string fmt0(double x) {  // whole number
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", x);
  return b;
}
std::string fmt6(double x) {  // 6 significant digits
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", x);
  return b;
}
std::string num4(double x) {
  if (!std::isfinite(x)) return std::isnan(x) ? "n/a" : (x > 0 ? "inf" : "-inf");
  char b[64];
  if (std::fabs(x) >= 1e4 && std::fabs(x) < 1e12) return fmt0(x);
  std::snprintf(b, sizeof b, "%.4g", x);
  return b;
}

/// Path segments of an override key: "firms[CN AI company].productivity" -> firms, CN AI company, productivity.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string rel_path(const std::string& target, const std::string& from_file) {
  std::error_code ec;
  const fs::path t = fs::weakly_canonical(fs::absolute(target), ec);
  const fs::path dir = fs::weakly_canonical(fs::absolute(from_file), ec).parent_path();
  fs::path r = t.lexically_relative(dir);
  if (r.empty()) r = t;
  return r.generic_string();
}

/// Orders every map of `out` as the same map is ordered in `like` (keys `like` lacks go last).
/// A scenario that extends the overlay gets its maps in the base's order, and the order of
/// `regions` is the order of the regions (their indices in the output).
void order_like(cfg::Node& out, const cfg::Node& like) {
  if (!out.is_map() || !like.is_map()) return;
  auto rank = [&](const std::string& k) {
    for (std::size_t i = 0; i < like.map.size(); ++i)
      if (like.map[i].first == k) return i;
    return like.map.size();
  };
  std::stable_sort(out.map.begin(), out.map.end(), [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  for (auto& [k, v] : out.map)
    if (const cfg::Node* l = like.find(k)) order_like(v, *l);
}

}  // namespace

// ====================================================================== Calibrator

std::optional<Calibrator> Calibrator::create(CalibrationSpec spec, cfg::Diagnostics& d,
                                             const std::vector<std::string>& extra_overrides) {
  const std::size_t errors0 = d.size();
  auto loaded = cfg::load_files(spec.scenario, d, cfg::scenario_load_hooks());  // the region checks of load_scenario
  if (!loaded) {
    d.error(spec.scenario_loc, "scenario", "the scenario '" + spec.scenario_ref + "' could not be loaded");
    return std::nullopt;
  }
  if (d.size() != errors0) return std::nullopt;
  Calibrator c;
  c.spec_ = std::move(spec);
  c.extra_overrides_ = extra_overrides;
  cfg::Node tree = std::move(loaded->root);
  if (tree.is_null()) tree = cfg::Node::make_map(tree.loc);
  c.overlay_tree_ = tree;
  if (const cfg::Node* ev = tree.find("events"); ev && ev->is_seq()) c.scenario_events_ = ev->seq.size();
  if (c.spec_.events.is_seq() && !c.spec_.events.seq.empty()) {
    cfg::Node* ev = tree.find("events");
    if (!ev || ev->is_null()) {
      tree.set("events", cfg::Node::make_seq(c.spec_.events.loc), c.spec_.events.key_loc);
      ev = tree.find("events");
    }
    if (!ev->is_seq()) {
      d.error(ev->loc, "events", "the scenario's events are not a list; cannot add the calibration's events");
      return std::nullopt;
    }
    for (const auto& e : c.spec_.events.seq) ev->seq.push_back(e);
  }
  for (std::size_t i = 0; i < c.spec_.overrides.size(); ++i)
    cfg::apply_override(tree, c.spec_.overrides[i], c.spec_.override_locs[i], d);
  for (const auto& o : extra_overrides) cfg::apply_override(tree, o, cfg::Location{"--set", 0, 0}, d);
  if (d.size() != errors0) return std::nullopt;
  c.fit_tree_ = tree;
  c.fit_params_ = load_params(tree, d);
  // Every `set` event must name a real key with a valid value (as the scenario loader checks).
  for (std::size_t i = 0; i < c.fit_params_.events.size(); ++i) {
    const auto& e = c.fit_params_.events[i];
    if (e.type != EventType::Set || e.key.empty()) continue;
    cfg::Node copy = tree;
    cfg::Diagnostics ed;
    if (cfg::apply_override(copy, e.key + "=" + e.value, e.loc, ed)) (void)load_params(copy, ed);
    for (const auto& x : ed.all())
      d.error(e.loc, cfg::index_path("events", i), "set '" + e.key + "': " + x.path + ": " + x.message);
  }
  if (d.size() != errors0) return std::nullopt;
  check_targets(c.fit_params_, c.spec_.targets, d, "targets");
  check_targets(c.fit_params_, c.spec_.untargeted, d, "untargeted");
  // Parameters: an extra override of a parameter's key sets its start; without `start`,
  // the start is the scenario's value; min, start and max must all load.
  for (std::size_t i = 0; i < c.spec_.parameters.size(); ++i) {
    auto& p = c.spec_.parameters[i];
    const std::string ip = cfg::index_path("parameters", i);
    for (const auto& o : extra_overrides) {
      const auto eq = o.find('=');
      if (eq == std::string::npos || o.substr(0, eq) != p.key) continue;
      double v = 0;
      if (!schema::parse_double(o.substr(eq + 1), v) || v < p.min || v > p.max)
        d.error(cfg::Location{"--set", 0, 0, o}, p.key, "a fitted parameter's start must be a number within [" +
                                                           schema::fmt_num(p.min) + ", " + schema::fmt_num(p.max) + "]");
      else
        p.start = v, p.has_start = true;
    }
    if (!p.has_start) {
      const cfg::Node* n = cfg::get_path(tree, p.key);
      double v = 0;
      if (n && n->is_scalar() && schema::parse_double(n->scalar, v) && v >= p.min && v <= p.max) {
        p.start = v;
      } else {
        d.error(p.loc, ip, n && n->is_scalar() ? "the scenario's value '" + n->scalar + "' of '" + p.key +
                                                     "' is not a number within [min, max]; give 'start'"
                                               : "the scenario has no number at '" + p.key + "'; give 'start'");
        continue;
      }
    }
    for (double v : {p.min, p.start, p.max}) {
      cfg::Node copy = tree;
      cfg::Diagnostics pd;
      if (cfg::apply_override(copy, p.key + "=" + c.format_value(i, v), p.loc, pd)) (void)load_params(copy, pd);
      for (const auto& x : pd.all())
        d.error(p.loc, ip, "'" + p.key + "' = " + c.format_value(i, v) + ": " + (x.path.empty() ? "" : x.path + ": ") + x.message);
      if (!pd.empty()) break;
    }
  }
  if (d.size() != errors0) return std::nullopt;
  return c;
}

std::string Calibrator::format_value(std::size_t i, double x) const {
  const auto& p = spec_.parameters.at(i);
  if (p.integer) return fmt0(std::round(x));
  const double v = std::strtod(fmt6(x).c_str(), nullptr);
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt0(v);
  return fmt6(v);
}

bool Calibrator::is_experiment(std::size_t i) const {
  const auto segs = split_path(spec_.parameters.at(i).key);
  if (segs.size() < 2 || segs[0] != "events") return false;
  char* end = nullptr;
  const unsigned long long k = std::strtoull(segs[1].c_str(), &end, 10);
  return end && *end == '\0' && !segs[1].empty() && k >= scenario_events_;
}

std::vector<double> Calibrator::canonical(const std::vector<double>& x) const {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = std::strtod(format_value(i, x[i]).c_str(), nullptr);
  return out;
}

Params Calibrator::params_at(const std::vector<double>& x, uint64_t seed) const {
  cfg::Node tree = fit_tree_;
  cfg::Diagnostics d;
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i)
    cfg::apply_override(tree, spec_.parameters[i].key + "=" + format_value(i, x[i]), spec_.parameters[i].loc, d);
  cfg::apply_override(tree, "run.seed=" + std::to_string(seed), cfg::Location{"calibration", 0, 0}, d);
  if (!d.empty()) throw std::runtime_error(d.format());
  Params p = load_params(tree, d);
  if (!d.empty()) throw std::runtime_error(d.format());
  // The raid moments read the move log; nothing else does (a run without it is faster).
  const auto all = spec_.moments();
  const bool raid = std::any_of(all.begin(), all.end(), [](const Target& t) {
    return t.moment == MomentKind::RaidHires || t.moment == MomentKind::RaidHiresCn;
  });
  p.output.event_log = raid ? EventLogLevel::All : EventLogLevel::None;
  return p;
}


std::vector<double> Calibrator::starts() const {
  std::vector<double> x;
  for (const auto& p : spec_.parameters) x.push_back(p.start);
  return canonical(x);
}

std::vector<double> Calibrator::moments(const std::vector<double>& x, uint64_t seed) const {
  Params p = params_at(x, seed);
  const int64_t T = p.run.steps;
  Simulation sim(std::move(p));
  const auto all = spec_.moments();
  MomentRecorder rec(sim, all);
  for (int64_t t = 0; t < T; ++t) {
    sim.step();
    rec.observe(sim);
  }
  return rec.values();
}

namespace {
/// The simulation as the estimator sees it.
class SimulationEvaluator final : public Evaluator {
 public:
  explicit SimulationEvaluator(const Calibrator& c) : c_(c) {}
  std::vector<double> moments(const std::vector<double>& x, uint64_t seed) const override { return c_.moments(x, seed); }

 private:
  const Calibrator& c_;
};
}  // namespace

std::vector<SmmParameter> Calibrator::smm_parameters() const {
  std::vector<SmmParameter> out;
  for (const auto& p : spec_.parameters) out.push_back({p.key, p.min, p.max, p.start, p.log});
  return out;
}

namespace {
std::vector<SmmMoment> smm_moments(const std::vector<Target>& ts) {
  std::vector<SmmMoment> out;
  for (const auto& t : ts) out.push_back({t.name, t.value, t.source_sd});
  return out;
}
}  // namespace

Evaluation Calibrator::simulate(const std::vector<double>& x, int64_t n, uint64_t seed0) const {
  const SimulationEvaluator ev(*this);
  const Smm smm(smm_parameters(), smm_moments(spec_.targets), smm_moments(spec_.untargeted), spec_.smm_options(), ev,
                [this](const std::vector<double>& v) { return canonical(v); });
  return smm.simulate(x, n > 0 ? seed0 : spec_.seed, n > 0 ? n : spec_.replications);
}

CalibrationResult Calibrator::finish(SmmResult r) const {
  CalibrationResult out;
  if (r.fitted) out.overlay_yaml = overlay_yaml(r);
  out.report_md = report_markdown(r);
  out.results_yaml = results_yaml(r);
  out.smm = std::move(r);
  return out;
}

CalibrationResult Calibrator::run(const Progress& progress) const {
  const SimulationEvaluator ev(*this);
  const Smm smm(smm_parameters(), smm_moments(spec_.targets), smm_moments(spec_.untargeted), spec_.smm_options(), ev,
                [this](const std::vector<double>& v) { return canonical(v); });
  return finish(smm.fit(progress));
}

CalibrationResult Calibrator::evaluate(const std::vector<double>& x, const Progress& progress) const {
  const SimulationEvaluator ev(*this);
  const Smm smm(smm_parameters(), smm_moments(spec_.targets), smm_moments(spec_.untargeted), spec_.smm_options(), ev,
                [this](const std::vector<double>& v) { return canonical(v); });
  return finish(smm.evaluate(canonical(x), progress));
}

Validation Calibrator::check(const std::vector<double>& x, uint64_t seed0, int64_t R) const {
  const SimulationEvaluator ev(*this);
  const Smm smm(smm_parameters(), smm_moments(spec_.targets), smm_moments(spec_.untargeted), spec_.smm_options(), ev,
                [this](const std::vector<double>& v) { return canonical(v); });
  return smm.check(canonical(x), seed0, R);
}

// ====================================================================== output

std::string Calibrator::overlay_yaml(const SmmResult& r) const {
  const std::vector<double>& x = r.best.x;
  cfg::Node tree = overlay_tree_;
  cfg::Diagnostics d;
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i)
    if (!is_experiment(i))
      cfg::apply_override(tree, spec_.parameters[i].key + "=" + format_value(i, x[i]), spec_.parameters[i].loc, d);
  if (!d.empty()) throw std::runtime_error(d.format());
  cfg::Node out = cfg::Node::make_map();
  // A key inside a list (firms[...], events[...]) cannot be merged key by key (`extends`
  // replaces lists whole), so the overlay carries the whole list as calibrated; a scenario
  // that extends the overlay must then not define that list itself (check_overlay says so).
  auto put = [&](const std::string& key) {
    const auto segs = split_path(key);
    const cfg::Node* node = &tree;
    std::string prefix;
    for (const auto& s : segs) {
      if (!node->is_map()) break;
      const cfg::Node* child = node->find(s);
      if (!child) break;
      prefix = cfg::join_path(prefix, s);
      if (child->is_seq()) {
        cfg::set_path(out, prefix, *child, {}, d);
        return;
      }
      node = child;
    }
    if (const cfg::Node* v = cfg::get_path(tree, key)) cfg::set_path(out, key, *v, {}, d);
  };
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i)
    if (!is_experiment(i)) put(spec_.parameters[i].key);
  if (!d.empty()) throw std::runtime_error(d.format());
  // Regions are indexed in the order listed, and a scenario extending the overlay lists the
  // overlay's keys first: so the overlay lists every region before the last one it fits
  // (empty if nothing of it is fitted), in the scenario's order.
  if (cfg::Node* regs = out.find("regions"); regs && regs->is_map())
    if (const cfg::Node* all = tree.find("regions"); all && all->is_map()) {
      std::size_t last = 0;
      for (std::size_t k = 0; k < all->map.size(); ++k)
        if (regs->find(all->map[k].first)) last = k;
      for (std::size_t k = 0; k < last; ++k)
        if (!regs->find(all->map[k].first)) regs->set(all->map[k].first, cfg::Node::make_map(), {});
    }
  order_like(out, tree);

  std::ostringstream os;
  const std::string scenario_rel = spec_.overlay.empty() ? spec_.scenario_ref : rel_path(spec_.scenario, spec_.overlay);
  const std::string overlay_rel = spec_.overlay.empty() ? "" : rel_path(spec_.overlay, spec_.scenario);
  os << "# Fitted values: generated by `talentsim calibrate " << spec_.path << "`.\n"
     << "# Do not edit by hand: rerun the command (deterministic; same file, same result).\n"
     << "# Only the fitted scenario keys, no `extends`, no events. The scenario " << scenario_rel
     << " (relative to this file)\n# uses them by extending this file (`extends: "
     << (overlay_rel.empty() ? "THIS FILE" : overlay_rel) << "`) and not setting these keys itself.\n"
     << "# Simulated method of moments (MODEL.md §6; docs/calibration.md), with the fit-only overrides:\n";
  for (const auto& o : spec_.overrides) os << "#   " << o << "\n";
  for (const auto& o : extra_overrides_) os << "#   " << o << "   (--set)\n";
  os << "# " << spec_.replications << " replications per evaluation, seeds " << spec_.seed << ".."
     << spec_.seed + uint64_t(spec_.replications) - 1 << " (common random numbers); objective J = " << num4(r.best.objective)
     << "; search " << (r.search.converged ? "converged" : "did NOT converge (" + r.search.stop + ")") << ".\n"
     << "# calibration digest: " << spec_.digest() << "   (of the calibration file's scenario, overrides, events, seeds,\n"
     << "#   parameters and targets: `ctest -R \"calibrated baseline\"` compares it with the file's)\n"
     << "# Verdict on " << r.val.replications << " fresh seeds " << r.val.seed << "..: tolerance = "
     << num4(spec_.tolerance_z) << "·√(source_sd² + sd²/" << r.val.replications << ")\n#\n";
  std::size_t w = 6;
  for (const auto& t : spec_.targets) w = std::max(w, t.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "# %-*s %12s %10s %12s %12s %10s %10s  %s\n", int(w), "target", "value", "source_sd",
                "fit seeds", "fresh seeds", "SE", "tolerance", "within");
  os << line;
  for (std::size_t k = 0; k < spec_.targets.size(); ++k) {
    const auto& t = spec_.targets[k];
    std::snprintf(line, sizeof line, "# %-*s %12s %10s %12s %12s %10s %10s  %s\n", int(w), t.name.c_str(),
                  num4(t.value).c_str(), num4(t.source_sd).c_str(), num4(r.best.mean[k]).c_str(),
                  num4(r.val.fresh.mean[k]).c_str(), num4(r.val.fresh.se[k]).c_str(), num4(r.val.tolerance[k]).c_str(),
                  r.val.within[k] ? "yes" : "NO");
    os << line;
  }
  os << "#\n# fitted:\n";
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i)
    os << "#   " << spec_.parameters[i].key << " = " << format_value(i, x[i]) << "   (SE " << num4(r.inf.se[i]) << "; bounds "
       << num4(spec_.parameters[i].min) << " .. " << num4(spec_.parameters[i].max) << ", start "
       << format_value(i, spec_.parameters[i].start) << ")" << (is_experiment(i) ? "   calibration event: not in this file" : "")
       << "\n";
  os << "\n" << cfg::to_yaml(out);
  return os.str();
}

Calibrator::OverlayCheck Calibrator::check_overlay(const std::string& path, const std::vector<double>& x) const {
  OverlayCheck res;
  std::error_code ec;
  const auto canon = [&](const std::string& p) { return fs::weakly_canonical(fs::absolute(p), ec).string(); };
  cfg::Diagnostics d;
  auto ov = cfg::parse_file(path, d);
  if (!ov || !d.empty() || !(ov->is_map() || ov->is_null())) {
    res.errors.push_back("the overlay " + path + " does not parse:\n" + d.format());
    return res;
  }
  // The overlay merged into the scenario must load and carry the fitted values.
  {
    cfg::Node merged = cfg::deep_merge(overlay_tree_, *ov);
    cfg::Diagnostics md;
    (void)load_params(merged, md);
    if (!md.empty()) res.errors.push_back("the scenario with the overlay " + path + " does not load:\n" + md.format());
  }
  auto loaded = cfg::load_files(spec_.scenario, d, cfg::scenario_load_hooks());
  if (!loaded || !d.empty()) {
    res.errors.push_back("the scenario " + spec_.scenario + " does not load with the new overlay:\n" + d.format());
    return res;
  }
  const std::string ov_canon = canon(path);
  const bool extends = std::any_of(loaded->sources.begin(), loaded->sources.end(),
                                   [&](const cfg::Source& s) { return canon(s.path) == ov_canon; });
  if (!extends) {
    res.notes.push_back("the scenario " + spec_.scenario + " does not extend the overlay, so it does not use the fitted " +
                        "values; add `extends: " + rel_path(path, spec_.scenario) + "` and remove the fitted keys from it");
    return res;
  }
  // Extending the overlay must not reorder the regions (their order is their index).
  {
    cfg::Diagnostics pd;
    const Params now = load_params(loaded->root, pd);
    std::string was_names, now_names;
    for (const auto& r : fit_params_.regions) was_names += (was_names.empty() ? "" : ", ") + r.name;
    for (const auto& r : now.regions) now_names += (now_names.empty() ? "" : ", ") + r.name;
    if (pd.empty() && was_names != now_names)
      res.errors.push_back(spec_.scenario + " with the new overlay has its regions in another order (" + now_names +
                           " instead of " + was_names + "): the overlay lists regions in the scenario's order, so " +
                           "fit a region listed before them too, or list the regions in the overlay's order");
  }
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i) {
    if (is_experiment(i)) continue;
    const auto& key = spec_.parameters[i].key;
    const std::string want = format_value(i, x[i]);
    const cfg::Node* n = cfg::get_path(loaded->root, key);
    if (!n || !n->is_scalar() || n->scalar != want || canon(n->loc.file) != ov_canon) {
      std::string where = n ? n->loc.file + ":" + std::to_string(n->loc.line) : "nowhere";
      res.errors.push_back(spec_.scenario + " extends the overlay but does not take " + key + " = " + want +
                           " from it (" + (n && n->is_scalar() ? "it is " + n->scalar + ", set at " + where
                                                               : std::string("not found")) +
                           "): remove the key from the scenario");
    }
  }
  return res;
}

}  // namespace ts::model::calib
