// Switches between the fast way of running a loop and its plain reference, for tests.
//
// Every speed technique of the engine (parallel chunks, per-chunk sinks, prefetching
// pipelines, branch-free selection) computes exactly what a plain loop computes. Tests run
// the same simulation both ways and require identical results; production runs never touch
// these switches. They are process-wide, so a test sets them before it starts a simulation
// and restores them afterwards (engine::Mode does both).
#pragma once

namespace ts::engine {

/// Run every "parallel" loop serially, chunk after chunk (the serial twin of each phase).
inline bool& force_serial() {
  static bool serial = false;
  return serial;
}

/// Book a list of scattered items that fits in one chunk serially, straight into the totals,
/// instead of through per-chunk sinks (the visa phase's bookkeeping). Both give the same
/// result; tests switch this off to run the per-chunk path at small populations.
inline bool& small_lists_serial() {
  static bool serial = true;
  return serial;
}

/// Run every software pipeline and prefetching loop (engine::pipeline) as its plain loop: all
/// stages of item k, then its body, item after item; and every branch-free selection
/// (engine::select_slots) as the plain branching loop.
inline bool& plain_loops() {
  static bool plain = false;
  return plain;
}

/// Sets the switches for a scope and restores them when it ends.
struct Mode {
  bool serial = false, small_serial = true, plain = false;
  Mode(bool serial_, bool small_serial_, bool plain_)
      : serial(force_serial()), small_serial(small_lists_serial()), plain(plain_loops()) {
    force_serial() = serial_;
    small_lists_serial() = small_serial_;
    plain_loops() = plain_;
  }
  ~Mode() {
    force_serial() = serial;
    small_lists_serial() = small_serial;
    plain_loops() = plain;
  }
  Mode(const Mode&) = delete;
  Mode& operator=(const Mode&) = delete;
};

}  // namespace ts::engine
