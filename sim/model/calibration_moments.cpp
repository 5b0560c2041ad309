// The calibration's moments, measured from a run (MomentRecorder) and checked against the
// scenario (target_problems). What each kind measures: sim/model/calibration.hpp.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sim/model/calibration.hpp"
#include "sim/model/simulation.hpp"

namespace ts::model::calib {

namespace {
bool is_raid(MomentKind k) { return k == MomentKind::RaidHires || k == MomentKind::RaidHiresCn; }
bool is_cohort(MomentKind k) { return k == MomentKind::StayRate || k == MomentKind::FirmRetention; }
bool is_stepwise(MomentKind k) { return !is_raid(k) && !is_cohort(k); }
/// Flow ratios are ratios of sums over the steps; every other step-based kind is a mean of per-step values.
bool is_flow_ratio(MomentKind k) {
  return k == MomentKind::UsCnHcOutputRatio || k == MomentKind::OutputShare || k == MomentKind::JobToJobRate;
}
}  // namespace

double origin_share(const StepStats& s, int origin, bool top_only) {
  const int R = s.R;
  if (origin < 0 || origin >= R) return std::nan("");
  double all = 0, of = 0;
  for (int loc = 0; loc < R; ++loc)
    for (int o = 0; o < R; ++o)
      for (int k = top_only ? 1 : 0; k < kTiers; ++k) {
        const double n = double(s.stocks[(std::size_t(loc) * R + o) * kTiers + k]);
        all += n;
        if (o == origin) of += n;
      }
  return all > 0 ? of / all : std::nan("");
}

double top_tier_location_share(const StepStats& s, int location) {
  const int R = s.R;
  if (location < 0 || location >= R) return std::nan("");
  double all = 0, here = 0;
  for (int loc = 0; loc < R; ++loc)
    for (int o = 0; o < R; ++o)
      for (int k = 1; k < kTiers; ++k) {
        const double n = double(s.stocks[(std::size_t(loc) * R + o) * kTiers + k]);
        all += n;
        if (loc == location) here += n;
      }
  return all > 0 ? here / all : std::nan("");
}

double unemployment_rate(const StepStats& s, int location) {
  const int R = s.R;
  double living = 0, without = 0;
  for (int loc = 0; loc < R; ++loc) {
    if (location >= 0 && loc != location) continue;
    for (std::size_t k = 0; k < std::size_t(R) * kTiers; ++k) living += double(s.stocks[std::size_t(loc) * R * kTiers + k]);
    without += double(s.unemployed_region[std::size_t(loc)]);
  }
  return living > 0 ? without / living : std::nan("");
}

std::vector<uint64_t> moves_between(const std::vector<LogEntry>& log, int32_t from, int32_t to) {
  std::vector<uint64_t> out;
  for (const auto& e : log)
    if (e.kind == uint8_t(LogKind::Move) && e.from_firm == from && e.to_firm == to) out.push_back(e.uid);
  return out;
}

namespace {

/// The first raid by firm `to` that targets `from` (or everyone); nullptr if none.
const Event* find_raid(const Params& p, const std::string& from, const std::string& to) {
  for (const auto& e : p.events)
    if (e.type == EventType::Raid && e.firm == to &&
        (e.rivals.empty() || std::find(e.rivals.begin(), e.rivals.end(), from) != e.rivals.end()))
      return &e;
  return nullptr;
}

int64_t resolve_step(int64_t s, int64_t T) { return s < 0 ? T + s : s; }

/// Steps measured by a step-based moment: [first, last].
std::pair<int64_t, int64_t> steps_of(const Target& t, int64_t T) {
  switch (t.timing) {
    case Timing::At: return {resolve_step(t.at, T), resolve_step(t.at, T)};
    case Timing::Window: return {resolve_step(t.first, T), resolve_step(t.last, T)};
    case Timing::Horizon: break;
  }
  return {0, T - 1};
}

bool single_firm(const Params& p, const std::string& name) {
  for (const auto& f : p.firms)
    if (f.name == name && f.count == 1) return true;
  return false;
}

/// Problems of one moment against the parameters; empty if none.
std::vector<std::string> target_problems(const Params& p, const Target& t) {
  std::vector<std::string> out;
  const int64_t T = p.run.steps;
  const MomentKind k = t.moment;
  auto need_region = [&](const std::string& name) {
    if (p.region_index(name) < 0) out.push_back("the scenario has no region " + name);
  };
  if (k == MomentKind::CnShareAll || k == MomentKind::CnShareTop || k == MomentKind::RaidHiresCn) need_region("CN");
  if (k == MomentKind::UsCnHcOutputRatio) need_region("US"), need_region("CN");
  if (!t.region.empty()) need_region(t.region);
  if (k == MomentKind::StayRate && t.origin != "foreign") need_region(t.origin);
  if (is_stepwise(k)) {
    const auto [a, b] = steps_of(t, T);
    if (a < 0 || b >= T || a > b)
      out.push_back(t.timing == Timing::At ? "step at=" + std::to_string(t.at) + " is outside the run (steps 0.." +
                                                 std::to_string(T - 1) + ")"
                                           : "window [" + std::to_string(t.first) + ", " + std::to_string(t.last) +
                                                 "] is not a range of steps inside the run (steps 0.." +
                                                 std::to_string(T - 1) + ")");
  }
  if (is_cohort(k) && t.cohort + t.after > T - 1)
    out.push_back("cohort step " + std::to_string(t.cohort) + " + after " + std::to_string(t.after) +
                  " is past the run's last step " + std::to_string(T - 1));
  if (k == MomentKind::FirmRetention && !t.firm.empty() && !single_firm(p, t.firm))
    out.push_back("no single firm named '" + t.firm + "' in the scenario");
  if (is_raid(k)) {
    for (const auto* name : {&t.from, &t.to})
      if (!single_firm(p, *name)) out.push_back("no single firm named '" + *name + "' in the scenario");
    const Event* e = find_raid(p, t.from, t.to);
    if (!e)
      out.push_back("needs a raid event by " + t.to + " on " + t.from + " (add {type: raid, firm: " + t.to + ", rivals: [" +
                    t.from + "], ...} under events:)");
    else if (e->at.step < 0 || e->at.step >= T)
      out.push_back("the raid by " + t.to + " falls outside the run (step " + std::to_string(e->at.step) + ")");
  }
  return out;
}

}  // namespace

void check_targets(const Params& p, const std::vector<Target>& targets, cfg::Diagnostics& d, const std::string& list) {
  for (std::size_t i = 0; i < targets.size(); ++i)
    for (const auto& m : target_problems(p, targets[i]))
      d.error(targets[i].loc, cfg::index_path(list, i), "moment '" + targets[i].name + "': " + m);
}

MomentRecorder::MomentRecorder(const Simulation& sim, const std::vector<Target>& moments) {
  const Params& p = sim.params();
  const int64_t T = p.run.steps;
  cn_ = p.region_index("CN");
  us_ = p.region_index("US");
  for (const auto& t : moments) {
    const auto problems = target_problems(p, t);
    if (!problems.empty()) throw std::invalid_argument("moment '" + t.name + "': " + problems.front());
    Slot s;
    s.t = &t;
    if (is_stepwise(t.moment)) std::tie(s.first, s.last) = steps_of(t, T);
    if (!t.region.empty()) s.region = p.region_index(t.region);
    if (t.moment == MomentKind::StayRate) s.origin = t.origin == "foreign" ? -1 : p.region_index(t.origin);
    if (t.moment == MomentKind::FirmRetention && !t.firm.empty()) s.firm = sim.firm_index(t.firm);
    if (is_cohort(t.moment)) s.first = t.cohort, s.last = t.cohort + t.after;
    if (is_raid(t.moment)) {
      s.from = sim.firm_index(t.from);
      s.to = sim.firm_index(t.to);
      s.raid_step = find_raid(p, t.from, t.to)->at.step;
    }
    slots_.push_back(s);
  }
}

void MomentRecorder::observe(const Simulation& sim) {
  const int64_t step = sim.t() - 1;
  const StepStats& st = sim.stats();
  const auto& r = sim.world().r;
  for (auto& s : slots_) {
    const Target& t = *s.t;
    if (is_stepwise(t.moment)) {
      if (step < s.first || step > s.last) continue;
      if (is_flow_ratio(t.moment)) {
        double a = 0, b = 0;
        switch (t.moment) {
          case MomentKind::UsCnHcOutputRatio:
            a = st.hc_region[std::size_t(us_)];
            b = st.hc_region[std::size_t(cn_)];
            break;
          case MomentKind::OutputShare: {
            const auto& by = t.by_origin ? st.output_origin : st.output_region;
            a = by[std::size_t(s.region)];
            for (double v : by) b += v;
            break;
          }
          default:  // JobToJobRate
            a = double(st.market[kJobToJob]);
            b = double(st.market[kEmployed]);
            break;
        }
        s.num += a;
        s.den += b;
        continue;
      }
      double v = std::nan("");
      switch (t.moment) {
        case MomentKind::CnShareAll: v = origin_share(st, cn_, false); break;
        case MomentKind::CnShareTop: v = origin_share(st, cn_, true); break;
        case MomentKind::TopTierLocationShare: v = top_tier_location_share(st, s.region); break;
        case MomentKind::UnemploymentRate: v = unemployment_rate(st, s.region); break;
        case MomentKind::PayPercentile: {
          int p = 0;
          while (p + 1 < kPercentiles && kPercentileLevels[p] != t.percentile) ++p;
          v = st.pay_pct[(std::size_t(t.tier) * std::size_t(st.R) + std::size_t(s.region)) * kPercentiles + std::size_t(p)];
          break;
        }
        default: break;
      }
      if (!std::isfinite(v)) s.nan = true;
      s.num += v;
      s.den += 1;
      continue;
    }
    if (is_raid(t.moment)) {
      if (step < s.raid_step || step >= s.raid_step + t.within) continue;
      for (const auto& e : st.log)
        if (e.kind == uint8_t(LogKind::Move) && e.from_firm == s.from && e.to_firm == s.to &&
            (t.moment == MomentKind::RaidHires || e.origin == cn_))
          s.num += 1;
      continue;
    }
    // Cohorts: the base at step `first`, those still there continuously at step `last`
    // (months in the region, or tenure at the employer, at least the steps in between).
    if (step != s.first && step != s.last) continue;
    const bool base = step == s.first;
    const int16_t months = int16_t(std::min<int64_t>(t.after, 32767));
    double n = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (!r.alive[i]) continue;
      if (t.moment == MomentKind::StayRate) {
        if (r.location[i] != s.region) continue;
        if (s.origin >= 0 ? r.origin[i] != s.origin : r.origin[i] == s.region) continue;
        if (!base && r.in_region[i] < months) continue;
      } else {
        if (r.employer[i] == kNoFirm || (s.firm >= 0 && r.employer[i] != s.firm)) continue;
        if (!base && r.tenure[i] < months) continue;
      }
      n += 1;
    }
    (base ? s.den : s.num) = n;
  }
}

std::vector<double> MomentRecorder::values() const {
  std::vector<double> out;
  for (const auto& s : slots_) {
    const MomentKind k = s.t->moment;
    if (is_raid(k))
      out.push_back(s.num);
    else if (s.nan || !(s.den > 0))
      out.push_back(std::nan(""));
    else
      out.push_back(s.num / s.den);
  }
  return out;
}

}  // namespace ts::model::calib
