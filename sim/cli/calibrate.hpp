// `talentsim calibrate CALIBRATION.yaml`: simulated method of moments (MODEL.md §6).
#pragma once

#include <string>
#include <vector>

namespace ts::cli {

/// Usage line for the top-level help.
inline constexpr const char* kCalibrateUsage =
    "  talentsim calibrate CALIBRATION.yaml [--threads N] [--set key.path=value]...\n"
    "                [--max-evaluations N] [--replications R] [--evaluate] [--no-write]\n"
    "                [--overlay FILE] [--report FILE] [--results FILE] [--quiet]\n"
    "                                                             fit free parameters to article targets\n";

/// args = the arguments after "calibrate". Returns an exit code (kOk, kInputError, kRuntimeError).
int calibrate_main(const std::vector<std::string>& args);

}  // namespace ts::cli
