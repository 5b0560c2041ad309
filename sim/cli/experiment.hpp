// `talentsim sweep`, `talentsim compare` and `talentsim export`: experiments (docs/experiments.md).
#pragma once

#include <string>
#include <vector>

namespace ts::cli {

/// args = the arguments after the command name. Each returns an exit code (cli.hpp).
int sweep_main(const std::vector<std::string>& args, const std::string& command_line);
int compare_main(const std::vector<std::string>& args, const std::string& command_line);
int export_main(const std::vector<std::string>& args);

}  // namespace ts::cli
