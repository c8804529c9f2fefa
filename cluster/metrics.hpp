// A worker's metrics: each refresh reads the engine's task stats and (where this worker runs it)
// the checkpoint coordinator's, and renders both documents the metrics server serves: the
// Prometheus text (`GET /metrics`, written here and only here, through core/metrics.hpp's
// PrometheusWriter) and the JSON fields of the status document (`GET /api/status` and the
// status file: metrics_url, components, checkpoints, restarts, partitions; docs/metrics.md).
// Both come from the same refresh, so the page and /metrics show the same numbers.
//
// Threading: refresh() and set_*() on the worker's controlling thread; the accessors from any
// thread (the metrics server's), under a mutex that is held only to copy strings.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <sleet/topology.hpp>

#include "core/metrics.hpp"

namespace sleet {

class Engine;
class Coordinator;
struct TaskStats;

// A restart of this worker as the supervisor saw it (SLEET_RESTARTS, see restarts_from_env).
struct RestartRecord {
  std::string at;  // ISO-8601 UTC
  std::string reason;
};
// The restarts the supervisor passed in the environment: SLEET_RESTARTS="<iso>\t<reason>\n...".
std::vector<RestartRecord> restarts_from_env();
// "2026-12-01T22:40:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

struct ProcessFigures {
  int64_t rss_bytes = 0;
  double cpu_seconds = 0;
};
ProcessFigures process_figures();  // this process, from /proc/self/statm and the CPU clock

class WorkerMetrics {
 public:
  WorkerMetrics(const TopologySpec& spec, std::string worker);

  void set_url(const std::string& url);  // "http://127.0.0.1:PORT" once the server listens
  void set_restarts(std::vector<RestartRecord> r);
  // Reads `engine` (and `coordinator`, null where another worker runs it) at `now`; rates and
  // shares are over the time since the previous refresh.
  void refresh(const Engine& engine, const Coordinator* coordinator,
               std::chrono::steady_clock::time_point now);
  // The same figures from plain task stats (tests, and refresh() itself).
  void refresh_from(const std::vector<TaskStats>& stats, const Coordinator* coordinator,
                    int64_t visible_checkpoint, std::chrono::steady_clock::time_point now);
  bool due(std::chrono::steady_clock::time_point now) const {
    return now - last_ >= std::chrono::seconds(1);
  }

  std::string prometheus() const;
  // `,"metrics_url":...,"components":[...],...` for the status file (appended to its object).
  std::string json_fields() const;
  // The whole /api/status document: the last status line the worker published (set_status),
  // else an object of the json fields alone.
  std::string status_document() const;
  void set_status(std::string status_json);
  // {"name":..., "components":[{"id","kind","parallelism"}], "streams":[{"from","to","grouping"}]}
  // for the page's graph (`GET /api/topology`); fixed for the run.
  std::string topology_document() const;

 private:
  const TopologySpec& spec_;
  std::string worker_;
  std::string url_;
  std::vector<RestartRecord> restarts_;
  std::chrono::steady_clock::time_point last_{};
  bool have_last_ = false;
  // Per component: totals at the previous refresh.
  struct Previous {
    int64_t in = 0, out = 0, backpressure_ns = 0;
    HistogramSnapshot execute;
  };
  std::map<std::string, Previous> previous_;
  mutable std::mutex mu_;  // guards the three strings below
  std::string text_, json_, status_;
};

}  // namespace sleet
