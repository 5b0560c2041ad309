#include "sim/model/invariants.hpp"

#include "sim/model/ledger.hpp"

namespace ts::model {

std::vector<std::string> check_invariants(const State& s) {
  std::vector<std::string> bad;
  const auto& r = s.world.r;
  const auto& F = s.world.f;
  const int R = s.regions();
  const std::size_t NF = F.size();
  std::vector<int64_t> head(NF, 0), pend(NF, 0), elite(NF, 0), wage(NF, 0), stock(R, 0);
  auto who = [&](std::size_t i) { return "researcher " + std::to_string(r.uid[i]) + " (slot " + std::to_string(i) + ")"; };
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!r.alive[i]) {
      if (r.employer[i] != kNoFirm) bad.push_back(who(i) + " left the field but has an employer");
      continue;
    }
    ++stock[r.location[i]];
    const int32_t f = r.employer[i];
    if (f != kNoFirm) {
      if (f < 0 || std::size_t(f) >= NF) {
        bad.push_back(who(i) + " has employer index " + std::to_string(f) + " out of range");
        continue;
      }
      ++head[f];
      elite[f] += r.tier[i] == Elite;
      wage[f] += fixed(double(r.comp[i]), 1.0);
      const auto st = Status(r.status[i]);
      const bool cap_gap = st == Status::StudentVisa && r.pending_firm[i] == f && r.pending_kind[i] == 1;
      const bool ok = st == Status::Citizen || st == Status::Permanent ||
                      (st == Status::WorkVisa && r.visa_left[i] > 0) ||
                      (st == Status::StudentVisa && (r.visa_left[i] > 0 || cap_gap));
      if (!ok) bad.push_back(who(i) + " works in " + s.params.regions[r.location[i]].name + " without status");
      bool office = false;
      for (uint32_t k = F.office_begin[f]; k < F.office_begin[f + 1]; ++k) office |= F.office_region[k] == r.location[i];
      if (!office) bad.push_back(who(i) + " works for " + F.name[f] + " in a region where it has no office");
    }
    if ((r.location[i] == r.origin[i]) != (Status(r.status[i]) == Status::Citizen))
      bad.push_back(who(i) + " is a citizen exactly when at home: violated");
    if (r.pending_firm[i] != kNoFirm && r.pending_kind[i] == 0) ++pend[r.pending_firm[i]];
  }
  for (std::size_t f = 0; f < NF; ++f) {
    if (head[f] != F.headcount[f])
      bad.push_back(F.name[f] + ": headcount " + std::to_string(F.headcount[f]) + " but " + std::to_string(head[f]) + " employees");
    if (elite[f] != F.elite[f])
      bad.push_back(F.name[f] + ": elite count " + std::to_string(F.elite[f]) + " but " + std::to_string(elite[f]) + " elite employees");
    if (double(wage[f]) != F.wage_bill[f])
      bad.push_back(F.name[f] + ": wage bill " + std::to_string(F.wage_bill[f]) + " but its staff's pay sums to " +
                    std::to_string(wage[f]));
    if (pend[f] != F.pending_in[f])
      bad.push_back(F.name[f] + ": " + std::to_string(F.pending_in[f]) + " pending hires on record but " +
                    std::to_string(pend[f]) + " researchers waiting to join");
    if (!F.unlimited[f] && f < s.plan_capacity.size() && head[f] + pend[f] > s.plan_capacity[f] + F.extra_capacity[f])
      bad.push_back(F.name[f] + ": " + std::to_string(head[f] + pend[f]) + " staff and pending hires exceed its capacity " +
                    std::to_string(s.plan_capacity[f] + F.extra_capacity[f]));
  }
  if (s.prev_stock.size() == std::size_t(R)) {
    for (int a = 0; a < R; ++a) {
      int64_t in = 0, out = 0;
      for (int b = 0; b < R; ++b)
        if (b != a) in += s.stats.flows[std::size_t(b) * R + a], out += s.stats.flows[std::size_t(a) * R + b];
      const int64_t expect = s.prev_stock[a] + in - out + s.stats.entrants_region[a] - s.stats.exits_region[a];
      if (stock[a] != expect)
        bad.push_back(s.params.regions[a].name + ": stock " + std::to_string(stock[a]) + " but flows imply " + std::to_string(expect));
    }
  }
  return bad;
}

}  // namespace ts::model
