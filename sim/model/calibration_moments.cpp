// The calibration's moments, measured from a run (MomentRecorder) and checked against the
// scenario (target_problems).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sim/model/calibration.hpp"
#include "sim/model/simulation.hpp"

namespace ts::model::calib {

namespace {
bool is_share(MomentKind k) { return k == MomentKind::CnShareAll || k == MomentKind::CnShareTop; }
bool is_raid(MomentKind k) { return k == MomentKind::RaidHires || k == MomentKind::RaidHiresCn; }
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

/// Problems of one target against the parameters; empty if none.
std::vector<std::string> target_problems(const Params& p, const Target& t) {
  std::vector<std::string> out;
  const int64_t T = p.run.steps;
  if (p.region_index("CN") < 0) out.push_back("the scenario has no region CN");
  if (t.moment == MomentKind::UsCnHcOutputRatio && p.region_index("US") < 0)
    out.push_back("the scenario has no region US");
  if (is_share(t.moment)) {
    const int64_t at = resolve_step(t.at, T);
    if (at < 0 || at >= T)
      out.push_back("step at=" + std::to_string(t.at) + " is outside the run (steps 0.." + std::to_string(T - 1) + ")");
  }
  if (t.moment == MomentKind::UsCnHcOutputRatio) {
    const int64_t a = resolve_step(t.first, T), b = resolve_step(t.last, T);
    if (a < 0 || b >= T || a > b)
      out.push_back("steps first=" + std::to_string(t.first) + "..last=" + std::to_string(t.last) +
                    " are not a range inside the run (steps 0.." + std::to_string(T - 1) + ")");
  }
  if (is_raid(t.moment)) {
    for (const auto* name : {&t.from, &t.to}) {
      bool single = false;
      for (const auto& f : p.firms) single |= f.name == *name && f.count == 1;
      if (!single) out.push_back("no single firm named '" + *name + "' in the scenario");
    }
    const Event* e = find_raid(p, t.from, t.to);
    if (!e)
      out.push_back("needs a raid event by " + t.to + " on " + t.from +
                    " (add {type: raid, firm: " + t.to + ", rivals: [" + t.from + "], ...} under events:)");
    else if (e->at.step < 0 || e->at.step >= T)
      out.push_back("the raid by " + t.to + " falls outside the run (step " + std::to_string(e->at.step) + ")");
  }
  return out;
}

}  // namespace

void check_targets(const Params& p, const std::vector<Target>& targets, cfg::Diagnostics& d) {
  for (std::size_t i = 0; i < targets.size(); ++i)
    for (const auto& m : target_problems(p, targets[i]))
      d.error(targets[i].loc, cfg::index_path("targets", i), "target '" + targets[i].name + "': " + m);
}

MomentRecorder::MomentRecorder(const Simulation& sim, const std::vector<Target>& targets) {
  const Params& p = sim.params();
  const int64_t T = p.run.steps;
  cn_ = p.region_index("CN");
  us_ = p.region_index("US");
  for (const auto& t : targets) {
    const auto problems = target_problems(p, t);
    if (!problems.empty()) throw std::invalid_argument("target '" + t.name + "': " + problems.front());
    Slot s;
    s.kind = t.moment;
    s.at = resolve_step(t.at, T);
    s.first = resolve_step(t.first, T);
    s.last = resolve_step(t.last, T);
    if (is_raid(t.moment)) {
      s.from = sim.firm_index(t.from);
      s.to = sim.firm_index(t.to);
      s.raid_step = find_raid(p, t.from, t.to)->at.step;
      s.window = t.window;
    }
    slots_.push_back(s);
  }
}

void MomentRecorder::observe(const Simulation& sim) {
  const int64_t step = sim.t() - 1;
  const StepStats& st = sim.stats();
  const auto& r = sim.world().r;
  for (auto& s : slots_) {
    switch (s.kind) {
      case MomentKind::CnShareAll:
      case MomentKind::CnShareTop:
        if (step == s.at) s.value = origin_share(st, cn_, s.kind == MomentKind::CnShareTop);
        break;
      case MomentKind::UsCnHcOutputRatio:
        if (step >= s.first && step <= s.last) {
          s.num += st.hc_region[std::size_t(us_)];
          s.den += st.hc_region[std::size_t(cn_)];
        }
        break;
      case MomentKind::RaidHires:
      case MomentKind::RaidHiresCn: {
        if (step < s.raid_step || step >= s.raid_step + s.window) break;
        auto uids = moves_between(st.log, s.from, s.to);
        if (s.kind == MomentKind::RaidHires || uids.empty()) {
          s.num += double(uids.size());
          break;
        }
        std::sort(uids.begin(), uids.end());
        for (std::size_t i = 0; i < r.size(); ++i)
          if (r.alive[i] && r.origin[i] == cn_ && std::binary_search(uids.begin(), uids.end(), r.uid[i])) s.num += 1;
        break;
      }
    }
  }
}

std::vector<double> MomentRecorder::values() const {
  std::vector<double> out;
  for (const auto& s : slots_) {
    if (is_share(s.kind))
      out.push_back(s.value);
    else if (s.kind == MomentKind::UsCnHcOutputRatio)
      out.push_back(s.den > 0 ? s.num / s.den : std::nan(""));
    else
      out.push_back(s.num);
  }
  return out;
}

}  // namespace ts::model::calib
