// `talentsim sweep`, `compare`, `export` and `merge`: experiments (docs/experiments.md, docs/clusters.md).
#pragma once

#include <string>
#include <vector>

namespace ts::cli {

/// args = the arguments after the command name. Each returns an exit code (cli.hpp).
int sweep_main(const std::vector<std::string>& args, const std::string& command_line);
int compare_main(const std::vector<std::string>& args, const std::string& command_line);
int export_main(const std::vector<std::string>& args);
/// `talentsim merge OUT.h5 SHARD...`: a job array's shard files joined into one sweep file.
int merge_main(const std::vector<std::string>& args, const std::string& command_line);

}  // namespace ts::cli
