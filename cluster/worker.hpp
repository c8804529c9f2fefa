// A worker process's main loop: connects to ZooKeeper, claims the topology's generation, recovers
// from the latest committed checkpoint, runs the engine and the checkpoint coordinator, and stops
// cleanly (no half checkpoint) on request, on failure, or once drained.
//
// Threading: run() on the controlling thread; request_stop() from any thread (e.g. a signal
// watcher); progress callbacks are invoked on the controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <sleet/registry.hpp>
#include <sleet/topology.hpp>

#include "cluster/worker_lifecycle.hpp"
#include "core/config.hpp"

namespace sleet {

class StallWatchdog;
class Engine;
class Coordinator;

struct WorkerProgress {
  double elapsed_s = 0;
  int64_t records_in = 0;   // tuples emitted by spouts
  int64_t records_out = 0;  // tuples received by sinks (bolts without outputs)
  int64_t skipped = 0;
  double in_rate = 0, out_rate = 0;  // per second since the previous report
  int64_t restored_from = 0;         // checkpoint this run recovered from (0: fresh)
  int64_t last_checkpoint = 0;
  int64_t last_checkpoint_ms = 0;     // its duration
  int64_t last_checkpoint_bytes = 0;  // its state size
  double last_checkpoint_age_s = -1;
  int64_t committed_offsets = 0;  // records of input covered by the last committed checkpoint
  // Per "topic:partition", the lowest committed next offset over the spouts reading it
  // (CheckpointStats::committed_positions); in the json as "positions":"t:0=5,t:1=7".
  std::map<std::string, int64_t> committed_positions;
  int64_t visible = 0;  // highest checkpoint whose sink output is visible
  int64_t aborted = 0;
  bool drained = false;
  std::string coordinator_state;
  // Per component with a non-zero count: tuples its on_error policy skipped (skip or
  // dead_letter) and, of those, the ones sent to its dead-letter topic. For the run summary.
  struct ComponentErrors {
    int64_t skipped = 0, dead_lettered = 0;
  };
  std::map<std::string, ComponentErrors> errors;
  std::string last_abort_reason;   // why the last aborted checkpoint was aborted ("" if none)
  std::string failure;             // the last status of a failed worker: its error
  bool failure_transient = false;  // ... is of the retriable class (unavailable, timeout)
  // Cluster mode only (written when worker_id is set): this worker's id, whether it runs the
  // coordinator, the generation it runs ("state": connecting, running, waiting, idle), its local
  // tasks, and (leader only) the lowest checkpoint every worker has made visible (-1: unknown).
  std::string worker_id;
  bool leader = false;
  int64_t generation = 0;
  std::string cluster_state;
  int64_t local_tasks = 0;
  int64_t cluster_visible = -1;
  int64_t transport_bytes_sent = 0, transport_tuples_sent = 0;  // since the worker started
  // WorkerMetrics::json_fields() (",\"metrics_url\":...,\"components\":[...],..."), appended
  // last by to_json(); empty with metrics.enabled: false.
  std::string metrics_json;
  // The status fields above that the snprintf in to_json() does not write: `,"key":value...`.
  std::string extra_json() const;
  std::string to_line() const;  // one human line
  std::string to_json() const;  // for --status-file
};

// Reads one number (or boolean as 0/1) from a status line written by WorkerProgress::to_json;
// `def` when absent. For supervisors and benchmarks that watch a worker from outside.
double status_number(const std::string& json, const std::string& key, double def = 0);
// A string field of such a status line ("" when absent), unescaped.
std::string status_string(const std::string& json, const std::string& key);
// The "errors" object of such a status line.
std::map<std::string, WorkerProgress::ComponentErrors> status_errors(const std::string& json);
// "1.25M", "12.3k", "950": a rate for a person.
std::string format_rate(double per_second);

// Cluster mode (`sleet worker --zookeeper ... --advertise ... --slots ... --id ...`, or `sleet run
// --workers N` for N > 1): the worker joins the topology's cluster instead of owning the whole
// topology (DESIGN.md "Cluster mode"). enabled = false: today's single-process worker.
struct ClusterOptions {
  bool enabled = false;
  std::string id;         // workers/<id>; unique per topology (default: host-pid)
  std::string advertise;  // host:port of this worker's transport (numeric IPv4; port 0: any)
  int slots = 0;          // placement units this worker takes (0: as many as it is given)
};

struct EngineOptions;
// The engine options every worker takes from its config (threads: the --threads flag, 0: the
// worker.threads config); each caller adds its own checkpointing collaborators.
void apply_worker_config(const WorkerConfig& cfg, int threads, EngineOptions& eo);

struct WorkerOptions {
  int threads = 0;  // 0: worker.threads config, else one per core
  ClusterOptions cluster;
  bool until_drained = false;
  std::chrono::milliseconds progress_interval{2000};
  std::function<void(const WorkerProgress&)> on_progress;
};

class Worker {
 public:
  Worker(TopologySpec spec, const Registry& registry, WorkerOptions options);
  // Blocks until stopped, drained (with until_drained) or failed.
  Status run();
  void request_stop() { stop_.store(true); }
  // After run() failed because a task stalled (worker.stall.timeout.ms) and the task did not
  // return within a few seconds: its threads still run and cannot be joined, so the caller must
  // end the process (std::_Exit) rather than return through static destructors.
  bool abandoned_tasks() const { return abandoned_; }
  // Where the lifecycle is (cluster/worker_lifecycle.hpp); for the thread that called run(),
  // or anyone once run() returned.
  WorkerState state() const { return lifecycle_.state(); }

 private:
  TopologySpec spec_;
  const Registry& registry_;
  WorkerOptions options_;
  WorkerConfig config_;  // parsed from spec_.config at the start of run()
  Status check_stall(StallWatchdog& watchdog, Engine& engine, Coordinator& coordinator);
  // run()'s phases; run() moves the lifecycle to failed when this returns early with an error.
  Status run_phases();
  Status run_cluster();
  // Rare changes (a few per process), so at info level: one line each in the worker's log.
  StateMachine<WorkerState> lifecycle_{"worker", WorkerState::created, kWorkerTransitions,
                                       worker_state_name, spdlog::level::info};
  std::atomic<bool> stop_{false};
  bool abandoned_ = false;
};

}  // namespace sleet
