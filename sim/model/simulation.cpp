#include "sim/model/simulation.hpp"

#include <chrono>
#include <stdexcept>

#include "sim/model/init.hpp"
#include "sim/model/invariants.hpp"

namespace ts::model {

Simulation::Simulation(Params params, const SpinUpProgress& progress) {
  s_.params = std::move(params);
  init_world(s_);
  const int64_t months = s_.params.run.spin_up;
  if (months <= 0) return;
  s_.first_step = s_.world.step = -int(months);
  for (int64_t k = 1; k <= months; ++k) {
    step();
    if (progress) progress(k, months);
  }
  s_.books.poaching.clear();
  phase_seconds_.fill(0.0);
}

Simulation::Simulation(const Simulation& spun, Params params) : Simulation(Simulation(spun), std::move(params)) {}

Simulation::Simulation(Simulation&& spun, Params params) : s_(std::move(spun.s_)) {
  if (s_.world.step != 0) throw std::logic_error("Simulation: a shared spin-up must be at step 0, not " + std::to_string(s_.world.step));
  s_.params = std::move(params);
}

Simulation::Simulation(Params params, RestoreTag) {
  s_.params = std::move(params);
  s_.start_month = s_.params.start_month_index();
  rebuild_visa_rules(s_);
}

void Simulation::step() {
  s_.stats.reset(regions(), int(s_.world.f.size()));
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  int k = 0;
  auto timed = [&](auto&& phase) {
    phase();
    const auto t1 = clock::now();
    phase_seconds_[k++] += std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
  };
  timed([&] { events(); });         // 1. the scenario's timeline
  timed([&] { demography(); });     // 2. ageing, exits, separations, entrants
  timed([&] { firm_planning(); });  // 3. budgets, compute, vacancies
  timed([&] { offers(); });         // 4. random and targeted search
  timed([&] { retention(); });      // 5. counteroffers
  timed([&] { clearing(); });       // 6. capacity; moves executed or waiting for a visa
  timed([&] { visa(); });           // 7. decisions, caps, expiries, residency, departures
  // The spin-up's months are not recorded, so two phases that only observe are skipped there:
  // production credits output (nothing in the dynamics reads it: a firm's value to the
  // valuation pay rule is computed at planning), and record computes the step's statistics
  // (nothing reads them in the next step but the invariants' conservation check, which needs
  // the last spin-up month's stock, so that month is recorded).
  const bool spin_up = !s_.recorded();
  timed([&] { if (!spin_up) production(); });          // 8. output
  timed([&] { pay(); });                               // 9. annual raises
  timed([&] { if (s_.world.step >= -1) record(); });  // 10. the step's statistics, to the observer
  finish_step();
}

void Simulation::record() {
  record_.run(s_);
  if (observer_) observer_->on_step(*this);
}

void Simulation::finish_step() {
  if (checking_) {
    const auto problems = check_invariants();
    if (!problems.empty()) {
      std::string msg = "invariant violated after step " + std::to_string(s_.world.step) + ":";
      for (std::size_t k = 0; k < problems.size() && k < 20; ++k) msg += "\n  " + problems[k];
      if (problems.size() > 20) msg += "\n  … and " + std::to_string(problems.size() - 20) + " more";
      throw std::logic_error(msg);
    }
  }
  // The stock by region after this step, for the next step's conservation check.
  const int R = regions();
  s_.prev_stock.assign(R, 0);
  for (int a = 0; a < R; ++a)
    for (int k = 0; k < R * kTiers; ++k) s_.prev_stock[a] += s_.stats.stocks[std::size_t(a) * R * kTiers + k];
  ++s_.world.step;
}

std::vector<std::string> Simulation::check_invariants() const { return model::check_invariants(s_); }

std::map<std::pair<int32_t, int32_t>, int64_t> Simulation::poaching() const {
  std::map<std::pair<int32_t, int32_t>, int64_t> out;
  const auto t = poaching_table();
  for (std::size_t i = 0; i < t.count.size(); ++i) out.emplace_hint(out.end(), std::pair{t.from[i], t.to[i]}, t.count[i]);
  return out;
}

}  // namespace ts::model
