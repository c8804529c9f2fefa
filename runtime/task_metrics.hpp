// A task's own metrics beyond its counters: execute latency (a histogram fed by one execute in
// kSampleEvery), time blocked handing batches to a full output channel (back-pressure) and time
// waiting for input (idle). Written per batch or per sampled tuple, never per tuple, so metrics
// cost nothing measurable on the hot path (bench/wordcount_bench --metrics-pair measures it).
//
// Also a sink's publish latency: from a checkpoint's commit notice (Engine::checkpoint_committed)
// to on_checkpoint_committed returning with the epoch durable and visible, observed once per
// publish that advanced the sink's published epochs (core/sink_metrics.hpp).
//
// Threading: the fields are written only by the task's fiber (single writer, relaxed atomics; no
// lock anywhere on this path) and read by Engine::stats() from any thread (the worker's
// controlling thread, once a second, for the metrics server's HTTP thread to serve).
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

#include "core/metrics.hpp"

namespace sleet {

struct TaskMetrics {
  static constexpr uint32_t kSampleEvery = 64;  // a power of two
  bool enabled = true;                          // EngineOptions::metrics
  uint32_t tick = 0;
  Histogram execute;
  Histogram publish;  // sinks only; per published epoch
  std::atomic<int64_t> backpressure_ns{0};
  std::atomic<int64_t> idle_ns{0};

  // True for one call in kSampleEvery (when enabled): time this execute.
  bool sample() { return enabled && (++tick & (kSampleEvery - 1)) == 0; }
  // CLOCK_MONOTONIC in ns: a vDSO call, about 20 ns.
  static int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  int64_t start() const { return enabled ? now_ns() : 0; }
  static void add(std::atomic<int64_t>& to, int64_t t0) {
    if (t0)
      to.store(to.load(std::memory_order_relaxed) + (now_ns() - t0), std::memory_order_relaxed);
  }
};

}  // namespace sleet
