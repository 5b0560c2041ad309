#pragma once

#include <boost/program_options/options_description.hpp>
#include <exception>
#include <iosfwd>
#include <string>
#include <vector>

namespace ts::cli {
/// Exit codes: 0 success, 1 runtime failure, 2 bad input, 130 interrupted.
inline constexpr int kOk = 0, kRuntimeError = 1, kInputError = 2, kInterrupted = 130;
int main(int argc, char** argv);

/// What `talentsim COMMAND --help` prints besides the options.
struct Help {
  const char* usage;    ///< "talentsim run SCENARIO.yaml -o OUT.h5 [options]"
  const char* about;    ///< what the command does (a few lines)
  const char* example;  ///< one or more example command lines
};
/// Usage, what the command does, its options with their defaults, an example.
void print_help(std::ostream& os, const Help& help, const boost::program_options::options_description& options);
/// Whether the arguments ask for help (--help or -h anywhere).
bool wants_help(const std::vector<std::string>& args);
/// Prints `prefix` + the error's one-line message; for an HDF5 error, its error stack too
/// with `verbose`, else a hint that --verbose shows it.
void print_error(const std::string& prefix, const std::exception& e, bool verbose);
}  // namespace ts::cli
