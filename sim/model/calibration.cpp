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

namespace ts::model::calib {

namespace fs = std::filesystem;
using schema::EnumName;

namespace {

constexpr double kInf = std::numeric_limits<double>::max();
constexpr double kBad = 1e300;  ///< objective of a point whose moments are not finite

const EnumName<MomentKind> kMoments[] = {{MomentKind::CnShareAll, "cn_share_all"},
                                         {MomentKind::CnShareTop, "cn_share_top"},
                                         {MomentKind::UsCnHcOutputRatio, "us_cn_hc_output_ratio"},
                                         {MomentKind::RaidHires, "raid_hires"},
                                         {MomentKind::RaidHiresCn, "raid_hires_cn"}};
const EnumName<Weighting> kWeightings[] = {
    {Weighting::Diagonal, "diagonal"}, {Weighting::Full, "full"}, {Weighting::Identity, "identity"}};

bool is_share(MomentKind k) { return k == MomentKind::CnShareAll || k == MomentKind::CnShareTop; }
bool is_raid(MomentKind k) { return k == MomentKind::RaidHires || k == MomentKind::RaidHiresCn; }

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
std::string fmt4(double x) {  // 4 significant digits
  char b[64];
  std::snprintf(b, sizeof b, "%.4g", x);
  return b;
}
/// Compact number for tables: 4 significant digits, thousands without exponent.
std::string num4(double x) {
  if (!std::isfinite(x)) return std::isnan(x) ? "n/a" : (x > 0 ? "inf" : "-inf");
  if (std::fabs(x) >= 1e4 && std::fabs(x) < 1e12) return fmt0(x);
  return fmt4(x);
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

std::string resolve(const std::string& ref, const std::string& calib_path) {
  fs::path p(ref);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(calib_path).parent_path() / p).lexically_normal().string();
}

}  // namespace

const char* to_string(MomentKind k) { return kMoments[int(k)].name; }
const char* to_string(Weighting w) { return kWeightings[int(w)].name; }

const std::vector<std::string>& moment_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& m : kMoments) v.emplace_back(m.name);
    return v;
  }();
  return names;
}

double Target::effective_scale() const {
  if (scale > 0) return scale;
  return value != 0 ? std::fabs(value) : 1.0;
}

// ====================================================================== file format

struct OutputSpec {
  std::string overlay, report;
};

template <class V>
void describe(V& v, Target& t) {
  if (!v.has("name")) v.error("missing required key 'name'");
  if (!v.has("moment")) v.error("missing required key 'moment' (one of cn_share_all, cn_share_top, "
                                "us_cn_hc_output_ratio, raid_hires, raid_hires_cn)");
  if (!v.has("value")) v.error("missing required key 'value'");
  v.text("name", t.name, "target name");
  v.choice("moment", t.moment, kMoments, "moment simulated");
  v.num("value", t.value, -kInf, kInf, "target value");
  v.num("tolerance", t.tolerance, 0, kInf, "accepted |simulated − value|");
  v.num("scale", t.scale, 0, kInf, "divides the deviation (0: |value|)");
  v.text("source", t.source, "citation");
  auto only = [&](const char* key, bool ok, const char* which) {
    if (v.has(key) && !ok) v.error_at(key, std::string("'") + key + "' applies only to " + which);
  };
  only("at", is_share(t.moment), "cn_share_all and cn_share_top");
  only("first", t.moment == MomentKind::UsCnHcOutputRatio, "us_cn_hc_output_ratio");
  only("last", t.moment == MomentKind::UsCnHcOutputRatio, "us_cn_hc_output_ratio");
  for (const char* k : {"from", "to", "window"}) only(k, is_raid(t.moment), "raid_hires and raid_hires_cn");
  v.num("at", t.at, -1e9, 1e9, "step measured (negative: from the end)");
  v.num("first", t.first, -1e9, 1e9, "first step summed");
  v.num("last", t.last, -1e9, 1e9, "last step summed");
  v.text("from", t.from, "raided firm");
  v.text("to", t.to, "raiding firm");
  v.num("window", t.window, 1, 1e6, "steps from the raid in which a move counts");
}

