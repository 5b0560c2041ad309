#include "sim/experiment/outcomes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ts::exp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using model::kTiers;

int index_of(const char* const* names, int n, const std::string& s) {
  for (int i = 0; i < n; ++i)
    if (s == names[i]) return i;
  return -1;
}

int tier_index(const std::string& t) {
  const auto& names = tier_names();
  return int(std::find(names.begin(), names.end(), t) - names.begin());
}

/// Is `name` a firm (or a member NAME#i, or a group) of the scenario?
bool firm_exists(const model::Params& p, const std::string& name) {
  for (const auto& f : p.firms) {
    if (f.name == name) return true;
    if (f.count > 1 && name.size() > f.name.size() + 1 && name.compare(0, f.name.size(), f.name) == 0 &&
        name[f.name.size()] == '#') {
      const std::string num = name.substr(f.name.size() + 1);
      if (!num.empty() && num.size() < 12 && std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const long long i = std::stoll(num);
        if (i >= 1 && i <= f.count) return true;
      }
    }
  }
  return false;
}

std::string region_list(const model::Params& p) {
  std::string s;
  for (const auto& r : p.regions) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}

int64_t resolve(int64_t s, int64_t T) { return s < 0 ? T + s : s; }

/// The steps an outcome reads, [first, last] inclusive, or a message.
std::pair<int64_t, int64_t> steps_of(const OutcomeSpec& o, int64_t T) {
  if (o.has_window) return {resolve(o.first, T), resolve(o.last, T)};
  if (o.has_at) return {resolve(o.at, T), resolve(o.at, T)};
  if (o.is_level()) return {T - 1, T - 1};
  return {0, T - 1};
}

}  // namespace

model::EventLogLevel log_level_needed(const std::vector<OutcomeSpec>& outcomes) {
  int need = 0;
  for (const auto& o : outcomes) need = std::max(need, o.log_level_needed());
  return need == 0 ? model::EventLogLevel::None : need == 1 ? model::EventLogLevel::Top : model::EventLogLevel::All;
}

std::vector<std::pair<std::size_t, std::string>> check_outcomes(const model::Params& p,
                                                                const std::vector<OutcomeSpec>& outcomes) {
  std::vector<std::pair<std::size_t, std::string>> out;
  const int64_t T = p.run.steps;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    auto regions = [&](const std::vector<std::string>& names, const char* key) {
      for (const auto& r : names)
        if (p.region_index(r) < 0)
          out.emplace_back(i, std::string(key) + ": the scenario has no region '" + r + "' (regions: " + region_list(p) + ")");
    };
    regions(o.filter.location, "location");
    regions(o.filter.origin, "origin");
    regions(o.of.location, "of.location");
    regions(o.of.origin, "of.origin");
    regions(o.from, "from");
    regions(o.to, "to");
    regions(o.regions, "region");
    regions(o.numerator, "numerator");
    regions(o.denominator, "denominator");
    if (o.metric == Metric::FirmCount && !firm_exists(p, o.firm))
      out.emplace_back(i, "firm: the scenario has no firm or group of firms named '" + o.firm + "'");
    const auto [a, b] = steps_of(o, T);
    if (a < 0 || b >= T || a > b)
      out.emplace_back(i, (a == b ? "step " + std::to_string(a) : "steps " + std::to_string(a) + ".." + std::to_string(b)) +
                              " outside the run (steps 0.." + std::to_string(T - 1) + ")");
  }
  return out;
}

struct OutcomeRecorder::Slot {
  Metric metric = Metric::Stock;
  bool level = true;
  int64_t first = 0, last = 0;
  std::vector<uint8_t> loc, orig, tier;        ///< masks (regions, regions, tiers); numerator of share
  std::vector<uint8_t> of_loc, of_orig, of_tier;
  std::vector<uint8_t> from, to;
  bool use_log = false;
  std::vector<uint8_t> firm;                   ///< mask over firms
  bool firm_books = false;                     ///< the firms' own counts suffice (headcount or elite)
  bool firm_elite = false;
  double percentile = 50;
  int stat = 0;
  bool by_origin = false, hc = false;
  std::vector<uint8_t> num, den;               ///< output regions / ratio numerator, denominator
  double acc = 0, acc_den = 0;
  int64_t steps = 0;
  bool undefined = false;                      ///< a step's share or percentile was undefined
};

OutcomeRecorder::~OutcomeRecorder() = default;

