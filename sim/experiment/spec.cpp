#include "sim/experiment/spec.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/config/schema.hpp"
#include "sim/experiment/sobol.hpp"

namespace ts::exp {

namespace fs = std::filesystem;
namespace schema = model::schema;
using schema::EnumName;

namespace {

constexpr double kInf = std::numeric_limits<double>::max();

const EnumName<DesignKind> kDesigns[] = {{DesignKind::Grid, "grid"},     {DesignKind::List, "list"},
                                         {DesignKind::Random, "random"}, {DesignKind::Lhs, "lhs"},
                                         {DesignKind::Sobol, "sobol"},   {DesignKind::Saltelli, "saltelli"},
                                         {DesignKind::Morris, "morris"}};
const EnumName<Keep> kKeeps[] = {{Keep::Outcomes, "outcomes"}, {Keep::Series, "series"}, {Keep::Full, "full"}};
const EnumName<SeedMode> kSeedModes[] = {{SeedMode::Common, "common"}, {SeedMode::Independent, "independent"}};
const EnumName<Metric> kMetrics[] = {{Metric::Stock, "stock"},
                                     {Metric::Share, "share"},
                                     {Metric::Flow, "flow"},
                                     {Metric::NetFlow, "net_flow"},
                                     {Metric::PayPercentile, "pay_percentile"},
                                     {Metric::FirmCount, "firm_count"},
                                     {Metric::Output, "output"},
                                     {Metric::OutputRatio, "output_ratio"},
                                     {Metric::Visa, "visa"},
                                     {Metric::Market, "market"}};
const EnumName<ParameterSpec::Dist> kDists[] = {{ParameterSpec::Dist::Uniform, "uniform"},
                                                {ParameterSpec::Dist::Normal, "normal"},
                                                {ParameterSpec::Dist::LogNormal, "lognormal"},
                                                {ParameterSpec::Dist::Triangular, "triangular"}};
enum class Scale : uint8_t { Linear, Log };
const EnumName<Scale> kScales[] = {{Scale::Linear, "linear"}, {Scale::Log, "log"}};
enum class By : uint8_t { Region, Origin };
const EnumName<By> kBys[] = {{By::Region, "region"}, {By::Origin, "origin"}};

std::string list_of(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(uint8_t(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(uint8_t(c)) || c == '_'; });
}

bool is_variant_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(uint8_t(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string resolve(const std::string& ref, const std::string& from_file) {
  fs::path p(ref);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(from_file).parent_path() / p).lexically_normal().string();
}

/// `key: NAME` or `key: [NAME, ...]`.
void names_or_one(schema::Loader& v, const char* key, std::vector<std::string>& out) {
  const cfg::Node* n = v.peek(key);
  if (n && n->is_scalar()) {
    std::string one;
    v.text(key, one, "");
    if (!one.empty()) out = {one};
    return;
  }
  v.names(key, out, "");
  if (n && n->is_seq() && n->seq.empty()) v.error_at(key, "expected at least one name");
}

/// A list of `key.path=value` overrides, with their locations.
void overrides(schema::Loader& v, const char* key, const std::string& path, std::vector<std::string>& out,
               std::vector<cfg::Location>& locs, cfg::Diagnostics& d) {
  const cfg::Node* n = v.peek(key);
  v.names(key, out, "");
  if (!n || !n->is_seq()) return;
  for (std::size_t i = 0; i < n->seq.size(); ++i) {
    const auto& e = n->seq[i];
    if (!e.is_scalar() || e.scalar.empty()) continue;
    locs.push_back(e.loc);
    if (e.scalar.find('=') == std::string::npos)
      d.error(e.loc, cfg::index_path(cfg::join_path(path, key), i), "expected key.path=value, got '" + e.scalar + "'");
  }
  locs.resize(out.size(), n->loc);
}

/// `at: end` or `at: STEP` (negative: from the end).
void read_at(schema::Loader& v, OutcomeSpec& o) {
  const cfg::Node* n = v.raw("at");
  if (!n) return;
  o.has_at = true;
  int64_t s = 0;
  if (n->is_scalar() && n->scalar == "end") {
    o.at = -1;
  } else if (n->is_scalar() && schema::parse_int(n->scalar, s) && std::llabs(s) < (int64_t(1) << 40)) {
    o.at = s;
  } else {
    v.error_at("at", "expected 'end' or a step number (negative: from the end, -1 = the last step), got " +
                         cfg::describe(*n));
    o.has_at = false;
  }
}

/// `window: [FIRST, LAST]` (inclusive; negative: from the end) or `window: all`.
void read_window(schema::Loader& v, OutcomeSpec& o) {
  const cfg::Node* n = v.raw("window");
  if (!n) return;
  o.has_window = true;
  if (n->is_scalar() && n->scalar == "all") {
    o.first = 0, o.last = -1;
    return;
  }
  int64_t a = 0, b = 0;
  if (n->is_seq() && n->seq.size() == 2 && n->seq[0].is_scalar() && n->seq[1].is_scalar() &&
      schema::parse_int(n->seq[0].scalar, a) && schema::parse_int(n->seq[1].scalar, b)) {
    o.first = a, o.last = b;
    return;
  }
  v.error_at("window", "expected [first, last] (steps, inclusive; negative: from the end) or 'all', got " +
                           cfg::describe(*n));
  o.has_window = false;
}

}  // namespace

template <class V>
void describe(V& v, Filter& f) {
  names_or_one(v, "location", f.location);
  names_or_one(v, "origin", f.origin);
  names_or_one(v, "tier", f.tier);
}

const char* to_string(DesignKind k) { return kDesigns[int(k)].name; }
const char* to_string(Keep k) { return kKeeps[int(k)].name; }
const char* to_string(SeedMode m) { return kSeedModes[int(m)].name; }
const char* to_string(Metric m) { return kMetrics[int(m)].name; }

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& m : kMetrics) v.emplace_back(m.name);
    return v;
  }();
  return names;
}

