// The figures of a progress report (WorkerProgress) from one engine and, where this process runs
// it, the checkpoint coordinator. Shared by the single-process Worker and the cluster worker, so
// both report the same fields the same way.
//
// Threading: the worker's controlling thread (the engine and coordinator accessors used here
// are safe from any thread).
#pragma once

#include <chrono>
#include <cstdint>

#include <sleet/topology.hpp>

#include "cluster/worker.hpp"

namespace sleet {

class Engine;
class Coordinator;

// Records in (spout output), out (sink input), skips and per-component error counts of `engine`'s
// tasks (in cluster mode: this worker's tasks only).
void add_engine_figures(const TopologySpec& spec, const Engine& engine, WorkerProgress& p);
// The coordinator's checkpoint figures, drained, and the engine's visible checkpoint.
void add_coordinator_figures(const Coordinator& coordinator, const Engine& engine,
                             std::chrono::steady_clock::time_point now, WorkerProgress& p);

// Rates between reports, and when the next one is due.
class ProgressMeter {
 public:
  ProgressMeter(std::chrono::milliseconds interval, std::chrono::steady_clock::time_point t0)
      : interval_(interval), t0_(t0), last_(t0) {}
  bool due(std::chrono::steady_clock::time_point now) const { return now - last_ >= interval_; }
  // Sets elapsed_s and the rates from p.records_in/out; the report counts as made at `now`.
  void finish(WorkerProgress& p, std::chrono::steady_clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point t0_, last_;
  int64_t last_in_ = 0, last_out_ = 0;
};

}  // namespace sleet