template <class V>
void describe(V& v, Parameter& p) {
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
}

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
  OutputSpec out;
  {
    schema::Loader v(&root, "", d);
    if (root.is_map() && !root.find("scenario"))
      d.error(root.loc, "scenario", "missing required key 'scenario' (the scenario file, relative to this file)");
    if (root.is_map() && !root.find("parameters")) d.error(root.loc, "parameters", "missing required key 'parameters'");
    if (root.is_map() && !root.find("targets")) d.error(root.loc, "targets", "missing required key 'targets'");
    v.text("scenario", s.scenario_ref, s.scenario_loc, "scenario file");
    v.names("overrides", s.overrides, "fit-only overrides");
    v.num("replications", s.replications, 1, 10000, "replications per evaluation");
    v.num("seed", s.seed, 0, 9e15, "first seed");
    v.choice("weighting", s.weighting, kWeightings, "weighting matrix");
    v.num("weight_floor", s.weight_floor, 1e-12, kInf, "SE floor");
    v.num("weight_replications", s.weight_replications, 0, 100000, "pilot runs for W");
    v.list("parameters", s.parameters, "free parameters");
    v.list("targets", s.targets, "targets");
    v.obj("optimizer", s.optimizer, "Nelder–Mead options");
    v.obj("output", out, "output files");
    v.finish();
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
  if (const cfg::Node* n = root.find("targets"); n && n->is_seq() && n->seq.empty())
    d.error(n->loc, "targets", "needs at least one target");
  for (std::size_t i = 0; i < s.parameters.size(); ++i) {
    const auto& p = s.parameters[i];
    const std::string ip = cfg::index_path("parameters", i);
    if (!(p.min < p.max)) d.error(p.loc, ip, "needs min < max");
    if (p.log && p.min <= 0) d.error(p.loc, ip, "log: true needs min > 0");
    if (p.has_start && (p.start < p.min || p.start > p.max)) d.error(p.loc, ip, "start must lie within [min, max]");
    for (std::size_t j = 0; j < i; ++j)
      if (s.parameters[j].key == p.key) d.error(p.loc, ip, "key '" + p.key + "' is already a parameter");
  }
  for (std::size_t i = 0; i < s.targets.size(); ++i) {
    const auto& t = s.targets[i];
    for (std::size_t j = 0; j < i; ++j)
      if (s.targets[j].name == t.name)
        d.error(t.loc, cfg::index_path("targets", i), "target name '" + t.name + "' is used twice");
  }
  if (!s.scenario_ref.empty()) s.scenario = resolve(s.scenario_ref, path);
  s.overlay_ref = out.overlay;
  s.report_ref = out.report;
  if (!out.overlay.empty()) s.overlay = resolve(out.overlay, path);
  if (!out.report.empty()) s.report = resolve(out.report, path);
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

// ====================================================================== moments
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
  check_targets(c.fit_params_, c.spec_.targets, d);
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
  p.output.event_log = EventLogLevel::All;  // the raid moments read the move log
  return p;
}

namespace {
void summarize(Evaluation& e, std::size_t K) {
  const double R = double(e.reps.size());
  e.mean.assign(K, 0.0);
  e.sd.assign(K, 0.0);
  e.se.assign(K, 0.0);
  for (std::size_t k = 0; k < K; ++k) {
    for (const auto& rep : e.reps) e.mean[k] += rep[k] / R;
    double ss = 0;
    for (const auto& rep : e.reps) ss += (rep[k] - e.mean[k]) * (rep[k] - e.mean[k]);
    e.sd[k] = R > 1 ? std::sqrt(ss / (R - 1)) : 0.0;
    e.se[k] = e.sd[k] / std::sqrt(R);
  }
}
}  // namespace

int64_t Calibrator::weight_replications() const {
  return spec_.weight_replications > 0 ? spec_.weight_replications : 4 * spec_.replications;
}

std::pair<Evaluation, Eigen::MatrixXd> Calibrator::pilot(const std::vector<double>& x) const {
  const Evaluation all = simulate(x, std::max(weight_replications(), spec_.replications));
  Eigen::MatrixXd W = weighting(all);
  Evaluation e;
  e.x = all.x;
  e.reps.assign(all.reps.begin(), all.reps.begin() + std::ptrdiff_t(spec_.replications));
  summarize(e, spec_.targets.size());
  e.objective = objective(e.mean, W);
  return {std::move(e), std::move(W)};
}