const std::vector<std::string>& tier_names() {
  static const std::vector<std::string> names{"regular", "top", "elite"};
  return names;
}
const std::vector<std::string>& visa_stat_names() {
  static const std::vector<std::string> names{"applications", "approvals",           "denials",
                                              "lottery_losses", "expiries",          "renewals",
                                              "permanent_residency", "forced_departures"};
  return names;
}
const std::vector<std::string>& market_stat_names() {
  static const std::vector<std::string> names{
      "entrants", "exits", "separations", "hires_from_unemployment", "job_to_job_moves", "counteroffer_raises",
      "raid_hires", "relocations", "offers", "targeted_offers", "rejected_by_capacity", "employed", "unemployed"};
  return names;
}

// ====================================================================== parameters

bool ParameterSpec::bounded() const {
  return kind != Kind::Dist || dist == Dist::Uniform || dist == Dist::Triangular;
}

int64_t ParameterSpec::grid_levels() const {
  if (kind == Kind::Values) return int64_t(values.size());
  return levels;
}

double ParameterSpec::grid_unit(int64_t i) const {
  if (kind == Kind::Values) return (double(i) + 0.5) / double(values.size());
  if (kind == Kind::Range) return levels > 1 ? double(i) / double(levels - 1) : 0.5;
  return (double(i) + 0.5) / double(levels);
}

double ParameterSpec::value_at(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  auto finish = [&](double x) { return integer ? std::round(x) : x; };
  switch (kind) {
    case Kind::Values: {
      const auto n = values.size();
      const std::size_t i = std::min(n - 1, std::size_t(u * double(n)));
      return numeric ? numbers[i] : double(i);
    }
    case Kind::Range: {
      if (u == 0.0) return lo;
      if (u == 1.0) return hi;
      if (integer && !log) return std::min(hi, std::floor(lo + u * (hi - lo + 1.0)));
      const double x = log ? std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo))) : lo + u * (hi - lo);
      return finish(std::clamp(x, lo, hi));
    }
    case Kind::Dist: {
      constexpr double kTail = 1e-12;  // the unbounded distributions' extreme quantiles
      const boost::math::normal_distribution<double> std_normal;
      switch (dist) {
        case Dist::Uniform: return finish(u == 1.0 ? b : a + u * (b - a));
        case Dist::Normal: return finish(a + b * boost::math::quantile(std_normal, std::clamp(u, kTail, 1 - kTail)));
        case Dist::LogNormal:
          return finish(a * std::exp(b * boost::math::quantile(std_normal, std::clamp(u, kTail, 1 - kTail))));
        case Dist::Triangular: {
          const double F = (b - a) / (c - a);
          const double x = u < F ? a + std::sqrt(u * (c - a) * (b - a)) : c - std::sqrt((1 - u) * (c - a) * (c - b));
          return finish(std::clamp(x, a, c));
        }
      }
    }
  }
  return 0.0;
}

