// 1. events (MODEL.md §4.1): the scenario's timeline for this month.
#include <algorithm>
#include <stdexcept>

#include "sim/config/params.hpp"
#include "sim/model/init.hpp"
#include "sim/model/phases/phases.hpp"
#include "sim/model/transitions.hpp"

namespace ts::model::phase {

namespace {

/// `set`: a scenario key changes from this step on. The parameters are reloaded with the change
/// (so it is checked like the scenario), and every table built from them follows.
void apply_set(State& s, const Event& e) {
  auto& F = s.world.f;
  cfg::Diagnostics d;
  cfg::Node tree = dump_params(s.params);
  if (!cfg::apply_override(tree, e.key + "=" + e.value, e.loc, d)) throw std::runtime_error(d.format());
  Params np = load_params(tree, d);
  if (!d.empty()) throw std::runtime_error(d.format());
  // The world's regions and firms are fixed at step 0 (visa rules, the regions' state and F.group index them).
  if (np.regions.size() != s.params.regions.size() || np.firms.size() != s.params.firms.size())
    throw std::runtime_error("set '" + e.key + "': a set event cannot add or remove regions or firms");
  np.events = s.params.events;
  const std::vector<RegionParams> old_regions = s.params.regions;
  const std::vector<FirmSpec> old_firms = s.params.firms;
  s.params = std::move(np);
  for (std::size_t f = 0; f < F.size(); ++f) {
    apply_firm_policy(s, int(f), s.params.firms[F.group[f]], false);
    // A `set` of budget_per_head scales the budget, and the wage budget with it, by the ratio.
    const double was = old_firms[F.group[f]].budget_per_head, now = s.params.firms[F.group[f]].budget_per_head;
    if (was != now && was > 0) {
      F.budget[f] *= now / was;
      F.wage_budget[f] *= now / was;
    }
  }
  // Offices and rivals are tables built at the start: bring a changed spec's into line.
  bool rivals_changed = false;
  for (std::size_t g = 0; g < s.params.firms.size(); ++g) {
    const auto &was = old_firms[g], &now = s.params.firms[g];
    rivals_changed |= was.hiring.rivals != now.hiring.rivals;
    bool same = was.offices.size() == now.offices.size();
    for (std::size_t k = 0; same && k < now.offices.size(); ++k)
      same = was.offices[k].name == now.offices[k].name && was.offices[k].value == now.offices[k].value;
    if (same) continue;
    for (std::size_t f = 0; f < F.size(); ++f) {
      if (F.group[f] != int32_t(g)) continue;
      for (const auto& o : now.offices) {
        bool have = false;
        for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k)
          have |= F.office_region[k] == s.params.region_index(o.name);
        if (!have && o.value > 0)
          throw std::runtime_error(e.key + ": firm '" + F.name[f] + "' has no office in " + o.name +
                                   " to change; open it with an office_open event");
      }
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) {
        double share = now.offices.empty() && F.office_region[k] == F.hq[f] ? 1.0 : 0.0;
        for (const auto& o : now.offices)
          if (s.params.region_index(o.name) == F.office_region[k]) share = o.value;
        F.office_share[k] = share;
        F.office_open[k] = share > 0;
      }
    }
  }
  if (rivals_changed) build_rivals(s);
  rebuild_visa_rules(s);
  for (int dd = 0; dd < s.regions(); ++dd) {
    // Policy changed by export_control / service_restriction events stays in force
    // unless this `set` changes that very key.
    const auto &was = old_regions[dd], &now = s.params.regions[dd];
    if (now.compute_multiplier != was.compute_multiplier) s.world.reg.compute_multiplier[dd] = now.compute_multiplier;
    if (now.exempt_offices_abroad != was.exempt_offices_abroad) s.world.reg.exempt_abroad[dd] = now.exempt_offices_abroad;
    if (now.service_penalty != was.service_penalty) s.world.reg.service_penalty[dd] = now.service_penalty;
  }
}

/// `raid`: the firm makes `offers` offers at `package` to the rivals' most talented staff
/// (ties by id), with capacity of its own for them [A6]. The offers are evaluated with this
/// step's others (offers phase).
void apply_raid(State& s, const Event& e) {
  auto& F = s.world.f;
  const auto& r = s.world.r;
  const int f = s.firm_index(e.firm);
  if (f < 0) return;
  std::vector<int> rivals;
  for (const auto& n : e.rivals)
    for (int k : s.firms_named(n)) rivals.push_back(k);
  std::vector<uint32_t> staff;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r.alive[i] && r.employer[i] != kNoFirm && r.employer[i] != f && r.pending_firm[i] == kNoFirm &&
        (rivals.empty() || std::find(rivals.begin(), rivals.end(), r.employer[i]) != rivals.end()))
      staff.push_back(uint32_t(i));
  const std::size_t n = std::min<std::size_t>(staff.size(), std::size_t(e.offers));
  std::partial_sort(staff.begin(), staff.begin() + std::ptrdiff_t(n), staff.end(), [&](uint32_t a, uint32_t b) {
    return r.skill[a] != r.skill[b] ? r.skill[a] > r.skill[b] : r.uid[a] < r.uid[b];
  });
  rng::Stream offices = s.draws().raid_offices(uint64_t(f));
  for (std::size_t k = 0; k < n; ++k) {
    const uint32_t i = staff[k];
    // A raid hires where the target already works if the firm has an office there.
    int region = -1;
    for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
      if (F.office_region[o] == r.location[i] && F.office_open[o]) region = r.location[i];
    if (region < 0) region = pick_office(F, f, rng::uniform01(offices));
    s.raid_offers.push_back({{i, int32_t(f), uint8_t(region), 2, float(e.package), 0.f, 0.f}, r.uid[i]});
  }
  F.extra_capacity[f] += int64_t(n);
}

