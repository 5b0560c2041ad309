// The calibration file (sim/model/calibration.hpp): reading it strictly, the moments it
// names, the options it gives the estimator and its digest.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "sim/config/schema.hpp"
#include "sim/engine/hash.hpp"
#include "sim/model/calibration.hpp"
#include "sim/model/stats.hpp"

namespace ts::model::calib {

namespace fs = std::filesystem;
using schema::EnumName;

namespace {

constexpr double kInf = std::numeric_limits<double>::max();
const EnumName<MomentKind> kMoments[] = {{MomentKind::CnShareAll, "cn_share_all"},
                                         {MomentKind::CnShareTop, "cn_share_top"},
                                         {MomentKind::UsCnHcOutputRatio, "us_cn_hc_output_ratio"},
                                         {MomentKind::RaidHires, "raid_hires"},
                                         {MomentKind::RaidHiresCn, "raid_hires_cn"},
                                         {MomentKind::OutputShare, "output_share"},
                                         {MomentKind::TopTierLocationShare, "top_tier_location_share"},
                                         {MomentKind::PayPercentile, "pay_percentile"},
                                         {MomentKind::UnemploymentRate, "unemployment_rate"},
                                         {MomentKind::JobToJobRate, "job_to_job_rate"},
                                         {MomentKind::StayRate, "stay_rate"},
                                         {MomentKind::FirmRetention, "firm_retention"}};
static_assert(std::size(kMoments) == std::size_t(kMomentKinds));
const EnumName<Weighting> kWeightings[] = {
    {Weighting::Efficient, "efficient"}, {Weighting::Diagonal, "diagonal"}, {Weighting::Identity, "identity"}};
const char* const kTierNames[] = {"regular", "top", "elite"};

bool is_raid(MomentKind k) { return k == MomentKind::RaidHires || k == MomentKind::RaidHiresCn; }
bool is_cohort(MomentKind k) { return k == MomentKind::StayRate || k == MomentKind::FirmRetention; }
bool is_stepwise(MomentKind k) { return !is_raid(k) && !is_cohort(k); }

std::string fmt6(double x) {  // 6 significant digits
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", x);
  return b;
}
std::string num4(double x) {
  if (!std::isfinite(x)) return std::isnan(x) ? "n/a" : (x > 0 ? "inf" : "-inf");
  char b[64];
  if (std::fabs(x) >= 1e4 && std::fabs(x) < 1e12) {
    std::snprintf(b, sizeof b, "%.0f", x);
    return b;
  }
  std::snprintf(b, sizeof b, "%.4g", x);
  return b;
}

std::string resolve(const std::string& ref, const std::string& calib_path) {
  fs::path p(ref);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(calib_path).parent_path() / p).lexically_normal().string();
}


}  // namespace

const char* to_string(MomentKind k) { return kMoments[int(k)].name; }

const std::vector<std::string>& moment_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& m : kMoments) v.emplace_back(m.name);
    return v;
  }();
  return names;
}

std::string Target::describe(int64_t steps) const {
  std::string s = to_string(moment);
  auto add = [&](const std::string& k, const std::string& v) { s += " " + k + " " + v; };
  switch (moment) {
    case MomentKind::OutputShare: add("region", region), add("by", by_origin ? "origin" : "location"); break;
    case MomentKind::TopTierLocationShare: add("region", region); break;
    case MomentKind::PayPercentile:
      add("tier", kTierNames[tier]), add("region", region), add("percentile", num4(percentile));
      break;
    case MomentKind::UnemploymentRate: add("region", region.empty() ? "all" : region); break;
    case MomentKind::RaidHires:
    case MomentKind::RaidHiresCn: add("from", from), add("to", to), add("within", std::to_string(within) + " step(s)"); break;
    case MomentKind::StayRate:
      add("region", region), add("origin", origin), add("cohort", "step " + std::to_string(cohort)),
          add("after", std::to_string(after) + " steps");
      break;
    case MomentKind::FirmRetention:
      add("firm", firm.empty() ? "any" : firm), add("cohort", "step " + std::to_string(cohort)),
          add("after", std::to_string(after) + " steps");
      break;
    default: break;
  }
  if (!is_stepwise(moment)) return s;
  auto resolve_step = [&](int64_t x) { return x < 0 && steps > 0 ? steps + x : x; };
  switch (timing) {
    case Timing::Horizon:
      s += ", over the horizon" + (steps > 0 ? " (steps 0.." + std::to_string(steps - 1) + ")" : std::string());
      break;
    case Timing::At: s += ", at step " + std::to_string(resolve_step(at)); break;
    case Timing::Window:
      s += ", over steps " + std::to_string(resolve_step(first)) + ".." + std::to_string(resolve_step(last));
      break;
  }
  return s;
}