std::string ParameterSpec::text_of(double value) const {
  if (kind == Kind::Values) {
    const auto n = values.size();
    if (!numeric) return values[std::min(n - 1, std::size_t(std::max(0.0, value)))];
    for (std::size_t i = 0; i < n; ++i)
      if (numbers[i] == value) return values[i];
  }
  if (integer && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  return schema::fmt_num(value);
}

namespace {

void parse_parameter(const std::string& key, const cfg::Node& node, cfg::Diagnostics& d, ParameterSpec& p) {
  const std::size_t errors0 = d.size();
  struct Valid {  // marks the parameter invalid if reading it reported anything
    ParameterSpec& p;
    cfg::Diagnostics& d;
    std::size_t e0;
    ~Valid() { p.valid = d.size() == e0; }
  } valid{p, d, errors0};
  const std::string path = "parameters[" + key + "]";
  p.key = key;
  p.loc = node.key_loc;
  schema::Loader v(&node, path, d);
  if (v.is_bad()) return;
  const bool has_values = v.has("values"), has_range = v.has("range"), has_dist = v.has("dist");
  if (int(has_values) + int(has_range) + int(has_dist) != 1)
    v.error("give exactly one of 'values' (a list), 'range' ([min, max], optionally 'scale: log') or 'dist' "
            "(uniform, normal, lognormal, triangular)");
  if (const cfg::Node* n = v.raw("values")) {
    p.kind = ParameterSpec::Kind::Values;
    if (!n->is_seq() || n->seq.empty()) {
      v.error_at("values", "expected a non-empty list of values, got " + cfg::describe(*n));
    } else {
      for (std::size_t i = 0; i < n->seq.size(); ++i) {
        const auto& e = n->seq[i];
        if (!e.is_scalar() || e.scalar.empty()) {
          d.error(e.loc, cfg::index_path(path + ".values", i), "expected a value (a number or a name), got " + cfg::describe(e));
          continue;
        }
        for (const auto& prev : p.values)
          if (prev == e.scalar) d.error(e.loc, cfg::index_path(path + ".values", i), "value '" + e.scalar + "' is listed twice");
        p.values.push_back(e.scalar);
        double x = 0;
        if (!e.quoted && schema::parse_double(e.scalar, x))
          p.numbers.push_back(x);
        else
          p.numeric = false;
      }
      if (!p.numeric) p.numbers.clear();
    }
  }
  if (const cfg::Node* n = v.raw("range")) {
    p.kind = ParameterSpec::Kind::Range;
    if (!(n->is_seq() && n->seq.size() == 2 && n->seq[0].is_scalar() && n->seq[1].is_scalar() &&
          schema::parse_double(n->seq[0].scalar, p.lo) && schema::parse_double(n->seq[1].scalar, p.hi)))
      v.error_at("range", "expected [min, max] (two numbers), got " + cfg::describe(*n));
    else if (!(p.lo < p.hi))
      v.error_at("range", "needs min < max");
  }
  Scale scale = Scale::Linear;
  if (v.has("scale") && !has_range) v.error_at("scale", "'scale' applies only to a 'range'");
  v.choice("scale", scale, kScales, "");
  p.log = scale == Scale::Log;
  if (p.log && p.kind == ParameterSpec::Kind::Range && p.lo <= 0) v.error_at("range", "scale: log needs min > 0");
  if (has_dist) {
    p.kind = ParameterSpec::Kind::Dist;
    v.choice("dist", p.dist, kDists, "");
  }
  using D = ParameterSpec::Dist;
  auto only = [&](const char* k, bool ok, const char* which) {
    if (v.has(k) && !ok) v.error_at(k, std::string("'") + k + "' applies only to " + which);
  };
  const bool uni = has_dist && p.dist == D::Uniform, tri = has_dist && p.dist == D::Triangular;
  only("min", uni || tri, "dist: uniform and dist: triangular");
  only("max", uni || tri, "dist: uniform and dist: triangular");
  only("mode", tri, "dist: triangular");
  only("mean", has_dist && p.dist == D::Normal, "dist: normal");
  only("sd", has_dist && p.dist == D::Normal, "dist: normal");
  only("median", has_dist && p.dist == D::LogNormal, "dist: lognormal");
  only("sigma", has_dist && p.dist == D::LogNormal, "dist: lognormal");
  auto need = [&](std::initializer_list<const char*> ks) {
    for (const char* k : ks)
      if (!v.has(k)) v.error(std::string("dist: ") + kDists[int(p.dist)].name + " needs '" + k + "'");
  };
  const cfg::Node* dn = v.peek("dist");
  const bool dist_ok = has_dist && dn && dn->is_scalar() &&
                       std::any_of(std::begin(kDists), std::end(kDists), [&](const auto& e) { return dn->scalar == e.name; });
  if (dist_ok) {
    switch (p.dist) {
      case D::Uniform: need({"min", "max"}); break;
      case D::Normal: need({"mean", "sd"}); break;
      case D::LogNormal: need({"median", "sigma"}); break;
      case D::Triangular: need({"min", "mode", "max"}); break;
    }
  }
  double mn = 0, mx = 0, mode = 0;
  v.num("min", mn, -kInf, kInf, "");
  v.num("max", mx, -kInf, kInf, "");
  v.num("mode", mode, -kInf, kInf, "");
  if (has_dist) {
    switch (p.dist) {
      case D::Uniform:
        p.a = mn, p.b = mx;
        if (v.has("min") && v.has("max") && !(mn < mx)) v.error("dist: uniform needs min < max");
        break;
      case D::Triangular:
        p.a = mn, p.b = mode, p.c = mx;
        if (v.has("min") && v.has("max") && v.has("mode") && !(mn <= mode && mode <= mx && mn < mx))
          v.error("dist: triangular needs min <= mode <= max and min < max");
        break;
      case D::Normal: break;
      case D::LogNormal: break;
    }
  }
  if (has_dist && p.dist == D::Normal) {
    v.num("mean", p.a, -kInf, kInf, "");
    v.num("sd", p.b, 0, kInf, "");
    if (v.has("sd") && p.b <= 0) v.error_at("sd", "needs sd > 0");
  } else {
    double ignored = 0;
    v.num("mean", ignored, -kInf, kInf, "");
    v.num("sd", ignored, -kInf, kInf, "");
  }
  if (has_dist && p.dist == D::LogNormal) {
    v.num("median", p.a, 0, kInf, "");
    v.num("sigma", p.b, 0, kInf, "");
    if (v.has("median") && p.a <= 0) v.error_at("median", "needs median > 0");
    if (v.has("sigma") && p.b <= 0) v.error_at("sigma", "needs sigma > 0");
  } else {
    double ignored = 0;
    v.num("median", ignored, -kInf, kInf, "");
    v.num("sigma", ignored, -kInf, kInf, "");
  }
  only("levels", !has_values, "a 'range' or a 'dist' (a list of values is its own levels)");
  v.num("levels", p.levels, 2, 1e6, "");
  v.flag("integer", p.integer, "");
  if (p.integer && has_values) v.error_at("integer", "'integer' applies only to a 'range' or a 'dist'");
  v.finish();
}

void parse_outcome(const std::string& name, const cfg::Node& node, cfg::Diagnostics& d, OutcomeSpec& o) {
  const std::string path = "outcomes." + name;
  o.name = name;
  o.loc = node.key_loc;
  if (!is_identifier(name))
    d.error(node.key_loc, path, "an outcome name must be a word of letters, digits and '_' not starting with a digit");
  schema::Loader v(&node, path, d);
  if (v.is_bad()) return;
  if (!v.has("metric")) v.error("missing required key 'metric' (one of " + list_of(metric_names()) + ")");
  v.choice("metric", o.metric, kMetrics, "");
  const Metric m = o.metric;
  const bool metric_ok = v.peek("metric") && v.peek("metric")->is_scalar() &&
                         std::find(metric_names().begin(), metric_names().end(), v.peek("metric")->scalar) != metric_names().end();
  auto only = [&](const char* k, std::initializer_list<Metric> ok) {
    if (!metric_ok || !v.has(k)) return;
    if (std::find(ok.begin(), ok.end(), m) != ok.end()) return;
    std::string which;
    for (Metric x : ok) which += (which.empty() ? "" : ", ") + std::string(to_string(x));
    v.error_at(k, std::string("'") + k + "' applies only to " + which);
  };
  using M = Metric;
  only("location", {M::Stock, M::Share, M::PayPercentile});
  only("origin", {M::Stock, M::Share, M::Flow, M::NetFlow, M::PayPercentile, M::FirmCount, M::Visa});
  only("tier", {M::Stock, M::Share, M::Flow, M::NetFlow, M::PayPercentile, M::FirmCount});
  only("of", {M::Share});
  only("from", {M::Flow, M::NetFlow});
  only("to", {M::Flow, M::NetFlow});
  only("firm", {M::FirmCount});
  only("percentile", {M::PayPercentile});
  only("stat", {M::Visa, M::Market});
  only("by", {M::Output, M::OutputRatio});
  only("region", {M::Output});
  only("numerator", {M::OutputRatio});
  only("denominator", {M::OutputRatio});
  only("highly_cited", {M::Output, M::OutputRatio});
  auto need = [&](const char* k, std::initializer_list<Metric> which) {
    if (metric_ok && std::find(which.begin(), which.end(), m) != which.end() && !v.has(k))
      v.error(std::string("metric ") + to_string(m) + " needs '" + k + "'");
  };
  need("firm", {M::FirmCount});
  need("stat", {M::Visa, M::Market});
  need("numerator", {M::OutputRatio});
  need("denominator", {M::OutputRatio});
  need("from", {M::NetFlow});
  need("to", {M::NetFlow});
  describe(v, o.filter);
  o.has_of = v.has("of");
  v.obj("of", o.of, "");
  names_or_one(v, "from", o.from);
  names_or_one(v, "to", o.to);
  v.text("firm", o.firm, "");
  v.num("percentile", o.percentile, 0, 100, "");
  v.text("stat", o.stat, "");
  By by = By::Region;
  v.choice("by", by, kBys, "");
  o.by_origin = by == By::Origin;
  names_or_one(v, "region", o.regions);
  names_or_one(v, "numerator", o.numerator);
  names_or_one(v, "denominator", o.denominator);
  v.flag("highly_cited", o.highly_cited, "");
  read_at(v, o);
  read_window(v, o);
  if (o.has_at && o.has_window) v.error_at("window", "give 'at' (one step) or 'window' (a range of steps), not both");
  v.text("label", o.label, "");
  v.num("scale", o.scale, -kInf, kInf, "");
  v.num("digits", o.digits, 0, 12, "");
  v.finish();
  auto check_tiers = [&](const std::vector<std::string>& tiers, const std::string& where) {
    for (const auto& t : tiers)
      if (std::find(tier_names().begin(), tier_names().end(), t) == tier_names().end()) {
        const cfg::Node* n = cfg::get_path(node, where);
        d.error(n ? n->loc : o.loc, path + "." + where,
                "unknown tier '" + t + "' (one of regular, top, elite; the README's \"top tier\" is [top, elite])");
      }
  };
  check_tiers(o.filter.tier, "tier");
  check_tiers(o.of.tier, "of.tier");
  if (metric_ok && !o.stat.empty()) {
    const auto& names = m == M::Visa ? visa_stat_names() : market_stat_names();
    if (std::find(names.begin(), names.end(), o.stat) == names.end()) {
      const cfg::Node* n = node.find("stat");
      std::string msg = "unknown " + std::string(m == M::Visa ? "visa" : "market") + " statistic '" + o.stat + "' (one of " +
                        list_of(names) + ")";
      const std::string hint = cfg::did_you_mean(o.stat, names);
      if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
      d.error(n ? n->loc : o.loc, path + ".stat", msg);
    }
  }
}

void parse_variant(const std::string& name, const cfg::Node& node, const std::string& file, cfg::Diagnostics& d,
                   VariantSpec& s) {
  const std::string path = "variants." + name;
  s.name = name;
  s.loc = node.key_loc;
  if (!is_variant_name(name))
    d.error(node.key_loc, path, "a variant name may hold letters, digits, '_', '-' and '.' only");
  schema::Loader v(&node, path, d);
  if (v.is_bad()) return;
  if (!v.has("scenario") && !v.has("set"))
    v.error("a variant needs 'scenario' (a scenario file, relative to this file) or 'set' (a list of key.path=value), or both");
  cfg::Location where;
  v.text("scenario", s.scenario_ref, where, "");
  if (!s.scenario_ref.empty()) s.scenario = resolve(s.scenario_ref, file);
  overrides(v, "set", path, s.overrides, s.override_locs, d);
  v.finish();
}

/// Calls fn(name, value) for each entry of the mapping `key` (user-named entries).
template <class Fn>
void each_entry(schema::Loader& v, const char* key, const char* what, Fn&& fn) {
  const cfg::Node* n = v.raw(key);
  if (!n) return;
  if (!n->is_map()) {
    v.error_at(key, std::string("expected a mapping of ") + what + ", got " + cfg::describe(*n));
    return;
  }
  for (const auto& [k, val] : n->map) fn(k, val);
}

}  // namespace

template <class V>
void describe(V& v, DesignSpec& s) {
  v.choice("kind", s.kind, kDesigns, "");
  v.num("n", s.n, 1, 1e8, "");
  v.num("trajectories", s.trajectories, 2, 1e7, "");
  v.num("levels", s.levels, 2, 1000, "");
  v.num("skip", s.skip, 0, 1e9, "");
  s.has_seed = v.has("seed");
  v.num("seed", s.seed, 0, 9.007e15, "");
  v.num("bootstrap", s.bootstrap, 0, 1e6, "");
}

namespace {

void check_design(ExperimentSpec& s, const cfg::Node& root, cfg::Diagnostics& d) {
  DesignSpec& ds = s.design;
  const cfg::Node* dn = root.find("design");
  const cfg::Location at = dn ? dn->loc : root.loc;
  auto only = [&](const char* k, std::initializer_list<DesignKind> ok) {
    const cfg::Node* n = dn && dn->is_map() ? dn->find(k) : nullptr;
    if (!n || std::find(ok.begin(), ok.end(), ds.kind) != ok.end()) return;
    std::string which;
    for (auto x : ok) which += (which.empty() ? "" : ", ") + std::string(to_string(x));
    d.error(n->key_loc, "design." + std::string(k), std::string("'") + k + "' applies only to the designs " + which);
  };
  using K = DesignKind;
  only("n", {K::Random, K::Lhs, K::Sobol, K::Saltelli});
  only("trajectories", {K::Morris});
  only("levels", {K::Morris});
  only("skip", {K::Sobol, K::Saltelli});
  only("bootstrap", {K::Saltelli, K::Morris});
  only("seed", {K::Random, K::Lhs, K::Morris, K::Saltelli});
  const std::string kind = to_string(ds.kind);
  const auto k = s.parameters.size();
  const bool sampling = ds.kind != K::Grid && ds.kind != K::List;
  if (sampling && k == 0) d.error(at, "design", "design " + kind + " needs at least one parameter");
  if ((ds.kind == K::Random || ds.kind == K::Lhs || ds.kind == K::Sobol || ds.kind == K::Saltelli) && ds.n == 0)
    d.error(at, "design", "design " + kind + " needs 'n' (" +
                              (ds.kind == K::Saltelli ? std::string("base samples N; the design has N·(k+2) points")
                                                      : std::string("points")) + ")");
  if (ds.kind == K::Morris && ds.trajectories == 0) d.error(at, "design", "design morris needs 'trajectories' (r >= 2)");
  if (ds.kind == K::Morris && ds.levels % 2 != 0) d.error(at, "design.levels", "morris needs an even number of levels");
  constexpr std::size_t kMaxSobolDims = kSobolMaxDims;  // the direction numbers compiled in
  if (ds.kind == K::Sobol && k > kMaxSobolDims)
    d.error(at, "design", "design sobol supports at most " + std::to_string(kMaxSobolDims) + " parameters");
  if (ds.kind == K::Saltelli && 2 * k > kMaxSobolDims)
    d.error(at, "design", "design saltelli supports at most " + std::to_string(kMaxSobolDims / 2) + " parameters");
  for (const auto& p : s.parameters) {
    if (!p.valid) continue;  // its own problems are reported already
    const std::string pp = "parameters[" + p.key + "]";
    if (ds.kind == K::Grid && p.grid_levels() == 0)
      d.error(p.loc, pp, "a grid needs 'values' or 'levels' (how many points of the range or distribution)");
    if (ds.kind == K::List && p.kind != ParameterSpec::Kind::Values)
      d.error(p.loc, pp, "a list design takes 'values' (the i-th point takes the i-th value of every parameter)");
    if (ds.kind == K::Morris && !p.bounded())
      d.error(p.loc, pp, "morris needs bounded parameters ('values', 'range', uniform or triangular)");
    if (sampling && p.levels > 0 && p.kind != ParameterSpec::Kind::Values)
      d.error(p.loc, pp, "'levels' applies only to a grid design (design " + kind + " samples the whole range)");
  }
  if (ds.kind == K::List && !s.parameters.empty()) {
    const auto n = s.parameters.front().values.size();
    for (const auto& p : s.parameters)
      if (p.valid && p.kind == ParameterSpec::Kind::Values && p.values.size() != n)
        d.error(p.loc, "parameters[" + p.key + "]",
                "a list design needs the same number of values for every parameter (" + std::to_string(n) + " for " +
                    s.parameters.front().key + ", " + std::to_string(p.values.size()) + " here)");
  }
}

std::optional<ExperimentSpec> parse_root(cfg::Node root, const std::string& path, const std::string& text,
                                         const std::vector<std::string>& cli, cfg::Diagnostics& d) {
  const std::size_t errors0 = d.size();
  ExperimentSpec s;
  s.path = path;
  s.text = text;
  s.cli_overrides = cli;
  if (root.is_null()) root = cfg::Node::make_map(root.loc);
  if (!root.is_map()) {
    d.error(root.loc, "(top level)", "expected a mapping of keys to values, got " + cfg::describe(root));
    return std::nullopt;
  }
  for (const auto& o : cli) cfg::apply_override(root, o, cfg::Location{"--set", 0, 0}, d);
  s.tree = root;
  schema::Loader v(&root, "", d);
  if (!root.find("base")) d.error(root.loc, "base", "missing required key 'base' (the base scenario, relative to this file)");
  if (!root.find("outcomes")) d.error(root.loc, "outcomes", "missing required key 'outcomes' (what to measure of each run)");
  v.text("base", s.base_ref, s.base_loc, "");
  v.num("seed", s.seed, 0, 9.007e15, "");
  v.choice("seeds", s.seeds, kSeedModes, "");
  v.num("replications", s.replications, 1, 1e6, "");
  if (const cfg::Node* n = root.find("steps")) s.steps_loc = n->loc;
  v.num("steps", s.steps, 1, 1e6, "");
  overrides(v, "set", "", s.overrides, s.override_locs, d);
  each_entry(v, "variants", "variant names to {scenario: FILE, set: [key.path=value, ...]}",
             [&](const std::string& k, const cfg::Node& n) {
               VariantSpec vs;
               parse_variant(k, n, path, d, vs);
               s.variants.push_back(std::move(vs));
             });
  each_entry(v, "parameters", "scenario key paths to {values: [...]}, {range: [min, max]} or {dist: ...}",
             [&](const std::string& k, const cfg::Node& n) {
               ParameterSpec ps;
               parse_parameter(k, n, d, ps);
               s.parameters.push_back(std::move(ps));
             });
  s.design.given = root.find("design") != nullptr;
  v.obj("design", s.design, "");
  if (const cfg::Node* n = root.find("design")) s.design.loc = n->loc;
  each_entry(v, "outcomes", "outcome names to {metric: ..., ...}", [&](const std::string& k, const cfg::Node& n) {
    OutcomeSpec os;
    parse_outcome(k, n, d, os);
    s.outcomes.push_back(std::move(os));
  });
  v.choice("keep", s.keep, kKeeps, "");
  v.text("runs_dir", s.runs_dir, s.runs_dir_loc, "");
  v.finish();
  if (const cfg::Node* n = root.find("outcomes"); n && n->is_map() && n->map.empty())
    d.error(n->loc, "outcomes", "needs at least one outcome");
  if (!s.runs_dir.empty() && s.keep == Keep::Outcomes)
    d.error(s.runs_dir_loc, "runs_dir", "'runs_dir' applies only with keep: series or keep: full");
  if (!s.base_ref.empty()) {
    s.base = resolve(s.base_ref, path);
    s.base_name = fs::path(s.base_ref).stem().string();
    if (s.base_name.empty()) s.base_name = "base";
  }
  for (const auto& vs : s.variants)
    if (vs.name == s.base_name)
      d.error(vs.loc, "variants." + vs.name,
              "the base scenario is already the variant '" + s.base_name + "'; give this variant another name");
  if (!s.design.has_seed) s.design.seed = s.seed;
  if (!s.design.given && !s.parameters.empty()) s.design.kind = DesignKind::Grid;
  check_design(s, root, d);
  if (d.size() != errors0) return std::nullopt;
  return s;
}

}  // namespace

bool OutcomeSpec::is_level() const {
  switch (metric) {
    case Metric::Stock:
    case Metric::Share:
    case Metric::PayPercentile:
    case Metric::FirmCount: return true;
    case Metric::Market: return stat == "employed" || stat == "unemployed";
    default: return false;
  }
}

int OutcomeSpec::log_level_needed() const {
  if (metric != Metric::Flow && metric != Metric::NetFlow) return 0;
  if (filter.tier.empty() && filter.origin.empty()) return 0;  // /series/flows has every move
  if (filter.tier.empty()) return 2;
  for (const auto& t : filter.tier)
    if (t == "regular") return 2;
  return 1;
}

std::optional<ExperimentSpec> parse_experiment_text(const std::string& text, const std::string& path,
                                                    const std::vector<std::string>& overrides, cfg::Diagnostics& d) {
  auto root = cfg::parse_string(text, path, d);
  if (!root || !d.empty()) return std::nullopt;
  return parse_root(std::move(*root), path, text, overrides, d);
}

std::optional<ExperimentSpec> load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                              cfg::Diagnostics& d) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    d.error(cfg::Location{path, 0, 0}, "", "cannot read the experiment file");
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_experiment_text(ss.str(), path, overrides, d);
}

std::optional<std::vector<OutcomeSpec>> load_outcomes(const std::string& path, cfg::Diagnostics& d) {
  const std::size_t errors0 = d.size();
  auto root = cfg::parse_file(path, d);
  if (!root || d.size() != errors0) return std::nullopt;
  const cfg::Node* n = root->is_map() ? root->find("outcomes") : nullptr;
  if (!n || !n->is_map() || n->map.empty()) {
    d.error(n ? n->loc : root->loc, "outcomes", "expected a mapping 'outcomes:' of outcome names to {metric: ..., ...}");
    return std::nullopt;
  }
  std::vector<OutcomeSpec> out;
  for (const auto& [k, val] : n->map) {
    OutcomeSpec os;
    parse_outcome(k, val, d, os);
    out.push_back(std::move(os));
  }
  if (d.size() != errors0) return std::nullopt;
  return out;
}

}  // namespace ts::exp
