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
  cfg::Node tree;                    ///< merged tree after overrides (counts scaled)
  model::Params params;
  /// What the loader did that the user should know (one line each, without "note: "):
  /// events and snapshots after the horizon that were dropped, counts scaled with the
  /// population. Printed on stderr unless --quiet and kept in the run file (/metadata/notes).
  std::vector<std::string> notes;
};

/// The hooks load_scenario gives cfg::load_files: a scenario that extends another may change
/// its regions but not add one (a typo such as `us` is refused with "did you mean 'US'?").
/// A new region comes only from a `regions:` map in a scenario without a base (or, for a base
/// that names only default regions, such as a calibration overlay, another default region).
/// When the base keeps the default regions, they are made explicit first, so a `regions:`
/// entry in the extending file changes one of them instead of replacing the whole world.
cfg::LoadHooks scenario_load_hooks();

/// Loads and checks a scenario. Returns nullopt if there was any problem; all of them are in `d`.
/// Besides the checks of load_params: `--set` may not add a region; with population.scale_market
/// the absolute counts (kScaledCounts in scenario.cpp: firm headcounts, entrants per month) are
/// scaled from the population each file describes to population.researchers; events and
/// snapshots after the horizon are dropped with a note (events before the start are errors).
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