Evaluation Calibrator::simulate(const std::vector<double>& x, int64_t replications) const {
  Evaluation e;
  e.x = canonical(x);
  const std::size_t K = spec_.targets.size();
  const int64_t n = replications > 0 ? replications : spec_.replications;
  for (int64_t r = 0; r < n; ++r) {
    Params p = params_at(e.x, spec_.seed + uint64_t(r));
    const int64_t T = p.run.steps;
    Simulation sim(std::move(p));
    MomentRecorder rec(sim, spec_.targets);
    for (int64_t t = 0; t < T; ++t) {
      sim.step();
      rec.observe(sim);
    }
    e.reps.push_back(rec.values());
  }
  summarize(e, K);
  return e;
}

Eigen::MatrixXd Calibrator::weighting(const Evaluation& e) const {
  const int K = int(spec_.targets.size());
  if (spec_.weighting == Weighting::Identity) return Eigen::MatrixXd::Identity(K, K);
  const int R = int(e.reps.size());
  Eigen::MatrixXd Y(R, K);
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k) {
      const double v = e.reps[std::size_t(r)][std::size_t(k)] / spec_.targets[std::size_t(k)].effective_scale();
      Y(r, k) = std::isfinite(v) ? v : 0.0;
    }
  // Covariance of the scaled moment means over `replications` runs, from however many runs e has.
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(K, K);
  if (R > 1) {
    const Eigen::RowVectorXd mu = Y.colwise().mean();
    const Eigen::MatrixXd C = Y.rowwise() - mu;
    S = (C.transpose() * C) / double(R - 1) / double(spec_.replications);
  }
  const double floor2 = spec_.weight_floor * spec_.weight_floor;
  if (spec_.weighting == Weighting::Diagonal) {
    Eigen::MatrixXd W = Eigen::MatrixXd::Zero(K, K);
    for (int k = 0; k < K; ++k) W(k, k) = 1.0 / (S(k, k) + floor2);
    return W;
  }
  // Full: shrink towards the diagonal (R is small) and add the floor, then invert.
  Eigen::MatrixXd A = 0.5 * S;
  A.diagonal() = S.diagonal();
  A.diagonal().array() += floor2;
  return A.ldlt().solve(Eigen::MatrixXd::Identity(K, K));
}

double Calibrator::objective(const std::vector<double>& mean, const Eigen::MatrixXd& W) const {
  const int K = int(spec_.targets.size());
  Eigen::VectorXd g(K);
  for (int k = 0; k < K; ++k) {
    const auto& t = spec_.targets[std::size_t(k)];
    g(k) = (mean[std::size_t(k)] - t.value) / t.effective_scale();
    if (!std::isfinite(g(k))) return kBad;
  }
  return g.dot(W * g);
}

CalibrationResult Calibrator::run(const std::function<void(const std::string&)>& progress) const {
  CalibrationResult res;
  const std::size_t n = spec_.parameters.size();
  std::vector<double> lo(n), hi(n), x0(n);
  std::vector<bool> logs(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = spec_.parameters[i];
    lo[i] = p.min;
    hi[i] = p.max;
    x0[i] = p.start;
    logs[i] = p.log;
  }
  auto describe_x = [&](const std::vector<double>& x) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + spec_.parameters[i].key + "=" + format_value(i, x[i]);
    return s;
  };
  std::tie(res.start, res.W) = pilot(x0);
  res.best = res.start;
  res.history.push_back({res.start.x, res.start.objective});
  if (progress) progress("evaluation 1 (start): J = " + num4(res.start.objective) + "  [" + describe_x(res.start.x) + "]");
  std::map<std::vector<double>, double> seen{{res.start.x, res.start.objective}};
  auto f = [&](const std::vector<double>& x) {
    const auto cx = canonical(x);
    if (auto it = seen.find(cx); it != seen.end()) return it->second;
    Evaluation e = simulate(cx);
    e.objective = objective(e.mean, res.W);
    seen.emplace(cx, e.objective);
    res.history.push_back({e.x, e.objective});
    if (progress)
      progress("evaluation " + std::to_string(res.history.size()) + ": J = " + num4(e.objective) + "  [" + describe_x(e.x) + "]");
    if (e.objective < res.best.objective) res.best = std::move(e);
    return seen.at(cx);
  };
  NelderMeadOptions o;
  o.max_evaluations = spec_.optimizer.max_evaluations;
  o.initial_step = spec_.optimizer.initial_step;
  o.ftol = spec_.optimizer.ftol;
  o.xtol = spec_.optimizer.xtol;
  o.restarts = spec_.optimizer.restarts;
  const auto nm = nelder_mead(f, lo, hi, x0, o, logs, [&](const std::vector<double>& x) { return canonical(x); });
  res.evaluations = int64_t(res.history.size());
  res.converged = nm.converged;
  res.overlay_yaml = overlay_yaml(res.best.x, res.best, res.best.objective);
  res.report_md = report_markdown(res);
  return res;
}

