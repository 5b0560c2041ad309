// `talentsim sweep`, `talentsim compare` and `talentsim export`: experiments (docs/experiments.md).
#pragma once

#include <string>
#include <vector>

namespace ts::cli {

/// Usage lines for the top-level help.
inline constexpr const char* kExperimentUsage =
    "  talentsim sweep EXPERIMENT.yaml -o OUT.h5 [--jobs N] [--threads T] [--resume [--retry-failed]]\n"
    "                [--set key=value]... [--force] [--dry-run] [--quiet]\n"
    "                                                             run an experiment: designs, outcomes, statistics\n"
    "  talentsim compare BASE.yaml SCENARIO.yaml... -o OUT.h5 [--replications R] [--steps T] [--seed S]\n"
    "                [--outcomes FILE] [--jobs N] [--threads T] [--set key.path=value]... [--resume] [--force] [--quiet]\n"
    "                                                             scenarios against a base, paired by seed\n"
    "  talentsim export OUT.h5 --csv DIR [--force]                 a sweep's tables as CSV files\n";

/// args = the arguments after the command name. Each returns an exit code (cli.hpp).
int sweep_main(const std::vector<std::string>& args, const std::string& command_line);
int compare_main(const std::vector<std::string>& args, const std::string& command_line);
int export_main(const std::vector<std::string>& args);

}  // namespace ts::cli
