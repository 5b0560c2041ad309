// The start of a run: firms from their specs, researchers placed into jobs (MODEL.md §4 "The
// start state"), and the tables derived from the parameters that events may rebuild.
#pragma once

#include "sim/model/state.hpp"

namespace ts::model {

/// Builds the world of step 0 from s.params (s.world must be empty).
void init_world(State& s);

/// Firm f's policy columns from its spec; with reset_levels also its target headcount and
/// compute factor (at the start, not when a `set` event changes a policy).
void apply_firm_policy(State& s, int f, const FirmSpec& spec, bool reset_levels);
/// The firms' rival lists (names of firms or groups) as firm indices.
void build_rivals(State& s);
/// The visa rules by (destination, origin) from the regions' parameters.
void rebuild_visa_rules(State& s);
/// The index of firm and group names (after the firms' columns are filled or restored).
void index_firm_names(State& s);

}  // namespace ts::model
