#pragma once

namespace ts::cli {
/// Exit codes: 0 success, 1 runtime failure, 2 bad input, 130 interrupted.
inline constexpr int kOk = 0, kRuntimeError = 1, kInputError = 2, kInterrupted = 130;
int main(int argc, char** argv);
}  // namespace ts::cli
