// `talentsim report INPUT... -o DIR`: an HTML report of run files, sweep and comparison files,
// validation and calibration results and benchmark JSON. The figures are drawn by the Python
// package analysis/talentsim_analysis/report (matplotlib, Jinja2); this command finds Debian's
// interpreter and that package and hands the arguments over (docs/report.md).
#pragma once

#include <string>
#include <vector>

namespace ts::cli {

/// Runs the report (replaces this process by the Python interpreter). Exit codes as the rest of
/// the command line: 0 written, 1 runtime failure (no interpreter, a file that cannot be
/// written), 2 bad input (options, a missing or unrecognised input).
int report_main(const std::vector<std::string>& args);

/// Writes `text` to `path` under a temporary name in its directory, then renames it into place,
/// so no half-written file carries the final name. Returns an error message, empty on success.
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace ts::cli