OutcomeRecorder::OutcomeRecorder(const model::Simulation& sim, const std::vector<OutcomeSpec>& outcomes) {
  const model::Params& p = sim.params();
  const auto problems = check_outcomes(p, outcomes);
  if (!problems.empty()) throw std::invalid_argument("outcome '" + outcomes[problems[0].first].name + "': " + problems[0].second);
  R_ = sim.regions();
  const int64_t T = p.run.steps;
  const std::size_t R = std::size_t(R_);
  auto mask = [&](const std::vector<std::string>& names) {
    std::vector<uint8_t> m(R, names.empty() ? 1 : 0);
    for (const auto& n : names) m[std::size_t(p.region_index(n))] = 1;
    return m;
  };
  auto tiers = [&](const std::vector<std::string>& names) {
    std::vector<uint8_t> m(kTiers, names.empty() ? 1 : 0);
    for (const auto& n : names) m[std::size_t(tier_index(n))] = 1;
    return m;
  };
  const int have_log = p.output.event_log == model::EventLogLevel::All ? 2 : p.output.event_log == model::EventLogLevel::Top ? 1 : 0;
  for (const auto& o : outcomes) {
    Slot s;
    s.metric = o.metric;
    s.level = o.is_level();
    std::tie(s.first, s.last) = steps_of(o, T);
    s.loc = mask(o.filter.location);
    s.orig = mask(o.filter.origin);
    s.tier = tiers(o.filter.tier);
    // share: the denominator is `of` (default: the same tiers, everywhere); the numerator is
    // counted among the denominator's researchers.
    const Filter of = o.has_of ? o.of : Filter{{}, {}, o.filter.tier};
    s.of_loc = mask(of.location);
    s.of_orig = mask(of.origin);
    s.of_tier = tiers(of.tier);
    s.from = mask(o.from);
    s.to = mask(o.to);
    s.use_log = o.log_level_needed() > 0;
    if (s.use_log && have_log < o.log_level_needed())
      throw std::invalid_argument("outcome '" + o.name + "' counts moves by tier or origin from the event log, which this run does not keep (output.event_log)");
    if (o.metric == Metric::FirmCount) {
      s.firm.assign(sim.world().f.size(), 0);
      for (int f : sim.firms_named(o.firm)) s.firm[std::size_t(f)] = 1;
      const bool all_tiers = o.filter.tier.empty();
      s.firm_elite = o.filter.tier.size() == 1 && o.filter.tier[0] == "elite";
      s.firm_books = o.filter.origin.empty() && (all_tiers || s.firm_elite);
    }
    s.percentile = o.percentile;
    if (o.metric == Metric::Visa) s.stat = index_of(model::kVisaStatNames, model::kVisaStats, o.stat);
    if (o.metric == Metric::Market) s.stat = index_of(model::kMarketStatNames, model::kMarketStats, o.stat);
    if ((o.metric == Metric::Visa || o.metric == Metric::Market) && s.stat < 0)
      throw std::invalid_argument("outcome '" + o.name + "': unknown statistic '" + o.stat + "'");
    s.by_origin = o.by_origin;
    s.hc = o.highly_cited;
    if (o.metric == Metric::Output) s.num = mask(o.regions);
    if (o.metric == Metric::OutputRatio) s.num = mask(o.numerator), s.den = mask(o.denominator);
    slots_.push_back(std::move(s));
  }
}

double percentile(std::vector<float>& xs, double p) {
  if (xs.empty()) return kNaN;
  const double h = (double(xs.size()) - 1.0) * p / 100.0;
  const auto lo = std::size_t(std::floor(h));
  std::nth_element(xs.begin(), xs.begin() + std::ptrdiff_t(lo), xs.end());
  const double a = xs[lo];
  if (lo + 1 >= xs.size() || h == double(lo)) return a;
  const double b = *std::min_element(xs.begin() + std::ptrdiff_t(lo) + 1, xs.end());
  return a + (h - double(lo)) * (b - a);
}