// ====================================================================== output

std::string Calibrator::overlay_yaml(const std::vector<double>& x, const Evaluation& e, double J) const {
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
     << "# Simulated method of moments (MODEL.md §6), fitted at reduced size with the fit-only overrides:\n";
  for (const auto& o : spec_.overrides) os << "#   " << o << "\n";
  for (const auto& o : extra_overrides_) os << "#   " << o << "   (--set)\n";
  os << "# " << spec_.replications << " replications per evaluation, seeds " << spec_.seed << ".."
     << spec_.seed + uint64_t(spec_.replications) - 1 << " (common random numbers); objective J = " << num4(J) << "\n"
     << "#\n";
  std::size_t w = 6;
  for (const auto& t : spec_.targets) w = std::max(w, t.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "# %-*s %12s %12s %10s %10s  %s\n", int(w), "target", "value", "simulated", "SE",
                "tolerance", "source");
  os << line;
  for (std::size_t k = 0; k < spec_.targets.size(); ++k) {
    const auto& t = spec_.targets[k];
    std::snprintf(line, sizeof line, "# %-*s %12s %12s %10s %10s  %s\n", int(w), t.name.c_str(), num4(t.value).c_str(),
                  num4(e.mean[k]).c_str(), num4(e.se[k]).c_str(), num4(t.tolerance).c_str(), t.source.c_str());
    os << line;
  }
  os << "#\n# fitted:\n";
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i)
    os << "#   " << spec_.parameters[i].key << " = " << format_value(i, x[i]) << "   (bounds " << num4(spec_.parameters[i].min)
       << " .. " << num4(spec_.parameters[i].max) << ", start " << format_value(i, spec_.parameters[i].start) << ")"
       << (is_experiment(i) ? "   calibration event: not in this file" : "") << "\n";
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

std::string Calibrator::table(const Evaluation& e) const {
  std::ostringstream os;
  std::size_t w = 6;
  for (const auto& t : spec_.targets) w = std::max(w, t.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %12s %12s %10s %10s  %s\n", int(w), "target", "value", "simulated", "SE",
                "tolerance", "within");
  os << line;
  for (std::size_t k = 0; k < spec_.targets.size(); ++k) {
    const auto& t = spec_.targets[k];
    const bool ok = std::fabs(e.mean[k] - t.value) <= t.tolerance;
    std::snprintf(line, sizeof line, "%-*s %12s %12s %10s %10s  %s\n", int(w), t.name.c_str(), num4(t.value).c_str(),
                  num4(e.mean[k]).c_str(), num4(e.se[k]).c_str(), num4(t.tolerance).c_str(), ok ? "yes" : "no");
    os << line;
  }
  return os.str();
}

