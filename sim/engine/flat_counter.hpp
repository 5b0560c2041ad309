// Counts per 64-bit key in one flat open-addressing table (linear probing).
//
// Used for the firm-to-firm poaching pairs, incremented once per job-to-job move (of the order
// of a million a step in the Burdett-Mortensen reduction at 10^7 researchers), where a
// std::unordered_map allocates a node per new pair and chases a pointer per increment. Keys must not equal kEmpty. Iteration order is unspecified: callers
// that write results sort the pairs (see Simulation::poaching_table()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ts::engine {

class FlatCounter {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  /// Adds `n` to the count of `key` (inserting it at 0 first).
  void add(uint64_t key, int64_t n = 1) {
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();  // load factor <= 0.7
    std::size_t i = slot_of(key);
    for (;;) {
      auto& s = slots_[i];
      if (s.first == key) {
        s.second += n;
        return;
      }
      if (s.first == kEmpty) {
        s = {key, n};
        ++size_;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
  }
  /// Prefetches the slot where `key` starts its probe: a caller adding many keys in a known
  /// order fetches the slot of a key some places ahead (the table outgrows the caches). Only
  /// a hint: nothing changes, and a grow() in between merely wastes it.
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(slots_.data() + slot_of(key), 1);
  }
  /// The count of `key` (0 if absent).
  int64_t get(uint64_t key) const {
    if (slots_.empty()) return 0;
    for (std::size_t i = slot_of(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].first == key) return slots_[i].second;
      if (slots_[i].first == kEmpty) return 0;
    }
  }
  std::size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    size_ = 0;
  }
  /// Every (key, count), in unspecified order.
  std::vector<std::pair<uint64_t, int64_t>> items() const {
    std::vector<std::pair<uint64_t, int64_t>> out;
    out.reserve(size_);
    for (const auto& s : slots_)
      if (s.first != kEmpty) out.push_back(s);
    return out;
  }

 private:
  std::size_t slot_of(uint64_t key) const {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;  // Fibonacci hashing: the high bits are well mixed
    h ^= h >> 29;
    return std::size_t(h) & (slots_.size() - 1);
  }
  void grow() {
    std::vector<std::pair<uint64_t, int64_t>> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, {kEmpty, 0});
    size_ = 0;
    for (const auto& s : old)
      if (s.first != kEmpty) add(s.first, s.second);
  }

  std::vector<std::pair<uint64_t, int64_t>> slots_;  ///< size is 0 or a power of two
  std::size_t size_ = 0;
};

}  // namespace ts::engine
