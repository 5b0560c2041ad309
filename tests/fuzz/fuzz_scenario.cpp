// libFuzzer target: arbitrary bytes as a scenario text.
//
// The loader must never crash, hang, leak or throw on any input: every problem is
// reported through Diagnostics. Nothing is caught here on purpose, so an exception
// escaping load_scenario_text() is reported by libFuzzer as a crash (a bug).
//
// Build and run: scripts/fuzz.sh [SECONDS]   (seed corpus: tests/fuzz/corpus/)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/config/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ts::cfg::Diagnostics d;
  const auto scenario = ts::cfg::load_scenario_text(text, "fuzz.yaml", {}, d);

  // Invariants of the interface.
  if (scenario && !d.empty()) std::abort();   // a scenario is returned only when there was no problem
  if (!scenario && d.empty()) std::abort();   // a refusal always says why
  const std::string report = d.format();      // formatting must work on whatever was recorded
  if (!d.empty() && report.empty()) std::abort();
  for (const auto& x : d.all())
    if (x.message.empty()) std::abort();      // every diagnostic says something
  // An accepted scenario's resolved configuration (what `talentsim config` prints and the run
  // file stores) must load again. FUZZ_NO_ROUNDTRIP=1 turns this check off.
  static const bool roundtrip = std::getenv("FUZZ_NO_ROUNDTRIP") == nullptr;
  if (scenario && roundtrip) {
    const ts::cfg::Node dumped = ts::model::dump_params(scenario->params);
    ts::cfg::Diagnostics d2;
    const auto again = ts::cfg::load_scenario_text(ts::cfg::to_yaml(dumped), "dumped.yaml", {}, d2);
    if (!again) {  // a round-trip bug, not a crash of the loader: made visible all the same
      std::fprintf(stderr, "resolved configuration does not load again:\n%s", d2.format().c_str());
      std::abort();
    }
  }
  return 0;
}
