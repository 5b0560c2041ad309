// Loading a scenario: YAML file(s) with `extends`, command-line overrides, strict
// parameter loading, and pre-validation of every timeline `set` event.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/config/diagnostics.hpp"
#include "sim/config/yaml_tree.hpp"
#include "sim/config/params.hpp"

namespace ts::cfg {

struct Scenario {
  std::string path;
  std::vector<cfg::Source> sources;  ///< every file read, the scenario first
  std::vector<std::string> overrides;
  cfg::Node tree;                    ///< merged tree after overrides
  model::Params params;
};

/// Loads and checks a scenario. Returns nullopt if there was any problem; all of them are in `d`.
std::optional<Scenario> load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                                      cfg::Diagnostics& d);

/// The same from a YAML text (tests, fuzzing).
std::optional<Scenario> load_scenario_text(const std::string& text, const std::string& name,
                                           const std::vector<std::string>& overrides, cfg::Diagnostics& d);

/// Rough peak memory a scenario will need, bytes (checked before allocating).
double estimate_memory_bytes(const model::Params& p);

}  // namespace ts::cfg