// ====================================================================== file format

struct OutputSpec {
  std::string overlay, report, results;
};

template <class V>
void describe(V& v, OptimizerOptions& o) {
  v.num("max_evaluations", o.max_evaluations, 1, 1e6, "evaluations");
  v.num("initial_step", o.initial_step, 1e-6, 0.5, "initial simplex step (fraction of the range)");
  v.num("ftol", o.ftol, 0, kInf, "objective tolerance");
  v.num("xtol", o.xtol, 0, 1, "parameter tolerance (fraction of the range)");
  v.num("restarts", o.restarts, 0, 100, "restarts after convergence");
}

template <class V>
void describe(V& v, OutputSpec& o) {
  v.text("overlay", o.overlay, "overlay scenario file");
  v.text("report", o.report, "Markdown report");
  v.text("results", o.results, "YAML file of every number");
}

namespace {

/// One moment of `targets:` or `untargeted:`; `window` was taken out of the node beforehand.
void describe_moment(schema::Loader& v, Target& t) {
  const bool tg = t.targeted;
  if (!v.has("name")) v.error("missing required key 'name'");
  if (!v.has("moment")) {
    std::string all;
    for (const auto& m : kMoments) all += (all.empty() ? "" : ", ") + std::string(m.name);
    v.error("missing required key 'moment' (one of " + all + ")");
  }
  if (tg) {
    for (const char* k : {"value", "source_sd", "basis", "source"})
      if (!v.has(k))
        v.error(std::string("missing required key '") + k + "'" +
                (std::string(k) == "source_sd" ? " (the source's own uncertainty, in the moment's units, fixed before fitting)"
                 : std::string(k) == "basis"   ? " (how source_sd was read from the source)"
                                               : ""));
  }
  v.text("name", t.name, "moment name");
  v.choice("moment", t.moment, kMoments, "moment simulated");
  v.num("value", t.value, -kInf, kInf, "the figure");
  v.num("source_sd", t.source_sd, 0, kInf, "source's standard deviation");
  if (tg && v.has("source_sd") && t.source_sd == 0)
    v.error_at("source_sd", "a target's source_sd must be > 0 (no source figure is exact; it sets the weight 1/source_sd²)");
  v.text("basis", t.basis, "basis of source_sd");
  v.text("source", t.source, "citation");
  const MomentKind k = t.moment;
  auto only = [&](const char* key, bool ok, const char* which) {
    if (v.has(key) && !ok) v.error_at(key, std::string("'") + key + "' applies only to " + which);
  };
  auto need = [&](const char* key, bool needed, const char* what) {
    if (needed && !v.has(key)) v.error(std::string("missing required key '") + key + "' (" + what + ") for " + to_string(k));
  };
  only("at", is_stepwise(k), "moments measured step by step (not raid or cohort moments)");
  only("region", k == MomentKind::OutputShare || k == MomentKind::TopTierLocationShare || k == MomentKind::PayPercentile ||
                     k == MomentKind::UnemploymentRate || k == MomentKind::StayRate,
       "output_share, top_tier_location_share, pay_percentile, unemployment_rate and stay_rate");
  only("by", k == MomentKind::OutputShare, "output_share");
  only("tier", k == MomentKind::PayPercentile, "pay_percentile");
  only("percentile", k == MomentKind::PayPercentile, "pay_percentile");
  only("origin", k == MomentKind::StayRate, "stay_rate");
  only("firm", k == MomentKind::FirmRetention, "firm_retention");
  for (const char* key : {"cohort", "after"}) only(key, is_cohort(k), "stay_rate and firm_retention");
  for (const char* key : {"from", "to", "within"}) only(key, is_raid(k), "raid_hires and raid_hires_cn");
  if (v.has("moment")) {
    need("region", k == MomentKind::OutputShare || k == MomentKind::TopTierLocationShare ||
                       k == MomentKind::PayPercentile || k == MomentKind::StayRate,
         "a region");
    need("origin", k == MomentKind::StayRate, "an origin region, or foreign");
    need("after", is_cohort(k), "steps after the cohort's step");
  }
  if (v.has("at")) t.timing = Timing::At;
  v.num("at", t.at, -1e9, 1e9, "step measured (negative: from the end)");
  v.text("region", t.region, "region");
  std::string by = "location";
  v.text("by", by, "location or origin");
  if (by != "location" && by != "origin") v.error_at("by", "expected location or origin, got " + cfg::quoted(by));
  t.by_origin = by == "origin";
  std::string tier = "top";
  v.text("tier", tier, "tier");
  t.tier = -1;
  for (int i = 0; i < kTiers; ++i)
    if (tier == kTierNames[i]) t.tier = i;
  if (t.tier < 0) {
    v.error_at("tier", "expected one of regular, top, elite, got " + cfg::quoted(tier));
    t.tier = 1;
  }
  v.num("percentile", t.percentile, 0, 1, "pay percentile");
  if (std::none_of(std::begin(kPercentileLevels), std::end(kPercentileLevels), [&](double l) { return l == t.percentile; }))
    v.error_at("percentile", "expected one of the recorded levels 0.1, 0.25, 0.5, 0.75, 0.9, got " + num4(t.percentile));
  v.text("origin", t.origin, "origin region or foreign");
  v.text("firm", t.firm, "firm");
  v.num("cohort", t.cohort, 0, 1e9, "cohort's step");
  v.num("after", t.after, 1, 1e9, "steps after the cohort's step");
  v.text("from", t.from, "raided firm");
  v.text("to", t.to, "raiding firm");
  v.num("within", t.within, 1, 1e6, "steps from the raid in which a move counts");
}

void describe_parameter(schema::Loader& v, Parameter& p) {
  if (!v.has("key")) v.error("missing required key 'key' (a scenario key path, e.g. regions.CN.talent_mu)");
  if (!v.has("min") || !v.has("max")) v.error("a parameter needs 'min' and 'max'");
  p.has_start = v.has("start");
  v.text("key", p.key, "scenario key");
  v.num("min", p.min, -kInf, kInf, "lower bound");
  v.num("max", p.max, -kInf, kInf, "upper bound");
  v.num("start", p.start, -kInf, kInf, "start value (default: the scenario's)");
  v.flag("log", p.log, "search in ln(value)");
  v.flag("integer", p.integer, "round to a whole number");
}

/// targets: or untargeted: — each item parsed with describe_moment; `window: [a, b]` read here.
void parse_moments(const cfg::Node& list, const std::string& key, bool targeted, std::vector<Target>& out,
                   cfg::Diagnostics& d) {
  if (list.is_null()) return;
  if (!list.is_seq()) {
    d.error(list.loc, key, "expected a list of moments, got " + cfg::describe(list));
    return;
  }
  for (std::size_t i = 0; i < list.seq.size(); ++i) {
    const std::string ip = cfg::index_path(key, i);
    cfg::Node item = list.seq[i];
    Target t;
    t.targeted = targeted;
    t.loc = item.loc;
    if (item.is_map()) {
      for (const char* gone : {"tolerance", "scale"})
        if (const cfg::Node* n = item.find(gone)) {
          d.error(n->key_loc, cfg::join_path(ip, gone),
                  std::string("'") + gone + "' is no longer given: the tolerance is z·√(source_sd² + sd²/R) and the weight " +
                      "comes from Ω = Σ_source + Σ_sim/S; give 'source_sd' and its 'basis' (docs/calibration.md)");
          item.erase(gone);
        }
      if (const cfg::Node* w = item.find("window")) {
        int64_t a = 0, b = 0;
        const bool ok = w->is_seq() && w->seq.size() == 2 && w->seq[0].is_scalar() && w->seq[1].is_scalar() &&
                        schema::parse_int(w->seq[0].scalar, a) && schema::parse_int(w->seq[1].scalar, b);
        if (!ok)
          d.error(w->loc, cfg::join_path(ip, "window"),
                  "expected [first, last] (two step numbers, negative counting from the end), got " + cfg::describe(*w));
        if (item.find("at")) d.error(w->loc, cfg::join_path(ip, "window"), "give 'at' or 'window', not both");
        t.timing = Timing::Window;
        t.first = a;
        t.last = b;
        item.erase("window");
      }
    }
    schema::Loader v(&item, ip, d);
    describe_moment(v, t);
    v.finish();
    if (t.timing == Timing::Window && !is_stepwise(t.moment))
      d.error(t.loc, cfg::join_path(ip, "window"),
              "'window' applies only to moments measured step by step (not raid or cohort moments)");
    out.push_back(std::move(t));
  }
}

}  // namespace

