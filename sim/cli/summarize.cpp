#include "sim/cli/summarize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "sim/cli/cli.hpp"
#include "sim/io/h5.hpp"

namespace ts::cli {

static std::string money(double x) {
  char b[32];
  if (!std::isfinite(x)) return "–";
  if (x >= 1e6) std::snprintf(b, sizeof b, "$%.2fM", x / 1e6);
  else std::snprintf(b, sizeof b, "$%.0fk", x / 1e3);
  return b;
}

int summarize(const std::string& path, std::ostream& out, bool verbose) {
  if (!std::filesystem::exists(path)) {
    std::cerr << "talentsim summarize: no such file '" << path << "'\n";
    return kInputError;
  }
  try {
    auto file = h5::File::open_read(path);
    auto root = file.root();
    if (!root.has_attr("creator") || root.attr_string("creator") != "talentsim") {
      std::cerr << "talentsim summarize: '" << path << "' is not a talentsim run file\n";
      return kInputError;
    }
    const auto regions = root.open_group("dims").read_strings("regions");
    const std::size_t R = regions.size();
    auto s = root.open_group("series");
    std::vector<hsize_t> dims;
    const auto stocks = s.read<int64_t>("stocks", &dims);
    const std::size_t T = dims.empty() ? 0 : dims[0];
    char line[256];
    out << "run: " << path << "\n  status " << root.attr_string("status") << ", steps " << T << " of "
        << root.attr_int("steps_planned") << ", seed " << root.attr_int("seed") << ", version "
        << root.attr_string("version") << " (" << root.attr_string("git_commit") << ")\n";
    if (T == 0) {
      out << "  no steps recorded\n";
      return kOk;
    }
    auto at = [&](std::size_t t, std::size_t loc, std::size_t tier) {
      int64_t n = 0;
      for (std::size_t o = 0; o < R; ++o) n += stocks[((t * R + loc) * R + o) * 3 + tier];
      return n;
    };
    out << "\nTalent by region (researchers located there)\n";
    std::snprintf(line, sizeof line, "  %-6s %10s %10s %10s %10s %12s %12s\n", "region", "top@start", "top@end", "elite@start",
                  "elite@end", "all@start", "all@end");
    out << line;
    for (std::size_t r = 0; r < R; ++r) {
      auto all = [&](std::size_t t) { return at(t, r, 0) + at(t, r, 1) + at(t, r, 2); };
      std::snprintf(line, sizeof line, "  %-6s %10lld %10lld %10lld %10lld %12lld %12lld\n", regions[r].c_str(),
                    (long long)(at(0, r, 1) + at(0, r, 2)), (long long)(at(T - 1, r, 1) + at(T - 1, r, 2)),
                    (long long)at(0, r, 2), (long long)at(T - 1, r, 2), (long long)all(0), (long long)all(T - 1));
      out << line;
    }
    const auto flows = s.read<int64_t>("flows");
    const auto us = std::find(regions.begin(), regions.end(), "US") - regions.begin();
    const auto cn = std::find(regions.begin(), regions.end(), "CN") - regions.begin();
    if (std::size_t(us) < R && std::size_t(cn) < R) {
      int64_t us_cn = 0, cn_us = 0;
      for (std::size_t t = 0; t < T; ++t) {
        us_cn += flows[(t * R + us) * R + cn];
        cn_us += flows[(t * R + cn) * R + us];
      }
      out << "\nMoves between US and CN over the run\n  US -> CN " << us_cn << ", CN -> US " << cn_us << ", net to CN "
          << (us_cn - cn_us) << "\n";
    }
    const auto pay = s.read<double>("pay_percentiles");
    out << "\nPay of the top tier at the end (annual total compensation)\n";
    std::snprintf(line, sizeof line, "  %-6s %10s %10s %10s\n", "region", "p10", "p50", "p90");
    out << line;
    for (std::size_t r = 0; r < R; ++r) {
      const double* p = &pay[(((T - 1) * 3 + 1) * R + r) * 5];
      std::snprintf(line, sizeof line, "  %-6s %10s %10s %10s\n", regions[r].c_str(), money(p[0]).c_str(), money(p[2]).c_str(),
                    money(p[4]).c_str());
      out << line;
    }
    const auto visa = s.read<int64_t>("visa");
    const auto vnames = root.open_group("dims").read_strings("visa_stats");
    const std::size_t V = vnames.size();
    out << "\nVisa outcomes over the run, by origin (all destinations)\n  " << std::string(6, ' ');
    for (const auto& v : vnames) {
      std::snprintf(line, sizeof line, " %12.12s", v.c_str());
      out << line;
    }
    out << "\n";
    for (std::size_t o = 0; o < R; ++o) {
      std::snprintf(line, sizeof line, "  %-6s", regions[o].c_str());
      out << line;
      for (std::size_t k = 0; k < V; ++k) {
        int64_t n = 0;
        for (std::size_t t = 0; t < T; ++t)
          for (std::size_t d = 0; d < R; ++d) n += visa[((t * R + d) * R + o) * V + k];
        std::snprintf(line, sizeof line, " %12lld", (long long)n);
        out << line;
      }
      out << "\n";
    }
    const auto names = root.open_group("firms").read_strings("name");
    std::vector<hsize_t> fd;
    const auto elite = s.read<int64_t>("firm_elite", &fd);
    const auto head = s.read<int64_t>("firm_headcount");
    const std::size_t F = names.size();
    std::vector<std::size_t> idx(F);
    std::iota(idx.begin(), idx.end(), 0);
    auto e_end = [&](std::size_t f) { return elite[(T - 1) * F + f]; };
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return e_end(a) > e_end(b); });
    out << "\nFirms ranked by elite researchers at the end\n";
    std::snprintf(line, sizeof line, "  %-24s %8s %8s %10s %10s\n", "firm", "elite@0", "elite", "staff@0", "staff");
    out << line;
    for (std::size_t k = 0; k < std::min<std::size_t>(10, F); ++k) {
      const std::size_t f = idx[k];
      std::snprintf(line, sizeof line, "  %-24.24s %8lld %8lld %10lld %10lld\n", names[f].c_str(), (long long)elite[f],
                    (long long)e_end(f), (long long)head[f], (long long)head[(T - 1) * F + f]);
      out << line;
    }
    return kOk;
  } catch (const std::exception& e) {
    print_error("talentsim summarize: cannot read '" + path + "': ", e, verbose);
    return kRuntimeError;
  }
}

}  // namespace ts::cli
