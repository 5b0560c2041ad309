#include "sim/cli/cli.hpp"

int main(int argc, char** argv) { return ts::cli::main(argc, argv); }
