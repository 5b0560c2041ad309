// The sweep's journal: one line per finished run, appended with a single write() as the run ends
// (docs/experiments.md, "Interruptions and --resume").
//
// The HDF5 file is updated as runs finish too, but a process killed while the HDF5 library is
// writing can leave that file unreadable. The journal cannot be damaged that way: each record is
// one line with a checksum, so a line cut short by a kill is recognised and dropped. `--resume`
// rebuilds the sweep file from the journal and runs only the runs that have no record. The
// header line holds the sweep's fingerprint (the experiment, its overrides, the scenario files,
// the engine version): a journal of another sweep is refused.
//
//   talentsim-sweep-journal 1 FINGERPRINT RUNS OUTCOMES
//   run ID STATUS SECONDS HOST ERROR VALUE... CHECKSUM
// Numbers are C99 hexadecimal floats (exact), texts hex-encoded bytes ("-" for empty), the
// checksum FNV-1a (64 bits) of everything before it on the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/engine/hash.hpp"
#include "sim/experiment/executor.hpp"

namespace ts::exp {

class Journal {
 public:
  /// What a journal holds: its header and every intact record (later records of a run win).
  struct Contents {
    std::string fingerprint;
    int64_t runs = 0, outcomes = 0;
    std::vector<RunResult> records;
    int64_t dropped = 0;  ///< damaged lines left out (a record cut short by a kill)
    uint64_t good_bytes = 0;  ///< length of the file up to the end of the last intact line
  };
  /// Reads a journal; throws std::runtime_error if it cannot be read or has no valid header.
  static Contents read(const std::string& path);
  /// Both hold an exclusive lock (flock) on the journal while the object lives: a second
  /// talentsim process working on the same sweep is refused.
  /// Creates a new journal with its header (fails if the file exists).
  static Journal create(const std::string& path, const std::string& fingerprint, int64_t runs, int64_t outcomes);
  /// Opens an existing journal to append to it (read() it after this: the lock is held).
  static Journal reopen(const std::string& path);
  /// Cuts off everything after `good_bytes` (a damaged last line) before appending.
  void truncate(uint64_t good_bytes);

  Journal(Journal&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  Journal& operator=(Journal&&) = delete;
  Journal(const Journal&) = delete;
  ~Journal();
  /// Appends one record (one write() of one line). Throws std::runtime_error on failure.
  void append(const RunResult& r);
  const std::string& path() const { return path_; }

 private:
  Journal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

/// FNV-1a, 64 bits, from the standard basis (engine/hash.hpp).
using engine::fnv1a;

}  // namespace ts::exp
