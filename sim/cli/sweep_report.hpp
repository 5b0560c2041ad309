// The report a sweep prints at its end (and `talentsim export --table` again), and the CSV
// fields of `export` and `sweep --dry-run` (docs/experiments.md).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sim/experiment/design.hpp"
#include "sim/experiment/plan.hpp"
#include "sim/experiment/spec.hpp"
#include "sim/experiment/statistics.hpp"
#include "sim/io/h5.hpp"

namespace ts::cli {

/// What a report shows: from a finished sweep, or read back from its file (`export --table`).
struct Report {
  std::vector<std::string> labels, params, variants, text;  ///< text: [point][parameter]
  std::vector<double> scale;
  std::vector<int64_t> digits;
  std::size_t P = 0, V = 0, K = 0, k = 0;
  exp::Analysis a;
};

Report report_of(const exp::ExperimentSpec& s, const exp::Design& d, const exp::RunPlan& plan,
                 const std::vector<std::string>& variants, const exp::Analysis& a);
/// The report of a complete sweep file; throws if the file has no statistics.
Report report_of(const h5::Group& root);
/// Markdown tables: per-point summaries, paired differences, sensitivity indices.
void print_report(std::ostream& os, const Report& c);

/// A CSV field, quoted when it needs to be.
std::string csv_field(const std::string& s);
/// A number written exactly (shortest round trip); NaN as an empty field.
std::string csv_num(double x);

}  // namespace ts::cli