void OutcomeRecorder::on_step(const model::Simulation& sim) {
  const int64_t t = sim.t();
  const model::StepStats& st = sim.stats();
  const std::size_t R = std::size_t(R_);
  for (auto& s : slots_) {
    if (t < s.first || t > s.last) continue;
    double x = 0;  // this step's value (for ratios: the numerator; y: the denominator)
    double y = 0;
    switch (s.metric) {
      case Metric::Stock:
      case Metric::Share:
        for (std::size_t l = 0; l < R; ++l)
          for (std::size_t o = 0; o < R; ++o)
            for (std::size_t k = 0; k < std::size_t(kTiers); ++k) {
              const double n = double(st.stocks[(l * R + o) * kTiers + k]);
              const bool num = s.loc[l] && s.orig[o] && s.tier[k];
              const bool den = s.of_loc[l] && s.of_orig[o] && s.of_tier[k];
              if (s.metric == Metric::Stock) {
                if (num) x += n;
              } else if (den) {
                y += n;
                if (num) x += n;
              }
            }
        if (s.metric == Metric::Share) {
          if (y > 0)
            x /= y;
          else
            s.undefined = true;
        }
        break;
      case Metric::Flow:
      case Metric::NetFlow: {
        auto moves = [&](const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
          double n = 0;
          if (!s.use_log) {
            for (std::size_t i = 0; i < R; ++i)
              for (std::size_t j = 0; j < R; ++j)
                if (i != j && a[i] && b[j]) n += double(st.flows[i * R + j]);
            return n;
          }
          for (const auto& e : st.log) {
            const auto kind = model::LogKind(e.kind);
            if (kind != model::LogKind::Hire && kind != model::LogKind::Move && kind != model::LogKind::Relocation &&
                kind != model::LogKind::ForcedDeparture)
              continue;
            if (e.from_region == e.to_region || !a[e.from_region] || !b[e.to_region]) continue;
            if (s.tier[e.tier] && s.orig[e.origin]) n += 1;
          }
          return n;
        };
        x = moves(s.from, s.to);
        if (s.metric == Metric::NetFlow) x -= moves(s.to, s.from);
        break;
      }
      case Metric::PayPercentile: {
        const auto& r = sim.world().r;
        std::vector<float> pay;
        for (std::size_t i = 0; i < r.size(); ++i)
          if (r.alive[i] && r.employer[i] != model::kNoFirm && s.loc[r.location[i]] && s.orig[r.origin[i]] && s.tier[r.tier[i]])
            pay.push_back(r.comp[i]);
        x = percentile(pay, s.percentile);
        if (std::isnan(x)) s.undefined = true;
        break;
      }
      case Metric::FirmCount: {
        const auto& F = sim.world().f;
        if (s.firm_books) {
          for (std::size_t f = 0; f < F.size(); ++f)
            if (s.firm[f]) x += double(s.firm_elite ? F.elite[f] : F.headcount[f]);
        } else {
          const auto& r = sim.world().r;
          for (std::size_t i = 0; i < r.size(); ++i)
            if (r.alive[i] && r.employer[i] != model::kNoFirm && s.firm[std::size_t(r.employer[i])] && s.tier[r.tier[i]] &&
                s.orig[r.origin[i]])
              x += 1;
        }
        break;
      }
      case Metric::Output:
      case Metric::OutputRatio: {
        const auto& v = s.by_origin ? (s.hc ? st.hc_origin : st.output_origin) : (s.hc ? st.hc_region : st.output_region);
        for (std::size_t i = 0; i < R; ++i) {
          if (s.num[i]) x += v[i];
          if (s.metric == Metric::OutputRatio && s.den[i]) y += v[i];
        }
        break;
      }
      case Metric::Visa:  // location: the destination of the visa
        for (std::size_t d = 0; d < R; ++d)
          for (std::size_t o = 0; o < R; ++o)
            if (s.loc[d] && s.orig[o]) x += double(st.visa[st.visa_at(int(d), int(o), model::VisaStat(s.stat))]);
        break;
      case Metric::Market: x = double(st.market[std::size_t(s.stat)]); break;
    }
    s.acc += x;
    s.acc_den += y;
    ++s.steps;
  }
}

std::vector<double> OutcomeRecorder::values() const {
  std::vector<double> out;
  for (const auto& s : slots_) {
    const int64_t want = s.last - s.first + 1;
    if (s.steps != want || s.undefined) {
      out.push_back(kNaN);  // the run ended before the outcome's steps, or nothing to measure
      continue;
    }
    if (s.metric == Metric::OutputRatio)
      out.push_back(s.acc_den > 0 ? s.acc / s.acc_den : kNaN);
    else
      out.push_back(s.level ? s.acc / double(s.steps) : s.acc);
  }
  return out;
}

}  // namespace ts::exp