std::string Calibrator::report_markdown(const CalibrationResult& r) const {
  std::ostringstream os;
  const auto& S = spec_;
  os << "# Calibration report\n\n"
     << "Generated by `talentsim calibrate " << S.path << "` (simulated method of moments, MODEL.md §6). "
     << "The run is deterministic: the same calibration file gives the same report and overlay.\n\n"
     << "- Scenario: `" << S.scenario_ref << "`";
  if (S.events.is_seq() && !S.events.seq.empty())
    os << ", plus " << S.events.seq.size() << " calibration event" << (S.events.seq.size() == 1 ? "" : "s")
       << " (an experiment of the calibration: in the fit only, not in the overlay)";
  os << ".\n- **Fitted at reduced size**: every evaluation applies the fit-only overrides";
  std::string ovs;
  for (const auto& o : S.overrides) ovs += (ovs.empty() ? "" : ", ") + ("`" + o + "`");
  for (const auto& o : extra_overrides_) ovs += (ovs.empty() ? "" : ", ") + ("`" + o + "` (--set)");
  os << (ovs.empty() ? " (none)" : " " + ovs) << "; the overlay does not carry them.\n"
     << "- Replications: " << S.replications << " per evaluation with run.seed = " << S.seed << " + r (common random "
     << "numbers: the same seeds at every evaluation).\n"
     << "- Objective: J = g′Wg with g_k = (simulated mean − target) / scale_k; W = " << to_string(S.weighting)
     << (S.weighting == Weighting::Identity
             ? ""
             : " inverse covariance of the scaled moment means, estimated at the start values from " +
                   std::to_string(std::max(weight_replications(), S.replications)) + " pilot runs")
     << (S.weighting == Weighting::Identity ? "" : " (SE floor " + num4(S.weight_floor) + ")") << ".\n"
     << "- Optimiser: Nelder–Mead (Gao–Han coefficients) on the logistic transform of each bound range, initial step "
     << num4(S.optimizer.initial_step) << " of the range, " << S.optimizer.restarts << " restart(s); "
     << r.evaluations << " evaluations of at most " << S.optimizer.max_evaluations << ", "
     << (r.converged ? "converged" : "stopped at the evaluation budget") << ".\n"
     << "- Objective at the start: " << num4(r.start.objective) << "; **at the optimum: " << num4(r.best.objective)
     << "**.\n";
  const long dof = long(S.targets.size()) - long(S.parameters.size());
  os << "- " << S.targets.size() << " targets, " << S.parameters.size() << " free parameters: "
     << (dof > 0 ? "over-identified by " + std::to_string(dof) +
                       ", so J at the optimum also measures how far the model is from matching every target at once"
                 : dof == 0 ? "exactly identified" : "under-identified (more parameters than targets)")
     << ".\n";
  if (!S.overlay.empty())
    os << "- Overlay: `" << S.overlay << "` (the fitted scenario keys only; `" << S.scenario_ref
       << "` uses them by extending it).\n";
  os << "\n## Targets\n\n"
     << "| target | source | moment | value | simulated mean | SE over replications | start mean | tolerance | within tolerance |\n"
     << "|---|---|---|---:|---:|---:|---:|---:|:---:|\n";
  for (std::size_t k = 0; k < S.targets.size(); ++k) {
    const auto& t = S.targets[k];
    const bool ok = std::fabs(r.best.mean[k] - t.value) <= t.tolerance;
    os << "| " << t.name << " | " << t.source << " | `" << to_string(t.moment) << "` | " << num4(t.value) << " | "
       << num4(r.best.mean[k]) << " | " << num4(r.best.se[k]) << " | " << num4(r.start.mean[k]) << " | "
       << num4(t.tolerance) << " | " << (ok ? "yes" : "**no**") << " |\n";
  }
  os << "\n## Parameters\n\n| key | min | max | start | fitted | in the overlay |\n|---|---:|---:|---:|---:|:---:|\n";
  for (std::size_t i = 0; i < S.parameters.size(); ++i) {
    const auto& p = S.parameters[i];
    os << "| `" << p.key << "`" << (p.log ? " (log scale)" : "") << " | " << num4(p.min) << " | " << num4(p.max) << " | "
       << format_value(i, p.start) << " | " << format_value(i, r.best.x[i]) << " | "
       << (is_experiment(i) ? "no (calibration event)" : "yes") << " |\n";
  }
  os << "\n## Replications at the optimum\n\n| target |";
  for (std::size_t q = 0; q < r.best.reps.size(); ++q) os << " seed " << S.seed + q << " |";
  os << " weight W_kk |\n|---|";
  for (std::size_t q = 0; q < r.best.reps.size(); ++q) os << "---:|";
  os << "---:|\n";
  for (std::size_t k = 0; k < S.targets.size(); ++k) {
    os << "| " << S.targets[k].name << " |";
    for (const auto& rep : r.best.reps) os << " " << num4(rep[k]) << " |";
    os << " " << num4(r.W(Eigen::Index(k), Eigen::Index(k))) << " |\n";
  }
  os << "\n## Evaluations\n\n| # | J |";
  for (const auto& p : S.parameters) os << " `" << p.key << "` |";
  os << "\n|---:|---:|";
  for (std::size_t i = 0; i < S.parameters.size(); ++i) os << "---:|";
  os << "\n";
  for (std::size_t h = 0; h < r.history.size(); ++h) {
    os << "| " << h + 1 << " | " << num4(r.history[h].second) << " |";
    for (std::size_t i = 0; i < S.parameters.size(); ++i) os << " " << format_value(i, r.history[h].first[i]) << " |";
    os << "\n";
  }
  return os.str();
}

}  // namespace ts::model::calib