/// `office_close`: the office's staff lose their jobs; petitions for a job there lapse.
void apply_office_close(State& s, const Event& e) {
  auto& F = s.world.f;
  auto& r = s.world.r;
  const int reg = s.params.region_index(e.region);
  const auto fs = s.firms_named(e.firm);
  for (int f : fs)
    for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
      if (F.office_region[o] == reg) F.office_open[o] = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!r.alive[i]) continue;
    if (r.location[i] == reg && std::find(fs.begin(), fs.end(), r.employer[i]) != fs.end())
      lose_job(s, i, LogKind::Separation);
    if (r.pending_firm[i] != kNoFirm && r.pending_region[i] == reg &&
        std::find(fs.begin(), fs.end(), r.pending_firm[i]) != fs.end()) {
      if (r.pending_kind[i] == 0) --F.pending_in[r.pending_firm[i]];
      r.pending_firm[i] = kNoFirm;
    }
  }
}

/// `relocation_order`: the firm's staff in the region move to its offices elsewhere (by the
/// destinations' shares) if the job abroad beats quitting at home (home bias makes many
/// reluctant [A22]); a move that needs a visa waits for it (an intra-company transfer).
void apply_relocation_order(State& s, const Event& e) {
  auto& r = s.world.r;
  const int reg = s.params.region_index(e.region);
  const auto fs = s.firms_named(e.firm);
  double tot = 0;
  for (const auto& sh : e.to) tot += sh.value;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!r.alive[i] || r.location[i] != reg || std::find(fs.begin(), fs.end(), r.employer[i]) == fs.end()) continue;
    if (r.pending_firm[i] != kNoFirm) continue;
    double x = s.draws().relocation(r.uid[i]) * tot;
    int dest = reg;
    for (const auto& sh : e.to) {
      dest = s.params.region_index(sh.name);
      x -= sh.value;
      if (x < 0) break;
    }
    const int f = r.employer[i];
    const double u_go = utility(s, nullptr, i, f, dest, r.comp[i], true, uint32_t(f) + 1);
    const double u_quit = utility(s, nullptr, i, kNoFirm, reg, s.params.regions[reg].unemployed_income, false, 0);
    if (u_go <= u_quit) {
      lose_job(s, i, LogKind::Separation);
      continue;
    }
    if (visa_need(s, i, dest) == 2) {
      const auto& rule = s.visa_rule(dest, r.origin[i]);
      // +1: counted down this step; kind 2: already on staff, not an incoming hire
      set_petition(s, i, f, dest, r.comp[i], rule.processing_months + 1, 2);
      s.stats.visa[s.stats.visa_at(dest, r.origin[i], kVisaApplications)] += 1;
      Immediate now{s};
      log_into(s, now, i, LogKind::VisaPetition, f, f, reg, dest, r.comp[i], r.comp[i]);
    } else {
      execute_move(s, i, f, dest, r.comp[i], LogKind::Relocation);
    }
  }
}

void apply_event(State& s, const Event& e) {
  auto& F = s.world.f;
  const int reg = s.params.region_index(e.region);
  switch (e.type) {
    case EventType::Set: apply_set(s, e); break;
    case EventType::Raid: apply_raid(s, e); break;
    case EventType::BudgetShock:
      for (int f : s.firms_named(e.firm)) {
        F.budget[f] *= e.factor;
        F.wage_budget[f] *= e.factor;
      }
      break;
    case EventType::ComputeShock:
      for (int f : s.firms_named(e.firm)) F.compute_factor[f] *= e.factor;
      break;
    case EventType::OfficeOpen:
      for (int f : s.firms_named(e.firm))
        for (uint32_t o = F.office_begin[f]; o < F.office_begin[f + 1]; ++o)
          if (F.office_region[o] == reg) {
            F.office_open[o] = 1;
            F.office_share[o] = e.share;
          }
      break;
    case EventType::OfficeClose: apply_office_close(s, e); break;
    case EventType::ServiceRestriction: s.world.reg.service_penalty[reg] = e.penalty; break;
    case EventType::ExportControl:
      s.world.reg.compute_multiplier[reg] = e.multiplier;
      s.world.reg.exempt_abroad[reg] = e.exempt_offices_abroad;
      break;
    case EventType::RelocationOrder: apply_relocation_order(s, e); break;
  }
}

}  // namespace

void Events::run(State& s) {
  s.raid_offers.clear();
  std::fill(s.world.f.extra_capacity.begin(), s.world.f.extra_capacity.end(), 0);  // raids below add to it
  // Copy this step's events first: a `set` event replaces s.params (and its event list).
  // The spin-up's steps (negative) run the start's policies: no event is due there.
  std::vector<Event> due;
  for (const auto& e : s.params.events)
    if (s.world.step >= 0 && e.at.step == s.world.step) due.push_back(e);
  for (const auto& e : due) apply_event(s, e);
  // Events may change anything the firms' books depend on: count them afresh at planning.
  if (!due.empty()) s.books.recount = true;
}

}  // namespace ts::model::phase
