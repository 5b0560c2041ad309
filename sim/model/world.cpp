#include "sim/model/world.hpp"

#include <tbb/parallel_for.h>

#include <functional>

#include "sim/engine/parallel.hpp"

namespace ts::model {

void Researchers::reserve(std::size_t n) {
  if (n <= uid.capacity()) return;
  for_each_researcher_column(*this, [n](const auto&, auto& column) { column.reserve(n); });
}

void Researchers::resize(std::size_t n) {
  // The columns are resized concurrently: the first resize writes and page-faults every column
  // of the whole population. Entrants' growth adds a few thousand a step, cheap either way.
  std::vector<std::function<void()>> jobs;
  for_each_researcher_column(*this, [&](const auto& c, auto& column) {
    jobs.push_back([&column, n, empty = c.empty] { column.resize(n, empty); });
  });
  if (n < size() + engine::kChunk || engine::force_serial()) {
    for (const auto& job : jobs) job();
    return;
  }
  tbb::parallel_for(std::size_t(0), jobs.size(), [&](std::size_t k) { jobs[k](); });
}

std::size_t Researchers::bytes_per_researcher() {
  std::size_t bytes = 0;
  Researchers none;
  for_each_researcher_column(none, [&](const auto&, auto& column) { bytes += sizeof(column[0]); });
  return bytes;
}

}  // namespace ts::model
