#include "sim/config/diagnostics.hpp"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <tuple>

namespace ts::cfg {

std::string format_location(const Location& loc) {
  std::string out = loc.file.empty() ? std::string("<input>") : loc.file;
  if (!loc.snippet.empty()) out += " " + loc.snippet;
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.column > 0) out += ":" + std::to_string(loc.column);
  }
  return out;
}

void Diagnostics::error(const Location& loc, std::string path, std::string message) {
  items_.push_back(Diagnostic{loc, std::move(path), std::move(message)});
}

std::string Diagnostics::format() const {
  std::vector<std::size_t> order(items_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Location& x = items_[a].loc;
    const Location& y = items_[b].loc;
    return std::tuple(x.file == "--set", std::string_view(x.file), x.line, x.column) <
           std::tuple(y.file == "--set", std::string_view(y.file), y.line, y.column);
  });
  std::string out;
  for (std::size_t i : order) {
    const Diagnostic& d = items_[i];
    out += format_location(d.loc) + ": ";
    if (!d.path.empty()) out += d.path + ": ";
    out += d.message + "\n";
  }
  return out;
}

}  // namespace ts::cfg
