// The state directory of `sleet run` (ZooKeeper data, checkpoints, worker log, status file):
// what a start may do with a directory it is given, and the lock that keeps one `sleet run` per
// directory. Sleet never deletes what it did not create: a state dir carries a marker file naming
// its topology, and a fresh start removes only Sleet's own entries inside a marked dir.
//
// Called by cmd_run.cpp's run() on the supervisor's main thread, before any child starts.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sleet/status.hpp>

namespace sleet::cluster {

inline constexpr const char* kStateMarker = ".sleet-state";  // "topology: NAME\n"
inline constexpr const char* kStateLock = ".sleet-lock";     // flock()ed for the run; holds pid

// The names `sleet run` creates directly inside a state dir (and may remove on a fresh start).
const std::vector<std::string>& state_dir_own_entries();

// What a start finds at the state-dir path (read-only inspection).
struct StateDirFindings {
  bool exists = false;
  bool is_directory = false;
  std::optional<std::string> marker_topology;  // set when the marker file is present
  std::vector<std::string> entries;            // names directly inside, marker included
};

struct StateDirDecision {
  enum class Action {
    use,     // use it as it is (create it when missing, write the marker)
    refuse,  // exit 2 with `reason` and `way_out`; nothing is touched
  } action = Action::use;
  std::vector<std::string> remove;  // own entries a fresh start removes (never anything else)
  std::string reason, way_out;
};

// The pure rule. `fresh`: the run starts without old state (the embedded Kafka is new, so old
// checkpoints would point nowhere). An unmarked directory holding only Sleet's own names is a
// state dir of a Sleet before markers and is used like a marked one.
StateDirDecision decide_state_dir(const StateDirFindings& found, const std::string& topology,
                                  bool fresh);

StateDirFindings inspect_state_dir(const std::filesystem::path& dir);

// Holds the flock on DIR/.sleet-lock for its lifetime (the fd is close-on-exec, so children do
// not keep it after the supervisor dies).
class StateDirLock {
 public:
  StateDirLock() = default;
  explicit StateDirLock(int fd) : fd_(fd) {}
  StateDirLock(StateDirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StateDirLock& operator=(StateDirLock&& o) noexcept;
  ~StateDirLock();

 private:
  int fd_ = -1;
};

// Inspects, decides, locks and prepares `dir` for `topology`: creates it, takes the lock (busy:
// already_exists naming the holder's pid), writes the marker, removes what the decision says,
// and moves the previous run's worker.log to worker.log.1 (so a log tail shows only this run).
// A refusal comes back as invalid_argument with reason and way out in the message.
[[nodiscard]] Result<StateDirLock> prepare_state_dir(const std::filesystem::path& dir,
                                                     const std::string& topology, bool fresh);

}  // namespace sleet::cluster
