// The model's invariants, checked after a step (--check; always in debug builds).
#pragma once

#include <string>
#include <vector>

#include "sim/model/state.hpp"

namespace ts::model {

/// One line per violation (empty: none): the firms' books against a recount from the
/// researchers (headcount, elite count, wage bill, pending hires), capacity, status where one
/// works, offices, citizenship exactly at home, and the conservation of stocks by region
/// (stock change = inflows − outflows + entrants − exits).
std::vector<std::string> check_invariants(const State& s);

}  // namespace ts::model
