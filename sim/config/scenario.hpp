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

/// Applies `overrides` to a scenario tree as load_scenario does (when the tree keeps the default
/// regions and an override names `regions`, the defaults are made explicit first), each reported
/// at its location in `where` (the same length; a location {"--set", 0, 0} for the command line).
void apply_overrides(cfg::Node& tree, const std::vector<std::string>& overrides, const std::vector<cfg::Location>& where,
                     cfg::Diagnostics& d);

/// The checks load_scenario makes once the overrides are in `s.tree`: the parameters, every
/// `set` event, the memory needed. Fills s.params; nullopt if there was any problem.
std::optional<Scenario> check_scenario(Scenario s, cfg::Diagnostics& d);

/// Rough peak memory a scenario will need, bytes (checked before allocating).
double estimate_memory_bytes(const model::Params& p);

}  // namespace ts::cfg