std::optional<CalibrationSpec> parse_calibration(const cfg::Node& root_in, const std::string& path, cfg::Diagnostics& d) {
  const std::size_t errors0 = d.size();
  CalibrationSpec s;
  s.path = path;
  cfg::Node root = root_in;
  if (root.is_null()) root = cfg::Node::make_map(root_in.loc);
  if (const cfg::Node* ev = root.find("events")) {  // raw scenario events, checked by the scenario loader
    if (!ev->is_seq() && !ev->is_null())
      d.error(ev->loc, "events", "expected a list of scenario events, got " + cfg::describe(*ev));
    else if (ev->is_seq())
      s.events = *ev;
    root.erase("events");
  }
  for (const char* key : {"targets", "untargeted"})
    if (const cfg::Node* n = root.find(key)) {
      parse_moments(*n, key, std::string(key) == "targets", std::string(key) == "targets" ? s.targets : s.untargeted, d);
      if (std::string(key) == "targets" && n->is_seq() && n->seq.empty())
        d.error(n->loc, "targets", "needs at least one target");
    }
  for (const char* gone : {"weight_floor", "weight_replications"})
    if (const cfg::Node* n = root.find(gone)) {
      d.error(n->key_loc, gone,
              std::string("'") + gone + "' is no longer used: the weights come from the targets' source_sd and a pilot of " +
                  "'pilot_replications' runs (docs/calibration.md)");
      root.erase(gone);
    }
  if (root.is_map() && !root.find("targets")) d.error(root.loc, "targets", "missing required key 'targets'");
  OutputSpec out;
  {
    schema::Loader v(&root, "", d);
    if (root.is_map() && !root.find("scenario"))
      d.error(root.loc, "scenario", "missing required key 'scenario' (the scenario file, relative to this file)");
    if (root.is_map() && !root.find("parameters")) d.error(root.loc, "parameters", "missing required key 'parameters'");
    v.text("scenario", s.scenario_ref, s.scenario_loc, "scenario file");
    v.names("overrides", s.overrides, "fit-only overrides");
    v.num("replications", s.replications, 1, 10000, "replications per evaluation");
    v.num("seed", s.seed, 0, 9e15, "first seed");
    v.num("pilot_replications", s.pilot_replications, 0, 100000, "pilot runs for Σ_sim");
    v.choice("weighting", s.weighting, kWeightings, "weighting matrix");
    v.num("tolerance_z", s.tolerance_z, 0.1, 10, "z of the tolerances");
    v.num("jacobian_step", s.jacobian_step, 1e-6, 0.25, "finite-difference step (fraction of the range)");
    v.num("validation_seed", s.validation_seed, 0, 9e15, "first fresh seed");
    v.num("validation_replications", s.validation_replications, 0, 100000, "fresh runs (0: as many as needed)");
    v.num("validation_min_replications", s.validation_min_replications, 2, 100000, "fewest fresh runs");
    v.num("validation_max_replications", s.validation_max_replications, 2, 100000, "most fresh runs");
    v.num("validation_se_fraction", s.validation_se_fraction, 1e-3, 1, "fresh-seed SE / tolerance");
    {
      const cfg::Node* n = root.find("parameters");
      if (n && n->is_seq()) {
        for (std::size_t i = 0; i < n->seq.size(); ++i) {
          Parameter p;
          p.loc = n->seq[i].loc;
          schema::Loader sub(&n->seq[i], cfg::index_path("parameters", i), d);
          describe_parameter(sub, p);
          sub.finish();
          s.parameters.push_back(std::move(p));
        }
      } else if (n && !n->is_null()) {
        d.error(n->loc, "parameters", "expected a list, got " + cfg::describe(*n));
      }
    }
    v.obj("optimizer", s.optimizer, "Nelder–Mead options");
    v.obj("output", out, "output files");
    v.ignore_rest();  // parameters, targets and untargeted were read above
    v.finish();
  }
  for (const auto& [k, val] : root.map) {
    static const char* const known[] = {"scenario", "overrides", "replications", "seed", "pilot_replications", "weighting",
                                        "tolerance_z", "jacobian_step", "validation_seed", "validation_replications",
                                        "validation_min_replications", "validation_max_replications",
                                        "validation_se_fraction", "parameters", "targets", "untargeted", "optimizer",
                                        "output"};
    if (std::find(std::begin(known), std::end(known), k) != std::end(known)) continue;
    std::string msg = "unknown key " + cfg::quoted(k);
    const std::string hint = cfg::did_you_mean(k, std::vector<std::string>(std::begin(known), std::end(known)));
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    d.error(val.key_loc, k, msg);
  }
  if (const cfg::Node* ov = root.find("overrides"); ov && ov->is_seq())
    for (std::size_t i = 0; i < ov->seq.size() && s.override_locs.size() < s.overrides.size(); ++i) {
      const auto& e = ov->seq[i];
      if (!e.is_scalar() || e.scalar.empty()) continue;
      s.override_locs.push_back(e.loc);
      if (e.scalar.find('=') == std::string::npos)
        d.error(e.loc, cfg::index_path("overrides", i), "expected key.path=value, got '" + e.scalar + "'");
    }
  s.override_locs.resize(s.overrides.size(), root.loc);
  if (const cfg::Node* n = root.find("parameters"); n && n->is_seq() && n->seq.empty())
    d.error(n->loc, "parameters", "needs at least one parameter");
  for (std::size_t i = 0; i < s.parameters.size(); ++i) {
    const auto& p = s.parameters[i];
    const std::string ip = cfg::index_path("parameters", i);
    if (!(p.min < p.max)) d.error(p.loc, ip, "needs min < max");
    if (p.log && p.min <= 0) d.error(p.loc, ip, "log: true needs min > 0");
    if (p.has_start && (p.start < p.min || p.start > p.max)) d.error(p.loc, ip, "start must lie within [min, max]");
    for (std::size_t j = 0; j < i; ++j)
      if (s.parameters[j].key == p.key) d.error(p.loc, ip, "key '" + p.key + "' is already a parameter");
  }
  {
    const auto all = s.moments();
    for (std::size_t i = 0; i < all.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (all[j].name == all[i].name)
          d.error(all[i].loc, all[i].targeted ? "targets" : "untargeted", "moment name '" + all[i].name + "' is used twice");
  }
  auto where = [&](const char* key) {
    const cfg::Node* n = root.find(key);
    return n ? n->key_loc : root.loc;
  };
  if (s.validation_min_replications > s.validation_max_replications)
    d.error(where("validation_min_replications"), "validation_min_replications", "must not exceed validation_max_replications");
  if (s.validation_se_fraction * s.tolerance_z >= 1.0)
    d.error(where("validation_se_fraction"), "validation_se_fraction",
            "validation_se_fraction × tolerance_z must be below 1 (the fresh-seed SE must be a fraction of the tolerance)");
  {  // the fresh seeds must be seeds the fit never uses
    const uint64_t fit_end = s.seed + s.smm_options().fit_seed_count(s.targets.size());
    const uint64_t val_end =
        s.validation_seed + uint64_t(std::max(s.validation_max_replications, s.validation_replications));
    if (s.validation_seed < fit_end && s.seed < val_end)
      d.error(where(root.find("validation_seed") ? "validation_seed" : "seed"), "validation_seed",
              "the fresh seeds " + std::to_string(s.validation_seed) + ".." + std::to_string(val_end - 1) +
                  " overlap the fit's seeds " + std::to_string(s.seed) + ".." + std::to_string(fit_end - 1));
  }
  if (!s.scenario_ref.empty()) s.scenario = resolve(s.scenario_ref, path);
  s.overlay_ref = out.overlay;
  s.report_ref = out.report;
  s.results_ref = out.results;
  if (!out.overlay.empty()) s.overlay = resolve(out.overlay, path);
  if (!out.report.empty()) s.report = resolve(out.report, path);
  if (!out.results.empty()) s.results = resolve(out.results, path);
  if (d.size() != errors0) return std::nullopt;
  return s;
}

std::optional<CalibrationSpec> load_calibration(const std::string& path, cfg::Diagnostics& d) {
  auto root = cfg::parse_file(path, d);
  if (!root || !d.empty()) return std::nullopt;
  if (!root->is_map() && !root->is_null()) {
    d.error(root->loc, "(top level)", "expected a mapping of keys to values");
    return std::nullopt;
  }
  return parse_calibration(*root, path, d);
}

SmmOptions CalibrationSpec::smm_options() const {
  SmmOptions o;
  o.replications = replications;
  o.seed = seed;
  o.pilot_replications = pilot_replications;
  o.weighting = weighting;
  o.z = tolerance_z;
  o.validation_seed = validation_seed;
  o.validation_replications = validation_replications;
  o.validation_min = validation_min_replications;
  o.validation_max = validation_max_replications;
  o.validation_se_fraction = validation_se_fraction;
  o.jacobian_step = jacobian_step;
  o.optimizer.max_evaluations = optimizer.max_evaluations;
  o.optimizer.initial_step = optimizer.initial_step;
  o.optimizer.ftol = optimizer.ftol;
  o.optimizer.xtol = optimizer.xtol;
  o.optimizer.restarts = optimizer.restarts;
  return o;
}

std::vector<Target> CalibrationSpec::moments() const {
  std::vector<Target> all = targets;
  all.insert(all.end(), untargeted.begin(), untargeted.end());
  return all;
}

std::string CalibrationSpec::digest() const {
  std::ostringstream os;
  os << "scenario " << scenario_ref << "\nseed " << seed << " replications " << replications << "\n";
  for (const auto& o : overrides) os << "override " << o << "\n";
  if (events.is_seq()) os << "events\n" << cfg::to_yaml(events);
  for (const auto& p : parameters)
    os << "parameter " << p.key << " " << fmt6(p.min) << " " << fmt6(p.max) << (p.log ? " log" : "")
       << (p.integer ? " integer" : "") << "\n";
  for (const auto& t : targets) os << "target " << t.name << ": " << t.describe(0) << " = " << fmt6(t.value) << " sd " << fmt6(t.source_sd) << "\n";
  // The short basis, as every overlay written so far (engine/hash.hpp).
  const uint64_t h = engine::fnv1a(os.str(), engine::kFnvBasisShort);
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}


}  // namespace ts::model::calib
