#pragma once
#include <iosfwd>
#include <string>

namespace ts::cli {
/// Prints the headline results of a run file; returns an exit code.
int summarize(const std::string& path, std::ostream& out);
}  // namespace ts::cli
