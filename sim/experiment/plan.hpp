// The run plan: every run of an experiment, numbered, with its point, replication, variant and
// seed. A pure function of the experiment (no state): any process can compute run r's settings
// on its own, which is what lets the runs be executed in any order, by any number of jobs or
// machines, and written into their rows by run id (docs/experiments.md, "Distributing runs").
//
// Run ids count replications slowest, then points, then variants:
//     id = (replication · points + point) · variants + variant
// so a sweep stopped early has whole replications of the design, and the variants of one
// (point, replication), which are compared with each other, are neighbours.
//
// Seeds (docs/experiments.md, "Seeds"): with `seeds: common` (the default) replication k runs
// with seed(k) at every point and in every variant, so they all share their random numbers
// (common random numbers: a difference between two points or variants is not blurred by
// different draws). With `seeds: independent` every point gets its own seeds; the variants of a
// point still share them (they are compared in pairs). seed = the first 53 bits of the Philox
// block (key: the experiment seed; counter: step 0 for common seeds, point + 1 for independent
// ones; agent k; purpose Replication), so seeds are exact in a double (CSV, pandas).
#pragma once

#include <cstdint>

#include "sim/experiment/spec.hpp"

namespace ts::exp {

struct RunSpec {
  int64_t id = 0, point = 0, replication = 0, variant = 0;
  uint64_t seed = 0;
};

/// A job array's share of the plan (`--shard i/N`, shard.hpp): shard i of N has the ids r with
/// r mod N = i. The default, 0 of 1, is every run.
struct Shard {
  int64_t index = 0, count = 1;
  bool sharded() const { return count > 1; }
  bool has(int64_t id) const { return id % count == index; }
  /// How many of ids 0 … runs − 1 are this shard's.
  int64_t share(int64_t runs) const { return index < runs ? (runs - index + count - 1) / count : 0; }
};

class RunPlan {
 public:
  RunPlan() = default;
  RunPlan(int64_t points, int64_t replications, int64_t variants, uint64_t seed, SeedMode mode);
  int64_t size() const { return points_ * replications_ * variants_; }
  int64_t points() const { return points_; }
  int64_t replications() const { return replications_; }
  int64_t variants() const { return variants_; }
  SeedMode seed_mode() const { return mode_; }
  uint64_t seed() const { return seed_; }
  RunSpec run(int64_t id) const;
  int64_t id(int64_t point, int64_t replication, int64_t variant) const {
    return (replication * points_ + point) * variants_ + variant;
  }
  /// The seed of replication k at `point` (the point matters only with independent seeds).
  static uint64_t replication_seed(uint64_t experiment_seed, int64_t replication, int64_t point, SeedMode mode);

 private:
  int64_t points_ = 1, replications_ = 1, variants_ = 1;
  uint64_t seed_ = 1;
  SeedMode mode_ = SeedMode::Common;
};

}  // namespace ts::exp
