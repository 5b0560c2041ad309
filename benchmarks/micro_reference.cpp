// The trivially parallel reference loop (bench::ReferenceLoop: a few FMAs per float,
// chunked exactly like engine::for_chunks) at each thread count: what the hardware gives
// a perfectly parallel, memory-streaming loop. Items = floats.
#include "micro_common.hpp"

namespace ts::micro {

namespace {

bench::ReferenceLoop& reference_loop() {
  static bench::ReferenceLoop loop(std::size_t(config().reference_floats));
  return loop;
}

void bm_reference(benchmark::State& st, int threads) {
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  auto& loop = reference_loop();
  loop.run(1);  // wake the workers
  for (auto _ : st) benchmark::DoNotOptimize(loop.run(1));
  st.SetItemsProcessed(st.iterations() * int64_t(loop.size()));
  st.SetBytesProcessed(st.iterations() * int64_t(loop.size() * 2 * sizeof(float)));
  st.counters["threads"] = threads;
}

}  // namespace

void register_reference_benchmarks() {
  for (int t : config().threads) {
    auto* b = benchmark::RegisterBenchmark(
        ("reference/stream_fma/floats:" + bench::short_count(int64_t(config().reference_floats)) + "/threads:" +
         std::to_string(t)).c_str(),
        [t](benchmark::State& st) { bm_reference(st, t); });
    b->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

}  // namespace ts::micro
