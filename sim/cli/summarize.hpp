#pragma once
#include <iosfwd>
#include <string>

namespace ts::cli {
/// Prints the headline results of a run file; returns an exit code. `verbose`: an HDF5 error
/// comes with HDF5's error stack.
int summarize(const std::string& path, std::ostream& out, bool verbose = false);
}  // namespace ts::cli
