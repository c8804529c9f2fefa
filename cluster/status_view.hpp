// What `sleet status` shows: the workers' status documents (their status files, or GET
// <metrics_url>/api/status), merged into one report, rendered as tables or as one JSON object
// (docs/status.md lists its keys). Pure: the command (cli/cmd_status.cpp) gathers the documents
// and decides whether the run is live; this file never reads a file or a socket, so it is
// table-tested (tests/cluster/status_view_test.cpp). Any thread.
//
// Every key of a document may be missing (a worker of an older Sleet, or a status written before
// the per-component metrics existed): a missing figure is unknown and shows as "-" (null in
// --json), never as 0.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/status_json.hpp"

namespace sleet::cluster {

// One worker as `sleet status` found it.
struct StatusWorker {
  std::string id;                // "w0", a cluster worker id, or "worker" (one `sleet run` worker)
  std::string source;            // the status file's path or the URL it was fetched from
  std::optional<JsonValue> doc;  // its status document; nullopt: none could be read
  std::string error;             // why there is no document ("" when there is one)
  std::string metrics;           // host:port of its metrics endpoint ("" unknown)
};

struct StatusReport {
  std::string topology;
  std::string state;   // "running" or "stopped"
  std::string source;  // "state_dir" or "zookeeper"
  std::string where;   // the state dir, or the ZooKeeper connect string
  // stopped: when (the last status write of the run; 0 unknown). The figures are then final.
  std::time_t stopped_at = 0;
  std::optional<int64_t> committed_checkpoint;  // from ZooKeeper (nullopt: not asked/unknown)
  std::vector<StatusWorker> workers;
};

// One component over every worker: counts and rates summed, p99 the largest, back-pressure the
// task-weighted mean, lag summed (unknown when no worker knows it).
struct ComponentRow {
  std::string id, kind;
  std::optional<double> tasks, tuples_in, tuples_out, rate_in, rate_out, p99_s, backpressure, lag,
      skipped, dead_lettered, failed;
  // Sinks that report epochs (FileSink, KafkaSink): pending and published summed, the publish
  // p99 the largest; unknown for other components.
  std::optional<double> sink_pending, sink_published, sink_publish_p99_s;
};
std::vector<ComponentRow> merge_components(const StatusReport& r);

// "2026-12-01T22:05:03Z".
std::string iso_utc(std::time_t t);

// The tables for a person (ends with a newline).
std::string render_status(const StatusReport& r, std::time_t now);
// One JSON object for scripts (docs/status.md).
JsonValue status_json(const StatusReport& r);

// The checkpoints a run committed, as its live status showed them (`sleet run` observes the
// leader's status at every live report), for the final summary: count, p50/p99 duration, size.
// A status with the "checkpoints" list adds every completed entry of it; one without adds its
// last checkpoint. Observed at intervals, so a checkpoint that came and went between two
// observations of a status without the list is missed: the summary says how many it saw.
class CheckpointTally {
 public:
  void observe(const std::string& status_json);
  size_t seen() const { return by_id_.size(); }
  // "checkpoints: 38 seen (ids 3..40); duration p50 31.0 ms, p99 80.0 ms; size p50 2.0 KiB,
  // max 2.1 KiB, 77.0 KiB in all"; "checkpoints: none completed" when none was seen.
  std::string summary() const;

 private:
  struct Seen {
    std::optional<double> seconds, bytes;
  };
  std::map<int64_t, Seen> by_id_;
};

// The final summary's per-component lines ("component count (bolt, 2 tasks): in 10, out 5,
// ...") from the last statuses; without per-component figures, the totals the statuses have.
std::vector<std::string> component_summary(const StatusReport& r);

// Which status files of a state dir belong to the run it holds (or held last), by the run's
// start (the lock file's mtime, written when the run took the lock): a file last written
// before that start is an earlier run's and is never shown.
struct StatusFileSeen {
  std::string path;
  std::time_t mtime = 0;
  bool pid_alive = false;  // the process named by its "pid" runs now
};
struct StateDirRun {
  bool live = false;               // a `sleet run` holds the lock
  std::time_t started = 0;         // the lock file's mtime (0: no lock file: no run ever)
  std::vector<std::string> files;  // the status files of this run
  std::time_t stopped_at = 0;      // stopped: the newest of its files' mtimes
};
StateDirRun decide_state_dir_run(bool lock_held, std::time_t lock_mtime,
                                 const std::vector<StatusFileSeen>& files);

}  // namespace sleet::cluster
