// Job arrays: `talentsim sweep EXPERIMENT.yaml -o OUT.h5 --shard i/N` runs a fixed share of the
// runs into a file of its own, and `talentsim merge OUT.h5 SHARD...` joins the N shard files into
// the file a single-process sweep writes (docs/clusters.md, "Job arrays").
//
// Shard i of N (0 <= i < N, as Slurm's `--array=0-(N-1)` numbers its tasks) runs the run ids r
// with r mod N = i: with ids counting variants fastest, then points, then replications, every
// shard gets a mix of points and replications, so shards of one sweep take about equally long.
// Its file, OUT.shard-i-of-N.h5 beside OUT.h5, is a sweep file like any other (the full plan, the
// same fingerprint as the single-process sweep, the other shards' rows pending) with `@shard` and
// `@shards`; it is `complete` when its share has run, and has no statistics. Each shard has its
// own journal and resumes alone (`--resume --shard i/N`). Per-run files (keep: series or full)
// go to the sweep's runs folder (OUT.runs by default), shared by the shards.
//
// merge checks that the files are shards of one sweep (the same fingerprint and N), that every
// shard 0 … N−1 is there exactly once and complete, and that each holds exactly its share; any
// problem is reported (exit 2) and nothing is written. It then rebuilds the sweep's description
// from the first shard (the experiment text stored in it, parsed again: the scenario files need
// not be present), checks that this gives the shards' fingerprint (the same talentsim build), and
// writes OUT.h5 with the same code as a single sweep: every row by run id, then the statistics.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/experiment/design.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/experiment/statistics.hpp"
#include "sim/experiment/sweep_file.hpp"

namespace ts::exp {

/// Parses "i/N" (0 <= i < N); nullopt with the reason in `why`.
std::optional<Shard> parse_shard(const std::string& text, std::string& why);

/// OUT.h5 -> OUT.shard-i-of-N.h5 (beside OUT).
std::string shard_path(const std::string& out, const Shard& s);

struct MergeResult {
  int exit_code = 0;  ///< 0 merged, 1 merged with failed runs or a write error, 2 bad input (nothing written)
  std::unique_ptr<ExperimentSpec> spec;
  std::unique_ptr<Design> design;
  SweepInfo info;
  Analysis analysis;
  int64_t done = 0, failed = 0;
  std::vector<RunResult> failures;
};

/// Merges `shards` into `out` (refused if it exists, unless `force`). Problems go to `err`.
MergeResult merge_shards(const std::string& out, const std::vector<std::string>& shards, bool force,
                         const std::string& command_line, std::ostream& err);

}  // namespace ts::exp
