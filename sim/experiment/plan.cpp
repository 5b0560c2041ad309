#include "sim/experiment/plan.hpp"

#include <stdexcept>
#include <string>

#include "sim/engine/rng.hpp"

namespace ts::exp {

RunPlan::RunPlan(int64_t points, int64_t replications, int64_t variants, uint64_t seed, SeedMode mode)
    : points_(points), replications_(replications), variants_(variants), seed_(seed), mode_(mode) {
  if (points < 1 || replications < 1 || variants < 1) throw std::invalid_argument("RunPlan: empty plan");
}

uint64_t RunPlan::replication_seed(uint64_t experiment_seed, int64_t replication, int64_t point, SeedMode mode) {
  const uint32_t step = mode == SeedMode::Common ? 0u : uint32_t(point + 1);
  const auto b = rng::block(experiment_seed, step, uint64_t(replication), rng::Purpose::Replication);
  return ((uint64_t(b[1]) << 32) | b[0]) & ((uint64_t(1) << 53) - 1);
}

RunSpec RunPlan::run(int64_t id) const {
  if (id < 0 || id >= size()) throw std::out_of_range("RunPlan: run " + std::to_string(id) + " of " + std::to_string(size()));
  RunSpec r;
  r.id = id;
  r.variant = id % variants_;
  const int64_t rest = id / variants_;
  r.point = rest % points_;
  r.replication = rest / points_;
  r.seed = replication_seed(seed_, r.replication, r.point, mode_);
  return r;
}

}  // namespace ts::exp
